// Tests of inotify: watches, event routing and queueing, the read format,
// blocking, and the lifetime rules under concurrency (run under tsan/asan).
#include "sentry/fs/inotify.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/config.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/file.h"
#include "sentry/fs/mount.h"
#include "sentry/fs/mount_source.h"
#include "sentry/kernel/auth/credentials.h"

namespace sentry::fs {
namespace {

using base::RefPtr;

#ifdef ABSL_HAVE_THREAD_SANITIZER
// absl's deadlock detector (on in these debug builds, where it also checks
// this file's lock order at run time) keeps its lock graph under a lock
// TSan cannot see, as the system abseil is not TSan-instrumented; that
// shows up as false races. Only TSan builds turn it off.
[[maybe_unused]] const bool kDeadlockGraphOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();
#endif

// A bare inode: only its type matters to inotify.
class TestInode : public Inode {
 public:
  TestInode(InodeType type, uint64_t ino)
      : Inode(base::MakeRef<MountSource>(nullptr, MountSourceFlags{},
                                         CachePolicy::kKeep),
              MakeAttr(type, ino)) {}
  ErrnoOr<UnstableAttr> GetAttr(const Context&) override {
    return UnstableAttr{};
  }

 private:
  static StableAttr MakeAttr(InodeType type, uint64_t ino) {
    StableAttr a;
    a.type = type;
    a.ino = ino;
    return a;
  }
};

RefPtr<Inode> NewInode(InodeType type = InodeType::kRegular) {
  static std::atomic<uint64_t> next_ino{1};
  return base::AdoptRef<Inode>(new TestInode(type, next_ino++));
}
RefPtr<Inode> NewDir() { return NewInode(InodeType::kDirectory); }

// One record as read(2) returns it.
struct Ev {
  int wd;
  uint32_t mask;
  uint32_t cookie = 0;
  std::string name = "";
  friend bool operator==(const Ev& a, const Ev& b) {
    return a.wd == b.wd && a.mask == b.mask && a.cookie == b.cookie &&
           a.name == b.name;
  }
  friend std::ostream& operator<<(std::ostream& os, const Ev& e) {
    return os << "{wd=" << e.wd << " mask=0x" << std::hex << e.mask << std::dec
              << " cookie=" << e.cookie << " name=\"" << e.name << "\"}";
  }
};

// Parses n bytes of records, checking the padding rules.
std::vector<Ev> Parse(const char* buf, size_t n) {
  std::vector<Ev> out;
  size_t pos = 0;
  while (pos < n) {
    linux_abi::InotifyEvent h;
    if (n - pos < sizeof(h)) {
      ADD_FAILURE() << "truncated header at " << pos;
      break;
    }
    std::memcpy(&h, buf + pos, sizeof(h));
    pos += sizeof(h);
    EXPECT_EQ(h.len % sizeof(h), 0u) << "len not padded to 16";
    if (h.len > n - pos) {
      ADD_FAILURE() << "truncated name at " << pos;
      break;
    }
    std::string name(buf + pos, strnlen(buf + pos, h.len));
    if (h.len != 0) {
      EXPECT_LT(name.size(), h.len) << "name not NUL-terminated";
      for (size_t i = name.size(); i < h.len; ++i) {
        EXPECT_EQ(buf[pos + i], '\0') << "padding byte " << i << " not NUL";
      }
    }
    pos += h.len;
    out.push_back(Ev{h.wd, h.mask, h.cookie, name});
  }
  return out;
}

class InotifyTest : public ::testing::Test {
 protected:
  // An inotify FD: the File owns the instance, as the kernel's does.
  struct Fd {
    RefPtr<File> file;
    InotifyInstance* in;
    InotifyInstance* operator->() const { return in; }
  };

  static Fd NewFd(bool nonblocking = true, int flags = O_RDONLY) {
    auto ops = std::make_unique<InotifyInstance>(nonblocking);
    InotifyInstance* in = ops.get();
    RefPtr<File> file = base::AdoptRef(
        new File(nullptr, Dirent::NewRoot(NewInode(), "anon_inode:inotify"),
                 flags, std::move(ops)));
    return Fd{std::move(file), in};
  }

  ErrnoOr<size_t> ReadInto(const Fd& fd, void* buf, size_t len) {
    return fd.in->Read(ctx_, *fd.file, IOSequence(buf, len), 0);
  }

  // Everything queued (the FD must be non-blocking, or have events).
  std::vector<Ev> Drain(const Fd& fd) {
    std::vector<char> buf(1 << 20);
    std::vector<Ev> all;
    for (;;) {
      auto n = ReadInto(fd, buf.data(), buf.size());
      if (!n.ok()) {
        EXPECT_EQ(n.error(), Errno(EAGAIN)) << n.error().ToString();
        break;
      }
      for (Ev& e : Parse(buf.data(), *n)) all.push_back(std::move(e));
    }
    return all;
  }

  int Watch(const Fd& fd, const RefPtr<Inode>& inode, uint32_t mask) {
    auto wd = fd->AddWatch(inode, mask);
    EXPECT_TRUE(wd.ok()) << wd.error().ToString();
    return wd.ok() ? *wd : -1;
  }

