#include "sentry/fs/internal/child_index.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>

#include "sentry/fs/epoch.h"

namespace sentry::fs::internal {

struct ChildIndex::Entry {
  uint64_t hash;
  Dirent* dirent;
  uint32_t len;
  char name[1];  // len bytes, allocated with the entry
};

struct ChildIndex::Table {
  size_t mask;  // capacity - 1 (a power of two)
  std::atomic<Entry*>* slots;
};

// A removed entry's slot, so probes continue past it.
ChildIndex::Entry* ChildIndex::Tomb() {
  static Entry tomb{};
  return &tomb;
}

uint64_t ChildIndex::Hash(std::string_view name) {
  return std::hash<std::string_view>()(name);
}

ChildIndex::Entry* ChildIndex::NewEntry(uint64_t h, std::string_view name,
                                        Dirent* d) {
  void* mem = std::malloc(offsetof(Entry, name) + name.size() + 1);
  if (mem == nullptr) throw std::bad_alloc();
  Entry* e = static_cast<Entry*>(mem);
  e->hash = h;
  e->dirent = d;
  e->len = static_cast<uint32_t>(name.size());
  std::memcpy(e->name, name.data(), name.size());
  e->name[name.size()] = '\0';
  return e;
}

namespace {
void FreeMem(void* p) { std::free(p); }
}  // namespace

// Only the array and header: the entries moved to the new table.
void ChildIndex::FreeTable(void* p) {
  Table* t = static_cast<Table*>(p);
  delete[] t->slots;
  delete t;
}

ChildIndex::~ChildIndex() {
  Table* t = table_.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  for (size_t i = 0; i <= t->mask; ++i) {
    Entry* e = t->slots[i].load(std::memory_order_relaxed);
    if (e != nullptr && e != Tomb()) std::free(e);
  }
  delete[] t->slots;
  delete t;
}

std::atomic<ChildIndex::Entry*>* ChildIndex::SlotOf(const Table* t, uint64_t h,
                                                    std::string_view name,
                                                    Entry** found) const {
  if (t == nullptr) return nullptr;
  for (size_t i = h & t->mask, n = 0; n <= t->mask;
       i = (i + 1) & t->mask, ++n) {
    Entry* e = t->slots[i].load(std::memory_order_seq_cst);
    if (e == nullptr) return nullptr;
    if (e != Tomb() && e->hash == h && e->len == name.size() &&
        std::memcmp(e->name, name.data(), name.size()) == 0) {
      *found = e;
      return &t->slots[i];
    }
  }
  return nullptr;
}

Dirent* ChildIndex::Find(std::string_view name) const {
  const Table* t = table_.load(std::memory_order_seq_cst);
  Entry* e = nullptr;
  // Entries are immutable and retired, not freed, when replaced: the one
  // matched stays readable inside the caller's guard.
  if (SlotOf(t, Hash(name), name, &e) == nullptr) return nullptr;
  return e->dirent;
}

void ChildIndex::Grow() {
  Table* old = table_.load(std::memory_order_relaxed);
  size_t cap = 8;
  while (cap < 4 * (live_ + 1)) cap *= 2;
  Table* t = new Table{cap - 1, new std::atomic<Entry*>[cap]};
  for (size_t i = 0; i < cap; ++i)
    t->slots[i].store(nullptr, std::memory_order_relaxed);
  if (old != nullptr) {
    for (size_t i = 0; i <= old->mask; ++i) {
      Entry* e = old->slots[i].load(std::memory_order_relaxed);
      if (e == nullptr || e == Tomb()) continue;
      size_t j = e->hash & t->mask;
      while (t->slots[j].load(std::memory_order_relaxed) != nullptr) {
        j = (j + 1) & t->mask;
      }
      t->slots[j].store(e, std::memory_order_relaxed);
    }
  }
  table_.store(t, std::memory_order_seq_cst);
  used_ = live_;
  if (old != nullptr) epoch::Retire(old, FreeTable);
}

void ChildIndex::Put(std::string_view name, Dirent* d) {
  const uint64_t h = Hash(name);
  Table* t = table_.load(std::memory_order_relaxed);
  Entry* old = nullptr;
  if (std::atomic<Entry*>* s = SlotOf(t, h, name, &old)) {
    if (old->dirent == d) return;
    s->store(NewEntry(h, name, d), std::memory_order_seq_cst);
    epoch::Retire(old, FreeMem);
    return;
  }
  if (t == nullptr || 2 * (used_ + 1) > t->mask + 1) {
    Grow();
    t = table_.load(std::memory_order_relaxed);
  }
  Entry* e = NewEntry(h, name, d);
  for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    Entry* cur = t->slots[i].load(std::memory_order_relaxed);
    if (cur == nullptr || cur == Tomb()) {
      if (cur == nullptr) ++used_;
      t->slots[i].store(e, std::memory_order_seq_cst);
      break;
    }
  }
  ++live_;
}

void ChildIndex::Erase(std::string_view name) {
  Table* t = table_.load(std::memory_order_relaxed);
  Entry* old = nullptr;
  std::atomic<Entry*>* s = SlotOf(t, Hash(name), name, &old);
  if (s == nullptr) return;
  s->store(Tomb(), std::memory_order_seq_cst);
  --live_;
  epoch::Retire(old, FreeMem);
}

void ChildIndex::Clear() {
  Table* t = table_.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  table_.store(nullptr, std::memory_order_seq_cst);
  for (size_t i = 0; i <= t->mask; ++i) {
    Entry* e = t->slots[i].load(std::memory_order_relaxed);
    if (e != nullptr && e != Tomb()) epoch::Retire(e, FreeMem);
  }
  epoch::Retire(t, FreeTable);
  live_ = used_ = 0;
}

}  // namespace sentry::fs::internal
