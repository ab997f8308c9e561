#pragma once

// A move-only std::function with room for a larger callable in place: a completion handler
// that holds a responder and a little state is kept without an allocation, where std::function
// keeps only trivially copyable callables of two pointers in place. (std::move_only_function is
// C++23.)
//
//   unique_function<void(int)> f = [owned = std::make_unique<int>(1)](int n) { ... };
//   f(2);

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace jobd {

template <class Signature, std::size_t InPlace = 64>
class unique_function;

template <class R, class... Args, std::size_t InPlace>
class unique_function<R(Args...), InPlace> {
 public:
  unique_function() noexcept = default;
  unique_function(std::nullptr_t) noexcept {}  // NOLINT: as std::function

  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, unique_function> &&
           std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
      unique_function(F&& f) {  // NOLINT: implicit, as std::function
    using stored = std::decay_t<F>;
    if constexpr (sizeof(stored) <= InPlace && alignof(stored) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<stored>) {
      ::new (static_cast<void*>(buffer_)) stored(std::forward<F>(f));
      ops_ = &in_place_ops<stored>;
    } else {
      *reinterpret_cast<stored**>(buffer_) = new stored(std::forward<F>(f));
      ops_ = &on_heap_ops<stored>;
    }
  }

  unique_function(unique_function&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) ops_->move(other.buffer_, buffer_);
    other.ops_ = nullptr;
  }

  unique_function& operator=(unique_function&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_ != nullptr) ops_->move(other.buffer_, buffer_);
      other.ops_ = nullptr;
    }
    return *this;
  }

  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // Calling an empty one is undefined, as for a null function pointer.
  R operator()(Args... args) { return ops_->call(buffer_, std::forward<Args>(args)...); }

 private:
  struct ops {
    R (*call)(unsigned char* self, Args&&... args);
    void (*move)(unsigned char* from, unsigned char* to) noexcept;
    void (*destroy)(unsigned char* self) noexcept;
  };

  template <class F>
  static F& in_place(unsigned char* p) {
    return *std::launder(reinterpret_cast<F*>(p));
  }
  template <class F>
  static F*& on_heap(unsigned char* p) {
    return *std::launder(reinterpret_cast<F**>(p));
  }

  template <class F>
  static constexpr ops in_place_ops{[](unsigned char* self, Args&&... args) -> R {
                                      return in_place<F>(self)(std::forward<Args>(args)...);
                                    },
                                    [](unsigned char* from, unsigned char* to) noexcept {
                                      ::new (static_cast<void*>(to))
                                          F(std::move(in_place<F>(from)));
                                      in_place<F>(from).~F();
                                    },
                                    [](unsigned char* self) noexcept { in_place<F>(self).~F(); }};

  template <class F>
  static constexpr ops on_heap_ops{[](unsigned char* self, Args&&... args) -> R {
                                     return (*on_heap<F>(self))(std::forward<Args>(args)...);
                                   },
                                   [](unsigned char* from, unsigned char* to) noexcept {
                                     *reinterpret_cast<F**>(to) =
                                         std::exchange(on_heap<F>(from), nullptr);
                                   },
                                   [](unsigned char* self) noexcept { delete on_heap<F>(self); }};

  void reset() noexcept {
    if (ops_ != nullptr) ops_->destroy(buffer_);
    ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char buffer_[InPlace];
  const ops* ops_ = nullptr;
};

}  // namespace jobd
