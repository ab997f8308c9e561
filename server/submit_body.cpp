#include "server/submit_body.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "common/checked_json.hpp"
#include "common/json_limits.hpp"
#include "server/request_parsing.hpp"

namespace jobd::server {
namespace {

using json = nlohmann::json;

submit_body refused(submit_body b, std::string code, std::string message) {
  b.error_code = std::move(code);
  b.error_message = std::move(message);
  return b;
}

std::string timeout_rule(std::chrono::milliseconds max) {
  return "timeout_ms must be an integer 1.." + std::to_string(max.count());
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Reads the plain shape of a body in one pass, checking the payload without building it (payload()
// builds it later, for a job that is accepted). It takes only bodies the full reader takes, with
// the same fields, and gives up on anything else: an escape or a byte outside printable ASCII in a
// string, a number that is not a plain integer, a key twice, an unknown or missing field, a value
// out of range, and any syntax error.
class plain_reader {
 public:
  explicit plain_reader(std::string_view text) : p_(text.data()), end_(p_ + text.size()) {}

  bool read(submit_body& out, std::chrono::milliseconds max_timeout) {
    if (!take('{')) return false;
    unsigned seen = 0;
    for (;;) {
      const auto key = member_key();
      if (!key) return false;
      unsigned field = 0;
      if (*key == "type") {
        field = 1;
        const auto s = string_value();
        if (!s) return false;
        out.type.assign(*s);
      } else if (*key == "priority") {
        field = 2;
        const auto s = string_value();
        if (s == "high") {
          out.priority = pool::lane::high;
        } else if (s != "normal") {
          return false;
        }
      } else if (*key == "timeout_ms") {
        field = 4;
        const auto ms = integer();
        if (!ms || *ms < 1 || *ms > max_timeout.count()) return false;
        out.timeout = std::chrono::milliseconds(*ms);
      } else if (*key == "payload") {
        field = 8;
        const char* begin = p_;
        if (!value(nullptr, 1)) return false;
        out.payload_text = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
      } else {
        return false;
      }
      if ((seen & field) != 0) return false;
      seen |= field;
      if (take('}')) break;
      if (!take(',')) return false;
    }
    skip_space();
    return p_ == end_ && (seen & 1) != 0;
  }

  // Builds the payload whose text read() checked.
  bool payload(json& out) { return value(&out, 1); }

 private:
  void skip_space() {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }

  bool take(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // An object member's plain key and the colon after it, up to its value.
  std::optional<std::string_view> member_key() {
    if (!take('"')) return std::nullopt;
    const auto key = plain_string();
    if (!key || !take(':')) return std::nullopt;
    skip_space();
    return key;
  }

  // A plain string value, quotes and all.
  std::optional<std::string_view> string_value() {
    return take('"') ? plain_string() : std::nullopt;
  }

  // The rest of a string whose opening quote was taken, when it is printable ASCII only.
  std::optional<std::string_view> plain_string() {
    const char* begin = p_;
    for (; p_ != end_; ++p_) {
      const char c = *p_;
      if (c == '"') return std::string_view(begin, static_cast<std::size_t>(p_++ - begin));
      if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
    }
    return std::nullopt;
  }

  // An integer without sign, fraction or exponent, small enough never to overflow: the full
  // reader gives the same value and type for it.
  std::optional<std::int64_t> integer() {
    const char* begin = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    const auto digits = p_ - begin;
    if (digits == 0 || digits > 18 || (*begin == '0' && digits > 1)) return std::nullopt;
    std::int64_t v = 0;
    std::from_chars(begin, p_, v);
    return v;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // A JSON value made of plain strings, plain integers, literals, and objects and arrays of
  // those, `open` containers deep in the body already. Built into `out`, or only checked when it
  // is null. A key twice in an object is not plain.
  bool value(json* out, std::size_t open) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        const auto s = string_value();
        if (!s) return false;
        if (out) *out = std::string(*s);
        return true;
      }
      case 'n':
        if (out) *out = nullptr;
        return literal("null");
      case 't':
        if (out) *out = true;
        return literal("true");
      case 'f':
        if (out) *out = false;
        return literal("false");
      case '{':
        return ++open <= max_json_depth && object(out, open);
      case '[':
        return ++open <= max_json_depth && array(out, open);
      default: {
        const auto n = integer();
        if (!n) return false;
        if (out) *out = static_cast<std::uint64_t>(*n);  // json::parse reads "5" as unsigned
        return true;
      }
    }
  }

  // An object, built into `out` or only checked. Plain keys are equal exactly when their text
  // is, so the keys seen are kept as text to find one given twice; an object with more than a
  // handful is left to the full reader rather than compared key by key.
  bool object(json* out, std::size_t open) {
    ++p_;
    if (out) *out = json::object();
    if (take('}')) return true;
    std::array<std::string_view, 16> keys;
    std::size_t seen = 0;
    do {
      const auto key = member_key();
      if (!key || seen == keys.size()) return false;
      const auto keys_end = keys.begin() + static_cast<std::ptrdiff_t>(seen);
      if (std::find(keys.begin(), keys_end, *key) != keys_end) return false;
      keys[seen++] = *key;
      json* member =
          out ? &out->get_ref<json::object_t&>().try_emplace(std::string(*key)).first->second
              : nullptr;
      if (!value(member, open)) return false;
    } while (take(','));
    return take('}');
  }

  bool array(json* out, std::size_t open) {
    ++p_;
    if (out) *out = json::array();
    if (take(']')) return true;
    do {
      skip_space();
      json* element = out ? &out->get_ref<json::array_t&>().emplace_back() : nullptr;
      if (!value(element, open)) return false;
    } while (take(','));
    return take(']');
  }

  const char* p_;
  const char* end_;
};

}  // namespace

submit_body read_submit_body(std::string_view text, std::chrono::milliseconds max_timeout) {
  submit_body body;
  if (plain_reader(text).read(body, max_timeout)) return body;
  return read_submit_body_fully(text, max_timeout);
}

json take_payload(submit_body& body) {
  if (body.payload_text.empty()) return std::move(body.payload);
  json out;
  // Cannot fail: the same reader checked this text when it read the body.
  plain_reader(body.payload_text).payload(out);
  return out;
}

submit_body read_submit_body_fully(std::string_view text, std::chrono::milliseconds max_timeout) {
  submit_body out;
  checked_json parsed = parse_checked_json(text, max_json_depth, "the body");
  if (!parsed.error.empty()) return refused(std::move(out), "invalid_json", parsed.error);
  json& body = parsed.value;
  if (!body.is_object()) {
    return refused(std::move(out), "invalid_field", "the body must be a JSON object");
  }
  // The priority before any refusal: a refused submission is counted under it when readable.
  const auto priority = body.find("priority");
  if (priority != body.end() && *priority == "high") out.priority = pool::lane::high;
  for (const auto& [key, value] : body.items()) {
    if (key != "type" && key != "payload" && key != "priority" && key != "timeout_ms") {
      return refused(std::move(out), "invalid_field",
                     "unknown field \"" + key + "\"; allowed: type, payload, priority, timeout_ms");
    }
  }
  if (priority != body.end() && *priority != "high" && *priority != "normal") {
    return refused(std::move(out), "invalid_field", "priority must be \"high\" or \"normal\"");
  }
  const auto type = body.find("type");
  if (type == body.end() || !type->is_string()) {
    return refused(std::move(out), "invalid_field", "type is required: a string naming a job type");
  }
  out.type = type->get<std::string>();
  if (const auto t = body.find("timeout_ms"); t != body.end()) {
    const auto max = max_timeout.count();
    if (!t->is_number_integer()) {
      return refused(std::move(out), "invalid_field", timeout_rule(max_timeout));
    }
    if (t->is_number_unsigned() ? (t->get<std::uint64_t>() < 1 ||
                                   t->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
                                : (t->get<std::int64_t>() < 1 || t->get<std::int64_t>() > max)) {
      return refused(std::move(out), "invalid_field",
                     timeout_rule(max_timeout) + " (got " + t->dump() + ")");
    }
    out.timeout = std::chrono::milliseconds(t->get<std::int64_t>());
  }
  if (const auto p = body.find("payload"); p != body.end()) out.payload = std::move(*p);
  return out;
}

}  // namespace jobd::server
