#include "p9/client.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "p9/await.h"

namespace p9 {
namespace {

using base::Errno;
using base::ErrnoOr;

// Largest errno an Rlerror may carry; anything else is a hostile reply.
// The highest errno Linux defines (EHWPOISON): 9P2000.L's Rlerror carries
// Linux errnos, so anything above is a server's invention.
constexpr uint32_t kMaxErrno = 133;
// Tags 0..kMaxTag are allocated; kNoTag is reserved for Tversion.
constexpr uint32_t kMaxTag = kNoTag - 1;

bool Interrupted(Errno e) { return e == Errno(EINTR) || e == Errno(ETIMEDOUT); }

}  // namespace

// ---------------------------------------------------------------------------
// Canceller.

void Canceller::Cancel() {
  base::MutexLock l(&mu_);
  if (cancelled_) return;
  cancelled_ = true;
  if (fn_) {
    fn_();
    fn_ = nullptr;
  }
}

bool Canceller::cancelled() const {
  base::MutexLock l(&mu_);
  return cancelled_;
}

bool Canceller::Register(std::function<void()> fn) {
  base::MutexLock l(&mu_);
  if (cancelled_) return false;
  fn_ = std::move(fn);
  return true;
}

void Canceller::Unregister() {
  base::MutexLock l(&mu_);
  fn_ = nullptr;
}

// ---------------------------------------------------------------------------
// Construction and lifetime.

Client::Client(std::unique_ptr<Transport> transport, Options options)
    : transport_(std::move(transport)),
      options_(options),
      msize_(std::clamp(options.msize, kMinMsize, kMaxMsize)),
      recv_limit_(std::clamp(options.msize, kMinMsize, kMaxMsize)) {
  reader_ = std::thread([this] { ReaderLoop(); });
}

std::unique_ptr<Client> Client::Create(std::unique_ptr<Transport> transport,
                                       Options options) {
  return std::unique_ptr<Client>(new Client(std::move(transport), options));
}

ErrnoOr<std::unique_ptr<Client>> Client::Connect(
    std::unique_ptr<Transport> transport, Options options) {
  std::unique_ptr<Client> c = Create(std::move(transport), options);
  RETURN_IF_ERRNO(c->Version());
  return c;
}

Client::~Client() {
  Close();
  if (reader_.joinable()) reader_.join();
}

void Client::Close() {
  {
    base::MutexLock l(&mu_);
    FailAllLocked();
  }
  transport_->Shutdown();
}

bool Client::dead() const {
  base::MutexLock l(&mu_);
  return dead_;
}

std::string Client::version() const {
  base::MutexLock l(&mu_);
  return version_;
}

void Client::FailAllLocked() {
  dead_ = true;
  for (auto& [tag, p] : pending_) {
    if (!p->done) {
      p->done = true;
      p->err = Errno(EIO);
    }
  }
}

// ---------------------------------------------------------------------------
// Fids.

Fid Client::AllocateFid() {
  base::MutexLock l(&fid_mu_);
  if (!free_fids_.empty()) {
    Fid f = free_fids_.back();
    free_fids_.pop_back();
    return f;
  }
  Fid f = next_fid_++;
  if (next_fid_ == kNoFid) next_fid_ = 0;  // Wrap; 4 billion fids later.
  return f;
}

void Client::ReleaseFid(Fid fid) {
  if (fid == kNoFid) return;
  base::MutexLock l(&fid_mu_);
  free_fids_.push_back(fid);
}

void Client::ReleaseFidAfter(Fid fid, Errno err) {
  // If the call was flushed without a reply the server's view of the fid is
  // unknown: leak the number rather than risk reusing a live fid.
  if (!Interrupted(err)) ReleaseFid(fid);
}

// ---------------------------------------------------------------------------
// The reader thread.

void Client::ReaderLoop() {
  for (;;) {
    std::vector<uint8_t> buf;
    FileDescriptor fd;
    const uint32_t limit = recv_limit_.load();
    Errno e = transport_->Recv(limit, &buf, &fd);
    // The limit may have shrunk (Rversion) while Recv was blocked.
    const uint32_t msize = recv_limit_.load();
    if (e.ok() && buf.size() > msize) e = Errno(EMSGSIZE);
    ErrnoOr<Header> h = e.ok() ? DecodeHeader(buf) : ErrnoOr<Header>(e);
    ErrnoOr<Decoded> d =
        h.ok() ? Decode(buf, msize) : ErrnoOr<Decoded>(h.error());
    base::MutexLock l(&mu_);
    if (!h.ok() || dead_) {
      FailAllLocked();
      break;
    }
    auto it = pending_.find(h->tag);
    if (it == pending_.end() || it->second->done) {
      // A reply nobody asked for: the stream cannot be trusted.
      FailAllLocked();
      break;
    }
    Pending* p = it->second;
    p->done = true;
    if (!d.ok()) {
      p->err = ProtocolError();
      continue;
    }
    p->resp.msg = std::move(d->msg);
    // Moving the vector keeps its heap block, so Payload views stay valid.
    p->resp.buffer = std::move(buf);
    p->resp.fd = std::move(fd);
  }
  // Wake anything blocked in the transport too.
  transport_->Shutdown();
}

// ---------------------------------------------------------------------------
// Calls.

ErrnoOr<Tag> Client::RegisterLocked(Pending* p, bool version) {
  Tag tag;
  if (version) {
    if (pending_.contains(kNoTag)) return Errno(EBUSY);
    tag = kNoTag;
  } else {
    auto can_go = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return dead_ || (inflight_ < options_.max_inflight &&
                       (!free_tags_.empty() || next_tag_ <= kMaxTag));
    };
    Await(&mu_, can_go);
    if (dead_) return Errno(EIO);
    if (!free_tags_.empty()) {
      tag = free_tags_.back();
      free_tags_.pop_back();
    } else {
      tag = static_cast<Tag>(next_tag_++);
    }
  }
  ++inflight_;
  pending_[tag] = p;
  return tag;
}

