// Every row of the contract's status table, over a real socket to the real binary.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "http_client.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

class ApiStatus : public ::testing::Test {
 protected:
  // One server for the whole suite, started once.
  static void SetUpTestSuite() {
    server_ = std::make_unique<jobd_process>(
        std::vector<std::string>{"--workers", "4", "--max-body-bytes", "4096", "--max-header-bytes",
                                 "2048", "--queue-capacity", "64"});
  }
  static void TearDownTestSuite() { server_.reset(); }
  http_client client() { return http_client(server_->port()); }
  static std::unique_ptr<jobd_process> server_;
};
std::unique_ptr<jobd_process> ApiStatus::server_;

void expect_error(const http_reply& r, int status, const std::string& code,
                  const std::string& mentions = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  ASSERT_FALSE(r.body.empty());
  const json j = r.json();
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  if (!mentions.empty()) {
    EXPECT_NE(r.body.find(mentions), std::string::npos) << r.body;
  }
}

TEST_F(ApiStatus, AsyncSubmissionIs202WithLocationAndTheJobObject) {
  auto c = client();
  const auto r = c.post("/v1/jobs", R"({"type":"echo","payload":{"a":1}})");
  ASSERT_EQ(r.status, 202);
  const json j = r.json();
  EXPECT_EQ(r.header("location"), "/v1/jobs/" + j["id"].get<std::string>());
  EXPECT_EQ(j["type"], "echo");
  EXPECT_EQ(j["priority"], "normal");
  EXPECT_EQ(j["timeout_ms"], 30000);
  EXPECT_TRUE(j["status"] == "queued" || j["status"] == "running" || j["status"] == "succeeded");
  // Poll it to its end with a long poll, then it holds the result.
  const auto done = c.get(r.header("location") + "?wait=true");
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(done.json()["status"], "succeeded");
  EXPECT_EQ(done.json()["result"], (json{{"a", 1}}));
}

// The payload is left out of the job object unless asked for, as a lookup's query says.
TEST_F(ApiStatus, ALookupShowsThePayloadWhenAskedTo) {
  auto c = client();
  const std::string id =
      c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":{"b":[1,"<i>"]}})").json()["id"];
  EXPECT_FALSE(c.get("/v1/jobs/" + id).json().contains("payload"));
  EXPECT_FALSE(c.get("/v1/jobs/" + id + "?payload=false").json().contains("payload"));
  EXPECT_EQ(c.get("/v1/jobs/" + id + "?payload=true").json()["payload"], (json{{"b", {1, "<i>"}}}));
  EXPECT_EQ(c.get("/v1/jobs/" + id + "?payload").json()["payload"], (json{{"b", {1, "<i>"}}}));
  // With a wait too, and a null payload shows as null.
  const std::string bare = submit_async(c, R"({"type":"sleep","payload":{"ms":20}})");
  const json waited = c.get("/v1/jobs/" + bare + "?wait=true&payload=true").json();
  EXPECT_EQ(waited["status"], "succeeded");
  EXPECT_EQ(waited["payload"], (json{{"ms", 20}}));
  const std::string none = c.post("/v1/jobs?wait=true", R"({"type":"noop"})").json()["id"];
  const json shown = c.get("/v1/jobs/" + none + "?payload=true").json();
  ASSERT_TRUE(shown.contains("payload"));
  EXPECT_TRUE(shown["payload"].is_null());
  expect_error(c.get("/v1/jobs/" + id + "?payload=yes"), 400, "invalid_field", "payload");
}

TEST_F(ApiStatus, SyncSuccessIs200WithResultAndTimestamps) {
  auto c = client();
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"sleep","payload":{"ms":20}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json();
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_EQ(j["result"], (json{{"slept_ms", 20}}));
  EXPECT_GE(j["run_ms"].get<double>(), 20.0);
  EXPECT_GE(j["queue_ms"].get<double>(), 0.0);
  // RFC 3339 UTC with milliseconds.
  for (const char* field : {"created_at", "started_at", "finished_at"}) {
    const std::string t = j[field];
    EXPECT_EQ(t.size(), 24u) << t;
    EXPECT_EQ(t.back(), 'Z') << t;
    EXPECT_EQ(t[19], '.') << t;
  }
  EXPECT_FALSE(j.contains("error"));
}

