#include "sentry/fs/host/host.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi/linux/linux.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "sentry/fs/attr.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs::host {
namespace {

// The largest bounce buffer one host call uses.
constexpr size_t kChunk = 1 << 20;
// How often a blocked wait looks at the context's interrupt flag.
constexpr int kPollIntervalMs = 50;

// The kernel's struct termios (what TCGETS copies), not glibc's.
struct KernelTermios {
  uint32_t c_iflag;
  uint32_t c_oflag;
  uint32_t c_cflag;
  uint32_t c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

struct KernelWinsize {
  uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};
static_assert(sizeof(KernelWinsize) == 8);

linux_abi::Timespec ToTimespec(const struct timespec& t) {
  return {t.tv_sec, t.tv_nsec};
}

// ---- The shared mount source: one anonymous device for every host file
// alive at once, dropped with the last of them (so tests see no leak).

class HostMountSource;
base::Mutex g_source_mu;
HostMountSource* g_source ABSL_GUARDED_BY(g_source_mu) = nullptr;

class HostMountSource : public MountSource {
 public:
  HostMountSource()
      : MountSource(nullptr, MountSourceFlags{}, CachePolicy::kNone, "none") {}
  ~HostMountSource() override {
    base::MutexLock l(&g_source_mu);
    if (g_source == this) g_source = nullptr;
  }
};

RefPtr<MountSource> SharedSource() {
  base::MutexLock l(&g_source_mu);
  if (g_source != nullptr && g_source->TryIncRef()) {
    return RefPtr<MountSource>::Adopt(g_source);
  }
  g_source = new HostMountSource();
  return RefPtr<MountSource>::Adopt(g_source);
}

// ---- The inode.

class HostInode : public Inode {
 public:
  HostInode(RefPtr<MountSource> msrc, const StableAttr& sattr, int fd,
            bool seekable, bool is_tty, int32_t fg_pgrp)
      : Inode(std::move(msrc), sattr),
        fd_(fd),
        seekable_(seekable),
        is_tty_(is_tty),
        fg_pgrp_(fg_pgrp) {}
  ~HostInode() override { close(fd_); }

  int fd() const { return fd_; }
  bool seekable() const { return seekable_; }
  bool is_tty() const { return is_tty_; }
  bool is_socket() const { return type() == InodeType::kSocket; }
  std::atomic<int32_t>& fg_pgrp() { return fg_pgrp_; }

  ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) override {
    struct stat st;
    if (fstat(fd_, &st) < 0) return Errno(errno);
    UnstableAttr a;
    a.perms = st.st_mode & 07777;
    a.uid = st.st_uid;
    a.gid = st.st_gid;
    a.nlink = st.st_nlink;
    a.size = st.st_size;
    a.usage = static_cast<int64_t>(st.st_blocks) * 512;
    a.atime = ToTimespec(st.st_atim);
    a.mtime = ToTimespec(st.st_mtim);
    a.ctime = ToTimespec(st.st_ctim);
    return a;
  }

  Errno SetAttr(const Context& ctx, const AttrChange& ch) override {
    // Owners stay the host's: the sandbox's ids mean nothing there.
    if (ch.uid || ch.gid) return Errno(EPERM);
    if (ch.size) {
      if (IsDir()) return Errno(EISDIR);
      if (!IsRegular()) return Errno(EINVAL);
      if (ftruncate(fd_, *ch.size) < 0) return Errno(errno);
    }
    if (ch.perms && fchmod(fd_, *ch.perms & 07777) < 0) return Errno(errno);
    if (ch.atime || ch.mtime) {
      struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
      if (ch.atime) ts[0] = {ch.atime->tv_sec, ch.atime->tv_nsec};
      if (ch.mtime) ts[1] = {ch.mtime->tv_sec, ch.mtime->tv_nsec};
      if (futimens(fd_, ts) < 0) return Errno(errno);
    }
    return Errno();
  }

  ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                         uint64_t offset) override;
  ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                          uint64_t offset, bool append,
                          uint64_t* offset_out) override;

  ErrnoOr<uint64_t> SeekDataHole(const Context& ctx, uint64_t offset,
                                 int whence) override {
    if (!IsRegular()) return Errno(EINVAL);
    // The host offset is not the File's; moving it is harmless.
    off_t r = lseek(fd_, static_cast<off_t>(offset), whence);
    if (r < 0) return Errno(errno);
    return static_cast<uint64_t>(r);
  }

  Errno Allocate(const Context& ctx, int mode, uint64_t offset,
                 uint64_t length) override {
    if (!IsRegular()) return Errno(ENODEV);
    if (fallocate(fd_, mode, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) < 0) {
      return Errno(errno);
    }
    return Errno();
  }

  Errno Sync(const Context& ctx) override {
    if (fsync(fd_) < 0) return Errno(errno);
    return Errno();
  }

  ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx) override {
    struct statfs s;
    if (fstatfs(fd_, &s) < 0) return Errno(errno);
    linux_abi::Statfs r{};
    r.f_type = s.f_type;
    r.f_bsize = s.f_bsize;
    r.f_blocks = s.f_blocks;
    r.f_bfree = s.f_bfree;
    r.f_bavail = s.f_bavail;
    r.f_files = s.f_files;
    r.f_ffree = s.f_ffree;
    r.f_namelen = s.f_namelen;
    r.f_frsize = s.f_frsize;
    return r;
  }

  // Another open of the same host object (a reopen through /proc/self/fd).
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags) override;

 private:
  const int fd_;
  const bool seekable_;
  const bool is_tty_;
  // The terminal's foreground process group, in the sandbox's pids.
  std::atomic<int32_t> fg_pgrp_;
};

