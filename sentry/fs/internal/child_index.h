// ChildIndex: a directory Dirent's cached children by name, readable
// without a lock, for lock-free path walks (Dirent::FindCachedLockFree).
//
// An open-addressing hash table of tagged Dirent pointers: each slot is
// one word, the Dirent's address in the low 48 bits (user-space addresses
// on x86-64 and arm64 Linux) and 16 bits of its name's hash above them,
// so a probe touches a Dirent only when the tag matches. The name itself
// is the Dirent's (NameOf), stored once; writers keep it unchanged while
// the Dirent is in a table (Dirent::Rename takes a child out before
// renaming it and puts it back after). Writers hold the owning Dirent's
// mu_ and mirror every change of its children map here; readers call Find
// inside an epoch::ReadGuard and may see the table as it was at any moment
// during their probe. An outgrown table goes to epoch::Retire, so a reader
// never touches freed memory; the Dirent pointers are weak (the children
// map holds the references), and a Dirent is itself freed through
// epoch::Retire.
//
// Stores that unlink something are seq_cst, and loads in Find are too, as
// epoch's pairing with ReadGuard needs (plain moves on x86).
#ifndef SENTRY_FS_INTERNAL_CHILD_INDEX_H_
#define SENTRY_FS_INTERNAL_CHILD_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sentry::fs {
class Dirent;
}

namespace sentry::fs::internal {

// d's name, readable without a lock inside an epoch::ReadGuard (defined
// with Dirent).
std::string_view NameOf(const Dirent* d);

class ChildIndex {
 public:
  ChildIndex() = default;
  // Frees the table at once: the owner is destroyed only after every
  // reader that could see it has left (epoch::Retire).
  ~ChildIndex();
  ChildIndex(const ChildIndex&) = delete;
  ChildIndex& operator=(const ChildIndex&) = delete;

  // Lock-free; call inside an epoch::ReadGuard. Null if name is absent.
  Dirent* Find(std::string_view name) const;

  // Writers: the owner's lock held. Put's name is NameOf(d).
  void Put(std::string_view name, Dirent* d);
  void Erase(std::string_view name);
  void Clear();

 private:
  struct Table;
  static uint64_t Hash(std::string_view name);
  static void FreeTable(void* p);
  // The slot holding name, or null, as writers see the table.
  std::atomic<uintptr_t>* SlotOfLocked(const Table* t, uint64_t h,
                                       std::string_view name) const;
  void Grow();

  // The counts live in the table, so an index with no table (every
  // non-directory's) is one pointer.
  std::atomic<Table*> table_{nullptr};
};

}  // namespace sentry::fs::internal

#endif  // SENTRY_FS_INTERNAL_CHILD_INDEX_H_