TEST_F(ApiStatus, SyncFailureIs500WithTheError) {
  auto c = client();
  const auto r =
      c.post("/v1/jobs?wait=true", R"({"type":"fail","payload":{"message":"out of cheese"}})");
  ASSERT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["status"], "failed");
  EXPECT_EQ(r.json()["error"]["code"], "job_failed");
  EXPECT_EQ(r.json()["error"]["message"], "out of cheese");
  EXPECT_FALSE(r.json().contains("result"));
}

TEST_F(ApiStatus, SyncDeadlineIs504AndTheJobIsTimedOut) {
  auto c = client();
  const auto r =
      c.post("/v1/jobs?wait=true", R"({"type":"sleep","payload":{"ms":60000},"timeout_ms":50})");
  ASSERT_EQ(r.status, 504);
  EXPECT_EQ(r.json()["status"], "timed_out");
  EXPECT_EQ(r.json()["error"]["code"], "timed_out");
}

TEST_F(ApiStatus, SyncJobCancelledByDeleteIs409) {
  auto waiter = client();
  auto other = client();
  // The waiting client cannot see the id before the answer, so the other client finds the job.
  waiter.send_raw(http_client::format("POST", "/v1/jobs?wait=true",
                                      R"({"type":"sleep","payload":{"ms":60000}})"));
  std::string id;
  for (;;) {  // the job appears in the listing once accepted
    const json list = other.get("/v1/jobs?status=running&limit=1000").json();
    for (const auto& j : list["jobs"]) {
      if (j["type"] == "sleep" && j["timeout_ms"] == 30000) id = j["id"];
    }
    if (!id.empty()) break;
    std::this_thread::yield();
  }
  const auto del = other.request("DELETE", "/v1/jobs/" + id);
  EXPECT_TRUE(del.status == 202 || del.status == 200) << del.body;
  const auto r = waiter.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(r->json()["status"], "cancelled");
  EXPECT_EQ(r->json()["error"]["code"], "cancelled");
}

TEST_F(ApiStatus, MalformedJsonIs400InvalidJson) {
  auto c = client();
  expect_error(c.post("/v1/jobs", "{\"type\": "), 400, "invalid_json");
  expect_error(c.post("/v1/jobs", ""), 400, "invalid_json");
  expect_error(c.post("/v1/jobs", std::string(100, '[') + std::string(100, ']')), 400,
               "invalid_json", "deeper");
}

