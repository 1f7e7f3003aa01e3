// Client <-> server tests over socketpairs (and loopback TCP) with the
// in-memory handler, plus both sides against scripted hostile peers.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "p9/client.h"
#include "p9/memfs_handler.h"
#include "p9/messages.h"
#include "p9/server.h"
#include "p9/transport.h"

namespace p9 {
namespace {

using base::Errno;
using testing::MemFsHandler;

constexpr uint32_t kOpenRdwr = 02;  // Linux O_RDWR.

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A server on one end of a socketpair, a client on the other.
class Harness {
 public:
  explicit Harness(Server::Options sopts = {}, Client::Options copts = {},
                   bool pass_fds = false) {
    auto pair = SocketPair(pass_fds);
    EXPECT_TRUE(pair.ok());
    server_ = std::make_unique<Server>(std::move(pair->second), &fs_, sopts);
    thread_ = std::thread([this] { serve_result_ = server_->Serve(); });
    auto c = Client::Connect(std::move(pair->first), copts);
    EXPECT_TRUE(c.ok()) << c.error().ToString();
    if (c.ok()) client_ = std::move(*c);
  }
  ~Harness() {
    fs_.OpenGate();
    client_.reset();
    StopServer();
  }
  void StopServer() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }

  Client& client() { return *client_; }
  MemFsHandler& fs() { return fs_; }
  Errno serve_result() const { return serve_result_; }

  Fid Root() {
    auto a = client_->Attach("root", "/", 0);
    EXPECT_TRUE(a.ok());
    return a->fid;
  }
  // Creates /name with contents and returns nothing.
  void MakeFile(Fid root, const std::string& name, const std::string& data) {
    auto w = client_->Walk(root, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(client_->Lcreate(w->newfid, name, kOpenRdwr, 0644, 0).ok());
    ASSERT_EQ(*client_->Write(w->newfid, 0, AsBytes(data)), data.size());
    ASSERT_TRUE(client_->Clunk(w->newfid).ok());
  }
  // Walks to /name and opens it.
  Fid Open(Fid root, const std::string& name) {
    auto w = client_->Walk(root, {name});
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE(client_->Lopen(w->newfid, 0).ok());
    return w->newfid;
  }

 private:
  MemFsHandler fs_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Errno serve_result_;
  std::unique_ptr<Client> client_;
};

TEST(ClientServerTest, NegotiatesExtendedVersion) {
  Harness h;
  EXPECT_EQ(h.client().extension_level(), kExtensionLevel);
  EXPECT_EQ(h.client().version(), "9P2000.L.Gofer.2");
  EXPECT_EQ(h.client().msize(), kDefaultMsize);
}

TEST(ClientServerTest, NegotiatesPlainAndSmallerMsize) {
  Server::Options s;
  s.max_extension_level = 0;
  s.max_msize = 8192;
  Harness h(s);
  EXPECT_EQ(h.client().extension_level(), 0);
  EXPECT_EQ(h.client().version(), "9P2000.L");
  EXPECT_EQ(h.client().msize(), 8192u);
}

TEST(ClientServerTest, ClientWithoutExtensions) {
  Client::Options c;
  c.use_extensions = false;
  Harness h({}, c);
  EXPECT_EQ(h.client().extension_level(), 0);
}

TEST(ClientServerTest, BasicOperations) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  auto attr = c.GetAttr(root);
  ASSERT_TRUE(attr.ok());
  EXPECT_TRUE(S_ISDIR(attr->mode));

  auto dq = c.Mkdir(root, "dir", 0755, 0);
  ASSERT_TRUE(dq.ok());
  EXPECT_EQ(dq->type, kQidTypeDir);
  EXPECT_EQ(c.Mkdir(root, "dir", 0755, 0).error(), Errno(EEXIST));

