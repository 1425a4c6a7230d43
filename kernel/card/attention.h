// The card kernel's attention, per layer, after RoPE:
//
//   write_kv(port p): each entry's new key and value words into the lines of port p (card.h's layout)
//
//            ┌ kv_load(p) ─ keys ─ scores(p) ─ softmax(p) ─ values(p) ┐
//   jobs ────┤      └────────── values ───────────────────────┘        ├── merge ── attention output
//  (+ q)     └ ... one chain per memory port, side by side ...          ┘   (on chip)
//
// A job is one (entry, kv head): its line lives on one port, whose chain computes the kv_mul query heads
// that share it, so every cached key and value is read once per entry. Jobs go out in (entry, kv head)
// order, neighbouring heads on neighbouring ports; merge takes the heads back in the same order. The four
// stages of a chain are processes of one DATAFLOW region joined by streams: the values of job j stream
// in while softmax works on it (up to kValueWords of them), the keys of job j + 1 follow, and scores takes
// them into its stream (a whole job's worth) while softmax finishes job j. Each stage's loops are
// pipelined at II=1:
//   kv_load   per job two unconditional, address-increasing bursts: keys 0..pos, then values 0..pos.
//   scores    per (key word, query head) the 32 products by TreeSum (kernel_math.h's KvDot; a key's word
//             sums are added when its last word is in, from registers: nothing float is carried).
//   softmax   kernel_math.h's Softmax, three passes: the scores in (with the maximum in kPartials lanes,
//             exact in any order), e^(s - max) into kPartials interleaved partial sums, the weights out.
//   values    per (value word, query head) 32 lanes of att * v into kPartials interleaved partial sums
//             (position t into partial t % kPartials: the same sum comes back kPartials positions
//             later), then their TreeSum.
// With kv_mul = 1 a chain takes a key or value word a cycle: attention runs at the ports' bandwidth.
#ifndef FPGASERVE_KERNEL_CARD_ATTENTION_H_
#define FPGASERVE_KERNEL_CARD_ATTENTION_H_

#include "kernel/card/card.h"
#include "kernel/card/counters.h"
#include "kernel/card/vector_ops.h"
#include "kernel/kernel_math.h"

namespace fpgaserve {
namespace kernel {

const int kMaxHeadWords = kMaxHeadSize / kWordHalves;  // fp16 words of a cached head
const int kMaxJobs = kMaxStep * kMaxHeads;              // (entry, kv head) pairs of a step
const int kValueWords = 1024;                           // depth of a chain's value stream (kv_load)
// Depth of a chain's score stream: a whole job's scores, so the next job's scores are computed while
// softmax finishes this one.
const int kScoreValues = kMaxSeqLen * kMaxKvMul;

// What attention needs of the step, the same for every port.
struct AttentionShape {
  int n, n_kv_heads, kv_mul, head_size, cache_len, n_slots, layer;
  int hw;                  // KvHeadWords(head_size)
  int64_t kv_base;         // first KV word of every port
  float inv_sqrt;          // 1 / sqrt(head_size)
};

// A job as the loaders and attend stages see it.
struct Job {
  int64_t line_at;  // the line's first word on its port
  int count;        // positions 0..pos
};

// Word w (32 fp16 values) of head `head` of activation row a (16 floats a word): two activation words read,
// values past head_size zero.
inline Word kv_word(const Word a[kActWords], int head, int w, int head_size) {
  const int first = head * (head_size / kWordFloats) + 2 * w;  // the activation word of value 32 w
  const int last = (head + 1) * (head_size / kWordFloats);     // the head's end, in activation words
  const Word lo = a[first];
  const Word hi = first + 1 < last ? a[first + 1] : ZeroWord();
  Word out;
  for (int i = 0; i < kWordFloats; i++) {
    SetWordU16(out, i, KvFromFloat(WordF32(lo, i)));
    SetWordU16(out, kWordFloats + i, KvFromFloat(WordF32(hi, i)));
  }
  return out;
}

// The keys and values of this step's entries whose lines are on `port_id`.
inline void write_kv(Word* port, int port_id, const Word k[kMaxStep][kActWords], const Word v[kMaxStep][kActWords],
                     const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s) {
write_kv_jobs:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int e = j / s.n_kv_heads, hk = j % s.n_kv_heads;
    const int64_t line = KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads);
    if (KvLinePort(line) != port_id) continue;
    const int64_t at = s.kv_base + KvLineIndex(line) * KvLineWords(s.cache_len, s.head_size) + (int64_t)pos[e] * s.hw;
  write_kv_keys:
    for (int w = 0; w < s.hw; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHeadWords
#pragma HLS PIPELINE II = 1
      port[at + w] = kv_word(k[e], hk, w, s.head_size);
    }
  write_kv_values:
    for (int w = 0; w < s.hw; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHeadWords
#pragma HLS PIPELINE II = 1
      port[at + (int64_t)s.cache_len * s.hw + w] = kv_word(v[e], hk, w, s.head_size);
    }
    CARD_COUNT(kv_write_words, 2 * s.hw);
  }
}

