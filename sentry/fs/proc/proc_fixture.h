// A Task on tmpfs with proc mounted at /proc, showing a fake process table.
#ifndef SENTRY_FS_PROC_PROC_FIXTURE_H_
#define SENTRY_FS_PROC_PROC_FIXTURE_H_

#include <sys/mount.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sentry/fs/testutil/testutil.h"
#include "sentry/kernel/process_table.h"

namespace sentry::fs::proc {

class FixedMachine : public MachineInfoSource {
 public:
  MachineInfo Get() const override {
    MachineInfo m;
    m.cpus = 2;
    m.mem_total = 8ull << 30;
    m.mem_free = 6ull << 30;
    m.mem_available = 7ull << 30;
    m.buffers = 64ull << 20;
    m.cached = 512ull << 20;
    m.uptime = 1234.5;
    m.idle = 2000.25;
    m.loadavg[0] = 0.5;
    m.boot_time = 1700000000;
    m.hostname = "sandbox";
    m.osrelease = "4.4.0";
    m.version = "#1 SMP Sun Jan 10 15:06:54 PST 2016";
    return m;
  }
};

class ProcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetDefaultMachineInfo(&machine_);
    t_ = testutil::NewTmpfsTask();
    kernel::TaskProcessOptions o;
    o.argv = {"/bin/sh", "-c", "echo hi"};
    o.envp = {"PATH=/bin", "HOME=/root"};
    o.exe = "/bin/sh";
    table_.Add(t_.get(), o);
    ASSERT_EQ(t_->Mkdirat(AT_FDCWD, "/proc", 0555), 0);
    ASSERT_EQ(t_->Mount("proc", "/proc", "proc",
                        MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr),
              0);
  }
  void TearDown() override {
    for (auto& t : others_) table_.Remove(t->ctx().pid());
    others_.clear();
    table_.Remove(t_->ctx().pid());
    t_.reset();
    SetDefaultMachineInfo(nullptr);
  }
  kernel::Task* AddTask(int32_t pid) {
    others_.push_back(
        testutil::NewTaskIn(t_.ns, kernel::auth::Credentials::Root(), pid));
    kernel::TaskProcessOptions o;
    o.ppid = 1;
    o.argv = {"worker"};
    table_.Add(others_.back().get(), o);
    return others_.back().get();
  }
  std::string Read(const char* p) { return testutil::ReadFile(t_.get(), p); }
  std::string Readlink(const char* p, kernel::Task* t = nullptr) {
    char buf[4096];
    long n = (t ? t : t_.get())->Readlinkat(AT_FDCWD, p, buf, sizeof(buf));
    if (n < 0) return "<" + testutil::ErrnoString(n) + ">";
    return std::string(buf, n);
  }

  FixedMachine machine_;
  kernel::TaskProcessTable table_;
  // The default proc table (mount -t proc shows it) for the fixture's life.
  struct ScopedDefault {
    explicit ScopedDefault(const proc::ProcessTable* t) {
      proc::SetDefaultProcessTable(t);
    }
    ~ScopedDefault() { proc::SetDefaultProcessTable(nullptr); }
  } scoped_{&table_};
  testutil::TmpfsTask t_;
  std::vector<std::unique_ptr<kernel::Task>> others_;
};

}  // namespace sentry::fs::proc

#endif  // SENTRY_FS_PROC_PROC_FIXTURE_H_
