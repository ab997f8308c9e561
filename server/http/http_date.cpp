#include "server/http/http_date.hpp"

#include <time.h>

namespace jobd::server {

std::string_view http_date::at(std::time_t t) {
  if (t != second_) {
    static constexpr char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto two = [](char* p, int v) {
      p[0] = static_cast<char>('0' + v / 10);
      p[1] = static_cast<char>('0' + v % 10);
    };
    char* p = text_;
    for (int i = 0; i < 3; ++i) *p++ = days[tm.tm_wday][i];
    *p++ = ',';
    *p++ = ' ';
    two(p, tm.tm_mday);
    p += 2;
    *p++ = ' ';
    for (int i = 0; i < 3; ++i) *p++ = months[tm.tm_mon][i];
    *p++ = ' ';
    const int year = tm.tm_year + 1900;
    two(p, year / 100 % 100);
    two(p + 2, year % 100);
    p += 4;
    *p++ = ' ';
    two(p, tm.tm_hour);
    two(p + 3, tm.tm_min);
    two(p + 6, tm.tm_sec);
    p[2] = p[5] = ':';
    p += 8;
    for (const char c : std::string_view(" GMT")) *p++ = c;
    second_ = t;
  }
  return {text_, size};
}

}  // namespace jobd::server
