// OpenDevices: the cards of this process, from a device spec (the --device flag).
//
//   sim:N            N simulated cards (each its own thread team and KV cache)
//   xrt:I[,xrt:J]    XRT cards by index, or xrt:BDF (e.g. xrt:0000:00:1d.0); needs --xclbin
//
// All cards get the same model (the packed weights image) and the same KV shape.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fpga/device.h"
#include "fpga/weights_image.h"

namespace fpgaserve {

struct DevicePoolOptions {
  int n_slots = 8;             // KV slots per card
  int cache_len = 0;           // tokens per slot; 0 = the model's seq_len
  int sim_threads = 0;         // kernel threads per simulated card; 0 = by model size, at most cores / cards
  std::string xclbin;          // the .xclbin or .awsxclbin for XRT cards
  int xrt_timeout_ms = 10000;  // an XRT step slower than this is a card failure
};

// Returns the cards, or InvalidArgument for a malformed spec, or the first card's failure to open
// (NotFound / Unavailable naming what is missing: no XRT in this build, no card at that index, ...).
Result<std::vector<std::unique_ptr<Device>>> OpenDevices(const std::string& spec,
                                                         const std::shared_ptr<const WeightsImage>& image,
                                                         const DevicePoolOptions& options);

}  // namespace fpgaserve
