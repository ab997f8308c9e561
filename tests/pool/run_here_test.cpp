// run_here: a cheap job runs on the caller's thread when its lane is idle, and otherwise
// behaves exactly as submit (bounds, order, refusals, counters, deadline).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::recorder;

// admit() and run_here() in one, as a caller that runs cheap jobs inline does.
submit_result try_run_here(pool& p, job_request req) {
  admit_result admitted = p.admit(req.priority);
  if (!admitted) return admitted.refused().why;
  return p.run_here(admitted.take(), std::move(req));
}

TEST(PoolRunHere, AnIdleLaneRunsTheJobOnTheCallersThreadAndCompletesBeforeReturning) {
  pool p({.workers_min = 1, .workers_max = 2});
  std::thread::id ran_on;
  std::thread::id completed_on;
  job_outcome outcome;
  const auto r =
      try_run_here(p, {.work = [&](const job_context&) { ran_on = std::this_thread::get_id(); },
                       .on_done =
                           [&](const job_outcome& o) {
                             completed_on = std::this_thread::get_id();
                             outcome = o;
                           }});
  ASSERT_TRUE(r);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(completed_on, std::this_thread::get_id());
  EXPECT_EQ(outcome.status, job_status::succeeded);
  EXPECT_TRUE(outcome.started);
  EXPECT_EQ(p.cancel(r.handle()), cancel_result::already_finished);

  const pool_stats s = p.stats();
  const lane_stats& n = s.of(lane::normal);
  EXPECT_EQ(n.submitted, 1u);
  EXPECT_EQ(n.finished[static_cast<std::size_t>(job_status::succeeded)], 1u);
  EXPECT_EQ(n.queue_wait.count(), 1u);
  EXPECT_EQ(n.run_time.count(), 1u);
  // It ran on no worker.
  EXPECT_EQ(s.busy, 0u);
}

TEST(PoolRunHere, AThrowingJobFailsAndALateOneTimesOut) {
  pool p({.workers_min = 1, .workers_max = 2});
  job_outcome failed;
  ASSERT_TRUE(try_run_here(p, {.work = [](const job_context&) { throw std::runtime_error("boom"); },
                               .on_done = [&](const job_outcome& o) { failed = o; }}));
  EXPECT_EQ(failed.status, job_status::failed);
  ASSERT_TRUE(failed.error);

  job_outcome late;
  ASSERT_TRUE(try_run_here(p, {.timeout = 1ms,
                               .work =
                                   [](const job_context& ctx) {
                                     while (clock::now() < ctx.deadline) std::this_thread::yield();
                                   },
                               .on_done = [&](const job_outcome& o) { late = o; }}));
  EXPECT_EQ(late.status, job_status::timed_out);
  EXPECT_EQ(p.stats().of(lane::normal).finished[static_cast<std::size_t>(job_status::timed_out)],
            1u);
}

TEST(PoolRunHere, ALaneWithQueuedJobsQueuesItBehindThemOnAWorker) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("first")));

  std::thread::id ran_on;
  ASSERT_TRUE(try_run_here(p, {.work =
                                   [&](const job_context& ctx) {
                                     ran_on = std::this_thread::get_id();
                                     rec.job("second")(ctx);
                                   },
                               .on_done = rec.done("second")}));
  // Not run here: it waits its turn.
  EXPECT_FALSE(rec.started("second"));
  EXPECT_EQ(p.stats().of(lane::normal).depth, 2u);
  g.open();
  rec.wait_done("second");
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(rec.starts(), (std::vector<std::string>{"blocker", "first", "second"}));
}

TEST(PoolRunHere, RefusesAsTrySubmitDoesWhenTheLaneIsFullOrDraining) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .normal_capacity = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("queued")));

  const auto full = try_run_here(p, rec.request("cheap"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), submit_error::queue_full);
  EXPECT_EQ(p.stats().of(lane::normal).rejected_queue_full, 1u);

  // The high lane is idle: a cheap high job runs at once although the normal lane is full.
  ASSERT_TRUE(try_run_here(p, rec.request("cheap-high", lane::high)));
  EXPECT_EQ(rec.completions("cheap-high"), 1u);

  p.stop_accepting();
  const auto late = try_run_here(p, rec.request("late", lane::high));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), submit_error::shutting_down);
  g.open();
  p.drain(20s);
  EXPECT_EQ(rec.completions("cheap"), 0u);
  EXPECT_EQ(rec.completions("late"), 0u);
  EXPECT_FALSE(rec.started("late"));
}

TEST(PoolRunHere, DrainWaitsForAJobRunningOnAnotherThread) {
  pool p({.workers_min = 1, .workers_max = 1});
  gate started;
  std::mutex mu;
  std::condition_variable cv;
  bool drained = false;
  std::atomic<bool> completed{false};
  std::thread caller([&] {
    (void)try_run_here(p, {.work =
                               [&](const job_context&) {
                                 started.open();
                                 // Holds the job until drain() returns, which it must not do
                                 // while the job runs: the wait ends by its bound instead.
                                 std::unique_lock lk(mu);
                                 cv.wait_for(lk, 500ms, [&] { return drained; });
                               },
                           .on_done = [&](const job_outcome&) { completed = true; }});
  });
  started.wait({});
  p.drain(0ms);
  EXPECT_TRUE(completed);
  {
    std::lock_guard lk(mu);
    drained = true;
  }
  cv.notify_all();
  caller.join();
}

}  // namespace
}  // namespace jobd::pool
