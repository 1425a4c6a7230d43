// The card model's figures: sane, in the direction the design says, and within the aims' reach or not
// (the counters against the C simulation are in tests/kernel/card_sim_test.cpp).
#include "fpga/perf_model.h"

#include <gtest/gtest.h>

#include "server/model/random_model.h"

namespace fpgaserve {
namespace {

TEST(PerfModel, EveryPlatformGivesFiguresAndBatchingPays) {
  const ModelConfig c = NamedShape("stories110M").value();
  for (const Platform& pf : Platforms()) {
    SCOPED_TRACE(pf.name);
    const StepEstimate one = EstimateStep(c, 1, 256, pf);
    const StepEstimate many = EstimateStep(c, 32, 256, pf);
    EXPECT_GT(one.tokens_per_s, 0);
    EXPECT_LE(one.tokens_per_s, one.roofline_tokens_per_s * 1.0001);  // never faster than its bytes
    EXPECT_GT(many.tokens_per_s, 1.5 * one.tokens_per_s);             // a weight word serves every entry
    EXPECT_FALSE(one.bound.empty());
    EXPECT_GT(one.resources.dsp, 0);
  }
}

TEST(PerfModel, MoreTokensOfContextCostAttentionTime) {
  const ModelConfig c = NamedShape("stories110M").value();
  const Platform& pf = *FindPlatform("u250");
  EXPECT_GT(EstimateStep(c, 8, 900, pf).step_s, EstimateStep(c, 8, 10, pf).step_s);
  EXPECT_EQ(FindPlatform("f2"), nullptr);
}

}  // namespace
}  // namespace fpgaserve
