// Stream: the events of one sequence, from the engine (the producer) to the HTTP layer (its one consumer),
// and the consumer's way to cancel it. What each event means is in engine.h ("Events of a sequence").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/engine/sampler.h"

namespace fpgaserve {

enum class FinishReason { kStop, kLength };  // "stop" (EOS or a stop string), "length" (max_tokens / context)
const char* FinishReasonName(FinishReason reason);

struct StreamEvent {
  enum class Kind {
    kToken,     // one generated token: `text` is the new text it makes visible (may be empty while a
                // UTF-8 character or a possible stop string is held back)
    kFinished,  // the last event of a sequence that ended normally; `text` flushes what was held back
    kError,     // the last event of a sequence that failed: `error` says why (no more events follow)
  };
  Kind kind = Kind::kToken;
  std::string text;
  int32_t token = -1;                     // kToken: the sampled token id
  float logprob = 0.0f;                   // kToken: when sampling.logprobs
  std::vector<TokenLogprob> top_logprobs; // kToken: when sampling.top_logprobs > 0
  FinishReason finish_reason = FinishReason::kStop;  // kFinished
  Status error;                           // kError
  int prompt_tokens = 0;                  // kFinished / kError: usage so far
  int completion_tokens = 0;
};

// The consumer's end of one sequence: events in order, and cancellation.
class Stream {
 public:
  // Waits up to `timeout` for the next event. Returns true with *event filled, false on timeout (the
  // caller sends an SSE keep-alive and waits again). After the final event it returns true no more
  // (returns false immediately).
  bool Next(StreamEvent* event, std::chrono::milliseconds timeout);

  // Asks the engine to stop this sequence; its slot is freed at the next step boundary and a final
  // kError event with code kCancelled follows. Idempotent; safe from any thread.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Engine side: append an event (REQUIRES: no event after a final one).
  void Push(StreamEvent event);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamEvent> events_;  // guarded by mu_
  bool final_taken_ = false;        // guarded by mu_: the consumer has read the final event
  std::atomic<bool> cancelled_{false};
};

}  // namespace fpgaserve
