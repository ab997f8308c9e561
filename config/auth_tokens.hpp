#pragma once

// The bearer tokens clients must present when auth_token_file is set.

#include <string>
#include <vector>

namespace jobd::config {

// Reads one token a line; blank lines and lines starting with '#' are skipped, and surrounding
// whitespace (a trailing \r too) is not part of a token. A token is 16..4096 characters of
// RFC 6750's token alphabet (A-Z a-z 0-9 - . _ ~ + / and trailing =). Throws config_error,
// naming the file and the line but never a token's text, when the file cannot be read, a line
// is not a token, or there is no token at all.
std::vector<std::string> read_auth_tokens(const std::string& path);

// The permission bits of the file at `path` (0 when it cannot be read), and whom beyond its
// owner they let in, in words: "group and others (mode 0644)"; empty for nobody.
[[nodiscard]] unsigned permission_bits(const std::string& path);
[[nodiscard]] std::string shared_with(unsigned mode);

}  // namespace jobd::config
