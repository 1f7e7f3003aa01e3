// host: files backed by host file descriptors.
//
// What runsc gives a container for its stdin, stdout and stderr (the
// seed's createFDMap): ImportFile dups a host FD and returns a File whose
// reads, writes, seeks and fstat are the host's:
//   - regular files (and other seekable objects) read and write at the
//     File's own offset with pread/pwrite; the offset starts where the
//     host FD's was; SEEK_END, SEEK_DATA and SEEK_HOLE ask the host;
//   - pipes, sockets and terminals are unseekable (ESPIPE), read and
//     write the host FD's stream, and block (interruptibly, by polling)
//     unless the File is O_NONBLOCK; a write to a pipe or socket with no
//     reader is EPIPE, never a host SIGPIPE;
//   - fstat reports the host's type, permissions, size, owners, rdev and
//     times, on an inode number and st_dev of our own (one anonymous
//     device for all host files);
//   - with is_tty, the terminal ioctls TCGETS, TCSETS, TCSETSW, TCSETSF,
//     TIOCGWINSZ and TIOCSWINSZ pass through to the host; TIOCGPGRP and
//     TIOCSPGRP keep the foreground process group in the sandbox (host
//     process groups mean nothing inside it), starting at the importing
//     context's pid, as runsc makes the container's init the foreground
//     group; FIONREAD works on terminals, pipes, sockets and regular
//     files; every other ioctl is ENOTTY.
// The host FD is never exposed: nothing returns its number (but the
// test-only accessor below), and it is closed when the last File (and
// anything else holding its inode) goes.
//
// Each imported File has its own anonymous root Dirent (named
// "pipe:[ino]", "socket:[ino]" or "host:[ino]") and a private, detached
// Mount, so it behaves like any other File (fstatfs, fchmod, ftruncate).
#ifndef SENTRY_FS_HOST_HOST_H_
#define SENTRY_FS_HOST_HOST_H_

#include "base/errno.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/file.h"

namespace sentry::fs::host {

// Imports host_fd (the caller keeps its own descriptor: this dups it,
// close-on-exec). The File's access mode, O_APPEND and O_NONBLOCK are the
// host FD's. EBADF if host_fd is not open; EINVAL for an O_PATH FD.
base::ErrnoOr<base::RefPtr<File>> ImportFile(const context::Context& ctx,
                                             int host_fd, bool is_tty);

// Tests only: the host FD behind f, or -1 if f is not a host file.
int HostFDForTest(const File& f);

}  // namespace sentry::fs::host

#endif  // SENTRY_FS_HOST_HOST_H_
