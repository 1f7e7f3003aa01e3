#include "sentry/fs/gofer/gofer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "p9/client.h"
#include "p9/messages.h"
#include "sentry/fs/file.h"
#include "sentry/fs/pipe.h"

namespace sentry::fs::gofer {

namespace {

using base::Errno;
using base::ErrnoOr;
using p9::Fid;
using p9::kNoFid;
using p9::Qid;

constexpr uint64_t kPage = 4096;
// Bytes fetched per page-cache miss.
constexpr uint64_t kReadAhead = 256 * 1024;
// Past this, an inode's page cache is dropped whole.
constexpr size_t kMaxCachedBytesPerInode = 64u << 20;
// V9FS_MAGIC, as Linux's 9p client reports in statfs.
constexpr int64_t kV9fsMagic = 0x01021997;
// Attributes a lookup just fetched serve the next GetAttr (the VFS's
// search-permission check or the stat itself) if it comes this soon.
constexpr absl::Duration kFreshAttrWindow = absl::Seconds(1);
// Linux's XATTR_SIZE_MAX and XATTR_LIST_MAX: bounds on a hostile reply.
constexpr uint64_t kXattrMax = 65536;
constexpr uint32_t kOpenRead = 0;   // O_RDONLY
constexpr uint32_t kOpenWrite = 1;  // O_WRONLY
constexpr uint32_t kOpenRdwr = 2;   // O_RDWR

// ---- A transport over two fds (rfdno != wfdno: pipes or two sockets).

class TwoFdTransport final : public p9::Transport {
 public:
  TwoFdTransport(p9::FileDescriptor r, p9::FileDescriptor w)
      : r_(std::move(r)), w_(std::move(w)), wake_(::eventfd(0, EFD_CLOEXEC)) {}

  base::Errno Send(std::span<const uint8_t> head, std::span<const uint8_t> tail,
                   int) override {
    base::MutexLock l(&send_mu_);
    struct iovec iov[2] = {{const_cast<uint8_t*>(head.data()), head.size()},
                           {const_cast<uint8_t*>(tail.data()), tail.size()}};
    int n = tail.empty() ? 1 : 2;
    struct iovec* v = iov;
    while (n > 0) {
      if (shut_.load()) return Errno(EPIPE);
      ssize_t k = ::writev(w_.get(), v, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        return Errno(errno);
      }
      size_t left = static_cast<size_t>(k);
      while (n > 0 && left >= v->iov_len) {
        left -= v->iov_len;
        ++v;
        --n;
      }
      if (n > 0) {
        v->iov_base = static_cast<uint8_t*>(v->iov_base) + left;
        v->iov_len -= left;
      }
    }
    return Errno();
  }

  base::Errno Recv(uint32_t max_size, std::vector<uint8_t>* msg,
                   p9::FileDescriptor*) override {
    uint8_t sz[4];
    RETURN_IF_ERRNO(ReadFull(sz, 4, /*at_start=*/true));
    uint32_t size = uint32_t{sz[0]} | uint32_t{sz[1]} << 8 |
                    uint32_t{sz[2]} << 16 | uint32_t{sz[3]} << 24;
    if (size < p9::kHeaderSize) return Errno(EPROTO);
    if (size > max_size) return Errno(EMSGSIZE);
    msg->resize(size);
    std::memcpy(msg->data(), sz, 4);
    return ReadFull(msg->data() + 4, size - 4, false);
  }

  void Shutdown() override {
    shut_.store(true);
    uint64_t one = 1;
    if (wake_.valid()) (void)!::write(wake_.get(), &one, sizeof(one));
  }
  bool CanPassFds() const override { return false; }

 private:
  base::Errno ReadFull(uint8_t* p, size_t n, bool at_start) {
    size_t done = 0;
    while (done < n) {
      if (shut_.load()) return Errno(EPIPE);
      struct pollfd pfd[2] = {{r_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      int pr = ::poll(pfd, wake_.valid() ? 2 : 1, -1);
      if (pr < 0) {
        if (errno == EINTR) continue;
        return Errno(errno);
      }
      if (wake_.valid() && pfd[1].revents) return Errno(EPIPE);
      ssize_t k = ::read(r_.get(), p + done, n - done);
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return Errno(errno);
      }
      if (k == 0) return Errno(at_start && done == 0 ? ECONNRESET : EPIPE);
      done += static_cast<size_t>(k);
    }
    return Errno();
  }

  p9::FileDescriptor r_, w_, wake_;
  std::atomic<bool> shut_{false};
  base::Mutex send_mu_;
};

// ---- Conversions.

linux_abi::Timespec Ts(uint64_t sec, uint64_t nsec) {
  linux_abi::Timespec t{};
  t.tv_sec = static_cast<int64_t>(std::min<uint64_t>(sec, INT64_MAX));
  t.tv_nsec = static_cast<int64_t>(nsec % 1000000000);
  return t;
}

int64_t Clamp64(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX));
}

UnstableAttr Convert(const p9::Attr& a) {
  UnstableAttr u;
  u.perms = a.mode & 07777;
  u.uid = a.uid;
  u.gid = a.gid;
  u.nlink = a.nlink;
  u.size = Clamp64(a.size);
  u.usage = a.blocks > (uint64_t{INT64_MAX} / 512) ? INT64_MAX
                                                   : Clamp64(a.blocks * 512);
  u.atime = Ts(a.atime_sec, a.atime_nsec);
  u.mtime = Ts(a.mtime_sec, a.mtime_nsec);
  u.ctime = Ts(a.ctime_sec, a.ctime_nsec);
  return u;
}

InodeType TypeFromQid(const Qid& q) {
  if (q.type & p9::kQidTypeDir) return InodeType::kDirectory;
  if (q.type & p9::kQidTypeSymlink) return InodeType::kSymlink;
  return InodeType::kRegular;
}

// The attr's type if it has a valid one, else the qid's.
InodeType TypeOf(const Qid& q, const p9::Attr* a) {
  if (a != nullptr && (a->valid & p9::kGetAttrMode)) {
    if (auto t = TypeFromMode(a->mode)) return *t;
  }
  return TypeFromQid(q);
}

bool ValidName(std::string_view n) {
  return !n.empty() && n != "." && n != ".." &&
         n.find('/') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos &&
         n.size() <= static_cast<size_t>(linux_abi::kNameMax);
}

class GoferMountSource;
class GoferInode;

// A fid on the server; clunked (in the background) when the last holder
// lets go, so a fid replaced under a concurrent user stays valid for it.
struct FidRef {
  GoferMountSource* ms;
  Fid fid;
  ~FidRef();
};
using FidPtr = std::shared_ptr<FidRef>;

// ---- The mounted instance.

class GoferMountSource final : public MountSource {
 public:
  GoferMountSource(const Filesystem* fs, MountSourceFlags flags,
                   CachePolicy policy, std::unique_ptr<p9::Client> client,
                   std::string options, uint32_t attach_uid)
      : MountSource(fs, flags, policy, "9p"),
        client_(std::move(client)),
        options_(std::move(options)),
        attach_uid_(attach_uid) {
    clunker_ = std::thread([this] { ClunkLoop(); });
  }

  ~GoferMountSource() override {
    {
      base::MutexLock l(&q_mu_);
      stop_ = true;
    }
    clunker_.join();
    client_.reset();
  }

  p9::Client& client() const { return *client_; }
  uint32_t attach_uid() const { return attach_uid_; }
  std::string OptionsString() const override { return options_; }

  FidPtr Own(Fid f) { return FidPtr(new FidRef{this, f}); }

