#include "sentry/kernel/task.h"

#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <utility>

#include "abi/linux/linux.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/inotify.h"
#include "sentry/fs/permissions.h"

namespace sentry::kernel {

using base::Errno;
using base::ErrnoOr;
using base::RefPtr;
using fs::AttrChange;
using fs::Dirent;
using fs::File;
using fs::Inode;
using fs::InodeType;
using fs::Path;
using fs::UnstableAttr;

namespace {

// Open(2) on x86-64 always adds O_LARGEFILE, and F_GETFL shows it.
constexpr int kOLargefile = 0100000;
constexpr size_t kMaxRwCount = 0x7ffff000;  // MAX_RW_COUNT
constexpr int kMaxIov = 1024;               // UIO_MAXIOV

long R(Errno e) { return e.AsSyscallResult(); }
// A byte count or -errno.
long SizeResult(const ErrnoOr<size_t>& n) {
  return n.ok() ? static_cast<long>(*n) : n.error().AsSyscallResult();
}
template <typename T>
long R(const ErrnoOr<T>& e) {
  return e.error().AsSyscallResult();
}

// Returns from the syscall with -errno if expr fails.
#define SYS_TRY(expr)                                       \
  do {                                                      \
    ::base::Errno sys_e_ = ::base::internal::ToErrno(expr); \
    if (!sys_e_.ok()) return sys_e_.AsSyscallResult();      \
  } while (0)
#define SYS_ASSIGN(lhs, expr) \
  SYS_ASSIGN_IMPL_(BASE_ERRNO_CONCAT_(sys_or_, __LINE__), lhs, expr)
#define SYS_ASSIGN_IMPL_(tmp, lhs, expr)               \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.error().AsSyscallResult(); \
  lhs = std::move(tmp).value()

Errno Permission(const context::Context& ctx, Inode* in, int may) {
  ASSIGN_OR_RETURN(fs::AccessAttr a, in->GetAccessAttr(ctx));
  return fs::GenericPermission(ctx.creds(), in->type(), a, may);
}

// Linux's d_type and stat mode from an inode.
uint32_t ModeOf(Inode* in, const UnstableAttr& a) {
  return fs::FileTypeBits(in->type()) | a.perms;
}

bool IsDots(std::string_view n) { return n == "." || n == ".."; }

// An inode with no name, for objects that are not files (inotify).
class AnonInode : public Inode {
 public:
  AnonInode()
      : Inode(base::AdoptRef(new fs::MountSource(
                  nullptr, {}, fs::CachePolicy::kKeep, "anon_inodefs")),
              fs::StableAttr{InodeType::kRegular, 0, 0, 0, 4096}) {}
  ErrnoOr<UnstableAttr> GetAttr(const context::Context&) override {
    UnstableAttr a;
    a.perms = 0600;
    return a;
  }
};

// fs/namei.c:may_create_in_sticky, for an O_CREAT open of the existing
// entry d: in a sticky world-writable directory, a file owned neither by
// the directory's owner nor by the opener is refused (EACCES, root
// included). fs.protected_regular and fs.protected_fifos are 0 here (as on
// the machines this is compared with), which exempts regular files and
// FIFOs, before the directory is even looked at; every other type is
// covered whatever they say.
Errno MayOpenInSticky(const context::Context& ctx, Dirent* d) {
  Inode* in = d->inode();
  if (in->IsRegular() || in->type() == InodeType::kFifo) return Errno();
  RefPtr<Dirent> dir = d->parent();
  if (!dir) return Errno();
  ASSIGN_OR_RETURN(fs::AccessAttr da, dir->inode()->GetAccessAttr(ctx));
  if (!(da.perms & S_ISVTX)) return Errno();
  ASSIGN_OR_RETURN(fs::AccessAttr a, in->GetAccessAttr(ctx));
  if (a.uid == da.uid || a.uid == ctx.creds().fsuid) return Errno();
  if (da.perms & 0002) return Errno(EACCES);
  return Errno();
}

void NotifyChild(const Path& parent, Inode* child, uint32_t mask,
                 std::string_view name, uint32_t cookie = 0) {
  Inode* pin = parent.dirent ? parent.inode() : nullptr;
  if ((pin && pin->watches_if_any()) || (child && child->watches_if_any())) {
    fs::NotifyEvent(pin, child, mask, name, cookie);
  }
}

// Notifies an event on the object p (and its parent's watches).
void NotifyPath(const Path& p, uint32_t mask) {
  // The parent costs a lock and a reference: only while anything watches.
  if (!Inode::AnyWatched()) return;
  Inode* in = p.inode();
  RefPtr<Dirent> parent = p.dirent->IsRoot() ? nullptr : p.dirent->parent();
  Inode* pin = parent ? parent->inode() : nullptr;
  if (in->watches_if_any() || (pin && pin->watches_if_any())) {
    fs::NotifyEvent(pin, in, mask, p.dirent->name());
  }
}

}  // namespace

// ---- FDTable.

FDTable::~FDTable() {
  RemoveAll();
  // Nobody may call Get on a table being destroyed.
  delete published_.load(std::memory_order_acquire);
}

void FDTable::EnsureLocked(int fd) {
  const size_t need = static_cast<size_t>(fd) + 1;
  if (slots_.size() < need) {
    slots_.resize(need);
    used_.resize((need + 63) / 64);
  }
  Published* old = published_.load(std::memory_order_relaxed);
  if (old != nullptr && old->size >= need) return;
  constexpr size_t kMinPublished = 16;
  size_t n = std::max(need, kMinPublished);
  if (old != nullptr) n = std::max(n, 2 * old->size);
  auto* fresh = new Published(n);
  if (old != nullptr) {
    for (size_t i = 0; i < old->size; ++i) {
      fresh->files[i].store(old->files[i].load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
    }
  }
  published_.store(fresh, std::memory_order_seq_cst);
  if (old != nullptr) {
    fs::epoch::Retire(old, [](void* p) { delete static_cast<Published*>(p); });
  }
}

RefPtr<File> FDTable::SetLocked(int fd, RefPtr<File> f) {
  // Published before the old file's reference goes (the caller drops it),
  // so a File nobody holds is unreachable for Get, as epoch::Retire needs:
  // that store is seq_cst (epoch's pairing with ReadGuard). Filling an
  // empty slot unlinks nothing and only publishes f (a plain store on x86,
  // where seq_cst would be a locked exchange on every open).
  std::atomic<File*>& slot =
      published_.load(std::memory_order_relaxed)->files[fd];
  const uint64_t bit = uint64_t{1} << (fd % 64);
  if (f != nullptr) {
    used_[fd / 64] |= bit;
  } else {
    used_[fd / 64] &= ~bit;
    next_fd_ = std::min(next_fd_, fd);
  }
  if (slots_[fd].file == nullptr) {
    slot.store(f.get(), std::memory_order_release);
    slots_[fd].file = std::move(f);
    return nullptr;
  }
  slot.store(f.get(), std::memory_order_seq_cst);
  return std::exchange(slots_[fd].file, std::move(f));
}

int FDTable::LowestFreeLocked(int from) const {
  size_t w = static_cast<size_t>(from) / 64;
  if (w >= used_.size()) return from;
  uint64_t free_bits = ~used_[w] & (~uint64_t{0} << (from % 64));
  while (free_bits == 0) {
    if (++w == used_.size()) return static_cast<int>(w * 64);
    free_bits = ~used_[w];
  }
  return static_cast<int>(w * 64) + std::countr_zero(free_bits);
}

ErrnoOr<int> FDTable::Install(RefPtr<File> f, bool cloexec, int min_fd) {
  base::SpinLockHolder l(&mu_);
  const int limit = limit_.load(std::memory_order_relaxed);
  if (min_fd < 0 || min_fd >= limit) return Errno(EINVAL);
  // Every number below next_fd_ is taken.
  const bool from_hint = min_fd <= next_fd_;
  const int fd = LowestFreeLocked(from_hint ? next_fd_ : min_fd);
  if (fd >= limit) return Errno(EMFILE);
  EnsureLocked(fd);
  SetLocked(fd, std::move(f));
  slots_[fd].cloexec = cloexec;
  if (from_hint) next_fd_ = fd + 1;
  return fd;
}

ErrnoOr<RefPtr<File>> FDTable::InstallAt(RefPtr<File> f, int fd, bool cloexec) {
  base::SpinLockHolder l(&mu_);
  if (fd < 0 || fd >= limit()) return Errno(EBADF);
  EnsureLocked(fd);
  RefPtr<File> old = SetLocked(fd, std::move(f));
  slots_[fd].cloexec = cloexec;
  return old;
}

ErrnoOr<RefPtr<File>> FDTable::Get(int fd) const {
  fs::epoch::ReadGuard g;
  for (;;) {
    const Published* t = published_.load(std::memory_order_acquire);
    if (fd < 0 || t == nullptr || static_cast<size_t>(fd) >= t->size) {
      return Errno(EBADF);
    }
    File* f = t->files[fd].load(std::memory_order_acquire);
    if (f == nullptr) return Errno(EBADF);
    // The guard keeps f's memory; a count of zero means it was closed as
    // we looked, and a changed slot that it was replaced: look again, so
    // the file returned was at fd at one instant after the call began.
    // seq_cst: the re-check pairs with Task::ReleaseFile's
    // DecRefUnreachable after a removal's seq_cst store.
    if (!f->TryIncRef()) continue;
    if (published_.load(std::memory_order_seq_cst) == t &&
        t->files[fd].load(std::memory_order_seq_cst) == f) {
      return RefPtr<File>::Adopt(f);
    }
    f->DecRef();
  }
}

File* FDTable::Peek(int fd) const {
  const Published* t = published_.load(std::memory_order_acquire);
  if (fd < 0 || t == nullptr || static_cast<size_t>(fd) >= t->size) {
    return nullptr;
  }
  return t->files[fd].load(std::memory_order_acquire);
}

File* FDTable::Borrow(int fd) const {
  File* f = Peek(fd);
  if (f == nullptr || !f->borrowable_io()) return nullptr;
  // A close racing the I/O runs the last reference's work at once, not
  // after the I/O as on Linux (which holds a reference across it). That
  // work releases flock and OFD locks: where the inode has ever had any,
  // take a reference instead, so no other lock owner can get in mid-I/O.
  Inode* in = f->inode();
  if (in->posix_locks_if_any() != nullptr ||
      in->flock_locks_if_any() != nullptr) {
    return nullptr;
  }
  return f;
}

ErrnoOr<RefPtr<File>> FDTable::Remove(int fd) {
  base::SpinLockHolder l(&mu_);
  if (fd < 0 || fd >= static_cast<int>(slots_.size()) || !slots_[fd].file) {
    return Errno(EBADF);
  }
  return SetLocked(fd, nullptr);
}

ErrnoOr<bool> FDTable::GetCloexec(int fd) const {
  base::SpinLockHolder l(&mu_);
  if (fd < 0 || fd >= static_cast<int>(slots_.size()) || !slots_[fd].file) {
    return Errno(EBADF);
  }
  return slots_[fd].cloexec;
}

Errno FDTable::SetCloexec(int fd, bool cloexec) {
  base::SpinLockHolder l(&mu_);
  if (fd < 0 || fd >= static_cast<int>(slots_.size()) || !slots_[fd].file) {
    return Errno(EBADF);
  }
  slots_[fd].cloexec = cloexec;
  return Errno();
}

std::vector<int> FDTable::Fds() const {
  base::SpinLockHolder l(&mu_);
  std::vector<int> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].file) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<RefPtr<File>> FDTable::RemoveAll() {
  base::SpinLockHolder l(&mu_);
  std::vector<RefPtr<File>> out;
  for (size_t fd = 0; fd < slots_.size(); ++fd) {
    if (slots_[fd].file)
      out.push_back(SetLocked(static_cast<int>(fd), nullptr));
  }
  slots_.clear();
  used_.clear();
  next_fd_ = 0;
  return out;
}

// ---- Task.

Task::Task(RefPtr<fs::MountNamespace> ns, auth::Credentials creds, int32_t pid)
    : ns_(std::move(ns)),
      ctx_(std::move(creds), &context::RealtimeClock(), pid) {
  fds_.set_limit(static_cast<int>(rlimits_[RLIMIT_NOFILE].cur));
  ctx_.set_file_size_limit(rlimits_[RLIMIT_FSIZE].cur);
  base::MutexLock l(&fs_mu_);
  Path root = ns_->Root();
  PublishViewLocked(root, root);
}

Task::~Task() {
  for (RefPtr<File>& f : fds_.RemoveAll()) ReleaseFile(std::move(f));
  // No reader is left (a Task is not destroyed while in use), so the view
  // goes at once.
  delete view_.exchange(nullptr);
}

void Task::PublishViewLocked(Path root, Path cwd) {
  const FsView* old = view_.exchange(
      new FsView{std::move(root), std::move(cwd)}, std::memory_order_acq_rel);
  if (old != nullptr) {
    fs::epoch::Retire(const_cast<FsView*>(old),
                      [](void* v) { delete static_cast<FsView*>(v); });
  }
}

// Copies of the view's Paths: the view holds references while a guard
// can see it, so taking more is safe.
Path Task::root() const {
  fs::epoch::ReadGuard guard;
  return view_.load(std::memory_order_acquire)->root;
}

Path Task::cwd() const {
  fs::epoch::ReadGuard guard;
  return view_.load(std::memory_order_acquire)->cwd;
}

Errno Task::RootAndStart(int dirfd, const char* path, Path* root, Path* start) {
  if (path[0] == '/' || dirfd == AT_FDCWD) {
    // One view for both (a start of "/" is the root itself).
    fs::epoch::ReadGuard guard;
    const FsView* v = view_.load(std::memory_order_acquire);
    *root = v->root;
    if (path[0] != '/') *start = v->cwd;
    return Errno();
  }
  ASSIGN_OR_RETURN(RefPtr<File> f, fds_.Get(dirfd));
  *start = Path{f->mount_ref(), f->dirent_ref()};
  *root = this->root();
  return Errno();
}

uint32_t Task::umask() const {
  base::MutexLock l(&fs_mu_);
  return umask_;
}

// f: a file just removed from a descriptor table (or the table's last
// reference otherwise), whose count is then usually 1.
void Task::ReleaseFile(RefPtr<File> f) {
  if (!f) return;
  // Closing any descriptor of a file drops the process's record locks.
  if (Inode* in = f->inode()) {
    if (fs::lock::PosixLocks* pl = in->posix_locks_if_any()) {
      pl->UnlockAll(reinterpret_cast<fs::lock::OwnerId>(this));
      // The last reference to the description drops its OFD locks.
      if (f->ReadRefs() == 1) {
        pl->UnlockAll(reinterpret_cast<fs::lock::OwnerId>(f.get()));
      }
    }
  }
  // The table's slot no longer holds f (its removal was a seq_cst store)
  // and FDTable::Get, File's only TryIncRef, re-checks the slot after it:
  // so the common last reference goes without a locked decrement.
  f.release()->DecRefUnreachable();
}

ErrnoOr<Path> Task::ResolveAt(int dirfd, const char* path, bool follow,
                              bool empty_path_ok, bool must_be_dir) {
  if (path == nullptr) return Errno(EFAULT);
  if (path[0] == '\0') {
    if (!empty_path_ok) return Errno(ENOENT);
    if (dirfd == AT_FDCWD) return cwd();
    ASSIGN_OR_RETURN(RefPtr<File> f, fds_.Get(dirfd));
    return Path{f->mount_ref(), f->dirent_ref()};
  }
  if (path[0] == '/' || dirfd == AT_FDCWD) {
    // Cached kKeep paths: walked in a guard, one reference taken at the
    // end (see StatInGuard); anything else goes the locked way below.
    fs::epoch::ReadGuard guard;
    const FsView* v = view_.load(std::memory_order_acquire);
    const Path& start = path[0] == '/' ? v->root : v->cwd;
    Dirent* d = fs::ResolveInGuard(ctx_, start.dirent.get(), path, follow);
    if (d != nullptr && (!must_be_dir || d->inode()->IsDir()) &&
        d->TryIncRef()) {
      return Path{start.mount, base::AdoptRef(d)};
    }
  }
  Path root, start;
  RETURN_IF_ERRNO(RootAndStart(dirfd, path, &root, &start));
  if (path[0] != '/' && !start.inode()->IsDir()) return Errno(ENOTDIR);
  fs::ResolveOptions o;
  o.follow_final_symlink = follow;
  o.must_be_dir = must_be_dir;
  return ns_->Resolve(ctx_, root, path[0] == '/' ? root : start, path, o);
}

ErrnoOr<fs::ParentAndName> Task::ResolveParentAt(int dirfd, const char* path) {
  if (path == nullptr) return Errno(EFAULT);
  if (path[0] == '\0') return Errno(ENOENT);
  Path root, start;
  RETURN_IF_ERRNO(RootAndStart(dirfd, path, &root, &start));
  if (path[0] != '/' && !start.inode()->IsDir()) return Errno(ENOTDIR);
  ASSIGN_OR_RETURN(
      fs::ParentAndName pn,
      ns_->ResolveParent(ctx_, root, path[0] == '/' ? root : start, path));
  // The parent needs search permission for the last lookup.
  RETURN_IF_ERRNO(Permission(ctx_, pn.parent.inode(), linux_abi::MAY_EXEC));
  return pn;
}

long Task::InstallFile(RefPtr<File> f, bool cloexec) {
  auto fd = fds_.Install(std::move(f), cloexec);
  if (!fd.ok()) return R(fd);
  return *fd;
}

ErrnoOr<RefPtr<File>> Task::OpenPath(Path p, int flags) {
  Inode* in = p.inode();
  if (flags & O_PATH) {
    return base::MakeRef<File>(
        std::move(p.mount), std::move(p.dirent),
        flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
        fs::FileOpsPtr(new fs::FileOperations()));
  }
  if ((in->type() == InodeType::kCharDevice ||
       in->type() == InodeType::kBlockDevice) &&
      (p.mount->flags().no_dev || in->mount_source()->flags().no_dev)) {
    return Errno(EACCES);
  }
  ASSIGN_OR_RETURN(fs::FileOpsPtr ops, in->Open(ctx_, flags));
  return base::MakeRef<File>(std::move(p.mount), std::move(p.dirent),
                             flags | kOLargefile, std::move(ops));
}

long Task::Openat(int dirfd, const char* path, int flags, mode_t mode) {
  if (path == nullptr) return -EFAULT;
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    return OpenTmpfile(dirfd, path, flags, mode);
  }
  // build_open_flags: O_CREAT with O_DIRECTORY is refused outright.
  if ((flags & O_CREAT) && (flags & O_DIRECTORY) && !(flags & O_PATH)) {
    return -EINVAL;
  }
  if (flags & O_PATH) {
    flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  }
  Path p;
  bool created = false;
  if (flags & O_CREAT) {
    SYS_ASSIGN(fs::ParentAndName pn, ResolveParentAt(dirfd, path));
    if (pn.name.empty() || IsDots(pn.name)) {
      // "/" , "." or "..": an existing directory.
      return (flags & O_EXCL) ? -EEXIST : -EISDIR;
    }
    if (pn.trailing_slash) return -EISDIR;
    SYS_ASSIGN(RefPtr<Dirent> child, pn.parent.dirent->Walk(ctx_, pn.name));
    if (!child->negative()) {
      if (flags & O_EXCL) return -EEXIST;
      Path cp = ns_->CrossMountsDown(Path{pn.parent.mount, child});
      if (cp.inode()->IsSymlink()) {
        if (flags & O_NOFOLLOW) {
          // do_open: the sticky-directory rule comes before may_open's
          // ELOOP for the symlink itself.
          SYS_TRY(MayOpenInSticky(ctx_, cp.dirent.get()));
          return -ELOOP;
        }
        int budget = linux_abi::kMaxSymlinkTraversals;
        fs::ResolveOptions o;
        o.allow_negative_final = true;
        // A link (or a link it names, as the last component) whose body
        // ends in '/': EISDIR (open_last_lookups), once the rest resolves.
        o.create = true;
        SYS_ASSIGN(cp, ns_->FollowSymlink(ctx_, root(), cp, &budget, o));
        if (cp.dirent->negative()) {
          // A dangling symlink: create its target (not with O_EXCL).
          RefPtr<Dirent> target_parent = cp.dirent->parent();
          Path tp{cp.mount, target_parent};
          std::string tname = cp.dirent->name();
          pn.parent = tp;
          pn.name = tname;
          child = cp.dirent;
        }
      }
      if (!cp.dirent->negative()) {
        if (cp.inode()->IsDir()) return -EISDIR;
        SYS_TRY(MayOpenInSticky(ctx_, cp.dirent.get()));
        p = std::move(cp);
      }
    }
    if (!p.valid()) {
      // Create it.
      if (pn.parent.mount->ReadOnly()) return -EROFS;
      SYS_TRY(Permission(ctx_, pn.parent.inode(),
                         linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
      SYS_ASSIGN(UnstableAttr pa, pn.parent.inode()->GetAttr(ctx_));
      fs::CreateSpec spec = fs::OwnerForNew(
          ctx_.creds(), pa, S_IFREG | (mode & 07777 & ~umask()));
      SYS_ASSIGN(RefPtr<Dirent> d,
                 pn.parent.dirent->Create(ctx_, pn.name, spec));
      NotifyChild(pn.parent, d->inode(), IN_CREATE, pn.name);
      p = Path{pn.parent.mount, std::move(d)};
      created = true;
    }
  } else {
    const bool follow = !(flags & O_NOFOLLOW);
    auto r = ResolveAt(dirfd, path, follow, false, flags & O_DIRECTORY);
    if (!r.ok()) return R(r);
    p = std::move(*r);
  }
  return OpenResolved(std::move(p), flags, created);
}

long Task::OpenResolved(Path p, int flags, bool created) {
  const int acc = flags & O_ACCMODE;
  // Access mode 3 opens for neither (ioctl-only) but checks both.
  const bool want_write = !(flags & O_PATH) && acc != O_RDONLY;
  const bool want_read = !(flags & O_PATH) && acc != O_WRONLY;
  Inode* in = p.inode();
  if (in->IsSymlink() && !(flags & O_PATH)) return -ELOOP;
  if ((flags & O_DIRECTORY) && !in->IsDir()) return -ENOTDIR;
  if (in->IsDir() && (want_write || (flags & O_TRUNC)) && !(flags & O_PATH)) {
    return -EISDIR;
  }
  if (!created && !(flags & O_PATH)) {
    int may = 0;
    if (want_read) may |= linux_abi::MAY_READ;
    if (want_write || (flags & O_TRUNC)) may |= linux_abi::MAY_WRITE;
    SYS_TRY(Permission(ctx_, in, may));
    if ((want_write || (flags & O_TRUNC)) && p.mount->ReadOnly() &&
        (in->IsRegular() || in->IsDir())) {
      return -EROFS;
    }
  }
  if ((flags & O_NOATIME) && !(flags & O_PATH)) {
    SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
    if (!fs::OwnerOrCapable(ctx_.creds(), a)) return -EPERM;
  }
  // The File takes p's references; what follows uses the File's.
  SYS_ASSIGN(RefPtr<File> f, OpenPath(std::move(p), flags));
  if ((flags & O_TRUNC) && !created && in->IsRegular() && !(flags & O_PATH)) {
    long r = DoTruncate(Path{f->mount_ref(), f->dirent_ref()}, 0, false);
    if (r < 0) return r;
  }
  if (!(flags & O_PATH) && Inode::AnyWatched()) {
    NotifyPath(Path{f->mount_ref(), f->dirent_ref()}, IN_OPEN);
  }
  return InstallFile(std::move(f), flags & O_CLOEXEC);
}

long Task::Reopen(int fd, int flags) {
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) return -EINVAL;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (flags & O_PATH) {
    flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  }
  return OpenResolved(Path{f->mount_ref(), f->dirent_ref()}, flags,
                      /*created=*/false);
}

long Task::OpenTmpfile(int dirfd, const char* path, int flags, mode_t mode) {
  // O_TMPFILE needs write access.
  const int acc = flags & O_ACCMODE;
  if (acc != O_WRONLY && acc != O_RDWR) return -EINVAL;
  if (flags & O_CREAT) return -EINVAL;
  SYS_ASSIGN(Path dir, ResolveAt(dirfd, path, !(flags & O_NOFOLLOW), false,
                                 /*must_be_dir=*/true));
  if (!dir.inode()->IsDir()) return -ENOTDIR;
  SYS_TRY(Permission(ctx_, dir.inode(),
                     linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
  if (dir.mount->ReadOnly()) return -EROFS;
  SYS_ASSIGN(UnstableAttr da, dir.inode()->GetAttr(ctx_));
  fs::CreateSpec spec =
      fs::OwnerForNew(ctx_.creds(), da, S_IFREG | (mode & 07777 & ~umask()));
  SYS_ASSIGN(RefPtr<Inode> in,
             dir.inode()->CreateTmpfile(ctx_, spec, !(flags & O_EXCL)));
  // Linux names such a file "#<ino>" in its directory, always deleted.
  std::string name = "#" + std::to_string(in->stable_attr().ino);
  RefPtr<Dirent> d = Dirent::NewDetached(std::move(in), name, dir.dirent);
  Path p{dir.mount, std::move(d)};
  SYS_ASSIGN(RefPtr<File> f,
             OpenPath(std::move(p), flags & ~(O_TMPFILE | O_EXCL | O_CREAT)));
  return InstallFile(std::move(f), flags & O_CLOEXEC);
}

long Task::Close(int fd) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Remove(fd));
  ReleaseFile(std::move(f));
  return 0;
}

long Task::Dup(int fd) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  return InstallFile(std::move(f), false);
}

