// Many producers, random deadlines and random cancels: every accepted job ends exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;

TEST(PoolStress, EveryAcceptedJobEndsExactlyOnceUnderRandomCancelsAndDeadlines) {
  constexpr int producers = 4;
  constexpr int jobs_per_producer = 1500;
  pool p({.workers_min = 2,
          .workers_max = 6,
          .normal_capacity = 64,
          .high_capacity = 16,
          .idle_timeout = 5ms});
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

}  // namespace
}  // namespace jobd::pool
