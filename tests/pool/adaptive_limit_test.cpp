// The adaptive limit against simulated workloads: a scope whose jobs share nothing (the limit
// climbs to its maximum), one whose jobs slow down in proportion to how many run (it settles
// low), one that stops contending (it climbs again), a scope with little load (it stays), the
// baseline's probes, and bad options.
#include "pool/adaptive_limit.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;

// A closed system: `limit()` jobs always running, the oldest ending each step after the run
// time `cost` gives for how many ran when it started. Returns the limits seen, one per step.
std::vector<std::size_t> simulate(adaptive_limit& l, std::size_t steps,
                                  const std::function<std::chrono::nanoseconds(std::size_t)>& cost,
                                  std::deque<std::size_t>& running) {
  std::vector<std::size_t> seen;
  for (std::size_t i = 0; i < steps; ++i) {
    while (running.size() < l.limit()) running.push_back(l.started());
    const std::size_t at = running.front();
    running.pop_front();
    (void)l.ended(cost(at), at);
    seen.push_back(l.limit());
  }
  return seen;
}

std::chrono::nanoseconds flat(std::size_t) {
  return 10ms;
}
// One lock: each job waits for those that started with it.
std::chrono::nanoseconds one_lock(std::size_t running) {
  return 10ms * running;
}

TEST(AdaptiveLimit, StartsAtItsMinimumAndMeasuresItsBaselineFirst) {
  adaptive_limit l({.min = 2, .max = 64});
  EXPECT_EQ(l.limit(), 2u);
  EXPECT_TRUE(l.snapshot().probing);
  std::deque<std::size_t> running;
  (void)simulate(l, 10, flat, running);
  EXPECT_FALSE(l.snapshot().probing);
  EXPECT_DOUBLE_EQ(l.snapshot().baseline_seconds, 0.010);
}

TEST(AdaptiveLimit, ClimbsToItsMaximumWhileRunTimesStayFlat) {
  adaptive_limit l({.min = 1, .max = 64});
  std::deque<std::size_t> running;
  const auto seen = simulate(l, 20'000, flat, running);
  EXPECT_EQ(l.limit(), 64u);
  // Never down while nothing slows (but for the probes, which are the minimum).
  std::size_t before = 1;
  for (std::size_t s : seen) {
    if (s != 1) {
      EXPECT_GE(s, before);
      before = s;
    }
  }
}

TEST(AdaptiveLimit, SettlesLowWhenJobsSlowDownWithHowManyRun) {
  adaptive_limit l({.min = 1, .max = 64});
  std::deque<std::size_t> running;
  const auto seen = simulate(l, 20'000, one_lock, running);
  // Past the climb, the limit stays where more jobs would only wait longer inside the lock.
  std::size_t most = 0;
  for (std::size_t i = 2'000; i < seen.size(); ++i) most = std::max(most, seen[i]);
  EXPECT_LE(most, 6u);
  EXPECT_GE(most, 2u);
}

TEST(AdaptiveLimit, ClimbsAgainOnceTheContentionIsGone) {
  adaptive_limit l({.min = 1, .max = 32});
  std::deque<std::size_t> running;
  (void)simulate(l, 5'000, one_lock, running);
  EXPECT_LE(l.limit(), 6u);
  (void)simulate(l, 20'000, flat, running);
  EXPECT_EQ(l.limit(), 32u);
}

TEST(AdaptiveLimit, AScopeWithLittleLoadDoesNotMoveIt) {
  adaptive_limit l({.min = 4, .max = 64});
  // One job at a time, however fast: the limit of 4 is never used, so nothing is learnt.
  for (int i = 0; i < 1'000; ++i) {
    const std::size_t at = l.started();
    (void)l.ended(1ms, at);
  }
  EXPECT_EQ(l.limit(), 4u);
}

TEST(AdaptiveLimit, ProbesTheBaselineAtItsMinimumNowAndThen) {
  adaptive_limit l({.min = 1, .max = 16, .window = 10, .probe_every = 50});
  std::deque<std::size_t> running;
  const auto seen = simulate(l, 6'000, flat, running);
  ASSERT_EQ(l.limit(), 16u);
  // Each probe drops to the minimum, then the limit comes back where it was at once.
  std::size_t probes = 0;
  for (std::size_t i = 1; i + 1 < seen.size(); ++i) {
    if (seen[i] == 1 && seen[i - 1] == 16) ++probes;
  }
  EXPECT_GE(probes, 5u);
  // A job started before a probe, beside more, does not count in it.
  adaptive_limit p({.min = 1, .max = 16, .window = 1});
  EXPECT_FALSE(p.ended(1s, 5).has_value());
  EXPECT_TRUE(p.snapshot().probing);
}

TEST(AdaptiveLimit, RefusesOptionsThatMakeNoSense) {
  EXPECT_THROW(adaptive_limit({.min = 0}), std::invalid_argument);
  EXPECT_THROW(adaptive_limit({.min = 8, .max = 4}), std::invalid_argument);
  EXPECT_THROW(adaptive_limit({.window = 0}), std::invalid_argument);
  EXPECT_THROW(adaptive_limit({.tolerance = 0.5}), std::invalid_argument);
  EXPECT_THROW(adaptive_limit({.smoothing = 0.0}), std::invalid_argument);
}

}  // namespace
}  // namespace jobd::pool