  Context ctx_{kernel::auth::Credentials::Root()};
};

// ---------------------------------------------------------------- AddWatch

struct AddWatchCase {
  const char* what;
  InodeType type;
  bool already_watched;
  uint32_t mask;
  int err;  // 0: success
};

TEST_F(InotifyTest, AddWatchValidation) {
  const AddWatchCase cases[] = {
      {"add|create", InodeType::kRegular, false,
       IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE, EINVAL},
      {"add|create beats EEXIST", InodeType::kRegular, true,
       IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE, EINVAL},
      {"add|create beats ENOTDIR", InodeType::kRegular, false,
       IN_MODIFY | IN_ONLYDIR | IN_MASK_ADD | IN_MASK_CREATE, EINVAL},
      {"empty mask", InodeType::kRegular, false, 0, EINVAL},
      {"flags only", InodeType::kDirectory, false,
       IN_ONESHOT | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD,
       EINVAL},
      {"output bits only", InodeType::kRegular, false,
       IN_ISDIR | IN_IGNORED | IN_Q_OVERFLOW | IN_UNMOUNT, EINVAL},
      {"no events beats ENOTDIR", InodeType::kRegular, false, IN_ONLYDIR,
       EINVAL},
      {"onlydir on file", InodeType::kRegular, false, IN_ONLYDIR | IN_MODIFY,
       ENOTDIR},
      {"onlydir on symlink", InodeType::kSymlink, false, IN_ONLYDIR | IN_MODIFY,
       ENOTDIR},
      {"onlydir on fifo", InodeType::kFifo, false, IN_ONLYDIR | IN_OPEN,
       ENOTDIR},
      {"onlydir on dir", InodeType::kDirectory, false, IN_ONLYDIR | IN_CREATE,
       0},
      {"create fresh", InodeType::kRegular, false, IN_MASK_CREATE | IN_MODIFY,
       0},
      {"create existing", InodeType::kRegular, true, IN_MASK_CREATE | IN_MODIFY,
       EEXIST},
      {"create existing dir", InodeType::kDirectory, true,
       IN_MASK_CREATE | IN_ONLYDIR | IN_CREATE, EEXIST},
      {"add fresh", InodeType::kRegular, false, IN_MASK_ADD | IN_MODIFY, 0},
      {"add existing", InodeType::kRegular, true, IN_MASK_ADD | IN_ATTRIB, 0},
      {"replace existing", InodeType::kRegular, true, IN_ATTRIB, 0},
      {"all events", InodeType::kRegular, false, IN_ALL_EVENTS, 0},
      {"one event with flags", InodeType::kRegular, false,
       IN_CLOSE_NOWRITE | IN_ONESHOT | IN_DONT_FOLLOW | IN_EXCL_UNLINK, 0},
  };
  for (const AddWatchCase& c : cases) {
    SCOPED_TRACE(c.what);
    Fd fd = NewFd();
    RefPtr<Inode> inode = NewInode(c.type);
    int old_wd = -1;
    if (c.already_watched) old_wd = Watch(fd, inode, IN_MODIFY);
    auto wd = fd->AddWatch(inode, c.mask);
    if (c.err != 0) {
      ASSERT_FALSE(wd.ok());
      EXPECT_EQ(wd.error(), Errno(c.err)) << wd.error().ToString();
      EXPECT_EQ(inode->watches_if_any() ? inode->watches_if_any()->size() : 0,
                c.already_watched ? 1u : 0u);
    } else {
      ASSERT_TRUE(wd.ok()) << wd.error().ToString();
      EXPECT_GT(*wd, 0);
      if (c.already_watched) {
        EXPECT_EQ(*wd, old_wd);
      }
      EXPECT_EQ(inode->watches().size(), 1u);
    }
    EXPECT_TRUE(Drain(fd).empty());  // a failed or updated add queues nothing
  }
}

TEST_F(InotifyTest, WatchDescriptors) {
  Fd a = NewFd(), b = NewFd();
  RefPtr<Inode> x = NewInode(), y = NewDir();
  EXPECT_EQ(Watch(a, x, IN_MODIFY), 1);
  EXPECT_EQ(Watch(a, y, IN_CREATE), 2);
  EXPECT_EQ(Watch(a, x, IN_ATTRIB), 1);  // same inode, same wd
  EXPECT_EQ(Watch(a, x, IN_ACCESS | IN_MASK_ADD), 1);
  EXPECT_EQ(x->watches().size(), 1u);
  // Another instance numbers its own watches.
  EXPECT_EQ(Watch(b, x, IN_MODIFY), 1);
  EXPECT_EQ(x->watches().size(), 2u);
  // Removed numbers are not reused.
  EXPECT_TRUE(a->RemoveWatch(1).ok());
  EXPECT_EQ(Watch(a, x, IN_MODIFY), 3);
}

TEST_F(InotifyTest, WatchPinsInode) {
  Fd fd = NewFd();
  RefPtr<Inode> x = NewInode();
  const int64_t base_refs = x->ReadRefs();
  int wd = Watch(fd, x, IN_MODIFY);
  EXPECT_EQ(x->ReadRefs(), base_refs + 1);
  Watch(fd, x, IN_ATTRIB);  // an update takes no second pin
  EXPECT_EQ(x->ReadRefs(), base_refs + 1);
  EXPECT_TRUE(fd->RemoveWatch(wd).ok());
  EXPECT_EQ(x->ReadRefs(), base_refs);
}

// ------------------------------------------------------------ Mask updates

struct MaskCase {
  const char* what;
  uint32_t first, second;
  std::vector<uint32_t> events;
  std::vector<uint32_t> want;  // masks read (IN_IGNORED included)
};

TEST_F(InotifyTest, MaskReplaceAndAdd) {
  const MaskCase cases[] = {
      {"replace", IN_MODIFY, IN_ATTRIB, {IN_MODIFY, IN_ATTRIB}, {IN_ATTRIB}},
      {"add",
       IN_MODIFY,
       IN_ATTRIB | IN_MASK_ADD,
       {IN_MODIFY, IN_ATTRIB},
       {IN_MODIFY, IN_ATTRIB}},
      {"create fresh then add",
       IN_MODIFY | IN_MASK_CREATE,
       IN_OPEN | IN_MASK_ADD,
       {IN_OPEN, IN_MODIFY, IN_ACCESS},
       {IN_OPEN, IN_MODIFY}},
      {"replace clears oneshot",
       IN_MODIFY | IN_ACCESS | IN_ONESHOT,
       IN_MODIFY | IN_ACCESS,
       {IN_MODIFY, IN_ACCESS},
       {IN_MODIFY, IN_ACCESS}},
      {"add keeps oneshot",
       IN_MODIFY | IN_ONESHOT,
       IN_ACCESS | IN_MASK_ADD,
       {IN_ACCESS, IN_MODIFY},
       {IN_ACCESS, IN_IGNORED}},
      {"replace sets oneshot",
       IN_MODIFY,
       IN_MODIFY | IN_ONESHOT,
       {IN_MODIFY, IN_MODIFY},
       {IN_MODIFY, IN_IGNORED}},
      {"add with the same bits",
       IN_MODIFY,
       IN_MODIFY | IN_MASK_ADD,
       {IN_ATTRIB, IN_MODIFY},
       {IN_MODIFY}},
  };
  for (const MaskCase& c : cases) {
    SCOPED_TRACE(c.what);
    Fd fd = NewFd();
    RefPtr<Inode> x = NewInode();
    int wd = Watch(fd, x, c.first);
    EXPECT_EQ(Watch(fd, x, c.second), wd);
    for (uint32_t m : c.events) NotifyEvent(nullptr, x.get(), m, "");
    std::vector<Ev> want;
    for (uint32_t m : c.want) want.push_back(Ev{wd, m});
    EXPECT_EQ(Drain(fd), want);
  }
}

TEST_F(InotifyTest, ReportsTheWholeEventMask) {
  // A watch that wants any bit of an event gets the event's full mask.
  Fd fd = NewFd();
  RefPtr<Inode> x = NewInode();
  int wd = Watch(fd, x, IN_MODIFY);
  NotifyEvent(nullptr, x.get(), IN_MODIFY | IN_ATTRIB, "");
  NotifyEvent(nullptr, x.get(), IN_ATTRIB | IN_ACCESS, "");  // no bit wanted
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wd, IN_MODIFY | IN_ATTRIB}}));
}

