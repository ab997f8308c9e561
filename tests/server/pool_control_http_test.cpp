// Pool control over HTTP: PATCH /v1/pool resizes (bad bodies refused, nothing changed), a lane
// paused takes jobs and starts none until resumed, and both need the token when auth is on.
#include <gtest/gtest.h>

#include <fstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

http_reply patch(http_client& c, const std::string& body) {
  return c.request("PATCH", "/v1/pool", body, {{"Content-Type", "application/json"}});
}

TEST(PoolControlHttp, PatchResizesThePool) {
  jobd_process server({"--workers-min", "1", "--workers-max", "2", "--reserved-high-workers", "0"});
  http_client c(server.port());
  const http_reply r = patch(c, R"({"workers_min": 3, "workers_max": 5})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["workers"]["min"], 3);
  EXPECT_EQ(r.json()["workers"]["max"], 5);
  EXPECT_EQ(r.json()["workers"]["alive"], 3);
  // One bound alone keeps the other.
  EXPECT_EQ(patch(c, R"({"workers_max": 4})").json()["workers"]["min"], 3);
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["workers"]["min"], 3);
  EXPECT_EQ(pool["workers"]["max"], 4);
  server.wait_for_log("pool resized: workers 3..4 (were 3..5)");
}

TEST(PoolControlHttp, ABadResizeIsRefusedAndChangesNothing) {
  jobd_process server({"--workers-min", "2", "--workers-max", "4", "--reserved-high-workers", "1"});
  http_client c(server.port());
  const auto refused = [&c](const std::string& body, const std::string& code,
                            const std::string& mentions) {
    const http_reply r = patch(c, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.json()["error"]["code"], code) << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(mentions), std::string::npos)
        << r.body;
  };
  refused("{", "invalid_json", "the body is not valid JSON");
  refused("[1]", "invalid_field", "must be an object");
  refused("{}", "invalid_field", "workers_min");
  refused(R"({"workers": 3})", "invalid_field", "unknown field workers");
  refused(R"({"workers_min": 0})", "invalid_field", "workers_min must be an integer from 1");
  refused(R"({"workers_max": "8"})", "invalid_field", "workers_max must be an integer");
  refused(R"({"workers_min": 5})", "invalid_field", "workers_max = 4: must be at least");
  refused(R"({"workers_min": 1, "workers_max": 1})", "invalid_field", "reserved_high");
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["workers"]["min"], 2);
  EXPECT_EQ(pool["workers"]["max"], 4);
  EXPECT_EQ(c.request("PUT", "/v1/pool", "{}").header("allow"), "GET, HEAD, PATCH");
}

// The paused lane's job waits while a high one runs on the only worker; resumed, it runs.
TEST(PoolControlHttp, APausedLaneTakesJobsAndStartsNoneUntilResumed) {
  jobd_process server({"--workers", "1", "--reserved-high-workers", "0"});
  http_client c(server.port());
  const http_reply paused = c.post("/v1/pool/lanes/normal/pause", "");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.json()["lanes"]["normal"]["paused"], true);
  EXPECT_EQ(paused.json()["lanes"]["high"]["paused"], false);
  const std::string held = submit_async(c, R"({"type":"echo","payload":1})");
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"echo","priority":"high"})").status, 200);
  EXPECT_EQ(c.get("/v1/jobs/" + held).json()["status"], "queued");
  EXPECT_EQ(c.get("/v1/pool").json()["lanes"]["normal"]["depth"], 1);
  const http_reply resumed = c.post("/v1/pool/lanes/normal/resume", "");
  ASSERT_EQ(resumed.status, 200);
  EXPECT_EQ(resumed.json()["lanes"]["normal"]["paused"], false);
  EXPECT_EQ(wait_terminal(c, held)["status"], "succeeded");
  // A cheap job on a paused lane waits too.
  ASSERT_EQ(c.post("/v1/pool/lanes/high/pause", "").status, 200);
  const std::string cheap = submit_async(c, R"({"type":"noop","priority":"high"})");
  EXPECT_EQ(c.get("/v1/jobs/" + cheap).json()["status"], "queued");
  ASSERT_EQ(c.post("/v1/pool/lanes/high/resume", "").status, 200);
  EXPECT_EQ(wait_terminal(c, cheap)["status"], "succeeded");
  const http_reply unknown = c.post("/v1/pool/lanes/low/pause", "");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("the lanes are high and normal"), std::string::npos);
  EXPECT_EQ(c.get("/v1/pool/lanes/high/pause").status, 405);
}

// Once the drain has begun the pool is the drain's: control is refused as submissions are.
TEST(PoolControlHttp, ADrainingServerRefusesControl) {
  jobd_process server({"--workers", "1"});
  http_client c(server.port());
  const std::string running = submit_async(c, sleep_job(3000));
  wait_running(c, running);
  server.signal(SIGTERM);
  server.wait_for_log("draining");
  for (const http_reply& r :
       {patch(c, R"({"workers_max": 4})"), c.post("/v1/pool/lanes/normal/pause", "")}) {
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "shutting_down");
    EXPECT_EQ(r.header("retry-after"), "1");
  }
  cancel_running(c, running);
  EXPECT_EQ(server.wait_exit(), 0);
}

TEST(PoolControlHttp, WithAuthOnControlNeedsTheToken) {
  temp_folder dir;
  const std::string token = "tok-" + std::string(32, 'p');
  std::ofstream(dir.path() / "tokens") << token << "\n";
  jobd_process server({"--auth-token-file", (dir.path() / "tokens").string()});
  http_client c(server.port());
  EXPECT_EQ(patch(c, R"({"workers_max": 9})").status, 401);
  EXPECT_EQ(c.post("/v1/pool/lanes/normal/pause", "").status, 401);
  const http_reply r = c.request("PATCH", "/v1/pool", R"({"workers_max": 9})",
                                 {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["workers"]["max"], 9);
}

}  // namespace
}  // namespace jobd::testing
