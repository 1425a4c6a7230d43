// WeightsImage: a model packed into the bytes the kernel reads (layout in kernel/kernel.h): kMemPorts
// buffers of equal size, one per memory port (a DDR bank or an HBM pseudo-channel on the card), each with
// the same header and offset table.
//
// One packer, two consumers: the simulated card runs the kernel on these buffers in host memory, the XRT
// card copies them into the card's DDR banks once at start-up. Immutable after Pack(); safe to share
// between threads and cards.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"
#include "kernel/kernel.h"

namespace fpgaserve {

class WeightsImage {
 public:
  // Packs a model; fp32 matrices are quantized to Q8_0 with config.group_size on the way. Returns
  // InvalidArgument when the view is incomplete or its shapes disagree with its config, ResourceExhausted
  // (naming the bytes needed and available) when the image does not fit in the memory this machine has
  // available, or when an allocation fails anyway (std::bad_alloc does not escape).
  static Result<std::shared_ptr<const WeightsImage>> Pack(const ModelView& model);

  const ModelConfig& config() const { return config_; }
  const uint8_t* port(int p) const { return ports_[p]; }
  // The kMemPorts parts, as the host kernel takes them.
  const uint8_t* const* ports() const { return ports_; }
  uint64_t port_bytes() const { return port_bytes_; }
  uint64_t total_bytes() const { return port_bytes() * kernel::kMemPorts; }

 private:
  WeightsImage() = default;
  // Pack without the std::bad_alloc fence.
  static Result<std::shared_ptr<const WeightsImage>> PackUnfenced(const ModelView& model);
  ModelConfig config_;
  // Each part 2 MB-aligned and advised into huge pages: the simulated card streams the whole image every
  // step, so its 64-byte beats should sit on cache lines and its pages should cost few TLB misses.
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> owned_[kernel::kMemPorts];
  const uint8_t* ports_[kernel::kMemPorts] = {};
  uint64_t port_bytes_ = 0;
};

}  // namespace fpgaserve
