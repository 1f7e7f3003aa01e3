// The peer VFS for //tools/bench: LLVM's llvm::vfs::InMemoryFileSystem,
// the in-process C++ VFS most C++ engineers already have.
//
// The interface is plain C++ so that LLVM's headers and compile flags stay
// inside llvm_peer.cc. It offers only what InMemoryFileSystem can do: add
// files and directories, stat, open for reading, read, list a directory. It
// cannot unlink, rename or write, so those rows have no peer figure.
//
// Not thread-safe (InMemoryFileSystem does not say it is).
#ifndef TOOLS_BENCH_LLVM_PEER_H_
#define TOOLS_BENCH_LLVM_PEER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace bench {

class LlvmPeer {
 public:
  LlvmPeer();
  ~LlvmPeer();
  LlvmPeer(const LlvmPeer&) = delete;
  LlvmPeer& operator=(const LlvmPeer&) = delete;

  // Adds an absolute path (parents are implied); size bytes of 'x'.
  bool AddFile(std::string_view path, size_t size);
  bool AddDir(std::string_view path);
  // status(): whether path exists; *size gets its size.
  bool Stat(std::string_view path, uint64_t* size);

  class File;
  // openFileForRead; null if that fails.
  File* Open(std::string_view path);
  void Close(File* f);
  // Copies up to n bytes at off into buf (getBuffer, then memcpy, as a
  // reader of the buffer would); the count, or -1.
  long Pread(File* f, void* buf, size_t n, uint64_t off);
  // Entries in the directory (dir_begin .. end); -1 on error.
  long CountEntries(std::string_view path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bench

#endif  // TOOLS_BENCH_LLVM_PEER_H_
