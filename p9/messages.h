// 9P2000.L wire messages: strongly typed structs, Encode and Decode.
//
// Provides one struct per 9P2000.L T- and R-message (plus Rlerror and this
// library's three protocol extensions, see "Extensions" below), the
// `Message` variant holding any of them, and:
//
//   Encode(tag, msg, msize, &out[, &tail])  size[4] type[1] tag[2] body
//   Decode(bytes, msize[, &detail])         bounds-checked parse
//
// Decode never reads outside the given buffer and rejects, with an Errno and
// (optionally) a human-readable detail string:
//   EMSGSIZE  the message is larger than msize;
//   EPROTO    truncated, size field disagreeing with the buffer, trailing
//             garbage, a string or count running past the payload;
//   EINVAL    semantically invalid (a walk with more than kMaxWalkNames names);
//   ENOSYS    a well-formed header naming an unknown message type.
//
// Read/write payloads (`Payload`) are views: a decoded Twrite or Rread points
// into the buffer given to Decode, which must outlive the message, and Encode
// can hand the payload back as a separate `tail` so the transport can
// scatter-gather it without a copy.
//
// Thread-safety: all functions are pure; the structs are thread-compatible
// value types.
#ifndef P9_MESSAGES_H_
#define P9_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "base/errno.h"

