#include "sentry/fs/proc/nodes.h"

#include <algorithm>

namespace sentry::fs::proc {

namespace {

StableAttr MakeStable(const RefPtr<MountSource>& msrc, InodeType type) {
  StableAttr s;
  s.type = type;
  s.dev = msrc->device();
  s.ino = msrc->NextIno();
  s.block_size = 1024;  // proc reports st_blksize 1024
  return s;
}

// The snapshot an open file reads from, as seq_file keeps its buffer.
class SnapshotOps : public FileOperations {
 public:
  SnapshotOps(std::string data, int write_errno)
      : data_(std::move(data)), write_errno_(write_errno) {}
  ErrnoOr<size_t> Read(const Context&, File&, const IOSequence& dst,
                       uint64_t offset) override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<size_t>(dst.size(), data_.size() - offset);
    return dst.CopyOut(0, data_.data() + offset, n);
  }
  ErrnoOr<size_t> Write(const Context&, File&, const IOSequence&, uint64_t,
                        bool, uint64_t*) override {
    return Errno(write_errno_);
  }

 private:
  const std::string data_;
  const int write_errno_;
};

}  // namespace

SyntheticInode::SyntheticInode(const RefPtr<MountSource>& msrc, InodeType type,
                               uint32_t perms, Owner owner)
    : Inode(msrc, MakeStable(msrc, type)),
      perms_(perms),
      owner_(std::move(owner)),
      created_([] {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return linux_abi::Timespec{ts.tv_sec, ts.tv_nsec};
      }()) {}

ErrnoOr<UnstableAttr> SyntheticInode::GetAttr(const Context&) {
  UnstableAttr a;
  a.perms = perms_;
  if (owner_) {
    auto [u, g] = owner_();
    a.uid = u;
    a.gid = g;
  }
  a.nlink = Links();
  a.size = 0;
  a.atime = a.mtime = a.ctime = created_;
  return a;
}

Errno SyntheticInode::SetAttr(const Context&, const AttrChange&) {
  return Errno(EPERM);
}

ErrnoOr<linux_abi::Statfs> SyntheticInode::StatFS(const Context&) {
  linux_abi::Statfs s{};
  auto* src = dynamic_cast<SyntheticMountSource*>(mount_source());
  s.f_type = src ? src->magic() : linux_abi::kProcMagic;
  s.f_bsize = 4096;
  s.f_frsize = 4096;
  s.f_namelen = 255;
  return s;
}

GenFile::GenFile(const RefPtr<MountSource>& msrc, uint32_t perms, Generator gen,
                 int write_errno, Owner owner)
    : SyntheticInode(msrc, InodeType::kRegular, perms, std::move(owner)),
      gen_(std::move(gen)),
      write_errno_(write_errno) {}

ErrnoOr<size_t> GenFile::ReadAt(const Context& ctx, const IOSequence& dst,
                                uint64_t offset) {
  ASSIGN_OR_RETURN(std::string data, gen_(ctx));
  if (offset >= data.size()) return size_t{0};
  size_t n = std::min<size_t>(dst.size(), data.size() - offset);
  return dst.CopyOut(0, data.data() + offset, n);
}

ErrnoOr<size_t> GenFile::WriteAt(const Context&, const IOSequence&, uint64_t,
                                 bool, uint64_t*) {
  return Errno(write_errno_);
}

ErrnoOr<FileOpsPtr> GenFile::Open(const Context& ctx, int flags) {
  if ((flags & O_PATH) != 0) {
    return FileOpsPtr(new SnapshotOps("", write_errno_));
  }
  ASSIGN_OR_RETURN(std::string data, gen_(ctx));
  return FileOpsPtr(new SnapshotOps(std::move(data), write_errno_));
}

GenSymlink::GenSymlink(const RefPtr<MountSource>& msrc, Generator target,
                       uint32_t perms, Owner owner)
    : SyntheticInode(msrc, InodeType::kSymlink, perms, std::move(owner)),
      target_(std::move(target)) {}

ErrnoOr<std::string> GenSymlink::Readlink(const Context& ctx) {
  return target_(ctx);
}

GenDir::GenDir(const RefPtr<MountSource>& msrc, uint32_t perms, Owner owner)
    : SyntheticInode(msrc, InodeType::kDirectory, perms, std::move(owner)) {
  parent_ino_.store(stable_attr().ino);
}

ErrnoOr<RefPtr<Inode>> GenDir::CreateChild(const Context&, std::string_view,
                                           const CreateSpec&) {
  return Errno(create_errno());
}

ErrnoOr<RefPtr<Inode>> GenDir::Lookup(const Context& ctx,
                                      std::string_view name) {
  ASSIGN_OR_RETURN(std::vector<Child> children, Children(ctx));
  for (Child& c : children) {
    if (c.name == name) return std::move(c.inode);
  }
  return Errno(ENOENT);
}

ErrnoOr<std::vector<RefPtr<Inode>>> GenDir::LookupChain(
    const Context& ctx, const std::vector<std::string_view>& names) {
  std::vector<RefPtr<Inode>> out;
  Inode* dir = this;
  for (std::string_view name : names) {
    if (name == "." || name == ".." || !dir->IsDir()) break;
    auto r = dir->Lookup(ctx, name);
    if (!r.ok()) {
      if (r.error() == Errno(ENOENT)) break;
      if (out.empty()) return r.error();
      break;
    }
    out.push_back(std::move(*r));
    dir = out.back().get();
    if (!dir->IsDir()) break;
  }
  return out;
}

