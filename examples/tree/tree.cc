// Composes a small mount namespace through the syscall-shaped API and prints
// its tree and mount table: what the README's first command shows.
//
//   ./tools/bazel run //examples/tree
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/kernel/task.h"

namespace {

using sentry::kernel::Task;

int Check(long r, const char* what) {
  if (r < 0) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(-r));
    std::exit(1);
  }
  return static_cast<int>(r);
}

void PrintTree(Task& t, const std::string& path, const std::string& indent) {
  int fd = Check(t.Open(path.c_str(), O_RDONLY | O_DIRECTORY), path.c_str());
  std::vector<std::string> names;
  char buf[4096];
  for (;;) {
    long n = Check(t.Getdents64(fd, buf, sizeof(buf)), "getdents64");
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
      off += d->d_reclen;
    }
  }
  t.Close(fd);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string child = path == "/" ? "/" + name : path + "/" + name;
    struct stat st;
    Check(t.Fstatat(AT_FDCWD, child.c_str(), &st, AT_SYMLINK_NOFOLLOW),
          child.c_str());
    std::printf("%s%s", indent.c_str(), name.c_str());
    if (S_ISDIR(st.st_mode)) {
      std::printf("/\n");
      PrintTree(t, child, indent + "    ");
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      long n =
          Check(t.Readlinkat(AT_FDCWD, child.c_str(), target, sizeof(target)),
                "readlink");
      std::printf(" -> %.*s\n", static_cast<int>(n), target);
    } else {
      std::printf("  (%lld bytes, mode %o)\n",
                  static_cast<long long>(st.st_size), st.st_mode & 07777);
    }
  }
}

}  // namespace

int main() {
  using namespace sentry;
  context::Context ctx(kernel::auth::Credentials::Root());
  auto tmpfs = fs::FindFilesystem("tmpfs");
  if (!tmpfs.ok()) return 1;
  auto root = (*tmpfs)->Mount(ctx, "rootfs", {}, "mode=755");
  if (!root.ok()) return 1;
  {
    Task t(fs::MountNamespace::New(fs::Dirent::NewRoot(*root)),
           kernel::auth::Credentials::Root());
    for (const char* d : {"/etc", "/tmp", "/srv", "/srv/data", "/mnt"}) {
      Check(t.Mkdirat(AT_FDCWD, d, 0755), d);
    }
    int fd = Check(t.Open("/etc/hostname", O_CREAT | O_WRONLY, 0644), "create");
    Check(t.Write(fd, "sandbox\n", 8), "write");
    t.Close(fd);
    Check(t.Symlinkat("/etc/hostname", AT_FDCWD, "/srv/hostname"), "symlink");
    Check(t.Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                  "size=16m,mode=1777"),
          "mount /tmp");
    fd = Check(t.Open("/tmp/scratch", O_CREAT | O_RDWR, 0600), "create");
    Check(t.Pwrite64(fd, "x", 1, 1 << 20), "pwrite");  // a sparse 1 MiB file
    t.Close(fd);
    fd = Check(t.Open("/srv/data/report.txt", O_CREAT | O_WRONLY, 0644),
               "create");
    Check(t.Write(fd, "hello\n", 6), "write");
    t.Close(fd);
    Check(t.Mount("/srv/data", "/mnt", nullptr, MS_BIND, nullptr), "bind");

    std::printf("/\n");
    PrintTree(t, "/", "    ");
    std::printf(
        "\nmounts (id parent root mount-point fstype source options):\n");
    for (const fs::MountInfo& m : t.mount_namespace()->Mounts(t.root())) {
      std::printf("%d %d %s %s %s %s %s\n", m.id, m.parent_id, m.root.c_str(),
                  m.mount_point.c_str(), m.fs_type.c_str(), m.source.c_str(),
                  m.super_options.c_str());
    }
  }
  return 0;
}
