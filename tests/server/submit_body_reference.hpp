#pragma once

// A reference for the submission body reader, for tests and the job_json fuzz target.

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/json_describe.hpp"
#include "common/json_reader.hpp"
#include "common/rfc3339.hpp"
#include "server/api/submit_body.hpp"

namespace jobd::server {

// The payload a body carries, built as the job service builds it: null when it has none.
inline nlohmann::json payload_of(const submit_body& body) {
  if (body.payload_text.empty()) return nullptr;
  return parse_checked_json(body.payload_text, max_json_depth, "the payload").value;
}

// The API's rules for a body, written the slow and obvious way on nlohmann's parser, to check
// the one-pass reader against: one key twice or nesting past the bound is not JSON here either.
inline submit_body reference_reader(const std::string& text, const submit_limits& limits) {
  submit_body out;
  // A refusal keeps the lane read so far, and nothing else.
  auto refused = [&out](std::string code, std::string message) {
    submit_body r;
    r.priority = out.priority;
    r.error_code = std::move(code);
    r.error_message = std::move(message);
    return r;
  };
  // A raw NUL byte is never JSON (not white space, and not allowed unescaped in a string), but
  // nlohmann's parser takes it for the end of the input and reads what came before it.
  if (text.find('\0') != std::string::npos) return refused("invalid_json", "");
  std::vector<std::set<std::string>> open_keys;
  bool duplicate = false;
  bool too_deep = false;
  nlohmann::json body = nlohmann::json::parse(
      text,
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth >= 64 && (event == nlohmann::json::parse_event_t::object_start ||
                            event == nlohmann::json::parse_event_t::array_start)) {
          too_deep = true;
        }
        if (event == nlohmann::json::parse_event_t::object_start) open_keys.emplace_back();
        if (event == nlohmann::json::parse_event_t::object_end) open_keys.pop_back();
        if (event == nlohmann::json::parse_event_t::key &&
            !open_keys.back().insert(parsed).second) {
          duplicate = true;
        }
        return true;
      },
      false);
  if (body.is_discarded() || duplicate || too_deep) return refused("invalid_json", "");
  if (!body.is_object()) {
    return refused(
        "invalid_field",
        R"(the body must be a JSON object, such as {"type":"sleep","payload":{"ms":100}})");
  }
  const auto priority = body.find("priority");
  if (priority != body.end() && *priority == "high") out.priority = pool::lane::high;
  for (const auto& [key, value] : body.items()) {
    static const std::set<std::string> fields = {
        "type",   "payload",  "priority",     "timeout_ms",     "max_attempts", "retry_backoff_ms",
        "run_at", "delay_ms", "callback_url", "concurrency_key"};
    if (!fields.contains(key)) {
      return refused("invalid_field",
                     "unknown field \"" + key +
                         "\"; allowed: type, payload, priority, timeout_ms, max_attempts, "
                         "retry_backoff_ms, run_at, delay_ms, callback_url, concurrency_key");
    }
  }
  if (priority != body.end() && *priority != "high" && *priority != "normal") {
    return refused("invalid_field", "priority must be \"high\" or \"normal\"");
  }
  const auto type = body.find("type");
  if (type == body.end() || !type->is_string()) {
    return refused("invalid_field", "type is required: a string naming a job type");
  }
  out.type = type->get<std::string>();
  // An integer member in min..max, or the refusal's message.
  std::string error;
  auto integer = [&](const char* name, std::uint64_t min,
                     std::uint64_t max) -> std::optional<std::uint64_t> {
    const nlohmann::json& v = body.at(name);
    const std::string rule = std::string(name) + " must be an integer " + std::to_string(min) +
                             ".." + std::to_string(max);
    if (!v.is_number_integer()) {
      error = rule + " (got " + describe_json_value(v) + ")";
      return std::nullopt;
    }
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > max) {
      error = rule + " (got " + v.dump() + ")";
      return std::nullopt;
    }
    return v.get<std::uint64_t>();
  };
  auto ms = [](std::chrono::milliseconds d) { return static_cast<std::uint64_t>(d.count()); };
  if (body.contains("timeout_ms")) {
    const auto t = integer("timeout_ms", 1, ms(limits.max_timeout));
    if (!t) return refused("invalid_field", error);
    out.timeout = std::chrono::milliseconds(*t);
  }
  if (body.contains("max_attempts")) {
    const auto n = integer("max_attempts", 1, limits.max_attempts);
    if (!n) return refused("invalid_field", error);
    out.max_attempts = static_cast<std::uint32_t>(*n);
  }
  if (body.contains("retry_backoff_ms")) {
    const auto b = integer("retry_backoff_ms", 0, ms(limits.max_backoff));
    if (!b) return refused("invalid_field", error);
    out.retry_backoff = std::chrono::milliseconds(*b);
  }
  if (body.contains("run_at") && body.contains("delay_ms")) {
    return refused("invalid_field", "run_at and delay_ms name the same thing: give one of them");
  }
  if (body.contains("delay_ms")) {
    const auto d = integer("delay_ms", 0, ms(limits.max_delay));
    if (!d) return refused("invalid_field", error);
    out.delay = std::chrono::milliseconds(*d);
  }
  if (const auto at = body.find("run_at"); at != body.end()) {
    const std::string rule = R"(run_at must be an RFC 3339 time such as "2026-12-08T09:00:00Z")";
    if (at->is_string()) out.run_at = parse_rfc3339(at->get<std::string>());
    if (!out.run_at)
      return refused("invalid_field", rule + " (got " + describe_json_value(*at) + ")");
  }
  if (const auto url = body.find("callback_url"); url != body.end()) {
    if (!url->is_string()) {
      return refused("invalid_field", "callback_url must be a string, an http:// URL (got " +
                                          describe_json_value(*url) + ")");
    }
    out.callback_url = url->get<std::string>();
  }
  if (const auto key = body.find("concurrency_key"); key != body.end()) {
    if (!key->is_string() || key->get<std::string>().empty() ||
        key->get<std::string>().size() > 255) {
      return refused("invalid_field", "concurrency_key must be a string of 1..255 bytes (got " +
                                          describe_json_value(*key) + ")");
    }
    out.concurrency_key = key->get<std::string>();
  }
  return out;
}

}  // namespace jobd::server
