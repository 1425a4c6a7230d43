#include "server/engine/card_worker.h"

#include <algorithm>
#include <exception>
#include <string>

#include "server/engine/engine_metrics.h"

namespace fpgaserve {
namespace {

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

CardWorker::CardWorker(size_t index, std::unique_ptr<Device> device, CardMetrics* metrics)
    : index_(index), device_(std::move(device)), info_(device_->info()), metrics_(metrics) {
  logits_.resize(static_cast<size_t>(info_.max_step) * info_.model.vocab_size);
}

CardWorker::~CardWorker() { Join(); }

void CardWorker::Start(StepScheduler* scheduler) {
  scheduler_ = scheduler;
  thread_ = std::thread([this] { Loop(); });
}

void CardWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

void CardWorker::Loop() {
  while (scheduler_->NextStep(index_, &step_)) {
    const Status status = RunStep();
    if (!scheduler_->FinishStep(index_, status, logits_.data())) break;
  }
}

Status CardWorker::RunStep() {
  Status status;
  try {
    status = device_->Run(step_, logits_.data());
  } catch (const std::exception& e) {
    status = Status::DeviceFailure(std::string("the card threw: ") + e.what());
  } catch (...) {
    status = Status::DeviceFailure("the card threw an unknown exception");
  }
  if (status.ok() && !device_->Healthy()) status = Status::DeviceFailure("the card reports itself unhealthy");
  return status;
}

void CardWorker::BeginRun(TimePoint now) {
  MutexLock lock(&watch_mu_);
  in_run_ = true;
  run_started_ = now;
}

double CardWorker::EndRun(TimePoint now) {
  MutexLock lock(&watch_mu_);
  in_run_ = false;
  const double seconds = Seconds(now - run_started_);
  busy_seconds_ += seconds;
  if (metrics_ != nullptr) metrics_->ObserveStep(static_cast<int>(step_.entries.size()), seconds);
  return seconds;
}

std::optional<CardWorker::TimePoint> CardWorker::RunningSince() const {
  MutexLock lock(&watch_mu_);
  if (!in_run_) return std::nullopt;
  return run_started_;
}

void CardWorker::UpdateBusyFraction(TimePoint now) {
  constexpr auto kBusyWindow = std::chrono::seconds(10);
  MutexLock lock(&watch_mu_);
  const double busy = busy_seconds_ + (in_run_ ? Seconds(now - run_started_) : 0.0);
  busy_samples_.emplace_back(now, busy);
  while (busy_samples_.size() > 2 && busy_samples_[1].first <= now - kBusyWindow) busy_samples_.pop_front();
  const auto& [t0, busy0] = busy_samples_.front();
  const double wall = Seconds(now - t0);
  if (metrics_ != nullptr && wall > 0) metrics_->SetBusyFraction(std::clamp((busy - busy0) / wall, 0.0, 1.0));
}

}  // namespace fpgaserve
