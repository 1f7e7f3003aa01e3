// Tests of p9/messages.h: round trips for every message type and decode
// hardening (truncation at every length, trailing garbage, oversize, bad
// counts and strings, too many walk names, unknown types).
#include "p9/messages.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "p9/sample_messages.h"

namespace p9 {
namespace {

using base::Errno;

std::vector<uint8_t> MustEncode(Tag tag, const Message& m) {
  auto r = Encode(tag, m, kMaxMsize);
  EXPECT_TRUE(r.ok()) << MsgTypeName(TypeOf(m));
  return r.ok() ? *r : std::vector<uint8_t>{};
}

void PatchSize(std::vector<uint8_t>& b) {
  uint32_t n = static_cast<uint32_t>(b.size());
  for (int i = 0; i < 4 && i < static_cast<int>(b.size()); ++i) {
    b[i] = static_cast<uint8_t>(n >> (8 * i));
  }
}

// Little-endian builder for hand-made messages.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes& U8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Bytes& U16(uint16_t v) { return U8(v & 0xff).U8(v >> 8); }
  Bytes& U32(uint32_t v) { return U16(v & 0xffff).U16(v >> 16); }
  Bytes& U64(uint64_t v) { return U32(v & 0xffffffff).U32(v >> 32); }
  Bytes& Str(const std::string& s) {
    U16(static_cast<uint16_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  // Starts a message: size placeholder, type, tag.
  static Bytes Msg(MsgType t, Tag tag = 1) {
    Bytes x;
    x.U32(0).U8(static_cast<uint8_t>(t)).U16(tag);
    return x;
  }
  std::vector<uint8_t> Done() {
    PatchSize(b);
    return b;
  }
};

TEST(MessagesTest, SamplesCoverEveryType) {
  std::set<size_t> seen;
  for (const auto& m : testing::SampleMessages()) seen.insert(m.index());
  EXPECT_EQ(seen.size(), std::variant_size_v<Message>);
}

TEST(MessagesTest, RoundTripEveryType) {
  Tag tag = 0;
  for (const auto& m : testing::SampleMessages()) {
    SCOPED_TRACE(MsgTypeName(TypeOf(m)));
    ++tag;
    std::vector<uint8_t> enc = MustEncode(tag, m);
    ASSERT_GE(enc.size(), kHeaderSize);
    auto h = DecodeHeader(enc);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->size, enc.size());
    EXPECT_EQ(h->type, TypeOf(m));
    EXPECT_EQ(h->tag, tag);
    std::string detail;
    auto d = Decode(enc, kMaxMsize, &detail);
    ASSERT_TRUE(d.ok()) << detail;
    EXPECT_EQ(d->tag, tag);
    EXPECT_TRUE(d->msg == m);
    // Re-encoding the decoded message gives the same bytes.
    EXPECT_EQ(MustEncode(tag, d->msg), enc);
  }
}

TEST(MessagesTest, WireLayoutSpotChecks) {
  // Tversion: size[4] type[1] tag[2] msize[4] version[s].
  auto v = MustEncode(kNoTag, Tversion{8192, "9P2000.L"});
  std::vector<uint8_t> want = {21,   0,    0,   0,   100, 0xff, 0xff,
                               0x00, 0x20, 0,   0,   8,   0,    '9',
                               'P',  '2',  '0', '0', '0', '.',  'L'};
  EXPECT_EQ(v, want);
  // Rlerror: 7 + ecode[4].
  auto e = MustEncode(3, Rlerror{2});
  EXPECT_EQ(e, (std::vector<uint8_t>{11, 0, 0, 0, 7, 3, 0, 2, 0, 0, 0}));
  // Rgetattr body is 8 + 13 + 3*4 + 15*8 = 153 bytes.
  EXPECT_EQ(MustEncode(1, Rgetattr{}).size(), kHeaderSize + 153);
  // Tsetattr: fid + 4*4 + 5*8.
  EXPECT_EQ(MustEncode(1, Tsetattr{}).size(), kHeaderSize + 4 + 16 + 40);
  // Rstatfs: 4+4+8*6+4.
  EXPECT_EQ(MustEncode(1, Rstatfs{}).size(), kHeaderSize + 60);
  // Twrite data follows the fixed part.
  const uint8_t data[] = {1, 2, 3};
  EXPECT_EQ(MustEncode(1, Twrite{1, 0, Payload{data}}).size(),
            kTwriteOverhead + 3);
  EXPECT_EQ(MustEncode(1, Rread{Payload{data}}).size(), kRreadOverhead + 3);
}

TEST(MessagesTest, TailIsNotCopied) {
  const uint8_t data[] = {9, 8, 7, 6, 5};
  Twrite w{7, 100, Payload{data}};
  std::vector<uint8_t> head;
  std::span<const uint8_t> tail;
  ASSERT_TRUE(Encode(5, w, kMaxMsize, &head, &tail).ok());
  EXPECT_EQ(tail.data(), data);
  EXPECT_EQ(tail.size(), sizeof(data));
  EXPECT_EQ(head.size(), kTwriteOverhead);
  std::vector<uint8_t> whole = head;
  whole.insert(whole.end(), tail.begin(), tail.end());
  EXPECT_EQ(whole, MustEncode(5, w));
  // Decoded payloads point into the receive buffer.
  auto d = Decode(whole, kMaxMsize);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Twrite>(d->msg).data.data.data(),
            whole.data() + kTwriteOverhead);
  // Messages without a payload leave tail empty.
  head.clear();
  ASSERT_TRUE(Encode(5, Tclunk{1}, kMaxMsize, &head, &tail).ok());
  EXPECT_TRUE(tail.empty());
}

TEST(MessagesTest, EveryTruncationFails) {
  for (const auto& m : testing::SampleMessages()) {
    SCOPED_TRACE(MsgTypeName(TypeOf(m)));
    const std::vector<uint8_t> enc = MustEncode(1, m);
    for (size_t len = 0; len < enc.size(); ++len) {
      // A copy so ASan catches any over-read past `len`.
      std::vector<uint8_t> cut(enc.begin(), enc.begin() + len);
      EXPECT_FALSE(Decode(cut, kMaxMsize).ok()) << "len " << len;
      // Also with a size field that agrees with the truncated length.
      if (len >= 4) {
        PatchSize(cut);
        std::string detail;
        auto d = Decode(cut, kMaxMsize, &detail);
        EXPECT_FALSE(d.ok()) << "patched len " << len;
        if (!d.ok() && len >= kHeaderSize) {
          EXPECT_EQ(d.error(), Errno(EPROTO)) << detail;
          EXPECT_FALSE(detail.empty());
        }
      }
    }
  }
}

TEST(MessagesTest, TrailingGarbageFails) {
  for (const auto& m : testing::SampleMessages()) {
    SCOPED_TRACE(MsgTypeName(TypeOf(m)));
    std::vector<uint8_t> enc = MustEncode(1, m);
    enc.push_back(0);
    PatchSize(enc);
    std::string detail;
    auto d = Decode(enc, kMaxMsize, &detail);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), Errno(EPROTO));
    EXPECT_NE(detail.find("trailing"), std::string::npos) << detail;
  }
}