  // Create, write, read back.
  auto w = c.Walk(root, {"dir"});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->qids.size(), 1u);
  Fid f = w->newfid;
  ASSERT_TRUE(c.Lcreate(f, "file", kOpenRdwr, 0644, 0).ok());
  const std::string text = "hello, 9p";
  ASSERT_EQ(*c.Write(f, 0, AsBytes(text)), text.size());
  std::vector<uint8_t> buf(100);
  auto n = c.Read(f, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), text);
  EXPECT_EQ(*c.Read(f, 7, buf), 2u);
  EXPECT_EQ(*c.Read(f, 100, buf), 0u);
  EXPECT_TRUE(c.Fsync(f).ok());
  EXPECT_TRUE(c.Clunk(f).ok());

  // getattr through walk, setattr.
  auto wg = c.WalkGetAttr(root, {"dir", "file"});
  ASSERT_TRUE(wg.ok());
  EXPECT_EQ(wg->qids.size(), 2u);
  EXPECT_EQ(wg->attr.size, text.size());
  p9::SetAttr sa;
  sa.valid = kSetAttrSize;
  sa.size = 3;
  EXPECT_TRUE(c.SetAttr(wg->newfid, sa).ok());
  EXPECT_EQ(c.GetAttr(wg->newfid)->size, 3u);
  EXPECT_TRUE(c.Clunk(wg->newfid).ok());

  // readdir.
  auto d = c.Walk(root, {"dir"});
  ASSERT_TRUE(c.Lopen(d->newfid, 0).ok());
  auto ents = c.Readdir(d->newfid, 0);
  ASSERT_TRUE(ents.ok());
  ASSERT_EQ(ents->size(), 1u);
  EXPECT_EQ((*ents)[0].name, "file");
  EXPECT_TRUE(c.Readdir(d->newfid, (*ents)[0].offset)->empty());

  // symlink/readlink, renameat, unlinkat.
  ASSERT_TRUE(c.Symlink(root, "ln", "dir/file", 0).ok());
  auto l = c.Walk(root, {"ln"});
  EXPECT_EQ(*c.Readlink(l->newfid), "dir/file");
  EXPECT_TRUE(c.Renameat(d->newfid, "file", root, "moved").ok());
  EXPECT_TRUE(c.Walk(root, {"moved"}).ok());
  EXPECT_EQ(c.Walk(root, {"dir", "file"}).error(), Errno(ENOENT));
  EXPECT_EQ(c.Unlinkat(root, "dir", 0), Errno(EISDIR));
  EXPECT_TRUE(c.Unlinkat(root, "dir", kUnlinkRemoveDir).ok());
  EXPECT_TRUE(c.Unlinkat(root, "moved", 0).ok());

  // statfs, lock.
  auto st = c.Statfs(root);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->bsize, 4096u);
  Tlock lk;
  lk.fid = root;
  lk.type = kLockTypeWrite;
  EXPECT_EQ(*c.Lock(lk), kLockStatusSuccess);

  // Unimplemented operations say so; bad fids are EBADF.
  EXPECT_EQ(c.Mknod(root, "n", 0644, 0, 0, 0).error(), Errno(ENOSYS));
  EXPECT_EQ(c.Link(root, root, "x"), Errno(ENOSYS));
  EXPECT_EQ(c.Xattrwalk(root, "user.x").error(), Errno(EOPNOTSUPP));
  Tgetlock gl;
  gl.fid = root;
  EXPECT_EQ(c.GetLock(gl).error(), Errno(ENOSYS));
  EXPECT_EQ(c.GetAttr(12345).error(), Errno(EBADF));
  EXPECT_TRUE(c.Flush(999).ok());  // Unknown tag: Rflush at once.
}

TEST(ClientServerTest, HandlerErrnoReachesClient) {
  Harness h;
  Fid root = h.Root();
  h.MakeFile(root, "f", "abc");
  Fid f = h.Open(root, "f");
  std::vector<uint8_t> buf(0xDEAD);  // The handler's EDOM hook.
  EXPECT_EQ(h.client().Read(f, 0, buf).error(), Errno(EDOM));
}

TEST(ClientServerTest, LongWalkIsSplit) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  std::vector<std::string> path;
  Fid cur = root;
  for (int i = 0; i < 20; ++i) {
    std::string name = "d" + std::to_string(i);
    ASSERT_TRUE(c.Mkdir(cur, name, 0755, 0).ok());
    auto w = c.Walk(cur, {name});
    ASSERT_TRUE(w.ok());
    cur = w->newfid;
    path.push_back(name);
  }
  auto w = c.Walk(root, path);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->qids.size(), 20u);
  auto wg = c.WalkGetAttr(root, path);  // > 16 names: the fallback path.
  ASSERT_TRUE(wg.ok());
  EXPECT_TRUE(S_ISDIR(wg->attr.mode));
  path.push_back("missing");
  size_t fids = h.fs().fid_count();
  EXPECT_EQ(c.Walk(root, path).error(), Errno(ENOENT));
  EXPECT_EQ(h.fs().fid_count(), fids);  // The half-walked fid was clunked.
}

TEST(ClientServerTest, ExtensionsAndTheirFallbacks) {
  for (int level : {1, 0}) {
    SCOPED_TRACE(level);
    Server::Options s;
    s.max_extension_level = level;
    Harness h(s);
    Client& c = h.client();
    ASSERT_EQ(c.extension_level(), level);
    Fid root = h.Root();
    auto w = c.Walk(root, {});
    ASSERT_TRUE(c.UCreate(w->newfid, "owned", kOpenRdwr, 0600, 4321, 99).ok());
    auto a = c.GetAttr(w->newfid);
    EXPECT_EQ(a->uid, 4321u);
    EXPECT_EQ(a->gid, 99u);
    int fsyncs = h.fs().fsyncs();
    size_t fids = h.fs().fid_count();
    EXPECT_TRUE(c.FsyncClunk(w->newfid).ok());
    EXPECT_EQ(h.fs().fsyncs(), fsyncs + 1);
    EXPECT_EQ(h.fs().fid_count(), fids - 1);
    auto wg = c.WalkGetAttr(root, {"owned"});
    ASSERT_TRUE(wg.ok());
    EXPECT_EQ(wg->attr.uid, 4321u);
    EXPECT_EQ(c.WalkGetAttr(root, {"nope"}).error(), Errno(ENOENT));
    auto clone = c.WalkGetAttr(root, {});
    ASSERT_TRUE(clone.ok());
    EXPECT_TRUE(S_ISDIR(clone->attr.mode));
  }
}

