#include "sentry/fs/file.h"

#include <cstring>
#include <limits>
#include <optional>

#include "sentry/fs/epoch.h"
#include "sentry/fs/inotify.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/permissions.h"

namespace sentry::fs {

// ---- FileOperations defaults.

ErrnoOr<size_t> FileOperations::Read(const Context&, File& f, const IOSequence&,
                                     uint64_t) {
  return Errno(f.inode()->IsDir() ? EISDIR : EINVAL);
}

ErrnoOr<size_t> FileOperations::Write(const Context&, File& f,
                                      const IOSequence&, uint64_t, bool,
                                      uint64_t*) {
  return Errno(f.inode()->IsDir() ? EISDIR : EINVAL);
}

Errno FileOperations::Readdir(const Context&, File&, uint64_t, DirSink&) {
  return Errno(ENOTDIR);
}

ErrnoOr<int64_t> FileOperations::Ioctl(const Context&, File&, uint64_t,
                                       uintptr_t) {
  return Errno(ENOTTY);
}

Errno FileOperations::Fsync(const Context&, File&) { return Errno(); }

// ---- InodeFileOperations.

ErrnoOr<size_t> InodeFileOperations::Read(const Context& ctx, File& f,
                                          const IOSequence& dst,
                                          uint64_t offset) {
  return f.inode()->ReadAt(ctx, dst, offset);
}

ErrnoOr<size_t> InodeFileOperations::Write(const Context& ctx, File& f,
                                           const IOSequence& src,
                                           uint64_t offset, bool append,
                                           uint64_t* offset_out) {
  return f.inode()->WriteAt(ctx, src, offset, append, offset_out);
}

Errno InodeFileOperations::Readdir(const Context& ctx, File& f, uint64_t offset,
                                   DirSink& sink) {
  return f.inode()->IterateDir(ctx, offset, sink);
}

Errno InodeFileOperations::Fsync(const Context& ctx, File& f) {
  return f.inode()->Sync(ctx);
}

bool InodeFileOperations::BorrowableIO(const File& f) const {
  return f.inode()->NonBlockingIO();
}

// ---- File.

namespace {
InodeFileOperations* SharedInodeOps() {
  static InodeFileOperations* const ops = new InodeFileOperations();
  return ops;
}
}  // namespace

void FileOpsDeleter::operator()(FileOperations* ops) const {
  if (ops != SharedInodeOps()) delete ops;
}

FileOpsPtr InodeFileOperations::Shared() {
  return FileOpsPtr(SharedInodeOps());
}

File::File(RefPtr<Mount> mount, RefPtr<Dirent> dirent, int flags,
           FileOpsPtr ops)
    : mount_(std::move(mount)),
      dirent_(std::move(dirent)),
      flags_(flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)),
      ops_(std::move(ops)) {
  borrowable_io_ = dirent_ && dirent_->inode() && ops_->BorrowableIO(*this);
  seekable_ = ops_->Seekable();
}

File::~File() = default;

