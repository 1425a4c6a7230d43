// Mutex and MutexLock: std::mutex and std::unique_lock with clang's thread-safety annotations
// (base/thread_annotations.h), so fields marked GUARDED_BY(mu_) are checked by the compiler.
//
//   class Queue {
//     void Push(int v) EXCLUDES(mu_) { MutexLock lock(&mu_); items_.push_back(v); cv_.notify_one(); }
//     int Pop() EXCLUDES(mu_) {
//       MutexLock lock(&mu_);
//       lock.Wait(cv_, [&] { mu_.AssertHeld(); return !items_.empty(); });
//       ...
//     }
//     Mutex mu_;
//     std::condition_variable cv_;
//     std::deque<int> items_ GUARDED_BY(mu_);
//   };
//
// A condition variable's wait releases and retakes the lock inside the call; the analysis sees the lock held
// throughout, which is what the code after the wait relies on. A predicate lambda is analysed as a function of
// its own that holds nothing: it starts with mu_.AssertHeld() (it runs with the lock held, by the wait's
// contract). Timed waits go through a Clock (base/clock.h) with lock.native(), so tests can use a FakeClock.
#pragma once

#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace fpgaserve {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the lock is held here (in a wait predicate, or a callback run under the lock).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction (or Unlock), as std::unique_lock does.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : lock_(mu->mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Releases early (the destructor then does nothing) and takes the lock again.
  void Unlock() RELEASE() { lock_.unlock(); }
  void Lock() ACQUIRE() { lock_.lock(); }

  // Waits on `cv` until `done()` holds (see the top of the file for the predicate).
  template <typename Predicate>
  void Wait(std::condition_variable& cv, Predicate done) {
    cv.wait(lock_, done);
  }
  // The underlying lock, for Clock::WaitUntil and other timed waits.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace fpgaserve
