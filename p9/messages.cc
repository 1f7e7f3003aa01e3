#include "p9/messages.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace p9 {
namespace {

using base::Errno;

template <typename T>
concept HasFields = requires(const T& t) {
  t.Fields();
};

// ---------------------------------------------------------------------------
// Encoding.

class Writer {
 public:
  Writer(std::vector<uint8_t>* out, bool split_tail)
      : out_(out), split_tail_(split_tail) {}

  void Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }
  template <typename U>
  void Int(U v) {
    uint8_t b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) {
      b[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
    }
    Bytes(b, sizeof(U));
  }
  void Fail(Errno e) {
    if (err_.ok()) err_ = e;
  }
  Errno err() const { return err_; }
  bool split_tail() const { return split_tail_; }
  void SetTail(std::span<const uint8_t> t) { tail_ = t; }
  std::span<const uint8_t> tail() const { return tail_; }
  std::vector<uint8_t>* out() { return out_; }

 private:
  std::vector<uint8_t>* out_;
  bool split_tail_;
  std::span<const uint8_t> tail_;
  Errno err_;
};

void Put(Writer& w, uint8_t v) { w.Int(v); }
void Put(Writer& w, uint16_t v) { w.Int(v); }
void Put(Writer& w, uint32_t v) { w.Int(v); }
void Put(Writer& w, uint64_t v) { w.Int(v); }

void Put(Writer& w, const std::string& s) {
  if (s.size() > kMaxStringLength) {
    w.Fail(Errno(EINVAL));
    return;
  }
  w.Int(static_cast<uint16_t>(s.size()));
  w.Bytes(s.data(), s.size());
}

void Put(Writer& w, const Payload& p) {
  if (p.data.size() > 0xFFFFFFFFu) {
    w.Fail(Errno(EMSGSIZE));
    return;
  }
  w.Int(static_cast<uint32_t>(p.data.size()));
  if (w.split_tail()) {
    w.SetTail(p.data);
  } else {
    w.Bytes(p.data.data(), p.data.size());
  }
}

template <HasFields T>
void Put(Writer& w, const T& v);

void Put(Writer& w, const std::vector<std::string>& names) {
  if (names.size() > kMaxWalkNames) {
    w.Fail(Errno(EINVAL));
    return;
  }
  w.Int(static_cast<uint16_t>(names.size()));
  for (const auto& n : names) Put(w, n);
}

void Put(Writer& w, const std::vector<Qid>& qids) {
  if (qids.size() > kMaxWalkNames) {
    w.Fail(Errno(EINVAL));
    return;
  }
  w.Int(static_cast<uint16_t>(qids.size()));
  for (const auto& q : qids) Put(w, q);
}

void Put(Writer& w, const std::vector<Attr>& attrs) {
  if (attrs.size() > kMaxWalkNames) {
    w.Fail(Errno(EINVAL));
    return;
  }
  w.Int(static_cast<uint16_t>(attrs.size()));
  for (const auto& a : attrs) Put(w, a);
}

void Put(Writer& w, const std::vector<Dirent>& entries) {
  size_t count_at = w.out()->size();
  w.Int(uint32_t{0});
  size_t start = w.out()->size();
  for (const auto& d : entries) Put(w, d);
  size_t n = w.out()->size() - start;
  if (n > 0xFFFFFFFFu) {
    w.Fail(Errno(EMSGSIZE));
    return;
  }
  for (size_t i = 0; i < 4; ++i) {
    (*w.out())[count_at + i] = static_cast<uint8_t>(n >> (8 * i));
  }
}

template <HasFields T>
void Put(Writer& w, const T& v) {
  std::apply([&w](const auto&... f) { (Put(w, f), ...); }, v.Fields());
}

// ---------------------------------------------------------------------------
// Decoding.

class Reader {
 public:
  Reader(std::span<const uint8_t> buf, std::string* detail)
      : buf_(buf), detail_(detail) {}

  bool ok() const { return err_.ok(); }
  Errno err() const { return err_; }
  size_t remaining() const { return buf_.size() - pos_; }
  size_t pos() const { return pos_; }

