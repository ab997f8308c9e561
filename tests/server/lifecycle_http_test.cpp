// Cancel, deadlines, waiting, drain on SIGTERM and SIGHUP, start-up errors and settings precedence.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "../support/command.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

TEST(CancelOverHttp, QueuedJobIsRemovedAndNeverRuns) {
  jobd_process server({"--workers", "1"});
  http_client c(server.port());
  const std::string blocker = submit_async(c, sleep_job(60'000));
  wait_running(c, blocker);
  const std::string queued = submit_async(c, R"({"type":"echo"})");
  const auto r = c.request("DELETE", "/v1/jobs/" + queued);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "cancelled");
  EXPECT_TRUE(r.json()["started_at"].is_null());
  EXPECT_TRUE(r.json()["run_ms"].is_null());
  const auto again = c.request("DELETE", "/v1/jobs/" + queued);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.json()["error"]["code"], "already_finished");
  cancel_running(c, blocker);
  EXPECT_EQ(wait_terminal(c, blocker)["status"], "cancelled");
  EXPECT_EQ(c.get("/v1/jobs/" + queued).json()["status"], "cancelled");  // terminal stays terminal
}

TEST(CancelOverHttp, RunningJobIsStoppedAndEndsCancelled) {
  jobd_process server({"--workers", "2"});
  http_client c(server.port());
  const std::string id =
      submit_async(c, R"({"type":"cpu","payload":{"iterations":1000000000000}})");
  wait_running(c, id);
  cancel_running(c, id);
  const json done = wait_terminal(c, id);
  EXPECT_EQ(done["status"], "cancelled");
  EXPECT_EQ(done["error"]["code"], "cancelled");
  EXPECT_FALSE(done["started_at"].is_null());
}

TEST(DeadlineOverHttp, AsyncJobPastItsDeadlineIsTimedOutWhetherQueuedOrRunning) {
  jobd_process server({"--workers", "1"});
  http_client c(server.port());
  const std::string running = submit_async(c, sleep_job(60'000, R"(,"timeout_ms":300)"));
  const std::string queued = submit_async(c, sleep_job(10, R"(,"timeout_ms":100)"));
  const json q = wait_terminal(c, queued);
  EXPECT_EQ(q["status"], "timed_out");
  EXPECT_TRUE(q["started_at"].is_null());
  EXPECT_NE(q["error"]["message"].get<std::string>().find("queued"), std::string::npos);
  const json r = wait_terminal(c, running);
  EXPECT_EQ(r["status"], "timed_out");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("running"), std::string::npos);
  EXPECT_GE(r["run_ms"].get<double>() + r["queue_ms"].get<double>(), 300.0);
}

// At debug level the log says why each job that did not succeed ended as it did.
TEST(DeadlineOverHttp, AJobThatDidNotSucceedIsLoggedAtDebugLevel) {
  jobd_process server({"--log-level", "debug"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"fail","payload":{"message":"no luck"}})");
  ASSERT_EQ(r.status, 500) << r.body;
  const std::string id = r.json()["id"];
  EXPECT_NE(server.wait_for_log("job " + id)
                .find("job " + id + " (type fail) ended failed: job_failed: no luck"),
            std::string::npos);
}

TEST(WaitOverHttp, WaitNAnswers202WithTheJobAsItStandsWhenNotDoneInTime) {
  jobd_process server({"--workers", "3"});  // two shared workers: the echo need not queue
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=0.05", sleep_job(60'000));
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(r.json()["status"], "running");
  EXPECT_EQ(r.header("location"), "/v1/jobs/" + r.json()["id"].get<std::string>());
  const auto quick = c.post("/v1/jobs?wait=10", R"({"type":"echo","payload":5})");
  EXPECT_EQ(quick.status, 200);
  EXPECT_EQ(quick.json()["result"], 5);
  // A long poll with a limit answers 200 with the job still running.
  const auto poll = c.get("/v1/jobs/" + r.json()["id"].get<std::string>() + "?wait=0.05");
  EXPECT_EQ(poll.status, 200);
  EXPECT_EQ(poll.json()["status"], "running");
}

TEST(WaitOverHttp, LongPollReturnsWhenTheJobEnds) {
  jobd_process server({"--workers", "2"});
  http_client c(server.port());
  const std::string id = submit_async(c, sleep_job(200));
  const auto r = c.get("/v1/jobs/" + id + "?wait=true");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "succeeded");
  EXPECT_GE(r.json()["run_ms"].get<double>(), 200.0);
}

