#include "pool/histogram.hpp"

#include <gtest/gtest.h>

namespace jobd::pool {
namespace {

TEST(Histogram, PutsAValueEqualToABoundInThatBucket) {
  histogram h;
  h.observe(0.001);
  const auto counts = h.bucket_counts();
  const auto i = static_cast<std::size_t>(
      std::find(histogram::bounds.begin(), histogram::bounds.end(), 0.001) -
      histogram::bounds.begin());
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
  EXPECT_TRUE(std::is_sorted(histogram::bounds.begin(), histogram::bounds.end()));
  EXPECT_EQ(std::adjacent_find(histogram::bounds.begin(), histogram::bounds.end()),
            histogram::bounds.end());
}

}  // namespace
}  // namespace jobd::pool
