#include "server/request_parsing.hpp"

#include <charconv>
#include <cmath>
#include <unordered_set>

namespace jobd::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<query_params> parse_query(std::string_view query) {
  query_params out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto key = decode(part.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::optional<std::string> param(const query_params& q, std::string_view key) {
  for (const auto& [k, v] : q) {
    if (k == key) return v;
  }
  return std::nullopt;
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

parsed_json parse_json_body(std::string_view text, std::size_t max_depth) {
  using json = nlohmann::json;
  if (nests_deeper_than(text, max_depth)) {
    return {nullptr, "the body nests deeper than " + std::to_string(max_depth) + " levels"};
  }
  struct duplicate_key {
    std::string key;
  };
  std::vector<std::unordered_set<std::string>> open_objects;
  auto check_keys = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second) {
          throw duplicate_key{parsed.get<std::string>()};
        }
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return {json::parse(text, check_keys), ""};
  } catch (const duplicate_key& d) {
    return {nullptr, "the body is not valid JSON: the key \"" + d.key + "\" appears twice"};
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers beyond a double.
    return {nullptr, std::string("the body is not valid JSON: ") + e.what()};
  }
}

}  // namespace jobd::server