Errno GenDir::IterateDir(const Context& ctx, uint64_t offset, DirSink& sink) {
  if (offset == 0) {
    if (!sink.Add({".", stable_attr().ino, DT_DIR, 1})) return Errno();
    offset = 1;
  }
  if (offset == 1) {
    if (!sink.Add({"..", parent_ino_.load(), DT_DIR, 2})) return Errno();
    offset = 2;
  }
  ASSIGN_OR_RETURN(std::vector<Child> children, Children(ctx));
  for (uint64_t i = offset - 2; i < children.size(); ++i) {
    const Inode* in = children[i].inode.get();
    DirEntry e{children[i].name, in->stable_attr().ino,
               linux_abi::ModeToDirentType(FileTypeBits(in->type())), i + 3};
    if (!sink.Add(e)) break;
  }
  return Errno();
}

ErrnoOr<bool> GenDir::HasChildren(const Context& ctx) {
  ASSIGN_OR_RETURN(std::vector<Child> children, Children(ctx));
  return !children.empty();
}

void StaticDir::Add(std::string name, RefPtr<Inode> inode) {
  if (auto* d = dynamic_cast<GenDir*>(inode.get())) {
    d->set_parent_ino(stable_attr().ino);
  }
  base::MutexLock l(&mu_);
  children_.push_back({std::move(name), std::move(inode)});
}

RefPtr<StaticDir> StaticDir::Subdir(const std::string& name, uint32_t perms,
                                    Owner owner) {
  {
    base::MutexLock l(&mu_);
    for (const Child& c : children_) {
      if (c.name == name) {
        if (auto* d = dynamic_cast<StaticDir*>(c.inode.get())) {
          return RefPtr<StaticDir>(d);
        }
      }
    }
  }
  RefPtr<StaticDir> d = base::AdoptRef(new StaticDir(
      RefPtr<MountSource>(mount_source()), perms, std::move(owner)));
  d->set_create_errno(create_errno());
  Add(name, d);
  return d;
}

ErrnoOr<RefPtr<Inode>> StaticDir::Lookup(const Context&,
                                         std::string_view name) {
  base::MutexLock l(&mu_);
  for (const Child& c : children_) {
    if (c.name == name) return c.inode;
  }
  return Errno(ENOENT);
}

ErrnoOr<std::vector<GenDir::Child>> StaticDir::Children(const Context&) {
  base::MutexLock l(&mu_);
  return children_;
}

DynamicDir::DynamicDir(const RefPtr<MountSource>& msrc, uint32_t perms,
                       Names names, Make make, Owner owner)
    : GenDir(msrc, perms, std::move(owner)),
      names_(std::move(names)),
      make_(std::move(make)) {}

void DynamicDir::AddFixed(std::string name, RefPtr<Inode> inode) {
  if (auto* d = dynamic_cast<GenDir*>(inode.get())) {
    d->set_parent_ino(stable_attr().ino);
  }
  base::MutexLock l(&mu_);
  fixed_.push_back({std::move(name), std::move(inode)});
}

void DynamicDir::Clear() {
  std::map<std::string, RefPtr<Inode>> old;
  base::MutexLock l(&mu_);
  old.swap(cache_);
}

ErrnoOr<std::vector<GenDir::Child>> DynamicDir::Children(const Context& ctx) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, names_(ctx));
  std::map<std::string, RefPtr<Inode>> dropped;
  std::vector<Child> out;
  base::MutexLock l(&mu_);
  out = fixed_;
  std::map<std::string, RefPtr<Inode>> next;
  for (std::string& n : names) {
    auto it = cache_.find(n);
    RefPtr<Inode> in;
    if (it != cache_.end()) {
      in = it->second;
    } else {
      in = make_(n);
      if (!in) continue;
      if (auto* d = dynamic_cast<GenDir*>(in.get())) {
        d->set_parent_ino(stable_attr().ino);
      }
    }
    next.emplace(n, in);
    out.push_back({std::move(n), std::move(in)});
  }
  dropped.swap(cache_);
  cache_ = std::move(next);
  return out;
}

RefPtr<GenFile> NewFile(const RefPtr<MountSource>& msrc, uint32_t perms,
                        Generator gen, int write_errno, Owner owner) {
  return base::AdoptRef(
      new GenFile(msrc, perms, std::move(gen), write_errno, std::move(owner)));
}

RefPtr<GenFile> NewStaticFile(const RefPtr<MountSource>& msrc, uint32_t perms,
                              std::string contents) {
  return NewFile(msrc, perms,
                 [c = std::move(contents)](
                     const Context&) -> ErrnoOr<std::string> { return c; });
}

RefPtr<GenSymlink> NewSymlink(const RefPtr<MountSource>& msrc, Generator target,
                              uint32_t perms, Owner owner) {
  return base::AdoptRef(
      new GenSymlink(msrc, std::move(target), perms, std::move(owner)));
}

}  // namespace sentry::fs::proc
