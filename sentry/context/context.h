// Context: what every VFS operation is told about its caller.
//
// The credentials the operation runs with, the clock that stamps inodes,
// the caller's pid (lock owners, /proc/self), RLIMIT_FSIZE, and a flag that
// interrupts blocking waits (F_SETLKW, flock) with EINTR. An embedding
// kernel makes one per task; tests use sentry/fs/testutil's. A Context is
// used by one thread at a time; the clock it points to must be thread-safe.
#ifndef SENTRY_CONTEXT_CONTEXT_H_
#define SENTRY_CONTEXT_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <limits>

#include "abi/linux/linux.h"
#include "sentry/kernel/auth/credentials.h"

namespace sentry::context {

// Wall-clock time source; thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual linux_abi::Timespec Now() const = 0;
  // Now, give or take a clock tick, for decisions that need no precision
  // (relatime's "a day old"); cheaper where the host has a coarse clock.
  virtual linux_abi::Timespec NowCoarse() const { return Now(); }
};

// CLOCK_REALTIME from the host.
const Clock& RealtimeClock();

class Context {
 public:
  explicit Context(kernel::auth::Credentials creds,
                   const Clock* clock = &RealtimeClock(), int32_t pid = 1)
      : creds_(std::move(creds)), clock_(clock), pid_(pid) {}

  const kernel::auth::Credentials& creds() const { return creds_; }
  kernel::auth::Credentials& mutable_creds() { return creds_; }
  linux_abi::Timespec Now() const { return clock_->Now(); }
  linux_abi::Timespec NowCoarse() const { return clock_->NowCoarse(); }
  int32_t pid() const { return pid_; }
  void set_pid(int32_t pid) { pid_ = pid; }

  // RLIMIT_FSIZE; writes past it fail with EFBIG.
  // Atomic: a task's setrlimit may race its other threads' writes.
  uint64_t file_size_limit() const {
    return file_size_limit_.load(std::memory_order_relaxed);
  }
  void set_file_size_limit(uint64_t l) {
    file_size_limit_.store(l, std::memory_order_relaxed);
  }

  // Set from another thread to interrupt this context's blocking waits.
  const std::atomic<bool>* interrupted() const { return &interrupted_; }
  void Interrupt() { interrupted_.store(true); }
  void ClearInterrupt() { interrupted_.store(false); }

 private:
  kernel::auth::Credentials creds_;
  const Clock* clock_;
  int32_t pid_;
  std::atomic<uint64_t> file_size_limit_{std::numeric_limits<uint64_t>::max()};
  std::atomic<bool> interrupted_{false};
};

}  // namespace sentry::context

#endif  // SENTRY_CONTEXT_CONTEXT_H_
