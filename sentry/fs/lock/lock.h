// Advisory file locks of one inode, with Linux's semantics (fs/locks.c):
//
//  - PosixLocks: byte-range record locks of fcntl(2) F_SETLK / F_SETLKW /
//    F_GETLK (owned by a process) and of F_OFD_SETLK / F_OFD_SETLKW /
//    F_OFD_GETLK (owned by an open file description).
//  - FlockLocks: whole-file flock(2) locks, owned by an open file description.
//
// The syscall layer keeps one PosixLocks and one FlockLocks per inode, turns
// struct flock into a LockRange with ComputeRange, and calls UnlockAll /
// Unlock on close exactly where Linux calls locks_remove_posix /
// locks_remove_file.
//
// Thread-safety: PosixLocks and FlockLocks are thread-safe; all methods may be
// called concurrently. A blocking Lock sleeps holding no mutex. A process-wide
// waits-for graph of blocked POSIX waiters (Linux's blocked_hash) detects
// deadlocks across all PosixLocks instances. Lock order (internal): instance
// mutex -> waits-for graph mutex -> per-waiter mutex. An instance must outlive
// every call into it (no thread may be blocked in it when it is destroyed).
#ifndef SENTRY_FS_LOCK_LOCK_H_
#define SENTRY_FS_LOCK_LOCK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/errno.h"
#include "base/mutex.h"

namespace sentry::fs::lock {

// LockRange::end meaning "to end of file, however far it grows" (Linux's
// fl_end == OFFSET_MAX, struct flock's l_len == 0).
inline constexpr uint64_t kLockEOF = UINT64_MAX;

// F_RDLCK / F_WRLCK. (F_UNLCK is PosixLocks::Unlock.)
enum class LockType { kRead, kWrite };

// Who owns a lock. POSIX record locks: a per-process identity (Linux's
// files_struct). OFD locks and flock locks: the open file description.
using OwnerId = uintptr_t;

// What kind of owner a PosixLocks lock has. Only kProcess owners take part in
// deadlock detection (Linux's posix_locks_deadlock ignores OFD locks).
enum class OwnerKind { kProcess, kOpenFile };

// Bytes [start, end). end == kLockEOF means to end of file. Ranges returned by
// ComputeRange are canonical: end > start, and a range reaching the largest
// offset (INT64_MAX) has end == kLockEOF.
struct LockRange {
  uint64_t start;
  uint64_t end;
  friend bool operator==(const LockRange&, const LockRange&) = default;
};

// Turns struct flock's l_whence / l_start / l_len into a range, given the
// file's current offset (for SEEK_CUR) and size (for SEEK_END). A negative
// l_len locks the |l_len| bytes before the start; l_len == 0 locks to EOF.
// Errors: EINVAL for a bad whence or a range starting before offset 0;
// EOVERFLOW if the start or the last byte exceeds INT64_MAX.
// Linux: flock64_to_posix_lock (fs/locks.c).
base::ErrnoOr<LockRange> ComputeRange(int16_t whence, int64_t start,
                                      int64_t len, int64_t offset,
                                      int64_t size);

// The l_len that F_GETLK reports for a range: 0 for a range to EOF.
// Linux: posix_lock_to_flock.
int64_t FlockLen(LockRange range);

// A lock reported by F_GETLK. pid is what the holder passed to Lock (Linux
// reports -1 for OFD locks; callers pass -1 for them).
struct Conflict {
  LockType type;
  LockRange range;
  int32_t pid;
  friend bool operator==(const Conflict&, const Conflict&) = default;
};

// One held POSIX lock, as listed by PosixLocks::Locks (for /proc/locks and
// tests).
struct LockInfo {
  OwnerId owner;
  OwnerKind kind;
  LockType type;
  LockRange range;
  int32_t pid;
  friend bool operator==(const LockInfo&, const LockInfo&) = default;
};

// Wakes every thread blocked in PosixLocks::Lock or FlockLocks::Lock so that
// each re-reads its `interrupted` flag. Call it after setting a flag (e.g. on
// signal delivery); without it a blocked call still notices the flag within
// kInterruptPollIntervalMs. Thread-safe. Linux: signal_wake_up of a task in
// wait_event_interruptible.
void InterruptWaiters();

// How often a blocked Lock re-reads its `interrupted` flag on its own.
inline constexpr int kInterruptPollIntervalMs = 20;

namespace internal {
struct Waiter;
}  // namespace internal

// The POSIX record locks (process-owned and OFD) of one inode. Thread-safe.
class PosixLocks {
 public:
  PosixLocks() = default;
  PosixLocks(const PosixLocks&) = delete;
  PosixLocks& operator=(const PosixLocks&) = delete;

