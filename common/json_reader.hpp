#pragma once

// Reading untrusted JSON text (a request body, an exec job's output, a config file): RFC 8259,
// strictly, in one pass. Strings must be valid UTF-8 (escapes and surrogate pairs included),
// numbers finite, nesting at most `max_depth` deep (every later walk over a document recurses),
// and no object may have one key twice (a parser that kept one of them would hide the other).
//
// A reader either builds what it reads into nlohmann::json or only checks it, which allocates
// almost nothing: a job submission's payload is checked when its body is read and built only
// once the job is accepted, so that a submission refused under overload never builds it.
//
//   json_reader r(text, "the body");
//   if (!r.value(&doc) || !r.at_end()) refuse(r.error());

#include <array>
#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/json_limits.hpp"

namespace jobd {

// A JSON number as it was written: an integer (when it fits 64 bits, signed if negative) or a
// double.
struct json_number {
  enum class kind : std::uint8_t { signed_integer, unsigned_integer, floating };
  kind type = kind::unsigned_integer;
  std::int64_t signed_value = 0;
  std::uint64_t unsigned_value = 0;
  double floating_value = 0.0;
  [[nodiscard]] bool integral() const noexcept { return type != kind::floating; }
};

namespace detail {

// Bytes a string holds as they are, with nothing to check: printable ASCII (and DEL) but for the
// quote and the backslash. One table lookup a byte: every request's body goes through here.
inline constexpr std::array<bool, 256> plain_string_bytes = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c <= 0x7f; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

// The keys of one object read so far, to find one given twice in linear time: the first few
// compared one by one, in place; past them, a hash set.
class json_key_set {
 public:
  // False when `key` is there already. `key` must outlive the set unless `owned`.
  bool insert(std::string_view key, bool owned) {
    for (std::size_t i = 0; i < count_ && i < few; ++i) {
      if (first_[i] == key) return false;
    }
    if (count_ < few && !owned) {
      first_[count_++] = key;
      return true;
    }
    return insert_slowly(key, owned);
  }

 private:
  bool insert_slowly(std::string_view key, bool owned);

  static constexpr std::size_t few = 16;
  // Only the first count_ are set: most objects have a few keys, and this is made per object.
  std::array<std::string_view, few> first_;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::size_t count_ = 0;
  std::unique_ptr<std::unordered_set<std::string_view>> rest_;  // made past `few` keys
  std::forward_list<std::string> copies_;  // the keys that were decoded: their text is here
};

}  // namespace detail

class json_reader {
 public:
  // `subject` names the text in errors ("the body", "stdout"). With `comments`, // and /* */
  // comments count as white space (a config file's). `text` must outlive the reader.
  explicit json_reader(std::string_view text, std::string_view subject = "the text",
                       std::size_t max_depth = max_json_depth, bool comments = false);

  // One whole value: built into *out, or only checked when `out` is null.
  bool value(nlohmann::json* out);

  // The first character of the next value, white space skipped; '\0' at the end of the text.
  [[nodiscard]] char peek();

  // A string (peek() is '"'), decoded: a view of the text when it has no escapes, else of
  // `scratch`. Valid while both live.
  bool string(std::string_view& out, std::string& scratch);

  // A number (peek() is '-' or a digit).
  bool number(json_number& out);

  // The members of an object, one at a time: begin_object() takes its '{' and next_member()
  // gives each key (decoded, valid until the next call), leaving the reader at the member's
  // value, which the caller reads before it asks for the next member. next_member() returns
  // false after the closing '}' and on an error, which failed() tells apart. A key given twice
  // is an error. One object at a time is iterated this way; nested ones are read with value().
  bool begin_object();
  bool next_member(std::string_view& key);

  // One whole value, only checked; `out` is its text as written.
  bool value_text(std::string_view& out);

  // Nothing but white space (and comments, when allowed) is left.
  bool at_end();

