// Runs the fuzz_decode.cc body over deterministic pseudo-random inputs:
// pure noise, noise behind a valid header, and bit-flipped/byte-mutated
// encodings of every sample message. Crashes (or ASan reports) fail it.
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "p9/messages.h"
#include "p9/sample_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace p9 {
namespace {

void RunFuzzBody(const std::vector<uint8_t>& b) {
  // An exact-size heap copy so ASan sees any over-read.
  std::vector<uint8_t> copy(b);
  LLVMFuzzerTestOneInput(copy.data(), copy.size());
}

void PatchSize(std::vector<uint8_t>& b) {
  for (int i = 0; i < 4 && i < static_cast<int>(b.size()); ++i) {
    b[i] = static_cast<uint8_t>(b.size() >> (8 * i));
  }
}

TEST(FuzzDecodeTest, RandomNoise) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b(rng() % 64);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    RunFuzzBody(b);
    // Same noise behind a consistent header of a known type.
    if (b.size() >= kHeaderSize) {
      static const std::vector<Message> samples = testing::SampleMessages();
      b[4] = static_cast<uint8_t>(TypeOf(samples[rng() % samples.size()]));
      PatchSize(b);
      RunFuzzBody(b);
    }
  }
}

TEST(FuzzDecodeTest, MutatedSamples) {
  std::mt19937 rng(777);
  for (const auto& m : testing::SampleMessages()) {
    auto enc = Encode(1, m);
    ASSERT_TRUE(enc.ok());
    RunFuzzBody(*enc);
    for (int i = 0; i < 400; ++i) {
      std::vector<uint8_t> b = *enc;
      const int edits = 1 + rng() % 3;
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % b.size();
        switch (rng() % 4) {
          case 0:
            b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            b[pos] = static_cast<uint8_t>(rng());
            break;
          case 2:
            b.insert(b.begin() + pos, static_cast<uint8_t>(rng()));
            break;
          default:
            b.erase(b.begin() + pos);
            if (b.empty()) b.push_back(0);
            break;
        }
      }
      if (rng() % 2) PatchSize(b);
      RunFuzzBody(b);
    }
  }
}

}  // namespace
}  // namespace p9
