#include "p9/sample_messages.h"

#include <string>

namespace p9::testing {
namespace {

const uint8_t kData[] = {'h', 'e', 'l', 'l', 'o', 0, 1, 2, 0xff};

Qid SampleQid(uint64_t n) {
  return Qid{kQidTypeDir, static_cast<uint32_t>(n * 7 + 1),
             0x0102030405060708ull + n};
}

Attr SampleAttr() {
  Attr a;
  a.valid = kGetAttrAll;
  a.qid = SampleQid(3);
  a.mode = 0100644;
  a.uid = 1000;
  a.gid = 1001;
  a.nlink = 2;
  a.rdev = 3;
  a.size = 0x123456789ull;
  a.blksize = 4096;
  a.blocks = 8;
  a.atime_sec = 11;
  a.atime_nsec = 12;
  a.mtime_sec = 13;
  a.mtime_nsec = 14;
  a.ctime_sec = 15;
  a.ctime_nsec = 16;
  a.btime_sec = 17;
  a.btime_nsec = 18;
  a.gen = 19;
  a.data_version = 20;
  return a;
}

}  // namespace

std::vector<Message> SampleMessages() {
  std::vector<Message> m;
  m.push_back(Rlerror{ENOENT});
  m.push_back(Tstatfs{1});
  m.push_back(Rstatfs{
      StatFs{0x01021997, 4096, 100, 50, 40, 1000, 900, 0xabcdefull, 255}});
  m.push_back(Tlopen{2, 0x8002});
  m.push_back(Rlopen{SampleQid(1), 8192});
  m.push_back(Tlcreate{3, "newfile", 0x41, 0644, 100});
  m.push_back(Rlcreate{SampleQid(2), 0});
  m.push_back(Tsymlink{4, "link", "../target/path", 100});
  m.push_back(Rsymlink{SampleQid(3)});
  m.push_back(Tmknod{5, "fifo", 010644, 1, 2, 100});
  m.push_back(Rmknod{SampleQid(4)});
  m.push_back(Trename{6, 7, "renamed"});
  m.push_back(Rrename{});
  m.push_back(Treadlink{8});
  m.push_back(Rreadlink{"/some/target"});
  m.push_back(Tgetattr{9, kGetAttrBasic});
  m.push_back(Rgetattr{SampleAttr()});
  m.push_back(Tsetattr{
      10, SetAttr{kSetAttrMode | kSetAttrSize, 0600, 1, 2, 4096, 5, 6, 7, 8}});
  m.push_back(Rsetattr{});
  m.push_back(Txattrwalk{11, 12, "user.foo"});
  m.push_back(Rxattrwalk{42});
  m.push_back(Txattrcreate{13, "user.bar", 10, 1});
  m.push_back(Rxattrcreate{});
  m.push_back(Treaddir{14, 3, 8192});
  m.push_back(Rreaddir{{Dirent{SampleQid(5), 1, 4, "."},
                        Dirent{SampleQid(6), 2, 4, ".."},
                        Dirent{SampleQid(7), 3, 8, "file.txt"}}});
  m.push_back(Rreaddir{});
  m.push_back(Tfsync{15, 1});
  m.push_back(Rfsync{});
  m.push_back(
      Tlock{16, kLockTypeWrite, kLockFlagBlock, 0, 100, 1234, "client-1"});
  m.push_back(Rlock{kLockStatusBlocked});
  m.push_back(Tgetlock{17, kLockTypeRead, 10, 20, 99, "client-2"});
  m.push_back(Rgetlock{kLockTypeUnlock, 10, 20, 99, "client-2"});
  m.push_back(Tlink{18, 19, "hardlink"});
  m.push_back(Rlink{});
  m.push_back(Tmkdir{20, "dir", 0755, 100});
  m.push_back(Rmkdir{SampleQid(8)});
  m.push_back(Trenameat{21, "old", 22, "new"});
  m.push_back(Rrenameat{});
  m.push_back(Tunlinkat{23, "gone", kUnlinkRemoveDir});
  m.push_back(Runlinkat{});
  m.push_back(Tversion{kDefaultMsize, std::string(kVersion9P2000L)});
  m.push_back(Rversion{65536, ExtendedVersionString()});
  m.push_back(Tauth{24, "user", "/export", 1000});
  m.push_back(Rauth{SampleQid(9)});
  m.push_back(Tattach{25, kNoFid, "root", "/tmp", 0});
  m.push_back(Rattach{SampleQid(10)});
  m.push_back(Tflush{77});
  m.push_back(Rflush{});
  m.push_back(Twalk{26, 27, {"a", "bb", "ccc"}});
  m.push_back(Twalk{26, 26, {}});
  {
    std::vector<std::string> names;
    for (size_t i = 0; i < kMaxWalkNames; ++i) {
      names.push_back("n" + std::to_string(i));
    }
    m.push_back(Twalk{26, 28, names});
  }
  m.push_back(Rwalk{{SampleQid(11), SampleQid(12)}});
  m.push_back(Rwalk{});
  m.push_back(Tread{28, 1ull << 40, 4096});
  m.push_back(Rread{Payload{kData}});
  m.push_back(Rread{});
  m.push_back(Twrite{29, 12345, Payload{kData}});
  m.push_back(Rwrite{9});
  m.push_back(Tclunk{30});
  m.push_back(Rclunk{});
  m.push_back(Tremove{31});
  m.push_back(Rremove{});
  m.push_back(Twalkgetattr{32, 33, {"x", "y"}});
  m.push_back(Rwalkgetattr{{SampleQid(13), SampleQid(14)}, SampleAttr()});
  m.push_back(Tucreate{34, "owned", 0x42, 0600, 1000, 1000});
  m.push_back(Rucreate{SampleQid(15), 4096});
  m.push_back(Tfsyncclunk{35, 0});
  m.push_back(Rfsyncclunk{});
  m.push_back(Twalkstat{36, 37, {"p", "q", "r"}});
  m.push_back(Twalkstat{36, 36, {}});
  {
    Attr a = SampleAttr(), b = SampleAttr();
    b.qid = SampleQid(16);
    b.mode = 040755;
    m.push_back(Rwalkstat{b, {a, b}});
  }
  m.push_back(Rwalkstat{});
  return m;
}

}  // namespace p9::testing
