// The host's vectorised form of the kernel's tile dots (forward.cpp, tile_dots), for the simulated card
// only: Vitis never sees this file (it is included under #ifndef __SYNTHESIS__).
//
// A beat of a tile holds four values of each of its 16 rows, so one SIMD lane per row does the whole
// dot: each group's products are summed exactly in int32 in the row's lane, then scaled and
// added into the running dot per group, in group order (kernel_math.h's ScaledGroup), as the card does.
// tests/kernel/card_sim_test.cpp checks the bits against the card kernel's C simulation.
//
// AVX-512 VNNI multiplies unsigned by signed bytes, so the weights go in with their sign bit flipped
// (w + 128) and each group's sum starts at -128 * (sum of the entry's values in that group), which
// SumGroups() computes once per matmul. AVX2 takes |w| times x with w's sign instead; both are exact.
#ifndef FPGASERVE_KERNEL_DOT_HOST_H_
#define FPGASERVE_KERNEL_DOT_HOST_H_

#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#include "kernel/kernel.h"

#if (defined(__AVX512VNNI__) && defined(__AVX512BW__)) || (defined(__AVX2__) && defined(__FMA__))
#define FPGASERVE_HOST_SIMD 1

namespace fpgaserve {
namespace kernel {

// sum[e][g]: the sum of entry e's int8 values in group g (the AVX-512 form's offset; AVX2 needs none).
typedef int32_t GroupSums[kMaxStep][kMaxGroups];

inline void SumGroups(GroupSums sum, const int8_t (*xq)[kMaxHiddenDim], int n, int cols, int gs) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  const __m256i ones = _mm256_set1_epi8(1);
  for (int e = 0; e < n; e++) {
    for (int g = 0; g < cols / gs; g++) {
      __m256i acc = _mm256_setzero_si256();
      for (int k = g * gs; k < (g + 1) * gs; k += 32) {  // gs is a multiple of 32
        acc = _mm256_dpbusd_epi32(acc, ones, _mm256_loadu_si256((const __m256i*)(xq[e] + k)));
      }
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
      sum[e][g] = _mm_cvtsi128_si32(s4);
    }
  }
#else
  (void)sum, (void)xq, (void)n, (void)cols, (void)gs;
#endif
}

inline int32_t Load4(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

// GCC 12 warns inside its own _mm512_cvtepi32_ps (the masked builtin's unused source operand);
// a known false positive of that header, not of this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

// Where a tile's dots end up: row j of entry e at out[e * stride + j], for the tile's first `valid` rows
// (the last tile of a matrix may be short; its missing rows are never stored).
struct TileOut {
  float* out;
  int64_t stride;
  int valid;
};

// GroupDots<C>: for C entries from the ones given (a compile-time count, so the C sums live in
// registers), acc[c][j] = (group g of row j . x[c]) * scales + acc[c][j], where acc starts at zero for the
// first group and goes to `last` (instead of back to dots) after the last one. The tile is walked group by
// group, every entry block taking the group while it is in L1: one pass over the tile, a steady stream
// from DRAM.
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
const int kHostBlock = 16;  // 16 sums in registers, with room for the weights and the broadcasts

// sum[c] += the group's products for entry c (x at xg, rows kMaxHiddenDim apart), over its S beats.
template <int C, int S>
inline void AddGroupProducts(__m512i (&sum)[C], const uint8_t* group, const int8_t* xg) {
  const __m512i flip = _mm512_set1_epi8((char)0x80);
#pragma GCC unroll 16
  for (int s = 0; s < S; s++) {
    const __m512i w = _mm512_xor_si512(_mm512_loadu_si512(group + s * kImageAlign), flip);
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) {
      sum[c] = _mm512_dpbusd_epi32(sum[c], w, _mm512_set1_epi32(Load4(xg + c * kMaxHiddenDim + s * kTileBeatValues)));
    }
  }
}

template <int C>
inline void GroupDots(float (*dots)[kTileRows], const uint8_t* group, const int8_t (*x)[kMaxHiddenDim],
                      const float (*x_scale)[kMaxGroups], const int32_t (*x_sum)[kMaxGroups], int g, int gs, bool first,
                      const TileOut* last) {
  const int8_t* xg = x[0] + g * gs;
  __m512i sum[C];
#pragma GCC unroll 16
  for (int c = 0; c < C; c++) sum[c] = _mm512_set1_epi32(-128 * x_sum[c][g]);
  // With many entries the beats are fully unrolled: as a loop, g++ 12 moved the sums between registers
  // and the stack every beat (a batch-32 step took 12% longer). With few, the loop is faster (batch 1
  // 12% slower unrolled): the stream from DRAM is the bound there, not the instructions.
  if (C >= 8 && gs == 64) {
    AddGroupProducts<C, 64 / kTileBeatValues>(sum, group, xg);
  } else if (C >= 8 && gs == 32) {
    AddGroupProducts<C, 32 / kTileBeatValues>(sum, group, xg);
  } else {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (int s = 0; s < gs / kTileBeatValues; s++) {
      const __m512i w = _mm512_xor_si512(_mm512_loadu_si512(group + s * kImageAlign), flip);
#pragma GCC unroll 16
      for (int c = 0; c < C; c++) {
        sum[c] = _mm512_dpbusd_epi32(sum[c], w, _mm512_set1_epi32(Load4(xg + c * kMaxHiddenDim + s * kTileBeatValues)));
      }
    }
  }
  const __m512 w_scale = _mm512_loadu_ps((const float*)(group + Q8ScalesAt(gs)));
  const __mmask16 valid = last != nullptr ? (__mmask16)((1u << last->valid) - 1) : (__mmask16)0xffff;
#pragma GCC unroll 16
  for (int c = 0; c < C; c++) {
    const __m512 scale = _mm512_mul_ps(w_scale, _mm512_set1_ps(x_scale[c][g]));
    // ScaledGroup (kernel_math.h): a product and an add, two roundings; the first group starts the dot.
    const __m512 prod = _mm512_mul_ps(_mm512_cvtepi32_ps(sum[c]), scale);
    const __m512 r = first ? prod : _mm512_add_ps(_mm512_loadu_ps(dots[c]), prod);
    if (last == nullptr) {
      _mm512_storeu_ps(dots[c], r);
    } else {
      _mm512_mask_storeu_ps(last->out + c * last->stride, valid, r);
    }
  }
}
#else
const int kHostBlock = 4;  // 16 ymm registers: two sums per entry

template <int C>
inline void GroupDots(float (*dots)[kTileRows], const uint8_t* group, const int8_t (*x)[kMaxHiddenDim],
                      const float (*x_scale)[kMaxGroups], const int32_t (*)[kMaxGroups], int g, int gs, bool first,
                      const TileOut* last) {
  const int slices = gs / kTileBeatValues;
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t* xg = x[0] + g * gs;
  __m256i sum[C][2];  // rows 0..7, 8..15
  for (int c = 0; c < C; c++) sum[c][0] = sum[c][1] = _mm256_setzero_si256();
  for (int s = 0; s < slices; s++) {
    for (int h = 0; h < 2; h++) {
      const __m256i w = _mm256_loadu_si256((const __m256i*)(group + s * kImageAlign + 32 * h));
      const __m256i w_abs = _mm256_abs_epi8(w);  // -128 stays 0x80, i.e. 128 unsigned
      for (int c = 0; c < C; c++) {
        const __m256i xv = _mm256_set1_epi32(Load4(xg + c * kMaxHiddenDim + s * kTileBeatValues));
        // |w| * (x with w's sign): pairs reach at most 2 * 128 * 127, inside int16.
        const __m256i pairs = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(xv, w));
        sum[c][h] = _mm256_add_epi32(sum[c][h], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  for (int h = 0; h < 2; h++) {
    const __m256 w_scale = _mm256_loadu_ps((const float*)(group + Q8ScalesAt(gs) + 32 * h));
    for (int c = 0; c < C; c++) {
      const __m256 scale = _mm256_mul_ps(w_scale, _mm256_set1_ps(x_scale[c][g]));
      float* acc_at = dots[c] + 8 * h;
      const __m256 prod = _mm256_mul_ps(_mm256_cvtepi32_ps(sum[c][h]), scale);
      const __m256 r = first ? prod : _mm256_add_ps(_mm256_loadu_ps(acc_at), prod);
      if (last == nullptr) {
        _mm256_storeu_ps(acc_at, r);
      } else if (last->valid == kTileRows) {
        _mm256_storeu_ps(last->out + c * last->stride + 8 * h, r);
      } else {
        float lanes[8];
        _mm256_storeu_ps(lanes, r);
        for (int j = 8 * h; j < last->valid && j < 8 * h + 8; j++) last->out[c * last->stride + j] = lanes[j - 8 * h];
      }
    }
  }
}
#endif

// Groups ahead whose lines are prefetched: with many entries a group takes long enough that the
// hardware prefetcher lets the stream fall behind (measured: 225 -> 285 GMAC/s a core at 32 entries).
// Past the tile's end they are the next tile's; prefetches never fault.
const int kPrefetchGroups = 8;

// Row j of the tile . x[e], for e < n, into `to` (see TileOut). The running sums of the groups before the
// last stay in a small buffer in L1; nothing is zeroed or copied.
inline void TileDotsHost(const TileOut& to, const uint8_t* tile, const int8_t (*xq)[kMaxHiddenDim],
                         const float (*xs)[kMaxGroups], const GroupSums x_sums, int n, int groups, int gs) {
  float dots[kMaxStep][kTileRows];
  for (int g = 0; g < groups; g++) {
    const uint8_t* group = tile + g * Q8GroupBytes(gs);
    const uint8_t* ahead = group + kPrefetchGroups * Q8GroupBytes(gs);
    for (int64_t at = 0; at < Q8GroupBytes(gs); at += kImageAlign) {
      _mm_prefetch((const char*)(ahead + at), _MM_HINT_T0);
    }
    const bool first = g == 0;
    int e = 0;
    for (; e + kHostBlock <= n; e += kHostBlock) {
      const TileOut block = {to.out + e * to.stride, to.stride, to.valid};
      GroupDots<kHostBlock>(dots + e, group, xq + e, xs + e, x_sums + e, g, gs, first,
                            g == groups - 1 ? &block : nullptr);
    }
    const TileOut block = {to.out + e * to.stride, to.stride, to.valid};
    const TileOut* last = g == groups - 1 ? &block : nullptr;
#define FPGASERVE_GROUP_DOTS(C) \
  case C: GroupDots<C>(dots + e, group, xq + e, xs + e, x_sums + e, g, gs, first, last); break
    switch (n - e) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
      FPGASERVE_GROUP_DOTS(15);
      FPGASERVE_GROUP_DOTS(14);
      FPGASERVE_GROUP_DOTS(13);
      FPGASERVE_GROUP_DOTS(12);
      FPGASERVE_GROUP_DOTS(11);
      FPGASERVE_GROUP_DOTS(10);
      FPGASERVE_GROUP_DOTS(9);
      FPGASERVE_GROUP_DOTS(8);
      FPGASERVE_GROUP_DOTS(7);
      FPGASERVE_GROUP_DOTS(6);
      FPGASERVE_GROUP_DOTS(5);
      FPGASERVE_GROUP_DOTS(4);
#endif
      FPGASERVE_GROUP_DOTS(3);
      FPGASERVE_GROUP_DOTS(2);
      FPGASERVE_GROUP_DOTS(1);
      default: break;
    }
#undef FPGASERVE_GROUP_DOTS
  }
}

#pragma GCC diagnostic pop

}  // namespace kernel
}  // namespace fpgaserve

#endif  // AVX

// ---- Attention over the fp16 cache (forward.cpp's cache write, scores and value lanes) ----
// F16C converts eight values an instruction with the kernel's rounding (nearest even; the clamp first
// makes it saturate as KvFromFloat does). Sums run in kernel_math.h's order: per 32-value word of a key
// the halving tree, words in order; values into kPartials online-softmax lanes (kernel_math.h). Products
// and sums are separate instructions, as the card's (and the portable form's, -ffp-contract=off).
#if defined(__F16C__) && defined(__AVX2__)
#define FPGASERVE_HOST_F16C 1

namespace fpgaserve {
namespace kernel {

// dst[i] = KvFromFloat(src[i]) for n values, n % 8 == 0.
inline void KvStoreHost(KvValue* dst, const float* src, int n) {
  const __m256 lo = _mm256_set1_ps(-kKvMax), hi = _mm256_set1_ps(kKvMax);
  for (int i = 0; i < n; i += 8) {
    // max(x, lo) returns lo for a NaN x, as KvFromFloat does.
    const __m256 x = _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(src + i), lo), hi);
    _mm_storeu_si128((__m128i*)(dst + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

inline __m256 KvLoad8(const KvValue* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }

// The halving tree's last three levels over eight lanes (pairs 4 apart, then 2, then 1).
inline float KvTree8(__m256 s8) {
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// KvDot (kernel_math.h) for a key of `words` 32-value words: the products of values i and i + 16 meet
// first, then i and i + 8, then KvTree8.
inline float KvDotHost(const float* q, const KvValue* k, int words) {
  float total = 0.0f;
  for (int w = 0; w < words; w++) {
    const float* qw = q + 32 * w;
    const KvValue* kw = k + 32 * w;
    __m256 p[4];
    for (int c = 0; c < 4; c++) p[c] = _mm256_mul_ps(_mm256_loadu_ps(qw + 8 * c), KvLoad8(kw + 8 * c));
    const __m256 s16_lo = _mm256_add_ps(p[0], p[2]), s16_hi = _mm256_add_ps(p[1], p[3]);
    const float s = KvTree8(_mm256_add_ps(s16_lo, s16_hi));
    total = w == 0 ? s : total + s;
  }
  return total;
}

// The value lanes of kernel_math.h's online softmax: acc[t % 8][i] = acc * c[t] + p[t] * v[t][i] (its
// Rescaled) for t < count, i < stride (values `stride` apart; acc 32-byte aligned). A position touches one
// lane, so consecutive positions never wait on each other's adds.
inline void KvOnlineSumHost(float (*acc)[kMaxHeadSize], const float* c, const float* p, const KvValue* v, int count,
                            int stride) {
  const int kLanes = 8;  // kernel_math.h's kPartials
  for (int t = 0; t < count; t++) {
    const __m256 ct = _mm256_set1_ps(c[t]), pt = _mm256_set1_ps(p[t]);
    const KvValue* vt = v + (int64_t)t * stride;
    float* at = acc[t & (kLanes - 1)];
    for (int i = 0; i < stride; i += 8) {
      const __m256 kept = _mm256_mul_ps(_mm256_load_ps(at + i), ct);
      _mm256_store_ps(at + i, _mm256_add_ps(kept, _mm256_mul_ps(pt, KvLoad8(vt + i))));
    }
  }
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // F16C
#endif  // FPGASERVE_KERNEL_DOT_HOST_H_
