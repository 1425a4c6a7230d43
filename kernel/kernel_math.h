// Elementwise math of the kernel's hot loops (forward.cpp): e^x, and the int8 quantisation of activations.
// Both are plain IEEE single-precision arithmetic, no libm: g++ vectorises them, and every build of the
// simulated card (AVX-512, AVX2, portable) and the card's floating-point cores compute the same bits.
// libm's expf is scalar here, about 5 cycles a value in SwiGLU, and its vector form rounds differently.
// HLS C++: no heap, no tables, no branches a vector unit could not take.
#ifndef FPGASERVE_KERNEL_KERNEL_MATH_H_
#define FPGASERVE_KERNEL_KERNEL_MATH_H_

#include <math.h>
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

// SiLU: g / (1 + e^-g), as SwiGLU's gate.
inline float Silu(float g) { return g / (1.0f + KernelExp(-g)); }

// Symmetric int8 per group of gs: q = round(x / s), s = max|x| / 127 (as runq.c's quantize()), for the
// activations of every matmul. QuantScale and QuantRound are the two steps, shared with the card's
// word-wide form (kernel/card/vector_ops.h).
const float kMinNormal = 1.17549435e-38f;  // the smallest normal float, 2^-126

// |x| as its IEEE bits: for magnitudes the unsigned order of the bits is the numeric order, so a group's
// largest magnitude is an integer maximum (a one-cycle compare on the card, where a float compare carried
// from one iteration to the next would stretch the loop; NaN, the largest pattern, wins on both sides).
inline uint32_t MagnitudeBits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u & 0x7fffffffu;
}
inline float FloatFromBits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// The scale of a group whose largest magnitude is wmax, and 1 / scale in *inv. A group of zeros, or of
// values so small (all below ~1.5e-36) that the scale would be subnormal and 1 / scale could be infinite,
// gets scale 0 and inv 0: its values are stored as zeros.
inline float QuantScale(float wmax, float* inv) {
  const float max_scale = wmax / 127.0f;
  const bool zero = max_scale < kMinNormal;
  *inv = zero ? 0.0f : 1.0f / max_scale;
  return zero ? 0.0f : max_scale;
}

