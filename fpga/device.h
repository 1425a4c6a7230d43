// Device: one card as the scheduler sees it — a KV cache of n_slots x cache_len tokens and a step runner.
//
// Implementations: SimCard (the kernel compiled for this host) and XrtCard (an FPGA through XRT). Tests
// inject devices that fail, hang or run slowly through the same interface.
//
// Threading: Run() is called by one thread at a time (the card's worker); info() and Healthy() may be
// called from any thread at any time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"
#include "fpga/sensor.h"

namespace fpgaserve {

// One token of one sequence in a step (see kernel/kernel.h for the contract).
struct StepEntry {
  int32_t token = 0;
  int32_t pos = 0;       // position in the sequence, 0-based; < cache_len
  int32_t slot = 0;      // KV slot that holds the sequence; < n_slots
  int32_t out_row = -1;  // row of the logits to write, or -1 for none
};

struct Step {
  std::vector<StepEntry> entries;  // entries of one slot in increasing pos
  int n_out_rows = 0;              // out_row values are 0..n_out_rows-1, each used once
};

struct DeviceInfo {
  std::string name;   // "sim0", "xrt0 (0000:00:1d.0)"
  ModelConfig model;  // the model loaded on the card
  int n_slots = 0;    // sequences the KV cache holds at once
  int cache_len = 0;  // tokens per slot (<= model.seq_len)
  int max_step = 0;   // entries per step
  uint64_t kv_bytes_per_slot = 0;
};

class Device {
 public:
  virtual ~Device() = default;

  virtual const DeviceInfo& info() const = 0;

  // Runs one step. On success, logits[r * vocab_size .. (r+1) * vocab_size) holds row r for every
  // r < step.n_out_rows. REQUIRES: logits has room for n_out_rows * vocab_size floats.
  // Returns InvalidArgument for a malformed step (nothing ran), DeadlineExceeded when the card did not
  // finish in time, DeviceFailure when the card failed; after either of the last two Healthy() is false.
  virtual Status Run(const Step& step, float* logits) = 0;

  // False once the card has failed; a failed card is not used again.
  virtual bool Healthy() const = 0;

  // The card's power and temperature sensor, or nullptr when it has none (the simulated card: its power
  // is the host's, fpga/powercap_sensor.h). Owned by the device and valid as long as it; its Read() may run
  // on another thread while Run() does.
  virtual DeviceSensor* sensor() { return nullptr; }
};

// Checks a step against a card's shape: sizes, token/pos/slot ranges, out_row uniqueness, per-slot
// increasing positions. Every Device implementation calls it before touching the card.
Status ValidateStep(const Step& step, const DeviceInfo& info);

}  // namespace fpgaserve
