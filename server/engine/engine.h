// Engine: the scheduler between the HTTP layer and the cards. After Triton's split of the scheduler from its
// backend threads, planning, execution and output are three parts, and this class ties them together:
//  - the Engine (this file) owns the bounded FIFO queue of sequences and the shared scheduling state of every
//    card (its running sequences, free KV slots, health), behind one lock; it decides, at each card's step
//    boundary, what the card admits and runs, and turns each step's logits into events;
//  - the StepPlanner (step_planner.h) makes those decisions over plain data: admission and the step's entries;
//  - a CardWorker per card (card_worker.h) owns the card's thread, its device, the step run (exceptions and
//    an unhealthy card become a failed step) and the watchdog's view of it; it asks the engine for each step;
//  - a SequenceOutput per sequence (sequence_output.h) samples, detokenizes, matches stop strings and makes
//    the sequence's events from its logits rows.
// Every step, a card's worker admits waiting sequences into free KV slots, builds a Step of all running
// sequences' decode tokens plus prefill chunks up to a token budget, runs it on its card, samples,
// detokenizes, matches stop strings and emits events to each sequence's Stream. A sequence lives on one card
// for its whole life.
//
// Guarantees:
//  - Batching never changes a sequence's output: the same request (same seed) yields the same tokens
//    alone or among many (per-sequence RNG; the kernel's entries are independent; prefill chunking does
//    not change the math).
//  - Nothing is lost: every submitted sequence ends with exactly one final event (kFinished or kError).
//  - A cancelled sequence (client gone, timeout) frees its slot at the next step boundary.
//  - A sequence's final event is pushed only after its slot is free: once a consumer has read it,
//    State() no longer counts the sequence.
//
// Scheduling (the rules are StepPlanner's, step_planner.h; the loop is Engine::NextStep / FinishStep):
//  - Step: one decode entry for every sequence past its prompt, first; then chunks of the prompts still
//    being prefilled, in admission order, while the token budget lasts (min(step_token_budget, the
//    card's max_step)). A long prompt therefore never delays other streams by more than one step. Only
//    when a card has more slots than the budget can decoders outnumber it; they then take turns.
//  - Admission (where a request goes): at each step boundary, or when woken by Submit or a freed slot, a
//    worker takes the queue head into a free slot unless another healthy card has strictly more free
//    slots; that card's worker takes it at its own next boundary (at most one of its steps later). Each
//    sequence thus lands on a healthy card with the most free slots. Idle workers sleep on a condition
//    variable.
//  - Queue waits, cancellation and deadlines are checked at every step boundary, and for queued sequences
//    also by a housekeeping thread every 20 ms.
//
// Events of a sequence (Stream):
//  - kToken per sampled token, `text` the text it makes visible: the StreamDecoder holds back an
//    unfinished UTF-8 character and the StopMatcher the longest tail that may start a stop string, so
//    `text` may be empty; the concatenated texts never contain a stop string.
//  - An end-of-generation token (Tokenizer::IsEndOfGeneration: EOS, and Llama 3's <|eot_id|> / <|eom_id|>
//    when the vocabulary has them) ends with kFinished "stop" and no kToken event; its text is never emitted.
//    Only those end a sequence: a sampled BOS is an ordinary token with empty text. With ignore_eos, they
//    are ordinary tokens (empty text).
//  - A stop string ends with kFinished "stop"; the token that completes it gets no kToken event, the
//    text before the stop string is in kFinished.text, and nothing from the stop string on is emitted.
//  - max_tokens (or a full KV slot) ends with kFinished "length" after the last token's kToken event.
//  - kFinished.text holds whatever was held back (an unfinished character becomes U+FFFD).
//  - Usage: prompt_tokens = prompt.size(); completion_tokens = tokens sampled, EOS and the token that
//    completed a stop string included (they were generated). kError events carry usage so far.
//  - Errors: kCancelled ("the request was cancelled" / "the server is shutting down"),
//    kDeadlineExceeded ("request timed out after N ms", N = deadline - Submit time), kDeviceFailure
//    ("card <name> failed: <why>"), kUnavailable (queued when the last healthy card failed).
//
// Card failures: Device::Run returning an error (DeadlineExceeded, DeviceFailure, anything), throwing,
// or a card reporting !Healthy() after a step takes the card out of service for good (State() and the
// fpgaserve_card_healthy gauge say so). A step still inside Run after step_timeout does the same: the
// housekeeping thread (the watchdog) fails the card without waiting for Run, and the worker thread,
// stuck in Run, exits whenever Run returns. Sequences on a failed card that have emitted no kToken
// event go back to the front of the queue and restart (prefill included) on another healthy card; the
// others end with kDeviceFailure. When no healthy card is left, queued sequences end with Unavailable
// and Submit returns Unavailable.
//
// Threading: all public methods are thread-safe. Streams are read by one consumer thread each. The shared
// state is GUARDED_BY(mu_) and the functions that need the lock say REQUIRES(mu_); clang checks both
// (tools/check_thread_safety.sh, a test of `make test`).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "fpga/device.h"
#include "server/engine/card_worker.h"
#include "server/engine/sampler.h"
#include "server/engine/step_planner.h"
#include "server/engine/stream.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

