#pragma once

// For "did you mean" in the errors about unknown names (flags, settings, variables, fields).

#include <span>
#include <string_view>

namespace jobd::config {

// The name in `known` closest to `given` when it is near enough to be a slip (a letter missing,
// extra, wrong or two swapped, about one per four letters) or when it is the start of one up to
// an underscore ("timeout" for "timeout_ms"); else empty. Ties go to the first.
std::string_view nearest_name(std::string_view given, std::span<const std::string_view> known);

}  // namespace jobd::config
