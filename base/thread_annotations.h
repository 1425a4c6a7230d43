// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html) under short
// names. Under clang with -Wthread-safety the compiler checks them: a GUARDED_BY field touched without its
// mutex, a REQUIRES function called without it, a lock taken twice or never released are compile errors in
// the thread-safety check of `make test` (tools/check_thread_safety.sh). Under g++ they expand to nothing.
//
// libstdc++'s std::mutex carries no annotations, so annotated code locks a base::Mutex (base/mutex.h).
#pragma once

#if defined(__clang__)
#define FPGASERVE_TSA(x) __attribute__((x))
#else
#define FPGASERVE_TSA(x)
#endif

// On a class: it is a lock ("mutex"). On a RAII class: it holds a lock for its lifetime.
#define CAPABILITY(x) FPGASERVE_TSA(capability(x))
#define SCOPED_CAPABILITY FPGASERVE_TSA(scoped_lockable)
// On a field: read or written only with `x` held. PT_: the pointed-to data is.
#define GUARDED_BY(x) FPGASERVE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) FPGASERVE_TSA(pt_guarded_by(x))
// Lock order: this lock is taken before (after) the others.
#define ACQUIRED_BEFORE(...) FPGASERVE_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) FPGASERVE_TSA(acquired_after(__VA_ARGS__))
// On a function: callers must hold (must not hold) the locks.
#define REQUIRES(...) FPGASERVE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) FPGASERVE_TSA(locks_excluded(__VA_ARGS__))
// On a function: it takes (releases) the locks, or takes them when it returns `ok`.
#define ACQUIRE(...) FPGASERVE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) FPGASERVE_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(ok, ...) FPGASERVE_TSA(try_acquire_capability(ok, __VA_ARGS__))
// On a function: the lock is held when it returns (a check the analysis takes on trust).
#define ASSERT_CAPABILITY(x) FPGASERVE_TSA(assert_capability(x))
// On a function: it returns the lock `x`.
#define RETURN_CAPABILITY(x) FPGASERVE_TSA(lock_returned(x))
// On a function: not checked. Every use says why in a comment.
#define NO_THREAD_SAFETY_ANALYSIS FPGASERVE_TSA(no_thread_safety_analysis)
