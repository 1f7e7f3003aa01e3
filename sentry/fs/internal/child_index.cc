#include "sentry/fs/internal/child_index.h"

#include <sys/mman.h>

#include <cstdlib>
#include <functional>
#include <new>

#include "base/hash.h"
#include "sentry/fs/dirent.h"
#include "sentry/fs/epoch.h"

namespace sentry::fs::internal {

namespace {
constexpr uintptr_t kEmpty = 0;  // what fresh anonymous memory holds
constexpr uintptr_t kTomb = 1;   // a removed entry: probes continue past it
constexpr int kTagShift = 48;
constexpr uintptr_t kPtrMask = (uintptr_t{1} << kTagShift) - 1;

// Slot arrays of a big directory (2 MiB and more: 256Ki slots) get pages of
// their own, asked to be transparent huge pages: a walk probes such a table
// at random, and with 4 KiB pages nearly every probe of a directory of a
// million names also missed the TLB. Smaller ones come from the heap.
constexpr size_t kHugeTableBytes = size_t{2} << 20;

std::atomic<uintptr_t>* AllocSlots(size_t cap) {
  const size_t bytes = cap * sizeof(std::atomic<uintptr_t>);
  if (bytes >= kHugeTableBytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();     // as new[] would
    madvise(p, bytes, MADV_HUGEPAGE);                // a hint: fine if refused
    return static_cast<std::atomic<uintptr_t>*>(p);  // zeroed: kEmpty
  }
  auto* slots = new std::atomic<uintptr_t>[cap];
  for (size_t i = 0; i < cap; ++i) {
    slots[i].store(kEmpty, std::memory_order_relaxed);
  }
  return slots;
}

void FreeSlots(std::atomic<uintptr_t>* slots, size_t cap) {
  const size_t bytes = cap * sizeof(std::atomic<uintptr_t>);
  if (bytes >= kHugeTableBytes) {
    munmap(slots, bytes);
    return;
  }
  delete[] slots;
}

uintptr_t TagOf(uint64_t h) { return static_cast<uintptr_t>(h >> kTagShift); }

uintptr_t Pack(uint64_t h, Dirent* d) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(d);
  // Linux gives user space no addresses past 47 bits unless asked to.
  if ((p & ~kPtrMask) != 0) std::abort();
  return (TagOf(h) << kTagShift) | p;
}

Dirent* Unpack(uintptr_t v) { return reinterpret_cast<Dirent*>(v & kPtrMask); }
}  // namespace

struct ChildIndex::Table {
  size_t mask;  // capacity - 1 (a power of two)
  std::atomic<uintptr_t>* slots;
  size_t live;      // entries (writers only)
  size_t used;      // entries and tombstones (writers only)
  size_t negative;  // entries that are negative dirents (writers only)
};

uint64_t ChildIndex::Hash(std::string_view name) {
  return base::HashName(name);
}

void ChildIndex::FreeTable(void* p) {
  Table* t = static_cast<Table*>(p);
  FreeSlots(t->slots, t->mask + 1);
  delete t;
}

ChildIndex::~ChildIndex() {
  if (Table* t = table_.load(std::memory_order_relaxed)) FreeTable(t);
}

std::atomic<uintptr_t>* ChildIndex::SlotOfLocked(const Table* t, uint64_t h,
                                                 std::string_view name) const {
  if (t == nullptr) return nullptr;
  const uintptr_t tag = TagOf(h);
  for (size_t i = h & t->mask, n = 0; n <= t->mask;
       i = (i + 1) & t->mask, ++n) {
    const uintptr_t v = t->slots[i].load(std::memory_order_relaxed);
    if (v == kEmpty) return nullptr;
    if (v != kTomb && (v >> kTagShift) == tag &&
        base::SameName(NameOf(Unpack(v)), name)) {
      return &t->slots[i];
    }
  }
  return nullptr;
}

Dirent* ChildIndex::Find(std::string_view name) const {
  const Table* t = table_.load(std::memory_order_seq_cst);
  if (t == nullptr) return nullptr;
  const uint64_t h = Hash(name);
  const uintptr_t tag = TagOf(h);
  for (size_t i = h & t->mask, n = 0; n <= t->mask;
       i = (i + 1) & t->mask, ++n) {
    const uintptr_t v = t->slots[i].load(std::memory_order_seq_cst);
    if (v == kEmpty) return nullptr;
    if (v == kTomb || (v >> kTagShift) != tag) continue;
    Dirent* d = Unpack(v);
    if (!base::SameName(NameOf(d), name)) continue;
    // A writer takes a Dirent out of the table before renaming it: if the
    // slot still holds it and the table is still the current one (a
    // retired table is no longer updated), the name read was its name in
    // this directory. Else the caller's locked walk answers.
    if (t->slots[i].load(std::memory_order_seq_cst) != v ||
        table_.load(std::memory_order_seq_cst) != t) {
      return nullptr;
    }
    return d;
  }
  return nullptr;
}

