// Dirent: a name in the tree, caching the inode behind it.
//
// A Dirent is one (parent, name) -> inode binding, positive (with an inode)
// or negative (name known not to exist: ENOENT is the commonest lookup
// result, so it is cached too). Two walks of the same path get the same
// Dirent and so the same Inode: the cache is coherent.
//
// Ownership: a directory's Dirent holds strong references to its cached
// children (in index_), and every child holds a strong reference to its
// parent (parent_). That cycle is broken explicitly: a child leaves its
// parent's map when it is unlinked, renamed over, evicted, or when its
// tree is torn down (DetachTree at unmount). A detached Dirent keeps its
// parent reference, so getcwd and /proc paths of a deleted file still work.
//
// Locking: mu_ guards the children (index_, for writers). name_ and parent_
// change only in Rename, with RenameMutex() held exclusively; read them with it
// held shared (or through name() and parent(), which do). A lookup that misses
// holds the parent's mu_ across the filesystem's Lookup, and creates and
// removals hold it across the filesystem call, so a create racing a lookup can
// never leave a stale negative entry. Lock order:
//   MountNamespace::mu_ -> RenameMutex() -> parent Dirent::mu_
//     -> child Dirent::mu_ -> filesystem (Inode) locks
// For two directories neither of which is an ancestor of the other, lock
// the one at the lower address first.
//
// Lock-free lookups: the children are a ChildIndex, a set of Dirents
// keyed by their own names, changed under mu_; in a tree that trusts its
// cache (CachePolicy::kKeep) path walks read it without mu_ inside an
// epoch::ReadGuard (FindCachedLockFree). That is why a Dirent is freed
// through epoch::Retire: a walker may still hold a raw pointer to it.
#ifndef SENTRY_FS_DIRENT_H_
#define SENTRY_FS_DIRENT_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/errno.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/internal/child_index.h"

namespace sentry::fs {

// Serialises renames (and so the shape of every tree); taken exclusively
// by rename, shared by nothing on the hot path.
base::Mutex& RenameMutex();

// A 32-bit count (as Linux's dentry's), so that it shares a word with the
// mount count and a file's dirent with an 8-byte name fits a 64-byte malloc
// chunk: 2^31 references to one dirent would take more memory than any
// sandbox has.
class Dirent : public base::RefCounted<Dirent, int32_t> {
 public:
  // A root (no parent) for inode.
  static RefPtr<Dirent> NewRoot(RefPtr<Inode> inode, std::string name = "/");
  // A dirent for a file with no name in parent (O_TMPFILE): not in the
  // parent's cache, and unlinked from the start.
  static RefPtr<Dirent> NewDetached(RefPtr<Inode> inode, std::string name,
                                    RefPtr<Dirent> parent);

  Dirent(const Dirent&) = delete;
  Dirent& operator=(const Dirent&) = delete;
  ~Dirent();

  // Null for a negative dirent.
  Inode* inode() const { return inode_.get(); }
  const RefPtr<Inode>& inode_ref() const { return inode_; }
  bool negative() const { return inode_ == nullptr; }

  std::string name() const ABSL_LOCKS_EXCLUDED(kids_->mu);
  RefPtr<Dirent> parent() const ABSL_LOCKS_EXCLUDED(kids_->mu);
  bool IsRoot() const;
  // Whether this name was removed (unlink, rename over it).
  bool unlinked() const { return unlinked_.load(std::memory_order_acquire); }

  // The cached or looked-up child called name (no "." or "..", no '/').
  // A negative Dirent if the filesystem said ENOENT; other errors as the
  // filesystem gives them. ENOTDIR if this is not a directory.
  ErrnoOr<RefPtr<Dirent>> Walk(const Context& ctx, std::string_view name)
      ABSL_LOCKS_EXCLUDED(kids_->mu);

