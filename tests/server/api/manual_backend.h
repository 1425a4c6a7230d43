// ManualBackend: a Backend whose sequences emit exactly what the test pushes, when it pushes it: no threads
// and no timing, so a test decides the order of every event. For the HTTP layer's tests (FakeBackend runs
// scripted sequences on threads of their own instead).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/api/backend.h"

namespace fpgaserve::testing {

inline StreamEvent TokenEvent(const std::string& text, int32_t token) {
  StreamEvent e;
  e.text = text;
  e.token = token;
  e.logprob = -0.25f;
  e.top_logprobs = {{token, -0.25f}, {5, -2.0f}};
  return e;
}

inline StreamEvent FinishedEvent(int completion_tokens, FinishReason reason = FinishReason::kLength) {
  StreamEvent e;
  e.kind = StreamEvent::Kind::kFinished;
  e.finish_reason = reason;
  e.completion_tokens = completion_tokens;
  return e;
}

inline StreamEvent ErrorEvent(Status error, int completion_tokens = 0) {
  StreamEvent e;
  e.kind = StreamEvent::Kind::kError;
  e.error = std::move(error);
  e.completion_tokens = completion_tokens;
  return e;
}

class ManualBackend final : public Backend {
 public:
  // `accept`: Submit calls accepted, later ones answer queue full. `preload`: events every new stream holds
  // before Submit returns it (as an engine may push before the HTTP side attaches the stream).
  explicit ManualBackend(int accept = 1 << 30, std::vector<StreamEvent> preload = {})
      : accept_(accept), preload_(std::move(preload)) {}

  Result<std::shared_ptr<Stream>> Submit(SequenceRequest) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(streams_.size()) >= accept_) return Status::ResourceExhausted("The queue is full.");
    auto stream = std::make_shared<Stream>();
    for (const StreamEvent& e : preload_) stream->Push(e);
    streams_.push_back(stream);
    return stream;
  }
  EngineState State() const override { return {}; }
  int context_length() const override { return 128; }
  void StartDrain() override {}

  // The k-th submitted sequence's stream (REQUIRES: submitted), to push events into and to read its
  // cancellation.
  std::shared_ptr<Stream> stream(size_t k) const {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_.at(k);
  }
  int cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& s : streams_) n += s->cancelled() ? 1 : 0;
    return n;
  }

 private:
  const int accept_;
  const std::vector<StreamEvent> preload_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Stream>> streams_;  // guarded by mu_
};

}  // namespace fpgaserve::testing
