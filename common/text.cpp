#include "common/text.hpp"

#include <algorithm>

namespace jobd {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

bool continuation(unsigned char b, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
  return b >= lo && b <= hi;
}

// `text` with each byte that `keep` refuses written as `prefix` and two hex digits.
template <class Keep>
std::string escaped(std::string_view text, Keep keep, std::string_view prefix, const char* digits) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (keep(byte)) {
      out.push_back(c);
    } else {
      out += prefix;
      out += {digits[byte >> 4], digits[byte & 0xf]};
    }
  }
  return out;
}

}  // namespace

utf8_sequence utf8_at(const char* p, const char* end) noexcept {
  const auto lead = static_cast<unsigned char>(*p);
  if (lead < 0x80) return {1, true};
  std::size_t n = 0;
  // The second byte's range: narrower after some leads, which rules out overlong forms,
  // surrogates and code points past U+10FFFF (RFC 3629, table 3-7 of the Unicode standard).
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {1, false};  // a continuation byte, or a byte no sequence starts with
  }
  std::size_t i = 1;
  for (; i < n && p + i < end; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (!(i == 1 ? continuation(b, lo, hi) : continuation(b))) return {i, false};
  }
  return {i, i == n};
}

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  const char* run = p;  // the start of the bytes to copy as they are
  while (p != end) {
    if (static_cast<unsigned char>(*p) < 0x80) {
      ++p;
      continue;
    }
    const utf8_sequence seq = utf8_at(p, end);
    if (!seq.valid) {
      out.append(run, p);
      out += replacement_character;
      run = p + seq.length;
    }
    p += seq.length;
  }
  out.append(run, p);
  return out;
}

std::string printable(std::string_view text) {
  return escaped(
      text, [](unsigned char c) { return c >= 0x20 && c != 0x7f; }, "\\x", "0123456789abcdef");
}

std::string percent_encode_unprintable(std::string_view text) {
  auto plain = [](unsigned char c) { return c > 0x20 && c < 0x7f; };
  if (std::all_of(text.begin(), text.end(), plain)) return std::string(text);
  return escaped(text, plain, "%", "0123456789ABCDEF");
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace jobd