long Task::Dup3(int oldfd, int newfd, int flags) {
  if (flags & ~O_CLOEXEC) return -EINVAL;
  if (oldfd == newfd) return -EINVAL;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(oldfd));
  SYS_ASSIGN(RefPtr<File> old,
             fds_.InstallAt(std::move(f), newfd, flags & O_CLOEXEC));
  ReleaseFile(std::move(old));
  return newfd;
}

long Task::Read(int fd, void* buf, size_t count) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (!f->readable()) return -EBADF;
  auto n = f->Read(ctx_, fs::IOSequence(buf, std::min(count, kMaxRwCount)));
  return SizeResult(n);
}

long Task::Write(int fd, const void* buf, size_t count) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (!f->writable()) return -EBADF;
  auto n = f->Write(
      ctx_, fs::IOSequence::FromConst(buf, std::min(count, kMaxRwCount)));
  return SizeResult(n);
}

namespace {

long PreadFile(const context::Context& ctx, File& f, void* buf, size_t count,
               off_t offset) {
  // ksys_pread64: an unseekable file is ESPIPE before the access check.
  if (f.is_path()) return -EBADF;
  if (!f.seekable()) return -ESPIPE;
  if (!f.readable()) return -EBADF;
  auto n =
      f.Pread(ctx, fs::IOSequence(buf, std::min(count, kMaxRwCount)), offset);
  return SizeResult(n);
}

long PwriteFile(const context::Context& ctx, File& f, const void* buf,
                size_t count, off_t offset) {
  if (f.is_path()) return -EBADF;
  if (!f.seekable()) return -ESPIPE;
  if (!f.writable()) return -EBADF;
  auto n = f.Pwrite(
      ctx, fs::IOSequence::FromConst(buf, std::min(count, kMaxRwCount)),
      offset);
  return SizeResult(n);
}

}  // namespace

