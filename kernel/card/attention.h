// The card kernel's attention, per layer, after RoPE:
//
//   write_kv: each entry's new key and value words into their lines (card.h's layout), the ports side by side
//
//           ┌ kv_load(m0) ┐ keys, values
//           ├ kv_load(mA) ┼──────────────> scores(0) ─ weights(0) ─ values(0) ┐
//   jobs ───┤   ...       ┘ (chain 0: ports 0, A, 2A, ...)                      ├── merge ── attention output
//  (+ q)    └ ... kMemPorts loaders, kChains (A) chains, side by side ...       ┘   (on chip)
//
// A job is one (entry, kv head): its line lives on one port, whose loader reads it for chain port % A; the
// chain computes the kv_mul query heads that share it, so every cached key and value is read once per
// entry. Jobs go out in (entry, kv head) order, neighbouring heads on neighbouring ports; merge takes the
// heads back in the same order. A = kMemPorts on the DDR builds (a chain per port); the HBM builds share
// a chain between several ports' loaders (card.h: kChains), as 32 chains of float units would not fit.
// The stages are processes of one DATAFLOW region joined by streams. Softmax is online (kernel_math.h:
// flash-attention style, one pass): a loader reads a job's keys and values a chunk of kKvChunk positions
// at a time (keys, then the same positions' values), so a position's values arrive soon after its score
// and no stream holds more than a chunk. The loops and their II:
//   kv_load   II 1: per job one unconditional, address-increasing stream of its chunks (card.h's line
//             layout: a chunk's keys, then its values), the last chunk read whole.
//   scores    II 1: per (key word, query head) the 32 products by TreeSum (kernel_math.h's KvDot; a key's
//             word sums are added when its last word is in, from registers: nothing float is carried).
//   weights   II 1: per (position, query head) OnlineStep: the lane's running maximum (a compare) and two
//             KernelExp, fed forward; the lane's sum l c + p, carried to kPartials positions later. At
//             the job's end OnlineMerge per head (II 8: one set of exp units) to `values`.
//   values    II 1: per (value word, query head) 32 lanes of acc c + p v into kPartials interleaved lanes
//             (position t into lane t % kPartials: the same sum comes back kPartials positions later);
//             then per output word 16 OnlineOut (II 4: a quarter of the units).
// With kv_mul = 1 a chain takes a key or value word a cycle: a DDR port's bandwidth; an HBM chain serves
// its ports' jobs one after another, at the port's bandwidth each.
#ifndef FPGASERVE_KERNEL_CARD_ATTENTION_H_
#define FPGASERVE_KERNEL_CARD_ATTENTION_H_

#include "kernel/card/card.h"
#include "kernel/card/counters.h"
#include "kernel/card/vector_ops.h"
#include "kernel/kernel_math.h"

