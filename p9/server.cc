#include "p9/server.h"

#include <algorithm>
#include <string>
#include <utility>

#include "p9/await.h"

namespace p9 {
namespace {

using base::Errno;
using base::ErrnoOr;

// What an unimplemented operation answers.
constexpr int kUnimplemented = ENOSYS;

// Handler dispatch, one overload per request type the worker pool runs.
ErrnoOr<Rauth> Invoke(Handler& h, const Tauth& t) { return h.Auth(t); }
ErrnoOr<Rattach> Invoke(Handler& h, const Tattach& t) { return h.Attach(t); }
ErrnoOr<Rwalk> Invoke(Handler& h, const Twalk& t) { return h.Walk(t); }
ErrnoOr<Rgetattr> Invoke(Handler& h, const Tgetattr& t) { return h.GetAttr(t); }
ErrnoOr<Rsetattr> Invoke(Handler& h, const Tsetattr& t) { return h.SetAttr(t); }
ErrnoOr<Rlcreate> Invoke(Handler& h, const Tlcreate& t) { return h.Lcreate(t); }
ErrnoOr<Rwrite> Invoke(Handler& h, const Twrite& t) { return h.Write(t); }
ErrnoOr<Rreaddir> Invoke(Handler& h, const Treaddir& t) { return h.Readdir(t); }
ErrnoOr<Rmkdir> Invoke(Handler& h, const Tmkdir& t) { return h.Mkdir(t); }
ErrnoOr<Rsymlink> Invoke(Handler& h, const Tsymlink& t) { return h.Symlink(t); }
ErrnoOr<Rmknod> Invoke(Handler& h, const Tmknod& t) { return h.Mknod(t); }
ErrnoOr<Rlink> Invoke(Handler& h, const Tlink& t) { return h.Link(t); }
ErrnoOr<Rrename> Invoke(Handler& h, const Trename& t) { return h.Rename(t); }
ErrnoOr<Rrenameat> Invoke(Handler& h, const Trenameat& t) {
  return h.Renameat(t);
}
ErrnoOr<Runlinkat> Invoke(Handler& h, const Tunlinkat& t) {
  return h.Unlinkat(t);
}
ErrnoOr<Rreadlink> Invoke(Handler& h, const Treadlink& t) {
  return h.Readlink(t);
}
ErrnoOr<Rstatfs> Invoke(Handler& h, const Tstatfs& t) { return h.Statfs(t); }
ErrnoOr<Rfsync> Invoke(Handler& h, const Tfsync& t) { return h.Fsync(t); }
ErrnoOr<Rlock> Invoke(Handler& h, const Tlock& t) { return h.Lock(t); }
ErrnoOr<Rgetlock> Invoke(Handler& h, const Tgetlock& t) { return h.GetLock(t); }
ErrnoOr<Rxattrwalk> Invoke(Handler& h, const Txattrwalk& t) {
  return h.Xattrwalk(t);
}
ErrnoOr<Rxattrcreate> Invoke(Handler& h, const Txattrcreate& t) {
  return h.Xattrcreate(t);
}
ErrnoOr<Rclunk> Invoke(Handler& h, const Tclunk& t) { return h.Clunk(t); }
ErrnoOr<Rremove> Invoke(Handler& h, const Tremove& t) { return h.Remove(t); }
ErrnoOr<Rwalkgetattr> Invoke(Handler& h, const Twalkgetattr& t) {
  return h.WalkGetAttr(t);
}
ErrnoOr<Rucreate> Invoke(Handler& h, const Tucreate& t) { return h.UCreate(t); }
ErrnoOr<Rfsyncclunk> Invoke(Handler& h, const Tfsyncclunk& t) {
  return h.FsyncClunk(t);
}
ErrnoOr<Rwalkstat> Invoke(Handler& h, const Twalkstat& t) {
  return h.WalkStat(t);
}

}  // namespace

// ---------------------------------------------------------------------------
// Handler defaults.

ErrnoOr<Rauth> Handler::Auth(const Tauth&) { return Errno(kUnimplemented); }
ErrnoOr<Rattach> Handler::Attach(const Tattach&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rwalk> Handler::Walk(const Twalk&) { return Errno(kUnimplemented); }
ErrnoOr<Rgetattr> Handler::GetAttr(const Tgetattr&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rsetattr> Handler::SetAttr(const Tsetattr&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rlopen> Handler::Lopen(const Tlopen&, FileDescriptor*) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rlcreate> Handler::Lcreate(const Tlcreate&) {
  return Errno(kUnimplemented);
}
ErrnoOr<uint32_t> Handler::Read(const Tread&, std::span<uint8_t>) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rwrite> Handler::Write(const Twrite&) { return Errno(kUnimplemented); }
ErrnoOr<Rreaddir> Handler::Readdir(const Treaddir&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rmkdir> Handler::Mkdir(const Tmkdir&) { return Errno(kUnimplemented); }
ErrnoOr<Rsymlink> Handler::Symlink(const Tsymlink&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rmknod> Handler::Mknod(const Tmknod&) { return Errno(kUnimplemented); }
ErrnoOr<Rlink> Handler::Link(const Tlink&) { return Errno(kUnimplemented); }
ErrnoOr<Rrename> Handler::Rename(const Trename&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rrenameat> Handler::Renameat(const Trenameat&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Runlinkat> Handler::Unlinkat(const Tunlinkat&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rreadlink> Handler::Readlink(const Treadlink&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rstatfs> Handler::Statfs(const Tstatfs&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rfsync> Handler::Fsync(const Tfsync&) { return Errno(kUnimplemented); }
ErrnoOr<Rlock> Handler::Lock(const Tlock&) { return Errno(kUnimplemented); }
ErrnoOr<Rgetlock> Handler::GetLock(const Tgetlock&) {
  return Errno(kUnimplemented);
}
ErrnoOr<Rxattrwalk> Handler::Xattrwalk(const Txattrwalk&) {
  return Errno(EOPNOTSUPP);
}
ErrnoOr<Rxattrcreate> Handler::Xattrcreate(const Txattrcreate&) {
  return Errno(EOPNOTSUPP);
}
ErrnoOr<Rclunk> Handler::Clunk(const Tclunk&) { return Errno(kUnimplemented); }
ErrnoOr<Rremove> Handler::Remove(const Tremove&) {
  return Errno(kUnimplemented);
}

ErrnoOr<Rwalkgetattr> Handler::WalkGetAttr(const Twalkgetattr& t) {
  ASSIGN_OR_RETURN(Rwalk w, Walk(Twalk{t.fid, t.newfid, t.names}));
  Rwalkgetattr r;
  r.qids = std::move(w.qids);
  if (r.qids.size() < t.names.size()) return r;  // Partial: no newfid.
  ErrnoOr<Rgetattr> a = GetAttr(Tgetattr{t.newfid, kGetAttrAll});
  if (!a.ok()) {
    (void)Clunk(Tclunk{t.newfid});
    return a.error();
  }
  r.attr = a->attr;
  return r;
}

ErrnoOr<Rwalkstat> Handler::WalkStat(const Twalkstat& t) {
  if (t.newfid == t.fid && !t.names.empty()) return Errno(EINVAL);
  Rwalkstat r;
  ASSIGN_OR_RETURN(Rgetattr d, GetAttr(Tgetattr{t.fid, kGetAttrAll}));
  r.dir = d.attr;
  if (t.names.empty()) {
    RETURN_IF_ERRNO(Walk(Twalk{t.fid, t.newfid, {}}).error());
    return r;
  }
  for (size_t i = 1; i <= t.names.size(); ++i) {
    Twalk w{t.fid, t.newfid, {}};
    w.names.assign(t.names.begin(), t.names.begin() + i);
    ErrnoOr<Rwalk> got = Walk(w);
    if (!got.ok()) {
      if (r.attrs.empty()) return got.error();
      return r;
    }
    // Stopped short: no fid was bound, and what was reached is in r.
    if (got->qids.size() < i) {
      if (r.attrs.empty()) return Errno(ENOENT);
      return r;
    }
    ErrnoOr<Rgetattr> a = GetAttr(Tgetattr{t.newfid, kGetAttrAll});
    const bool whole = i == t.names.size();
    if (!a.ok() || !whole) (void)Clunk(Tclunk{t.newfid});
    if (!a.ok()) {
      if (r.attrs.empty()) return a.error();
      return r;
    }
    r.attrs.push_back(a->attr);
  }
  return r;
}

ErrnoOr<Rucreate> Handler::UCreate(const Tucreate& t) {
  ASSIGN_OR_RETURN(Rlcreate c,
                   Lcreate(Tlcreate{t.fid, t.name, t.flags, t.mode, t.gid}));
  Tsetattr sa;
  sa.fid = t.fid;
  sa.attr.valid = kSetAttrUid | kSetAttrGid;
  sa.attr.uid = t.uid;
  sa.attr.gid = t.gid;
  RETURN_IF_ERRNO(SetAttr(sa));
  return Rucreate{c.qid, c.iounit};
}

ErrnoOr<Rfsyncclunk> Handler::FsyncClunk(const Tfsyncclunk& t) {
  ErrnoOr<Rfsync> s = Fsync(Tfsync{t.fid, t.datasync});
  ErrnoOr<Rclunk> c = Clunk(Tclunk{t.fid});
  if (!s.ok()) return s.error();
  if (!c.ok()) return c.error();
  return Rfsyncclunk{};
}

// ---------------------------------------------------------------------------
// Server.

Server::Server(std::unique_ptr<Transport> transport, Handler* handler,
               Options options)
    : transport_(std::move(transport)),
      handler_(handler),
      options_(options),
      msize_(std::clamp(options.max_msize, kMinMsize, kMaxMsize)) {}

Server::~Server() {
  Stop();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
}

void Server::Stop() {
  {
    base::MutexLock l(&mu_);
    stopping_ = true;
  }
  transport_->Shutdown();
}

Errno Server::Serve() {
  const int nworkers = std::max(1, options_.num_workers);
  for (int i = 0; i < nworkers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  const uint32_t max_msize =
      std::clamp(options_.max_msize, kMinMsize, kMaxMsize);
  Errno result;
  for (;;) {
    uint32_t limit;
    {
      base::MutexLock l(&mu_);
      if (stopping_) break;
      limit = negotiated_ ? msize_ : max_msize;
    }
    auto req = std::make_unique<Request>();
    Errno e = transport_->Recv(limit, &req->buffer, nullptr);
    if (!e.ok()) {
      result = (e == Errno(EMSGSIZE)) ? Errno(EPROTO) : e;
      break;
    }
    ErrnoOr<Header> h = DecodeHeader(req->buffer);
    if (!h.ok()) {
      result = Errno(EPROTO);
      break;
    }
    const Tag tag = h->tag;
    ErrnoOr<Decoded> d = Decode(req->buffer, limit);
    if (!d.ok()) {
      bool clash;
      {
        base::MutexLock l(&mu_);
        clash = inflight_.contains(tag);
      }
      if (clash) {
        result = Errno(EPROTO);
        break;
      }
      ReplyError(tag, d.error());
      continue;
    }
    req->decoded = std::move(*d);
    const MsgType type = TypeOf(req->decoded.msg);
    if (type == MsgType::kTversion) {
      HandleVersion(tag, std::get<Tversion>(req->decoded.msg));
      continue;
    }
    bool negotiated;
    {
      base::MutexLock l(&mu_);
      negotiated = negotiated_;
    }
    if (!negotiated) {
      ReplyError(tag, Errno(EPROTO));
      continue;
    }
    if (type == MsgType::kTflush) {
      HandleFlush(tag, std::get<Tflush>(req->decoded.msg));
      continue;
    }
    // Requests the handler answers promptly run here, on the reading
    // thread: no hand-off to a worker, which on a busy machine costs a
    // wake-up per round trip.
    const bool run_here = handler_->ServesInline(type);
    {
      base::MutexLock l(&mu_);
      auto it = inflight_.find(tag);
      if (it != inflight_.end()) {
        if (!it->second.replying) {
          result = Errno(EPROTO);  // Tag reused while still in flight.
          break;
        }
        // The reply is on its way and the client already reused the tag.
        auto gone = [this, tag]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || !inflight_.contains(tag);
        };
        Await(&mu_, gone);
      }
      if (!run_here) {
        auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || queue_.size() < options_.max_queued;
        };
        Await(&mu_, room);
      }
      if (stopping_) break;
      if (!run_here) {
        inflight_[tag] = InFlight{};
        queue_.push_back(std::move(req));
        continue;
      }
      InFlight& f = inflight_[tag];
      f = InFlight{};
      f.running = true;  // A Tflush read later waits for its reply.
    }
    Process(*req);
  }
  {
    base::MutexLock l(&mu_);
    stopping_ = true;
    for (const auto& r : queue_) inflight_.erase(r->decoded.tag);
    queue_.clear();
  }
  transport_->Shutdown();
  for (auto& w : workers_) w.join();
  workers_.clear();
  return result;
}

void Server::WorkerLoop() {
  for (;;) {
    std::unique_ptr<Request> req;
    {
      base::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      Await(&mu_, ready);
      if (stopping_) return;
      req = std::move(queue_.front());
      queue_.pop_front();
      inflight_[req->decoded.tag].running = true;
    }
    Process(*req);
  }
}

void Server::Process(Request& req) {
  const Tag tag = req.decoded.tag;
  const Message& msg = req.decoded.msg;
  uint32_t msize;
  int level;
  {
    base::MutexLock l(&mu_);
    msize = msize_;
    level = level_;
  }
  Message reply;
  FileDescriptor fd;
  std::vector<uint8_t> data;  // Rread payload; must outlive the send.
  const MsgType type = TypeOf(msg);
  if (ExtensionLevelOf(type) > level) {
    reply = Rlerror{static_cast<uint32_t>(ENOSYS)};
  } else if (const auto* t = std::get_if<Tread>(&msg)) {
    data.resize(std::min(t->count, msize - kRreadOverhead));
    ErrnoOr<uint32_t> n = handler_->Read(*t, data);
    if (!n.ok()) {
      reply = Rlerror{static_cast<uint32_t>(n.error().value())};
    } else if (*n > data.size()) {
      reply = Rlerror{static_cast<uint32_t>(EIO)};
    } else {
      reply = Rread{Payload{std::span<const uint8_t>(data).first(*n)}};
    }
  } else if (const auto* t = std::get_if<Tlopen>(&msg)) {
    const bool donate =
        options_.donate_fds && level >= 1 && transport_->CanPassFds();
    ErrnoOr<Rlopen> r = handler_->Lopen(*t, donate ? &fd : nullptr);
    if (r.ok()) {
      reply = *r;
    } else {
      reply = Rlerror{static_cast<uint32_t>(r.error().value())};
      fd.reset();
    }
  } else {
    ErrnoOr<Message> r = std::visit(
        [this](const auto& m) -> ErrnoOr<Message> {
          if constexpr (requires { Invoke(*handler_, m); }) {
            auto res = Invoke(*handler_, m);
            if (!res.ok()) return res.error();
            return Message(std::move(*res));
          } else {
            return Errno(EPROTO);  // Not a request we serve.
          }
        },
        msg);
    if (!r.ok()) {
      reply = Rlerror{static_cast<uint32_t>(r.error().value())};
    } else {
      reply = std::move(*r);
    }
    if (auto* rd = std::get_if<Rreaddir>(&reply)) {
      // Send the longest prefix of entries that fits the request and msize.
      const auto& t = std::get<Treaddir>(msg);
      const size_t budget = std::min(t.count, msize - kRreaddirOverhead);
      size_t used = 0, n = 0;
      while (n < rd->entries.size() &&
             used + DirentSize(rd->entries[n]) <= budget) {
        used += DirentSize(rd->entries[n]);
        ++n;
      }
      rd->entries.resize(n);
    }
  }
  {
    base::MutexLock l(&mu_);
    inflight_[tag].replying = true;
  }
  Reply(tag, reply, msize, fd.get());
  std::vector<Tag> flushes;
  {
    base::MutexLock l(&mu_);
    auto it = inflight_.find(tag);
    if (it != inflight_.end()) {
      flushes = std::move(it->second.flush_tags);
      inflight_.erase(it);
    }
  }
  for (Tag f : flushes) Reply(f, Rflush{}, msize);
}

void Server::Reply(Tag tag, const Message& msg, uint32_t msize, int fd) {
  std::vector<uint8_t> head;
  std::span<const uint8_t> tail;
  Errno e = Encode(tag, msg, msize, &head, &tail);
  if (!e.ok()) {
    fd = -1;
    Errno e2 = Encode(tag, Rlerror{static_cast<uint32_t>(e.value())}, msize,
                      &head, &tail);
    if (!e2.ok()) return;
  }
  if (!transport_->Send(head, tail, fd).ok()) {
    // The connection is gone; make the reader notice.
    transport_->Shutdown();
  }
}

void Server::ReplyError(Tag tag, Errno e) {
  uint32_t msize;
  {
    base::MutexLock l(&mu_);
    msize = msize_;
  }
  Reply(tag, Rlerror{static_cast<uint32_t>(e.value())}, msize);
}

void Server::HandleVersion(Tag tag, const Tversion& t) {
  bool had_session;
  Rversion r;
  {
    base::MutexLock l(&mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || inflight_.empty();
    };
    Await(&mu_, idle);
    had_session = negotiated_;
    const uint32_t max_msize =
        std::clamp(options_.max_msize, kMinMsize, kMaxMsize);
    r.msize = std::min(t.msize, max_msize);
    ParsedVersion pv = ParseVersion(t.version);
    if (!pv.ok || t.msize < kMinMsize) {
      r.version = std::string(kVersionUnknown);
      negotiated_ = false;
    } else {
      level_ = std::min(pv.level, std::max(0, options_.max_extension_level));
      msize_ = r.msize;
      negotiated_ = true;
      r.version = level_ > 0 ? ExtendedVersionString(level_)
                             : std::string(kVersion9P2000L);
    }
  }
  if (had_session) handler_->Reset();
  Reply(tag, r, kMaxMsize);
}

void Server::HandleFlush(Tag tag, const Tflush& t) {
  uint32_t msize;
  {
    base::MutexLock l(&mu_);
    msize = msize_;
    auto it = inflight_.find(t.oldtag);
    if (it != inflight_.end()) {
      if (it->second.running) {
        // Answered after the request's own reply.
        it->second.flush_tags.push_back(tag);
        return;
      }
      // Still queued: drop it unanswered.
      inflight_.erase(it);
      auto q = std::find_if(queue_.begin(), queue_.end(), [&](const auto& r) {
        return r->decoded.tag == t.oldtag;
      });
      if (q != queue_.end()) queue_.erase(q);
    }
  }
  Reply(tag, Rflush{}, msize);
}

}  // namespace p9
