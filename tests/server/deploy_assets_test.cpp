// The deployment files in docker/ against the real server: every metric the Grafana dashboard
// queries is one jobd exports, the dashboard covers the pool's state, and Prometheus accepts
// its configuration.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "../support/command.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using nlohmann::json;

const std::string docker_dir = std::string(JOBD_SOURCE_DIR) + "/docker";

// The metric families the dashboard's queries name (histogram series map to their family).
// A plain scan: std::regex trips a false -Wmaybe-uninitialized in g++ 12 sanitizer builds.
std::set<std::string> dashboard_metrics() {
  std::ifstream in(docker_dir + "/grafana/dashboards/jobd.json");
  const json dashboard = json::parse(in);
  std::set<std::string> names;
  for (const json& panel : dashboard.at("panels")) {
    for (const json& target : panel.at("targets")) {
      const std::string expr = target.at("expr");
      for (auto at = expr.find("jobd_"); at != std::string::npos; at = expr.find("jobd_", at)) {
        const auto end = expr.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", at);
        std::string name = expr.substr(at, end - at);
        at = end;
        for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
          if (name.ends_with(suffix)) name.resize(name.size() - suffix.size());
        }
        names.insert(name);
      }
    }
  }
  return names;
}

// The image builds jobd from the folders it copies: each folder the build adds must be one of
// them, or the image fails to build where the checkout builds.
TEST(DeployAssets, TheImageCopiesEveryFolderTheServerIsBuiltFrom) {
  std::ifstream cmake(std::string(JOBD_SOURCE_DIR) + "/CMakeLists.txt");
  std::ifstream dockerfile(docker_dir + "/Dockerfile");
  const std::string image((std::istreambuf_iterator<char>(dockerfile)), {});
  std::size_t folders = 0;
  for (std::string line; std::getline(cmake, line);) {
    const std::string call = "add_subdirectory(";
    if (!line.starts_with(call)) continue;
    const std::string folder = line.substr(call.size(), line.find(')') - call.size());
    if (folder.starts_with("tests") || folder == "bench") continue;
    ++folders;
    EXPECT_NE(image.find("COPY " + folder + " " + folder + "\n"), std::string::npos)
        << "docker/Dockerfile does not copy " << folder << "/";
  }
  EXPECT_GE(folders, 7u);
}

TEST(DeployAssets, DashboardQueriesOnlyMetricsJobdExports) {
  jobd_process server({"--workers", "2"});
  http_client c(server.port());
  ASSERT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
  const std::string page = c.get("/metrics").body;
  const std::set<std::string> used = dashboard_metrics();
  ASSERT_FALSE(used.empty());
  for (const std::string& name : used) {
    EXPECT_NE(page.find("# TYPE " + name + " "), std::string::npos)
        << "the dashboard queries " << name << ", which /metrics does not export";
  }
}

TEST(DeployAssets, DashboardShowsThePoolState) {
  const std::set<std::string> used = dashboard_metrics();
  for (const char* name :
       {"jobd_queue_depth", "jobd_queue_oldest_wait_seconds", "jobd_workers",
        "jobd_job_queue_wait_seconds", "jobd_job_run_seconds", "jobd_jobs_rejected_total",
        "jobd_store_up", "jobd_store_commit_seconds", "jobd_store_errors_total"}) {
    EXPECT_TRUE(used.contains(name)) << "no panel shows " << name;
  }
}

TEST(DeployAssets, PrometheusAcceptsItsConfiguration) {
  const command_result r = run_command("promtool check config " + docker_dir + "/prometheus.yml");
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace jobd::testing