namespace fpgaserve {
namespace kernel {

const int kMaxHeadWords = kMaxHeadSize / kWordHalves;  // fp16 words of a cached head
const int kMaxJobs = kMaxStep * kMaxHeads;             // (entry, kv head) pairs of a step
// kKvChunk (card.h): positions a loader reads in one go, their keys then their values. A chunk's values
// (kKvChunk x kMaxHeadWords words) fit the value stream, so the loader reads the next chunk's keys while
// the values stage works through them; a chunk's weights (kKvChunk x kMaxKvMul) fit the weight stream,
// which is what keeps the chain from deadlocking (see kv_load).
const int kValueWords = kKvChunk * kMaxHeadWords;  // depth of a chain's value stream
const int kWeightValues = kKvChunk * kMaxKvMul;    // depth of a chain's weight stream

// What a chain's weights stage hands its values stage per query head at a job's end (OnlineMerge).
struct LaneFactors {
  float f[kPartials];  // e^(m_k - M) per lane
  float inv;           // 1 / the lanes' weighted sum
};

// What attention needs of the step, the same for every port.
struct AttentionShape {
  int n, n_kv_heads, kv_mul, head_size, cache_len, n_slots, layer;
  int hw;           // KvHeadWords(head_size)
  int64_t kv_base;  // first KV word of every port
  float inv_sqrt;   // 1 / sqrt(head_size)
};

// A job as the loaders and attend stages see it.
struct Job {
  int64_t line_at;  // the line's first word on each of its chain's ports
  int count;        // positions 0..pos
  int words;        // the words a loader reads: its chunks of the job, whole (made once, in `jobs`; the
                    // chains' copies do not use it)
  int rot;          // the member holding the job's chunk 0 (card.h: KvLineRotation)
};

// Word w (32 fp16 values) of head `head` of an entry's key (or, with `value`, its value), from its
// activation rows k and v (16 floats a word), values past head_size zero. Both rows are read alike and
// the words chosen, so one set of converters serves keys and values (choosing the array by a pointer
// would be a multiplexer of memories, which Vitis may refuse).
inline Word kv_word(const Word k[kActWords], const Word v[kActWords], bool value, int head, int w, int head_size) {
  const int first = head * (head_size / kWordFloats) + 2 * w;  // the activation word of value 32 w
  const int last = (head + 1) * (head_size / kWordFloats);     // the head's end, in activation words
  const bool has_hi = first + 1 < last;
  const Word k_lo = k[first], v_lo = v[first];
  const Word k_hi = has_hi ? k[first + 1] : ZeroWord(), v_hi = has_hi ? v[first + 1] : ZeroWord();
  const Word lo = value ? v_lo : k_lo, hi = value ? v_hi : k_hi;
  Word out;
  for (int i = 0; i < kWordFloats; i++) {
    SetWordU16(out, i, KvFromFloat(WordF32(lo, i)));
    SetWordU16(out, kWordFloats + i, KvFromFloat(WordF32(hi, i)));
  }
  return out;
}

// ---- write_kv: this step's keys and values into the cache, every port's writes side by side ----
// One DATAFLOW region:
//   kv_words ─> kv_pick(0) ─> kv_pick(1) ─> ... ─> kv_pick_last(P-1)      a forwarding chain, as matmul's
//                  │ mine        │ mine               │ mine                relays (no P-way fan-out)
//               kv_store(m0)  kv_store(m1)   ...   kv_store(mP-1)
//   kv_words      II 1: per (entry, kv head) its key words, then its value words (fp16, kv_word), each
//                 with its port and address (card.h: KvPositionPort, KvPositionAt), and an end marker.
//   kv_pick       II 1: every element on to the next port; the port's own (and the end) to its store.
//   kv_store      II 1: one unconditional write an element, to the address it carries, until the end
//                 marker. The addresses jump between a job's keys and values and between jobs, so the
//                 writes are single beats, pipelined up to the port's num_write_outstanding (step.cpp);
//                 the ports write side by side where they once wrote one after another, a job at a time.
struct KvWrite {
  Word word;
  uint32_t at;    // the word's address on its port (a port holds at most 2^32 words: 256 GB)
  uint16_t port;  // which port
  bool last;      // the end marker (no word)
};
const int kMaxKvWrites = kMaxJobs * 2 * kMaxHeadWords;  // words a step writes at most

inline void kv_words(const Word k[kMaxStep][kActWords], const Word v[kMaxStep][kActWords], const int slot[kMaxStep],
                     const int pos[kMaxStep], AttentionShape s, hls::stream<KvWrite>& out) {
  int e = 0, hk = 0, w = 0;  // entry, kv head, word of the job's 2 hw: counters
kv_words_out:
  for (int i = 0; i < s.n * s.n_kv_heads * 2 * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvWrites
#pragma HLS PIPELINE II = 1
    // II 1: two activation words read a cycle (k and v are true dual-port), the line's address by
    // pipelined multiplies; nothing carried but the counters.
    const int64_t line = KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads);
    const bool key = w < s.hw;
    const int hw_i = key ? w : w - s.hw;
    KvWrite el;
    el.word = kv_word(k[e], v[e], !key, hk, hw_i, s.head_size);
    el.at = (uint32_t)(s.kv_base + KvPositionAt(line, pos[e], !key, s.cache_len, s.head_size) + hw_i);
    el.port = (uint16_t)KvPositionPort(line, pos[e]);
    el.last = false;
    out.write(el);
    if (++w == 2 * s.hw) {
      w = 0;
      if (++hk == s.n_kv_heads) {
        hk = 0;
        e++;
      }
    }
  }
  KvWrite end;
  end.word = ZeroWord();
  end.at = 0;
  end.port = 0;
  end.last = true;
  out.write(end);
  CARD_COUNT(kv_write_words, (int64_t)s.n * s.n_kv_heads * 2 * s.hw);
}

// Port p's link of the chain: every element on, port p's and the end marker to its store. The last port's
// link has no next (a stream nobody reads would fill and stall the region), hence two functions, as
// matmul's chain and chain end. Both end at the end marker (a constant bound and a `break`): no port
// multiplies the shape for a bound.
inline void kv_pick(hls::stream<KvWrite>& in, int p, hls::stream<KvWrite>& mine, hls::stream<KvWrite>& next) {
kv_pick_words:
  for (int i = 0; i < kMaxKvWrites + 1; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvWrites + 1
#pragma HLS PIPELINE II = 1
    // II 1: one read, two FIFO writes (one of them conditional: a FIFO's, not the port's), nothing carried.
    const KvWrite el = in.read();
    if (el.last || el.port == p) mine.write(el);
    next.write(el);
    if (el.last) break;
  }
}
inline void kv_pick_last(hls::stream<KvWrite>& in, int p, hls::stream<KvWrite>& mine) {
kv_pick_last_words:
  for (int i = 0; i < kMaxKvWrites + 1; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvWrites + 1
#pragma HLS PIPELINE II = 1
    const KvWrite el = in.read();
    if (el.last || el.port == p) mine.write(el);
    if (el.last) break;
  }
}

inline void kv_store(Word* port, hls::stream<KvWrite>& mine) {
kv_store_words:
  for (int i = 0; i < kMaxKvWrites + 1; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvWrites / kMemPorts + 1
#pragma HLS PIPELINE II = 1
    // II 1: one element read, one write to the port at its address; the loop ends at the end marker.
    const KvWrite el = mine.read();
    if (el.last) break;
    port[el.at] = el.word;
  }
}

#define FPGASERVE_CARD_KV_PICK(p) kv_pick(chain[p], p, mine[p], chain[p + 1]);
#define FPGASERVE_CARD_KV_PICK_LAST(p) kv_pick_last(chain[p], p, mine[p]);
#define FPGASERVE_CARD_KV_STORE(p) kv_store(m##p, mine[p]);

// The keys and values of this step's entries (k, v: after RoPE) into their lines, every port at once.
inline void write_kv(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_PORT_PARAM) const Word k[kMaxStep][kActWords],
                     const Word v[kMaxStep][kActWords], const int slot[kMaxStep], const int pos[kMaxStep],
                     AttentionShape s) {
  // A DATAFLOW region is a module of its own: not inlined into its caller.
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<KvWrite> chain[kMemPorts];
  hls::stream<KvWrite> mine[kMemPorts];
#pragma HLS STREAM variable = chain depth = 4
#pragma HLS STREAM variable = mine depth = 4
  kv_words(k, v, slot, pos, s, chain[0]);
  FPGASERVE_FOR_PORTS_BUT_LAST(FPGASERVE_CARD_KV_PICK)
  FPGASERVE_FOR_LAST_PORT(FPGASERVE_CARD_KV_PICK_LAST)
  FPGASERVE_FOR_PORTS(FPGASERVE_CARD_KV_STORE)
}

