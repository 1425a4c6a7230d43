// The card kernel's attention, per layer, after RoPE:
//
//   write_kv(port p): each entry's new key and value words into the lines of port p (card.h's layout)
//
//            ┌ kv_load(port p) ─ key/value words ─ attend(p) ┐
//   jobs ────┤   ... one pair per memory port, side by side   ├── merge ── attention output (on chip)
//  (+ q)     └ kv_load(port q) ─ key/value words ─ attend(q) ┘
//
// A job is one (entry, kv head): its line lives on one port, whose attend stage computes the kv_mul query
// heads that share it, so every cached key and value is read once per entry. Jobs go out in (entry, kv
// head) order, neighbouring heads on neighbouring ports; merge takes the heads back in the same order.
//   kv_load   per job one unconditional, address-increasing burst: keys 0..pos, then values 0..pos.
//   attend    scores: per (key word, query head) the 32 products by TreeSum (kernel_math.h's KvDot; a
//             key's word sums are added when its last word is in, from registers, so nothing float is
//             carried across iterations); softmax (kernel_math.h, interleaved partials); values: per
//             (value word, query head) 32 lanes of att * v into kPartials interleaved partial sums
//             (position t into partial t % kPartials: the same sum comes back kPartials positions later),
//             then their TreeSum. All at II=1, a key or value word a cycle when kv_mul is 1.
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
  int entry, kv_head;
};

// The 32 fp16 values of the words of head `head` of activation row a (16 floats a word), padded with zeros.
inline Word kv_word(const Word a[kDimWords], int head, int w, int head_size) {
  Word out = ZeroWord();
  for (int i = 0; i < kWordHalves; i++) {
    const int v = w * kWordHalves + i;  // value within the head
    const int at = head * head_size + v;
    SetWordU16(out, i, v < head_size ? KvFromFloat(WordF32(a[at / kWordFloats], at % kWordFloats)) : (KvValue)0);
  }
  return out;
}

// The keys and values of this step's entries whose lines are on `port_id`.
inline void write_kv(Word* port, int port_id, const Word k[kMaxStep][kDimWords], const Word v[kMaxStep][kDimWords],
                     const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s) {
write_kv_jobs:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int e = j / s.n_kv_heads, hk = j % s.n_kv_heads;
    const int64_t line = KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads);
    if (KvLinePort(line) != port_id) continue;
    const int64_t at = s.kv_base + KvLineIndex(line) * KvLineWords(s.cache_len, s.head_size) + (int64_t)pos[e] * s.hw;
  write_kv_words:
    for (int w = 0; w < 2 * s.hw; w++) {  // the key's words, then the value's
#pragma HLS LOOP_TRIPCOUNT max = 2 * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      const bool key = w < s.hw;
      const int hwi = key ? w : w - s.hw;
      const Word word = kv_word(key ? k[e] : v[e], hk, hwi, s.head_size);
      port[at + (key ? 0 : (int64_t)s.cache_len * s.hw) + hwi] = word;
    }
    CARD_COUNT(kv_write_words, 2 * s.hw);
  }
}

// Hands out the jobs: to each port's loader its jobs' lines, to each attend stage its jobs and their
// kv_mul query heads (zero-padded to whole key words). First each port's job count.
inline void jobs(const Word q[kMaxStep][kDimWords], const int slot[kMaxStep], const int pos[kMaxStep],
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
  Job header = {0, 0, 0, 0};
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
    job.entry = e;
    job.kv_head = hk;
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

// One port's loader: per job its keys 0..pos then its values 0..pos, one burst a job.
inline void kv_load(const Word* port, AttentionShape s, hls::stream<Job>& jobs_in, hls::stream<Word>& out) {
  const int n_jobs = jobs_in.read().count;
kv_load_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = jobs_in.read();
    const int half = job.count * s.hw;
    const int64_t values_at = job.line_at + (int64_t)s.cache_len * s.hw;
  kv_load_words:
    for (int i = 0; i < 2 * half; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 2 * kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      out.write(port[i < half ? job.line_at + i : values_at + (i - half)]);
    }
    CARD_COUNT(kv_read_words, 2 * half);
  }
}

