#include "server/engine/stream.h"

#include <utility>

namespace fpgaserve {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
  }
  return "stop";
}

bool Stream::Next(StreamEvent* event, std::chrono::milliseconds timeout) {
  MutexLock lock(&mu_);
  if (final_taken_) return false;
  if (!RealClock()->WaitFor(lock.native(), cv_, timeout, [&] {
        mu_.AssertHeld();
        return !events_.empty();
      })) {
    return false;
  }
  *event = std::move(events_.front());
  events_.pop_front();
  if (event->is_final()) final_taken_ = true;
  return true;
}

void Stream::AttachTo(std::shared_ptr<RequestEvents> events, int choice) {
  MutexLock lock(&mu_);
  // Under this stream's lock no Push can slip in between the events moved here and those forwarded later.
  for (StreamEvent& e : events_) events->Add(choice, std::move(e));
  events_.clear();
  attached_ = std::move(events);
  choice_ = choice;
}

void Stream::Push(StreamEvent event) {
  MutexLock lock(&mu_);
  if (attached_ != nullptr) return attached_->Add(choice_, std::move(event));
  events_.push_back(std::move(event));
  cv_.notify_all();
}

RequestEvents::RequestEvents(Clock* clock) : clock_(clock != nullptr ? clock : RealClock()) {}

bool RequestEvents::WaitUntil(Clock::TimePoint deadline, Event* out) {
  MutexLock lock(&mu_);
  const auto ready = [&] {
    mu_.AssertHeld();
    return !queue_.empty();
  };
  if (!clock_->WaitUntil(lock.native(), cv_, deadline, ready)) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool RequestEvents::TryPop(Event* out) {
  MutexLock lock(&mu_);
  if (queue_.empty()) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

void RequestEvents::SetNotify(std::function<void()> notify) {
  {
    // A call in progress holds mu_: taking it waits that call out, and every later Add sees the new function.
    MutexLock lock(&mu_);
    notify_.swap(notify);
  }
  // `notify` now holds the previous function: destroyed here, outside the lock (it may own anything).
}

bool RequestEvents::ended(int choice) {
  MutexLock lock(&mu_);
  return static_cast<size_t>(choice) < ended_.size() && ended_[static_cast<size_t>(choice)];
}

void RequestEvents::Add(int choice, StreamEvent event) {
  {
    MutexLock lock(&mu_);
    if (event.is_final()) {
      const auto k = static_cast<size_t>(choice);
      if (ended_.size() <= k) ended_.resize(k + 1, false);
      ended_[k] = true;
    }
    queue_.push_back({choice, std::move(event)});
    if (notify_) notify_();
  }
  cv_.notify_all();
}

}  // namespace fpgaserve
