// The in-memory rows: each workload once, as a template over the backend,
// registered for Linux and ours; LLVM's InMemoryFileSystem where it can do
// the work (it cannot unlink, rename or write).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/overlay/overlay.h"
#include "tools/bench/alloc_count.h"
#include "tools/bench/suite.h"

namespace bench {
namespace {

constexpr size_t kGetdentsBuf = 64 << 10;
constexpr int kMaxDepth = 100;

// ---- Fixtures, built once per backend.

// c/f, c/c/f, ... down to depth kMaxDepth.
template <typename Fs>
void EnsureChain(Env<Fs>& env) {
  env.Once("chain", [&] {
    std::string dir;
    for (int d = 1; d <= kMaxDepth; ++d) {
      MakeFile(env.fs, dir + "f", 0);
      if (d < kMaxDepth) {
        dir += "c";
        Check(env.fs.Mkdir(dir.c_str(), 0755), "mkdir", dir);
        dir += "/";
      }
    }
  });
}

std::string DirName(const char* what, size_t n) {
  return absl::StrCat(what, n);
}
std::string EntryName(size_t i) {
  char b[32];
  std::snprintf(b, sizeof(b), "f%07zu", i);
  return b;
}

// A directory of n empty files.
template <typename Fs>
std::string EnsureDirOf(Env<Fs>& env, size_t n) {
  std::string dir = DirName("dir", n);
  env.Once(dir, [&] {
    Check(env.fs.Mkdir(dir.c_str(), 0755), "mkdir", dir);
    for (size_t i = 0; i < n; ++i) {
      MakeFile(env.fs, dir + "/" + EntryName(i), 0);
    }
  });
  return dir;
}

template <typename Fs>
std::string EnsureData(Env<Fs>& env, size_t size) {
  std::string name = DirName("data", size);
  env.Once(name, [&] { MakeFile(env.fs, name, size); });
  return name;
}

// ---- Workloads.

template <typename Fs>
void Stat(benchmark::State& s, Env<Fs>& env, int depth) {
  EnsureChain(env);
  const std::string p = ChainPath(depth);
  struct stat st;
  for (auto _ : s) {
    Check(env.fs.Stat(p.c_str(), &st), "stat", p);
  }
  s.SetItemsProcessed(s.iterations());
}

template <typename Fs>
void OpenClose(benchmark::State& s, Env<Fs>& env, int depth) {
  EnsureChain(env);
  const std::string p = ChainPath(depth);
  for (auto _ : s) {
    long fd = Check(env.fs.Open(p.c_str(), O_RDONLY), "open", p);
    env.fs.Close(static_cast<int>(fd));
  }
}

// open + close at depth 1 in a process that already has kBusyFds
// descriptors open (the files of a server, say): what finding the lowest
// free number costs once it is not the first few. Not one of issue #8's
// rows; compare prints it for reference.
constexpr int kBusyFds = 1000;
template <typename Fs>
void OpenCloseBusy(benchmark::State& s, Env<Fs>& env) {
  EnsureChain(env);
  const std::string p = ChainPath(1);
  std::vector<int> held;
  for (int i = 0; i < kBusyFds; ++i) {
    long fd = env.fs.Open(p.c_str(), O_RDONLY);
    if (fd == -EMFILE) {
      // A hard descriptor limit below what the row needs (main raises
      // the soft one): say so instead of failing the whole run.
      for (int h : held) env.fs.Close(h);
      s.SkipWithError("descriptor limit too low for open_close_busy");
      return;
    }
    held.push_back(static_cast<int>(Check(fd, "open", p)));
  }
  for (auto _ : s) {
    long fd = Check(env.fs.Open(p.c_str(), O_RDONLY), "open", p);
    env.fs.Close(static_cast<int>(fd));
  }
  for (int fd : held) env.fs.Close(fd);
}

template <typename Fs>
void CreateUnlink(benchmark::State& s, Env<Fs>& env) {
  env.Once("cu", [&] { Check(env.fs.Mkdir("cu", 0755), "mkdir cu"); });
  for (auto _ : s) {
    long fd = Check(env.fs.Open("cu/x", O_CREAT | O_EXCL | O_WRONLY, 0644),
                    "create cu/x");
    env.fs.Close(static_cast<int>(fd));
    Check(env.fs.Unlink("cu/x"), "unlink cu/x");
  }
}

// One iteration is two renames (there and back), so the tree is the same
// at every iteration.
template <typename Fs>
void Rename(benchmark::State& s, Env<Fs>& env, bool across) {
  env.Once("rn", [&] {
    MakeDirs(env.fs, "rn/a");
    MakeDirs(env.fs, "rn/b");
    MakeFile(env.fs, "rn/a/x", 0);
  });
  const char* from = "rn/a/x";
  const char* to = across ? "rn/b/x" : "rn/a/y";
  for (auto _ : s) {
    Check(env.fs.Rename(from, to), "rename");
    Check(env.fs.Rename(to, from), "rename back");
  }
  s.SetItemsProcessed(2 * s.iterations());
}

template <typename Fs>
void Getdents(benchmark::State& s, Env<Fs>& env, size_t n) {
  const std::string dir = EnsureDirOf(env, n);
  std::vector<char> buf(kGetdentsBuf);
  for (auto _ : s) {
    long fd = Check(env.fs.Open(dir.c_str(), O_RDONLY | O_DIRECTORY), "open");
    long r;
    while ((r = env.fs.Getdents(static_cast<int>(fd), buf.data(), buf.size())) >
           0) {
      benchmark::DoNotOptimize(buf.data());
    }
    Check(r, "getdents");
    env.fs.Close(static_cast<int>(fd));
  }
  s.SetItemsProcessed(s.iterations() * static_cast<int64_t>(n));
}

template <typename Fs>
void Pread(benchmark::State& s, Env<Fs>& env, size_t size) {
  const std::string name = EnsureData(env, size);
  std::vector<char> buf(size);
  int fd = static_cast<int>(Check(env.fs.Open(name.c_str(), O_RDONLY), name));
  for (auto _ : s) {
    Check(env.fs.Pread(fd, buf.data(), size, 0), "pread");
    benchmark::DoNotOptimize(buf.data());
  }
  env.fs.Close(fd);
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(size));
}

// fstat of an open file (not one of issue #8's rows): the attribute
// path without a walk.
template <typename Fs>
void Fstat(benchmark::State& s, Env<Fs>& env) {
  const std::string name = EnsureData(env, 4096);
  int fd = static_cast<int>(Check(env.fs.Open(name.c_str(), O_RDONLY), name));
  struct stat st;
  for (auto _ : s) {
    Check(env.fs.Fstat(fd, &st), "fstat");
  }
  env.fs.Close(fd);
  s.SetItemsProcessed(s.iterations());
}

template <typename Fs>
void Pwrite(benchmark::State& s, Env<Fs>& env, size_t size) {
  const std::string name = EnsureData(env, size);
  std::vector<char> buf(size, 'y');
  int fd = static_cast<int>(Check(env.fs.Open(name.c_str(), O_WRONLY), name));
  for (auto _ : s) {
    Check(env.fs.Pwrite(fd, buf.data(), size, 0), "pwrite");
  }
  env.fs.Close(fd);
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(size));
}

