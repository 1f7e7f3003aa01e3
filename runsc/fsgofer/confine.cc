#include "runsc/fsgofer/confine.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
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

namespace {

// Reads a small /proc/sys file; "" if it does not exist.
std::string ReadSysctl(const char* path) {
  p9::FileDescriptor fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  char buf[64];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Why this kernel refuses an unprivileged user namespace, or "" if it
// may allow one. Debian's kernels have kernel.unprivileged_userns_clone
// (0 forbids CLONE_NEWUSER without CAP_SYS_ADMIN); every kernel has
// user.max_user_namespaces (0 forbids it for everyone, ENOSPC). The
// unshare itself has the last word; these only make the log line say why.
std::string UserNamespacesForbidden() {
  if (ReadSysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0") {
    return "kernel.unprivileged_userns_clone is 0";
  }
  if (ReadSysctl("/proc/sys/user/max_user_namespaces") == "0") {
    return "user.max_user_namespaces is 0";
  }
  return "";
}

absl::Status WriteProcFile(const char* path, const std::string& data) {
  p9::FileDescriptor fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(path);
  if (::write(fd.get(), data.data(), data.size()) !=
      static_cast<ssize_t>(data.size())) {
    return ErrnoStatus(path);
  }
  return absl::OkStatus();
}

// Enters a new user namespace and mount namespace in which our own
// euid/egid map to themselves (the one mapping an unprivileged process may
// write), so the gofer holds CAP_SYS_ADMIN over its own mount namespace.
// false (with *why) if the kernel refuses the namespace (EPERM, ENOSPC;
// EINVAL if threaded); an error if it was made but its maps could not be
// written, since the gofer would then see every file as unowned.
absl::StatusOr<bool> EnterUserNamespace(std::string* why) {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    *why = absl::StrCat("unshare(CLONE_NEWUSER|CLONE_NEWNS): ",
                        std::strerror(errno));
    return false;
  }
  // An unprivileged gid_map needs setgroups(2) disabled first.
  if (absl::Status s = WriteProcFile("/proc/self/setgroups", "deny"); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteProcFile("/proc/self/uid_map",
                                     absl::StrCat(uid, " ", uid, " 1\n"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteProcFile("/proc/self/gid_map",
                                     absl::StrCat(gid, " ", gid, " 1\n"));
      !s.ok()) {
    return s;
  }
  return true;
}

// The flags DIR's mount already has. A remount in a user namespace must
// keep the flags the parent namespace locked (ro, nosuid, nodev, noexec,
// atime), so they are carried over; adding more is always allowed.
unsigned long ExistingMountFlags(const std::string& dir) {
  struct statvfs sv;
  if (::statvfs(dir.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// Capabilities held inside our own user namespace apply to the files our
// uid owns (CAP_DAC_OVERRIDE would open our own 0400 files for writing).
// Once the mounts are made they are of no further use: drop them all, so
// the gofer has exactly the host rights of its uid.
absl::Status DropCapabilities() {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &hdr, data) != 0) return ErrnoStatus("capset");
  return absl::OkStatus();
}

// Inside a fresh mount namespace: all mounts private, DIR bind-mounted onto
// itself and made the root (pivot_root, else chroot).
absl::Status MakeDirTheRoot(const std::string& dir, bool read_only,
                            PrivateRoot* pr) {
  // Nothing we do here propagates back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return ErrnoStatus("mount(MS_PRIVATE)");
  }
  // DIR becomes a mount point of its own, so that pivot_root accepts it
  // and rename(2) out of it fails with EXDEV. (MS_REC: in a user
  // namespace the mounts below DIR are locked to it.)
  const unsigned long existing = ExistingMountFlags(dir);
  if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
      0) {
    return ErrnoStatus("bind mount of the root");
  }
  // nodev/nosuid: even a device node that is in the tree cannot be opened
  // as a device through this mount.
  const unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV |
                              existing | (read_only ? MS_RDONLY : 0);
  if (::mount(nullptr, dir.c_str(), nullptr, flags, nullptr) != 0 &&
      read_only) {
    return ErrnoStatus("read-only remount of the root");
  }
  if (::chdir(dir.c_str()) != 0) return ErrnoStatus("chdir to the root");
  // pivot_root(".", ".") stacks the old root on top of the new one;
  // detaching it leaves DIR the only tree in this namespace.
  if (::syscall(SYS_pivot_root, ".", ".") == 0 &&
      ::umount2(".", MNT_DETACH) == 0) {
    pr->pivoted = true;
  } else if (::chroot(".") != 0) {
    return ErrnoStatus("chroot");
  }
  if (::chdir("/") != 0) return ErrnoStatus("chdir /");
  pr->root.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrivateRoot> EnterPrivateRoot(const std::string& dir,
                                             bool read_only) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  PrivateRoot pr;
  if (::unshare(CLONE_NEWNS) == 0) {
    pr.mount_ns = true;
    if (absl::Status s = MakeDirTheRoot(dir, read_only, &pr); !s.ok()) {
      return s;
    }
  } else if (std::string why = UserNamespacesForbidden(); !why.empty()) {
    pr.why_not = why;
  } else if (absl::StatusOr<bool> in = EnterUserNamespace(&pr.why_not);
             !in.ok()) {
    return in.status();
  } else if (!*in) {
    // Refused by the kernel: pr.why_not says how.
  } else {
    pr.user_ns = true;
    if (absl::Status s = MakeDirTheRoot(dir, read_only, &pr); !s.ok()) {
      // A kernel (or LSM) that grants the namespace but not mounts in it.
      // Until the root moves, whatever was mounted is only inside our own
      // namespace and DIR is still reachable by its path: keep the fd
      // discipline. Past that point it is an error.
      if (pr.pivoted || pr.root.valid()) return s;
      pr.why_not = absl::StrCat("in a user namespace: ", s.message());
    } else {
      pr.mount_ns = true;
    }
    if (absl::Status s = DropCapabilities(); !s.ok()) return s;
  }
  if (!pr.mount_ns) {
    // No namespace. The handler only ever uses the root fd and fds
    // derived from it; the cwd moves there too.
    if (::chdir(dir.c_str()) != 0) return ErrnoStatus("chdir to the root");
    pr.root.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  if (!pr.root.valid()) return ErrnoStatus("open the root");
  return pr;
}

std::string DescribeConfinement(const PrivateRoot& pr, uid_t uid, gid_t gid) {
  std::string s;
  if (pr.user_ns) {
    s = absl::StrCat("user namespace (uid ", uid, " and gid ", gid,
                     " mapped to themselves, capabilities dropped), ");
  }
  if (pr.mount_ns) {
    absl::StrAppend(&s, "private mount namespace, ",
                    pr.pivoted ? "pivot_root" : "chroot",
                    " into the served directory");
  } else {
    absl::StrAppend(&s, "no mount namespace (", pr.why_not,
                    "): directory-fd discipline only");
  }
  absl::StrAppend(&s, ", no_new_privs");
  return s;
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