  void AsyncClunk(Fid f) {
    base::MutexLock l(&q_mu_);
    queue_.push_back(f);
  }

  // The live inode for a QID path, if any.
  RefPtr<GoferInode> Find(uint64_t path);
  void Register(GoferInode* i, uint64_t path) {
    base::MutexLock l(&map_mu_);
    map_[path] = i;
  }
  void Unregister(GoferInode* i, uint64_t path) {
    base::MutexLock l(&map_mu_);
    auto it = map_.find(path);
    if (it != map_.end() && it->second == i) map_.erase(it);
  }

  // Bumped by renames of directories: every non-root fid walked before
  // may name the old path (diod keeps paths in fids) and is re-walked.
  std::atomic<uint64_t> rename_gen{0};

 private:
  void ClunkLoop() {
    for (;;) {
      std::vector<Fid> batch;
      {
        base::MutexLock l(&q_mu_);
        q_mu_.Await(absl::Condition(
            // Evaluated with q_mu_ held, which the analysis cannot see.
            +[](GoferMountSource* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return s->stop_ || !s->queue_.empty();
            },
            this));
        if (queue_.empty() && stop_) return;
        batch.assign(queue_.begin(), queue_.end());
        queue_.clear();
      }
      for (Fid f : batch) (void)client_->Clunk(f);
    }
  }

  std::unique_ptr<p9::Client> client_;
  const std::string options_;
  const uint32_t attach_uid_;
  base::Mutex map_mu_;
  absl::flat_hash_map<uint64_t, GoferInode*> map_ ABSL_GUARDED_BY(map_mu_);
  base::Mutex q_mu_;
  std::deque<Fid> queue_ ABSL_GUARDED_BY(q_mu_);
  bool stop_ ABSL_GUARDED_BY(q_mu_) = false;
  std::thread clunker_;
};

FidRef::~FidRef() {
  if (fid != kNoFid) ms->AsyncClunk(fid);
}

// ---- Inodes.

class GoferInode final : public Inode {
 public:
  GoferInode(RefPtr<GoferMountSource> ms, const StableAttr& sa, const Qid& qid,
             FidPtr fid, RefPtr<GoferInode> parent, std::string name)
      : Inode(ms, sa), ms_(ms.get()), qid_(qid), is_root_(parent == nullptr) {
    fid_ = std::move(fid);
    fid_gen_ = ms_->rename_gen.load();
    parent_ = std::move(parent);
    name_ = std::move(name);
    if (parent_) parent_->AddChildPtr(name_, this);
  }

  ~GoferInode() override {
    ms_->Unregister(this, qid_.path);
    if (parent_) parent_->DropChildPtr(this);
  }

  const Qid& qid() const { return qid_; }
  bool is_root() const { return is_root_; }
  CachePolicy policy() const { return ms_->cache_policy(); }
  p9::Client& client() const { return ms_->client(); }

  // Creates or finds the inode for a child fetched from the server.
  static RefPtr<GoferInode> InodeFor(GoferMountSource* ms, GoferInode* parent,
                                     std::string_view name, FidPtr fid,
                                     const Qid& qid, const p9::Attr* attr,
                                     std::optional<InodeType> type_hint = {});

  // ---- Inode.
  ErrnoOr<UnstableAttr> GetAttr(const Context& ctx) override;
  Errno SetAttr(const Context& ctx, const AttrChange& ch) override;
  ErrnoOr<RefPtr<Inode>> Lookup(const Context& ctx,
                                std::string_view name) override;
  ErrnoOr<std::vector<RefPtr<Inode>>> LookupChainWithAttrs(
      Fid dir, const std::vector<std::string>& names);
  ErrnoOr<std::vector<RefPtr<Inode>>> LookupChain(
      const Context& ctx, const std::vector<std::string_view>& names) override;
  ErrnoOr<RefPtr<Inode>> CreateChild(const Context& ctx, std::string_view name,
                                     const CreateSpec& spec) override;
  Errno Link(const Context& ctx, std::string_view name, Inode* target) override;
  Errno RemoveChild(const Context& ctx, std::string_view name,
                    bool dir) override;
  Errno Rename(const Context& ctx, std::string_view old_name, Inode* new_parent,
               std::string_view new_name, unsigned flags) override;
  Errno IterateDir(const Context& ctx, uint64_t offset, DirSink& sink) override;
  ErrnoOr<bool> HasChildren(const Context& ctx) override;
  ErrnoOr<size_t> ReadAt(const Context& ctx, const IOSequence& dst,
                         uint64_t offset) override;
  ErrnoOr<size_t> WriteAt(const Context& ctx, const IOSequence& src,
                          uint64_t offset, bool append,
                          uint64_t* offset_out) override;
  Errno Sync(const Context& ctx) override;
  ErrnoOr<std::string> Readlink(const Context& ctx) override;
  ErrnoOr<std::string> GetXattr(const Context& ctx,
                                std::string_view name) override;
  Errno SetXattr(const Context& ctx, std::string_view name,
                 std::string_view value, int flags) override;
  ErrnoOr<std::vector<std::string>> ListXattr(const Context& ctx) override;
  Errno RemoveXattr(const Context& ctx, std::string_view name) override;
  ErrnoOr<linux_abi::Statfs> StatFS(const Context& ctx) override;
  ErrnoOr<FileOpsPtr> Open(const Context& ctx, int flags) override;

  // ---- Internals.
  void UpdateAttr(const p9::Attr& a, bool fresh);
  void InvalidateAttr() {
    base::MutexLock l(&mu_);
    attr_valid_ = false;
  }
  // The fid naming this file (re-walked from the parent when stale).
  ErrnoOr<FidPtr> PathFid();

 private:
  struct Handle {
    FidPtr fid;
    std::shared_ptr<p9::FileDescriptor> host;
  };

  void AddChildPtr(const std::string& name, GoferInode* c) {
    base::MutexLock l(&mu_);
    children_.emplace_back(name, c);
  }
  void DropChildPtr(GoferInode* c) {
    base::MutexLock l(&mu_);
    for (auto it = children_.begin(); it != children_.end(); ++it) {
      if (it->second == c) {
        children_.erase(it);
        return;
      }
    }
  }
  // Live tracked children called name.
  std::vector<RefPtr<GoferInode>> ChildrenNamed(std::string_view name) {
    std::vector<RefPtr<GoferInode>> out;
    base::MutexLock l(&mu_);
    for (auto& [n, c] : children_) {
      if (n == name && c->TryIncRef())
        out.push_back(RefPtr<GoferInode>::Adopt(c));
    }
    return out;
  }
  // Gives this inode a new name (and, if fid is set, a fresh fid for it).
  void Repoint(RefPtr<GoferInode> parent, std::string_view name, FidPtr fid);
  // The name was removed: no re-walks from now on.
  void Orphan();

  // A fid to getattr/setattr through: an open handle if any (works for
  // unlinked files), else the path fid.
  ErrnoOr<FidPtr> AttrFid();
  // Opens (once) a handle of mode kOpenRead/kOpenWrite/kOpenRdwr.
  ErrnoOr<Handle> GetHandle(uint32_t mode, bool open_if_missing);
  Handle* SlotLocked(uint32_t mode) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return mode == kOpenRead ? &r_ : mode == kOpenWrite ? &w_ : &rw_;
  }
  ErrnoOr<Handle> ReadHandle();
  ErrnoOr<Handle> WriteHandle();