// Hands out the jobs: to each port's loader its jobs' lines, to each attend stage its jobs and their
// kv_mul query heads (zero-padded to whole key words). First each port's job count.
inline void jobs(const Word q[kMaxStep][kActWords], const int slot[kMaxStep], const int pos[kMaxStep],
                 AttentionShape s, hls::stream<Job> load_jobs[kMemPorts], hls::stream<Job> attend_jobs[kMemPorts],
                 hls::stream<Word> queries[kMemPorts], hls::stream<int>& order) {
  int count[kMemPorts];
#pragma HLS ARRAY_PARTITION variable = count complete
  for (int p = 0; p < kMemPorts; p++) count[p] = 0;
jobs_count:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
#pragma HLS PIPELINE II = 1
    const int e = j / s.n_kv_heads, hk = j % s.n_kv_heads;
    const int port = KvLinePort(KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads));
    for (int p = 0; p < kMemPorts; p++) count[p] += p == port ? 1 : 0;
  }
  Job header = {0, 0};
  for (int p = 0; p < kMemPorts; p++) {
    header.count = count[p];
    load_jobs[p].write(header);
    attend_jobs[p].write(header);
  }
  const int qw = 2 * s.hw;  // 16-value words of a padded query head
jobs_out:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int e = j / s.n_kv_heads, hk = j % s.n_kv_heads;
    const int64_t line = KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads);
    const int port = KvLinePort(line);
    Job job;
    job.line_at = s.kv_base + KvLineIndex(line) * KvLineWords(s.cache_len, s.head_size);
    job.count = pos[e] + 1;
    order.write(port);
    for (int p = 0; p < kMemPorts; p++) {
      if (p == port) {
        load_jobs[p].write(job);
        attend_jobs[p].write(job);
      }
    }
  jobs_queries:
    for (int i = 0; i < s.kv_mul * qw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * 2 * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      const int h = hk * s.kv_mul + i / qw, w = i % qw;  // query head, its word
      const int hw16 = s.head_size / kWordFloats;
      const Word word = w < hw16 ? q[e][h * hw16 + w] : ZeroWord();
      for (int p = 0; p < kMemPorts; p++) {
        if (p == port) queries[p].write(word);
      }
    }
  }
}

// One port's loader: per job its keys 0..pos, then its values 0..pos, one burst each. The values wait in
// their stream while softmax finishes the job (the stream holds kValueWords, a job of up to 512 positions
// of a 64-value head), so the next job's keys follow soon after. This order cannot deadlock: each stage
// waits only on what comes before it in the chain (keys before values would; loading the next job's keys
// before this job's values would not, once the score and weight streams fill).
inline void kv_load(const Word* port, AttentionShape s, hls::stream<Job>& jobs_in, hls::stream<Word>& keys,
                    hls::stream<Word>& values) {
  const int n_jobs = jobs_in.read().count;
kv_load_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = jobs_in.read();
  kv_load_keys:
    for (int i = 0; i < job.count * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      keys.write(port[job.line_at + i]);
    }
    const int64_t values_at = job.line_at + (int64_t)s.cache_len * s.hw;
  kv_load_values:
    for (int i = 0; i < job.count * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      values.write(port[values_at + i]);
    }
    CARD_COUNT(kv_read_words, 2 * job.count * s.hw);
  }
}

