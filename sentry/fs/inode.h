// Inode: a file's identity and the operations its filesystem implements.
//
// An Inode is one file object of one MountSource: StableAttr (type, device,
// number) never changes; everything else is asked of the implementation.
// Filesystems derive from Inode and override the virtual operations they
// support; each default returns the errno Linux gives when a filesystem
// lacks the operation. The VFS (Dirent, MountNamespace, sentry/kernel)
// does the bookkeeping around these calls: path walking, permission checks,
// read-only mounts, dirent caching, inotify. So an override only changes
// its own storage, and its preconditions are the checks the VFS has done.
//
// Ownership: reference-counted. Dirents hold their inode; a directory
// implementation holds its children's inodes; File holds its inode through
// its Dirent. Locks and inotify watches live here, so they follow the file,
// not a name.
//
// Thread-safe: implementations guard their own state.
#ifndef SENTRY_FS_INODE_H_
#define SENTRY_FS_INODE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "abi/linux/linux.h"
#include "base/errno.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/attr.h"
#include "sentry/fs/iosequence.h"
#include "sentry/fs/lock/lock.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs {

class FileOperations;

// Owns a FileOperations, except the shared stateless one that regular
// files and directories open with (InodeFileOperations::Shared()), which
// it leaves alone: an open costs one allocation (the File), not two.
// Converts from std::make_unique's pointers.
struct FileOpsDeleter {
  FileOpsDeleter() = default;
  template <typename T>
  FileOpsDeleter(std::default_delete<T>) {}  // NOLINT: implicit on purpose
  void operator()(FileOperations* ops) const;
};
using FileOpsPtr = std::unique_ptr<FileOperations, FileOpsDeleter>;

class Watches;

using base::Errno;
using base::ErrnoOr;
using base::RefPtr;
using context::Context;

// One directory entry as IterateDir reports it.
struct DirEntry {
  std::string_view name;
  uint64_t ino;
  uint8_t type;       // DT_*
  uint64_t next_off;  // the offset that resumes after this entry
};

// Receives directory entries; returns false to stop (buffer full).
class DirSink {
 public:
  virtual ~DirSink() = default;
  virtual bool Add(const DirEntry& e) = 0;
  // Whether IterateDir may stop before the sink is full, after a batch
  // that cost a round trip to a server, leaving the rest to the next call
  // (getdents(2) may return fewer entries than fit; callers loop to 0).
  // False: every entry from the offset on, until Add refuses one.
  virtual bool ShortBatchOk() const { return false; }
  // The listing reached the directory's end, and the stream's offset is
  // to become pos (not the last entry's next_off): tmpfs's end-of-
  // directory mark, from which a later call finds nothing, even entries
  // made since, until the stream is rewound (Linux 6.14 and later).
  virtual void ReachedEnd(uint64_t pos) { (void)pos; }
};

// Hints the VFS adds to Inode::Rename's flags (above renameat2's bits).
inline constexpr unsigned kRenameOldParentIsAncestor = 1u << 30;
inline constexpr unsigned kRenameNewParentIsAncestor = 1u << 31;
inline constexpr unsigned kRenameHintMask =
    kRenameOldParentIsAncestor | kRenameNewParentIsAncestor;

class Inode : public base::RefCounted<Inode> {
 public:
  Inode(RefPtr<MountSource> msrc, const StableAttr& sattr);
  virtual ~Inode();

  const StableAttr& stable_attr() const { return sattr_; }
  InodeType type() const { return sattr_.type; }
  bool IsDir() const { return sattr_.type == InodeType::kDirectory; }
  bool IsSymlink() const { return sattr_.type == InodeType::kSymlink; }
  bool IsRegular() const { return sattr_.type == InodeType::kRegular; }
  MountSource* mount_source() const { return msrc_.get(); }

  // Record locks and flock locks of this file; created on first use, so
  // an inode nobody locks or watches pays one pointer for all three (see
  // Extras).
  lock::PosixLocks& posix_locks();
  lock::FlockLocks& flock_locks();
  lock::PosixLocks* posix_locks_if_any() const {
    const Extras* x = extras_.load(std::memory_order_acquire);
    return x ? x->posix_locks.load(std::memory_order_acquire) : nullptr;
  }
  lock::FlockLocks* flock_locks_if_any() const {
    const Extras* x = extras_.load(std::memory_order_acquire);
    return x ? x->flock_locks.load(std::memory_order_acquire) : nullptr;
  }
  // inotify watches on this inode; created on first use.
  Watches& watches();
  // Null when nobody ever watched this inode (the common, cheap case).
  Watches* watches_if_any() const {
    const Extras* x = extras_.load(std::memory_order_acquire);
    return x ? x->watches.load(std::memory_order_acquire) : nullptr;
  }
  // Extended attributes a filesystem keeps in memory (ramfs's): name to
  // value, made on first use, guarded by the filesystem's own lock (the
  // Inode only owns and frees them). Null until then.
  using XattrMap = std::map<std::string, std::string, std::less<>>;
  XattrMap& memory_xattrs() { return LazySlot(extras().xattrs); }
  XattrMap* memory_xattrs_if_any() const {
    const Extras* x = extras_.load(std::memory_order_acquire);
    return x ? x->xattrs.load(std::memory_order_acquire) : nullptr;
  }
  // False while no inode anywhere has watches: reads and writes then skip
  // the parent's (which costs the rename lock and a reference).
  static bool AnyWatched() {
    return watched_inodes_.load(std::memory_order_acquire) != 0;
  }