  ErrnoOr<size_t> ReadThrough(const Handle& h, const IOSequence& dst,
                              size_t dst_pos, uint64_t offset, size_t n);
  ErrnoOr<std::string> FetchRange(const Handle& h, uint64_t offset, size_t n);
  void DropPages();
  void DropPagesRange(uint64_t offset, uint64_t len);

  GoferMountSource* const ms_;
  const Qid qid_;
  const bool is_root_;

  mutable base::Mutex mu_;
  FidPtr fid_ ABSL_GUARDED_BY(mu_);
  uint64_t fid_gen_ ABSL_GUARDED_BY(mu_) = 0;
  bool fid_stale_ ABSL_GUARDED_BY(mu_) = false;
  RefPtr<GoferInode> parent_ ABSL_GUARDED_BY(mu_);
  std::string name_ ABSL_GUARDED_BY(mu_);
  bool orphaned_ ABSL_GUARDED_BY(mu_) = false;
  // A named pipe lives in the sandbox, as on gVisor: the gofer never opens
  // a fifo on the host. Made at the first open.
  RefPtr<Pipe> pipe_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, GoferInode*>> children_
      ABSL_GUARDED_BY(mu_);
  bool attr_valid_ ABSL_GUARDED_BY(mu_) = false;
  bool attr_fresh_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time attr_time_ ABSL_GUARDED_BY(mu_);
  p9::Attr attr_ ABSL_GUARDED_BY(mu_);
  Handle r_ ABSL_GUARDED_BY(mu_), w_ ABSL_GUARDED_BY(mu_),
      rw_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> link_ ABSL_GUARDED_BY(mu_);

  base::Mutex dir_mu_;  // serialises Treaddir on dir_fid_
  FidPtr dir_fid_ ABSL_GUARDED_BY(dir_mu_);