void Client::UnregisterLocked(Tag tag) {
  pending_.erase(tag);
  --inflight_;
  if (tag != kNoTag) free_tags_.push_back(tag);
}

Errno Client::SendRequest(Tag tag, const Message& request) {
  std::vector<uint8_t> head;
  std::span<const uint8_t> tail;
  const uint32_t limit =
      TypeOf(request) == MsgType::kTversion ? kMaxMsize : msize_.load();
  RETURN_IF_ERRNO(Encode(tag, request, limit, &head, &tail));
  Errno e = transport_->Send(head, tail);
  // A failed send leaves the stream in an unknown state.
  if (!e.ok()) return Errno(EIO);
  return Errno::Ok();
}

void Client::FlushLocked(Tag tag, Pending* p) {
  if (tag == kNoTag) {
    // Tversion cannot be flushed; the connection is unusable.
    FailAllLocked();
    transport_->Shutdown();
    return;
  }
  Pending fp;
  ErrnoOr<Tag> ftag = RegisterLocked(&fp, false);
  if (!ftag.ok()) return;  // Dead: p is completed with EIO.
  mu_.Unlock();
  Errno e = SendRequest(*ftag, Tflush{tag});
  mu_.Lock();
  if (!e.ok()) {
    FailAllLocked();
    transport_->Shutdown();
  }
  auto flushed = [&fp]() { return fp.done; };
  if (!AwaitWithTimeout(&mu_, flushed, options_.flush_timeout)) {
    // No Rflush: the server is hung. Kill the connection.
    FailAllLocked();
    transport_->Shutdown();
  }
  UnregisterLocked(*ftag);
  if (!p->done) {
    p->done = true;
    p->err = Errno(p->cancel ? EINTR : ETIMEDOUT);
  }
}

ErrnoOr<Response> Client::Finish(Pending* p, MsgType request_type) {
  if (!p->err.ok()) return p->err;
  const MsgType got = TypeOf(p->resp.msg);
  if (got == MsgType::kRlerror) {
    uint32_t ecode = std::get<Rlerror>(p->resp.msg).ecode;
    if (ecode == 0 || ecode > kMaxErrno) return ProtocolError();
    return Errno(static_cast<int>(ecode));
  }
  if (got != ReplyTypeFor(request_type)) return ProtocolError();
  return std::move(p->resp);
}