  // ---- Attributes.
  virtual ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) = 0;
  // GetAttr for a caller inside an epoch::ReadGuard (a lock-free stat):
  // true with every field of *out written (callers may pass an
  // UnfilledAttr, with no UnstableAttr constructed in it) where the
  // attributes are in memory and reading them neither blocks nor sleeps
  // (no I/O, no lock a writer holds for long); false where the caller
  // must call GetAttr outside the guard. Default: false.
  virtual bool GetAttrInGuard(const Context& ctx, UnstableAttr* out) {
    return false;
  }
  // The attributes a permission check needs, for path walks (one search
  // check per component). Override where it is cheaper than GetAttr.
  // Default: from GetAttr.
  virtual ErrnoOr<AccessAttr> GetAccessAttr(const Context& ctx);
  // Applies ch. Preconditions: the caller checked permission and ownership
  // rules and the mount is writable. EFBIG if size exceeds a limit; EINVAL
  // for size on a non-regular file (EISDIR for a directory); ENOSPC.
  virtual Errno SetAttr(const Context& ctx, const AttrChange& ch);
  // Marks an access for atime; `relatime` applies Linux's relatime rule.
  virtual void TouchAtime(const Context& ctx, bool relatime) {}

  // ---- Directories. All return ENOTDIR on a non-directory.
  // The child called name (never "." or ".."); ENOENT if there is none.
  virtual ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                        std::string_view name);
  // Looks up a chain of names below this directory: names[0] here,
  // names[1] in that, and so on, for filesystems where one request walks
  // several components (9P's Twalk carries up to 16). Returns the inodes
  // found, in order, stopping early (a shorter result) after a component
  // that is missing, is not a directory, or is a symlink; an empty result
  // means names[0] does not exist. Errors other than ENOENT on names[0]
  // are returned. Default: one Lookup.
  virtual ErrnoOr<std::vector<RefPtr<Inode>>> LookupChain(
      const Context& ctx, const std::vector<std::string_view>& names);
  // Makes a new child: regular file, directory, symlink or node by
  // spec.mode's type. EEXIST if name exists; ENOSPC; EMLINK.
  virtual ErrnoOr<RefPtr<Inode>> CreateChild(const Context& ctx,
                                             std::string_view name,
                                             const CreateSpec& spec);
  // O_TMPFILE: a new regular file in this directory with no name (link
  // count 0). If linkable, a later Link may give it one (linkat with
  // AT_EMPTY_PATH); otherwise it vanishes on last close. EOPNOTSUPP where
  // the filesystem has no such files.
  virtual ErrnoOr<RefPtr<Inode>> CreateTmpfile(const Context& ctx,
                                               const CreateSpec& spec,
                                               bool linkable);
  // Adds name for target (a non-directory of the same MountSource).
  // EEXIST; EMLINK past the link limit; ENOENT if target was unlinked.
  virtual Errno Link(const Context& ctx, std::string_view name, Inode* target);
  // Removes name: a non-directory when !dir (EISDIR otherwise), an empty
  // directory when dir (ENOTDIR if not one, ENOTEMPTY if not empty).
  virtual Errno RemoveChild(const Context& ctx, std::string_view name,
                            bool dir);
  // Moves old_name to new_parent/new_name (new_parent is of the same
  // MountSource) with renameat2's flags. Preconditions: both parents are
  // directories; the VFS checked permissions, that new_name is not inside
  // the moved directory (EINVAL), and holds the rename lock. The
  // implementation checks what only it knows: ENOENT, EEXIST with
  // RENAME_NOREPLACE, EISDIR/ENOTDIR mixes, ENOTEMPTY, EINVAL for
  // unsupported flags.
  // flags may also carry kRenameOldParentIsAncestor or
  // kRenameNewParentIsAncestor, so an implementation that locks both
  // directories can take the ancestor first, as every other path does.
  virtual Errno Rename(const Context& ctx, std::string_view old_name,
                       Inode* new_parent, std::string_view new_name,
                       unsigned flags);
  // Reports entries from `offset` on ("." and ".." included, at offsets 0
  // and 1); offsets stay valid while entries come and go.
  virtual Errno IterateDir(const Context& ctx, uint64_t offset, DirSink& sink);
  // Whether the directory has entries other than "." and "..".
  virtual ErrnoOr<bool> HasChildren(const Context& ctx);

  // ---- Regular files. EINVAL by default (EISDIR on a directory).
  virtual ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                                 uint64_t offset);
  // Writes at offset (at the end if append; *offset_out gets where the
  // write began). EFBIG past ctx's file size limit; ENOSPC, possibly after
  // a partial write, as Linux.
  virtual ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                                  uint64_t offset, bool append,
                                  uint64_t* offset_out);
  // Copies up to n bytes of src (a regular file, possibly of another
  // filesystem) from offset into this file at the same offset, as a
  // copy-up does; the number copied (short at src's end), or src's or
  // this file's error. Default: ReadAt into a buffer, then WriteAt; a
  // filesystem that can read src straight into its own storage saves the
  // second copy. Precondition: nobody else can reach this file yet (the
  // copy may hold its lock across src's reads).
  virtual ErrnoOr<size_t> CopyRangeFrom(const Context& ctx, Inode* src,
                                        uint64_t offset, size_t n);
  // Whether ReadAt and WriteAt finish without waiting on anything but the
  // inode's own short locks (memory-backed files), so that they may run
  // inside an epoch guard (see FileOperations::BorrowableIO).
  virtual bool NonBlockingIO() const { return false; }
  // lseek's SEEK_DATA / SEEK_HOLE: ENXIO at or past the end.
  virtual ErrnoOr<uint64_t> SeekDataHole(const Context& ctx, uint64_t offset,
                                         int whence);
  // fallocate(2). EOPNOTSUPP for unsupported modes.
  virtual Errno Allocate(const Context& ctx, int mode, uint64_t offset,
                         uint64_t length);
  virtual Errno Sync(const Context& ctx) { return Errno(); }

  // ---- Symlinks. EINVAL on anything else.
  virtual ErrnoOr<std::string> Readlink(const Context& ctx);

  // ---- Extended attributes (name includes its namespace prefix).
  // ENODATA if absent; EOPNOTSUPP if the filesystem has no xattrs.
  virtual ErrnoOr<std::string> GetXattr(const Context& ctx,
                                        std::string_view name);
  // flags: XATTR_CREATE (EEXIST) / XATTR_REPLACE (ENODATA). ENOSPC.
  virtual Errno SetXattr(const Context& ctx, std::string_view name,
                         std::string_view value, int flags);
  virtual ErrnoOr<std::vector<std::string>> ListXattr(const Context& ctx);
  virtual Errno RemoveXattr(const Context& ctx, std::string_view name);
  // A setxattr of a name in a namespace nothing here handles ("bogus.x"),
  // once the inode's permission check has passed: EOPNOTSUPP. A stacking
  // filesystem may first do what any set does (overlay: copy-up, as
  // Linux's overlayfs, whose catch-all handler takes every name and finds
  // none on the upper inode).
  virtual Errno SetXattrUnhandled(const Context& ctx) {
    (void)ctx;
    return Errno(EOPNOTSUPP);
  }

  // ---- The filesystem.
  virtual ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx);

  // ---- Opening. Returns the FileOperations for a new open file
  // description. Default: regular files read/write through ReadAt/WriteAt,
  // directories iterate through IterateDir; ENXIO for sockets; device
  // nodes are resolved by the VFS's device registry.
  virtual ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags);

  void OnLastRef() const { delete this; }

 private:
  // What few inodes use, allocated on the first use of any of it (each
  // member is itself made on first use): an inode nobody locks or watches
  // pays one pointer. Never freed before the inode.
  struct Extras {
    std::atomic<lock::PosixLocks*> posix_locks{nullptr};
    std::atomic<lock::FlockLocks*> flock_locks{nullptr};
    std::atomic<Watches*> watches{nullptr};
    std::atomic<XattrMap*> xattrs{nullptr};
  };
  Extras& extras();
  // Installs a lazily made T in slot once, whichever thread gets there
  // first.
  template <typename T>
  static T& LazySlot(std::atomic<T*>& slot) {
    T* p = slot.load(std::memory_order_acquire);
    if (p) return *p;
    T* fresh = new T();
    if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) {
      return *fresh;
    }
    delete fresh;
    return *p;
  }

  // Empty: takes no room.
  [[no_unique_address]] base::LiveCounter<Inode> live_;
  const RefPtr<MountSource> msrc_;
  const StableAttr sattr_;
  std::atomic<Extras*> extras_{nullptr};
  // Inodes whose Watches exist, over every filesystem: while it is zero,
  // no read or write has a parent's watches to look for.
  static inline std::atomic<int64_t> watched_inodes_{0};
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_INODE_H_
