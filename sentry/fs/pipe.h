// Pipe: the buffer behind a fifo (and, later, pipe(2)).
//
// One Pipe per fifo inode; each open of the fifo gets a PipeFile end. Open
// rules are fifo(7)'s: O_RDWR never waits; a non-blocking reader opens at
// once; a non-blocking writer with no reader fails with ENXIO; blocking
// opens wait for the other end. Reads return EOF when no writer is left,
// writes fail with EPIPE when no reader is. Thread-safe; uses a standard
// mutex and condition variable so ThreadSanitizer sees the waits.
#ifndef SENTRY_FS_PIPE_H_
#define SENTRY_FS_PIPE_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "sentry/fs/file.h"

namespace sentry::fs {

class Pipe : public base::RefCounted<Pipe> {
 public:
  static constexpr size_t kCapacity = 65536;  // Linux's default pipe size
  // Makes the FileOperations of a new open end (flags: open(2) flags).
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags);

 private:
  friend class PipeFile;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char> buf_;
  int readers_ = 0;
  int writers_ = 0;
  uint64_t reader_opens_ = 0;  // counts, so a blocked open sees a peer come
  uint64_t writer_opens_ = 0;
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_PIPE_H_
