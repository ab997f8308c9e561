// /metrics: every contract name present, values that follow a known sequence, and promtool's
// verdict on the real output.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <vector>

#include "../support/command.hpp"
#include "../support/proc.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

double sample(const std::string& page, const std::string& series) {
  const std::string text = sample_text(page, series);
  if (text.empty()) {
    ADD_FAILURE() << "no sample " << series;
    return -1;
  }
  return std::stod(text);
}

TEST(MetricsOverHttp, ExposesEveryContractMetricWithValuesFromAKnownSequence) {
  jobd_process server({"--workers", "2", "--queue-capacity", "1"});
  http_client c(server.port());
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"fail"})").status, 500);
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop","priority":"high"})").status, 200);
  EXPECT_EQ(c.post("/v1/jobs", R"({"type":"nope"})").status, 400);
  const std::string held = submit_async(c, sleep_job(60'000));
  wait_running(c, held);
  submit_async(c, sleep_job(60'000));
  EXPECT_EQ(c.post("/v1/jobs", sleep_job(1)).status, 503);

  const auto r = c.get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string page = "\n" + r.body;
  for (const char* name :
       {"jobd_jobs_submitted_total", "jobd_jobs_rejected_total", "jobd_jobs_finished_total",
        "jobd_queue_depth", "jobd_queue_capacity", "jobd_queue_oldest_wait_seconds", "jobd_workers",
        "jobd_job_queue_wait_seconds", "jobd_job_run_seconds", "jobd_http_requests_total",
        "jobd_http_request_duration_seconds", "jobd_http_connections",
        "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
        "process_start_time_seconds"}) {
    EXPECT_NE(page.find(std::string("\n# TYPE ") + name + " "), std::string::npos) << name;
  }
  EXPECT_EQ(sample(page, R"(jobd_jobs_submitted_total{priority="normal"})"), 4);
  EXPECT_EQ(sample(page, R"(jobd_jobs_submitted_total{priority="high"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_jobs_finished_total{priority="normal",status="succeeded"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_jobs_finished_total{priority="normal",status="failed"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_jobs_rejected_total{priority="normal",reason="queue_full"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_jobs_rejected_total{priority="normal",reason="invalid"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_queue_depth{priority="normal"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_queue_capacity{priority="normal"})"), 1);
  EXPECT_GT(sample(page, R"(jobd_queue_oldest_wait_seconds{priority="normal"})"), 0);
  EXPECT_EQ(sample(page, R"(jobd_workers{state="busy"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_job_run_seconds_count{type="noop"})"), 2);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/jobs",code="503"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_http_connections)"), 1);
  EXPECT_GT(sample(page, R"(process_open_fds)"), 3);
  EXPECT_GT(sample(page, R"(process_resident_memory_bytes)"), 1e6);
}

// process_open_fds is this process's descriptors, not an estimate: with many connections open
// (each answered once, so the server has accepted it), it equals the listing of /proc/PID/fd.
TEST(MetricsOverHttp, CountsOpenDescriptorsExactly) {
  jobd_process server({"--workers", "1"});
  std::vector<std::unique_ptr<http_client>> held;
  for (int i = 0; i < 40; ++i) {
    held.push_back(std::make_unique<http_client>(server.port()));
    EXPECT_EQ(held.back()->get("/healthz").status, 200);
  }
  const auto r = held.front()->get("/metrics");
  ASSERT_EQ(r.status, 200);
  const int listed = open_fds(server.pid()) - 2;  // "." and ".."
  EXPECT_GT(listed, 40);
  EXPECT_EQ(sample("\n" + r.body, "process_open_fds"), listed);
}

// Requests are counted by route pattern, never by raw path: ids and stray paths make no series.
TEST(MetricsOverHttp, CountsRequestsUnderTheirRoutesPattern) {
  jobd_process server({"--workers", "1"});
  http_client c(server.port());
  const std::string a = submit_async(c, R"({"type":"noop"})");
  const std::string b = submit_async(c, R"({"type":"noop"})");
  EXPECT_EQ(c.get("/v1/jobs/" + a).status, 200);
  EXPECT_EQ(c.get("/v1/jobs/" + b).status, 200);
  EXPECT_EQ(c.get("/v1/jobs/" + a + "/x").status, 404);
  EXPECT_EQ(c.get("/nowhere").status, 404);
  for (const char* path : {"/v1/job-types", "/v1/pool", "/healthz", "/readyz"}) {
    EXPECT_EQ(c.get(path).status, 200) << path;
  }
  EXPECT_EQ(c.post("/v1/pool", "").status, 405);
  EXPECT_EQ(c.get("/metrics").status, 200);

  const std::string page = "\n" + c.get("/metrics").body;
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/jobs",code="202"})"), 2);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/jobs/{id}",code="200"})"), 2);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="other",code="404"})"), 2);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/pool",code="200"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/pool",code="405"})"), 1);
  for (const char* route : {"/v1/job-types", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_EQ(
        sample(page, "jobd_http_requests_total{route=\"" + std::string(route) + "\",code=\"200\"}"),
        1)
        << route;
  }
  EXPECT_EQ(page.find(a), std::string::npos);
}