ErrnoOr<Response> Client::Rpc(const Message& request, const CallOptions& opts) {
  const MsgType type = TypeOf(request);
  const bool is_version = type == MsgType::kTversion;
  if (opts.canceller != nullptr && opts.canceller->cancelled()) {
    return Errno(EINTR);
  }
  Pending p;
  Tag tag;
  {
    base::MutexLock l(&mu_);
    if (dead_) return Errno(EIO);
    ASSIGN_OR_RETURN(tag, RegisterLocked(&p, is_version));
  }
  Errno e = SendRequest(tag, request);
  if (!e.ok()) {
    base::MutexLock l(&mu_);
    UnregisterLocked(tag);
    if (e == Errno(EIO)) {
      FailAllLocked();
      transport_->Shutdown();
    }
    return e;
  }
  bool registered = false;
  if (opts.canceller != nullptr) {
    registered = opts.canceller->Register([this, &p] {
      base::MutexLock l(&mu_);
      p.cancel = true;
    });
    if (!registered) {
      base::MutexLock l(&mu_);
      p.cancel = true;
    }
  }
  const absl::Duration timeout = opts.timeout != absl::ZeroDuration()
                                     ? opts.timeout
                                     : options_.call_timeout;
  bool completed;
  {
    base::MutexLock l(&mu_);
    auto ready = [&p]() { return p.done || p.cancel; };
    AwaitWithTimeout(&mu_, ready, timeout);
    completed = p.done;
  }
  if (registered) opts.canceller->Unregister();
  base::MutexLock l(&mu_);
  if (!completed && !p.done) FlushLocked(tag, &p);
  UnregisterLocked(tag);
  return Finish(&p, type);
}

template <typename R>
ErrnoOr<R> Client::Call(const Message& request, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Response r, Rpc(request, opts));
  return std::get<R>(std::move(r.msg));
}

// ---------------------------------------------------------------------------
// Version negotiation.

Errno Client::Version() {
  const uint32_t want = std::clamp(options_.msize, kMinMsize, kMaxMsize);
  recv_limit_.store(want);
  std::vector<std::pair<std::string, int>> proposals;
  if (options_.use_extensions) {
    proposals.emplace_back(ExtendedVersionString(kExtensionLevel),
                           kExtensionLevel);
  }
  proposals.emplace_back(std::string(kVersion9P2000L), 0);
  Errno last = Errno(EPROTO);
  for (const auto& [proposal, proposed_level] : proposals) {
    ErrnoOr<Rversion> r = Call<Rversion>(Tversion{want, proposal}, {});
    if (!r.ok()) {
      // An Rlerror (diod's answer to a dialect it does not know) means try
      // the next proposal; a dead connection does not.
      if (dead()) return Errno(EIO);
      last = r.error();
      continue;
    }
    if (r->version == kVersionUnknown) {
      last = Errno(EPROTO);
      continue;
    }
    ParsedVersion pv = ParseVersion(r->version);
    if (!pv.ok || pv.level > proposed_level) return Errno(EPROTO);
    if (pv.level == 0 && r->version != kVersion9P2000L) return Errno(EPROTO);
    if (r->msize < kMinMsize || r->msize > want) return Errno(EPROTO);
    msize_.store(r->msize);
    recv_limit_.store(r->msize);
    level_.store(pv.level);
    base::MutexLock l(&mu_);
    version_ = r->version;
    return Errno::Ok();
  }
  return last;
}

// ---------------------------------------------------------------------------
// Typed operations.

ErrnoOr<Qid> Client::Auth(Fid afid, const std::string& uname,
                          const std::string& aname, uint32_t n_uname,
                          const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rauth r,
                   Call<Rauth>(Tauth{afid, uname, aname, n_uname}, opts));
  return r.aqid;
}

ErrnoOr<AttachResult> Client::Attach(const std::string& uname,
                                     const std::string& aname, uint32_t n_uname,
                                     Fid afid, const CallOptions& opts) {
  Fid fid = AllocateFid();
  ErrnoOr<Rattach> r =
      Call<Rattach>(Tattach{fid, afid, uname, aname, n_uname}, opts);
  if (!r.ok()) {
    ReleaseFidAfter(fid, r.error());
    return r.error();
  }
  return AttachResult{fid, r->qid};
}

ErrnoOr<WalkResult> Client::Walk(Fid fid, const std::vector<std::string>& names,
                                 const CallOptions& opts) {
  const Fid newfid = AllocateFid();
  WalkResult result;
  result.newfid = newfid;
  size_t done = 0;
  bool created = false;
  do {
    const size_t n = std::min(kMaxWalkNames, names.size() - done);
    Twalk t;
    t.fid = created ? newfid : fid;
    t.newfid = newfid;
    t.names.assign(names.begin() + done, names.begin() + done + n);
    ErrnoOr<Rwalk> r = Call<Rwalk>(t, opts);
    Errno err;
    if (!r.ok()) {
      err = r.error();
    } else if (r->qids.size() > n) {
      err = ProtocolError();
    } else if (r->qids.size() < n) {
      err = Errno(ENOENT);  // Stopped short: newfid was not (re)bound.
    }
    if (!err.ok()) {
      if (created) {
        (void)Clunk(newfid);
      } else {
        ReleaseFidAfter(newfid, err);
      }
      return err;
    }
    created = true;
    result.qids.insert(result.qids.end(), r->qids.begin(), r->qids.end());
    done += n;
  } while (done < names.size());
  return result;
}

