#include "server/http/request_parsing.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace jobd::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What one pass over a query's key or value finds: whether every '%' is followed by two hex
// digits, and whether there is anything to decode at all (most have nothing).
struct escapes {
  bool valid = true;
  bool any = false;
};
escapes scan_escapes(std::string_view s) {
  escapes e;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      e.any = true;
    } else if (s[i] == '%') {
      e.any = true;
      if (i + 2 >= s.size() || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
        e.valid = false;
        return e;
      }
      i += 2;
    }
  }
  return e;
}

// `s` with its escapes decoded; they are valid.
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

query_param find_query_param(std::string_view query, std::string_view key) {
  query_param found;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string_view k = part.substr(0, eq);
    const std::string_view v = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    const escapes in_key = scan_escapes(k);
    const escapes in_value = scan_escapes(v);
    if (!in_key.valid || !in_value.valid) return {.malformed = true};
    if (!found.value && (in_key.any ? decode(k) == key : k == key)) {
      found.value = in_value.any ? decode(v) : std::string(v);
    }
  }
  return found;
}

std::optional<std::string> unknown_query_param(std::string_view query,
                                               std::initializer_list<std::string_view> known) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::string_view raw = part.substr(0, part.find('='));
    // The usual case, a known name as it is, is decided without decoding anything.
    if (std::find(known.begin(), known.end(), raw) != known.end()) continue;
    const escapes in_key = scan_escapes(raw);
    std::string key = in_key.valid && in_key.any ? decode(raw) : std::string(raw);
    if (std::find(known.begin(), known.end(), key) == known.end()) return key;
  }
  return std::nullopt;
}

std::string unknown_param_refusal(const std::string& name,
                                  std::initializer_list<std::string_view> known) {
  // A name is at most what the header limit lets through; a message quotes its start.
  constexpr std::size_t shown = 64;
  std::string message = "unknown query parameter \"" + name.substr(0, shown) +
                        (name.size() > shown ? "...\"" : "\"") + "; this route takes ";
  const char* sep = "";
  for (const std::string_view k : known) {
    message.append(sep).append(k);
    sep = ", ";
  }
  return message;
}

std::optional<wait_spec> parse_wait(const std::optional<std::string>& value,
                                    std::chrono::milliseconds max) {
  if (!value || *value == "false") return wait_spec{};
  if (*value == "true" || value->empty()) return wait_spec{.wanted = true};
  double seconds = 0;
  const char* begin = value->data();
  const char* end = begin + value->size();
  const auto [ptr, ec] = std::from_chars(begin, end, seconds);
  if (ec != std::errc{} || ptr != end || !std::isfinite(seconds) || seconds <= 0 ||
      seconds * 1000.0 > static_cast<double>(max.count())) {
    return std::nullopt;
  }
  const auto ms = static_cast<std::int64_t>(std::ceil(seconds * 1000.0));
  return wait_spec{.wanted = true, .limit = std::chrono::milliseconds(ms)};
}
}  // namespace jobd::server
