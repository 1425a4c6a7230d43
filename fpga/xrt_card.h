// XrtCard: an FPGA card (AWS F1's VU9P, or any card with an fpgaserve xclbin) driven through XRT's native
// C++ API. Built only when XRT is found (FPGASERVE_HAVE_XRT); this header does not include XRT's.
//
// Open() is the Vitis host recipe: open the device, check the xclbin (ours, with the kernel
// `fpgaserve_step` and its kMemPorts + 6 arguments, the same memory port count, build maxima that fit the
// model), load it, create one buffer per pointer argument in the memory the link config wired it to
// (kernel.group_id(i), looked up in the xclbin's MEM_TOPOLOGY: a DDR bank on F1/U200/U250, an HBM
// pseudo-channel on U55C/U280): a buffer per memory port holding that port's part of the weights image (uploaded
// once) followed by its share of the KV cache (kernel/card/card.h), plus the step input and the logits.
// Run() writes the step's input (entries and RoPE table), starts the kernel, waits at most timeout_ms,
// reads back only the logits words of the rows asked for and puts them in row order. Without a card the same sequence
// runs on XRT's noop shim (tests/fpga/xrt_card_test.cpp), which completes every run without computing: the math is
// tested on the simulated card.
//
// Threading: as Device — Run() from one thread at a time; info(), Healthy() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fpga/device.h"
#include "fpga/weights_image.h"
#include "fpga/xclbin_metadata.h"

namespace fpgaserve {

// What waiting for a run ended with.
enum class XrtWait { kCompleted, kTimedOut, kFailed };

struct XrtCardOptions {
  std::string device;      // an index ("0") or a PCIe BDF ("0000:00:1d.0") of the user function
  std::string xclbin;      // path of the .xclbin or .awsxclbin
  int n_slots = 8;         // KV slots
  int cache_len = 0;       // tokens per slot; 0 = the model's seq_len
  int timeout_ms = 10000;  // a step slower than this fails the card (DeadlineExceeded)
  // Tests only: replaces the wait for a started run (the argument is timeout_ms), so the timeout and
  // failure paths can be driven where the hardware cannot be made to hang. Empty: xrt::run::wait.
  std::function<XrtWait(int timeout_ms)> wait_for_test;
};

// The card's logits (kernel/card/card.h's CardLogitsWord order: 16-row tiles, tile-major, ports side by
// side) into row order: row r of the n_out rows to logits[r * vocab ...], only rows < vocab of the last
// tile. `words` holds at least CardLogitsWords(vocab, n_out) 64-byte words. Separate from Run() so the
// order can be tested without a card (the noop shim computes nothing).
void CardLogitsToRows(const uint8_t* words, int vocab, int n_out, float* logits);

class XrtCard final : public Device {
 public:
  // Opens and prepares the card. Failures, each naming the card and/or the file:
  //   InvalidArgument  bad options; the file is not an xclbin (corrupted, truncated); the kernel's
  //                    arguments differ from kernel/kernel.h's (an xclbin of another version); the image
  //                    is split over another memory port count (an HBM build on a DDR host or the
  //                    reverse: the message says which FPGASERVE_MEM_PORTS to build with); a port wired to
  //                    a memory its MEM_TOPOLOGY does not have or cannot hold a buffer (streaming)
  //   NotFound         the xclbin file does not exist; it has no fpgaserve build metadata; it has no
  //                    kernel fpgaserve_step; no card at that index or BDF
  //   OutOfRange       the model or cache_len exceeds the maxima the xclbin was built with
  //   Unavailable      XRT cannot open the card (driver not loaded, no XILINX_XRT, card busy)
  //   DeviceFailure    XRT failed while loading the xclbin or creating/uploading buffers
  static Result<std::unique_ptr<XrtCard>> Open(std::shared_ptr<const WeightsImage> image,
                                               const XrtCardOptions& options);
  ~XrtCard() override;

  const DeviceInfo& info() const override { return info_; }
  // InvalidArgument (malformed step, nothing sent), DeadlineExceeded (no completion within timeout_ms),
  // DeviceFailure (XRT error or a run that ended in error), Unavailable (the card failed earlier).
  Status Run(const Step& step, float* logits) override;
  bool Healthy() const override { return healthy_.load(); }
  // XRT's electrical and thermal reports (xrt::device::get_info, fpga/sensor_report.h): the board's
  // power and the FPGA's temperature, each unavailable when the card does not report it (XRT's noop
  // shim and emulation report neither).
  DeviceSensor* sensor() override;

  // Diagnostics, constant after Open(): the memory bank (index in the xclbin's MEM_TOPOLOGY) XRT
  // reported for each global argument (kernel.group_id), -1 for scalars; the xclbin's build metadata.
  const std::vector<int>& arg_banks() const { return arg_banks_; }
  // The MEM_TOPOLOGY tag of each global argument's memory ("DDR[2]", "bank2", "HBM[17]"), "" for scalars.
  const std::vector<std::string>& arg_memories() const { return arg_memories_; }
  // The data clock in the xclbin's CLOCK_FREQ_TOPOLOGY (what the link achieved), 0 when it has none.
  int kernel_mhz() const { return kernel_mhz_; }
  const XclbinBuildInfo& build_info() const { return build_; }
  uint64_t device_bytes() const { return device_bytes_; }  // all buffers allocated on the card
  // Where the KV cache starts in each port buffer, in 64-byte words (the kernel's kv_base argument):
  // the image part rounded up to whole words.
  int64_t kv_base() const { return kv_base_; }

 private:
  struct Impl;  // the XRT objects
  class Sensor;
  XrtCard() = default;
  Status Fail(Status status);  // marks the card unhealthy and returns status

  // Constant after Open().
  DeviceInfo info_;
  XclbinBuildInfo build_;
  std::vector<int> arg_banks_;
  std::vector<std::string> arg_memories_;
  int kernel_mhz_ = 0;
  uint64_t device_bytes_ = 0;
  int64_t kv_base_ = 0;
  // Bytes of the entries at the start of `in`: the card's max_step entries (its kInputEntryBytes), which
  // differs from this host build's when the xclbin was built with another FPGASERVE_MAX_STEP.
  size_t input_entry_bytes_ = 0;
  int timeout_ms_ = 0;
  std::function<XrtWait(int)> wait_for_test_;
  std::shared_ptr<const WeightsImage> image_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Sensor> sensor_;

  std::atomic<bool> healthy_{true};
};

}  // namespace fpgaserve
