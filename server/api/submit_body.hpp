#pragma once

// The body of POST /v1/jobs, read and checked against the API in one pass:
//   {"type": string, "payload"?: any JSON, "priority"?: "high"|"normal", "timeout_ms"?: 1..max,
//    "max_attempts"?: 1..max, "retry_backoff_ms"?: 0..max, "run_at"?: RFC 3339 time,
//    "delay_ms"?: 0..max, "callback_url"?: string, "concurrency_key"?: 1..255 bytes}
// The payload is checked, not built: only an accepted job needs it as a value (the job service
// builds it), so a submission refused under overload never builds it. Whether run_at lies
// within reach of now is the job service's to say: it knows the clock.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pool/job.hpp"

namespace jobd::server {

// The bounds of the numbers a body may hold, from the settings.
struct submit_limits {
  std::chrono::milliseconds max_timeout{3'600'000};
  std::uint32_t max_attempts = 25;
  std::chrono::milliseconds max_backoff{600'000};
  std::chrono::milliseconds max_delay{30LL * 86'400'000};
};

struct submit_body {
  std::string type;
  // The payload's JSON text as sent, checked; empty when the body has none (a null payload).
  // Points into the text read.
  std::string_view payload_text;
  pool::lane priority = pool::lane::normal;
  std::optional<std::chrono::milliseconds> timeout;  // absent: the job type's default
  std::optional<std::uint32_t> max_attempts;         // absent: the type's, else 1
  std::optional<std::chrono::milliseconds> retry_backoff;
  // When to run: at most one of the two is given.
  std::optional<std::chrono::system_clock::time_point> run_at;
  std::optional<std::chrono::milliseconds> delay;
  std::optional<std::string> callback_url;     // checked against the allow list by the service
  std::optional<std::string> concurrency_key;  // 1..255 bytes
  // Why the body is refused with a 400, or both empty. `priority` then holds the lane as far as
  // it was read (the refusal is counted against that lane).
  std::string error_code;
  std::string error_message;
};

submit_body read_submit_body(std::string_view text, const submit_limits& limits);

}  // namespace jobd::server
