#pragma once

// Ids that are sequence numbers in disguise: 16 lower-case hex digits. An odd multiplier is a
// bijection on 64-bit integers, so distinct numbers give distinct ids and an id decodes back to
// its number; the salt keeps them unguessable across restarts. Job ids and request ids.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace jobd {

// The 16 characters of an id, held in place: making one allocates nothing.
class opaque_id_text {
 public:
  static constexpr std::size_t size = 16;
  explicit opaque_id_text(const std::array<char, size>& chars) : chars_(chars) {}
  std::string_view view() const noexcept { return {chars_.data(), size}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: an id reads as text
  friend bool operator==(const opaque_id_text&, const opaque_id_text&) = default;

 private:
  std::array<char, size> chars_;
};

opaque_id_text opaque_id(std::uint64_t seq, std::uint64_t salt);

// The number `id` was made from with `salt`; nullopt when it is not an id in form.
std::optional<std::uint64_t> seq_of_opaque_id(std::string_view id, std::uint64_t salt);

}  // namespace jobd