// One port's scores: per job the kv_mul query heads against its keys, q.k / sqrt(head_size) in (key,
// query head) order to `out`; each job's position count first to `counts`.
inline void scores(hls::stream<Job>& jobs_in, hls::stream<Word>& queries, hls::stream<Word>& keys, AttentionShape s,
                   hls::stream<float>& out, hls::stream<int>& counts) {
  const int n_jobs = jobs_in.read().count;
  const int qw = 2 * s.hw;  // 16-value words of a padded query head
  counts.write(n_jobs);
scores_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int count = jobs_in.read().count;
    counts.write(count);
    float qh[kMaxKvMul][kMaxHeadSize];
#pragma HLS ARRAY_PARTITION variable = qh cyclic factor = 32 dim = 2
  scores_queries:
    for (int i = 0; i < s.kv_mul * qw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * 2 * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      const Word word = queries.read();
      for (int l = 0; l < kWordFloats; l++) qh[i / qw][(i % qw) * kWordFloats + l] = WordF32(word, l);
    }
    float word_sum[kMaxKvMul][kMaxHeadWords];
#pragma HLS ARRAY_PARTITION variable = word_sum complete dim = 0
    Word key = ZeroWord();
    int w = 0, r = 0;
  scores_words:
    for (int it = 0; it < count * s.hw * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      if (r == 0) key = keys.read();  // a key word serves the kv_mul query heads, one a cycle
      float p[kWordHalves];
#pragma HLS ARRAY_PARTITION variable = p complete
      for (int i = 0; i < kWordHalves; i++) p[i] = qh[r][w * kWordHalves + i] * KvToFloat(WordU16(key, i));
      word_sum[r][w] = TreeSum<kWordHalves>(p);
      if (w == s.hw - 1) {
        // KvDot's order: the key's word sums added in word order, all from registers.
        float total = word_sum[r][0];
        for (int k = 1; k < kMaxHeadWords; k++) total = k < s.hw ? total + word_sum[r][k] : total;
        out.write(total * s.inv_sqrt);
      }
      if (++r == s.kv_mul) {
        r = 0;
        if (++w == s.hw) w = 0;
      }
    }
    CARD_COUNT(score_iterations, (int64_t)count * s.hw * s.kv_mul);
  }
}

