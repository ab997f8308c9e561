// Adaptive limits over HTTP: a type's max_concurrency "adaptive" comes down for jobs that
// slow each other (they take turns on one lock), and is shown in /v1/pool, /v1/job-types and
// /metrics; workers_max "adaptive" starts at workers_min and is not resized by hand; bad
// settings are refused. The algorithm's own behaviour is in tests/pool/adaptive_limit_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

class Adaptive : public ::testing::Test {
 protected:
  std::vector<std::string> args(const json& types, std::vector<std::string> extra = {}) {
    std::ofstream(config_) << json{{"job_types", types}}.dump();
    std::vector<std::string> a{"--config", config_.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Each job holds one lock for 20 ms: the more run at once, the longer each takes.
  json locked() const {
    return {{"command", {"/usr/bin/flock", (dir_.path() / "lock").string(), "/bin/sleep", "0.02"}},
            {"max_concurrency", "adaptive"}};
  }

  temp_folder dir_;
  std::filesystem::path config_ = dir_.path() / "jobd.json";
};

TEST_F(Adaptive, ATypesLimitComesDownForJobsThatSlowEachOther) {
  jobd_process server(args({{"locked", locked()}}, {"--workers", "32", "--adaptive-max", "64"}));
  http_client c(server.port());
  json shown = c.get("/v1/pool").json()["types"]["locked"];
  // It starts by measuring its baseline at 1.
  EXPECT_EQ(shown, (json{{"adaptive", true}, {"limit", 1}, {"running", 0}})) << shown;
  const json types = c.get("/v1/job-types").json();
  for (const json& t : types["job_types"]) {
    if (t["name"] == "locked") {
      EXPECT_EQ(t["max_concurrency"], "adaptive");
    }
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(submit_async(c, R"({"type":"locked"})"));
  for (const std::string& id : ids) EXPECT_EQ(wait_terminal(c, id)["status"], "succeeded");
  shown = c.get("/v1/pool").json()["types"]["locked"];
  // Twice as many at once only makes each take twice as long: the limit stays near the few
  // that keep the lock busy, far from the 64 it may reach.
  EXPECT_LE(shown["limit"].get<int>(), 16) << shown;
  EXPECT_GE(shown["limit"].get<int>(), 1) << shown;
  const std::string page = c.get("/metrics").body;
  EXPECT_EQ(sample_text(page, R"(jobd_concurrency_limit{scope="type:locked"})"),
            std::to_string(shown["limit"].get<int>()));
  EXPECT_EQ(sample_text(page, R"(jobd_concurrency_limit{scope="workers"})"), "32");
}

TEST_F(Adaptive, AnAdaptiveWorkersMaxStartsAtWorkersMinAndIsNotResizedByHand) {
  jobd_process server(args(
      json::object(), {"--workers-min", "2", "--workers-max", "adaptive", "--adaptive-max", "8"}));
  http_client c(server.port());
  const json workers = c.get("/v1/pool").json()["workers"];
  EXPECT_EQ(workers["adaptive"], true) << workers;
  EXPECT_EQ(workers["max"], 2) << workers;
  const auto r = c.request("PATCH", "/v1/pool", R"({"workers_max": 4})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("workers_max is \\\"adaptive\\\""), std::string::npos) << r.body;
  // Jobs run under it as under any bound.
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(c.post("/v1/jobs?wait=true", sleep_job(1)).json()["status"], "succeeded");
  }
  const json after = c.get("/v1/pool").json()["workers"];
  EXPECT_GE(after["max"].get<int>(), 2) << after;
  EXPECT_LE(after["max"].get<int>(), 8) << after;
}

TEST_F(Adaptive, BadSettingsAreRefusedNamingThem) {
  const auto refused = [&](const json& types, std::vector<std::string> extra) {
    jobd_process check(args(types, extra), {}, false);
    EXPECT_EQ(check.wait_exit(), 2);
    return check.full_output();
  };
  json typo = locked();
  typo["max_concurrency"] = "adaptve";
  EXPECT_NE(refused({{"locked", typo}}, {"--check-config"})
                .find("job_types.locked.max_concurrency: must be an integer 1..10000 or "
                      "\"adaptive\""),
            std::string::npos);
  EXPECT_NE(refused(json::object(), {"--check-config", "--workers-min", "8", "--workers-max",
                                     "adaptive", "--adaptive-max", "4"})
                .find("adaptive_max = 4 (from flag --adaptive-max): must be at least "
                      "workers_min = 8"),
            std::string::npos);
  EXPECT_NE(refused(json::object(), {"--check-config", "--workers-max", "adaptiv"})
                .find("\"auto\", \"adaptive\" or an integer 1..10000"),
            std::string::npos);
}

}  // namespace
}  // namespace jobd::testing