// Names spread evenly over a directory of n files, so a large
// directory's hash table is probed all over, not at one hot entry.
// stat_in_dir visits the same number of distinct names at every size,
// kSameSample (all of the smallest directory's), so that its rows differ
// only in the directory's size. stat_in_dir_wide visits kWideSample at
// the largest size only: a working set larger than this CPU's L2, so its
// figure is what the caches hold, for reference (see the README).
constexpr size_t kSameSample = 1000;
constexpr size_t kWideSample = 4096;
std::vector<std::string> SpreadNames(const std::string& dir, size_t n,
                                     size_t sample) {
  std::vector<std::string> names;
  for (size_t i = 0; i < sample; ++i) {
    names.push_back(dir + "/" + EntryName(i * n / sample));
  }
  std::shuffle(names.begin(), names.end(), std::mt19937(42));
  return names;
}

template <typename Fs>
void StatInDir(benchmark::State& s, Env<Fs>& env, size_t n, size_t sample) {
  const std::vector<std::string> names =
      SpreadNames(EnsureDirOf(env, n), n, sample);
  struct stat st;
  size_t i = 0;
  for (auto _ : s) {
    const std::string& p = names[i++ % names.size()];
    Check(env.fs.Stat(p.c_str(), &st), "stat", p);
  }
  s.SetItemsProcessed(s.iterations());
}

