// Retries and scheduled jobs over HTTP: attempts with growing waits, what is retried and what
// is not, the type's settings, jobs that run later, a full schedule, a due job that waits for
// room in its lane, and the refusals of every new field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "common/rfc3339.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::chrono::system_clock::time_point time_of(const json& text) {
  const auto t = parse_rfc3339(text.get<std::string>());
  EXPECT_TRUE(t) << text;
  return t.value_or(std::chrono::system_clock::time_point{});
}

// From the end of one attempt to the start of the next, to the millisecond the API shows.
std::chrono::milliseconds gap(const json& job, std::size_t after) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      time_of(job["attempts"][after + 1]["started_at"]) -
      time_of(job["attempts"][after]["finished_at"]));
}

TEST(Retries, AFailedJobIsTriedAgainAfterGrowingWaitsAndTheSyncAnswerIsItsEnd) {
  jobd_process server({});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true",
                        R"({"type":"fail","payload":{"message":"boom"},"max_attempts":3,)"
                        R"("retry_backoff_ms":100})");
  ASSERT_EQ(r.status, 500) << r.body;
  const json job = r.json();
  EXPECT_EQ(job["status"], "failed");
  EXPECT_EQ(job["attempt"], 3);
  EXPECT_EQ(job["max_attempts"], 3);
  EXPECT_EQ(job["next_attempt_at"], nullptr);
  ASSERT_EQ(job["attempts"].size(), 3u) << job;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(job["attempts"][i]["attempt"], i + 1);
    EXPECT_EQ(job["attempts"][i]["status"], "failed");
    EXPECT_EQ(job["attempts"][i]["error"]["message"], "boom");
  }
  // 100 ms, then 200 ms, each +-25 % (and a millisecond for the times' rounding).
  EXPECT_GE(gap(job, 0), 74ms) << job;
  EXPECT_GE(gap(job, 1), 149ms) << job;
  EXPECT_EQ(sample_text(c.get("/metrics").body, R"(jobd_jobs_retried_total{type="fail"})"), "2");
}

