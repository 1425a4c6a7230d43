#include "base/clock.h"

#include <thread>

namespace fpgaserve {
namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                 const std::function<bool()>& done) override {
    return cv.wait_until(lock, deadline, done);
  }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Clock* RealClock() {
  static SteadyClock* clock = new SteadyClock();  // never destroyed: threads may read it during exit
  return clock;
}

FakeClock::FakeClock() : now_(std::chrono::steady_clock::now()) {}

Clock::TimePoint FakeClock::Now() {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

bool FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                          const std::function<bool()>& done) {
  {
    std::lock_guard<std::mutex> l(mu_);
    waiters_++;
  }
  bool result = done();
  while (!result && Now() < deadline) {
    cv.wait_for(lock, kPollSlice);
    result = done();
  }
  std::lock_guard<std::mutex> l(mu_);
  waiters_--;
  return result;
}

void FakeClock::SleepFor(Duration d) {
  std::unique_lock<std::mutex> l(mu_);
  const TimePoint until = now_ + d;
  waiters_++;
  moved_.wait(l, [&] { return now_ >= until; });
  waiters_--;
}

void FakeClock::Advance(Duration d) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (d > Duration::zero()) now_ += d;
  }
  moved_.notify_all();
}

int FakeClock::Waiters() {
  std::lock_guard<std::mutex> l(mu_);
  return waiters_;
}

}  // namespace fpgaserve
