#pragma once

// Times as clients write them (RFC 3339): "2026-12-08T09:00:00Z", "2026-12-08T09:00:00.250Z",
// "2026-12-08T10:00:00+01:00". Fractions beyond the nanosecond are cut.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace jobd {

// None when `text` is not such a time, or names a date or time that does not exist
// (2026-02-30, 25:00, a second past 59: leap seconds are not kept).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// `t` as the API writes times, to the millisecond in UTC: "2026-12-08T09:00:00.000Z".
std::string rfc3339_text(std::chrono::system_clock::time_point t);

}  // namespace jobd
