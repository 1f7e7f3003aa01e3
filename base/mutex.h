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
#include <atomic>
#include <cstdint>

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

// Marks a function whose plain memory accesses ThreadSanitizer must not
// check: a sequence-lock reader's copy, which may race with a writer and
// is thrown away when it did (SeqMutex::ReadValid).
#ifdef BASE_TSAN
#define BASE_NO_SANITIZE_THREAD __attribute__((no_sanitize("thread")))
#else
#define BASE_NO_SANITIZE_THREAD
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

// A Mutex whose exclusive sections are counted, so that readers may copy
// what it guards without taking it (a sequence lock, as Linux's seqcount
// paired with a lock). Lock makes the count odd and Unlock even again, so
// every exclusive holder's writes fall inside an odd stretch without each
// write site saying so; shared holders leave the count alone. A lock-free
// reader takes ReadBegin(), gives up (or locks) if it is odd, copies, and
// keeps the copy only if ReadValid(begin). The copy itself races with
// writers, which C++ calls undefined and ThreadSanitizer reports: such
// readers must be built out of TSan's sight (see BASE_NO_SANITIZE_THREAD)
// or take the lock under TSan. The count costs a word beside the mutex.
class ABSL_LOCKABLE SeqMutex {
 public:
  SeqMutex() = default;
  SeqMutex(const SeqMutex&) = delete;
  SeqMutex& operator=(const SeqMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    BeginWrite();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    EndWrite();
    mu_.Unlock();
  }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (!mu_.TryLock()) return false;
    BeginWrite();
    return true;
  }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.ReaderLock(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.ReaderUnlock(); }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {
    mu_.AssertReaderHeld();
  }

  // The count before a lock-free read; odd while an exclusive holder may
  // be writing (the read would be wasted).
  uint32_t ReadBegin() const { return seq_.load(std::memory_order_acquire); }
  // Whether nothing was written since ReadBegin returned `begin` (even):
  // then everything read in between is one consistent state.
  bool ReadValid(uint32_t begin) const {
#ifdef BASE_TSAN
    // TSan does not model fences (GCC warns): a read-don't-modify-write
    // orders the copy before it as well, at the price of writing the line.
    return seq_.fetch_add(0, std::memory_order_acq_rel) == begin;
#else
    std::atomic_thread_fence(std::memory_order_acquire);
    return seq_.load(std::memory_order_relaxed) == begin;
#endif
  }

 private:
  // Boehm, "Can seqlocks get along with programming language memory
  // models?": the release fence orders the odd count before the section's
  // writes, the releasing store orders them before the even one. Only the
  // holder writes the count, so no read-modify-write is needed.
  void BeginWrite() {
#ifdef BASE_TSAN
    seq_.fetch_add(1, std::memory_order_acq_rel);
#else
    seq_.store(seq_.load(std::memory_order_relaxed) + 1,
               std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
#endif
  }
  void EndWrite() {
    seq_.store(seq_.load(std::memory_order_relaxed) + 1,
               std::memory_order_release);
  }
  Mutex mu_;
  mutable std::atomic<uint32_t> seq_{0};
};

class ABSL_SCOPED_LOCKABLE SeqMutexLock {
 public:
  explicit SeqMutexLock(SeqMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  SeqMutexLock(const SeqMutexLock&) = delete;
  SeqMutexLock& operator=(const SeqMutexLock&) = delete;
  ~SeqMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  SeqMutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE SeqReaderMutexLock {
 public:
  explicit SeqReaderMutexLock(SeqMutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->ReaderLock();
  }
  SeqReaderMutexLock(const SeqReaderMutexLock&) = delete;
  SeqReaderMutexLock& operator=(const SeqReaderMutexLock&) = delete;
  ~SeqReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }

 private:
  SeqMutex* const mu_;
};

}  // namespace base

#endif  // BASE_MUTEX_H_
