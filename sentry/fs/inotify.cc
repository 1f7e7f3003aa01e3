// inotify(7); see inotify.h for the structure and the lock order.
//
// The behaviour follows Linux's fs/notify/inotify: the mask stored on a
// watch (inotify_arg_to_mask), event delivery (fsnotify: a watch sees an
// event when it shares an event bit with the watch's mask; the record
// carries the event's whole mask), coalescing with the last queued event
// (inotify_merge), the overflow event (fsnotify_insert_event), IN_ONESHOT
// (the mark is destroyed right after queueing) and the read format
// (copy_event_to_user, round_event_name_len).
#include "sentry/fs/inotify.h"

#include <sys/inotify.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <utility>

#include "abi/linux/linux.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sentry::fs {

namespace {

// What inotify_add_watch keeps of its mask argument.
constexpr uint32_t kStoredMaskBits =
    IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;
// What a read reports of an event's mask (inotify_mask_to_arg).
constexpr uint32_t kReportedMaskBits =
    IN_ALL_EVENTS | IN_ISDIR | IN_UNMOUNT | IN_IGNORED | IN_Q_OVERFLOW;
// Events reported on the watched object itself.
constexpr uint32_t kSelfEvents = IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_OPEN |
                                 IN_CLOSE_WRITE | IN_CLOSE_NOWRITE |
                                 IN_DELETE_SELF | IN_MOVE_SELF;
// Events reported on a directory about its children
// (FS_EVENTS_POSS_ON_CHILD plus the directory-entry events).
constexpr uint32_t kChildEvents =
    IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_OPEN | IN_CLOSE_WRITE |
    IN_CLOSE_NOWRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
// Delivered whatever the watch's mask (Linux always sets them on a mark).
constexpr uint32_t kAlwaysDelivered = IN_UNMOUNT;

// How often a blocked read looks at ctx.interrupted().
constexpr absl::Duration kInterruptPoll = absl::Milliseconds(10);

constexpr size_t kHeaderSize = sizeof(linux_abi::InotifyEvent);
static_assert(kHeaderSize == 16, "struct inotify_event is 16 bytes");

// The name field's length in a record: the name, its NUL, and padding to
// a multiple of the header size; 0 without a name.
size_t PaddedNameLen(size_t name_len) {
  if (name_len == 0) return 0;
  return (name_len + 1 + kHeaderSize - 1) / kHeaderSize * kHeaderSize;
}

size_t RecordSize(size_t name_len) {
  return kHeaderSize + PaddedNameLen(name_len);
}

std::atomic<uint32_t> g_cookie{0};

}  // namespace

// ---------------------------------------------------------------- Watches

Watches::~Watches() {
  // Every watch pins its inode, so an inode being destroyed should have
  // none left. If it has (its lifetime was not managed by references),
  // detach them without touching the inode, which is being destroyed.
  std::vector<Watch> left;
  {
    base::MutexLock l(&mu_);
    left.swap(watches_);
    count_.store(0, std::memory_order_release);
  }
  for (Watch& w : left) w.owner->DetachDying(w.wd);
}

Watches::Watch* Watches::FindLocked(const InotifyGroup* owner) {
  for (Watch& w : watches_) {
    if (w.owner.get() == owner) return &w;
  }
  return nullptr;
}

bool Watches::RemoveLocked(const InotifyGroup* owner, int wd,
                           std::vector<Watch>* out) {
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (it->owner.get() == owner && it->wd == wd) {
      out->push_back(std::move(*it));
      watches_.erase(it);
      count_.store(watches_.size(), std::memory_order_release);
      return true;
    }
  }
  return false;
}

void Watches::Notify(uint32_t mask, std::string_view name, uint32_t cookie) {
  if (empty()) return;
  // inotify never reported IN_ISDIR with the self-removal events.
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) mask &= ~IN_ISDIR;
  std::vector<Watch> expired;
  {
    base::MutexLock l(&mu_);
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (!(mask & it->mask & IN_ALL_EVENTS) && !(mask & kAlwaysDelivered)) {
        ++it;
        continue;
      }
      const bool oneshot = it->mask & IN_ONESHOT;
      it->owner->Queue(it->wd, mask, cookie, name, /*then_ignored=*/oneshot);
      if (oneshot) {
        // Removed now, under mu_, so it can fire only once; its group
        // forgets it below, once mu_ is released (lock order).
        expired.push_back(std::move(*it));
        it = watches_.erase(it);
      } else {
        ++it;
      }
    }
    count_.store(watches_.size(), std::memory_order_release);
  }
  // Dropping a pin may free the inode and this Watches: touch no member.
  for (Watch& w : expired) w.owner->DropWatch(w.wd);
}