// Hands out the jobs: to each loader of a job's chain the job's line and how many words of it that loader
// holds (its chunks: card.h's striping); to the chain the job and its kv_mul query heads (zero-padded to
// whole key words). First each loader's and chain's job count (a chain's loaders see all of its jobs).
inline void jobs(const Word q[kMaxStep][kActWords], const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s,
                 hls::stream<Job> load_jobs[kMemPorts], hls::stream<Job> attend_jobs[kChains],
                 hls::stream<Word> queries[kChains], hls::stream<int>& order) {
  int count[kChains];
#pragma HLS ARRAY_PARTITION variable = count complete
  for (int c = 0; c < kChains; c++) count[c] = 0;
  int ce = 0, chk = 0;  // the job's entry and kv head: counters, not j / n_kv_heads
jobs_count:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    // II 1: the chain is a multiply-add and a mask (kChains a power of two); the carried values are
    // integer adds and counter increments, one cycle each.
#pragma HLS PIPELINE II = 1
    const int chain = KvLineChain(KvLine(s.layer, slot[ce], chk, s.n_slots, s.n_kv_heads));
    for (int c = 0; c < kChains; c++) count[c] += c == chain ? 1 : 0;
    if (++chk == s.n_kv_heads) {
      chk = 0;
      ce++;
    }
  }
  Job header = {0, 0, 0, 0};
  for (int p = 0; p < kMemPorts; p++) {
#pragma HLS UNROLL
    header.count = count[p % kChains];
    load_jobs[p].write(header);
  }
  for (int c = 0; c < kChains; c++) {
#pragma HLS UNROLL
    header.count = count[c];
    attend_jobs[c].write(header);
  }
  const int qw = 2 * s.hw;  // 16-value words of a padded query head
  const int hw16 = s.head_size / kWordFloats;
  const int64_t share = KvLineShareWords(s.cache_len, s.head_size);
  const int chunk_words = (int)KvChunkWords(s.head_size);
  int e = 0, hk = 0;  // the job's entry and kv head: counters
