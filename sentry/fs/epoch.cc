#include "sentry/fs/epoch.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace sentry::fs::epoch {
namespace {

// One per thread that ever read under a guard; reused after thread exit.
// epoch is 0 outside a guard, else the global epoch the reader entered in.
// A cache line each: two threads' guards must not write the same line.
struct alignas(64) Record {
  std::atomic<uint64_t> epoch{0};
  std::atomic<bool> in_use{false};
  Record* next = nullptr;
};

struct Retired {
  void* p;
  void (*fn)(void*);
  uint64_t epoch;
};

std::atomic<Record*> g_records{nullptr};  // push-only list
std::atomic<uint64_t> g_epoch{1};
std::atomic<size_t> g_pending_count{0};

std::mutex& PendingMu() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
std::vector<Retired>& Pending() {
  static std::vector<Retired>* v = new std::vector<Retired>();
  return *v;
}

Record* Acquire() {
  for (Record* r = g_records.load(std::memory_order_acquire); r; r = r->next) {
    bool free = false;
    if (r->in_use.compare_exchange_strong(free, true)) return r;
  }
  Record* r = new Record();  // never freed: readers may scan it any time
  r->in_use.store(true);
  Record* head = g_records.load(std::memory_order_relaxed);
  do {
    r->next = head;
  } while (!g_records.compare_exchange_weak(head, r, std::memory_order_release,
                                            std::memory_order_relaxed));
  return r;
}

// The calling thread's record, given back when the thread ends.
struct ThreadState {
  Record* rec = nullptr;
  ~ThreadState() {
    if (rec) rec->in_use.store(false, std::memory_order_release);
  }
};
thread_local ThreadState t_state;

// Scans the readers: whether none is inside a guard, and whether all
// that are entered in epoch e.
void Scan(uint64_t e, bool* quiet, bool* current) {
  *quiet = true;
  *current = true;
  for (Record* r = g_records.load(std::memory_order_acquire); r; r = r->next) {
    uint64_t x = r->epoch.load(std::memory_order_seq_cst);
    if (x == 0) continue;
    *quiet = false;
    if (x != e) *current = false;
  }
}

// Takes from Pending() what is safe to free now (advancing the epoch if
// every reader has seen the current one).
std::vector<Retired> TakeFreeable() {
  std::vector<Retired> out;
  std::lock_guard<std::mutex> l(PendingMu());
  uint64_t e = g_epoch.load(std::memory_order_seq_cst);
  bool quiet, current;
  Scan(e, &quiet, &current);
  if (!quiet && current) {
    g_epoch.store(e + 1, std::memory_order_seq_cst);
    e += 1;
  }
  std::vector<Retired>& pending = Pending();
  for (size_t i = 0; i < pending.size();) {
    if (quiet || pending[i].epoch + 2 <= e) {
      out.push_back(pending[i]);
      pending[i] = pending.back();
      pending.pop_back();
    } else {
      ++i;
    }
  }
  g_pending_count.store(pending.size(), std::memory_order_relaxed);
  return out;
}

void RunAll(const std::vector<Retired>& v) {
  for (const Retired& r : v) r.fn(r.p);
}

}  // namespace

namespace internal {

__thread int t_guard_depth = 0;
__thread std::atomic<uint64_t>* t_guard_epoch = nullptr;

void Enter() {
  if (t_guard_epoch == nullptr) {
    ThreadState& t = t_state;
    t.rec = Acquire();
    t_guard_epoch = &t.rec->epoch;
  }
  // seq_cst: ordered before this reader's loads of the structures, and
  // against a retirer's scan of the records (a Dekker-style pairing).
  t_guard_epoch->exchange(g_epoch.load(std::memory_order_seq_cst),
                          std::memory_order_seq_cst);
}

}  // namespace internal

void Retire(void* p, void (*free_fn)(void*)) {
  uint64_t e = g_epoch.load(std::memory_order_seq_cst);
  bool quiet, current;
  Scan(e, &quiet, &current);
  if (quiet && g_pending_count.load(std::memory_order_relaxed) == 0) {
    free_fn(p);  // nobody can be looking at it
    return;
  }
  {
    std::lock_guard<std::mutex> l(PendingMu());
    Pending().push_back({p, free_fn, e});
    g_pending_count.store(Pending().size(), std::memory_order_relaxed);
  }
  RunAll(TakeFreeable());
}

void Synchronize() {
  // Each round advances the epoch if every reader has seen it and frees
  // what is old enough (everything, once no reader is inside a guard);
  // freeing may retire more (a dirent releases its parent), so repeat
  // until nothing is pending.
  for (;;) {
    RunAll(TakeFreeable());
    if (g_pending_count.load(std::memory_order_relaxed) == 0) {
      std::lock_guard<std::mutex> l(PendingMu());
      if (Pending().empty()) return;
    }
    std::this_thread::yield();
  }
}

}  // namespace sentry::fs::epoch
