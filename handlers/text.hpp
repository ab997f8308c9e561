#pragma once

// Turning a child's bytes into JSON strings.

#include <string>
#include <string_view>

namespace jobd::handlers {

// The bytes as UTF-8, each byte of an invalid sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view bytes);

// Standard base64 (RFC 4648) with padding.
std::string base64(std::string_view bytes);

}  // namespace jobd::handlers
