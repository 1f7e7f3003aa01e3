// ChildIndex: a directory Dirent's cached children by name, readable
// without a lock, for lock-free path walks (Dirent::FindCachedLockFree).
//
// An open-addressing hash table of pointers to immutable entries (hash,
// name, Dirent*). Writers hold the owning Dirent's mu_ and mirror every
// change of its children_ map here; readers call Find inside an
// epoch::ReadGuard and may see the table as it was at any moment during
// their probe. A removed entry, a replaced entry and an outgrown table are
// handed to epoch::Retire, so a reader never touches freed memory; the
// Dirent pointers are weak (children_ holds the references), and a Dirent
// is itself freed through epoch::Retire.
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

class ChildIndex {
 public:
  ChildIndex() = default;
  // Frees the table and entries at once: the owner is destroyed only
  // after every reader that could see it has left (epoch::Retire).
  ~ChildIndex();
  ChildIndex(const ChildIndex&) = delete;
  ChildIndex& operator=(const ChildIndex&) = delete;

  // Lock-free; call inside an epoch::ReadGuard. Null if name is absent.
  Dirent* Find(std::string_view name) const;

  // Writers: the owner's lock held.
  void Put(std::string_view name, Dirent* d);
  void Erase(std::string_view name);
  void Clear();

 private:
  struct Entry;
  struct Table;
  static Entry* Tomb();
  static void FreeTable(void* p);
  static uint64_t Hash(std::string_view name);
  static Entry* NewEntry(uint64_t h, std::string_view name, Dirent* d);
  // The slot holding name (and, in *found, its entry), or null.
  std::atomic<Entry*>* SlotOf(const Table* t, uint64_t h, std::string_view name,
                              Entry** found) const;
  void Grow();

  std::atomic<Table*> table_{nullptr};
  size_t live_ = 0;  // entries (writers only)
  size_t used_ = 0;  // entries and tombstones (writers only)
};

}  // namespace sentry::fs::internal

#endif  // SENTRY_FS_INTERNAL_CHILD_INDEX_H_