jobs_out:
  for (int j = 0; j < s.n * s.n_kv_heads; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const int64_t line = KvLine(s.layer, slot[e], hk, s.n_slots, s.n_kv_heads);
    const int chain = KvLineChain(line);
    Job job;
    job.line_at = s.kv_base + KvLineSlot(line) * share;
    job.count = pos[e] + 1;
    job.rot = KvLineRotation(line);
    // Member m holds chunks k0, k0 + kChainPorts, ... (k0 = (m - rot) mod kChainPorts): `whole` of them,
    // and one more where k0 < `extra`.
    const int chunks = (job.count + kKvChunk - 1) / kKvChunk;
    const int whole = chunks / kChainPorts, extra = chunks % kChainPorts;
    const int whole_words = whole * chunk_words;
    order.write(chain);
    for (int p = 0; p < kMemPorts; p++) {
#pragma HLS UNROLL
      job.words = whole_words + (KvMemberFirstChunk(p / kChains, job.rot) < extra ? chunk_words : 0);
      if (p % kChains == chain) load_jobs[p].write(job);
    }
    for (int c = 0; c < kChains; c++) {
#pragma HLS UNROLL
      if (c == chain) attend_jobs[c].write(job);
    }
    int r = 0, w = 0;  // query head of the group and its word: counters, not i / qw
  jobs_queries:
    for (int i = 0; i < s.kv_mul * qw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * 2 * kMaxHeadWords
      // II 1: one on-chip read (its address a multiply-add of counters), one stream write; only counter
      // increments are carried.
#pragma HLS PIPELINE II = 1
      const int h = hk * s.kv_mul + r;
      const Word word = w < hw16 ? q[e][h * hw16 + w] : ZeroWord();
      for (int c = 0; c < kChains; c++) {
        if (c == chain) queries[c].write(word);
      }
      if (++w == qw) {
        w = 0;
        r++;
      }
    }
    if (++hk == s.n_kv_heads) {
      hk = 0;
      e++;
    }
  }
}

// One port's loader, member `member` of its chain: per job of the chain, the job's chunks this port holds
// (member, member + kChainPorts, ...: card.h), each its keys then its values, as one stream. This order
// cannot deadlock: a stage waits on the one before it in the chain, and once a loader has written a
// chunk's keys it writes that chunk's values, which the values stage needs when it reaches the chunk; the
// values stage has then taken every weight before the chunk, so the chunk's weights (at most
// kWeightValues) fit the weight stream, and scores and weights can drain the chunk's keys meanwhile. The
// values stream holds a chunk, and a loader's next chunk is kChainPorts chunks later, by which time the
// values stage has taken its last one.
inline void kv_load(const Word* port, int member, AttentionShape s, hls::stream<Job>& jobs_in, hls::stream<Word>& keys,
                    hls::stream<Word>& values) {
  const int n_jobs = jobs_in.read().count;
  const int half = kKvChunk * s.hw;  // words of a chunk's keys (and of its values)
kv_load_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = jobs_in.read();
    // The chunk's first position (this member's first chunk: (member - rot) mod kChainPorts), the word
    // within the chunk (0 .. 2 half).
    int c = KvMemberFirstChunk(member, job.rot) * kKvChunk, w = 0;
    int t = 0, hw_i = 0;  // the word's position and its word within the position
  kv_load_words:
    for (int i = 0; i < job.words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * 2 * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      // II 1: one unconditional read, addresses increasing over the whole job (one burst stream, 64-word
      // bursts, 8 outstanding); the word goes to the keys or the values stream, or nowhere for the
      // positions past the job's last in its last chunk (read whole, so that the job is one stream).
      const Word word = port[job.line_at + i];
      const bool valid = c + t < job.count;
      if (valid && w < half) keys.write(word);
      if (valid && w >= half) values.write(word);
      if (++hw_i == s.hw) {
        hw_i = 0;
        if (++t == kKvChunk) t = 0;
      }
      if (++w == 2 * half) {
        w = 0;
        c += kChainPorts * kKvChunk;  // this member's next chunk
      }
    }
    CARD_COUNT(kv_read_words, job.words);
  }
}