ErrnoOr<WalkGetAttrResult> Client::WalkGetAttr(
    Fid fid, const std::vector<std::string>& names, const CallOptions& opts) {
  if (extension_level() >= 1 && names.size() <= kMaxWalkNames) {
    const Fid newfid = AllocateFid();
    ErrnoOr<Rwalkgetattr> r =
        Call<Rwalkgetattr>(Twalkgetattr{fid, newfid, names}, opts);
    Errno err;
    if (!r.ok()) {
      err = r.error();
    } else if (r->qids.size() > names.size()) {
      err = ProtocolError();
    } else if (r->qids.size() < names.size()) {
      err = Errno(ENOENT);
    }
    if (!err.ok()) {
      ReleaseFidAfter(newfid, err);
      return err;
    }
    return WalkGetAttrResult{newfid, std::move(r->qids), r->attr};
  }
  ASSIGN_OR_RETURN(WalkResult w, Walk(fid, names, opts));
  ErrnoOr<Attr> a = GetAttr(w.newfid, kGetAttrAll, opts);
  if (!a.ok()) {
    (void)Clunk(w.newfid);
    return a.error();
  }
  return WalkGetAttrResult{w.newfid, std::move(w.qids), *a};
}

ErrnoOr<WalkStatResult> Client::WalkStat(Fid fid,
                                         const std::vector<std::string>& names,
                                         const CallOptions& opts) {
  if (names.size() > kMaxWalkNames) return Errno(EINVAL);
  WalkStatResult result;
  if (extension_level() >= 2) {
    const Fid newfid = AllocateFid();
    ErrnoOr<Rwalkstat> r = Call<Rwalkstat>(Twalkstat{fid, newfid, names}, opts);
    if (!r.ok()) {
      ReleaseFidAfter(newfid, r.error());
      return r.error();
    }
    if (r->attrs.size() > names.size() ||
        (r->attrs.empty() && !names.empty())) {
      // More elements than names, or a "success" that walked nothing: a
      // confused server. Whether it bound newfid is unknown; leak it.
      return ProtocolError();
    }
    if (r->attrs.size() == names.size()) {
      result.newfid = newfid;
    } else {
      ReleaseFid(newfid);
    }
    result.dir = r->dir;
    result.attrs = std::move(r->attrs);
    return result;
  }
  // Element by element, each from the previous one's fid.
  ASSIGN_OR_RETURN(result.dir, GetAttr(fid, kGetAttrAll, opts));
  Fid cur = fid;
  for (size_t i = 0; i < names.size() || (names.empty() && i == 0); ++i) {
    std::vector<std::string> one;
    if (!names.empty()) one.push_back(names[i]);
    ErrnoOr<WalkGetAttrResult> r = WalkGetAttr(cur, one, opts);
    if (cur != fid) (void)Clunk(cur, opts);
    cur = fid;
    if (!r.ok()) {
      if (result.attrs.empty()) return r.error();
      return result;
    }
    cur = r->newfid;
    if (!names.empty()) result.attrs.push_back(r->attr);
  }
  result.newfid = cur;
  return result;
}

ErrnoOr<Attr> Client::GetAttr(Fid fid, uint64_t mask, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rgetattr r, Call<Rgetattr>(Tgetattr{fid, mask}, opts));
  return r.attr;
}

Errno Client::SetAttr(Fid fid, const p9::SetAttr& attr,
                      const CallOptions& opts) {
  return Call<Rsetattr>(Tsetattr{fid, attr}, opts).error();
}

ErrnoOr<OpenResult> Client::Lopen(Fid fid, uint32_t flags,
                                  const CallOptions& opts) {
  ASSIGN_OR_RETURN(Response r, Rpc(Tlopen{fid, flags}, opts));
  const auto& m = std::get<Rlopen>(r.msg);
  OpenResult o;
  o.qid = m.qid;
  o.iounit = m.iounit;
  o.host_fd = std::move(r.fd);
  return o;
}

