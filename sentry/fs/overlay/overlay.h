// overlay: a writable upper layer over a read-only lower one.
//
// Each overlay entry is one OverlayInode, which points at the entry's upper
// inode (after copy-up), its lower inode, or both for a merged directory.
// Because the VFS only ever sees the OverlayInode, a file keeps its
// identity across copy-up: st_ino and st_dev, open file descriptions
// (which read through the OverlayInode, so a descriptor opened read-only
// before copy-up sees the new data after it), record locks and inotify
// watches. Hard links in the lower layer stay one file (one OverlayInode
// per lower inode), also after copy-up.
//
// Rules (as Linux overlayfs):
//  - Lookup: the upper layer wins; the lower is consulted only when the
//    upper says ENOENT (any other error wins). A whiteout (a character
//    device 0/0 in the upper) hides the lower entry; an opaque directory
//    (xattr trusted.overlay.opaque = "y") hides the whole lower directory.
//  - Any modification of a lower entry (write, truncate, chmod, chown,
//    utimes, xattrs, link, rename) copies it up first: data, mode, owner,
//    timestamps, xattrs, symlink target; parents first. A regular file is
//    copied into an O_TMPFILE and linked into place when complete, so a
//    failure halfway leaves nothing visible.
//  - unlink/rmdir of lower entries leave whiteouts; mkdir over a whiteout
//    makes an opaque directory; rename of a directory that exists in the
//    lower layer is EXDEV (Linux overlayfs without redirect_dir).
//  - statfs comes from the upper layer.
// Upper directories are stored as Linux overlayfs stores them, so an upper
// tree can be inspected or reused with Linux's overlayfs.
//
// Locking: OverlayMountSource::copy_mu_ serialises copy-up and renames
// (which change an entry's parent and name); it is taken after any Dirent
// lock and before the layers' own locks. OverlayInode::mu_ guards upper_
// and is a leaf.
#ifndef SENTRY_FS_OVERLAY_OVERLAY_H_
#define SENTRY_FS_OVERLAY_OVERLAY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/mutex.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs::overlay {

class OverlayInode;

// Names of the xattr Linux overlayfs uses to mark opaque directories.
inline constexpr std::string_view kOpaqueXattr = "trusted.overlay.opaque";
inline constexpr std::string_view kPrivateXattrPrefix = "trusted.overlay.";

class OverlayMountSource : public MountSource {
 public:
  // type and device are what /proc/mounts shows ("overlay overlay"; the
  // upper's for a submount stub overlay, which is invisible to users).
  OverlayMountSource(MountSourceFlags flags, std::string type = "overlay",
                     std::string device = "overlay");
  std::string TypeName() const override { return type_; }
  std::string OptionsString() const override { return options_; }
  void set_options_string(std::string o) { options_ = std::move(o); }
  // False when a layer is not a kept cache (or is an overlay over one).
  bool TrustsNegativeEntries() const override { return trust_negatives_; }
  // Sets the above from the two layers' mount sources.
  void SetLayers(const Inode& upper, const Inode* lower);

 private:
  friend class OverlayInode;
  const std::string type_;
  std::string options_;
  bool trust_negatives_ = true;
  base::Mutex copy_mu_;
  // Lower non-directory inodes to the overlay inode showing them (weak:
  // an OverlayInode removes itself when it goes), so lower hard links are
  // one file.
  base::Mutex map_mu_;
  absl::flat_hash_map<const Inode*, OverlayInode*> by_lower_
      ABSL_GUARDED_BY(map_mu_);
};

// A directory overlay: upper and lower are directories; upper must not be
// an overlay itself (EINVAL: nested overlays branch only in the lower
// layer). The result is the root inode of a new overlay instance.
ErrnoOr<RefPtr<Inode>> NewOverlayRoot(const Context& ctx, RefPtr<Inode> upper,
                                      RefPtr<Inode> lower,
                                      MountSourceFlags flags = {});

// An overlay of a single file (a bind-mounted /etc/hostname): lower is the
// file, upper_dir an empty directory of the upper filesystem where the file
// is copied up when modified.
ErrnoOr<RefPtr<Inode>> NewOverlayRootFile(const Context& ctx,
                                          RefPtr<Inode> upper_dir,
                                          RefPtr<Inode> lower,
                                          MountSourceFlags flags = {});

// The seed's submount overlay: root (usually a read-only image) as the
// upper layer over a ramfs holding stub directories for each of
// submounts, so mount points missing from the image exist.
ErrnoOr<RefPtr<Inode>> NewSubmountOverlay(
    const Context& ctx, RefPtr<Inode> root,
    const std::vector<std::string>& submounts);

// Whether an upper-layer inode is a whiteout (character device 0/0).
bool IsWhiteout(const Inode& in);