// Threads of one process statting the same depth-3 file.
template <typename Fs>
void StatParallel(benchmark::State& s, Env<Fs>& env) {
  EnsureChain(env);
  const std::string p = ChainPath(3);
  struct stat st;
  for (auto _ : s) {
    Check(env.fs.Stat(p.c_str(), &st), "stat");
  }
  s.SetItemsProcessed(s.iterations());
}

// open + close of one file by each of the process's threads at once:
// what the FD table and the retirement of closed files cost when shared.
// Not one of issue #8's rows; compare prints its scaling for reference.
template <typename Fs>
void OpenCloseParallel(benchmark::State& s, Env<Fs>& env) {
  EnsureChain(env);
  const std::string p = ChainPath(1);
  for (auto _ : s) {
    long fd = Check(env.fs.Open(p.c_str(), O_RDONLY), "open", p);
    env.fs.Close(static_cast<int>(fd));
  }
  s.SetItemsProcessed(s.iterations());
}

// Heap bytes kept per empty file created (open O_CREAT + close): the
// dirent, the inode and their share of the directory's tables.
void MemoryOurs(benchmark::State& s) {
  Env<OursFs>& env = OursEnv();
  const size_t n = GetOptions().memory_files;
  int64_t bytes = 0, blocks = 0;
  static int round = 0;  // fresh names across repetitions
  for (auto _ : s) {
    std::string dir = absl::StrCat("mem", round++);
    Check(env.fs.Mkdir(dir.c_str(), 0755), "mkdir", dir);
    std::vector<std::string> names;
    for (size_t i = 0; i < n; ++i) names.push_back(dir + "/" + EntryName(i));
    alloc::Scope scope;
    for (const std::string& p : names) MakeFile(env.fs, p, 0);
    bytes = scope.NetBytes();
    blocks = scope.Allocations();
  }
  s.counters["bytes_per_file"] = static_cast<double>(bytes) / n;
  s.counters["blocks_per_file"] = static_cast<double>(blocks) / n;
}

// Linux keeps its dentries and inodes in slab caches: the growth of the
// Slab line of /proc/meminfo over n creations (other processes' activity
// is noise; a reference figure, not a target).
long MeminfoKb(const char* key) {
  std::ifstream in("/proc/meminfo");
  std::string k;
  long v;
  std::string unit;
  while (in >> k >> v) {
    std::getline(in, unit);
    if (k == key) return v;
  }
  return -1;
}

void MemoryLinux(benchmark::State& s) {
  Env<LinuxFs>& env = LinuxEnv();
  const size_t n = GetOptions().memory_files;
  double per_file = 0;
  static int round = 0;  // fresh names across repetitions
  for (auto _ : s) {
    std::string dir = absl::StrCat("mem", round++);
    Check(env.fs.Mkdir(dir.c_str(), 0755), "mkdir", dir);
    long before = MeminfoKb("Slab:");
    for (size_t i = 0; i < n; ++i)
      MakeFile(env.fs, dir + "/" + EntryName(i), 0);
    long after = MeminfoKb("Slab:");
    per_file = (after - before) * 1024.0 / n;
  }
  s.counters["bytes_per_file"] = per_file;
}

