#include "common/unique_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace jobd {
namespace {

TEST(UniqueFunction, CallsWhatItHoldsWithMoveOnlyCapturesAndResults) {
  unique_function<int(int)> f = [owned = std::make_unique<int>(40)](int n) { return *owned + n; };
  EXPECT_TRUE(f);
  EXPECT_EQ(f(2), 42);
  unique_function<std::string(std::string &&)> g = [](std::string&& s) { return s + "!"; };
  EXPECT_EQ(g("hi"), "hi!");
  unique_function<void()> empty;
  EXPECT_FALSE(empty);
}

// A callable too large for the room in place is kept on the heap, and behaves the same.
TEST(UniqueFunction, KeepsSmallCallablesInPlaceAndLargeOnesOnTheHeapAlike) {
  auto counter = std::make_shared<int>(0);
  {
    unique_function<void(), 32> small = [counter] { ++*counter; };
    std::array<char, 200> padding{};
    unique_function<void(), 32> large = [counter, padding] { *counter += 1 + padding[0]; };
    small();
    large();
    EXPECT_EQ(*counter, 2);
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);  // both destroyed what they held
}

TEST(UniqueFunction, MovingHandsOverWhatItHoldsOnce) {
  auto counter = std::make_shared<int>(0);
  unique_function<void()> a = [counter] { ++*counter; };
  unique_function<void()> b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty, by contract
  ASSERT_TRUE(b);
  b();
  unique_function<void()> c;
  c = std::move(b);
  c();
  EXPECT_EQ(*counter, 2);
  EXPECT_EQ(counter.use_count(), 2);
  c = nullptr;
  EXPECT_EQ(counter.use_count(), 1);
}

}  // namespace
}  // namespace jobd
