#pragma once

// The body of POST /v1/jobs, read and checked against the API:
//   {"type": string, "payload"?: any JSON, "priority"?: "high"|"normal", "timeout_ms"?: 1..max}
//
// Most bodies have one plain shape (ASCII strings without escapes, an integer timeout), and those
// are read straight into their fields; every other body, and every body with a mistake in it,
// goes through a whole JSON document, which also words the error. The two readers agree on every
// input (tests/server/submit_body_test.cpp, and the job_json fuzz target compares them). The fast
// reader leaves the payload as checked text, so a submission refused under overload never builds
// it.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "pool/job.hpp"

namespace jobd::server {

struct submit_body {
  std::string type;
  // The payload, in one of two forms: read by the fast reader, it is still text, checked to be
  // JSON but not built (only an accepted job needs it as a value); otherwise a value, null when
  // absent. take_payload() gives the value either way.
  nlohmann::json payload;
  std::string_view payload_text;  // points into the text read
  pool::lane priority = pool::lane::normal;
  std::optional<std::chrono::milliseconds> timeout;  // absent: the job type's default
  // Why the body is refused with a 400, or both empty. `priority` then holds the lane as far as
  // it was read (the refusal is counted against that lane).
  std::string error_code;
  std::string error_message;
};

submit_body read_submit_body(std::string_view text, std::chrono::milliseconds max_timeout);

// The reader through a whole document for every body: the reference the fast path must match.
submit_body read_submit_body_fully(std::string_view text, std::chrono::milliseconds max_timeout);

// The payload as a value, built from its text if it is still text. While the text read lives.
nlohmann::json take_payload(submit_body& body);

}  // namespace jobd::server