  base::Mutex cache_mu_;
  std::map<uint64_t, std::string> pages_ ABSL_GUARDED_BY(cache_mu_);
  size_t cached_bytes_ ABSL_GUARDED_BY(cache_mu_) = 0;
  uint64_t cache_gen_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

RefPtr<GoferInode> GoferMountSource::Find(uint64_t path) {
  base::MutexLock l(&map_mu_);
  auto it = map_.find(path);
  if (it == map_.end() || !it->second->TryIncRef()) return nullptr;
  return RefPtr<GoferInode>::Adopt(it->second);
}

StableAttr MakeStable(GoferMountSource* ms, InodeType type, const Qid& qid,
                      const p9::Attr* a) {
  StableAttr s;
  s.type = type;
  s.dev = ms->device();
  s.ino = qid.path;
  if (a != nullptr) {
    if (type == InodeType::kCharDevice || type == InodeType::kBlockDevice) {
      s.rdev = a->rdev;
    }
    if (a->blksize >= 512 && a->blksize <= (1u << 20) &&
        (a->blksize & (a->blksize - 1)) == 0) {
      s.block_size = static_cast<uint32_t>(a->blksize);
    }
  }
  return s;
}

RefPtr<GoferInode> GoferInode::InodeFor(GoferMountSource* ms,
                                        GoferInode* parent,
                                        std::string_view name, FidPtr fid,
                                        const Qid& qid, const p9::Attr* attr,
                                        std::optional<InodeType> type_hint) {
  InodeType type = type_hint ? *type_hint : TypeOf(qid, attr);
  if (RefPtr<GoferInode> old = ms->Find(qid.path)) {
    bool same_parent = false;
    {
      base::MutexLock l(&old->mu_);
      same_parent = old->parent_.get() == parent;
    }
    // Directories are reused only under the same parent, so a hostile
    // server cannot make the parent chain a cycle.
    if (old->type() == type && !old->is_root() &&
        (same_parent || type != InodeType::kDirectory)) {
      old->Repoint(RefPtr<GoferInode>(parent), name, std::move(fid));
      if (attr) old->UpdateAttr(*attr, /*fresh=*/true);
      return old;
    }
  }
  RefPtr<GoferInode> n = base::AdoptRef(new GoferInode(
      RefPtr<GoferMountSource>(ms), MakeStable(ms, type, qid, attr), qid,
      std::move(fid), RefPtr<GoferInode>(parent), std::string(name)));
  if (attr) n->UpdateAttr(*attr, /*fresh=*/true);
  ms->Register(n.get(), qid.path);
  return n;
}

void GoferInode::Repoint(RefPtr<GoferInode> parent, std::string_view name,
                         FidPtr fid) {
  RefPtr<GoferInode> old_parent;
  FidPtr old_fid;
  bool moved = false;
  {
    base::MutexLock l(&mu_);
    if (parent_ != parent || name_ != name) {
      old_parent = std::move(parent_);
      parent_ = parent;
      name_ = std::string(name);
      moved = true;
    }
    orphaned_ = false;
    if (fid) {
      old_fid = std::move(fid_);
      fid_ = std::move(fid);
      fid_gen_ = ms_->rename_gen.load();
      fid_stale_ = false;
    } else if (moved) {
      fid_stale_ = true;
    }
  }
  if (moved) {
    if (old_parent) old_parent->DropChildPtr(this);
    if (parent) parent->AddChildPtr(std::string(name), this);
  }
}

void GoferInode::Orphan() {
  RefPtr<GoferInode> old_parent;
  {
    base::MutexLock l(&mu_);
    orphaned_ = true;
    old_parent = parent_;  // kept: the dirent may still show its parent
  }
  if (old_parent) old_parent->DropChildPtr(this);
  {
    base::MutexLock l(&mu_);
    // Keep parent_ (harmless) but make sure the destructor's drop is a no-op.
  }
}

ErrnoOr<FidPtr> GoferInode::PathFid() {
  RefPtr<GoferInode> parent;
  std::string name;
  uint64_t gen = ms_->rename_gen.load();
  {
    base::MutexLock l(&mu_);
    if (fid_ && (is_root_ || orphaned_ || (!fid_stale_ && fid_gen_ == gen))) {
      return fid_;
    }
    if (orphaned_ || !parent_) return Errno(ENOENT);
    parent = parent_;
    name = name_;
  }
  ASSIGN_OR_RETURN(FidPtr pf, parent->PathFid());
  ASSIGN_OR_RETURN(p9::WalkResult w, client().Walk(pf->fid, {name}));
  FidPtr nf = ms_->Own(w.newfid);
  if (w.qids.size() != 1 || w.qids[0].path != qid_.path) {
    // The name now means another file: this one is gone from there.
    return Errno(ENOENT);
  }
  FidPtr old;
  base::MutexLock l(&mu_);
  if (parent_ == parent && name_ == name) {
    old = std::move(fid_);
    fid_ = nf;
    fid_gen_ = gen;
    fid_stale_ = false;
  }
  return nf;
}

ErrnoOr<FidPtr> GoferInode::AttrFid() {
  // diod resolves getattr through the fid's path even for open fids, so
  // the (re-walked) path fid comes first; an open handle serves files
  // whose name is gone.
  ErrnoOr<FidPtr> p = PathFid();
  if (p.ok()) return p;
  {
    base::MutexLock l(&mu_);
    for (Handle* h : {&rw_, &r_, &w_}) {
      if (h->fid) return h->fid;
    }
  }
  return p;
}

void GoferInode::UpdateAttr(const p9::Attr& a, bool fresh) {
  bool changed = false;
  {
    base::MutexLock l(&mu_);
    if (attr_valid_ &&
        (attr_.mtime_sec != a.mtime_sec || attr_.mtime_nsec != a.mtime_nsec ||
         attr_.size != a.size)) {
      changed = true;
    }
    attr_ = a;
    attr_valid_ = true;
    attr_fresh_ = fresh;
    attr_time_ = absl::Now();
  }
  if (changed && policy() != CachePolicy::kKeep) DropPages();
}

ErrnoOr<UnstableAttr> GoferInode::GetAttr(const Context&) {
  {
    base::MutexLock l(&mu_);
    if (attr_valid_ &&
        (policy() == CachePolicy::kKeep ||
         (attr_fresh_ && absl::Now() - attr_time_ < kFreshAttrWindow))) {
      attr_fresh_ = false;
      return Convert(attr_);
    }
  }
  ASSIGN_OR_RETURN(FidPtr f, AttrFid());
  ASSIGN_OR_RETURN(p9::Attr a, client().GetAttr(f->fid));
  UpdateAttr(a, /*fresh=*/false);
  return Convert(a);
}

Errno GoferInode::SetAttr(const Context&, const AttrChange& ch) {
  p9::SetAttr s;
  if (ch.size) {
    if (IsDir()) return Errno(EISDIR);
    if (!IsRegular()) return Errno(EINVAL);
    if (*ch.size < 0) return Errno(EINVAL);
    s.valid |= p9::kSetAttrSize;
    s.size = static_cast<uint64_t>(*ch.size);
  }
  if (ch.perms) {
    s.valid |= p9::kSetAttrMode;
    s.mode = *ch.perms & 07777;
  }
  if (ch.uid) {
    s.valid |= p9::kSetAttrUid;
    s.uid = *ch.uid;
  }
  if (ch.gid) {
    s.valid |= p9::kSetAttrGid;
    s.gid = *ch.gid;
  }
  if (ch.atime) {
    s.valid |= p9::kSetAttrAtime | p9::kSetAttrAtimeSet;
    s.atime_sec = static_cast<uint64_t>(ch.atime->tv_sec);
    s.atime_nsec = static_cast<uint64_t>(ch.atime->tv_nsec);
  }
  if (ch.mtime) {
    s.valid |= p9::kSetAttrMtime | p9::kSetAttrMtimeSet;
    s.mtime_sec = static_cast<uint64_t>(ch.mtime->tv_sec);
    s.mtime_nsec = static_cast<uint64_t>(ch.mtime->tv_nsec);
  }
  if (s.valid == 0) s.valid = p9::kSetAttrCtime;  // a bare ctime update
  ErrnoOr<FidPtr> f = PathFid();
  if (!f.ok()) f = AttrFid();
  if (!f.ok()) return f.error();
  Errno e = client().SetAttr((*f)->fid, s);
  InvalidateAttr();
  if (ch.size) DropPages();
  return e;
}

ErrnoOr<RefPtr<Inode>> GoferInode::Lookup(const Context&,
                                          std::string_view name) {
  if (!IsDir()) return Errno(ENOTDIR);
  if (!ValidName(name)) return Errno(ENOENT);
  ASSIGN_OR_RETURN(FidPtr d, PathFid());
  ASSIGN_OR_RETURN(p9::WalkGetAttrResult r,
                   client().WalkGetAttr(d->fid, {std::string(name)}));
  FidPtr nf = ms_->Own(r.newfid);
  if (r.qids.size() != 1) return Errno(EIO);
  return RefPtr<Inode>(
      InodeFor(ms_, this, name, std::move(nf), r.qids[0], &r.attr));
}

ErrnoOr<std::vector<RefPtr<Inode>>> GoferInode::LookupChain(
    const Context& ctx, const std::vector<std::string_view>& names) {
  std::vector<RefPtr<Inode>> out;
  if (!IsDir()) return Errno(ENOTDIR);
  const bool with_attrs = client().extension_level() >= 2;
  if (names.empty() || (names.size() == 1 && !with_attrs)) {
    return Inode::LookupChain(ctx, names);
  }
  const size_t n = std::min(names.size(), p9::kMaxWalkNames);
  p9::Twalk t;
  for (size_t i = 0; i < n; ++i) {
    if (!ValidName(names[i])) {
      if (i == 0) return Inode::LookupChain(ctx, names);
      break;
    }
    t.names.emplace_back(names[i]);
  }
  if (t.names.size() == 1 && !with_attrs) {
    return Inode::LookupChain(ctx, names);
  }
  ASSIGN_OR_RETURN(FidPtr d, PathFid());
  if (with_attrs) return LookupChainWithAttrs(d->fid, t.names);
  t.fid = d->fid;
  t.newfid = client().AllocateFid();
  ErrnoOr<p9::Response> resp = client().Rpc(t);
  if (!resp.ok()) {
    client().ReleaseFid(t.newfid);
    if (resp.error() == Errno(ENOENT)) return out;
    return resp.error();
  }
  const auto* rw = std::get_if<p9::Rwalk>(&resp->msg);
  if (rw == nullptr) {
    client().ReleaseFid(t.newfid);
    return Errno(EIO);
  }
  std::vector<Qid> qids = rw->qids;
  FidPtr last_fid;
  if (qids.size() == t.names.size()) {
    last_fid = ms_->Own(t.newfid);  // bound by a complete walk
  } else {
    client().ReleaseFid(t.newfid);
    if (qids.size() > t.names.size()) return Errno(EIO);
  }
  if (qids.empty()) return out;
  GoferInode* parent = this;
  RefPtr<GoferInode> hold;
  for (size_t i = 0; i < qids.size(); ++i) {
    const bool is_last = i + 1 == qids.size();
    const Qid& q = qids[i];
    const bool q_dir = q.type & p9::kQidTypeDir;
    const bool q_link = q.type & p9::kQidTypeSymlink;
    RefPtr<GoferInode> node;
    if (is_last && last_fid) {
      // The walk's own fid: one getattr gives the exact type and attrs
      // for the final stat.
      ErrnoOr<p9::Attr> a = client().GetAttr(last_fid->fid);
      if (!a.ok()) {
        if (out.empty()) return a.error();
        break;
      }
      node = InodeFor(ms_, parent, t.names[i], last_fid, q, &*a);
    } else if (q_dir || q_link) {
      // Walked through (or a symlink the chain stops at): the type is
      // the qid's; fid and attrs come on first use.
      node = InodeFor(ms_, parent, t.names[i], nullptr, q, nullptr,
                      q_dir ? InodeType::kDirectory : InodeType::kSymlink);
    } else {
      // A non-directory the walk stopped at: its exact type needs attrs.
      ErrnoOr<FidPtr> pf = parent->PathFid();
      if (!pf.ok()) break;
      ErrnoOr<p9::WalkGetAttrResult> r =
          client().WalkGetAttr((*pf)->fid, {t.names[i]});
      if (!r.ok() || r->qids.size() != 1) {
        if (r.ok()) ms_->AsyncClunk(r->newfid);
        if (out.empty() && !r.ok() && r.error() != Errno(ENOENT)) {
          return r.error();
        }
        break;
      }
      node = InodeFor(ms_, parent, t.names[i], ms_->Own(r->newfid), r->qids[0],
                      &r->attr);
    }
    out.push_back(node);
    hold = node;
    parent = node.get();
    // Stop after anything that is not a directory (whatever the server
    // claims about the rest of the walk).
    if (!node->IsDir()) break;
  }
  return out;
}

// One Twalkstat: every element comes with its attributes, so neither the
// VFS's search-permission checks nor the final stat cost a round trip.
ErrnoOr<std::vector<RefPtr<Inode>>> GoferInode::LookupChainWithAttrs(
    Fid dir, const std::vector<std::string>& names) {
  std::vector<RefPtr<Inode>> out;
  ErrnoOr<p9::WalkStatResult> r = client().WalkStat(dir, names);
  if (!r.ok()) {
    if (r.error() == Errno(ENOENT)) return out;
    return r.error();
  }
  FidPtr last_fid;
  if (r->newfid != kNoFid) last_fid = ms_->Own(r->newfid);
  // This directory's own attributes came too: they serve the search
  // check the resolver makes on it once the walk is back.
  if (r->dir.qid.path == qid_.path) UpdateAttr(r->dir, /*fresh=*/true);
  GoferInode* parent = this;
  RefPtr<GoferInode> hold;
  for (size_t i = 0; i < r->attrs.size(); ++i) {
    const p9::Attr& a = r->attrs[i];
    const bool is_last = i + 1 == r->attrs.size();
    RefPtr<GoferInode> node = InodeFor(ms_, parent, names[i],
                                       is_last ? last_fid : nullptr, a.qid, &a);
    out.push_back(node);
    hold = node;
    parent = node.get();
    // Stop after anything that is not a directory (whatever the server
    // claims about the rest of the walk).
    if (!node->IsDir()) break;
  }
  return out;
}

ErrnoOr<RefPtr<Inode>> GoferInode::CreateChild(const Context&,
                                               std::string_view name,
                                               const CreateSpec& spec) {
  if (!IsDir()) return Errno(ENOTDIR);
  if (!ValidName(name)) return Errno(EINVAL);
  std::optional<InodeType> type = TypeFromMode(spec.mode);
  if (!type) return Errno(EINVAL);
  const uint32_t perms = spec.mode & 07777;
  ASSIGN_OR_RETURN(FidPtr d, PathFid());
  p9::Client& c = client();
  const std::string nm(name);
  RefPtr<GoferInode> child;
  Qid qid;
  bool need_chown = spec.uid != ms_->attach_uid();
  switch (*type) {
    case InodeType::kRegular: {
      ASSIGN_OR_RETURN(p9::WalkResult w, c.Walk(d->fid, {}));
      FidPtr open = ms_->Own(w.newfid);
      const uint32_t flags = kOpenRdwr | O_CREAT | O_EXCL;
      ErrnoOr<p9::OpenResult> r =
          need_chown ? c.UCreate(w.newfid, nm, flags, perms, spec.uid, spec.gid)
                     : c.Lcreate(w.newfid, nm, flags, perms, spec.gid);
      if (!r.ok()) return r.error();
      need_chown = false;
      qid = r->qid;
      child =
          InodeFor(ms_, this, name, nullptr, qid, nullptr, InodeType::kRegular);
      base::MutexLock l(&child->mu_);
      if (!child->rw_.fid) {
        child->rw_.fid = std::move(open);
        if (r->host_fd.valid()) {
          child->rw_.host =
              std::make_shared<p9::FileDescriptor>(std::move(r->host_fd));
        }
      }
      break;
    }
    case InodeType::kDirectory: {
      ASSIGN_OR_RETURN(qid, c.Mkdir(d->fid, nm, perms, spec.gid));
      break;
    }
    case InodeType::kSymlink: {
      ASSIGN_OR_RETURN(
          qid,
          c.Symlink(d->fid, nm, std::string(spec.symlink_target), spec.gid));
      break;
    }
    default: {
      const uint32_t major = static_cast<uint32_t>(::major(spec.rdev));
      const uint32_t minor = static_cast<uint32_t>(::minor(spec.rdev));
      ASSIGN_OR_RETURN(qid,
                       c.Mknod(d->fid, nm, spec.mode, major, minor, spec.gid));
      break;
    }
  }
  InvalidateAttr();  // mtime, nlink
  if (!child) {
    // Type from the request, never from the (untrusted) qid.
    StableAttr sa = MakeStable(ms_, *type, qid, nullptr);
    if (*type == InodeType::kCharDevice || *type == InodeType::kBlockDevice) {
      sa.rdev = spec.rdev;
    }
    child = base::AdoptRef(new GoferInode(RefPtr<GoferMountSource>(ms_), sa,
                                          qid, nullptr, RefPtr(this), nm));
    ms_->Register(child.get(), qid.path);
  }
  if (*type == InodeType::kSymlink) {
    base::MutexLock l(&child->mu_);
    child->link_ = std::string(spec.symlink_target);
  }
  if (need_chown) {
    p9::SetAttr s;
    s.valid = p9::kSetAttrUid | p9::kSetAttrGid;
    s.uid = spec.uid;
    s.gid = spec.gid;
    ErrnoOr<FidPtr> f = child->PathFid();
    if (f.ok()) (void)c.SetAttr((*f)->fid, s);
  }
  return RefPtr<Inode>(std::move(child));
}

Errno GoferInode::Link(const Context&, std::string_view name, Inode* target) {
  if (!IsDir()) return Errno(ENOTDIR);
  auto* t = dynamic_cast<GoferInode*>(target);
  if (t == nullptr || t->ms_ != ms_) return Errno(EXDEV);
  if (!ValidName(name)) return Errno(EINVAL);
  ASSIGN_OR_RETURN(FidPtr d, PathFid());
  ASSIGN_OR_RETURN(FidPtr tf, t->PathFid());
  RETURN_IF_ERRNO(client().Link(d->fid, tf->fid, std::string(name)));
  t->InvalidateAttr();
  InvalidateAttr();
  return Errno();
}

Errno GoferInode::RemoveChild(const Context&, std::string_view name, bool dir) {
  if (!IsDir()) return Errno(ENOTDIR);
  if (!ValidName(name)) return Errno(ENOENT);
  ASSIGN_OR_RETURN(FidPtr d, PathFid());
  RETURN_IF_ERRNO(client().Unlinkat(d->fid, std::string(name),
                                    dir ? p9::kUnlinkRemoveDir : 0));
  for (auto& c : ChildrenNamed(name)) {
    c->Orphan();
    c->InvalidateAttr();
  }
  InvalidateAttr();
  return Errno();
}

Errno GoferInode::Rename(const Context&, std::string_view old_name,
                         Inode* new_parent, std::string_view new_name,
                         unsigned flags) {
  flags &= ~kRenameHintMask;
  auto* np = dynamic_cast<GoferInode*>(new_parent);
  if (np == nullptr || np->ms_ != ms_) return Errno(EXDEV);
  if (!IsDir() || !np->IsDir()) return Errno(ENOTDIR);
  if (!ValidName(old_name) || !ValidName(new_name)) return Errno(EINVAL);
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return Errno(EINVAL);
  ASSIGN_OR_RETURN(FidPtr od, PathFid());
  ASSIGN_OR_RETURN(FidPtr nd, np->PathFid());
  if (flags & RENAME_NOREPLACE) {
    // 9P has no RENAME_NOREPLACE: check first (racy against other
    // clients of the server, exact against this one, which holds the
    // VFS rename lock).
    ErrnoOr<p9::WalkResult> w = client().Walk(nd->fid, {std::string(new_name)});
    if (w.ok()) {
      ms_->AsyncClunk(w->newfid);
      return Errno(EEXIST);
    }
    if (w.error() != Errno(ENOENT)) return w.error();
  }
  auto movers = ChildrenNamed(old_name);
  auto victims = np->ChildrenNamed(new_name);
  RETURN_IF_ERRNO(client().Renameat(od->fid, std::string(old_name), nd->fid,
                                    std::string(new_name)));
  bool moved_dir = false;
  for (auto& v : victims) {
    bool also_mover = false;
    for (auto& m : movers) also_mover |= m == v;
    if (!also_mover) {
      v->Orphan();
      v->InvalidateAttr();
    }
  }
  for (auto& m : movers) {
    m->Repoint(RefPtr<GoferInode>(np), new_name, nullptr);
    m->InvalidateAttr();
    moved_dir |= m->IsDir();
  }
  // A directory we do not track may have moved too; and tracked
  // descendants of a moved directory hold fids naming old paths.
  if (moved_dir || movers.empty()) ms_->rename_gen.fetch_add(1);
  InvalidateAttr();
  np->InvalidateAttr();
  return Errno();
}

Errno GoferInode::IterateDir(const Context&, uint64_t offset, DirSink& sink) {
  if (!IsDir()) return Errno(ENOTDIR);
  if (offset == 0) {
    if (!sink.Add(DirEntry{".", stable_attr().ino, DT_DIR, 1})) return Errno();
    offset = 1;
  }
  if (offset == 1) {
    uint64_t pino = stable_attr().ino;
    {
      base::MutexLock l(&mu_);
      if (parent_) pino = parent_->stable_attr().ino;
    }
    if (!sink.Add(DirEntry{"..", pino, DT_DIR, 2})) return Errno();
    offset = 2;
  }
  // Our offsets >= 2 are the server's cookies + 2.
  uint64_t soff = offset - 2;
  base::MutexLock l(&dir_mu_);
  if (!dir_fid_ || (soff == 0 && policy() != CachePolicy::kKeep)) {
    // A fresh handle at the start of a listing, so the server rereads a
    // directory others may have changed.
    dir_fid_.reset();
    ASSIGN_OR_RETURN(FidPtr pf, PathFid());
    ASSIGN_OR_RETURN(p9::WalkResult w, client().Walk(pf->fid, {}));
    FidPtr h = ms_->Own(w.newfid);
    RETURN_IF_ERRNO(client().Lopen(w.newfid, kOpenRead));
    dir_fid_ = std::move(h);
  }
  for (int rounds = 0; rounds < (1 << 20); ++rounds) {
    ASSIGN_OR_RETURN(std::vector<p9::Dirent> ents,
                     client().Readdir(dir_fid_->fid, soff));
    if (ents.empty()) return Errno();
    const uint64_t before = soff;
    bool added = false;
    for (const p9::Dirent& e : ents) {
      const uint64_t next = e.offset;
      if (e.name == "." || e.name == ".." || !ValidName(e.name) ||
          next > UINT64_MAX - 2) {
        soff = next;
        continue;
      }
      if (!sink.Add(DirEntry{e.name, e.qid.path, e.type, next + 2})) {
        return Errno();
      }
      added = true;
      soff = next;
    }
    if (soff == before) return Errno(EIO);  // a server going round in place
    // A batch with nothing to report (only "." and "..") must not look
    // like the end: ask for the next.
    if (added && sink.ShortBatchOk()) return Errno();
  }
  return Errno(EIO);
}

ErrnoOr<bool> GoferInode::HasChildren(const Context& ctx) {
  class First : public DirSink {
   public:
    bool Add(const DirEntry&) override {
      found = true;
      return false;
    }
    bool found = false;
  } sink;
  RETURN_IF_ERRNO(IterateDir(ctx, 2, sink));
  return sink.found;
}

ErrnoOr<GoferInode::Handle> GoferInode::GetHandle(uint32_t mode,
                                                  bool open_if_missing) {
  {
    base::MutexLock l(&mu_);
    if (rw_.fid) return rw_;
    if (mode != kOpenRdwr && SlotLocked(mode)->fid) return *SlotLocked(mode);
  }
  if (!open_if_missing) return Errno(EBADF);
  ASSIGN_OR_RETURN(FidPtr pf, PathFid());
  ASSIGN_OR_RETURN(p9::WalkResult w, client().Walk(pf->fid, {}));
  FidPtr h = ms_->Own(w.newfid);
  ASSIGN_OR_RETURN(p9::OpenResult o, client().Lopen(w.newfid, mode));
  base::MutexLock l(&mu_);
  Handle* slot = SlotLocked(mode);
  if (!slot->fid) {
    slot->fid = std::move(h);
    if (o.host_fd.valid()) {
      slot->host = std::make_shared<p9::FileDescriptor>(std::move(o.host_fd));
    }
  }
  return *slot;
}

ErrnoOr<GoferInode::Handle> GoferInode::ReadHandle() {
  {
    base::MutexLock l(&mu_);
    if (rw_.fid) return rw_;
    if (r_.fid) return r_;
  }
  return GetHandle(kOpenRead, true);
}

ErrnoOr<GoferInode::Handle> GoferInode::WriteHandle() {
  {
    base::MutexLock l(&mu_);
    if (rw_.fid) return rw_;
    if (w_.fid) return w_;
  }
  return GetHandle(kOpenWrite, true);
}

ErrnoOr<FileOpsPtr> GoferInode::Open(const Context& ctx, int flags) {
  if (!(flags & O_PATH) && type() == InodeType::kFifo) {
    RefPtr<Pipe> p;
    {
      base::MutexLock l(&mu_);
      if (!pipe_) pipe_ = base::MakeRef<Pipe>();
      p = pipe_;
    }
    return p->Open(ctx, flags);
  }
  if (!(flags & O_PATH) && IsRegular()) {
    const int acc = flags & O_ACCMODE;
    const uint32_t mode = acc == O_WRONLY ? kOpenWrite
                          : acc == O_RDWR ? kOpenRdwr
                                          : kOpenRead;
    RETURN_IF_ERRNO(GetHandle(mode, true));
    // Close-to-open consistency where others may write.
    if (policy() != CachePolicy::kKeep) DropPages();
  }
  return Inode::Open(ctx, flags);
}

ErrnoOr<std::string> GoferInode::FetchRange(const Handle& h, uint64_t offset,
                                            size_t n) {
  std::string buf(n, '\0');
  size_t done = 0;
  const size_t max = std::max<size_t>(client().max_io_size(), 1);
  while (done < n) {
    size_t want = std::min(n - done, max);
    size_t got;
    if (h.host) {
      ssize_t k = ::pread(h.host->get(), buf.data() + done, want,
                          static_cast<off_t>(offset + done));
      if (k < 0) {
        if (errno == EINTR) continue;
        if (done > 0) break;
        return Errno(errno);
      }
      got = static_cast<size_t>(k);
    } else {
      ErrnoOr<size_t> k = client().Read(
          h.fid->fid, offset + done,
          std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data() + done),
                             want));
      if (!k.ok()) {
        if (done > 0) break;
        return k.error();
      }
      got = std::min(*k, want);  // never trust a count past the buffer
    }
    done += got;
    if (got < want) break;
  }
  buf.resize(done);
  return buf;
}

