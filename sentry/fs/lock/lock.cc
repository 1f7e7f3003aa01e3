// Implementation of POSIX record locks and flock locks; see lock.h.
//
// Blocking: a blocked Lock call owns a Waiter on its stack. While it sleeps,
// the Waiter is queued on the instance (so that any change to the inode's
// locks wakes it to re-check, like locks_wake_up_blocks) and registered in the
// process-wide WaitsForGraph (so that InterruptWaiters can reach it and, for
// process owners, so that deadlocks are detected). Waking a waiter also drops
// its waits-for edges, as Linux's __locks_delete_block does, so a stale edge
// never causes a false EDEADLK; the waiter re-adds them if it must sleep
// again, and the check-and-insert is atomic under the graph's mutex, so the
// last waiter to close a cycle always sees it.
#include "sentry/fs/lock/lock.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace sentry::fs::lock {

namespace internal {

// The wait state of one blocked Lock call. owner, kind and interrupted are
// immutable. Thread-safe.
//
// The sleep uses std::mutex / std::condition_variable rather than
// base::Mutex::Await: absl evaluates an Await condition in whichever thread
// unlocks, inside the uninstrumented absl library, which ThreadSanitizer sees
// as races on the sleeper's stack. pthread-based waits are fully visible to
// it. mu_ is a leaf lock.
struct Waiter {
  Waiter(OwnerId owner, OwnerKind kind, const std::atomic<bool>* interrupted)
      : owner(owner), kind(kind), interrupted(interrupted) {}

  bool Interrupted() const {
    return interrupted != nullptr &&
           interrupted->load(std::memory_order_acquire);
  }
  void Wake() {
    {
      std::lock_guard<std::mutex> l(mu_);
      woken_ = true;
    }
    cv_.notify_one();
  }
  void ClearWoken() {
    std::lock_guard<std::mutex> l(mu_);
    woken_ = false;
  }
  // Sleeps until woken or interrupted, or for at most the poll interval.
  void Sleep() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(kInterruptPollIntervalMs),
                 [this] { return woken_ || Interrupted(); });
  }

  const OwnerId owner;
  const OwnerKind kind;
  const std::atomic<bool>* const interrupted;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // Guarded by mu_.
};

}  // namespace internal

namespace {

using internal::Waiter;

constexpr int64_t kOffsetMax = INT64_MAX;

// All blocked waiters, and the waits-for edges of blocked process owners
// (Linux's blocked_hash under blocked_lock_lock). Thread-safe.
class WaitsForGraph {
 public:
  static WaitsForGraph& Get() {
    static WaitsForGraph* const graph = new WaitsForGraph();
    return *graph;
  }

  // Registers w as blocked. If w's owner is a process, first checks whether
  // w's owner is reachable from `blockers` (the process owners holding the
  // locks w waits for); if so returns false (deadlock) and leaves w's edges
  // empty, else records w -> blockers. Linux: posix_locks_deadlock, then
  // locks_insert_global_blocked.
  bool Wait(Waiter* w, const std::vector<OwnerId>& blockers) {
    base::MutexLock l(&mu_);
    all_.insert(w);
    EraseEdgesLocked(w);
    if (w->kind != OwnerKind::kProcess || blockers.empty()) return true;
    if (ReachesLocked(blockers, w->owner)) return false;
    edges_[w->owner][w] = blockers;
    return true;
  }

  // Drops w's edges (it was woken and will re-check).
  void ClearEdges(const std::vector<Waiter*>& ws) {
    base::MutexLock l(&mu_);
    for (Waiter* w : ws) EraseEdgesLocked(w);
  }

  // Forgets w entirely (it stopped waiting).
  void Unregister(Waiter* w) {
    base::MutexLock l(&mu_);
    all_.erase(w);
    EraseEdgesLocked(w);
  }

  void WakeAll() {
    base::MutexLock l(&mu_);
    for (Waiter* w : all_) w->Wake();
  }

 private:
  void EraseEdgesLocked(Waiter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = edges_.find(w->owner);
    if (it == edges_.end()) return;
    it->second.erase(w);
    if (it->second.empty()) edges_.erase(it);
  }

