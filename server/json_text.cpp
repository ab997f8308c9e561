#include "server/json_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

namespace jobd::server {
namespace {

// Printable ASCII other than the two characters JSON escapes: copied as is. One table lookup a
// byte, as every message and job object goes through here.
constexpr std::array<bool, 256> plain_bytes = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x7f; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

bool plain(std::string_view s) {
  for (const char c : s) {
    if (!plain_bytes[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Writes `value` as exactly `width` digits ending just before `end`.
void put_digits(char* end, unsigned value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  if (plain(s)) {
    out += '"';
    out.append(s);
    out += '"';
    return;
  }
  out +=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_json_millis(std::string& out, std::chrono::nanoseconds d) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
  char text[32];
  char* end = std::to_chars(text, text + 20, ns / 1'000'000).ptr;
  *end++ = '.';
  std::uint64_t fraction = ns % 1'000'000;
  if (fraction == 0) {
    *end++ = '0';
  } else {
    put_digits(end + 6, static_cast<unsigned>(fraction), 6);
    end += 6;
    while (end[-1] == '0') --end;  // a fraction is never all zeros here
  }
  out.append(text, end);
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

void append_json_value(std::string& out, const nlohmann::json& value) {
  using nlohmann::json;
  switch (value.type()) {
    case json::value_t::null:
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
    case json::value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        append_json_value(out, element);
      }
      out += ']';
      return;
    }
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        out += ':';
        append_json_value(out, member);
      }
      out += '}';
      return;
    }
    case json::value_t::number_float:  // its exact form is nlohmann's to keep
    case json::value_t::binary:
    case json::value_t::discarded:
      out += value.dump(-1, ' ', false, json::error_handler_t::replace);
      return;
  }
}

namespace {

template <typename Integer>
void append_integer(std::string& out, Integer n) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

}  // namespace

void append_decimal(std::string& out, std::uint64_t n) {
  append_integer(out, n);
}

void append_decimal(std::string& out, std::int64_t n) {
  append_integer(out, n);
}

void append_json_plain(std::string& out, std::string_view plain) {
  out += '"';
  out += plain;
  out += '"';
}

}  // namespace jobd::server