void MemoryLlvm(benchmark::State& s) {
  const size_t n = GetOptions().memory_files;
  int64_t bytes = 0, blocks = 0;
  static int round = 0;  // fresh names across repetitions
  for (auto _ : s) {
    std::vector<std::string> names;
    for (size_t i = 0; i < n; ++i) {
      names.push_back(absl::StrCat("/mem", round, "/", EntryName(i)));
    }
    ++round;
    alloc::Scope scope;
    for (const std::string& p : names) Llvm().AddFile(p, 0);
    bytes = scope.NetBytes();
    blocks = scope.Allocations();
  }
  s.counters["bytes_per_file"] = static_cast<double>(bytes) / n;
  s.counters["blocks_per_file"] = static_cast<double>(blocks) / n;
}

// ---- LLVM's InMemoryFileSystem, where it can do the work.

void EnsureLlvmChain() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int d = 1; d <= kMaxDepth; ++d) {
      Llvm().AddFile("/" + ChainPath(d), 0);
    }
  });
}

std::string EnsureLlvmDirOf(size_t n) {
  static std::mutex mu;
  static std::set<size_t> built;
  std::lock_guard<std::mutex> l(mu);
  std::string dir = "/" + DirName("dir", n);
  if (built.insert(n).second) {
    Llvm().AddDir(dir);
    for (size_t i = 0; i < n; ++i) Llvm().AddFile(dir + "/" + EntryName(i), 0);
  }
  return dir;
}

void LlvmStat(benchmark::State& s, int depth) {
  EnsureLlvmChain();
  const std::string p = "/" + ChainPath(depth);
  uint64_t size;
  for (auto _ : s) {
    if (!Llvm().Stat(p, &size)) Die("llvm stat " + p, -ENOENT);
  }
  s.SetItemsProcessed(s.iterations());
}

void LlvmOpenClose(benchmark::State& s, int depth) {
  EnsureLlvmChain();
  const std::string p = "/" + ChainPath(depth);
  for (auto _ : s) {
    LlvmPeer::File* f = Llvm().Open(p);
    if (f == nullptr) Die("llvm open " + p, -ENOENT);
    Llvm().Close(f);
  }
}

void LlvmGetdents(benchmark::State& s, size_t n) {
  const std::string dir = EnsureLlvmDirOf(n);
  for (auto _ : s) {
    long got = Llvm().CountEntries(dir);
    if (got != static_cast<long>(n)) Die("llvm listing " + dir, -EIO);
  }
  s.SetItemsProcessed(s.iterations() * static_cast<int64_t>(n));
}

void LlvmPread(benchmark::State& s, size_t size) {
  static std::mutex mu;
  std::string name = "/" + DirName("data", size);
  {
    std::lock_guard<std::mutex> l(mu);
    uint64_t have;
    if (!Llvm().Stat(name, &have)) Llvm().AddFile(name, size);
  }
  std::vector<char> buf(size);
  LlvmPeer::File* f = Llvm().Open(name);
  if (f == nullptr) Die("llvm open " + name, -ENOENT);
  for (auto _ : s) {
    if (Llvm().Pread(f, buf.data(), size, 0) != static_cast<long>(size)) {
      Die("llvm read", -EIO);
    }
    benchmark::DoNotOptimize(buf.data());
  }
  Llvm().Close(f);
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(size));
}

void LlvmStatInDir(benchmark::State& s, size_t n, size_t sample) {
  const std::vector<std::string> names =
      SpreadNames(EnsureLlvmDirOf(n), n, sample);
  uint64_t size;
  size_t i = 0;
  for (auto _ : s) {
    if (!Llvm().Stat(names[i++ % names.size()], &size))
      Die("llvm stat", -ENOENT);
  }
  s.SetItemsProcessed(s.iterations());
}

// ---- The bandwidth reference and the overlay rows (ours only).

