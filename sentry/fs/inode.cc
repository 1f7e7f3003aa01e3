#include "sentry/fs/inode.h"

#include "sentry/fs/device.h"
#include "sentry/fs/file.h"
#include "sentry/fs/inotify.h"

namespace sentry::fs {

Inode::Inode(RefPtr<MountSource> msrc, const StableAttr& sattr)
    : msrc_(std::move(msrc)), sattr_(sattr) {}

Inode::~Inode() {
  Extras* x = extras_.load(std::memory_order_acquire);
  if (x == nullptr) return;
  if (Watches* w = x->watches.load(std::memory_order_acquire)) {
    delete w;
    watched_inodes_.fetch_sub(1, std::memory_order_release);
  }
  delete x->posix_locks.load(std::memory_order_acquire);
  delete x->flock_locks.load(std::memory_order_acquire);
  delete x->xattrs.load(std::memory_order_acquire);
  delete x;
}

Inode::Extras& Inode::extras() { return LazySlot(extras_); }

Watches& Inode::watches() {
  std::atomic<Watches*>& slot = extras().watches;
  Watches* p = slot.load(std::memory_order_acquire);
  if (p) return *p;
  // Counted before it can be seen, so whoever finds the watches also finds
  // AnyWatched() true.
  watched_inodes_.fetch_add(1, std::memory_order_seq_cst);
  auto* fresh = new Watches();
  if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) {
    return *fresh;
  }
  delete fresh;
  watched_inodes_.fetch_sub(1, std::memory_order_relaxed);
  return *p;
}
lock::PosixLocks& Inode::posix_locks() {
  return LazySlot(extras().posix_locks);
}
lock::FlockLocks& Inode::flock_locks() {
  return LazySlot(extras().flock_locks);
}

Errno Inode::SetAttr(const Context&, const AttrChange&) { return Errno(EPERM); }

ErrnoOr<AccessAttr> Inode::GetAccessAttr(const Context& ctx) {
  ASSIGN_OR_RETURN(UnstableAttr a, GetAttr(ctx));
  return AccessAttr{a.perms, a.uid, a.gid};
}

ErrnoOr<RefPtr<Inode>> Inode::Lookup(const Context&, std::string_view) {
  return Errno(ENOTDIR);
}

ErrnoOr<std::vector<RefPtr<Inode>>> Inode::LookupChain(
    const Context& ctx, const std::vector<std::string_view>& names) {
  // One Lookup per name, stopping where a walk would: at a missing name,
  // a non-directory or a symlink.
  std::vector<RefPtr<Inode>> out;
  Inode* dir = this;
  for (std::string_view name : names) {
    auto r = dir->Lookup(ctx, name);
    if (!r.ok()) {
      if (out.empty() && r.error() != Errno(ENOENT)) return r.error();
      break;
    }
    out.push_back(std::move(*r));
    dir = out.back().get();
    if (!dir->IsDir()) break;
  }
  return out;
}

ErrnoOr<RefPtr<Inode>> Inode::CreateChild(const Context&, std::string_view,
                                          const CreateSpec&) {
  return Errno(IsDir() ? EPERM : ENOTDIR);
}

ErrnoOr<RefPtr<Inode>> Inode::CreateTmpfile(const Context&, const CreateSpec&,
                                            bool) {
  return Errno(IsDir() ? EOPNOTSUPP : ENOTDIR);
}

Errno Inode::Link(const Context&, std::string_view, Inode*) {
  return Errno(IsDir() ? EPERM : ENOTDIR);
}

Errno Inode::RemoveChild(const Context&, std::string_view, bool) {
  return Errno(IsDir() ? EPERM : ENOTDIR);
}

Errno Inode::Rename(const Context&, std::string_view, Inode*, std::string_view,
                    unsigned) {
  return Errno(IsDir() ? EPERM : ENOTDIR);
}

Errno Inode::IterateDir(const Context&, uint64_t, DirSink&) {
  return Errno(ENOTDIR);
}

ErrnoOr<bool> Inode::HasChildren(const Context&) { return Errno(ENOTDIR); }

ErrnoOr<size_t> Inode::ReadAt(const Context&, const IOSequence&, uint64_t) {
  return Errno(IsDir() ? EISDIR : EINVAL);
}

ErrnoOr<size_t> Inode::WriteAt(const Context&, const IOSequence&, uint64_t,
                               bool, uint64_t*) {
  return Errno(IsDir() ? EISDIR : EINVAL);
}

ErrnoOr<size_t> Inode::CopyRangeFrom(const Context& ctx, Inode* src,
                                     uint64_t offset, size_t n) {
  std::unique_ptr<char[]> buf(new char[n]);
  ASSIGN_OR_RETURN(size_t got,
                   src->ReadAt(ctx, IOSequence(buf.get(), n), offset));
  if (got == 0) return size_t{0};
  uint64_t at;
  return WriteAt(ctx, IOSequence(buf.get(), got), offset, false, &at);
}

ErrnoOr<uint64_t> Inode::SeekDataHole(const Context& ctx, uint64_t offset,
                                      int whence) {
  // Without hole tracking the whole file is data, as generic_file_llseek.
  ASSIGN_OR_RETURN(UnstableAttr a, GetAttr(ctx));
  if (offset >= static_cast<uint64_t>(a.size)) return Errno(ENXIO);
  return whence == SEEK_DATA ? offset : static_cast<uint64_t>(a.size);
}

Errno Inode::Allocate(const Context&, int, uint64_t, uint64_t) {
  return Errno(IsDir() ? EISDIR : EOPNOTSUPP);
}

ErrnoOr<std::string> Inode::Readlink(const Context&) { return Errno(EINVAL); }

ErrnoOr<std::string> Inode::GetXattr(const Context&, std::string_view) {
  return Errno(EOPNOTSUPP);
}

Errno Inode::SetXattr(const Context&, std::string_view, std::string_view, int) {
  return Errno(EOPNOTSUPP);
}

ErrnoOr<std::vector<std::string>> Inode::ListXattr(const Context&) {
  return std::vector<std::string>{};
}

Errno Inode::RemoveXattr(const Context&, std::string_view) {
  return Errno(EOPNOTSUPP);
}

ErrnoOr<linux_abi::Statfs> Inode::StatFS(const Context&) {
  linux_abi::Statfs s{};
  s.f_type = linux_abi::kRamfsMagic;
  s.f_bsize = 4096;
  s.f_frsize = 4096;
  s.f_namelen = linux_abi::kNameMax;
  return s;
}

ErrnoOr<FileOpsPtr> Inode::Open(const Context& ctx, int flags) {
  switch (type()) {
    case InodeType::kRegular:
    case InodeType::kDirectory:
    case InodeType::kSymlink:  // only reachable with O_PATH
      return InodeFileOperations::Shared();
    case InodeType::kCharDevice:
      // Whatever filesystem holds the node, the device is the same.
      return OpenCharDevice(ctx, sattr_.rdev, flags);
    case InodeType::kSocket:
    default:
      // Sockets open through connect(2), not open(2); block devices and
      // fifos need a filesystem that provides them.
      return Errno(ENXIO);
  }
}

}  // namespace sentry::fs