TEST(MessagesTest, SizeFieldMismatchFails) {
  std::vector<uint8_t> enc = MustEncode(1, Tclunk{5});
  enc[0] += 1;  // Claims one more byte than there is.
  EXPECT_EQ(Decode(enc, kMaxMsize).error(), Errno(EPROTO));
  enc[0] -= 2;  // Claims one fewer.
  EXPECT_EQ(Decode(enc, kMaxMsize).error(), Errno(EPROTO));
  // Header says less than a header.
  auto tiny = Bytes::Msg(MsgType::kTclunk).U32(5).b;
  tiny[0] = 3;
  EXPECT_EQ(Decode(tiny, kMaxMsize).error(), Errno(EPROTO));
  EXPECT_FALSE(DecodeHeader(tiny).ok());
}

TEST(MessagesTest, OversizedFails) {
  std::vector<uint8_t> enc = MustEncode(1, Tversion{8192, "9P2000.L"});
  std::string detail;
  auto d = Decode(enc, static_cast<uint32_t>(enc.size() - 1), &detail);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), Errno(EMSGSIZE));
  EXPECT_NE(detail.find("msize"), std::string::npos);
  EXPECT_TRUE(Decode(enc, static_cast<uint32_t>(enc.size())).ok());
  // Encode refuses too.
  std::vector<uint8_t> out;
  EXPECT_EQ(Encode(1, Tversion{8192, "9P2000.L"},
                   static_cast<uint32_t>(enc.size() - 1), &out),
            Errno(EMSGSIZE));
  EXPECT_TRUE(out.empty());
}