// One chain's scores: per job the kv_mul query heads against its keys (from the loader of the job's
// port), q.k / sqrt(head_size) in (key, query head) order to `out`; each job first to `counts`.
inline void scores(hls::stream<Job>& jobs_in, hls::stream<Word>& queries, hls::stream<Word> keys[kChainPorts],
                   AttentionShape s, hls::stream<float>& out, hls::stream<Job>& counts) {
  const Job header = jobs_in.read();
  const int n_jobs = header.count;
  const int qw = 2 * s.hw;  // 16-value words of a padded query head
  counts.write(header);
scores_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = jobs_in.read();
    const int count = job.count;
    counts.write(job);
    // The query heads as (head, key word, lane): the 32 lanes of a key word are 32 banks, indexed by
    // constants only.
    float qh[kMaxKvMul][kMaxHeadWords][kWordHalves];
#pragma HLS ARRAY_PARTITION variable = qh complete dim = 3
    int fh = 0, fw = 0;  // query head and its 16-value word: counters, not i / qw
  scores_queries:
    for (int i = 0; i < s.kv_mul * qw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * 2 * kMaxHeadWords
      // II 1: a 16-value word is the lower (fw even) or upper half of key word fw / 2: one write to each
      // of 16 banks picked by constants under a one-bit select; only counters are carried.
#pragma HLS PIPELINE II = 1
      const Word word = queries.read();
      const int kw = fw >> 1;
      for (int l = 0; l < kWordFloats; l++) {
        if (fw & 1) {
          qh[fh][kw][kWordFloats + l] = WordF32(word, l);
        } else {
          qh[fh][kw][l] = WordF32(word, l);
        }
      }
      if (++fw == qw) {
        fw = 0;
        fh++;
      }
    }
    float word_sum[kMaxKvMul][kMaxHeadWords];
#pragma HLS ARRAY_PARTITION variable = word_sum complete dim = 0
    Word key = ZeroWord();
    int w = 0, r = 0;
    int t = 0, member = job.rot;  // the key's position in its chunk, and which loader holds the chunk (card.h)
  scores_words:
    for (int it = 0; it < count * s.hw * s.kv_mul; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      if (r == 0) key = ReadFrom<kChainPorts>(keys, member);  // a key word serves the kv_mul query heads, one a cycle
      float p[kWordHalves];
#pragma HLS ARRAY_PARTITION variable = p complete
      for (int i = 0; i < kWordHalves; i++) p[i] = qh[r][w][i] * KvToFloat(WordU16(key, i));
      word_sum[r][w] = TreeSum<kWordHalves>(p);
      if (w == s.hw - 1) {
        // KvDot's order: the key's word sums added in word order, all from registers.
        float total = word_sum[r][0];
        for (int k = 1; k < kMaxHeadWords; k++) total = k < s.hw ? total + word_sum[r][k] : total;
        out.write(total * s.inv_sqrt);
      }
      if (++r == s.kv_mul) {
        r = 0;
        if (++w == s.hw) {
          w = 0;
          if (++t == kKvChunk) {
            t = 0;
            member = member == kChainPorts - 1 ? 0 : member + 1;
          }
        }
      }
    }
    CARD_COUNT(score_iterations, (int64_t)count * s.hw * s.kv_mul);
  }
}

