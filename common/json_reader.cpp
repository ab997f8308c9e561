#include "common/json_reader.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/text.hpp"

namespace jobd {
namespace {

using json = nlohmann::json;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A character as an error message shows it: 'x' when printable, its byte value otherwise.
std::string shown(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[byte >> 4] + hex[byte & 0xf];
}

}  // namespace

bool detail::json_key_set::insert_slowly(std::string_view key, bool owned) {
  if (rest_ && rest_->contains(key)) return false;
  if (owned) key = copies_.emplace_front(key);
  if (count_ < few) {
    first_[count_] = key;
  } else {
    if (!rest_) rest_ = std::make_unique<std::unordered_set<std::string_view>>();
    rest_->insert(key);
  }
  ++count_;
  return true;
}

json_reader::json_reader(std::string_view text, std::string_view subject, std::size_t max_depth,
                         bool comments)
    : begin_(text.data()),
      p_(text.data()),
      end_(text.data() + text.size()),
      subject_(subject),
      max_depth_(max_depth),
      comments_(comments) {}

bool json_reader::fail(std::string_view what) {
  if (failed()) return false;
  std::size_t line = 1;
  const char* line_start = begin_;
  for (const char* c = begin_; c != p_; ++c) {
    if (*c == '\n') {
      ++line;
      line_start = c + 1;
    }
  }
  error_ = std::string(subject_) + " is not valid JSON: " + std::string(what) + " at line " +
           std::to_string(line) + ", column " + std::to_string(p_ - line_start + 1);
  return false;
}

bool json_reader::fail_unexpected(std::string_view expected) {
  if (p_ == end_) return fail("the text ends where " + std::string(expected) + " was expected");
  return fail(shown(*p_) + " where " + std::string(expected) + " was expected");
}

bool json_reader::fail_duplicate(std::string_view key) {
  if (!failed()) {
    error_ = std::string(subject_) + " is not valid JSON: the key \"" + std::string(key) +
             "\" appears twice in one object";
  }
  return false;
}

void json_reader::skip_space_slowly() {
  while (p_ != end_) {
    const char c = *p_;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      ++p_;
    } else if (c == '/' && comments_) {
      if (end_ - p_ >= 2 && p_[1] == '/') {
        p_ = std::find(p_, end_, '\n');
      } else if (end_ - p_ >= 2 && p_[1] == '*') {
        const std::string_view rest(p_ + 2, static_cast<std::size_t>(end_ - p_ - 2));
        const std::size_t close = rest.find("*/");
        if (close == std::string_view::npos) {
          fail("a /* comment that is never closed");
          return;
        }
        p_ += 2 + close + 2;
      } else {
        fail("a '/' that begins no comment");
        return;
      }
    } else {
      return;
    }
  }
}

bool json_reader::at_end() {
  skip_space();
  if (failed()) return false;
  if (p_ != end_) return fail(shown(*p_) + " after the value, where the text should end");
  return true;
}

bool json_reader::enter() {
  if (++depth_ > max_depth_) {
    if (!failed()) {
      error_ =
          std::string(subject_) + " nests deeper than " + std::to_string(max_depth_) + " levels";
    }
    return false;
  }
  return true;
}

bool json_reader::value(json* out) {
  switch (peek()) {
    case '{':
      return object(out);
    case '[':
      return array(out);
    case '"': {
      ++p_;
      if (out == nullptr) return string_rest(nullptr, nullptr);
      std::string decoded;
      std::string_view plain;
      if (!string_rest(&decoded, &plain)) return false;
      *out = plain.data() != nullptr ? std::string(plain) : std::move(decoded);
      return true;
    }
    case 't':
      if (out) *out = true;
      return literal("true");
    case 'f':
      if (out) *out = false;
      return literal("false");
    case 'n':
      if (out) *out = nullptr;
      return literal("null");
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return number_value(out);
    default:
      return failed() ? false : fail_unexpected("a value");
  }
}

