// Shared pieces of the //tools/bench suite: options, the per-backend
// environments (built once per process, lazily), and registration hooks
// for each group of rows.
//
// Row names are "<workload>/<params>/<backend>" (Google Benchmark may
// append "/real_time" or "/threads:N"); backends are linux, ours, llvm, and
// for the gofer rows the server's name. tools/bench/compare.py reads them.
#ifndef TOOLS_BENCH_SUITE_H_
#define TOOLS_BENCH_SUITE_H_

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "tools/bench/backends.h"
#include "tools/bench/llvm_peer.h"

namespace bench {

struct Options {
  // Small fixtures (CI proves the rows run; figures mean nothing).
  bool quick = false;
  size_t big_dir = 1000000;     // the "directory of 1,000,000 files"
  size_t small_dir = 1000;      // its baseline
  size_t memory_files = 20000;  // files created per memory measurement
};
const Options& GetOptions();
void SetOptions(const Options& o);

inline const std::vector<int> kDepths = {1, 2, 3, 8, 64, 100};

// One backend's file system plus the fixtures built on it so far.
template <typename Fs>
struct Env {
  explicit Env(Fs& f) : fs(f) {}
  Fs& fs;
  std::mutex mu;
  std::set<std::string> built;
  // Runs build once per key (under mu, so threads of one row wait).
  void Once(const std::string& key, const std::function<void()>& build) {
    std::lock_guard<std::mutex> l(mu);
    if (built.insert(key).second) build();
  }
};

Env<LinuxFs>& LinuxEnv();
Env<OursFs>& OursEnv();
const HostDir& Host();
sentry::kernel::Task* OurTask();
LlvmPeer& Llvm();

// Every row is timed in wall-clock time (the gofer rows wait for another
// thread or process, and the ratio must compare like with like) and gets a
// "min" statistic across repetitions: the least disturbed repetition on a
// shared machine.
benchmark::internal::Benchmark* Register(
    const std::string& name, std::function<void(benchmark::State&)> fn);

// "c/c/.../f" with depth components.
std::string ChainPath(int depth);

void RegisterVfsRows();
void RegisterGoferRows();

}  // namespace bench

#endif  // TOOLS_BENCH_SUITE_H_
