#include "server/api/submit_body.hpp"

#include <cctype>

#include "common/json_describe.hpp"
#include "common/json_reader.hpp"
#include "common/rfc3339.hpp"

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

constexpr std::string_view submit_fields =
    "type, payload, priority, timeout_ms, max_attempts, retry_backoff_ms, run_at, delay_ms, "
    "callback_url, concurrency_key";

// How long a concurrency_key may be, in bytes.
constexpr std::size_t max_concurrency_key = 255;

bool starts_number(char c) {
  return c == '-' || (c >= '0' && c <= '9');
}

// A member that must hold an integer: as it was read, checked once the body is known to be JSON.
struct integer_member {
  bool given = false;
  std::optional<json_number> number;  // when it was a number
  // What it was instead, built only then: an empty optional costs nothing on every request.
  std::optional<nlohmann::json> other;

  bool read(json_reader& r) {
    given = true;
    if (!starts_number(r.peek())) return r.value(&other.emplace());
    json_number n;
    if (!r.number(n)) return false;
    number = n;
    return true;
  }

  // The value when it is an integer in min..max; else the refusal's message in `error`.
  std::optional<std::uint64_t> checked(std::string_view name, std::uint64_t min, std::uint64_t max,
                                       std::string& error) const {
    auto refuse = [&](const std::string& got) -> std::optional<std::uint64_t> {
      error = std::string(name) + " must be an integer " + std::to_string(min) + ".." +
              std::to_string(max) + " (got " + got + ")";
      return std::nullopt;
    };
    if (!number) return refuse(describe_json_value(*other));
    if (!number->integral()) return refuse(describe_json_value(number->floating_value));
    // Negative, or it would have been read as unsigned.
    if (number->type == json_number::kind::signed_integer) {
      return refuse(std::to_string(number->signed_value));
    }
    if (number->unsigned_value < min || number->unsigned_value > max) {
      return refuse(std::to_string(number->unsigned_value));
    }
    return number->unsigned_value;
  }
};

// What the members said, checked once the whole body is known to be JSON: a syntax error
// anywhere outranks a field's mistake, and the fields' mistakes are told in a fixed order.
struct members {
  std::optional<std::string> unknown;  // the first unknown key in byte order
  bool priority_given = false;
  bool priority_valid = true;
  bool type_valid = false;
  integer_member timeout;
  integer_member max_attempts;
  integer_member retry_backoff;
  integer_member delay;
  bool run_at_given = false;
  std::optional<std::string> run_at;           // when it was a string
  std::optional<nlohmann::json> run_at_other;  // what it was instead (built only then)
  bool callback_given = false;
  std::optional<nlohmann::json> callback_other;  // what it was instead (built only then)
  bool key_given = false;
  std::optional<nlohmann::json> key_other;  // what the concurrency_key was instead of a string
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
  if (key == "timeout_ms") return m.timeout.read(r);
  if (key == "payload") return r.value_text(out.payload_text);
  if (key == "max_attempts") return m.max_attempts.read(r);
  if (key == "retry_backoff_ms") return m.retry_backoff.read(r);
  if (key == "delay_ms") return m.delay.read(r);
  if (key == "run_at") {
    m.run_at_given = true;
    if (r.peek() != '"') return r.value(&m.run_at_other.emplace());
    std::string_view at;
    if (!r.string(at, scratch)) return false;
    m.run_at.emplace(at);
    return true;
  }
  if (key == "callback_url") {
    m.callback_given = true;
    if (r.peek() != '"') return r.value(&m.callback_other.emplace());
    std::string_view url;
    if (!r.string(url, scratch)) return false;
    out.callback_url.emplace(url);
    return true;
  }
  if (key == "concurrency_key") {
    m.key_given = true;
    if (r.peek() != '"') return r.value(&m.key_other.emplace());
    std::string_view k;
    if (!r.string(k, scratch)) return false;
    out.concurrency_key.emplace(k);
    return true;
  }
  if (!m.unknown || key < *m.unknown) m.unknown = std::string(key);
  return r.value(nullptr);
}

// The members' values into `out`, in the API's order of checks; or the first refusal, which
// then replaces all of `out` but its lane.
void check_members(const members& m, const submit_limits& limits, submit_body& out) {
  std::string error;
  auto refuse = [&out](std::string message) {
    out = refused(out, "invalid_field", std::move(message));
  };
  if (m.unknown) {
    return refuse("unknown field \"" + *m.unknown + "\"; allowed: " + std::string(submit_fields));
  }
  if (!m.priority_valid) return refuse("priority must be \"high\" or \"normal\"");
  if (!m.type_valid) return refuse("type is required: a string naming a job type");
  using std::chrono::milliseconds;
  auto unsigned_max = [](milliseconds ms) { return static_cast<std::uint64_t>(ms.count()); };
  if (m.timeout.given) {
    const auto t = m.timeout.checked("timeout_ms", 1, unsigned_max(limits.max_timeout), error);
    if (!t) return refuse(error);
    out.timeout = milliseconds(static_cast<std::int64_t>(*t));
  }
  if (m.max_attempts.given) {
    const auto n = m.max_attempts.checked("max_attempts", 1, limits.max_attempts, error);
    if (!n) return refuse(error);
    out.max_attempts = static_cast<std::uint32_t>(*n);
  }
  if (m.retry_backoff.given) {
    const auto b =
        m.retry_backoff.checked("retry_backoff_ms", 0, unsigned_max(limits.max_backoff), error);
    if (!b) return refuse(error);
    out.retry_backoff = milliseconds(static_cast<std::int64_t>(*b));
  }
  if (m.run_at_given && m.delay.given) {
    return refuse("run_at and delay_ms name the same thing: give one of them");
  }
  if (m.delay.given) {
    const auto d = m.delay.checked("delay_ms", 0, unsigned_max(limits.max_delay), error);
    if (!d) return refuse(error);
    out.delay = milliseconds(static_cast<std::int64_t>(*d));
  }
  if (m.run_at_given) {
    const std::string rule = R"(run_at must be an RFC 3339 time such as "2026-12-08T09:00:00Z")";
    if (!m.run_at) return refuse(rule + " (got " + describe_json_value(*m.run_at_other) + ")");
    out.run_at = parse_rfc3339(*m.run_at);
    if (!out.run_at) return refuse(rule + " (got " + describe_json_value(*m.run_at) + ")");
  }
  if (m.callback_given && !out.callback_url) {
    return refuse("callback_url must be a string, an http:// URL (got " +
                  describe_json_value(*m.callback_other) + ")");
  }
  if (m.key_given) {
    const auto& k = out.concurrency_key;
    if (!k || k->empty() || k->size() > max_concurrency_key) {
      return refuse("concurrency_key must be a string of 1.." +
                    std::to_string(max_concurrency_key) + " bytes (got " +
                    (k ? describe_json_value(*k) : describe_json_value(*m.key_other)) + ")");
    }
  }
}

}  // namespace

submit_body read_submit_body(std::string_view text, const submit_limits& limits) {
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

  check_members(m, limits, out);
  return out;
}

}  // namespace jobd::server
