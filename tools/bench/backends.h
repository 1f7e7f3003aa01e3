// The two file systems every //tools/bench row runs on, behind one
// interface, so each workload is written once (a template over the
// backend) and runs the same calls on both:
//
//   LinuxFs  Linux syscalls, relative to a directory fd on a fresh host
//            tmpfs (HostDir mounts one; /dev/shm if mounting is refused).
//   OursFs   sentry::kernel::Task's syscall-shaped entry points on our
//            tmpfs, relative to the task's cwd (its root).
//
// Paths are relative ("c/c/f"), so neither side walks a prefix the other
// does not. Results are syscall-shaped: >= 0 or -errno.
#ifndef TOOLS_BENCH_BACKENDS_H_
#define TOOLS_BENCH_BACKENDS_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/refcount.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/task.h"

namespace bench {

// A fresh, empty host tmpfs directory: a tmpfs mounted on a temporary
// directory (needs CAP_SYS_ADMIN), else a directory under /dev/shm.
// Unmounted and removed on destruction.
class HostDir {
 public:
  HostDir();
  ~HostDir();
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // "mounted tmpfs" or "/dev/shm".
  const char* kind() const { return mounted_ ? "mounted tmpfs" : "/dev/shm"; }

 private:
  std::string path_;
  int fd_ = -1;
  bool mounted_ = false;
};

class LinuxFs {
 public:
  static constexpr const char* kName = "linux";
  explicit LinuxFs(int dirfd) : dir_(dirfd) {}
  long Stat(const char* p, struct stat* st);
  long Fstat(int fd, struct stat* st);
  long Open(const char* p, int flags, mode_t mode = 0);
  long Close(int fd);
  long Pread(int fd, void* buf, size_t n, off_t off);
  long Pwrite(int fd, const void* buf, size_t n, off_t off);
  long Getdents(int fd, void* buf, size_t n);
  long Mkdir(const char* p, mode_t mode);
  long Unlink(const char* p);
  long Rename(const char* from, const char* to);

 private:
  int dir_;
};

class OursFs {
 public:
  static constexpr const char* kName = "ours";
  explicit OursFs(sentry::kernel::Task* t) : t_(t) {}
  long Stat(const char* p, struct stat* st) {
    return t_->Fstatat(AT_FDCWD, p, st, 0);
  }
  long Open(const char* p, int flags, mode_t mode = 0) {
    return t_->Openat(AT_FDCWD, p, flags, mode);
  }
  long Close(int fd) { return t_->Close(fd); }
  long Fstat(int fd, struct stat* st) { return t_->Fstat(fd, st); }
  long Pread(int fd, void* buf, size_t n, off_t off) {
    return t_->Pread64(fd, buf, n, off);
  }
  long Pwrite(int fd, const void* buf, size_t n, off_t off) {
    return t_->Pwrite64(fd, buf, n, off);
  }
  long Getdents(int fd, void* buf, size_t n) {
    return t_->Getdents64(fd, buf, n);
  }
  long Mkdir(const char* p, mode_t mode) {
    return t_->Mkdirat(AT_FDCWD, p, mode);
  }
  long Unlink(const char* p) { return t_->Unlinkat(AT_FDCWD, p, 0); }
  long Rename(const char* from, const char* to) {
    return t_->Renameat2(AT_FDCWD, from, AT_FDCWD, to, 0);
  }

 private:
  sentry::kernel::Task* t_;
};

// A Task at the root of a new namespace on a fresh tmpfs of ours.
struct OurTmpfs {
  OurTmpfs();
  ~OurTmpfs();
  base::RefPtr<sentry::fs::MountNamespace> ns;
  std::unique_ptr<sentry::kernel::Task> task;
};

// Creates path (O_CREAT|O_TRUNC) with size bytes; aborts on failure, as a
// fixture that cannot be built makes every figure meaningless.
template <typename Fs>
void MakeFile(Fs& fs, const std::string& path, size_t size);
// Creates each directory of a/b/c in turn (EEXIST is fine).
template <typename Fs>
void MakeDirs(Fs& fs, const std::string& path);

// Aborts with a message naming what failed.
[[noreturn]] void Die(const std::string& what, long err);
inline long Check(long r, std::string_view what) {
  if (r < 0) Die(std::string(what), r);
  return r;
}
// The same, naming what and its argument, joined only on failure (the
// hot loops must not build strings).
inline long Check(long r, const char* what, const std::string& arg) {
  if (r < 0) Die(std::string(what) + " " + arg, r);
  return r;
}

template <typename Fs>
void MakeFile(Fs& fs, const std::string& path, size_t size) {
  int fd = static_cast<int>(
      Check(fs.Open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644), "create",
            path));
  std::string chunk(std::min<size_t>(size, 1 << 20), 'x');
  for (size_t off = 0; off < size; off += chunk.size()) {
    size_t n = std::min(chunk.size(), size - off);
    Check(fs.Pwrite(fd, chunk.data(), n, static_cast<off_t>(off)), "write",
          path);
  }
  Check(fs.Close(fd), "close", path);
}

template <typename Fs>
void MakeDirs(Fs& fs, const std::string& path) {
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string prefix = path.substr(0, i);
      long r = fs.Mkdir(prefix.c_str(), 0755);
      if (r < 0 && r != -EEXIST) Die("mkdir " + prefix, r);
    }
  }
}

}  // namespace bench

#endif  // TOOLS_BENCH_BACKENDS_H_
