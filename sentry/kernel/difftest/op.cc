#include "sentry/kernel/difftest/op.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/errno.h"

namespace difftest {

namespace {

struct Flag {
  int bit;
  const char* name;
};

std::string Quote(const std::string& s) {
  return absl::StrCat("\"", EscapeBytes(s, 80), "\"");
}

std::string SlotName(int slot) {
  if (slot == kCwd) return "AT_FDCWD";
  if (slot == kBadSlot) return "s<bad>";
  return absl::StrCat("s", slot);
}

std::string AtFlags(int f) {
  std::vector<std::string> v;
  if (f & AT_SYMLINK_NOFOLLOW) v.push_back("AT_SYMLINK_NOFOLLOW");
  if (f & AT_SYMLINK_FOLLOW) v.push_back("AT_SYMLINK_FOLLOW");
  if (f & AT_EMPTY_PATH) v.push_back("AT_EMPTY_PATH");
  if (f & AT_EACCESS) v.push_back("AT_EACCESS");
  if (f & AT_REMOVEDIR) v.push_back("AT_REMOVEDIR");
  int rest = f & ~(AT_SYMLINK_NOFOLLOW | AT_SYMLINK_FOLLOW | AT_EMPTY_PATH |
                   AT_EACCESS | AT_REMOVEDIR);
  if (rest) v.push_back(absl::StrFormat("%#x", rest));
  return v.empty() ? "0" : absl::StrJoin(v, "|");
}

std::string Oct(uint32_t m) { return absl::StrFormat("0%o", m); }

std::string RlimitResource(int r) {
  if (r == RLIMIT_FSIZE) return "RLIMIT_FSIZE";
  if (r == RLIMIT_NOFILE) return "RLIMIT_NOFILE";
  return absl::StrCat(r);
}
std::string RlimitValue(uint64_t v) {
  return v == RLIM_INFINITY ? "RLIM_INFINITY" : absl::StrCat(v);
}

std::string WhenceName(int w) {
  switch (w) {
    case SEEK_SET:
      return "SEEK_SET";
    case SEEK_CUR:
      return "SEEK_CUR";
    case SEEK_END:
      return "SEEK_END";
    case SEEK_DATA:
      return "SEEK_DATA";
    case SEEK_HOLE:
      return "SEEK_HOLE";
  }
  return absl::StrCat(w);
}

std::string FcntlCmdName(int c) {
  switch (c) {
    case F_GETFL:
      return "F_GETFL";
    case F_SETFL:
      return "F_SETFL";
    case F_GETFD:
      return "F_GETFD";
    case F_SETFD:
      return "F_SETFD";
    case F_GETLK:
      return "F_GETLK";
    case F_SETLK:
      return "F_SETLK";
    case F_SETLKW:
      return "F_SETLKW";
    case F_OFD_GETLK:
      return "F_OFD_GETLK";
    case F_OFD_SETLK:
      return "F_OFD_SETLK";
  }
  return absl::StrCat(c);
}

std::string LockTypeName(long t) {
  switch (t) {
    case F_RDLCK:
      return "F_RDLCK";
    case F_WRLCK:
      return "F_WRLCK";
    case F_UNLCK:
      return "F_UNLCK";
  }
  return absl::StrCat(t);
}

std::string FlockName(int op) {
  std::string s;
  switch (op & ~LOCK_NB) {
    case LOCK_SH:
      s = "LOCK_SH";
      break;
    case LOCK_EX:
      s = "LOCK_EX";
      break;
    case LOCK_UN:
      s = "LOCK_UN";
      break;
    default:
      s = absl::StrCat(op & ~LOCK_NB);
  }
  if (op & LOCK_NB) s += "|LOCK_NB";
  return s;
}

std::string FallocName(int m) {
  std::vector<std::string> v;
  if (m & FALLOC_FL_KEEP_SIZE) v.push_back("KEEP_SIZE");
  if (m & FALLOC_FL_PUNCH_HOLE) v.push_back("PUNCH_HOLE");
  int rest = m & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE);
  if (rest) v.push_back(absl::StrFormat("%#x", rest));
  return v.empty() ? "0" : absl::StrJoin(v, "|");
}

std::string RenameFlags(int f) {
  std::vector<std::string> v;
  if (f & RENAME_NOREPLACE) v.push_back("RENAME_NOREPLACE");
  if (f & RENAME_EXCHANGE) v.push_back("RENAME_EXCHANGE");
  if (f & RENAME_WHITEOUT) v.push_back("RENAME_WHITEOUT");
  return v.empty() ? "0" : absl::StrJoin(v, "|");
}

std::string XattrFlags(int f) {
  if (f == XATTR_CREATE) return "XATTR_CREATE";
  if (f == XATTR_REPLACE) return "XATTR_REPLACE";
  return absl::StrCat(f);
}

std::string AccessMode(int m) {
  if (m == F_OK) return "F_OK";
  std::string s;
  if (m & R_OK) s += "R";
  if (m & W_OK) s += "W";
  if (m & X_OK) s += "X";
  return s + "_OK";
}

std::string TypeName(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return "reg";
    case S_IFDIR:
      return "dir";
    case S_IFLNK:
      return "lnk";
    case S_IFIFO:
      return "fifo";
    case S_IFCHR:
      return "chr";
    case S_IFBLK:
      return "blk";
    case S_IFSOCK:
      return "sock";
  }
  return absl::StrFormat("type%o", m & S_IFMT);
}