ErrnoOr<OpenResult> Client::Lcreate(Fid fid, const std::string& name,
                                    uint32_t flags, uint32_t mode, uint32_t gid,
                                    const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rlcreate r,
                   Call<Rlcreate>(Tlcreate{fid, name, flags, mode, gid}, opts));
  OpenResult o;
  o.qid = r.qid;
  o.iounit = r.iounit;
  return o;
}

ErrnoOr<OpenResult> Client::UCreate(Fid fid, const std::string& name,
                                    uint32_t flags, uint32_t mode, uint32_t uid,
                                    uint32_t gid, const CallOptions& opts) {
  if (extension_level() >= 1) {
    ASSIGN_OR_RETURN(
        Rucreate r,
        Call<Rucreate>(Tucreate{fid, name, flags, mode, uid, gid}, opts));
    OpenResult o;
    o.qid = r.qid;
    o.iounit = r.iounit;
    return o;
  }
  ASSIGN_OR_RETURN(OpenResult o, Lcreate(fid, name, flags, mode, gid, opts));
  p9::SetAttr sa;
  sa.valid = kSetAttrUid | kSetAttrGid;
  sa.uid = uid;
  sa.gid = gid;
  RETURN_IF_ERRNO(SetAttr(fid, sa, opts));
  return o;
}

ErrnoOr<size_t> Client::Read(Fid fid, uint64_t offset, std::span<uint8_t> buf,
                             const CallOptions& opts) {
  const uint32_t count =
      static_cast<uint32_t>(std::min<size_t>(buf.size(), max_io_size()));
  ASSIGN_OR_RETURN(Response r, Rpc(Tread{fid, offset, count}, opts));
  const auto& data = std::get<Rread>(r.msg).data.data;
  if (data.size() > count) return ProtocolError();
  if (!data.empty()) std::memcpy(buf.data(), data.data(), data.size());
  return data.size();
}

ErrnoOr<size_t> Client::Write(Fid fid, uint64_t offset,
                              std::span<const uint8_t> data,
                              const CallOptions& opts) {
  const size_t count = std::min<size_t>(data.size(), max_io_size());
  ASSIGN_OR_RETURN(
      Rwrite r,
      Call<Rwrite>(Twrite{fid, offset, Payload{data.first(count)}}, opts));
  if (r.count > count) return ProtocolError();
  return r.count;
}

ErrnoOr<std::vector<Dirent>> Client::Readdir(Fid fid, uint64_t offset,
                                             uint32_t count,
                                             const CallOptions& opts) {
  const uint32_t max = max_io_size();
  if (count == 0 || count > max) count = max;
  ASSIGN_OR_RETURN(Rreaddir r,
                   Call<Rreaddir>(Treaddir{fid, offset, count}, opts));
  return std::move(r.entries);
}

ErrnoOr<Qid> Client::Mkdir(Fid dfid, const std::string& name, uint32_t mode,
                           uint32_t gid, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rmkdir r, Call<Rmkdir>(Tmkdir{dfid, name, mode, gid}, opts));
  return r.qid;
}

ErrnoOr<Qid> Client::Symlink(Fid dfid, const std::string& name,
                             const std::string& target, uint32_t gid,
                             const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rsymlink r,
                   Call<Rsymlink>(Tsymlink{dfid, name, target, gid}, opts));
  return r.qid;
}

ErrnoOr<Qid> Client::Mknod(Fid dfid, const std::string& name, uint32_t mode,
                           uint32_t major, uint32_t minor, uint32_t gid,
                           const CallOptions& opts) {
  ASSIGN_OR_RETURN(
      Rmknod r,
      Call<Rmknod>(Tmknod{dfid, name, mode, major, minor, gid}, opts));
  return r.qid;
}

Errno Client::Link(Fid dfid, Fid fid, const std::string& name,
                   const CallOptions& opts) {
  return Call<Rlink>(Tlink{dfid, fid, name}, opts).error();
}

Errno Client::Rename(Fid fid, Fid dfid, const std::string& name,
                     const CallOptions& opts) {
  return Call<Rrename>(Trename{fid, dfid, name}, opts).error();
}

