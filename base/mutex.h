// base::Mutex: absl::Mutex, made visible to ThreadSanitizer.
//
// The project links Debian's abseil, which is not built with -fsanitize=thread,
// so TSan cannot see absl::Mutex's happens-before edges and would report
// races on every guarded field. This wrapper keeps absl::Mutex (and its
// clang thread-safety annotations) and, only under TSan, tells the sanitizer
// about each acquire and release, and Await re-checks its condition in the
// waiting thread (see WaitSlice). In every other build it is absl::Mutex.
#ifndef BASE_MUTEX_H_
#define BASE_MUTEX_H_

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#if defined(__SANITIZE_THREAD__)
#define BASE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BASE_TSAN 1
#endif
#endif

#ifdef BASE_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace base {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    Acquired();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    Releasing();
    mu_.Unlock();
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() {
    mu_.ReaderLock();
    Acquired();
  }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() {
    Releasing();
    mu_.ReaderUnlock();
  }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (!mu_.TryLock()) return false;
    Acquired();
    return true;
  }
  // Blocks until cond is true; the lock is held on entry and on return.
  void Await(const absl::Condition& cond) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
#ifdef BASE_TSAN
    while (!cond.Eval()) WaitSlice(absl::InfiniteFuture());
#else
    mu_.Await(cond);
#endif
  }
  // As Await, giving up after `timeout`; returns cond's value.
  bool AwaitWithTimeout(const absl::Condition& cond, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
#ifdef BASE_TSAN
    const absl::Time deadline = absl::Now() + timeout;
    while (!cond.Eval()) {
      if (absl::Now() >= deadline) return false;
      WaitSlice(deadline);
    }
    return true;
#else
    return mu_.AwaitWithTimeout(cond, timeout);
#endif
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {
    mu_.AssertReaderHeld();
  }

 private:
#ifdef BASE_TSAN
  // abseil evaluates an Await condition in whichever thread unlocks, inside
  // code TSan cannot see, so under TSan the waiter re-checks the condition
  // itself, with the lock held, every few milliseconds.
  void WaitSlice(absl::Time deadline) {
    Releasing();
    cv_.WaitWithDeadline(
        &mu_, std::min(deadline, absl::Now() + absl::Milliseconds(2)));
    Acquired();
  }
  absl::CondVar cv_;
#endif
  void Acquired() {
#ifdef BASE_TSAN
    __tsan_acquire(this);
#endif
  }
  void Releasing() {
#ifdef BASE_TSAN
    __tsan_release(this);
#endif
  }
  absl::Mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }

 private:
  Mutex* const mu_;
};

}  // namespace base

#endif  // BASE_MUTEX_H_
