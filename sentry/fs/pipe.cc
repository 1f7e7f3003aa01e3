#include "sentry/fs/pipe.h"

#include <chrono>

namespace sentry::fs {

class PipeFile : public FileOperations {
 public:
  PipeFile(RefPtr<Pipe> p, bool r, bool w) : p_(std::move(p)), r_(r), w_(w) {}
  bool Seekable() const override { return false; }
  // pipefifo_fops has no fsync: vfs_fsync_range says EINVAL.
  Errno Fsync(const Context&, File&) override { return Errno(EINVAL); }

  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t) override {
    // pipe_read: a read of nothing returns 0 at once, not EAGAIN or a wait.
    if (dst.size() == 0) return size_t{0};
    std::unique_lock<std::mutex> l(p_->mu_);
    while (p_->buf_.empty()) {
      if (p_->writers_ == 0) return size_t{0};
      if (f.flags() & O_NONBLOCK) return Errno(EAGAIN);
      if (ctx.interrupted()->load()) return Errno(EINTR);
      p_->cv_.wait_for(l, std::chrono::milliseconds(10));
    }
    size_t n = std::min(dst.size(), p_->buf_.size());
    for (size_t i = 0; i < n; ++i) {
      char c = p_->buf_.front();
      p_->buf_.pop_front();
      dst.CopyOut(i, &c, 1);
    }
    p_->cv_.notify_all();
    return n;
  }

  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t, bool, uint64_t*) override {
    std::unique_lock<std::mutex> l(p_->mu_);
    size_t done = 0;
    while (done < src.size()) {
      if (p_->readers_ == 0) {
        if (done) return done;
        return Errno(EPIPE);
      }
      size_t room = Pipe::kCapacity - p_->buf_.size();
      if (room == 0) {
        if (f.flags() & O_NONBLOCK) {
          if (done) return done;
          return Errno(EAGAIN);
        }
        if (ctx.interrupted()->load()) {
          if (done) return done;
          return Errno(EINTR);
        }
        p_->cv_.wait_for(l, std::chrono::milliseconds(10));
        continue;
      }
      size_t k = std::min(room, src.size() - done);
      for (size_t i = 0; i < k; ++i) {
        char c = 0;  // CopyIn fills it (the sequence holds done + k bytes)
        src.CopyIn(done + i, &c, 1);
        p_->buf_.push_back(c);
      }
      done += k;
      p_->cv_.notify_all();
    }
    return done;
  }

  void Release() override {
    std::lock_guard<std::mutex> l(p_->mu_);
    if (r_) --p_->readers_;
    if (w_) --p_->writers_;
    if (p_->readers_ == 0 && p_->writers_ == 0) p_->buf_.clear();
    p_->cv_.notify_all();
  }

 private:
  RefPtr<Pipe> p_;
  const bool r_, w_;
};

ErrnoOr<FileOpsPtr> Pipe::Open(const Context& ctx, int flags) {
  const int acc = flags & O_ACCMODE;
  const bool r = acc == O_RDONLY || acc == O_RDWR;
  const bool w = acc == O_WRONLY || acc == O_RDWR;
  std::unique_lock<std::mutex> l(mu_);
  if (w && !r && readers_ == 0 && (flags & O_NONBLOCK)) return Errno(ENXIO);
  if (r) {
    ++readers_;
    ++reader_opens_;
  }
  if (w) {
    ++writers_;
    ++writer_opens_;
  }
  cv_.notify_all();
  if (!(flags & O_NONBLOCK) && !(r && w)) {
    // Wait for the other end to be opened.
    uint64_t seen = r ? writer_opens_ : reader_opens_;
    while ((r ? writers_ == 0 && writer_opens_ == seen
              : readers_ == 0 && reader_opens_ == seen)) {
      if (ctx.interrupted()->load()) {
        if (r) --readers_;
        if (w) --writers_;
        return Errno(EINTR);
      }
      cv_.wait_for(l, std::chrono::milliseconds(10));
    }
  }
  return FileOpsPtr(new PipeFile(RefPtr<Pipe>(this), r, w));
}

}  // namespace sentry::fs
