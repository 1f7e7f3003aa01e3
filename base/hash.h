// base::HashName: a fast seeded hash for file names, the keys of every
// directory table on a path walk.
//
// Seeded once per process with random bits, so that a sandboxed program
// cannot choose names that collide (all land in one probe run of a
// directory's table) without first learning the seed. Mixing is by folded
// multiplication (the low and high halves of a 64x64->128-bit product,
// xored), the step abseil's LowLevelHash is built on; names of up to 16
// bytes, which are most names, take two such steps and no loop.
//
// Not a cryptographic hash, and not stable across processes: never store
// or send it.
#ifndef BASE_HASH_H_
#define BASE_HASH_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace base {
namespace internal {

// Random bits, drawn once (hash.cc).
uint64_t MakeHashSeed();

inline uint64_t FoldedMultiply(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Odd constants with well-spread bits (digits of pi).
inline constexpr uint64_t kMulA = 0x243f6a8885a308d3;
inline constexpr uint64_t kMulB = 0x13198a2e03707345;

}  // namespace internal

inline uint64_t HashName(std::string_view name) {
  using internal::FoldedMultiply;
  using internal::Load32;
  using internal::Load64;
  const char* p = name.data();
  const size_t n = name.size();
  // A function's static, not a global's: a table filled by another
  // global's initialiser must see the seed every later lookup sees.
  static const uint64_t seed = internal::MakeHashSeed();
  uint64_t state = seed;
  uint64_t a, b;
  if (n <= 16) {
    if (n >= 8) {  // two words, overlapping when n < 16
      a = Load64(p);
      b = Load64(p + n - 8);
    } else if (n >= 4) {
      a = Load32(p);
      b = Load32(p + n - 4);
    } else if (n > 0) {  // the first, middle and last bytes
      a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
          (uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
          static_cast<unsigned char>(p[n - 1]);
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    size_t i = 0;
    for (; n - i > 16; i += 16) {
      state = FoldedMultiply(Load64(p + i) ^ internal::kMulA,
                             Load64(p + i + 8) ^ state);
    }
    a = Load64(p + n - 16);
    b = Load64(p + n - 8);
  }
  // The length enters too, so that names of different lengths whose
  // words overlap the same way differ.
  return FoldedMultiply(FoldedMultiply(a ^ internal::kMulA, b ^ state),
                        n ^ internal::kMulB);
}

// Whether a and b are the same name; what a probe that matched HashName's
// bits checks next. Names of 4 to 16 bytes compare in two overlapping
// loads each, without a call to memcmp.
inline bool SameName(std::string_view a, std::string_view b) {
  using internal::Load32;
  using internal::Load64;
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    return ((Load64(p) ^ Load64(q)) |
            (Load64(p + n - 8) ^ Load64(q + n - 8))) == 0;
  }
  if (n >= 4 && n < 8) {
    return ((Load32(p) ^ Load32(q)) |
            (Load32(p + n - 4) ^ Load32(q + n - 4))) == 0;
  }
  return std::memcmp(p, q, n) == 0;
}

}  // namespace base

#endif  // BASE_HASH_H_
