#pragma once

// Shorthands for integration tests that submit and inspect jobs.

#include <string>

#include "http_client.hpp"

namespace jobd::testing {

// A job body; `extra` is appended inside the object, e.g. R"(,"priority":"high")".
inline std::string sleep_job(int ms, const std::string& extra = "") {
  return R"({"type":"sleep","payload":{"ms":)" + std::to_string(ms) + "}" + extra + "}";
}

// Submits asynchronously and returns the new job's id (empty, with a test failure, if refused).
inline std::string submit_async(http_client& c, const std::string& body) {
  const auto r = c.post("/v1/jobs", body);
  EXPECT_EQ(r.status, 202) << r.body;
  return r.status == 202 ? r.json()["id"].get<std::string>() : "";
}

// Waits (server-side long poll) until the job is terminal and returns it.
inline nlohmann::json wait_terminal(http_client& c, const std::string& id) {
  return c.get("/v1/jobs/" + id + "?wait=true").json();
}

// DELETEs a running job and checks the answer: 202 with the job still running, or 200 with it
// cancelled when it stopped before the answer was made (a sleep stops within microseconds).
inline void cancel_running(http_client& c, const std::string& id) {
  const auto r = c.request("DELETE", "/v1/jobs/" + id);
  const bool stopping = r.status == 202 && r.json()["status"] == "running";
  const bool stopped = r.status == 200 && r.json()["status"] == "cancelled";
  EXPECT_TRUE(stopping || stopped) << r.status << " " << r.body;
}

// Waits until the job has started, by long-polling with a short limit until it runs.
inline void wait_running(http_client& c, const std::string& id) {
  for (;;) {
    const auto j = c.get("/v1/jobs/" + id).json();
    if (j["status"] != "queued") return;
    (void)c.get("/v1/jobs/" + id + "?wait=0.01");
  }
}

// The job's completion callback once it is over: delivered or failed.
inline nlohmann::json settled_callback(http_client& c, const std::string& id) {
  for (;;) {
    const auto job = c.get("/v1/jobs/" + id).json();
    if (job["callback"]["status"] != "pending") return job["callback"];
    (void)c.get("/v1/jobs/" + id + "?wait=0.02");  // a pause the server bounds
  }
}

}  // namespace jobd::testing
