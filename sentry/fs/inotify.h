// inotify(7): watches on inodes and the inotify file that reads events.
//
// Watches hang off the Inode (Inode::watches()), so they follow the file
// across renames and, with overlay, across copy-up. The VFS reports events
// with NotifyEvent at the points Linux's fsnotify hooks fire; an
// InotifyInstance (the FileOperations of an inotify FD) queues them.
//
// Structure (Linux's names in brackets):
//   InotifyInstance  the FileOperations of one inotify FD; a thin handle on
//   InotifyGroup     [fsnotify_group] the instance's state: its watch table
//                    (wd -> pinned inode) and its event queue. Reference
//                    counted: the instance holds one reference and every
//                    watch holds one, so a Notify that races the last close
//                    never touches freed memory.
//   Watches          [fsnotify_mark_connector] the watches on one inode,
//                    created lazily by Inode::watches().
//   Watches::Watch   [inotify_inode_mark] one (group, wd, mask).
//
// Ownership: a watch pins its inode (InotifyGroup::watched_ holds a
// RefPtr<Inode> per wd, as Linux's marks hold an inode reference), and the
// inode's Watches holds a reference to the group. The cycle is broken by
// removing the watch: inotify_rm_watch, IN_ONESHOT firing, HandleDeletion,
// or the last close of the inotify FD (Release). So ~Watches normally finds
// no watches; if it does (an inode destroyed despite the pins), it detaches
// them without touching the dying inode and queues IN_IGNORED.
//
// Thread-safe. Lock order, the same on every path:
//   InotifyGroup::mu_  ->  Watches::mu_  ->  InotifyGroup::ev_mu_
// AddWatch, RemoveWatch and Release take the group's watch table (mu_),
// then the inode's Watches::mu_, then (briefly, to queue IN_IGNORED) the
// group's event queue (ev_mu_). Notify and HandleDeletion take only
// Watches::mu_ and then each watching group's ev_mu_; they never take an
// InotifyGroup::mu_ while holding Watches::mu_ (an expired IN_ONESHOT watch
// is dropped from its group's table after Watches::mu_ is released).
// Read and FIONREAD take only ev_mu_, which is a leaf. No two locks of the
// same kind are ever held together. All of these come after any VFS lock
// (Dirent::mu_, File::pos_mu_, ...): nothing here calls into the VFS or a
// filesystem with one held (pins are dropped after unlocking), so the VFS
// may call NotifyEvent with its own locks held.
#ifndef SENTRY_FS_INOTIFY_H_
#define SENTRY_FS_INOTIFY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/fs/file.h"
#include "sentry/fs/inode.h"

namespace sentry::fs {

class InotifyGroup;
class InotifyInstance;

// The watches on one inode.
class Watches {
 public:
  Watches() = default;
  Watches(const Watches&) = delete;
  Watches& operator=(const Watches&) = delete;
  ~Watches();

  // Queues (mask, name, cookie) on every watch that wants any event bit of
  // mask. name is empty for events about the watched inode itself. IN_ISDIR
  // is dropped from IN_DELETE_SELF and IN_MOVE_SELF, as Linux's inotify
  // does. An IN_ONESHOT watch fires once, is followed by IN_IGNORED, and is
  // removed. Cheap (no lock) when there are no watches. The caller holds a
  // reference to the inode across the call.
  void Notify(uint32_t mask, std::string_view name, uint32_t cookie)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The inode is gone: IN_DELETE_SELF (to watches that asked for it), then
  // IN_IGNORED, on every watch, which are then removed (dropping their pins
  // on the inode: the caller must hold its own reference across the call).
  void HandleDeletion() ABSL_LOCKS_EXCLUDED(mu_);
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  size_t size() const { return count_.load(std::memory_order_acquire); }

