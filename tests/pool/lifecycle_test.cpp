// Cancel, failures, drain, scaling and configuration.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <latch>
#include <set>
#include <stdexcept>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::recorder;

TEST(PoolCancel, QueuedJobIsRemovedAndEndsCancelledBeforeCancelReturns) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit(rec.request("blocker", lane::normal, &g)));
  rec.wait_started("blocker");
  const auto r = p.try_submit(rec.request("victim"));
  ASSERT_TRUE(r);
  EXPECT_EQ(p.cancel(r.handle()), cancel_result::cancelled);
  EXPECT_EQ(rec.completions("victim"), 1u);  // synchronously, before cancel returned
  EXPECT_EQ(p.stats().of(lane::normal).depth, 0u);
  EXPECT_EQ(p.cancel(r.handle()), cancel_result::already_finished);
  g.open();
  rec.wait_done("blocker");
  EXPECT_FALSE(rec.started("victim"));
  EXPECT_EQ(rec.wait_done("victim").status, job_status::cancelled);
  EXPECT_EQ(rec.completions("victim"), 1u);
}

TEST(PoolCancel, RunningJobIsAskedToStopAndEndsCancelled) {
  recorder rec;
  gate never;
  pool p({.workers_min = 1, .workers_max = 1});
  const auto r = p.try_submit(rec.request("running", lane::normal, &never));
  ASSERT_TRUE(r);
  rec.wait_started("running");
  EXPECT_EQ(p.cancel(r.handle()), cancel_result::stopping);
  const job_outcome o = rec.wait_done("running");
  EXPECT_EQ(o.status, job_status::cancelled);
  EXPECT_TRUE(o.started);
  EXPECT_EQ(p.cancel(r.handle()), cancel_result::already_finished);
}

TEST(PoolFailure, ThrowingJobEndsFailedWithItsExceptionAndTheWorkerLivesOn) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  ASSERT_TRUE(p.try_submit({.work = [](const job_context&) { throw std::runtime_error("boom"); },
                            .on_done = rec.done("thrower")}));
  const job_outcome o = rec.wait_done("thrower");
  EXPECT_EQ(o.status, job_status::failed);
  ASSERT_TRUE(o.error);
  try {
    std::rethrow_exception(o.error);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  ASSERT_TRUE(p.try_submit({.work = [](const job_context&) {}, .on_done = rec.done("after")}));
  EXPECT_EQ(rec.wait_done("after").status, job_status::succeeded);
  EXPECT_EQ(p.stats().workers, 1u);
}

TEST(PoolDrain, FinishesQueuedAndRunningJobsThatCompleteWithinTheGrace) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        p.try_submit({.work = [](const job_context&) {}, .on_done = rec.done(std::to_string(i))}));
  }
  p.drain(60s);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rec.completions(std::to_string(i)), 1u);
    EXPECT_EQ(rec.wait_done(std::to_string(i)).status, job_status::succeeded);
  }
  EXPECT_EQ(p.stats().state, pool_state::stopped);
  EXPECT_EQ(p.stats().workers, 0u);
}

TEST(PoolDrain, CancelsWhatIsLeftAfterTheGraceAndCompletesEveryJobOnce) {
  recorder rec;
  gate never;
  pool p({.workers_min = 2, .workers_max = 2, .reserved_high = 0});
  ASSERT_TRUE(p.try_submit(rec.request("run1", lane::normal, &never)));
  ASSERT_TRUE(p.try_submit(rec.request("run2", lane::high, &never)));
  rec.wait_started("run1");
  rec.wait_started("run2");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.try_submit(rec.request("q" + std::to_string(i))));
  ASSERT_TRUE(p.try_submit(rec.request("qh", lane::high)));
  p.drain(10ms);
  // Every completion ran before drain returned, exactly once.
  for (const char* name : {"run1", "run2", "q0", "q1", "q2", "qh"}) {
    EXPECT_EQ(rec.completions(name), 1u) << name;
    EXPECT_EQ(rec.wait_done(name).status, job_status::cancelled) << name;
  }
  EXPECT_FALSE(rec.started("q0"));
  const pool_stats s = p.stats();
  EXPECT_EQ(s.of(lane::normal).finished[static_cast<std::size_t>(job_status::cancelled)], 4u);
  EXPECT_EQ(s.of(lane::high).finished[static_cast<std::size_t>(job_status::cancelled)], 2u);
  EXPECT_EQ(s.workers, 0u);
  p.drain(10ms);  // a second drain is a no-op
}

