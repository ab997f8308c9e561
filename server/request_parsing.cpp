#include "server/request_parsing.hpp"

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

using json = nlohmann::json;

// Builds the document from SAX events in one pass over the text, refusing what json::parse
// would take silently (one key twice in an object: it keeps one) or at a risk (nesting deep
// enough for the recursion of every later walk to overflow the stack).
class checked_builder final : public json::json_sax_t {
 public:
  checked_builder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {}

  std::string error;  // why the text was refused

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override { return put(std::move(v)); }
  bool binary(binary_t& v) override { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) override { return open(json::value_t::object); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(json::value_t::array); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    // try_emplace leaves `k` alone when the key is there already.
    auto [it, fresh] = open_.back()->get_ref<json::object_t&>().try_emplace(std::move(k));
    if (!fresh) {
      error = "the body is not valid JSON: the key \"" + k + "\" appears twice in one object";
      return false;
    }
    member_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // parse_error, and out_of_range for numbers beyond a double.
    error = std::string("the body is not valid JSON: ") + e.what();
    return false;
  }

 private:
  // Puts `v` where the text has it and returns where it is now. Pointers to the open containers
  // stay valid: only the innermost one grows, and none of its elements is open.
  json* place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      auto& elements = parent.get_ref<json::array_t&>();
      elements.push_back(std::move(v));
      return &elements.back();
    }
    *member_ = std::move(v);
    return member_;
  }

  template <typename V>
  bool put(V&& v) {
    place(json(std::forward<V>(v)));
    return true;
  }

  bool open(json::value_t type) {
    if (open_.size() >= max_depth_) {
      error = "the body nests deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    open_.push_back(place(json(type)));
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  const std::size_t max_depth_;
  std::vector<json*> open_;  // the containers begun and not yet ended, outermost first
  json* member_ = nullptr;   // the object member the next value goes to
};

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
  parsed_json out;
  checked_builder builder(out.value, max_depth);
  if (!json::sax_parse(text, &builder)) return {nullptr, std::move(builder.error)};
  return out;
}

}  // namespace jobd::server
