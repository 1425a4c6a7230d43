// Elementwise math of the kernel's hot loops (forward.cpp): e^x, and the int8 quantisation of activations.
// Both are plain IEEE single-precision arithmetic, no libm: g++ vectorises them, and every build of the
// simulated card (AVX-512, AVX2, portable) and the card's floating-point cores compute the same bits.
// libm's expf is scalar here, about 5 cycles a value in SwiGLU, and its vector form rounds differently.
// HLS C++: no heap, no tables, no branches a vector unit could not take.
#ifndef FPGASERVE_KERNEL_KERNEL_MATH_H_
#define FPGASERVE_KERNEL_KERNEL_MATH_H_

#include <stdint.h>
#include <string.h>

#include "kernel/kernel.h"

namespace fpgaserve {
namespace kernel {

// e^x within 1.5 ulp (1.17 measured, built as the kernel is, without contracted multiply-adds) over the
// clamped range, for SiLU and softmax. Past the clamp the result is the value at the edge: e^-87 (1.6e-38,
// a softmax weight that adds nothing to a sum of at least 1) or e^88 (1.7e38: SiLU g / (1 + e^-g) of a gate
// g below -88 comes out near g * 6e-39, a tiny negative number, where libm's would be -0).
// e^x = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2], ln 2 split in two
// so n * hi is exact; e^r by its Taylor series to r^7 (error under 1e-8 there); 2^n built in the exponent
// bits.
inline float KernelExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest: 1.5 * 2^23 trick
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;  // n in [-126, 127]: a normal power of two
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Symmetric int8 per group of gs: q = round(x / s), s = max|x| / 127 (as runq.c's quantize()), for the
// activations of every matmul.
const int kQuantLanes = 16;  // divides every group size (32 or 64)
const float kMinNormal = 1.17549435e-38f;  // the smallest normal float, 2^-126
inline void QuantizeGroups(int8_t* q, float* s, const float* x, int size, int gs) {
quantize_groups:
  for (int g = 0; g < size / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
    // max|x| over the group in kQuantLanes lanes, then across them: a maximum is the same whatever the
    // order, and lanes let the host vectorise it and the card unroll it.
    float lane_max[kQuantLanes];
#pragma HLS ARRAY_PARTITION variable = lane_max complete
    for (int l = 0; l < kQuantLanes; l++) lane_max[l] = 0.0f;
  group_max:
    for (int i = 0; i < gs; i += kQuantLanes) {
#pragma HLS LOOP_TRIPCOUNT max = 64 / kQuantLanes
      for (int l = 0; l < kQuantLanes; l++) {
#pragma HLS UNROLL
        const float a = x[g * gs + i + l] < 0.0f ? -x[g * gs + i + l] : x[g * gs + i + l];
        lane_max[l] = a > lane_max[l] ? a : lane_max[l];
      }
    }
    float wmax = 0.0f;
    for (int l = 0; l < kQuantLanes; l++) wmax = lane_max[l] > wmax ? lane_max[l] : wmax;
    // A group of zeros, or of values so small (all below ~1.5e-36) that the scale would be subnormal and
    // 1 / scale could be infinite, is stored as zeros with scale 0.
    const float max_scale = wmax / 127.0f;
    const bool zero = max_scale < kMinNormal;
    const float scale = zero ? 0.0f : max_scale;
    const float inv = zero ? 0.0f : 1.0f / scale;
    s[g] = scale;
  group_round:
    for (int i = 0; i < gs; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 64
      const float v = x[g * gs + i] * inv;  // in [-127, 127]; rounded half away from zero
      q[g * gs + i] = (int8_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
    }
  }
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_KERNEL_MATH_H_
