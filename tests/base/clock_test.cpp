// The clock seam: the real clock's waits end on the condition or the deadline; the fake clock's time moves only
// on Advance, and its waits and sleeps end when the fake time reaches them (never on the wall clock).
#include "base/clock.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

TEST(RealClock, WaitEndsOnTheConditionOrTheDeadline) {
  Clock* clock = RealClock();
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  const auto start = clock->Now();
  EXPECT_FALSE(clock->WaitFor(lock, cv, milliseconds(5), [] { return false; }));
  EXPECT_GE(clock->Now() - start, milliseconds(5));
  EXPECT_TRUE(clock->WaitFor(lock, cv, hours(1), [] { return true; }));
}

TEST(FakeClock, TimeMovesOnlyOnAdvance) {
  FakeClock clock;
  const auto t0 = clock.Now();
  std::this_thread::sleep_for(milliseconds(2));
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(hours(2));
  EXPECT_EQ(clock.Now() - t0, hours(2));
}

TEST(FakeClock, AWaitEndsWhenTheFakeTimeReachesItsDeadline) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    result = clock.WaitFor(lock, cv, hours(1), [] { return false; }) ? 1 : 0;
  });
  while (clock.Waiters() == 0) std::this_thread::yield();
  clock.Advance(milliseconds(59 * 60 * 1000));  // not yet
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(result, -1);
  clock.Advance(hours(1));
  waiter.join();
  EXPECT_EQ(result, 0);  // the deadline, not the condition
}

TEST(FakeClock, AWaitEndsOnItsConditionWithoutTimeMoving) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(clock.WaitFor(lock, cv, hours(1), [&] { return done; }));
  });
  while (clock.Waiters() == 0) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(FakeClock, SleepForReturnsOnceAdvancedPastIt) {
  FakeClock clock;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.SleepFor(milliseconds(100));
    woke = true;
  });
  while (clock.Waiters() == 0) std::this_thread::yield();
  clock.Advance(milliseconds(50));
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_FALSE(woke);
  clock.Advance(milliseconds(50));
  sleeper.join();
  EXPECT_TRUE(woke);
}

}  // namespace
}  // namespace fpgaserve