TEST(MessagesTest, UnknownTypeIsEnosys) {
  for (uint8_t t : {0, 6, 106, 107, 112, 124, 126, 127, 150, 208, 255}) {
    auto b = Bytes::Msg(static_cast<MsgType>(t)).U32(1).Done();
    EXPECT_EQ(Decode(b, kMaxMsize).error(), Errno(ENOSYS)) << int{t};
    EXPECT_FALSE(IsKnownType(t));
  }
  EXPECT_TRUE(IsKnownType(100));
  EXPECT_TRUE(IsKnownType(200));
  EXPECT_TRUE(IsKnownType(206));
  EXPECT_EQ(ExtensionLevelOf(MsgType::kTwalk), 0);
  EXPECT_EQ(ExtensionLevelOf(MsgType::kRfsyncclunk), 1);
  EXPECT_EQ(ExtensionLevelOf(MsgType::kTwalkstat), 2);
  EXPECT_EQ(MsgTypeName(MsgType::kTwalk), "Twalk");
  EXPECT_EQ(MsgTypeName(static_cast<MsgType>(250)), "type(250)");
}

// An Rwalkstat claiming more attrs than fit, or than a walk may have.
TEST(MessagesTest, WalkStatReplyBounds) {
  auto with_dir = [](uint16_t n) {
    Bytes b = Bytes::Msg(MsgType::kRwalkstat);
    for (int i = 0; i < 153; ++i) b.U8(0);  // the dir's attr
    return b.U16(n);
  };
  Bytes many = with_dir(kMaxWalkNames + 1);
  EXPECT_EQ(Decode(many.Done(), kMaxMsize).error(), Errno(EINVAL));
  Bytes shortb = with_dir(2);
  for (int i = 0; i < 200; ++i) shortb.U8(0);  // less than two attrs
  EXPECT_EQ(Decode(shortb.Done(), kMaxMsize).error(), Errno(EPROTO));
}

TEST(MessagesTest, WalkWithTooManyNames) {
  Bytes b = Bytes::Msg(MsgType::kTwalk).U32(1).U32(2).U16(kMaxWalkNames + 1);
  for (size_t i = 0; i <= kMaxWalkNames; ++i) b.Str("x");
  std::string detail;
  auto d = Decode(b.Done(), kMaxMsize, &detail);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), Errno(EINVAL));
  EXPECT_NE(detail.find("names"), std::string::npos) << detail;
  // Rwalk likewise.
  Bytes r = Bytes::Msg(MsgType::kRwalk).U16(kMaxWalkNames + 1);
  for (size_t i = 0; i <= kMaxWalkNames; ++i) r.U8(0).U32(0).U64(i);
  EXPECT_EQ(Decode(r.Done(), kMaxMsize).error(), Errno(EINVAL));
  // And Encode refuses.
  Twalk w{1, 2, std::vector<std::string>(kMaxWalkNames + 1, "x")};
  std::vector<uint8_t> out;
  EXPECT_EQ(Encode(1, w, kMaxMsize, &out), Errno(EINVAL));
  Twalkgetattr wg{1, 2, std::vector<std::string>(kMaxWalkNames + 1, "x")};
  EXPECT_EQ(Encode(1, wg, kMaxMsize, &out), Errno(EINVAL));
}

