#include "server/json_text.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace jobd::server {
namespace {

// Printable ASCII other than the two characters JSON escapes: copied as is.
bool plain(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void append_digits(std::string& out, unsigned value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
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

void append_json_number(std::string& out, double d) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

void append_json_time(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss time{ms - day};
  out += '"';
  append_digits(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out += '-';
  append_digits(out, static_cast<unsigned>(date.month()), 2);
  out += '-';
  append_digits(out, static_cast<unsigned>(date.day()), 2);
  out += 'T';
  append_digits(out, static_cast<unsigned>(time.hours().count()), 2);
  out += ':';
  append_digits(out, static_cast<unsigned>(time.minutes().count()), 2);
  out += ':';
  append_digits(out, static_cast<unsigned>(time.seconds().count()), 2);
  out += '.';
  append_digits(out, static_cast<unsigned>(time.subseconds().count()), 3);
  out += "Z\"";
}

}  // namespace jobd::server
