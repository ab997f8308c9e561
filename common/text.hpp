#pragma once

// Text from outside (a client's body or target, a job's output) made safe to show: as UTF-8,
// on one line of a log, in a URL-like form, as base64.

#include <cstddef>
#include <string>
#include <string_view>

namespace jobd {

// The UTF-8 sequence at `p` (p < end): its length and whether it is well-formed. One that is not
// has the length of its maximal ill-formed subpart (at least 1): the bytes that could still have
// begun a character, which Unicode recommends replacing by one U+FFFD together. An ASCII byte is a
// well-formed sequence of 1.
struct utf8_sequence {
  std::size_t length = 1;
  bool valid = true;
};
utf8_sequence utf8_at(const char* p, const char* end) noexcept;

// The bytes as UTF-8, each maximal ill-formed subpart replaced by U+FFFD.
std::string valid_utf8(std::string_view bytes);

// `text` with its control characters written as \xNN, for a client's text in a log line: it
// cannot start a line of its own or move a terminal's cursor.
std::string printable(std::string_view text);

// `text` with every byte outside printable ASCII (space included) percent-encoded, so that a
// request target in a log line is ASCII and carries no terminal escapes. Text that needs none is
// copied as it is.
std::string percent_encode_unprintable(std::string_view text);

// Standard base64 (RFC 4648) with padding.
std::string base64(std::string_view bytes);

}  // namespace jobd