ErrnoOr<size_t> GoferInode::ReadThrough(const Handle& h, const IOSequence& dst,
                                        size_t dst_pos, uint64_t offset,
                                        size_t n) {
  ASSIGN_OR_RETURN(std::string data, FetchRange(h, offset, n));
  return dst.CopyOut(dst_pos, data.data(), data.size());
}

void GoferInode::DropPages() {
  base::MutexLock l(&cache_mu_);
  pages_.clear();
  cached_bytes_ = 0;
  ++cache_gen_;
}

void GoferInode::DropPagesRange(uint64_t offset, uint64_t len) {
  base::MutexLock l(&cache_mu_);
  ++cache_gen_;
  const uint64_t first = offset / kPage;
  const uint64_t last = (offset + len + kPage - 1) / kPage;
  for (auto it = pages_.begin(); it != pages_.end();) {
    // Short pages mark the old end of file, which a write may move.
    if ((it->first >= first && it->first < last) || it->second.size() < kPage) {
      cached_bytes_ -= it->second.size();
      it = pages_.erase(it);
    } else {
      ++it;
    }
  }
}

ErrnoOr<size_t> GoferInode::ReadAt(const Context&, const IOSequence& dst,
                                   uint64_t offset) {
  if (IsDir()) return Errno(EISDIR);
  if (!IsRegular()) return Errno(EINVAL);
  const size_t want = dst.size();
  if (want == 0) return size_t{0};
  ASSIGN_OR_RETURN(Handle h, ReadHandle());
  if (h.host || policy() == CachePolicy::kNone) {
    return ReadThrough(h, dst, 0, offset, want);
  }
  size_t done = 0;
  while (done < want) {
    const uint64_t pos = offset + done;
    const uint64_t idx = pos / kPage;
    const size_t in = pos % kPage;
    std::string page;
    bool found = false;
    uint64_t gen;
    {
      base::MutexLock l(&cache_mu_);
      auto it = pages_.find(idx);
      if (it != pages_.end()) {
        page = it->second;
        found = true;
      }
      gen = cache_gen_;
    }
    if (!found) {
      // Read ahead: the rest of this request, at least kReadAhead.
      const uint64_t need = in + (want - done);
      const size_t span = static_cast<size_t>(
          std::max<uint64_t>(kReadAhead, (need + kPage - 1) / kPage * kPage));
      ErrnoOr<std::string> data = FetchRange(h, idx * kPage, span);
      if (!data.ok()) {
        if (done > 0) break;
        return data.error();
      }
      base::MutexLock l(&cache_mu_);
      const bool insert = gen == cache_gen_;
      // Full pages, then (if the read came up short) the partial last
      // page, possibly empty, which marks end of file.
      const bool short_read = data->size() < span;
      const size_t npages = data->size() / kPage + (short_read ? 1 : 0);
      for (size_t p = 0; p < npages; ++p) {
        std::string pg = data->substr(std::min(data->size(), p * kPage), kPage);
        if (p == 0) page = pg;
        if (insert && !pages_.count(idx + p)) {
          cached_bytes_ += pg.size();
          pages_.emplace(idx + p, std::move(pg));
        }
      }
      if (cached_bytes_ > kMaxCachedBytesPerInode) {
        pages_.clear();
        cached_bytes_ = 0;
        ++cache_gen_;
      }
    }
    if (in >= page.size()) break;  // EOF
    size_t n = std::min(page.size() - in, want - done);
    dst.CopyOut(done, page.data() + in, n);
    done += n;
    if (page.size() < kPage) break;
  }
  return done;
}

