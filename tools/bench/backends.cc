#include "tools/bench/backends.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/kernel/auth/credentials.h"

namespace bench {

namespace {
long Sys(long r) { return r < 0 ? -errno : r; }
}  // namespace

void Die(const std::string& what, long err) {
  std::fprintf(stderr, "bench: %s failed: %s\n", what.c_str(),
               std::strerror(static_cast<int>(-err)));
  std::abort();
}

HostDir::HostDir() {
  char tmpl[] = "/tmp/sandboxfs-bench.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp", -errno);
  path_ = tmpl;
  // In a mount namespace of our own (if we may: root, and still one
  // thread), the tmpfs vanishes with the process even if it is killed.
  if (::unshare(CLONE_NEWNS) == 0) {
    (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  }
  if (::mount("none", path_.c_str(), "tmpfs", 0, "mode=0755") == 0) {
    mounted_ = true;
  } else {
    ::rmdir(path_.c_str());
    char shm[] = "/dev/shm/sandboxfs-bench.XXXXXX";
    if (::mkdtemp(shm) == nullptr) Die("mkdtemp in /dev/shm", -errno);
    path_ = shm;
  }
  fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) Die("open " + path_, -errno);
}

HostDir::~HostDir() {
  ::close(fd_);
  if (mounted_) {
    ::umount2(path_.c_str(), MNT_DETACH);
    ::rmdir(path_.c_str());
  } else {
    std::string cmd = "rm -rf '" + path_ + "'";
    (void)!std::system(cmd.c_str());
  }
}

long LinuxFs::Stat(const char* p, struct stat* st) {
  return Sys(::fstatat(dir_, p, st, 0));
}
long LinuxFs::Fstat(int fd, struct stat* st) { return Sys(::fstat(fd, st)); }
long LinuxFs::Open(const char* p, int flags, mode_t mode) {
  return Sys(::openat(dir_, p, flags | O_CLOEXEC, mode));
}
long LinuxFs::Close(int fd) { return Sys(::close(fd)); }
long LinuxFs::Pread(int fd, void* buf, size_t n, off_t off) {
  return Sys(::pread(fd, buf, n, off));
}
long LinuxFs::Pwrite(int fd, const void* buf, size_t n, off_t off) {
  return Sys(::pwrite(fd, buf, n, off));
}
long LinuxFs::Getdents(int fd, void* buf, size_t n) {
  return Sys(::syscall(SYS_getdents64, fd, buf, n));
}
long LinuxFs::Mkdir(const char* p, mode_t mode) {
  return Sys(::mkdirat(dir_, p, mode));
}
long LinuxFs::Unlink(const char* p) { return Sys(::unlinkat(dir_, p, 0)); }
long LinuxFs::Rename(const char* from, const char* to) {
  return Sys(::renameat(dir_, from, dir_, to));
}

OurTmpfs::OurTmpfs() {
  auto creds = sentry::kernel::auth::Credentials::Root();
  sentry::context::Context ctx(creds);
  auto fs = sentry::fs::FindFilesystem("tmpfs");
  if (!fs.ok()) Die("finding tmpfs", -fs.error().value());
  auto root = (*fs)->Mount(ctx, "none", {}, "");
  if (!root.ok()) Die("mounting our tmpfs", -root.error().value());
  ns = sentry::fs::MountNamespace::New(
      sentry::fs::Dirent::NewRoot(std::move(*root)));
  task = std::make_unique<sentry::kernel::Task>(ns, creds);
}

OurTmpfs::~OurTmpfs() {
  task.reset();
  ns.reset();
}

}  // namespace bench
