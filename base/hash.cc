#include "base/hash.h"

#include <sys/random.h>

#include <chrono>

namespace base::internal {

uint64_t MakeHashSeed() {
  uint64_t seed = 0;
  // getrandom(2) without GRND_NONBLOCK blocks only before the kernel's
  // pool is first initialised, long before any sandbox starts.
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    // No getrandom (seccomp, an old kernel): the clock and an address
    // (ASLR) still vary from run to run.
    seed = static_cast<uint64_t>(
               std::chrono::steady_clock::now().time_since_epoch().count()) ^
           reinterpret_cast<uintptr_t>(&seed);
  }
  // Never zero, so that no input multiplies the state away to nothing.
  return seed | 1;
}

}  // namespace base::internal
