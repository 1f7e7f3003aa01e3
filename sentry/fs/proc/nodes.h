// Synthetic inodes for generated filesystems (proc, sys): files whose
// contents are made when they are opened, symlinks whose targets are
// computed when read, and directories with fixed or computed entries.
//
// Instances use CachePolicy::kRevalidate, so every walk asks the directory
// again and entries that vanish (a process exits, an fd closes) disappear.
// Dynamic directories keep the inode of a name while the name exists, so
// a path keeps its identity (st_ino, open files' paths) across walks.
#ifndef SENTRY_FS_PROC_NODES_H_
#define SENTRY_FS_PROC_NODES_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "sentry/fs/file.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs::proc {

// A mount source with a statfs magic.
class SyntheticMountSource : public MountSource {
 public:
  SyntheticMountSource(const Filesystem* fs, MountSourceFlags flags,
                       std::string device_name, int64_t magic)
      : MountSource(fs, flags, CachePolicy::kRevalidate,
                    std::move(device_name)),
        magic_(magic) {}
  int64_t magic() const { return magic_; }

 private:
  const int64_t magic_;
};

// The owner of a node: (uid, gid), computed when stat asks (a process's
// files belong to its effective ids). Null: root.
using Owner = std::function<std::pair<uint32_t, uint32_t>()>;

class SyntheticInode : public Inode {
 public:
  SyntheticInode(const RefPtr<MountSource>& msrc, InodeType type,
                 uint32_t perms, Owner owner = nullptr);
  ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) override;
  // chmod, chown, utimes: EPERM, as proc says.
  Errno SetAttr(const Context& ctx, const AttrChange& ch) override;
  ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx) override;

 protected:
  virtual uint64_t Links() const { return 1; }

 private:
  const uint32_t perms_;
  const Owner owner_;
  const linux_abi::Timespec created_;
};

// Makes a file's contents; an error fails the open (ESRCH: the process
// went away).
using Generator = std::function<ErrnoOr<std::string>(const Context&)>;

// A regular file generated at open; st_size 0, as Linux's proc files.
class GenFile : public SyntheticInode {
 public:
  // write_errno: what write(2) on an fd opened for writing gives (Linux:
  // EIO for /proc/meminfo and friends, EINVAL for /proc/[pid] files).
  GenFile(const RefPtr<MountSource>& msrc, uint32_t perms, Generator gen,
          int write_errno = EIO, Owner owner = nullptr);
  ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                         uint64_t offset) override;
  ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                          uint64_t offset, bool append,
                          uint64_t* offset_out) override;
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags) override;
  ErrnoOr<std::string> Generate(const Context& ctx) const { return gen_(ctx); }

 private:
  const Generator gen_;
  const int write_errno_;
};

// A symlink whose target is computed at each readlink.
class GenSymlink : public SyntheticInode {
 public:
  GenSymlink(const RefPtr<MountSource>& msrc, Generator target,
             uint32_t perms = 0777, Owner owner = nullptr);
  ErrnoOr<std::string> Readlink(const Context& ctx) override;

 private:
  const Generator target_;
};

// A directory. Subclasses say what is in it.
class GenDir : public SyntheticInode {
 public:
  struct Child {
    std::string name;
    RefPtr<Inode> inode;
  };
  GenDir(const RefPtr<MountSource>& msrc, uint32_t perms,
         Owner owner = nullptr);

  ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                std::string_view name) override;
  // Walks the whole chain (the VFS reads a short result as "missing").
  ErrnoOr<std::vector<RefPtr<Inode>>> LookupChain(
      const Context& ctx, const std::vector<std::string_view>& names) override;
  Errno IterateDir(const Context& ctx, uint64_t offset, DirSink& sink) override;
  ErrnoOr<bool> HasChildren(const Context& ctx) override;

  // The ".." inode number (the parent sets it when it adopts this).
  void set_parent_ino(uint64_t ino) { parent_ino_.store(ino); }

  // create, mkdir, mknod, symlink: ENOENT as in proc (sysfs: EPERM).
  ErrnoOr<RefPtr<Inode>> CreateChild(const Context& ctx, std::string_view name,
                                     const CreateSpec& spec) override;
  void set_create_errno(int e) { create_errno_.store(e); }
  int create_errno() const { return create_errno_.load(); }

 protected:
  // The entries now, in readdir order.
  virtual ErrnoOr<std::vector<Child>> Children(const Context& ctx) = 0;
  uint64_t Links() const override { return 2; }

 private:
  std::atomic<uint64_t> parent_ino_{0};
  std::atomic<int> create_errno_{ENOENT};
};

// A directory with a fixed set of entries.
class StaticDir : public GenDir {
 public:
  using GenDir::GenDir;
  // Adds an entry (before the directory is published).
  void Add(std::string name, RefPtr<Inode> inode);
  // The named subdirectory, made (0555 unless perms given) if missing.
  RefPtr<StaticDir> Subdir(const std::string& name, uint32_t perms = 0555,
                           Owner owner = nullptr);
  ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                std::string_view name) override;

 protected:
  ErrnoOr<std::vector<Child>> Children(const Context& ctx) override;

 private:
  mutable base::Mutex mu_;
  std::vector<Child> children_ ABSL_GUARDED_BY(mu_);
};

// A directory whose names are computed (pids, fd numbers); Make builds
// the inode for a name the first time it is seen, and that inode is kept
// while the name keeps appearing.
class DynamicDir : public GenDir {
 public:
  using Names =
      std::function<ErrnoOr<std::vector<std::string>>(const Context&)>;
  using Make = std::function<RefPtr<Inode>(const std::string&)>;
  // fixed: entries listed before the computed ones (e.g. "self").
  DynamicDir(const RefPtr<MountSource>& msrc, uint32_t perms, Names names,
             Make make, Owner owner = nullptr);
  void AddFixed(std::string name, RefPtr<Inode> inode);
  // Drops every cached inode (when the filesystem goes away).
  void Clear();

 protected:
  ErrnoOr<std::vector<Child>> Children(const Context& ctx) override;

 private:
  const Names names_;
  const Make make_;
  mutable base::Mutex mu_;
  std::vector<Child> fixed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RefPtr<Inode>> cache_ ABSL_GUARDED_BY(mu_);
};

// Helpers to make nodes of msrc.
RefPtr<GenFile> NewFile(const RefPtr<MountSource>& msrc, uint32_t perms,
                        Generator gen, int write_errno = EIO,
                        Owner owner = nullptr);
RefPtr<GenFile> NewStaticFile(const RefPtr<MountSource>& msrc, uint32_t perms,
                              std::string contents);
RefPtr<GenSymlink> NewSymlink(const RefPtr<MountSource>& msrc, Generator target,
                              uint32_t perms = 0777, Owner owner = nullptr);

}  // namespace sentry::fs::proc

#endif  // SENTRY_FS_PROC_NODES_H_