class EngineMetrics;  // server/engine/engine_metrics.h
struct Sequence;      // server/engine/sequence.h

// One sequence to generate (one OpenAI choice: a request with n = 3 is three of these).
struct SequenceRequest {
  std::string request_id;         // for logs; the HTTP layer's id (with "/<index>" for n > 1)
  std::vector<int32_t> prompt;    // token ids, BOS included; not empty
  SamplingParams sampling;        // sampling.seed is set (the HTTP layer draws one when absent)
  int max_tokens = 16;            // >= 1; prompt.size() + max_tokens <= a card's cache_len
  std::vector<std::string> stop;  // stop strings (<= 4); the text stops before them, never emitting them
  bool ignore_eos = false;        // keep generating past EOS (benchmarks: exact output lengths)
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct EngineOptions {
  int max_queue = 256;                            // waiting sequences; Submit beyond it returns ResourceExhausted
  int step_token_budget = 0;                      // entries per step (decode + prefill); 0 = each card's max_step
  std::chrono::milliseconds step_timeout{30000};  // a card step taking longer marks the card unhealthy
  // The time of the watchdog, the housekeeping period, step timing and queue deadlines (a request's deadline
  // is on this clock); nullptr = RealClock(). Must outlive the engine. Tests pass a FakeClock.
  Clock* clock = nullptr;
};

// What the energy sampler last said of a card (fpga/energy_sampler.h), for /health.
struct CardSensors {
  std::optional<double> watts;    // nullopt: unavailable
  std::optional<double> celsius;  // nullopt: unavailable
  std::string thermal = "ok";     // "ok", "hot" (past the warning limit), "too hot" (past the failure limit)
};

// A snapshot for /health and /metrics.
struct CardState {
  std::string name;
  bool healthy = true;
  int slots_total = 0;
  int slots_used = 0;
  CardSensors sensors;
};
struct EngineState {
  int waiting = 0;  // sequences queued, not yet on a card
  int running = 0;  // sequences holding a KV slot
  bool draining = false;
  std::vector<CardState> cards;
};

class Engine : private StepScheduler {
 public:
  // Takes the cards (all loaded with the same model; at least one) and starts one worker per card, plus
  // the housekeeping thread. `metrics` may be null; when set it must outlive the engine. Returns
  // InvalidArgument for no card, cards with different models, a tokenizer whose vocabulary differs from
  // the model's, or bad options (max_queue < 1, step_token_budget < 0, step_timeout <= 0). A card that
  // is not Healthy() at start is never used.
  static Result<std::unique_ptr<Engine>> Create(const EngineOptions& options,
                                                std::vector<std::unique_ptr<Device>> cards,
                                                std::shared_ptr<const Tokenizer> tokenizer, EngineMetrics* metrics);
  // Cancels everything still running or waiting (each gets its final kError event, kCancelled, before it returns),
  // stops the workers and joins them. A worker inside Device::Run cannot be interrupted: its sequences
  // are ended without it, and the destructor then waits for Run to return before destroying the device
  // (a device's own timeout bounds that; a device that never returns blocks the destructor, which is
  // why tests release their hung fake cards first). Every Stream stays valid for its consumer.
  ~Engine();