 private:
  friend class InotifyGroup;
  struct Watch {
    RefPtr<InotifyGroup> owner;
    int wd;
    uint32_t mask;  // IN_ALL_EVENTS bits, IN_ONESHOT, IN_EXCL_UNLINK
  };
  // The watch of owner, or null.
  Watch* FindLocked(const InotifyGroup* owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes owner's watch numbered wd; returns whether there was one. The
  // removed watch (and its group reference) goes to *out, to be dropped
  // after mu_ is released.
  bool RemoveLocked(const InotifyGroup* owner, int wd, std::vector<Watch>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable base::Mutex mu_;
  std::vector<Watch> watches_ ABSL_GUARDED_BY(mu_);
  // watches_.size(), readable without mu_ for the no-watch fast path.
  std::atomic<size_t> count_{0};
};

// Reports an event about `child`, named `name` in directory `parent`
// (either may be null). The child's own watches see the bits Linux reports
// on the object itself (IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_OPEN,
// IN_CLOSE_*, IN_DELETE_SELF, IN_MOVE_SELF) without a name; the parent's
// watches see the bits Linux reports on a directory's children (IN_CREATE,
// IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO, IN_ACCESS, IN_MODIFY, IN_ATTRIB,
// IN_OPEN, IN_CLOSE_*) with the name, the parent first. IN_ISDIR is added
// when child is a directory. parent == child (a root) reports only to the
// child. Costs two atomic loads when neither inode was ever watched.
void NotifyEvent(Inode* parent, Inode* child, uint32_t mask,
                 std::string_view name, uint32_t cookie = 0);
// A fresh non-zero cookie tying IN_MOVED_FROM to IN_MOVED_TO.
uint32_t NewInotifyCookie();

// The state of one inotify instance (see the file comment). Internal: use
// InotifyInstance, which forwards to it.
class InotifyGroup : public base::RefCounted<InotifyGroup> {
 public:
  static constexpr size_t kMaxQueuedEvents = 16384;  // fs.inotify default

  InotifyGroup() = default;
  ~InotifyGroup();

  ErrnoOr<int> AddWatch(RefPtr<Inode> inode, uint32_t mask)
      ABSL_LOCKS_EXCLUDED(mu_, ev_mu_);
  Errno RemoveWatch(int wd) ABSL_LOCKS_EXCLUDED(mu_, ev_mu_);
  ErrnoOr<size_t> Read(const Context& ctx, const IOSequence& dst,
                       bool nonblocking) ABSL_LOCKS_EXCLUDED(ev_mu_);
  size_t PendingBytes() const ABSL_LOCKS_EXCLUDED(ev_mu_);
  // Removes every watch (dropping the pins) and the queued events; later
  // events are dropped and AddWatch fails with EBADF. Idempotent.
  void Release() ABSL_LOCKS_EXCLUDED(mu_, ev_mu_);

  void OnLastRef() const { delete this; }

 private:
  friend class Watches;
  struct Event {
    int wd;
    uint32_t mask;
    uint32_t cookie;
    std::string name;
  };

  // Queues an event (coalescing it with an identical last one; or
  // IN_Q_OVERFLOW once when full), then IN_IGNORED if `then_ignored`.
  // Called by Watches with Watches::mu_ held.
  void Queue(int wd, uint32_t mask, uint32_t cookie, std::string_view name,
             bool then_ignored) ABSL_LOCKS_EXCLUDED(ev_mu_);
  void QueueLocked(int wd, uint32_t mask, uint32_t cookie,
                   std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev_mu_);
  // The watch wd was removed from its inode's Watches (IN_ONESHOT fired,
  // HandleDeletion): forget it and drop its pin. Called without any
  // Watches::mu_ held.
  void DropWatch(int wd) ABSL_LOCKS_EXCLUDED(mu_);
  // ~Watches found watch wd still attached: forget it without touching the
  // (dying) inode.
  void DetachDying(int wd) ABSL_LOCKS_EXCLUDED(mu_, ev_mu_);
  // Keeps readable_ equal to "events queued, or closed"; call after every
  // change to events_ or closed_.
  void UpdateReadableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ev_mu_) {
    readable_.store(!events_.empty() || closed_, std::memory_order_release);
  }
  // The blocked reader's wait condition. absl::Mutex evaluates it at points
  // base::Mutex cannot annotate for TSan, so it reads only an atomic.
  bool Readable() const { return readable_.load(std::memory_order_acquire); }

  // The watch table.
  mutable base::Mutex mu_ ABSL_ACQUIRED_BEFORE(ev_mu_);
  int next_wd_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<int, RefPtr<Inode>> watched_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;

  // The event queue (a leaf lock).
  mutable base::Mutex ev_mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(ev_mu_);
  size_t pending_bytes_ ABSL_GUARDED_BY(ev_mu_) = 0;
  bool overflow_queued_ ABSL_GUARDED_BY(ev_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(ev_mu_) = false;
  std::atomic<bool> readable_{false};  // written under ev_mu_
  // Built once: absl evaluates a waiter's condition from the unlocking
  // thread, so a condition rebuilt on the reader's stack for each wait
  // would look to TSan like a race on that stack slot.
  const absl::Condition readable_cond_{this, &InotifyGroup::Readable};
};

// The object behind an inotify FD.
class InotifyInstance : public FileOperations {
 public:
  static constexpr size_t kMaxQueuedEvents = InotifyGroup::kMaxQueuedEvents;
  // nonblocking (IN_NONBLOCK) makes every read non-blocking; reads are also
  // non-blocking while the File has O_NONBLOCK (F_SETFL), so the kernel may
  // equally pass false and open the File with O_NONBLOCK.
  explicit InotifyInstance(bool nonblocking);
  ~InotifyInstance() override;  // Release()s if the File did not

  // inotify_add_watch: a new or existing watch descriptor for inode (the
  // caller resolved the path, honouring IN_DONT_FOLLOW). Errors in Linux's
  // order: EINVAL for IN_MASK_ADD with IN_MASK_CREATE, EINVAL for a mask
  // with no IN_ALL_EVENTS bit, ENOTDIR with IN_ONLYDIR on a non-directory,
  // EEXIST with IN_MASK_CREATE on an inode this instance already watches.
  // An existing watch's mask is replaced, or ORed into with IN_MASK_ADD.
  ErrnoOr<int> AddWatch(RefPtr<Inode> inode, uint32_t mask);
  // inotify_rm_watch: EINVAL for an unknown (or already removed) wd.
  // Queues IN_IGNORED and drops the pin on the inode.
  Errno RemoveWatch(int wd);

  // Reads as many whole events as fit; EINVAL if the buffer cannot hold
  // the first one; EAGAIN when empty and non-blocking; otherwise waits for
  // an event, failing with EINTR when ctx is interrupted. Each record is a
  // linux_abi::InotifyEvent followed by the name NUL-padded to a multiple
  // of 16 bytes (len counts the padding).
  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t offset) override;
  bool Seekable() const override { return false; }
  // FIONREAD: writes the queued bytes as an int to *(int*)arg. Else ENOTTY.
  ErrnoOr<int64_t> Ioctl(const Context& ctx, File& f, uint64_t cmd,
                         uintptr_t arg) override;
  // The last close: removes every watch and drops their pins.
  void Release() override;

  // Bytes a read would return in total (what FIONREAD reports).
  size_t PendingBytes() const;

 private:
  const bool nonblocking_;
  const RefPtr<InotifyGroup> group_;
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_INOTIFY_H_