// -------------------------------------------------------------- Coalescing

struct Sent {
  uint32_t mask;
  std::string name;
  uint32_t cookie;
};

struct CoalesceCase {
  const char* what;
  std::vector<Sent> sent;
  size_t want;
};

TEST_F(InotifyTest, CoalescesIdenticalLastEvent) {
  const CoalesceCase cases[] = {
      {"identical pair", {{IN_MODIFY, "f", 0}, {IN_MODIFY, "f", 0}}, 1},
      {"identical run",
       {{IN_MODIFY, "", 0}, {IN_MODIFY, "", 0}, {IN_MODIFY, "", 0}},
       1},
      {"different mask", {{IN_MODIFY, "f", 0}, {IN_ACCESS, "f", 0}}, 2},
      {"different name", {{IN_MODIFY, "f", 0}, {IN_MODIFY, "g", 0}}, 2},
      {"name and none", {{IN_MODIFY, "f", 0}, {IN_MODIFY, "", 0}}, 2},
      {"prefix name", {{IN_MODIFY, "f", 0}, {IN_MODIFY, "ff", 0}}, 2},
      {"different cookie",
       {{IN_MOVED_FROM, "f", 1}, {IN_MOVED_FROM, "f", 2}},
       2},
      {"only the last",
       {{IN_MODIFY, "f", 0}, {IN_ACCESS, "f", 0}, {IN_MODIFY, "f", 0}},
       3},
      {"isdir differs",
       {{IN_CREATE, "d", 0}, {IN_CREATE | IN_ISDIR, "d", 0}},
       2},
  };
  for (const CoalesceCase& c : cases) {
    SCOPED_TRACE(c.what);
    Fd fd = NewFd();
    RefPtr<Inode> dir = NewDir();
    Watch(fd, dir, IN_ALL_EVENTS);
    for (const Sent& s : c.sent) {
      dir->watches().Notify(s.mask, s.name, s.cookie);
    }
    std::vector<Ev> got = Drain(fd);
    EXPECT_EQ(got.size(), c.want);
  }
}

TEST_F(InotifyTest, CoalescingNeedsTheSameWatchAndAnUnreadEvent) {
  Fd fd = NewFd();
  RefPtr<Inode> a = NewInode(), b = NewInode();
  int wa = Watch(fd, a, IN_MODIFY), wb = Watch(fd, b, IN_MODIFY);
  NotifyEvent(nullptr, a.get(), IN_MODIFY, "");
  NotifyEvent(nullptr, b.get(), IN_MODIFY, "");  // other wd: kept
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wa, IN_MODIFY}, {wb, IN_MODIFY}}));
  NotifyEvent(nullptr, b.get(), IN_MODIFY, "");  // the last was read: kept
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wb, IN_MODIFY}}));
}

// ---------------------------------------------------------------- Overflow

TEST_F(InotifyTest, OverflowQueuedOnce) {
  constexpr size_t kMax = InotifyInstance::kMaxQueuedEvents;
  Fd fd = NewFd();
  RefPtr<Inode> x = NewInode();
  int wd = Watch(fd, x, IN_MODIFY | IN_ACCESS);
  auto fill = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) {
      NotifyEvent(nullptr, x.get(), i % 2 ? IN_ACCESS : IN_MODIFY, "");
    }
  };
  fill(kMax + 10);
  EXPECT_EQ(fd->PendingBytes(), (kMax + 1) * 16);
  // Read one: the queue still holds kMax records, overflow included, so
  // it is still full and no second overflow is queued.
  char one[16];
  ASSERT_EQ(*ReadInto(fd, one, sizeof(one)), 16u);
  EXPECT_EQ(Parse(one, 16), (std::vector<Ev>{{wd, IN_MODIFY}}));
  fill(5);
  std::vector<Ev> got = Drain(fd);
  ASSERT_EQ(got.size(), kMax);
  for (size_t i = 0; i + 1 < kMax; ++i) {
    ASSERT_EQ(got[i],
              (Ev{wd, (i % 2) ? uint32_t{IN_MODIFY} : uint32_t{IN_ACCESS}}))
        << i;
  }
  EXPECT_EQ(got.back(), (Ev{-1, IN_Q_OVERFLOW}));
  // Drained: events queue again, and a new overflow can come.
  fill(1);
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wd, IN_MODIFY}}));
  fill(kMax + 1);
  got = Drain(fd);
  ASSERT_EQ(got.size(), kMax + 1);
  EXPECT_EQ(got.back(), (Ev{-1, IN_Q_OVERFLOW}));
  EXPECT_EQ(fd->PendingBytes(), 0u);
}

