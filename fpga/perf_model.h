// PerfModel: a model, not a measurement, of one step of the card kernel (kernel/card/) on an Alveo or F1
// card, derived from the kernel's structure:
//   - trip counts: every loop's, computed from the shape exactly as the kernel computes them. They are
//     the C simulation's counters (kernel/card/card.h: CardCounters), and tests/kernel/card_sim_test.cpp
//     checks that the two agree over several shapes, batch sizes and positions;
//   - cycles: each pipelined loop takes its trip count at its II (1 everywhere: kernel/README.md says why)
//     plus its pipeline depth; a memory stream takes its words over the port's bandwidth (the larger of
//     the two bounds it); a DATAFLOW region (a matmul, attention) takes its slowest stage plus its fill,
//     with its per-port stages side by side; the regions and elementwise passes run one after another,
//     as the kernel runs them;
//   - resources: DSPs of the PE arrays and float units, BRAM and URAM of the on-chip arrays at the build's
//     maxima, against the part's.
#pragma once

#include <string>
#include <vector>

#include "fpga/model_view.h"
#include "kernel/card/card.h"

namespace fpgaserve {

// A card: its memory system, clock and part. The kernel build for it sets mem_ports and pe_entries.
struct Platform {
  std::string name;         // aws-f1, u200, u250, u55c, u280
  std::string part;         // the FPGA
  std::string memory;       // "DDR4" or "HBM2"
  int mem_ports = 4;        // kernel memory ports (DDR banks or HBM pseudo-channels)
  double port_gbps = 19.2;  // peak bandwidth of one port's memory
  double efficiency = 0.8;  // the share of peak a long burst stream reaches
  double kernel_mhz = 300;
  int pe_entries = 16;       // the PE arrays' entries a cycle (FPGASERVE_PE_ENTRIES)
  int scale_rows = 16;       // the scale stages' rows a cycle (FPGASERVE_SCALE_ROWS)
  int attention_chains = 4;  // attention chains, each serving mem_ports / this ports (FPGASERVE_ATTENTION_CHAINS)
  int max_step = 32;         // the build's FPGASERVE_MAX_STEP
  int dsp = 0, bram36 = 0, uram = 0;  // the part's (all SLRs)
  double pcie_gbps = 12;              // host <-> card DMA
  double launch_us = 30;              // xrt::run start and wait, the input's sync
};

// The platforms `fpgaserve estimate --platform` knows; Find returns nullptr for another name.
const std::vector<Platform>& Platforms();
const Platform* FindPlatform(const std::string& name);

// The card kernel's loop trip counts for a step of `entries`, on a build with the platform's ports and PE
// width (the counts depend on each entry's position and whether it wants logits, not on its slot).
struct ModelEntry {
  int pos;
  bool wants_logits;
};
kernel::CardCounters TripCounts(const ModelConfig& c, const std::vector<ModelEntry>& entries, const Platform& pf);

// One stage (or a group of them) of the step and what bounds it.
struct StageEstimate {
  std::string name;   // "matmul wq", "attention", "rmsnorm", ...
  double cycles = 0;  // over the whole step (all layers)
  std::string bound;  // "memory", "compute", "latency"
};

struct Resources {
  double dsp = 0, bram36 = 0, uram = 0;  // the kernel's
  int part_dsp = 0, part_bram36 = 0, part_uram = 0;
};

struct StepEstimate {
  int batch = 0, pos = 0;
  std::vector<StageEstimate> stages;
  double kernel_s = 0;    // the stages in sequence
  double overhead_s = 0;  // launch, input and logits over PCIe
  double step_s = 0;
  double tokens_per_s = 0;
  double weight_bytes = 0, kv_bytes = 0;  // read per step
  double roofline_tokens_per_s = 0;       // batch / (bytes over all ports at peak)
  std::string bound;                      // the largest stage and its bound
  Resources resources;
};

// REQUIRES: config valid, batch >= 1, pos >= 0.
StepEstimate EstimateStep(const ModelConfig& c, int batch, int pos, const Platform& pf);

// HLSTransform (He et al., 2024) measured on the F1 card (VU9P), stories110M, batch 1.
struct PublishedMeasurement {
  const char* what = "HLSTransform on AWS F1 (VU9P), stories110M, batch 1";
  double tokens_per_s = 57.11;
  double watts = 9;
  double mwh_per_token = 0.04;
};

}  // namespace fpgaserve
