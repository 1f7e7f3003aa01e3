#include "tools/bench/alloc_count.h"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace bench::alloc {
namespace {

std::atomic<bool> g_on{false};
std::atomic<int64_t> g_bytes{0};
std::atomic<int64_t> g_count{0};

void* Allocate(size_t n, size_t align) {
  if (n == 0) n = 1;
  void* p = align <= alignof(std::max_align_t)
                ? std::malloc(n)
                : std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  if (g_on.load(std::memory_order_relaxed)) {
    g_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)),
                      std::memory_order_relaxed);
    g_count.fetch_add(1, std::memory_order_relaxed);
  }
  return p;
}

void Free(void* p) {
  if (p == nullptr) return;
  if (g_on.load(std::memory_order_relaxed)) {
    g_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)),
                      std::memory_order_relaxed);
    g_count.fetch_sub(1, std::memory_order_relaxed);
  }
  std::free(p);
}

}  // namespace

Scope::Scope() {
  g_bytes.store(0);
  g_count.store(0);
  g_on.store(true);
}
Scope::~Scope() { g_on.store(false); }
int64_t Scope::NetBytes() const { return g_bytes.load(); }
int64_t Scope::Allocations() const { return g_count.load(); }

}  // namespace bench::alloc

using bench::alloc::Allocate;
using bench::alloc::Free;

void* operator new(size_t n) { return Allocate(n, 0); }
void* operator new[](size_t n) { return Allocate(n, 0); }
void* operator new(size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<size_t>(a));
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, size_t) noexcept { Free(p); }
void operator delete[](void* p, size_t) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Free(p); }