// ----------------------------------------------------------------- Oneshot

TEST_F(InotifyTest, OneshotFiresOnceThenIgnored) {
  Fd fd = NewFd();
  RefPtr<Inode> x = NewInode();
  const int64_t base_refs = x->ReadRefs();
  int wd = Watch(fd, x, IN_MODIFY | IN_ONESHOT);
  NotifyEvent(nullptr, x.get(), IN_ACCESS, "");  // not wanted: no fire
  EXPECT_FALSE(x->watches().empty());
  NotifyEvent(nullptr, x.get(), IN_MODIFY, "");
  NotifyEvent(nullptr, x.get(), IN_MODIFY, "");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wd, IN_MODIFY}, {wd, IN_IGNORED}}));
  EXPECT_TRUE(x->watches().empty());
  EXPECT_EQ(x->ReadRefs(), base_refs);  // pin dropped
  EXPECT_EQ(fd->RemoveWatch(wd), Errno(EINVAL));
  EXPECT_NE(Watch(fd, x, IN_MODIFY), wd);  // a new watch
}

TEST_F(InotifyTest, OneshotFiresOnceUnderConcurrentNotify) {
  const uint32_t bits[] = {IN_ACCESS,      IN_MODIFY,        IN_ATTRIB,
                           IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN};
  for (int round = 0; round < 50; ++round) {
    Fd fd = NewFd();
    RefPtr<Inode> x = NewInode();
    int wd = Watch(fd, x, IN_ALL_EVENTS | IN_ONESHOT);
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (uint32_t b : bits) {
      ts.emplace_back([&, b] {
        while (!go.load()) {
        }
        NotifyEvent(nullptr, x.get(), b, "");
      });
    }
    go = true;
    for (auto& t : ts) t.join();
    std::vector<Ev> got = Drain(fd);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].wd, wd);
    EXPECT_EQ(got[1], (Ev{wd, IN_IGNORED}));
    EXPECT_TRUE(x->watches().empty());
  }
}

// ------------------------------------------------------------- RemoveWatch

TEST_F(InotifyTest, RemoveWatchQueuesIgnored) {
  Fd fd = NewFd();
  RefPtr<Inode> x = NewInode(), y = NewInode();
  int wx = Watch(fd, x, IN_MODIFY), wy = Watch(fd, y, IN_MODIFY);
  NotifyEvent(nullptr, x.get(), IN_MODIFY, "");
  EXPECT_TRUE(fd->RemoveWatch(wx).ok());
  NotifyEvent(nullptr, x.get(), IN_MODIFY, "");  // no longer watched
  NotifyEvent(nullptr, y.get(), IN_MODIFY, "");
  EXPECT_EQ(
      Drain(fd),
      (std::vector<Ev>{{wx, IN_MODIFY}, {wx, IN_IGNORED}, {wy, IN_MODIFY}}));
  EXPECT_TRUE(x->watches().empty());
  EXPECT_EQ(y->watches().size(), 1u);
  for (int bad : {wx, 0, -1, 42}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(fd->RemoveWatch(bad), Errno(EINVAL));
  }
  // Another instance's wd means nothing here.
  Fd other = NewFd();
  EXPECT_EQ(other->RemoveWatch(wy), Errno(EINVAL));
  EXPECT_TRUE(Drain(fd).empty());
}

// ---------------------------------------------------------- HandleDeletion

TEST_F(InotifyTest, HandleDeletion) {
  struct Case {
    const char* what;
    uint32_t mask;
    std::vector<uint32_t> want;
  };
  const Case cases[] = {
      {"asked for delete_self", IN_DELETE_SELF, {IN_DELETE_SELF, IN_IGNORED}},
      {"did not ask", IN_MODIFY, {IN_IGNORED}},
      {"oneshot", IN_DELETE_SELF | IN_ONESHOT, {IN_DELETE_SELF, IN_IGNORED}},
      {"everything", IN_ALL_EVENTS, {IN_DELETE_SELF, IN_IGNORED}},
  };
  for (InodeType type : {InodeType::kRegular, InodeType::kDirectory}) {
    RefPtr<Inode> x = NewInode(type);
    const int64_t base_refs = x->ReadRefs();
    std::vector<Fd> fds;
    std::vector<int> wds;
    for (const Case& c : cases) {
      fds.push_back(NewFd());
      wds.push_back(Watch(fds.back(), x, c.mask));
    }
    x->watches().HandleDeletion();
    EXPECT_TRUE(x->watches().empty());
    EXPECT_EQ(x->ReadRefs(), base_refs);
    for (size_t i = 0; i < fds.size(); ++i) {
      SCOPED_TRACE(cases[i].what);
      std::vector<Ev> want;
      for (uint32_t m : cases[i].want) want.push_back(Ev{wds[i], m});
      EXPECT_EQ(Drain(fds[i]), want);  // no IN_ISDIR, even on a directory
      EXPECT_EQ(fds[i]->RemoveWatch(wds[i]), Errno(EINVAL));
    }
    x->watches().HandleDeletion();  // nothing left: no-op
  }
}

// ----------------------------------------------------------- Event routing

struct RouteCase {
  uint32_t mask;
  bool child_is_dir;
  uint32_t parent_sees;  // 0: nothing
  uint32_t child_sees;
};