  // Whether `target` is reachable from any of `from` along waits-for edges.
  bool ReachesLocked(const std::vector<OwnerId>& from, OwnerId target) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<OwnerId> stack(from.begin(), from.end());
    std::unordered_set<OwnerId> seen(from.begin(), from.end());
    while (!stack.empty()) {
      OwnerId o = stack.back();
      stack.pop_back();
      if (o == target) return true;
      auto it = edges_.find(o);
      if (it == edges_.end()) continue;
      for (const auto& [waiter, blockers] : it->second) {
        for (OwnerId b : blockers) {
          if (seen.insert(b).second) stack.push_back(b);
        }
      }
    }
    return false;
  }

  base::Mutex mu_;
  std::unordered_set<Waiter*> all_ ABSL_GUARDED_BY(mu_);
  // Blocked process owner -> its blocked waiters -> owners each waits for.
  std::unordered_map<OwnerId, std::unordered_map<Waiter*, std::vector<OwnerId>>>
      edges_ ABSL_GUARDED_BY(mu_);
};

bool TypesConflict(LockType a, LockType b) {
  return a == LockType::kWrite || b == LockType::kWrite;
}

}  // namespace

void InterruptWaiters() { WaitsForGraph::Get().WakeAll(); }

base::ErrnoOr<LockRange> ComputeRange(int16_t whence, int64_t start,
                                      int64_t len, int64_t offset,
                                      int64_t size) {
  int64_t base_offset;
  switch (whence) {
    case SEEK_SET:
      base_offset = 0;
      break;
    case SEEK_CUR:
      base_offset = offset;
      break;
    case SEEK_END:
      base_offset = size;
      break;
    default:
      return base::Errno(EINVAL);
  }
  int64_t first;  // First byte.
  if (__builtin_add_overflow(base_offset, start, &first)) {
    return base::Errno(EOVERFLOW);
  }
  if (first < 0) return base::Errno(EINVAL);
  int64_t last;  // Last byte, inclusive (Linux's fl_end).
  if (len > 0) {
    if (__builtin_add_overflow(first, len - 1, &last)) {
      return base::Errno(EOVERFLOW);
    }
  } else if (len < 0) {
    // first >= 0 and len >= INT64_MIN: cannot overflow.
    if (first + len < 0) return base::Errno(EINVAL);
    last = first - 1;
    first += len;
  } else {
    last = kOffsetMax;
  }
  return LockRange{
      static_cast<uint64_t>(first),
      last == kOffsetMax ? kLockEOF : static_cast<uint64_t>(last) + 1};
}

int64_t FlockLen(LockRange range) {
  if (range.end == kLockEOF) return 0;
  return static_cast<int64_t>(range.end - range.start);
}

// ---------------------------------------------------------------------------
// PosixLocks

namespace {

// Calls fn(start, segment) for each segment of `segs` overlapping `r`, in
// order, until fn returns true; returns whether it did.
template <typename Map, typename Fn>
bool ForEachOverlap(Map& segs, LockRange r, Fn fn) {
  auto it = segs.upper_bound(r.start);
  if (it != segs.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > r.start) it = prev;
  }
  for (; it != segs.end() && it->first < r.end; ++it) {
    if (fn(it->first, it->second)) return true;
  }
  return false;
}

}  // namespace

std::optional<base::Errno> PosixLocks::Attempt(Waiter* w, OwnerId owner,
                                               int32_t pid, LockType type,
                                               LockRange range,
                                               OwnerKind kind) {
  base::MutexLock l(&mu_);
  // Cleared before looking, so a wake after the look is not lost.
  if (w != nullptr) w->ClearWoken();
  bool conflict = false;
  std::vector<OwnerId> blockers;  // Process owners only (Linux: not OFD).
  for (const OwnerLocks& ol : owners_) {
    if (ol.owner == owner) continue;
    bool hit =
        ForEachOverlap(ol.segments, range, [&](uint64_t, const Segment& s) {
          return TypesConflict(type, s.type);
        });
    if (!hit) continue;
    conflict = true;
    if (w == nullptr) break;
    if (ol.kind == OwnerKind::kProcess) blockers.push_back(ol.owner);
  }
  if (!conflict) {
    if (w != nullptr) DequeueLocked(w);
    SetLocked(owner, kind, pid, type, range);
    WakeWaitersLocked();  // A conversion may have released bytes.
    return base::Errno::Ok();
  }
  if (w == nullptr) return base::Errno(EAGAIN);
  if (!WaitsForGraph::Get().Wait(w, blockers)) {
    DequeueLocked(w);
    return base::Errno(EDEADLK);
  }
  // Checked after registering, so InterruptWaiters cannot slip between.
  if (w->Interrupted()) {
    DequeueLocked(w);
    return base::Errno(EINTR);
  }
  if (std::find(waiters_.begin(), waiters_.end(), w) == waiters_.end()) {
    waiters_.push_back(w);
  }
  return std::nullopt;
}

