#include "common/json_limits.hpp"

namespace jobd {

bool nests_deeper_than(std::string_view text, std::size_t max_depth, bool comments) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (comments && c == '/' && i + 1 < text.size()) {
      // A quote or bracket inside a comment is not JSON: skip the comment as the parser does.
      if (text[i + 1] == '/') {
        const auto end = text.find('\n', i);
        if (end == std::string_view::npos) return false;
        i = end;
        continue;
      }
      if (text[i + 1] == '*') {
        const auto end = text.find("*/", i + 2);
        if (end == std::string_view::npos) return false;
        i = end + 1;
        continue;
      }
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace jobd
