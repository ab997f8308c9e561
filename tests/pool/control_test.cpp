// Pool control at run time: a paused lane takes jobs and starts none until resumed (a drain
// resumes it), and resize() moves the worker bounds, starting workers at once or letting those
// over the new bound leave once their job is over.
#include <gtest/gtest.h>

#include <atomic>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::must_happen_within;
using testing::recorder;

// A paused lane's jobs wait while the other lane's run on the same worker, which proves the
// worker was there to take them; resumed, they run in their order.
TEST(PoolControl, APausedLaneTakesJobsAndStartsNoneUntilResumed) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1, .normal_capacity = 2});
  p.pause(lane::normal);
  ASSERT_TRUE(p.try_submit(rec.request("n1")));
  ASSERT_TRUE(p.try_submit(rec.request("n2")));
  EXPECT_EQ(p.try_submit(rec.request("n3")).error(), submit_error::queue_full);
  ASSERT_TRUE(p.try_submit(rec.request("h1", lane::high)));
  rec.wait_done("h1");
  pool_stats s = p.stats();
  EXPECT_TRUE(s.of(lane::normal).paused);
  EXPECT_FALSE(s.of(lane::high).paused);
  EXPECT_EQ(s.of(lane::normal).depth, 2u);
  EXPECT_FALSE(rec.started("n1"));
  p.resume(lane::normal);
  rec.wait_done("n2");
  EXPECT_EQ(rec.starts(), (std::vector<std::string>{"h1", "n1", "n2"}));
  EXPECT_FALSE(p.stats().of(lane::normal).paused);
}

// A job for the caller's thread queues behind a pause like any other.
TEST(PoolControl, RunHereOnAPausedLaneQueuesTheJob) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  p.pause(lane::high);
  auto place = p.admit(lane::high);
  ASSERT_TRUE(place);
  (void)p.run_here(place.take(), rec.request("cheap", lane::high));
  EXPECT_EQ(rec.completions("cheap"), 0u);
  EXPECT_EQ(p.stats().of(lane::high).depth, 1u);
  p.resume(lane::high);
  EXPECT_EQ(rec.wait_done("cheap").status, job_status::succeeded);
}

// Queued jobs of a paused lane were accepted: a drain runs them, and neither a pause nor a
// resize changes the pool once it has begun.
TEST(PoolControl, ADrainRunsWhatAPausedLaneHoldsAndRefusesControl) {
  recorder rec;
  pool p({.workers_min = 1, .workers_max = 1});
  EXPECT_TRUE(p.pause(lane::normal));
  ASSERT_TRUE(p.try_submit(rec.request("held")));
  p.drain(must_happen_within);
  EXPECT_EQ(rec.wait_done("held").status, job_status::succeeded);
  EXPECT_FALSE(p.pause(lane::normal));
  EXPECT_FALSE(p.resize(2, 2));
  EXPECT_FALSE(p.stats().of(lane::normal).paused);
  EXPECT_EQ(p.stats().workers_max, 1u);
}

TEST(PoolControl, ALargerPoolStartsItsWorkersAtOnce) {
  recorder rec;
  gate g;
  pool p({.workers_min = 1, .workers_max = 1, .reserved_high = 0});
  p.resize(3, 3);
  EXPECT_EQ(p.stats().workers_min, 3u);
  EXPECT_EQ(p.stats().workers_max, 3u);
  // Three jobs at once, each holding its worker.
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(p.try_submit(rec.request(name, lane::normal, &g)));
  for (const char* name : {"a", "b", "c"}) rec.wait_started(name);
  EXPECT_EQ(p.stats().busy, 3u);
  g.open();
  rec.wait_completions(3);
}

// Made smaller while its workers are busy: each over the new bound leaves once its job is
// over, none is stopped.
TEST(PoolControl, ASmallerPoolLetsRunningJobsFinishThenItsWorkersLeave) {
  recorder rec;
  gate g;
  std::mutex mu;
  std::condition_variable cv;
  std::size_t exits = 0;
  pool p(
      {.workers_min = 3, .workers_max = 3, .reserved_high = 0, .on_worker_exit = [&](std::size_t) {
         {
           std::lock_guard lk(mu);
           ++exits;
         }
         cv.notify_all();
       }});
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(p.try_submit(rec.request(name, lane::normal, &g)));
  for (const char* name : {"a", "b", "c"}) rec.wait_started(name);
  p.resize(1, 1);
  EXPECT_EQ(p.stats().busy, 3u);
  g.open();
  for (const char* name : {"a", "b", "c"})
    EXPECT_EQ(rec.wait_done(name).status, job_status::succeeded);
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, must_happen_within, [&] { return exits == 2; }));
  }
  EXPECT_EQ(p.stats().workers, 1u);
  // The one left still works.
  ASSERT_TRUE(p.try_submit(rec.request("after")));
  EXPECT_EQ(rec.wait_done("after").status, job_status::succeeded);
}

TEST(PoolControl, ABadSizeIsRefusedNamingTheFieldAndChangesNothing) {
  pool p({.workers_min = 2, .workers_max = 4, .reserved_high = 1});
  const auto refused = [&p](std::size_t min, std::size_t max, const std::string& field) {
    try {
      p.resize(min, max);
      ADD_FAILURE() << min << ".." << max << " was taken";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  refused(0, 4, "workers_min");
  refused(3, 2, "workers_max");
  refused(2, 1, "workers_max");
  refused(1, 1, "reserved_high");  // the reserved worker needs a shared one beside it
  EXPECT_EQ(p.stats().workers_min, 2u);
  EXPECT_EQ(p.stats().workers_max, 4u);
}

}  // namespace
}  // namespace jobd::pool