  void Fail(Errno e, std::string_view what) {
    if (!err_.ok()) return;
    err_ = e;
    if (detail_ != nullptr) *detail_ = std::string(what);
  }

  // Returns a view of the next n bytes, or nullopt (and fails) if fewer
  // remain.
  std::optional<std::span<const uint8_t>> Take(size_t n,
                                               std::string_view what) {
    if (!ok()) return std::nullopt;
    if (remaining() < n) {
      Fail(Errno(EPROTO),
           absl::StrCat("truncated ", std::string(what), ": need ", n,
                        " bytes at offset ", pos_, ", have ", remaining()));
      return std::nullopt;
    }
    auto s = buf_.subspan(pos_, n);
    pos_ += n;
    return s;
  }

  template <typename U>
  U Int(std::string_view what) {
    auto s = Take(sizeof(U), what);
    if (!s) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) {
      v |= static_cast<uint64_t>((*s)[i]) << (8 * i);
    }
    return static_cast<U>(v);
  }

 private:
  std::span<const uint8_t> buf_;
  size_t pos_ = 0;
  std::string* detail_;
  Errno err_;
};

void Get(Reader& r, uint8_t& v) { v = r.Int<uint8_t>("u8"); }
void Get(Reader& r, uint16_t& v) { v = r.Int<uint16_t>("u16"); }
void Get(Reader& r, uint32_t& v) { v = r.Int<uint32_t>("u32"); }
void Get(Reader& r, uint64_t& v) { v = r.Int<uint64_t>("u64"); }

void Get(Reader& r, std::string& s) {
  uint16_t n = r.Int<uint16_t>("string length");
  if (!r.ok()) return;
  if (n > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("string of length ", n, " at offset ",
                                       r.pos(), " runs past the message (",
                                       r.remaining(), " bytes left)"));
    return;
  }
  auto b = r.Take(n, "string");
  if (!b) return;
  s.assign(reinterpret_cast<const char*>(b->data()), b->size());
}

void Get(Reader& r, Payload& p) {
  uint32_t n = r.Int<uint32_t>("data count");
  if (!r.ok()) return;
  if (n > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("data count ", n, " exceeds the ",
                                       r.remaining(), " payload bytes"));
    return;
  }
  auto b = r.Take(n, "data");
  if (b) p.data = *b;
}

template <HasFields T>
void Get(Reader& r, T& v);

void Get(Reader& r, std::vector<std::string>& names) {
  uint16_t n = r.Int<uint16_t>("nwname");
  if (!r.ok()) return;
  if (n > kMaxWalkNames) {
    r.Fail(Errno(EINVAL),
           absl::StrCat("walk with ", n, " names (max ", kMaxWalkNames, ")"));
    return;
  }
  // Each name needs at least its 2-byte length.
  if (size_t{n} * 2 > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("nwname ", n, " exceeds the payload"));
    return;
  }
  names.resize(n);
  for (auto& s : names) {
    Get(r, s);
    if (!r.ok()) return;
  }
}

void Get(Reader& r, std::vector<Qid>& qids) {
  uint16_t n = r.Int<uint16_t>("nwqid");
  if (!r.ok()) return;
  if (n > kMaxWalkNames) {
    r.Fail(Errno(EINVAL), absl::StrCat("walk reply with ", n, " qids (max ",
                                       kMaxWalkNames, ")"));
    return;
  }
  if (size_t{n} * kQidSize > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("nwqid ", n, " exceeds the payload"));
    return;
  }
  qids.resize(n);
  for (auto& q : qids) Get(r, q);
}

// valid[8] qid[13] mode[4] uid[4] gid[4] and fifteen 8-byte fields.
constexpr size_t kAttrSize = 8 + kQidSize + 4 * 3 + 8 * 15;