bool json_reader::value_text(std::string_view& out) {
  skip_space();
  const char* begin = p_;
  if (!value(nullptr)) return false;
  out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
  return true;
}

bool json_reader::literal(std::string_view word) {
  // Compared here rather than by memcmp: the words are four or five letters.
  const bool whole = static_cast<std::size_t>(end_ - p_) >= word.size() &&
                     std::equal(word.begin(), word.end(), p_);
  if (!whole) return fail("a value that is not JSON (true, false and null are its only words)");
  p_ += word.size();
  return true;
}

template <class ReadElement>
bool json_reader::container(char close, std::string_view after_element, ReadElement read_element) {
  if (!enter()) return false;
  ++p_;  // the opening bracket
  if (peek() != close) {
    for (;;) {
      if (!read_element()) return false;
      const char c = peek();
      if (c == close) break;
      if (c != ',') return failed() ? false : fail_unexpected(after_element);
      ++p_;
    }
  }
  ++p_;
  --depth_;
  return true;
}

bool json_reader::object(json* out) {
  json::object_t* members = nullptr;
  if (out != nullptr) {
    *out = json::object();
    members = &out->get_ref<json::object_t&>();
  }
  detail::json_key_set seen;
  std::string scratch;
  return container('}', "',' or '}' after a member", [&] {
    std::string_view key;
    if (!member_key(key, scratch)) return false;
    json* member = nullptr;
    if (members != nullptr) {
      auto [it, fresh] = members->try_emplace(std::string(key));
      if (!fresh) return fail_duplicate(key);
      member = &it->second;
    } else if (!seen.insert(key, key.data() == scratch.data())) {
      return fail_duplicate(key);
    }
    return value(member);
  });
}

bool json_reader::array(json* out) {
  json::array_t* elements = nullptr;
  if (out != nullptr) {
    *out = json::array();
    elements = &out->get_ref<json::array_t&>();
  }
  return container(']', "',' or ']' after an element", [&] {
    return value(elements != nullptr ? &elements->emplace_back() : nullptr);
  });
}

bool json_reader::begin_object() {
  if (peek() != '{') return failed() ? false : fail_unexpected("an object");
  if (!enter()) return false;
  ++p_;
  first_member_ = true;
  return true;
}

bool json_reader::string_rest_slowly(const char* start, std::string* decoded,
                                     std::string_view* plain) {
  // Up to an escape, a string is its own text.
  for (;;) {
    while (p_ != end_ && detail::plain_string_bytes[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_) return fail("the text ends inside a string");
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      if (plain != nullptr) *plain = std::string_view(start, static_cast<std::size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c == '\\') break;
    if (c < 0x20) return fail("a control character in a string (write it as an escape, \\n say)");
    const utf8_sequence seq = utf8_at(p_, end_);
    if (!seq.valid) return fail("a string that is not valid UTF-8");
    p_ += seq.length;
  }
  if (decoded != nullptr) decoded->assign(start, p_);
  for (;;) {
    if (p_ == end_) return fail("the text ends inside a string");
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (!escape(decoded)) return false;
      continue;
    }
    if (c < 0x20) return fail("a control character in a string (write it as an escape, \\n say)");
    std::size_t n = 1;
    if (c >= 0x80) {
      const utf8_sequence seq = utf8_at(p_, end_);
      if (!seq.valid) return fail("a string that is not valid UTF-8");
      n = seq.length;
    }
    if (decoded != nullptr) decoded->append(p_, n);
    p_ += n;
  }
}

