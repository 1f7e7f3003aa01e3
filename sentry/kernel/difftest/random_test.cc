// Generated differential sequences: kRootSequences as root and
// kUserSequences as uid 1000, from kBaseSeed + index (reproducible).
//
// Environment knobs (for reproducing a report):
//   DIFFTEST_SEED=<n>        run only that seed (both variants)
//   DIFFTEST_VERBOSE_ALL=1   print the full report of every failing seed
//                            (default: the first few, then signatures only)
// and for a longer soak than CI's (the same sequences CI runs come first):
//   DIFFTEST_SCALE=<k>       k times as many sequences of each kind (also
//                            gofer_test's)
// e.g. bazel test //sentry/kernel/difftest:random_test
//        --test_env=DIFFTEST_SCALE=50 --test_timeout=3600
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sentry/kernel/difftest/generator.h"
#include "sentry/kernel/difftest/harness.h"

namespace difftest {
namespace {

constexpr int kRootSequences = 200;
constexpr int kUserSequences = 100;
constexpr int kFullReports = 3;

void RunMany(bool unprivileged, int count) {
  std::string why = LinuxSideUnavailableReason();
  if (!why.empty()) GTEST_SKIP() << why;
  std::vector<uint64_t> seeds;
  if (const char* only = getenv("DIFFTEST_SEED")) {
    seeds.push_back(strtoull(only, nullptr, 0));
  } else {
    // User sequences use a disjoint range of seeds (up to the scale at
    // which the ranges would meet).
    count = ScaledSequenceCount(count, 100000);
    uint64_t base = kBaseSeed + (unprivileged ? 100000 : 0);
    for (int i = 0; i < count; ++i) seeds.push_back(base + i);
  }
  bool verbose = getenv("DIFFTEST_VERBOSE_ALL") != nullptr;
  // One full report per distinct failure signature, then a summary.
  std::map<std::string, std::vector<uint64_t>> by_signature;
  int reports = 0;
  for (uint64_t seed : seeds) {
    Sequence s = GenerateSequence(seed, unprivileged);
    DiffResult r = RunDiff(s, /*minimize=*/true);
    if (r.ok) continue;
    bool first = by_signature.find(r.signature) == by_signature.end();
    by_signature[r.signature].push_back(seed);
    if (verbose || (first && reports < kFullReports * 4) ||
        reports < kFullReports) {
      ++reports;
      ADD_FAILURE() << r.report;
    } else {
      ADD_FAILURE() << "seed " << seed << ": " << r.signature
                    << " (rerun with DIFFTEST_SEED=" << seed
                    << " for the full report)";
    }
  }
  if (!by_signature.empty()) {
    std::string summary = "Failure signatures (seed list):\n";
    for (const auto& [sig, ss] : by_signature) {
      absl::StrAppend(&summary, "  ", sig, "  x", ss.size(), ": seeds");
      for (size_t i = 0; i < ss.size() && i < 10; ++i) {
        absl::StrAppend(&summary, " ", ss[i]);
      }
      absl::StrAppend(&summary, "\n");
    }
    ADD_FAILURE() << summary;
  }
}

TEST(RandomSequences, AsRoot) { RunMany(false, kRootSequences); }
TEST(RandomSequences, AsUser) { RunMany(true, kUserSequences); }

}  // namespace
}  // namespace difftest