// Writes without letting a broken pipe raise SIGPIPE in the sentry: the
// signal is blocked for this thread across the write and, if the write
// raised it, consumed. (SIGPIPE from a write is thread-directed.)
ssize_t WriteNoSigpipe(int fd, const void* buf, size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = write(fd, buf, n);
  const int e = errno;
  if (r < 0 && e == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = e;
  return r;
}

// Waits until fd is ready for events (or has hung up or failed: the
// following call reports that). EAGAIN at once if nonblocking; EINTR when
// the context is interrupted.
Errno WaitReady(const Context& ctx, int fd, short events, bool nonblocking) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, nonblocking ? 0 : kPollIntervalMs);
    if (r > 0) {
      if (p.revents & POLLNVAL) return Errno(EBADF);
      return Errno();
    }
    if (r < 0 && errno != EINTR) return Errno(errno);
    if (nonblocking) return Errno(EAGAIN);
    if (ctx.interrupted()->load()) return Errno(EINTR);
  }
}

ErrnoOr<size_t> HostInode::ReadAt(const Context& ctx, const IOSequence& dst,
                                  uint64_t offset) {
  const size_t want = dst.size();
  std::vector<char> buf(std::min(want, kChunk));
  size_t done = 0;
  while (done < want) {
    const size_t chunk = std::min(want - done, buf.size());
    ssize_t n =
        pread(fd_, buf.data(), chunk, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return Errno(errno);
    }
    dst.CopyOut(done, buf.data(), static_cast<size_t>(n));
    done += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < chunk) break;  // end of file
  }
  return done;
}

ErrnoOr<size_t> HostInode::WriteAt(const Context& ctx, const IOSequence& src,
                                   uint64_t offset, bool append,
                                   uint64_t* offset_out) {
  const int host_flags = fcntl(fd_, F_GETFL);
  // With O_APPEND on the host description, pwrite appends anyway; ask the
  // host where the end is and write there otherwise.
  const bool host_appends = host_flags >= 0 && (host_flags & O_APPEND);
  if (append && !host_appends) {
    struct stat st;
    if (fstat(fd_, &st) < 0) return Errno(errno);
    offset = static_cast<uint64_t>(st.st_size);
  }
  size_t want = src.size();
  if (IsRegular()) {
    const uint64_t limit = ctx.file_size_limit();
    if (want > 0 && offset >= limit) return Errno(EFBIG);
    if (want > limit - offset) want = limit - offset;
  }
  std::vector<char> buf(std::min(want, kChunk));
  size_t done = 0;
  uint64_t start = offset;
  while (done < want) {
    const size_t chunk = std::min(want - done, buf.size());
    src.CopyIn(done, buf.data(), chunk);
    ssize_t n;
    if (append && host_appends) {
      n = write(fd_, buf.data(), chunk);
      if (n >= 0 && done == 0) {
        off_t end = lseek(fd_, 0, SEEK_CUR);
        if (end >= n) start = static_cast<uint64_t>(end - n);
      }
    } else {
      n = pwrite(fd_, buf.data(), chunk, static_cast<off_t>(offset + done));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return Errno(errno);
    }
    done += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < chunk) break;  // ENOSPC next time
  }
  *offset_out = start;
  return done;
}

// ---- One open file description.

class HostFileOperations : public FileOperations {
 public:
  explicit HostFileOperations(RefPtr<HostInode> inode)
      : inode_(std::move(inode)) {}