void Watches::HandleDeletion() {
  if (empty()) return;
  std::vector<Watch> gone;
  {
    base::MutexLock l(&mu_);
    for (Watch& w : watches_) {
      if (w.mask & IN_DELETE_SELF) {
        w.owner->Queue(w.wd, IN_DELETE_SELF, 0, "", /*then_ignored=*/true);
      } else {
        w.owner->Queue(w.wd, IN_IGNORED, 0, "", /*then_ignored=*/false);
      }
    }
    gone.swap(watches_);
    count_.store(0, std::memory_order_release);
  }
  // As in Notify: this Watches may be freed by the last DropWatch.
  for (Watch& w : gone) w.owner->DropWatch(w.wd);
}

// ------------------------------------------------------------ NotifyEvent

void NotifyEvent(Inode* parent, Inode* child, uint32_t mask,
                 std::string_view name, uint32_t cookie) {
  Watches* pw =
      parent != nullptr && parent != child ? parent->watches_if_any() : nullptr;
  Watches* cw = child != nullptr ? child->watches_if_any() : nullptr;
  if (pw == nullptr && cw == nullptr) return;  // the common case
  const uint32_t isdir =
      (mask & IN_ISDIR) | (child != nullptr && child->IsDir() ? IN_ISDIR : 0);
  // The parent first, as fsnotify reports to the directory's mark before
  // the child's.
  if (pw != nullptr && (mask & kChildEvents)) {
    pw->Notify((mask & kChildEvents) | isdir, name, cookie);
  }
  if (cw != nullptr && (mask & kSelfEvents)) {
    cw->Notify((mask & kSelfEvents) | isdir, "", cookie);
  }
}

uint32_t NewInotifyCookie() {
  uint32_t c;
  do {
    c = g_cookie.fetch_add(1, std::memory_order_relaxed) + 1;
  } while (c == 0);
  return c;
}

// ----------------------------------------------------------- InotifyGroup

InotifyGroup::~InotifyGroup() = default;

ErrnoOr<int> InotifyGroup::AddWatch(RefPtr<Inode> inode, uint32_t mask) {
  if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)) return Errno(EINVAL);
  if (!(mask & IN_ALL_EVENTS)) return Errno(EINVAL);
  if (inode == nullptr) return Errno(EINVAL);
  if ((mask & IN_ONLYDIR) && !inode->IsDir()) return Errno(ENOTDIR);
  const uint32_t stored = mask & kStoredMaskBits;

  base::MutexLock l(&mu_);
  if (released_) return Errno(EBADF);
  Watches& ws = inode->watches();
  base::MutexLock wl(&ws.mu_);
  if (Watches::Watch* w = ws.FindLocked(this)) {
    if (mask & IN_MASK_CREATE) return Errno(EEXIST);
    w->mask = (mask & IN_MASK_ADD) ? (w->mask | stored) : stored;
    return w->wd;
  }
  if (next_wd_ == INT32_MAX) return Errno(ENOSPC);
  const int wd = next_wd_++;
  ws.watches_.push_back(Watches::Watch{RefPtr<InotifyGroup>(this), wd, stored});
  ws.count_.store(ws.watches_.size(), std::memory_order_release);
  watched_.emplace(wd, std::move(inode));
  return wd;
}

Errno InotifyGroup::RemoveWatch(int wd) {
  RefPtr<Inode> pin;
  std::vector<Watches::Watch> removed;
  {
    base::MutexLock l(&mu_);
    auto it = watched_.find(wd);
    if (it == watched_.end()) return Errno(EINVAL);
    pin = std::move(it->second);
    watched_.erase(it);
    Watches& ws = pin->watches();
    base::MutexLock wl(&ws.mu_);
    if (!ws.RemoveLocked(this, wd, &removed)) {
      // An IN_ONESHOT watch that just fired (its IN_IGNORED is queued);
      // DropWatch would have forgotten it a moment later.
      return Errno(EINVAL);
    }
    // Under ws.mu_: no event for wd can be queued after its IN_IGNORED.
    Queue(wd, IN_IGNORED, 0, "", /*then_ignored=*/false);
  }
  // `removed` (a reference to this group) and the pin go here, unlocked.
  return Errno();
}

void InotifyGroup::Release() {
  absl::flat_hash_map<int, RefPtr<Inode>> watched;
  std::vector<Watches::Watch> removed;
  {
    base::MutexLock l(&mu_);
    released_ = true;
    watched.swap(watched_);
    for (auto& [wd, inode] : watched) {
      Watches& ws = inode->watches();
      base::MutexLock wl(&ws.mu_);
      (void)ws.RemoveLocked(this, wd, &removed);
    }
    base::MutexLock el(&ev_mu_);
    closed_ = true;
    events_.clear();
    pending_bytes_ = 0;
    overflow_queued_ = false;
    UpdateReadableLocked();
  }
  // The watches' references to this group and the pins go unlocked.
}

void InotifyGroup::DropWatch(int wd) {
  RefPtr<Inode> pin;
  {
    base::MutexLock l(&mu_);
    auto it = watched_.find(wd);
    if (it == watched_.end()) return;  // RemoveWatch or Release got it
    pin = std::move(it->second);
    watched_.erase(it);
  }
}