// Twalkstat at level 2 (the handler's default, built on Walk and GetAttr),
// and the client's element-by-element fallback below it: the same answers.
TEST(ClientServerTest, WalkStatAtEveryLevel) {
  for (int level : {2, 1, 0}) {
    SCOPED_TRACE(level);
    Server::Options s;
    s.max_extension_level = level;
    Harness h(s);
    Client& c = h.client();
    ASSERT_EQ(c.extension_level(), level);
    Fid root = h.Root();
    ASSERT_TRUE(c.Mkdir(root, "a", 0750, 0).ok());
    auto a = c.Walk(root, {"a"});
    ASSERT_TRUE(c.Mkdir(a->newfid, "b", 0700, 0).ok());
    auto b = c.Walk(a->newfid, {"b"});
    h.MakeFile(b->newfid, "f", "12345");
    const size_t fids = h.fs().fid_count();

    auto w = c.WalkStat(root, {"a", "b", "f"});
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    ASSERT_EQ(w->attrs.size(), 3u);
    EXPECT_NE(w->newfid, kNoFid);
    EXPECT_TRUE(S_ISDIR(w->dir.mode));
    EXPECT_EQ(w->dir.qid, c.GetAttr(root)->qid);
    EXPECT_EQ(w->attrs[0].mode, 040750u);
    EXPECT_EQ(w->attrs[1].mode, 040700u);
    EXPECT_EQ(w->attrs[2].mode & S_IFMT, static_cast<uint32_t>(S_IFREG));
    EXPECT_EQ(w->attrs[2].size, 5u);
    EXPECT_EQ(w->attrs[0].qid, a->qids[0]);
    EXPECT_EQ(w->attrs[1].qid, b->qids[0]);
    // Exactly one new fid, for the end of the walk.
    EXPECT_EQ(h.fs().fid_count(), fids + 1);
    auto ga = c.GetAttr(w->newfid);
    EXPECT_EQ(ga->size, 5u);
    ASSERT_TRUE(c.Clunk(w->newfid).ok());

    // Stopping short: the elements reached, no fid.
    auto part = c.WalkStat(root, {"a", "b", "nope", "x"});
    ASSERT_TRUE(part.ok());
    EXPECT_EQ(part->attrs.size(), 2u);
    EXPECT_EQ(part->newfid, kNoFid);
    // Through a file.
    auto through = c.WalkStat(root, {"a", "b", "f", "x"});
    ASSERT_TRUE(through.ok());
    EXPECT_EQ(through->attrs.size(), 3u);
    EXPECT_EQ(through->newfid, kNoFid);
    // Failing at the first name.
    EXPECT_EQ(c.WalkStat(root, {"nope", "b"}).error(), Errno(ENOENT));
    EXPECT_EQ(h.fs().fid_count(), fids);
    // A clone.
    auto clone = c.WalkStat(root, {});
    ASSERT_TRUE(clone.ok());
    EXPECT_TRUE(clone->attrs.empty());
    EXPECT_NE(clone->newfid, kNoFid);
    EXPECT_EQ(h.fs().fid_count(), fids + 1);
    ASSERT_TRUE(c.Clunk(clone->newfid).ok());
    // Too many names.
    EXPECT_EQ(c.WalkStat(root, std::vector<std::string>(17, "a")).error(),
              Errno(EINVAL));
  }
}

// newfid == fid is refused for Twalkstat (a walk of the fid itself).
TEST(ClientServerTest, WalkStatRefusesMovingItsOwnFid) {
  Harness h;
  Fid root = h.Root();
  ASSERT_TRUE(h.client().Mkdir(root, "a", 0755, 0).ok());
  auto w = h.client().Walk(root, {});
  auto r = h.client().Rpc(Twalkstat{w->newfid, w->newfid, {"a"}});
  EXPECT_EQ(r.error(), Errno(EINVAL));
}

TEST(ClientServerTest, LargeIoIsClippedToMsize) {
  Server::Options s;
  s.max_msize = 8192;
  Harness h(s);
  Client& c = h.client();
  Fid root = h.Root();
  auto w = c.Walk(root, {});
  ASSERT_TRUE(c.Lcreate(w->newfid, "big", kOpenRdwr, 0644, 0).ok());
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  size_t off = 0;
  while (off < data.size()) {
    auto n = c.Write(w->newfid, off, AsBytes(data).subspan(off));
    ASSERT_TRUE(n.ok());
    ASSERT_GT(*n, 0u);
    ASSERT_LE(*n, c.max_io_size());
    off += *n;
  }
  std::vector<uint8_t> back(data.size() + 10);
  off = 0;
  for (;;) {
    auto n = c.Read(w->newfid, off, std::span(back).subspan(off));
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    off += *n;
  }
  ASSERT_EQ(off, data.size());
  EXPECT_EQ(std::memcmp(back.data(), data.data(), data.size()), 0);
}

TEST(ClientServerTest, ReaddirClipsToCount) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c.Mkdir(root, "entry" + std::to_string(i), 0755, 0).ok());
  }
  auto d = c.Walk(root, {});
  ASSERT_TRUE(c.Lopen(d->newfid, 0).ok());
  std::vector<std::string> names;
  uint64_t off = 0;
  for (;;) {
    auto ents = c.Readdir(d->newfid, off, 100);  // ~3 entries a call.
    ASSERT_TRUE(ents.ok());
    if (ents->empty()) break;
    EXPECT_LE(ents->size(), 4u);
    for (const auto& e : *ents) names.push_back(e.name);
    off = ents->back().offset;
  }
  EXPECT_EQ(names.size(), 50u);
}