TEST(DrainOverHttp, SigtermFinishesWorkThatFitsTheGraceAndExitsZero) {
  jobd_process server({"--workers", "2", "--drain-timeout-ms", "30000"});
  http_client waiting(server.port());
  http_client other(server.port());
  waiting.send_raw(http_client::format("POST", "/v1/jobs?wait=true", sleep_job(300)));
  // The sync job first: the one normal worker runs it, and the async one waits behind it.
  while (other.get("/v1/jobs?status=running").json()["jobs"].empty()) {
  }
  const std::string id = submit_async(other, sleep_job(300));
  wait_running(other, id);
  server.signal(SIGTERM);
  server.wait_for_log("draining");
  EXPECT_EQ(other.get("/readyz").status, 503);
  const auto refused = other.post("/v1/jobs", R"({"type":"noop"})");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.json()["error"]["code"], "shutting_down");
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(other.get("/v1/jobs/" + id + "?wait=true").json()["status"], "succeeded");
  const auto answer = waiting.read_reply();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(server.wait_exit(), 0);
  const std::string log = server.full_output();
  EXPECT_NE(log.find("config: no file (defaults, JOBD_* variables and flags)"), std::string::npos);
  // The async job; the sync one, ahead of it on the one normal worker, ended before it began.
  EXPECT_NE(log.find(" ms: 1 job(s) finished, 0 cancelled; closing"), std::string::npos) << log;
  EXPECT_NE(log.find("drained in "), std::string::npos) << log;
}

