// SimCard: the simulated card — the host's implementation of the card kernel (kernel/forward.cpp, the same
// bits as the card kernel's C simulation), running on a weights image in host memory with its own KV
// cache. It is the card every machine can run, and the one the math is tested on.
//
// The kernel keeps a step's activations in local arrays, several MB with the host build's maxima, so
// steps run on the card's own thread with a large stack; Run() hands the step over and waits. The
// kernel's loops use OpenMP with `threads` threads of that thread's team.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

#include "fpga/device.h"
#include "fpga/weights_image.h"

namespace fpgaserve {

// The host step, as declared in kernel/kernel.h (fpgaserve_host_step).
using StepFunction = void (*)(const uint8_t* const*, uint16_t*, uint16_t*, const uint8_t*, float*, int, int, int);

struct SimCardOptions {
  std::string name = "sim0";
  int n_slots = 8;    // sequences held at once
  int cache_len = 0;  // tokens per slot; 0 = the model's seq_len
  int threads = 0;    // OpenMP threads for the kernel; 0 = automatic (see auto_thread_cap)
  // With threads = 0: one thread per 8 MB of weights (a smaller model's step is too short to pay for
  // waking a thread team ~100 times a step), at most this many; 0 = one per core.
  int auto_thread_cap = 0;
  StepFunction kernel = nullptr;  // nullptr = fpgaserve_host_step; tests pass other builds of the kernel
};

class SimCard final : public Device {
 public:
  // Allocates the KV cache (untouched until used) and starts the card's thread. Returns OutOfRange
  // when the model or cache does not fit the compiled kernel's maxima, InvalidArgument for bad options,
  // ResourceExhausted when the full KV cache (KvCacheBytes) exceeds the memory available on this machine
  // or its allocation fails (naming --kv-slots and --cache-len).
  static Result<std::unique_ptr<SimCard>> Create(std::shared_ptr<const WeightsImage> image,
                                                 const SimCardOptions& options);
  // The bytes of one card's KV cache (keys and values, every slot full) for this model and options;
  // nullopt when that does not fit in 64 bits. REQUIRES: options.n_slots >= 0, options.cache_len >= 0.
  static std::optional<uint64_t> KvCacheBytes(const ModelConfig& config, const SimCardOptions& options);
  // OK, or ResourceExhausted naming the bytes `n_cards` such caches need, the bytes available, and the
  // options to lower. `available` is AvailableMemoryBytes() in the server; tests inject a figure.
  static Status CheckKvCacheFits(const ModelConfig& config, const SimCardOptions& options, int n_cards,
                                 std::optional<uint64_t> available);
  ~SimCard() override;

  const DeviceInfo& info() const override { return info_; }
  Status Run(const Step& step, float* logits) override;
  bool Healthy() const override { return true; }  // host memory and host code: nothing to fail

 private:
  SimCard() = default;
  static void* ThreadMain(void* self);
  void Loop();

  // Constant after Create().
  DeviceInfo info_;
  int threads_ = 0;
  StepFunction kernel_ = nullptr;
  std::shared_ptr<const WeightsImage> image_;
  std::unique_ptr<uint16_t[]> k_cache_;  // (layer, slot, kv head, cache_len, KvHeadStride) fp16
  std::unique_ptr<uint16_t[]> v_cache_;
  pthread_t thread_{};
  bool thread_started_ = false;

  // The hand-over of one step to the card's thread.
  std::mutex mu_;
  std::condition_variable cv_;
  const std::vector<uint8_t>* job_input_ = nullptr;  // guarded by mu_
  int job_entries_ = 0;                              // guarded by mu_
  float* job_logits_ = nullptr;                      // guarded by mu_
  bool job_done_ = false;                            // guarded by mu_
  bool stopping_ = false;                            // guarded by mu_
};

}  // namespace fpgaserve
