// Exec job types end to end: real commands behind the real server, deadlines that kill whole
// process trees, bounded memory and descriptors.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/proc.hpp"
#include "../support/temp_folder.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;

// The sleeps' markers, found in the process list: each test that looks for one has its own,
// and the test process's id in it keeps it apart from another run of these tests beside this
// one (a sanitizer build's, say). sleep takes any decimal: 987.6540 becomes 987.6540 and the
// pid in seven digits, so that no marker is the start of another.
std::string marker(const char* base) {
  std::string pid = std::to_string(getpid());
  return base + std::string(7 - std::min<std::size_t>(pid.size(), 7), '0') + pid;
}

// A process group whose processes all ignore SIGTERM, found by their sleep's marker; it says
// "holding on" on stderr first.
json stubborn(const std::string& marker) {
  return {{"command",
           {"/bin/sh", "-c",
            "echo holding on >&2; trap '' TERM; (trap '' TERM; sleep " + marker + ") & sleep " +
                marker + "; wait"}}};
}

// A config file with exec types for these tests, removed afterwards.
class exec_config {
 public:
  exec_config() {
    path_ = ::testing::TempDir() + "jobd-exec-" + std::to_string(getpid()) + ".json";
    const json cfg = {
        {"kill_grace_ms", 300},
        {"job_types",
         {{"cat", {{"command", {"/bin/cat"}}, {"output", "json"}}},
          // One marker per test that looks for them, so that tests run in parallel stay apart.
          {"stubborn-deadline", stubborn(marker("987.6540"))},
          {"stubborn-cancel", stubborn(marker("987.6543"))},
          {"ignore-stdin", {{"command", {"/bin/sh", "-c", "sleep 0.2; echo done"}}}},
          {"flood",
           {{"command", {"/bin/sh", "-c", "head -c 50000000 /dev/zero"}},
            {"max_output_bytes", 1024}}},
          {"exit3", {{"command", {"/bin/sh", "-c", "echo broken >&2; exit 3"}}}},
          {"quick", {{"command", {"/bin/sh", "-c", "echo $$"}}}},
          {"long", {{"command", {"/bin/sleep", marker("987.6547")}}}},
          // grep itself, not through sh: the shell clears its signal mask as it starts.
          {"signal-mask", {{"command", {"/bin/grep", "SigBlk", "/proc/self/status"}}}},
          // Leaves its group, says its pid once it has, and lives on 0.3 s after its job.
          {"escapee",
           {{"command",
             {"/bin/sh", "-c",
              "echo $(setsid sh -c 'echo $$; exec sleep 0.3 >/dev/null 2>&1' &)"}}}}}}};
    std::ofstream(path_) << cfg.dump();
  }
  ~exec_config() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool any_process_with(const std::string& marker) {
  return !processes_with(marker).empty();
}

class ExecOverHttp : public ::testing::Test {
 protected:
  exec_config config_;
};

// jobd blocks its shutdown signals in every thread (it reads them from a signalfd); a job's
// process must not inherit that, or the SIGTERM at its deadline would wait for the SIGKILL.
TEST_F(ExecOverHttp, AJobsProcessStartsWithNoSignalBlocked) {
  jobd_process server({"--config", config_.path(), "--workers", "1"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"signal-mask"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string out = r.json()["result"]["stdout"];
  EXPECT_EQ(std::stoull(out.substr(out.find(':') + 1), nullptr, 16), 0u) << out;
}

TEST_F(ExecOverHttp, RunsAConfiguredCommandWithThePayloadOnStdin) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"cat","payload":{"n":[1,2,3]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["result"],
            (json{{"exit_code", 0}, {"stdout", {{"n", {1, 2, 3}}}}, {"stderr", ""}}));
  bool listed = false;
  const json types = c.get("/v1/job-types").json();
  for (const auto& t : types["job_types"]) listed |= t["name"] == "cat" && t["kind"] == "exec";
  EXPECT_TRUE(listed);
}

TEST_F(ExecOverHttp, DeadlineKillsTheWholeProcessTreeEvenWhenItIgnoresSigterm) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"stubborn-deadline","timeout_ms":300})");
  ASSERT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json()["status"], "timed_out");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("SIGKILL"), std::string::npos)
      << r.body;
  // What it said before it hung is where an operator looks first.
  EXPECT_EQ(r.json()["error"]["stderr"], "holding on\n") << r.body;
  // Terminal only once every process of the group is gone.
  EXPECT_FALSE(any_process_with(marker("987.6540")));
}

TEST_F(ExecOverHttp, CancelOfARunningExecJobKillsItsProcesses) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  const std::string id = submit_async(c, R"({"type":"stubborn-cancel"})");
  // The shell's own command line holds the marker: only a second process shows that it has
  // written its line and ignores SIGTERM, which it does before it forks.
  ASSERT_TRUE(eventually([] { return processes_with(marker("987.6543")).size() >= 2; }));
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/" + id).status, 202);
  const json done = wait_terminal(c, id);
  EXPECT_EQ(done["status"], "cancelled");
  EXPECT_EQ(done["error"]["stderr"], "holding on\n") << done;
  EXPECT_FALSE(any_process_with(marker("987.6543")));
}

// Out of its job's reach, an escapee is still jobd's to reap (jobd is its subreaper, or PID 1
// in a container): once it exits it must not stay a zombie, though no job waits for it.
TEST_F(ExecOverHttp, AProcessThatLeftItsJobsGroupIsReapedAfterItExits) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"escapee"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const pid_t escapee = std::stoi(r.json()["result"]["stdout"].get<std::string>());
  EXPECT_EQ(status_of(escapee).parent, server.pid());
  // It exits 0.3 s after the job; the server sweeps for such processes every second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status_of(escapee).state != '\0' && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status_of(escapee).state, '\0') << "still there, state " << status_of(escapee).state;
}

