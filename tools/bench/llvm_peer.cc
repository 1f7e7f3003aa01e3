#include "tools/bench/llvm_peer.h"

#include <cstring>
#include <string>
#include <system_error>

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/VirtualFileSystem.h"

namespace bench {

struct LlvmPeer::Impl {
  llvm::IntrusiveRefCntPtr<llvm::vfs::InMemoryFileSystem> fs{
      new llvm::vfs::InMemoryFileSystem()};
};

class LlvmPeer::File {
 public:
  explicit File(std::unique_ptr<llvm::vfs::File> f) : f_(std::move(f)) {}
  llvm::vfs::File& get() { return *f_; }

 private:
  std::unique_ptr<llvm::vfs::File> f_;
};

namespace {
llvm::StringRef Ref(std::string_view s) {
  return llvm::StringRef(s.data(), s.size());
}
}  // namespace

LlvmPeer::LlvmPeer() : impl_(std::make_unique<Impl>()) {}
LlvmPeer::~LlvmPeer() = default;

bool LlvmPeer::AddFile(std::string_view path, size_t size) {
  std::string data(size, 'x');
  return impl_->fs->addFile(Ref(path), 0,
                            llvm::MemoryBuffer::getMemBufferCopy(data));
}

bool LlvmPeer::AddDir(std::string_view path) {
  // InMemoryFileSystem has no mkdir: a directory exists once something is
  // added below it. A hidden placeholder keeps listings of it exact
  // (CountEntries skips it).
  std::string p(path);
  p += "/.keep";
  return impl_->fs->addFile(p, 0, llvm::MemoryBuffer::getMemBuffer(""));
}

bool LlvmPeer::Stat(std::string_view path, uint64_t* size) {
  llvm::ErrorOr<llvm::vfs::Status> st = impl_->fs->status(Ref(path));
  if (!st) return false;
  *size = st->getSize();
  return true;
}

LlvmPeer::File* LlvmPeer::Open(std::string_view path) {
  auto f = impl_->fs->openFileForRead(Ref(path));
  if (!f) return nullptr;
  return new File(std::move(*f));
}

void LlvmPeer::Close(File* f) {
  if (f == nullptr) return;
  (void)f->get().close();
  delete f;
}

long LlvmPeer::Pread(File* f, void* buf, size_t n, uint64_t off) {
  auto b = f->get().getBuffer("", -1, /*RequiresNullTerminator=*/false);
  if (!b) return -1;
  llvm::StringRef data = (*b)->getBuffer();
  if (off >= data.size()) return 0;
  size_t len = std::min<size_t>(n, data.size() - off);
  std::memcpy(buf, data.data() + off, len);
  return static_cast<long>(len);
}

long LlvmPeer::CountEntries(std::string_view path) {
  std::error_code ec;
  long n = 0;
  for (llvm::vfs::directory_iterator it = impl_->fs->dir_begin(Ref(path), ec),
                                     end;
       !ec && it != end; it.increment(ec)) {
    if (!llvm::StringRef(it->path()).endswith("/.keep")) ++n;
  }
  return ec ? -1 : n;
}

}  // namespace bench
