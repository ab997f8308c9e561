// Pipelines over HTTP, on real commands: results through stages and map stages, the job
// object's `stages` while running and after, a failing item named by index, cancel and
// deadline ending a stage's processes, a full stage queue that accepts and holds instead of
// refusing, /v1/pool's stages, stages kept by SQLite across a kill -9, and bad configurations.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/command.hpp"
#include "../support/proc.hpp"
#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

// The hanging command's sleep carries this, with the test process's id: the processes of
// another run of these tests beside this one are not counted.
std::string hang_marker() {
  std::string pid = std::to_string(getpid());
  return "986.5" + std::string(7 - std::min<std::size_t>(pid.size(), 7), '0') + pid;
}

class PipelineHttp : public ::testing::Test {
 protected:
  // The exec types and pipelines of these tests, with `extra` settings; the args to start on.
  std::vector<std::string> args(json extra = json::object()) {
    const std::string d = dir_.path().string();
    json types = {
        {"upper", {{"command", {"/usr/bin/tr", "a-z", "A-Z"}}}},
        {"size", {{"command", {"/usr/bin/wc", "-c"}}}},
        {"picky",
         {{"command",
           {"/bin/sh", "-c",
            "read x; [ \"$x\" = bad ] && { echo no >&2; exit 4; }; "
            "echo ok"}}}},
        {"hang", {{"command", {"/bin/sleep", hang_marker()}}}},
        // Waits until the test makes the file go-NAME, NAME read from its payload.
        {"gated",
         {{"command",
           {"/bin/sh", "-c",
            "read name; while [ ! -e " + d + "/go-$name ]; do sleep 0.01; done; echo $name"}}}},
        {"shout", {{"kind", "pipeline"}, {"stages", {{{"type", "upper"}, {"map", true}}}}}},
        {"shout-size",
         {{"kind", "pipeline"},
          {"stages", {{{"type", "upper"}, {"map", true}, {"workers", 3}}, {{"type", "size"}}}}}},
        {"check", {{"kind", "pipeline"}, {"stages", {{{"type", "picky"}, {"map", true}}}}}},
        {"stuck",
         {{"kind", "pipeline"},
          {"stages", {{{"type", "upper"}}, {{"type", "hang"}}, {{"type", "size"}}}}}},
        {"narrow",
         {{"kind", "pipeline"},
          {"stages",
           {{{"type", "gated"},
             {"map", true},
             {"workers", 1},
             {"queue_capacity", 1},
             {"stealing", false}}}}}},
    };
    json cfg = {{"job_types", std::move(types)}, {"kill_grace_ms", 300}};
    cfg.update(extra);
    std::ofstream(config_) << cfg.dump();
    return {"--config", config_.string(), "--workers", "4"};
  }
  void release(const std::string& name) { std::ofstream(dir_.path() / ("go-" + name)) << ""; }

  temp_folder dir_;
  std::filesystem::path config_ = dir_.path() / "jobd.json";
};