TEST_F(InotifyTest, NotifyEventRouting) {
  constexpr uint32_t D = IN_ISDIR;
  const RouteCase cases[] = {
      {IN_CREATE, false, IN_CREATE, 0},
      {IN_CREATE, true, IN_CREATE | D, 0},
      {IN_DELETE, false, IN_DELETE, 0},
      {IN_DELETE, true, IN_DELETE | D, 0},
      {IN_MOVED_FROM, false, IN_MOVED_FROM, 0},
      {IN_MOVED_TO, true, IN_MOVED_TO | D, 0},
      {IN_ATTRIB, false, IN_ATTRIB, IN_ATTRIB},
      {IN_ATTRIB, true, IN_ATTRIB | D, IN_ATTRIB | D},
      {IN_MODIFY, false, IN_MODIFY, IN_MODIFY},
      {IN_ACCESS, false, IN_ACCESS, IN_ACCESS},
      {IN_ACCESS, true, IN_ACCESS | D, IN_ACCESS | D},
      {IN_OPEN, false, IN_OPEN, IN_OPEN},
      {IN_OPEN, true, IN_OPEN | D, IN_OPEN | D},
      {IN_CLOSE_WRITE, false, IN_CLOSE_WRITE, IN_CLOSE_WRITE},
      {IN_CLOSE_NOWRITE, true, IN_CLOSE_NOWRITE | D, IN_CLOSE_NOWRITE | D},
      {IN_DELETE_SELF, false, 0, IN_DELETE_SELF},
      {IN_DELETE_SELF, true, 0, IN_DELETE_SELF},  // inotify omits IN_ISDIR
      {IN_MOVE_SELF, false, 0, IN_MOVE_SELF},
      {IN_MOVE_SELF, true, 0, IN_MOVE_SELF},
      {IN_MODIFY | IN_ATTRIB, false, IN_MODIFY | IN_ATTRIB,
       IN_MODIFY | IN_ATTRIB},
  };
  for (const RouteCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "mask=0x" << std::hex << c.mask
                                      << " dir=" << c.child_is_dir);
    RefPtr<Inode> parent = NewDir();
    RefPtr<Inode> child = c.child_is_dir ? NewDir() : NewInode();
    Fd pfd = NewFd(), cfd = NewFd();
    int pwd = Watch(pfd, parent, IN_ALL_EVENTS);
    int cwd = Watch(cfd, child, IN_ALL_EVENTS);
    NotifyEvent(parent.get(), child.get(), c.mask, "kid", 7);
    std::vector<Ev> want_p, want_c;
    if (c.parent_sees) want_p.push_back(Ev{pwd, c.parent_sees, 7, "kid"});
    if (c.child_sees) want_c.push_back(Ev{cwd, c.child_sees, 7, ""});
    EXPECT_EQ(Drain(pfd), want_p);
    EXPECT_EQ(Drain(cfd), want_c);
  }
}

TEST_F(InotifyTest, NotifyEventEdgeCases) {
  Fd fd = NewFd();
  RefPtr<Inode> parent = NewDir(), child = NewInode();
  int pwd = Watch(fd, parent, IN_ALL_EVENTS);
  int cwd = Watch(fd, child, IN_ALL_EVENTS);
  // One instance watching both: the parent's event comes first.
  NotifyEvent(parent.get(), child.get(), IN_MODIFY, "f");
  EXPECT_EQ(Drain(fd),
            (std::vector<Ev>{{pwd, IN_MODIFY, 0, "f"}, {cwd, IN_MODIFY}}));
  // No child (it is gone, or unknown): the parent still hears; IN_ISDIR
  // passed in by the caller is kept.
  NotifyEvent(parent.get(), nullptr, IN_DELETE | IN_ISDIR, "d");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{pwd, IN_DELETE | IN_ISDIR, 0, "d"}}));
  // No parent (a root).
  NotifyEvent(nullptr, child.get(), IN_OPEN, "ignored");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{cwd, IN_OPEN}}));
  // parent == child (the root is its own parent): reported once, unnamed.
  NotifyEvent(parent.get(), parent.get(), IN_OPEN, "/");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{pwd, IN_OPEN | IN_ISDIR}}));
  // Events the watch does not want are not queued.
  Fd only_create = NewFd();
  int owd = Watch(only_create, parent, IN_CREATE);
  NotifyEvent(parent.get(), child.get(), IN_DELETE, "f");
  NotifyEvent(parent.get(), child.get(), IN_CREATE, "f");
  EXPECT_EQ(Drain(only_create), (std::vector<Ev>{{owd, IN_CREATE, 0, "f"}}));
  Drain(fd);
}

TEST_F(InotifyTest, RenameCookiePairs) {
  Fd fd = NewFd();
  RefPtr<Inode> from = NewDir(), to = NewDir(), moved = NewInode();
  int wf = Watch(fd, from, IN_MOVE), wt = Watch(fd, to, IN_MOVE);
  int wm = Watch(fd, moved, IN_MOVE_SELF);
  uint32_t cookie = NewInotifyCookie();
  EXPECT_NE(cookie, 0u);
  NotifyEvent(from.get(), moved.get(), IN_MOVED_FROM, "a", cookie);
  NotifyEvent(to.get(), moved.get(), IN_MOVED_TO, "b", cookie);
  NotifyEvent(nullptr, moved.get(), IN_MOVE_SELF, "");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wf, IN_MOVED_FROM, cookie, "a"},
                                        {wt, IN_MOVED_TO, cookie, "b"},
                                        {wm, IN_MOVE_SELF}}));
}

TEST_F(InotifyTest, CookiesAreDistinctAndNonZero) {
  uint32_t prev = NewInotifyCookie();
  for (int i = 0; i < 1000; ++i) {
    uint32_t c = NewInotifyCookie();
    EXPECT_NE(c, 0u);
    EXPECT_NE(c, prev);
    prev = c;
  }
}

