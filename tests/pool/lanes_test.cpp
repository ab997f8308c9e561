// Lanes: bounds, refusal reasons, priority order, reserved workers and the anti-starvation rule.
#include <gtest/gtest.h>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::recorder;

TEST(PoolLanes, EachLaneRefusesExactlyPastItsOwnBound) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .normal_capacity = 3, .high_capacity = 2});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");

  for (int i = 0; i < 3; ++i) EXPECT_TRUE(p.try_submit(rec.request("n" + std::to_string(i))));
  const auto full = p.try_submit(rec.request("n-extra"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), submit_error::queue_full);

  // The full normal lane does not stop the high lane from taking its own two.
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(p.try_submit(rec.request("h" + std::to_string(i), lane::high)));
  const auto high_full = p.try_submit(rec.request("h-extra", lane::high));
  ASSERT_FALSE(high_full);
  EXPECT_EQ(high_full.error(), submit_error::queue_full);

  const pool_stats s = p.stats();
  EXPECT_EQ(s.of(lane::normal).depth, 3u);
  EXPECT_EQ(s.of(lane::normal).capacity, 3u);
  EXPECT_EQ(s.of(lane::high).depth, 2u);
  EXPECT_EQ(s.of(lane::high).capacity, 2u);
  EXPECT_EQ(s.of(lane::normal).rejected_queue_full, 1u);
  EXPECT_EQ(s.of(lane::high).rejected_queue_full, 1u);
  EXPECT_EQ(s.of(lane::normal).submitted, 4u);  // the blocker and three queued
  EXPECT_EQ(s.of(lane::high).submitted, 2u);
  g.open();
  rec.wait_completions(6);
  EXPECT_EQ(rec.completions("n-extra"), 0u);
  EXPECT_FALSE(rec.started("n-extra"));
  EXPECT_FALSE(rec.started("h-extra"));
}

TEST(PoolLanes, AdmitRefusesAsTrySubmitWouldAndCountsOnlyRefusals) {
  recorder rec;
  gate g;
  pool p({.workers_min = 2, .workers_max = 3, .reserved_high = 1, .normal_capacity = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  EXPECT_TRUE(p.admit(lane::normal));  // a place, given back at once
  ASSERT_TRUE(p.try_submit(rec.request("queued", lane::normal, &g)));
  // The shared worker may or may not have taken "queued" yet; hold it queued to be sure.
  while (p.stats().of(lane::normal).depth == 0) {
    ASSERT_TRUE(p.try_submit(rec.request("filler", lane::normal, &g)));
  }
  const admit_result full = p.admit(lane::normal);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.refused().why, submit_error::queue_full);
  EXPECT_TRUE(p.admit(lane::high));

  // The refusal carries the lane's load, as load() reads it.
  for (const lane_load& normal : {full.refused().load, p.load(lane::normal)}) {
    EXPECT_EQ(normal.depth, 1u);
    EXPECT_EQ(normal.capacity, 1u);
    EXPECT_EQ(normal.serving_workers, 2u);  // three, less the one reserved for high
  }
  EXPECT_EQ(p.load(lane::high).serving_workers, 3u);

  const pool_stats s = p.stats();
  EXPECT_EQ(s.of(lane::normal).rejected_queue_full, 1u);
  EXPECT_EQ(s.of(lane::high).rejected_queue_full, 0u);
  p.stop_accepting();
  const admit_result draining = p.admit(lane::high);
  ASSERT_FALSE(draining);
  EXPECT_EQ(draining.refused().why, submit_error::shutting_down);
  EXPECT_EQ(p.stats().of(lane::high).rejected_shutting_down, 1u);
  g.open();
}

// An admitted job is prepared (its record stored, say) before it is submitted: meanwhile its
// place counts against the lane, so that its submit can never be refused.
TEST(PoolLanes, AnAdmittedPlaceCountsAgainstTheBoundUntilUsedOrDropped) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .normal_capacity = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");

  admit_result held = p.admit(lane::normal);
  ASSERT_TRUE(held);
  EXPECT_EQ(p.try_submit(rec.request("refused")).error(), submit_error::queue_full);
  {
    admit_result dropped = std::move(held);
    (void)dropped;
    EXPECT_FALSE(p.admit(lane::normal));
  }
  // Dropped unused: the place is free again.
  admit_result again = p.admit(lane::normal);
  ASSERT_TRUE(again);
  // The lane's bound holds even across stop_accepting: the admitted job still goes in.
  p.stop_accepting();
  const job_handle h = p.submit(again.take(), rec.request("admitted"));
  EXPECT_TRUE(h.valid());
  EXPECT_EQ(p.stats().of(lane::normal).depth, 1u);
  EXPECT_THROW((void)p.submit(admission{}, rec.request("no place")), std::invalid_argument);
  g.open();
  p.drain(20s);
  EXPECT_EQ(rec.completions("admitted"), 1u);
  EXPECT_EQ(rec.wait_done("admitted").status, job_status::succeeded);
  EXPECT_EQ(rec.completions("refused"), 0u);
}

