#include "jobs/service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <set>

#include "service_fixture.hpp"

namespace jobd::jobs {
namespace {

using namespace std::chrono_literals;
using testing::service_fixture;
using json = nlohmann::json;
using store::job_status;

TEST(JobService, RefusalsStoreNothingAndRunNothing) {
  service_fixture f;
  const auto unknown = f.submit({.type = "nope"});
  ASSERT_FALSE(unknown.accepted());
  EXPECT_EQ(unknown.refused().why, refusal::kind::unknown_type);
  EXPECT_NE(unknown.refused().message.find("known types: cpu, echo, fail, gated, noop, sleep"),
            std::string::npos)
      << unknown.refused().message;

  const auto too_long = f.submit({.type = "noop", .timeout = 61s});
  ASSERT_FALSE(too_long.accepted());
  EXPECT_EQ(too_long.refused().why, refusal::kind::invalid);
  EXPECT_EQ(too_long.refused().field, "timeout_ms");
  EXPECT_EQ(too_long.refused().message, "timeout_ms must be an integer 1..60000");

  const auto refused_payload = f.submit({.type = "sleep", .payload_json = R"({"ms":"soon"})"});
  ASSERT_FALSE(refused_payload.accepted());
  EXPECT_EQ(refused_payload.refused().why, refusal::kind::invalid);
  EXPECT_EQ(refused_payload.refused().field, "payload");
  EXPECT_NE(refused_payload.refused().message.find("payload.ms"), std::string::npos);

  const auto not_json = f.submit({.type = "echo", .payload_json = "{"});
  ASSERT_FALSE(not_json.accepted());
  EXPECT_EQ(not_json.refused().why, refusal::kind::invalid);

  EXPECT_EQ(f.store.writes(), 0u);
  const pool::pool_stats s = f.jobs.pool_stats();
  EXPECT_EQ(s.of(pool::lane::normal).submitted, 0u);
  EXPECT_EQ(s.of(pool::lane::normal).depth, 0u);
}

TEST(JobService, AFullLaneRefusesWithItsBoundAndAHintOfWhenToRetry) {
  service_fixture f({.workers_min = 1, .workers_max = 1, .reserved_high = 0, .normal_capacity = 1});
  const auto first = f.submit({.type = "gated"});
  ASSERT_TRUE(first.accepted());
  f.running(first.job().id);  // out of the lane, which has room for one more
  ASSERT_TRUE(f.submit({.type = "gated"}).accepted());  // queued behind it
  const auto full = f.submit({.type = "gated"});
  ASSERT_FALSE(full.accepted());
  EXPECT_EQ(full.refused().why, refusal::kind::queue_full);
  EXPECT_GE(full.refused().retry_after, 1s);
  std::string message;
  full.refused().append_message(message);
  EXPECT_EQ(message, "the normal lane is full (1 job); retry after " +
                         std::to_string(full.refused().retry_after.count()) + " s");
  // The other lane has room of its own.
  EXPECT_TRUE(f.submit({.type = "noop", .priority = pool::lane::high}).accepted());
  f.gated.open();
}

// A cheap job on an idle lane runs on the caller's thread, within the call, and is answered
// before the call returns: no hand-off to a worker and back.
TEST(JobService, ACheapJobRunsWithinTheCallAndIsAnsweredBeforeItReturns) {
  service_fixture f;
  bool answered_within = false;
  std::optional<store::job_record> job;
  f.on_io([&] {
    bool returned = false;
    f.jobs.submit({.type = "noop"}, f.ioc.get_executor(), [&](submit_outcome o) {
      answered_within = !returned;
      if (o.accepted()) job = o.job();
    });
    returned = true;
  });
  EXPECT_TRUE(answered_within);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, job_status::succeeded);
  EXPECT_EQ(f.jobs.pool_stats().busy, 0u);
}

// Every change of a job's state is stored, the first before it can run.
TEST(JobService, EveryChangeIsStoredTheFirstBeforeTheJobRuns) {
  service_fixture f;
  const auto accepted = f.submit({.type = "echo", .payload_json = R"({"n":1})"});
  ASSERT_TRUE(accepted.accepted());
  const std::optional<store::job_record> end = f.ended(accepted.job().id);
  ASSERT_EQ(end->status, job_status::succeeded);
  EXPECT_EQ(*end->result, json::parse(R"({"n":1})"));
  EXPECT_EQ(
      f.store.statuses_of(end->seq),
      (std::vector<job_status>{job_status::queued, job_status::running, job_status::succeeded}));
  EXPECT_EQ(end->version, 2u);
}

TEST(JobService, AStoreThatCannotStoreTheJobRefusesItAndItNeverRuns) {
  service_fixture f({.workers_min = 1, .workers_max = 1, .reserved_high = 0, .normal_capacity = 1});
  std::atomic<int> runs{0};
  f.types.add(
      {.name = "counted", .kind = "builtin", .run = [&runs](const json&, const pool::job_context&) {
         ++runs;
         return json(nullptr);
       }});
  f.store.fail(true);
  const auto refused = f.submit({.type = "counted"});
  ASSERT_FALSE(refused.accepted());
  EXPECT_EQ(refused.refused().why, refusal::kind::store_unavailable);
  EXPECT_NE(refused.refused().message.find("the disk is full"), std::string::npos);
  // Its place in the lane was given back: the lane's one place takes the next job.
  f.store.fail(false);
  const auto next = f.submit({.type = "counted"});
  ASSERT_TRUE(next.accepted());
  f.ended(next.job().id);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(f.jobs.pool_stats().of(pool::lane::normal).submitted, 1u);
}

// A store known to be down refuses at once: nothing is written, no place in a lane is taken.
TEST(JobService, AStoreKnownToBeDownRefusesSubmissionsBeforeAnyWrite) {
  service_fixture f({.workers_min = 1, .workers_max = 1, .reserved_high = 0, .normal_capacity = 1});
  f.store.fail(true, /*says_so=*/true);
  const auto refused = f.submit({.type = "noop"});
  ASSERT_FALSE(refused.accepted());
  EXPECT_EQ(refused.refused().why, refusal::kind::store_unavailable);
  EXPECT_EQ(refused.refused().message, "the job store is unavailable: the disk is full");
  EXPECT_EQ(refused.refused().retry_after, std::chrono::seconds(1));
  EXPECT_EQ(f.store.writes(), 0u);
  EXPECT_EQ(f.jobs.pool_stats().of(pool::lane::normal).depth, 0u);
  f.store.fail(false);
  const auto next = f.submit({.type = "noop"});
  ASSERT_TRUE(next.accepted());
  EXPECT_EQ(f.ended(next.job().id)->status, job_status::succeeded);
}

// Nobody is told of an end a crash could still undo: until a job's end is stored, the job reads
// as the store has it and its waiters wait, even for a cheap job that ended within its
// submission's call.
TEST(JobService, AJobsEndIsShownOnlyOnceItIsStored) {
  service_fixture f;
  f.store.hold_changes(true);
  const auto accepted = f.submit({.type = "noop"});
  ASSERT_TRUE(accepted.accepted());
  EXPECT_FALSE(store::is_terminal(accepted.job().status));
  std::promise<lookup> got;
  f.on_io([&] {
    f.jobs.wait(accepted.job().id, std::nullopt, f.ioc.get_executor(),
                [&got](lookup l) { got.set_value(std::move(l)); });
  });
  auto answer = got.get_future();
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);
  EXPECT_FALSE(store::is_terminal(f.get(accepted.job().id).job->status));
  f.store.hold_changes(false);
  EXPECT_EQ(answer.get().job->status, job_status::succeeded);
  EXPECT_EQ(f.get(accepted.job().id).job->status, job_status::succeeded);
}

