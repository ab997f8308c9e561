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

}  // namespace jobd::config
