// base::CopyBytes: memcpy for the data path (read and write copies
// between a caller's buffer and a file's pages).
//
// glibc copies blocks from about 2 KiB up with `rep movsb` on CPUs that
// advertise fast short rep-mov (FSRM). On the AMD EPYC machines this
// project runs on that is 30 to 42 ns for a 4 KiB copy, depending on how
// the two ranges sit relative to each other, against 16.5 to 20 ns for a
// loop of 64-byte vector loads and stores that picks its direction (see
// copy.cc); and a page is what every memory-backed read and write copies.
// So blocks from 512 bytes to 32 KiB go through that loop where the CPU
// is AMD with AVX-512, the only kind it was measured on (glibc itself
// avoids 512-bit vectors on Intel, whose clocks drop under them). Other
// sizes, other CPUs and the sanitizer builds (whose memcpy interceptors
// check the ranges) use memcpy.
//
// For copies that are part of a transfer of at most kCopyBytesMax bytes
// in all: past that the copy is bound by L2 and memory bandwidth, where
// `rep movsb` streams better (a 1 MiB read, page by page, is 4% slower
// through the loop). Same contract as memcpy: the ranges must not overlap.
#ifndef BASE_COPY_H_
#define BASE_COPY_H_

#include <atomic>
#include <cstddef>
#include <cstring>

namespace base {
namespace internal {

using CopyFn = void (*)(void* dst, const void* src, size_t n);
// The loop for this CPU; starts as a resolver that picks it (copy.cc).
extern std::atomic<CopyFn> g_copy_block;

inline constexpr size_t kCopyBlockMin = 512;

}  // namespace internal

inline constexpr size_t kCopyBytesMax = 32 * 1024;

inline void CopyBytes(void* dst, const void* src, size_t n) {
  if (n >= internal::kCopyBlockMin && n <= kCopyBytesMax) {
    internal::g_copy_block.load(std::memory_order_relaxed)(dst, src, n);
    return;
  }
  std::memcpy(dst, src, n);
}

// Which loop CopyBytes uses for blocks: "avx512" or "memcpy".
const char* CopyBlockKind();

}  // namespace base

#endif  // BASE_COPY_H_
