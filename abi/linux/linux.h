// The Linux ABI the VFS speaks: flag values, file types, stat, statfs,
// dirent64, timespec and flock layouts, as x86-64 Linux defines them.
//
// Flag values (O_*, AT_*, S_IF*, MS_*, IN_*, ...) are the C library's macros
// from the headers included below: on Linux those are the ABI itself, and
// abi_test.cc pins each one to its x86-64 number, so a sandbox built against
// other headers fails loudly instead of silently disagreeing. What the C
// library lacks, and the structures the sentry fills in for an application,
// are defined here.
#ifndef ABI_LINUX_LINUX_H_
#define ABI_LINUX_LINUX_H_

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

// The namespace is linux_abi, not abi::linux: libstdc++'s <cxxabi.h> already
// declares `namespace abi`.
namespace linux_abi {

// Limits.
inline constexpr int kNameMax = 255;   // bytes in one path component
inline constexpr int kPathMax = 4096;  // bytes in a path, with its NUL
inline constexpr int kMaxSymlinkTraversals = 40;  // fs/namei.c MAXSYMLINKS
inline constexpr int kXattrNameMax = 255;
inline constexpr int kXattrSizeMax = 65536;
inline constexpr int kXattrListMax = 65536;
inline constexpr int kLinkMax = 65000;  // largest link count we allow

// open(2) flags.

// *at(2) flags.

// renameat2(2) flags.

// File types and mode bits.
inline constexpr uint32_t S_IRWXUGO = 0777;
inline constexpr uint32_t S_IALLUGO = 07777;

// dirent64 d_type values.

// access(2) / permission masks (fs.h MAY_*).
// statfs f_flags: ST_VALID says the other bits mean something.
inline constexpr int64_t kStValid = 0x20;

inline constexpr int MAY_EXEC = 1;
inline constexpr int MAY_WRITE = 2;
inline constexpr int MAY_READ = 4;

// lseek(2) whence.

// fallocate(2) modes.

// fcntl(2).

// flock(2).

// utimensat(2).

// xattr flags.

// mount(2) flags.

// umount2(2) flags.

// inotify(7).

// Filesystem magic numbers (statfs f_type).
inline constexpr int64_t kTmpfsMagic = 0x01021994;
inline constexpr int64_t kRamfsMagic = 0x858458f6;
inline constexpr int64_t kProcMagic = 0x9fa0;
inline constexpr int64_t kSysfsMagic = 0x62656572;
inline constexpr int64_t kDevptsMagic = 0x1cd1;
inline constexpr int64_t kOverlayfsMagic = 0x794c7630;
inline constexpr int64_t kV9fsMagic = 0x01021997;

// Capabilities (linux/capability.h numbers).

struct Timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

// struct stat on x86-64.
struct Stat {
  uint64_t st_dev;
  uint64_t st_ino;
  uint64_t st_nlink;
  uint32_t st_mode;
  uint32_t st_uid;
  uint32_t st_gid;
  int32_t pad0;
  uint64_t st_rdev;
  int64_t st_size;
  int64_t st_blksize;
  int64_t st_blocks;
  Timespec st_atim;
  Timespec st_mtim;
  Timespec st_ctim;
  int64_t unused[3];
};

// struct statfs on x86-64.
struct Statfs {
  int64_t f_type;
  int64_t f_bsize;
  uint64_t f_blocks;
  uint64_t f_bfree;
  uint64_t f_bavail;
  uint64_t f_files;
  uint64_t f_ffree;
  int32_t f_fsid[2];
  int64_t f_namelen;
  int64_t f_frsize;
  int64_t f_flags;
  int64_t f_spare[4];
};

// The fixed part of struct linux_dirent64; d_name (NUL-terminated) follows,
// and the record is padded to 8 bytes.
struct Dirent64Header {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
};
inline constexpr int kDirent64NameOffset = 19;

// struct flock on x86-64.
struct Flock {
  int16_t l_type;
  int16_t l_whence;
  int64_t l_start;
  int64_t l_len;
  int32_t l_pid;
};

// struct inotify_event; name (padded with NULs) follows.
struct InotifyEvent {
  int32_t wd;
  uint32_t mask;
  uint32_t cookie;
  uint32_t len;
};

// statfs f_flags (ST_*).

// Device numbers as the kernel encodes them (new_encode_dev).
inline constexpr uint64_t MakeDev(uint32_t major, uint32_t minor) {
  return (static_cast<uint64_t>(major & 0xfffff000) << 32) |
         ((major & 0xfff) << 8) |
         (static_cast<uint64_t>(minor & 0xffffff00) << 12) | (minor & 0xff);
}
inline constexpr uint32_t DevMajor(uint64_t dev) {
  return static_cast<uint32_t>(((dev >> 32) & 0xfffff000) |
                               ((dev >> 8) & 0xfff));
}
inline constexpr uint32_t DevMinor(uint64_t dev) {
  return static_cast<uint32_t>(((dev >> 12) & 0xffffff00) | (dev & 0xff));
}

inline constexpr uint8_t ModeToDirentType(uint32_t mode) {
  return static_cast<uint8_t>((mode & S_IFMT) >> 12);
}

// Resource limits (getrlimit(2)); the RLIMIT_* numbers are <sys/resource.h>'s.
inline constexpr int kRlimNlimits = 16;
inline constexpr uint64_t kRlimInfinity = ~uint64_t{0};
// fs.nr_open's default: no RLIMIT_NOFILE hard limit may exceed it (EPERM).
inline constexpr uint64_t kNrOpen = 1024 * 1024;

// struct rlimit (and rlimit64) on x86-64.
struct Rlimit {
  uint64_t cur = kRlimInfinity;
  uint64_t max = kRlimInfinity;
  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

// Each resource's names: the RLIMIT_ constant's (as OCI's process.rlimits
// spells it), and /proc/[pid]/limits' row and unit (empty: none).
struct RlimitName {
  const char* constant;
  const char* row;
  const char* unit;
};
inline constexpr RlimitName kRlimitNames[kRlimNlimits] = {
    {"RLIMIT_CPU", "Max cpu time", "seconds"},
    {"RLIMIT_FSIZE", "Max file size", "bytes"},
    {"RLIMIT_DATA", "Max data size", "bytes"},
    {"RLIMIT_STACK", "Max stack size", "bytes"},
    {"RLIMIT_CORE", "Max core file size", "bytes"},
    {"RLIMIT_RSS", "Max resident set", "bytes"},
    {"RLIMIT_NPROC", "Max processes", "processes"},
    {"RLIMIT_NOFILE", "Max open files", "files"},
    {"RLIMIT_MEMLOCK", "Max locked memory", "bytes"},
    {"RLIMIT_AS", "Max address space", "bytes"},
    {"RLIMIT_LOCKS", "Max file locks", "locks"},
    {"RLIMIT_SIGPENDING", "Max pending signals", "signals"},
    {"RLIMIT_MSGQUEUE", "Max msgqueue size", "bytes"},
    {"RLIMIT_NICE", "Max nice priority", ""},
    {"RLIMIT_RTPRIO", "Max realtime priority", ""},
    {"RLIMIT_RTTIME", "Max realtime timeout", "us"},
};

}  // namespace linux_abi

#endif  // ABI_LINUX_LINUX_H_