TEST(MessagesTest, CountsExceedingPayload) {
  // nwname claims more names than there are bytes for.
  auto w = Bytes::Msg(MsgType::kTwalk).U32(1).U32(2).U16(3).Str("a").Done();
  EXPECT_EQ(Decode(w, kMaxMsize).error(), Errno(EPROTO));
  // nwqid.
  auto rw = Bytes::Msg(MsgType::kRwalk).U16(2).U8(0).U32(0).U64(0).Done();
  EXPECT_EQ(Decode(rw, kMaxMsize).error(), Errno(EPROTO));
  // Rread count past the end.
  auto rr = Bytes::Msg(MsgType::kRread).U32(100).U8(1).U8(2).Done();
  std::string detail;
  auto d = Decode(rr, kMaxMsize, &detail);
  EXPECT_EQ(d.error(), Errno(EPROTO));
  EXPECT_NE(detail.find("count"), std::string::npos) << detail;
  // Huge counts do not allocate or overflow.
  auto huge = Bytes::Msg(MsgType::kTwrite).U32(1).U64(0).U32(0xffffffff).Done();
  EXPECT_EQ(Decode(huge, kMaxMsize).error(), Errno(EPROTO));
  auto rd = Bytes::Msg(MsgType::kRreaddir).U32(0xfffffff0).Done();
  EXPECT_EQ(Decode(rd, kMaxMsize).error(), Errno(EPROTO));
  // Rreaddir whose count covers half an entry.
  auto half = Bytes::Msg(MsgType::kRreaddir).U32(5).U32(0).U8(0).Done();
  EXPECT_EQ(Decode(half, kMaxMsize).error(), Errno(EPROTO));
  // Rreaddir entry whose name runs past count (but not past the message).
  Bytes rd2 = Bytes::Msg(MsgType::kRreaddir);
  rd2.U32(kQidSize + 8 + 1 + 2 + 1)
      .U8(0)
      .U32(0)
      .U64(0)
      .U64(1)
      .U8(8)
      .U16(5)
      .U8('a');
  rd2.U8('b').U8('c').U8('d').U8('e');
  EXPECT_EQ(Decode(rd2.Done(), kMaxMsize).error(), Errno(EPROTO));
}

TEST(MessagesTest, StringLongerThanBuffer) {
  Bytes b = Bytes::Msg(MsgType::kTversion).U32(8192).U16(500);
  b.U8('9').U8('P');
  std::string detail;
  auto d = Decode(b.Done(), kMaxMsize, &detail);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), Errno(EPROTO));
  EXPECT_NE(detail.find("string"), std::string::npos) << detail;
  // Encode rejects strings over the u16 limit.
  std::vector<uint8_t> out;
  EXPECT_EQ(Encode(1, Treadlink{}, kMaxMsize, &out), Errno::Ok());
  EXPECT_EQ(Encode(1, Rreadlink{std::string(70000, 'x')}, kMaxMsize, &out),
            Errno(EINVAL));
}

TEST(MessagesTest, EmptyAndTinyBuffers) {
  EXPECT_EQ(Decode({}, kMaxMsize).error(), Errno(EPROTO));
  std::vector<uint8_t> six(6, 0);
  EXPECT_EQ(Decode(six, kMaxMsize).error(), Errno(EPROTO));
  // Zero-byte-body messages decode from exactly a header.
  auto rc = Bytes::Msg(MsgType::kRclunk, 9).Done();
  auto d = Decode(rc, kMaxMsize);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tag, 9);
  EXPECT_TRUE(std::holds_alternative<Rclunk>(d->msg));
}

TEST(MessagesTest, ParseVersion) {
  EXPECT_TRUE(ParseVersion("9P2000.L").ok);
  EXPECT_EQ(ParseVersion("9P2000.L").level, 0);
  EXPECT_EQ(ParseVersion("9P2000.L.Gofer.1").level, 1);
  EXPECT_EQ(ParseVersion("9P2000.L.Gofer.12").level, 12);
  EXPECT_TRUE(ParseVersion("9P2000.L.Google.7").ok);
  EXPECT_EQ(ParseVersion("9P2000.L.Google.7").level, 0);
  EXPECT_EQ(ParseVersion("9P2000.L.Gofer.x").level, 0);
  EXPECT_EQ(ParseVersion("9P2000.L.Gofer.0").level, 0);
  EXPECT_EQ(ParseVersion("9P2000.L.Gofer.").level, 0);
  EXPECT_FALSE(ParseVersion("9P2000").ok);
  EXPECT_FALSE(ParseVersion("9P2000.u").ok);
  EXPECT_FALSE(ParseVersion("9P2000.LX").ok);
  EXPECT_FALSE(ParseVersion("").ok);
  EXPECT_EQ(ExtendedVersionString(1), "9P2000.L.Gofer.1");
}

TEST(MessagesTest, ReplyTypes) {
  for (const auto& m : testing::SampleMessages()) {
    const uint8_t t = static_cast<uint8_t>(TypeOf(m));
    if (t % 2 == 0) {
      EXPECT_TRUE(IsKnownType(static_cast<uint8_t>(ReplyTypeFor(TypeOf(m)))))
          << MsgTypeName(TypeOf(m));
    }
  }
}

}  // namespace
}  // namespace p9
