// A ProcessTable for tests: each entry is a kernel::Task (not owned) plus
// the facts a Task does not have (argv, environment, comm, parent).
#ifndef SENTRY_FS_TESTUTIL_FAKE_PROCESS_H_
#define SENTRY_FS_TESTUTIL_FAKE_PROCESS_H_

#include <map>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "sentry/fs/proc/process.h"
#include "sentry/kernel/task.h"

namespace sentry::fs::testutil {

struct FakeProcessOptions {
  int32_t ppid = 0;
  std::vector<std::string> argv = {"init"};
  std::vector<std::string> envp = {"PATH=/bin"};
  std::string comm;  // default: argv[0]'s basename
  std::string exe;   // default: none
  proc::MemoryUsage memory;
};

class FakeProcessTable : public proc::ProcessTable {
 public:
  // Adds t under its ctx().pid(). t must outlive its entry.
  void Add(kernel::Task* t, FakeProcessOptions opts = {});
  void Remove(int32_t pid);

  proc::ProcessRef Find(int32_t pid) const override;
  std::vector<int32_t> Pids() const override;

 private:
  mutable base::Mutex mu_;
  std::map<int32_t, std::pair<kernel::Task*, FakeProcessOptions>> procs_
      ABSL_GUARDED_BY(mu_);
};

// Sets the default proc table for its lifetime (mount -t proc shows it).
class ScopedDefaultProcessTable {
 public:
  explicit ScopedDefaultProcessTable(const proc::ProcessTable* t) {
    proc::SetDefaultProcessTable(t);
  }
  ~ScopedDefaultProcessTable() { proc::SetDefaultProcessTable(nullptr); }
};

}  // namespace sentry::fs::testutil

#endif  // SENTRY_FS_TESTUTIL_FAKE_PROCESS_H_
