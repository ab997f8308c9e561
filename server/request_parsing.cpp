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

// SAX events in, the first key seen twice in one object out; builds no document.
class duplicate_key_finder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::optional<std::string> duplicate;

  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (open_objects_.back().insert(k).second) return true;
    duplicate = k;
    return false;
  }
  bool end_object() override {
    open_objects_.pop_back();
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::unordered_set<std::string>> open_objects_;
};

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
  parsed_json out;
  try {
    out.value = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for numbers beyond a double.
    return {nullptr, std::string("the body is not valid JSON: ") + e.what()};
  }
  // The DOM keeps one of two equal keys silently, so a second, event-only pass looks for them.
  // (nlohmann's callback parser could do it in one pass, but it rescans the parent container at
  // every object end: quadratic in a body of many small objects.)
  duplicate_key_finder finder;
  json::sax_parse(text, &finder);
  if (finder.duplicate) {
    return {nullptr, "the body is not valid JSON: the key \"" + *finder.duplicate +
                         "\" appears twice in one object"};
  }
  return out;
}

}  // namespace jobd::server