TEST(Retries, ACancelledOrTimedOutBuiltinJobIsNotRetried) {
  jobd_process server({});
  http_client c(server.port());
  const auto timed_out =
      c.post("/v1/jobs?wait=true", sleep_job(5'000, R"(,"timeout_ms":50,"max_attempts":3)"));
  EXPECT_EQ(timed_out.status, 504) << timed_out.body;
  EXPECT_EQ(timed_out.json()["attempt"], 1);
  EXPECT_EQ(timed_out.json()["attempts"].size(), 1u);

  const std::string id = submit_async(c, sleep_job(60'000, R"(,"max_attempts":3)"));
  wait_running(c, id);
  cancel_running(c, id);
  const json cancelled = wait_terminal(c, id);
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_EQ(cancelled["attempt"], 1);
}

TEST(Retries, AnEndedJobThatDidNotSucceedIsRetriedOnRequest) {
  jobd_process server({});
  http_client c(server.port());
  const auto failed = c.post("/v1/jobs?wait=true", R"({"type":"fail","payload":{"message":"x"}})");
  ASSERT_EQ(failed.status, 500) << failed.body;
  const std::string id = failed.json()["id"];
  const auto r = c.post("/v1/jobs/" + id + "/retry", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["attempt"], 2);
  EXPECT_EQ(r.json()["max_attempts"], 2);  // grown to make room for it
  const json again = wait_terminal(c, id);
  EXPECT_EQ(again["status"], "failed");
  EXPECT_EQ(again["attempt"], 2);
  ASSERT_EQ(again["attempts"].size(), 2u) << again;
  EXPECT_EQ(again["attempts"][0]["finished_at"], failed.json()["finished_at"]);
  // Not retried by itself: it asked for one attempt, and had its two.
  EXPECT_EQ(c.get("/v1/jobs/" + id).json()["attempt"], 2);
}

TEST(Retries, ARetryOfAJobThatSucceededOrRunsOrIsUnknownIsRefused) {
  jobd_process server({});
  http_client c(server.port());
  const std::string done = c.post("/v1/jobs?wait=true", R"({"type":"echo"})").json()["id"];
  auto r = c.post("/v1/jobs/" + done + "/retry", "");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "already_succeeded");
  const std::string running = submit_async(c, sleep_job(60'000));
  wait_running(c, running);
  r = c.post("/v1/jobs/" + running + "/retry", "");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "not_finished");
  const std::string later = submit_async(c, R"({"type":"echo","delay_ms":60000})");
  EXPECT_EQ(c.post("/v1/jobs/" + later + "/retry", "").json()["error"]["code"], "not_finished");
  EXPECT_EQ(c.post("/v1/jobs/00000000deadbeef/retry", "").status, 404);
  r = c.get("/v1/jobs/" + running + "/retry");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST");
  cancel_running(c, running);
  // A cancelled job did not succeed: it may run again.
  (void)wait_terminal(c, running);
  EXPECT_EQ(c.post("/v1/jobs/" + running + "/retry", "").status, 202);
  cancel_running(c, running);
}

class RetriesOfExecTypes : public ::testing::Test {
 protected:
  RetriesOfExecTypes() {
    const std::string flag = (dir_.path() / "tried").string();
    const json cfg = {{"job_types",
                       {// Fails the first time it runs, then succeeds.
                        {"flaky",
                         {{"command",
                           {"/bin/sh", "-c",
                            "if [ -e " + flag + " ]; then echo ok; else : > " + flag +
                                "; echo not yet >&2; exit 3; fi"}},
                          {"max_attempts", 3},
                          {"retry_backoff_ms", 10}}},
                        {"slow",
                         {{"command", {"/bin/sleep", "5"}},
                          {"timeout_ms", 100},
                          {"max_attempts", 2},
                          {"retry_backoff_ms", 0},
                          {"retry_on_timeout", true}}}}}};
    std::ofstream(config_) << cfg.dump();
  }

  temp_folder dir_;
  std::filesystem::path config_ = dir_.path() / "jobd.json";
};

TEST_F(RetriesOfExecTypes, TheTypesSettingsApplyWhenTheRequestNamesNone) {
  jobd_process server({"--config", config_.string()});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"flaky"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json job = r.json();
  EXPECT_EQ(job["attempt"], 2);
  EXPECT_EQ(job["max_attempts"], 3);
  ASSERT_EQ(job["attempts"].size(), 2u) << job;
  EXPECT_EQ(job["attempts"][0]["status"], "failed");
  EXPECT_EQ(job["attempts"][0]["error"]["exit_code"], 3) << job;  // the handler's details kept
  EXPECT_EQ(job["attempts"][1]["status"], "succeeded");
}

TEST_F(RetriesOfExecTypes, TheRequestOverridesTheType) {
  jobd_process server({"--config", config_.string()});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"flaky","max_attempts":1})");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.json()["attempts"].size(), 1u);
}

TEST_F(RetriesOfExecTypes, ATimedOutAttemptIsRetriedWhereTheTypeSaysSo) {
  jobd_process server({"--config", config_.string()});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"slow"})");
  EXPECT_EQ(r.status, 504) << r.body;
  const json job = r.json();
  EXPECT_EQ(job["attempt"], 2);
  ASSERT_EQ(job["attempts"].size(), 2u) << job;
  EXPECT_EQ(job["attempts"][0]["status"], "timed_out");
  EXPECT_EQ(job["attempts"][1]["status"], "timed_out");
}

TEST(Scheduled, AJobWithADelayWaitsScheduledAndRunsAtItsTime) {
  jobd_process server({});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs", R"({"type":"echo","payload":"later","delay_ms":300})");
  ASSERT_EQ(r.status, 202) << r.body;
  const json accepted = r.json();
  EXPECT_EQ(accepted["status"], "scheduled");
  EXPECT_EQ(time_of(accepted["run_at"]) - time_of(accepted["created_at"]), 300ms);
  EXPECT_EQ(accepted["next_attempt_at"], accepted["run_at"]);
  const std::string id = accepted["id"];
  const auto listed = c.get("/v1/jobs?status=scheduled").json()["jobs"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  const json done = wait_terminal(c, id);
  EXPECT_EQ(done["status"], "succeeded");
  EXPECT_EQ(done["result"], "later");
  EXPECT_GE(time_of(done["started_at"]), time_of(accepted["run_at"]));
  EXPECT_EQ(done["next_attempt_at"], nullptr);
}

TEST(Scheduled, AJobWithRunAtRunsThenAndASyncAnswerWaitsForIt) {
  jobd_process server({});
  http_client c(server.port());
  const std::string at = rfc3339_text(std::chrono::system_clock::now() + 400ms);
  const auto r =
      c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":1,"run_at":")" + at + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["run_at"], at);
  EXPECT_GE(time_of(r.json()["started_at"]), time_of(json(at)));
}