ErrnoOr<size_t> GoferInode::WriteAt(const Context& ctx, const IOSequence& src,
                                    uint64_t offset, bool append,
                                    uint64_t* offset_out) {
  if (IsDir()) return Errno(EISDIR);
  if (!IsRegular()) return Errno(EINVAL);
  ASSIGN_OR_RETURN(Handle h, WriteHandle());
  if (append) {
    ASSIGN_OR_RETURN(p9::Attr a, client().GetAttr(h.fid->fid));
    UpdateAttr(a, false);
    offset = a.size;
  }
  if (offset_out) *offset_out = offset;
  size_t len = src.size();
  if (len == 0) return size_t{0};
  const uint64_t limit = ctx.file_size_limit();
  if (offset >= limit) return Errno(EFBIG);
  len = static_cast<size_t>(std::min<uint64_t>(len, limit - offset));
  const size_t max = std::max<size_t>(client().max_io_size(), 1);
  std::vector<uint8_t> buf(std::min(len, max));
  size_t done = 0;
  Errno err;
  while (done < len) {
    size_t chunk = std::min(len - done, max);
    src.CopyIn(done, buf.data(), chunk);
    size_t wrote;
    if (h.host) {
      ssize_t k = ::pwrite(h.host->get(), buf.data(), chunk,
                           static_cast<off_t>(offset + done));
      if (k < 0) {
        if (errno == EINTR) continue;
        err = Errno(errno);
        break;
      }
      wrote = static_cast<size_t>(k);
    } else {
      ErrnoOr<size_t> k =
          client().Write(h.fid->fid, offset + done,
                         std::span<const uint8_t>(buf.data(), chunk));
      if (!k.ok()) {
        err = k.error();
        break;
      }
      wrote = std::min(*k, chunk);
    }
    if (wrote == 0) {
      err = Errno(EIO);
      break;
    }
    done += wrote;
    if (wrote < chunk) break;
  }
  DropPagesRange(offset, done);
  InvalidateAttr();
  if (done == 0 && !err.ok()) return err;
  return done;
}

