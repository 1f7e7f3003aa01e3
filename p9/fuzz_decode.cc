// libFuzzer entry point for p9::Decode.
//
// Any input must decode to an error or to a message that re-encodes to the
// very same bytes (the encoding is canonical) and decodes again to an equal
// message. Built as a libFuzzer binary with clang (//p9:fuzz_decode) and
// driven by seeded inputs in //p9:fuzz_decode_test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "p9/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  (void)p9::DecodeHeader(in);
  auto d = p9::Decode(in, p9::kMaxMsize);
  if (!d.ok()) return 0;
  auto enc = p9::Encode(d->tag, d->msg, p9::kMaxMsize);
  if (!enc.ok() || enc->size() != size ||
      !std::equal(enc->begin(), enc->end(), data)) {
    std::abort();
  }
  auto again = p9::Decode(*enc, p9::kMaxMsize);
  if (!again.ok() || !(again->msg == d->msg) || again->tag != d->tag) {
    std::abort();
  }
  return 0;
}