// One chain's weights: per job and (position, query head), in the order the scores come, kernel_math.h's
// OnlineStep in the position's lane (t % kPartials) to `out`; at the job's end each head's LaneFactors.
inline void weights(hls::stream<Job>& counts_in, hls::stream<float>& in, hls::stream<OnlineWeight>& out,
                    hls::stream<LaneFactors>& factors, hls::stream<Job>& counts_out, AttentionShape s) {
  const Job header = counts_in.read();
  const int n_jobs = header.count;
  counts_out.write(header);
  // Each (query head, lane)'s running maximum and sum: small memories (LUTRAM, kMaxKvMul x kPartials
  // deep), not registers: both indices are run-time counters, and Vitis honours the DEPENDENCE distances
  // below for a memory only. Emptied once here, then by weights_merge as it reads them, for the next job.
  float lane_max[kMaxKvMul][kPartials];
#pragma HLS BIND_STORAGE variable = lane_max type = ram_2p impl = lutram
  float lane_sum[kMaxKvMul][kPartials];
#pragma HLS BIND_STORAGE variable = lane_sum type = ram_2p impl = lutram
  for (int h = 0; h < kMaxKvMul; h++) {
    for (int k = 0; k < kPartials; k++) {
      lane_max[h][k] = kLaneEmpty;
      lane_sum[h][k] = 0.0f;
    }
  }
weights_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = counts_in.read();
    const int count = job.count;
    counts_out.write(job);
    // A position takes kv_mul iterations (one a query head), at least kLaneMinIterations (idle ones after).
    const int slots = s.kv_mul > kLaneMinIterations ? s.kv_mul : kLaneMinIterations;
    int lane = 0, r = 0;  // position t's lane (t % kPartials) and query head (or idle slot), as counters
  weights_scores:
    for (int it = 0; it < count * slots; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxKvMul
#pragma HLS PIPELINE II = 1
      // II 1: one read and one write a cycle of each lane memory (ram_2p); the KernelExp cores are fed
      // forward, only the compare and l c + p (a multiply, then an add) are carried, through the memories.
      // distance: lane_max[r][lane] and lane_sum[r][lane] come back kPartials positions later, 8 x slots
      // >= 16 iterations.
#pragma HLS DEPENDENCE variable = lane_max inter true distance = 16
      // distance: as lane_max's, 8 positions of at least kLaneMinIterations.
#pragma HLS DEPENDENCE variable = lane_sum inter true distance = 16
      if (r < s.kv_mul) {
        float m = lane_max[r][lane];
        const OnlineWeight w = OnlineStep(&m, in.read());
        lane_max[r][lane] = m;
        lane_sum[r][lane] = Rescaled(lane_sum[r][lane], w, 1.0f);
        out.write(w);
      }
      if (++r == slots) {
        r = 0;
        lane = lane == kPartials - 1 ? 0 : lane + 1;
      }
    }
    CARD_COUNT(softmax_iterations, (int64_t)count * slots);
  weights_merge:
    for (int h = 0; h < s.kv_mul; h++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul
      // II = kPartials: OnlineMerge's kPartials KernelExp share one set of float units, and the head's
      // kPartials reads and kPartials writes (emptying it for the next job) of each lane memory take its
      // one read and one write port kPartials cycles; kv_mul iterations a job.
#pragma HLS PIPELINE II = 8
      LaneFactors lf;
      lf.inv = OnlineMerge(lane_max[h], lane_sum[h], lf.f);
      factors.write(lf);
      for (int k = 0; k < kPartials; k++) {
        lane_max[h][k] = kLaneEmpty;
        lane_sum[h][k] = 0.0f;
      }
    }
  }
}

