// Lanes seen over HTTP: priority order, reserved workers, a full lane's 503, and the read-only
// routes staying prompt while every worker is busy.
#include <gtest/gtest.h>

#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

TEST(LanesOverHttp, HighPriorityJobsStartBeforeQueuedNormalOnes) {
  jobd_process server({"--workers", "1"});  // one worker, nothing reserved
  http_client c(server.port());
  const std::string blocker = submit_async(c, sleep_job(60'000));
  wait_running(c, blocker);
  // echo, not noop: a noop runs at once on the I/O thread when its lane has nothing queued.
  const std::string normal = submit_async(c, R"({"type":"echo"})");
  const std::string high = submit_async(c, R"({"type":"echo","priority":"high"})");
  cancel_running(c, blocker);
  const json n = wait_terminal(c, normal);
  const json h = wait_terminal(c, high);
  EXPECT_EQ(h["priority"], "high");
  EXPECT_EQ(n["status"], "succeeded");
  EXPECT_EQ(h["status"], "succeeded");
  // One worker: the high job ran to its end before the normal one started (RFC 3339 strings of
  // one format order like the times they show).
  EXPECT_LE(h["finished_at"].get<std::string>(), n["started_at"].get<std::string>());
}

TEST(LanesOverHttp, ReservedWorkerServesHighJobsWhileNormalJobsHoldTheOthers) {
  jobd_process server({"--workers", "3", "--reserved-high-workers", "1"});
  http_client c(server.port());
  std::vector<std::string> held;
  for (int i = 0; i < 4; ++i) held.push_back(submit_async(c, sleep_job(60'000)));
  wait_running(c, held[0]);
  wait_running(c, held[1]);
  EXPECT_EQ(c.get("/v1/jobs/" + held[2]).json()["status"], "queued");
  const auto r =
      c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":"urgent","priority":"high"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["result"], "urgent");
  EXPECT_EQ(c.get("/v1/jobs/" + held[2]).json()["status"], "queued");
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["workers"]["busy"], 2);
  EXPECT_EQ(pool["workers"]["reserved_high"], 1);
  EXPECT_EQ(pool["lanes"]["normal"]["depth"], 2);
}

TEST(LanesOverHttp, FullNormalLaneIs503WithRetryAfterWhileTheHighLaneIsServed) {
  jobd_process server({"--workers", "2", "--queue-capacity", "2", "--high-queue-capacity", "1"});
  http_client c(server.port());
  const std::string running = submit_async(c, sleep_job(60'000));
  wait_running(c, running);
  submit_async(c, sleep_job(60'000));
  submit_async(c, sleep_job(60'000));
  const auto full = c.post("/v1/jobs", sleep_job(10));
  ASSERT_EQ(full.status, 503);
  EXPECT_EQ(full.json()["error"]["code"], "queue_full");
  const int retry_after = std::stoi(full.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(full.json()["error"]["message"],
            "the normal lane is full (2 jobs); retry after " + std::to_string(retry_after) + " s");
  const auto sync_full = c.post("/v1/jobs?wait=true", sleep_job(10));
  EXPECT_EQ(sync_full.status, 503);
  // The high lane has its own bound and its reserved worker.
  const auto high = c.post("/v1/jobs?wait=true", R"({"type":"noop","priority":"high"})");
  EXPECT_EQ(high.status, 200);
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["lanes"]["normal"]["rejected"]["queue_full"], 2);
  EXPECT_EQ(pool["lanes"]["normal"]["depth"], 2);
}

// A full lane is refused once the body is known to be well-formed JSON with a known type and
// lane, and before the payload is checked by its type: shedding load stays cheap.
TEST(LanesOverHttp, FullLaneRefusesBeforeThePayloadIsCheckedByItsType) {
  jobd_process server({"--workers", "1", "--queue-capacity", "1"});
  http_client c(server.port());
  const std::string running = submit_async(c, sleep_job(60'000));
  wait_running(c, running);
  submit_async(c, sleep_job(60'000));
  struct submission {
    std::string body;
    int status;
    std::string code;
  };
  for (const auto& s : std::vector<submission>{
           // The payload's type check comes after the lane's.
           {R"({"type":"sleep","payload":{"ms":-1}})", 503, "queue_full"},
           {R"({"type":"sleep"})", 503, "queue_full"},
           // The body's JSON, fields and type come first, the payload's JSON included.
           {R"({"type":"sleep","payload":{"ms":1,"ms":2}})", 400, "invalid_json"},
           {R"({"type":"sleep","payload":{"ms":1})", 400, "invalid_json"},
           {R"({"type":"sleep","timeout_ms":0})", 400, "invalid_field"},
           {R"({"type":"nope","payload":{}})", 400, "unknown_type"},
       }) {
    const auto r = c.post("/v1/jobs", s.body);
    EXPECT_EQ(r.status, s.status) << s.body;
    EXPECT_EQ(r.json()["error"]["code"], s.code) << s.body;
    if (r.status == 503) {
      const std::string message = r.json()["error"]["message"];
      EXPECT_EQ(message.find("the normal lane is full (1 job); retry after "), 0u) << message;
    }
  }
  // With room in the lane, the same payload is refused by its type.
  const auto high = c.post("/v1/jobs", R"({"type":"sleep","payload":{"ms":-1},"priority":"high"})");
  EXPECT_EQ(high.status, 400);
  EXPECT_EQ(high.json()["error"]["code"], "invalid_field");
  EXPECT_EQ(c.get("/v1/pool").json()["lanes"]["normal"]["rejected"]["queue_full"], 2);
}

TEST(LanesOverHttp, NoopRunsWithoutAWorkerOnlyWhenItsLaneHasNothingQueued) {
  jobd_process server({"--workers", "1", "--queue-capacity", "2"});
  http_client c(server.port());
  const std::string blocker = submit_async(c, sleep_job(60'000));
  wait_running(c, blocker);
  // The only worker is busy and the lane is empty: the noop needs no worker.
  const auto at_once = c.post("/v1/jobs?wait=true", R"({"type":"noop"})");
  ASSERT_EQ(at_once.status, 200);
  EXPECT_EQ(at_once.json()["status"], "succeeded");
  // With a job queued, a noop takes its turn behind it, and a full lane refuses it.
  const std::string queued = submit_async(c, R"({"type":"echo"})");
  const auto behind = c.post("/v1/jobs", R"({"type":"noop"})");
  ASSERT_EQ(behind.status, 202);
  EXPECT_EQ(behind.json()["status"], "queued");
  const auto refused = c.post("/v1/jobs", R"({"type":"noop"})");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.json()["error"]["code"], "queue_full");
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["lanes"]["normal"]["submitted"], 4);
  EXPECT_EQ(pool["lanes"]["normal"]["finished"]["succeeded"], 1);
  EXPECT_EQ(pool["lanes"]["normal"]["rejected"]["queue_full"], 1);
  EXPECT_EQ(pool["workers"]["busy"], 1);
  cancel_running(c, blocker);
  EXPECT_EQ(wait_terminal(c, queued)["status"], "succeeded");
  EXPECT_EQ(wait_terminal(c, behind.json()["id"])["status"], "succeeded");
}

TEST(LanesOverHttp, ReadOnlyRoutesAnswerWhileEveryWorkerIsBusyAndTheQueueIsFull) {
  jobd_process server({"--workers", "1", "--queue-capacity", "1", "--high-queue-capacity", "1"});
  http_client c(server.port());
  const std::string running = submit_async(c, sleep_job(60'000));
  wait_running(c, running);
  submit_async(c, sleep_job(60'000));
  submit_async(c, sleep_job(60'000, R"(,"priority":"high")"));
  ASSERT_EQ(c.post("/v1/jobs", sleep_job(1)).status, 503);
  // Each would wait a minute if it queued behind the jobs; the client's 30 s read bound fails it.
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(c.get("/readyz").status, 200);
  EXPECT_EQ(c.get("/metrics").status, 200);
  EXPECT_EQ(c.get("/v1/pool").status, 200);
  EXPECT_EQ(c.get("/v1/jobs/" + running).json()["status"], "running");
}

}  // namespace
}  // namespace jobd::testing
