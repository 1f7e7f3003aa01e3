// base::SpinLock: a lock for critical sections of a few instructions that
// never block (a descriptor table's slot changes), where absl::Mutex's
// out-of-line lock and compare-and-swap unlock cost more than the work.
// Lock is one exchange; Unlock is one release store. A waiter spins
// briefly, then yields the CPU, so a preempted holder is not starved.
// Visible to ThreadSanitizer (std::atomic) and to clang's thread-safety
// analysis (ABSL_LOCKABLE).
#ifndef BASE_SPINLOCK_H_
#define BASE_SPINLOCK_H_

#include <sched.h>

#include <atomic>

#include "absl/base/thread_annotations.h"

namespace base {

class ABSL_LOCKABLE SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    while (locked_.exchange(true, std::memory_order_acquire)) WaitFree();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  void WaitFree() {
    for (int i = 0; locked_.load(std::memory_order_relaxed); ++i) {
      if (i < 100) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        sched_yield();
      }
    }
  }
  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* l) ABSL_EXCLUSIVE_LOCK_FUNCTION(l) : l_(l) {
    l_->Lock();
  }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { l_->Unlock(); }

 private:
  SpinLock* const l_;
};

}  // namespace base

#endif  // BASE_SPINLOCK_H_