void File::OnLastRef() const {
  Inode* in = dirent_ ? dirent_->inode() : nullptr;
  if (in) {
    // flock locks belong to the open file description.
    if (lock::FlockLocks* fl = in->flock_locks_if_any()) {
      fl->Unlock(reinterpret_cast<lock::OwnerId>(this));
    }
    if (!(flags() & O_PATH)) {
      NotifyIfWatched(writable() ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
    }
  }
  ops_->Release();
  // FDTable::Get may still be looking at this File (inside a ReadGuard);
  // no table holds it any more, so it is unreachable for new looks.
  epoch::Retire(const_cast<File*>(this),
                [](void* p) { delete static_cast<File*>(p); });
}

void File::SetStatusFlags(int f) {
  constexpr int kSettable =
      O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
  int old = flags_.load(std::memory_order_relaxed);
  flags_.store((old & ~kSettable) | (f & kSettable), std::memory_order_relaxed);
}

bool File::readable() const {
  int f = flags();
  if (f & O_PATH) return false;
  int acc = f & O_ACCMODE;
  return acc == O_RDONLY || acc == O_RDWR;
}

bool File::writable() const {
  int f = flags();
  if (f & O_PATH) return false;
  int acc = f & O_ACCMODE;
  return acc == O_WRONLY || acc == O_RDWR;
}

int64_t File::offset() const {
  base::MutexLock l(&pos_mu_);
  return offset_;
}

void File::AfterRead(const Context& ctx, bool notify) {
  Inode* in = inode();
  if (!(flags() & O_NOATIME) && !(mount_ && mount_->NoAtime())) {
    MountSource::Atime a = in->mount_source()->atime();
    if (a != MountSource::Atime::kNone) {
      in->TouchAtime(ctx, a == MountSource::Atime::kRelatime);
    }
  }
  if (notify) NotifyIfWatched(IN_ACCESS);
}

void File::NotifyWatchers(uint32_t event) const {
  Inode* in = inode();
  RefPtr<Dirent> p = dirent_->parent();  // null at a root
  Inode* pin = p ? p->inode() : nullptr;
  if (in->watches_if_any() || (pin && pin->watches_if_any())) {
    NotifyEvent(pin, in, event, dirent_->name());
  }
}

void File::AfterWrite(const Context& ctx) { NotifyIfWatched(IN_MODIFY); }

ErrnoOr<size_t> File::Read(const Context& ctx, const IOSequence& dst) {
  if (!readable()) return Errno(EBADF);
  if (!seekable_) {
    ASSIGN_OR_RETURN(size_t n, ops_->Read(ctx, *this, dst, 0));
    AfterRead(ctx, n > 0);
    return n;
  }
  size_t n;
  {
    base::MutexLock l(&pos_mu_);
    ASSIGN_OR_RETURN(n, ops_->Read(ctx, *this, dst, offset_));
    offset_ += n;
  }
  AfterRead(ctx, n > 0);
  return n;
}

ErrnoOr<size_t> File::Pread(const Context& ctx, const IOSequence& dst,
                            int64_t offset) {
  if (!readable()) return Errno(EBADF);
  if (!seekable_) return Errno(ESPIPE);
  if (offset < 0) return Errno(EINVAL);
  // A borrowable file's Read is its inode's ReadAt (see BorrowableIO):
  // called directly, one virtual call fewer on the hottest read.
  ASSIGN_OR_RETURN(size_t n, borrowable_io_
                                 ? inode()->ReadAt(ctx, dst, offset)
                                 : ops_->Read(ctx, *this, dst, offset));
  AfterRead(ctx, n > 0);
  return n;
}

Errno RemovePrivsForWrite(const Context& ctx, Inode* in) {
  if (!in->IsRegular()) return Errno();
  ASSIGN_OR_RETURN(AccessAttr a, in->GetAccessAttr(ctx));
  if (auto perms = PermsAfterWrite(ctx.creds(), a.perms, in->type())) {
    AttrChange ch;
    ch.perms = *perms;
    return in->SetAttr(ctx, ch);
  }
  return Errno();
}

ErrnoOr<size_t> File::WriteLocked(const Context& ctx, const IOSequence& src,
                                  int64_t offset, bool use_file_offset) {
  Inode* in = inode();
  if (mount_ && mount_->ReadOnly() && (in->IsRegular() || in->IsDir())) {
    return Errno(EROFS);
  }
  // generic_write_checks: writing nothing to a file changes nothing, not
  // its mode nor (O_APPEND) the offset.
  if (in->IsRegular() && src.size() == 0) return size_t{0};
  // O_APPEND writes at the end even through pwrite, as Linux does.
  const bool append = flags() & O_APPEND;
  // And a write at or past RLIMIT_FSIZE is EFBIG before anything changes,
  // setuid/setgid included. (The filesystem checks again, under its lock,
  // where it also shortens a write that would cross the limit.)
  if (const uint64_t limit = ctx.file_size_limit();
      in->IsRegular() && limit != std::numeric_limits<uint64_t>::max()) {
    uint64_t pos = static_cast<uint64_t>(offset);
    if (append) {
      ASSIGN_OR_RETURN(UnstableAttr a, in->GetAttr(ctx));
      pos = static_cast<uint64_t>(a.size);
    }
    if (pos >= limit) return Errno(EFBIG);
  }
  RETURN_IF_ERRNO(RemovePrivsForWrite(ctx, in));
  uint64_t start = offset;
  ASSIGN_OR_RETURN(size_t n,
                   ops_->Write(ctx, *this, src, offset, append, &start));
  if (use_file_offset) offset_ = start + n;
  return n;
}

ErrnoOr<size_t> File::Write(const Context& ctx, const IOSequence& src) {
  if (!writable()) return Errno(EBADF);
  size_t n;
  if (!seekable_) {
    uint64_t ignored;
    ASSIGN_OR_RETURN(n, ops_->Write(ctx, *this, src, 0, false, &ignored));
  } else {
    base::MutexLock l(&pos_mu_);
    ASSIGN_OR_RETURN(n, WriteLocked(ctx, src, offset_, true));
  }
  if (n > 0) AfterWrite(ctx);
  return n;
}

ErrnoOr<size_t> File::Pwrite(const Context& ctx, const IOSequence& src,
                             int64_t offset) {
  if (!writable()) return Errno(EBADF);
  if (!seekable_) return Errno(ESPIPE);
  if (offset < 0) return Errno(EINVAL);
  size_t n;
  {
    // O_APPEND files still append on pwrite, as Linux does.
    base::MutexLock l(&pos_mu_);
    ASSIGN_OR_RETURN(n, WriteLocked(ctx, src, offset, false));
  }
  if (n > 0) AfterWrite(ctx);
  return n;
}

ErrnoOr<int64_t> File::Seek(const Context& ctx, int64_t offset, int whence) {
  if (is_path()) return Errno(EBADF);
  if (!seekable_) return Errno(ESPIPE);
  base::MutexLock l(&pos_mu_);
  if (auto own = ops_->Seek(ctx, *this, offset, whence)) {
    if (own->ok()) offset_ = **own;
    return *own;
  }
  int64_t base;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = offset_;
      break;
    case SEEK_END: {
      if (inode()->IsDir()) return Errno(EINVAL);
      ASSIGN_OR_RETURN(UnstableAttr a, inode()->GetAttr(ctx));
      base = a.size;
      break;
    }
    case SEEK_DATA:
    case SEEK_HOLE: {
      // A directory's llseek takes only SEEK_SET and SEEK_CUR (EINVAL
      // whatever the offset); a file's refuses a negative one (ENXIO).
      if (inode()->IsDir()) return Errno(EINVAL);
      if (offset < 0) return Errno(ENXIO);
      ASSIGN_OR_RETURN(uint64_t r, inode()->SeekDataHole(ctx, offset, whence));
      offset_ = static_cast<int64_t>(r);
      return offset_;
    }
    default:
      return Errno(EINVAL);
  }
  int64_t r;
  if (__builtin_add_overflow(base, offset, &r)) return Errno(EOVERFLOW);
  if (r < 0) return Errno(EINVAL);
  offset_ = r;
  return r;
}

