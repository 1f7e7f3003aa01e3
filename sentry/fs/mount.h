// Mount and MountNamespace: where filesystems appear, and path resolution.
//
// A Mount is one appearance of a tree (a MountSource's root, or any
// directory of it for a bind mount) at a mount point of a parent Mount.
// The mount table is keyed by (parent mount, mount-point dirent), as in
// Linux and gVisor's VFS2, so one filesystem can appear at several paths
// and several namespaces (one per container) can share filesystems.
// A position in a namespace is a Path: (Mount, Dirent).
//
// Ownership: a MountNamespace holds its Mounts; a Mount holds its
// MountSource reference (through its root Dirent's inode), root Dirent,
// mount-point Dirent and parent Mount. Files hold the Mount they were
// opened through, so a lazily detached mount lives while it is used.
//
// Locking: MountNamespace::mu_ guards the table and each Mount's tree
// links; it is taken before any Dirent lock and never held across a
// filesystem call. Path walks read the table under mu_ shared only at
// dirents that are mount points (Dirent::mount_count() != 0).
#ifndef SENTRY_FS_MOUNT_H_
#define SENTRY_FS_MOUNT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs {

class MountNamespace;

// Per-mount flags (MNT_*), changed by MS_REMOUNT|MS_BIND.
struct MountFlags {
  bool read_only = false;
  bool no_atime = false;
  bool no_exec = false;
  bool no_suid = false;
  bool no_dev = false;
};

class Mount : public base::RefCounted<Mount> {
 public:
  ~Mount();
  int id() const { return id_; }
  const RefPtr<Dirent>& root() const { return root_; }
  MountSource* source() const { return root_->inode()->mount_source(); }
  MountFlags flags() const ABSL_LOCKS_EXCLUDED(mu_);
  void set_flags(MountFlags f) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether writes through this mount are refused (EROFS): the mount or
  // its source is read-only.
  bool ReadOnly() const;
  // Without mu_: every read asks.
  bool NoAtime() const { return no_atime_.load(std::memory_order_relaxed); }
  // Null for the namespace root or a detached mount.
  Mount* parent() const { return parent_; }
  Dirent* mount_point() const { return mount_point_.get(); }
  bool detached() const { return detached_.load(std::memory_order_acquire); }

  void OnLastRef() const { delete this; }

 private:
  friend class MountNamespace;
  Mount(int id, RefPtr<Dirent> root, MountFlags flags);

  base::LiveCounter<Mount> live_;
  const int id_;
  const RefPtr<Dirent> root_;
  mutable base::Mutex mu_;
  MountFlags flags_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> read_only_{false};
  std::atomic<bool> no_atime_{false};
  // Tree links, guarded by the owning namespace's mu_.
  Mount* parent_ = nullptr;   // weak: the namespace holds every mount
  RefPtr<Mount> parent_ref_;  // strong while attached (keeps parent alive)
  RefPtr<Dirent> mount_point_;
  std::vector<Mount*> children_;
  std::atomic<bool> detached_{false};
};

// A position in a namespace.
struct Path {
  RefPtr<Mount> mount;
  RefPtr<Dirent> dirent;
  Inode* inode() const { return dirent->inode(); }
  bool valid() const { return mount && dirent; }
  friend bool operator==(const Path& a, const Path& b) {
    return a.mount.get() == b.mount.get() && a.dirent.get() == b.dirent.get();
  }
};

// The dirent a path names, walked from start without a lock or a
// reference (see WalkLockFree in mount.cc), or null where the lock-free
// walk cannot finish it: an uncached, negative or non-kKeep component, a
// failed search check, ".", "..", a mount point, a symlink to follow, an
// over-long name or path. Null is not an error: resolve with
// MountNamespace::Resolve instead, which then reports any.
// Precondition: inside an epoch::ReadGuard, start is the dirent of a Path
// the caller holds (for a relative path) or the root (for an absolute
// one); the result is valid until the guard ends. The path's mount is
// start's: the walk never crosses one.
Dirent* ResolveInGuard(const Context& ctx, Dirent* start, std::string_view path,
                       bool follow_final_symlink);

// How a path resolution treats its last component.
struct ResolveOptions {
  bool follow_final_symlink = true;
  // The caller needs a directory (O_DIRECTORY or a trailing slash).
  bool must_be_dir = false;
  // Return a negative final dirent instead of ENOENT (for O_CREAT).
  bool allow_negative_final = false;
  // O_CREAT's open_last_lookups: a last component with a trailing slash
  // (a symlink body such as "d/", followed as the last component) is
  // EISDIR once the components before it resolve and may be searched,
  // whatever it names, if anything.
  bool create = false;
};

// The parent directory of a path's last component, and that component.
struct ParentAndName {
  Path parent;
  std::string name;  // "" for "/" ; may be "." or ".."
  bool trailing_slash = false;
};