// One port's attention: per job the kv_mul query heads over its keys and values; per query head its
// head_size / 16 output words to `out`.
inline void attend(hls::stream<Job>& jobs_in, hls::stream<Word>& queries, hls::stream<Word>& kv, AttentionShape s,
                   hls::stream<Word>& out) {
  const int n_jobs = jobs_in.read().count;
  const int qw = 2 * s.hw;  // 16-value words of a padded query head
attend_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int count = jobs_in.read().count;
    float qh[kMaxKvMul][kMaxHeadSize];
#pragma HLS ARRAY_PARTITION variable = qh cyclic factor = 32 dim = 2
  attend_queries:
    for (int i = 0; i < s.kv_mul * qw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * 2 * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      const Word word = queries.read();
      for (int l = 0; l < kWordFloats; l++) qh[i / qw][(i % qw) * kWordFloats + l] = WordF32(word, l);
    }

    // Scores: (key t, word w, query head r); a key word is read when r is 0 and serves the kv_mul heads.
    float att[kMaxKvMul][kMaxSeqLen];
    float word_sum[kMaxKvMul][kMaxHeadWords];
#pragma HLS ARRAY_PARTITION variable = word_sum complete dim = 0
    Word key = ZeroWord();
    int t = 0, w = 0, r = 0;
  attend_scores:
    for (int it = 0; it < count * s.hw * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      if (r == 0) key = kv.read();
      float p[kWordHalves];
#pragma HLS ARRAY_PARTITION variable = p complete
      for (int i = 0; i < kWordHalves; i++) p[i] = qh[r][w * kWordHalves + i] * KvToFloat(WordU16(key, i));
      word_sum[r][w] = TreeSum(p, kWordHalves);
      if (w == s.hw - 1) {
        // KvDot's order: the key's word sums added in word order, all from registers.
        float total = word_sum[r][0];
        for (int k = 1; k < kMaxHeadWords; k++) total = k < s.hw ? total + word_sum[r][k] : total;
        att[r][t] = total * s.inv_sqrt;
      }
      if (++r == s.kv_mul) {
        r = 0;
        if (++w == s.hw) {
          w = 0;
          t++;
        }
      }
    }
    CARD_COUNT(score_iterations, (int64_t)count * s.hw * s.kv_mul);

  attend_softmax:
    for (int h = 0; h < s.kv_mul; h++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul
      Softmax(att[h], count);
    }
    CARD_COUNT(softmax_iterations, 3 * (int64_t)count * s.kv_mul);

    // Values: (position t, word w, query head r); a value word is read when r is 0.
    float acc[kMaxKvMul][kPartials][kMaxHeadWords][kWordHalves];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 4
  attend_clear:
    for (int i = 0; i < s.kv_mul * kPartials * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kPartials * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      for (int l = 0; l < kWordHalves; l++) acc[i / (kPartials * s.hw)][(i / s.hw) % kPartials][i % s.hw][l] = 0.0f;
    }
    Word value = ZeroWord();
    t = 0, w = 0, r = 0;
  attend_values:
    for (int it = 0; it < count * s.hw * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      // distance: acc[r][t % kPartials][w] is next added to kPartials positions later, at least 8 iterations.
#pragma HLS DEPENDENCE variable = acc inter true distance = 8
      if (r == 0) value = kv.read();
      const int part = t % kPartials;
      const float a = att[r][t];
      for (int l = 0; l < kWordHalves; l++) acc[r][part][w][l] += a * KvToFloat(WordU16(value, l));
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
  attend_out:
    for (int i = 0; i < s.kv_mul * ow; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kMaxHeadSize / 16
#pragma HLS PIPELINE II = 1
      const int h = i / ow, v0 = (i % ow) * kWordFloats;  // first value of this output word
      Word word;
      for (int l = 0; l < kWordFloats; l++) {
        float p[kPartials];
        for (int k = 0; k < kPartials; k++) p[k] = acc[h][k][(v0 + l) / kWordHalves][(v0 + l) % kWordHalves];
        SetWordF32(word, l, TreeSum(p, kPartials));
      }
      out.write(word);
    }
  }
}

// The heads' outputs into y (the attention output, dim words an entry), taken from each job's port (sent by
// jobs() in `order`) in job order.
inline void merge(hls::stream<Word> outs[kMemPorts], hls::stream<int>& order, AttentionShape s,
                  Word y[kMaxStep][kDimWords]) {
  const int per_job = s.kv_mul * (s.head_size / kWordFloats);
  int port = 0;
merge_words:
  for (int i = 0; i < s.n * s.n_kv_heads * per_job; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kDimWords
#pragma HLS PIPELINE II = 1
    const int j = i / per_job, e = j / s.n_kv_heads, hk = j % s.n_kv_heads;
    if (i % per_job == 0) port = order.read();
    Word word = ZeroWord();
    for (int p = 0; p < kMemPorts; p++) {
      if (p == port) word = outs[p].read();
    }
    y[e][hk * per_job + i % per_job] = word;  // query heads hk * kv_mul .. are contiguous in y
  }
  CARD_COUNT(head_words, (int64_t)s.n * s.n_kv_heads * per_job);
}

#define FPGASERVE_CARD_ATTEND_CHAIN(p)                        \
  kv_load(m##p, s, load_jobs[p], kv[p]);                      \
  attend(attend_jobs[p], queries[p], kv[p], s, outs[p]);

// A layer's attention for the step's entries: y[e] = attention of q[e] over its slot's cache.
inline void attention(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_CONST_PORT_PARAM) const Word q[kMaxStep][kDimWords],
                      const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s, Word y[kMaxStep][kDimWords]) {
#pragma HLS DATAFLOW
  hls::stream<Job> load_jobs[kMemPorts];
  hls::stream<Job> attend_jobs[kMemPorts];
  hls::stream<Word> queries[kMemPorts];
  hls::stream<Word> kv[kMemPorts];
  hls::stream<Word> outs[kMemPorts];
#pragma HLS STREAM variable = load_jobs depth = kMaxJobs
#pragma HLS STREAM variable = attend_jobs depth = kMaxJobs
#pragma HLS STREAM variable = queries depth = 64
#pragma HLS STREAM variable = kv depth = 64
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