bool json_reader::escape(std::string* decoded) {
  ++p_;  // '\\'
  if (p_ == end_) return fail("the text ends inside a string");
  char plain = 0;
  switch (*p_) {
    case '"':
      plain = '"';
      break;
    case '\\':
      plain = '\\';
      break;
    case '/':
      plain = '/';
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case 'u':
      break;
    default:
      return fail("an escape that JSON does not have: \\" + std::string(1, *p_));
  }
  if (plain != 0) {
    if (decoded != nullptr) *decoded += plain;
    ++p_;
    return true;
  }
  auto hex4 = [this](std::uint32_t& cp) {
    // At the 'u' of \uXXXX.
    if (end_ - p_ < 5) return fail("a \\u escape without four hex digits");
    cp = 0;
    for (int i = 1; i <= 4; ++i) {
      const int v = hex_value(p_[i]);
      if (v < 0) return fail("a \\u escape without four hex digits");
      cp = cp * 16 + static_cast<std::uint32_t>(v);
    }
    p_ += 5;
    return true;
  };
  std::uint32_t cp = 0;
  if (!hex4(cp)) return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a \\u escape of a lone low surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate stands for nothing without the low one after it.
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
      return fail("a \\u escape of a high surrogate without a low one after it");
    }
    ++p_;
    std::uint32_t low = 0;
    if (!hex4(low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) {
      return fail("a \\u escape of a high surrogate without a low one after it");
    }
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (decoded != nullptr) append_utf8(*decoded, cp);
  return true;
}

bool json_reader::number(json_number& out) {
  skip_space();
  if (failed()) return false;
  const char* const start = p_;
  const bool negative = p_ != end_ && *p_ == '-';
  if (negative) ++p_;
  auto digits = [this] {
    const char* from = p_;
    while (p_ != end_ && is_digit(*p_)) ++p_;
    return p_ != from;
  };
  if (p_ != end_ && *p_ == '0') {
    ++p_;
  } else if (!digits()) {
    return fail("a number without digits");
  }
  bool integral = true;
  if (p_ != end_ && *p_ == '.') {
    ++p_;
    if (!digits()) return fail("a number without digits after its '.'");
    integral = false;
  }
  if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (!digits()) return fail("a number without digits in its exponent");
    integral = false;
  }
  if (integral) {
    // Up to 19 digits always fit 64 bits: summed here, the common case (a timeout, a count).
    const char* digits_begin = negative ? start + 1 : start;
    if (p_ - digits_begin <= 19) {
      std::uint64_t v = 0;
      for (const char* d = digits_begin; d != p_; ++d) v = v * 10 + static_cast<unsigned>(*d - '0');
      if (!negative) {
        out.type = json_number::kind::unsigned_integer;
        out.unsigned_value = v;
        return true;
      }
      if (v <= std::uint64_t{1} << 63) {
        out.type = json_number::kind::signed_integer;
        out.signed_value = v == std::uint64_t{1} << 63 ? std::numeric_limits<std::int64_t>::min()
                                                       : -static_cast<std::int64_t>(v);
        return true;
      }
    } else if (!negative) {
      // An integer that does not fit 64 bits is read as a double, as most JSON readers do.
      const auto [ptr, ec] = std::from_chars(start, p_, out.unsigned_value);
      if (ec == std::errc{}) {
        out.type = json_number::kind::unsigned_integer;
        return true;
      }
    }
  }
  // strtod wants a terminated string; numbers are short, and this one is copied once.
  const std::string text(start, p_);
  out.type = json_number::kind::floating;
  out.floating_value = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(out.floating_value)) {
    p_ = start;
    return fail("number overflow: " + text + " does not fit a double");
  }
  return true;
}

bool json_reader::number_value(json* out) {
  json_number n;
  if (!number(n)) return false;
  if (out == nullptr) return true;
  switch (n.type) {
    case json_number::kind::signed_integer:
      *out = n.signed_value;
      break;
    case json_number::kind::unsigned_integer:
      *out = n.unsigned_value;
      break;
    case json_number::kind::floating:
      *out = n.floating_value;
      break;
  }
  return true;
}

checked_json parse_checked_json(std::string_view text, std::size_t max_depth,
                                std::string_view subject, bool comments) {
  checked_json out;
  json_reader reader(text, subject, max_depth, comments);
  if (!reader.value(&out.value) || !reader.at_end()) return {nullptr, reader.error()};
  return out;
}

}  // namespace jobd
