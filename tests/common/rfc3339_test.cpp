#include "common/rfc3339.hpp"

#include <gtest/gtest.h>

namespace jobd {
namespace {

using namespace std::chrono;

system_clock::time_point at(long long unix_ms) {
  return system_clock::time_point(milliseconds(unix_ms));
}

TEST(Rfc3339, ReadsUtcLocalOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), at(0));
  EXPECT_EQ(parse_rfc3339("2026-12-08T09:00:00.000Z"), at(1'796'720'400'000));
  EXPECT_EQ(parse_rfc3339("2026-12-08T10:00:00+01:00"), at(1'796'720'400'000));
  EXPECT_EQ(parse_rfc3339("2026-12-08T08:30:00-00:30"), at(1'796'720'400'000));
  EXPECT_EQ(parse_rfc3339("2026-12-08t09:00:00.25z"), at(1'796'720'400'250));
  EXPECT_EQ(parse_rfc3339("2024-02-29T23:59:59.123456789Z")->time_since_epoch(),
            nanoseconds(1'709'251'199'123'456'789));
  // Past the nanosecond, cut.
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.0000000019Z"), at(0) + nanoseconds(1));
}

TEST(Rfc3339, RefusesWhatIsNotATimeOrNoDay) {
  for (const char* bad :
       {"", "2026-12-08", "2026-12-08T09:00:00", "2026-12-08 09:00:00Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-12-08T24:00:00Z", "2026-12-08T09:60:00Z",
        "2026-12-08T09:00:60Z", "2026-12-08T09:00:00.Z", "2026-12-08T09:00:00+0100",
        "2026-12-08T09:00:00+01:00x", "2026-12-08T09:00:00ZZ", "tomorrow", "2026-1-08T09:00:00Z",
        "+2026-12-08T09:00:00Z", "2026-12-08T09:00:00+24:00"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace jobd
