// The card kernel's elementwise stages, one 16-value word a cycle: RMSNorm, int8 quantisation, RoPE,
// residual, SwiGLU, the token embedding, and loading a norm vector. Activations live on chip as arrays
// of words, (entry, word); each stage walks them in order.
//
// Every pipelined loop here reaches II=1: a word is read and written once per iteration, the per-lane math
// is unrolled over the word's 16 lanes, and the only values carried between iterations are the sum of
// squares and the group maximum, kept in kPartials interleaved partials (kernel_math.h), so a partial is
// written again only kPartials iterations later, past the float adder's latency.
#ifndef FPGASERVE_KERNEL_CARD_VECTOR_OPS_H_
#define FPGASERVE_KERNEL_CARD_VECTOR_OPS_H_

#include "kernel/card/card.h"
#include "kernel/card/counters.h"
#include "kernel/kernel_math.h"

namespace fpgaserve {
namespace kernel {

const int kDimWords = kMaxDim / kWordFloats;           // words of a dim-wide activation
const int kHiddenWords = kMaxHiddenDim / kWordFloats;  // words of a hidden-wide activation
// Every activation array is as wide as the widest (the FFN's), so that one matmul instance serves every
// call: a 512-bit word array takes 8 URAMs across, so the narrower ones would save nothing.
const int kActWords = kHiddenWords;
static_assert(kMaxDim <= kMaxHiddenDim, "activation rows must hold dim");
const int kQuantWords = kMaxHiddenDim / kWordBytes;                    // words of int8 activations (64 a word)
const int kScaleWords = (kMaxGroups + kWordFloats - 1) / kWordFloats;  // words of group scales
const int kRopeWords = kMaxHeadSize / kWordFloats;                     // words of one entry's RoPE table

// w[0 .. words) = port words from `at`: a norm weight vector (stored in every port; read from port 0).
inline void load_vector(const Word* port, int64_t at, int words, Word w[kDimWords]) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
load_vector_words:
  for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
    w[i] = port[at + i];
  }
  CARD_COUNT(vector_words, words);
}

// ---- RMSNorm without a pass of its own ----
// RMSNorm needs an entry's sum of squares before it can scale the entry's first value. Rather than a pass
// that only sums, the pass that last wrote x sums its squares as it writes: the residual (and, after the
// embedding, the same loop without the add). The sums stay as kernel_math.h's SumSquares leaves them,
// kPartials x 16 partials an entry (word w into partial w % kPartials, lane by lane), in `squares`, one
// row of 16 lanes per (entry, partial); norm_factors turns them into each entry's factor, and the
// scaling itself is the quantize pass's source (below): x is read once per norm, not four times.
static_assert(kNormPartials == kPartials, "card.h's count of partials is kernel_math.h's");
const int kSquareRows = kMaxStep * kPartials;

// x[e] += dx[e] (with `add`; without, x is only read: the sums after the embedding) over `words` words
// of n entries, and the sums of squares of the new x[e] into `squares`. One pipeline over (entry, word).
inline void residual(Word x[kMaxStep][kActWords], const Word dx[kMaxStep][kActWords], int n, int words, bool add,
                     float squares[kSquareRows][kWordFloats]) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
  int e = 0, w = 0, k = 0;  // the entry, the word, its partial (w % kPartials): counters
residual_words:
  for (int i = 0; i < n * words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kDimWords
#pragma HLS PIPELINE II = 1
    // II 1: per lane one read and one write of `squares` a cycle (ram_2p LUTRAM, dim 2 split into lanes);
    // the float add is carried through that memory, and distance: row (e, k) is read again only at word
    // w + kPartials of the same entry, kPartials iterations after its write, past the adder's latency
    // (an entry's first kPartials words write their row without reading it).
#pragma HLS DEPENDENCE variable = squares inter true distance = 8
    // x: each (e, w) is read and written by one iteration only, and no iteration reads a word another
    // wrote (distance: none), which Vitis cannot see through the counters; without this it would assume
    // the read waits on the last iteration's write (II about 7).
#pragma HLS DEPENDENCE variable = x inter false
    const int row = e * kPartials + k;
    Word out;
    for (int l = 0; l < kWordFloats; l++) {
      const float v = add ? WordF32(x[e][w], l) + WordF32(dx[e][w], l) : WordF32(x[e][w], l);
      SetWordF32(out, l, v);
      const float sq = v * v;  // 0 + sq is sq exactly: the host's partials start at 0
      squares[row][l] = w < kPartials ? sq : squares[row][l] + sq;
    }
    if (add) x[e][w] = out;
    if (++k == kPartials) k = 0;
    if (++w == words) {
      w = 0;
      k = 0;
      e++;
    }
  }
  CARD_COUNT(residual_words, (int64_t)n * words);
}

