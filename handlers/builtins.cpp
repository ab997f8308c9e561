#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/json_describe.hpp"
#include "handlers/registry.hpp"
#include "pool/sleep.hpp"

namespace jobd::handlers {
namespace {

using json = nlohmann::json;

// Upper bounds keep a single payload from asking for more than the longest allowed job.
constexpr std::int64_t max_sleep_ms = 3'600'000;
constexpr std::int64_t max_iterations = 1'000'000'000'000;

std::int64_t integer_field(const json& payload, const char* field, std::int64_t max) {
  // Built only for an error: reading the field is on every job's path.
  auto name = [field] { return std::string("payload.") + field; };
  const auto found = payload.find(field);  // end() for a payload that is not an object
  if (found == payload.end()) {
    throw job_error("invalid_field", name() + " is required: an integer 0.." + std::to_string(max));
  }
  const json& v = *found;
  if (!v.is_number_integer()) {
    throw job_error("invalid_field", name() + " must be an integer 0.." + std::to_string(max) +
                                         " (got " + describe_json_value(v) + ")");
  }
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)
                             : (v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > max)) {
    throw job_error("invalid_field", name() + " is out of range: allowed 0.." +
                                         std::to_string(max) + " (got " + v.dump() + ")");
  }
  return v.get<std::int64_t>();
}

// A built-in payload is refused with a field it does not read, like a submission: a misspelt
// field must not silently change nothing.
void only_field(const json& payload, const char* field) {
  if (!payload.is_object()) return;
  for (const auto& [key, value] : payload.items()) {
    if (key != field) {
      throw job_error("invalid_field",
                      "unknown field \"payload." + key + "\"; allowed: payload." + field);
    }
  }
}

// The check of a payload of one integer field, 0..max, and nothing else. A field it does not
// read is named first: {"msec":100} is a misspelling far more often than a missing field.
auto one_integer_field(const char* field, std::int64_t max) {
  return [field, max](const json& payload) {
    only_field(payload, field);
    (void)integer_field(payload, field, max);
  };
}

json sleep_job(const json& payload, const pool::job_context& ctx) {
  const auto ms = integer_field(payload, "ms", max_sleep_ms);
  // Returns early when the stop token fires; the pool then reports timed_out or cancelled.
  pool::sleep_until(ctx.stop, pool::clock::now() + std::chrono::milliseconds(ms));
  // Member by member: an initializer list would build each pair as an array first, three more
  // allocations on every sleep job.
  json result(json::value_t::object);
  result.emplace("slept_ms", ms);
  return result;
}

// splitmix64: a cheap, well-mixed step, so the digest depends on every iteration.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

json cpu_job(const json& payload, const pool::job_context& ctx) {
  const auto iterations = integer_field(payload, "iterations", max_iterations);
  std::uint64_t h = 0;
  for (std::int64_t i = 0; i < iterations; ++i) {
    // Checking every 4096 steps keeps the check off the profile and the reaction within ~50 µs.
    if ((i & 4095) == 0 && ctx.stop.stop_requested()) return nullptr;
    h = mix(h);
  }
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(h));
  return json{{"iterations", iterations}, {"digest", digest}};
}

void validate_fail(const json& payload) {
  if (payload.is_null()) return;
  if (!payload.is_object()) throw job_error("invalid_field", "payload must be an object or null");
  if (payload.contains("message") && !payload.at("message").is_string()) {
    throw job_error("invalid_field", "payload.message must be a string");
  }
  only_field(payload, "message");
}

json fail_job(const json& payload, const pool::job_context&) {
  std::string message = "job failed";
  if (payload.is_object() && payload.contains("message"))
    message = payload.at("message").get<std::string>();
  throw job_error("job_failed", message);
}

}  // namespace

// None of them reaches outside jobd: each may run again after a crash, changing nothing.
void add_builtins(registry& r) {
  r.add({.name = "noop",
         .kind = "builtin",
         .cheap = true,
         .side_effects = false,
         .run = [](const json&, const pool::job_context&) { return json(nullptr); }});
  r.add({.name = "echo",
         .kind = "builtin",
         .side_effects = false,
         .run = [](const json& payload, const pool::job_context&) { return payload; }});
  r.add({.name = "sleep",
         .kind = "builtin",
         .validate = one_integer_field("ms", max_sleep_ms),
         .side_effects = false,
         .run = sleep_job});
  r.add({.name = "cpu",
         .kind = "builtin",
         .validate = one_integer_field("iterations", max_iterations),
         .side_effects = false,
         .run = cpu_job});
  r.add({.name = "fail",
         .kind = "builtin",
         .validate = validate_fail,
         .side_effects = false,
         .run = fail_job});
}

}  // namespace jobd::handlers
