#pragma once

// Writing JSON: the one way jobd writes it, for answers, job objects, log lines, an exec job's
// input and --check-config. Everything appends to a std::string; no document is built first (the
// answers to every request go through here).
//
//   std::string out;
//   json_writer w(out);
//   w.begin_object().key("status").value("ok").key("n").value(3).end_object();  //
//   {"status":"ok","n":3}

#include <chrono>
#include <concepts>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace jobd {

// A JSON string, quoted. `"`, `\` and control characters are escaped (\b \t \n \f \r, the others
// as \u00xx); every maximal ill-formed UTF-8 subpart becomes U+FFFD, so that whatever a client or
// a job sent is written as valid JSON. The one JSON string escaper.
void append_json_string(std::string& out, std::string_view s);

// A string known to need no escaping (an id, a status name), quoted.
void append_json_plain(std::string& out, std::string_view plain);

// An integer in decimal: a JSON number, or part of a message.
void append_decimal(std::string& out, std::uint64_t n);
void append_decimal(std::string& out, std::int64_t n);

// A double as the shortest text that reads back as it, keeping a ".0" on whole numbers (as
// nlohmann::json writes it, so that a reader may tell them from integers); null when not finite.
void append_json_number(std::string& out, double v);

// A duration as a JSON number of milliseconds or seconds, rounded to the microsecond: "0.017",
// "12.5". A whole number keeps a ".0" (zero is "0.0"), so a duration always reads as a fraction;
// negative durations are written as 0.0. Beyond the microsecond a job's timing is noise.
void append_json_millis(std::string& out, std::chrono::nanoseconds d);
void append_json_seconds(std::string& out, std::chrono::nanoseconds d);

// A value, compact: what nlohmann's dump() writes with invalid UTF-8 replaced.
void append_json_value(std::string& out, const nlohmann::json& value);
std::string json_text(const nlohmann::json& value);
// For people (--check-config): members on lines of their own, indented by `indent` spaces.
// Binary values (never read from text) are written compactly there too.
std::string json_text_indented(const nlohmann::json& value, int indent);

// Writes times as "2026-11-26T17:30:00.123Z", quoted. It keeps the text of the last second it
// wrote, as the times in the job objects written in one second share all but their
// milliseconds. Not thread-safe: its owner guards it.
class json_time_writer {
 public:
  void append(std::string& out, std::chrono::system_clock::time_point t);

 private:
  std::chrono::sys_seconds second_ = std::chrono::sys_seconds::min();
  char prefix_[21] = {};  // "\"2026-11-26T17:30:00." for second_
};

// Objects and arrays member by member, the commas put in for the caller. Keys are literals the
// caller knows need no escaping; values are escaped as they need. Nesting is bounded by 64.
class json_writer {
 public:
  explicit json_writer(std::string& out) noexcept : out_(out) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  // The next member's key: the member's value follows.
  json_writer& key(std::string_view plain_key);
  // A key that may need escaping: one a client or a job chose.
  json_writer& escaped_key(std::string_view key);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  json_writer& value(bool b);
  template <std::integral Integer>
  requires(!std::same_as<Integer, bool>) json_writer& value(Integer n) {
    element();
    if constexpr (std::is_signed_v<Integer>) {
      append_decimal(out_, static_cast<std::int64_t>(n));
    } else {
      append_decimal(out_, static_cast<std::uint64_t>(n));
    }
    return *this;
  }
  json_writer& value(double d);
  json_writer& value(const nlohmann::json& v);
  json_writer& null();
  // A string known to need no escaping (an id, an enum's name).
  json_writer& plain(std::string_view s);
  json_writer& millis(std::chrono::nanoseconds d);
  json_writer& seconds(std::chrono::nanoseconds d);
  json_writer& time(json_time_writer& times, std::chrono::system_clock::time_point t);
  // JSON text written as it is: it must be one valid JSON value.
  json_writer& raw(std::string_view json);
  // A value that `write` appends to the text (one of the fast paths, a job object say).
  template <class Write>
  json_writer& value_by(Write write) {
    element();
    write(out_);
    return *this;
  }

  [[nodiscard]] std::string& out() noexcept { return out_; }

 private:
  // A comma before every element of a container but its first; none after a key.
  void element();
  void open(char bracket);
  void close(char bracket);

  std::string& out_;
  std::uint64_t has_elements_ = 0;  // bit d: the container open at depth d has an element
  unsigned depth_ = 0;
  bool after_key_ = false;
};

}  // namespace jobd