  // F_SETLK (block == false) / F_SETLKW (block == true), and the F_OFD_*
  // variants with kind == kOpenFile. Sets the owner's lock on `range` to
  // `type`: bytes of the range the owner already holds are converted, the
  // owner's other locks are split where the range cuts them, and same-type
  // locks of the owner that overlap or touch the range merge into one.
  // Errors:
  //  - EINVAL: empty range (start >= end).
  //  - EAGAIN: a lock of another owner conflicts (read/write, write/any) and
  //    !block. (Linux: posix_lock_inode's -EAGAIN.)
  //  - EDEADLK: block, kind == kProcess, and sleeping would close a cycle in
  //    the waits-for graph of blocked process owners, across all inodes.
  //    (Linux: posix_locks_deadlock.)
  //  - EINTR: block, a conflict remains and *interrupted became true.
  // With block, sleeps until no conflicting lock remains, then takes the lock.
  // Linux: fcntl_setlk -> posix_lock_inode / posix_lock_inode_wait.
  base::Errno Lock(OwnerId owner, int32_t pid, LockType type, LockRange range,
                   bool block, const std::atomic<bool>* interrupted = nullptr,
                   OwnerKind kind = OwnerKind::kProcess);

  // F_UNLCK: drops the owner's locks on `range`, splitting locks that extend
  // beyond it. Never fails (an empty range is a no-op). Linux:
  // posix_lock_inode with F_UNLCK.
  void Unlock(OwnerId owner, LockRange range);

  // F_GETLK: the first lock of another owner that conflicts with `type` over
  // `range`, in Linux's list order (owners in the order their current set of
  // locks began, each owner's locks by offset); nullopt if none (F_UNLCK).
  // Linux: posix_test_lock.
  std::optional<Conflict> Test(OwnerId owner, LockType type,
                               LockRange range) const;

  // F_OFD_GETLK with F_UNLCK: the owner's own first lock (by offset) that
  // overlaps `range`, of either type; nullopt if none. Linux (6.7 and
  // later): posix_test_locks_conflict's "F_UNLCK checks any locks on the
  // same fd".
  std::optional<Conflict> TestOwn(OwnerId owner, LockRange range) const;

  // Drops all of the owner's locks: close() of any fd of the inode by a
  // process, or last close of an OFD. Linux: locks_remove_posix.
  void UnlockAll(OwnerId owner);

  // Whether no lock is held.
  bool Empty() const;

  // All held locks in Linux's list order (see Test).
  std::vector<LockInfo> Locks() const;

  // Threads currently blocked in Lock (for tests and diagnostics).
  size_t NumWaiters() const;

 private:
  struct Segment {
    uint64_t end;
    LockType type;
    int32_t pid;
  };
  // One owner's locks: disjoint, sorted by start, and canonical (no two
  // same-type locks touch), as Linux keeps them.
  struct OwnerLocks {
    OwnerId owner;
    OwnerKind kind;
    std::map<uint64_t, Segment> segments;  // Keyed by start.
  };

  // One try of Lock. Returns the result, or nullopt if `w` must sleep and try
  // again (w is then queued). With w == nullptr, never sleeps.
  std::optional<base::Errno> Attempt(internal::Waiter* w, OwnerId owner,
                                     int32_t pid, LockType type,
                                     LockRange range, OwnerKind kind);
  // Sets the owner's bytes in range to type (nullopt: unlocked).
  void SetLocked(OwnerId owner, OwnerKind kind, int32_t pid,
                 std::optional<LockType> type, LockRange range)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes every queued waiter so that it re-checks for conflicts.
  void WakeWaitersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DequeueLocked(internal::Waiter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable base::Mutex mu_;
  // Linux's flc_posix list, grouped by owner; no OwnerLocks is empty.
  std::vector<OwnerLocks> owners_ ABSL_GUARDED_BY(mu_);
  std::vector<internal::Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

// The flock(2) locks of one inode. Owners are open file descriptions.
// Thread-safe.
class FlockLocks {
 public:
  FlockLocks() = default;
  FlockLocks(const FlockLocks&) = delete;
  FlockLocks& operator=(const FlockLocks&) = delete;

  // LOCK_SH (exclusive == false) / LOCK_EX, LOCK_NB == !block. Holding the
  // same mode already succeeds at once. Converting the owner's lock to the
  // other mode is not atomic, as in Linux: the old lock is dropped first (and
  // stays dropped if the call then fails), then the new one is acquired.
  // Errors: EWOULDBLOCK (== EAGAIN) if another owner's lock conflicts and
  // !block; EINTR if, while sleeping, *interrupted became true.
  // Linux: flock_lock_inode / locks_lock_inode_wait.
  base::Errno Lock(OwnerId owner, bool exclusive, bool block,
                   const std::atomic<bool>* interrupted = nullptr);

  // LOCK_UN, and the last close of the description (locks_remove_flock).
  // Never fails.
  void Unlock(OwnerId owner);

  // Whether no lock is held.
  bool Empty() const;

  // Threads currently blocked in Lock (for tests and diagnostics).
  size_t NumWaiters() const;

 private:
  struct Holder {
    OwnerId owner;
    bool exclusive;
  };

  // One try of Lock; see PosixLocks::Attempt.
  std::optional<base::Errno> Attempt(internal::Waiter* w, OwnerId owner,
                                     bool exclusive);
  void WakeWaitersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DequeueLocked(internal::Waiter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable base::Mutex mu_;
  std::vector<Holder> holders_ ABSL_GUARDED_BY(mu_);  // Linux's flc_flock.
  std::vector<internal::Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::fs::lock

#endif  // SENTRY_FS_LOCK_LOCK_H_
