// Deadlines count from submission, are driven by the timer thread, and decide the status.
#include <gtest/gtest.h>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::recorder;

TEST(PoolDeadline, JobWhoseDeadlinePassesWhileQueuedEndsTimedOutWithoutRunning) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("short", lane::normal, nullptr, 20ms)));
  // The worker is still held, so only the timer can have ended it.
  const job_outcome o = rec.wait_done("short");
  EXPECT_EQ(o.status, job_status::timed_out);
  EXPECT_FALSE(o.started);
  EXPECT_GE(o.queue_wait, 20ms);
  EXPECT_EQ(p.stats().of(lane::normal).depth, 0u);
  g.open();
  rec.wait_done("blocker");
  EXPECT_FALSE(rec.started("short"));
  EXPECT_EQ(rec.completions("short"), 1u);
}

TEST(PoolDeadline, RunningJobIsStoppedAtItsDeadlineAndEndsTimedOut) {
  recorder rec;
  gate never;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("stuck", lane::normal, &never, 30ms)));
  const job_outcome o = rec.wait_done("stuck");
  EXPECT_EQ(o.status, job_status::timed_out);
  EXPECT_TRUE(o.started);
  EXPECT_TRUE(rec.stop_requested("stuck"));
  EXPECT_GE(o.queue_wait + o.run_time, 30ms);
}

TEST(PoolDeadline, JobThatEndsPastItsDeadlineIsTimedOutEvenIfItIgnoredTheStopToken) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  // Ignores the stop token: returns only when the test opens the gate, after the deadline. The
  // deadline leaves time to start (a sanitizer build took over 10 ms): one that passes in the
  // queue ends the job there, unstarted.
  ASSERT_TRUE(p.try_submit({.timeout = 300ms,
                            .work =
                                [&](const job_context& ctx) {
                                  rec.job("stubborn")(ctx);
                                  g.wait(std::stop_token{});
                                },
                            .on_done = rec.done("stubborn")}));
  rec.wait_started("stubborn");
  // Wait until the timer has asked it to stop, which can only happen at the deadline.
  while (!rec.stop_requested("stubborn")) std::this_thread::yield();
  g.open();
  EXPECT_EQ(rec.wait_done("stubborn").status, job_status::timed_out);
}

TEST(PoolDeadline, DeadlinesOfManyQueuedJobsFireInDeadlineOrder) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("late", lane::normal, nullptr, 60ms)));
  ASSERT_TRUE(p.try_submit(rec.request("early", lane::normal, nullptr, 15ms)));
  const job_outcome early = rec.wait_done("early");
  EXPECT_EQ(early.status, job_status::timed_out);
  const job_outcome late = rec.wait_done("late");
  EXPECT_EQ(late.status, job_status::timed_out);
  EXPECT_GE(late.queue_wait, 60ms);
  g.open();
}

}  // namespace
}  // namespace jobd::pool