TEST(Scheduled, AScheduledJobIsCancelledBeforeItRuns) {
  jobd_process server({});
  http_client c(server.port());
  const std::string id = submit_async(c, R"({"type":"echo","delay_ms":60000})");
  const auto r = c.request("DELETE", "/v1/jobs/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "cancelled");
  EXPECT_EQ(r.json()["error"]["message"], "cancelled by request while scheduled");
  EXPECT_EQ(c.get("/v1/jobs/" + id).json()["status"], "cancelled");
  EXPECT_TRUE(c.get("/v1/jobs?status=scheduled").json()["jobs"].empty());
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/" + id).status, 409);
}

TEST(Scheduled, AFullScheduleAnswers503ScheduleFullAndTheLanesStillTakeJobs) {
  jobd_process server({"--scheduled-capacity", "2"});
  http_client c(server.port());
  (void)submit_async(c, R"({"type":"echo","delay_ms":60000})");
  (void)submit_async(c, R"({"type":"echo","delay_ms":2900})");
  const auto full = c.post("/v1/jobs", R"({"type":"echo","delay_ms":1000})");
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(full.json()["error"]["code"], "schedule_full");
  // The earliest waiting job is due in 2.9 s: a place may be free then.
  EXPECT_EQ(full.header("retry-after"), "3");
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"echo"})").status, 200);
  EXPECT_EQ(c.get("/v1/jobs?status=scheduled").json()["jobs"].size(), 2u);
}

TEST(Scheduled, ADueJobWhoseLaneIsFullWaitsForRoomWithoutA503) {
  jobd_process server({"--workers", "1", "--reserved-high-workers", "0", "--queue-capacity", "1"});
  http_client c(server.port());
  const std::string blocker = submit_async(c, sleep_job(800));
  wait_running(c, blocker);
  const std::string filler = submit_async(c, sleep_job(1));  // the lane's one place
  const std::string due = submit_async(c, R"({"type":"echo","delay_ms":50})");
  // Due long since, and still waiting for its place.
  EXPECT_EQ(c.get("/v1/jobs/" + due + "?wait=0.4").json()["status"], "scheduled");
  const json done = wait_terminal(c, due);
  EXPECT_EQ(done["status"], "succeeded");
  EXPECT_GE(done["started_at"].get<std::string>(),
            wait_terminal(c, blocker)["finished_at"].get<std::string>());
  EXPECT_EQ(wait_terminal(c, filler)["status"], "succeeded");
  // Waiting was not a refusal.
  EXPECT_EQ(sample_text(c.get("/metrics").body,
                        R"(jobd_jobs_rejected_total{priority="normal",reason="queue_full"})"),
            "0");
}

TEST(Scheduled, BadRetryAndScheduleFieldsAre400NamingTheFieldAndCreateNothing) {
  jobd_process server({"--max-attempts-limit", "5", "--retry-backoff-max-ms", "1000",
                       "--max-schedule-ms", "60000"});
  http_client c(server.port());
  const std::string soon = rfc3339_text(std::chrono::system_clock::now() + 10s);
  const std::string past = rfc3339_text(std::chrono::system_clock::now() - 1h);
  const std::string far = rfc3339_text(std::chrono::system_clock::now() + 2min);
  const std::pair<std::string, std::string> cases[] = {
      {R"("max_attempts":0)", "max_attempts must be an integer 1..5 (got 0)"},
      {R"("max_attempts":6)", "max_attempts must be an integer 1..5 (got 6)"},
      {R"("max_attempts":"3")", R"(max_attempts must be an integer 1..5 (got the string "3")"},
      {R"("retry_backoff_ms":-1)", "retry_backoff_ms must be an integer 0..1000 (got -1)"},
      {R"("retry_backoff_ms":1001)", "retry_backoff_ms must be an integer 0..1000 (got 1001)"},
      {R"("delay_ms":-5)", "delay_ms must be an integer 0..60000 (got -5)"},
      {R"("delay_ms":60001)", "delay_ms must be an integer 0..60000 (got 60001)"},
      {R"("run_at":"tomorrow")", R"(run_at must be an RFC 3339 time such as)"},
      {R"("run_at":5)", "run_at must be an RFC 3339 time such as"},
      {R"("run_at":")" + past + R"(")", "run_at is in the past"},
      {R"("run_at":")" + far + R"(")", "run_at is more than max_schedule_ms = 60000 ms ahead"},
      {R"("run_at":")" + soon + R"(","delay_ms":5)", "give one of them"},
  };
  for (const auto& [field, says] : cases) {
    const auto r = c.post("/v1/jobs", R"({"type":"echo",)" + field + "}");
    EXPECT_EQ(r.status, 400) << field << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_field") << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(says), std::string::npos)
        << field << ": " << r.body;
  }
  EXPECT_TRUE(c.get("/v1/jobs").json()["jobs"].empty());
}

}  // namespace
}  // namespace jobd::testing
