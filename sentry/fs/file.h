// File: an open file description, and FileOperations, what it does.
//
// A File is what an FD points at: the path it was opened by (mount and
// dirent), its status flags, its offset, and the FileOperations of the
// object behind it. Several FDs (dup, fork) share one File and so one
// offset. The public methods do the VFS's part (the position lock, append,
// atime, inotify); FileOperations does the object's part.
//
// Ownership: FDs hold Files; a File holds its Mount and Dirent (and so its
// Inode). Thread-safe: the offset is guarded by pos_mu_ (Linux's
// f_pos_lock), held across a read or write so concurrent reads of one
// File do not interleave; flags are atomic.
#ifndef SENTRY_FS_FILE_H_
#define SENTRY_FS_FILE_H_

#include <atomic>
#include <memory>
#include <optional>

#include "base/errno.h"
#include "base/mutex.h"
#include "base/refcount.h"
#include "sentry/context/context.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/inode.h"
#include "sentry/fs/iosequence.h"

namespace sentry::fs {

class File;
class Mount;

class FileOperations {
 public:
  virtual ~FileOperations() = default;
  // pread semantics at offset (ignored by non-seekable objects). EINVAL by
  // default (EISDIR for directories).
  virtual ErrnoOr<size_t> Read(const Context& ctx, File& f,
                               const IOSequence& dst, uint64_t offset);
  // pwrite semantics; with append, writes at the end and reports where in
  // *offset_out.
  virtual ErrnoOr<size_t> Write(const Context& ctx, File& f,
                                const IOSequence& src, uint64_t offset,
                                bool append, uint64_t* offset_out);
  // Pipes, sockets and terminals are not seekable (ESPIPE).
  virtual bool Seekable() const { return true; }
  // An object with its own lseek(2) (devices whose offset stays at 0, as
  // null_lseek): the new offset, or nullopt for the generic rules.
  virtual std::optional<ErrnoOr<int64_t>> Seek(const Context& ctx, File& f,
                                               int64_t offset, int whence) {
    return std::nullopt;
  }
  // Emits entries from offset on; ENOTDIR by default.
  virtual Errno Readdir(const Context& ctx, File& f, uint64_t offset,
                        DirSink& sink);
  // ioctl(2); ENOTTY by default.
  virtual ErrnoOr<int64_t> Ioctl(const Context& ctx, File& f, uint64_t cmd,
                                 uintptr_t arg);
  virtual Errno Fsync(const Context& ctx, File& f);
  // The last reference to the File went.
  virtual void Release() {}
  // Whether pread/pwrite may use f without a reference, borrowed inside an
  // epoch guard (FDTable::Borrow): f's Read/Write never wait long (the
  // guard holds back all deferred freeing meanwhile) and its Release does
  // nothing, so a close racing the I/O changes nothing the I/O can see.
  // Only for ops whose Read is the inode's ReadAt (File::Pread calls that
  // directly for such a file).
  virtual bool BorrowableIO(const File& f) const { return false; }
};

// Reads and writes through the inode (regular files), iterates directories.
class InodeFileOperations : public FileOperations {
 public:
  ErrnoOr<size_t> Read(const Context& ctx, File& f, const IOSequence& dst,
                       uint64_t offset) override;
  ErrnoOr<size_t> Write(const Context& ctx, File& f, const IOSequence& src,
                        uint64_t offset, bool append,
                        uint64_t* offset_out) override;
  Errno Readdir(const Context& ctx, File& f, uint64_t offset,
                DirSink& sink) override;
  Errno Fsync(const Context& ctx, File& f) override;
  // The one instance every open shares (it has no state); a FileOpsPtr
  // to it never deletes it.
  static FileOpsPtr Shared();
  // If the inode's ReadAt/WriteAt never block (Inode::NonBlockingIO).
  bool BorrowableIO(const File& f) const override;
};

// file_remove_privs for a change of in's contents (a write, fallocate):
// drops S_ISUID, and S_ISGID with group-exec, unless the caller has
// CAP_FSETID. Regular files only; nothing to do is no error.
Errno RemovePrivsForWrite(const Context& ctx, Inode* in);

class File : public base::RefCounted<File> {
 public:
  // flags: the open(2) flags, less O_CREAT/O_EXCL/O_TRUNC/O_NOCTTY. mount
  // and dirent are never null (AnonymousPath gives non-files a Path).
  File(RefPtr<Mount> mount, RefPtr<Dirent> dirent, int flags, FileOpsPtr ops);
  ~File();

  Mount* mount() const { return mount_.get(); }
  Dirent* dirent() const { return dirent_.get(); }
  const RefPtr<Dirent>& dirent_ref() const { return dirent_; }
  const RefPtr<Mount>& mount_ref() const { return mount_; }
  Inode* inode() const { return dirent_->inode(); }
  FileOperations& ops() const { return *ops_; }

  int flags() const { return flags_.load(std::memory_order_relaxed); }
  // F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME change.
  void SetStatusFlags(int flags);
  bool readable() const;
  bool writable() const;
  bool is_path() const { return flags() & O_PATH; }
  // ops().Seekable(), asked once at open.
  bool seekable() const { return seekable_; }

  // read/write at and advancing the offset; EBADF if not open for it.
  ErrnoOr<size_t> Read(const Context& ctx, const IOSequence& dst);
  ErrnoOr<size_t> Write(const Context& ctx, const IOSequence& src);
  // pread/pwrite: ESPIPE on unseekable files, EINVAL for a negative offset.
  ErrnoOr<size_t> Pread(const Context& ctx, const IOSequence& dst,
                        int64_t offset);
  ErrnoOr<size_t> Pwrite(const Context& ctx, const IOSequence& src,
                         int64_t offset);
  // lseek(2): EINVAL for a bad whence or a negative result; ENXIO for
  // SEEK_DATA/SEEK_HOLE past the end.
  ErrnoOr<int64_t> Seek(const Context& ctx, int64_t offset, int whence);
  // getdents64 into buf; returns bytes written. EINVAL if buf cannot hold
  // one entry.
  ErrnoOr<size_t> Getdents64(const Context& ctx, char* buf, size_t size);

  int64_t offset() const ABSL_LOCKS_EXCLUDED(pos_mu_);
  // ops().BorrowableIO(*this), asked once at open.
  bool borrowable_io() const { return borrowable_io_; }

  void OnLastRef() const;

 private:
  ErrnoOr<size_t> WriteLocked(const Context& ctx, const IOSequence& src,
                              int64_t offset, bool use_file_offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pos_mu_);
  void AfterRead(const Context& ctx, bool notify);
  void AfterWrite(const Context& ctx);
  // Sends event to watches on the inode or its parent directory, if any.
  // Inline, as every read and write asks: an inode with watches makes
  // Inode::AnyWatched() true, so it alone says "none" for the common case.
  void NotifyIfWatched(uint32_t event) const {
    if (Inode::AnyWatched()) NotifyWatchers(event);
  }
  void NotifyWatchers(uint32_t event) const;

  base::LiveCounter<File> live_;
  const RefPtr<Mount> mount_;
  const RefPtr<Dirent> dirent_;
  std::atomic<int> flags_;
  // Set in the constructor; in the padding after flags_.
  bool borrowable_io_ = false;
  bool seekable_ = true;
  const FileOpsPtr ops_;
  mutable base::Mutex pos_mu_;
  int64_t offset_ ABSL_GUARDED_BY(pos_mu_) = 0;
};

}  // namespace sentry::fs

#endif  // SENTRY_FS_FILE_H_