TEST(ClientServerTest, ManyThreadsInFlight) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  constexpr int kThreads = 16;
  constexpr int kIters = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "t" + std::to_string(t);
      auto w = c.Walk(root, {});
      if (!w.ok() || !c.Lcreate(w->newfid, name, kOpenRdwr, 0644, 0).ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kIters; ++i) {
        std::string data = name + ":" + std::to_string(i);
        if (*c.Write(w->newfid, 0, AsBytes(data)) != data.size()) ++failures;
        std::vector<uint8_t> buf(data.size());
        auto n = c.Read(w->newfid, 0, buf);
        if (!n.ok() || std::string(buf.begin(), buf.end()) != data) {
          ++failures;
        }
        auto wg = c.WalkGetAttr(root, {name});
        if (!wg.ok() || c.Clunk(wg->newfid) != Errno::Ok()) ++failures;
      }
      if (!c.Clunk(w->newfid).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ClientServerTest, FlushOfRunningRequestStillAnswers) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "slow", "slowdata");
  Fid f = h.Open(root, "slow");
  Canceller cancel;
  base::ErrnoOr<size_t> result = Errno(EIO);
  std::vector<uint8_t> buf(16);
  std::thread reader([&] {
    CallOptions o;
    o.canceller = &cancel;
    result = c.Read(f, 0, buf, o);
  });
  h.fs().AwaitBlockedReaders(1);
  cancel.Cancel();
  // The server owes the running read's reply before Rflush; let it finish.
  h.fs().OpenGate();
  reader.join();
  // Either the reply beat the flush (it is honoured) or the call was
  // interrupted; both are correct, and the connection remains usable.
  if (result.ok()) {
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + *result), "slowdata");
  } else {
    EXPECT_EQ(result.error(), Errno(EINTR));
  }
  EXPECT_TRUE(c.GetAttr(root).ok());
}

TEST(ClientServerTest, FlushOfQueuedRequestIsEintr) {
  Server::Options s;
  s.num_workers = 1;
  Harness h(s);
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "slow", "zzz");
  Fid f1 = h.Open(root, "slow");
  Fid f2 = h.Open(root, "slow");
  std::vector<uint8_t> b1(8), b2(8);
  base::ErrnoOr<size_t> r1 = Errno(EIO), r2 = Errno(EIO);
  std::thread first([&] { r1 = c.Read(f1, 0, b1); });
  h.fs().AwaitBlockedReaders(1);  // The only worker is now busy.
  Canceller cancel;
  std::thread second([&] {
    CallOptions o;
    o.canceller = &cancel;
    r2 = c.Read(f2, 0, b2, o);
  });
  absl::SleepFor(absl::Milliseconds(20));
  cancel.Cancel();
  second.join();  // Returns although the worker is still blocked.
  EXPECT_EQ(r2.error(), Errno(EINTR));
  h.fs().OpenGate();
  first.join();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(*r1, 3u);
  // Cancelled before starting: no request at all.
  EXPECT_EQ(c.GetAttr(root, kGetAttrAll, {&cancel}).error(), Errno(EINTR));
  EXPECT_TRUE(c.GetAttr(root).ok());
}

TEST(ClientServerTest, TimeoutFlushesQueuedRequest) {
  Server::Options s;
  s.num_workers = 1;
  Harness h(s);
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "slow", "zzz");
  Fid f1 = h.Open(root, "slow");
  std::vector<uint8_t> b1(8);
  std::thread first([&] { (void)c.Read(f1, 0, b1); });
  h.fs().AwaitBlockedReaders(1);
  CallOptions o;
  o.timeout = absl::Milliseconds(30);
  EXPECT_EQ(c.GetAttr(root, kGetAttrAll, o).error(), Errno(ETIMEDOUT));
  h.fs().OpenGate();
  first.join();
  EXPECT_TRUE(c.GetAttr(root).ok());
}

TEST(ClientServerTest, ServerDeathGivesEio) {
  Harness h;
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "slow", "zzz");
  Fid f = h.Open(root, "slow");
  std::vector<uint8_t> buf(8);
  base::ErrnoOr<size_t> r = size_t{0};
  std::thread reader([&] { r = c.Read(f, 0, buf); });
  h.fs().AwaitBlockedReaders(1);
  std::thread stopper([&] { h.StopServer(); });
  reader.join();  // Woken by the hang-up, not by the gate.
  EXPECT_EQ(r.error(), Errno(EIO));
  EXPECT_TRUE(c.dead());
  EXPECT_EQ(c.GetAttr(root).error(), Errno(EIO));
  EXPECT_EQ(c.Clunk(f), Errno(EIO));
  h.fs().OpenGate();
  stopper.join();
}

