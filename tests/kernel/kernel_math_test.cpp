// kernel/kernel_math.h: the kernel's own e^x against the exact value (libm in double), over the range the
// kernel uses and past it; the int8 quantisation of activations on known groups and on degenerate ones.
#include "kernel/kernel_math.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace fpgaserve::kernel {
namespace {

TEST(KernelExp, WithinOneAndAHalfUlpOfTheExactValueOverItsRange) {
  double worst = 0;
  float worst_x = 0;
  for (float x = -87.0f; x <= 88.0f; x = std::nextafter(x + 0.0007f, 100.0f)) {
    const double want = std::exp(static_cast<double>(x));
    const double ulp = std::nextafter(static_cast<float>(want), INFINITY) - static_cast<float>(want);
    const double err = std::abs(KernelExp(x) - want) / ulp;
    if (err > worst) worst = err, worst_x = x;
  }
  EXPECT_LT(worst, 1.5) << "at x = " << worst_x;  // measured: 1.17
  EXPECT_EQ(KernelExp(0.0f), 1.0f);
  EXPECT_EQ(KernelExp(-0.0f), 1.0f);
}

TEST(KernelExp, ClampsInsteadOfOverflowing) {
  EXPECT_EQ(KernelExp(1000.0f), KernelExp(88.0f));
  EXPECT_TRUE(std::isfinite(KernelExp(INFINITY)));
  EXPECT_EQ(KernelExp(-1000.0f), KernelExp(-87.0f));
  EXPECT_GT(KernelExp(-INFINITY), 0.0f);
  EXPECT_LT(KernelExp(-1000.0f), 1e-37f) << "a softmax weight that adds nothing";
  // SiLU of a very negative gate stays a tiny negative number, never NaN or -inf.
  const float g = -1e30f;
  const float silu = g / (1.0f + KernelExp(-g));
  EXPECT_TRUE(std::isfinite(silu));
  EXPECT_LE(silu, 0.0f);
}

TEST(QuantizeGroups, RoundsEachGroupToItsOwnScale) {
  // Two groups of 32: the first's largest magnitude is 2 (scale 2/127), the second's 0.5.
  std::vector<float> x(64, 0.0f);
  x[0] = 2.0f, x[1] = -1.0f, x[2] = 0.0079f, x[3] = -0.0079f;  // 0.0079 * 63.5 = 0.50165: rounds to 1
  x[32] = -0.5f, x[33] = 0.25f;
  std::vector<int8_t> q(64);
  float s[2];
  QuantizeGroups(q.data(), s, x.data(), 64, 32);
  EXPECT_FLOAT_EQ(s[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(s[1], 0.5f / 127);
  EXPECT_EQ(q[0], 127);
  EXPECT_EQ(q[1], -64) << "-63.5 rounds half away from zero";
  EXPECT_EQ(q[2], 1);
  EXPECT_EQ(q[3], -1);
  EXPECT_EQ(q[4], 0);
  EXPECT_EQ(q[32], -127);
  EXPECT_EQ(q[33], 64) << "63.5 rounds half away from zero";
}

TEST(QuantizeGroups, ZeroAndSubnormalScaleGroupsGiveZeros) {
  // A group of zeros, and a group whose scale would be subnormal (values ~1e-37: SiLU of a gate far below
  // -88 gives such values), whose inverse would be infinite.
  std::vector<float> x(64, 0.0f);
  for (int i = 32; i < 64; i++) x[i] = (i % 2 ? -1e-37f : 3e-37f);
  std::vector<int8_t> q(64, 99);
  float s[2];
  QuantizeGroups(q.data(), s, x.data(), 64, 32);
  for (int i = 0; i < 64; i++) EXPECT_EQ(q[i], 0) << i;
  EXPECT_EQ(s[0], 0.0f);
  EXPECT_EQ(s[1], 0.0f) << "stored as a zero group, not with a subnormal scale";
}

}  // namespace
}  // namespace fpgaserve::kernel
