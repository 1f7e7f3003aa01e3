// Random op sequences: reproducible from a seed, drawn from a small name
// pool so that names collide (EEXIST, ENOTEMPTY, renames over things...).
#ifndef SENTRY_KERNEL_DIFFTEST_GENERATOR_H_
#define SENTRY_KERNEL_DIFFTEST_GENERATOR_H_

#include <cstdint>

#include "sentry/kernel/difftest/harness.h"

namespace difftest {

// The base seed of the random tests; sequence i uses kBaseSeed + i.
inline constexpr uint64_t kBaseSeed = 0x5eed2024;

// 30-60 ops. Unprivileged sequences get a root-made setup (root-owned
// dirs and files, a sticky dir with another user's file, a setgid dir, a
// 0700 dir) and run as kUserUid.
Sequence GenerateSequence(uint64_t seed, bool unprivileged);

}  // namespace difftest

#endif  // SENTRY_KERNEL_DIFFTEST_GENERATOR_H_