// curl -d 'type=sleep&ms=100' sends form fields: the answer says in plain words what a body
// must be and where this one went wrong.
TEST_F(ApiStatus, AFormEncodedBodyIsToldWhatABodyMustBe) {
  auto c = client();
  const auto r = c.request("POST", "/v1/jobs", "type=sleep&ms=100",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
  expect_error(r, 400, "invalid_json");
  EXPECT_EQ(r.json()["error"]["message"],
            "the body is not valid JSON: a value that is not JSON (true, false and null are its "
            "only words) at line 1, column 1; the body must be a JSON object, such as "
            R"({"type":"sleep","payload":{"ms":100}}, and this one looks form-encoded )"
            "(name=value&...)");
  EXPECT_EQ(c.get("/v1/jobs").json()["jobs"].size(), 0u);
}

TEST_F(ApiStatus, AFieldOfTheWrongTypeIsToldWhatItGot) {
  auto c = client();
  auto message = [&](const std::string& body) {
    return c.post("/v1/jobs", body).json()["error"]["message"].get<std::string>();
  };
  EXPECT_EQ(
      message(R"({"type":"sleep","payload":{"ms":100},"timeout_ms":"200"})"),
      R"(timeout_ms must be an integer 1..3600000 (got the string "200": leave out the quotes))");
  EXPECT_EQ(
      message(R"({"type":"sleep","payload":{"ms":"100"}})"),
      R"(payload.ms must be an integer 0..3600000 (got the string "100": leave out the quotes))");
  EXPECT_EQ(message(R"({"type":"sleep","payload":{"msec":100}})"),
            R"(unknown field "payload.msec"; allowed: payload.ms)");
}

// The text of every `"key":` number in `body`.
std::vector<std::string> numbers_at(const std::string& body, const std::string& key) {
  std::vector<std::string> found;
  const std::string quoted = "\"" + key + "\":";
  for (auto at = body.find(quoted); at != std::string::npos; at = body.find(quoted, at + 1)) {
    const auto start = at + quoted.size();
    found.push_back(body.substr(start, body.find_first_of(",}", start) - start));
  }
  return found;
}

// A duration is written with a fraction, 0 included, and to the microsecond at most.
void expect_duration_text(const std::string& text, std::size_t fraction_digits) {
  const auto dot = text.find('.');
  ASSERT_NE(dot, std::string::npos) << text;
  EXPECT_GE(text.size() - dot - 1, 1u) << text;
  EXPECT_LE(text.size() - dot - 1, fraction_digits) << text;
  EXPECT_EQ(text.find_first_not_of("0123456789."), std::string::npos) << text;
}

TEST_F(ApiStatus, DurationsAreWrittenToTheMicrosecondAlwaysWithAFraction) {
  auto c = client();
  const auto pool_before = c.get("/v1/pool").body;
  for (const std::string key : {"oldest_wait_seconds", "recent_run_ms"}) {
    for (const auto& n : numbers_at(pool_before, key)) EXPECT_EQ(n, "0.0") << key;
  }
  const auto job = c.post("/v1/jobs?wait=true", R"({"type":"sleep","payload":{"ms":1}})").body;
  for (const std::string key : {"queue_ms", "run_ms"}) {
    ASSERT_EQ(numbers_at(job, key).size(), 1u) << job;
    expect_duration_text(numbers_at(job, key)[0], 3);
  }
  const auto pool = c.get("/v1/pool").body;
  ASSERT_EQ(numbers_at(pool, "recent_run_ms").size(), 2u) << pool;
  for (const auto& n : numbers_at(pool, "recent_run_ms")) expect_duration_text(n, 3);
  for (const auto& n : numbers_at(pool, "oldest_wait_seconds")) expect_duration_text(n, 6);
  EXPECT_NE(numbers_at(pool, "recent_run_ms"), numbers_at(pool_before, "recent_run_ms"));
}

TEST_F(ApiStatus, BadFieldsAre400InvalidFieldNamingTheField) {
  auto c = client();
  expect_error(c.post("/v1/jobs", R"([1,2])"), 400, "invalid_field", "JSON object");
  expect_error(c.post("/v1/jobs", R"({"payload":1})"), 400, "invalid_field", "type");
  expect_error(c.post("/v1/jobs", R"({"type":7})"), 400, "invalid_field", "type");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","priority":"urgent"})"), 400, "invalid_field",
               "priority");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","timeout_ms":0})"), 400, "invalid_field",
               "timeout_ms");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","timeout_ms":3600001})"), 400, "invalid_field",
               "1..3600000");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","timeout_ms":"5"})"), 400, "invalid_field",
               "timeout_ms");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","timeout_ms":1.5})"), 400, "invalid_field",
               "timeout_ms");
  expect_error(c.post("/v1/jobs", R"({"type":"noop","colour":"red"})"), 400, "invalid_field",
               "colour");
  expect_error(c.post("/v1/jobs", R"({"type":"sleep","payload":{"ms":-5}})"), 400, "invalid_field",
               "payload.ms");
  expect_error(c.post("/v1/jobs?wait=soon", R"({"type":"noop"})"), 400, "invalid_field", "wait");
  // A misspelt parameter would otherwise make a synchronous call asynchronous, unnoticed.
  expect_error(c.post("/v1/jobs?wiat=true", R"({"type":"noop"})"), 400, "invalid_field", "wiat");
  // Reads ignore parameters they do not take (cache busters, say).
  EXPECT_EQ(c.get("/v1/jobs?limit=2&_=1700000000").status, 200);
  expect_error(c.post("/v1/jobs?wait=-1", R"({"type":"noop"})"), 400, "invalid_field", "(0, 3600]");
  // Waiting for a job names the same range.
  const std::string id = c.post("/v1/jobs", R"({"type":"noop"})").json()["id"];
  expect_error(c.get("/v1/jobs/" + id + "?wait=0"), 400, "invalid_field", "(0, 3600]");
  expect_error(c.get("/v1/jobs/" + id + "?wait=%zz"), 400, "invalid_field", "%-escape");
  EXPECT_EQ(c.get("/v1/jobs/" + id + "?_=1700000000").status, 200);
}

TEST_F(ApiStatus, UnknownTypeIs400ListingTheKnownTypes) {
  auto c = client();
  expect_error(c.post("/v1/jobs", R"({"type":"teleport"})"), 400, "unknown_type",
               "cpu, echo, fail, noop, sleep");
}

