// Intrusive reference counting: RefCounted<T>, RefPtr<T>.
//
// VFS nodes (Inode, Dirent, MountSource, File) carry their own atomic count.
// RefPtr<T> is the RAII handle; a raw T* is only ever a documented weak
// back-pointer. When the last reference goes, T::OnLastRef() runs (default:
// delete), which is the hook a cache uses to decide whether to keep or free.
// TryIncRef() takes a reference only if the object is still alive, which is
// what a lookup through a weak pointer must use.
//
// Thread-safe: counts are atomics; the objects themselves say what guards
// their other fields.
#ifndef BASE_REFCOUNT_H_
#define BASE_REFCOUNT_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

namespace base {

// Count is the counter's type: 64 bits unless T has reason to pack it
// (Dirent keeps a 32-bit one beside another 32-bit field).
template <typename T, typename Count = int64_t>
class RefCounted {
 public:
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  void IncRef() const { refs_.fetch_add(1, std::memory_order_relaxed); }

  // Takes a reference unless the count already reached zero. seq_cst,
  // for DecRefUnreachable's pairing (a locked instruction on x86 either
  // way).
  bool TryIncRef() const {
    Count n = refs_.load(std::memory_order_relaxed);
    while (n > 0) {
      if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  void DecRef() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      static_cast<const T*>(this)->OnLastRef();
    }
  }

  // Drops a reference that is likely the last without an atomic
  // read-modify-write when it is. Only for an object that the caller has
  // just made unreachable with a seq_cst store, and whose TryIncRef
  // callers all check, with a seq_cst load after it, that the object is
  // still where they found it, dropping it if not: then a count of 1 seen
  // here is the caller's alone (a racing TryIncRef's reference is given
  // back, and the last one of those to go runs OnLastRef if the count got
  // past 1 first).
  void DecRefUnreachable() const {
    if (refs_.load(std::memory_order_seq_cst) == 1) {
      static_cast<const T*>(this)->OnLastRef();
      return;
    }
    DecRef();
  }

  int64_t ReadRefs() const { return refs_.load(std::memory_order_relaxed); }

 protected:
  // Objects start with one reference, owned by whoever created them (adopt
  // it with AdoptRef).
  RefCounted() = default;
  ~RefCounted() = default;

  // Default last-reference hook. T may shadow it (non-virtual, resolved by
  // CRTP).
  void OnLastRef() const { delete static_cast<const T*>(this); }

 private:
  mutable std::atomic<Count> refs_{1};
};

template <typename T>
class RefPtr {
 public:
  constexpr RefPtr() = default;
  constexpr RefPtr(std::nullptr_t) {}  // NOLINT
  // Takes a new reference on p.
  explicit RefPtr(T* p) : p_(p) {
    if (p_) p_->IncRef();
  }
  RefPtr(const RefPtr& o) : RefPtr(o.p_) {}
  RefPtr(RefPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <typename U>
  RefPtr(const RefPtr<U>& o) : RefPtr(o.get()) {}  // NOLINT
  template <typename U>
  RefPtr(RefPtr<U>&& o) noexcept : p_(o.release()) {}  // NOLINT
  ~RefPtr() { reset(); }

  RefPtr& operator=(RefPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }

  // Wraps p without taking a reference (p's creation reference, or one from
  // TryIncRef).
  static RefPtr Adopt(T* p) {
    RefPtr r;
    r.p_ = p;
    return r;
  }

  void reset() {
    if (T* p = std::exchange(p_, nullptr)) p->DecRef();
  }
  // Gives up ownership of the reference without dropping it.
  T* release() { return std::exchange(p_, nullptr); }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

  friend bool operator==(const RefPtr& a, const RefPtr& b) {
    return a.p_ == b.p_;
  }
  friend bool operator==(const RefPtr& a, std::nullptr_t) {
    return a.p_ == nullptr;
  }

 private:
  T* p_ = nullptr;
};

// Adopts the creation reference of a new object: AdoptRef(new Foo(...)).
template <typename T>
RefPtr<T> AdoptRef(T* p) {
  return RefPtr<T>::Adopt(p);
}

template <typename T, typename... Args>
RefPtr<T> MakeRef(Args&&... args) {
  return RefPtr<T>::Adopt(new T(std::forward<Args>(args)...));
}

namespace internal {

// One thread's count of one kind of object (see LiveCounter): written
// only by its thread, read by LiveTally::Sum.
struct LiveSlot {
  std::atomic<int64_t> n{0};
  LiveSlot* next = nullptr;
  LiveSlot* prev = nullptr;
};

// Every thread's slot for one kind, and what ended threads left behind.
class LiveTally {
 public:
  void Attach(LiveSlot* s);
  // Folds s's count into the shared one and forgets s.
  void Detach(LiveSlot* s);
  void AddShared(int64_t d) { shared_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Sum() const;

 private:
  mutable std::mutex mu_;
  LiveSlot* head_ = nullptr;  // guarded by mu_
  std::atomic<int64_t> shared_{0};
};

}  // namespace internal

// Counts live objects of a kind, for leak checks in tests. A class embeds a
// LiveCounter<Tag> member; LiveCounter<Tag>::Live() reads the number alive.
// Each thread counts in a slot of its own, so that making and freeing
// objects writes no line another thread writes (a shared atomic count cost
// every open and close two locked instructions); Live() adds the slots up,
// which is exact whenever no thread is making or freeing one meanwhile.
template <typename Tag>
class LiveCounter {
 public:
  LiveCounter() { Add(1); }
  LiveCounter(const LiveCounter&) : LiveCounter() {}
  LiveCounter& operator=(const LiveCounter&) { return *this; }
  ~LiveCounter() { Add(-1); }
  static int64_t Live() { return Tally().Sum(); }

 private:
  static internal::LiveTally& Tally() {
    static internal::LiveTally* t = new internal::LiveTally();
    return *t;
  }
  // The calling thread's slot, attached on first use and detached when
  // the thread ends; objects freed later in the thread's exit count on
  // the shared count.
  struct Owner {
    internal::LiveSlot slot;
    Owner() {
      Tally().Attach(&slot);
      t_slot = &slot;
    }
    ~Owner() {
      t_slot = nullptr;
      t_ended = true;
      Tally().Detach(&slot);
    }
  };
  // Trivial, so reading them costs no initialisation check.
  static inline thread_local internal::LiveSlot* t_slot = nullptr;
  static inline thread_local bool t_ended = false;

  static void Add(int64_t d) {
    internal::LiveSlot* s = t_slot;
    if (__builtin_expect(s == nullptr, 0)) {
      if (t_ended) {
        Tally().AddShared(d);
        return;
      }
      static thread_local Owner owner;
      s = &owner.slot;
    }
    s->n.store(s->n.load(std::memory_order_relaxed) + d,
               std::memory_order_relaxed);
  }
};

}  // namespace base

#endif  // BASE_REFCOUNT_H_