TEST_F(PipelineHttp, StagesPassResultsOnAndTheJobShowsThem) {
  jobd_process server(args());
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"shout","payload":["ab","cd"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json job = r.json();
  EXPECT_EQ(job["status"], "succeeded");
  ASSERT_EQ(job["result"].size(), 2u) << job;
  EXPECT_EQ(job["result"][0]["stdout"], "AB");
  EXPECT_EQ(job["result"][1]["stdout"], "CD");
  ASSERT_EQ(job["stages"].size(), 1u) << job;
  EXPECT_EQ(job["stages"][0]["type"], "upper");
  EXPECT_EQ(job["stages"][0]["status"], "succeeded");
  EXPECT_EQ(job["stages"][0]["items"], 2);
  EXPECT_TRUE(job["stages"][0]["run_ms"].is_number()) << job;

  // The map's results, as JSON text, are the next stage's stdin.
  const json two = c.post("/v1/jobs?wait=true", R"({"type":"shout-size","payload":["x"]})").json();
  ASSERT_EQ(two["status"], "succeeded") << two;
  const std::string text =
      json::array({{{"exit_code", 0}, {"stdout", "X"}, {"stderr", ""}}}).dump();
  EXPECT_EQ(two["result"]["stdout"], std::to_string(text.size()) + "\n");
  EXPECT_EQ(two["stages"][1]["items"], nullptr);

  bool listed = false;
  const json types = c.get("/v1/job-types").json();
  for (const json& t : types["job_types"]) {
    if (t["name"] == "shout-size") listed = t["kind"] == "pipeline";
  }
  EXPECT_TRUE(listed);
  // The first stage checks the payload at submission: a map stage needs an array.
  const auto bad = c.post("/v1/jobs", R"({"type":"shout","payload":"ab"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("stage 0 (upper) runs on each element"), std::string::npos) << bad.body;
}

TEST_F(PipelineHttp, AFailingItemFailsTheJobAndNamesItsIndex) {
  jobd_process server(args());
  http_client c(server.port());
  const json job =
      c.post("/v1/jobs?wait=true", R"({"type":"check","payload":["a","bad","c"]})").json();
  EXPECT_EQ(job["status"], "failed") << job;
  EXPECT_EQ(job["error"]["code"], "stage_failed");
  EXPECT_EQ(job["error"]["message"],
            "stage 0 (picky) failed at item 1: the command exited with status 4");
  EXPECT_EQ(job["error"]["item"], 1);
  EXPECT_EQ(job["error"]["cause"]["exit_code"], 4);
  EXPECT_EQ(job["error"]["cause"]["stderr"], "no\n");
  EXPECT_EQ(job["stages"][0]["status"], "failed");
}

TEST_F(PipelineHttp, ACancelEndsTheRunningStagesProcessesAndSkipsTheRest) {
  jobd_process server(args());
  http_client c(server.port());
  const std::string id = submit_async(c, R"({"type":"stuck","payload":"x"})");
  ASSERT_TRUE(eventually([&] { return !processes_with(hang_marker()).empty(); }));
  const json running = c.get("/v1/jobs/" + id).json();
  EXPECT_EQ(running["status"], "running");
  EXPECT_EQ(running["stages"][0]["status"], "succeeded") << running;
  EXPECT_EQ(running["stages"][1]["status"], "running") << running;
  EXPECT_EQ(running["stages"][2]["status"], "pending") << running;
  cancel_running(c, id);
  const json job = wait_terminal(c, id);
  EXPECT_EQ(job["status"], "cancelled") << job;
  EXPECT_EQ(job["stages"][1]["status"], "cancelled") << job;
  EXPECT_EQ(job["stages"][2]["status"], "skipped") << job;
  // Terminal only once the stage's process group was gone.
  EXPECT_TRUE(processes_with(hang_marker()).empty());
}

TEST_F(PipelineHttp, TheDeadlineCoversEveryStage) {
  jobd_process server(args());
  http_client c(server.port());
  const json job =
      c.post("/v1/jobs?wait=true", R"({"type":"stuck","payload":"x","timeout_ms":300})").json();
  EXPECT_EQ(job["status"], "timed_out") << job;
  EXPECT_EQ(job["stages"][1]["status"], "timed_out") << job;
  EXPECT_EQ(job["stages"][2]["status"], "skipped") << job;
  EXPECT_TRUE(processes_with(hang_marker()).empty());
}

TEST_F(PipelineHttp, AFullStageQueueHoldsAcceptedJobsInsteadOfRefusingThem) {
  jobd_process server(args());
  http_client c(server.port());
  // One worker and one place in the stage: the third item waits in the pipeline's job.
  const std::string id = submit_async(c, R"({"type":"narrow","payload":["a","b","c"]})");
  const auto stage = [&] { return c.get("/v1/pool").json()["pipelines"]["narrow"][0]; };
  ASSERT_TRUE(eventually([&] { return stage()["queued"] == 1 && stage()["busy"] == 1; }))
      << stage();
  EXPECT_EQ(stage()["type"], "gated");
  EXPECT_EQ(stage()["workers"], 1);
  EXPECT_EQ(stage()["queue_capacity"], 1);
  EXPECT_EQ(c.get("/v1/jobs/" + id).json()["status"], "running");
  // Others go on meanwhile: another pipeline, whose stages have pools of their own.
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"shout","payload":["q"]})").json()["status"],
            "succeeded");
  for (const char* name : {"a", "b", "c"}) release(name);
  const json job = wait_terminal(c, id);
  EXPECT_EQ(job["status"], "succeeded") << job;
  EXPECT_EQ(job["result"][2]["stdout"], "c\n");
  const std::string metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find(R"(jobd_stage_queue_depth{pipeline="narrow",stage="0",type="gated"} 0)"),
            std::string::npos)
      << metrics;
  const std::string path = (dir_.path() / "metrics.txt").string();
  std::ofstream(path) << metrics;
  const command_result checked = run_command("promtool check metrics < " + path);
  EXPECT_EQ(checked.status, 0) << checked.output;
  EXPECT_EQ(checked.output, "");
}

