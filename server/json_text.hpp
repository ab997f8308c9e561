#pragma once

// Appending JSON values to a string, for the answers sent on every request (the job object, the
// error object): written straight out, without building a document first.

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace jobd::server {

// A JSON string. Control characters are escaped; bytes that are not UTF-8 become U+FFFD, as
// everything the server writes may quote what a client or a job sent.
void append_json_string(std::string& out, std::string_view s);

// A duration as a JSON number of milliseconds, exact to the nanosecond: "0.001463", "12.5". A
// whole number keeps a ".0", as a reader may tell integers from fractions by it. Negative
// durations are written as 0.
void append_json_millis(std::string& out, std::chrono::nanoseconds d);

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

// A JSON value as text: what nlohmann's dump() writes (compact, invalid UTF-8 replaced), without
// setting up its serialiser for every value (this is on every job object with a result).
void append_json_value(std::string& out, const nlohmann::json& value);

// An integer in decimal: a JSON number, or part of a message.
void append_decimal(std::string& out, std::uint64_t n);
void append_decimal(std::string& out, std::int64_t n);

// A string known to need no escaping (an id, a status name), quoted.
void append_json_plain(std::string& out, std::string_view plain);

}  // namespace jobd::server
