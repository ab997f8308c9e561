#include "server/api/submit_body.hpp"

#include <cctype>

#include "common/json_describe.hpp"
#include "common/json_reader.hpp"

namespace jobd::server {
namespace {

// A refusal keeps the lane read so far, and nothing else.
submit_body refused(const submit_body& read, std::string code, std::string message) {
  submit_body b;
  b.priority = read.priority;
  b.error_code = std::move(code);
  b.error_message = std::move(message);
  return b;
}

std::string timeout_rule(std::chrono::milliseconds max) {
  return "timeout_ms must be an integer 1.." + std::to_string(max.count());
}

// For a body that is not an object: what one looks like, and what this one seems to be when it
// is the usual slip (form fields, as curl's -d sends them).
std::string object_rule(std::string_view text) {
  std::string rule =
      R"(the body must be a JSON object, such as {"type":"sleep","payload":{"ms":100}})";
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && std::isalpha(static_cast<unsigned char>(text[first])) &&
      text.find('=') != std::string_view::npos) {
    rule += ", and this one looks form-encoded (name=value&...)";
  }
  return rule;
}

bool starts_number(char c) {
  return c == '-' || (c >= '0' && c <= '9');
}

// What the members said, checked once the whole body is known to be JSON: a syntax error
// anywhere outranks a field's mistake, and the fields' mistakes are told in a fixed order.
struct members {
  std::optional<std::string> unknown;  // the first unknown key in byte order
  bool priority_given = false;
  bool priority_valid = true;
  bool type_valid = false;
  bool timeout_given = false;
  std::optional<json_number> timeout;  // when it was a number
  nlohmann::json timeout_not_number;   // what it was instead (built only for the error)
};

// Reads the value of one known member, or of an unknown one; false on a syntax error.
bool read_member(json_reader& r, std::string_view key, submit_body& out, members& m,
                 std::string& scratch) {
  if (key == "type") {
    if (r.peek() != '"') return r.value(nullptr);
    std::string_view type;
    if (!r.string(type, scratch)) return false;
    out.type.assign(type);
    m.type_valid = true;
    return true;
  }
  if (key == "priority") {
    m.priority_given = true;
    m.priority_valid = false;
    if (r.peek() != '"') return r.value(nullptr);
    std::string_view priority;
    if (!r.string(priority, scratch)) return false;
    // Known before any refusal: a refused submission is counted under it.
    if (priority == "high") out.priority = pool::lane::high;
    m.priority_valid = priority == "high" || priority == "normal";
    return true;
  }
  if (key == "timeout_ms") {
    m.timeout_given = true;
    if (!starts_number(r.peek())) return r.value(&m.timeout_not_number);
    json_number n;
    if (!r.number(n)) return false;
    m.timeout = n;
    return true;
  }
  if (key == "payload") {
    return r.value_text(out.payload_text);
  }
  if (!m.unknown || key < *m.unknown) m.unknown = std::string(key);
  return r.value(nullptr);
}

}  // namespace

submit_body read_submit_body(std::string_view text, std::chrono::milliseconds max_timeout) {
  json_reader r(text, "the body");
  auto not_json = [&r] { return refused(submit_body{}, "invalid_json", r.error()); };
  if (r.peek() != '{') {
    if (!r.value(nullptr) || !r.at_end()) {
      return refused(submit_body{}, "invalid_json", r.error() + "; " + object_rule(text));
    }
    return refused(submit_body{}, "invalid_field", object_rule(text));
  }
  submit_body out;
  members m;
  std::string scratch;
  std::string_view key;
  r.begin_object();
  while (r.next_member(key)) {
    if (!read_member(r, key, out, m, scratch)) break;
  }
  if (r.failed() || !r.at_end()) return not_json();

  if (m.unknown) {
    return refused(
        out, "invalid_field",
        "unknown field \"" + *m.unknown + "\"; allowed: type, payload, priority, timeout_ms");
  }
  if (!m.priority_valid) {
    return refused(out, "invalid_field", "priority must be \"high\" or \"normal\"");
  }
  if (!m.type_valid) {
    return refused(out, "invalid_field", "type is required: a string naming a job type");
  }
  if (m.timeout_given) {
    if (!m.timeout) {
      return refused(
          out, "invalid_field",
          timeout_rule(max_timeout) + " (got " + describe_json_value(m.timeout_not_number) + ")");
    }
    if (!m.timeout->integral()) {
      return refused(out, "invalid_field",
                     timeout_rule(max_timeout) + " (got " +
                         describe_json_value(m.timeout->floating_value) + ")");
    }
    const auto max = static_cast<std::uint64_t>(max_timeout.count());
    const json_number& t = *m.timeout;
    if (t.type == json_number::kind::signed_integer) {
      // Negative, or it would have been read as unsigned.
      return refused(out, "invalid_field",
                     timeout_rule(max_timeout) + " (got " + std::to_string(t.signed_value) + ")");
    }
    if (t.unsigned_value < 1 || t.unsigned_value > max) {
      return refused(out, "invalid_field",
                     timeout_rule(max_timeout) + " (got " + std::to_string(t.unsigned_value) + ")");
    }
    out.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(t.unsigned_value));
  }
  return out;
}

}  // namespace jobd::server