  [[nodiscard]] bool failed() const noexcept { return !error_.empty(); }
  // What is wrong, naming the subject, and where: "the body is not valid JSON: ... at line 1,
  // column 9".
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  // White space between tokens is rare in machine-written JSON: one test, then the loop.
  void skip_space() {
    if (p_ != end_ && static_cast<unsigned char>(*p_) > ' ' && *p_ != '/') return;
    skip_space_slowly();
  }
  void skip_space_slowly();
  // An object or array: its brackets, and the elements read_element() reads between commas.
  template <class ReadElement>
  bool container(char close, std::string_view after_element, ReadElement read_element);
  bool object(nlohmann::json* out);
  bool array(nlohmann::json* out);
  bool literal(std::string_view word);
  bool number_value(nlohmann::json* out);
  // A string's contents after its opening quote: *plain views them when they need no
  // decoding, else they are decoded into *decoded (unless it is null: only checked).
  bool string_rest(std::string* decoded, std::string_view* plain) {
    // In locals: a char read may alias the members, which would be read again each byte.
    const char* const start = p_;
    const char* p = start;
    const char* const end = end_;
    while (p != end && detail::plain_string_bytes[static_cast<unsigned char>(*p)]) ++p;
    p_ = p;
    if (p != end && *p == '"') {
      if (plain != nullptr) *plain = std::string_view(start, static_cast<std::size_t>(p - start));
      p_ = p + 1;
      return true;
    }
    return string_rest_slowly(start, decoded, plain);
  }
  bool string_rest_slowly(const char* start, std::string* decoded, std::string_view* plain);
  bool escape(std::string* decoded);
  bool enter();
  bool member_key(std::string_view& key, std::string& scratch);
  bool fail(std::string_view what);
  bool fail_unexpected(std::string_view expected);
  bool fail_duplicate(std::string_view key);

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const std::string_view subject_;
  const std::size_t max_depth_;
  const bool comments_;
  std::size_t depth_ = 0;
  std::string error_;
  // For next_member(): the keys of the object it iterates, and a decoded key's text.
  std::string member_scratch_;
  bool first_member_ = true;
  detail::json_key_set members_;
};

// The calls every member of every body makes, inline.

inline char json_reader::peek() {
  skip_space();
  return p_ == end_ || failed() ? '\0' : *p_;
}

inline bool json_reader::member_key(std::string_view& key, std::string& scratch) {
  if (peek() != '"') return failed() ? false : fail_unexpected("a key in double quotes");
  ++p_;
  std::string_view plain;
  if (!string_rest(&scratch, &plain)) return false;
  key = plain.data() != nullptr ? plain : std::string_view(scratch);
  if (peek() != ':') return failed() ? false : fail_unexpected("':' after a key");
  ++p_;
  return true;
}

inline bool json_reader::next_member(std::string_view& key) {
  if (failed()) return false;
  const char c = peek();
  if (c == '}') {
    ++p_;
    --depth_;
    return false;
  }
  // After the first member, a ',' before each.
  if (!first_member_) {
    if (c != ',') return failed() ? false : fail_unexpected("',' or '}' after a member");
    ++p_;
  }
  first_member_ = false;
  if (!member_key(key, member_scratch_)) return false;
  if (!members_.insert(key, key.data() == member_scratch_.data())) return fail_duplicate(key);
  return true;
}

inline bool json_reader::string(std::string_view& out, std::string& scratch) {
  if (peek() != '"') return failed() ? false : fail_unexpected("a string");
  ++p_;
  std::string_view plain;
  if (!string_rest(&scratch, &plain)) return false;
  out = plain.data() != nullptr ? plain : std::string_view(scratch);
  return true;
}

struct checked_json {
  nlohmann::json value;
  std::string error;  // what is wrong, naming the text as `subject`; empty when nothing is
};

// A whole text as one JSON value, nothing after it.
checked_json parse_checked_json(std::string_view text, std::size_t max_depth,
                                std::string_view subject, bool comments = false);

}  // namespace jobd
