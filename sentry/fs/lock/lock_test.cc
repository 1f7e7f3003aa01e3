// Tests for sentry/fs/lock: range computation, POSIX lock splitting/merging
// and conflicts (checked against a per-byte model), blocking, deadlock
// detection, interruption, and flock.
#include "sentry/fs/lock/lock.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sentry::fs::lock {

// Readable gtest output for the library's value types.
void PrintTo(const LockRange& r, std::ostream* os) {
  *os << "[" << r.start << ", ";
  if (r.end == kLockEOF) {
    *os << "EOF";
  } else {
    *os << r.end;
  }
  *os << ")";
}
void PrintTo(LockType t, std::ostream* os) {
  *os << (t == LockType::kRead ? "R" : "W");
}
void PrintTo(const LockInfo& l, std::ostream* os) {
  *os << "{owner " << l.owner
      << (l.kind == OwnerKind::kOpenFile ? " ofd " : " ");
  PrintTo(l.type, os);
  *os << " ";
  PrintTo(l.range, os);
  *os << " pid " << l.pid << "}";
}
void PrintTo(const Conflict& c, std::ostream* os) {
  *os << "{";
  PrintTo(c.type, os);
  *os << " ";
  PrintTo(c.range, os);
  *os << " pid " << c.pid << "}";
}

namespace {

using ::testing::ElementsAre;

constexpr LockType R = LockType::kRead;
constexpr LockType W = LockType::kWrite;
constexpr OwnerId kA = 0xA;
constexpr OwnerId kB = 0xB;
constexpr OwnerId kC = 0xC;

LockInfo Info(OwnerId owner, LockType type, uint64_t start, uint64_t end,
              int32_t pid) {
  return LockInfo{owner, OwnerKind::kProcess, type, {start, end}, pid};
}

// Spins until pred() holds (or fails the test after 10s).
template <typename Pred>
void WaitFor(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// ---------------------------------------------------------------------------
// ComputeRange

TEST(ComputeRangeTest, Table) {
  constexpr int64_t kMax = INT64_MAX;
  struct Case {
    const char* name;
    int16_t whence;
    int64_t start, len, offset, size;
    int err;  // 0: expect `want`.
    LockRange want;
  };
  const Case cases[] = {
      {"whole file", SEEK_SET, 0, 0, 7, 9, 0, {0, kLockEOF}},
      {"set", SEEK_SET, 10, 5, 7, 9, 0, {10, 15}},
      {"cur", SEEK_CUR, -10, 5, 100, 0, 0, {90, 95}},
      {"cur to eof", SEEK_CUR, 0, 0, 100, 0, 0, {100, kLockEOF}},
      {"end", SEEK_END, 0, 0, 0, 50, 0, {50, kLockEOF}},
      {"end negative start", SEEK_END, -20, 10, 0, 50, 0, {30, 40}},
      {"end beyond eof", SEEK_END, 5, 1, 0, 50, 0, {55, 56}},
      {"negative len", SEEK_SET, 10, -5, 0, 0, 0, {5, 10}},
      {"negative len to 0", SEEK_SET, 10, -10, 0, 0, 0, {0, 10}},
      {"negative len cur", SEEK_CUR, 0, -4, 20, 0, 0, {16, 20}},
      {"negative len before 0", SEEK_SET, 3, -5, 0, 0, EINVAL, {}},
      {"negative len at 0", SEEK_SET, 0, -1, 0, 0, EINVAL, {}},
      {"start before 0", SEEK_SET, -1, 1, 0, 0, EINVAL, {}},
      {"cur before 0", SEEK_CUR, -6, 1, 5, 0, EINVAL, {}},
      {"end before 0", SEEK_END, -51, 0, 0, 50, EINVAL, {}},
      {"bad whence", 3, 0, 0, 0, 0, EINVAL, {}},
      {"negative whence", -1, 0, 0, 0, 0, EINVAL, {}},
      {"start overflow", SEEK_END, 1, 1, 0, kMax, EOVERFLOW, {}},
      {"cur overflow", SEEK_CUR, kMax, 0, 1, 0, EOVERFLOW, {}},
      {"len overflow", SEEK_SET, kMax, 2, 0, 0, EOVERFLOW, {}},
      {"len overflow big", SEEK_SET, 2, kMax, 0, 0, EOVERFLOW, {}},
      // A lock whose last byte is OFFSET_MAX is a lock to EOF in Linux.
      {"last byte max", SEEK_SET, kMax, 1, 0, 0, 0, {kMax, kLockEOF}},
      {"len max from 0", SEEK_SET, 0, kMax, 0, 0, 0, {0, kMax}},
      {"len max from 1", SEEK_SET, 1, kMax, 0, 0, 0, {1, kLockEOF}},
      {"len max-1 from 0", SEEK_SET, 0, kMax - 1, 0, 0, 0, {0, kMax - 1}},
      {"start max to eof", SEEK_SET, kMax, 0, 0, 0, 0, {kMax, kLockEOF}},
      {"min len", SEEK_SET, 0, INT64_MIN, 0, 0, EINVAL, {}},
      {"min len from max", SEEK_SET, kMax, INT64_MIN + 1, 0, 0, 0, {0, kMax}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    base::ErrnoOr<LockRange> r =
        ComputeRange(c.whence, c.start, c.len, c.offset, c.size);
    if (c.err != 0) {
      EXPECT_EQ(r.error().value(), c.err) << r.error().ToString();
    } else {
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_EQ(r->start, c.want.start);
      EXPECT_EQ(r->end, c.want.end);
    }
  }
}

TEST(ComputeRangeTest, FlockLen) {
  EXPECT_EQ(FlockLen({0, kLockEOF}), 0);
  EXPECT_EQ(FlockLen({10, 15}), 5);
  EXPECT_EQ(FlockLen({5, 6}), 1);
}

// ---------------------------------------------------------------------------
// PosixLocks: splitting, merging, conversion

TEST(PosixLocksTest, UnlockMiddleSplits) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 100}, false), base::Errno::Ok());
  l.Unlock(kA, {40, 60});
  EXPECT_THAT(l.Locks(),
              ElementsAre(Info(kA, W, 0, 40, 1), Info(kA, W, 60, 100, 1)));
  // The hole is free for others; the rest is not.
  EXPECT_EQ(l.Lock(kB, 2, W, {40, 60}, false), base::Errno::Ok());
  EXPECT_EQ(l.Lock(kB, 2, R, {39, 41}, false), base::Errno(EAGAIN));
}

