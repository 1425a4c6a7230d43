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

TEST(PerfModel, AsWrittenBatchOneStreamsFourBanksAt64BytesACycle) {
  const StepEstimate e = EstimateStep(Stories110M(), 1, 256, KernelDesign::kAsWritten);
  // ~127k weight rows over 4 banks, each (cols/64 + groups/16 + 2 x 12 fill) cycles at 250 MHz: ~4.9 ms,
  // within a few times the DDR floor (the first version, one byte a cycle, was ~0.44 s).
  EXPECT_NEAR(e.weight_load_s, 0.0049, 0.0005);
  EXPECT_LT(e.weight_load_s, 3 * e.ddr_s);
  EXPECT_EQ(e.bound, "compute (weight loads)");
  EXPECT_NEAR(e.tokens_per_s, 1.0 / e.step_s, 1e-9);
  EXPECT_GT(e.tokens_per_s, 57.11) << "the model puts it above HLSTransform's measured 57 tok/s at batch 1";
}

TEST(PerfModel, AsWrittenDotsGrowWithTheBatchAndWeightLoadsDoNot) {
  const StepEstimate b1 = EstimateStep(Stories110M(), 1, 256, KernelDesign::kAsWritten);
  const StepEstimate b8 = EstimateStep(Stories110M(), 8, 256, KernelDesign::kAsWritten);
  EXPECT_DOUBLE_EQ(b1.weight_load_s, b8.weight_load_s);
  EXPECT_NEAR(b8.dot_s / b1.dot_s, 8.0, 1e-6);
  EXPECT_EQ(b8.bound, "compute (dot products)");
  EXPECT_GT(b8.tokens_per_s, b1.tokens_per_s);
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
