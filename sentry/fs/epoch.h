// Epoch-based deferred freeing, so that path walks can read dirents
// without taking locks or references (the role RCU plays for Linux's
// dcache lookups).
//
// A reader brackets its lock-free reads with a ReadGuard. A writer that
// has made an object unreachable for new readers (removed it from every
// structure a reader could find it through, with seq_cst stores) hands it
// to Retire, which frees it at once if no reader is inside a guard, else
// once every reader that was inside one has left it (the global epoch has
// moved on twice since). Guards nest and are cheap: one atomic exchange on
// a per-thread record, and a store on the way out.
//
// Thread-safe. Freeing runs with no lock of this module held, so a
// deleter may release references (and so Retire more).
#ifndef SENTRY_FS_EPOCH_H_
#define SENTRY_FS_EPOCH_H_

#include <atomic>
#include <cstdint>

namespace sentry::fs::epoch {
namespace internal {
// This thread's guard depth, and its record's epoch word once it has a
// record (epoch.cc). Plain __thread (no TLS wrapper call), so that a
// nested guard costs an increment and a decrement inline.
extern __thread int t_guard_depth;
extern __thread std::atomic<uint64_t>* t_guard_epoch;
// Enters the outermost guard: publishes the epoch this reader reads in.
void Enter();
}  // namespace internal

class ReadGuard {
 public:
  ReadGuard() {
    if (internal::t_guard_depth++ == 0) internal::Enter();
  }
  ~ReadGuard() {
    if (--internal::t_guard_depth == 0) {
      internal::t_guard_epoch->store(0, std::memory_order_release);
    }
  }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
};

// Calls free_fn(p) once no reader can still be looking at p.
// Precondition: p is unreachable for readers that enter a guard from now.
void Retire(void* p, void (*free_fn)(void*));

// Waits until every reader now inside a guard has left it, then frees
// everything retired so far. For leak checks and shutdown; must not be
// called inside a guard.
void Synchronize();

}  // namespace sentry::fs::epoch

#endif  // SENTRY_FS_EPOCH_H_
