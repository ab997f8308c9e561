#include "server/job_store.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <future>
#include <set>

#include "pool/pool.hpp"
#include "pool/sleep.hpp"

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

double queue_ms(const job_store& s, const job_record& rec) {
  return nlohmann::json::parse(s.render(rec))["queue_ms"].get<double>();
}

// The pool's own queue_wait is read from other clock readings than the store's: it must not
// replace a figure already shown.
TEST(JobStore, QueueTimeStopsAtTheStartAndNeverChangesOnceItHas) {
  job_store s(10, 3600s);
  auto started = add(s);
  s.mark_running(*started);
  const double at_start = queue_ms(s, *started);
  EXPECT_EQ(queue_ms(s, *started), at_start);  // running: no longer counting
  pool::job_outcome done = succeeded();
  done.queue_wait = 5s;
  s.finish(*started, done);
  EXPECT_EQ(queue_ms(s, *started), at_start);

  auto never = add(s);
  const double while_queued = queue_ms(s, *never);
  pool::job_outcome cancelled;
  cancelled.status = pool::job_status::cancelled;
  cancelled.queue_wait = 5s;
  s.finish(*never, cancelled);
  const double at_end = queue_ms(s, *never);
  EXPECT_GE(at_end, while_queued);
  EXPECT_LT(at_end, 5000.0);
  EXPECT_EQ(queue_ms(s, *never), at_end);
}

TEST(JobStore, IdsAreUniqueAndOpaque) {
  job_store s(100, 3600s);
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.emplace(s.make("noop", pool::lane::normal, 1s)->id.view());
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
  EXPECT_EQ(nlohmann::json::parse(s.list(std::nullopt, 100))["jobs"].size(), 3u);
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
  EXPECT_EQ(nlohmann::json::parse(s.render(*s.find(early->id)))["status"], "succeeded");
  auto next = add(s);
  s.finish(*next, succeeded());
  EXPECT_EQ(s.find(early->id), nullptr);  // counted against the bound like any other
}

// A job can end before the store has its handle: here its deadline passes in the queue. The
// pool's job then still holds its work, which holds the record; a record holding the job's
// handle would close the loop and neither would ever be freed.
TEST(JobStore, AJobThatEndsBeforeItIsInsertedIsFreedOnceForgotten) {
  job_store s(1, 3600s);
  pool::pool p({.workers_min = 1, .workers_max = 1, .reserved_high = 0});
  // Holds the one worker until the pool is destroyed at the end.
  ASSERT_TRUE(p.try_submit({.timeout = 60s,
                            .work =
                                [](const pool::job_context& ctx) {
                                  pool::sleep_until(ctx.stop, pool::clock::time_point::max());
                                },
                            .on_done = [](const pool::job_outcome&) {}}));
  auto rec = s.make("sleep", pool::lane::normal, 1ms);
  const std::weak_ptr<job_record> watch = rec;
  {
    std::promise<void> ended;
    auto submitted = p.try_submit({.timeout = 1ms,
                                   .work = [rec](const pool::job_context&) {},
                                   .on_done =
                                       [rec, &s, &ended](const pool::job_outcome& o) {
                                         s.finish(*rec, o);
                                         ended.set_value();
                                       }});
    ASSERT_TRUE(submitted);
    ended.get_future().wait();  // timed out in the queue behind the first job
    s.insert(rec, submitted.handle());
  }
  EXPECT_EQ(nlohmann::json::parse(s.render(*rec))["status"], "timed_out");
  rec.reset();
  auto next = add(s);
  s.finish(*next, succeeded());  // the store forgets the older record
  // The pool's timer thread may still be unwinding from ending the job: once the pool has
  // stopped, nothing but a leak can hold the record.
  p.drain(0ms);
  EXPECT_TRUE(watch.expired());
}

// An answer picks its status by the phase its body shows: both must come from one reading.
TEST(JobStore, RenderTellsThePhaseItsTextShows) {
  job_store s(10, 3600s);
  auto rec = add(s);
  auto shown = [&] {
    job_phase p{};
    const auto text = nlohmann::json::parse(s.render(*rec, &p));
    EXPECT_EQ(text["status"], to_string(p));
    return p;
  };
  EXPECT_EQ(shown(), job_phase::queued);
  s.mark_running(*rec);
  EXPECT_EQ(shown(), job_phase::running);
  s.finish(*rec, succeeded());
  EXPECT_EQ(shown(), job_phase::succeeded);
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
  const auto j = nlohmann::json::parse(s.render(*rec));
  EXPECT_EQ(j["status"], "timed_out");
  EXPECT_EQ(j["error"]["code"], "timed_out");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("1000 ms"), std::string::npos);
  EXPECT_FALSE(j.contains("result"));
  EXPECT_TRUE(j["run_ms"].is_null());
}

TEST(JobStore, FindsJobsByTheirIdOnlyInTheExactForm) {
  job_store s(10, 3600s);
  auto rec = add(s);
  ASSERT_EQ(s.find(rec->id), rec);
  const std::string id(rec->id.view());
  std::string upper = id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != id) {
    EXPECT_EQ(s.find(upper), nullptr);
  }
  EXPECT_EQ(s.find(id + "0"), nullptr);
  EXPECT_EQ(s.find(id.substr(1)), nullptr);
  EXPECT_EQ(s.find("zzzzzzzzzzzzzzzz"), nullptr);
  // Any other well-formed id decodes to a sequence number the store never gave out.
  std::string other(rec->id.view());
  other[0] = other[0] == '0' ? '1' : '0';
  EXPECT_EQ(s.find(other), nullptr);
}

TEST(JobStore, RendersTheJobObjectOfTheApi) {
  job_store s(10, 3600s);
  auto rec = add(s);
  s.mark_running(*rec);
  s.set_result(*rec, nlohmann::json{{"answer", "caf\xc3\xa9 \"q\"\n"}});
  s.finish(*rec, succeeded());
  const auto j = nlohmann::json::parse(s.render(*rec));
  EXPECT_EQ(j["id"], rec->id);
  EXPECT_EQ(j["type"], "noop");
  EXPECT_EQ(j["priority"], "normal");
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_EQ(j["timeout_ms"], 1000);
  EXPECT_TRUE(j["queue_ms"].is_number_float());
  EXPECT_TRUE(j["run_ms"].is_number_float());
  EXPECT_EQ(j["result"]["answer"], "caf\xc3\xa9 \"q\"\n");
  EXPECT_FALSE(j.contains("error"));
  for (const char* t : {"created_at", "started_at", "finished_at"}) {
    const std::string v = j[t];
    ASSERT_EQ(v.size(), 24u) << t;
    EXPECT_EQ(v[10], 'T');
    EXPECT_EQ(v.back(), 'Z');
  }
}

}  // namespace
}  // namespace jobd::server