// One line of /proc/self/mountinfo.
struct MountInfo {
  int id;
  int parent_id;
  uint64_t dev;
  std::string root;         // path of the mount's root within its source
  std::string mount_point;  // path within the namespace
  MountFlags flags;
  MountSourceFlags source_flags;
  std::string fs_type;
  std::string source;
  std::string super_options;
};

class MountNamespace : public base::RefCounted<MountNamespace> {
 public:
  // A namespace whose root mount shows root (a MountSource's root dirent).
  static RefPtr<MountNamespace> New(RefPtr<Dirent> root, MountFlags flags = {});
  ~MountNamespace();

  Path Root() const;

  // Resolves path from start (relative) or root (absolute), following
  // symlinks with a budget of kMaxSymlinkTraversals in total (ELOOP past
  // it). Errors in Linux's order: ENAMETOOLONG (a component > 255 bytes
  // or the path >= 4096), ENOENT (empty path or a missing component),
  // ENOTDIR (a non-directory with more to walk, or a trailing slash),
  // EACCES (no search permission on a directory walked through).
  ErrnoOr<Path> Resolve(const Context& ctx, const Path& root, const Path& start,
                        std::string_view path, const ResolveOptions& opts = {});
  // Resolves all but the last component. "/" gives name "".
  ErrnoOr<ParentAndName> ResolveParent(const Context& ctx, const Path& root,
                                       const Path& start,
                                       std::string_view path);
  // Follows a symlink's target from dir (used for the final component
  // by callers that resolved with follow_final_symlink = false).
  ErrnoOr<Path> FollowSymlink(const Context& ctx, const Path& root,
                              const Path& link, int* budget,
                              const ResolveOptions& opts);

  // The Path a walk reaches at p: p itself, or the root of the topmost
  // mount on it.
  Path CrossMountsDown(Path p) const;
  // "..": the parent directory, crossing up out of mount roots; stays put
  // at root.
  Path Parent(const Path& p, const Path& root) const;
  // The absolute path of p as seen from root (getcwd, /proc/*/fd links);
  // unreachable paths are reported relative to their mount, as Linux's
  // d_path does; deleted ones get " (deleted)".
  std::string PathOf(const Path& p, const Path& root) const;

  // mount(2) of a tree at target, a directory (ENOTDIR otherwise).
  // Mounting over a mount stacks, as on Linux: the newest one shows.
  ErrnoOr<RefPtr<Mount>> MountAt(const Path& target, RefPtr<Dirent> root,
                                 MountFlags flags);
  // MS_BIND (and MS_REC): source's subtree appears at target.
  ErrnoOr<RefPtr<Mount>> BindMount(const Path& source, const Path& target,
                                   bool recursive, MountFlags flags);
  // MS_REMOUNT: new per-mount flags (and, without MS_BIND, source flags).
  Errno Remount(const Path& mount_root, MountFlags flags, bool bind_only,
                const MountSourceFlags* source_flags);
  // umount2(2) of the mount whose root is at p. EINVAL if p is not a
  // mount root or is the namespace root; EBUSY if it or a mount below it
  // is in use (open files, working directories) or has submounts, unless
  // detach (MNT_DETACH), which unlinks it now and frees it when unused.
  // p must be the caller's only reference to the mount.
  Errno Unmount(const Path& p, bool detach);

  // Mount table in mount order, for /proc/mounts and mountinfo.
  std::vector<MountInfo> Mounts(const Path& root) const;
  // The mount with this id, or null.
  RefPtr<Mount> FindMount(int id) const;

  void OnLastRef() const { delete this; }

 private:
  explicit MountNamespace(RefPtr<Dirent> root, MountFlags flags);
  using Key = std::pair<const Mount*, const Dirent*>;
  // The topmost mount on (m, d), or null.
  Mount* MountedAtLocked(const Mount* m, const Dirent* d) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  RefPtr<Mount> AttachLocked(Mount* parent, RefPtr<Dirent> mount_point,
                             RefPtr<Dirent> root, MountFlags flags)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachLocked(Mount* m, std::vector<RefPtr<Mount>>* released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PathOfLocked(const Path& p, const Path& root) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  base::LiveCounter<MountNamespace> live_;
  mutable base::Mutex mu_;
  RefPtr<Mount> root_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, std::vector<Mount*>> table_ ABSL_GUARDED_BY(mu_);
  // Every attached mount, in mount order; holds the strong references.
  std::vector<RefPtr<Mount>> mounts_ ABSL_GUARDED_BY(mu_);
};

// A Path for an object that is no file of any namespace (an inotify
// instance, an imported host FD, a pipe): a root dirent named `name` on a
// private, detached mount, so every File has a Mount like any other.
Path AnonymousPath(RefPtr<Inode> inode, std::string name);

// Ids shared by all namespaces, as /proc/self/mountinfo numbers them.
int NextMountId();

}  // namespace sentry::fs

#endif  // SENTRY_FS_MOUNT_H_
