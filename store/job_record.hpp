#pragma once

// What a store keeps of one job, and what the API shows of it: plain data, copied where it is
// kept. A store keeps the newest version it is given (`version` grows with each change); a
// reader's copy never changes under it. The payload is shared between the copies: it is the
// one part that may be large in every version.

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/opaque_id.hpp"

namespace jobd::store {

// The values are stored: a new status goes at the end.
enum class job_status : std::uint8_t {
  queued,
  running,
  succeeded,
  failed,
  timed_out,
  cancelled,
  scheduled,  // waiting for its run_at, or for its next attempt
};

[[nodiscard]] std::string_view to_string(job_status s) noexcept;
[[nodiscard]] std::optional<job_status> job_status_from(std::string_view s) noexcept;
[[nodiscard]] inline bool is_terminal(job_status s) noexcept {
  return s != job_status::queued && s != job_status::running && s != job_status::scheduled;
}

enum class job_priority : std::uint8_t { high, normal };

[[nodiscard]] std::string_view to_string(job_priority p) noexcept;

// Why a job did not succeed: the API's error object.
struct job_failure {
  std::string code;
  std::string message;
  // More members of the error object, from the job's handler (an exec job's stderr, say);
  // null when there are none.
  std::shared_ptr<const nlohmann::json> details;
};

// An attempt that did not end its job (the job was tried again after it), for its history.
struct job_attempt {
  std::uint32_t number = 1;
  job_status status = job_status::failed;
  std::optional<std::chrono::system_clock::time_point> started_at;  // none: it never started
  std::chrono::system_clock::time_point finished_at;
  std::optional<job_failure> error;
};

// The Idempotency-Key a job was made with, kept with it until it expires: a request that brings
// it again within that time is answered with this job instead of making another.
struct idempotency_key {
  std::string key;           // as the service scopes it (to the bearer token, say)
  std::uint64_t digest = 0;  // of the request's body: the same key with another body is refused
  std::chrono::system_clock::time_point expires_at;
};

// A completion callback: where the job's end is posted, and how its delivery goes. The values
// of the status are stored.
enum class callback_status : std::uint8_t { pending, delivered, failed };
[[nodiscard]] std::string_view to_string(callback_status s) noexcept;

struct job_callback {
  std::string url;
  callback_status status = callback_status::pending;
  std::uint32_t attempts = 0;  // deliveries tried
  std::string last_error;      // why the last one failed; "" when none did
};

// The history a job keeps: its last attempts, this many at most (the one under way included).
inline constexpr std::size_t attempts_kept = 25;

struct job_record {
  std::uint64_t seq = 0;      // the store's order of jobs: submission order, never reused
  opaque_id_text id{{}};      // what clients name the job by
  std::uint32_t version = 0;  // grows with each change: a store keeps the newest it is given
  std::string type;
  job_priority priority = job_priority::normal;
  std::chrono::milliseconds timeout{0};
  std::chrono::system_clock::time_point created_at;
  job_status status = job_status::queued;
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
  // Submission to start (to the end, for a job that never started): final once it is known.
  std::chrono::nanoseconds queue_time{0};
  // Start to end, once a job that started has ended.
  std::optional<std::chrono::nanoseconds> run_time;
  std::shared_ptr<const nlohmann::json> payload;  // null: a null payload
  // When succeeded; null: a null result. Only the terminal version has one, so it is held by
  // that version alone.
  std::shared_ptr<const nlohmann::json> result;
  std::optional<job_failure> error;  // when failed, timed out or cancelled
  // The attempt under way or last made (1-based), and how many the job may make.
  std::uint32_t attempt = 1;
  std::uint32_t max_attempts = 1;
  // The wait before the second attempt; each later one waits twice the one before.
  std::chrono::milliseconds retry_backoff{0};
  // When the submission asked the job to run; none: at once.
  std::optional<std::chrono::system_clock::time_point> run_at;
  // While the job waits for its next attempt: when it is due.
  std::optional<std::chrono::system_clock::time_point> next_attempt_at;
  // The attempts before this one, oldest first, at most attempts_kept - 1: the newest kept.
  std::vector<job_attempt> earlier_attempts;
  // The key the job was made with, if any: shared by its versions. A store keeps it from the
  // version that makes the job (version 0), which is stored before any other.
  std::shared_ptr<const idempotency_key> idempotency;
  // Its completion callback, if it asked for one; replaced, never changed, as delivery goes.
  std::shared_ptr<const job_callback> callback;
  // Jobs of its type with the same key run at most so many at once; empty: no key.
  std::string concurrency_key;
  // A pipeline's stages as they went in the attempt under way or last made: an array of
  // {"type", "status", "run_ms", "items"}; null for other jobs.
  std::shared_ptr<const nlohmann::json> stages;
};

}  // namespace jobd::store
