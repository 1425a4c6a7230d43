// The F1 performance model: its arithmetic follows the kernel's structure (what it must show), not a
// measurement (nothing to compare with here).
#include <gtest/gtest.h>

#include "fpga/perf_model.h"
#include "server/model/random_model.h"

namespace fpgaserve {
namespace {

ModelConfig Stories110M() {
  Result<ModelConfig> c = NamedShape("stories110M");
  EXPECT_TRUE(c.ok());
  return c.value();
}

TEST(PerfModel, AsWrittenBatchOneStreamsTheTilesAtABeatACycle) {
  const StepEstimate e = EstimateStep(Stories110M(), 1, 256, KernelDesign::kAsWritten);
  // ~8k tiles over 4 banks; a tile's group is 17 beats (16 of values, 1 of scales) a cycle each plus a
  // 12-cycle fill: ~3.2 ms at 250 MHz, within 2x the weights' own streaming time at 64 bytes a cycle
  // per bank (the first version, one byte a cycle, was ~0.44 s).
  const double weight_bytes = 12 * (2 * 768.0 * 768 + 2 * 768 * 768 + 3 * 2048 * 768) + 32000 * 768;
  const double streaming_s = weight_bytes * (1 + 4.0 / 64) / (4 * 64 * 250e6);
  EXPECT_EQ(e.weight_load_s, 0.0) << "the weights stream inside the dot pipeline";
  EXPECT_GT(e.dot_s, streaming_s);
  EXPECT_LT(e.dot_s, 2 * streaming_s);
  EXPECT_EQ(e.bound, "compute (dots, weights streaming a beat a cycle)");
  EXPECT_NEAR(e.tokens_per_s, 1.0 / e.step_s, 1e-9);
  EXPECT_GT(e.tokens_per_s, 57.11) << "the model puts it above HLSTransform's measured 57 tok/s at batch 1";
}

TEST(PerfModel, AsWrittenReadsABeatOnceForAllEntries) {
  const StepEstimate b1 = EstimateStep(Stories110M(), 1, 256, KernelDesign::kAsWritten);
  const StepEstimate b8 = EstimateStep(Stories110M(), 8, 256, KernelDesign::kAsWritten);
  // Eight entries take a beat's 64 multiply-adds on 8 cycles where one entry waited for the next beat:
  // more than 4x the dot time, less than 8x.
  EXPECT_GT(b8.dot_s, 4 * b1.dot_s);
  EXPECT_LT(b8.dot_s, 8 * b1.dot_s);
  EXPECT_GT(b8.tokens_per_s, 1.2 * b1.tokens_per_s);
}

TEST(PerfModel, ProposedDesignStreamsWeightsAtTheBanksRate) {
  const StepEstimate e = EstimateStep(Stories110M(), 1, 0, KernelDesign::kProposed);
  const StepEstimate now = EstimateStep(Stories110M(), 1, 0, KernelDesign::kAsWritten);
  EXPECT_LT(e.step_s, 2.5 * e.ddr_s) << "within a small factor of the DDR floor";
  EXPECT_GT(e.tokens_per_s, now.tokens_per_s);
  for (int batch : {1, 8, 32}) {
    EXPECT_LE(EstimateStep(Stories110M(), batch, 256, KernelDesign::kProposed).step_s,
              EstimateStep(Stories110M(), batch, 256, KernelDesign::kAsWritten).step_s) << batch;
  }
}

TEST(PerfModel, AttentionGrowsWithContext) {
  const StepEstimate early = EstimateStep(Stories110M(), 8, 16, KernelDesign::kAsWritten);
  const StepEstimate late = EstimateStep(Stories110M(), 8, 1000, KernelDesign::kAsWritten);
  EXPECT_GT(late.attention_s, 30 * early.attention_s);
  EXPECT_GT(late.ddr_bytes, early.ddr_bytes);
}

TEST(PerfModel, ClockScalesKernelTime) {
  PerfAssumptions slow;
  slow.kernel_mhz = 125;
  const StepEstimate fast = EstimateStep(Stories110M(), 1, 64, KernelDesign::kAsWritten);
  const StepEstimate half = EstimateStep(Stories110M(), 1, 64, KernelDesign::kAsWritten, slow);
  EXPECT_NEAR(half.kernel_s / fast.kernel_s, 2.0, 1e-9);
}

}  // namespace
}  // namespace fpgaserve
