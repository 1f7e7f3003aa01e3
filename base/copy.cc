#include "base/copy.h"

#include <immintrin.h>

#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define BASE_COPY_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BASE_COPY_SANITIZED 1
#endif

namespace base {
namespace internal {
namespace {

void CopyLibc(void* dst, const void* src, size_t n) {
  std::memcpy(dst, src, n);
}

#if defined(__x86_64__) && !defined(BASE_COPY_SANITIZED)

// Both loops copy one vector unaligned, then go on from the first
// destination address aligned to a vector (stores that split cache lines
// cost more than loads that do: 20 against 24 ns a page, averaged over
// relative alignments), in whole steps, then one last step ending at the
// last byte, overlapping the one before it (which is why the ranges must
// not overlap each other). So n must be at least a vector plus a step;
// kCopyBlockMin is more.

// 256 bytes in four 64-byte vectors.
__attribute__((target("avx512f"), always_inline)) inline void Step512(
    char* to, const char* from) {
  __m512i a = _mm512_loadu_si512(from);
  __m512i b = _mm512_loadu_si512(from + 64);
  __m512i c = _mm512_loadu_si512(from + 128);
  __m512i e = _mm512_loadu_si512(from + 192);
  _mm512_storeu_si512(to, a);
  _mm512_storeu_si512(to + 64, b);
  _mm512_storeu_si512(to + 128, c);
  _mm512_storeu_si512(to + 192, e);
}

// 128 bytes in four 32-byte vectors.
__attribute__((target("avx2"), always_inline)) inline void Step256(
    char* to, const char* from) {
  auto* f = reinterpret_cast<const __m256i*>(from);
  auto* t = reinterpret_cast<__m256i*>(to);
  __m256i a = _mm256_loadu_si256(f);
  __m256i b = _mm256_loadu_si256(f + 1);
  __m256i c = _mm256_loadu_si256(f + 2);
  __m256i e = _mm256_loadu_si256(f + 3);
  _mm256_storeu_si256(t, a);
  _mm256_storeu_si256(t + 1, b);
  _mm256_storeu_si256(t + 2, c);
  _mm256_storeu_si256(t + 3, e);
}

static_assert(kCopyBlockMin >= 64 + 256, "Copy512's head and one step");

__attribute__((target("avx512f"))) void Copy512(void* dst, const void* src,
                                                size_t n) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  constexpr size_t kStep = 256;
  _mm512_storeu_si512(d, _mm512_loadu_si512(s));
  const size_t head = 64 - (reinterpret_cast<uintptr_t>(d) & 63);
  d += head;
  s += head;
  n -= head;
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) Step512(d + i, s + i);
  if (i < n) Step512(d + n - kStep, s + n - kStep);
}

__attribute__((target("avx2"))) void Copy256(void* dst, const void* src,
                                             size_t n) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  constexpr size_t kStep = 128;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(d),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
  const size_t head = 32 - (reinterpret_cast<uintptr_t>(d) & 31);
  d += head;
  s += head;
  n -= head;
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) Step256(d + i, s + i);
  if (i < n) Step256(d + n - kStep, s + n - kStep);
}

CopyFn Pick() {
  __builtin_cpu_init();
  if (__builtin_cpu_is("amd") && __builtin_cpu_supports("avx512f")) {
    return Copy512;
  }
  if (__builtin_cpu_supports("avx2")) return Copy256;
  return CopyLibc;
}

#else

CopyFn Pick() { return CopyLibc; }

#endif

// The first call picks the loop and keeps it (a race only picks twice).
void Resolve(void* dst, const void* src, size_t n) {
  CopyFn f = Pick();
  g_copy_block.store(f, std::memory_order_relaxed);
  f(dst, src, n);
}

}  // namespace

// Constant-initialized, so a copy made by another file's static
// initializer finds the resolver, not null.
constinit std::atomic<CopyFn> g_copy_block{Resolve};

}  // namespace internal

const char* CopyBlockKind() {
  internal::CopyFn f = internal::Pick();
#if defined(__x86_64__) && !defined(BASE_COPY_SANITIZED)
  if (f == internal::Copy512) return "avx512";
  if (f == internal::Copy256) return "avx2";
#endif
  (void)f;
  return "memcpy";
}

}  // namespace base