TEST(ClientServerTest, ManyWaitersAllGetEioOnDeath) {
  Server::Options s;
  s.num_workers = 2;
  Harness h(s);
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "slow", "zzz");
  std::vector<Fid> fids;
  for (int i = 0; i < 8; ++i) fids.push_back(h.Open(root, "slow"));
  std::atomic<int> eio{0};
  std::vector<std::thread> ts;
  for (Fid f : fids) {
    ts.emplace_back([&, f] {
      std::vector<uint8_t> buf(8);
      if (c.Read(f, 0, buf).error() == Errno(EIO)) ++eio;
    });
  }
  h.fs().AwaitBlockedReaders(2);
  absl::SleepFor(absl::Milliseconds(20));  // Let the rest queue up.
  c.Close();
  for (auto& t : ts) t.join();
  EXPECT_EQ(eio.load(), 8);
}

TEST(ClientServerTest, DonatesHostFdOnLopen) {
  Server::Options s;
  s.donate_fds = true;
  Harness h(s, {}, /*pass_fds=*/true);
  Client& c = h.client();
  Fid root = h.Root();
  h.MakeFile(root, "f", "donated contents");
  auto w = c.Walk(root, {"f"});
  auto o = c.Lopen(w->newfid, 0);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->host_fd.valid());
  char buf[64] = {};
  ASSERT_EQ(::pread(o->host_fd.get(), buf, sizeof(buf), 0), 16);
  EXPECT_STREQ(buf, "donated contents");
  // Without opting in, no fd arrives (and nothing leaks).
  Harness plain;
  Fid r2 = plain.Root();
  plain.MakeFile(r2, "f", "x");
  auto w2 = plain.client().Walk(r2, {"f"});
  auto o2 = plain.client().Lopen(w2->newfid, 0);
  ASSERT_TRUE(o2.ok());
  EXPECT_FALSE(o2->host_fd.valid());
}

TEST(ClientServerTest, TcpLoopback) {
  auto l = TcpListener::ListenLoopback(0);
  ASSERT_TRUE(l.ok());
  MemFsHandler fs;
  std::unique_ptr<Server> server;
  std::thread st([&] {
    auto conn = (*l)->Accept();
    ASSERT_TRUE(conn.ok());
    server = std::make_unique<Server>(std::move(*conn), &fs);
    (void)server->Serve();
  });
  auto t = DialTcp("127.0.0.1", (*l)->port());
  ASSERT_TRUE(t.ok());
  auto c = Client::Connect(std::move(*t));
  ASSERT_TRUE(c.ok());
  auto a = (*c)->Attach("u", "/", 0);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*c)->Mkdir(a->fid, "over-tcp", 0755, 0).ok());
  EXPECT_TRUE((*c)->Walk(a->fid, {"over-tcp"}).ok());
  c->reset();  // Hang up; the server's Serve returns.
  st.join();
}

// ---------------------------------------------------------------------------
// The client against a scripted, possibly hostile, server.

class FakeServer {
 public:
  FakeServer() {
    auto pair = SocketPair();
    client_end_ = std::move(pair->first);
    t_ = std::move(pair->second);
  }
  std::unique_ptr<Transport> TakeClientEnd() { return std::move(client_end_); }

  // Receives one request (or returns false on EOF).
  bool Recv(Decoded* d) {
    buf_.emplace_back();
    if (!t_->Recv(kMaxMsize, &buf_.back()).ok()) return false;
    auto r = Decode(buf_.back(), kMaxMsize);
    if (!r.ok()) return false;
    *d = std::move(*r);
    return true;
  }
  void Send(Tag tag, const Message& m) {
    auto b = Encode(tag, m);
    SendRaw(*b);
  }
  void SendRaw(const std::vector<uint8_t>& b) { (void)t_->Send(b, {}); }
  // Answers the first Tversion with plain 9P2000.L.
  void AcceptVersion(uint32_t msize = 8192) {
    Decoded d;
    ASSERT_TRUE(Recv(&d));
    ASSERT_TRUE(std::holds_alternative<Tversion>(d.msg));
    Send(d.tag, Rversion{msize, "9P2000.L"});
  }
  void Close() { t_->Shutdown(); }

 private:
  std::unique_ptr<Transport> client_end_;
  std::unique_ptr<Transport> t_;
  std::vector<std::vector<uint8_t>> buf_;
};

// Runs `script` as the server while `body` uses a connected client.
void WithFakeServer(std::function<void(FakeServer&)> script,
                    std::function<void(Client&)> body,
                    Client::Options opts = {}) {
  FakeServer fs;
  std::thread s([&] { script(fs); });
  auto c = Client::Connect(fs.TakeClientEnd(), opts);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  body(**c);
  c->reset();
  s.join();
}

