#pragma once

#include <stdexcept>
#include <string>

namespace jobd::handlers {

// The one exception type handlers throw on purpose. `code` is a machine-readable error code that
// clients see (e.g. "job_failed", "invalid_field"); the message is for people. Anything else a
// handler throws is reported as "job_failed" with the exception's what().
class job_error : public std::runtime_error {
 public:
  job_error(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  [[nodiscard]] const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

}  // namespace jobd::handlers