std::string DtypeName(unsigned char t) {
  switch (t) {
    case DT_REG:
      return "reg";
    case DT_DIR:
      return "dir";
    case DT_LNK:
      return "lnk";
    case DT_FIFO:
      return "fifo";
    case DT_CHR:
      return "chr";
    case DT_BLK:
      return "blk";
    case DT_SOCK:
      return "sock";
    case DT_UNKNOWN:
      return "unknown";
  }
  return absl::StrCat("dt", t);
}

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Reads fd's entries with bufsize-byte getdents64 calls until EOF.
// Returns 0 and fills names ("name:type", sorted), or the first error.
long ReadAllDents(Sys* sys, int fd, size_t bufsize,
                  std::vector<std::string>* names) {
  std::vector<char> buf(bufsize ? bufsize : 1);
  for (int iter = 0; iter < 100000; ++iter) {
    long r = sys->Getdents64(fd, buf.data(), bufsize);
    if (r < 0) return r;
    if (r == 0) {
      std::sort(names->begin(), names->end());
      return 0;
    }
    if (static_cast<size_t>(r) > bufsize) return -EOVERFLOW;  // harness guard
    for (long pos = 0; pos < r;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(buf.data() + pos);
      if (d->d_reclen == 0 || pos + d->d_reclen > r) return -EIO;  // guard
      names->push_back(absl::StrCat(
          std::string(d->d_name, strnlen(d->d_name, d->d_reclen - 19)), ":",
          DtypeName(d->d_type)));
      pos += d->d_reclen;
    }
  }
  return -ELOOP;  // never reached EOF: a harness-visible failure
}

}  // namespace

std::string ErrnoString(long ret) {
  if (ret >= 0) return absl::StrCat(ret);
  // base's table of names; a number for one it does not know.
  const std::string_view n = base::ErrnoName(static_cast<int>(-ret));
  if (n == "E?") return absl::StrCat(ret);
  return absl::StrCat("-", absl::string_view(n.data(), n.size()));
}

std::string OpenFlagsToString(int flags) {
  static const Flag kFlags[] = {
      {O_CREAT, "O_CREAT"},
      {O_EXCL, "O_EXCL"},
      {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},
      {O_DIRECTORY, "O_DIRECTORY"},
      {O_NOFOLLOW, "O_NOFOLLOW"},
      {O_PATH, "O_PATH"},
      {O_NONBLOCK, "O_NONBLOCK"},
      {O_CLOEXEC, "O_CLOEXEC"},
      {O_NOCTTY, "O_NOCTTY"},
      {__O_LARGEFILE, "O_LARGEFILE"},
      {O_NOATIME, "O_NOATIME"},
      {O_SYNC, "O_SYNC"},
  };
  std::string s;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      s = "O_RDONLY";
      break;
    case O_WRONLY:
      s = "O_WRONLY";
      break;
    case O_RDWR:
      s = "O_RDWR";
      break;
    default:
      s = "O_ACCMODE";
      break;
  }
  int rest = flags & ~O_ACCMODE;
  for (const Flag& f : kFlags) {
    if ((rest & f.bit) == f.bit) {
      s += "|";
      s += f.name;
      rest &= ~f.bit;
    }
  }
  if (rest) absl::StrAppend(&s, "|", absl::StrFormat("%#o", rest));
  return s;
}

