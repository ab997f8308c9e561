// Concurrency limits: at most N jobs of a group, at most M of a key within it; a job over a
// limit waits without holding up the jobs behind it, and the jobs of a group or a key start in
// their order. Cancels, deadlines and drains give its places back.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "pool/pool.hpp"
#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::gate;
using testing::must_happen_within;
using testing::recorder;

// A job request under limits, held at its own gate.
class limited_jobs {
 public:
  job_request request(const std::string& name, const std::string& group, std::size_t group_limit,
                      const std::string& key = "", std::size_t key_limit = 1, lane l = lane::normal,
                      clock::duration timeout = 60s) {
    job_request r = rec.request(name, l, &gates_[name], timeout);
    r.limits = {.group = group, .group_limit = group_limit, .key = key, .key_limit = key_limit};
    return r;
  }
  void open(const std::string& name) { gates_[name].open(); }
  void open_all() {
    for (auto& [name, g] : gates_) g.open();
  }
  recorder rec;

 private:
  std::map<std::string, gate> gates_;
};

std::size_t running_in(const pool& p, const std::string& group) {
  for (const group_stats& g : p.stats().groups) {
    if (g.name == group) return g.running;
  }
  return 0;
}

TEST(PoolLimits, AGroupRunsAtMostItsLimitAndHoldsUpNoOtherJob) {
  limited_jobs j;
  pool p({.workers_min = 4, .workers_max = 4, .reserved_high = 0});
  for (const char* name : {"t1", "t2", "t3", "t4"})
    ASSERT_TRUE(p.try_submit(j.request(name, "t", 2)));
  ASSERT_TRUE(p.try_submit(j.rec.request("free")));  // behind them, no limit
  j.rec.wait_done("free");
  j.rec.wait_started("t2");
  EXPECT_FALSE(j.rec.started("t3"));
  EXPECT_EQ(running_in(p, "t"), 2u);
  EXPECT_EQ(p.stats().of(lane::normal).depth, 2u);
  const auto groups = p.stats().groups;
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].limit, 2u);
  j.open("t1");
  j.rec.wait_started("t3");
  EXPECT_FALSE(j.rec.started("t4"));
  j.open_all();
  j.rec.wait_completions(5);
  // t1, t2 and free started together, in any order; t3 and t4 after them, in theirs.
  const auto starts = j.rec.starts();
  ASSERT_EQ(starts.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(starts.begin() + 3, starts.end()),
            (std::vector<std::string>{"t3", "t4"}));
  // Nothing in line or running: the group is forgotten.
  EXPECT_TRUE(p.stats().groups.empty());
}

TEST(PoolLimits, AKeyRunsOneAtATimeInOrderWithoutHoldingUpOtherKeys) {
  limited_jobs j;
  pool p({.workers_min = 4, .workers_max = 4, .reserved_high = 0});
  ASSERT_TRUE(p.try_submit(j.request("a1", "hook", 0, "a")));
  ASSERT_TRUE(p.try_submit(j.request("a2", "hook", 0, "a")));
  ASSERT_TRUE(p.try_submit(j.request("a3", "hook", 0, "a")));
  ASSERT_TRUE(p.try_submit(j.request("b1", "hook", 0, "b")));
  // The same key in another group is another key.
  ASSERT_TRUE(p.try_submit(j.request("other-a", "deploy", 0, "a")));
  j.rec.wait_started("b1");
  j.rec.wait_started("other-a");
  j.rec.wait_started("a1");
  EXPECT_FALSE(j.rec.started("a2"));
  j.open("a1");
  j.rec.wait_started("a2");
  EXPECT_FALSE(j.rec.started("a3"));
  j.open("a2");
  j.rec.wait_started("a3");
  j.open_all();
  j.rec.wait_completions(5);
}

// A key blocked by its own limit takes no place of its group's: other keys use it.
TEST(PoolLimits, AJobWaitingForItsKeyTakesNoPlaceOfItsGroup) {
  limited_jobs j;
  pool p({.workers_min = 4, .workers_max = 4, .reserved_high = 0});
  ASSERT_TRUE(p.try_submit(j.request("a1", "t", 2, "a")));
  ASSERT_TRUE(p.try_submit(j.request("a2", "t", 2, "a")));
  ASSERT_TRUE(p.try_submit(j.request("b1", "t", 2, "b")));
  ASSERT_TRUE(p.try_submit(j.request("c1", "t", 2, "c")));
  j.rec.wait_started("b1");
  EXPECT_FALSE(j.rec.started("a2"));
  EXPECT_FALSE(j.rec.started("c1"));  // the group is full: a1 and b1
  j.open("a1");
  // a2 (its key free now) came before c1: it goes first.
  j.rec.wait_started("a2");
  EXPECT_FALSE(j.rec.started("c1"));
  j.open("b1");
  j.rec.wait_started("c1");
  j.open_all();
  j.rec.wait_completions(4);
  // a1 and b1 started together, in any order; a2, then c1, after them.
  const auto starts = j.rec.starts();
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(starts.begin() + 2, starts.end()),
            (std::vector<std::string>{"a2", "c1"}));
}