// A job's end the store cannot take yet answers its waiters with the job as the store has it,
// rather than holding them while the store is down; the end is stored once it is back.
TEST(JobService, AnEndTheStoreCannotTakeAnswersWaitersWithTheJobAsStored) {
  service_fixture f;
  const auto accepted = f.submit({.type = "gated"});
  ASSERT_TRUE(accepted.accepted());
  ASSERT_EQ(f.running(accepted.job().id)->status, job_status::running);
  std::promise<lookup> got;
  f.on_io([&] {
    f.jobs.wait(accepted.job().id, std::nullopt, f.ioc.get_executor(),
                [&got](lookup l) { got.set_value(std::move(l)); });
  });
  f.store.fail(true);
  f.gated.open();
  const lookup answered = got.get_future().get();
  ASSERT_TRUE(answered.job);
  EXPECT_EQ(answered.job->status, job_status::running);
  EXPECT_FALSE(answered.error);
  EXPECT_EQ(f.get(accepted.job().id).job->status, job_status::running);
  f.store.fail(false);
  const auto end = f.ended(accepted.job().id);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, job_status::succeeded);
  const auto statuses = f.store.statuses_of(end->seq);
  ASSERT_FALSE(statuses.empty());
  EXPECT_EQ(statuses.back(), job_status::succeeded);
}