void Get(Reader& r, std::vector<Attr>& attrs) {
  uint16_t n = r.Int<uint16_t>("nwattr");
  if (!r.ok()) return;
  if (n > kMaxWalkNames) {
    r.Fail(Errno(EINVAL), absl::StrCat("walkstat reply with ", n,
                                       " attrs (max ", kMaxWalkNames, ")"));
    return;
  }
  if (size_t{n} * kAttrSize > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("nwattr ", n, " exceeds the payload"));
    return;
  }
  attrs.resize(n);
  for (auto& a : attrs) Get(r, a);
}

void Get(Reader& r, std::vector<Dirent>& entries) {
  uint32_t n = r.Int<uint32_t>("readdir count");
  if (!r.ok()) return;
  if (n > r.remaining()) {
    r.Fail(Errno(EPROTO), absl::StrCat("readdir count ", n, " exceeds the ",
                                       r.remaining(), " payload bytes"));
    return;
  }
  auto b = r.Take(n, "readdir data");
  if (!b) return;
  // Parse the entries with a sub-reader confined to `count` bytes.
  std::string sub_detail;
  Reader sub(*b, &sub_detail);
  // Minimum entry: qid + offset + type + empty name.
  constexpr size_t kMinDirent = kQidSize + 8 + 1 + 2;
  while (sub.ok() && sub.remaining() > 0) {
    if (sub.remaining() < kMinDirent) {
      sub.Fail(Errno(EPROTO), absl::StrCat("partial dirent: ", sub.remaining(),
                                           " trailing bytes"));
      break;
    }
    Dirent d;
    Get(sub, d);
    if (sub.ok()) entries.push_back(std::move(d));
  }
  if (!sub.ok()) {
    r.Fail(sub.err(), absl::StrCat("in readdir entries: ", sub_detail));
  }
}

template <HasFields T>
void Get(Reader& r, T& v) {
  std::apply([&r](auto&... f) { (Get(r, f), ...); }, v.Fields());
}

// Type-indexed decode table.
using DecodeFn = bool (*)(Reader&, Message*);

template <typename T>
bool DecodeInto(Reader& r, Message* out) {
  T v;
  Get(r, v);
  if (!r.ok()) return false;
  *out = std::move(v);
  return true;
}

template <size_t I>
using Alt = std::variant_alternative_t<I, Message>;

struct TypeInfo {
  DecodeFn decode = nullptr;
  std::string_view name;
};

constexpr std::array<TypeInfo, 256> kTypeTable =
    []<size_t... I>(std::index_sequence<I...>) {
  std::array<TypeInfo, 256> t{};
  ((t[static_cast<uint8_t>(Alt<I>::kType)] =
        TypeInfo{&DecodeInto<Alt<I>>, Alt<I>::kName}),
   ...);
  return t;
}
(std::make_index_sequence<std::variant_size_v<Message>>());

}  // namespace

bool Payload::operator==(const Payload& o) const {
  return data.size() == o.data.size() &&
         (data.empty() ||
          std::memcmp(data.data(), o.data.data(), data.size()) == 0);
}

std::string ExtendedVersionString(int level) {
  return absl::StrCat(std::string(kExtendedVersionPrefix), level);
}

ParsedVersion ParseVersion(std::string_view version) {
  ParsedVersion p;
  if (version == kVersion9P2000L) {
    p.ok = true;
    return p;
  }
  if (version.substr(0, kVersion9P2000L.size()) != kVersion9P2000L ||
      version.size() <= kVersion9P2000L.size() ||
      version[kVersion9P2000L.size()] != '.') {
    return p;  // Not 9P2000.L-based.
  }
  p.ok = true;  // Some 9P2000.L.* dialect: at least plain 9P2000.L.
  if (version.substr(0, kExtendedVersionPrefix.size()) ==
      kExtendedVersionPrefix) {
    std::string_view num = version.substr(kExtendedVersionPrefix.size());
    int level = 0;
    auto [ptr, ec] =
        std::from_chars(num.data(), num.data() + num.size(), level);
    if (ec == std::errc() && ptr == num.data() + num.size() && level > 0 &&
        !num.empty() && num[0] != '0') {
      p.level = level;
    }
  }
  return p;
}

