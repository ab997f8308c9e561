#include "common/checked_json.hpp"

#include <string>
#include <vector>

namespace jobd {
namespace {

using json = nlohmann::json;

// Builds the document from SAX events in one pass over the text, refusing what json::parse
// would take silently (one key twice in an object: it keeps one) or at a risk (nesting deep
// enough for the recursion of every later walk to overflow the stack).
class checked_builder final : public json::json_sax_t {
 public:
  checked_builder(json& root, std::size_t max_depth, std::string_view subject)
      : root_(root), max_depth_(max_depth), subject_(subject) {}

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
      error = std::string(subject_) + " is not valid JSON: the key \"" + k +
              "\" appears twice in one object";
      return false;
    }
    member_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // parse_error, and out_of_range for numbers beyond a double.
    error = std::string(subject_) + " is not valid JSON: " + e.what();
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
      error =
          std::string(subject_) + " nests deeper than " + std::to_string(max_depth_) + " levels";
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
  const std::string_view subject_;
  std::vector<json*> open_;  // the containers begun and not yet ended, outermost first
  json* member_ = nullptr;   // the object member the next value goes to
};

}  // namespace

checked_json parse_checked_json(std::string_view text, std::size_t max_depth,
                                std::string_view subject, bool comments) {
  checked_json out;
  checked_builder builder(out.value, max_depth, subject);
  if (!json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true, comments)) {
    return {nullptr, std::move(builder.error)};
  }
  return out;
}

}  // namespace jobd