TEST(PoolDrain, DestructorCancelsQueuedJobsAndStopsRunningOnes) {
  recorder rec;
  gate never;
  {
    pool p({.workers_min = 1, .workers_max = 1});
    ASSERT_TRUE(p.try_submit(rec.request("running", lane::normal, &never)));
    rec.wait_started("running");
    ASSERT_TRUE(p.try_submit(rec.request("queued")));
  }
  EXPECT_EQ(rec.completions("running"), 1u);
  EXPECT_EQ(rec.completions("queued"), 1u);
  EXPECT_EQ(rec.wait_done("queued").status, job_status::cancelled);
}

TEST(PoolScaling, StartsExtraWorkersUnderBacklogAndRetiresThemWhenIdle) {
  std::latch retired(2);
  pool p({.workers_min = 1,
          .workers_max = 3,
          .reserved_high = 0,
          .idle_timeout = 50ms,
          .on_worker_exit = [&](std::size_t) { retired.count_down(); }});
  recorder rec;
  gate g;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(p.try_submit(rec.request("j" + std::to_string(i), lane::normal, &g)));
  for (int i = 0; i < 3; ++i) rec.wait_started("j" + std::to_string(i));  // three at once
  pool_stats s = p.stats();
  EXPECT_EQ(s.workers, 3u);
  EXPECT_EQ(s.busy, 3u);
  // At the maximum a fourth job queues instead of starting a thread.
  ASSERT_TRUE(p.try_submit(rec.request("j3")));
  EXPECT_EQ(p.stats().workers, 3u);
  g.open();
  rec.wait_completions(4);
  retired.wait();
  s = p.stats();
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.busy, 0u);
}

TEST(PoolThreads, WorkersAndTimerAreNamed) {
  std::latch up(2);
  pool p({.workers_min = 2, .workers_max = 2, .on_worker_start = [&](std::size_t) {
            up.count_down();
          }});
  up.wait();
  std::multiset<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir)) {
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  closedir(dir);
  EXPECT_EQ(names.count("jobd-worker-0"), 1u);
  EXPECT_EQ(names.count("jobd-worker-1"), 1u);
  EXPECT_EQ(names.count("jobd-timer"), 1u);
}

TEST(PoolConfig, RejectsBadSettingsNamingTheField) {
  auto message_for = [](pool_config cfg) -> std::string {
    try {
      (void)validated(std::move(cfg));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message_for({.workers_min = 0}).find("workers_min"), std::string::npos);
  EXPECT_NE(message_for({.workers_min = 4, .workers_max = 2}).find("workers_max"),
            std::string::npos);
  EXPECT_NE(
      message_for({.workers_min = 2, .workers_max = 2, .reserved_high = 2}).find("reserved_high"),
      std::string::npos);
  EXPECT_NE(
      message_for({.workers_min = 1, .workers_max = 4, .reserved_high = 2}).find("reserved_high"),
      std::string::npos);
  EXPECT_NE(message_for({.normal_capacity = 0}).find("normal_capacity"), std::string::npos);
  EXPECT_NE(message_for({.high_capacity = 0}).find("high_capacity"), std::string::npos);
  EXPECT_NE(message_for({.high_burst = 0}).find("high_burst"), std::string::npos);
  EXPECT_THROW(pool({.workers_min = 0}), std::invalid_argument);
}

TEST(PoolConfig, ReservesOneHighWorkerByDefaultOnlyWhenThereAreTwoOrMore) {
  EXPECT_EQ(validated({.workers_min = 1, .workers_max = 1}).reserved_high, 0u);
  EXPECT_EQ(validated({.workers_min = 2, .workers_max = 8}).reserved_high, 1u);
}

}  // namespace
}  // namespace jobd::pool