Errno GoferInode::Sync(const Context&) {
  Handle h;
  {
    base::MutexLock l(&mu_);
    h = rw_.fid ? rw_ : w_.fid ? w_ : r_;
  }
  if (!h.fid) return Errno();
  return client().Fsync(h.fid->fid);
}

ErrnoOr<std::string> GoferInode::Readlink(const Context&) {
  if (!IsSymlink()) return Errno(EINVAL);
  if (policy() == CachePolicy::kKeep) {
    base::MutexLock l(&mu_);
    if (link_) return *link_;
  }
  ASSIGN_OR_RETURN(FidPtr f, PathFid());
  ASSIGN_OR_RETURN(std::string t, client().Readlink(f->fid));
  if (t.size() >= static_cast<size_t>(linux_abi::kPathMax)) {
    return Errno(ENAMETOOLONG);
  }
  base::MutexLock l(&mu_);
  link_ = t;
  return t;
}

ErrnoOr<std::string> GoferInode::GetXattr(const Context&,
                                          std::string_view name) {
  ASSIGN_OR_RETURN(FidPtr f, AttrFid());
  ASSIGN_OR_RETURN(p9::XattrWalkResult w,
                   client().Xattrwalk(f->fid, std::string(name)));
  FidPtr x = ms_->Own(w.newfid);
  if (w.size > kXattrMax) return Errno(E2BIG);
  Handle h{x, nullptr};
  ASSIGN_OR_RETURN(std::string v, FetchRange(h, 0, w.size));
  return v;
}

ErrnoOr<std::vector<std::string>> GoferInode::ListXattr(const Context& ctx) {
  ASSIGN_OR_RETURN(FidPtr f, AttrFid());
  ASSIGN_OR_RETURN(p9::XattrWalkResult w, client().Xattrwalk(f->fid, ""));
  FidPtr x = ms_->Own(w.newfid);
  if (w.size > kXattrMax) return Errno(E2BIG);
  Handle h{x, nullptr};
  ASSIGN_OR_RETURN(std::string v, FetchRange(h, 0, w.size));
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\0') {
      if (i > start) out.emplace_back(v.substr(start, i - start));
      start = i + 1;
    }
  }
  if (start < v.size()) out.emplace_back(v.substr(start));
  return out;
}

Errno GoferInode::SetXattr(const Context&, std::string_view name,
                           std::string_view value, int flags) {
  if (value.size() > kXattrMax) return Errno(E2BIG);
  ASSIGN_OR_RETURN(FidPtr f, PathFid());
  ASSIGN_OR_RETURN(p9::WalkResult w, client().Walk(f->fid, {}));
  Errno e = client().Xattrcreate(w.newfid, std::string(name), value.size(),
                                 static_cast<uint32_t>(flags));
  if (!e.ok()) {
    ms_->AsyncClunk(w.newfid);
    return e;
  }
  size_t done = 0;
  while (done < value.size()) {
    ErrnoOr<size_t> k = client().Write(
        w.newfid, done,
        std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(value.data()) + done,
            value.size() - done));
    if (!k.ok() || *k == 0) {
      ms_->AsyncClunk(w.newfid);
      return k.ok() ? Errno(EIO) : k.error();
    }
    done += std::min(*k, value.size() - done);
  }
  // The server applies the attribute when the fid is clunked.
  return client().Clunk(w.newfid);
}