std::string EscapeBytes(const std::string& s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (max && out.size() > max) {
      absl::StrAppend(&out, "...(", s.size(), " bytes)");
      break;
    }
    size_t j = i;
    while (j < s.size() && s[j] == s[i]) ++j;
    if (j - i >= 8) {
      absl::StrAppend(
          &out, absl::StrFormat("<%02x*%d>", static_cast<unsigned char>(s[i]),
                                j - i));
      i = j;
      continue;
    }
    unsigned char c = s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '<') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
    }
    ++i;
  }
  return out;
}

std::string OpToString(const Op& op) {
  std::string x;
  auto xpath = [&]() {
    switch (op.xv) {
      case XattrVariant::kPath:
        return absl::StrCat("(", Quote(op.path));
      case XattrVariant::kLpath:
        return absl::StrCat("l(", Quote(op.path));
      case XattrVariant::kFd:
        return absl::StrCat("f(", SlotName(op.slot));
    }
    return std::string("?");
  };
  switch (op.kind) {
    case OpKind::kOpen:
      x = absl::StrCat(SlotName(op.slot), " = openat(", SlotName(op.dir), ", ",
                       Quote(op.path), ", ", OpenFlagsToString(op.flags));
      if (op.flags & (O_CREAT | __O_TMPFILE)) x += ", " + Oct(op.mode);
      x += ")";
      break;
    case OpKind::kClose:
      x = absl::StrCat("close(", SlotName(op.slot), ")");
      break;
    case OpKind::kDup:
      x = absl::StrCat(SlotName(op.slot2), " = dup(", SlotName(op.slot), ")");
      break;
    case OpKind::kRead:
      x = absl::StrCat("read(", SlotName(op.slot), ", ", op.len, ")");
      break;
    case OpKind::kReadv:
      x = absl::StrCat("readv(", SlotName(op.slot), ", [", op.len / 2, ", ",
                       op.len - op.len / 2, "])");
      break;
    case OpKind::kWrite:
      x = absl::StrCat("write(", SlotName(op.slot), ", ", Quote(op.data), ")");
      break;
    case OpKind::kWritev:
      x = absl::StrCat("writev(", SlotName(op.slot), ", ", Quote(op.data),
                       " in 2 iovecs)");
      break;
    case OpKind::kPread:
      x = absl::StrCat("pread64(", SlotName(op.slot), ", ", op.len, ", ",
                       op.off, ")");
      break;
    case OpKind::kPwrite:
      x = absl::StrCat("pwrite64(", SlotName(op.slot), ", ", Quote(op.data),
                       ", ", op.off, ")");
      break;
    case OpKind::kLseek:
      x = absl::StrCat("lseek(", SlotName(op.slot), ", ", op.off, ", ",
                       WhenceName(op.flags), ")");
      break;
    case OpKind::kFstat:
      x = absl::StrCat("fstat(", SlotName(op.slot), ")");
      break;
    case OpKind::kStat:
      x = absl::StrCat("fstatat(", SlotName(op.dir), ", ", Quote(op.path), ", ",
                       AtFlags(op.flags), ")");
      break;
    case OpKind::kStatfs:
      x = absl::StrCat("statfs(", Quote(op.path), ")");
      break;
    case OpKind::kGetdents:
      x = absl::StrCat("getdents64(", SlotName(op.slot), ", ", op.len,
                       ") until EOF");
      break;
    case OpKind::kListDir:
      x = absl::StrCat("listdir(", Quote(op.path), ", small buffer ", op.len,
                       ")");
      break;
    case OpKind::kFtruncate:
      x = absl::StrCat("ftruncate(", SlotName(op.slot), ", ", op.len, ")");
      break;
    case OpKind::kTruncate:
      x = absl::StrCat("truncate(", Quote(op.path), ", ", op.len, ")");
      break;
    case OpKind::kFallocate:
      x = absl::StrCat("fallocate(", SlotName(op.slot), ", ",
                       FallocName(op.flags), ", ", op.off, ", ", op.len, ")");
      break;
    case OpKind::kFsync:
      x = absl::StrCat("fsync(", SlotName(op.slot), ")");
      break;
    case OpKind::kFcntl:
      x = absl::StrCat("fcntl(", SlotName(op.slot), ", ",
                       FcntlCmdName(op.flags), ", ",
                       op.flags == F_SETFL ? OpenFlagsToString(op.arg)
                                           : absl::StrCat(op.arg),
                       ")");
      break;
    case OpKind::kLock:
      x = absl::StrCat("fcntl(", SlotName(op.slot), ", ",
                       FcntlCmdName(op.flags), ", {", LockTypeName(op.arg),
                       ", SEEK_SET, ", op.off, ", ", op.len, "})");
      break;
    case OpKind::kFlock:
      x = absl::StrCat("flock(", SlotName(op.slot), ", ", FlockName(op.flags),
                       ")");
      break;
    case OpKind::kMkdir:
      x = absl::StrCat("mkdirat(", SlotName(op.dir), ", ", Quote(op.path), ", ",
                       Oct(op.mode), ")");
      break;
    case OpKind::kMknod:
      x = absl::StrCat("mknodat(", SlotName(op.dir), ", ", Quote(op.path), ", ",
                       TypeName(op.mode), "|", Oct(op.mode & 07777), ", ",
                       major(op.dev), ":", minor(op.dev), ")");
      break;
    case OpKind::kUnlink:
      x = absl::StrCat("unlinkat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", 0)");
      break;
    case OpKind::kRmdir:
      x = absl::StrCat("unlinkat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", AT_REMOVEDIR)");
      break;
    case OpKind::kRename:
      x = absl::StrCat("renameat2(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", SlotName(op.dir2), ", ", Quote(op.path2), ", ",
                       RenameFlags(op.flags), ")");
      break;
    case OpKind::kLink:
      x = absl::StrCat("linkat(", SlotName(op.dir), ", ", Quote(op.path), ", ",
                       SlotName(op.dir2), ", ", Quote(op.path2), ", ",
                       AtFlags(op.flags), ")");
      break;
    case OpKind::kSymlink:
      x = absl::StrCat("symlinkat(", Quote(op.path), ", ", SlotName(op.dir2),
                       ", ", Quote(op.path2), ")");
      break;
    case OpKind::kReadlink:
      x = absl::StrCat("readlinkat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", op.len, ")");
      break;
    case OpKind::kChmod:
      x = absl::StrCat("fchmodat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", Oct(op.mode), ", ", AtFlags(op.flags), ")");
      break;
    case OpKind::kFchmod:
      x = absl::StrCat("fchmod(", SlotName(op.slot), ", ", Oct(op.mode), ")");
      break;
    case OpKind::kChown:
      x = absl::StrCat("fchownat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", static_cast<int>(op.uid), ", ",
                       static_cast<int>(op.gid), ", ", AtFlags(op.flags), ")");
      break;
    case OpKind::kFchown:
      x = absl::StrCat("fchown(", SlotName(op.slot), ", ",
                       static_cast<int>(op.uid), ", ", static_cast<int>(op.gid),
                       ")");
      break;
    case OpKind::kUtimens: {
      const char* t[] = {"NULL", "{1000,2000}", "{UTIME_NOW,UTIME_NOW}",
                         "{UTIME_OMIT,UTIME_OMIT}"};
      x = absl::StrCat("utimensat(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", t[op.arg & 3], ", ", AtFlags(op.flags), ")");
      break;
    }
    case OpKind::kAccess:
      x = absl::StrCat("faccessat2(", SlotName(op.dir), ", ", Quote(op.path),
                       ", ", AccessMode(op.mode), ", ", AtFlags(op.flags), ")");
      break;
    case OpKind::kUmask:
      x = absl::StrCat("umask(", Oct(op.mode), ")");
      break;
    case OpKind::kPrlimit:
      x = absl::StrCat(
          "prlimit64(0, ", RlimitResource(op.flags), ", ",
          op.arg ? absl::StrCat("{", RlimitValue(static_cast<uint64_t>(op.off)),
                                ", ",
                                RlimitValue(static_cast<uint64_t>(op.len)), "}")
                 : "NULL",
          ", &old)");
      break;
    case OpKind::kSetxattr:
      x = absl::StrCat("setxattr", xpath(), ", ", Quote(op.name), ", ",
                       op.data.size() > 64
                           ? absl::StrCat("<", op.data.size(), " bytes>")
                           : Quote(op.data),
                       ", ", XattrFlags(op.flags), ")");
      break;
    case OpKind::kGetxattr:
      x = absl::StrCat("getxattr", xpath(), ", ", Quote(op.name), ", ", op.len,
                       ")");
      break;
    case OpKind::kListxattr:
      x = absl::StrCat("listxattr", xpath(), ", ", op.len, ")");
      break;
    case OpKind::kRemovexattr:
      x = absl::StrCat("removexattr", xpath(), ", ", Quote(op.name), ")");
      break;
    case OpKind::kChdir:
      x = absl::StrCat("chdir(", Quote(op.path), ")");
      break;
    case OpKind::kFchdir:
      x = absl::StrCat("fchdir(", SlotName(op.slot), ")");
      break;
    case OpKind::kGetcwd:
      x = absl::StrCat("getcwd(", op.len, ")");
      break;
  }
  return x;
}

