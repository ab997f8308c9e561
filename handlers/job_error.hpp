#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace jobd::handlers {

// The one exception type handlers throw on purpose. `code` is a machine-readable error code that
// clients see (e.g. "job_failed", "invalid_field"); the message is for people; `details` (an
// object, or null) adds fields to the job's error object, such as an exit code. Anything else a
// handler throws is reported as "job_failed" with the exception's what().
class job_error : public std::runtime_error {
 public:
  job_error(std::string code, const std::string& message, nlohmann::json details = nullptr)
      : std::runtime_error(message), code_(std::move(code)), details_(std::move(details)) {}
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  [[nodiscard]] const nlohmann::json& details() const noexcept { return details_; }

 private:
  std::string code_;
  nlohmann::json details_;
};

}  // namespace jobd::handlers
