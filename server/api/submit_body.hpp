#pragma once

// The body of POST /v1/jobs, read and checked against the API in one pass:
//   {"type": string, "payload"?: any JSON, "priority"?: "high"|"normal", "timeout_ms"?: 1..max}
// The payload is checked, not built: only an accepted job needs it as a value (the job service
// builds it), so a submission refused under overload never builds it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "pool/job.hpp"

namespace jobd::server {

struct submit_body {
  std::string type;
  // The payload's JSON text as sent, checked; empty when the body has none (a null payload).
  // Points into the text read.
  std::string_view payload_text;
  pool::lane priority = pool::lane::normal;
  std::optional<std::chrono::milliseconds> timeout;  // absent: the job type's default
  // Why the body is refused with a 400, or both empty. `priority` then holds the lane as far as
  // it was read (the refusal is counted against that lane).
  std::string error_code;
  std::string error_message;
};

submit_body read_submit_body(std::string_view text, std::chrono::milliseconds max_timeout);

}  // namespace jobd::server
