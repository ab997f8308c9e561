#include "jobs/callback_url.hpp"

#include <algorithm>
#include <charconv>

namespace jobd::jobs {

std::optional<callback_url> parse_callback_url(std::string_view url, std::string& error) {
  auto fail = [&error](std::string why) -> std::optional<callback_url> {
    error = std::move(why);
    return std::nullopt;
  };
  callback_url out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return fail("callback_url must be an http:// or https:// URL");
  }
  if (!std::all_of(url.begin(), url.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return fail("callback_url must be printable ASCII without spaces");
  }
  const auto authority_end = std::min(url.find_first_of("/?#"), url.size());
  const std::string_view authority = url.substr(0, authority_end);
  std::string_view rest = url.substr(authority_end);
  rest = rest.substr(0, rest.find('#'));
  if (authority.find('@') != std::string_view::npos) {
    return fail("callback_url must not carry credentials (user@host)");
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("callback_url has an unclosed [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return fail("callback_url has text after its [IPv6] host");
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return fail("callback_url names no host");
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535) {
      return fail("callback_url has a port that is not 1..65535");
    }
    out.port = std::string(port);
  }
  // Pushed and appended: g++ 12 at -O3 reports a false -Wrestrict on "/" + rest, and on = "/".
  if (rest.empty() || rest.front() == '?') out.target.push_back('/');
  out.target.append(rest);
  return out;
}

}  // namespace jobd::jobs
