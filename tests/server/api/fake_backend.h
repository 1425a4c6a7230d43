// FakeBackend: a Backend whose sequences emit scripted events from a thread each, honouring Cancel()
// (a cancelled sequence ends with kError/kCancelled, as the engine's do). For the HTTP layer's tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/api/backend.h"

namespace fpgaserve::testing {

struct FakeScript {
  std::vector<std::string> pieces = {"Hel", "lo", "!"};  // one kToken event each (token id = 300 + i)
  std::chrono::milliseconds delay{1};                    // before each event
  bool fail_after_first = false;                         // end with kError(DeviceFailure) after one token
  bool hold_after_first = false;                         // after one token, neither emit nor notice a
                                                         // Cancel() until Release() (a stuck card)
  FinishReason finish = FinishReason::kLength;
  int accept = 1 << 30;   // Submit calls accepted; later ones -> queue full
  int healthy_cards = 1;  // State(): this many healthy cards of 4 slots
};

class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(FakeScript script) : script_(std::move(script)) {}
  ~FakeBackend() override {
    Release();
    for (std::thread& t : threads_) t.join();
  }

  Result<std::shared_ptr<Stream>> Submit(SequenceRequest request) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (submitted_ >= script_.accept) return Status::ResourceExhausted("The queue is full.");
    submitted_++;
    auto stream = std::make_shared<Stream>();
    streams_.push_back(stream);
    threads_.emplace_back([this, stream, prompt = static_cast<int>(request.prompt.size())] { Run(stream, prompt); });
    return stream;
  }
  EngineState State() const override {
    EngineState state;
    for (int i = 0; i < script_.healthy_cards; ++i) state.cards.push_back({"fake" + std::to_string(i), true, 4, 0, {}});
    return state;
  }
  int context_length() const override { return 128; }
  void StartDrain() override {}

  int cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& s : streams_) n += s->cancelled() ? 1 : 0;
    return n;
  }
  // Lets held sequences (hold_after_first) go on.
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    released_cv_.notify_all();
  }

 private:
  void Run(const std::shared_ptr<Stream>& stream, int prompt) {
    int emitted = 0;
    auto end_with = [&](StreamEvent e) {
      e.prompt_tokens = prompt;
      e.completion_tokens = emitted;
      stream->Push(std::move(e));
    };
    for (size_t i = 0; i < script_.pieces.size(); ++i) {
      std::this_thread::sleep_for(script_.delay);
      if (script_.hold_after_first && i == 1) {
        std::unique_lock<std::mutex> lock(mu_);
        released_cv_.wait(lock, [&] { return released_; });
      }
      if (stream->cancelled()) {
        StreamEvent e;
        e.kind = StreamEvent::Kind::kError;
        e.error = Status::Cancelled("cancelled");
        return end_with(std::move(e));
      }
      if (script_.fail_after_first && i == 1) {
        StreamEvent e;
        e.kind = StreamEvent::Kind::kError;
        e.error = Status::DeviceFailure("card sim0 failed");
        return end_with(std::move(e));
      }
      StreamEvent e;
      e.text = script_.pieces[i];
      e.token = 300 + static_cast<int32_t>(i);
      e.logprob = -0.25f;
      e.top_logprobs = {{e.token, -0.25f}, {5, -2.0f}};
      emitted++;
      stream->Push(std::move(e));
    }
    StreamEvent done;
    done.kind = StreamEvent::Kind::kFinished;
    done.finish_reason = script_.finish;
    end_with(std::move(done));
  }

  const FakeScript script_;
  mutable std::mutex mu_;
  int submitted_ = 0;                             // guarded by mu_
  std::vector<std::shared_ptr<Stream>> streams_;  // guarded by mu_
  std::vector<std::thread> threads_;              // guarded by mu_
  std::condition_variable released_cv_;
  bool released_ = false;  // guarded by mu_
};

}  // namespace fpgaserve::testing