TEST(HostileServerTest, WrongTypeMalformedAndBadErrno) {
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion();
        Decoded d;
        // 1: wrong reply type.
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rclunk{});
        // 2: truncated Rgetattr with a consistent size field.
        ASSERT_TRUE(fs.Recv(&d));
        std::vector<uint8_t> bad = {10, 0, 0, 0, 25, 0, 0, 1, 2, 3};
        bad[5] = static_cast<uint8_t>(d.tag);
        bad[6] = static_cast<uint8_t>(d.tag >> 8);
        fs.SendRaw(bad);
        // 3: Rlerror 0 and 4: a huge errno.
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rlerror{0});
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rlerror{1u << 30});
        // 5: Rread with more data than asked for.
        ASSERT_TRUE(fs.Recv(&d));
        static const uint8_t kMuch[64] = {};
        fs.Send(d.tag, Rread{Payload{kMuch}});
        // 6: a real errno, then a good reply.
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rlerror{ENOENT});
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rclunk{});
        while (fs.Recv(&d)) {
        }
      },
      [](Client& c) {
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EPROTO));
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EPROTO));
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EPROTO));
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EPROTO));
        std::vector<uint8_t> buf(10);
        EXPECT_EQ(c.Read(1, 0, buf).error(), Errno(EPROTO));
        EXPECT_EQ(c.GetAttr(1).error(), Errno(ENOENT));
        EXPECT_TRUE(c.Clunk(1).ok());
        EXPECT_FALSE(c.dead());
      });
}

TEST(HostileServerTest, UnknownTagKillsConnection) {
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion();
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(static_cast<Tag>(d.tag + 100), Rclunk{});
        while (fs.Recv(&d)) {
        }
      },
      [](Client& c) {
        EXPECT_EQ(c.Clunk(1), Errno(EIO));
        EXPECT_TRUE(c.dead());
        EXPECT_EQ(c.Clunk(2), Errno(EIO));
      });
}

TEST(HostileServerTest, OversizedFrameKillsConnection) {
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion(8192);
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));
        std::vector<uint8_t> big(9000, 0);
        big[0] = 0x28;  // 9000 = 0x2328
        big[1] = 0x23;
        big[4] = static_cast<uint8_t>(MsgType::kRread);
        fs.SendRaw(big);
        while (fs.Recv(&d)) {
        }
      },
      [](Client& c) {
        std::vector<uint8_t> buf(100);
        EXPECT_EQ(c.Read(1, 0, buf).error(), Errno(EIO));
        EXPECT_TRUE(c.dead());
      });
}

TEST(HostileServerTest, HangUpMidMessage) {
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion();
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));
        fs.SendRaw({100, 0, 0, 0, 25});  // Promises 100 bytes, sends 5.
        fs.Close();
      },
      [](Client& c) {
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EIO));
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EIO));
      });
}

TEST(HostileServerTest, HungServerAnsweringFlushTimesOut) {
  Client::Options o;
  o.call_timeout = absl::Milliseconds(30);
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion();
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));  // Tgetattr: ignored.
        ASSERT_TRUE(fs.Recv(&d));
        ASSERT_TRUE(std::holds_alternative<Tflush>(d.msg));
        fs.Send(d.tag, Rflush{});
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rclunk{});
        while (fs.Recv(&d)) {
        }
      },
      [](Client& c) {
        EXPECT_EQ(c.GetAttr(1).error(), Errno(ETIMEDOUT));
        EXPECT_TRUE(c.Clunk(1).ok());
      },
      o);
}

TEST(HostileServerTest, FullyHungServerIsDeclaredDead) {
  Client::Options o;
  o.call_timeout = absl::Milliseconds(20);
  o.flush_timeout = absl::Milliseconds(50);
  WithFakeServer(
      [](FakeServer& fs) {
        fs.AcceptVersion();
        Decoded d;
        while (fs.Recv(&d)) {
        }
      },
      [](Client& c) {
        EXPECT_EQ(c.GetAttr(1).error(), Errno(EIO));
        EXPECT_TRUE(c.dead());
      },
      o);
}

TEST(HostileServerTest, VersionFallbackAndBadVersions) {
  // Rlerror to the extended proposal, then plain.
  WithFakeServer(
      [](FakeServer& fs) {
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));
        EXPECT_EQ(std::get<Tversion>(d.msg).version, "9P2000.L.Gofer.2");
        EXPECT_EQ(d.tag, kNoTag);
        fs.Send(d.tag, Rlerror{EIO});
        ASSERT_TRUE(fs.Recv(&d));
        EXPECT_EQ(std::get<Tversion>(d.msg).version, "9P2000.L");
        fs.Send(d.tag, Rversion{16384, "9P2000.L"});
      },
      [](Client& c) {
        EXPECT_EQ(c.extension_level(), 0);
        EXPECT_EQ(c.msize(), 16384u);
      });
  // "unknown", then plain.
  WithFakeServer(
      [](FakeServer& fs) {
        Decoded d;
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rversion{8192, "unknown"});
        ASSERT_TRUE(fs.Recv(&d));
        fs.Send(d.tag, Rversion{8192, "9P2000.L"});
      },
      [](Client& c) { EXPECT_EQ(c.version(), "9P2000.L"); });
  // A server raising msize, or speaking another dialect, is refused.
  for (const Rversion& bad :
       {Rversion{kMaxMsize, "9P2000.L"}, Rversion{8192, "9P2000.u"},
        Rversion{100, "9P2000.L"}, Rversion{8192, "9P2000.L.Gofer.9"}}) {
    FakeServer fs;
    std::thread s([&] {
      Decoded d;
      if (fs.Recv(&d)) fs.Send(d.tag, bad);
      while (fs.Recv(&d)) {
      }
    });
    auto c = Client::Connect(fs.TakeClientEnd());
    EXPECT_EQ(c.error(), Errno(EPROTO)) << bad.version << " " << bad.msize;
    c = Errno(EIO);  // Destroys the client, hanging up.
    s.join();
  }
}

