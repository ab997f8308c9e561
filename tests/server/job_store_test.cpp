#include "server/job_store.hpp"

#include <gtest/gtest.h>

#include <set>

namespace jobd::server {
namespace {

using namespace std::chrono_literals;

pool::job_outcome succeeded() {
  pool::job_outcome o;
  o.status = pool::job_status::succeeded;
  o.started = true;
  return o;
}

std::shared_ptr<job_record> add(job_store& s) {
  auto rec = s.make("noop", pool::lane::normal, 1000ms);
  s.insert(rec, {});
  return rec;
}

TEST(JobStore, IdsAreUniqueAndOpaque) {
  job_store s(100, 3600s);
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.insert(s.make("noop", pool::lane::normal, 1s)->id);
  EXPECT_EQ(ids.size(), 10'000u);
  EXPECT_EQ(ids.begin()->size(), 16u);
}

TEST(JobStore, KeepsOnlyTheNewestFinishedJobsButNeverForgetsLiveOnes) {
  job_store s(2, 3600s);
  auto live = add(s);
  std::vector<std::shared_ptr<job_record>> done;
  for (int i = 0; i < 4; ++i) {
    done.push_back(add(s));
    s.finish(*done.back(), succeeded());
  }
  EXPECT_NE(s.find(live->id), nullptr);
  EXPECT_EQ(s.find(done[0]->id), nullptr);
  EXPECT_EQ(s.find(done[1]->id), nullptr);
  EXPECT_NE(s.find(done[2]->id), nullptr);
  EXPECT_NE(s.find(done[3]->id), nullptr);
  EXPECT_EQ(s.list(std::nullopt, 100)["jobs"].size(), 3u);
}

TEST(JobStore, ForgetsFinishedJobsOlderThanTheRetentionTime) {
  job_store s(100, 0s);  // every finished job is already too old on the next look
  auto rec = add(s);
  s.finish(*rec, succeeded());
  EXPECT_EQ(s.find(rec->id), nullptr);
}

TEST(JobStore, AJobThatFinishesBeforeItIsInsertedIsStoredAsFinished) {
  job_store s(1, 3600s);
  auto early = s.make("noop", pool::lane::normal, 1s);
  s.finish(*early, succeeded());
  s.insert(early, {});
  EXPECT_EQ(s.render(*s.find(early->id))["status"], "succeeded");
  auto next = add(s);
  s.finish(*next, succeeded());
  EXPECT_EQ(s.find(early->id), nullptr);  // counted against the bound like any other
}

TEST(JobStore, WaitersRunOnceWhenTheJobFinishesAndNotAfter) {
  job_store s(10, 3600s);
  auto rec = add(s);
  int calls = 0;
  EXPECT_TRUE(s.wait(*rec, [&] { ++calls; }));
  s.finish(*rec, succeeded());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(s.wait(*rec, [&] { ++calls; }));
  EXPECT_EQ(calls, 1);
}

TEST(JobStore, RendersTheErrorOfFailedTimedOutAndCancelledJobs) {
  job_store s(10, 3600s);
  auto rec = add(s);
  pool::job_outcome o;
  o.status = pool::job_status::timed_out;
  s.finish(*rec, o);
  const auto j = s.render(*rec);
  EXPECT_EQ(j["status"], "timed_out");
  EXPECT_EQ(j["error"]["code"], "timed_out");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("1000 ms"), std::string::npos);
  EXPECT_FALSE(j.contains("result"));
  EXPECT_TRUE(j["run_ms"].is_null());
}

TEST(JobStore, FormatsTimesAsRfc3339UtcWithMilliseconds) {
  const auto t =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'171'000'123));
  EXPECT_EQ(rfc3339(t), "2025-11-26T15:30:00.123Z");
}

}  // namespace
}  // namespace jobd::server
