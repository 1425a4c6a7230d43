// The fp16 KV cache's conversions (kernel/kernel.h): the portable functions the card synthesises against
// IEEE binary16 as the host's F16C instructions implement it (the simulated card's path, dot_host.h).
// The kernel-level bit-identity test then covers the attention loops that use them.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernel/dot_host.h"
#include "kernel/kernel.h"

namespace fpgaserve::kernel {
namespace {

float FromBits(uint32_t x) {
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}
uint32_t Bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  return x;
}

TEST(KvHalf, KnownValues) {
  EXPECT_EQ(KvFromFloat(0.0f), 0x0000);
  EXPECT_EQ(KvFromFloat(-0.0f), 0x8000);
  EXPECT_EQ(KvFromFloat(1.0f), 0x3c00);
  EXPECT_EQ(KvFromFloat(-2.0f), 0xc000);
  EXPECT_EQ(KvFromFloat(65504.0f), 0x7bff);
  EXPECT_EQ(KvFromFloat(1e9f), 0x7bff) << "saturates instead of becoming infinity";
  EXPECT_EQ(KvFromFloat(-INFINITY), 0xfbff);
  EXPECT_EQ(KvFromFloat(NAN), 0xfbff) << "a NaN is clamped like -inf";
  EXPECT_EQ(KvFromFloat(std::ldexp(1.0f, -24)), 0x0001) << "smallest subnormal";
  EXPECT_EQ(KvFromFloat(std::ldexp(1.0f, -25)), 0x0000) << "half of it ties to even: zero";
  EXPECT_EQ(KvFromFloat(std::ldexp(3.0f, -25)), 0x0002) << "1.5 units ties to even: 2";
  EXPECT_EQ(KvFromFloat(1.0f + std::ldexp(1.0f, -11)), 0x3c00) << "tie to even, down";
  EXPECT_EQ(KvFromFloat(1.0f + std::ldexp(3.0f, -11)), 0x3c02) << "tie to even, up";
  EXPECT_FLOAT_EQ(KvToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(KvToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(Bits(KvToFloat(0x8000)), 0x80000000u);
}

TEST(KvHalf, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00) continue;  // inf and NaN are never stored
    const float f = KvToFloat(static_cast<KvValue>(h));
    ASSERT_EQ(KvFromFloat(f), h) << std::hex << h;
  }
}

#ifdef FPGASERVE_HOST_F16C
// KvStoreHost over the inputs, 16 at a time (what the simulated card runs), against KvFromFloat.
void ExpectSameAsHost(const std::vector<float>& in) {
  std::vector<float> padded(in);
  padded.resize((in.size() + 15) / 16 * 16, 0.0f);
  std::vector<KvValue> host(padded.size());
  KvStoreHost(host.data(), padded.data(), static_cast<int>(padded.size()));
  for (size_t i = 0; i < in.size(); i++) {
    ASSERT_EQ(KvFromFloat(in[i]), host[i]) << "input bits 0x" << std::hex << Bits(in[i]);
  }
}

TEST(KvHalf, PortableConversionsGiveTheF16cBits) {
  // Half to float: every finite half.
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(Bits(KvToFloat(static_cast<KvValue>(h))), Bits(_cvtsh_ss(static_cast<uint16_t>(h)))) << std::hex << h;
  }
  // Float to half where rounding decides: every half value, the midpoints to its neighbours and one float
  // ulp either side of each, of both signs; the overflow and underflow edges; then random bit patterns.
  std::vector<float> in;
  for (uint32_t h = 0; h < 0x7c00; h++) {
    const float lo = KvToFloat(static_cast<KvValue>(h));
    const float hi = h + 1 < 0x7c00 ? KvToFloat(static_cast<KvValue>(h + 1)) : 65536.0f;
    const float mid = lo + (hi - lo) / 2;  // exact: fp16 neighbours differ in few bits
    for (float f : {lo, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
      in.push_back(f);
      in.push_back(-f);
    }
  }
  for (float f : {65504.0f, 65519.0f, 65520.0f, 1e6f, 3.4e38f, INFINITY, -INFINITY, NAN, -NAN, std::ldexp(1.0f, -25),
                  std::nextafter(std::ldexp(1.0f, -25), 1.0f), std::ldexp(1.0f, -26),
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min()}) {
    in.push_back(f);
    in.push_back(-f);
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 1 << 20; i++) in.push_back(FromBits(static_cast<uint32_t>(rng())));
  ExpectSameAsHost(in);
}
#else
TEST(KvHalf, PortableConversionsGiveTheF16cBits) { GTEST_SKIP() << "this build has no F16C: nothing to compare"; }
#endif

}  // namespace
}  // namespace fpgaserve::kernel