TEST_F(ExecOverHttp, TwoMegabytesToAChildThatNeverReadsStdinDoNotDeadlock) {
  jobd_process server(
      {"--config", config_.path(), "--workers", "2", "--max-body-bytes", "4000000"});
  http_client c(server.port());
  const std::string big =
      R"({"type":"ignore-stdin","payload":")" + std::string(2'000'000, 'x') + "\"}";
  const auto r = c.post("/v1/jobs?wait=true", big);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.json()["result"]["stdout"], "done\n");
  EXPECT_EQ(c.get("/healthz").status, 200);  // no SIGPIPE took the server down
}

TEST_F(ExecOverHttp, FiftyMegabytesAgainstAOneKilobyteCapFailAndTheServerStaysSmall) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  // Against the server's own size before, which a sanitizer build multiplies.
  ASSERT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"quick"})").status, 200);
  const long before = peak_rss_kb(server.pid());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"flood"})");
  ASSERT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "output_too_large");
  EXPECT_LT(peak_rss_kb(server.pid()) - before, 16 * 1024) << before;  // 50 MB went by
}

TEST_F(ExecOverHttp, NonZeroExitFailsKeepingTheExitCodeAndStderr) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"exit3"})");
  ASSERT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["error"]["code"], "nonzero_exit");
  EXPECT_EQ(r.json()["error"]["exit_code"], 3);
  EXPECT_EQ(r.json()["error"]["stderr"], "broken\n");
}

TEST_F(ExecOverHttp, AHundredConcurrentExecJobsLeaveNoDescriptorBehind) {
  jobd_process server({"--config", config_.path(), "--workers", "8", "--queue-capacity", "200"});
  http_client c(server.port());
  ASSERT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"quick"})").status, 200);  // warm up
  const int before = open_fds(server.pid());
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(submit_async(c, R"({"type":"quick"})"));
  for (const auto& id : ids) EXPECT_EQ(wait_terminal(c, id)["status"], "succeeded");
  EXPECT_EQ(open_fds(server.pid()), before);
}

// A second SIGTERM exits without the drain, but not without the jobs' processes.
TEST_F(ExecOverHttp, ASecondSigtermExitsAtOnceAndEndsTheJobsProcesses) {
  jobd_process server({"--config", config_.path(), "--workers", "2"});
  http_client c(server.port());
  (void)submit_async(c, R"({"type":"long"})");
  std::vector<pid_t> running;
  ASSERT_TRUE(eventually([&] { return !(running = processes_with(marker("987.6547"))).empty(); }));
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, running[0], 0));
  ASSERT_GE(fd, 0);
  server.signal(SIGTERM);
  server.wait_for_log("draining");
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 1);
  pollfd exited{fd, POLLIN, 0};
  if (poll(&exited, 1, 10'000) != 1) {
    ADD_FAILURE() << "the job's process outlived jobd; its log:\n" << server.full_output();
    syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
  }
  close(fd);
}

TEST(ExampleConfig, IsValidAndItsExecTypesWork) {
  const std::string example = std::string(JOBD_SOURCE_DIR) + "/examples/jobd.json";
  jobd_process check({"--config", example, "--check-config"}, {}, false);
  EXPECT_EQ(check.wait_exit(), 0) << check.full_output();

  // Its store is var/jobd.db under the folder jobd runs in, as make run has it in the checkout.
  temp_folder run_in;
  jobd_process server({"--config", example, "--listen", "127.0.0.1:0"}, {}, true,
                      run_in.path().string());
  server.wait_for_log("job store: sqlite:var/jobd.db (schema 7, sync full)");
  EXPECT_TRUE(std::filesystem::exists(run_in.path() / "var" / "jobd.db"));
  http_client c(server.port());
  auto r = c.post("/v1/jobs?wait=true",
                  R"({"type":"json-summary","payload":{"items":[{"price":3},{"price":4}]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["result"]["stdout"], (json{{"items", 2}, {"total", 7}}));
  r = c.post("/v1/jobs?wait=true", R"({"type":"wordcount","payload":"three little words"})");
  EXPECT_EQ(r.json()["result"]["stdout"], "3\n");
  r = c.post("/v1/jobs?wait=true", R"({"type":"checksum","payload":"abc"})");
  EXPECT_EQ(r.json()["result"]["stdout"].get<std::string>().substr(0, 16), "ba7816bf8f01cfea");
  // Orders summarised side by side, then one checksum over the summaries, in order.
  r = c.post("/v1/jobs?wait=true", R"({"type":"order-receipts","payload":[
      {"items":[{"price":3},{"price":4}]}, {"items":[{"price":5}]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json job = r.json();
  EXPECT_EQ(job["stages"][0]["items"], 2) << job;
  EXPECT_EQ(job["stages"][1]["status"], "succeeded") << job;
  const json summaries = {
      {{"exit_code", 0}, {"stdout", {{"items", 2}, {"total", 7}}}, {"stderr", ""}},
      {{"exit_code", 0}, {"stdout", {{"items", 1}, {"total", 5}}}, {"stderr", ""}}};
  r = c.post("/v1/jobs?wait=true", json{{"type", "checksum"}, {"payload", summaries}}.dump());
  EXPECT_EQ(job["result"]["stdout"], r.json()["result"]["stdout"]) << job;
}

}  // namespace
}  // namespace jobd::testing
