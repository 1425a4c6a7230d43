// The host's vectorised form of the kernel's dot products (forward.cpp, dot_block), for the simulated
// card only: Vitis never sees this file (it is included under #ifndef __SYNTHESIS__).
//
// It computes exactly what the portable loop computes: the int32 lane sums are exact, lane l takes the
// products of elements (32j + 2l, 32j + 2l + 1) as vpmaddwd/vpdpwssd pair them, and the float steps are
// the same fused multiply-adds and adds in the same order, down to the pairwise sum of the 16 lanes. So the
// simulated card's logits are bit-identical to the loop the card synthesises; tests/kernel checks it.
#ifndef FPGASERVE_KERNEL_DOT_HOST_H_
#define FPGASERVE_KERNEL_DOT_HOST_H_

#include <immintrin.h>
#include <stdint.h>

#if defined(__AVX512BW__) || (defined(__AVX2__) && defined(__FMA__))
#define FPGASERVE_HOST_SIMD 1

namespace fpgaserve {
namespace kernel {

// GCC 12 warns inside its own _mm512_cvtepi32_ps (the masked builtin's unused source operand);
// a known false positive of that header, not of this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Lanes 0..7 plus lanes 8..15, then 0..3 + 4..7, 0..1 + 2..3, 0 + 1: the portable loop's tree.
inline float SumLanes(__m256 lo, __m256 hi) {
  __m256 s8 = _mm256_add_ps(lo, hi);
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
  return _mm_cvtss_f32(s1);
}

// out[c] = sum over groups g of (lane sums of w . x[c] in group g) * (w_scale[g] * x_scale[c][g]), for
// C entries c against one widened weight row w. C is a compile-time count so the C accumulators live in
// registers: their dependency chains overlap and each weight vector is loaded once. REQUIRES: gs % 32 == 0.
template <int C>
inline void DotHost(float* out, const int16_t* w, const float* w_scale, const int16_t* const* x,
                    const float* const* x_scale, int groups, int gs) {
#if defined(__AVX512BW__)
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
  for (int g = 0; g < groups; g++) {
    __m512i lane[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) lane[c] = _mm512_setzero_si512();
    for (int k = g * gs; k < (g + 1) * gs; k += 32) {
      const __m512i wv = _mm512_loadu_si512(w + k);
#pragma GCC unroll 8
      for (int c = 0; c < C; c++) {
        const __m512i xv = _mm512_loadu_si512(x[c] + k);
#if defined(__AVX512VNNI__)
        lane[c] = _mm512_dpwssd_epi32(lane[c], wv, xv);
#else
        lane[c] = _mm512_add_epi32(lane[c], _mm512_madd_epi16(wv, xv));
#endif
      }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) {
      const __m512 scale = _mm512_set1_ps(w_scale[g] * x_scale[c][g]);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lane[c]), scale, acc[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) {
    out[c] = SumLanes(_mm512_castps512_ps256(acc[c]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[c]), 1)));
  }
#else
  // Two 256-bit halves: lanes 0..7 from elements 0..15 of each 32, lanes 8..15 from 16..31.
  __m256 lo[C], hi[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) lo[c] = hi[c] = _mm256_setzero_ps();
  for (int g = 0; g < groups; g++) {
    __m256i lane_lo[C], lane_hi[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) lane_lo[c] = lane_hi[c] = _mm256_setzero_si256();
    for (int k = g * gs; k < (g + 1) * gs; k += 32) {
      const __m256i w_lo = _mm256_loadu_si256((const __m256i*)(w + k));
      const __m256i w_hi = _mm256_loadu_si256((const __m256i*)(w + k + 16));
#pragma GCC unroll 8
      for (int c = 0; c < C; c++) {
        lane_lo[c] = _mm256_add_epi32(lane_lo[c], _mm256_madd_epi16(w_lo, _mm256_loadu_si256((const __m256i*)(x[c] + k))));
        lane_hi[c] = _mm256_add_epi32(lane_hi[c], _mm256_madd_epi16(w_hi, _mm256_loadu_si256((const __m256i*)(x[c] + k + 16))));
      }
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; c++) {
      const __m256 scale = _mm256_set1_ps(w_scale[g] * x_scale[c][g]);
      lo[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lane_lo[c]), scale, lo[c]);
      hi[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lane_hi[c]), scale, hi[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; c++) out[c] = SumLanes(lo[c], hi[c]);
#endif
}

// `count` (1..4) entries.
inline void DotBlockHost(float* out, const int16_t* w, const float* w_scale, const int16_t* const* x,
                         const float* const* x_scale, int count, int groups, int gs) {
  switch (count) {
    case 8: DotHost<8>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 7: DotHost<7>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 6: DotHost<6>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 5: DotHost<5>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 4: DotHost<4>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 3: DotHost<3>(out, w, w_scale, x, x_scale, groups, gs); break;
    case 2: DotHost<2>(out, w, w_scale, x, x_scale, groups, gs); break;
    default: DotHost<1>(out, w, w_scale, x, x_scale, groups, gs); break;
  }
}

#pragma GCC diagnostic pop

}  // namespace kernel
}  // namespace fpgaserve

#endif  // AVX
#endif  // FPGASERVE_KERNEL_DOT_HOST_H_