// One chain's values: per job and query head the online softmax's value lanes over the job's positions
// (the values from the loader of the job's port), then head_size / 16 words to `out`.
inline void values(hls::stream<Job>& counts_in, hls::stream<OnlineWeight>& w_in, hls::stream<LaneFactors>& factors,
                   hls::stream<Word> v_in[kChainPorts], AttentionShape s, hls::stream<Word>& out) {
  const int n_jobs = counts_in.read().count;
values_jobs:
  for (int j = 0; j < n_jobs; j++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxJobs
    const Job job = counts_in.read();
    const int count = job.count;
    // The value lanes: kPartials x 32 banks (lane, value of the word), each a LUTRAM of kMaxKvMul x
    // kMaxHeadWords floats (32 deep at the presets' maxima: as BRAM each would take a BRAM18, 256 a chain,
    // and the HBM build would not fit). LUTRAM reads in the cycle, which the DEPENDENCE distance counts on.
    float acc[kMaxKvMul][kPartials][kMaxHeadWords][kWordHalves];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 4
#pragma HLS BIND_STORAGE variable = acc type = ram_2p impl = lutram
    int ch = 0, cw = 0;  // query head and value word: counters, not divisions
  values_clear:
    for (int i = 0; i < s.kv_mul * s.hw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kMaxHeadWords
      // II 1: word cw of head ch in every lane at once, one write to each of the kPartials x 32 banks
      // (constant lane indices); only counters are carried.
#pragma HLS PIPELINE II = 1
      for (int k = 0; k < kPartials; k++) {
        for (int l = 0; l < kWordHalves; l++) acc[ch][k][cw][l] = 0.0f;
      }
      if (++cw == s.hw) {
        cw = 0;
        ch++;
      }
    }
    OnlineWeight a[kMaxKvMul];  // this position's weights, taken with its first word
#pragma HLS ARRAY_PARTITION variable = a complete
    Word value = ZeroWord();
    // A position takes hw x kv_mul iterations (a value word a query head), at least kLaneMinIterations.
    const int per_pos = s.hw * s.kv_mul, slots = per_pos > kLaneMinIterations ? per_pos : kLaneMinIterations;
    int lane = 0, w = 0, r = 0, slot = 0;
    int t = 0, member = job.rot;  // the position in its chunk, and which loader holds the chunk (card.h)
  values_words:
    for (int it = 0; it < count * slots; it++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxSeqLen * kMaxHeadWords
#pragma HLS PIPELINE II = 1
      // distance: acc[r][lane][w] is next rescaled and added to kPartials positions later, 8 x slots >= 16
      // iterations: past a BRAM read, a multiply and an add.
#pragma HLS DEPENDENCE variable = acc inter true distance = 16
      if (slot < per_pos) {
        if (r == 0) value = ReadFrom<kChainPorts>(v_in, member);
        if (w == 0) a[r] = w_in.read();
        for (int l = 0; l < kWordHalves; l++) {
          acc[r][lane][w][l] = Rescaled(acc[r][lane][w][l], a[r], KvToFloat(WordU16(value, l)));
        }
        if (++r == s.kv_mul) {
          r = 0;
          if (++w == s.hw) w = 0;
        }
      }
      if (++slot == slots) {
        slot = 0;
        lane = lane == kPartials - 1 ? 0 : lane + 1;
        if (++t == kKvChunk) {
          t = 0;
          member = member == kChainPorts - 1 ? 0 : member + 1;
        }
      }
    }
    CARD_COUNT(value_iterations, (int64_t)count * slots);

    LaneFactors lf[kMaxKvMul];
#pragma HLS ARRAY_PARTITION variable = lf complete
  values_factors:
    for (int h = 0; h < s.kv_mul; h++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul
#pragma HLS PIPELINE II = 1
      lf[h] = factors.read();
    }
    // Each head's output: OnlineOut of the lanes, head_size / 16 words.
    const int ow = s.head_size / kWordFloats;
    int oh = 0, o = 0;  // query head and its output word: counters, not i / ow
  values_out:
    for (int i = 0; i < s.kv_mul * ow; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxKvMul * kMaxHeadSize / 16
      // II = 4: the word's 16 OnlineOut (8 multiplies and a tree each) on a quarter of the units; kv_mul *
      // head_size / 4 cycles a job, against count * head_size / 32 * kv_mul for its values. Output word o
      // is the lower (o even) or upper half of value word o / 2: constant lane indices under a one-bit
      // select, no run-time bank index.
#pragma HLS PIPELINE II = 4
      const int vw = o >> 1;
      const bool upper = (o & 1) != 0;
      Word word;
      for (int l = 0; l < kWordFloats; l++) {
        float p[kPartials];
        for (int k = 0; k < kPartials; k++) p[k] = upper ? acc[oh][k][vw][kWordFloats + l] : acc[oh][k][vw][l];
        SetWordF32(word, l, OnlineOut(p, lf[oh].f, lf[oh].inv));
      }
      out.write(word);
      if (++o == ow) {
        o = 0;
        oh++;
      }
    }
  }
}