// A memory-backed file is used borrowed, inside one epoch guard, instead
// of a reference taken and dropped (two atomic read-modify-writes on the
// File's line, and a second guard). A close racing the I/O then runs the
// last-reference work (flock release, IN_CLOSE, Release, a no-op for these
// files) before the I/O ends rather than after; the I/O is linearized
// before the close, so it is what a reference would have shown, except
// that inotify would order IN_CLOSE before IN_ACCESS/IN_MODIFY: so only
// while no inode anywhere is watched.
namespace {
// Runs io on fd's file, borrowed where the comment above allows, else
// under a reference (pread and pwrite alike).
template <typename IO>
long WithFile(const FDTable& fds, int fd, IO io) {
  {
    fs::epoch::ReadGuard guard;
    if (File* f = fds.Borrow(fd); f != nullptr && !Inode::AnyWatched()) {
      return io(*f);
    }
  }
  SYS_ASSIGN(RefPtr<File> f, fds.Get(fd));
  return io(*f);
}
}  // namespace

long Task::Pread64(int fd, void* buf, size_t count, off_t offset) {
  if (offset < 0) return -EINVAL;  // ksys_pread64 checks before the fd
  return WithFile(fds_, fd, [&](File& f) {
    return PreadFile(ctx_, f, buf, count, offset);
  });
}

long Task::Pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  if (offset < 0) return -EINVAL;  // ksys_pwrite64 checks before the fd
  return WithFile(fds_, fd, [&](File& f) {
    return PwriteFile(ctx_, f, buf, count, offset);
  });
}

long Task::Readv(int fd, const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > kMaxIov) return -EINVAL;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (!f->readable()) return -EBADF;
  auto n = f->Read(ctx_, fs::IOSequence(iov, iovcnt));
  return SizeResult(n);
}

long Task::Writev(int fd, const struct iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > kMaxIov) return -EINVAL;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (!f->writable()) return -EBADF;
  auto n = f->Write(ctx_, fs::IOSequence(iov, iovcnt));
  return SizeResult(n);
}

long Task::Lseek(int fd, off_t offset, int whence) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  auto r = f->Seek(ctx_, offset, whence);
  if (!r.ok()) return R(r);
  return *r;
}

namespace {
// Zeroes *st in 16-byte pieces, each its own fixed-size memset (a couple
// of vector stores). GCC turns one memset of the whole 144-byte struct
// into `rep stosq`, whose start-up cost was a quarter of a lock-free stat
// on this AMD CPU (about 10 ns); separate pieces, with no loop to
// recognize as a memset, it does not merge back.
template <size_t... I>
void ZeroInPieces(char* p, std::index_sequence<I...>) {
  ((void)std::memset(p + I * 16, 0, 16), ...);
}
void ZeroStat(struct stat* st) {
  static_assert(sizeof(struct stat) % 16 == 0);
  ZeroInPieces(reinterpret_cast<char*>(st),
               std::make_index_sequence<sizeof(struct stat) / 16>());
}

void FillStat(Inode* in, const UnstableAttr& a, struct stat* st) {
  ZeroStat(st);
  const fs::StableAttr& s = in->stable_attr();
  st->st_dev = s.dev;
  st->st_ino = s.ino;
  st->st_nlink = a.nlink;
  st->st_mode = ModeOf(in, a);
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_rdev = s.rdev;
  st->st_size = a.size;
  st->st_blksize = s.block_size;
  st->st_blocks = (a.usage + 511) / 512;
  st->st_atim = {a.atime.tv_sec, a.atime.tv_nsec};
  st->st_mtim = {a.mtime.tv_sec, a.mtime.tv_nsec};
  st->st_ctim = {a.ctime.tv_sec, a.ctime.tv_nsec};
}
// stat(2)'s result from in's attributes where GetAttrInGuard has them;
// false where GetAttr must be called outside the caller's guard.
bool StatInodeInGuard(const context::Context& ctx, Inode* in, struct stat* st) {
  fs::UnfilledAttr storage;
  UnstableAttr* a = storage.get();
  if (!in->GetAttrInGuard(ctx, a)) return false;
  FillStat(in, *a, st);
  return true;
}
}  // namespace

