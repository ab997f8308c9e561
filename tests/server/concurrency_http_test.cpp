// Concurrency limits over HTTP: a type's max_concurrency and a concurrency_key's
// max_concurrency_per_key hold jobs back without holding up others, /v1/pool and /v1/job-types
// show them, bad keys and settings are refused, and a key survives a kill -9 with SQLite.
//
// The `gated` exec type reads its name from its payload and waits until the test makes the
// file go-NAME: the test decides when each job ends. It says "overlap" first when another gated
// command is running as it starts (each marks itself running with a file while it runs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

class Concurrency : public ::testing::Test {
 protected:
  std::vector<std::string> args(const json& limits, std::vector<std::string> extra = {}) {
    const std::string d = dir_.path().string();
    json gated = {
        {"command",
         {"/bin/sh", "-c",
          "read name; for f in " + d +
              "/running-*; do [ -e \"$f\" ] && echo overlap; done; "
              "touch " +
              d + "/running-$name; while [ ! -e " + d + "/go-$name ]; do sleep 0.01; done; rm " +
              d + "/running-$name; echo $name"}}};
    gated.update(limits);
    std::ofstream(config_) << json{{"job_types", {{"gated", gated}}}}.dump();
    std::vector<std::string> a{"--config", config_.string(),          "--workers",
                               "4",        "--reserved-high-workers", "0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // Submits a gated job named `name`, with a concurrency_key if one is given.
  static std::string submit(http_client& c, const std::string& name, const std::string& key = "") {
    json body = {{"type", "gated"}, {"payload", name}};
    if (!key.empty()) body["concurrency_key"] = key;
    return submit_async(c, body.dump());
  }
  void release(const std::string& name) { std::ofstream(dir_.path() / ("go-" + name)) << ""; }

  temp_folder dir_;
  std::filesystem::path config_ = dir_.path() / "jobd.json";
};

std::string status_of(http_client& c, const std::string& id) {
  return c.get("/v1/jobs/" + id).json()["status"];
}

TEST_F(Concurrency, ATypesLimitHoldsItsJobsBackAndNoOtherJob) {
  jobd_process server(args({{"max_concurrency", 1}}));
  http_client c(server.port());
  const std::string first = submit(c, "first");
  const std::string second = submit(c, "second");
  wait_running(c, first);
  // Behind them, a job of another type runs on a free worker.
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":1})").status, 200);
  EXPECT_EQ(status_of(c, second), "queued");
  const json pool = c.get("/v1/pool").json();
  EXPECT_EQ(pool["types"]["gated"], (json{{"adaptive", false}, {"limit", 1}, {"running", 1}}))
      << pool;
  EXPECT_EQ(pool["lanes"]["normal"]["depth"], 1);
  const json types = c.get("/v1/job-types").json();
  for (const json& t : types["job_types"]) {
    if (t["name"] == "gated") {
      EXPECT_EQ(t["max_concurrency"], 1);
      EXPECT_EQ(t["max_concurrency_per_key"], 1);
    } else {
      EXPECT_TRUE(t["max_concurrency"].is_null()) << t;
    }
  }
  release("first");
  wait_running(c, second);
  release("second");
  const json a = wait_terminal(c, first);
  const json b = wait_terminal(c, second);
  EXPECT_EQ(a["status"], "succeeded");
  EXPECT_EQ(b["status"], "succeeded");
  // The second command started once the first had ended.
  EXPECT_EQ(b["result"]["stdout"], "second\n") << b;
  EXPECT_EQ(c.get("/v1/pool").json()["types"]["gated"]["running"], 0);
}

TEST_F(Concurrency, AKeyRunsOneAtATimeWithoutHoldingUpOtherKeys) {
  jobd_process server(args(json::object()));
  http_client c(server.port());
  const std::string a1 = submit(c, "a1", "deploy-a");
  const std::string a2 = submit(c, "a2", "deploy-a");
  const std::string b1 = submit(c, "b1", "deploy-b");
  const std::string free = submit(c, "free");
  wait_running(c, a1);
  wait_running(c, b1);
  wait_running(c, free);
  EXPECT_EQ(status_of(c, a2), "queued");
  EXPECT_EQ(c.get("/v1/jobs/" + a2).json()["concurrency_key"], "deploy-a");
  EXPECT_FALSE(c.get("/v1/jobs/" + free).json().contains("concurrency_key"));
  release("a1");
  wait_running(c, a2);
  for (const char* name : {"a2", "b1", "free"}) release(name);
  for (const auto& id : {a1, a2, b1, free}) EXPECT_EQ(wait_terminal(c, id)["status"], "succeeded");
}

TEST_F(Concurrency, AKeyMayAllowSeveral) {
  jobd_process server(args({{"max_concurrency_per_key", 2}}));
  http_client c(server.port());
  const std::string k1 = submit(c, "k1", "k");
  const std::string k2 = submit(c, "k2", "k");
  const std::string k3 = submit(c, "k3", "k");
  wait_running(c, k1);
  wait_running(c, k2);
  EXPECT_EQ(status_of(c, k3), "queued");
  for (const char* name : {"k1", "k2", "k3"}) release(name);
  EXPECT_EQ(wait_terminal(c, k3)["status"], "succeeded");
}

TEST_F(Concurrency, BadKeysAndLimitsAreRefused) {
  jobd_process server(args(json::object()));
  http_client c(server.port());
  for (const std::string& key :
       std::vector<std::string>{R"("")", R"(7)", "\"" + std::string(256, 'k') + "\""}) {
    const http_reply r =
        c.post("/v1/jobs", R"({"type":"gated","payload":"x","concurrency_key":)" + key + "}");
    EXPECT_EQ(r.status, 400) << key;
    EXPECT_NE(r.body.find("concurrency_key must be a string of 1..255 bytes"), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(c.get("/v1/jobs").json()["jobs"].size(), 0u);
  for (const json& bad : {json{{"max_concurrency", 0}}, json{{"max_concurrency_per_key", "2"}},
                          json{{"max_concurrency", 10001}}}) {
    jobd_process check(args(bad, {"--check-config"}), {}, false);
    EXPECT_EQ(check.wait_exit(), 2) << bad;
    const std::string out = check.full_output();
    EXPECT_NE(out.find("must be an integer 1..10000"), std::string::npos) << out;
  }
}

// A key is stored with its job: the job waiting for its key when jobd was killed still waits
// for it after the restart, behind the key's next job... and then runs.
TEST_F(Concurrency, AKeySurvivesAKill9WithSqlite) {
  const std::string db = "sqlite:" + (dir_.path() / "jobd.db").string();
  std::string a1, a2;
  {
    jobd_process first(args(json::object(), {"--store", db}));
    http_client c(first.port());
    a1 = submit(c, "a1", "k");
    a2 = submit(c, "a2", "k");
    wait_running(c, a1);
    EXPECT_EQ(status_of(c, a2), "queued");
    first.signal(SIGKILL);
    (void)first.wait_exit();
  }
  release("a1");  // the interrupted command sees it and ends: jobd's death does not reach it
  jobd_process second(args(json::object(), {"--store", db}));
  http_client c(second.port());
  EXPECT_EQ(c.get("/v1/jobs/" + a2).json()["concurrency_key"], "k");
  const std::string a3 = submit(c, "a3", "k");
  wait_running(c, a2);
  EXPECT_EQ(status_of(c, a3), "queued");
  release("a2");
  release("a3");
  EXPECT_EQ(wait_terminal(c, a3)["status"], "succeeded");
  EXPECT_EQ(wait_terminal(c, a1)["error"]["code"], "interrupted");
}

}  // namespace
}  // namespace jobd::testing
