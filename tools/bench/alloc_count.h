// Allocation counting for //tools/bench: the bench binary replaces the
// global operator new and delete (alloc_count.cc) so that a workload can
// measure the heap bytes it keeps, as malloc's usable sizes (what the
// allocator really hands out, rounding included).
//
// Counting is off unless a Scope is alive, so it costs one relaxed load per
// allocation elsewhere. Scopes must not overlap; allocations by any thread
// while one is alive are counted.
#ifndef TOOLS_BENCH_ALLOC_COUNT_H_
#define TOOLS_BENCH_ALLOC_COUNT_H_

#include <cstdint>

namespace bench::alloc {

class Scope {
 public:
  Scope();
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // Bytes allocated minus bytes freed while the scope was alive (frees of
  // blocks allocated before it count too, as they shrink the heap).
  int64_t NetBytes() const;
  int64_t Allocations() const;
};

}  // namespace bench::alloc

#endif  // TOOLS_BENCH_ALLOC_COUNT_H_
