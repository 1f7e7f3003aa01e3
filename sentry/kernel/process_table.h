// TaskProcessTable: the processes /proc shows, over sentry::kernel::Tasks.
//
// An embedder registers each Task with what /proc tells of it beyond the
// VFS state the Task already has (arguments, environment, executable), and
// points proc at the table with proc::SetDefaultProcessTable. Thread-safe;
// a Task must stay alive while it is in the table.
#ifndef SENTRY_KERNEL_PROCESS_TABLE_H_
#define SENTRY_KERNEL_PROCESS_TABLE_H_

#include <map>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "sentry/fs/proc/process.h"
#include "sentry/kernel/task.h"

namespace sentry::kernel {

struct TaskProcessOptions {
  int32_t ppid = 0;
  std::vector<std::string> argv = {"init"};
  std::vector<std::string> envp;
  std::string comm;  // default: argv[0]'s basename, 15 bytes
  std::string exe;   // /proc/[pid]/exe's target
  fs::proc::MemoryUsage memory;
};

class TaskProcessTable : public fs::proc::ProcessTable {
 public:
  // Adds t under its ctx().pid(), replacing any entry for that pid.
  void Add(Task* t, TaskProcessOptions opts = {}) ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(int32_t pid) ABSL_LOCKS_EXCLUDED(mu_);

  fs::proc::ProcessRef Find(int32_t pid) const override
      ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<int32_t> Pids() const override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable base::Mutex mu_;
  std::map<int32_t, std::pair<Task*, TaskProcessOptions>> procs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sentry::kernel

#endif  // SENTRY_KERNEL_PROCESS_TABLE_H_
