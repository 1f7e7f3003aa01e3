#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"

namespace {

void BM_StrCat(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = absl::StrCat("a", state.iterations(), "b");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StrCat);

}  // namespace