TEST(JobService, AWaitIsAnsweredAtTheJobsEndOnTheCallersExecutor) {
  service_fixture f;
  const auto accepted = f.submit({.type = "gated"});
  ASSERT_TRUE(accepted.accepted());
  std::promise<std::pair<lookup, std::thread::id>> got;
  f.on_io([&] {
    f.jobs.wait(accepted.job().id, std::nullopt, f.ioc.get_executor(), [&got](lookup l) {
      got.set_value({std::move(l), std::this_thread::get_id()});
    });
  });
  auto answer = got.get_future();
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);  // not before its end
  f.gated.open();
  const auto [found, thread] = answer.get();
  EXPECT_EQ(thread, f.io.get_id());
  ASSERT_TRUE(found.job);
  EXPECT_EQ(found.job->status, job_status::succeeded);
}

// A limit that passes first answers once, with the job as it stands; its end answers nothing.
TEST(JobService, AWaitsLimitAnswersOnceWithTheJobUnderWay) {
  service_fixture f;
  const auto accepted = f.submit({.type = "gated"});
  std::atomic<int> answers{0};
  std::promise<std::optional<store::job_record>> first;
  f.on_io([&] {
    f.jobs.wait(accepted.job().id, 10ms, f.ioc.get_executor(), [&](lookup l) {
      if (answers++ == 0) first.set_value(l.job);
    });
  });
  const std::optional<store::job_record> shown = first.get_future().get();
  EXPECT_EQ(shown->status, job_status::running);
  f.gated.open();
  EXPECT_EQ(f.ended(accepted.job().id)->status, job_status::succeeded);
  f.on_io([] {});  // whatever the end posted has run by now
  EXPECT_EQ(answers.load(), 1);
}

// A wait answered at the job's end must not hold the job until its limit (up to an hour): with
// quick jobs and long limits that is memory growing with the request rate.
TEST(JobService, AWaitAnsweredAtTheEndKeepsNothingAlive) {
  service_fixture f({.workers_min = 2, .workers_max = 2, .reserved_high = 1},
                    {.keep_newest = 1, .keep_for = 3600s});
  std::string id;
  std::weak_ptr<const json> payload;
  {
    const auto accepted = f.submit({.type = "gated", .payload_json = R"({"big":"payload"})"});
    ASSERT_TRUE(accepted.accepted());
    id = accepted.job().id.view();
    payload = accepted.job().payload;
  }
  std::promise<void> answered;
  f.on_io([&] {
    f.jobs.wait(id, 3600s, f.ioc.get_executor(), [&answered](lookup) { answered.set_value(); });
  });
  f.gated.open();
  answered.get_future().wait();
  // The store keeps only the newest finished job: another one makes it forget this one.
  ASSERT_TRUE(f.submit({.type = "noop"}).accepted());
  f.workers.drain(0ms);
  f.on_io([] {});  // the timer's cancelled handler has run
  EXPECT_TRUE(payload.expired());
}

