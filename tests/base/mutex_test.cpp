#include "base/mutex.h"

#include <chrono>
#include <condition_variable>
#include <thread>

#include <gtest/gtest.h>

#include "base/clock.h"

namespace fpgaserve {
namespace {

// A counter guarded as the engine's state is: the analysis (clang) checks the annotations; this test checks
// that the wrappers lock, wait and release as std::unique_lock does.
class Counter {
 public:
  void Add() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ++value_;
    cv_.notify_all();
  }
  void WaitFor(int n) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    lock.Wait(cv_, [&] {
      mu_.AssertHeld();
      return value_ >= n;
    });
  }
  bool WaitOn(Clock* clock, int n, std::chrono::milliseconds timeout) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return clock->WaitFor(lock.native(), cv_, timeout, [&] {
      mu_.AssertHeld();
      return value_ >= n;
    });
  }
  int value() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return value_;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  int value_ GUARDED_BY(mu_) = 0;
};

TEST(Mutex, AWaitEndsWhenAnotherThreadMakesItsConditionTrue) {
  Counter counter;
  std::thread adder([&] {
    for (int i = 0; i < 100; ++i) counter.Add();
  });
  counter.WaitFor(100);
  adder.join();
  EXPECT_EQ(counter.value(), 100);
}

TEST(Mutex, ATimedWaitThroughAFakeClockEndsAtItsDeadline) {
  FakeClock clock;
  Counter counter;
  std::thread advancer([&] {
    while (clock.Waiters() == 0) std::this_thread::yield();
    clock.Advance(std::chrono::milliseconds(50));
  });
  EXPECT_FALSE(counter.WaitOn(&clock, 1, std::chrono::milliseconds(50)));
  advancer.join();
  counter.Add();
  EXPECT_TRUE(counter.WaitOn(&clock, 1, std::chrono::milliseconds(50)));
}

TEST(Mutex, UnlockAndLockAgainInsideOneScope) {
  Mutex mu;
  MutexLock lock(&mu);
  lock.Unlock();
  {
    MutexLock other(&mu);  // would deadlock if Unlock had not released
  }
  lock.Lock();
}

}  // namespace
}  // namespace fpgaserve
