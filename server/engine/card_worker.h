// CardWorker: one card and the thread that drives it, step after step.
//
// Each iteration of the worker's loop, at a step boundary, with Engine::mu_ held:
//   1. ends its sequences that were cancelled or whose deadline passed (their slots become free);
//   2. admits queue heads into free slots (the admission rule is in engine.h);
//   3. builds the step: one decode entry per sequence in the decode phase, then prefill chunks of the
//      sequences still prefilling, in admission order, up to the token budget;
// then, without the lock: runs the step on the device, samples each sequence that got a logits row,
// detokenizes and matches stop strings; and with the lock again: frees the slots of finished sequences
// and pushes the step's events (so a final event is only visible once its slot is free).
//
// A card whose step fails, or which the watchdog (Engine::HousekeepingLoop) finds inside Run for longer
// than step_timeout, is taken out of service by Engine::FailCardLocked; the worker thread leaves its loop
// when Run returns and never touches those sequences again.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fpga/device.h"
#include "server/engine/engine.h"

namespace fpgaserve {

class CardMetrics;

class CardWorker {
 public:
  // `engine` outlives the worker. `metrics` may be null.
  CardWorker(Engine* engine, std::unique_ptr<Device> device, CardMetrics* metrics);

  void Start();
  // REQUIRES: the engine is stopping (or the card failed). Blocks until Device::Run returns, if the
  // thread is inside it.
  void Join();

  const DeviceInfo& info() const { return info_; }

 private:
  friend class Engine;
  using Clock = std::chrono::steady_clock;

  // One sequence's part of the step being run.
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

  void Loop();
  // Step 1 of the loop. REQUIRES: mu_ held.
  void ReapLocked(Clock::time_point now);
  // Step 2. REQUIRES: mu_ held.
  void AdmitLocked(Clock::time_point now);
  // Whether another healthy card has strictly more free slots. REQUIRES: mu_ held.
  bool OtherCardHasMoreRoomLocked() const;
  // Step 3. REQUIRES: mu_ held; running_ not empty.
  void BuildStepLocked();
  // Calls Device::Run, turning an exception or a card that reports itself unhealthy into a failure.
  Status RunStep();
  // Samples every planned sequence with a logits row, appending to pending_ and finished_.
  // Runs without the lock (see sequence.h for why that is safe).
  void ProcessResults();
  // Generates the events of one sampled token.
  void EmitToken(Sequence& seq, float* logits_row);
  // The held-back text and the final kFinished event.
  void Finish(Sequence& seq, FinishReason reason, std::string text);
  // Frees `seq`'s slot and removes it from running_. REQUIRES: mu_ held.
  void ReleaseLocked(Sequence* seq);
  // Ends every sequence on the card with `status` (shutdown). REQUIRES: mu_ held.
  void EndAllLocked(const Status& status);
  // Housekeeping: samples the busy time and sets the busy-fraction gauge over the last kBusyWindow.
  // REQUIRES: mu_ held.
  void UpdateBusyFractionLocked(Clock::time_point now);
  int free_slots_locked() const { return static_cast<int>(free_slots_.size()); }

  // Constant after construction.
  Engine* const engine_;
  std::unique_ptr<Device> device_;
  const DeviceInfo info_;
  const int budget_;            // entries per step
  CardMetrics* const metrics_;  // may be null
  std::thread thread_;

  // Guarded by engine_->mu_.
  bool healthy_ = true;
  bool in_run_ = false;          // the worker is inside Device::Run (only then may others take its sequences)
  Clock::time_point run_started_;
  bool abandoned_ = false;       // its sequences were taken while in Run: the worker exits when Run returns
  std::string fail_request_;     // Engine::FailCard's reason: the worker fails its card at its next boundary
  CardSensors sensors_;          // the last sensor news (Engine::ReportCardSensors)
  std::vector<std::shared_ptr<Sequence>> running_;  // admission order
  std::vector<int> free_slots_;  // a stack; the lowest slot on top
  double busy_seconds_ = 0;      // time inside completed Run calls
  // Busy-fraction window, written by the housekeeping thread: (time, busy seconds) samples.
  std::deque<std::pair<Clock::time_point, double>> busy_samples_;

  // Worker thread only.
  Step step_;
  std::vector<Planned> planned_;
  std::vector<Pending> pending_;
  std::vector<Sequence*> finished_;  // sequences that ended in this step (their final event is in pending_)
  std::vector<float> logits_;        // max_step * vocab_size, reused every step
  size_t decode_cursor_ = 0;         // rotation when more sequences decode than the budget holds
};

}  // namespace fpgaserve