// F_OFD_GETLK with F_UNLCK: the owner's own first overlapping lock, of
// either type; other owners' locks are not reported.
TEST(PosixLocksTest, TestOwnFindsOnlyTheOwnersLocks) {
  PosixLocks l;
  EXPECT_EQ(l.TestOwn(kA, {0, 10}), std::nullopt);
  ASSERT_EQ(l.Lock(kA, -1, R, {20, 30}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kA, -1, W, {40, 50}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, -1, W, {0, 10}, false), base::Errno::Ok());
  EXPECT_EQ(l.TestOwn(kA, {0, 10}), std::nullopt);
  EXPECT_EQ(l.TestOwn(kA, {25, 45}), (Conflict{R, {20, 30}, -1}));
  EXPECT_EQ(l.TestOwn(kA, {45, 100}), (Conflict{W, {40, 50}, -1}));
  EXPECT_EQ(l.TestOwn(kA, {30, 40}), std::nullopt);
  EXPECT_EQ(l.TestOwn(kB, {5, 6}), (Conflict{W, {0, 10}, -1}));
  EXPECT_EQ(l.TestOwn(kA, {5, 5}), std::nullopt);  // empty range
}

TEST(PosixLocksTest, UnlockTable) {
  struct Case {
    const char* name;
    LockRange unlock;
    std::vector<LockInfo> want;
  };
  const Case cases[] = {
      {"all", {0, kLockEOF}, {}},
      {"exact", {10, 20}, {}},
      {"head", {0, 15}, {Info(kA, W, 15, 20, 1)}},
      {"tail", {15, 30}, {Info(kA, W, 10, 15, 1)}},
      {"disjoint", {20, 30}, {Info(kA, W, 10, 20, 1)}},
      {"empty range", {15, 15}, {Info(kA, W, 10, 20, 1)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PosixLocks l;
    ASSERT_EQ(l.Lock(kA, 1, W, {10, 20}, false), base::Errno::Ok());
    l.Unlock(kA, c.unlock);
    EXPECT_EQ(l.Locks(), c.want);
    EXPECT_EQ(l.Empty(), c.want.empty());
  }
}

TEST(PosixLocksTest, DifferentTypeInsideSplitsInThree) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 100}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kA, 1, R, {40, 60}, false), base::Errno::Ok());
  EXPECT_THAT(l.Locks(),
              ElementsAre(Info(kA, W, 0, 40, 1), Info(kA, R, 40, 60, 1),
                          Info(kA, W, 60, 100, 1)));
  // Upgrading the middle back merges everything into one lock again.
  ASSERT_EQ(l.Lock(kA, 1, W, {40, 60}, false), base::Errno::Ok());
  EXPECT_THAT(l.Locks(), ElementsAre(Info(kA, W, 0, 100, 1)));
}