void ChildIndex::Grow() {
  Table* old = table_.load(std::memory_order_relaxed);
  const size_t live = old != nullptr ? old->live : 0;
  // At most half full after growing, grown again past three quarters: 11
  // to 21 bytes of slots per name (linear probing stays short there).
  size_t cap = 8;
  while (cap < 2 * (live + 1)) cap *= 2;
  Table* t = new Table{cap - 1, AllocSlots(cap), live, live,
                       old != nullptr ? old->negative : 0};
  if (old != nullptr) {
    for (size_t i = 0; i <= old->mask; ++i) {
      const uintptr_t v = old->slots[i].load(std::memory_order_relaxed);
      if (v == kEmpty || v == kTomb) continue;
      size_t j = Hash(NameOf(Unpack(v))) & t->mask;
      while (t->slots[j].load(std::memory_order_relaxed) != kEmpty) {
        j = (j + 1) & t->mask;
      }
      t->slots[j].store(v, std::memory_order_relaxed);
    }
  }
  table_.store(t, std::memory_order_seq_cst);
  if (old != nullptr) epoch::Retire(old, FreeTable);
}

Dirent* ChildIndex::FindLocked(std::string_view name) const {
  const Table* t = table_.load(std::memory_order_relaxed);
  std::atomic<uintptr_t>* s = SlotOfLocked(t, Hash(name), name);
  return s == nullptr ? nullptr : Unpack(s->load(std::memory_order_relaxed));
}

Dirent* ChildIndex::Put(Dirent* d) {
  const std::string_view name = NameOf(d);
  const uint64_t h = Hash(name);
  Table* t = table_.load(std::memory_order_relaxed);
  if (std::atomic<uintptr_t>* s = SlotOfLocked(t, h, name)) {
    Dirent* old = Unpack(s->load(std::memory_order_relaxed));
    s->store(Pack(h, d), std::memory_order_seq_cst);
    t->negative += IsNegative(d);
    t->negative -= IsNegative(old);
    return old;
  }
  if (t == nullptr || 4 * (t->used + 1) > 3 * (t->mask + 1)) {
    Grow();
    t = table_.load(std::memory_order_relaxed);
  }
  for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    const uintptr_t cur = t->slots[i].load(std::memory_order_relaxed);
    if (cur == kEmpty || cur == kTomb) {
      if (cur == kEmpty) ++t->used;
      t->slots[i].store(Pack(h, d), std::memory_order_seq_cst);
      break;
    }
  }
  ++t->live;
  t->negative += IsNegative(d);
  return nullptr;
}

Dirent* ChildIndex::Erase(std::string_view name) {
  Table* t = table_.load(std::memory_order_relaxed);
  std::atomic<uintptr_t>* s = SlotOfLocked(t, Hash(name), name);
  if (s == nullptr) return nullptr;
  Dirent* old = Unpack(s->load(std::memory_order_relaxed));
  s->store(kTomb, std::memory_order_seq_cst);
  --t->live;
  t->negative -= IsNegative(old);
  return old;
}

void ChildIndex::EraseIf(const std::function<bool(Dirent*)>& pred,
                         std::vector<Dirent*>* out) {
  Table* t = table_.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  for (size_t i = 0; i <= t->mask; ++i) {
    const uintptr_t v = t->slots[i].load(std::memory_order_relaxed);
    if (v == kEmpty || v == kTomb || !pred(Unpack(v))) continue;
    t->slots[i].store(kTomb, std::memory_order_seq_cst);
    --t->live;
    t->negative -= IsNegative(Unpack(v));
    out->push_back(Unpack(v));
  }
}

void ChildIndex::Clear(std::vector<Dirent*>* out) {
  Table* t = table_.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  ForEach([out](Dirent* d) { out->push_back(d); });
  table_.store(nullptr, std::memory_order_seq_cst);
  epoch::Retire(t, FreeTable);
}

void ChildIndex::ForEach(const std::function<void(Dirent*)>& f) const {
  const Table* t = table_.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  for (size_t i = 0; i <= t->mask; ++i) {
    const uintptr_t v = t->slots[i].load(std::memory_order_relaxed);
    if (v != kEmpty && v != kTomb) f(Unpack(v));
  }
}

size_t ChildIndex::size() const {
  const Table* t = table_.load(std::memory_order_relaxed);
  return t == nullptr ? 0 : t->live;
}

size_t ChildIndex::negative() const {
  const Table* t = table_.load(std::memory_order_relaxed);
  return t == nullptr ? 0 : t->negative;
}

}  // namespace sentry::fs::internal