// One port's softmax: per job and query head kernel_math.h's Softmax (the same bits), in three passes
// over the (key, query head) order the scores come in and the values stage takes them in.
inline void softmax(hls::stream<int>& counts_in, hls::stream<float>& in, hls::stream<float>& out,
                    hls::stream<int>& counts_out, AttentionShape s) {
  const int n_jobs = counts_in.read();
  counts_out.write(n_jobs);
softmax_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int count = counts_in.read();
    counts_out.write(count);
    float att[kMaxKvMul][kMaxSeqLen];
#pragma HLS ARRAY_PARTITION variable = att complete dim = 1
    float lane_max[kMaxKvMul][kPartials];  // the maximum in kPartials lanes, as Softmax takes it
#pragma HLS ARRAY_PARTITION variable = lane_max complete dim = 0
    float part[kMaxKvMul][kPartials];
#pragma HLS ARRAY_PARTITION variable = part complete dim = 0
    for (int h = 0; h < kMaxKvMul; h++) {
      for (int k = 0; k < kPartials; k++) part[h][k] = 0.0f;
    }
    int t = 0, r = 0;
  softmax_in:
    for (int it = 0; it < count * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxKvMul
#pragma HLS PIPELINE II = 1
      // distance: lane_max[r][t % kPartials] is compared again kPartials positions (8 kv_mul iterations) later.
#pragma HLS DEPENDENCE variable = lane_max inter true distance = 8
      const float v = in.read();
      att[r][t] = v;
      if (t == 0) {
        for (int k = 0; k < kPartials; k++) lane_max[r][k] = v;
      }
      const int lane = t % kPartials;
      lane_max[r][lane] = v > lane_max[r][lane] ? v : lane_max[r][lane];
      if (++r == s.kv_mul) {
        r = 0;
        t++;
      }
    }
    float max_val[kMaxKvMul];
    for (int h = 0; h < kMaxKvMul; h++) {
      if (h >= s.kv_mul) break;
      max_val[h] = lane_max[h][0];
      for (int k = 1; k < kPartials; k++) max_val[h] = lane_max[h][k] > max_val[h] ? lane_max[h][k] : max_val[h];
    }
    t = 0, r = 0;
  softmax_exps:
    for (int it = 0; it < count * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxKvMul
#pragma HLS PIPELINE II = 1
      // distance: part[r][t % kPartials] is added to again kPartials positions (kPartials * kv_mul iterations) later.
#pragma HLS DEPENDENCE variable = part inter true distance = 8
      const float e = KernelExp(att[r][t] - max_val[r]);
      att[r][t] = e;
      const int slot = t % kPartials;
      part[r][slot] += e;
      if (++r == s.kv_mul) {
        r = 0;
        t++;
      }
    }
    float inv[kMaxKvMul];
    for (int h = 0; h < kMaxKvMul; h++) inv[h] = 1.0f / TreeSum<kPartials>(part[h]);
    t = 0, r = 0;
  softmax_out:
    for (int it = 0; it < count * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxKvMul
#pragma HLS PIPELINE II = 1
      out.write(att[r][t] * inv[r]);
      if (++r == s.kv_mul) {
        r = 0;
        t++;
      }
    }
    CARD_COUNT(softmax_iterations, 3 * (int64_t)count * s.kv_mul);
  }
}

// One port's values: per job and query head sum over t of att[t] * v[t], head_size / 16 words to `out`.
inline void values(hls::stream<int>& counts_in, hls::stream<float>& att_in, hls::stream<Word>& v_in, AttentionShape s,
                   hls::stream<Word>& out) {
  const int n_jobs = counts_in.read();
values_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int count = counts_in.read();
    float acc[kMaxKvMul][kPartials][kMaxHeadWords][kWordHalves];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 4
  values_clear:
    for (int i = 0; i < s.kv_mul * kPartials * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kPartials * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      for (int l = 0; l < kWordHalves; l++) acc[i / (kPartials * s.hw)][(i / s.hw) % kPartials][i % s.hw][l] = 0.0f;
    }
    float a[kMaxKvMul];  // this position's weights, taken with its first word
#pragma HLS ARRAY_PARTITION variable = a complete
    Word value = ZeroWord();
    int t = 0, w = 0, r = 0;
  values_words:
    for (int it = 0; it < count * s.hw * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      // distance: acc[r][t % kPartials][w] is next added to kPartials positions later, at least 8 iterations.
#pragma HLS DEPENDENCE variable = acc inter true distance = 8
      if (r == 0) value = v_in.read();
      if (w == 0) a[r] = att_in.read();
      const int part = t % kPartials;
      for (int l = 0; l < kWordHalves; l++) acc[r][part][w][l] += a[r] * KvToFloat(WordU16(value, l));
      if (++r == s.kv_mul) {
        r = 0;
        if (++w == s.hw) {
          w = 0;
          t++;
        }
      }
    }
    CARD_COUNT(value_iterations, (int64_t)count * s.hw * s.kv_mul);

    // Each head's output: the partials' TreeSum, head_size / 16 words.
    const int ow = s.head_size / kWordFloats;
  values_out:
    for (int i = 0; i < s.kv_mul * ow; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kMaxHeadSize / 16
#pragma HLS PIPELINE II = 1
      const int h = i / ow, v0 = (i % ow) * kWordFloats;  // first value of this output word
      Word word;
      for (int l = 0; l < kWordFloats; l++) {
        float p[kPartials];
        for (int k = 0; k < kPartials; k++) p[k] = acc[h][k][(v0 + l) / kWordHalves][(v0 + l) % kWordHalves];
        SetWordF32(word, l, TreeSum<kPartials>(p));
      }
      out.write(word);
    }
  }
}