// A drain waits for admitted places too; one submitted after the drain gave up still ends, once,
// cancelled, as the queued jobs it gave up on do.
TEST(PoolLanes, AJobAdmittedBeforeADrainEndsOnceWhenSubmittedAfterIt) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  admit_result late = p.admit(lane::high);
  ASSERT_TRUE(late);
  p.drain(0ms);
  EXPECT_EQ(p.stats().state, pool_state::stopped);
  (void)p.submit(late.take(), rec.request("late", lane::normal));
  EXPECT_EQ(rec.completions("late"), 1u);
  EXPECT_EQ(rec.wait_done("late").status, job_status::cancelled);
  EXPECT_FALSE(rec.started("late"));
  // Its lane is its admission's, whatever the request said.
  const pool_stats s = p.stats();
  EXPECT_EQ(s.of(lane::high).submitted, 1u);
  EXPECT_EQ(s.of(lane::high).finished[static_cast<std::size_t>(job_status::cancelled)], 1u);
  EXPECT_EQ(s.of(lane::normal).submitted, 0u);
}

TEST(PoolLanes, RefusesWithShuttingDownOnceDrainHasBegun) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  p.drain(0ms);
  const auto r = p.try_submit(rec.request("late"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), submit_error::shutting_down);
  EXPECT_EQ(p.stats().of(lane::normal).rejected_shutting_down, 1u);
  EXPECT_EQ(p.stats().of(lane::normal).submitted, 0u);
  EXPECT_EQ(rec.completions("late"), 0u);
}

TEST(PoolLanes, StopAcceptingRefusesNewJobsWhileQueuedOnesStillRun) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("running", lane::normal, &g)));
  rec.wait_started("running");
  ASSERT_TRUE(p.try_submit(rec.request("queued")));
  p.stop_accepting();
  const auto r = p.try_submit(rec.request("late", lane::high));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), submit_error::shutting_down);
  EXPECT_EQ(p.stats().state, pool_state::draining);
  g.open();
  EXPECT_EQ(rec.wait_done("queued").status, job_status::succeeded);
  EXPECT_EQ(p.stats().of(lane::high).rejected_shutting_down, 1u);
}

TEST(PoolLanes, RejectsMalformedRequestsAsInvalidArguments) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  job_request no_work = rec.request("x");
  no_work.work = nullptr;
  EXPECT_THROW((void)p.try_submit(std::move(no_work)), std::invalid_argument);
  job_request no_done = rec.request("x");
  no_done.on_done = nullptr;
  EXPECT_THROW((void)p.try_submit(std::move(no_done)), std::invalid_argument);
  EXPECT_THROW((void)p.try_submit(rec.request("x", lane::normal, nullptr, 0ms)),
               std::invalid_argument);
  EXPECT_EQ(p.stats().of(lane::normal).submitted, 0u);
}

TEST(PoolLanes, StartsHighLaneJobsBeforeNormalOnesInFifoOrderWithinALane) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("n1")));
  ASSERT_TRUE(p.try_submit(rec.request("n2")));
  ASSERT_TRUE(p.try_submit(rec.request("h1", lane::high)));
  ASSERT_TRUE(p.try_submit(rec.request("h2", lane::high)));
  g.open();
  rec.wait_completions(5);
  EXPECT_EQ(rec.starts(), (std::vector<std::string>{"blocker", "h1", "h2", "n1", "n2"}));
}

TEST(PoolLanes, ReservedWorkerRunsAHighJobWhileNormalJobsHoldEveryOtherWorker) {
  recorder rec;
  gate g;
  pool p({.workers_min = 3, .workers_max = 3, .reserved_high = 1, .normal_capacity = 100});
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(p.try_submit(rec.request("n" + std::to_string(i), lane::normal, &g)));
  }
  rec.wait_started("n0");
  rec.wait_started("n1");
  ASSERT_TRUE(p.try_submit(rec.request("urgent", lane::high)));
  const job_outcome o = rec.wait_done("urgent");  // would hang here without the reserved worker
  EXPECT_EQ(o.status, job_status::succeeded);
  EXPECT_FALSE(rec.started("n2"));  // the reserved worker never took normal work
  const pool_stats s = p.stats();
  EXPECT_EQ(s.busy, 2u);
  EXPECT_EQ(s.of(lane::normal).depth, 48u);
  g.open();
  rec.wait_completions(51);
}

// With every always-on worker reserved (workers_min == reserved_high, as "auto" sizes a pool on
// one CPU), a normal job that comes while they are still starting needs a shared worker: a
// starting reserved worker will never take it.
TEST(PoolLanes, ANormalJobSubmittedWhileOnlyReservedWorkersStartGetsAWorker) {
  recorder rec;
  gate starting;
  pool p({.workers_min = 1,
          .workers_max = 2,
          .reserved_high = 1,
          .on_worker_start = [&](std::size_t id) {
            if (id == 0) starting.wait({});
          }});
  ASSERT_TRUE(p.try_submit(rec.request("normal")));
  // Would wait here until the job's deadline without a shared worker.
  EXPECT_EQ(rec.wait_done("normal").status, job_status::succeeded);
  starting.open();
}

TEST(PoolLanes, NormalJobGetsATurnAfterHighBurstHighJobsInARow) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .high_burst = 2});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  ASSERT_TRUE(p.try_submit(rec.request("n1")));
  ASSERT_TRUE(p.try_submit(rec.request("n2")));
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(p.try_submit(rec.request("h" + std::to_string(i), lane::high)));
  g.open();
  rec.wait_completions(8);
  EXPECT_EQ(rec.starts(),
            (std::vector<std::string>{"blocker", "h1", "h2", "n1", "h3", "h4", "n2", "h5"}));
}

}  // namespace
}  // namespace jobd::pool