TEST(DrainOverHttp, SigtermCancelsWhatOutlivesTheGraceAndAnswersEveryWaiter) {
  jobd_process server({"--workers", "1", "--drain-timeout-ms", "100"});
  http_client waiting(server.port());
  http_client queued_waiter(server.port());
  http_client other(server.port());
  waiting.send_raw(http_client::format("POST", "/v1/jobs?wait=true", sleep_job(60'000)));
  std::string running_id;
  while (running_id.empty()) {
    const json list = other.get("/v1/jobs?status=running").json();
    if (!list["jobs"].empty()) running_id = list["jobs"][0]["id"];
  }
  const std::string queued = submit_async(other, sleep_job(60'000));
  queued_waiter.send_raw(http_client::format("GET", "/v1/jobs/" + queued + "?wait=true", ""));
  server.signal(SIGTERM);
  const auto a = waiting.read_reply();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 409);
  EXPECT_EQ(a->json()["status"], "cancelled");
  EXPECT_NE(a->json()["error"]["message"].get<std::string>().find("shutdown"), std::string::npos);
  const auto b = queued_waiter.read_reply();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->json()["status"], "cancelled");
  EXPECT_TRUE(b->json()["started_at"].is_null());
  EXPECT_EQ(server.wait_exit(), 0);
  // Not "drained": the grace ran out and what was left was cancelled.
  const std::string log = server.full_output();
  EXPECT_EQ(log.find("drained in"), std::string::npos) << log;
  EXPECT_NE(log.find("the drain timed out after "), std::string::npos) << log;
  EXPECT_NE(log.find(" ms: 0 job(s) finished, 2 cancelled; closing"), std::string::npos) << log;
}

TEST(DrainOverHttp, SecondSignalExitsAtOnce) {
  jobd_process server({"--workers", "1", "--drain-timeout-ms", "60000"});
  http_client c(server.port());
  const std::string id = submit_async(c, sleep_job(60'000));
  wait_running(c, id);
  server.signal(SIGTERM);
  server.wait_for_log("draining");
  server.signal(SIGINT);
  EXPECT_EQ(server.wait_exit(), 1);
}

// A closed terminal's SIGHUP drains, so that jobs and their process groups end with jobd.
TEST(DrainOverHttp, SighupDrainsLikeSigterm) {
  jobd_process server({"--workers", "1", "--drain-timeout-ms", "30000"});
  http_client c(server.port());
  const std::string id = submit_async(c, sleep_job(200));
  wait_running(c, id);
  server.signal(SIGHUP);
  EXPECT_NE(server.wait_for_log("draining").find("signal 1:"), std::string::npos);
  // A closing terminal's second SIGHUP does not cut the drain short, as a second SIGTERM would.
  server.signal(SIGHUP);
  EXPECT_EQ(c.get("/v1/jobs/" + id + "?wait=true").json()["status"], "succeeded");
  EXPECT_EQ(server.wait_exit(), 0);
}

// Started under nohup (SIGHUP ignored), jobd leaves that choice alone.
TEST(DrainOverHttp, SighupIgnoredAtStartStaysIgnored) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  ASSERT_EQ(sigaction(SIGHUP, &ignore, &before), 0);
  jobd_process server({"--workers", "1"});  // inherits the disposition through exec
  sigaction(SIGHUP, &before, nullptr);
  server.signal(SIGHUP);
  server.signal(SIGTERM);
  // Had SIGHUP counted, it would have begun the drain and SIGTERM, a second signal, exited 1.
  EXPECT_NE(server.wait_for_log("draining").find("signal 15:"), std::string::npos);
  EXPECT_EQ(server.wait_exit(), 0);
}

TEST(StartupOverHttp, InvalidSettingsStopStartupNamingTheSetting) {
  jobd_process bad({"--queue-capacity", "0"}, {}, false);
  EXPECT_EQ(bad.wait_exit(), 2);
  const std::string out = bad.full_output();
  EXPECT_NE(out.find("queue_capacity = \"0\""), std::string::npos) << out;
  EXPECT_NE(out.find("1..10000000"), std::string::npos) << out;
}

TEST(StartupOverHttp, AnAddressInUseIsReportedWithExitOne) {
  jobd_process first({});
  jobd_process second({"--listen", "127.0.0.1:" + std::to_string(first.port())}, {}, false);
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(second.full_output().find("cannot start"), std::string::npos);
}

TEST(StartupOverHttp, VersionHelpAndCheckConfig) {
  jobd_process version({"--version"}, {}, false);
  EXPECT_EQ(version.wait_exit(), 0);
  EXPECT_EQ(version.full_output(), "jobd 0.1.0\n");
  jobd_process help({"--help"}, {}, false);
  EXPECT_EQ(help.wait_exit(), 0);
  EXPECT_NE(help.full_output().find("--max-timeout-ms"), std::string::npos);
}

TEST(StartupOverHttp, AnAddressInUseStopsStartUpNamingIt) {
  jobd_process first({});
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  jobd_process second({"--listen", address}, {}, false);
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(
      second.full_output().find("cannot listen on " + address + ": bind: Address already in use\n"),
      std::string::npos)
      << second.full_output();
}

TEST(StartupOverHttp, CheckConfigPrintsTheSettingsAloneOnStdout) {
  const command_result r = run_command(std::string("(") + JOBD_BINARY +
                                       " --check-config --queue-capacity 31 2>/dev/null)");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["queue_capacity"], 31);  // JSON only: "OK" went to stderr
}

TEST(StartupOverHttp, FlagsBeatEnvironmentBeatsTheConfigFile) {
  const std::string path = ::testing::TempDir() + "jobd-precedence.json";
  std::ofstream(path) << R"({"queue_capacity": 11, "high_queue_capacity": 12, "retain_jobs": 13})";
  jobd_process check({"--config", path, "--check-config", "--queue-capacity", "31"},
                     {"JOBD_QUEUE_CAPACITY=21", "JOBD_HIGH_QUEUE_CAPACITY=22"}, false);
  EXPECT_EQ(check.wait_exit(), 0);
  const std::string out = check.full_output();
  const json effective = json::parse(out.substr(0, out.find("configuration OK")));
  EXPECT_EQ(effective["queue_capacity"], 31);
  EXPECT_EQ(effective["high_queue_capacity"], 22);
  EXPECT_EQ(effective["retain_jobs"], 13);
  // And the running server uses them, and says where they came from and what it can run.
  jobd_process server({"--config", path, "--queue-capacity", "31"},
                      {"JOBD_HIGH_QUEUE_CAPACITY=22"});
  server.wait_for_log("config: file " + path);
  server.wait_for_log("job types: cpu, echo, fail, noop, sleep (builtin)");
  http_client c(server.port());
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["lanes"]["normal"]["capacity"], 31);
  EXPECT_EQ(pool["lanes"]["high"]["capacity"], 22);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jobd::testing