TEST(PoolLimits, AKeyMayAllowMoreThanOne) {
  limited_jobs j;
  pool p({.workers_min = 4, .workers_max = 4, .reserved_high = 0});
  for (const char* name : {"k1", "k2", "k3"})
    ASSERT_TRUE(p.try_submit(j.request(name, "t", 0, "k", 2)));
  j.rec.wait_started("k2");
  EXPECT_FALSE(j.rec.started("k3"));
  j.open("k2");
  j.rec.wait_started("k3");
  j.open_all();
  j.rec.wait_completions(3);
}

// A job that leaves its line before it starts (cancelled, or its deadline passed) lets the
// next one in; one that leaves a place it held gives the place back.
TEST(PoolLimits, CancelsAndDeadlinesGiveTheirPlacesBack) {
  limited_jobs j;
  pool p({.workers_min = 2, .workers_max = 2, .reserved_high = 0});
  ASSERT_TRUE(p.try_submit(j.request("first", "t", 1)));
  auto cancelled = p.try_submit(j.request("cancelled", "t", 1));
  ASSERT_TRUE(p.try_submit(j.request("expires", "t", 1, "", 1, lane::normal, 50ms)));
  ASSERT_TRUE(p.try_submit(j.request("last", "t", 1)));
  j.rec.wait_started("first");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(p.cancel(cancelled.handle()), cancel_result::cancelled);
  EXPECT_EQ(j.rec.wait_done("cancelled").status, job_status::cancelled);
  EXPECT_EQ(j.rec.wait_done("expires").status, job_status::timed_out);
  EXPECT_FALSE(j.rec.started("last"));
  EXPECT_EQ(p.stats().of(lane::normal).depth, 1u);
  j.open("first");
  j.rec.wait_started("last");
  j.open("last");
  EXPECT_EQ(j.rec.wait_done("last").status, job_status::succeeded);
  EXPECT_FALSE(j.rec.started("cancelled"));
  EXPECT_FALSE(j.rec.started("expires"));
}

// Jobs under limits count against their lane's bound, and a drain ends those still in line.
TEST(PoolLimits, LimitedJobsFillTheirLaneAndADrainEndsThem) {
  limited_jobs j;
  pool p({.workers_min = 1, .workers_max = 1, .reserved_high = 0, .normal_capacity = 2});
  ASSERT_TRUE(p.try_submit(j.request("running", "t", 1)));
  j.rec.wait_started("running");
  ASSERT_TRUE(p.try_submit(j.request("waits1", "t", 1)));
  ASSERT_TRUE(p.try_submit(j.request("waits2", "t", 1)));
  EXPECT_EQ(p.try_submit(j.request("refused", "t", 1)).error(), submit_error::queue_full);
  j.open("running");
  j.rec.wait_started("waits1");
  p.drain(0ms);
  EXPECT_EQ(j.rec.wait_done("waits1").status, job_status::cancelled);  // stopped at its gate
  EXPECT_EQ(j.rec.wait_done("waits2").status, job_status::cancelled);
  EXPECT_FALSE(j.rec.started("waits2"));
}

// A group spans both lanes, in arrival order; a reserved worker takes a ready high job.
TEST(PoolLimits, AGroupSpansBothLanes) {
  limited_jobs j;
  pool p({.workers_min = 2, .workers_max = 2, .reserved_high = 1});
  ASSERT_TRUE(p.try_submit(j.request("n1", "t", 1)));
  j.rec.wait_started("n1");
  ASSERT_TRUE(p.try_submit(j.request("h1", "t", 1, "", 1, lane::high)));
  ASSERT_TRUE(p.try_submit(j.rec.request("h-free", lane::high)));
  j.rec.wait_done("h-free");
  EXPECT_FALSE(j.rec.started("h1"));
  j.open("n1");
  j.rec.wait_started("h1");
  j.open_all();
  j.rec.wait_completions(3);
}

// A cheap job for the caller's thread never runs there past a limit: it queues.
TEST(PoolLimits, RunHereQueuesALimitedJob) {
  limited_jobs j;
  pool p({.workers_min = 1, .workers_max = 1, .reserved_high = 0});
  auto place = p.admit(lane::normal);
  ASSERT_TRUE(place);
  j.open("cheap");
  (void)p.run_here(place.take(), j.request("cheap", "t", 1));
  EXPECT_EQ(j.rec.wait_done("cheap").status, job_status::succeeded);
}

}  // namespace
}  // namespace jobd::pool
