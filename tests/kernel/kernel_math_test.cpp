// kernel/kernel_math.h: the kernel's own e^x against the exact value (libm in double), over the range the
// kernel uses and past it.
#include <gtest/gtest.h>

#include <cmath>

#include "kernel/kernel_math.h"

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

}  // namespace
}  // namespace fpgaserve::kernel
