#pragma once

// Reading one series of a /metrics page in the tests.

#include <algorithm>
#include <string>
#include <string_view>

namespace jobd::testing {

// The text of `series`'s value (the name with its labels, as written), or "" when the page has
// no such series.
inline std::string sample_text(std::string_view page, std::string_view series) {
  for (std::size_t line = 0; line < page.size();) {
    const std::size_t end = std::min(page.find('\n', line), page.size());
    const std::string_view text = page.substr(line, end - line);
    if (text.size() > series.size() && text.starts_with(series) && text[series.size()] == ' ') {
      return std::string(text.substr(series.size() + 1));
    }
    line = end + 1;
  }
  return "";
}

}  // namespace jobd::testing
