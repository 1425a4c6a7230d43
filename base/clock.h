// Clock: the time source of code that waits or measures durations (LevelDB's Env, for time), so tests can
// run timeouts, periods and deadlines on a FakeClock instead of the wall clock.
//
//   RealClock()  std::chrono::steady_clock and condition variables' own timed waits.
//   FakeClock    time that moves only when a test calls Advance; its waits end when the fake time reaches
//                their deadline or their condition holds.
//
// Time points are steady_clock's type, so code can hold deadlines in plain fields; a FakeClock starts at the
// real steady time of its construction (so deadlines made from the real clock before it stay meaningful).
//
// Threading: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace fpgaserve {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;

  // Waits on `cv` (REQUIRES: `lock` holds the mutex `cv` is used with) until `done()` is true or Now() reaches
  // `deadline`, re-checking `done()` with the lock held whenever woken. Returns done()'s last value: true when
  // the condition ended the wait, false on the deadline. Spurious wake-ups are absorbed.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                         const std::function<bool()>& done) = 0;

  // Returns after Now() has moved by at least `d`.
  virtual void SleepFor(Duration d) = 0;

  // WaitUntil(lock, cv, Now() + timeout, done).
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Duration timeout,
               const std::function<bool()>& done) {
    return WaitUntil(lock, cv, Now() + timeout, done);
  }
};

// std::chrono::steady_clock; a process-wide object, never destroyed (threads may read it during exit).
Clock* RealClock();

// A clock for tests. Advance moves time forward and wakes every WaitUntil / SleepFor whose deadline has come.
class FakeClock final : public Clock {
 public:
  FakeClock();
  TimePoint Now() override;
  // A fake wait re-checks its deadline and condition every kPollSlice of real time as well as on each
  // notification of `cv`: Advance cannot notify a caller's condition variable without its mutex, so the slice
  // bounds how late a wait notices an Advance (a test's wait, never production code's).
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, TimePoint deadline,
                 const std::function<bool()>& done) override;
  void SleepFor(Duration d) override;

  // Moves the time forward by `d` (>= 0).
  void Advance(Duration d);
  // The number of WaitUntil / SleepFor calls waiting now: lets a test advance once a thread is parked.
  int Waiters();

  static constexpr std::chrono::milliseconds kPollSlice{1};

 private:
  std::mutex mu_;
  std::condition_variable moved_;  // notified by Advance, for SleepFor
  TimePoint now_;                  // guarded by mu_
  int waiters_ = 0;                // guarded by mu_
};

}  // namespace fpgaserve
