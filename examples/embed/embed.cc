// Embedding the VFS: what a user-space kernel does at boot, in one file.
//
// It builds a read-only "image" on tmpfs, puts a writable tmpfs overlay on
// it, mounts a scratch tmpfs, then runs a few syscalls as an unprivileged
// process would, and checks what Linux would answer. Built and run by
// `bazel test //examples/embed:embed_test`; see docs/embedding.md.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "sentry/fs/dirent.h"
#include "sentry/fs/filesystem.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/overlay/overlay.h"
#include "sentry/kernel/task.h"

namespace {

using sentry::kernel::Task;
using sentry::kernel::auth::Credentials;

int passes = 0, failures = 0;

void Expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  ++(ok ? passes : failures);
}

}  // namespace

int main() {
  namespace fs = sentry::fs;
  sentry::context::Context ctx(Credentials::Root());

  // 1. Filesystems come from the registry, by name: linking
  //    //sentry/fs/tmpfs is what registered "tmpfs".
  auto tmpfs = fs::FindFilesystem("tmpfs");
  if (!tmpfs.ok()) return 1;
  auto image = (*tmpfs)->Mount(ctx, "image", {}, "mode=755");
  auto upper = (*tmpfs)->Mount(ctx, "upper", {}, "mode=755");
  if (!image.ok() || !upper.ok()) return 1;

  // 2. Fill the image through a Task of its own namespace.
  {
    Task t(fs::MountNamespace::New(fs::Dirent::NewRoot(*image)),
           Credentials::Root());
    t.Mkdirat(AT_FDCWD, "/etc", 0755);
    t.Mkdirat(AT_FDCWD, "/home", 0755);
    t.Mkdirat(AT_FDCWD, "/home/user", 0755);
    t.Fchownat(AT_FDCWD, "/home/user", 1000, 1000, 0);
    long fd = t.Open("/etc/motd", O_CREAT | O_WRONLY, 0644);
    t.Write(fd, "welcome\n", 8);
    t.Close(fd);
  }

  // 3. The sandbox's root: a writable overlay over the image.
  auto root = fs::overlay::NewOverlayRoot(ctx, *upper, *image);
  if (!root.ok()) return 1;
  auto ns = fs::MountNamespace::New(fs::Dirent::NewRoot(*root));
  {
    Task admin(ns, Credentials::Root());
    admin.Mkdirat(AT_FDCWD, "/tmp", 01777);
    Expect(admin.Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                       "size=1m,mode=1777") == 0,
           "mount a 1 MiB tmpfs at /tmp");
  }

  // 4. An unprivileged process at work.
  Task user(ns, Credentials::User(1000, 1000), /*pid=*/2);
  Expect(user.Chdir("/home/user") == 0, "chdir to the home directory");
  long fd = user.Open("notes.txt", O_CREAT | O_RDWR, 0600);
  Expect(fd >= 0, "create a file in the overlay");
  Expect(user.Write(fd, "hello", 5) == 5, "write to it");
  user.Close(fd);
  Expect(user.Open("/etc/motd", O_WRONLY) == -EACCES,
         "EACCES writing a root-owned 0644 file");
  Expect(user.Unlinkat(AT_FDCWD, "/etc/motd", 0) == -EACCES,
         "EACCES deleting in a root-owned directory");
  char big[4096] = {};
  long t = user.Open("/tmp/fill", O_CREAT | O_WRONLY, 0600);
  long written = 0, r;
  while ((r = user.Write(t, big, sizeof(big))) > 0) written += r;
  Expect(r == -ENOSPC && written == 1 << 20, "ENOSPC once /tmp is full");
  user.Close(t);
  char cwd[256];
  Expect(
      user.Getcwd(cwd, sizeof(cwd)) > 0 && std::strcmp(cwd, "/home/user") == 0,
      "getcwd");

  // 5. The image is untouched: the overlay wrote to the upper layer.
  {
    Task t(fs::MountNamespace::New(fs::Dirent::NewRoot(*image)),
           Credentials::Root());
    struct stat st;
    Expect(t.Fstatat(AT_FDCWD, "/home/user/notes.txt", &st, 0) == -ENOENT,
           "the image has no notes.txt");
  }
  std::printf("%d passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
