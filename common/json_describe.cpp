#include "common/json_describe.hpp"

#include <algorithm>
#include <cstddef>

namespace jobd {
namespace {

// Past this a string is named by its length: an error repeats what it got, not a whole text.
constexpr std::size_t longest_shown = 40;

bool integer_text(const std::string& s) {
  const std::size_t digits = s.starts_with('-') ? 1 : 0;
  return s.size() > digits && std::all_of(s.begin() + static_cast<std::ptrdiff_t>(digits), s.end(),
                                          [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string describe_json_value(const nlohmann::json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  if (!value.is_string()) return value.dump();
  const auto& s = value.get_ref<const std::string&>();
  if (s.size() > longest_shown) return "a string of " + std::to_string(s.size()) + " bytes";
  // The string goes into an error message as it is: whoever writes the message out escapes it.
  return "the string \"" + s + "\"" + (integer_text(s) ? ": leave out the quotes" : "");
}

}  // namespace jobd
