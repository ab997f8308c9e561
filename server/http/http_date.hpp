#pragma once

// The Date field every answer carries (RFC 9110 §6.6.1), in its one fixed form
// ("Sun, 06 Nov 1994 08:49:37 GMT"). Formatted once a second per owner: each connection keeps
// its own, so nothing is shared between threads.

#include <ctime>
#include <limits>
#include <string_view>

namespace jobd::server {

class http_date {
 public:
  // The date of the current second.
  std::string_view now() { return at(std::time(nullptr)); }
  std::string_view at(std::time_t t);

 private:
  static constexpr std::size_t size = 29;
  std::time_t second_ = std::numeric_limits<std::time_t>::min();
  char text_[size] = {};
};

}  // namespace jobd::server