std::string ResultToString(const Result& r) {
  std::string s = ErrnoString(r.ret);
  if (!r.payload.empty()) absl::StrAppend(&s, " [", r.payload, "]");
  return s;
}

std::string StatToString(const struct stat& st) {
  std::string s = absl::StrCat(TypeName(st.st_mode), " ",
                               Oct(st.st_mode & 07777), " nlink=", st.st_nlink);
  // Directory st_size is excluded: Linux tmpfs reports a "bogo" size (20
  // bytes per entry, counting . and ..) that is an implementation artefact.
  if (!S_ISDIR(st.st_mode)) absl::StrAppend(&s, " size=", st.st_size);
  absl::StrAppend(&s, " uid=", st.st_uid, " gid=", st.st_gid);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    absl::StrAppend(&s, " rdev=", major(st.st_rdev), ":", minor(st.st_rdev));
  }
  return s;
}

Executor::Executor(Sys* sys) : sys_(sys) {
  for (int& fd : fds_) fd = -1;
}

int Executor::Fd(int slot) const {
  if (slot < 0 || slot >= kNumSlots) return -1;
  return fds_[slot];
}

int Executor::DirFd(int slot) const {
  return slot == kCwd ? AT_FDCWD : Fd(slot);
}

void Executor::SetSlot(int slot, int fd) {
  if (slot < 0 || slot >= kNumSlots) {
    if (fd >= 0) (void)sys_->Close(fd);
    return;
  }
  if (fds_[slot] >= 0) (void)sys_->Close(fds_[slot]);
  fds_[slot] = fd;
}