// ---------------------------------------------------------------------------
// The server against a raw, possibly hostile, client.

template <typename H = MemFsHandler>
class RawClientT {
 public:
  explicit RawClientT(Server::Options o = {}) {
    auto pair = SocketPair();
    t_ = std::move(pair->first);
    server_ = std::make_unique<Server>(std::move(pair->second), &fs_, o);
    thread_ = std::thread([this] { result_ = server_->Serve(); });
  }
  ~RawClientT() {
    fs_.OpenGate();
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  void Send(Tag tag, const Message& m) { SendRaw(*Encode(tag, m)); }
  void SendRaw(const std::vector<uint8_t>& b) { (void)t_->Send(b, {}); }
  // The next reply, decoded (Rlerror etc.).
  base::ErrnoOr<Decoded> Recv() {
    bufs_.emplace_back();
    RETURN_IF_ERRNO(t_->Recv(kMaxMsize, &bufs_.back()));
    return Decode(bufs_.back(), kMaxMsize);
  }
  // Sends and expects one reply.
  Message Call(Tag tag, const Message& m) {
    Send(tag, m);
    auto r = Recv();
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return Rlerror{0};
    EXPECT_EQ(r->tag, tag);
    return r->msg;
  }
  uint32_t ErrnoOf(const Message& m) {
    if (auto* e = std::get_if<Rlerror>(&m)) return e->ecode;
    return 0;
  }
  void HangUp() { t_->Shutdown(); }
  Errno WaitServer() {
    thread_.join();
    return result_;
  }
  H& fs() { return fs_; }

 private:
  H fs_;
  std::unique_ptr<Transport> t_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Errno result_;
  std::vector<std::vector<uint8_t>> bufs_;
};

using RawClient = RawClientT<>;

TEST(ServerRobustnessTest, VersionHandling) {
  RawClient rc;
  // Nothing before Tversion.
  EXPECT_EQ(rc.ErrnoOf(rc.Call(1, Tattach{0, kNoFid, "u", "/", 0})),
            static_cast<uint32_t>(EPROTO));
  auto v = rc.Call(kNoTag, Tversion{8192, "9P2000.u"});
  EXPECT_EQ(std::get<Rversion>(v).version, "unknown");
  v = rc.Call(kNoTag, Tversion{100, "9P2000.L"});
  EXPECT_EQ(std::get<Rversion>(v).version, "unknown");
  v = rc.Call(kNoTag, Tversion{kMaxMsize, "9P2000.L.Gofer.7"});
  EXPECT_EQ(std::get<Rversion>(v).version, "9P2000.L.Gofer.2");
  EXPECT_EQ(std::get<Rversion>(v).msize, kDefaultMsize);
  v = rc.Call(kNoTag, Tversion{8192, "9P2000.L.Google.5"});
  EXPECT_EQ(std::get<Rversion>(v).version, "9P2000.L");
  EXPECT_EQ(std::get<Rversion>(v).msize, 8192u);
  // Extensions are refused in plain 9P2000.L.
  EXPECT_TRUE(std::holds_alternative<Rattach>(
      rc.Call(1, Tattach{0, kNoFid, "u", "/", 0})));
  EXPECT_EQ(rc.ErrnoOf(rc.Call(2, Twalkgetattr{0, 1, {}})),
            static_cast<uint32_t>(ENOSYS));
  // A new Tversion resets the session (fids forgotten).
  rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
  EXPECT_EQ(rc.ErrnoOf(rc.Call(3, Tgetattr{0, kGetAttrAll})),
            static_cast<uint32_t>(EBADF));
}

TEST(ServerRobustnessTest, MalformedRequestsGetRlerror) {
  RawClient rc;
  rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
  // Truncated Tgetattr body, consistent size.
  rc.SendRaw({10, 0, 0, 0, 24, 5, 0, 1, 2, 3});
  auto r = rc.Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, 5);
  EXPECT_EQ(rc.ErrnoOf(r->msg), static_cast<uint32_t>(EPROTO));
  // Unknown type.
  rc.SendRaw({11, 0, 0, 0, 150, 6, 0, 1, 2, 3, 4});
  r = rc.Recv();
  EXPECT_EQ(rc.ErrnoOf(r->msg), static_cast<uint32_t>(ENOSYS));
  // Walk with 17 names.
  std::vector<uint8_t> w = {0, 0, 0, 0, 110, 7, 0,  0, 0,
                            0, 0, 1, 0, 0,   0, 17, 0};
  for (int i = 0; i < 17; ++i) w.insert(w.end(), {1, 0, 'x'});
  w[0] = static_cast<uint8_t>(w.size());
  rc.SendRaw(w);
  r = rc.Recv();
  EXPECT_EQ(rc.ErrnoOf(r->msg), static_cast<uint32_t>(EINVAL));
  // A reply type sent as a request.
  EXPECT_EQ(rc.ErrnoOf(rc.Call(8, Rclunk{})), static_cast<uint32_t>(EPROTO));
  // The connection still works.
  EXPECT_TRUE(std::holds_alternative<Rattach>(
      rc.Call(9, Tattach{0, kNoFid, "u", "/", 0})));
  // An oversized frame closes the connection.
  std::vector<uint8_t> big(9000, 0);
  big[0] = 0x28;
  big[1] = 0x23;
  big[4] = static_cast<uint8_t>(MsgType::kTwrite);
  rc.SendRaw(big);
  EXPECT_FALSE(rc.Recv().ok());
  EXPECT_EQ(rc.WaitServer(), Errno(EPROTO));
}

