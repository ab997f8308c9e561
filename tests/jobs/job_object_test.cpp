#include "jobs/job_object.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jobd::jobs {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using store::job_status;

store::job_record a_job(job_status status) {
  store::job_record r;
  r.seq = 7;
  r.id = opaque_id(7, 99);
  r.type = "echo";
  r.timeout = 1000ms;
  r.created_at = std::chrono::system_clock::time_point(1'764'171'000'123ms);
  r.status = status;
  return r;
}

json rendered(const store::job_record& r, std::chrono::system_clock::time_point now) {
  std::string out;
  json_time_writer times;
  append_job_object(out, r, now, times);
  return json::parse(out);
}

TEST(JobObject, AJobThatSucceededShowsItsResultAndItsTimes) {
  store::job_record r = a_job(job_status::succeeded);
  r.started_at = r.created_at + 2ms;
  r.finished_at = r.created_at + 5ms;
  r.queue_time = 2ms;
  r.run_time = 3ms;
  r.result = std::make_shared<const json>(json{{"answer", "caf\xc3\xa9 \"q\"\n"}});
  const json j = rendered(r, r.created_at + 1h);
  EXPECT_EQ(j["id"], std::string(r.id.view()));
  EXPECT_EQ(j["type"], "echo");
  EXPECT_EQ(j["priority"], "normal");
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_EQ(j["timeout_ms"], 1000);
  EXPECT_EQ(j["created_at"], "2025-11-26T15:30:00.123Z");
  EXPECT_EQ(j["started_at"], "2025-11-26T15:30:00.125Z");
  EXPECT_EQ(j["finished_at"], "2025-11-26T15:30:00.128Z");
  EXPECT_EQ(j["queue_ms"], 2.0);
  EXPECT_EQ(j["run_ms"], 3.0);
  EXPECT_EQ(j["result"]["answer"], "caf\xc3\xa9 \"q\"\n");
  EXPECT_FALSE(j.contains("error"));
}

TEST(JobObject, AttemptsListTheEarlierOnesAndTheCurrentOne) {
  store::job_record first = a_job(job_status::queued);
  const json queued = rendered(first, first.created_at);
  EXPECT_EQ(queued["attempt"], 1);
  EXPECT_EQ(queued["max_attempts"], 1);
  EXPECT_EQ(queued["run_at"], nullptr);
  EXPECT_EQ(queued["next_attempt_at"], nullptr);
  EXPECT_EQ(queued["attempts"], json::array());  // none made yet

  store::job_record r = a_job(job_status::scheduled);
  r.attempt = 2;
  r.max_attempts = 3;
  r.next_attempt_at = r.created_at + 1s;
  r.earlier_attempts = {{.number = 1,
                         .status = job_status::failed,
                         .started_at = r.created_at,
                         .finished_at = r.created_at + 4ms,
                         .error = store::job_failure{"exit_code", "exit 3", nullptr}}};
  const json waiting = rendered(r, r.created_at + 10ms);
  EXPECT_EQ(waiting["status"], "scheduled");
  EXPECT_EQ(waiting["attempt"], 2);
  EXPECT_EQ(waiting["max_attempts"], 3);
  EXPECT_EQ(waiting["next_attempt_at"], "2025-11-26T15:30:01.123Z");
  ASSERT_EQ(waiting["attempts"].size(), 1u) << waiting;
  EXPECT_EQ(waiting["attempts"][0],
            (json{{"attempt", 1},
                  {"status", "failed"},
                  {"started_at", "2025-11-26T15:30:00.123Z"},
                  {"finished_at", "2025-11-26T15:30:00.127Z"},
                  {"node", nullptr},
                  {"error", {{"code", "exit_code"}, {"message", "exit 3"}}}}));

  // Due and queued again: its wait counts from when it fell due.
  r.status = job_status::queued;
  EXPECT_EQ(rendered(r, r.created_at + 1250ms)["queue_ms"], 250.0);

  r.status = job_status::succeeded;
  r.started_at = r.created_at + 1s;
  r.finished_at = r.created_at + 1002ms;
  r.run_time = 2ms;
  const json done = rendered(r, r.created_at + 1h);
  EXPECT_EQ(done["next_attempt_at"], nullptr);  // only while it waits for it
  ASSERT_EQ(done["attempts"].size(), 2u) << done;
  EXPECT_EQ(done["attempts"][1], (json{{"attempt", 2},
                                       {"status", "succeeded"},
                                       {"started_at", "2025-11-26T15:30:01.123Z"},
                                       {"finished_at", "2025-11-26T15:30:01.125Z"},
                                       {"node", nullptr},
                                       {"error", nullptr}}));
}

TEST(JobObject, AJobUnderWayShowsLiveFiguresAndNoResult) {
  const store::job_record queued = a_job(job_status::queued);
  const json q = rendered(queued, queued.created_at + 250ms);
  EXPECT_EQ(q["queue_ms"], 250.0);
  EXPECT_TRUE(q["run_ms"].is_null());
  EXPECT_TRUE(q["started_at"].is_null());
  EXPECT_FALSE(q.contains("result"));

  store::job_record running = a_job(job_status::running);
  running.started_at = running.created_at + 10ms;
  running.queue_time = 10ms;
  const json r = rendered(running, running.created_at + 60ms);
  EXPECT_EQ(r["queue_ms"], 10.0);
  EXPECT_EQ(r["run_ms"], 50.0);
  EXPECT_TRUE(r["finished_at"].is_null());
}

TEST(JobObject, AnErrorCarriesTheHandlersOwnFieldsEscaped) {
  store::job_record r = a_job(job_status::failed);
  r.finished_at = r.created_at;
  r.error = store::job_failure{
      "nonzero_exit", "the command exited with status 3",
      std::make_shared<const json>(json{{"exit_code", 3}, {"std\"err", "line\n"}, {"code", "x"}})};
  const json j = rendered(r, r.created_at);
  EXPECT_EQ(j["error"]["code"], "nonzero_exit");  // a handler's own code field is not shown
  EXPECT_EQ(j["error"]["message"], "the command exited with status 3");
  EXPECT_EQ(j["error"]["exit_code"], 3);
  EXPECT_EQ(j["error"]["std\"err"], "line\n");
  EXPECT_FALSE(j.contains("result"));
  EXPECT_TRUE(j["run_ms"].is_null());
}

}  // namespace
}  // namespace jobd::jobs