void Executor::CloseAll() {
  for (int i = 0; i < kNumSlots; ++i) SetSlot(i, -1);
}

Result Executor::Run(const Op& op) {
  Result res;
  long& r = res.ret;
  std::string& p = res.payload;
  const char* path = op.path.c_str();
  const char* name = op.name.c_str();
  const int fd = Fd(op.slot);
  const size_t len = op.len < 0 ? 0 : static_cast<size_t>(op.len);
  switch (op.kind) {
    case OpKind::kOpen: {
      SetSlot(op.slot, -1);
      r = sys_->Openat(DirFd(op.dir), path, op.flags, op.mode);
      if (r >= 0) {
        SetSlot(op.slot, static_cast<int>(r));
        r = 0;
      }
      break;
    }
    case OpKind::kClose:
      r = sys_->Close(fd);
      if (op.slot >= 0 && op.slot < kNumSlots) fds_[op.slot] = -1;
      break;
    case OpKind::kDup:
      r = sys_->Dup(fd);
      if (r >= 0) {
        SetSlot(op.slot2, static_cast<int>(r));
        r = 0;
      }
      break;
    case OpKind::kRead:
    case OpKind::kPread:
    case OpKind::kReadv: {
      std::string buf(len, '\0');
      if (op.kind == OpKind::kRead) {
        r = sys_->Read(fd, buf.data(), len);
      } else if (op.kind == OpKind::kPread) {
        r = sys_->Pread64(fd, buf.data(), len, op.off);
      } else {
        struct iovec iov[2] = {{buf.data(), len / 2},
                               {buf.data() + len / 2, len - len / 2}};
        r = sys_->Readv(fd, iov, 2);
      }
      if (r > 0) p = std::string(buf.data(), std::min<size_t>(r, len));
      break;
    }
    case OpKind::kWrite:
      r = sys_->Write(fd, op.data.data(), op.data.size());
      break;
    case OpKind::kPwrite:
      r = sys_->Pwrite64(fd, op.data.data(), op.data.size(), op.off);
      break;
    case OpKind::kWritev: {
      std::string d = op.data;
      size_t h = d.size() / 2;
      struct iovec iov[2] = {{d.data(), h}, {d.data() + h, d.size() - h}};
      r = sys_->Writev(fd, iov, 2);
      break;
    }
    case OpKind::kLseek:
      r = sys_->Lseek(fd, op.off, op.flags);
      break;
    case OpKind::kFstat:
    case OpKind::kStat: {
      struct stat st;
      memset(&st, 0, sizeof(st));
      r = op.kind == OpKind::kFstat
              ? sys_->Fstat(fd, &st)
              : sys_->Fstatat(DirFd(op.dir), path, &st, op.flags);
      if (r == 0) p = StatToString(st);
      break;
    }
    case OpKind::kStatfs: {
      struct statfs st;
      memset(&st, 0, sizeof(st));
      r = sys_->Statfs(path, &st);
      // Only what identifies the filesystem type; block and inode counts
      // depend on the host's memory.
      if (r == 0) {
        p = absl::StrFormat("f_type=%#x f_bsize=%d f_namelen=%d",
                            static_cast<unsigned long>(st.f_type),
                            static_cast<long>(st.f_bsize),
                            static_cast<long>(st.f_namelen));
      }
      break;
    }
    case OpKind::kGetdents: {
      std::vector<std::string> names;
      r = ReadAllDents(sys_, fd, len, &names);
      if (r == 0) p = absl::StrJoin(names, " ");
      break;
    }
    case OpKind::kListDir: {
      long fd1 = sys_->Openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
      if (fd1 < 0) {
        r = fd1;
        break;
      }
      std::vector<std::string> big, small;
      r = ReadAllDents(sys_, static_cast<int>(fd1), 32768, &big);
      (void)sys_->Close(static_cast<int>(fd1));
      if (r < 0) break;
      p = absl::StrJoin(big, " ");
      long fd2 = sys_->Openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
      if (fd2 < 0) {
        absl::StrAppend(&p, " !! reopen failed ", ErrnoString(fd2));
        break;
      }
      long r2 = ReadAllDents(sys_, static_cast<int>(fd2), len, &small);
      (void)sys_->Close(static_cast<int>(fd2));
      // Linux gives the same set whatever the buffer size; so must we.
      if (r2 < 0) {
        absl::StrAppend(&p, " !! small-buffer listing: ", ErrnoString(r2));
      } else if (small != big) {
        absl::StrAppend(&p, " !! small-buffer listing differs: ",
                        absl::StrJoin(small, " "));
      }
      break;
    }
    case OpKind::kFtruncate:
      r = sys_->Ftruncate(fd, op.len);
      break;
    case OpKind::kTruncate:
      r = sys_->Truncate(path, op.len);
      break;
    case OpKind::kFallocate:
      r = sys_->Fallocate(fd, op.flags, op.off, op.len);
      break;
    case OpKind::kFsync:
      r = sys_->Fsync(fd);
      break;
    case OpKind::kFcntl:
      r = sys_->Fcntl(fd, op.flags, static_cast<unsigned long>(op.arg));
      break;
    case OpKind::kLock: {
      struct flock fl;
      memset(&fl, 0, sizeof(fl));
      fl.l_type = static_cast<short>(op.arg);
      fl.l_whence = SEEK_SET;
      fl.l_start = op.off;
      fl.l_len = op.len;
      r = sys_->Fcntl(fd, op.flags, reinterpret_cast<unsigned long>(&fl));
      if (r == 0 && (op.flags == F_GETLK || op.flags == F_OFD_GETLK)) {
        // l_pid is excluded: the two sides are different processes.
        p = fl.l_type == F_UNLCK
                ? "F_UNLCK"
                : absl::StrCat(LockTypeName(fl.l_type), " whence=", fl.l_whence,
                               " start=", fl.l_start, " len=", fl.l_len);
      }
      break;
    }
    case OpKind::kFlock:
      r = sys_->Flock(fd, op.flags);
      break;
    case OpKind::kMkdir:
      r = sys_->Mkdirat(DirFd(op.dir), path, op.mode);
      break;
    case OpKind::kMknod:
      r = sys_->Mknodat(DirFd(op.dir), path, op.mode, op.dev);
      break;
    case OpKind::kUnlink:
      r = sys_->Unlinkat(DirFd(op.dir), path, 0);
      break;
    case OpKind::kRmdir:
      r = sys_->Unlinkat(DirFd(op.dir), path, AT_REMOVEDIR);
      break;
    case OpKind::kRename:
      r = sys_->Renameat2(DirFd(op.dir), path, DirFd(op.dir2), op.path2.c_str(),
                          op.flags);
      break;
    case OpKind::kLink:
      r = sys_->Linkat(DirFd(op.dir), path, DirFd(op.dir2), op.path2.c_str(),
                       op.flags);
      break;
    case OpKind::kSymlink:
      r = sys_->Symlinkat(path, DirFd(op.dir2), op.path2.c_str());
      break;
    case OpKind::kReadlink: {
      std::string buf(len, '\0');
      r = sys_->Readlinkat(DirFd(op.dir), path, buf.data(), len);
      if (r > 0) p = std::string(buf.data(), std::min<size_t>(r, len));
      break;
    }
    case OpKind::kChmod:
      r = sys_->Fchmodat(DirFd(op.dir), path, op.mode, op.flags);
      break;
    case OpKind::kFchmod:
      r = sys_->Fchmod(fd, op.mode);
      break;
    case OpKind::kChown:
      r = sys_->Fchownat(DirFd(op.dir), path, op.uid, op.gid, op.flags);
      break;
    case OpKind::kFchown:
      r = sys_->Fchown(fd, op.uid, op.gid);
      break;
    case OpKind::kUtimens: {
      struct timespec ts[2];
      const struct timespec* t = ts;
      switch (op.arg & 3) {
        case 0:
          t = nullptr;
          break;
        case 1:
          ts[0] = {1000, 0};
          ts[1] = {2000, 0};
          break;
        case 2:
          ts[0] = {0, UTIME_NOW};
          ts[1] = {0, UTIME_NOW};
          break;
        case 3:
          ts[0] = {0, UTIME_OMIT};
          ts[1] = {0, UTIME_OMIT};
          break;
      }
      r = sys_->Utimensat(DirFd(op.dir), path, t, op.flags);
      break;
    }
    case OpKind::kAccess:
      r = sys_->Faccessat(DirFd(op.dir), path, static_cast<int>(op.mode),
                          op.flags);
      break;
    case OpKind::kUmask:
      r = sys_->Umask(op.mode);
      break;
    case OpKind::kPrlimit: {
      struct rlimit new_lim = {static_cast<rlim_t>(op.off),
                               static_cast<rlim_t>(op.len)};
      struct rlimit old_lim = {};
      r = sys_->Prlimit64(0, op.flags, op.arg ? &new_lim : nullptr, &old_lim);
      if (r == 0) {
        p = absl::StrCat("old={", RlimitValue(old_lim.rlim_cur), ", ",
                         RlimitValue(old_lim.rlim_max), "}");
      }
      break;
    }
    case OpKind::kSetxattr: {
      const void* v = op.data.data();
      size_t n = op.data.size();
      switch (op.xv) {
        case XattrVariant::kPath:
          r = sys_->Setxattr(path, name, v, n, op.flags);
          break;
        case XattrVariant::kLpath:
          r = sys_->Lsetxattr(path, name, v, n, op.flags);
          break;
        case XattrVariant::kFd:
          r = sys_->Fsetxattr(fd, name, v, n, op.flags);
          break;
      }
      break;
    }
    case OpKind::kGetxattr: {
      std::string buf(len, '\0');
      void* b = len ? buf.data() : nullptr;
      switch (op.xv) {
        case XattrVariant::kPath:
          r = sys_->Getxattr(path, name, b, len);
          break;
        case XattrVariant::kLpath:
          r = sys_->Lgetxattr(path, name, b, len);
          break;
        case XattrVariant::kFd:
          r = sys_->Fgetxattr(fd, name, b, len);
          break;
      }
      if (r > 0 && len) p = std::string(buf.data(), std::min<size_t>(r, len));
      break;
    }
    case OpKind::kListxattr: {
      std::string buf(len, '\0');
      char* b = len ? buf.data() : nullptr;
      switch (op.xv) {
        case XattrVariant::kPath:
          r = sys_->Listxattr(path, b, len);
          break;
        case XattrVariant::kLpath:
          r = sys_->Llistxattr(path, b, len);
          break;
        case XattrVariant::kFd:
          r = sys_->Flistxattr(fd, b, len);
          break;
      }
      if (r > 0 && len) {
        // The order of names is excluded (Linux's depends on its rbtree).
        std::vector<std::string> names;
        std::string all(buf.data(), std::min<size_t>(r, len));
        for (size_t i = 0; i < all.size();) {
          size_t z = all.find('\0', i);
          if (z == std::string::npos) {
            names.push_back("!!unterminated:" + all.substr(i));
            break;
          }
          names.push_back(all.substr(i, z - i));
          i = z + 1;
        }
        std::sort(names.begin(), names.end());
        p = absl::StrJoin(names, ",");
      }
      break;
    }
    case OpKind::kRemovexattr:
      switch (op.xv) {
        case XattrVariant::kPath:
          r = sys_->Removexattr(path, name);
          break;
        case XattrVariant::kLpath:
          r = sys_->Lremovexattr(path, name);
          break;
        case XattrVariant::kFd:
          r = sys_->Fremovexattr(fd, name);
          break;
      }
      break;
    case OpKind::kChdir:
      r = sys_->Chdir(path);
      break;
    case OpKind::kFchdir:
      r = sys_->Fchdir(fd);
      break;
    case OpKind::kGetcwd: {
      std::string buf(len, '\0');
      r = sys_->Getcwd(buf.data(), len);
      if (r > 0) {
        p = std::string(buf.data(),
                        strnlen(buf.data(), std::min<size_t>(r, len)));
      }
      break;
    }
  }
  if (r < 0) p.clear();
  return res;
}