TEST(ServerRobustnessTest, DuplicateTagInFlightClosesConnection) {
  Server::Options o;
  o.num_workers = 1;
  RawClient rc(o);
  rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
  rc.Call(1, Tattach{0, kNoFid, "u", "/", 0});
  rc.Call(1, Tlcreate{0, "slow", kOpenRdwr, 0644, 0});
  rc.Send(5, Tread{0, 0, 10});  // Blocks in the handler.
  rc.fs().AwaitBlockedReaders(1);
  rc.Send(5, Tclunk{0});
  // The server hangs up (before waiting for its blocked worker).
  EXPECT_FALSE(rc.Recv().ok());
  rc.fs().OpenGate();
  EXPECT_EQ(rc.WaitServer(), Errno(EPROTO));
}

TEST(ServerRobustnessTest, FlushSemantics) {
  Server::Options o;
  o.num_workers = 1;
  RawClient rc(o);
  rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
  rc.Call(1, Tattach{0, kNoFid, "u", "/", 0});
  rc.Call(1, Twalk{0, 1, {}});
  rc.Call(1, Tlcreate{1, "slow", kOpenRdwr, 0644, 0});
  rc.Send(10, Tread{1, 0, 10});  // Running (blocked).
  rc.fs().AwaitBlockedReaders(1);
  rc.Send(11, Tgetattr{0, kGetAttrAll});  // Queued behind it.
  rc.Send(12, Tflush{11});                // Dropped: Rflush, no Rgetattr.
  auto r = rc.Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, 12);
  EXPECT_TRUE(std::holds_alternative<Rflush>(r->msg));
  rc.Send(13, Tflush{10});  // Running: Rread first, then Rflush.
  absl::SleepFor(absl::Milliseconds(20));
  rc.fs().OpenGate();
  r = rc.Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, 10);
  EXPECT_TRUE(std::holds_alternative<Rread>(r->msg));
  r = rc.Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, 13);
  EXPECT_TRUE(std::holds_alternative<Rflush>(r->msg));
  // Tag 11 was never answered: the next reply is for the next request.
  auto m = rc.Call(14, Tclunk{1});
  EXPECT_TRUE(std::holds_alternative<Rclunk>(m));
}

// Serves Tgetattr on the reading thread.
class InlineGetattrFs : public MemFsHandler {
 public:
  bool ServesInline(MsgType type) const override {
    return type == MsgType::kTgetattr;
  }
};

TEST(ServerRobustnessTest, InlineRequestsDoNotWaitForWorkers) {
  Server::Options o;
  o.num_workers = 1;
  RawClientT<InlineGetattrFs> rc(o);
  rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
  rc.Call(1, Tattach{0, kNoFid, "u", "/", 0});
  rc.Call(1, Twalk{0, 1, {}});
  rc.Call(1, Tlcreate{1, "slow", kOpenRdwr, 0644, 0});
  rc.Send(10, Tread{1, 0, 10});  // The only worker blocks in it.
  rc.fs().AwaitBlockedReaders(1);
  // Answered on the reading thread, though no worker is free.
  EXPECT_TRUE(
      std::holds_alternative<Rgetattr>(rc.Call(11, Tgetattr{0, kGetAttrAll})));
  // Already answered: a flush of it is answered at once, and the tag can
  // be used again.
  EXPECT_TRUE(std::holds_alternative<Rflush>(rc.Call(12, Tflush{11})));
  EXPECT_TRUE(
      std::holds_alternative<Rgetattr>(rc.Call(11, Tgetattr{0, kGetAttrAll})));
  rc.fs().OpenGate();
  auto r = rc.Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, 10);
  EXPECT_TRUE(std::holds_alternative<Rread>(r->msg));
}

TEST(ServerRobustnessTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(4242);
  for (int round = 0; round < 20; ++round) {
    RawClient rc;
    (void)rc.Call(kNoTag, Tversion{8192, "9P2000.L"});
    // Plausible frames with random bodies, then raw noise.
    std::thread drain([&] {
      while (rc.Recv().ok()) {
      }
    });
    for (int i = 0; i < 50; ++i) {
      std::vector<uint8_t> b(kHeaderSize + rng() % 40);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      b[0] = static_cast<uint8_t>(b.size());
      b[1] = b[2] = b[3] = 0;
      if (rng() % 2) b[4] = static_cast<uint8_t>(2 * (rng() % 60) + 8);
      b[5] = static_cast<uint8_t>(i);  // Distinct tags.
      b[6] = 0;
      rc.SendRaw(b);
    }
    std::vector<uint8_t> noise(256);
    for (auto& x : noise) x = static_cast<uint8_t>(rng());
    rc.SendRaw(noise);
    rc.HangUp();
    (void)rc.WaitServer();
    drain.join();
  }
}

}  // namespace
}  // namespace p9