TEST(PosixLocksTest, ReadOverWriteConverts) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 100}, false), base::Errno::Ok());
  EXPECT_EQ(l.Lock(kB, 2, R, {0, 1}, false), base::Errno(EAGAIN));
  ASSERT_EQ(l.Lock(kA, 1, R, {0, 100}, false), base::Errno::Ok());
  EXPECT_THAT(l.Locks(), ElementsAre(Info(kA, R, 0, 100, 1)));
  EXPECT_EQ(l.Lock(kB, 2, R, {0, 1}, false), base::Errno::Ok());
  // And back: A cannot upgrade while B reads.
  EXPECT_EQ(l.Lock(kA, 1, W, {0, 100}, false), base::Errno(EAGAIN));
  EXPECT_EQ(l.Lock(kA, 1, W, {1, 100}, false), base::Errno::Ok());
  EXPECT_THAT(l.Locks(),
              ElementsAre(Info(kA, R, 0, 1, 1), Info(kA, W, 1, 100, 1),
                          Info(kB, R, 0, 1, 2)));
}

TEST(PosixLocksTest, MergeTable) {
  struct Step {
    LockType type;
    LockRange range;
    int32_t pid;
  };
  struct Case {
    const char* name;
    std::vector<Step> steps;
    std::vector<LockInfo> want;
  };
  const Case cases[] = {
      {"adjacent same type merges",
       {{R, {0, 10}, 1}, {R, {10, 20}, 1}},
       {Info(kA, R, 0, 20, 1)}},
      {"adjacent on the left merges",
       {{W, {10, 20}, 1}, {W, {0, 10}, 1}},
       {Info(kA, W, 0, 20, 1)}},
      {"adjacent different type stays apart",
       {{R, {0, 10}, 1}, {W, {10, 20}, 1}},
       {Info(kA, R, 0, 10, 1), Info(kA, W, 10, 20, 1)}},
      {"bridge joins three",
       {{R, {0, 10}, 1}, {R, {20, 30}, 1}, {R, {5, 25}, 1}},
       {Info(kA, R, 0, 30, 1)}},
      {"gap stays",
       {{R, {0, 10}, 1}, {R, {11, 20}, 1}},
       {Info(kA, R, 0, 10, 1), Info(kA, R, 11, 20, 1)}},
      {"contained same type is a no-op",
       {{W, {0, 100}, 1}, {W, {10, 20}, 1}},
       {Info(kA, W, 0, 100, 1)}},
      {"covering replaces several",
       {{R, {0, 10}, 1},
        {W, {20, 30}, 1},
        {R, {40, 50}, 1},
        {W, {5, kLockEOF}, 1}},
       {Info(kA, R, 0, 5, 1), Info(kA, W, 5, kLockEOF, 1)}},
      {"eof locks merge",
       {{R, {50, kLockEOF}, 1}, {R, {10, 50}, 1}},
       {Info(kA, R, 10, kLockEOF, 1)}},
      // posix_lock_inode extends the first same-type lock it meets, so the
      // merged lock keeps that lock's pid (matters when processes share a
      // files_struct).
      {"merge keeps first lock's pid",
       {{R, {10, 20}, 1}, {R, {0, 15}, 2}},
       {Info(kA, R, 0, 20, 1)}},
      {"new lock gets caller's pid",
       {{W, {10, 20}, 1}, {R, {0, 15}, 2}},
       {Info(kA, R, 0, 15, 2), Info(kA, W, 15, 20, 1)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PosixLocks l;
    for (const Step& s : c.steps) {
      ASSERT_EQ(l.Lock(kA, s.pid, s.type, s.range, false), base::Errno::Ok());
    }
    EXPECT_EQ(l.Locks(), c.want);
  }
}

TEST(PosixLocksTest, EmptyRangeIsInvalid) {
  PosixLocks l;
  EXPECT_EQ(l.Lock(kA, 1, W, {5, 5}, false), base::Errno(EINVAL));
  EXPECT_EQ(l.Lock(kA, 1, W, {6, 5}, true), base::Errno(EINVAL));
  EXPECT_TRUE(l.Empty());
}

// ---------------------------------------------------------------------------
// PosixLocks: conflicts and F_GETLK

TEST(PosixLocksTest, ConflictTable) {
  struct Case {
    const char* name;
    LockType held;
    LockType wanted;
    LockRange range;  // A holds [10, 20).
    bool conflict;
  };
  const Case cases[] = {
      {"read/read", R, R, {0, 100}, false},
      {"read/write", R, W, {15, 16}, true},
      {"write/read", W, R, {19, 30}, true},
      {"write/write", W, W, {0, 11}, true},
      {"write/write adjacent after", W, W, {20, 30}, false},
      {"write/write adjacent before", W, W, {0, 10}, false},
      {"write/write to eof", W, W, {5, kLockEOF}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    PosixLocks l;
    ASSERT_EQ(l.Lock(kA, 1, c.held, {10, 20}, false), base::Errno::Ok());
    std::optional<Conflict> t = l.Test(kB, c.wanted, c.range);
    EXPECT_EQ(t.has_value(), c.conflict);
    if (t) {
      EXPECT_EQ(*t, (Conflict{c.held, {10, 20}, 1}));
    }
    // The owner itself never conflicts with its own locks.
    EXPECT_EQ(l.Test(kA, c.wanted, c.range), std::nullopt);
    EXPECT_EQ(l.Lock(kB, 2, c.wanted, c.range, false),
              c.conflict ? base::Errno(EAGAIN) : base::Errno::Ok());
  }
}

TEST(PosixLocksTest, TestReportsFirstConflictInListOrder) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 111, R, {50, 60}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, 222, W, {0, 10}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, 222, W, {70, 80}, false), base::Errno::Ok());
  // Linux walks flc_posix, where A's locks come first (A locked first).
  EXPECT_EQ(l.Test(kC, W, {0, kLockEOF}), (Conflict{R, {50, 60}, 111}));
  // A read conflicts only with B's writes; B's lowest one is reported.
  EXPECT_EQ(l.Test(kC, R, {0, kLockEOF}), (Conflict{W, {0, 10}, 222}));
  EXPECT_EQ(l.Test(kA, W, {5, 75}), (Conflict{W, {0, 10}, 222}));
  EXPECT_EQ(l.Test(kC, R, {10, 70}), std::nullopt);
  // Once A's locks are gone and return, A's group moves to the tail.
  l.UnlockAll(kA);
  ASSERT_EQ(l.Lock(kA, 111, R, {50, 60}, false), base::Errno::Ok());
  EXPECT_EQ(l.Test(kC, W, {0, kLockEOF}), (Conflict{W, {0, 10}, 222}));
}