namespace {

// Packs entries as struct linux_dirent64 records.
class Dirent64Sink : public DirSink {
 public:
  Dirent64Sink(char* buf, size_t size) : buf_(buf), size_(size) {}
  // getdents(2): a remote directory's listing returns each reply's
  // entries as they come, so a listing that fits one reply does not wait
  // for a second (empty) one in the same call.
  bool ShortBatchOk() const override { return true; }
  bool Add(const DirEntry& e) override {
    size_t reclen =
        (linux_abi::kDirent64NameOffset + e.name.size() + 1 + 7) & ~size_t{7};
    if (used_ + reclen > size_) {
      full_ = true;
      return false;
    }
    char* rec = buf_ + used_;
    linux_abi::Dirent64Header h;
    h.d_ino = e.ino;
    h.d_off = static_cast<int64_t>(e.next_off);
    h.d_reclen = static_cast<uint16_t>(reclen);
    h.d_type = e.type;
    std::memcpy(rec, &h, linux_abi::kDirent64NameOffset);
    std::memcpy(rec + linux_abi::kDirent64NameOffset, e.name.data(),
                e.name.size());
    std::memset(rec + linux_abi::kDirent64NameOffset + e.name.size(), 0,
                reclen - linux_abi::kDirent64NameOffset - e.name.size());
    used_ += reclen;
    last_off_ = e.next_off;
    ++count_;
    return true;
  }
  void ReachedEnd(uint64_t pos) override { end_ = pos; }
  const std::optional<uint64_t>& end() const { return end_; }
  size_t used() const { return used_; }
  int count() const { return count_; }
  bool full() const { return full_; }
  uint64_t last_off() const { return last_off_; }

 private:
  char* buf_;
  size_t size_;
  size_t used_ = 0;
  int count_ = 0;
  bool full_ = false;
  uint64_t last_off_ = 0;
  std::optional<uint64_t> end_;
};

}  // namespace

ErrnoOr<size_t> File::Getdents64(const Context& ctx, char* buf, size_t size) {
  if (is_path()) return Errno(EBADF);
  if (!inode()->IsDir()) return Errno(ENOTDIR);
  base::MutexLock l(&pos_mu_);
  if (dirent_->unlinked() && inode()->IsDir()) {
    // A removed directory cannot be listed (IS_DEADDIR).
    return Errno(ENOENT);
  }
  Dirent64Sink sink(buf, size);
  RETURN_IF_ERRNO(ops_->Readdir(ctx, *this, offset_, sink));
  if (sink.count() == 0 && sink.full()) return Errno(EINVAL);
  if (sink.end()) {
    offset_ = static_cast<int64_t>(*sink.end());
  } else if (sink.count() > 0) {
    offset_ = static_cast<int64_t>(sink.last_off());
  }
  AfterRead(ctx, true);
  return sink.used();
}

}  // namespace sentry::fs