Errno GoferInode::RemoveXattr(const Context& ctx, std::string_view name) {
  // 9P2000.L removes with a zero-length Txattrcreate.
  ASSIGN_OR_RETURN(std::string cur, GetXattr(ctx, name));  // ENODATA
  (void)cur;
  return SetXattr(ctx, name, "", 0);
}

ErrnoOr<linux_abi::Statfs> GoferInode::StatFS(const Context&) {
  ASSIGN_OR_RETURN(FidPtr f, AttrFid());
  ASSIGN_OR_RETURN(p9::StatFs s, client().Statfs(f->fid));
  linux_abi::Statfs o{};
  o.f_type = kV9fsMagic;
  o.f_bsize = s.bsize;
  o.f_blocks = s.blocks;
  o.f_bfree = s.bfree;
  o.f_bavail = s.bavail;
  o.f_files = s.files;
  o.f_ffree = s.ffree;
  o.f_fsid[0] = static_cast<int32_t>(s.fsid & 0xffffffff);
  o.f_fsid[1] = static_cast<int32_t>(s.fsid >> 32);
  o.f_namelen = s.namelen ? s.namelen : linux_abi::kNameMax;
  o.f_frsize = s.bsize;
  return o;
}

// ---- Options.

ErrnoOr<int> ParseFd(std::string_view v) {
  int n = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 10);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty() || n < 0) {
    return Errno(EINVAL);
  }
  return n;
}

std::string PolicyName(CachePolicy p) {
  switch (p) {
    case CachePolicy::kKeep:
      return "fscache";
    case CachePolicy::kRevalidate:
      return "remote_revalidating";
    case CachePolicy::kNone:
      return "none";
  }
  return "none";
}

}  // namespace

ErrnoOr<MountOptions> ParseOptions(std::string_view data) {
  MountOptions o;
  bool trans_fd = false;
  while (!data.empty()) {
    size_t comma = data.find(',');
    std::string_view opt = data.substr(0, comma);
    data = comma == std::string_view::npos ? std::string_view()
                                           : data.substr(comma + 1);
    if (opt.empty()) continue;
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view val =
        eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
    if (eq == std::string_view::npos) return Errno(EINVAL);
    if (key == "trans") {
      if (val != "fd") return Errno(EINVAL);
      trans_fd = true;
    } else if (key == "rfdno") {
      ASSIGN_OR_RETURN(o.rfd, ParseFd(val));
    } else if (key == "wfdno") {
      ASSIGN_OR_RETURN(o.wfd, ParseFd(val));
    } else if (key == "privateunixsocket") {
      if (val == "true") {
        o.private_unix_socket = true;
      } else if (val == "false") {
        o.private_unix_socket = false;
      } else {
        return Errno(EINVAL);
      }
    } else if (key == "cache") {
      if (val == "remote_revalidating") {
        o.policy = CachePolicy::kRevalidate;
      } else if (val == "fscache") {
        o.policy = CachePolicy::kKeep;
      } else if (val == "none") {
        o.policy = CachePolicy::kNone;
      } else {
        return Errno(EINVAL);
      }
    } else if (key == "aname") {
      if (val.empty()) return Errno(EINVAL);
      o.aname = std::string(val);
    } else if (key == "version") {
      if (absl::AsciiStrToLower(std::string(val)) != "9p2000.l") {
        return Errno(EINVAL);
      }
    } else if (key == "msize") {
      ASSIGN_OR_RETURN(int m, ParseFd(val));
      if (static_cast<uint32_t>(m) < p9::kMinMsize ||
          static_cast<uint32_t>(m) > p9::kMaxMsize) {
        return Errno(EINVAL);
      }
      o.msize = static_cast<uint32_t>(m);
    } else {
      return Errno(EINVAL);
    }
  }
  if (!trans_fd || o.rfd < 0 || o.wfd < 0) return Errno(EINVAL);
  return o;
}

ErrnoOr<RefPtr<Inode>> MountOverTransport(
    const Context&, std::unique_ptr<p9::Transport> transport,
    const MountOptions& opts, MountSourceFlags flags, const Filesystem* fs) {
  p9::Client::Options co;
  if (opts.msize) co.msize = opts.msize;
  co.use_extensions = opts.use_extensions;
  // A server breaking the protocol is an I/O error to applications.
  co.protocol_errno = EIO;
  ErrnoOr<std::unique_ptr<p9::Client>> c =
      p9::Client::Connect(std::move(transport), co);
  if (!c.ok()) return Errno(EIO);
  const uint32_t uid = ::geteuid();
  const std::string uname = uid == 0 ? "root" : std::to_string(uid);
  ASSIGN_OR_RETURN(p9::AttachResult a, (*c)->Attach(uname, opts.aname, uid));
  ErrnoOr<p9::Attr> attr = (*c)->GetAttr(a.fid);
  if (!attr.ok()) return attr.error();
  if (TypeOf(a.qid, &*attr) != InodeType::kDirectory) return Errno(ENOTDIR);
  std::string optstr = absl::StrCat("trans=fd,cache=", PolicyName(opts.policy),
                                    ",aname=", opts.aname);
  auto ms = base::AdoptRef(new GoferMountSource(
      fs, flags, opts.policy, std::move(*c), std::move(optstr), uid));
  FidPtr root = ms->Own(a.fid);
  auto* inode = new GoferInode(
      ms, MakeStable(ms.get(), InodeType::kDirectory, a.qid, &*attr), a.qid,
      std::move(root), nullptr, "");
  RefPtr<GoferInode> r = base::AdoptRef(inode);
  r->UpdateAttr(*attr, false);
  ms->Register(r.get(), a.qid.path);
  return RefPtr<Inode>(std::move(r));
}

ErrnoOr<RefPtr<Inode>> GoferFilesystem::Mount(const Context& ctx,
                                              std::string_view,
                                              const MountSourceFlags& flags,
                                              std::string_view data) const {
  ASSIGN_OR_RETURN(MountOptions o, ParseOptions(data));
  std::unique_ptr<p9::Transport> t;
  if (o.rfd == o.wfd) {
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (::getsockopt(o.rfd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
      return Errno(errno == ENOTSOCK ? EINVAL : EBADF);
    }
    int fd = ::fcntl(o.rfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return Errno(EBADF);
    t = std::make_unique<p9::SocketTransport>(p9::FileDescriptor(fd),
                                              domain == AF_UNIX);
  } else {
    int r = ::fcntl(o.rfd, F_DUPFD_CLOEXEC, 0);
    if (r < 0) return Errno(EBADF);
    p9::FileDescriptor rf(r);
    int w = ::fcntl(o.wfd, F_DUPFD_CLOEXEC, 0);
    if (w < 0) return Errno(EBADF);
    t = std::make_unique<TwoFdTransport>(std::move(rf), p9::FileDescriptor(w));
  }
  return MountOverTransport(ctx, std::move(t), o, flags, this);
}

namespace {
Registrar<GoferFilesystem> registrar;
}  // namespace

}  // namespace sentry::fs::gofer
