// Internal: running one side of a differential test in a forked child that
// streams its results back over a pipe as it goes, so a crash or hang is
// attributed to the op that caused it.
#ifndef SENTRY_KERNEL_DIFFTEST_CHILD_H_
#define SENTRY_KERNEL_DIFFTEST_CHILD_H_

#include <functional>
#include <string>

#include "sentry/kernel/difftest/harness.h"
#include "sentry/kernel/difftest/op.h"

namespace difftest::internal {

class RecordWriter {
 public:
  explicit RecordWriter(int fd) : fd_(fd) {}
  void WriteResult(const Result& r);
  void WriteTree(const std::string& tree);
  void WriteError(const std::string& msg);

 private:
  void Put(char tag, long ret, const std::string& payload);
  int fd_;
};

// Forks; the child runs body (with SIGALRM after timeout_s) and _exits.
// The parent collects the records; a child that dies or times out gets an
// error naming how far it got.
SideOutput RunInChild(const std::function<void(RecordWriter&)>& body,
                      int timeout_s, const std::string& side_name);

}  // namespace difftest::internal

#endif  // SENTRY_KERNEL_DIFFTEST_CHILD_H_