// f[e] = kernel_math.h's RmsFactor of entry e's sum of squares, for n entries of `words` words: the
// partials' halving tree per lane, then the lanes' tree (SumSquares' order); partials past an entry's
// last word are 0, as the host's are.
inline void norm_factors(const float squares[kSquareRows][kWordFloats], int n, int words, float eps,
                         float f[kMaxStep]) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
  float p[kPartials][kWordFloats];  // one entry's partials, a row a cycle: registers, written at counter k
#pragma HLS ARRAY_PARTITION variable = p complete dim = 0
  int e = 0, k = 0;
norm_factor_rows:
  for (int i = 0; i < n * kPartials; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kSquareRows
#pragma HLS PIPELINE II = 1
    // II 1: one row read a cycle; the trees and RmsFactor (a divide, a square root) run at the entry's
    // last row on registers and feed f forward: nothing is carried but the rows themselves.
    for (int l = 0; l < kWordFloats; l++) p[k][l] = k < words ? squares[i][l] : 0.0f;
    if (k == kPartials - 1) {
      float lanes[kWordFloats];
      for (int l = 0; l < kWordFloats; l++) {
        float col[kPartials];
        for (int j = 0; j < kPartials; j++) col[j] = p[j][l];
        lanes[l] = TreeSum<kPartials>(col);
      }
      f[e] = RmsFactor(TreeSum<kWordFloats>(lanes), words * kWordFloats, eps);
      k = 0;
      e++;
    } else {
      k++;
    }
  }
  CARD_COUNT(norm_rows, (int64_t)n * kPartials);
}

// ---- Quantisation, one pass, with what is quantized made on the way ----
// xq[row], xs[row] = the int8 form (groups of gs: kernel_math.h's QuantScale/QuantRound) of, per source:
//   kQuantCopy    a[e]                           (attention's output)
//   kQuantNorm    weight * (f[e] * a[e])         (RMSNorm of x: its factors from norm_factors)
//   kQuantSwiglu  silu(a[e]) * up[e]             (the FFN's gate)
// One DATAFLOW region of three processes, a word a cycle each:
//   quant_source ─ words ─> quant_max ─ words (a group late) ─> quant_round ─> xq, xs
//                                     └─ group maxima ────────┘
// quant_max finds each group's largest magnitude as the group passes and sends it at the group's last
// word; quant_round takes the maximum first, then the group's words, which wait in a FIFO meanwhile. A
// row is read once, where two passes (maxima, then rounding) read it twice before.
enum QuantSource { kQuantCopy = 0, kQuantNorm = 1, kQuantSwiglu = 2 };

// The delay FIFO: quant_round reads a group's maximum only after it has taken every word of the groups
// before, so while it waits the FIFO holds less than one group (at most 64 values, 4 words); the divide
// is in quant_round's pipeline, after the read, and stalls nothing. 16 covers the group and quant_max's
// few stages: a shift register.
const int kQuantDelayWords = 16;

inline void quant_source(const Word a[kMaxStep][kActWords], const Word up[kMaxStep][kActWords],
                         const Word weight[kDimWords], const float f[kMaxStep], const int list[kMaxStep], int m,
                         int words, int source, hls::stream<Word>& out) {
  int i = 0, w = 0;  // the list's entry, the word: counters
quant_source_words:
  for (int t = 0; t < m * words; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kHiddenWords
#pragma HLS PIPELINE II = 1
    // II 1: one word of a (and of up, and of the norm weight when the source uses it) read a cycle, per
    // lane the three sources' units side by side and a choice among them; nothing carried.
    const int e = list[i];
    const Word x = a[e][w];
    const Word g = source == kQuantSwiglu ? up[e][w] : ZeroWord();
    const Word wt = source == kQuantNorm ? weight[w] : ZeroWord();
    const float fe = f[e];
    Word o;
    for (int l = 0; l < kWordFloats; l++) {
      const float v = WordF32(x, l);
      const float normed = WordF32(wt, l) * (fe * v);
      const float gated = Silu(v) * WordF32(g, l);
      SetWordF32(o, l, source == kQuantNorm ? normed : source == kQuantSwiglu ? gated : v);
    }
    out.write(o);
    if (++w == words) {
      w = 0;
      i++;
    }
  }
  CARD_COUNT(quant_words, (int64_t)m * words);
}