  // Queues a sequence. Returns its Stream, or: InvalidArgument (empty prompt, a prompt token outside the
  // vocabulary, max_tokens < 1, prompt + max_tokens over the context — the message names both numbers —,
  // sampling parameters that ValidateSamplingParams rejects), ResourceExhausted (queue full: max_queue
  // sequences waiting), Unavailable (draining, or no healthy card). Without sampling.seed, a random seed
  // is drawn. Sequences re-queued after a card failure do not count against max_queue.
  Result<std::shared_ptr<Stream>> Submit(SequenceRequest request);

  // Stops accepting (Submit returns Unavailable); running and queued sequences continue.
  void StartDrain();
  // True when draining and nothing is queued or running.
  bool Drained() const;

  EngineState State() const;

  // Takes the card named `name` (DeviceInfo::name) out of service as a failed step does (its sequences move
  // or end with kDeviceFailure "card <name> failed: <reason>"), at its worker's next step boundary: at
  // once when idle, after the step in flight otherwise (asked while the card runs that step, its results are
  // dropped; asked while its tokens are being sampled, they still reach their streams). The server calls
  // it when a card runs past its temperature limit. Returns NotFound for an unknown name; OK when the card
  // has already failed.
  Status FailCard(const std::string& name, const std::string& reason);
  // Records a card's sensor news for State(); unknown names are ignored.
  void ReportCardSensors(const std::string& name, const CardSensors& sensors);
  // The context every card offers (min cache_len over cards): prompt + max_tokens must fit in it.
  int context_length() const { return context_length_; }

 private:
  // The engine's part of one card: what admission, planning and failures read and change. Every field is
  // guarded by mu_: the vector holding them, cards_, is GUARDED_BY(mu_).
  struct CardSchedule {
    explicit CardSchedule(int budget) : planner(budget) {}
    bool healthy = true;
    bool abandoned = false;    // its sequences were taken while in Run: the worker exits when Run returns
    std::string fail_request;  // FailCard's reason: the worker fails its card at its next boundary
    CardSensors sensors;       // the last sensor news (ReportCardSensors)
    std::vector<std::shared_ptr<Sequence>> running;  // admission order
    std::vector<int> free_slots;                     // a stack; the lowest slot on top
    StepPlanner planner;                             // keeps the decode rotation from step to step
  };
  // One sequence's part of the step in flight.
  struct Planned {
    Sequence* seq;
    int entries;  // tokens of this sequence in the step
    int out_row;  // its logits row, or -1 (a prefill chunk that is not the prompt's last)
  };
  // An event to push once the lock is held again.
  struct Pending {
    std::shared_ptr<Stream> stream;
    StreamEvent event;
  };
  // The step a card's worker is running, and what it produced: touched only by that worker's thread (inside
  // NextStep and FinishStep), so it is not guarded; the sequences it points to follow sequence.h's rules.
  struct StepInFlight {
    std::vector<PlanInput> inputs;  // the running sequences, as the planner sees them
    std::vector<PlannedWork> work;  // the planner's answer
    std::vector<Planned> planned;
    std::vector<Pending> pending;
    std::vector<Sequence*> finished;  // sequences that ended in this step (their final event is in pending)
  };

  Engine(const EngineOptions& options, std::shared_ptr<const Tokenizer> tokenizer, EngineMetrics* metrics);

  // StepScheduler, called by card `card`'s worker thread.
  // At a step boundary, with the lock: fails the card if asked to (FailCard), ends everything when stopping,
  // reaps cancelled and timed-out sequences, admits queue heads, and plans the step (waiting on work_cv_
  // while the card has nothing to run); marks the worker in Run before letting the lock go.
  bool NextStep(size_t card, Step* step) override EXCLUDES(mu_);
  // With the lock: ends the run; a failed step (or one FailCard asked for) fails the card. Without it:
  // samples every planned sequence that got a logits row. With it again: frees the slots of the finished
  // sequences, then pushes the step's events (a final event is only visible once its slot is free).
  bool FinishStep(size_t card, const Status& status, float* logits) override EXCLUDES(mu_);

