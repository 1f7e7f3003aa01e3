#include "sentry/fs/testutil/testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"
#include "sentry/fs/file.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/mount_source.h"

namespace sentry::fs::testutil {

using kernel::Task;

TmpfsTask NewTmpfsTask(kernel::auth::Credentials creds,
                       std::string_view options) {
  context::Context ctx(creds);
  auto fs = FindFilesystem("tmpfs");
  if (!fs.ok()) {
    std::fprintf(stderr, "no tmpfs registered\n");
    std::abort();
  }
  auto root = (*fs)->Mount(ctx, "none", {}, options);
  if (!root.ok()) {
    std::fprintf(stderr, "tmpfs mount failed: %s\n",
                 std::string(root.error().name()).c_str());
    std::abort();
  }
  TmpfsTask t;
  t.ns = MountNamespace::New(Dirent::NewRoot(*root));
  t.task = std::make_unique<Task>(t.ns, creds);
  return t;
}

std::unique_ptr<Task> NewTaskIn(base::RefPtr<MountNamespace> ns,
                                kernel::auth::Credentials creds, int32_t pid) {
  return std::make_unique<Task>(std::move(ns), std::move(creds), pid);
}

std::string ErrnoString(long r) {
  if (r >= 0) return std::to_string(r);
  return "-" + std::string(base::ErrnoName(static_cast<int>(-r)));
}

namespace {

void PrintTreeRec(Task* t, const std::string& path, int depth,
                  std::ostringstream& out) {
  struct stat st;
  long r = t->Fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0) {
    out << path << " " << ErrnoString(r) << "\n";
    return;
  }
  char mode[16];
  std::snprintf(mode, sizeof(mode), "%07o", st.st_mode);
  out << path << " mode=" << mode << " nlink=" << st.st_nlink
      << " size=" << st.st_size << " ino=" << st.st_ino << "\n";
  if (!S_ISDIR(st.st_mode) || depth > 32) return;
  long fd = t->Open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    out << path << " (open: " << ErrnoString(fd) << ")\n";
    return;
  }
  std::vector<std::string> names;
  char buf[4096];
  for (;;) {
    long n = t->Getdents64(fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
      off += d->d_reclen;
    }
  }
  t->Close(fd);
  for (const auto& n : names) {
    PrintTreeRec(t, path == "/" ? "/" + n : path + "/" + n, depth + 1, out);
  }
}

}  // namespace

std::string PrintTree(Task* t, const std::string& path) {
  std::ostringstream out;
  PrintTreeRec(t, path, 0, out);
  return out.str();
}

std::string LiveCounts() {
  // Dirents are freed once no lock-free walk can see them.
  epoch::Synchronize();
  std::ostringstream out;
  out << "Inode=" << base::LiveCounter<Inode>::Live()
      << " Dirent=" << base::LiveCounter<Dirent>::Live()
      << " MountSource=" << base::LiveCounter<MountSource>::Live()
      << " File=" << base::LiveCounter<File>::Live()
      << " Mount=" << base::LiveCounter<Mount>::Live()
      << " MountNamespace=" << base::LiveCounter<MountNamespace>::Live();
  return out.str();
}

bool AllDead() {
  epoch::Synchronize();
  return base::LiveCounter<Inode>::Live() == 0 &&
         base::LiveCounter<Dirent>::Live() == 0 &&
         base::LiveCounter<MountSource>::Live() == 0 &&
         base::LiveCounter<File>::Live() == 0 &&
         base::LiveCounter<Mount>::Live() == 0 &&
         base::LiveCounter<MountNamespace>::Live() == 0;
}

long WriteFile(Task* t, const char* path, std::string_view data, mode_t mode) {
  long fd = t->Open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return fd;
  long n = t->Write(fd, data.data(), data.size());
  t->Close(fd);
  if (n < 0) return n;
  return n == static_cast<long>(data.size()) ? 0 : -EIO;
}

std::string ReadFile(Task* t, const char* path) {
  long fd = t->Open(path, O_RDONLY);
  if (fd < 0) return "<" + ErrnoString(fd) + ">";
  std::string out;
  char buf[4096];
  for (;;) {
    long n = t->Read(fd, buf, sizeof(buf));
    if (n < 0) {
      out = "<" + ErrnoString(n) + ">";
      break;
    }
    if (n == 0) break;
    out.append(buf, n);
  }
  t->Close(fd);
  return out;
}

std::vector<std::string> ListDir(Task* t, const char* path) {
  std::vector<std::string> names;
  long fd = t->Open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return {"<" + ErrnoString(fd) + ">"};
  char buf[4096];
  for (;;) {
    long n = t->Getdents64(fd, buf, sizeof(buf));
    if (n < 0) {
      names.push_back("<" + ErrnoString(n) + ">");
      break;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
      off += d->d_reclen;
    }
  }
  t->Close(fd);
  return names;
}

namespace {

// Fails any test that leaves VFS objects alive.
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (AllDead()) return;
    ADD_FAILURE() << "VFS objects leaked by " << info.test_suite_name() << "."
                  << info.name() << ": " << LiveCounts();
  }
};

struct RegisterLeakCheck {
  RegisterLeakCheck() {
    ::testing::UnitTest::GetInstance()->listeners().Append(
        new LeakCheckListener);
  }
};
const RegisterLeakCheck register_leak_check;

}  // namespace

}  // namespace sentry::fs::testutil