long Task::DoStat(Inode* in, struct stat* st) {
  SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
  FillStat(in, a, st);
  return 0;
}

bool Task::StatInGuard(const char* path, bool follow, struct stat* st,
                       long* ret) {
  RefPtr<Dirent> found;  // where the attributes need GetAttr
  {
    fs::epoch::ReadGuard guard;
    const FsView* v = view_.load(std::memory_order_acquire);
    const Path& start = path[0] == '/' ? v->root : v->cwd;
    Dirent* d = fs::ResolveInGuard(ctx_, start.dirent.get(), path, follow);
    if (d == nullptr) return false;
    if (StatInodeInGuard(ctx_, d->inode(), st)) {
      *ret = 0;
      return true;
    }
    if (!d->TryIncRef()) return false;
    found = base::AdoptRef(d);
  }
  auto a = found->inode()->GetAttr(ctx_);
  if (!a.ok()) {
    *ret = a.error().AsSyscallResult();
    return true;
  }
  FillStat(found->inode(), *a, st);
  *ret = 0;
  return true;
}

long Task::Fstat(int fd, struct stat* st) {
  {
    // No reference: a close meanwhile retires the File, which keeps its
    // dirent and inode until the guard ends, and the stat is ordered
    // before that close.
    fs::epoch::ReadGuard guard;
    if (File* f = fds_.Peek(fd);
        f != nullptr && StatInodeInGuard(ctx_, f->inode(), st)) {
      return 0;
    }
  }
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  return DoStat(f->inode(), st);
}

long Task::Fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) {
    return -EINVAL;
  }
  long ret;
  if (path != nullptr && path[0] != '\0' &&
      (path[0] == '/' || dirfd == AT_FDCWD) &&
      StatInGuard(path, !(flags & AT_SYMLINK_NOFOLLOW), st, &ret)) {
    return ret;
  }
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
                               flags & AT_EMPTY_PATH));
  return DoStat(p.inode(), st);
}

namespace {
void FillStatfs(const Path& p, const linux_abi::Statfs& in, struct statfs* st) {
  std::memset(st, 0, sizeof(*st));
  st->f_type = in.f_type;
  st->f_bsize = in.f_bsize;
  st->f_blocks = in.f_blocks;
  st->f_bfree = in.f_bfree;
  st->f_bavail = in.f_bavail;
  st->f_files = in.f_files;
  st->f_ffree = in.f_ffree;
  uint64_t dev = p.inode()->stable_attr().dev;
  st->f_fsid.__val[0] = static_cast<int>(dev & 0xffffffff);
  st->f_fsid.__val[1] = static_cast<int>(dev >> 32);
  st->f_namelen = in.f_namelen;
  st->f_frsize = in.f_frsize;
  fs::MountFlags mf = p.mount->flags();
  fs::MountSourceFlags sf = p.inode()->mount_source()->flags();
  int64_t fl = linux_abi::kStValid;
  if (mf.read_only || sf.read_only) fl |= ST_RDONLY;
  if (mf.no_suid || sf.no_suid) fl |= ST_NOSUID;
  if (mf.no_dev || sf.no_dev) fl |= ST_NODEV;
  if (mf.no_exec || sf.no_exec) fl |= ST_NOEXEC;
  if (mf.no_atime || sf.no_atime)
    fl |= ST_NOATIME;
  else if (!sf.strict_atime)
    fl |= ST_RELATIME;
  st->f_flags = fl;
}
}  // namespace

long Task::Statfs(const char* path, struct statfs* st) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  SYS_ASSIGN(linux_abi::Statfs s, p.inode()->StatFS(ctx_));
  FillStatfs(p, s, st);
  return 0;
}

long Task::Fstatfs(int fd, struct statfs* st) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  Path p{f->mount_ref(), f->dirent_ref()};
  SYS_ASSIGN(linux_abi::Statfs s, p.inode()->StatFS(ctx_));
  FillStatfs(p, s, st);
  return 0;
}

long Task::Getdents64(int fd, void* buf, size_t count) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  auto n = f->Getdents64(ctx_, static_cast<char*>(buf),
                         std::min(count, kMaxRwCount));
  return SizeResult(n);
}

long Task::DoSetAttr(const Path& p, const AttrChange& ch) {
  SYS_TRY(p.inode()->SetAttr(ctx_, ch));
  NotifyPath(p, IN_ATTRIB);
  return 0;
}

long Task::DoTruncate(const Path& p, off_t length, bool through_fd) {
  if (length < 0) return -EINVAL;
  Inode* in = p.inode();
  if (in->IsDir()) return -EISDIR;
  if (!in->IsRegular()) return -EINVAL;
  SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
  // inode_newsize_ok: RLIMIT_FSIZE bounds growth only.
  if (length > a.size &&
      static_cast<uint64_t>(length) > ctx_.file_size_limit()) {
    return -EFBIG;
  }
  AttrChange ch;
  ch.size = length;
  ch.mtime = ctx_.Now();
  if (auto perms = fs::PermsAfterWrite(ctx_.creds(), a, in->type())) {
    ch.perms = *perms;
  }
  SYS_TRY(in->SetAttr(ctx_, ch));
  NotifyPath(p, IN_MODIFY);
  return 0;
}

long Task::Truncate(const char* path, off_t length) {
  return Truncateat(AT_FDCWD, path, length, 0);
}

long Task::Truncateat(int dirfd, const char* path, off_t length, int flags) {
  if (flags & ~AT_EMPTY_PATH) return -EINVAL;
  if (length < 0) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, true, flags & AT_EMPTY_PATH));
  if (p.inode()->IsDir()) return -EISDIR;
  if (!p.inode()->IsRegular()) return -EINVAL;
  SYS_TRY(Permission(ctx_, p.inode(), linux_abi::MAY_WRITE));
  if (p.mount->ReadOnly()) return -EROFS;
  return DoTruncate(p, length, false);
}

long Task::Ftruncate(int fd, off_t length) {
  if (length < 0) return -EINVAL;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  if (!f->inode()->IsRegular() || !f->writable()) return -EINVAL;
  if (f->mount()->ReadOnly()) return -EROFS;
  return DoTruncate(Path{f->mount_ref(), f->dirent_ref()}, length, true);
}

long Task::Fallocate(int fd, int mode, off_t offset, off_t len) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  if (offset < 0 || len <= 0) return -EINVAL;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
               FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
               FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)) {
    return -EOPNOTSUPP;
  }
  if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)) {
    return -EOPNOTSUPP;
  }
  if (!f->writable()) return -EBADF;
  Inode* in = f->inode();
  // vfs_fallocate's order: a pipe is ESPIPE before a directory's EISDIR.
  if (in->type() == InodeType::kFifo) return -ESPIPE;
  if (in->IsDir()) return -EISDIR;
  if (!in->IsRegular()) return -ENODEV;
  if (f->mount()->ReadOnly()) return -EROFS;
  if (static_cast<uint64_t>(offset) + static_cast<uint64_t>(len) >
      static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return -EFBIG;
  }
  // inode_newsize_ok's RLIMIT_FSIZE check (KEEP_SIZE too; not for a
  // punched hole; only past the file's size) comes before
  // shmem_fallocate's file_modified, which, as a write, drops
  // setuid/setgid.
  if (const uint64_t end =
          static_cast<uint64_t>(offset) + static_cast<uint64_t>(len);
      !(mode & FALLOC_FL_PUNCH_HOLE) && end > ctx_.file_size_limit()) {
    SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
    if (end > static_cast<uint64_t>(a.size)) return -EFBIG;
  }
  SYS_TRY(fs::RemovePrivsForWrite(ctx_, in));
  SYS_TRY(in->Allocate(ctx_, mode, offset, len));
  NotifyPath(Path{f->mount_ref(), f->dirent_ref()}, IN_MODIFY);
  return 0;
}

long Task::Fsync(int fd) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return R(f->ops().Fsync(ctx_, *f));
}

long Task::Fdatasync(int fd) { return Fsync(fd); }

long Task::DoPosixLock(const RefPtr<File>& f, int cmd, struct flock* fl) {
  if (fl == nullptr) return -EFAULT;
  if (f->is_path()) return -EBADF;
  Inode* in = f->inode();
  int64_t size = 0;
  if (fl->l_whence == SEEK_END) {
    SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
    size = a.size;
  }
  SYS_ASSIGN(fs::lock::LockRange range,
             fs::lock::ComputeRange(fl->l_whence, fl->l_start, fl->l_len,
                                    f->offset(), size));
  // Open file description locks (F_OFD_*) belong to the File, not the
  // process, and must be asked for with l_pid 0.
  const bool ofd =
      cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd && fl->l_pid != 0) return -EINVAL;
  auto owner = ofd ? reinterpret_cast<fs::lock::OwnerId>(f.get())
                   : reinterpret_cast<fs::lock::OwnerId>(this);
  const auto kind =
      ofd ? fs::lock::OwnerKind::kOpenFile : fs::lock::OwnerKind::kProcess;
  if (cmd == F_OFD_GETLK) cmd = F_GETLK;
  if (cmd == F_OFD_SETLK) cmd = F_SETLK;
  if (cmd == F_OFD_SETLKW) cmd = F_SETLKW;
  if (cmd == F_GETLK) {
    // F_UNLCK asks an open file description for its own locks on the
    // range (Linux 6.7 and later); with F_GETLK it is EINVAL.
    const bool own = fl->l_type == F_UNLCK && ofd;
    if (!own && fl->l_type != F_RDLCK && fl->l_type != F_WRLCK) return -EINVAL;
    auto c = own ? in->posix_locks().TestOwn(owner, range)
                 : in->posix_locks().Test(owner,
                                          fl->l_type == F_RDLCK
                                              ? fs::lock::LockType::kRead
                                              : fs::lock::LockType::kWrite,
                                          range);
    if (!c) {
      fl->l_type = F_UNLCK;
      return 0;
    }
    fl->l_type = c->type == fs::lock::LockType::kRead ? F_RDLCK : F_WRLCK;
    fl->l_whence = SEEK_SET;
    fl->l_start = static_cast<off_t>(c->range.start);
    fl->l_len = fs::lock::FlockLen(c->range);
    fl->l_pid = c->pid;  // -1 for an open file description's lock
    return 0;
  }
  switch (fl->l_type) {
    case F_UNLCK:
      in->posix_locks().Unlock(owner, range);
      return 0;
    case F_RDLCK:
      if (!f->readable()) return -EBADF;
      break;
    case F_WRLCK:
      if (!f->writable()) return -EBADF;
      break;
    default:
      return -EINVAL;
  }
  return R(
      in->posix_locks().Lock(owner, ofd ? -1 : ctx_.pid(),
                             fl->l_type == F_RDLCK ? fs::lock::LockType::kRead
                                                   : fs::lock::LockType::kWrite,
                             range, cmd == F_SETLKW, ctx_.interrupted(), kind));
}

