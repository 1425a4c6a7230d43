// The host's vectorised form of the kernel's tile dots (forward.cpp, tile_dots), for the simulated card
// only: Vitis never sees this file (it is included under #ifndef __SYNTHESIS__).
//
// A beat of a tile holds four values of each of its 16 rows, so one SIMD lane per row does the whole
// dot: each group's products are summed exactly in int32 in the row's lane, then scaled and
// accumulated with a fused multiply-add per group, in group order, as the portable loop does. The
// bits are those of the loop the card synthesises; tests/kernel checks it against a portable build.
//
// AVX-512 VNNI multiplies unsigned by signed bytes, so the weights go in with their sign bit flipped
// (w + 128) and each group's sum starts at -128 * (sum of the entry's values in that group), which
// SumGroups() computes once per matmul. AVX2 takes |w| times x with w's sign instead; both are exact.
#ifndef FPGASERVE_KERNEL_DOT_HOST_H_
#define FPGASERVE_KERNEL_DOT_HOST_H_

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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

// GroupDots<C>: dots[c][j] += (group g of row j . x[c]) * scales, for C entries from the ones given (a
// compile-time count, so the C sums live in registers). The tile is walked group by group, every
// entry block taking the group while it is in L1: one pass over the tile, a steady stream from DRAM.
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
const int kHostBlock = 16;  // 16 sums in registers, with room for the weights and the broadcasts

template <int C>
inline void GroupDots(float (*dots)[kTileRows], const uint8_t* group, const int8_t (*x)[kMaxHiddenDim],
                      const float (*x_scale)[kMaxGroups], const int32_t (*x_sum)[kMaxGroups], int g, int gs) {
  const int slices = gs / kTileBeatValues;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  const int8_t* xg = x[0] + g * gs;
  __m512i sum[C];
#pragma GCC unroll 16
  for (int c = 0; c < C; c++) sum[c] = _mm512_set1_epi32(-128 * x_sum[c][g]);
  for (int s = 0; s < slices; s++) {
    const __m512i w = _mm512_xor_si512(_mm512_loadu_si512(group + s * kImageAlign), flip);
#pragma GCC unroll 16
    for (int c = 0; c < C; c++) {
      sum[c] = _mm512_dpbusd_epi32(sum[c], w, _mm512_set1_epi32(Load4(xg + c * kMaxHiddenDim + s * kTileBeatValues)));
    }
  }
  const __m512 w_scale = _mm512_loadu_ps((const float*)(group + Q8ScalesAt(gs)));
#pragma GCC unroll 16
  for (int c = 0; c < C; c++) {
    const __m512 scale = _mm512_mul_ps(w_scale, _mm512_set1_ps(x_scale[c][g]));
    _mm512_storeu_ps(dots[c], _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[c]), scale, _mm512_loadu_ps(dots[c])));
  }
}
#else
const int kHostBlock = 4;  // 16 ymm registers: two sums per entry

template <int C>
inline void GroupDots(float (*dots)[kTileRows], const uint8_t* group, const int8_t (*x)[kMaxHiddenDim],
                      const float (*x_scale)[kMaxGroups], const int32_t (*)[kMaxGroups], int g, int gs) {
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
      float* out = dots[c] + 8 * h;
      _mm256_storeu_ps(out, _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[c][h]), scale, _mm256_loadu_ps(out)));
    }
  }
}
#endif

// Groups ahead whose lines are prefetched: with many entries a group takes long enough that the
// hardware prefetcher lets the stream fall behind (measured: 225 -> 285 GMAC/s a core at 32 entries).
// Past the tile's end they are the next tile's; prefetches never fault.
const int kPrefetchGroups = 8;

// dots[e][j] = row j of the tile . x[e] for e < n.
inline void TileDotsHost(float (*dots)[kTileRows], const uint8_t* tile, const int8_t (*xq)[kMaxHiddenDim],
                         const float (*xs)[kMaxGroups], const GroupSums x_sums, int n, int groups, int gs) {
  for (int e = 0; e < n; e++) {
    for (int j = 0; j < kTileRows; j++) dots[e][j] = 0.0f;
  }
  for (int g = 0; g < groups; g++) {
    const uint8_t* group = tile + g * Q8GroupBytes(gs);
    const uint8_t* ahead = group + kPrefetchGroups * Q8GroupBytes(gs);
    for (int64_t at = 0; at < Q8GroupBytes(gs); at += kImageAlign) {
      _mm_prefetch((const char*)(ahead + at), _MM_HINT_T0);
    }
    int e = 0;
    for (; e + kHostBlock <= n; e += kHostBlock) {
      GroupDots<kHostBlock>(dots + e, group, xq + e, xs + e, x_sums + e, g, gs);
    }
#define FPGASERVE_GROUP_DOTS(C) \
  case C: GroupDots<C>(dots + e, group, xq + e, xs + e, x_sums + e, g, gs); break
    switch (n - e) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
      FPGASERVE_GROUP_DOTS(15); FPGASERVE_GROUP_DOTS(14); FPGASERVE_GROUP_DOTS(13); FPGASERVE_GROUP_DOTS(12);
      FPGASERVE_GROUP_DOTS(11); FPGASERVE_GROUP_DOTS(10); FPGASERVE_GROUP_DOTS(9); FPGASERVE_GROUP_DOTS(8);
      FPGASERVE_GROUP_DOTS(7); FPGASERVE_GROUP_DOTS(6); FPGASERVE_GROUP_DOTS(5); FPGASERVE_GROUP_DOTS(4);
#endif
      FPGASERVE_GROUP_DOTS(3); FPGASERVE_GROUP_DOTS(2); FPGASERVE_GROUP_DOTS(1);
      default: break;
    }
#undef FPGASERVE_GROUP_DOTS
  }
}

#pragma GCC diagnostic pop

}  // namespace kernel
}  // namespace fpgaserve

#endif  // AVX
#endif  // FPGASERVE_KERNEL_DOT_HOST_H_
