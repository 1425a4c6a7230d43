// WeightsImage: a model packed into the bytes the kernel reads (layout in kernel/kernel.h): kBanks
// buffers of equal size, one per DDR bank, each with the same header and offset table.
//
// One packer, two consumers: the simulated card runs the kernel on these buffers in host memory, the XRT
// card copies them into the card's DDR banks once at start-up. Immutable after Pack(); safe to share
// between threads and cards.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fpga/model_view.h"
#include "fpga/status.h"
#include "kernel/kernel.h"

namespace fpgaserve {

class WeightsImage {
 public:
  // Packs a model; fp32 matrices are quantized to Q8_0 with config.group_size on the way. Returns
  // InvalidArgument when the view is incomplete or its shapes disagree with its config.
  static Result<std::shared_ptr<const WeightsImage>> Pack(const ModelView& model);

  const ModelConfig& config() const { return config_; }
  const uint8_t* bank(int b) const { return banks_[b].data(); }
  uint64_t bank_bytes() const { return banks_[0].size(); }
  uint64_t total_bytes() const { return bank_bytes() * kernel::kBanks; }

 private:
  WeightsImage() = default;
  ModelConfig config_;
  std::vector<uint8_t> banks_[kernel::kBanks];
};

}  // namespace fpgaserve