  bool Seekable() const override { return inode_->seekable(); }

  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t offset) override {
    if (inode_->IsDir()) return Errno(EISDIR);
    if (dst.size() == 0) return size_t{0};
    if (inode_->seekable()) return inode_->ReadAt(ctx, dst, offset);
    return ReadStream(ctx, f, dst);
  }

  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t offset, bool append,
                        uint64_t* offset_out) override {
    if (inode_->IsDir()) return Errno(EISDIR);
    if (inode_->seekable()) {
      return inode_->WriteAt(ctx, src, offset, append, offset_out);
    }
    *offset_out = 0;
    return WriteStream(ctx, f, src);
  }

  ErrnoOr<int64_t> Ioctl(const Context& ctx, File& f, uint64_t cmd,
                         uintptr_t arg) override;

  Errno Fsync(const Context& ctx, File& f) override {
    return inode_->Sync(ctx);
  }

 private:
  ErrnoOr<size_t> ReadStream(const Context& ctx, File& f,
                             const IOSequence& dst) {
    const int fd = inode_->fd();
    const bool nonblocking = f.flags() & O_NONBLOCK;
    std::vector<char> buf(std::min(dst.size(), kChunk));
    for (;;) {
      RETURN_IF_ERRNO(WaitReady(ctx, fd, POLLIN, nonblocking));
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n >= 0) {
        dst.CopyOut(0, buf.data(), static_cast<size_t>(n));
        return static_cast<size_t>(n);
      }
      if (errno == EINTR) continue;
      // Someone else took the data (or the host FD is nonblocking).
      if (errno == EAGAIN && !nonblocking) continue;
      return Errno(errno);
    }
  }

  ErrnoOr<size_t> WriteStream(const Context& ctx, File& f,
                              const IOSequence& src) {
    const int fd = inode_->fd();
    const bool nonblocking = f.flags() & O_NONBLOCK;
    const size_t want = src.size();
    if (want == 0) {
      // pipe_write and a terminal's write take nothing; a socket sends an
      // empty message, as send(2) would.
      if (!inode_->is_socket()) return size_t{0};
      ssize_t n = send(fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) return Errno(errno);
      return size_t{0};
    }
    std::vector<char> buf(std::min(want, kChunk));
    size_t done = 0;
    size_t buffered = 0;  // bytes of buf, from src[done], not yet written
    while (done < want) {
      if (buffered == 0) {
        buffered = std::min(want - done, buf.size());
        src.CopyIn(done, buf.data(), buffered);
      }
      Errno e = WaitReady(ctx, fd, POLLOUT, nonblocking);
      if (!e.ok()) {
        if (done > 0) break;
        return e;
      }
      ssize_t n = inode_->is_socket()
                      ? send(fd, buf.data(), buffered, MSG_NOSIGNAL)
                      : WriteNoSigpipe(fd, buf.data(), buffered);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN && !nonblocking) continue;
        if (done > 0) break;
        return Errno(errno);
      }
      done += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < buffered) {
        std::memmove(buf.data(), buf.data() + n, buffered - n);
      }
      buffered -= static_cast<size_t>(n);
      // A nonblocking write does what it can at once.
      if (nonblocking) break;
    }
    return done;
  }

  const RefPtr<HostInode> inode_;
};

ErrnoOr<FileOpsPtr> HostInode::Open(const Context& ctx, int flags) {
  return FileOpsPtr(new HostFileOperations(RefPtr<HostInode>(this)));
}

template <typename T>
Errno CopyOutArg(uintptr_t arg, const T& v) {
  if (arg == 0) return Errno(EFAULT);
  std::memcpy(reinterpret_cast<void*>(arg), &v, sizeof(T));
  return Errno();
}

template <typename T>
Errno CopyInArg(uintptr_t arg, T* v) {
  if (arg == 0) return Errno(EFAULT);
  std::memcpy(v, reinterpret_cast<const void*>(arg), sizeof(T));
  return Errno();
}