base::Errno PosixLocks::Lock(OwnerId owner, int32_t pid, LockType type,
                             LockRange range, bool block,
                             const std::atomic<bool>* interrupted,
                             OwnerKind kind) {
  if (range.start >= range.end) return base::Errno(EINVAL);
  if (!block) return *Attempt(nullptr, owner, pid, type, range, kind);
  Waiter waiter(owner, kind, interrupted);
  for (;;) {
    if (std::optional<base::Errno> r =
            Attempt(&waiter, owner, pid, type, range, kind)) {
      return *r;
    }
    waiter.Sleep();
  }
}

void PosixLocks::SetLocked(OwnerId owner, OwnerKind kind, int32_t pid,
                           std::optional<LockType> type, LockRange r) {
  auto group =
      std::find_if(owners_.begin(), owners_.end(),
                   [&](const OwnerLocks& ol) { return ol.owner == owner; });
  if (group == owners_.end()) {
    if (!type) return;
    // Linux appends a new owner's first lock at the tail of flc_posix.
    owners_.push_back(OwnerLocks{owner, kind, {}});
    group = std::prev(owners_.end());
  }
  std::map<uint64_t, Segment>& segs = group->segments;

  if (type) {
    // Linux extends the first (lowest) same-type lock that overlaps or
    // touches the request, so the merged lock keeps that lock's pid.
    auto it = segs.upper_bound(r.start);
    if (it != segs.begin()) {
      auto prev = std::prev(it);
      if (prev->second.end >= r.start) it = prev;
    }
    for (; it != segs.end() && it->first <= r.end; ++it) {
      if (it->second.type == *type) {
        pid = it->second.pid;
        break;
      }
    }
  }

  // Cut [r.start, r.end) out of the owner's locks.
  auto it = segs.upper_bound(r.start);
  if (it != segs.begin()) {
    auto prev = std::prev(it);
    if (prev->first < r.start && prev->second.end > r.start) {
      Segment tail = prev->second;
      prev->second.end = r.start;
      if (tail.end > r.end) segs.emplace(r.end, tail);
    }
  }
  it = segs.lower_bound(r.start);
  while (it != segs.end() && it->first < r.end) {
    if (it->second.end > r.end) segs.emplace(r.end, it->second);
    it = segs.erase(it);
  }

  if (type) {
    auto ins = segs.emplace(r.start, Segment{r.end, *type, pid}).first;
    if (ins != segs.begin()) {
      auto prev = std::prev(ins);
      if (prev->second.end == ins->first && prev->second.type == *type) {
        prev->second.end = ins->second.end;
        segs.erase(ins);
        ins = prev;
      }
    }
    auto next = std::next(ins);
    if (next != segs.end() && next->first == ins->second.end &&
        next->second.type == *type) {
      ins->second.end = next->second.end;
      segs.erase(next);
    }
    ins->second.pid = pid;
  }

  if (segs.empty()) owners_.erase(group);
}

void PosixLocks::WakeWaitersLocked() {
  if (waiters_.empty()) return;
  WaitsForGraph::Get().ClearEdges(waiters_);
  for (Waiter* w : waiters_) w->Wake();
}

void PosixLocks::DequeueLocked(Waiter* w) {
  auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it != waiters_.end()) waiters_.erase(it);
  WaitsForGraph::Get().Unregister(w);
}

void PosixLocks::Unlock(OwnerId owner, LockRange range) {
  if (range.start >= range.end) return;
  base::MutexLock l(&mu_);
  SetLocked(owner, OwnerKind::kProcess, 0, std::nullopt, range);
  WakeWaitersLocked();
}

std::optional<Conflict> PosixLocks::Test(OwnerId owner, LockType type,
                                         LockRange range) const {
  if (range.start >= range.end) return std::nullopt;
  base::MutexLock l(&mu_);
  std::optional<Conflict> found;
  for (const OwnerLocks& ol : owners_) {
    if (ol.owner == owner) continue;
    if (ForEachOverlap(ol.segments, range,
                       [&](uint64_t start, const Segment& s) {
                         if (!TypesConflict(type, s.type)) return false;
                         found = Conflict{s.type, {start, s.end}, s.pid};
                         return true;
                       })) {
      return found;
    }
  }
  return std::nullopt;
}