TEST(PosixLocksTest, UnlockAllDropsOnlyThatOwner) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, R, {0, 10}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kA, 1, W, {20, 30}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, 2, R, {5, 15}, false), base::Errno::Ok());
  l.UnlockAll(kA);
  EXPECT_THAT(l.Locks(), ElementsAre(Info(kB, R, 5, 15, 2)));
  l.UnlockAll(kA);  // Idempotent.
  l.UnlockAll(kB);
  EXPECT_TRUE(l.Empty());
}

// ---------------------------------------------------------------------------
// PosixLocks: blocking, deadlock, interruption

TEST(PosixLocksTest, BlockingWaiterWakesOnUnlock) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 100}, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = l.Lock(kB, 2, R, {50, 51}, true).value(); });
  WaitFor([&] { return l.NumWaiters() == 1; });
  // Unlocking an unrelated part does not satisfy the waiter.
  l.Unlock(kA, {0, 10});
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(result.load(), -1);
  l.Unlock(kA, {40, 60});
  t.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_EQ(l.NumWaiters(), 0u);
  EXPECT_EQ(l.Test(kC, W, {50, 51}), (Conflict{R, {50, 51}, 2}));
}

TEST(PosixLocksTest, BlockingWaiterWakesOnUnlockAllAndDowngrade) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 10}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, 2, W, {20, 30}, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = l.Lock(kC, 3, R, {0, 30}, true).value(); });
  WaitFor([&] { return l.NumWaiters() == 1; });
  l.UnlockAll(kA);
  ASSERT_EQ(l.Lock(kB, 2, R, {20, 30}, false),
            base::Errno::Ok());  // Downgrade.
  t.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(PosixLocksTest, DeadlockTwoOwnersTwoInodes) {
  PosixLocks x, y;
  ASSERT_EQ(x.Lock(kA, 1, W, {0, 10}, false), base::Errno::Ok());
  ASSERT_EQ(y.Lock(kB, 2, W, {0, 10}, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = x.Lock(kB, 2, W, {0, 10}, true).value(); });
  WaitFor([&] { return x.NumWaiters() == 1; });
  // A would wait for B, which waits for A.
  EXPECT_EQ(y.Lock(kA, 1, W, {5, 6}, true), base::Errno(EDEADLK));
  // A non-conflicting request is fine, and a non-blocking one is EAGAIN.
  EXPECT_EQ(y.Lock(kA, 1, W, {10, 20}, true), base::Errno::Ok());
  EXPECT_EQ(y.Lock(kA, 1, W, {5, 6}, false), base::Errno(EAGAIN));
  x.Unlock(kA, {0, 10});
  t.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(PosixLocksTest, DeadlockSameInode) {
  PosixLocks l;
  ASSERT_EQ(l.Lock(kA, 1, W, {0, 10}, false), base::Errno::Ok());
  ASSERT_EQ(l.Lock(kB, 2, W, {10, 20}, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = l.Lock(kB, 2, W, {0, 10}, true).value(); });
  WaitFor([&] { return l.NumWaiters() == 1; });
  EXPECT_EQ(l.Lock(kA, 1, R, {15, 16}, true), base::Errno(EDEADLK));
  l.UnlockAll(kA);
  t.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(PosixLocksTest, DeadlockThreeOwnerCycle) {
  PosixLocks x, y, z;
  ASSERT_EQ(x.Lock(kA, 1, W, {0, 1}, false), base::Errno::Ok());
  ASSERT_EQ(y.Lock(kB, 2, W, {0, 1}, false), base::Errno::Ok());
  ASSERT_EQ(z.Lock(kC, 3, W, {0, 1}, false), base::Errno::Ok());
  std::atomic<int> b_result{-1}, c_result{-1};
  // B waits for A (on x); C waits for B (on y).
  std::thread tb([&] { b_result = x.Lock(kB, 2, W, {0, 1}, true).value(); });
  WaitFor([&] { return x.NumWaiters() == 1; });
  std::thread tc([&] { c_result = y.Lock(kC, 3, W, {0, 1}, true).value(); });
  WaitFor([&] { return y.NumWaiters() == 1; });
  // A waiting for C would close A -> C -> B -> A.
  EXPECT_EQ(z.Lock(kA, 1, R, {0, 1}, true), base::Errno(EDEADLK));
  x.UnlockAll(kA);
  tb.join();
  EXPECT_EQ(b_result.load(), 0);
  y.UnlockAll(kB);
  tc.join();
  EXPECT_EQ(c_result.load(), 0);
}

TEST(PosixLocksTest, OfdLocksAreNotDeadlockChecked) {
  PosixLocks x, y;
  std::atomic<bool> interrupted{false};
  ASSERT_EQ(x.Lock(kA, -1, W, {0, 1}, false, nullptr, OwnerKind::kOpenFile),
            base::Errno::Ok());
  ASSERT_EQ(y.Lock(kB, -1, W, {0, 1}, false, nullptr, OwnerKind::kOpenFile),
            base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] {
    result = x.Lock(kB, -1, W, {0, 1}, true, &interrupted, OwnerKind::kOpenFile)
                 .value();
  });
  WaitFor([&] { return x.NumWaiters() == 1; });
  std::atomic<int> result2{-1};
  std::thread t2([&] {
    result2 =
        y.Lock(kA, -1, W, {0, 1}, true, &interrupted, OwnerKind::kOpenFile)
            .value();
  });
  // Like Linux, a real OFD deadlock just sleeps; only a signal ends it.
  WaitFor([&] { return y.NumWaiters() == 1; });
  interrupted = true;
  InterruptWaiters();
  t.join();
  t2.join();
  EXPECT_EQ(result.load(), EINTR);
  EXPECT_EQ(result2.load(), EINTR);
  EXPECT_EQ(x.Test(kC, R, {0, 1}), (Conflict{W, {0, 1}, -1}));
}

TEST(PosixLocksTest, InterruptGivesEintr) {
  for (bool kick : {true, false}) {
    SCOPED_TRACE(kick ? "InterruptWaiters" : "polling only");
    PosixLocks l;
    std::atomic<bool> interrupted{false};
    ASSERT_EQ(l.Lock(kA, 1, W, {0, 10}, false), base::Errno::Ok());
    std::atomic<int> result{-1};
    std::thread t([&] {
      result = l.Lock(kB, 2, W, {0, 10}, true, &interrupted).value();
    });
    WaitFor([&] { return l.NumWaiters() == 1; });
    interrupted = true;
    if (kick) InterruptWaiters();
    t.join();
    EXPECT_EQ(result.load(), EINTR);
    EXPECT_EQ(l.NumWaiters(), 0u);
    EXPECT_THAT(l.Locks(), ElementsAre(Info(kA, W, 0, 10, 1)));
  }
}

TEST(PosixLocksTest, InterruptedFlagIgnoredWithoutConflict) {
  PosixLocks l;
  std::atomic<bool> interrupted{true};
  EXPECT_EQ(l.Lock(kA, 1, W, {0, 10}, true, &interrupted), base::Errno::Ok());
  EXPECT_EQ(l.Lock(kB, 2, W, {0, 10}, true, &interrupted), base::Errno(EINTR));
}

TEST(PosixLocksTest, ConcurrentWritersExclude) {
  PosixLocks l;
  std::atomic<int> inside{0};
  int counter = 0;  // Protected by the write lock on [0, 10) alone.
  constexpr int kThreads = 4, kIters = 200;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      OwnerId me = 100 + i;
      for (int j = 0; j < kIters; ++j) {
        LockRange r = j % 2 ? LockRange{0, kLockEOF} : LockRange{5, 6};
        ASSERT_EQ(l.Lock(me, i, W, r, true), base::Errno::Ok());
        EXPECT_EQ(inside.fetch_add(1), 0);
        ++counter;
        inside.fetch_sub(1);
        l.Unlock(me, r);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, kThreads * kIters);
  EXPECT_TRUE(l.Empty());
}

// ---------------------------------------------------------------------------
// PosixLocks vs a per-byte model

// Cells 0..kCells-1 are bytes; cell kCells stands for [kCells, EOF).
constexpr int kCells = 16;
constexpr int kOwners = 3;

struct Model {
  std::array<std::array<std::optional<LockType>, kCells + 1>, kOwners> cells;
  std::vector<int> order;  // Owners with locks, in list order.

  static int First(LockRange r) { return static_cast<int>(r.start); }
  static int Last(LockRange r) {  // Inclusive.
    return r.end == kLockEOF ? kCells : static_cast<int>(r.end) - 1;
  }
  bool Holds(int o) const {
    for (const auto& c : cells[o]) {
      if (c) return true;
    }
    return false;
  }
  bool Conflicts(int o, LockType t, LockRange r) const {
    for (int p = 0; p < kOwners; ++p) {
      if (p == o) continue;
      for (int i = First(r); i <= Last(r); ++i) {
        if (cells[p][i] && (t == W || *cells[p][i] == W)) return true;
      }
    }
    return false;
  }
  void Set(int o, std::optional<LockType> t, LockRange r) {
    bool had = Holds(o);
    for (int i = First(r); i <= Last(r); ++i) cells[o][i] = t;
    bool has = Holds(o);
    if (!had && has) order.push_back(o);
    if (had && !has) order.erase(std::find(order.begin(), order.end(), o));
  }
  // Canonical locks: maximal same-type runs, owners in list order.
  std::vector<LockInfo> Locks() const {
    std::vector<LockInfo> out;
    for (int o : order) {
      for (int i = 0; i <= kCells;) {
        if (!cells[o][i]) {
          ++i;
          continue;
        }
        int j = i;
        while (j + 1 <= kCells && cells[o][j + 1] == cells[o][i]) ++j;
        uint64_t end = j == kCells ? kLockEOF : static_cast<uint64_t>(j) + 1;
        out.push_back(Info(OwnerId(o + 1), *cells[o][i], i, end, o + 1));
        i = j + 1;
      }
    }
    return out;
  }
};

void RunRandom(uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with LOCK_TEST_SEED=" + std::to_string(seed) + ")");
  std::mt19937 rng(seed);
  auto rand = [&](int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng));
  };
  auto range = [&] {
    uint64_t start = rand(kCells + 1);
    uint64_t end = start == kCells || rand(4) == 0
                       ? kLockEOF
                       : start + 1 + rand(kCells - static_cast<int>(start));
    return LockRange{start, end};
  };
  PosixLocks l;
  Model m;
  for (int step = 0; step < 400; ++step) {
    int o = rand(kOwners);
    OwnerId owner = o + 1;
    LockType type = rand(2) ? W : R;
    LockRange r = range();
    SCOPED_TRACE("step " + std::to_string(step) + " owner " +
                 std::to_string(o + 1) + " range [" + std::to_string(r.start) +
                 ", " + std::to_string(r.end) + ")");
    switch (rand(6)) {
      case 0:
      case 1:
      case 2: {
        bool conflict = m.Conflicts(o, type, r);
        ASSERT_EQ(l.Lock(owner, o + 1, type, r, false),
                  conflict ? base::Errno(EAGAIN) : base::Errno::Ok());
        if (!conflict) m.Set(o, type, r);
        break;
      }
      case 3:
        l.Unlock(owner, r);
        m.Set(o, std::nullopt, r);
        break;
      case 4:
        if (rand(4) == 0) {
          l.UnlockAll(owner);
          m.Set(o, std::nullopt, {0, kLockEOF});
        }
        break;
      case 5: {
        std::optional<Conflict> got = l.Test(owner, type, r);
        ASSERT_EQ(got.has_value(), m.Conflicts(o, type, r));
        if (got) {
          // The first conflicting lock in list order.
          std::optional<Conflict> want;
          for (const LockInfo& li : m.Locks()) {
            if (li.owner != owner && li.range.start < r.end &&
                r.start < li.range.end && (type == W || li.type == W)) {
              want = Conflict{li.type, li.range, li.pid};
              break;
            }
          }
          ASSERT_EQ(got, want);
        }
        break;
      }
    }
    ASSERT_EQ(l.Locks(), m.Locks());
    ASSERT_EQ(l.Empty(), m.order.empty());
  }
}

