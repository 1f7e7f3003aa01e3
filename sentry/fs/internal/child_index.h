// ChildIndex: a directory Dirent's cached children, keyed by each child's
// own name: the only record of them (a set, not a map: the name is the
// Dirent's, stored once), readable without a lock for lock-free path walks
// (Dirent::FindCachedLockFree).
//
// An open-addressing hash table of tagged Dirent pointers: each slot is
// one word, the Dirent's address in the low 48 bits (user-space addresses
// on x86-64 and arm64 Linux) and 16 bits of its name's hash above them,
// so a probe touches a Dirent only when the tag matches. The name itself
// is the Dirent's (NameOf); writers keep it unchanged while the Dirent is
// in a table (Dirent::Rename takes a child out before renaming it and puts
// it back after). Writers hold the owning Dirent's mu_; readers call Find
// inside an epoch::ReadGuard and may see the table as it was at any moment
// during their probe. An outgrown table goes to epoch::Retire, so a reader
// never touches freed memory; a Dirent is itself freed through
// epoch::Retire.
//
// Ownership: the index stores pointers and never touches reference
// counts. Its owner (Dirent) gives it one reference with each entry it
// puts, and takes that reference back with each entry Put, Erase, EraseIf
// or Clear hands back.
//
// Stores that unlink something are seq_cst, and loads in Find are too, as
// epoch's pairing with ReadGuard needs (plain moves on x86).
#ifndef SENTRY_FS_INTERNAL_CHILD_INDEX_H_
#define SENTRY_FS_INTERNAL_CHILD_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace sentry::fs {
class Dirent;
}

namespace sentry::fs::internal {

// d's name, readable without a lock inside an epoch::ReadGuard, and
// whether d is negative (fixed for its life); defined inline with Dirent
// (dirent.h), as every probe calls them.
inline std::string_view NameOf(const Dirent* d);
inline bool IsNegative(const Dirent* d);

class ChildIndex {
 public:
  ChildIndex() = default;
  // Frees the table at once: the owner is destroyed only after every
  // reader that could see it has left (epoch::Retire), and has emptied
  // the index (Clear) if it held anything.
  ~ChildIndex();
  ChildIndex(const ChildIndex&) = delete;
  ChildIndex& operator=(const ChildIndex&) = delete;

  // Lock-free; call inside an epoch::ReadGuard. Null if name is absent.
  Dirent* Find(std::string_view name) const;

  // ---- Writers: the owner's lock held (shared is enough for the const
  // ones).
  Dirent* FindLocked(std::string_view name) const;
  // Adds d under its name (NameOf(d)); returns the entry it replaced, or
  // null.
  Dirent* Put(Dirent* d);
  // Removes name's entry and returns it (null if absent).
  Dirent* Erase(std::string_view name);
  // Removes every entry for which pred says true, appending it to *out.
  void EraseIf(const std::function<bool(Dirent*)>& pred,
               std::vector<Dirent*>* out);
  // Removes every entry, appending them to *out.
  void Clear(std::vector<Dirent*>* out);
  // Calls f on every entry, in no particular order.
  void ForEach(const std::function<void(Dirent*)>& f) const;
  size_t size() const;
  // Entries that are negative dirents.
  size_t negative() const;

  // The hash a name is filed under (its top 16 bits are the slot's tag):
  // base::HashName, seeded per process. Public for tests.
  static uint64_t Hash(std::string_view name);

 private:
  struct Table;
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