// x * inv in [-127, 127], rounded half away from zero.
inline int8_t QuantRound(float x, float inv) {
  const float v = x * inv;
  return (int8_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
}

const int kQuantLanes = 16;  // divides every group size (32 or 64)
inline void QuantizeGroups(int8_t* q, float* s, const float* x, int size, int gs) {
quantize_groups:
  for (int g = 0; g < size / gs; g++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxGroups
    // max|x| over the group in kQuantLanes lanes, then across them: a maximum is the same whatever the
    // order, and lanes let the host vectorise it and the card unroll it.
    uint32_t lane_max[kQuantLanes];
#pragma HLS ARRAY_PARTITION variable = lane_max complete
    for (int l = 0; l < kQuantLanes; l++) lane_max[l] = 0;
  group_max:
    for (int i = 0; i < gs; i += kQuantLanes) {
#pragma HLS LOOP_TRIPCOUNT max = 64 / kQuantLanes
      for (int l = 0; l < kQuantLanes; l++) {
#pragma HLS UNROLL
        const uint32_t a = MagnitudeBits(x[g * gs + i + l]);
        lane_max[l] = a > lane_max[l] ? a : lane_max[l];
      }
    }
    uint32_t max_bits = 0;
    for (int l = 0; l < kQuantLanes; l++) max_bits = lane_max[l] > max_bits ? lane_max[l] : max_bits;
    const float wmax = FloatFromBits(max_bits);
    float inv;
    s[g] = QuantScale(wmax, &inv);
  group_round:
    for (int i = 0; i < gs; i++) {
#pragma HLS LOOP_TRIPCOUNT max = 64
      q[g * gs + i] = QuantRound(x[g * gs + i], inv);
    }
  }
}

// ---- Float reductions, in the one order both the card and the host use ----
// A float sum carried from one pipeline iteration to the next limits the loop to one iteration per
// adder latency (about 4 cycles at 300 MHz), so the card sums into kPartials interleaved partial sums:
// the sum of iteration t goes to partial t % kPartials, and the partials meet in a halving tree at the
// end. The host computes the same sums in the same order, which is what keeps the bits equal.
const int kPartials = 8;

// Halving tree over N = 8, 16 or 32 values: level h adds a[i] + a[i + h] for h = N/2, N/4, ..., 1.
// Overwrites a; returns the sum. N is a compile-time constant: the card unrolls the tree into log2(N)
// levels of adders.
template <int N>
inline float TreeSum(float* a) {
tree_levels:
  for (int h = N / 2; h > 0; h /= 2) {
#pragma HLS UNROLL
    for (int i = 0; i < N / 2; i++) {
#pragma HLS UNROLL
      if (i < h) a[i] = a[i] + a[i + h];
    }
  }
  return a[0];
}

// Sum of x[j]^2 over `size` values (size % 16 == 0): value j goes to lane j % 16 of partial
// (j / 16) % kPartials, in increasing j; then each lane's kPartials partials by TreeSum, then the 16
// lanes by TreeSum. The card takes one 16-value word a cycle.
inline float SumSquares(const float* x, int size) {
  float part[kPartials][16];
  for (int k = 0; k < kPartials; k++) {
    for (int l = 0; l < 16; l++) part[k][l] = 0.0f;
  }
sum_squares_words:
  for (int w = 0; w < size / 16; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHiddenDim / 16
    for (int l = 0; l < 16; l++) part[w % kPartials][l] += x[16 * w + l] * x[16 * w + l];
  }
  float lanes[16];
  for (int l = 0; l < 16; l++) {
    float p[kPartials];
    for (int k = 0; k < kPartials; k++) p[k] = part[k][l];
    lanes[l] = TreeSum<kPartials>(p);
  }
  return TreeSum<16>(lanes);
}

// The RMSNorm factor of a sum of squares: o[j] = weight[j] * (factor * x[j]).
inline float RmsFactor(float sum_squares, int size, float eps) { return 1.0f / sqrtf(sum_squares / (float)size + eps); }

// The int32 sum of one group of a matmul row scaled into the row's running dot: the first group starts
// the dot, each later one adds to it, in group order. Multiply and add are two roundings (no fused
// multiply-add: the card's UltraScale+ DSPs have none, and the host must not use one either).
inline float ScaledGroup(int32_t sum, float w_scale, float x_scale) { return (float)sum * (w_scale * x_scale); }

// ---- Attention's softmax, online: one pass over the scores (flash-attention style) ----
// Position t of a query head goes to lane t % kPartials. A lane keeps the largest score it has seen (m),
// the sum of e^(s - m) over its positions (l) and, per head value i, the sum of e^(s - m) v[i] (acc). A new
// score s in a lane: m' = max(m, s), c = e^(m - m') rescales the lane's sums, p = e^(s - m') weights the
// position: l' = l c + p, acc' = acc c + p v (OnlineStep, Rescaled). At the end the lanes meet
// (OnlineMerge): M = the lanes' largest m, f_k = e^(m_k - M), and value i of the output is
// TreeSum_k(acc_k[i] f_k) * (1 / TreeSum_k(l_k f_k)) (OnlineOut). Every score, key and value is used
// once; the card carries from one position to the next only a lane's compare and its multiply-add, which
// come back kPartials positions later. A lane starts at m = kLaneEmpty, l = acc = 0: its first c is
// e^-87 (KernelExp's clamp) times sums of zero; a lane no position reached has f = e^-87 (or less) times
// zero sums, and adds nothing.
const float kLaneEmpty = -3.40282347e38f;  // -FLT_MAX: below any score

struct OnlineWeight {
  float c;  // rescales the lane's sums: e^(m - m')
  float p;  // weights this position: e^(s - m')
};

// The weights of score s in a lane whose largest score so far is *lane_max; updates it.
inline OnlineWeight OnlineStep(float* lane_max, float s) {
  const float m_old = *lane_max;
  const float m = s > m_old ? s : m_old;
  *lane_max = m;
  OnlineWeight w;
  w.c = KernelExp(m_old - m);
  w.p = KernelExp(s - m);
  return w;
}

// A lane's sum after one more position: sum c + p x (two products, then one add; x = 1 for l, exact).
inline float Rescaled(float sum, OnlineWeight w, float x) { return sum * w.c + w.p * x; }

// The lanes' factors f[k] = e^(m_k - M) and 1 / TreeSum_k(l_k f_k).
inline float OnlineMerge(const float lane_max[kPartials], const float lane_sum[kPartials], float f[kPartials]) {
  float m = lane_max[0];
  for (int k = 1; k < kPartials; k++) m = lane_max[k] > m ? lane_max[k] : m;
  float q[kPartials];
  for (int k = 0; k < kPartials; k++) {
    f[k] = KernelExp(lane_max[k] - m);
    q[k] = lane_sum[k] * f[k];
  }
  return 1.0f / TreeSum<kPartials>(q);
}

// One output value from its kPartials lane sums (overwritten), the lanes' factors and OnlineMerge's 1 / l.
inline float OnlineOut(float acc[kPartials], const float f[kPartials], float inv) {
  for (int k = 0; k < kPartials; k++) acc[k] = acc[k] * f[k];
  return TreeSum<kPartials>(acc) * inv;
}

// q . k for one cached key of `words` words (32 values each, padded with zeros past head_size on both
// sides): per word the 32 products by TreeSum, then the words' sums added in order.
inline float KvDot(const float* q, const KvValue* k, int words) {
  float total = 0.0f;
kv_dot_words:
  for (int w = 0; w < words; w++) {
#pragma HLS LOOP_TRIPCOUNT max = kMaxHeadSize / 32
    float p[32];
    for (int i = 0; i < 32; i++) p[i] = q[32 * w + i] * KvToFloat(k[32 * w + i]);
    const float s = TreeSum<32>(p);
    total = w == 0 ? s : total + s;
  }
  return total;
}

}  // namespace kernel
}  // namespace fpgaserve

#endif  // FPGASERVE_KERNEL_KERNEL_MATH_H_
