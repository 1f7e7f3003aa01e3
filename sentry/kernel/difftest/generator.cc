#include "sentry/kernel/difftest/generator.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sentry/kernel/difftest/builders.h"

namespace difftest {

namespace {

using namespace ops;  // NOLINT

// The only fifo is "/p" and the only device "/cdev": they are never the
// source of a rename or link, never a symlink target and never reachable
// through the component pool, so opens that could block (a fifo without
// O_NONBLOCK) or touch a host device can be avoided by name.
constexpr const char* kFifo = "/p";
constexpr const char* kDev = "/cdev";

class Gen {
 public:
  Gen(uint64_t seed, bool unpriv) : rng_(seed), unpriv_(unpriv) {}

  Sequence Run(uint64_t seed) {
    Sequence s;
    s.seed = seed;
    s.unprivileged = unpriv_;
    s.name = absl::StrCat(unpriv_ ? "random-user-" : "random-root-", seed);
    if (unpriv_) {
      // Root-made furniture for permission checks.
      s.setup = {
          Umask(0),  // so the modes below are exact
          Mkdir("/r", 0755),
          Open(0, "/r/f", O_WRONLY | O_CREAT, 0644),
          Write(0, "root data"),
          Close(0),
          Mkdir("/s", 01777),
          Open(0, "/s/x", O_WRONLY | O_CREAT, 0666),
          Close(0),
          Chown("/s/x", 2000, 2000),
          Mkdir("/g", 02775),
          Chown("/g", 0, kUserGroup2),
          Mkdir("/o", 0700),
          Open(0, "/o/f", O_WRONLY | O_CREAT, 0644),
          Close(0),
          Mkdir("/w", 0777),
          Open(0, "/ro", O_WRONLY | O_CREAT, 0444),
          Write(0, "ro"),
          Close(0),
          Open(0, "/rw", O_WRONLY | O_CREAT, 0666),
          Close(0),
          Symlink("r/f", "/rl"),
      };
    }
    int n = Uniform(30, 60);
    for (int i = 0; i < n; ++i) s.ops.push_back(NextOp());
    return s;
  }

 private:
  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  bool Chance(double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }
  template <typename T>
  T Pick(const std::vector<T>& v) {
    return v[Uniform(0, static_cast<int>(v.size()) - 1)];
  }

  std::string Component() {
    static const std::vector<std::string> kNames = {"a", "b", "c", "d"};
    static const std::vector<std::string> kUserNames = {
        "a", "b", "c",  "d",  "r",  "s", "g",
        "o", "w", "ro", "rw", "rl", "f", "x"};
    return Pick(unpriv_ ? kUserNames : kNames);
  }

  std::string Path() {
    int r = Uniform(0, 99);
    int depth = r < 55 ? 1 : r < 88 ? 2 : 3;
    std::string p;
    for (int i = 0; i < depth; ++i) {
      if (i) p += Chance(0.03) ? "//" : "/";
      if (i && Chance(0.04)) p += "../";
      p += Component();
    }
    if (Chance(0.05)) p = "/" + p;
    if (Chance(0.03)) p = "./" + p;
    if (Chance(0.05)) p += "/";
    if (Chance(0.02)) p += "/.";
    if (Chance(0.01)) p = Pick(std::vector<std::string>{".", "..", "/", ""});
    return p;
  }

  std::string Data() {
    int n = Chance(0.05) ? Uniform(100, 5000) : Uniform(0, 24);
    std::string d;
    for (int i = 0; i < n; ++i)
      d.push_back(static_cast<char>('a' + Uniform(0, 25)));
    return d;
  }

  int64_t Offset() {
    return Pick(std::vector<int64_t>{0, 0, 1, 3, 10, 100, 4095, 4096, 4097,
                                     8192, 10000, 65543});
  }

  uint32_t Mode() {
    return Pick(std::vector<uint32_t>{0, 0444, 0600, 0644, 0644, 0700, 0755,
                                      0755, 0777, 01777, 02755, 04755, 06777,
                                      0111, 0200, 02770});
  }

