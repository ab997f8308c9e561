#include "common/rfc3339.hpp"

#include "common/json_writer.hpp"

namespace jobd {
namespace {

// The number in text[at, at + digits), or -1 when one of those is not a digit.
int digits_at(std::string_view text, std::size_t at, std::size_t digits) {
  if (at + digits > text.size()) return -1;
  int n = 0;
  for (std::size_t i = at; i < at + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS: fixed positions.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const int y = digits_at(text, 0, 4);
  const int mo = digits_at(text, 5, 2);
  const int d = digits_at(text, 8, 2);
  const int h = digits_at(text, 11, 2);
  const int mi = digits_at(text, 14, 2);
  const int s = digits_at(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || h > 23 || mi > 59 || s > 59) {
    return std::nullopt;
  }
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)),
                            day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  std::size_t at = 19;
  nanoseconds fraction{0};
  if (text[at] == '.') {
    ++at;
    const std::size_t first = at;
    long long ns = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      if (at - first < 9) ns = ns * 10 + (text[at] - '0');
    }
    if (at == first) return std::nullopt;
    for (std::size_t n = at - first; n < 9; ++n) ns *= 10;
    fraction = nanoseconds(ns);
  }
  minutes offset{0};
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int oh = digits_at(text, at + 1, 2);
    const int om = digits_at(text, at + 4, 2);
    if (oh < 0 || om < 0 || at + 3 >= text.size() || text[at + 3] != ':' || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = minutes(oh * 60 + om) * (text[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(s) + fraction;
  return time_point_cast<system_clock::duration>(local - offset);
}

std::string rfc3339_text(std::chrono::system_clock::time_point t) {
  std::string quoted;
  json_time_writer().append(quoted, t);
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace jobd