void InotifyGroup::DetachDying(int wd) {
  {
    base::MutexLock l(&mu_);
    auto it = watched_.find(wd);
    if (it != watched_.end()) {
      // The inode is mid-destruction: give the reference up unreleased.
      (void)it->second.release();
      watched_.erase(it);
    }
  }
  Queue(wd, IN_IGNORED, 0, "", /*then_ignored=*/false);
}

void InotifyGroup::Queue(int wd, uint32_t mask, uint32_t cookie,
                         std::string_view name, bool then_ignored) {
  base::MutexLock l(&ev_mu_);
  QueueLocked(wd, mask, cookie, name);
  if (then_ignored) QueueLocked(wd, IN_IGNORED, 0, "");
}

void InotifyGroup::QueueLocked(int wd, uint32_t mask, uint32_t cookie,
                               std::string_view name) {
  if (closed_) return;
  if (events_.size() >= kMaxQueuedEvents) {
    // Full: one IN_Q_OVERFLOW (which itself may exceed the limit by one),
    // then drop until the reader makes room and has read the overflow.
    if (overflow_queued_) return;
    overflow_queued_ = true;
    events_.push_back(Event{-1, IN_Q_OVERFLOW, 0, {}});
    pending_bytes_ += RecordSize(0);
    UpdateReadableLocked();
    return;
  }
  if (!events_.empty()) {
    const Event& last = events_.back();
    if (!(last.mask & IN_IGNORED) && last.wd == wd && last.mask == mask &&
        last.cookie == cookie && last.name == name) {
      return;  // coalesced with an identical unread event
    }
  }
  events_.push_back(Event{wd, mask, cookie, std::string(name)});
  pending_bytes_ += RecordSize(name.size());
  UpdateReadableLocked();
}

ErrnoOr<size_t> InotifyGroup::Read(const Context& ctx, const IOSequence& dst,
                                   bool nonblocking) {
  const std::atomic<bool>* interrupted = ctx.interrupted();
  base::MutexLock l(&ev_mu_);
  while (events_.empty() && !closed_) {
    if (nonblocking) return Errno(EAGAIN);
    if (interrupted->load(std::memory_order_acquire)) return Errno(EINTR);
    ev_mu_.AwaitWithTimeout(readable_cond_, kInterruptPoll);
  }
  if (events_.empty()) return Errno(EBADF);  // closed under the reader
  size_t done = 0;
  while (!events_.empty()) {
    const Event& e = events_.front();
    const size_t name_len = PaddedNameLen(e.name.size());
    const size_t size = kHeaderSize + name_len;
    if (size > dst.size() - done) {
      if (done == 0) return Errno(EINVAL);
      break;
    }
    linux_abi::InotifyEvent h{};
    h.wd = e.wd;
    h.mask = e.mask & kReportedMaskBits;
    h.cookie = e.cookie;
    h.len = static_cast<uint32_t>(name_len);
    dst.CopyOut(done, &h, kHeaderSize);
    if (name_len != 0) {
      dst.CopyOut(done + kHeaderSize, e.name.data(), e.name.size());
      dst.ZeroOut(done + kHeaderSize + e.name.size(), name_len - e.name.size());
    }
    done += size;
    pending_bytes_ -= size;
    if (e.mask & IN_Q_OVERFLOW) overflow_queued_ = false;
    events_.pop_front();
  }
  UpdateReadableLocked();
  return done;
}

size_t InotifyGroup::PendingBytes() const {
  base::MutexLock l(&ev_mu_);
  return pending_bytes_;
}

// -------------------------------------------------------- InotifyInstance

InotifyInstance::InotifyInstance(bool nonblocking)
    : nonblocking_(nonblocking), group_(base::MakeRef<InotifyGroup>()) {}

InotifyInstance::~InotifyInstance() { group_->Release(); }

ErrnoOr<int> InotifyInstance::AddWatch(RefPtr<Inode> inode, uint32_t mask) {
  return group_->AddWatch(std::move(inode), mask);
}

Errno InotifyInstance::RemoveWatch(int wd) { return group_->RemoveWatch(wd); }

ErrnoOr<size_t> InotifyInstance::Read(const Context& ctx, File& f,
                                      const IOSequence& dst, uint64_t offset) {
  const bool nonblocking = nonblocking_ || (f.flags() & O_NONBLOCK);
  return group_->Read(ctx, dst, nonblocking);
}

ErrnoOr<int64_t> InotifyInstance::Ioctl(const Context& ctx, File& f,
                                        uint64_t cmd, uintptr_t arg) {
  if (cmd != FIONREAD) return FileOperations::Ioctl(ctx, f, cmd, arg);
  if (arg == 0) return Errno(EFAULT);
  const size_t n = group_->PendingBytes();
  *reinterpret_cast<int*>(arg) =
      static_cast<int>(std::min<size_t>(n, static_cast<size_t>(INT32_MAX)));
  return int64_t{0};
}

void InotifyInstance::Release() { group_->Release(); }

size_t InotifyInstance::PendingBytes() const { return group_->PendingBytes(); }

}  // namespace sentry::fs
