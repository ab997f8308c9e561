#pragma once

// Untrusted text (a request body, an exec job's output, a config file) as JSON: one document,
// nested at most `max_depth` deep, strings valid UTF-8, numbers within range, and no object with
// the same key twice (json::parse would keep one silently). One pass over the text.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace jobd {

struct checked_json {
  nlohmann::json value;
  std::string error;  // what is wrong, naming the text as `subject`; empty when nothing is
};

// `subject` names the text in the error: "the body", "stdout". With `comments`, // and /* */
// comments are skipped (a config file's).
checked_json parse_checked_json(std::string_view text, std::size_t max_depth,
                                std::string_view subject, bool comments = false);

}  // namespace jobd