long Task::Fcntl(int fd, int cmd, unsigned long arg) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      // f_dupfd takes the argument as an unsigned int.
      const unsigned from = static_cast<unsigned>(arg);
      if (from >= static_cast<unsigned>(fds_.limit())) return -EINVAL;
      auto r = fds_.Install(f, cmd == F_DUPFD_CLOEXEC, static_cast<int>(from));
      if (!r.ok()) return R(r);
      return *r;
    }
    case F_GETFD: {
      SYS_ASSIGN(bool c, fds_.GetCloexec(fd));
      return c ? FD_CLOEXEC : 0;
    }
    case F_SETFD:
      return R(fds_.SetCloexec(fd, arg & FD_CLOEXEC));
    case F_GETFL:
      return f->flags() & ~O_CLOEXEC;
    case F_SETFL:
      if (f->is_path()) return -EBADF;
      if ((arg & O_NOATIME) && !(f->flags() & O_NOATIME)) {
        SYS_ASSIGN(UnstableAttr a, f->inode()->GetAttr(ctx_));
        if (!fs::OwnerOrCapable(ctx_.creds(), a)) return -EPERM;
      }
      f->SetStatusFlags(static_cast<int>(arg));
      return 0;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      return DoPosixLock(f, cmd, reinterpret_cast<struct flock*>(arg));
    default:
      return -EINVAL;
  }
}

long Task::Ioctl(int fd, unsigned long cmd, unsigned long arg) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  switch (cmd) {
    case FIOCLEX:
      return R(fds_.SetCloexec(fd, true));
    case FIONCLEX:
      return R(fds_.SetCloexec(fd, false));
    case FIONBIO: {
      // do_vfs_ioctl sets or clears O_NONBLOCK for any file.
      if (arg == 0) return -EFAULT;
      int on = *reinterpret_cast<const int*>(arg);
      int fl = f->flags();
      f->SetStatusFlags(on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
      return 0;
    }
    default: {
      auto r = f->ops().Ioctl(ctx_, *f, cmd, arg);
      if (!r.ok()) return R(r);
      return *r;
    }
  }
}

long Task::Flock(int fd, int operation) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  // LOCK_MAND (32) is obsolete; Linux accepts and ignores it.
  if (operation & 32) return 0;
  const bool nb = operation & LOCK_NB;
  auto owner = reinterpret_cast<fs::lock::OwnerId>(f.get());
  switch (operation & ~LOCK_NB) {
    case LOCK_SH:
    case LOCK_EX:
      return R(f->inode()->flock_locks().Lock(
          owner, (operation & ~LOCK_NB) == LOCK_EX, !nb, ctx_.interrupted()));
    case LOCK_UN:
      f->inode()->flock_locks().Unlock(owner);
      return 0;
    default:
      return -EINVAL;
  }
}

// ---- Names.