void Memcpy(benchmark::State& s, size_t size) {
  std::vector<char> src(size, 'x'), dst(size);
  for (auto _ : s) {
    std::memcpy(dst.data(), src.data(), size);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(size));
}

constexpr size_t kMiB = 1 << 20;

// Both overlay rows make kOverlayFiles new 1 MiB files in a fresh upper
// tmpfs, then put in another (outside the timing), so both pay for the
// same fresh memory: a copy-up allocates its pages as a new file does.
constexpr int kOverlayFiles = 32;

struct OverlayFixture {
  OurTmpfs lower;
  std::unique_ptr<OurTmpfs> upper;
  base::RefPtr<sentry::fs::MountNamespace> ns;
  std::unique_ptr<sentry::kernel::Task> task;
  std::vector<std::string> names;
  int next = kOverlayFiles;

  explicit OverlayFixture(bool with_lower) {
    OursFs lfs(lower.task.get());
    for (int i = 0; i < kOverlayFiles; ++i) {
      names.push_back(absl::StrCat("f", i));
      if (with_lower) MakeFile(lfs, names.back(), kMiB);
    }
  }
  // The file for this iteration; a fresh upper layer when they run out.
  const char* Next(benchmark::State& s, bool overlay) {
    if (next == kOverlayFiles) {
      s.PauseTiming();
      task.reset();
      ns.reset();
      upper = std::make_unique<OurTmpfs>();
      if (overlay) {
        sentry::context::Context ctx(sentry::kernel::auth::Credentials::Root());
        auto root = sentry::fs::overlay::NewOverlayRoot(
            ctx, upper->ns->Root().dirent->inode_ref(),
            lower.ns->Root().dirent->inode_ref());
        if (!root.ok()) Die("overlay", -root.error().value());
        ns = sentry::fs::MountNamespace::New(
            sentry::fs::Dirent::NewRoot(std::move(*root)));
      } else {
        ns = upper->ns;
      }
      task = std::make_unique<sentry::kernel::Task>(
          ns, sentry::kernel::auth::Credentials::Root());
      next = 0;
      s.ResumeTiming();
    }
    return names[next++].c_str();
  }
};

// A plain 1 MiB write to tmpfs: a new file, written whole.
void PlainWrite(benchmark::State& s) {
  OverlayFixture fx(/*with_lower=*/false);
  std::vector<char> buf(kMiB, 'y');
  for (auto _ : s) {
    const char* p = fx.Next(s, /*overlay=*/false);
    long fd =
        Check(fx.task->Openat(AT_FDCWD, p, O_CREAT | O_WRONLY, 0644), "create");
    Check(fx.task->Pwrite64(static_cast<int>(fd), buf.data(), kMiB, 0),
          "write");
    fx.task->Close(static_cast<int>(fd));
  }
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(kMiB));
}

// The first write to a 1 MiB file of the lower layer: open for writing
// copies the file up, then one byte is written.
void CopyUp(benchmark::State& s) {
  OverlayFixture fx(/*with_lower=*/true);
  for (auto _ : s) {
    const char* p = fx.Next(s, /*overlay=*/true);
    long fd = Check(fx.task->Openat(AT_FDCWD, p, O_WRONLY), "open lower file");
    Check(fx.task->Pwrite64(static_cast<int>(fd), "z", 1, 0), "first write");
    fx.task->Close(static_cast<int>(fd));
  }
  s.SetBytesProcessed(s.iterations() * static_cast<int64_t>(kMiB));
}

}  // namespace

