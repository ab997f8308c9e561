// The snapshot's counters, gauges and histograms after a known sequence of jobs.
#include <gtest/gtest.h>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::recorder;

std::uint64_t finished(const lane_stats& s, job_status st) {
  return s.finished[static_cast<std::size_t>(st)];
}

TEST(PoolMetrics, SnapshotIsExactAfterAKnownSequence) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .normal_capacity = 2, .high_capacity = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");

  pool_stats s = p.stats();
  EXPECT_EQ(s.busy, 1u);
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.of(lane::normal).oldest_wait_seconds, 0.0);

  const auto cancelled = p.try_submit(rec.request("to-cancel"));
  ASSERT_TRUE(cancelled);
  ASSERT_TRUE(p.try_submit(rec.request("filler")));
  EXPECT_FALSE(p.try_submit(rec.request("refused")));  // normal lane full
  ASSERT_TRUE(p.try_submit({.priority = lane::high,
                            .work = [](const job_context&) { throw std::runtime_error("x"); },
                            .on_done = rec.done("fails")}));
  EXPECT_FALSE(p.try_submit(rec.request("refused-high", lane::high)));

  s = p.stats();
  EXPECT_EQ(s.of(lane::normal).depth, 2u);
  EXPECT_EQ(s.of(lane::high).depth, 1u);
  EXPECT_GT(s.of(lane::normal).oldest_wait_seconds, 0.0);

  EXPECT_EQ(p.cancel(cancelled.handle()), cancel_result::cancelled);
  // The cancel made room; the worker is still held, so this one can only expire in the queue.
  ASSERT_TRUE(p.try_submit(rec.request("expires", lane::normal, nullptr, 5ms)));
  EXPECT_EQ(rec.wait_done("expires").status, job_status::timed_out);
  g.open();
  rec.wait_completions(5);
  p.drain(60s);

  s = p.stats();
  const lane_stats& n = s.of(lane::normal);
  const lane_stats& h = s.of(lane::high);
  EXPECT_EQ(n.submitted, 4u);
  EXPECT_EQ(h.submitted, 1u);
  EXPECT_EQ(n.rejected_queue_full, 1u);
  EXPECT_EQ(h.rejected_queue_full, 1u);
  EXPECT_EQ(finished(n, job_status::succeeded), 2u);  // blocker and filler
  EXPECT_EQ(finished(n, job_status::cancelled), 1u);
  EXPECT_EQ(finished(n, job_status::timed_out), 1u);
  EXPECT_EQ(finished(n, job_status::failed), 0u);
  EXPECT_EQ(finished(h, job_status::failed), 1u);
  // Wait and run times are observed only for jobs that started.
  EXPECT_EQ(n.queue_wait.count(), 2u);
  EXPECT_EQ(n.run_time.count(), 2u);
  EXPECT_EQ(h.queue_wait.count(), 1u);
  EXPECT_EQ(h.run_time.count(), 1u);
  EXPECT_GT(n.recent_run_seconds, 0.0);
  EXPECT_EQ(n.depth, 0u);
  EXPECT_EQ(n.oldest_wait_seconds, 0.0);
}

}  // namespace
}  // namespace jobd::pool