// The heads' outputs into y (the attention output, dim words an entry), taken from each job's chain (sent
// by jobs() in `order`) in job order.
inline void merge(hls::stream<Word> outs[kChains], hls::stream<int>& order, AttentionShape s,
                  Word y[kMaxStep][kActWords]) {
  const int per_job = s.kv_mul * (s.head_size / kWordFloats);
  int chain = 0, e = 0, hk = 0, i_job = 0;  // counters, not divisions per iteration
merge_words:
  for (int i = 0; i < s.n * s.n_kv_heads * per_job; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kDimWords
#pragma HLS PIPELINE II = 1
    if (i_job == 0) chain = order.read();
    y[e][hk * per_job + i_job] = ReadFrom<kChains>(outs, chain);  // query heads hk * kv_mul .. are contiguous in y
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

#define FPGASERVE_CARD_KV_LOAD(p) \
  kv_load(m##p, p / kChains, s, load_jobs[p], keys[p % kChains][p / kChains], vals[p % kChains][p / kChains]);
#define FPGASERVE_CARD_ATTEND_CHAIN(c)                               \
  scores(attend_jobs[c], queries[c], keys[c], s, raw[c], counts[c]); \
  weights(counts[c], raw[c], online[c], factors[c], counts2[c], s);  \
  values(counts2[c], online[c], factors[c], vals[c], s, outs[c]);

// A layer's attention for the step's entries: y[e] = attention of q[e] over its slot's cache.
inline void attention(FPGASERVE_FOR_PORTS(FPGASERVE_CARD_CONST_PORT_PARAM) const Word q[kMaxStep][kActWords],
                      const int slot[kMaxStep], const int pos[kMaxStep], AttentionShape s,
                      Word y[kMaxStep][kActWords]) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<Job> load_jobs[kMemPorts];
  hls::stream<Job> attend_jobs[kChains];
  hls::stream<Word> queries[kChains];
  hls::stream<Word> keys[kChains][kChainPorts];  // port p's loader writes [p % kChains][p / kChains]
  hls::stream<Word> vals[kChains][kChainPorts];
  hls::stream<float> raw[kChains];            // scores
  hls::stream<OnlineWeight> online[kChains];  // each (position, query head)'s c and p
  hls::stream<LaneFactors> factors[kChains];  // each job's per-head OnlineMerge
  hls::stream<Job> counts[kChains];           // each job, scores -> weights
  hls::stream<Job> counts2[kChains];          // ... weights -> values
  hls::stream<Word> outs[kChains];
  hls::stream<int> order;
#pragma HLS STREAM variable = load_jobs depth = kMaxJobs
#pragma HLS STREAM variable = attend_jobs depth = kMaxJobs
#pragma HLS STREAM variable = queries depth = 64
  // keys: short (the m_axi adapter buffers the bursts); vals: a chunk's values, so the loader goes on to
  // the next chunk's keys; online: a chunk's weights, which keeps the chain from deadlocking (kv_load);
  // raw: enough to cover the weights stage's latency.
#pragma HLS STREAM variable = keys depth = 16
#pragma HLS STREAM variable = vals depth = kValueWords
#pragma HLS STREAM variable = raw depth = 64
#pragma HLS STREAM variable = online depth = kWeightValues
#pragma HLS STREAM variable = factors depth = kMaxKvMul
#pragma HLS STREAM variable = counts depth = 4
#pragma HLS STREAM variable = counts2 depth = 4
#pragma HLS STREAM variable = outs depth = 64
#pragma HLS STREAM variable = order depth = kMaxJobs
  jobs(q, slot, pos, s, load_jobs, attend_jobs, queries, order);
  FPGASERVE_FOR_PORTS(FPGASERVE_CARD_KV_LOAD)
  FPGASERVE_FOR_CHAINS(FPGASERVE_CARD_ATTEND_CHAIN)
  merge(outs, order, s, y);
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_CARD_ATTENTION_H_