Errno Client::Renameat(Fid olddirfid, const std::string& oldname, Fid newdirfid,
                       const std::string& newname, const CallOptions& opts) {
  if (!no_renameat_.load()) {
    Errno e =
        Call<Rrenameat>(Trenameat{olddirfid, oldname, newdirfid, newname}, opts)
            .error();
    if (e != Errno(EOPNOTSUPP) && e != Errno(ENOSYS)) return e;
    // Older servers (diod 1.0) lack Trenameat, as the Linux client knows:
    // fall back to Trename of a fid for the old name, from now on.
    no_renameat_.store(true);
  }
  ASSIGN_OR_RETURN(WalkResult w, Walk(olddirfid, {oldname}, opts));
  Errno e = Rename(w.newfid, newdirfid, newname, opts);
  Errno c = Clunk(w.newfid, opts);
  return !e.ok() ? e : c;
}

Errno Client::Unlinkat(Fid dirfid, const std::string& name, uint32_t flags,
                       const CallOptions& opts) {
  if (!no_unlinkat_.load()) {
    Errno e = Call<Runlinkat>(Tunlinkat{dirfid, name, flags}, opts).error();
    if (e != Errno(EOPNOTSUPP) && e != Errno(ENOSYS)) return e;
    no_unlinkat_.store(true);  // As for Renameat: fall back to Tremove.
  }
  ASSIGN_OR_RETURN(WalkResult w, Walk(dirfid, {name}, opts));
  const bool is_dir = (w.qids.back().type & kQidTypeDir) != 0;
  const bool rmdir = (flags & kUnlinkRemoveDir) != 0;
  if (is_dir != rmdir) {
    (void)Clunk(w.newfid, opts);
    return Errno(rmdir ? ENOTDIR : EISDIR);
  }
  return Remove(w.newfid, opts);  // Tremove clunks the fid too.
}

ErrnoOr<std::string> Client::Readlink(Fid fid, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rreadlink r, Call<Rreadlink>(Treadlink{fid}, opts));
  return std::move(r.target);
}

ErrnoOr<StatFs> Client::Statfs(Fid fid, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rstatfs r, Call<Rstatfs>(Tstatfs{fid}, opts));
  return r.statfs;
}

Errno Client::Fsync(Fid fid, bool datasync, const CallOptions& opts) {
  return Call<Rfsync>(Tfsync{fid, datasync ? 1u : 0u}, opts).error();
}

ErrnoOr<uint8_t> Client::Lock(const Tlock& lock, const CallOptions& opts) {
  ASSIGN_OR_RETURN(Rlock r, Call<Rlock>(lock, opts));
  return r.status;
}

ErrnoOr<Rgetlock> Client::GetLock(const Tgetlock& getlock,
                                  const CallOptions& opts) {
  return Call<Rgetlock>(getlock, opts);
}

ErrnoOr<XattrWalkResult> Client::Xattrwalk(Fid fid, const std::string& name,
                                           const CallOptions& opts) {
  const Fid newfid = AllocateFid();
  ErrnoOr<Rxattrwalk> r = Call<Rxattrwalk>(Txattrwalk{fid, newfid, name}, opts);
  if (!r.ok()) {
    ReleaseFidAfter(newfid, r.error());
    return r.error();
  }
  return XattrWalkResult{newfid, r->size};
}

Errno Client::Xattrcreate(Fid fid, const std::string& name, uint64_t size,
                          uint32_t flags, const CallOptions& opts) {
  return Call<Rxattrcreate>(Txattrcreate{fid, name, size, flags}, opts).error();
}

Errno Client::Clunk(Fid fid, const CallOptions& opts) {
  Errno e = Call<Rclunk>(Tclunk{fid}, opts).error();
  ReleaseFidAfter(fid, e);
  return e;
}

Errno Client::Remove(Fid fid, const CallOptions& opts) {
  Errno e = Call<Rremove>(Tremove{fid}, opts).error();
  ReleaseFidAfter(fid, e);
  return e;
}

Errno Client::FsyncClunk(Fid fid, bool datasync, const CallOptions& opts) {
  if (extension_level() >= 1) {
    Errno e =
        Call<Rfsyncclunk>(Tfsyncclunk{fid, datasync ? 1u : 0u}, opts).error();
    ReleaseFidAfter(fid, e);
    return e;
  }
  Errno sync = Fsync(fid, datasync, opts);
  Errno clunk = Clunk(fid, opts);
  return !sync.ok() ? sync : clunk;
}

Errno Client::Flush(Tag oldtag, const CallOptions& opts) {
  return Call<Rflush>(Tflush{oldtag}, opts).error();
}

}  // namespace p9