TEST_F(ApiStatus, RejectedRequestsNeverCreateJobs) {
  auto c = client();
  const auto before = c.get("/v1/jobs?limit=1000").json()["jobs"].size();
  (void)c.post("/v1/jobs", R"({"type":"teleport"})");
  (void)c.post("/v1/jobs", R"({"type":"sleep"})");
  (void)c.post("/v1/jobs?wiat=true", R"({"type":"noop"})");
  EXPECT_EQ(c.get("/v1/jobs?limit=1000").json()["jobs"].size(), before);
}

TEST_F(ApiStatus, BodyOverTheLimitIs413) {
  auto c = client();
  const std::string big = R"({"type":"echo","payload":")" + std::string(5000, 'x') + "\"}";
  expect_error(c.post("/v1/jobs", big), 413, "body_too_large", "4096");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ApiStatus, HeaderBlockOverTheLimitIs431) {
  auto c = client();
  expect_error(c.request("GET", "/healthz", "", {{"X-Filler", std::string(4000, 'y')}}), 431,
               "header_too_large");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ApiStatus, UnknownPathsAre404AndWrongMethods405WithAllow) {
  auto c = client();
  expect_error(c.get("/v2/jobs"), 404, "not_found");
  expect_error(c.get("/v1/jobs/does-not-exist"), 404, "not_found", "does-not-exist");
  expect_error(c.request("DELETE", "/v1/jobs/does-not-exist"), 404, "not_found");
  auto r = c.request("PUT", "/v1/jobs");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET, HEAD, POST");
  r = c.request("POST", "/metrics", "x");
  expect_error(r, 405, "method_not_allowed");
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  r = c.request("PATCH", "/v1/jobs/abc");
  EXPECT_EQ(r.header("allow"), "GET, HEAD, DELETE");
}

TEST_F(ApiStatus, EveryResponseCarriesARequestIdEchoedWhenGiven) {
  auto c = client();
  EXPECT_EQ(c.request("GET", "/healthz", "", {{"X-Request-Id", "trace-42"}}).header("x-request-id"),
            "trace-42");
  const auto a = c.get("/healthz").header("x-request-id");
  const auto b = c.get("/nope").header("x-request-id");
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
}

TEST_F(ApiStatus, PipelinedRequestsAreAnsweredInOrder) {
  auto c = client();
  c.send_raw(
      http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"sleep","payload":{"ms":50}})") +
      http_client::format("GET", "/healthz", "") +
      http_client::format("POST", "/v1/jobs?wait=true", R"({"type":"echo","payload":"third"})"));
  const auto first = c.read_reply();
  const auto second = c.read_reply();
  const auto third = c.read_reply();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->json()["type"], "sleep");
  EXPECT_EQ(second->json()["status"], "ok");
  EXPECT_EQ(third->json()["result"], "third");
}

TEST_F(ApiStatus, JobTypesListTheBuiltinsWithTheirDefaults) {
  auto c = client();
  const json types = c.get("/v1/job-types").json()["job_types"];
  ASSERT_EQ(types.size(), 5u);
  for (const auto& t : types) {
    EXPECT_EQ(t["kind"], "builtin");
    EXPECT_EQ(t["default_timeout_ms"], 30000);
  }
}

TEST_F(ApiStatus, ListingFiltersByStatusNewestFirstAndBoundsTheLimit) {
  auto c = client();
  const std::string a = c.post("/v1/jobs?wait=true", R"({"type":"noop"})").json()["id"];
  const std::string b = c.post("/v1/jobs?wait=true", R"({"type":"noop"})").json()["id"];
  const json jobs = c.get("/v1/jobs?status=succeeded&limit=2").json()["jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["id"], b);
  EXPECT_EQ(jobs[1]["id"], a);
  const json failed =
      c.get("/v1/jobs?status=failed").json();  // a named value: the loop reads into it
  for (const auto& j : failed["jobs"]) EXPECT_EQ(j["status"], "failed");
  expect_error(c.get("/v1/jobs?limit=0"), 400, "invalid_field", "limit");
  expect_error(c.get("/v1/jobs?limit=1001"), 400, "invalid_field", "limit");
  expect_error(c.get("/v1/jobs?status=done"), 400, "invalid_field", "status");
}

}  // namespace
}  // namespace jobd::testing
