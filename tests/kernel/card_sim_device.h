// CardSimDevice: a Device that runs the card kernel's C simulation (kernel/card/, g++ with the F1 build's
// maxima) on buffers laid out as an XRT card's: one per memory port (the weights image part, then the
// port's share of the KV cache), the step input, and the logits in the card's order, put back in row
// order here. Slow (the PE arrays are simulated lane by lane): for tests on small models.
#pragma once

#include <memory>
#include <vector>

#include "fpga/device.h"
#include "fpga/weights_image.h"
#include "kernel/card/card.h"

namespace fpgaserve {

class CardSimDevice final : public Device {
 public:
  CardSimDevice(std::shared_ptr<const WeightsImage> image, int n_slots, int cache_len);
  const DeviceInfo& info() const override { return info_; }
  Status Run(const Step& step, float* logits) override;
  bool Healthy() const override { return true; }
  // The loop trip counts of the last Run().
  const kernel::CardCounters& counters() const { return counters_; }

 private:
  DeviceInfo info_;
  std::shared_ptr<const WeightsImage> image_;
  int64_t kv_base_ = 0;  // words
  std::vector<std::vector<kernel::Word>> ports_;
  kernel::CardCounters counters_{};
};

}  // namespace fpgaserve