  int Slot() { return Chance(0.03) ? kBadSlot : Uniform(0, 3); }
  int DirSlot() { return Chance(0.1) ? Uniform(0, 3) : kCwd; }

  int OpenFlags() {
    int f = Pick(std::vector<int>{O_RDONLY, O_WRONLY, O_RDWR, O_RDWR});
    if (Chance(0.5)) f |= O_CREAT;
    if (Chance(0.15)) f |= O_EXCL;
    if (Chance(0.15)) f |= O_TRUNC;
    if (Chance(0.15)) f |= O_APPEND;
    if (Chance(0.1)) f |= O_DIRECTORY;
    if (Chance(0.08)) f |= O_NOFOLLOW;
    if (Chance(0.05)) f |= O_PATH;
    if (Chance(0.05)) f |= O_NONBLOCK;
    return f;
  }

  XattrVariant Xv() {
    int r = Uniform(0, 9);
    return r < 5   ? XattrVariant::kPath
           : r < 8 ? XattrVariant::kLpath
                   : XattrVariant::kFd;
  }

  std::string XattrName() {
    if (Chance(0.03)) return "trusted.t";
    if (Chance(0.02)) return "bogus.x";
    return Pick(std::vector<std::string>{"user.a", "user.b", "user.c"});
  }

  Op NextOp() {
    // Weighted choice of op kinds.
    struct W {
      int weight;
      int id;
    };
    static const std::vector<W> kWeights = {
        {14, 0}, {4, 1},  {6, 2},  {4, 3},  {4, 4},  {3, 5},  {1, 6},  {1, 7},
        {3, 8},  {2, 9},  {2, 10}, {2, 11}, {2, 12}, {5, 13}, {8, 14}, {2, 15},
        {4, 16}, {3, 17}, {5, 18}, {3, 19}, {4, 20}, {2, 21}, {3, 22}, {1, 23},
        {2, 24}, {1, 25}, {2, 26}, {2, 27}, {1, 28}, {2, 29}, {3, 30}, {1, 31},
        {3, 32}, {2, 33}, {1, 34}, {1, 35}, {2, 36}, {2, 37}, {2, 38}, {1, 39},
        {1, 40}, {1, 41}, {1, 42}, {1, 43}, {1, 44}};
    int total = 0;
    for (const W& w : kWeights) total += w.weight;
    int x = Uniform(0, total - 1);
    int id = 0;
    for (const W& w : kWeights) {
      if (x < w.weight) {
        id = w.id;
        break;
      }
      x -= w.weight;
    }
    switch (id) {
      case 0: {
        if (Chance(0.03)) {
          // The fifo: only ever non-blocking.
          return Open(Slot(), kFifo, OpenFlags() | O_NONBLOCK, 0644);
        }
        if (Chance(0.02)) return Open(Slot(), kDev, O_PATH);
        Op op = Openat(Slot(), DirSlot(), Path(), OpenFlags(), Mode());
        return op;
      }
      case 1:
        return Close(Slot());
      case 2:
        return Write(Slot(), Data());
      case 3:
        return Pwrite(Slot(), Data(), Offset());
      case 4:
        return Read(Slot(), Pick(std::vector<int64_t>{0, 1, 5, 100, 8192}));
      case 5:
        return Pread(Slot(), Pick(std::vector<int64_t>{1, 5, 100, 8192}),
                     Offset());
      case 6:
        return Readv(Slot(), Pick(std::vector<int64_t>{2, 7, 100}));
      case 7:
        return Writev(Slot(), Data());
      case 8:
        return Lseek(
            Slot(),
            Pick(std::vector<int64_t>{0, 1, 100, 4096, 5000, -1, 100000}),
            Pick(std::vector<int>{SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA,
                                  SEEK_HOLE}));
      case 9:
        return Ftruncate(
            Slot(), Pick(std::vector<int64_t>{0, 1, 5, 4096, 5000, 12288, -1}));
      case 10:
        return Truncate(Path(), Pick(std::vector<int64_t>{0, 3, 4096, 9000}));
      case 11:
        return Fallocate(
            Slot(),
            Pick(std::vector<int>{0, FALLOC_FL_KEEP_SIZE,
                                  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                  FALLOC_FL_PUNCH_HOLE}),
            Offset(), Pick(std::vector<int64_t>{1, 100, 4096, 8192, 0}));
      case 12:
        return Fstat(Slot());
      case 13: {
        Op op = Stat(Path(), Chance(0.5) ? AT_SYMLINK_NOFOLLOW : 0, DirSlot());
        return op;
      }
      case 14:
        return Mkdir(Path(), Mode(), DirSlot());
      case 15: {
        int r = Uniform(0, 3);
        if (r == 0) return Mknod(kFifo, S_IFIFO | 0644);
        if (r == 1) return Mknod(kDev, S_IFCHR | 0666, makedev(1, 3));
        return Mknod(Path(), (Chance(0.8) ? S_IFREG : 0) | Mode());
      }
      case 16:
        return Unlink(Chance(0.05) ? kFifo : Path(), DirSlot());
      case 17:
        return Rmdir(Path(), DirSlot());
      case 18: {
        unsigned flags = Pick(std::vector<unsigned>{
            0, 0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE});
        // Never exchange the fifo into the name pool.
        bool fifo = flags != RENAME_EXCHANGE && Chance(0.05);
        Op op = Rename(Path(), fifo ? kFifo : Path(), flags);
        op.dir = DirSlot();
        op.dir2 = DirSlot();
        return op;
      }
      case 19: {
        Op op = Link(Path(), Path(), Chance(0.2) ? AT_SYMLINK_FOLLOW : 0);
        op.dir = DirSlot();
        op.dir2 = DirSlot();
        return op;
      }
      case 20: {
        std::string target =
            Chance(0.7) ? Path()
                        : Pick(std::vector<std::string>{"/", ".", "..", "nope",
                                                        "a/../b", "/a", "a"});
        Op op = Symlink(target, Path());
        op.dir2 = DirSlot();
        return op;
      }
      case 21: {
        Op op = Readlink(Path(), Pick(std::vector<int64_t>{0, 1, 3, 100}));
        op.dir = DirSlot();
        return op;
      }
      case 22: {
        Op op = Chmod(Chance(0.05) ? std::string(".") : Path(), Mode());
        op.dir = DirSlot();
        return op;
      }
      case 23:
        return Fchmod(Slot(), Mode());
      case 24: {
        Op op =
            Chown(Path(), Pick(std::vector<uint32_t>{~0u, ~0u, 0, 1000, 2000}),
                  Pick(std::vector<uint32_t>{~0u, 0, 1000, 2000, 3000}),
                  Chance(0.2) ? AT_SYMLINK_NOFOLLOW : 0);
        op.dir = DirSlot();
        return op;
      }
      case 25:
        return Fchown(Slot(), Pick(std::vector<uint32_t>{~0u, 0, 1000, 2000}),
                      Pick(std::vector<uint32_t>{~0u, 0, 1000, 2000, 3000}));
      case 26:
        return Access(
            Path(), Pick(std::vector<int>{F_OK, R_OK, W_OK, X_OK, R_OK | W_OK}),
            Pick(std::vector<int>{0, 0, AT_EACCESS, AT_SYMLINK_NOFOLLOW}));
      case 27:
        return Chdir(Chance(0.2)
                         ? Pick(std::vector<std::string>{"/", "..", "."})
                         : Path());
      case 28:
        return Fchdir(Slot());
      case 29:
        return Getcwd(Pick(std::vector<int64_t>{0, 1, 2, 3, 5, 4096}));
      case 30:
        return ListDir(
            Chance(0.2) ? std::string(".") : Path(),
            Pick(std::vector<int64_t>{10, 24, 32, 48, 64, 100, 1000}));
      case 31:
        return Getdents(Slot(), Pick(std::vector<int64_t>{10, 24, 40, 4096}));
      case 32: {
        std::string v = Chance(0.02) ? std::string(65537, 'v') : Data();
        Op op = Setxattr(
            Path(), XattrName(), v,
            Pick(std::vector<int>{0, 0, XATTR_CREATE, XATTR_REPLACE}), Xv());
        op.slot = Slot();
        return op;
      }
      case 33: {
        Op op = Getxattr(Path(), XattrName(),
                         Pick(std::vector<int64_t>{0, 1, 3, 100, 65536}), Xv());
        op.slot = Slot();
        return op;
      }
      case 34: {
        Op op =
            Listxattr(Path(), Pick(std::vector<int64_t>{0, 1, 7, 100}), Xv());
        op.slot = Slot();
        return op;
      }
      case 35: {
        Op op = Removexattr(Path(), XattrName(), Xv());
        op.slot = Slot();
        return op;
      }
      case 36:
        return Lock(Slot(),
                    Pick(std::vector<int>{F_SETLK, F_SETLK, F_GETLK,
                                          F_OFD_SETLK, F_OFD_GETLK}),
                    Pick(std::vector<short>{F_RDLCK, F_WRLCK, F_UNLCK}),
                    Pick(std::vector<int64_t>{0, 10, 100}),
                    Pick(std::vector<int64_t>{0, 10, 50}));
      case 37:
        // Always LOCK_NB: a conflicting blocking flock would hang.
        return Flock(Slot(), Pick(std::vector<int>{LOCK_SH, LOCK_EX, LOCK_UN}) |
                                 LOCK_NB);
      case 38: {
        int cmd =
            Pick(std::vector<int>{F_GETFL, F_GETFL, F_SETFL, F_GETFD, F_SETFD});
        long arg = 0;
        // O_NONBLOCK is never cleared: a fifo fd must not start blocking.
        if (cmd == F_SETFL)
          arg = Pick(std::vector<long>{O_NONBLOCK, O_APPEND | O_NONBLOCK});
        if (cmd == F_SETFD) arg = Pick(std::vector<long>{0, FD_CLOEXEC});
        return Fcntl(Slot(), cmd, arg);
      }
      case 39:
        return Umask(Pick(std::vector<uint32_t>{0, 022, 077, 02, 0777}));
      case 40: {
        Op op = Utimens(Path(), Uniform(0, 3),
                        Chance(0.2) ? AT_SYMLINK_NOFOLLOW : 0);
        op.dir = DirSlot();
        return op;
      }
      case 41:
        return Statfs(Path());
      case 42:
        return Dup(Slot(), Uniform(0, 3));
      case 43:
        return Fsync(Slot());
      case 44: {
        // RLIMIT_FSIZE small enough for writes, truncates and fallocate to
        // meet it; RLIMIT_NOFILE never below 64, so the fds a sequence
        // opens (fewer than kNumSlots) stay under it on both sides, which
        // number them differently; and no hard limit between 65536 and
        // infinity, where the host's fs.nr_open (1048576 by default, more
        // on some distributions) would decide.
        constexpr uint64_t kInf = RLIM_INFINITY;
        const int res = Pick(std::vector<int>{RLIMIT_FSIZE, RLIMIT_FSIZE,
                                              RLIMIT_NOFILE, RLIM_NLIMITS});
        if (Chance(0.25)) return Prlimit(res);
        if (res == RLIMIT_NOFILE) {
          return Prlimit(res, true, Pick(std::vector<uint64_t>{64, 1024, 4096}),
                         Pick(std::vector<uint64_t>{1024, 4096, 65536, kInf}));
        }
        return Prlimit(res, true,
                       Pick(std::vector<uint64_t>{0, 1, 100, 4096, 5000, kInf}),
                       Pick(std::vector<uint64_t>{100, 5000, kInf}));
      }
    }
    return Stat(Path());
  }

  std::mt19937_64 rng_;
  bool unpriv_;
};

}  // namespace

Sequence GenerateSequence(uint64_t seed, bool unprivileged) {
  Gen g(seed, unprivileged);
  return g.Run(seed);
}

}  // namespace difftest
