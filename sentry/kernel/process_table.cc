#include "sentry/kernel/process_table.h"

#include <memory>

namespace sentry::kernel {

namespace {

class TaskProcess : public fs::proc::ProcessInfo {
 public:
  TaskProcess(Task* t, TaskProcessOptions o) : t_(t), o_(std::move(o)) {}
  int32_t pid() const override { return t_->ctx().pid(); }
  int32_t ppid() const override { return o_.ppid; }
  std::vector<std::string> argv() const override { return o_.argv; }
  std::vector<std::string> envp() const override { return o_.envp; }
  std::string comm() const override {
    if (!o_.comm.empty()) return o_.comm.substr(0, 15);
    std::string a = o_.argv.empty() ? "" : o_.argv[0];
    size_t slash = a.rfind('/');
    if (slash != std::string::npos) a = a.substr(slash + 1);
    return a.substr(0, 15);
  }
  auth::Credentials creds() const override { return t_->ctx().creds(); }
  uint32_t umask() const override { return t_->umask(); }
  fs::Path root() const override { return t_->root(); }
  fs::Path cwd() const override { return t_->cwd(); }
  base::RefPtr<fs::MountNamespace> mount_namespace() const override {
    return base::RefPtr<fs::MountNamespace>(t_->mount_namespace());
  }
  std::vector<fs::proc::FdEntry> fds() const override {
    std::vector<fs::proc::FdEntry> out;
    for (int fd : t_->fd_table().Fds()) {
      auto f = t_->fd_table().Get(fd);
      if (!f.ok()) continue;
      auto ce = t_->fd_table().GetCloexec(fd);
      out.push_back({fd, std::move(*f), ce.ok() && *ce});
    }
    return out;
  }
  int fd_table_size() const override {
    int n = 64;
    for (int fd : t_->fd_table().Fds()) {
      while (fd >= n) n *= 2;
    }
    return n;
  }
  std::string exe() const override { return o_.exe; }
  fs::proc::MemoryUsage memory() const override { return o_.memory; }
  std::array<linux_abi::Rlimit, linux_abi::kRlimNlimits> rlimits()
      const override {
    return t_->rlimits();
  }

 private:
  Task* const t_;
  const TaskProcessOptions o_;
};

}  // namespace

void TaskProcessTable::Add(Task* t, TaskProcessOptions opts) {
  base::MutexLock l(&mu_);
  procs_[t->ctx().pid()] = {t, std::move(opts)};
}

void TaskProcessTable::Remove(int32_t pid) {
  base::MutexLock l(&mu_);
  procs_.erase(pid);
}

fs::proc::ProcessRef TaskProcessTable::Find(int32_t pid) const {
  base::MutexLock l(&mu_);
  auto it = procs_.find(pid);
  if (it == procs_.end()) return nullptr;
  return std::make_shared<TaskProcess>(it->second.first, it->second.second);
}

std::vector<int32_t> TaskProcessTable::Pids() const {
  base::MutexLock l(&mu_);
  std::vector<int32_t> out;
  for (const auto& [pid, _] : procs_) out.push_back(pid);
  return out;
}

}  // namespace sentry::kernel