class OverlayInode : public Inode {
 public:
  OverlayInode(RefPtr<OverlayMountSource> msrc, InodeType type,
               RefPtr<Inode> upper, RefPtr<Inode> lower,
               RefPtr<OverlayInode> parent, std::string name);
  ~OverlayInode() override;

  // The layers. upper() is null until copy-up; lower() is null for
  // entries that exist only in the upper layer.
  RefPtr<Inode> upper() const ABSL_LOCKS_EXCLUDED(mu_);
  const RefPtr<Inode>& lower() const { return lower_; }
  // What reads go to: the upper inode once there is one.
  RefPtr<Inode> current() const ABSL_LOCKS_EXCLUDED(mu_);
  // Copies this entry (and its parents) up, if not done yet.
  Errno CopyUp(const Context& ctx);

  ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) override;
  Errno SetAttr(const Context& ctx, const AttrChange& ch) override;
  void TouchAtime(const Context& ctx, bool relatime) override;

  ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                std::string_view name) override;
  ErrnoOr<RefPtr<Inode>> CreateChild(const Context& ctx, std::string_view name,
                                     const CreateSpec& spec) override;
  Errno Link(const Context& ctx, std::string_view name, Inode* target) override;
  Errno RemoveChild(const Context& ctx, std::string_view name,
                    bool dir) override;
  Errno Rename(const Context& ctx, std::string_view old_name, Inode* new_parent,
               std::string_view new_name, unsigned flags) override;
  Errno IterateDir(const Context& ctx, uint64_t offset, DirSink& sink) override;
  ErrnoOr<bool> HasChildren(const Context& ctx) override;

  ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                         uint64_t offset) override;
  ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                          uint64_t offset, bool append,
                          uint64_t* offset_out) override;
  ErrnoOr<uint64_t> SeekDataHole(const Context& ctx, uint64_t offset,
                                 int whence) override;
  Errno Allocate(const Context& ctx, int mode, uint64_t offset,
                 uint64_t length) override;
  Errno Sync(const Context& ctx) override;
  ErrnoOr<std::string> Readlink(const Context& ctx) override;

  ErrnoOr<std::string> GetXattr(const Context& ctx,
                                std::string_view name) override;
  Errno SetXattr(const Context& ctx, std::string_view name,
                 std::string_view value, int flags) override;
  Errno SetXattrUnhandled(const Context& ctx) override;
  ErrnoOr<std::vector<std::string>> ListXattr(const Context& ctx) override;
  Errno RemoveXattr(const Context& ctx, std::string_view name) override;
  ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx) override;
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags) override;

  // One entry of a merged listing.
  struct Entry {
    std::string name;
    uint64_t ino;
    uint8_t type;
  };
  // The merged directory: upper entries without whiteouts, then lower
  // entries not shadowed (none if opaque).
  ErrnoOr<std::vector<Entry>> MergedEntries(const Context& ctx);

 private:
  OverlayMountSource* omsrc() const;
  // What a name resolves to in this directory.
  struct Found {
    RefPtr<Inode> upper;    // null if absent (or a whiteout)
    RefPtr<Inode> lower;    // null if absent or hidden
    bool whiteout = false;  // the upper has a whiteout for the name
  };
  ErrnoOr<Found> Find(const Context& ctx, std::string_view name);
  ErrnoOr<RefPtr<Inode>> Instantiate(Found f, std::string_view name);
  // Links child's upper copy at name in this directory's upper, where
  // name (found as f) has no upper entry yet: see overlay.cc.
  Errno LinkCopiedUpLocked(const Context& ctx, std::string_view name,
                           const Found& f, OverlayInode* child);
  // Rename's RENAME_EXCHANGE (this is the new parent).
  Errno ExchangeWith(const Context& ctx, OverlayInode* old_parent,
                     std::string_view old_name, const Found& src,
                     RefPtr<Inode> src_in, std::string_view new_name,
                     const Found& dst);
  // Precondition: omsrc()->copy_mu_ is held (checked at run time: the
  // analysis cannot see that every entry of a mount shares it).
  Errno CopyUpLocked(const Context& ctx, bool with_data);
  bool OpaqueLocked(const Context& ctx, Inode* upper_dir);
  // Removes a whiteout for name in the upper directory, if there is one.
  Errno DropWhiteout(const Context& ctx, Inode* up_dir, std::string_view name);
  Errno MakeWhiteout(const Context& ctx, Inode* up_dir, std::string_view name);

  mutable base::Mutex mu_;
  RefPtr<Inode> upper_ ABSL_GUARDED_BY(mu_);
  const RefPtr<Inode> lower_;
  // Where copy-up puts this entry; changed by rename. Guarded by the
  // mount source's copy_mu_.
  RefPtr<OverlayInode> parent_;
  std::string name_;
  bool registered_ = false;  // in by_lower_
};

}  // namespace sentry::fs::overlay

#endif  // SENTRY_FS_OVERLAY_OVERLAY_H_
