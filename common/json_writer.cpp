#include "common/json_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace jobd {
namespace {

using json = nlohmann::json;

// Bytes copied as they are: printable ASCII and DEL, but for the two characters JSON escapes.
// One table lookup a byte, as every answer goes through here.
constexpr std::array<bool, 256> plain_bytes = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c <= 0x7f; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

// Writes `value` as exactly `width` digits ending just before `end`.
void put_digits(char* end, unsigned value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

template <typename Integer>
void append_integer(std::string& out, Integer n) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      const char text[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
      out.append(text, sizeof text);
    }
  }
}

void append_newline(std::string& out, int indent, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}

// Compact when `indent` is negative; otherwise as nlohmann's dump(indent) lays a value out.
void append_value(std::string& out, const json& value, int indent, int depth) {
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      out += "null";
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_unsigned:
      append_decimal(out, value.get<std::uint64_t>());
      return;
    case json::value_t::number_integer:
      append_decimal(out, value.get<std::int64_t>());
      return;
    case json::value_t::number_float:
      append_json_number(out, value.get<double>());
      return;
    case json::value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        if (indent >= 0) append_newline(out, indent, depth + 1);
        append_value(out, element, indent, depth + 1);
      }
      if (indent >= 0) append_newline(out, indent, depth);
      out += ']';
      return;
    }
    case json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ',';
        first = false;
        if (indent >= 0) append_newline(out, indent, depth + 1);
        append_json_string(out, key);
        out += indent >= 0 ? ": " : ":";
        append_value(out, member, indent, depth + 1);
      }
      if (indent >= 0) append_newline(out, indent, depth);
      out += '}';
      return;
    }
    case json::value_t::binary: {
      // Never made from JSON text; written as nlohmann writes it, for completeness.
      const auto& bin = value.get_binary();
      out += "{\"bytes\":[";
      for (std::size_t i = 0; i < bin.size(); ++i) {
        if (i > 0) out += ',';
        append_decimal(out, std::uint64_t{bin[i]});
      }
      out += "],\"subtype\":";
      if (bin.has_subtype()) {
        append_decimal(out, std::uint64_t{bin.subtype()});
      } else {
        out += "null";
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  const char* p = s.data();
  const char* const end = p + s.size();
  for (;;) {
    // Runs of bytes that need nothing are copied whole: most strings are one run.
    const char* run = p;
    while (p != end && plain_bytes[static_cast<unsigned char>(*p)]) ++p;
    out.append(run, p);
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x80) {
      append_escape(out, c);
      ++p;
      continue;
    }
    const utf8_sequence seq = utf8_at(p, end);
    if (seq.valid) {
      out.append(p, seq.length);
    } else {
      out += "\xEF\xBF\xBD";
    }
    p += seq.length;
  }
  out += '"';
}

void append_json_plain(std::string& out, std::string_view plain) {
  out += '"';
  out += plain;
  out += '"';
}

void append_decimal(std::string& out, std::uint64_t n) {
  append_integer(out, n);
}

void append_decimal(std::string& out, std::int64_t n) {
  append_integer(out, n);
}

void append_json_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  // nlohmann's own conversion (shortest round trip, ".0" on whole numbers, an exponent past
  // 1e15): the form every job result with a fraction has always had.
  std::array<char, 64> text{};
  char* end = nlohmann::detail::to_chars(text.data(), text.data() + text.size(), v);
  out.append(text.data(), static_cast<std::size_t>(end - text.data()));
}

namespace {

// A duration rounded to the microsecond, as a decimal of a unit of `digits` microsecond digits
// (3: milliseconds, 6: seconds): trailing zeros trimmed, ".0" kept on a whole number.
void append_micros(std::string& out, std::chrono::nanoseconds d, int digits, unsigned per_unit) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
  const std::uint64_t us = (ns + 500) / 1'000;
  char text[32];
  char* end = std::to_chars(text, text + 20, us / per_unit).ptr;
  *end++ = '.';
  const auto fraction = static_cast<unsigned>(us % per_unit);
  if (fraction == 0) {
    *end++ = '0';
  } else {
    put_digits(end + digits, fraction, digits);
    end += digits;
    while (end[-1] == '0') --end;  // a fraction is never all zeros here
  }
  out.append(text, end);
}

}  // namespace