namespace {

void WalkOne(Sys* sys, const std::string& path, std::string* out) {
  struct stat st;
  memset(&st, 0, sizeof(st));
  long r = sys->Fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) {
    absl::StrAppend(out, path, " lstat:", ErrnoString(r), "\n");
    return;
  }
  absl::StrAppend(out, path, " ", StatToString(st));
  if (S_ISLNK(st.st_mode)) {
    char buf[8192];
    long n = sys->Readlinkat(AT_FDCWD, path.c_str(), buf, sizeof(buf));
    absl::StrAppend(out, " -> ",
                    n >= 0 ? Quote(std::string(buf, n)) : ErrnoString(n));
  }
  if (S_ISREG(st.st_mode)) {
    long fd = sys->Openat(AT_FDCWD, path.c_str(),
                          O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0) {
      absl::StrAppend(out, " open:", ErrnoString(fd));
    } else {
      std::string data;
      char buf[65536];
      for (;;) {
        long n = sys->Pread64(static_cast<int>(fd), buf, sizeof(buf),
                              static_cast<off_t>(data.size()));
        if (n < 0) {
          absl::StrAppend(out, " read:", ErrnoString(n));
          break;
        }
        if (n == 0) break;
        data.append(buf, n);
        if (data.size() > (64 << 20)) break;
      }
      (void)sys->Close(static_cast<int>(fd));
      absl::StrAppend(out, " data=\"", EscapeBytes(data, 0), "\"");
    }
  }
  // User xattrs (sorted), where they can exist.
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    char list[65536];
    long n = sys->Llistxattr(path.c_str(), list, sizeof(list));
    if (n < 0) {
      absl::StrAppend(out, " listxattr:", ErrnoString(n));
    } else {
      std::vector<std::string> names;
      for (long i = 0; i < n;) {
        std::string nm(list + i, strnlen(list + i, n - i));
        names.push_back(nm);
        i += nm.size() + 1;
      }
      std::sort(names.begin(), names.end());
      for (const std::string& nm : names) {
        std::string v(65536, '\0');
        long vn = sys->Lgetxattr(path.c_str(), nm.c_str(), v.data(), v.size());
        absl::StrAppend(out, " xattr:", nm, "=",
                        vn >= 0 ? Quote(v.substr(0, vn)) : ErrnoString(vn));
      }
    }
  }
  absl::StrAppend(out, "\n");
  if (S_ISDIR(st.st_mode)) {
    long fd = sys->Openat(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
      absl::StrAppend(out, path, "/ opendir:", ErrnoString(fd), "\n");
      return;
    }
    std::vector<std::string> ents;
    long e = ReadAllDents(sys, static_cast<int>(fd), 32768, &ents);
    (void)sys->Close(static_cast<int>(fd));
    if (e < 0) {
      absl::StrAppend(out, path, "/ getdents:", ErrnoString(e), "\n");
      return;
    }
    std::vector<std::string> names;
    for (const std::string& ent : ents) {
      std::string nm = ent.substr(0, ent.rfind(':'));
      if (nm == "." || nm == "..") continue;
      names.push_back(nm);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& nm : names) {
      WalkOne(sys, path == "/" ? "/" + nm : path + "/" + nm, out);
    }
  }
}

}  // namespace

std::string WalkTree(Sys* sys) {
  std::string out;
  WalkOne(sys, "/", &out);
  return out;
}

}  // namespace difftest
