// CardWorker: one card, the thread that drives it, the step run and the watchdog's view of it. It knows
// nothing of sequences: each iteration of its loop asks its StepScheduler (the Engine) for the next step,
// runs it on the device, and hands the outcome back:
//
//   while (scheduler->NextStep(index, &step))        the engine, with its lock: reap, admit, plan; BeginRun
//     status = RunStep()                             without any lock: Device::Run, exceptions fenced
//     if (!scheduler->FinishStep(index, status, logits)) break;   the engine: EndRun; sample, emit, free
//
// A step that returns an error, throws, or leaves the card reporting !Healthy() is a failed step (RunStep
// turns all three into a Status); the engine then takes the card out of service and the loop ends. A card
// that the watchdog (the engine's housekeeping thread, reading RunningSince) finds inside Run for longer than
// step_timeout is taken out of service without waiting; the worker leaves its loop when Run returns.
//
// Threading: Start, Join, info and metrics are called by the engine; BeginRun / EndRun by the scheduler on
// the worker's own thread (inside NextStep / FinishStep); RunningSince and UpdateBusyFraction by any thread.
// The watchdog information is behind the worker's own mutex, a leaf: the engine takes it while holding its
// own lock (lock order: Engine::mu_, then CardWorker::watch_mu_).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "fpga/device.h"

namespace fpgaserve {

class CardMetrics;

// What a worker asks of the scheduler. Both calls run on the worker's thread and block as long as they need.
class StepScheduler {
 public:
  virtual ~StepScheduler() = default;
  // Waits until card `card` has a step to run and fills `step`. Returns false when the worker must exit
  // (the card failed, or the engine is stopping).
  virtual bool NextStep(size_t card, Step* step) = 0;
  // The step ended with `status`; when OK, `logits` holds its rows (the callee may overwrite them). Returns
  // false when the worker must exit.
  virtual bool FinishStep(size_t card, const Status& status, float* logits) = 0;
};

class CardWorker {
 public:
  using TimePoint = Clock::TimePoint;

  // Card number `index` of its engine. `metrics` may be null; when set it outlives the worker.
  CardWorker(size_t index, std::unique_ptr<Device> device, CardMetrics* metrics);
  // REQUIRES: Join() has returned, or Start() was never called.
  ~CardWorker();

  // Starts the thread. `scheduler` must outlive the thread (until Join returns).
  void Start(StepScheduler* scheduler);
  // REQUIRES: the scheduler's NextStep / FinishStep will return false (the engine is stopping or the card
  // failed). Blocks until the thread ends: until Device::Run returns, if the thread is inside it.
  void Join();

  const DeviceInfo& info() const { return info_; }
  CardMetrics* metrics() const { return metrics_; }  // may be null

  // The watchdog information. BeginRun: the step about to run starts at `now`. EndRun: it returned at `now`
  // (adds to the busy time and the step metrics; returns the seconds spent). Worker thread only.
  void BeginRun(TimePoint now) EXCLUDES(watch_mu_);
  double EndRun(TimePoint now) EXCLUDES(watch_mu_);
  // When the thread is inside a step (between BeginRun and EndRun): when that step began. nullopt otherwise.
  std::optional<TimePoint> RunningSince() const EXCLUDES(watch_mu_);
  // Samples the busy time and sets the busy-fraction gauge over the last 10 s. The housekeeping thread.
  void UpdateBusyFraction(TimePoint now) EXCLUDES(watch_mu_);

 private:
  void Loop();
  // Calls Device::Run, turning an exception or a card that reports itself unhealthy into a failure.
  Status RunStep();

  // Constant after construction.
  const size_t index_;
  const std::unique_ptr<Device> device_;
  const DeviceInfo info_;
  CardMetrics* const metrics_;
  StepScheduler* scheduler_ = nullptr;  // set by Start, before the thread exists
  std::thread thread_;

  // The worker thread only.
  Step step_;
  std::vector<float> logits_;  // max_step * vocab_size, reused every step

  mutable Mutex watch_mu_;
  bool in_run_ GUARDED_BY(watch_mu_) = false;
  TimePoint run_started_ GUARDED_BY(watch_mu_);
  double busy_seconds_ GUARDED_BY(watch_mu_) = 0;  // time inside completed Run calls
  // Busy-fraction window: (time, busy seconds) samples.
  std::deque<std::pair<TimePoint, double>> busy_samples_ GUARDED_BY(watch_mu_);
};

}  // namespace fpgaserve