// The heads' outputs into y (the attention output, dim words an entry), taken from each job's port (sent by
// jobs() in `order`) in job order.
inline void merge(hls::stream<Word> outs[kMemPorts], hls::stream<int>& order, AttentionShape s,
                  Word y[kMaxStep][kActWords]) {
  const int per_job = s.kv_mul * (s.head_size / kWordFloats);
  int port = 0, e = 0, hk = 0, i_job = 0;  // counters, not divisions per iteration
merge_words:
  for (int i = 0; i < s.n * s.n_kv_heads * per_job; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kDimWords
#pragma HLS PIPELINE II = 1
    if (i_job == 0) port = order.read();
    y[e][hk * per_job + i_job] = ReadFromPort(outs, port);  // query heads hk * kv_mul .. are contiguous in y
    if (++i_job == per_job) {
      i_job = 0;
      if (++hk == s.n_kv_heads) {
        hk = 0;
        e++;
      }
    }
  }
  CARD_COUNT(head_words, (int64_t)s.n * s.n_kv_heads * per_job);
}

#define FPGASERVE_CARD_ATTEND_CHAIN(p)                                 \
  kv_load(m##p, s, load_jobs[p], keys[p], vals[p]);                    \
  scores(attend_jobs[p], queries[p], keys[p], s, raw[p], counts[p]);   \
  softmax(counts[p], raw[p], weights[p], counts2[p], s);               \
  values(counts2[p], weights[p], vals[p], s, outs[p]);

// A layer's attention for the step's entries: y[e] = attention of q[e] over its slot's cache.
inline void attention(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_CONST_PORT_PARAM) const Word q[kMaxStep][kActWords],
                      const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s, Word y[kMaxStep][kActWords]) {
#pragma HLS DATAFLOW
  hls::stream<Job> load_jobs[kMemPorts];
  hls::stream<Job> attend_jobs[kMemPorts];
  hls::stream<Word> queries[kMemPorts];
  hls::stream<Word> keys[kMemPorts];
  hls::stream<Word> vals[kMemPorts];
  hls::stream<float> raw[kMemPorts];      // scores
  hls::stream<float> weights[kMemPorts];  // softmax's output
  hls::stream<int> counts[kMemPorts];     // each job's position count, scores -> softmax
  hls::stream<int> counts2[kMemPorts];    // ... softmax -> values
  hls::stream<Word> outs[kMemPorts];
#pragma HLS STREAM variable = load_jobs depth = kMaxJobs
#pragma HLS STREAM variable = attend_jobs depth = kMaxJobs
#pragma HLS STREAM variable = queries depth = 64
#pragma HLS STREAM variable = keys depth = 64
  // values: a job's values wait here while softmax finishes the job (kv_load).
#pragma HLS STREAM variable = vals depth = kValueWords
#pragma HLS STREAM variable = raw depth = kScoreValues
#pragma HLS STREAM variable = weights depth = 64
#pragma HLS STREAM variable = counts depth = 4
#pragma HLS STREAM variable = counts2 depth = 4
  hls::stream<int> order;
#pragma HLS STREAM variable = outs depth = 64
#pragma HLS STREAM variable = order depth = kMaxJobs
  jobs(q, slot, pos, s, load_jobs, attend_jobs, queries, order);
  FPGASERVE_FOR_PORTS(FPGASERVE_CARD_ATTEND_CHAIN)
  merge(outs, order, s, y);
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_CARD_ATTENTION_H_
