#pragma once

// A completion callback's address: http[s]://host[:port][/path][?query], the form jobd posts to.
// Parsed at submission, so that a job never carries an address it cannot use.

#include <optional>
#include <string>
#include <string_view>

namespace jobd::jobs {

struct callback_url {
  bool tls = false;    // https: the receiver's certificate and name are checked
  std::string host;    // a name, an IPv4 address, or an IPv6 one without its brackets
  std::string port;    // "80" (or "443" for https) when the URL names none
  std::string target;  // path and query, "/" at least
};

// The parts of `url`, or why it is not one jobd posts to (in `error`).
std::optional<callback_url> parse_callback_url(std::string_view url, std::string& error);

}  // namespace jobd::jobs