void append_json_millis(std::string& out, std::chrono::nanoseconds d) {
  append_micros(out, d, 3, 1'000);
}

void append_json_seconds(std::string& out, std::chrono::nanoseconds d) {
  append_micros(out, d, 6, 1'000'000);
}

void append_json_value(std::string& out, const json& value) {
  append_value(out, value, -1, 0);
}

std::string json_text(const json& value) {
  std::string out;
  append_value(out, value, -1, 0);
  return out;
}

std::string json_text_indented(const json& value, int indent) {
  std::string out;
  append_value(out, value, std::max(indent, 0), 0);
  return out;
}

void json_time_writer::append(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto second = floor<seconds>(ms);
  if (second != second_) {
    const auto day = floor<days>(second);
    const year_month_day date{day};
    const hh_mm_ss time{second - day};
    // Written into place back to front.
    std::memcpy(prefix_, "\"0000-00-00T00:00:00.", sizeof prefix_);
    put_digits(prefix_ + 5, static_cast<unsigned>(static_cast<int>(date.year())), 4);
    put_digits(prefix_ + 8, static_cast<unsigned>(date.month()), 2);
    put_digits(prefix_ + 11, static_cast<unsigned>(date.day()), 2);
    put_digits(prefix_ + 14, static_cast<unsigned>(time.hours().count()), 2);
    put_digits(prefix_ + 17, static_cast<unsigned>(time.minutes().count()), 2);
    put_digits(prefix_ + 20, static_cast<unsigned>(time.seconds().count()), 2);
    second_ = second;
  }
  char text[sizeof prefix_ + 5];
  std::memcpy(text, prefix_, sizeof prefix_);
  put_digits(text + sizeof prefix_ + 3, static_cast<unsigned>((ms - second).count()), 3);
  text[sizeof prefix_ + 3] = 'Z';
  text[sizeof prefix_ + 4] = '"';
  out.append(text, sizeof text);
}

void json_writer::element() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
  if ((has_elements_ & bit) != 0) out_ += ',';
  has_elements_ |= bit;
}

void json_writer::open(char bracket) {
  element();
  out_ += bracket;
  ++depth_;
  has_elements_ &= ~(std::uint64_t{1} << (depth_ - 1));
}

void json_writer::close(char bracket) {
  out_ += bracket;
  --depth_;
}

json_writer& json_writer::begin_object() {
  open('{');
  return *this;
}

json_writer& json_writer::end_object() {
  close('}');
  return *this;
}

json_writer& json_writer::begin_array() {
  open('[');
  return *this;
}

json_writer& json_writer::end_array() {
  close(']');
  return *this;
}

json_writer& json_writer::key(std::string_view plain_key) {
  element();
  // One append: this is on every member of every answer.
  char text[64];
  if (plain_key.size() + 3 <= sizeof text) {
    text[0] = '"';
    std::memcpy(text + 1, plain_key.data(), plain_key.size());
    text[plain_key.size() + 1] = '"';
    text[plain_key.size() + 2] = ':';
    out_.append(text, plain_key.size() + 3);
  } else {
    append_json_plain(out_, plain_key);
    out_ += ':';
  }
  after_key_ = true;
  return *this;
}

json_writer& json_writer::escaped_key(std::string_view key) {
  element();
  append_json_string(out_, key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view s) {
  element();
  append_json_string(out_, s);
  return *this;
}

json_writer& json_writer::value(bool b) {
  element();
  out_ += b ? "true" : "false";
  return *this;
}

json_writer& json_writer::value(double d) {
  element();
  append_json_number(out_, d);
  return *this;
}

json_writer& json_writer::value(const json& v) {
  element();
  append_json_value(out_, v);
  return *this;
}

json_writer& json_writer::null() {
  element();
  out_ += "null";
  return *this;
}

json_writer& json_writer::plain(std::string_view s) {
  element();
  append_json_plain(out_, s);
  return *this;
}

json_writer& json_writer::millis(std::chrono::nanoseconds d) {
  element();
  append_json_millis(out_, d);
  return *this;
}

json_writer& json_writer::seconds(std::chrono::nanoseconds d) {
  element();
  append_json_seconds(out_, d);
  return *this;
}

json_writer& json_writer::time(json_time_writer& times, std::chrono::system_clock::time_point t) {
  element();
  times.append(out_, t);
  return *this;
}

json_writer& json_writer::raw(std::string_view json_value) {
  element();
  out_ += json_value;
  return *this;
}

}  // namespace jobd