TEST_F(InotifyTest, UnwatchedInodesStayCheap) {
  RefPtr<Inode> parent = NewDir(), child = NewInode();
  NotifyEvent(parent.get(), child.get(), IN_MODIFY, "f");
  NotifyEvent(parent.get(), child.get(), IN_DELETE_SELF, "f");
  EXPECT_EQ(parent->watches_if_any(), nullptr);  // nothing was allocated
  EXPECT_EQ(child->watches_if_any(), nullptr);
  // Once watched and unwatched, an empty Watches remains and is skipped.
  Fd fd = NewFd();
  int wd = Watch(fd, child, IN_MODIFY);
  EXPECT_TRUE(fd->RemoveWatch(wd).ok());
  ASSERT_NE(child->watches_if_any(), nullptr);
  EXPECT_TRUE(child->watches_if_any()->empty());
  NotifyEvent(parent.get(), child.get(), IN_MODIFY, "f");
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wd, IN_IGNORED}}));
}

// ------------------------------------------------------------- Read format

TEST_F(InotifyTest, NamesArePaddedToSixteen) {
  const struct {
    size_t name_len;
    uint32_t len;
  } cases[] = {{0, 0},   {1, 16},  {14, 16}, {15, 16},  {16, 32},
               {17, 32}, {31, 32}, {32, 48}, {255, 256}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name_len);
    Fd fd = NewFd();
    RefPtr<Inode> dir = NewDir();
    int wd = Watch(fd, dir, IN_CREATE);
    std::string name(c.name_len, 'n');
    dir->watches().Notify(IN_CREATE, name, 0);
    EXPECT_EQ(fd->PendingBytes(), 16 + c.len);
    std::vector<char> buf(1024, '\xAA');
    auto n = ReadInto(fd, buf.data(), buf.size());
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, 16 + c.len);
    linux_abi::InotifyEvent h;
    std::memcpy(&h, buf.data(), sizeof(h));
    EXPECT_EQ(h.wd, wd);
    EXPECT_EQ(h.mask, static_cast<uint32_t>(IN_CREATE));
    EXPECT_EQ(h.cookie, 0u);
    EXPECT_EQ(h.len, c.len);
    EXPECT_EQ(std::string(buf.data() + 16, c.name_len), name);
    for (size_t i = 16 + c.name_len; i < *n; ++i) {
      ASSERT_EQ(buf[i], '\0') << i;
    }
    EXPECT_EQ(buf[*n], '\xAA');  // nothing written past the record
    EXPECT_EQ(fd->PendingBytes(), 0u);
  }
}

TEST_F(InotifyTest, ReadBufferSizes) {
  // Queue: a 16-byte record (no name), then a 32-byte one ("abc").
  const struct {
    size_t buf;
    int err;
    size_t got;
  } cases[] = {{0, EINVAL, 0}, {1, EINVAL, 0}, {15, EINVAL, 0}, {16, 0, 16},
               {17, 0, 16},    {47, 0, 16},    {48, 0, 48},     {4096, 0, 48}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.buf);
    Fd fd = NewFd();
    RefPtr<Inode> dir = NewDir();
    int wd = Watch(fd, dir, IN_ALL_EVENTS);
    dir->watches().Notify(IN_ATTRIB, "", 0);
    dir->watches().Notify(IN_CREATE, "abc", 0);
    std::vector<char> buf(c.buf + 1);
    auto n = ReadInto(fd, buf.data(), c.buf);
    if (c.err) {
      ASSERT_FALSE(n.ok());
      EXPECT_EQ(n.error(), Errno(c.err));
      EXPECT_EQ(fd->PendingBytes(), 48u);  // nothing consumed
      continue;
    }
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    EXPECT_EQ(*n, c.got);
    std::vector<Ev> want = {{wd, IN_ATTRIB}, {wd, IN_CREATE, 0, "abc"}};
    want.resize(c.got == 16 ? 1 : 2);
    EXPECT_EQ(Parse(buf.data(), *n), want);
    EXPECT_EQ(fd->PendingBytes(), 48 - c.got);
  }
  // A first record bigger than the buffer fails even if a later one fits.
  Fd fd = NewFd();
  RefPtr<Inode> dir = NewDir();
  Watch(fd, dir, IN_ALL_EVENTS);
  dir->watches().Notify(IN_CREATE, "long-enough-name", 0);  // 48 bytes
  dir->watches().Notify(IN_ATTRIB, "", 0);
  char buf[32];
  EXPECT_EQ(ReadInto(fd, buf, sizeof(buf)).error(), Errno(EINVAL));
}

TEST_F(InotifyTest, ReadIntoScatteredBuffers) {
  Fd fd = NewFd();
  RefPtr<Inode> dir = NewDir();
  int wd = Watch(fd, dir, IN_ALL_EVENTS);
  dir->watches().Notify(IN_CREATE, "abc", 0);
  dir->watches().Notify(IN_DELETE, "xyz", 0);
  char a[5], b[30], c[100];
  IOSequence dst;
  dst.Append(a, sizeof(a));
  dst.Append(b, sizeof(b));
  dst.Append(c, sizeof(c));
  auto n = fd->Read(ctx_, *fd.file, dst, 0);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 64u);
  std::string flat =
      std::string(a, 5) + std::string(b, 30) + std::string(c, 29);
  EXPECT_EQ(
      Parse(flat.data(), flat.size()),
      (std::vector<Ev>{{wd, IN_CREATE, 0, "abc"}, {wd, IN_DELETE, 0, "xyz"}}));
}

