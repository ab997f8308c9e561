// Many producers, random deadlines and random cancels: every accepted job ends exactly once;
// and under concurrency limits, no group or key ever runs more than its limit.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;

// With workers that sleep as soon as they find no job (0), that watch for one a while first
// (the default's 20 µs), and that watch long enough to catch most jobs (500 µs).
class PoolStressSpin : public ::testing::TestWithParam<int> {};

TEST_P(PoolStressSpin, EveryAcceptedJobEndsExactlyOnceUnderRandomCancelsAndDeadlines) {
  constexpr int producers = 4;
  constexpr int jobs_per_producer = 1500;
  pool p({.workers_min = 2,
          .workers_max = 6,
          .normal_capacity = 64,
          .high_capacity = 16,
          .idle_timeout = 5ms,
          .spin = std::chrono::microseconds(GetParam())});
  std::vector<std::atomic<int>> completions(producers * jobs_per_producer);
  std::vector<std::atomic<bool>> accepted(producers * jobs_per_producer);
  // Refused attempts; every job is retried until it is accepted.
  std::atomic<std::size_t> refused{0};

  std::vector<std::jthread> threads;
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      std::vector<job_handle> handles;
      for (int i = 0; i < jobs_per_producer; ++i) {
        const int id = t * jobs_per_producer + i;
        const auto timeout = std::chrono::microseconds(100 + rng() % 3000);
        const auto work_for = std::chrono::microseconds(rng() % 2000);
        const bool throws = rng() % 17 == 0;
        const lane l = rng() % 4 == 0 ? lane::high : lane::normal;
        auto request = [&] {
          return job_request{.priority = l,
                             .timeout = timeout,
                             .work =
                                 [work_for, throws](const job_context& ctx) {
                                   std::mutex m;
                                   std::condition_variable_any cv;
                                   std::unique_lock lk(m);
                                   cv.wait_for(lk, ctx.stop, work_for, [] { return false; });
                                   if (throws) throw std::runtime_error("random failure");
                                 },
                             .on_done =
                                 [&completions, id](const job_outcome&) {
                                   completions[static_cast<std::size_t>(id)].fetch_add(1);
                                 }};
        };
        // A full lane refuses; retrying until accepted keeps every job in play, and every
        // refusal must show in the pool's counters.
        auto r = p.try_submit(request());
        while (!r) {
          refused.fetch_add(1);
          std::this_thread::yield();
          r = p.try_submit(request());
        }
        accepted[static_cast<std::size_t>(id)] = true;
        handles.push_back(r.handle());
        if (rng() % 5 == 0) (void)p.cancel(handles[rng() % handles.size()]);
      }
    });
  }
  threads.clear();  // joins the producers
  p.drain(60s);

  std::size_t ended = 0;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    const int expected = accepted[i] ? 1 : 0;
    ASSERT_EQ(completions[i].load(), expected) << "job " << i;
    ended += static_cast<std::size_t>(expected);
  }
  const pool_stats s = p.stats();
  std::uint64_t submitted = 0;
  std::uint64_t finished = 0;
  std::uint64_t rejected = 0;
  for (const lane_stats& l : s.lanes) {
    submitted += l.submitted;
    rejected += l.rejected_queue_full + l.rejected_shutting_down;
    for (auto f : l.finished) finished += f;
  }
  EXPECT_EQ(submitted, ended);
  EXPECT_EQ(finished, ended);
  EXPECT_EQ(rejected, refused.load());
  EXPECT_EQ(s.workers, 0u);
  EXPECT_EQ(ended, completions.size());
}

// Jobs of three groups (limits 1, 2 and 3) and five keys each (one at a time), in both
// lanes, with random deadlines and cancels: the jobs running at once never exceed a limit, and
// each accepted job ends exactly once, the limited ones included.
INSTANTIATE_TEST_SUITE_P(Spin, PoolStressSpin, ::testing::Values(0, 20, 500),
                         [](const auto& p) { return "spin" + std::to_string(p.param) + "us"; });

TEST(PoolStress, LimitsHoldUnderRandomCancelsAndDeadlines) {
  constexpr int producers = 3;
  constexpr int jobs_per_producer = 800;
  constexpr int groups = 3;
  constexpr int keys = 5;
  pool p({.workers_min = 2, .workers_max = 6, .normal_capacity = 64, .high_capacity = 16});
  std::vector<std::atomic<int>> completions(producers * jobs_per_producer);
  std::vector<std::atomic<bool>> accepted(producers * jobs_per_producer);
  std::array<std::atomic<int>, groups> in_group{};
  std::array<std::atomic<int>, groups * keys> in_key{};
  std::atomic<int> over_limit{0};

  std::vector<std::jthread> threads;
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 104'729u + 3u);
      std::vector<job_handle> handles;
      for (int i = 0; i < jobs_per_producer; ++i) {
        const int id = t * jobs_per_producer + i;
        const int g = static_cast<int>(rng() % groups);
        const int k = static_cast<int>(rng() % keys);
        const bool keyed = rng() % 2 == 0;
        const auto timeout = std::chrono::microseconds(500 + rng() % 20'000);
        const auto work_for = std::chrono::microseconds(rng() % 500);
        const lane l = rng() % 4 == 0 ? lane::high : lane::normal;
        auto request = [&] {
          job_request r{.priority = l,
                        .timeout = timeout,
                        .work =
                            [&, g, k, keyed, work_for](const job_context& ctx) {
                              if (in_group[g].fetch_add(1) + 1 > g + 1) over_limit.fetch_add(1);
                              if (keyed && in_key[g * keys + k].fetch_add(1) + 1 > 1)
                                over_limit.fetch_add(1);
                              std::mutex m;
                              std::condition_variable_any cv;
                              std::unique_lock lk(m);
                              cv.wait_for(lk, ctx.stop, work_for, [] { return false; });
                              if (keyed) in_key[g * keys + k].fetch_sub(1);
                              in_group[g].fetch_sub(1);
                            },
                        .on_done =
                            [&completions, id](const job_outcome&) {
                              completions[static_cast<std::size_t>(id)].fetch_add(1);
                            }};
          r.limits = {.group = "g" + std::to_string(g),
                      .group_limit = static_cast<std::size_t>(g + 1),
                      .key = keyed ? "k" + std::to_string(k) : ""};
          return r;
        };
        auto r = p.try_submit(request());
        while (!r) {
          std::this_thread::yield();
          r = p.try_submit(request());
        }
        accepted[static_cast<std::size_t>(id)] = true;
        handles.push_back(r.handle());
        if (rng() % 6 == 0) (void)p.cancel(handles[rng() % handles.size()]);
      }
    });
  }
  threads.clear();
  p.drain(60s);
  for (std::size_t i = 0; i < completions.size(); ++i) {
    ASSERT_EQ(completions[i].load(), accepted[i] ? 1 : 0) << "job " << i;
  }
  EXPECT_EQ(over_limit.load(), 0);
  EXPECT_TRUE(p.stats().groups.empty());
}

}  // namespace
}  // namespace jobd::pool
