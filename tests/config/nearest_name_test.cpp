#include "config/nearest_name.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

namespace jobd::config {
namespace {

constexpr std::array<std::string_view, 5> names = {"workers", "workers_min", "listen",
                                                   "queue_capacity", "timeout_ms"};

TEST(NearestName, OffersTheNameOneSlipAway) {
  EXPECT_EQ(nearest_name("worker", names), "workers");                 // a letter missing
  EXPECT_EQ(nearest_name("listenn", names), "listen");                 // one extra
  EXPECT_EQ(nearest_name("queue_capasity", names), "queue_capacity");  // one wrong
  EXPECT_EQ(nearest_name("lsiten", names), "listen");                  // two swapped
  EXPECT_EQ(nearest_name("workres_mni", names), "workers_min");  // two slips in eleven letters
}

TEST(NearestName, OffersTheWholeNameForItsFirstPart) {
  EXPECT_EQ(nearest_name("timeout", names), "timeout_ms");
  EXPECT_EQ(nearest_name("queue", names), "queue_capacity");
}

TEST(NearestName, OffersNothingForANameFarFromAll) {
  EXPECT_EQ(nearest_name("xyz", names), "");
  EXPECT_EQ(nearest_name("", names), "");
  EXPECT_EQ(nearest_name("wrks", names), "");  // two slips in four letters
  EXPECT_EQ(nearest_name("time", names), "");  // a start, but not up to an underscore
  EXPECT_EQ(nearest_name("workers", {}), "");
}

TEST(NearestName, AnExactNameIsItsOwnNearest) {
  EXPECT_EQ(nearest_name("listen", names), "listen");
}

}  // namespace
}  // namespace jobd::config
