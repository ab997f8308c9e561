#include "common/opaque_id.hpp"

namespace jobd {
namespace {

constexpr std::uint64_t multiplier = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t inverse_of(std::uint64_t odd) {
  // Newton's iteration doubles the correct low bits each step: 3, 6, 12, 24, 48, 96.
  std::uint64_t x = odd;
  for (int i = 0; i < 5; ++i) x *= 2 - odd * x;
  return x;
}
constexpr std::uint64_t inverse = inverse_of(multiplier);
static_assert(multiplier * inverse == 1);

constexpr char hex_digits[] = "0123456789abcdef";

}  // namespace

opaque_id_text opaque_id(std::uint64_t seq, std::uint64_t salt) {
  const std::uint64_t x = (seq * multiplier) ^ salt;
  std::array<char, opaque_id_text::size> id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = hex_digits[(x >> (60 - 4 * i)) & 0xf];
  return opaque_id_text(id);
}

std::optional<std::uint64_t> seq_of_opaque_id(std::string_view id, std::uint64_t salt) {
  if (id.size() != 16) return std::nullopt;
  std::uint64_t x = 0;
  for (const char c : id) {
    const char* digit = std::char_traits<char>::find(hex_digits, 16, c);
    if (digit == nullptr) return std::nullopt;
    x = (x << 4) | static_cast<std::uint64_t>(digit - hex_digits);
  }
  return (x ^ salt) * inverse;
}

}  // namespace jobd
