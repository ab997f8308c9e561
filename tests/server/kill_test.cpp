// The kill test: jobd under a load of async submissions (several job types, both lanes, some
// running long) is killed with SIGKILL at random moments and restarted on the same SQLite file,
// again and again. At the end every job that got a 202 exists, in exactly one terminal status,
// and no job with side effects ran twice (without retries, an interrupted job never runs again).

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int rounds = 5;
constexpr int clients = 2;
constexpr int jobs_per_client_and_round = 60;  // 600 at most: one list page holds them all

struct accepted_job {
  std::string id;
  std::string token;  // what an exec job writes to the runs file when it runs
  std::string type;
};

// Submits jobs of every kind until its quota is used or jobd is gone; keeps those answered 202.
void submit_until_gone(std::uint16_t port, const std::string& prefix, std::uint32_t seed,
                       std::vector<accepted_job>& out) {
  std::mt19937 rng(seed);
  http_client c(port, 10);
  for (int i = 0; i < jobs_per_client_and_round; ++i) {
    const std::string token = prefix + "-" + std::to_string(i);
    static const char* const types[] = {"noop", "echo", "sleep", "mark", "mark-long"};
    const std::string type = types[rng() % 5];
    json body = {{"type", type}};
    if (type == "echo") body["payload"] = {{"token", token}};
    if (type == "sleep") body["payload"] = {{"ms", rng() % 20 == 0 ? 600 : rng() % 100}};
    if (type.starts_with("mark")) body["payload"] = token + "\n";
    if (rng() % 4 == 0) body["priority"] = "high";
    if (!c.send_raw(http_client::format("POST", "/v1/jobs", body.dump()))) return;
    const auto r = c.read_reply();
    if (!r) return;  // killed
    if (r->status == 202) {
      out.push_back({r->json()["id"].get<std::string>(), token, type});
    } else if (r->status != 503) {
      ADD_FAILURE() << "submission answered " << r->status << ": " << r->body;
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 5000));  // a client's pace
  }
}

TEST(KillTest, EveryAcceptedJobEndsOnceThroughRepeatedKill9s) {
  temp_folder dir;
  const auto runs = dir.path() / "runs";
  const auto config = dir.path() / "jobd.json";
  // Each run appends its token, so the file counts the runs of every exec job. A command that
  // a killed jobd started before writing its stdin reads nothing and writes nothing.
  auto mark = [&](const std::string& after) {
    return json{
        {"command",
         {"/bin/sh", "-c", "read -r token && echo \"$token\" >> " + runs.string() + after}}};
  };
  std::ofstream(config)
      << json{{"job_types", {{"mark", mark("")}, {"mark-long", mark("; sleep 0.3")}}}}.dump();
  const std::vector<std::string> args{"--config", config.string(), "--store",
                                      "sqlite:" + (dir.path() / "jobd.db").string()};

  const std::uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<std::vector<accepted_job>> accepted(rounds * clients);
  for (int round = 0; round < rounds; ++round) {
    jobd_process server(args);
    std::vector<std::thread> load;
    for (int k = 0; k < clients; ++k) {
      const int slot = round * clients + k;
      load.emplace_back(submit_until_gone, server.port(),
                        "r" + std::to_string(round) + "c" + std::to_string(k),
                        static_cast<std::uint32_t>(rng()), std::ref(accepted[slot]));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    server.signal(SIGKILL);
    EXPECT_EQ(server.wait_exit(), 128 + SIGKILL);
    for (auto& t : load) t.join();
  }

  jobd_process last(args);
  http_client c(last.port());
  std::map<std::string, accepted_job> by_id;
  for (const auto& batch : accepted) {
    for (const auto& job : batch) {
      EXPECT_TRUE(by_id.emplace(job.id, job).second) << "id given twice: " << job.id;
    }
  }
  ASSERT_GT(by_id.size(), 0u);
  std::map<std::string, std::string> status_of;
  for (const auto& [id, job] : by_id) {
    const auto r = c.get("/v1/jobs/" + id + "?wait=true");
    ASSERT_EQ(r.status, 200) << job.type << " job " << id << " (" << job.token << "): " << r.body;
    const json j = r.json();
    status_of[id] = j["status"].get<std::string>();
    if (j["status"] == "failed") status_of[id] += "/" + j["error"]["code"].get<std::string>();
    EXPECT_NE(std::set<std::string>({"succeeded", "failed", "timed_out", "cancelled"})
                  .count(j["status"].get<std::string>()),
              0u)
        << j;
  }
  // Each job once in the list of all jobs: none lost, none doubled.
  std::multiset<std::string> listed;
  const json page = c.get("/v1/jobs?limit=1000").json();
  for (const auto& j : page["jobs"]) listed.insert(j["id"].get<std::string>());
  for (const auto& [id, job] : by_id) EXPECT_EQ(listed.count(id), 1u) << id;

  std::map<std::string, int> ran;
  std::ifstream lines(runs);
  for (std::string token; std::getline(lines, token);) ++ran[token];
  int interrupted = 0;
  for (const auto& [id, job] : by_id) {
    if (!job.type.starts_with("mark")) continue;
    const int times = ran.count(job.token) > 0 ? ran[job.token] : 0;
    const std::string& status = status_of[id];
    interrupted += status == "failed/interrupted";
    if (status == "succeeded") {
      EXPECT_EQ(times, 1) << job.token << " " << status;
    } else if (status == "failed/interrupted") {
      EXPECT_LE(times, 1) << job.token << " " << status;
    } else {
      ADD_FAILURE() << job.token << " ended " << status;
    }
  }
  // A job that ran but whose 202 was lost with jobd ran once too.
  for (const auto& [token, times] : ran) EXPECT_EQ(times, 1) << token;
  std::cout << "kill test: " << by_id.size() << " jobs accepted over " << rounds << " kills, "
            << interrupted << " exec jobs interrupted, seed " << seed << "\n";
}

}  // namespace
}  // namespace jobd::testing
