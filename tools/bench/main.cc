// //tools/bench: every hot path of the VFS against Linux (and LLVM's
// InMemoryFileSystem) in one run. See README.md ("Benchmarks").
//
// Flags: Google Benchmark's (--benchmark_filter, --benchmark_out=FILE.json,
// --benchmark_repetitions, ...) plus
//   --bench_quick   small fixtures, for CI's does-it-run check.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tools/bench/suite.h"

namespace bench {
namespace {

Options g_options;

double Min(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

// The console table, then for every row whose workload also ran on
// another backend, our time divided by theirs (below 1: we are faster).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      bool agg = r.run_type == Run::RT_Aggregate;
      if (agg && r.aggregate_name != "min") continue;
      std::string name = r.run_name.str();
      double t = r.GetAdjustedRealTime();
      auto [it, fresh] = best_.try_emplace(name, t);
      if (agg || t < it->second) it->second = t;
      if (fresh) order_.push_back(name);
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf(
        "\nours / peer, wall time per iteration (min over repetitions;"
        " < 1 means ours is faster):\n");
    for (const std::string& name : order_) {
      auto [workload, backend] = Split(name);
      // Memory rows compare bytes, not time (see their counters).
      if (backend.empty() || IsPeer(backend) || name.rfind("memory/", 0) == 0) {
        continue;
      }
      std::string line = absl::StrCat("  ", name);
      bool any = false;
      for (const char* peer : {"linux", "llvm", "diod"}) {
        auto it = best_.find(Join(workload, backend, peer, name));
        if (it == best_.end() || it->second <= 0) continue;
        absl::StrAppend(&line, "  vs ", peer, ": ",
                        FormatRatio(best_[name] / it->second));
        any = true;
      }
      if (any) std::printf("%s\n", line.c_str());
    }
  }

 private:
  static bool IsBackend(const std::string& p) {
    for (const char* b : {"ours", "linux", "llvm", "keep", "revalidate",
                          "fsgofer", "diod", "host"}) {
      if (p == b) return true;
    }
    return false;
  }
  static bool IsPeer(const std::string& p) {
    return p == "linux" || p == "llvm" || p == "diod" || p == "host";
  }

  // "stat/depth:8/ours/real_time" -> ("stat/depth:8", "ours"); the suffix
  // Google Benchmark appends is kept aside by Join.
  static std::pair<std::string, std::string> Split(const std::string& name) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= name.size(); ++i) {
      if (i == name.size() || name[i] == '/') {
        parts.push_back(name.substr(start, i - start));
        start = i + 1;
      }
    }
    for (size_t i = parts.size(); i-- > 0;) {
      const std::string& p = parts[i];
      if (IsBackend(p)) {
        std::string w;
        for (size_t j = 0; j < i; ++j)
          absl::StrAppend(&w, j ? "/" : "", parts[j]);
        return {w, p};
      }
    }
    return {name, ""};
  }
  static std::string Join(const std::string& workload,
                          const std::string& backend, const char* peer,
                          const std::string& name) {
    std::string suffix = name.substr(workload.size() + 1 + backend.size());
    return absl::StrCat(workload, "/", peer, suffix);
  }
  static std::string FormatRatio(double r) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.3f", r);
    return b;
  }

  std::map<std::string, double> best_;
  std::vector<std::string> order_;
};

void AddMachineContext() {
  benchmark::AddCustomContext("nproc",
                              std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      benchmark::AddCustomContext("cpu_model", line.substr(colon + 2));
      break;
    }
  }
  struct utsname u;
  if (uname(&u) == 0) {
    benchmark::AddCustomContext("kernel",
                                absl::StrCat(u.sysname, " ", u.release));
  }
  benchmark::AddCustomContext("host_dir", Host().kind());
}

}  // namespace

const Options& GetOptions() { return g_options; }
void SetOptions(const Options& o) { g_options = o; }

// Destroyed at exit: the host tmpfs must not stay mounted.
const HostDir& Host() {
  static HostDir h;
  return h;
}
Env<LinuxFs>& LinuxEnv() {
  static LinuxFs* fs = new LinuxFs(Host().fd());
  static Env<LinuxFs>* env = new Env<LinuxFs>(*fs);
  return *env;
}
sentry::kernel::Task* OurTask() {
  static OurTmpfs* t = new OurTmpfs();
  return t->task.get();
}
Env<OursFs>& OursEnv() {
  static OursFs* fs = new OursFs(OurTask());
  static Env<OursFs>* env = new Env<OursFs>(*fs);
  return *env;
}
LlvmPeer& Llvm() {
  static LlvmPeer* p = new LlvmPeer();
  return *p;
}

std::string ChainPath(int depth) {
  std::string p;
  for (int i = 1; i < depth; ++i) p += "c/";
  return p + "f";
}

benchmark::internal::Benchmark* Register(
    const std::string& name, std::function<void(benchmark::State&)> fn) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [fn](benchmark::State& s) { fn(s); })
      ->UseRealTime()
      ->ComputeStatistics("min", &Min);
}

}  // namespace bench

int main(int argc, char** argv) {
  bench::Options o;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--bench_quick") == 0) {
      o.quick = true;
      o.big_dir = 10000;
      o.memory_files = 1000;
    } else {
      rest.push_back(argv[i]);
    }
  }
  bench::SetOptions(o);
  // open_close_busy holds 1,000 descriptors on the Linux side, beside the
  // fixtures' own: past a soft limit of 1,024 (a common default). Raise
  // it to the hard limit, as a shell's `ulimit -n unlimited` would try.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  bench::AddMachineContext();
  bench::RegisterVfsRows();
  bench::RegisterGoferRows();
  bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  // Our fixtures are left to the process's exit (they are large); the
  // host directory is unmounted by HostDir's destructor.
  return 0;
}