namespace {

// The checks of fs/namei.c:may_delete for removing `victim` from `dir`.
Errno MayDelete(const context::Context& ctx, Inode* dir, Inode* victim,
                bool want_dir) {
  ASSIGN_OR_RETURN(UnstableAttr da, dir->GetAttr(ctx));
  RETURN_IF_ERRNO(
      fs::GenericPermission(ctx.creds(), InodeType::kDirectory, da,
                            linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
  ASSIGN_OR_RETURN(UnstableAttr va, victim->GetAttr(ctx));
  RETURN_IF_ERRNO(fs::CheckSticky(ctx.creds(), da, va));
  if (want_dir && !victim->IsDir()) return Errno(ENOTDIR);
  if (!want_dir && victim->IsDir()) return Errno(EISDIR);
  return Errno();
}

}  // namespace

long Task::CreateAt(int dirfd, const char* path, uint32_t mode, uint64_t rdev,
                    const char* symlink_target) {
  // filename_create, then may_create: EEXIST before EROFS before EACCES;
  // a trailing slash is only for directories.
  const bool dir = (mode & S_IFMT) == S_IFDIR;
  SYS_ASSIGN(fs::ParentAndName pn, ResolveParentAt(dirfd, path));
  if (pn.name.empty() || IsDots(pn.name)) return -EEXIST;
  SYS_ASSIGN(RefPtr<Dirent> child, pn.parent.dirent->Walk(ctx_, pn.name));
  if (!child->negative()) return -EEXIST;
  if (pn.trailing_slash && !dir) return -ENOENT;
  if (pn.parent.mount->ReadOnly()) return -EROFS;
  SYS_TRY(Permission(ctx_, pn.parent.inode(),
                     linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
  SYS_ASSIGN(UnstableAttr pa, pn.parent.inode()->GetAttr(ctx_));
  fs::CreateSpec spec = fs::OwnerForNew(ctx_.creds(), pa, mode);
  spec.rdev = rdev;
  if (symlink_target) spec.symlink_target = symlink_target;
  SYS_ASSIGN(RefPtr<Dirent> d, pn.parent.dirent->Create(ctx_, pn.name, spec));
  NotifyChild(pn.parent, d->inode(), IN_CREATE, pn.name);
  return 0;
}

long Task::Mkdirat(int dirfd, const char* path, mode_t mode) {
  return CreateAt(dirfd, path, S_IFDIR | (mode & (0777 | S_ISVTX) & ~umask()),
                  0, nullptr);
}

long Task::Mknodat(int dirfd, const char* path, mode_t mode, dev_t dev) {
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  switch (type) {
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
      break;
    case S_IFCHR:
    case S_IFBLK:
      if (!ctx_.creds().HasCapability(CAP_MKNOD)) return -EPERM;
      break;
    case S_IFDIR:
      return -EPERM;
    default:
      return -EINVAL;
  }
  const bool device = type == S_IFCHR || type == S_IFBLK;
  return CreateAt(dirfd, path, type | (mode & 07777 & ~umask()),
                  device ? dev : 0, nullptr);
}

long Task::Symlinkat(const char* target, int newdirfd, const char* linkpath) {
  if (target == nullptr) return -EFAULT;
  if (target[0] == '\0') return -ENOENT;
  if (std::strlen(target) >= static_cast<size_t>(linux_abi::kPathMax)) {
    return -ENAMETOOLONG;
  }
  // A symlink's permission bits are always 0777, whatever the umask.
  return CreateAt(newdirfd, linkpath, S_IFLNK | 0777, 0, target);
}

long Task::Readlinkat(int dirfd, const char* path, char* buf, size_t bufsiz) {
  if (static_cast<ssize_t>(bufsiz) <= 0) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, false, true));
  // do_readlinkat: what an empty path names (dirfd itself) is ENOENT when
  // it is no symlink; a named non-symlink is EINVAL.
  if (!p.inode()->IsSymlink()) return path[0] == '\0' ? -ENOENT : -EINVAL;
  SYS_ASSIGN(std::string t, p.inode()->Readlink(ctx_));
  size_t n = std::min(t.size(), bufsiz);
  std::memcpy(buf, t.data(), n);
  p.inode()->TouchAtime(ctx_, true);
  return static_cast<long>(n);
}

long Task::Unlinkat(int dirfd, const char* path, int flags) {
  if (flags & ~AT_REMOVEDIR) return -EINVAL;
  const bool rmdir = flags & AT_REMOVEDIR;
  SYS_ASSIGN(fs::ParentAndName pn, ResolveParentAt(dirfd, path));
  if (rmdir) {
    if (pn.name.empty()) return -EBUSY;
    if (pn.name == ".") return -EINVAL;
    if (pn.name == "..") return -ENOTEMPTY;
  } else if (pn.name.empty() || IsDots(pn.name)) {
    return -EISDIR;
  }
  if (pn.parent.mount->ReadOnly()) return -EROFS;
  SYS_ASSIGN(RefPtr<Dirent> child, pn.parent.dirent->Walk(ctx_, pn.name));
  if (child->negative()) return -ENOENT;
  if (!rmdir && pn.trailing_slash) {
    return child->inode()->IsDir() ? -EISDIR : -ENOTDIR;
  }
  SYS_TRY(MayDelete(ctx_, pn.parent.inode(), child->inode(), rmdir));
  if (child->mount_count() > 0) return -EBUSY;
  RefPtr<Inode> victim = child->inode_ref();
  SYS_TRY(pn.parent.dirent->Remove(ctx_, pn.name, rmdir));
  // Linux's order: the link count changed (unlink only), the inode is
  // gone if that was its last name, then the directory lost an entry.
  if (!rmdir && victim->watches_if_any()) {
    fs::NotifyEvent(nullptr, victim.get(), IN_ATTRIB, "");
  }
  auto va = victim->GetAttr(ctx_);
  if (va.ok() && (va->nlink == 0 || victim->IsDir())) {
    if (fs::Watches* w = victim->watches_if_any()) w->HandleDeletion();
  }
  NotifyChild(pn.parent, victim.get(), IN_DELETE, pn.name);
  return 0;
}

long Task::Linkat(int olddirfd, const char* oldpath, int newdirfd,
                  const char* newpath, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH unless the caller opened the
  // descriptor itself (Linux 6.10+ compares the file's opener credentials).
  // A Task's descriptors are all its own until FDs can be passed in; that
  // change must add the opener check here.
  SYS_ASSIGN(Path old, ResolveAt(olddirfd, oldpath, flags & AT_SYMLINK_FOLLOW,
                                 flags & AT_EMPTY_PATH));
  SYS_ASSIGN(fs::ParentAndName pn, ResolveParentAt(newdirfd, newpath));
  if (pn.name.empty() || IsDots(pn.name)) return -EEXIST;
  if (old.mount.get() != pn.parent.mount.get()) return -EXDEV;
  if (pn.parent.mount->ReadOnly()) return -EROFS;
  SYS_ASSIGN(RefPtr<Dirent> child, pn.parent.dirent->Walk(ctx_, pn.name));
  if (!child->negative()) return -EEXIST;
  if (pn.trailing_slash) return -ENOENT;
  Inode* target = old.inode();
  // fs.protected_hardlinks: only owners, or those who could read and
  // write a plain file, may link to it.
  {
    SYS_ASSIGN(UnstableAttr ta, target->GetAttr(ctx_));
    if (!fs::OwnerOrCapable(ctx_.creds(), ta)) {
      bool safe =
          target->IsRegular() && !(ta.perms & S_ISUID) &&
          !((ta.perms & S_ISGID) && (ta.perms & S_IXGRP)) &&
          fs::GenericPermission(ctx_.creds(), target->type(), ta,
                                linux_abi::MAY_READ | linux_abi::MAY_WRITE)
              .ok();
      if (!safe) return -EPERM;
    }
  }
  SYS_TRY(Permission(ctx_, pn.parent.inode(),
                     linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
  if (target->IsDir()) return -EPERM;
  SYS_ASSIGN(RefPtr<Dirent> d, pn.parent.dirent->Link(ctx_, pn.name, target));
  NotifyChild(pn.parent, target, IN_CREATE, pn.name);
  if (target->watches_if_any()) {
    fs::NotifyEvent(nullptr, target, IN_ATTRIB, "");
  }
  return 0;
}

long Task::Renameat2(int olddirfd, const char* oldpath, int newdirfd,
                     const char* newpath, unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
    return -EINVAL;
  }
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
  if ((flags & RENAME_WHITEOUT) && (flags & RENAME_EXCHANGE)) return -EINVAL;
  if (flags & RENAME_WHITEOUT) return -EINVAL;  // tmpfs-only; not offered
  SYS_ASSIGN(fs::ParentAndName op, ResolveParentAt(olddirfd, oldpath));
  SYS_ASSIGN(fs::ParentAndName np, ResolveParentAt(newdirfd, newpath));
  if (op.parent.mount.get() != np.parent.mount.get()) return -EXDEV;
  if (op.name.empty() || IsDots(op.name)) return -EBUSY;
  if (np.name.empty() || IsDots(np.name)) {
    return (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
  }
  if (op.parent.mount->ReadOnly()) return -EROFS;
  SYS_ASSIGN(RefPtr<Dirent> src, op.parent.dirent->Walk(ctx_, op.name));
  if (src->negative()) return -ENOENT;
  SYS_ASSIGN(RefPtr<Dirent> dst, np.parent.dirent->Walk(ctx_, np.name));
  const bool exchange = flags & RENAME_EXCHANGE;
  if ((flags & RENAME_NOREPLACE) && !dst->negative()) return -EEXIST;
  if (exchange && dst->negative()) return -ENOENT;
  Inode* si = src->inode();
  Inode* di = dst->negative() ? nullptr : dst->inode();
  // A trailing slash needs a directory on its own side (and, for a plain
  // rename, a directory being moved).
  if (!si->IsDir()) {
    if (op.trailing_slash) return -ENOTDIR;
    if (np.trailing_slash && !exchange) return -ENOTDIR;
  }
  if (exchange && di && !di->IsDir() && np.trailing_slash) return -ENOTDIR;
  {
    // Loops: the trap is the common ancestor lock_rename finds.
    base::ReaderMutexLock rl(&fs::RenameMutex());
    if (si->IsDir() && src->IsAncestorOfLocked(np.parent.dirent.get())) {
      return -EINVAL;
    }
    if (di && dst->IsAncestorOfLocked(op.parent.dirent.get())) {
      return exchange ? -EINVAL : -ENOTEMPTY;
    }
  }
  if (si == di) return 0;
  SYS_TRY(MayDelete(ctx_, op.parent.inode(), si, si->IsDir()));
  if (di) {
    SYS_TRY(MayDelete(ctx_, np.parent.inode(), di,
                      exchange ? di->IsDir() : si->IsDir()));
  } else {
    SYS_TRY(Permission(ctx_, np.parent.inode(),
                       linux_abi::MAY_WRITE | linux_abi::MAY_EXEC));
  }
  if (op.parent.dirent.get() != np.parent.dirent.get()) {
    if (si->IsDir()) SYS_TRY(Permission(ctx_, si, linux_abi::MAY_WRITE));
    if (exchange && di && di->IsDir()) {
      SYS_TRY(Permission(ctx_, di, linux_abi::MAY_WRITE));
    }
  }
  RefPtr<Inode> moved = src->inode_ref();
  RefPtr<Inode> replaced = di ? dst->inode_ref() : nullptr;
  SYS_TRY(Dirent::Rename(ctx_, op.parent.dirent.get(), op.name,
                         np.parent.dirent.get(), np.name, flags));
  uint32_t cookie = fs::NewInotifyCookie();
  NotifyChild(op.parent, moved.get(), IN_MOVED_FROM, op.name, cookie);
  NotifyChild(np.parent, moved.get(), IN_MOVED_TO, np.name, cookie);
  if (moved->watches_if_any()) {
    fs::NotifyEvent(nullptr, moved.get(), IN_MOVE_SELF, "");
  }
  if (replaced && !exchange) {
    auto ra = replaced->GetAttr(ctx_);
    if (ra.ok() && (ra->nlink == 0 || replaced->IsDir())) {
      if (fs::Watches* w = replaced->watches_if_any()) w->HandleDeletion();
    }
  }
  return 0;
}

// ---- Attributes.

long Task::DoChmod(const Path& p, mode_t mode) {
  Inode* in = p.inode();
  SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
  if (!fs::OwnerOrCapable(ctx_.creds(), a)) return -EPERM;
  if (p.mount->ReadOnly()) return -EROFS;
  uint32_t perms = mode & 07777;
  if ((perms & S_ISGID) && !ctx_.creds().InGroup(a.gid) &&
      !ctx_.creds().HasCapability(CAP_FSETID)) {
    perms &= ~S_ISGID;
  }
  AttrChange ch;
  ch.perms = perms;
  return DoSetAttr(p, ch);
}

long Task::Fchmodat(int dirfd, const char* path, mode_t mode, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
                               flags & AT_EMPTY_PATH));
  if (p.inode()->IsSymlink()) return -EOPNOTSUPP;
  return DoChmod(p, mode);
}

long Task::Fchmod(int fd, mode_t mode) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoChmod(Path{f->mount_ref(), f->dirent_ref()}, mode);
}

long Task::DoChown(const Path& p, uid_t uid, gid_t gid) {
  Inode* in = p.inode();
  SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
  const auth::Credentials& c = ctx_.creds();
  const bool set_uid = uid != static_cast<uid_t>(-1);
  const bool set_gid = gid != static_cast<gid_t>(-1);
  if (set_uid && uid != a.uid && !c.HasCapability(CAP_CHOWN)) return -EPERM;
  if (set_uid && uid == a.uid && c.fsuid != a.uid &&
      !c.HasCapability(CAP_CHOWN)) {
    return -EPERM;
  }
  if (set_gid && !c.HasCapability(CAP_CHOWN)) {
    if (c.fsuid != a.uid) return -EPERM;
    if (gid != a.gid && !c.InGroup(gid)) return -EPERM;
  }
  if (p.mount->ReadOnly()) return -EROFS;
  AttrChange ch;
  if (set_uid) ch.uid = uid;
  if (set_gid) ch.gid = gid;
  // notify_change drops setuid (and setgid with group exec) on every
  // chown of a non-directory, even chown(-1, -1), even by root.
  if (!in->IsDir()) {
    uint32_t perms = a.perms & ~S_ISUID;
    if (a.perms & S_IXGRP) perms &= ~S_ISGID;
    if (perms != a.perms) ch.perms = perms;
  }
  return DoSetAttr(p, ch);
}

long Task::Fchownat(int dirfd, const char* path, uid_t uid, gid_t gid,
                    int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
                               flags & AT_EMPTY_PATH));
  return DoChown(p, uid, gid);
}

long Task::Fchown(int fd, uid_t uid, gid_t gid) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoChown(Path{f->mount_ref(), f->dirent_ref()}, uid, gid);
}

long Task::Utimensat(int dirfd, const char* path,
                     const struct timespec times[2], int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  bool both_now = times == nullptr;
  if (times) {
    for (int i = 0; i < 2; ++i) {
      long ns = times[i].tv_nsec;
      if (ns != UTIME_NOW && ns != UTIME_OMIT && (ns < 0 || ns > 999999999)) {
        return -EINVAL;
      }
    }
    if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT) {
      return 0;
    }
    both_now = times[0].tv_nsec == UTIME_NOW && times[1].tv_nsec == UTIME_NOW;
  }
  Path p;
  if (path == nullptr) {
    SYS_ASSIGN(RefPtr<File> f, fds_.Get(dirfd));
    p = Path{f->mount_ref(), f->dirent_ref()};
  } else {
    SYS_ASSIGN(p, ResolveAt(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
                            flags & AT_EMPTY_PATH));
  }
  Inode* in = p.inode();
  SYS_ASSIGN(UnstableAttr a, in->GetAttr(ctx_));
  if (p.mount->ReadOnly()) return -EROFS;
  if (!fs::OwnerOrCapable(ctx_.creds(), a)) {
    if (!both_now) return -EPERM;
    SYS_TRY(fs::GenericPermission(ctx_.creds(), in->type(), a,
                                  linux_abi::MAY_WRITE));
  }
  linux_abi::Timespec now = ctx_.Now();
  AttrChange ch;
  for (int i = 0; i < 2; ++i) {
    std::optional<linux_abi::Timespec> t;
    if (times == nullptr || times[i].tv_nsec == UTIME_NOW) {
      t = now;
    } else if (times[i].tv_nsec != UTIME_OMIT) {
      t = linux_abi::Timespec{times[i].tv_sec, times[i].tv_nsec};
    }
    (i == 0 ? ch.atime : ch.mtime) = t;
  }
  return DoSetAttr(p, ch);
}

