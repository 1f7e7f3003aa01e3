#include "runsc/fsgofer/confine.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace fsgofer {
namespace {

absl::Status ErrnoStatus(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace

absl::StatusOr<PrivateRoot> EnterPrivateRoot(const std::string& dir,
                                             bool read_only) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  PrivateRoot pr;
  if (::unshare(CLONE_NEWNS) == 0) {
    pr.mount_ns = true;
    // Nothing we do here propagates back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return ErrnoStatus("mount(MS_PRIVATE)");
    }
    // DIR becomes a mount point of its own, so that pivot_root accepts it
    // and rename(2) out of it fails with EXDEV.
    if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
        0) {
      return ErrnoStatus("bind mount of the root");
    }
    if (read_only &&
        ::mount(nullptr, dir.c_str(), nullptr,
                MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                nullptr) != 0) {
      return ErrnoStatus("read-only remount of the root");
    } else if (!read_only) {
      // nodev/nosuid: even a device node that is in the tree cannot be
      // opened as a device through this mount.
      (void)::mount(nullptr, dir.c_str(), nullptr,
                    MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, nullptr);
    }
    if (::chdir(dir.c_str()) != 0) return ErrnoStatus("chdir to the root");
    // pivot_root(".", ".") stacks the old root on top of the new one;
    // detaching it leaves DIR the only tree in this namespace.
    if (::syscall(SYS_pivot_root, ".", ".") == 0 &&
        ::umount2(".", MNT_DETACH) == 0) {
      pr.pivoted = true;
    } else if (::chroot(".") != 0) {
      return ErrnoStatus("chroot");
    }
    if (::chdir("/") != 0) return ErrnoStatus("chdir /");
    pr.root.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    // Unprivileged: no namespace. The handler only ever uses the root fd
    // and fds derived from it; the cwd moves there too.
    if (::chdir(dir.c_str()) != 0) return ErrnoStatus("chdir to the root");
    pr.root.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!pr.root.valid()) return ErrnoStatus("open the root");
  return pr;
}

absl::Status CloseOtherFds(const std::vector<int>& keep) {
  std::vector<int> k = keep;
  std::sort(k.begin(), k.end());
  unsigned lo = 0;
  for (int fd : k) {
    if (fd < 0 || static_cast<unsigned>(fd) < lo) continue;
    if (static_cast<unsigned>(fd) > lo &&
        ::syscall(SYS_close_range, lo, static_cast<unsigned>(fd) - 1, 0) != 0) {
      return ErrnoStatus("close_range");
    }
    lo = static_cast<unsigned>(fd) + 1;
  }
  if (::syscall(SYS_close_range, lo, ~0u, 0) != 0) {
    return ErrnoStatus("close_range");
  }
  return absl::OkStatus();
}

const std::vector<const char*>& AllowedSyscalls() {
  static const std::vector<const char*> kList = {
      // File operations of the handler (all *at on held fds).
      "openat", "close", "read", "write", "pread64", "pwrite64", "readv",
      "writev", "lseek", "fstat", "newfstatat", "statx", "fstatfs",
      "getdents64", "mkdirat", "mknodat", "unlinkat", "renameat", "renameat2",
      "linkat", "symlinkat", "readlinkat", "fchownat", "fchmod", "fchmodat",
      "fchmodat2", "utimensat", "ftruncate", "fsync", "fdatasync", "fcntl",
      "fgetxattr", "flistxattr", "fsetxattr", "fremovexattr",
      // Sockets: the listeners and io-fds exist already.
      "accept", "accept4", "sendmsg", "recvmsg", "sendto", "recvfrom",
      "shutdown", "setsockopt", "getsockopt",
      // Threads, memory, time, signals, exit.
      "clone", "clone3", "futex", "set_robust_list", "rseq", "mmap", "munmap",
      "mprotect", "madvise", "brk", "mremap", "rt_sigprocmask", "rt_sigaction",
      "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "restart_syscall",
      "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday",
      "sched_yield", "sched_getaffinity", "sched_getparam",
      "sched_getscheduler", "getrandom", "gettid", "getpid", "tgkill", "exit",
      "exit_group", "poll", "ppoll", "prlimit64", "membarrier",
      // The UBSan runtime probes memory with a pipe (harmless: no paths).
      "pipe2"};
  return kList;
}

absl::Status InstallSeccomp() {
  const uint32_t def =
      kSanitized ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_KILL_PROCESS;
  scmp_filter_ctx ctx = ::seccomp_init(def);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  for (const char* name : AllowedSyscalls()) {
    int nr = ::seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) {
      ::seccomp_release(ctx);
      return absl::InternalError(
          absl::StrCat("seccomp_rule_add(", name, "): ", std::strerror(-rc)));
    }
  }
  // Every thread, including any started before the filter.
  int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc == 0) rc = ::seccomp_load(ctx);
  ::seccomp_release(ctx);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp_load: ", std::strerror(-rc)));
  }
  return absl::OkStatus();
}

}  // namespace fsgofer