  // Walks names[0], names[0]/names[1], ... with one Inode::LookupChain
  // (one round trip on a remote filesystem), caching what it finds.
  // Returns at least the first dirent (negative if names[0] is missing),
  // then one per further component found. A filesystem that revalidates
  // tolerates an entry that raced a change, as the next walk checks it
  // again. A kKeep cache must never hold one: there the fetched entries
  // are cached only while no namespace change on the mount source began
  // (MountSource::QuiescentToken); when one did, this walks names[0]
  // alone, under the directory's lock.
  ErrnoOr<std::vector<RefPtr<Dirent>>> WalkChain(
      const Context& ctx, const std::vector<std::string_view>& names)
      ABSL_LOCKS_EXCLUDED(kids_->mu);
  // The cached child called name, if any, without asking the filesystem
  // (what Walk returns at once where the cache is kept: kKeep).
  RefPtr<Dirent> CachedChild(std::string_view name)
      ABSL_LOCKS_EXCLUDED(kids_->mu);

  // Creates name through the filesystem and caches the result. EEXIST if
  // it exists (negative or absent entries are replaced).
  ErrnoOr<RefPtr<Dirent>> Create(const Context& ctx, std::string_view name,
                                 const CreateSpec& spec)
      ABSL_LOCKS_EXCLUDED(kids_->mu);
  // Adds name as a hard link to target's inode.
  ErrnoOr<RefPtr<Dirent>> Link(const Context& ctx, std::string_view name,
                               Inode* target) ABSL_LOCKS_EXCLUDED(kids_->mu);
  // Removes name (unlink or rmdir) through the filesystem and drops it
  // from the cache; the removed Dirent is marked unlinked. The caller has
  // checked permissions and that the victim is no mount point (EBUSY).
  Errno Remove(const Context& ctx, std::string_view name, bool dir)
      ABSL_LOCKS_EXCLUDED(kids_->mu);

  // renameat2 between two directories of the same MountSource. Takes
  // RenameMutex() and both parents' locks; EINVAL if the destination is
  // inside the moved directory or the source is an ancestor of the
  // destination. Updates the cache on success.
  static Errno Rename(const Context& ctx, Dirent* old_parent,
                      std::string_view old_name, Dirent* new_parent,
                      std::string_view new_name, unsigned flags);

  // Whether `this` is d or one of d's ancestors (within one tree).
  // Precondition: RenameMutex() is held (shared or exclusive).
  bool IsAncestorOfLocked(const Dirent* d) const;
  // The parent, reading parent_ under the caller's hold of RenameMutex().
  Dirent* parent_locked() const { return parent_.get(); }
  // The name, valid while the caller holds RenameMutex().
  std::string_view name_locked() const { return NameOf(); }

  // Drops every cached child below this directory (recursively), breaking
  // the parent/child cycles so the tree can be freed. Children still
  // referenced elsewhere survive, detached.
  void DetachTree() ABSL_LOCKS_EXCLUDED(kids_->mu);
  // Drops cached children nobody else references (a cache flush).
  void PruneUnused() ABSL_LOCKS_EXCLUDED(kids_->mu);

  // How many mounts have this dirent as their mount point (any namespace).
  int mount_count() const { return mounts_.load(std::memory_order_acquire); }
  void IncMountCount() { mounts_.fetch_add(1, std::memory_order_acq_rel); }
  void DecMountCount() { mounts_.fetch_sub(1, std::memory_order_acq_rel); }

  // For tests: number of cached children (positive and negative).
  size_t CachedChildrenForTest() const ABSL_LOCKS_EXCLUDED(kids_->mu);

  // The cached child called name, without a lock or a reference, for path
  // walks of kKeep trees (null in others, or if name is not cached).
  // Precondition: inside an epoch::ReadGuard, which keeps the result's
  // memory valid; TryIncRef it to keep it beyond the guard.
  Dirent* FindCachedLockFree(std::string_view name) const {
    return keep_ ? kids_->index.Find(name) : nullptr;
  }

  // Frees through epoch::Retire (see "Lock-free lookups").
  void OnLastRef() const;

