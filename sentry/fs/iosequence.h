// IOSequence: a scatter-gather view of caller memory for read and write.
//
// Backends copy straight between their storage and these segments, so a
// readv into eight buffers costs no intermediate copy. Not thread-safe; it
// does not own the memory it points to.
#ifndef SENTRY_FS_IOSEQUENCE_H_
#define SENTRY_FS_IOSEQUENCE_H_

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "base/copy.h"

namespace sentry::fs {

class IOSequence {
 public:
  IOSequence() = default;
  IOSequence(void* buf, size_t len) { Append(buf, len); }
  IOSequence(const struct iovec* iov, int n) {
    for (int i = 0; i < n; ++i) Append(iov[i].iov_base, iov[i].iov_len);
  }
  static IOSequence FromConst(const void* buf, size_t len) {
    return IOSequence(const_cast<void*>(buf), len);
  }
  // A sequence over memory just allocated and not yet written, likely out
  // of the caches (a new page of a file): see CopyIn's fresh_dst.
  static IOSequence IntoFresh(void* buf, size_t len) {
    IOSequence s(buf, len);
    s.fresh_ = true;
    return s;
  }

  void Append(void* base, size_t len) {
    if (len == 0) return;
    segs_.push_back({base, len});
    total_ += len;
  }

  size_t size() const { return total_; }

  // Copies up to n bytes from src into the sequence starting at byte `pos`.
  size_t CopyOut(size_t pos, const void* src, size_t n) const {
    return Transfer(pos, const_cast<void*>(src), n, /*out=*/true, fresh_);
  }
  // Copies up to n bytes from the sequence (starting at `pos`) into dst.
  // fresh_dst: dst is memory just allocated and not yet written (a new
  // page), likely out of the caches, where memcpy's `rep movsb` writes
  // whole lines without reading them first and is faster than base's
  // block loop (a copy-up of 1 MiB, page by page: 20% faster).
  size_t CopyIn(size_t pos, void* dst, size_t n, bool fresh_dst = false) const {
    return Transfer(pos, dst, n, /*out=*/false, fresh_dst);
  }
  // Writes n zero bytes at pos (for holes).
  size_t ZeroOut(size_t pos, size_t n) const;

  // The sequence limited to its first n bytes.
  IOSequence TakeFirst(size_t n) const;

 private:
  // fresh_dst: the destination side is fresh memory (see CopyIn).
  size_t Transfer(size_t pos, void* mem, size_t n, bool out,
                  bool fresh_dst) const;
  absl::InlinedVector<struct iovec, 2> segs_;
  size_t total_ = 0;
  bool fresh_ = false;  // the segments are fresh memory (IntoFresh)
};

inline size_t IOSequence::Transfer(size_t pos, void* mem, size_t n, bool out,
                                   bool fresh_dst) const {
  // A whole transfer that stays in the caches goes through base's block
  // loop; a bigger one, or one into fresh memory, streams better through
  // memcpy (see base/copy.h and CopyIn).
  const bool block = total_ <= base::kCopyBytesMax && !fresh_dst;
  size_t done = 0;
  char* m = static_cast<char*>(mem);
  for (const auto& s : segs_) {
    if (done == n) break;
    if (pos >= s.iov_len) {
      pos -= s.iov_len;
      continue;
    }
    size_t k = std::min(s.iov_len - pos, n - done);
    char* seg = static_cast<char*>(s.iov_base) + pos;
    void* to = out ? static_cast<void*>(seg) : m + done;
    const void* from = out ? static_cast<const void*>(m + done) : seg;
    if (block) {
      base::CopyBytes(to, from, k);
    } else {
      std::memcpy(to, from, k);
    }
    done += k;
    pos = 0;
  }
  return done;
}

inline size_t IOSequence::ZeroOut(size_t pos, size_t n) const {
  size_t done = 0;
  for (const auto& s : segs_) {
    if (done == n) break;
    if (pos >= s.iov_len) {
      pos -= s.iov_len;
      continue;
    }
    size_t k = std::min(s.iov_len - pos, n - done);
    std::memset(static_cast<char*>(s.iov_base) + pos, 0, k);
    done += k;
    pos = 0;
  }
  return done;
}

inline IOSequence IOSequence::TakeFirst(size_t n) const {
  IOSequence r;
  r.fresh_ = fresh_;
  for (const auto& s : segs_) {
    if (r.total_ >= n) break;
    r.Append(s.iov_base, std::min(s.iov_len, n - r.total_));
  }
  return r;
}

}  // namespace sentry::fs

#endif  // SENTRY_FS_IOSEQUENCE_H_
