// Devices for engine tests: a scripted card that fails, throws, hangs or runs slowly on request, and a
// wrapper that records the steps a real card runs. Both report to a FakeControl that the test keeps
// (shared), so it can inspect steps and release a hung card after the engine took the device.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fpga/device.h"

namespace fpgaserve::testing {

class FakeControl {
 public:
  // Lets a hung Run() return (with DeadlineExceeded, as a card's own timeout would).
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  std::vector<Step> steps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return steps_;
  }
  int step_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(steps_.size());
  }
  // Whether a Run() is blocked in a hang right now.
  bool hanging() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hanging_;
  }

  // Device side.
  int Record(const Step& step) {
    std::lock_guard<std::mutex> lock(mu_);
    steps_.push_back(step);
    return static_cast<int>(steps_.size()) - 1;
  }
  void Hang() {
    std::unique_lock<std::mutex> lock(mu_);
    hanging_ = true;
    cv_.wait(lock, [&] { return released_; });
    hanging_ = false;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Step> steps_;
  bool released_ = false;
  bool hanging_ = false;
};

struct FakeDeviceOptions {
  std::string name = "fake0";
  int n_slots = 4;
  int cache_len = 64;
  int max_step = 16;
  int vocab_size = 512;
  int fail_at_step = -1;               // this Run (0-based) returns DeviceFailure; the card is unhealthy afterwards
  bool throw_at_fail = false;          // ... or throws instead
  int hang_at_step = -1;               // this Run blocks until FakeControl::Release()
  std::chrono::milliseconds delay{0};  // every Run takes at least this long
  // The token each logits row makes the most likely one, from the entry that asked for the row.
  std::function<int32_t(const StepEntry&)> next_token = [](const StepEntry& e) { return 100 + (e.pos + 1) % 50; };
};

// A card without a model: each logits row is 0 everywhere but 10 at next_token(entry), so greedy sampling
// picks that token.
class FakeDevice final : public Device {
 public:
  FakeDevice(FakeDeviceOptions options, std::shared_ptr<FakeControl> control)
      : options_(std::move(options)), control_(std::move(control)) {
    info_.name = options_.name;
    info_.model.dim = 8;
    info_.model.hidden_dim = 8;
    info_.model.n_layers = 1;
    info_.model.n_heads = 1;
    info_.model.n_kv_heads = 1;
    info_.model.vocab_size = options_.vocab_size;
    info_.model.seq_len = options_.cache_len;
    info_.n_slots = options_.n_slots;
    info_.cache_len = options_.cache_len;
    info_.max_step = options_.max_step;
  }

  const DeviceInfo& info() const override { return info_; }
  bool Healthy() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return healthy_;
  }

  Status Run(const Step& step, float* logits) override {
    if (Status st = ValidateStep(step, info_); !st.ok()) return st;
    const int index = control_->Record(step);
    if (index == options_.fail_at_step) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        healthy_ = false;
      }
      if (options_.throw_at_fail) throw std::runtime_error("the fake card broke");
      return Status::DeviceFailure("the fake card failed on step " + std::to_string(index));
    }
    if (index == options_.hang_at_step) {
      control_->Hang();
      std::lock_guard<std::mutex> lock(mu_);
      healthy_ = false;
      return Status::DeadlineExceeded("the fake card timed out");
    }
    if (options_.delay.count() > 0) std::this_thread::sleep_for(options_.delay);
    const int vocab = options_.vocab_size;
    for (const StepEntry& e : step.entries) {
      if (e.out_row < 0) continue;
      float* row = logits + static_cast<size_t>(e.out_row) * vocab;
      for (int t = 0; t < vocab; t++) row[t] = 0.0f;
      row[options_.next_token(e)] = 10.0f;
    }
    return Status::Ok();
  }

 private:
  const FakeDeviceOptions options_;
  std::shared_ptr<FakeControl> control_;
  DeviceInfo info_;
  mutable std::mutex mu_;
  bool healthy_ = true;  // guarded by mu_
};

// A real card whose steps are recorded.
class RecordingDevice final : public Device {
 public:
  RecordingDevice(std::unique_ptr<Device> inner, std::shared_ptr<FakeControl> control)
      : inner_(std::move(inner)), control_(std::move(control)) {}
  const DeviceInfo& info() const override { return inner_->info(); }
  bool Healthy() const override { return inner_->Healthy(); }
  Status Run(const Step& step, float* logits) override {
    control_->Record(step);
    return inner_->Run(step, logits);
  }

 private:
  std::unique_ptr<Device> inner_;
  std::shared_ptr<FakeControl> control_;
};

}  // namespace fpgaserve::testing
