#pragma once

// A reference for the submission body reader, for tests and the job_json fuzz target.

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/json_describe.hpp"
#include "common/json_reader.hpp"
#include "server/api/submit_body.hpp"

namespace jobd::server {

// The payload a body carries, built as the job service builds it: null when it has none.
inline nlohmann::json payload_of(const submit_body& body) {
  if (body.payload_text.empty()) return nullptr;
  return parse_checked_json(body.payload_text, max_json_depth, "the payload").value;
}

// The API's rules for a body, written the slow and obvious way on nlohmann's parser, to check
// the one-pass reader against: one key twice or nesting past the bound is not JSON here either.
inline submit_body reference_reader(const std::string& text,
                                    std::chrono::milliseconds max_timeout) {
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
    if (key != "type" && key != "payload" && key != "priority" && key != "timeout_ms") {
      return refused("invalid_field",
                     "unknown field \"" + key + "\"; allowed: type, payload, priority, timeout_ms");
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
  if (const auto t = body.find("timeout_ms"); t != body.end()) {
    const auto max = max_timeout.count();
    const std::string rule = "timeout_ms must be an integer 1.." + std::to_string(max);
    if (!t->is_number_integer()) {
      return refused("invalid_field", rule + " (got " + describe_json_value(*t) + ")");
    }
    if (t->is_number_unsigned() ? (t->get<std::uint64_t>() < 1 ||
                                   t->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
                                : (t->get<std::int64_t>() < 1 || t->get<std::int64_t>() > max)) {
      return refused("invalid_field", rule + " (got " + t->dump() + ")");
    }
    out.timeout = std::chrono::milliseconds(t->get<std::int64_t>());
  }
  return out;
}

}  // namespace jobd::server