 private:
  friend std::string_view internal::NameOf(const Dirent* d);
  friend bool internal::IsNegative(const Dirent* d);
  // A name, immutable once published. The first is allocated with the
  // Dirent, just past it; a rename publishes a new one and retires the
  // old through epoch::Retire (lock-free readers may still compare it).
  struct Name {
    uint32_t len;
    char s[1];  // len bytes (no NUL)
  };
  // Allocates a Dirent with room for name after it (see Name).
  static Dirent* New(RefPtr<Inode> inode, std::string_view name,
                     RefPtr<Dirent> parent);
  static void Destroy(Dirent* d);
  Dirent(RefPtr<Inode> inode, std::string_view name, RefPtr<Dirent> parent);
  Name* InlineName() const;
  std::string_view NameOf() const {
    const Name* n = name_.load(std::memory_order_acquire);
    return std::string_view(n->s, n->len);
  }
  // Rename: with RenameMutex() held exclusively and this Dirent in no
  // parent's index (ChildIndex keys entries by their Dirent's name).
  void SetNameLocked(std::string_view name);

  // Looks name up with mu_ held: the cache, else the filesystem.
  ErrnoOr<RefPtr<Dirent>> WalkLocked(const Context& ctx, std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(kids_->mu);
  // Caches what a chain walk fetched for name (inode null: absent) and
  // returns its dirent. With a token (kKeep), the cached entry if there is
  // one, and null if this directory is gone or the mount source's
  // namespace changed since the token (MountSource::QuiescentToken).
  RefPtr<Dirent> AdoptFetched(std::string_view name, RefPtr<Inode> inode,
                              std::optional<uint64_t> token)
      ABSL_LOCKS_EXCLUDED(kids_->mu);
  // Whether a cached child may answer for itself without asking the
  // filesystem: a negative one only where the mount source trusts those
  // (MountSource::TrustsNegativeEntries).
  bool Trusted(const Dirent& child) const;
  // Drops unused entries past the cache's bounds into *evicted (released
  // by the caller once mu_ is unlocked).
  void TrimLocked(std::vector<RefPtr<Dirent>>* evicted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(kids_->mu);
  // Replaces the cache entry for name with d (null: drop it; else d's
  // name is name). Returns the previous entry so the caller can release it
  // after unlocking.
  RefPtr<Dirent> ReplaceChildLocked(std::string_view name, RefPtr<Dirent> d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(kids_->mu);
  // The cached child called name (null if none), borrowed.
  Dirent* FindChildLocked(std::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(kids_->mu) {
    return kids_->index.FindLocked(name);
  }
  // Takes every cached child out (their references move to the result).
  std::vector<RefPtr<Dirent>> TakeChildrenLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(kids_->mu);
  // Marks a removed child detached.
  static void MarkUnlinked(Dirent* child);

  // Whether any child is cached (never, for a non-directory).
  bool HasChildrenLocked() const ABSL_SHARED_LOCKS_REQUIRED(kids_->mu);

  // A directory's: its lock and its cached children (positive and
  // negative), each holding one reference; the index is written under mu,
  // read without it by FindCachedLockFree.
  struct Children {
    mutable base::Mutex mu;
    internal::ChildIndex index;
  };

  // Empty: takes no room.
  [[no_unique_address]] base::LiveCounter<Dirent> live_;
  // Beside RefCounted's 32-bit count, in one word.
  std::atomic<int32_t> mounts_{0};
  const RefPtr<Inode> inode_;
  std::atomic<const Name*> name_;  // see "Locking" above
  RefPtr<Dirent> parent_;          // see "Locking" above
  // Made with a directory's Dirent, null for any other: only directories
  // have children, and most dirents are files'.
  Children* const kids_;
  std::atomic<bool> unlinked_{false};
  const bool dir_;   // inode_ is a directory: it has kids_
  const bool keep_;  // and its mount source is kKeep: lock-free lookups
  // Where the first name starts (see Name): the allocation runs on past
  // the struct for the name's bytes.
  alignas(Name) char inline_name_[offsetof(Name, s)];
};

// With an 8-byte name, a file's Dirent is 56 bytes: a 64-byte malloc chunk.
static_assert(sizeof(Dirent) == 48);

namespace internal {
inline std::string_view NameOf(const Dirent* d) { return d->NameOf(); }
inline bool IsNegative(const Dirent* d) { return d->inode_ == nullptr; }
}  // namespace internal

}  // namespace sentry::fs

#endif  // SENTRY_FS_DIRENT_H_
