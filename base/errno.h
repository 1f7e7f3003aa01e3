// Errno and ErrnoOr<T>: Linux errno values as cheap, must-use results.
//
// Every VFS boundary reports failure as a Linux errno. `Errno` is a trivially
// copyable wrapper around the number (0 means success); `ErrnoOr<T>` holds
// either a T or a non-zero errno, with the surface of absl::StatusOr. Neither
// allocates on the error path, so ENOENT (the commonest lookup result) is free.
//
// Use RETURN_IF_ERRNO(expr) and ASSIGN_OR_RETURN(lhs, expr) to propagate.
#ifndef BASE_ERRNO_H_
#define BASE_ERRNO_H_

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace base {

// The symbolic name of a Linux errno value ("ENOENT"), or "E?" if unknown.
std::string_view ErrnoName(int e);

// A Linux errno value; 0 is success. Thread-compatible value type.
class [[nodiscard]] Errno {
 public:
  constexpr Errno() : value_(0) {}
  constexpr explicit Errno(int value) : value_(value) {}
  static constexpr Errno Ok() { return Errno(); }

  constexpr bool ok() const { return value_ == 0; }
  constexpr int value() const { return value_; }
  std::string_view name() const { return ErrnoName(value_); }
  // "ENOENT (No such file or directory)".
  std::string ToString() const;

  // The value a raw Linux syscall would return: 0 or -errno.
  constexpr long AsSyscallResult() const { return -static_cast<long>(value_); }

  friend constexpr bool operator==(Errno a, Errno b) {
    return a.value_ == b.value_;
  }
  friend constexpr bool operator!=(Errno a, Errno b) { return !(a == b); }

 private:
  int value_;
};

namespace internal {
// Whether ErrnoOr<T> keeps T bare (value-initialized under an error)
// rather than in a std::optional: for small trivially copyable T, whose
// result comes back in registers. With the optional's flag byte beside
// the value, GCC builds such a result in memory and reloads it as one
// word, across the byte's store: a failed store forward on every return
// of an ErrnoOr<int> or ErrnoOr<size_t> (3 ns of an open+close).
template <typename T>
inline constexpr bool kBareErrnoOrValue =
    std::is_trivially_copyable_v<T>&& std::is_default_constructible_v<T> &&
    sizeof(T) <= sizeof(void*);
}  // namespace internal

// Either a value of type T or a non-zero Errno.
template <typename T>
class [[nodiscard]] ErrnoOr {
 public:
  // Implicit from a value and from an error, like absl::StatusOr.
  ErrnoOr(const T& v) : value_(v) {}        // NOLINT
  ErrnoOr(T&& v) : value_(std::move(v)) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<
                            std::is_constructible_v<T, U&&> &&
                            !std::is_same_v<std::decay_t<U>, T> &&
                            !std::is_same_v<std::decay_t<U>, Errno>>>
  ErrnoOr(U&& v) : value_(std::forward<U>(v)) {}  // NOLINT
  ErrnoOr(Errno e) : err_(e) {                    // NOLINT
    if (e.ok()) std::abort();  // An ErrnoOr error must be a real errno.
  }

  bool ok() const { return err_.ok(); }
  Errno error() const { return err_; }
  // Alias of error(), for the absl::StatusOr surface.
  Errno status() const { return err_; }

  T& value() & { return ref(); }
  const T& value() const& { return ref(); }
  T&& value() && { return std::move(ref()); }
  T& operator*() & { return ref(); }
  const T& operator*() const& { return ref(); }
  T&& operator*() && { return std::move(ref()); }
  T* operator->() { return &ref(); }
  const T* operator->() const { return &ref(); }

 private:
  static constexpr bool kBare = internal::kBareErrnoOrValue<T>;
  T& ref() {
    if constexpr (kBare) {
      return value_;
    } else {
      return *value_;
    }
  }
  const T& ref() const {
    if constexpr (kBare) {
      return value_;
    } else {
      return *value_;
    }
  }

  std::conditional_t<kBare, T, std::optional<T>> value_{};
  Errno err_;
};

namespace internal {
inline Errno ToErrno(Errno e) { return e; }
template <typename T>
Errno ToErrno(const ErrnoOr<T>& e) {
  return e.error();
}
}  // namespace internal

}  // namespace base

#define BASE_ERRNO_CONCAT_INNER_(a, b) a##b
#define BASE_ERRNO_CONCAT_(a, b) BASE_ERRNO_CONCAT_INNER_(a, b)

// Returns the errno of `expr` (an Errno or ErrnoOr) from the enclosing
// function if it is not ok.
#define RETURN_IF_ERRNO(expr)                                        \
  do {                                                               \
    ::base::Errno base_errno_tmp_ = ::base::internal::ToErrno(expr); \
    if (!base_errno_tmp_.ok()) return base_errno_tmp_;               \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares x from Foo()'s value, or
// returns its errno.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BASE_ERRNO_CONCAT_(errno_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.error();           \
  lhs = std::move(tmp).value()

#endif  // BASE_ERRNO_H_