// The stage pools' threads start before the server's: SIGTERM must still reach the server
// (read from its signalfd) and drain, not end jobd where it lands.
TEST_F(PipelineHttp, SigtermDrainsARunningPipeline) {
  jobd_process server(args({{"drain_timeout_ms", 300}}));
  http_client c(server.port());
  const std::string id = submit_async(c, R"({"type":"stuck","payload":"x","timeout_ms":60000})");
  ASSERT_TRUE(eventually([&] { return !processes_with(hang_marker()).empty(); }));
  server.signal(SIGTERM);
  server.wait_for_log("signal 15: draining");
  EXPECT_EQ(server.wait_exit(), 0) << server.full_output();
  EXPECT_TRUE(processes_with(hang_marker()).empty());
}

TEST_F(PipelineHttp, SqliteKeepsTheStagesAcrossAKill) {
  const std::string db = (dir_.path() / "jobs.db").string();
  std::string id;
  {
    jobd_process server(args({{"store", "sqlite:" + db}}));
    http_client c(server.port());
    const json job = c.post("/v1/jobs?wait=true", R"({"type":"shout","payload":["ab"]})").json();
    ASSERT_EQ(job["status"], "succeeded") << job;
    id = job["id"];
    server.signal(SIGKILL);
    server.wait_exit();
  }
  jobd_process again(args({{"store", "sqlite:" + db}}));
  http_client c(again.port());
  const json job = c.get("/v1/jobs/" + id).json();
  EXPECT_EQ(job["stages"][0]["status"], "succeeded") << job;
  EXPECT_EQ(job["stages"][0]["items"], 1) << job;
}

TEST_F(PipelineHttp, ABadPipelineStopsTheStartWithAClearError) {
  const auto refused = [&](const json& pipeline) {
    args({{"job_types", {{"broken", pipeline}}}});
    jobd_process check({"--config", config_.string(), "--check-config"}, {}, false);
    EXPECT_EQ(check.wait_exit(), 2);
    return check.full_output();
  };
  EXPECT_NE(refused({{"kind", "pipeline"}, {"stages", {{{"type", "uper"}}}}})
                .find("job_types.broken.stages[0].type: no job type \"uper\""),
            std::string::npos);
  EXPECT_NE(refused({{"kind", "pipeline"}, {"stages", json::array()}})
                .find("job_types.broken.stages: must be an array of 1..64 stages"),
            std::string::npos);
  EXPECT_NE(refused({{"kind", "pipeline"}, {"stages", {{{"type", "echo"}, {"workers", 0}}}}})
                .find("job_types.broken.stages[0].workers: must be an integer 1..1024"),
            std::string::npos);
  EXPECT_NE(refused({{"kind", "pipline"}, {"stages", {{{"type", "echo"}}}}})
                .find("job_types.broken.kind: must be \"exec\" (the default) or \"pipeline\""),
            std::string::npos);
  EXPECT_NE(refused({{"kind", "pipeline"}, {"stages", {{{"type", "echo"}, {"mapp", true}}}}})
                .find("(did you mean map?)"),
            std::string::npos);
  // A good one is shown back whole.
  args();
  jobd_process check({"--config", config_.string(), "--check-config"}, {}, false);
  EXPECT_EQ(check.wait_exit(), 0);
  EXPECT_NE(check.full_output().find(R"("queue_capacity": 1)"), std::string::npos);
  EXPECT_NE(check.full_output().find(R"("stealing": "auto")"), std::string::npos);
}

}  // namespace
}  // namespace jobd::testing