TEST_F(InotifyTest, Fionread) {
  Fd fd = NewFd();
  RefPtr<Inode> dir = NewDir();
  Watch(fd, dir, IN_ALL_EVENTS);
  int n = -1;
  ASSERT_TRUE(
      fd->Ioctl(ctx_, *fd.file, FIONREAD, reinterpret_cast<uintptr_t>(&n))
          .ok());
  EXPECT_EQ(n, 0);
  dir->watches().Notify(IN_CREATE, "abc", 0);                 // 32
  dir->watches().Notify(IN_ATTRIB, "", 0);                    // 16
  dir->watches().Notify(IN_DELETE, std::string(20, 'x'), 0);  // 16 + 32
  auto r = fd->Ioctl(ctx_, *fd.file, FIONREAD, reinterpret_cast<uintptr_t>(&n));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(n, 96);
  EXPECT_EQ(static_cast<size_t>(n), fd->PendingBytes());
  char buf[32];
  ASSERT_EQ(*ReadInto(fd, buf, sizeof(buf)), 32u);
  ASSERT_TRUE(
      fd->Ioctl(ctx_, *fd.file, FIONREAD, reinterpret_cast<uintptr_t>(&n))
          .ok());
  EXPECT_EQ(n, 64);
  EXPECT_EQ(fd->Ioctl(ctx_, *fd.file, FIONREAD, 0).error(), Errno(EFAULT));
  EXPECT_EQ(fd->Ioctl(ctx_, *fd.file, TCGETS, 0).error(), Errno(ENOTTY));
}

// ---------------------------------------------------------------- Blocking

TEST_F(InotifyTest, NonBlockingEmptyReadIsEagain) {
  char buf[256];
  {
    SCOPED_TRACE("IN_NONBLOCK instance");
    Fd fd = NewFd(/*nonblocking=*/true);
    EXPECT_EQ(ReadInto(fd, buf, sizeof(buf)).error(), Errno(EAGAIN));
  }
  {
    SCOPED_TRACE("O_NONBLOCK file");
    Fd fd = NewFd(/*nonblocking=*/false, O_RDONLY | O_NONBLOCK);
    EXPECT_EQ(ReadInto(fd, buf, sizeof(buf)).error(), Errno(EAGAIN));
    EXPECT_EQ(fd.file->Read(ctx_, IOSequence(buf, sizeof(buf))).error(),
              Errno(EAGAIN));
  }
  {
    SCOPED_TRACE("F_SETFL O_NONBLOCK");
    Fd fd = NewFd(/*nonblocking=*/false);
    fd.file->SetStatusFlags(O_NONBLOCK);
    EXPECT_EQ(ReadInto(fd, buf, sizeof(buf)).error(), Errno(EAGAIN));
  }
}

TEST_F(InotifyTest, BlockingReadWokenByEvent) {
  Fd fd = NewFd(/*nonblocking=*/false);
  RefPtr<Inode> x = NewInode();
  int wd = Watch(fd, x, IN_MODIFY);
  std::atomic<bool> sent{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sent = true;
    NotifyEvent(nullptr, x.get(), IN_MODIFY, "");
  });
  char buf[64];
  auto n = ReadInto(fd, buf, sizeof(buf));
  EXPECT_TRUE(sent.load());  // it did wait
  writer.join();
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(Parse(buf, *n), (std::vector<Ev>{{wd, IN_MODIFY}}));
}

TEST_F(InotifyTest, BlockingReadThroughFile) {
  Fd fd = NewFd(/*nonblocking=*/false);
  RefPtr<Inode> dir = NewDir();
  int wd = Watch(fd, dir, IN_CREATE);
  std::thread creator([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    NotifyEvent(dir.get(), nullptr, IN_CREATE, "new");
  });
  char buf[64];
  auto n = fd.file->Read(ctx_, IOSequence(buf, sizeof(buf)));
  creator.join();
  ASSERT_TRUE(n.ok()) << n.error().ToString();
  EXPECT_EQ(Parse(buf, *n), (std::vector<Ev>{{wd, IN_CREATE, 0, "new"}}));
}

TEST_F(InotifyTest, BlockingReadInterrupted) {
  Fd fd = NewFd(/*nonblocking=*/false);
  RefPtr<Inode> x = NewInode();
  int wd = Watch(fd, x, IN_MODIFY);
  char buf[64];
  {
    SCOPED_TRACE("interrupted while waiting");
    std::thread killer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ctx_.Interrupt();
    });
    auto n = ReadInto(fd, buf, sizeof(buf));
    killer.join();
    EXPECT_EQ(n.error(), Errno(EINTR));
  }
  {
    SCOPED_TRACE("already interrupted, nothing queued");
    EXPECT_EQ(ReadInto(fd, buf, sizeof(buf)).error(), Errno(EINTR));
  }
  {
    SCOPED_TRACE("already interrupted, events queued: they are read");
    NotifyEvent(nullptr, x.get(), IN_MODIFY, "");
    auto n = ReadInto(fd, buf, sizeof(buf));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(Parse(buf, *n), (std::vector<Ev>{{wd, IN_MODIFY}}));
  }
  ctx_.ClearInterrupt();
}

// ------------------------------------------------------- Release, lifetime

TEST_F(InotifyTest, LastCloseRemovesWatchesAndPins) {
  RefPtr<Inode> a = NewInode(), b = NewDir();
  const int64_t ra = a->ReadRefs(), rb = b->ReadRefs();
  {
    Fd fd = NewFd();
    Watch(fd, a, IN_MODIFY);
    Watch(fd, b, IN_CREATE | IN_ONESHOT);
    NotifyEvent(nullptr, a.get(), IN_MODIFY, "");
    EXPECT_EQ(a->ReadRefs(), ra + 1);
  }  // the File's last reference: Release, then ~InotifyInstance
  EXPECT_TRUE(a->watches().empty());
  EXPECT_TRUE(b->watches().empty());
  EXPECT_EQ(a->ReadRefs(), ra);
  EXPECT_EQ(b->ReadRefs(), rb);
  NotifyEvent(b.get(), a.get(), IN_MODIFY, "a");  // nobody listens
}

TEST_F(InotifyTest, DestroyedWithoutReleaseCleansUp) {
  RefPtr<Inode> a = NewInode();
  const int64_t ra = a->ReadRefs();
  auto in = std::make_unique<InotifyInstance>(true);
  ASSERT_TRUE(in->AddWatch(a, IN_MODIFY).ok());
  in.reset();
  EXPECT_TRUE(a->watches().empty());
  EXPECT_EQ(a->ReadRefs(), ra);
}