TEST(JobService, CancelEndsAQueuedJobAtOnceAndStopsARunningOne) {
  service_fixture f({.workers_min = 1, .workers_max = 1, .reserved_high = 0});
  const auto running = f.submit({.type = "gated"});
  ASSERT_TRUE(running.accepted());
  f.running(running.job().id);
  const auto queued = f.submit({.type = "echo", .payload_json = "1"});  // behind it
  ASSERT_TRUE(queued.accepted());

  const cancel_outcome q = f.cancel(queued.job().id);
  EXPECT_EQ(q.what, cancel_outcome::kind::cancelled);
  ASSERT_TRUE(q.job);
  EXPECT_EQ(q.job->status, job_status::cancelled);
  EXPECT_EQ(q.job->error->message, "cancelled by request while queued");

  const cancel_outcome r = f.cancel(running.job().id);
  EXPECT_EQ(r.what, cancel_outcome::kind::stopping);
  EXPECT_EQ(f.ended(running.job().id)->status, job_status::cancelled);

  const cancel_outcome again = f.cancel(running.job().id);
  EXPECT_EQ(again.what, cancel_outcome::kind::already_finished);
  EXPECT_EQ(again.job->status, job_status::cancelled);
  EXPECT_EQ(f.cancel("0123456789abcdef").what, cancel_outcome::kind::not_found);
  EXPECT_EQ(f.cancel("not an id").what, cancel_outcome::kind::not_found);
}

TEST(JobService, IdsAreUniqueOpaqueAndFoundOnlyInTheirExactForm) {
  service_fixture f;
  std::set<std::string> ids;
  std::string id;
  for (int i = 0; i < 1000; ++i) {
    id = f.submit({.type = "noop"}).job().id.view();
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  ASSERT_EQ(id.size(), 16u);
  ASSERT_TRUE(f.get(id).job);
  EXPECT_EQ(f.get(id).job->id.view(), id);
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != id) {
    EXPECT_FALSE(f.get(upper).job);
  }
  EXPECT_FALSE(f.get(id + "0").job);
  EXPECT_FALSE(f.get(id.substr(1)).job);
  EXPECT_FALSE(f.get("zzzzzzzzzzzzzzzz").job);
  // Any other well-formed id decodes to a sequence number the service never gave out.
  std::string other = id;
  other[0] = other[0] == '0' ? '1' : '0';
  EXPECT_FALSE(f.get(other).job);
}

// The queue time is fixed when the job starts: what a job shows while it runs, it shows at
// its end.
TEST(JobService, QueueTimeStopsAtTheStartAndNeverChangesOnceItHas) {
  service_fixture f;
  const auto accepted = f.submit({.type = "gated"});
  const std::optional<store::job_record> running = f.running(accepted.job().id);
  f.gated.open();
  const std::optional<store::job_record> end = f.ended(accepted.job().id);
  EXPECT_EQ(end->queue_time, running->queue_time);
  ASSERT_TRUE(end->run_time);
  EXPECT_GT(*end->run_time, std::chrono::nanoseconds(0));
}

TEST(JobService, RunTimesAreCountedByTypeForJobsThatStarted) {
  service_fixture f;
  f.ended(f.submit({.type = "noop"}).job().id);
  f.ended(f.submit({.type = "echo"}).job().id);
  f.ended(f.submit({.type = "echo"}).job().id);
  const auto runs = f.jobs.run_seconds();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs.at("noop").count(), 1u);
  EXPECT_EQ(runs.at("echo").count(), 2u);
}

TEST(JobService, JobTypesCarryTheDefaultTimeoutTheyRunUnder) {
  service_fixture f;
  const auto types = f.jobs.job_types();
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front().name, "cpu");
  for (const auto& t : types) EXPECT_EQ(t.default_timeout, 30s) << t.name;
}

}  // namespace
}  // namespace jobd::jobs