namespace p9 {

using Fid = uint32_t;
using Tag = uint16_t;

inline constexpr Fid kNoFid = 0xFFFFFFFFu;
inline constexpr Tag kNoTag = 0xFFFF;
inline constexpr uint32_t kNoUid = 0xFFFFFFFFu;
inline constexpr uint32_t kNoGid = 0xFFFFFFFFu;

// size[4] type[1] tag[2].
inline constexpr size_t kHeaderSize = 7;
// type[1] version[4] path[8].
inline constexpr size_t kQidSize = 13;
// The protocol's limit on names in one Twalk (and qids in one Rwalk).
inline constexpr size_t kMaxWalkNames = 16;
// Strings are length-prefixed by a u16.
inline constexpr size_t kMaxStringLength = 0xFFFF;
// Bounds on the negotiated message size.
inline constexpr uint32_t kMinMsize = 4096;
inline constexpr uint32_t kDefaultMsize = 512 * 1024;
inline constexpr uint32_t kMaxMsize = 16 * 1024 * 1024;
// Bytes before the data in Rread: header + count[4].
inline constexpr uint32_t kRreadOverhead = kHeaderSize + 4;
// Bytes before the data in Twrite: header + fid[4] offset[8] count[4].
inline constexpr uint32_t kTwriteOverhead = kHeaderSize + 4 + 8 + 4;
// Bytes before the entries in Rreaddir: header + count[4].
inline constexpr uint32_t kRreaddirOverhead = kHeaderSize + 4;
// What clients reserve per message for I/O headers (Linux's P9_IOHDRSZ and
// P9_READDIRHDRSZ): count fields of Tread/Twrite/Treaddir stay within
// msize - kIoHeaderReserve, which servers such as diod insist on.
inline constexpr uint32_t kIoHeaderReserve = 24;

// Version strings. The extended dialect is "9P2000.L.Gofer.<N>", in the
// manner of gVisor's "9P2000.L.Google.<N>"; N is the extension level.
inline constexpr std::string_view kVersion9P2000L = "9P2000.L";
inline constexpr std::string_view kExtendedVersionPrefix = "9P2000.L.Gofer.";
inline constexpr std::string_view kVersionUnknown = "unknown";
// The highest extension level this library implements.
inline constexpr int kExtensionLevel = 2;

// "9P2000.L.Gofer.<level>".
std::string ExtendedVersionString(int level = kExtensionLevel);

// What a version string means: `ok` false if it is not 9P2000.L-based at
// all; `level` 0 for plain 9P2000.L (or an unrecognised 9P2000.L.* dialect,
// which a server should answer with plain 9P2000.L), N for our extensions.
struct ParsedVersion {
  bool ok = false;
  int level = 0;
};
ParsedVersion ParseVersion(std::string_view version);

// Message type numbers. 9P2000.L (and classic 9P2000) use 6..127.
// Extensions: this library reserves 200..255 for its own messages, clear of
// both the standard range and the 128..199 range gVisor's extensions use.
// Every R-type is its T-type + 1.
enum class MsgType : uint8_t {
  kTlerror = 6,  // Never sent; listed for completeness.
  kRlerror = 7,
  kTstatfs = 8,
  kRstatfs = 9,
  kTlopen = 12,
  kRlopen = 13,
  kTlcreate = 14,
  kRlcreate = 15,
  kTsymlink = 16,
  kRsymlink = 17,
  kTmknod = 18,
  kRmknod = 19,
  kTrename = 20,
  kRrename = 21,
  kTreadlink = 22,
  kRreadlink = 23,
  kTgetattr = 24,
  kRgetattr = 25,
  kTsetattr = 26,
  kRsetattr = 27,
  kTxattrwalk = 30,
  kRxattrwalk = 31,
  kTxattrcreate = 32,
  kRxattrcreate = 33,
  kTreaddir = 40,
  kRreaddir = 41,
  kTfsync = 50,
  kRfsync = 51,
  kTlock = 52,
  kRlock = 53,
  kTgetlock = 54,
  kRgetlock = 55,
  kTlink = 70,
  kRlink = 71,
  kTmkdir = 72,
  kRmkdir = 73,
  kTrenameat = 74,
  kRrenameat = 75,
  kTunlinkat = 76,
  kRunlinkat = 77,
  kTversion = 100,
  kRversion = 101,
  kTauth = 102,
  kRauth = 103,
  kTattach = 104,
  kRattach = 105,
  kTflush = 108,
  kRflush = 109,
  kTwalk = 110,
  kRwalk = 111,
  kTread = 116,
  kRread = 117,
  kTwrite = 118,
  kRwrite = 119,
  kTclunk = 120,
  kRclunk = 121,
  kTremove = 122,
  kRremove = 123,
  // Extensions (level 1), only after negotiating "9P2000.L.Gofer.1".
  kTwalkgetattr = 200,  // Twalk + Tgetattr of the last element.
  kRwalkgetattr = 201,
  kTucreate = 202,  // Tlcreate with an explicit owner uid.
  kRucreate = 203,
  kTfsyncclunk = 204,  // Tfsync then Tclunk (flush on close).
  kRfsyncclunk = 205,
  // Extensions (level 2), only after negotiating "9P2000.L.Gofer.2".
  kTwalkstat = 206,  // Twalk + the attributes of every element walked.
  kRwalkstat = 207,
};

// The first extension type number.
inline constexpr uint8_t kFirstExtensionType = 200;

// The extension level that introduced `type`: 0 for 9P2000.L's own types.
// A server answers a request above the negotiated level with ENOSYS.
int ExtensionLevelOf(MsgType type);

// "Twalk", or "type(42)" for unknown numbers.
std::string MsgTypeName(MsgType type);
inline MsgType ReplyTypeFor(MsgType request) {
  return static_cast<MsgType>(static_cast<uint8_t>(request) + 1);
}

// Qid.type bits.
inline constexpr uint8_t kQidTypeDir = 0x80;
inline constexpr uint8_t kQidTypeAppend = 0x40;
inline constexpr uint8_t kQidTypeExcl = 0x20;
inline constexpr uint8_t kQidTypeMount = 0x10;
inline constexpr uint8_t kQidTypeAuth = 0x08;
inline constexpr uint8_t kQidTypeTmp = 0x04;
inline constexpr uint8_t kQidTypeSymlink = 0x02;
inline constexpr uint8_t kQidTypeLink = 0x01;
inline constexpr uint8_t kQidTypeFile = 0x00;

// Tgetattr request_mask / Rgetattr valid bits.
inline constexpr uint64_t kGetAttrMode = 0x00000001;
inline constexpr uint64_t kGetAttrNlink = 0x00000002;
inline constexpr uint64_t kGetAttrUid = 0x00000004;
inline constexpr uint64_t kGetAttrGid = 0x00000008;
inline constexpr uint64_t kGetAttrRdev = 0x00000010;
inline constexpr uint64_t kGetAttrAtime = 0x00000020;
inline constexpr uint64_t kGetAttrMtime = 0x00000040;
inline constexpr uint64_t kGetAttrCtime = 0x00000080;
inline constexpr uint64_t kGetAttrIno = 0x00000100;
inline constexpr uint64_t kGetAttrSize = 0x00000200;
inline constexpr uint64_t kGetAttrBlocks = 0x00000400;
inline constexpr uint64_t kGetAttrBtime = 0x00000800;
inline constexpr uint64_t kGetAttrGen = 0x00001000;
inline constexpr uint64_t kGetAttrDataVersion = 0x00002000;
inline constexpr uint64_t kGetAttrBasic = 0x000007ff;
inline constexpr uint64_t kGetAttrAll = 0x00003fff;

// Tsetattr valid bits.
inline constexpr uint32_t kSetAttrMode = 0x00000001;
inline constexpr uint32_t kSetAttrUid = 0x00000002;
inline constexpr uint32_t kSetAttrGid = 0x00000004;
inline constexpr uint32_t kSetAttrSize = 0x00000008;
inline constexpr uint32_t kSetAttrAtime = 0x00000010;
inline constexpr uint32_t kSetAttrMtime = 0x00000020;
inline constexpr uint32_t kSetAttrCtime = 0x00000040;
inline constexpr uint32_t kSetAttrAtimeSet = 0x00000080;
inline constexpr uint32_t kSetAttrMtimeSet = 0x00000100;

// Tlock / Tgetlock.
inline constexpr uint8_t kLockTypeRead = 0;
inline constexpr uint8_t kLockTypeWrite = 1;
inline constexpr uint8_t kLockTypeUnlock = 2;
inline constexpr uint32_t kLockFlagBlock = 1;
inline constexpr uint32_t kLockFlagReclaim = 2;
inline constexpr uint8_t kLockStatusSuccess = 0;
inline constexpr uint8_t kLockStatusBlocked = 1;
inline constexpr uint8_t kLockStatusError = 2;
inline constexpr uint8_t kLockStatusGrace = 3;

// Tunlinkat flags.
inline constexpr uint32_t kUnlinkRemoveDir = 0x200;  // AT_REMOVEDIR

// A view of read/write data; compares by content.
struct Payload {
  std::span<const uint8_t> data;
  bool operator==(const Payload& o) const;
};

struct Qid {
  uint8_t type = 0;
  uint32_t version = 0;
  uint64_t path = 0;
  auto Fields() { return std::tie(type, version, path); }
  auto Fields() const { return std::tie(type, version, path); }
  bool operator==(const Qid&) const = default;
};

// The body of Rgetattr: which fields are valid, then the stat.
struct Attr {
  uint64_t valid = 0;
  Qid qid;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blksize = 0;
  uint64_t blocks = 0;
  uint64_t atime_sec = 0;
  uint64_t atime_nsec = 0;
  uint64_t mtime_sec = 0;
  uint64_t mtime_nsec = 0;
  uint64_t ctime_sec = 0;
  uint64_t ctime_nsec = 0;
  uint64_t btime_sec = 0;
  uint64_t btime_nsec = 0;
  uint64_t gen = 0;
  uint64_t data_version = 0;
  auto Fields() {
    return std::tie(valid, qid, mode, uid, gid, nlink, rdev, size, blksize,
                    blocks, atime_sec, atime_nsec, mtime_sec, mtime_nsec,
                    ctime_sec, ctime_nsec, btime_sec, btime_nsec, gen,
                    data_version);
  }
  auto Fields() const {
    return std::tie(valid, qid, mode, uid, gid, nlink, rdev, size, blksize,
                    blocks, atime_sec, atime_nsec, mtime_sec, mtime_nsec,
                    ctime_sec, ctime_nsec, btime_sec, btime_nsec, gen,
                    data_version);
  }
  bool operator==(const Attr&) const = default;
};

// The body of Tsetattr after fid: which fields to set, then the values.
struct SetAttr {
  uint32_t valid = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t atime_sec = 0;
  uint64_t atime_nsec = 0;
  uint64_t mtime_sec = 0;
  uint64_t mtime_nsec = 0;
  auto Fields() {
    return std::tie(valid, mode, uid, gid, size, atime_sec, atime_nsec,
                    mtime_sec, mtime_nsec);
  }
  auto Fields() const {
    return std::tie(valid, mode, uid, gid, size, atime_sec, atime_nsec,
                    mtime_sec, mtime_nsec);
  }
  bool operator==(const SetAttr&) const = default;
};

struct StatFs {
  uint32_t type = 0;
  uint32_t bsize = 0;
  uint64_t blocks = 0;
  uint64_t bfree = 0;
  uint64_t bavail = 0;
  uint64_t files = 0;
  uint64_t ffree = 0;
  uint64_t fsid = 0;
  uint32_t namelen = 0;
  auto Fields() {
    return std::tie(type, bsize, blocks, bfree, bavail, files, ffree, fsid,
                    namelen);
  }
  auto Fields() const {
    return std::tie(type, bsize, blocks, bfree, bavail, files, ffree, fsid,
                    namelen);
  }
  bool operator==(const StatFs&) const = default;
};

// One Rreaddir entry: qid[13] offset[8] type[1] name[s]. `offset` is the
// cookie to pass to the next Treaddir to continue after this entry.
struct Dirent {
  Qid qid;
  uint64_t offset = 0;
  uint8_t type = 0;
  std::string name;
  auto Fields() { return std::tie(qid, offset, type, name); }
  auto Fields() const { return std::tie(qid, offset, type, name); }
  bool operator==(const Dirent&) const = default;
};
// Encoded size of one entry.
size_t DirentSize(const Dirent& d);

// Declares a message struct's type, name, field list and equality.
#define P9_MESSAGE(Name, ...)                           \
  static constexpr MsgType kType = MsgType::k##Name;    \
  static constexpr std::string_view kName = #Name;      \
  auto Fields() { return std::tie(__VA_ARGS__); }       \
  auto Fields() const { return std::tie(__VA_ARGS__); } \
  bool operator==(const Name&) const = default
#define P9_EMPTY_MESSAGE(Name)                       \
  static constexpr MsgType kType = MsgType::k##Name; \
  static constexpr std::string_view kName = #Name;   \
  auto Fields() const { return std::tie(); }         \
  auto Fields() { return std::tie(); }               \
  bool operator==(const Name&) const = default

// Rlerror: ecode[4], a Linux errno.
struct Rlerror {
  uint32_t ecode = 0;
  P9_MESSAGE(Rlerror, ecode);
};

struct Tstatfs {
  Fid fid = 0;
  P9_MESSAGE(Tstatfs, fid);
};
struct Rstatfs {
  StatFs statfs;
  P9_MESSAGE(Rstatfs, statfs);
};

// flags are Linux open(2) flags.
struct Tlopen {
  Fid fid = 0;
  uint32_t flags = 0;
  P9_MESSAGE(Tlopen, fid, flags);
};
struct Rlopen {
  Qid qid;
  uint32_t iounit = 0;
  P9_MESSAGE(Rlopen, qid, iounit);
};

// Creates `name` in directory `fid` and opens it; fid then refers to the new
// file.
struct Tlcreate {
  Fid fid = 0;
  std::string name;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint32_t gid = 0;
  P9_MESSAGE(Tlcreate, fid, name, flags, mode, gid);
};
struct Rlcreate {
  Qid qid;
  uint32_t iounit = 0;
  P9_MESSAGE(Rlcreate, qid, iounit);
};

struct Tsymlink {
  Fid fid = 0;
  std::string name;
  std::string target;
  uint32_t gid = 0;
  P9_MESSAGE(Tsymlink, fid, name, target, gid);
};
struct Rsymlink {
  Qid qid;
  P9_MESSAGE(Rsymlink, qid);
};

struct Tmknod {
  Fid dfid = 0;
  std::string name;
  uint32_t mode = 0;
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t gid = 0;
  P9_MESSAGE(Tmknod, dfid, name, mode, major, minor, gid);
};
struct Rmknod {
  Qid qid;
  P9_MESSAGE(Rmknod, qid);
};

struct Trename {
  Fid fid = 0;
  Fid dfid = 0;
  std::string name;
  P9_MESSAGE(Trename, fid, dfid, name);
};
struct Rrename {
  P9_EMPTY_MESSAGE(Rrename);
};

struct Treadlink {
  Fid fid = 0;
  P9_MESSAGE(Treadlink, fid);
};
struct Rreadlink {
  std::string target;
  P9_MESSAGE(Rreadlink, target);
};

struct Tgetattr {
  Fid fid = 0;
  uint64_t request_mask = 0;
  P9_MESSAGE(Tgetattr, fid, request_mask);
};
struct Rgetattr {
  Attr attr;
  P9_MESSAGE(Rgetattr, attr);
};

struct Tsetattr {
  Fid fid = 0;
  SetAttr attr;
  P9_MESSAGE(Tsetattr, fid, attr);
};
struct Rsetattr {
  P9_EMPTY_MESSAGE(Rsetattr);
};

// Prepares newfid for reading xattr `name` (or the list, if name is empty).
struct Txattrwalk {
  Fid fid = 0;
  Fid newfid = 0;
  std::string name;
  P9_MESSAGE(Txattrwalk, fid, newfid, name);
};
struct Rxattrwalk {
  uint64_t size = 0;
  P9_MESSAGE(Rxattrwalk, size);
};

// Turns fid into an xattr-writing fid; the value follows as Twrites.
struct Txattrcreate {
  Fid fid = 0;
  std::string name;
  uint64_t attr_size = 0;
  uint32_t flags = 0;
  P9_MESSAGE(Txattrcreate, fid, name, attr_size, flags);
};
struct Rxattrcreate {
  P9_EMPTY_MESSAGE(Rxattrcreate);
};

struct Treaddir {
  Fid fid = 0;
  uint64_t offset = 0;
  uint32_t count = 0;
  P9_MESSAGE(Treaddir, fid, offset, count);
};
// On the wire: count[4] then `count` bytes of packed entries.
struct Rreaddir {
  std::vector<Dirent> entries;
  P9_MESSAGE(Rreaddir, entries);
};

struct Tfsync {
  Fid fid = 0;
  uint32_t datasync = 0;
  P9_MESSAGE(Tfsync, fid, datasync);
};
struct Rfsync {
  P9_EMPTY_MESSAGE(Rfsync);
};

struct Tlock {
  Fid fid = 0;
  uint8_t type = 0;
  uint32_t flags = 0;
  uint64_t start = 0;
  uint64_t length = 0;
  uint32_t proc_id = 0;
  std::string client_id;
  P9_MESSAGE(Tlock, fid, type, flags, start, length, proc_id, client_id);
};
struct Rlock {
  uint8_t status = 0;
  P9_MESSAGE(Rlock, status);
};

struct Tgetlock {
  Fid fid = 0;
  uint8_t type = 0;
  uint64_t start = 0;
  uint64_t length = 0;
  uint32_t proc_id = 0;
  std::string client_id;
  P9_MESSAGE(Tgetlock, fid, type, start, length, proc_id, client_id);
};
struct Rgetlock {
  uint8_t type = 0;
  uint64_t start = 0;
  uint64_t length = 0;
  uint32_t proc_id = 0;
  std::string client_id;
  P9_MESSAGE(Rgetlock, type, start, length, proc_id, client_id);
};

// Hard-links file `fid` as `name` in directory `dfid`.
struct Tlink {
  Fid dfid = 0;
  Fid fid = 0;
  std::string name;
  P9_MESSAGE(Tlink, dfid, fid, name);
};
struct Rlink {
  P9_EMPTY_MESSAGE(Rlink);
};

struct Tmkdir {
  Fid dfid = 0;
  std::string name;
  uint32_t mode = 0;
  uint32_t gid = 0;
  P9_MESSAGE(Tmkdir, dfid, name, mode, gid);
};
struct Rmkdir {
  Qid qid;
  P9_MESSAGE(Rmkdir, qid);
};

struct Trenameat {
  Fid olddirfid = 0;
  std::string oldname;
  Fid newdirfid = 0;
  std::string newname;
  P9_MESSAGE(Trenameat, olddirfid, oldname, newdirfid, newname);
};
struct Rrenameat {
  P9_EMPTY_MESSAGE(Rrenameat);
};

struct Tunlinkat {
  Fid dirfid = 0;
  std::string name;
  uint32_t flags = 0;
  P9_MESSAGE(Tunlinkat, dirfid, name, flags);
};
struct Runlinkat {
  P9_EMPTY_MESSAGE(Runlinkat);
};

struct Tversion {
  uint32_t msize = 0;
  std::string version;
  P9_MESSAGE(Tversion, msize, version);
};
struct Rversion {
  uint32_t msize = 0;
  std::string version;
  P9_MESSAGE(Rversion, msize, version);
};

struct Tauth {
  Fid afid = 0;
  std::string uname;
  std::string aname;
  uint32_t n_uname = kNoUid;
  P9_MESSAGE(Tauth, afid, uname, aname, n_uname);
};
struct Rauth {
  Qid aqid;
  P9_MESSAGE(Rauth, aqid);
};

struct Tattach {
  Fid fid = 0;
  Fid afid = kNoFid;
  std::string uname;
  std::string aname;
  uint32_t n_uname = kNoUid;
  P9_MESSAGE(Tattach, fid, afid, uname, aname, n_uname);
};
struct Rattach {
  Qid qid;
  P9_MESSAGE(Rattach, qid);
};

struct Tflush {
  Tag oldtag = 0;
  P9_MESSAGE(Tflush, oldtag);
};
struct Rflush {
  P9_EMPTY_MESSAGE(Rflush);
};

// nwname[2] then the names; at most kMaxWalkNames.
struct Twalk {
  Fid fid = 0;
  Fid newfid = 0;
  std::vector<std::string> names;
  P9_MESSAGE(Twalk, fid, newfid, names);
};
struct Rwalk {
  std::vector<Qid> qids;
  P9_MESSAGE(Rwalk, qids);
};

struct Tread {
  Fid fid = 0;
  uint64_t offset = 0;
  uint32_t count = 0;
  P9_MESSAGE(Tread, fid, offset, count);
};
struct Rread {
  Payload data;
  P9_MESSAGE(Rread, data);
};

struct Twrite {
  Fid fid = 0;
  uint64_t offset = 0;
  Payload data;
  P9_MESSAGE(Twrite, fid, offset, data);
};
struct Rwrite {
  uint32_t count = 0;
  P9_MESSAGE(Rwrite, count);
};

struct Tclunk {
  Fid fid = 0;
  P9_MESSAGE(Tclunk, fid);
};
struct Rclunk {
  P9_EMPTY_MESSAGE(Rclunk);
};

struct Tremove {
  Fid fid = 0;
  P9_MESSAGE(Tremove, fid);
};
struct Rremove {
  P9_EMPTY_MESSAGE(Rremove);
};

// Extension: walk like Twalk, then getattr(kGetAttrAll) newfid. As with
// Twalk, newfid exists only if every name was walked (names may be empty:
// a clone) and a failure on the first name is an Rlerror; after a partial
// walk the qids stop short and attr is empty (valid == 0).
struct Twalkgetattr {
  Fid fid = 0;
  Fid newfid = 0;
  std::vector<std::string> names;
  P9_MESSAGE(Twalkgetattr, fid, newfid, names);
};
struct Rwalkgetattr {
  std::vector<Qid> qids;
  Attr attr;
  P9_MESSAGE(Rwalkgetattr, qids, attr);
};

// Extension: Tlcreate whose new file is owned by `uid` (as the server sees
// fit to honour it), saving the Tsetattr a gofer would otherwise send.
struct Tucreate {
  Fid fid = 0;
  std::string name;
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  P9_MESSAGE(Tucreate, fid, name, flags, mode, uid, gid);
};
struct Rucreate {
  Qid qid;
  uint32_t iounit = 0;
  P9_MESSAGE(Rucreate, qid, iounit);
};

// Extension: fsync (datasync if nonzero) then clunk fid. The fid is released
// whatever the outcome, as with Tclunk; the reply carries fsync's error.
struct Tfsyncclunk {
  Fid fid = 0;
  uint32_t datasync = 0;
  P9_MESSAGE(Tfsyncclunk, fid, datasync);
};
struct Rfsyncclunk {
  P9_EMPTY_MESSAGE(Rfsyncclunk);
};

// Extension (level 2): walk like Twalk and return the attributes (getattr
// kGetAttrAll) of fid itself and of every element walked; each attr's qid
// is its element's. A client resolving a path then needs no getattr for
// the search-permission checks along it, nor for the final stat: one
// round trip for up to kMaxWalkNames components. newfid is bound only if
// every name was walked; a failure on the first name is an Rlerror; a
// partial walk returns the attributes of the elements it reached. Unlike
// Twalk, newfid must differ from fid unless names is empty (else EINVAL).
struct Twalkstat {
  Fid fid = 0;
  Fid newfid = 0;
  std::vector<std::string> names;
  P9_MESSAGE(Twalkstat, fid, newfid, names);
};
struct Rwalkstat {
  Attr dir;                 // fid's own
  std::vector<Attr> attrs;  // one per element walked
  P9_MESSAGE(Rwalkstat, dir, attrs);
};

#undef P9_MESSAGE
#undef P9_EMPTY_MESSAGE

using Message = std::variant<
    Rlerror, Tstatfs, Rstatfs, Tlopen, Rlopen, Tlcreate, Rlcreate, Tsymlink,
    Rsymlink, Tmknod, Rmknod, Trename, Rrename, Treadlink, Rreadlink, Tgetattr,
    Rgetattr, Tsetattr, Rsetattr, Txattrwalk, Rxattrwalk, Txattrcreate,
    Rxattrcreate, Treaddir, Rreaddir, Tfsync, Rfsync, Tlock, Rlock, Tgetlock,
    Rgetlock, Tlink, Rlink, Tmkdir, Rmkdir, Trenameat, Rrenameat, Tunlinkat,
    Runlinkat, Tversion, Rversion, Tauth, Rauth, Tattach, Rattach, Tflush,
    Rflush, Twalk, Rwalk, Tread, Rread, Twrite, Rwrite, Tclunk, Rclunk, Tremove,
    Rremove, Twalkgetattr, Rwalkgetattr, Tucreate, Rucreate, Tfsyncclunk,
    Rfsyncclunk, Twalkstat, Rwalkstat>;

MsgType TypeOf(const Message& msg);
// True for known message types (including extensions).
bool IsKnownType(uint8_t type);

struct Header {
  uint32_t size = 0;
  MsgType type = MsgType::kRlerror;
  Tag tag = 0;
};

// Parses the 7-byte header (buf may be longer). EPROTO if buf is shorter
// than a header or the size field is below kHeaderSize.
base::ErrnoOr<Header> DecodeHeader(std::span<const uint8_t> buf);

// Appends the encoding of `msg` to *out. If `tail` is non-null and msg ends
// in a Payload (Twrite, Rread), the payload bytes are not copied: *tail is
// set to them and the size field counts them; otherwise *tail is empty.
// Errors: EMSGSIZE if the message would exceed msize; EINVAL for a string
// over kMaxStringLength or a walk over kMaxWalkNames. On error *out is left
// as it was.
base::Errno Encode(Tag tag, const Message& msg, uint32_t msize,
                   std::vector<uint8_t>* out,
                   std::span<const uint8_t>* tail = nullptr);
// Convenience: the whole message in one buffer.
base::ErrnoOr<std::vector<uint8_t>> Encode(Tag tag, const Message& msg,
                                           uint32_t msize = kMaxMsize);

struct Decoded {
  Tag tag = 0;
  Message msg;
};

// Decodes exactly one whole message occupying all of `buf`. Payload fields
// of the result point into buf. On error, *detail (if non-null) explains.
base::ErrnoOr<Decoded> Decode(std::span<const uint8_t> buf, uint32_t msize,
                              std::string* detail = nullptr);

}  // namespace p9

#endif  // P9_MESSAGES_H_