long Task::Faccessat(int dirfd, const char* path, int mode, int flags) {
  if (mode & ~(R_OK | W_OK | X_OK)) return -EINVAL;
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) {
    return -EINVAL;
  }
  // access(2) checks with the real ids unless AT_EACCESS.
  context::Context check = context::Context(ctx_.creds());
  if (!(flags & AT_EACCESS)) {
    auth::Credentials& c = check.mutable_creds();
    c.fsuid = c.uid;
    c.fsgid = c.gid;
    if (c.uid != 0) c.effective_caps = auth::CapabilitySet();
  }
  std::swap(ctx_.mutable_creds(), check.mutable_creds());
  auto r = ResolveAt(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW),
                     flags & AT_EMPTY_PATH);
  long ret = 0;
  if (!r.ok()) {
    ret = R(r);
  } else if (mode != F_OK) {
    if ((mode & W_OK) && r->mount->ReadOnly() &&
        (r->inode()->IsRegular() || r->inode()->IsDir())) {
      ret = -EROFS;
    } else {
      ret = R(Permission(ctx_, r->inode(), mode));
    }
  }
  std::swap(ctx_.mutable_creds(), check.mutable_creds());
  return ret;
}

long Task::Umask(mode_t mask) {
  base::MutexLock l(&fs_mu_);
  uint32_t old = umask_;
  umask_ = mask & 0777;
  return old;
}

// ---- Resource limits.

const std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits>&
Task::DefaultRlimits() {
  static const auto* const kDefaults = [] {
    auto* r = new std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits>();
    constexpr uint64_t kInf = linux_abi::kRlimInfinity;
    (*r)[RLIMIT_STACK] = {8 << 20, kInf};  // _STK_LIM
    (*r)[RLIMIT_CORE] = {0, kInf};
    (*r)[RLIMIT_NOFILE] = {FDTable::kDefaultLimit, 4096};  // INR_OPEN_*
    (*r)[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};             // MLOCK_LIMIT
    (*r)[RLIMIT_MSGQUEUE] = {819200, 819200};              // MQ_BYTES_MAX
    (*r)[RLIMIT_NICE] = {0, 0};
    (*r)[RLIMIT_RTPRIO] = {0, 0};
    for (int res : {RLIMIT_NPROC, RLIMIT_SIGPENDING}) {
      struct rlimit host;
      if (getrlimit(static_cast<__rlimit_resource>(res), &host) == 0) {
        (*r)[res] = {host.rlim_cur, host.rlim_max};
      }
    }
    return r;
  }();
  return *kDefaults;
}

Errno Task::DoPrlimit(unsigned resource, const linux_abi::Rlimit* new_lim,
                      linux_abi::Rlimit* old_lim, bool check_cap) {
  if (resource >= static_cast<unsigned>(linux_abi::kRlimNlimits)) {
    return Errno(EINVAL);
  }
  if (new_lim != nullptr) {
    if (new_lim->cur > new_lim->max) return Errno(EINVAL);
    if (resource == RLIMIT_NOFILE && new_lim->max > linux_abi::kNrOpen) {
      return Errno(EPERM);
    }
  }
  base::MutexLock l(&rlim_mu_);
  linux_abi::Rlimit& lim = rlimits_[resource];
  if (new_lim != nullptr && check_cap && new_lim->max > lim.max &&
      !ctx_.creds().HasCapability(CAP_SYS_RESOURCE)) {
    return Errno(EPERM);
  }
  if (old_lim != nullptr) *old_lim = lim;
  if (new_lim != nullptr) {
    lim = *new_lim;
    // Both mirrors are written under rlim_mu_, so they follow the table.
    if (resource == RLIMIT_NOFILE) {
      fds_.set_limit(static_cast<int>(lim.cur));  // <= kNrOpen
    } else if (resource == RLIMIT_FSIZE) {
      ctx_.set_file_size_limit(lim.cur);
    }
  }
  return Errno();
}

namespace {
linux_abi::Rlimit FromUser(const struct rlimit& r) {
  return {r.rlim_cur, r.rlim_max};
}
void ToUser(const linux_abi::Rlimit& r, struct rlimit* out) {
  out->rlim_cur = r.cur;
  out->rlim_max = r.max;
}
}  // namespace

long Task::Getrlimit(int resource, struct rlimit* old_lim) {
  linux_abi::Rlimit old;
  // The resource is checked before the buffer is written.
  SYS_TRY(DoPrlimit(static_cast<unsigned>(resource), nullptr, &old, true));
  if (old_lim == nullptr) return -EFAULT;
  ToUser(old, old_lim);
  return 0;
}

long Task::Setrlimit(int resource, const struct rlimit* new_lim) {
  // The new limit is read before the resource is checked.
  if (new_lim == nullptr) return -EFAULT;
  const linux_abi::Rlimit lim = FromUser(*new_lim);
  SYS_TRY(DoPrlimit(static_cast<unsigned>(resource), &lim, nullptr, true));
  return 0;
}

long Task::Prlimit64(pid_t pid, int resource, const struct rlimit* new_lim,
                     struct rlimit* old_lim) {
  linux_abi::Rlimit lim, old;
  if (new_lim != nullptr) lim = FromUser(*new_lim);
  if (pid != 0 && pid != ctx_.pid()) return -ESRCH;
  SYS_TRY(DoPrlimit(static_cast<unsigned>(resource), new_lim ? &lim : nullptr,
                    old_lim ? &old : nullptr, true));
  if (old_lim != nullptr) ToUser(old, old_lim);
  return 0;
}

Errno Task::SetRlimitForRuntime(int resource, linux_abi::Rlimit lim) {
  return DoPrlimit(static_cast<unsigned>(resource), &lim, nullptr, false);
}

std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits> Task::rlimits() const {
  base::MutexLock l(&rlim_mu_);
  return rlimits_;
}

// ---- Extended attributes.

namespace {

// kSystem: left to the filesystem, and no filesystem here has a handler
// (tmpfs's are POSIX ACLs, which are not kept). kUnknown: no namespace.
enum class XattrNs { kUser, kTrusted, kSecurity, kSystem, kUnknown };

XattrNs NamespaceOf(std::string_view name) {
  if (name.substr(0, 5) == "user.") return XattrNs::kUser;
  if (name.substr(0, 8) == "trusted.") return XattrNs::kTrusted;
  if (name.substr(0, 9) == "security.") return XattrNs::kSecurity;
  if (name.substr(0, 7) == "system.") return XattrNs::kSystem;
  return XattrNs::kUnknown;
}

// fs/xattr.c:xattr_permission.
Errno XattrPermission(const context::Context& ctx, Inode* in,
                      std::string_view name, int may) {
  // inode_permission.
  auto permission = [&]() -> Errno {
    ASSIGN_OR_RETURN(UnstableAttr a, in->GetAttr(ctx));
    return fs::GenericPermission(ctx.creds(), in->type(), a, may);
  };
  switch (NamespaceOf(name)) {
    case XattrNs::kSystem:
      return Errno(EOPNOTSUPP);
    case XattrNs::kUnknown:
      // The inode's permission check first, as Linux's, and EOPNOTSUPP
      // (no handler) only once it has passed.
      RETURN_IF_ERRNO(permission());
      return Errno(EOPNOTSUPP);
    case XattrNs::kTrusted:
      if (!ctx.creds().HasCapability(CAP_SYS_ADMIN)) {
        return Errno(may & linux_abi::MAY_WRITE ? EPERM : ENODATA);
      }
      return Errno();
    case XattrNs::kUser: {
      if (!in->IsRegular() && !in->IsDir()) {
        return Errno(may & linux_abi::MAY_WRITE ? EPERM : ENODATA);
      }
      ASSIGN_OR_RETURN(UnstableAttr a, in->GetAttr(ctx));
      if (in->IsDir() && (a.perms & S_ISVTX) && (may & linux_abi::MAY_WRITE) &&
          !fs::OwnerOrCapable(ctx.creds(), a)) {
        return Errno(EPERM);
      }
      return fs::GenericPermission(ctx.creds(), in->type(), a, may);
    }
    case XattrNs::kSecurity:
      return (may & linux_abi::MAY_WRITE) ? permission() : Errno();
  }
  return Errno(EOPNOTSUPP);
}

Errno CheckXattrName(const char* name, size_t* len) {
  if (name == nullptr) return Errno(EFAULT);
  *len = strnlen(name, linux_abi::kXattrNameMax + 1);
  if (*len == 0 || *len > static_cast<size_t>(linux_abi::kXattrNameMax)) {
    return Errno(ERANGE);
  }
  // A bare namespace prefix ("user.") names nothing.
  std::string_view n(name, *len);
  for (std::string_view prefix :
       {"user.", "trusted.", "security.", "system."}) {
    if (n == prefix) return Errno(EINVAL);
  }
  return Errno();
}

}  // namespace

long Task::DoSetxattr(const Path& p, const char* name, const void* value,
                      size_t size, int flags) {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -EINVAL;
  size_t len;
  SYS_TRY(CheckXattrName(name, &len));
  if (size > static_cast<size_t>(linux_abi::kXattrSizeMax)) return -E2BIG;
  if (p.mount->ReadOnly()) return -EROFS;
  std::string_view n(name, len);
  const Errno e = XattrPermission(ctx_, p.inode(), n, linux_abi::MAY_WRITE);
  if (e.value() == EOPNOTSUPP && NamespaceOf(n) == XattrNs::kUnknown) {
    // Permitted, and no handler: the filesystem may still act (overlay).
    SYS_TRY(p.inode()->SetXattrUnhandled(ctx_));
  }
  SYS_TRY(e);
  SYS_TRY(p.inode()->SetXattr(
      ctx_, n, std::string_view(static_cast<const char*>(value), size), flags));
  NotifyPath(p, IN_ATTRIB);
  return 0;
}

long Task::DoGetxattr(const Path& p, const char* name, void* value,
                      size_t size) {
  size_t len;
  SYS_TRY(CheckXattrName(name, &len));
  std::string_view n(name, len);
  SYS_TRY(XattrPermission(ctx_, p.inode(), n, linux_abi::MAY_READ));
  SYS_ASSIGN(std::string v, p.inode()->GetXattr(ctx_, n));
  if (size == 0) return static_cast<long>(v.size());
  if (v.size() > size) return -ERANGE;
  std::memcpy(value, v.data(), v.size());
  return static_cast<long>(v.size());
}

long Task::DoListxattr(const Path& p, char* list, size_t size) {
  SYS_ASSIGN(std::vector<std::string> names, p.inode()->ListXattr(ctx_));
  std::string out;
  for (const std::string& n : names) {
    if (NamespaceOf(n) == XattrNs::kTrusted &&
        !ctx_.creds().HasCapability(CAP_SYS_ADMIN)) {
      continue;
    }
    out += n;
    out += '\0';
  }
  if (size == 0) return static_cast<long>(out.size());
  if (out.size() > size) return -ERANGE;
  std::memcpy(list, out.data(), out.size());
  return static_cast<long>(out.size());
}