std::optional<Conflict> PosixLocks::TestOwn(OwnerId owner,
                                            LockRange range) const {
  if (range.start >= range.end) return std::nullopt;
  base::MutexLock l(&mu_);
  for (const OwnerLocks& ol : owners_) {
    if (ol.owner != owner) continue;
    std::optional<Conflict> found;
    ForEachOverlap(ol.segments, range, [&](uint64_t start, const Segment& s) {
      found = Conflict{s.type, {start, s.end}, s.pid};
      return true;
    });
    return found;
  }
  return std::nullopt;
}

void PosixLocks::UnlockAll(OwnerId owner) {
  base::MutexLock l(&mu_);
  auto group =
      std::find_if(owners_.begin(), owners_.end(),
                   [&](const OwnerLocks& ol) { return ol.owner == owner; });
  if (group == owners_.end()) return;
  owners_.erase(group);
  WakeWaitersLocked();
}

bool PosixLocks::Empty() const {
  base::MutexLock l(&mu_);
  return owners_.empty();
}

std::vector<LockInfo> PosixLocks::Locks() const {
  base::MutexLock l(&mu_);
  std::vector<LockInfo> out;
  for (const OwnerLocks& ol : owners_) {
    for (const auto& [start, s] : ol.segments) {
      out.push_back(LockInfo{ol.owner, ol.kind, s.type, {start, s.end}, s.pid});
    }
  }
  return out;
}

size_t PosixLocks::NumWaiters() const {
  base::MutexLock l(&mu_);
  return waiters_.size();
}

// ---------------------------------------------------------------------------
// FlockLocks

std::optional<base::Errno> FlockLocks::Attempt(Waiter* w, OwnerId owner,
                                               bool exclusive) {
  base::MutexLock l(&mu_);
  if (w != nullptr) w->ClearWoken();
  // Linux's flock_lock_inode: an existing lock of this description in the
  // same mode is success; in the other mode it is removed before anything
  // else (and not restored on failure).
  auto mine = std::find_if(holders_.begin(), holders_.end(),
                           [&](const Holder& h) { return h.owner == owner; });
  if (mine != holders_.end()) {
    if (mine->exclusive == exclusive) {
      if (w != nullptr) DequeueLocked(w);
      return base::Errno::Ok();
    }
    holders_.erase(mine);
    WakeWaitersLocked();
  }
  bool conflict =
      std::any_of(holders_.begin(), holders_.end(),
                  [&](const Holder& h) { return exclusive || h.exclusive; });
  if (!conflict) {
    if (w != nullptr) DequeueLocked(w);
    holders_.push_back(Holder{owner, exclusive});
    return base::Errno::Ok();
  }
  if (w == nullptr) return base::Errno(EWOULDBLOCK);
  WaitsForGraph::Get().Wait(w, {});  // Registers for InterruptWaiters only.
  if (w->Interrupted()) {
    DequeueLocked(w);
    return base::Errno(EINTR);
  }
  if (std::find(waiters_.begin(), waiters_.end(), w) == waiters_.end()) {
    waiters_.push_back(w);
  }
  return std::nullopt;
}

base::Errno FlockLocks::Lock(OwnerId owner, bool exclusive, bool block,
                             const std::atomic<bool>* interrupted) {
  if (!block) return *Attempt(nullptr, owner, exclusive);
  Waiter waiter(owner, OwnerKind::kOpenFile, interrupted);
  for (;;) {
    if (std::optional<base::Errno> r = Attempt(&waiter, owner, exclusive)) {
      return *r;
    }
    waiter.Sleep();
  }
}

void FlockLocks::Unlock(OwnerId owner) {
  base::MutexLock l(&mu_);
  auto mine = std::find_if(holders_.begin(), holders_.end(),
                           [&](const Holder& h) { return h.owner == owner; });
  if (mine == holders_.end()) return;
  holders_.erase(mine);
  WakeWaitersLocked();
}

bool FlockLocks::Empty() const {
  base::MutexLock l(&mu_);
  return holders_.empty();
}

size_t FlockLocks::NumWaiters() const {
  base::MutexLock l(&mu_);
  return waiters_.size();
}

void FlockLocks::WakeWaitersLocked() {
  for (Waiter* w : waiters_) w->Wake();
}

void FlockLocks::DequeueLocked(Waiter* w) {
  auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it != waiters_.end()) waiters_.erase(it);
  WaitsForGraph::Get().Unregister(w);
}

}  // namespace sentry::fs::lock