  // The watchdog and housekeeping thread: every kHousekeepingPeriod (or sooner, step_timeout / 4) it fails
  // cards whose step has run longer than step_timeout, ends queued sequences that were cancelled or timed
  // out, and updates the cards' busy-fraction gauges.
  void HousekeepingLoop() EXCLUDES(mu_);

  // Ends the card's sequences that were cancelled or whose deadline passed (step 1 of a boundary).
  void ReapLocked(size_t card, Clock::TimePoint now) REQUIRES(mu_);
  // Admits queue heads into the card's free slots, by the admission rule (step 2).
  void AdmitLocked(size_t card, Clock::TimePoint now) REQUIRES(mu_);
  // Plans the card's step into `step` and its StepInFlight (step 3). REQUIRES: the card runs something.
  void PlanStepLocked(size_t card, Step* step) REQUIRES(mu_);
  // Samples every planned sequence with a logits row, filling the card's StepInFlight pending and finished.
  // Runs without the lock on the card's worker thread (see sequence.h for why that is safe).
  void ProcessResults(size_t card, float* logits);
  // Frees `seq`'s slot and removes it from the card's running list.
  void ReleaseLocked(size_t card, Sequence* seq) REQUIRES(mu_);
  // Ends every sequence on the card with `status` (shutdown).
  void EndAllLocked(size_t card, const Status& status) REQUIRES(mu_);
  // Ends a sequence that is on no card's running list (queued, or just removed) with a kError event.
  void EndWithErrorLocked(Sequence& seq, Status status) REQUIRES(mu_);
  // Ends queued sequences that were cancelled or whose deadline passed.
  void SweepQueueLocked(Clock::TimePoint now) REQUIRES(mu_);
  // Takes the card out of service: marks it unhealthy; its sequences that have emitted no token go back to
  // the front of the queue (when another healthy card exists), the others end with kDeviceFailure and
  // `reason`. When the worker is inside Device::Run it is left there, to exit when Run returns.
  void FailCardLocked(size_t card, const std::string& reason) REQUIRES(mu_);
  // Ends all queued sequences with `status`.
  void FailQueueLocked(const Status& status) REQUIRES(mu_);
  bool AnyHealthyCardLocked() const REQUIRES(mu_);
  // Refreshes the running / waiting gauges.
  void UpdateGaugesLocked() REQUIRES(mu_);

  // Constant after construction.
  EngineOptions options_;
  Clock* clock_ = nullptr;  // options_.clock or RealClock()
  std::shared_ptr<const Tokenizer> tokenizer_;
  EngineMetrics* metrics_ = nullptr;  // may be null; outlives the engine
  int context_length_ = 0;
  int vocab_size_ = 0;
  // Constant after Create() (the vectors; card i's worker, schedule and step in flight are element i).
  std::vector<std::unique_ptr<CardWorker>> workers_;
  std::vector<std::unique_ptr<StepInFlight>> in_flight_;  // element i: card i's worker thread only
  std::thread housekeeping_;

  // Lock order: mu_, then a CardWorker's watch lock or a Stream's own lock (events are pushed with mu_ held
  // on some paths), then the RequestEvents a Stream forwards to (stream.h). Never call Device::Run, Sampler or the
  // detokenizer with mu_ held.
  mutable Mutex mu_;
  std::condition_variable work_cv_;                              // workers sleep here when idle; notified on any change
  std::condition_variable housekeeping_cv_;                      // wakes the housekeeping thread early at shutdown
  std::vector<CardSchedule> cards_ GUARDED_BY(mu_);              // element i: card i; the vector's size is constant
  std::deque<std::shared_ptr<Sequence>> queue_ GUARDED_BY(mu_);  // FIFO, re-queued sequences at the front
  bool draining_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;  // the destructor has begun
  bool housekeeping_stop_ GUARDED_BY(mu_) = false;
};

}  // namespace fpgaserve