long Task::DoRemovexattr(const Path& p, const char* name) {
  size_t len;
  SYS_TRY(CheckXattrName(name, &len));
  if (p.mount->ReadOnly()) return -EROFS;
  std::string_view n(name, len);
  SYS_TRY(XattrPermission(ctx_, p.inode(), n, linux_abi::MAY_WRITE));
  SYS_TRY(p.inode()->RemoveXattr(ctx_, n));
  NotifyPath(p, IN_ATTRIB);
  return 0;
}

long Task::Setxattrat(int dirfd, const char* path, int at_flags,
                      const char* name, const void* value, size_t size,
                      int flags) {
  if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  if (size > static_cast<size_t>(linux_abi::kXattrSizeMax)) return -E2BIG;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(at_flags & AT_SYMLINK_NOFOLLOW),
                               at_flags & AT_EMPTY_PATH));
  return DoSetxattr(p, name, value, size, flags);
}
long Task::Getxattrat(int dirfd, const char* path, int at_flags,
                      const char* name, void* value, size_t size) {
  if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(at_flags & AT_SYMLINK_NOFOLLOW),
                               at_flags & AT_EMPTY_PATH));
  return DoGetxattr(p, name, value, size);
}
long Task::Listxattrat(int dirfd, const char* path, int at_flags, char* list,
                       size_t size) {
  if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(at_flags & AT_SYMLINK_NOFOLLOW),
                               at_flags & AT_EMPTY_PATH));
  return DoListxattr(p, list, size);
}
long Task::Removexattrat(int dirfd, const char* path, int at_flags,
                         const char* name) {
  if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(dirfd, path, !(at_flags & AT_SYMLINK_NOFOLLOW),
                               at_flags & AT_EMPTY_PATH));
  return DoRemovexattr(p, name);
}

long Task::Setxattr(const char* path, const char* name, const void* value,
                    size_t size, int flags) {
  if (size > static_cast<size_t>(linux_abi::kXattrSizeMax)) return -E2BIG;
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  return DoSetxattr(p, name, value, size, flags);
}
long Task::Lsetxattr(const char* path, const char* name, const void* value,
                     size_t size, int flags) {
  if (size > static_cast<size_t>(linux_abi::kXattrSizeMax)) return -E2BIG;
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, false));
  return DoSetxattr(p, name, value, size, flags);
}
long Task::Fsetxattr(int fd, const char* name, const void* value, size_t size,
                     int flags) {
  if (size > static_cast<size_t>(linux_abi::kXattrSizeMax)) return -E2BIG;
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoSetxattr(Path{f->mount_ref(), f->dirent_ref()}, name, value, size,
                    flags);
}
long Task::Getxattr(const char* path, const char* name, void* value,
                    size_t size) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  return DoGetxattr(p, name, value, size);
}
long Task::Lgetxattr(const char* path, const char* name, void* value,
                     size_t size) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, false));
  return DoGetxattr(p, name, value, size);
}
long Task::Fgetxattr(int fd, const char* name, void* value, size_t size) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoGetxattr(Path{f->mount_ref(), f->dirent_ref()}, name, value, size);
}
long Task::Listxattr(const char* path, char* list, size_t size) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  return DoListxattr(p, list, size);
}
long Task::Llistxattr(const char* path, char* list, size_t size) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, false));
  return DoListxattr(p, list, size);
}
long Task::Flistxattr(int fd, char* list, size_t size) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoListxattr(Path{f->mount_ref(), f->dirent_ref()}, list, size);
}
long Task::Removexattr(const char* path, const char* name) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  return DoRemovexattr(p, name);
}
long Task::Lremovexattr(const char* path, const char* name) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, false));
  return DoRemovexattr(p, name);
}
long Task::Fremovexattr(int fd, const char* name) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (f->is_path()) return -EBADF;
  return DoRemovexattr(Path{f->mount_ref(), f->dirent_ref()}, name);
}

// ---- Process filesystem state.

long Task::Chdir(const char* path) {
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  if (!p.inode()->IsDir()) return -ENOTDIR;
  SYS_TRY(Permission(ctx_, p.inode(), linux_abi::MAY_EXEC));
  base::MutexLock l(&fs_mu_);
  PublishViewLocked(view_.load()->root, std::move(p));
  return 0;
}

long Task::Fchdir(int fd) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  if (!f->inode()->IsDir()) return -ENOTDIR;
  SYS_TRY(Permission(ctx_, f->inode(), linux_abi::MAY_EXEC));
  base::MutexLock l(&fs_mu_);
  PublishViewLocked(view_.load()->root, Path{f->mount_ref(), f->dirent_ref()});
  return 0;
}

long Task::Getcwd(char* buf, size_t size) {
  Path c = cwd();
  if (c.dirent->unlinked()) return -ENOENT;
  std::string s = ns_->PathOf(c, root());
  if (s.size() + 1 > size) return -ERANGE;
  std::memcpy(buf, s.c_str(), s.size() + 1);
  return static_cast<long>(s.size() + 1);
}

long Task::Chroot(const char* path) {
  if (!ctx_.creds().HasCapability(CAP_SYS_CHROOT)) return -EPERM;
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, true));
  if (!p.inode()->IsDir()) return -ENOTDIR;
  SYS_TRY(Permission(ctx_, p.inode(), linux_abi::MAY_EXEC));
  base::MutexLock l(&fs_mu_);
  PublishViewLocked(std::move(p), view_.load()->cwd);
  return 0;
}

// ---- Mounts.

long Task::Mount(const char* source, const char* target, const char* fstype,
                 unsigned long flags, const void* data) {
  if (!ctx_.creds().HasCapability(CAP_SYS_ADMIN)) return -EPERM;
  SYS_ASSIGN(Path t, ResolveAt(AT_FDCWD, target, true));
  fs::MountFlags mf;
  mf.read_only = flags & MS_RDONLY;
  mf.no_suid = flags & MS_NOSUID;
  mf.no_dev = flags & MS_NODEV;
  mf.no_exec = flags & MS_NOEXEC;
  mf.no_atime = flags & MS_NOATIME;
  if (flags & MS_REMOUNT) {
    if (t.dirent.get() != t.mount->root().get()) return -EINVAL;
    fs::MountSourceFlags sf = t.mount->source()->flags();
    sf.read_only = mf.read_only;
    sf.no_atime = mf.no_atime;
    sf.strict_atime = flags & MS_STRICTATIME;
    bool bind_only = flags & MS_BIND;
    if (!bind_only) mf = fs::MountFlags{};
    return R(ns_->Remount(t, mf, bind_only, &sf));
  }
  if (flags & MS_BIND) {
    SYS_ASSIGN(Path s, ResolveAt(AT_FDCWD, source, true));
    auto r = ns_->BindMount(s, t, flags & MS_REC, mf);
    return r.ok() ? 0 : R(r);
  }
  if (flags & MS_MOVE) return -EINVAL;
  if (fstype == nullptr) return -EINVAL;
  SYS_ASSIGN(const fs::Filesystem* fsys, fs::FindFilesystem(fstype));
  if (!t.inode()->IsDir()) return -ENOTDIR;
  fs::MountSourceFlags sf;
  sf.read_only = mf.read_only;
  sf.no_atime = mf.no_atime;
  sf.strict_atime = flags & MS_STRICTATIME;
  sf.no_exec = mf.no_exec;
  sf.no_suid = mf.no_suid;
  sf.no_dev = mf.no_dev;
  std::string_view opts = data ? static_cast<const char*>(data) : "";
  SYS_ASSIGN(RefPtr<Inode> root_inode,
             fsys->Mount(ctx_, source ? source : "none", sf, opts));
  auto r = ns_->MountAt(t, Dirent::NewRoot(std::move(root_inode)), mf);
  return r.ok() ? 0 : R(r);
}

long Task::Umount2(const char* target, int flags) {
  if (!ctx_.creds().HasCapability(CAP_SYS_ADMIN)) return -EPERM;
  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW)) {
    return -EINVAL;
  }
  Path t;
  { SYS_ASSIGN(t, ResolveAt(AT_FDCWD, target, !(flags & UMOUNT_NOFOLLOW))); }
  Errno e = ns_->Unmount(t, flags & MNT_DETACH);
  if (e.value() == EBUSY && !(flags & MNT_DETACH)) {
    // A file closed while another thread was reading inside an epoch
    // guard keeps its mount until that guard ends (the File is freed
    // through the epoch): wait for it, as Linux's umount waits for an RCU
    // grace period, and ask again.
    fs::epoch::Synchronize();
    e = ns_->Unmount(t, false);
  }
  return R(e);
}

// ---- inotify.

long Task::InotifyInit1(int flags) {
  if (flags & ~(IN_CLOEXEC | IN_NONBLOCK)) return -EINVAL;
  auto ops = std::make_unique<fs::InotifyInstance>(flags & IN_NONBLOCK);
  Path anon = fs::AnonymousPath(base::AdoptRef<Inode>(new AnonInode()),
                                "anon_inode:inotify");
  RefPtr<File> f =
      base::MakeRef<File>(anon.mount, anon.dirent,
                          O_RDONLY | (flags & IN_NONBLOCK), std::move(ops));
  return InstallFile(std::move(f), flags & IN_CLOEXEC);
}

long Task::InotifyAddWatch(int fd, const char* path, uint32_t mask) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  auto* in = dynamic_cast<fs::InotifyInstance*>(&f->ops());
  if (in == nullptr) return -EINVAL;
  SYS_ASSIGN(Path p, ResolveAt(AT_FDCWD, path, !(mask & IN_DONT_FOLLOW)));
  SYS_TRY(Permission(ctx_, p.inode(), linux_abi::MAY_READ));
  auto wd = in->AddWatch(p.dirent->inode_ref(), mask);
  if (!wd.ok()) return R(wd);
  return *wd;
}

long Task::InotifyRmWatch(int fd, int wd) {
  SYS_ASSIGN(RefPtr<File> f, fds_.Get(fd));
  auto* in = dynamic_cast<fs::InotifyInstance*>(&f->ops());
  if (in == nullptr) return -EINVAL;
  return R(in->RemoveWatch(wd));
}

}  // namespace sentry::kernel
