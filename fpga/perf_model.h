// PerfModel: a model — not a measurement — of one step of kernel/forward.cpp on an F1 card (VU9P, four
// DDR4 banks), derived from the kernel's loop structure: trip counts, the initiation interval each loop
// can reach given its pragmas and its memories, and the unroll factors; plus the bytes a step moves over
// the DDR banks and the per-step host overheads (kernel launch, PCIe transfer of entries and logits).
//
// The kernel has no DATAFLOW: its loops run one after another, so a step's time is the sum of its loop
// latencies; DDR bandwidth is a separate floor (the step cannot be faster than its bytes over the
// banks). The model reports both and names the larger as the bound.
//
// Two designs are modelled:
//   kAsWritten  forward.cpp as it stands (see the notes in perf_model.cpp for each number):
//     - weights in 16-row tiles; each matmul iteration takes tile t of all four banks side by side (one
//       AXI port each);
//     - a tile's group is one pipelined pass over (beat, entry) at II=1: a 64-byte beat (four values of
//       each of the 16 rows) is read once and serves every entry of the step, so weights stream inside
//       the dot pipeline with no separate load;
//     - a pipeline fill per group, and the tile's outputs written after its dots;
//     - attention scores one key per 64-byte beat (a product tree per key), its weighted-value sums
//       chain across positions (II = fadd latency).
//   kProposed   what would come next (kernel/README.md): one fill per tile (groups flattened into the
//     pass), the outputs written while the next tile streams (DATAFLOW), attention reading 16 floats a
//     cycle with split sums, and the per-entry elementwise loops unrolled x4.
//
// The first version of the kernel loaded one byte a cycle through one shared row buffer (the four banks
// in turn) and dotted at II = GS/2; this model put it at 1.4 tok/s for stories110M, which is what made
// us change it to the design above.
#pragma once

#include <string>
#include <vector>

#include "fpga/model_view.h"

namespace fpgaserve {

enum class KernelDesign { kAsWritten, kProposed };

struct PerfAssumptions {
  double kernel_mhz = 250;      // F1's default kernel clock (clk_extra_c0 / --kernel_frequency 250)
  int banks = 4;                // F1: four DDR4 banks
  double bank_gbps = 16;        // practical read bandwidth per bank (F1: ~16-19 GB/s)
  double pcie_gbps = 8;         // practical host<->card DMA bandwidth on F1 (PCIe gen3 x16 through the shell)
  double launch_us = 30;        // xrt::run start + wait round trip, plus the entries' sync
  int fadd_latency = 4;         // cycles of a float add/fma at 250 MHz (a loop-carried float sum's II)
  int pipeline_depth = 12;      // fill/drain cycles paid per entry into a pipelined loop
};

struct StepEstimate {
  int batch = 0;                // entries in the step (each wants logits: decode)
  int pos = 0;                  // context position of every entry
  // Kernel time by part, seconds (the loops run in sequence).
  double weight_load_s = 0;     // loading weights into on-chip buffers apart from the dots (zero in both designs)
  double dot_s = 0;             // the Q8_0 dot products of every matmul and the classifier
  double attention_s = 0;       // scores, softmax and weighted values over the KV cache
  double other_s = 0;           // embedding, norms, quantisation, RoPE, cache writes, residuals, SwiGLU
  double overhead_s = 0;        // launch, entries to the card, logits back over PCIe
  double kernel_s = 0;          // sum of the kernel's parts
  double step_s = 0;            // max(kernel, DDR floor) + overhead
  double ddr_bytes = 0;         // bytes the step moves over the DDR banks
  double ddr_s = 0;             // ddr_bytes over all banks' bandwidth
  double tokens_per_s = 0;      // batch / step_s
  std::string bound;            // "DDR" or "compute: <largest kernel part>"
};

// REQUIRES: config valid, batch >= 1, pos >= 0.
StepEstimate EstimateStep(const ModelConfig& config, int batch, int pos, KernelDesign design,
                          const PerfAssumptions& a = PerfAssumptions());

// HLSTransform (He et al., 2024) measured on the same card (VU9P, F1), stories110M, batch 1.
struct PublishedMeasurement {
  const char* what = "HLSTransform on AWS F1 (VU9P), stories110M, batch 1";
  double tokens_per_s = 57.11;
  double watts = 9;
  double mwh_per_token = 0.04;
};

}  // namespace fpgaserve