ErrnoOr<int64_t> HostFileOperations::Ioctl(const Context& ctx, File& f,
                                           uint64_t cmd, uintptr_t arg) {
  const int fd = inode_->fd();
  if (cmd == FIONREAD) {
    int n = 0;
    if (inode_->IsRegular()) {
      // do_vfs_ioctl's answer for regular files: the bytes past f_pos.
      ASSIGN_OR_RETURN(UnstableAttr a, inode_->GetAttr(ctx));
      n = static_cast<int>(a.size - f.offset());
    } else if (inode_->is_tty() || inode_->is_socket() ||
               inode_->type() == InodeType::kFifo) {
      if (ioctl(fd, FIONREAD, &n) < 0) return Errno(errno);
    } else {
      return Errno(ENOTTY);
    }
    RETURN_IF_ERRNO(CopyOutArg(arg, n));
    return int64_t{0};
  }
  if (!inode_->is_tty()) return Errno(ENOTTY);
  switch (cmd) {
    case TCGETS: {
      KernelTermios t;
      if (ioctl(fd, TCGETS, &t) < 0) return Errno(errno);
      RETURN_IF_ERRNO(CopyOutArg(arg, t));
      return int64_t{0};
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      KernelTermios t;
      RETURN_IF_ERRNO(CopyInArg(arg, &t));
      if (ioctl(fd, cmd, &t) < 0) return Errno(errno);
      return int64_t{0};
    }
    case TIOCGWINSZ: {
      KernelWinsize w;
      if (ioctl(fd, TIOCGWINSZ, &w) < 0) return Errno(errno);
      RETURN_IF_ERRNO(CopyOutArg(arg, w));
      return int64_t{0};
    }
    case TIOCSWINSZ: {
      KernelWinsize w;
      RETURN_IF_ERRNO(CopyInArg(arg, &w));
      if (ioctl(fd, TIOCSWINSZ, &w) < 0) return Errno(errno);
      return int64_t{0};
    }
    case TIOCGPGRP: {
      int32_t pgrp = inode_->fg_pgrp().load();
      RETURN_IF_ERRNO(CopyOutArg(arg, pgrp));
      return int64_t{0};
    }
    case TIOCSPGRP: {
      int32_t pgrp;
      RETURN_IF_ERRNO(CopyInArg(arg, &pgrp));
      if (pgrp < 0) return Errno(EINVAL);
      inode_->fg_pgrp().store(pgrp);
      return int64_t{0};
    }
    default:
      return Errno(ENOTTY);
  }
}

}  // namespace

ErrnoOr<RefPtr<File>> ImportFile(const Context& ctx, int host_fd, bool is_tty) {
  const int fd = fcntl(host_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Errno(errno);
  auto fail = [fd](int e) -> Errno {
    close(fd);
    return Errno(e);
  };
  const int host_flags = fcntl(fd, F_GETFL);
  if (host_flags < 0) return fail(errno);
  if (host_flags & O_PATH) return fail(EINVAL);
  struct stat st;
  if (fstat(fd, &st) < 0) return fail(errno);
  std::optional<InodeType> type = TypeFromMode(st.st_mode);
  if (!type) return fail(EINVAL);
  // Seekable is what the host says; a terminal never is.
  off_t pos = is_tty ? -1 : lseek(fd, 0, SEEK_CUR);
  const bool seekable = pos >= 0;

  RefPtr<MountSource> msrc = SharedSource();
  StableAttr sattr;
  sattr.type = *type;
  sattr.dev = msrc->device();
  sattr.ino = msrc->NextIno();
  sattr.rdev = st.st_rdev;
  sattr.block_size = st.st_blksize;
  auto inode = base::AdoptRef(
      new HostInode(std::move(msrc), sattr, fd, seekable, is_tty, ctx.pid()));
  std::string name;
  switch (*type) {
    case InodeType::kFifo:
      name = absl::StrCat("pipe:[", sattr.ino, "]");
      break;
    case InodeType::kSocket:
      name = absl::StrCat("socket:[", sattr.ino, "]");
      break;
    default:
      name = absl::StrCat("host:[", sattr.ino, "]");
      break;
  }
  RefPtr<Dirent> dirent = Dirent::NewRoot(inode, std::move(name));
  // A private mount of the file alone: File's users expect a Mount.
  RefPtr<Mount> mount;
  {
    RefPtr<MountNamespace> ns = MountNamespace::New(dirent);
    mount = ns->Root().mount;
  }
  // O_LARGEFILE as the kernel sets it on every 64-bit open (glibc's
  // constant is 0 there).
  constexpr int kOLargefile = 0100000;
  const int flags = host_flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
  auto file = base::MakeRef<File>(std::move(mount), std::move(dirent),
                                  flags | kOLargefile,
                                  FileOpsPtr(new HostFileOperations(inode)));
  if (seekable && pos > 0) {
    auto r = file->Seek(ctx, pos, SEEK_SET);
    if (!r.ok()) return r.error();
  }
  return file;
}

int HostFDForTest(const File& f) {
  auto* in = dynamic_cast<HostInode*>(f.inode());
  return in ? in->fd() : -1;
}

}  // namespace sentry::fs::host