void RegisterVfsRows() {
  const Options& o = GetOptions();
  // threads > 0: run by that many threads at once, one process.
  auto both = [](const std::string& name, auto fn, int threads = 0) {
    auto* l = Register(name + "/linux",
                       [fn](benchmark::State& s) { fn(s, LinuxEnv()); });
    auto* v = Register(name + "/ours",
                       [fn](benchmark::State& s) { fn(s, OursEnv()); });
    if (threads > 0) {
      l->Threads(threads);
      v->Threads(threads);
    }
  };
  for (int d : kDepths) {
    both(absl::StrCat("stat/depth:", d),
         [d](benchmark::State& s, auto& env) { Stat(s, env, d); });
    Register(absl::StrCat("stat/depth:", d, "/llvm"),
             [d](benchmark::State& s) { LlvmStat(s, d); });
  }
  for (int d : {1, 8}) {
    both(absl::StrCat("open_close/depth:", d),
         [d](benchmark::State& s, auto& env) { OpenClose(s, env, d); });
    Register(absl::StrCat("open_close/depth:", d, "/llvm"),
             [d](benchmark::State& s) { LlvmOpenClose(s, d); });
  }
  both(absl::StrCat("open_close_busy/fds:", kBusyFds),
       [](benchmark::State& s, auto& env) { OpenCloseBusy(s, env); });
  both("create_unlink",
       [](benchmark::State& s, auto& env) { CreateUnlink(s, env); });
  both("rename/within",
       [](benchmark::State& s, auto& env) { Rename(s, env, false); });
  both("rename/across",
       [](benchmark::State& s, auto& env) { Rename(s, env, true); });
  for (size_t n : {size_t{1000}, size_t{10000}}) {
    both(absl::StrCat("getdents/entries:", n),
         [n](benchmark::State& s, auto& env) { Getdents(s, env, n); });
    Register(absl::StrCat("getdents/entries:", n, "/llvm"),
             [n](benchmark::State& s) { LlvmGetdents(s, n); });
  }
  for (size_t size : {size_t{4096}, kMiB}) {
    both(absl::StrCat("pread/bytes:", size),
         [size](benchmark::State& s, auto& env) { Pread(s, env, size); });
    Register(absl::StrCat("pread/bytes:", size, "/llvm"),
             [size](benchmark::State& s) { LlvmPread(s, size); });
    both(absl::StrCat("pwrite/bytes:", size),
         [size](benchmark::State& s, auto& env) { Pwrite(s, env, size); });
  }
  both("fstat", [](benchmark::State& s, auto& env) { Fstat(s, env); });
  Register(absl::StrCat("memcpy/bytes:", kMiB, "/host"),
           [](benchmark::State& s) { Memcpy(s, kMiB); });
  for (size_t n : {o.small_dir, o.big_dir}) {
    both(absl::StrCat("stat_in_dir/files:", n),
         [n](benchmark::State& s, auto& env) {
           StatInDir(s, env, n, kSameSample);
         });
    Register(absl::StrCat("stat_in_dir/files:", n, "/llvm"),
             [n](benchmark::State& s) { LlvmStatInDir(s, n, kSameSample); });
  }
  both(absl::StrCat("stat_in_dir_wide/files:", o.big_dir),
       [n = o.big_dir](benchmark::State& s, auto& env) {
         StatInDir(s, env, n, kWideSample);
       });
  Register(absl::StrCat("stat_in_dir_wide/files:", o.big_dir, "/llvm"),
           [n = o.big_dir](benchmark::State& s) {
             LlvmStatInDir(s, n, kWideSample);
           });
  for (int threads : {1, 2}) {
    both(
        "stat_parallel",
        [](benchmark::State& s, auto& env) { StatParallel(s, env); }, threads);
    both(
        "open_close_parallel",
        [](benchmark::State& s, auto& env) { OpenCloseParallel(s, env); },
        threads);
  }
  Register("memory/empty_file/ours", MemoryOurs)->Iterations(1);
  Register("memory/empty_file/linux", MemoryLinux)->Iterations(1);
  Register("memory/empty_file/llvm", MemoryLlvm)->Iterations(1);
  Register("overlay/plain_write_1MiB/ours", PlainWrite);
  Register("overlay/copy_up_1MiB/ours", CopyUp);
}

}  // namespace bench