// Answers the session gives before the routes see a request (413, 431, a malformed request)
// are counted under the route the request named, and a submission refused there is a refused
// submission like any other.
TEST(MetricsOverHttp, RequestsRefusedBeforeTheRoutesCountUnderTheirRoute) {
  jobd_process server({"--max-body-bytes", "64"});
  const std::string big = R"({"type":"echo","payload":")" + std::string(100, 'x') + "\"}";
  {
    http_client c(server.port());
    const http_reply r = c.request("POST", "/v1/jobs?wait=true", big, {{"X-Request-Id", "mine"}});
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.header("x-request-id"), "mine");  // its header was read whole
  }
  {
    http_client c(server.port());
    EXPECT_EQ(c.request("PUT", "/v1/jobs/0123456789abcdef", big).status, 413);
  }
  {
    http_client c(server.port());
    ASSERT_TRUE(c.send_raw("GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"));  // no colon
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  http_client c(server.port());
  const std::string page = "\n" + c.get("/metrics").body;
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/jobs",code="413"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/v1/jobs/{id}",code="413"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_http_requests_total{route="/healthz",code="400"})"), 1);
  EXPECT_EQ(sample(page, R"(jobd_jobs_rejected_total{priority="normal",reason="invalid"})"), 1);
}

// The query is checked before the body, but a refusal for it is a refusal of the body's
// priority, as api.md says of every invalid submission whose body could be read.
TEST(MetricsOverHttp, ASubmissionRefusedForItsQueryCountsUnderItsBodysPriority) {
  jobd_process server({});
  http_client c(server.port());
  const std::string high = R"({"type":"noop","priority":"high"})";
  EXPECT_EQ(c.post("/v1/jobs?wiat=true", high).status, 400);
  EXPECT_EQ(c.post("/v1/jobs?wait=soon", high).status, 400);
  EXPECT_EQ(c.post("/v1/jobs?wait=soon", "not json").status, 400);
  const std::string page = "\n" + c.get("/metrics").body;
  EXPECT_EQ(sample(page, R"(jobd_jobs_rejected_total{priority="high",reason="invalid"})"), 2);
  EXPECT_EQ(sample(page, R"(jobd_jobs_rejected_total{priority="normal",reason="invalid"})"), 1);
}

TEST(MetricsOverHttp, PromtoolAcceptsTheOutput) {
  jobd_process server({"--workers", "2"});
  http_client c(server.port());
  (void)c.post("/v1/jobs?wait=true", R"({"type":"cpu","payload":{"iterations":1000}})");
  (void)c.post("/v1/jobs?wait=true", R"({"type":"fail"})");
  (void)c.get("/nope");
  const std::string path = ::testing::TempDir() + "jobd-metrics.txt";
  std::ofstream(path) << c.get("/metrics").body;
  const command_result r = run_command("promtool check metrics < " + path);
  EXPECT_EQ(r.status, 0) << "promtool check metrics failed:\n" << r.output;
  EXPECT_EQ(r.output, "") << r.output;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jobd::testing