inline void quant_max(hls::stream<Word>& in, int m, int words, int gs, hls::stream<Word>& out,
                      hls::stream<uint32_t>& maxima) {
  const int gw = gs / kWordFloats;  // words a group
  uint32_t lane_max[kWordFloats];
#pragma HLS ARRAY_PARTITION variable = lane_max complete
  for (int l = 0; l < kWordFloats; l++) lane_max[l] = 0;
  int gi = 0;  // the word within its group: a counter (rows are whole groups)
quant_max_words:
  for (int t = 0; t < m * words; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kHiddenWords
#pragma HLS PIPELINE II = 1
    // II 1: magnitudes compared as integers (MagnitudeBits), so the carried maximum is a one-cycle
    // compare; at the group's last word the lanes' maximum goes out and the lanes restart.
    const Word x = in.read();
    for (int l = 0; l < kWordFloats; l++) {
      const uint32_t v = MagnitudeBits(WordF32(x, l));
      lane_max[l] = v > lane_max[l] ? v : lane_max[l];
    }
    out.write(x);
    if (++gi == gw) {
      uint32_t max_bits = 0;
      for (int l = 0; l < kWordFloats; l++) max_bits = lane_max[l] > max_bits ? lane_max[l] : max_bits;
      for (int l = 0; l < kWordFloats; l++) lane_max[l] = 0;
      maxima.write(max_bits);
      gi = 0;
    }
  }
}

inline void quant_round(hls::stream<Word>& in, hls::stream<uint32_t>& maxima, const int rows[kMaxStep], int m,
                        int words, int gs, Word xq[kMaxStep][kQuantWords], Word xs[kMaxStep][kScaleWords]) {
  const int gw = gs / kWordFloats;
  float inv = 0.0f;  // 1 / the current group's scale: set at its first word, used by its others
  Word q = ZeroWord(), sw = ZeroWord();
  int i = 0, w = 0, gi = 0, g = 0, qi = 0;  // entry, word, word in group, group, word in xq word
quant_round_words:
  for (int t = 0; t < m * words; t++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep * kHiddenWords
#pragma HLS PIPELINE II = 1
    // II 1: the group's scale and 1 / scale (QuantScale: a divide) are made from the maximum as it is
    // read, at the group's first word; the group's other words keep it (`inv`). The only recurrence is
    // that choice, a multiplexer: the divide feeds it from the stream, not from the loop. Four words of
    // int8 values make a word of xq.
    const int r = rows[i];
    float s_inv = inv;
    if (gi == 0) {
      const float scale = QuantScale(FloatFromBits(maxima.read()), &s_inv);
      SetWordF32(sw, g % kWordFloats, scale);
    }
    inv = s_inv;
    const Word x = in.read();
    for (int l = 0; l < kWordFloats; l++) SetWordI8(q, qi * kWordFloats + l, QuantRound(WordF32(x, l), s_inv));
    const bool row_end = w == words - 1;
    if (qi == kWordBytes / kWordFloats - 1 || row_end) {
      xq[r][w / (kWordBytes / kWordFloats)] = q;
      q = ZeroWord();
      qi = 0;
    } else {
      qi++;
    }
    if (++gi == gw) {
      gi = 0;
      if (g % kWordFloats == kWordFloats - 1 || row_end) {
        xs[r][g / kWordFloats] = sw;
        sw = ZeroWord();
      }
      g++;
    }
    if (row_end) {
      w = 0;
      g = 0;
      i++;
    } else {
      w++;
    }
  }
}

// The quantize region (above) for the n entries, or with `compact` only those with out_row[e] >= 0, each
// into row out_row[e] (the classifier's rows). Called only by `quantize`, which the top function's
// ALLOCATION makes one instance of.
inline void quantize_region(const Word a[kMaxStep][kActWords], const Word up[kMaxStep][kActWords],
                            const Word weight[kDimWords], const float f[kMaxStep], const int list[kMaxStep],
                            const int rows[kMaxStep], int m, int words, int gs, int source,
                            Word xq[kMaxStep][kQuantWords], Word xs[kMaxStep][kScaleWords]) {
  // A DATAFLOW region is a module of its own: not inlined into its caller.
#pragma HLS INLINE off
#pragma HLS DATAFLOW
  hls::stream<Word> made, delayed;
  hls::stream<uint32_t> maxima;
#pragma HLS STREAM variable = made depth = 4
#pragma HLS STREAM variable = delayed depth = kQuantDelayWords
#pragma HLS STREAM variable = maxima depth = 8
  quant_source(a, up, weight, f, list, m, words, source, made);
  quant_max(made, m, words, gs, delayed, maxima);
  quant_round(delayed, maxima, rows, m, words, gs, xq, xs);
}