std::string MsgTypeName(MsgType type) {
  const TypeInfo& info = kTypeTable[static_cast<uint8_t>(type)];
  if (info.decode == nullptr) {
    return absl::StrCat("type(", static_cast<int>(type), ")");
  }
  return std::string(info.name);
}

MsgType TypeOf(const Message& msg) {
  return std::visit([](const auto& m) { return m.kType; }, msg);
}

bool IsKnownType(uint8_t type) { return kTypeTable[type].decode != nullptr; }

int ExtensionLevelOf(MsgType type) {
  const auto t = static_cast<uint8_t>(type);
  if (t < kFirstExtensionType) return 0;
  if (t < static_cast<uint8_t>(MsgType::kTwalkstat)) return 1;
  return 2;
}

size_t DirentSize(const Dirent& d) {
  return kQidSize + 8 + 1 + 2 + d.name.size();
}

base::ErrnoOr<Header> DecodeHeader(std::span<const uint8_t> buf) {
  if (buf.size() < kHeaderSize) return Errno(EPROTO);
  Reader r(buf, nullptr);
  Header h;
  h.size = r.Int<uint32_t>("size");
  h.type = static_cast<MsgType>(r.Int<uint8_t>("type"));
  h.tag = r.Int<uint16_t>("tag");
  if (h.size < kHeaderSize) return Errno(EPROTO);
  return h;
}

Errno Encode(Tag tag, const Message& msg, uint32_t msize,
             std::vector<uint8_t>* out, std::span<const uint8_t>* tail) {
  const size_t start = out->size();
  Writer w(out, tail != nullptr);
  w.Int(uint32_t{0});
  w.Int(static_cast<uint8_t>(TypeOf(msg)));
  w.Int(tag);
  std::visit([&w](const auto& m) { Put(w, m); }, msg);
  const size_t total = out->size() - start + w.tail().size();
  if (w.err().ok() && total > msize) w.Fail(Errno(EMSGSIZE));
  if (!w.err().ok()) {
    out->resize(start);
    if (tail != nullptr) *tail = {};
    return w.err();
  }
  for (size_t i = 0; i < 4; ++i) {
    (*out)[start + i] = static_cast<uint8_t>(total >> (8 * i));
  }
  if (tail != nullptr) *tail = w.tail();
  return Errno::Ok();
}

base::ErrnoOr<std::vector<uint8_t>> Encode(Tag tag, const Message& msg,
                                           uint32_t msize) {
  std::vector<uint8_t> out;
  RETURN_IF_ERRNO(Encode(tag, msg, msize, &out, nullptr));
  return out;
}

base::ErrnoOr<Decoded> Decode(std::span<const uint8_t> buf, uint32_t msize,
                              std::string* detail) {
  auto fail = [detail](int e, std::string what) -> Errno {
    if (detail != nullptr) *detail = std::move(what);
    return Errno(e);
  };
  if (buf.size() < kHeaderSize) {
    return fail(EPROTO, absl::StrCat("message of ", buf.size(),
                                     " bytes is shorter than the header"));
  }
  if (buf.size() > msize) {
    return fail(EMSGSIZE, absl::StrCat("message of ", buf.size(),
                                       " bytes exceeds msize ", msize));
  }
  Reader r(buf, detail);
  const uint32_t size = r.Int<uint32_t>("size");
  const uint8_t type = r.Int<uint8_t>("type");
  const Tag tag = r.Int<uint16_t>("tag");
  if (size != buf.size()) {
    return fail(EPROTO,
                absl::StrCat("size field ", size,
                             " disagrees with message length ", buf.size()));
  }
  const TypeInfo& info = kTypeTable[type];
  if (info.decode == nullptr) {
    return fail(ENOSYS, absl::StrCat("unknown message type ", type));
  }
  Decoded d;
  d.tag = tag;
  if (!info.decode(r, &d.msg)) return r.err();
  if (r.remaining() != 0) {
    return fail(EPROTO, absl::StrCat(r.remaining(),
                                     " bytes of trailing "
                                     "garbage after ",
                                     std::string(info.name)));
  }
  return d;
}

}  // namespace p9