TEST(PosixLocksTest, RandomAgainstByteModel) {
  if (const char* s = std::getenv("LOCK_TEST_SEED")) {
    RunRandom(static_cast<uint32_t>(std::strtoul(s, nullptr, 10)));
    return;
  }
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    RunRandom(seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
  uint32_t seed = std::random_device{}();
  RunRandom(seed);
  if (HasFailure()) std::fprintf(stderr, "failing seed: %u\n", seed);
}

// ---------------------------------------------------------------------------
// FlockLocks

TEST(FlockLocksTest, SharedAndExclusive) {
  struct Case {
    const char* name;
    bool first_exclusive;
    bool second_exclusive;
    bool conflict;
  };
  const Case cases[] = {
      {"sh/sh", false, false, false},
      {"sh/ex", false, true, true},
      {"ex/sh", true, false, true},
      {"ex/ex", true, true, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FlockLocks f;
    ASSERT_EQ(f.Lock(kA, c.first_exclusive, false), base::Errno::Ok());
    EXPECT_EQ(f.Lock(kB, c.second_exclusive, false),
              c.conflict ? base::Errno(EWOULDBLOCK) : base::Errno::Ok());
    // The same description relocking in the same mode always succeeds.
    EXPECT_EQ(f.Lock(kA, c.first_exclusive, false), base::Errno::Ok());
    f.Unlock(kA);
    f.Unlock(kB);
    EXPECT_TRUE(f.Empty());
  }
}

TEST(FlockLocksTest, ConversionDropsOldLockFirst) {
  FlockLocks f;
  // Alone, sh -> ex -> sh converts.
  ASSERT_EQ(f.Lock(kA, false, false), base::Errno::Ok());
  ASSERT_EQ(f.Lock(kA, true, false), base::Errno::Ok());
  EXPECT_EQ(f.Lock(kB, false, false), base::Errno(EWOULDBLOCK));
  ASSERT_EQ(f.Lock(kA, false, false), base::Errno::Ok());
  ASSERT_EQ(f.Lock(kB, false, false), base::Errno::Ok());
  // A failed LOCK_NB upgrade loses A's shared lock, as in Linux...
  EXPECT_EQ(f.Lock(kA, true, false), base::Errno(EWOULDBLOCK));
  // ...so B, now alone, can upgrade.
  EXPECT_EQ(f.Lock(kB, true, false), base::Errno::Ok());
  f.Unlock(kB);
  EXPECT_TRUE(f.Empty());
}

TEST(FlockLocksTest, BlockingWaiterWakesOnUnlock) {
  FlockLocks f;
  ASSERT_EQ(f.Lock(kA, true, false), base::Errno::Ok());
  std::atomic<int> r1{-1}, r2{-1};
  std::thread t1([&] { r1 = f.Lock(kB, false, true).value(); });
  std::thread t2([&] { r2 = f.Lock(kC, false, true).value(); });
  WaitFor([&] { return f.NumWaiters() == 2; });
  f.Unlock(kA);
  t1.join();
  t2.join();
  EXPECT_EQ(r1.load(), 0);
  EXPECT_EQ(r2.load(), 0);
  EXPECT_EQ(f.Lock(kA, true, false), base::Errno(EWOULDBLOCK));
}

TEST(FlockLocksTest, BlockingUpgradeWaitsForOtherSharers) {
  FlockLocks f;
  ASSERT_EQ(f.Lock(kA, false, false), base::Errno::Ok());
  ASSERT_EQ(f.Lock(kB, false, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = f.Lock(kA, true, true).value(); });
  WaitFor([&] { return f.NumWaiters() == 1; });
  // A's shared lock is already gone while it waits.
  EXPECT_EQ(f.Lock(kC, true, false), base::Errno(EWOULDBLOCK));
  f.Unlock(kB);
  t.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_EQ(f.Lock(kC, false, false), base::Errno(EWOULDBLOCK));
}

TEST(FlockLocksTest, InterruptGivesEintr) {
  FlockLocks f;
  std::atomic<bool> interrupted{false};
  ASSERT_EQ(f.Lock(kA, true, false), base::Errno::Ok());
  std::atomic<int> result{-1};
  std::thread t([&] { result = f.Lock(kB, true, true, &interrupted).value(); });
  WaitFor([&] { return f.NumWaiters() == 1; });
  interrupted = true;
  InterruptWaiters();
  t.join();
  EXPECT_EQ(result.load(), EINTR);
  EXPECT_EQ(f.NumWaiters(), 0u);
  f.Unlock(kA);
  EXPECT_TRUE(f.Empty());
}

}  // namespace
}  // namespace sentry::fs::lock
