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
load_vector_words:
  for (int i = 0; i < words; i++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
    w[i] = port[at + i];
  }
  CARD_COUNT(vector_words, words);
}

// o[e] = weight * x[e] / rms(x[e]) for n entries of `words` words: kernel_math.h's SumSquares and
// RmsFactor, word-wide. Two passes per entry (sum of squares, then scale).
inline void rmsnorm(Word o[kMaxStep][kActWords], const Word x[kMaxStep][kActWords], const Word weight[kDimWords], int n,
                    int words, float eps) {
norm_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    // The partials a small memory per lane (LUTRAM, kPartials deep), not registers: the slot is chosen at
    // run time, and Vitis honours the DEPENDENCE distance below for a memory only.
    float part[kPartials][kWordFloats];
#pragma HLS ARRAY_PARTITION variable = part complete dim = 2
#pragma HLS BIND_STORAGE variable = part type = ram_2p impl = lutram
    for (int k = 0; k < kPartials; k++) {
      for (int l = 0; l < kWordFloats; l++) part[k][l] = 0.0f;
    }
  norm_squares:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
      // II 1: per lane one LUTRAM read and one write a cycle (ram_2p); the float add is carried through
      // the memory, and distance: part[w % kPartials] is written again kPartials iterations later, past
      // the adder's latency.
#pragma HLS DEPENDENCE variable = part inter true distance = 8
      const int slot = w % kPartials;
      for (int l = 0; l < kWordFloats; l++) {
        const float v = WordF32(x[e][w], l);
        part[slot][l] += v * v;
      }
    }
    float lanes[kWordFloats];
    for (int l = 0; l < kWordFloats; l++) {
      float p[kPartials];
      for (int k = 0; k < kPartials; k++) p[k] = part[k][l];
      lanes[l] = TreeSum<kPartials>(p);
    }
    const float f = RmsFactor(TreeSum<kWordFloats>(lanes), words * kWordFloats, eps);
  norm_scale:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
      Word out;
      for (int l = 0; l < kWordFloats; l++) SetWordF32(out, l, WordF32(weight[w], l) * (f * WordF32(x[e][w], l)));
      o[e][w] = out;
    }
  }
  CARD_COUNT(norm_words, 2 * (int64_t)n * words);
}

// xq[row(e)], xs[row(e)] = the int8 form of x[e] (groups of gs, kernel_math.h's QuantScale/QuantRound), for
// the n entries; row(e) = e, or with `compact` rows[e] (the classifier's compacted rows; -1 = skip).
// Two passes a row, a word a cycle: the groups' maxima (magnitudes compared as integers, MagnitudeBits,
// so the carried compare takes one cycle), each group's scale when its last word is in; then the
// rounding, four words of int8 values making one word of xq, written when full.
inline void quantize(Word xq[kMaxStep][kQuantWords], Word xs[kMaxStep][kScaleWords], const Word x[kMaxStep][kActWords],
                     int n, int size, int gs, const int rows[kMaxStep], bool compact) {
  const int gw = gs / kWordFloats;  // words a group
  const int words = size / kWordFloats;
quant_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
    const int r = compact ? rows[e] : e;
    if (r < 0) continue;
    CARD_COUNT(quant_words, 2 * words);
    float inv[kMaxGroups];  // 1 / scale of each group
    uint32_t lane_max[kWordFloats];
#pragma HLS ARRAY_PARTITION variable = lane_max complete
    for (int l = 0; l < kWordFloats; l++) lane_max[l] = 0;
    Word sw = ZeroWord();
    int g = 0, gi = 0;  // the group and the word within it: counters, not w / gw
  quant_max:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kHiddenWords
#pragma HLS PIPELINE II = 1
      for (int l = 0; l < kWordFloats; l++) {
        const uint32_t a = MagnitudeBits(WordF32(x[e][w], l));
        lane_max[l] = a > lane_max[l] ? a : lane_max[l];
      }
      if (gi == gw - 1) {  // the group's last word: its scale, and a fresh maximum for the next
        uint32_t max_bits = 0;
        for (int l = 0; l < kWordFloats; l++) max_bits = lane_max[l] > max_bits ? lane_max[l] : max_bits;
        for (int l = 0; l < kWordFloats; l++) lane_max[l] = 0;
        SetWordF32(sw, g % kWordFloats, QuantScale(FloatFromBits(max_bits), &inv[g]));
        if (g % kWordFloats == kWordFloats - 1 || w == words - 1) {
          xs[r][g / kWordFloats] = sw;
          sw = ZeroWord();
        }
      }
      if (++gi == gw) {
        gi = 0;
        g++;
      }
    }
    Word q = ZeroWord();
    int rg = 0, rgi = 0;  // the group and the word within it: counters, not w / gw
  quant_round:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kHiddenWords
#pragma HLS PIPELINE II = 1
      const int at = w * kWordFloats;  // value index of this word's first value
      for (int l = 0; l < kWordFloats; l++) SetWordI8(q, at % kWordBytes + l, QuantRound(WordF32(x[e][w], l), inv[rg]));
      if (at % kWordBytes == kWordBytes - kWordFloats || w == words - 1) {
        xq[r][at / kWordBytes] = q;
        q = ZeroWord();
      }
      if (++rgi == gw) {
        rgi = 0;
        rg++;
      }
    }
  }
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

// x[e] += dx[e] over `words` words of n entries.
inline void residual(Word x[kMaxStep][kActWords], const Word dx[kMaxStep][kActWords], int n, int words) {
residual_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
  residual_words:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kDimWords
#pragma HLS PIPELINE II = 1
      Word out;
      for (int l = 0; l < kWordFloats; l++) SetWordF32(out, l, WordF32(x[e][w], l) + WordF32(dx[e][w], l));
      x[e][w] = out;
    }
  }
  CARD_COUNT(residual_words, (int64_t)n * words);
}

// h[e] = silu(h[e]) * up[e] over `words` words of n entries (KernelExp: IEEE + and * only).
inline void swiglu(Word h[kMaxStep][kActWords], const Word up[kMaxStep][kActWords], int n, int words) {
swiglu_entries:
  for (int e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxStep
  swiglu_words:
    for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kHiddenWords
#pragma HLS PIPELINE II = 1
      Word out;
      for (int l = 0; l < kWordFloats; l++) SetWordF32(out, l, Silu(WordF32(h[e][w], l)) * WordF32(up[e][w], l));
      h[e][w] = out;
    }
  }
  CARD_COUNT(swiglu_words, (int64_t)n * words);
}

// x[e] = row `token` of the Q8_0 token embedding on this port (tile `local` of it), dequantized: per group
// its gs / 4 value words and its scale word in one burst, row j's four bytes of each value word kept, then
// the group's values scaled and written as gs / 16 words.
inline void embed_row(Word x[kActWords], const Word* port, int64_t tile_at, int j, int cols, int gs) {
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
      const Word word = port[tile_at + (int64_t)g * gw + i];
      if (i < vw) {  // on-chip registers only: the port read above is unconditional
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
  CARD_COUNT(embed_words, (int64_t)(cols / gs) * gw);
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_CARD_VECTOR_OPS_H_