TEST_F(InotifyTest, ReleasedInstanceQueuesNothing) {
  Fd fd = NewFd();
  RefPtr<Inode> a = NewInode();
  Watch(fd, a, IN_MODIFY);
  NotifyEvent(nullptr, a.get(), IN_MODIFY, "");
  fd->Release();  // the File's own Release will repeat it: idempotent
  EXPECT_EQ(fd->PendingBytes(), 0u);
  EXPECT_TRUE(a->watches().empty());
  EXPECT_EQ(fd->AddWatch(a, IN_MODIFY).error(), Errno(EBADF));
  NotifyEvent(nullptr, a.get(), IN_MODIFY, "");
  EXPECT_EQ(fd->PendingBytes(), 0u);
}

TEST_F(InotifyTest, WatchesDestroyedWithWatchesAttachedDetach) {
  // An inode whose lifetime is not managed by references (here: on the
  // stack) dies with a watch on it: ~Watches detaches the watch without
  // touching the inode (so asan stays quiet) and the instance sees
  // IN_IGNORED.
  Fd fd = NewFd();
  int wd;
  {
    TestInode doomed(InodeType::kRegular, 999999);
    RefPtr<Inode> ref(&doomed);
    wd = Watch(fd, ref, IN_MODIFY);
    NotifyEvent(nullptr, &doomed, IN_MODIFY, "");
  }
  EXPECT_EQ(Drain(fd), (std::vector<Ev>{{wd, IN_MODIFY}, {wd, IN_IGNORED}}));
  EXPECT_EQ(fd->RemoveWatch(wd), Errno(EINVAL));
}

// ------------------------------------------------------------- Concurrency

TEST_F(InotifyTest, NotifyRacesRelease) {
  // Notifiers hammer watched inodes while instances come and go: the
  // instance's state must outlive every Notify that can still reach it.
  RefPtr<Inode> dir = NewDir(), file = NewInode();
  const int64_t rd = dir->ReadRefs(), rf = file->ReadRefs();
  std::atomic<bool> stop{false};
  std::vector<std::thread> notifiers;
  for (int t = 0; t < 4; ++t) {
    notifiers.emplace_back([&, t] {
      const uint32_t masks[] = {IN_MODIFY, IN_ACCESS, IN_ATTRIB, IN_OPEN};
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        NotifyEvent(dir.get(), file.get(), masks[(i + t) % 4], "f",
                    static_cast<uint32_t>(i));
        if (i % 64 == 0) std::this_thread::yield();
      }
    });
  }
  char buf[4096];
  for (int round = 0; round < 300; ++round) {
    Fd fd = NewFd();
    Watch(fd, dir, IN_ALL_EVENTS);
    Watch(fd, file, (round % 2 ? IN_ONESHOT : 0) | IN_MODIFY | IN_ACCESS);
    if (round % 3 == 0) (void)ReadInto(fd, buf, sizeof(buf));
    if (round % 5 == 0) {
      std::thread closer([f = std::move(fd.file)]() mutable { f.reset(); });
      closer.join();
    }
  }  // each Fd's File goes here (or in the closer thread)
  stop = true;
  for (auto& t : notifiers) t.join();
  EXPECT_TRUE(dir->watches().empty());
  EXPECT_TRUE(file->watches().empty());
  EXPECT_EQ(dir->ReadRefs(), rd);
  EXPECT_EQ(file->ReadRefs(), rf);
}

TEST_F(InotifyTest, ConcurrentWatchChurn) {
  // AddWatch/RemoveWatch from several threads against notifiers, a
  // blocking reader and HandleDeletion on a second inode set.
  Fd fd = NewFd(/*nonblocking=*/false);
  std::vector<RefPtr<Inode>> inodes;
  for (int i = 0; i < 8; ++i) inodes.push_back(i % 2 ? NewDir() : NewInode());
  std::vector<int64_t> base_refs;
  for (auto& in : inodes) base_refs.push_back(in->ReadRefs());
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto& in = inodes[(i * 3 + t) % inodes.size()];
        uint32_t mask = IN_ALL_EVENTS;
        if (i % 3 == 0) mask |= IN_ONESHOT;
        if (i % 5 == 0) mask = IN_MODIFY | IN_MASK_ADD;
        auto wd = fd->AddWatch(in, mask);
        ASSERT_TRUE(wd.ok());
        if (i % 2) {
          Errno e = fd->RemoveWatch(*wd);
          // Another thread, a oneshot or a deletion may have removed it.
          ASSERT_TRUE(e.ok() || e == Errno(EINVAL)) << e.ToString();
        }
        if (i % 97 == 0) in->watches().HandleDeletion();
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    ts.emplace_back([&, t] {
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        NotifyEvent(inodes[1].get(), inodes[(i + t) % inodes.size()].get(),
                    IN_MODIFY, "x");
      }
    });
  }
  std::thread reader([&] {
    std::vector<char> buf(8192);
    while (!stop.load(std::memory_order_relaxed)) {
      auto n = ReadInto(fd, buf.data(), buf.size());
      if (n.ok()) {
        for (const Ev& e : Parse(buf.data(), *n)) {
          ASSERT_TRUE(e.wd > 0 || e.mask == IN_Q_OVERFLOW);
        }
      } else {
        ASSERT_EQ(n.error(), Errno(EINTR));
      }
    }
  });
  for (int t = 0; t < 3; ++t) ts[t].join();
  stop = true;
  ctx_.Interrupt();  // unblocks the reader if the queue is empty
  for (size_t t = 3; t < ts.size(); ++t) ts[t].join();
  reader.join();
  ctx_.ClearInterrupt();
  fd.file.reset();
  for (size_t i = 0; i < inodes.size(); ++i) {
    EXPECT_TRUE(inodes[i]->watches().empty()) << i;
    EXPECT_EQ(inodes[i]->ReadRefs(), base_refs[i]) << i;
  }
}

}  // namespace
}  // namespace sentry::fs
