// Engine: the scheduler between the HTTP layer and the cards. It owns a bounded FIFO queue of
// sequences and one worker thread per card; every step, a worker admits waiting sequences into free KV
// slots, builds a Step of all running sequences' decode tokens plus prefill chunks up to a token budget,
// runs it on its card, samples, detokenizes, matches stop strings and emits events to each sequence's
// Stream. A sequence lives on one card for its whole life.
//
// Guarantees:
//  - Batching never changes a sequence's output: the same request (same seed) yields the same tokens
//    alone or among many (per-sequence RNG; the kernel's entries are independent; prefill chunking does
//    not change the math).
//  - Nothing is lost: every submitted sequence ends with exactly one final event (kFinished or kError).
//  - A cancelled sequence (client gone, timeout) frees its slot at the next step boundary.
//
// Threading: all public methods are thread-safe. Streams are read by one consumer thread each.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fpga/device.h"
#include "fpga/status.h"
#include "server/engine/sampler.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

class EngineMetrics;  // server/engine/engine_metrics.h

// One sequence to generate (one OpenAI choice: a request with n = 3 is three of these).
struct SequenceRequest {
  std::string request_id;            // for logs; the HTTP layer's id (with "/<index>" for n > 1)
  std::vector<int32_t> prompt;       // token ids, BOS included; not empty
  SamplingParams sampling;           // sampling.seed is set (the HTTP layer draws one when absent)
  int max_tokens = 16;               // >= 1; prompt.size() + max_tokens <= a card's cache_len
  std::vector<std::string> stop;     // stop strings (<= 4); the text stops before them, never emitting them
  bool ignore_eos = false;           // keep generating past EOS (benchmarks: exact output lengths)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

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

struct EngineOptions {
  int max_queue = 256;                 // waiting sequences; Submit beyond it returns ResourceExhausted
  int step_token_budget = 0;           // entries per step (decode + prefill); 0 = each card's max_step
  std::chrono::milliseconds step_timeout{30000};  // a card step taking longer marks the card unhealthy
};

// A snapshot for /health and /metrics.
struct CardState {
  std::string name;
  bool healthy = true;
  int slots_total = 0;
  int slots_used = 0;
};
struct EngineState {
  int waiting = 0;   // sequences queued, not yet on a card
  int running = 0;   // sequences holding a KV slot
  bool draining = false;
  std::vector<CardState> cards;
};

class Engine {
 public:
  // Takes the cards (all loaded with the same model; at least one) and starts one worker per card.
  // `metrics` may be null; when set it must outlive the engine.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options,
                                                std::vector<std::unique_ptr<Device>> cards,
                                                std::shared_ptr<const Tokenizer> tokenizer,
                                                EngineMetrics* metrics);
  // Cancels everything still running or waiting (each gets its final kError event), stops the workers.
  ~Engine();

  // Queues a sequence. Returns its Stream, or: InvalidArgument (empty prompt, prompt + max_tokens over
  // the context — the message names both numbers), ResourceExhausted (queue full), Unavailable
  // (draining, or no healthy card).
  Result<std::shared_ptr<Stream>> Submit(SequenceRequest request);

  // Stops accepting (Submit returns Unavailable); running and queued sequences continue.
  void StartDrain();
  // True when draining and nothing is queued or running.
  bool Drained() const;

  EngineState State() const;
  // The context every card offers (min cache_len over cards): prompt + max_tokens must fit in it.
  int context_length() const;
};

}  // namespace fpgaserve