inline void quantize(Word xq[kMaxStep][kQuantWords], Word xs[kMaxStep][kScaleWords], const Word a[kMaxStep][kActWords],
                     const Word up[kMaxStep][kActWords], const Word weight[kDimWords], const float f[kMaxStep], int n,
                     int size, int gs, int source, const int out_row[kMaxStep], bool compact) {
  // One instance for every call (ALLOCATION in the top function): kept a module, not inlined.
#pragma HLS INLINE off
  int list[kMaxStep], rows[kMaxStep];  // the entries quantized and the rows they go to (one reader each)
  int m = 0;
quant_list:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
#pragma HLS PIPELINE II = 1
    const int r = compact ? out_row[e] : e;
    if (r >= 0) {
      list[m] = e;
      rows[m] = r;
      m++;
    }
  }
  quantize_region(a, up, weight, f, list, rows, m, size / kWordFloats, gs, source, xq, xs);
}

// RoPE on q (dim) and k (kv_dim) of n entries from the host's table: pair f of a head (values 2f, 2f + 1)
// turns by (cos, sin) = rope[e] lanes 2f, 2f + 1; a 16-value word holds 8 pairs, whose 16 table values are
// one word of rope[e].
inline void rotate(Word& v, const Word& r) {
  for (int k = 0; k < kWordFloats / 2; k++) {
    const float c = WordF32(r, 2 * k), s = WordF32(r, 2 * k + 1);
    const float v0 = WordF32(v, 2 * k), v1 = WordF32(v, 2 * k + 1);
    SetWordF32(v, 2 * k, v0 * c - v1 * s);
    SetWordF32(v, 2 * k + 1, v0 * s + v1 * c);
  }
}
inline void rope(Word q[kMaxStep][kActWords], Word k[kMaxStep][kActWords], const Word table[kMaxStep][kRopeWords],
                 int n, int dim, int kv_dim, int head_size) {
  const int hw = head_size / kWordFloats;
rope_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    int hwi = 0;  // the word within its head: a counter, not w % hw
  rope_words:
    for (int w = 0; w < dim / kWordFloats; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
      const Word r = table[e][hwi];
      Word qw = q[e][w];
      rotate(qw, r);
      q[e][w] = qw;
      if (w < kv_dim / kWordFloats) {  // a condition on on-chip memory: both paths exist in hardware
        Word kw = k[e][w];
        rotate(kw, r);
        k[e][w] = kw;
      }
      if (++hwi == hw) hwi = 0;
    }
  }
  CARD_COUNT(rope_words, (int64_t)n * (dim / kWordFloats));
}

// The token embedding, in two parts so that only the reading is per port: embed_fetch copies the tile's
// words (every group's gs / 4 value words and its scale word, one address-increasing burst) from the port
// holding the entry's token; embed_row, one instance, dequantizes the token's row j of them.
const int kEmbedWords = kMaxDim / kMinGroupSize * (kMinGroupSize / kTileBeatValues + 1);  // a tile's words, at most

// `words`: the tile's words, (cols / gs) x (gs / 4 + 1), made once in the top, not by each port's copy.
inline void embed_fetch(const Word* port, int64_t tile_at, int words, Word tile[kEmbedWords]) {
embed_fetch_words:
  for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kEmbedWords
#pragma HLS PIPELINE II = 1
    tile[i] = port[tile_at + i];
  }
  CARD_COUNT(embed_words, words);
}

inline void embed_row(Word x[kActWords], const Word tile[kEmbedWords], int j, int cols, int gs) {
  const int vw = gs / kTileBeatValues;  // value words of a group
  const int gw = vw + 1;                // and its scale word
embed_groups:
  for (int g = 0; g < cols / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxDim / 32
    int8_t vals[64];
#pragma HLS ARRAY_PARTITION variable = vals complete
    float scale = 0.0f;
  embed_read:
    for (int i = 0; i < gw; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 17
#pragma HLS PIPELINE II = 1
      // II 1: one tile word read a cycle, row j's four values (or its scale) kept in registers.
      const Word word = tile[g * gw + i];
      if (i < vw) {
        for (int k = 0; k < kTileBeatValues; k++) vals[i * kTileBeatValues + k] = WordI8(word, j * kTileBeatValues + k);
      } else {
        scale = WordF32(word, j);
      }
    }
  embed_write:
    for (int w = 0; w < gs / kWordFloats; w++) {
#pragma HLS LOOP_TRIPCOUNT max = 4
#pragma HLS PIPELINE II = 1
      Word out;
      for (int l = 0; l < kWordFloats; l++) SetWordF32(out, l, (float)vals[w * kWordFloats + l] * scale);
      x[g * (gs / kWordFloats) + w] = out;
    }
  }
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_CARD_VECTOR_OPS_H_
