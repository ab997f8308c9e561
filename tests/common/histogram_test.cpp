#include "common/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace jobd {
namespace {

TEST(Histogram, PutsAValueEqualToABoundInThatBucket) {
  histogram h;
  h.observe(0.001);
  const auto counts = h.bucket_counts();
  const auto i = static_cast<std::size_t>(std::find(h.bounds().begin(), h.bounds().end(), 0.001) -
                                          h.bounds().begin());
  EXPECT_EQ(counts[i], 1u);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.001);
}

TEST(Histogram, PutsValuesAboveTheLastBoundInTheInfBucket) {
  histogram h;
  h.observe(1e6);
  h.observe(0.0);
  EXPECT_EQ(h.bucket_counts().back(), 1u);
  EXPECT_EQ(h.bucket_counts().front(), 1u);
  EXPECT_EQ(h.count(), 2u);
}

TEST(Histogram, BoundsAreStrictlyIncreasing) {
  for (const auto* bounds : {&histogram::seconds_bounds, &histogram::count_bounds}) {
    EXPECT_TRUE(std::is_sorted(bounds->begin(), bounds->end()));
    EXPECT_EQ(std::adjacent_find(bounds->begin(), bounds->end()), bounds->end());
  }
}

TEST(Histogram, OfCountsBucketsWholeNumbers) {
  histogram h = histogram::of_counts();
  h.observe(3);
  h.observe(64);
  h.observe(5000);
  EXPECT_EQ(&h.bounds(), &histogram::count_bounds);
  EXPECT_EQ(h.bucket_counts()[2], 1u);   // le 3
  EXPECT_EQ(h.bucket_counts()[11], 1u);  // le 64
  EXPECT_EQ(h.bucket_counts().back(), 1u);
  EXPECT_DOUBLE_EQ(h.sum(), 5067);
}

}  // namespace
}  // namespace jobd
