// The SQLite store through the real binary: what a restart after kill -9 gives back, and the
// faults an operator meets (a file that is not a database, a newer schema, a second jobd, a
// file locked by another process, writes the system refuses).

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "metrics_page.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A connection of the test's own to the store's file, as another process would hold one.
class other_connection {
 public:
  explicit other_connection(const std::filesystem::path& file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << file;
    sqlite3_busy_timeout(db_, 5000);
  }
  ~other_connection() { sqlite3_close(db_); }
  other_connection(const other_connection&) = delete;
  other_connection& operator=(const other_connection&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error != nullptr ? error : "?");
    }
    sqlite3_free(error);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string contents_of(const std::filesystem::path& file) {
  std::ostringstream out;
  out << std::ifstream(file, std::ios::binary).rdbuf();
  return out.str();
}

// Waits for a file another process writes, for at most 10 s.
bool appears(const std::filesystem::path& file) {
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(file) || std::filesystem::file_size(file) == 0) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class DurableStore : public ::testing::Test {
 protected:
  DurableStore() {
    // `hold` runs until killed and says its pid first: it has started once the file exists.
    const json cfg = {
        {"job_types",
         {{"hold",
           {{"command",
             {"/bin/sh", "-c",
              "echo $$ > " + (dir_.path() / "hold.pid").string() + "; exec sleep 30"}}}}}}};
    std::ofstream(config_) << cfg.dump();
  }

  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{"--config", config_.string(), "--store", "sqlite:" + db_.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  temp_folder dir_;
  std::filesystem::path db_ = dir_.path() / "jobs" / "jobd.db";
  std::filesystem::path config_ = dir_.path() / "jobd.json";
};

TEST_F(DurableStore, AfterAKill9EveryAcceptedJobComesBackAsTheContractSays) {
  const auto one_worker = args({"--workers", "1"});
  json done_before;
  std::string hold, timed, high;
  std::vector<std::string> normal;
  std::chrono::steady_clock::time_point timed_submitted;
  {
    jobd_process first(one_worker);
    first.wait_for_log("job store: sqlite:" + db_.string() + " (schema 7, sync full)");
    http_client c(first.port());
    const auto r = c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":{"kept":true}})");
    ASSERT_EQ(r.status, 200) << r.body;
    done_before = r.json();
    // The one worker holds `hold`; the rest wait in their lanes behind it.
    hold = submit_async(c, R"({"type":"hold"})");
    ASSERT_TRUE(appears(dir_.path() / "hold.pid"));
    normal.push_back(submit_async(c, sleep_job(30)));
    timed_submitted = std::chrono::steady_clock::now();
    timed = submit_async(c, sleep_job(30, R"(,"timeout_ms":1000)"));
    high = submit_async(c, sleep_job(30, R"(,"priority":"high")"));
    normal.push_back(submit_async(c, sleep_job(30)));
    normal.push_back(submit_async(c, sleep_job(30)));
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait_exit(), 128 + SIGKILL);
  }
  // jobd's death does not reach the job's own process (see docs/operations.md).
  kill(std::stoi(contents_of(dir_.path() / "hold.pid")), SIGKILL);
  // The queued job's deadline passes while jobd is down.
  std::this_thread::sleep_until(timed_submitted + 1100ms);

  jobd_process second(one_worker);
  const std::string line = second.wait_for_log("unfinished job(s)");
  EXPECT_NE(line.find("took up 6 unfinished job(s)"), std::string::npos) << line;
  EXPECT_NE(line.find("4 queued again, 0 scheduled, 1 timed out while jobd was down, 1 "
                      "interrupted while running (0 of them due again as their next attempt), 0 "
                      "of a type no longer configured"),
            std::string::npos)
      << line;
  http_client c(second.port());
  // A finished job reads as it did, its payload kept.
  const std::string done_id = done_before["id"];
  EXPECT_EQ(c.get("/v1/jobs/" + done_id).json(), done_before);
  EXPECT_EQ(c.get("/v1/jobs/" + done_id + "?payload=true").json()["payload"],
            (json{{"kept", true}}));
  const json interrupted = c.get("/v1/jobs/" + hold).json();
  EXPECT_EQ(interrupted["status"], "failed");
  EXPECT_EQ(interrupted["error"]["code"], "interrupted");
  const json late = c.get("/v1/jobs/" + timed).json();
  EXPECT_EQ(late["status"], "timed_out");
  EXPECT_TRUE(late["started_at"].is_null());
  EXPECT_NE(late["error"]["message"].get<std::string>().find("never started"), std::string::npos);
  // The queued ones run again, each lane in its order.
  EXPECT_EQ(wait_terminal(c, normal.back())["status"], "succeeded");
  EXPECT_EQ(wait_terminal(c, high)["status"], "succeeded");
  std::vector<std::string> starts;
  for (const auto& id : normal) {
    const json j = c.get("/v1/jobs/" + id).json();
    EXPECT_EQ(j["status"], "succeeded") << j;
    starts.push_back(j["started_at"].get<std::string>());
  }
  EXPECT_TRUE(std::is_sorted(starts.begin(), starts.end())) << json(starts);
  // Numbering goes on: a new job never takes an old one's id.
  const std::string fresh = submit_async(c, R"({"type":"noop"})");
  for (const auto& id : {hold, timed, high, normal[0], normal[1], normal[2]}) EXPECT_NE(fresh, id);
  EXPECT_EQ(c.get("/v1/jobs?limit=100").json()["jobs"].size(), 8u);
}

// Scheduled jobs and attempts survive a kill -9: one due while jobd was down runs at start, one
// due later waits on, and a job interrupted with attempts left runs again as its next attempt.
TEST_F(DurableStore, ScheduledJobsAndAttemptsSurviveAKill9) {
  std::string due_while_down, due_later, hold;
  std::chrono::steady_clock::time_point submitted;
  {
    jobd_process first(args({"--workers", "1"}));
    http_client c(first.port());
    submitted = std::chrono::steady_clock::now();
    due_while_down = submit_async(c, R"({"type":"echo","payload":"down","delay_ms":300})");
    due_later = submit_async(c, R"({"type":"echo","payload":"later","delay_ms":60000})");
    hold = submit_async(c, R"({"type":"hold","max_attempts":2,"retry_backoff_ms":0})");
    ASSERT_TRUE(appears(dir_.path() / "hold.pid"));
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait_exit(), 128 + SIGKILL);
  }
  kill(std::stoi(contents_of(dir_.path() / "hold.pid")), SIGKILL);
  std::filesystem::remove(dir_.path() / "hold.pid");
  std::this_thread::sleep_until(submitted + 400ms);

  jobd_process second(args({"--workers", "1"}));
  const std::string line = second.wait_for_log("unfinished job(s)");
  EXPECT_NE(line.find("took up 3 unfinished job(s)"), std::string::npos) << line;
  EXPECT_NE(line.find("0 queued again, 2 scheduled, 0 timed out while jobd was down, 1 "
                      "interrupted while running (1 of them due again as their next attempt)"),
            std::string::npos)
      << line;
  http_client c(second.port());
  const json down = wait_terminal(c, due_while_down);
  EXPECT_EQ(down["status"], "succeeded") << down;
  EXPECT_EQ(down["result"], "down");
  EXPECT_EQ(c.get("/v1/jobs/" + due_later).json()["status"], "scheduled");
  // The interrupted job's next attempt holds the worker again; its first is in its history.
  ASSERT_TRUE(appears(dir_.path() / "hold.pid"));
  const json again = c.get("/v1/jobs/" + hold).json();
  EXPECT_EQ(again["status"], "running") << again;
  EXPECT_EQ(again["attempt"], 2);
  ASSERT_EQ(again["attempts"].size(), 2u) << again;
  EXPECT_EQ(again["attempts"][0]["status"], "failed");
  EXPECT_EQ(again["attempts"][0]["error"]["code"], "interrupted");
  cancel_running(c, hold);
  EXPECT_EQ(wait_terminal(c, hold)["status"], "cancelled");
  EXPECT_EQ(c.request("DELETE", "/v1/jobs/" + due_later).status, 200);
}

TEST_F(DurableStore, AFileThatIsNotADatabaseStopsTheStartAndIsLeftAlone) {
  std::filesystem::create_directories(db_.parent_path());
  const std::string text(4096, 'x');
  std::ofstream(db_) << text;
  jobd_process refused(args(), {}, false);
  EXPECT_EQ(refused.wait_exit(), 1);
  const std::string out = refused.full_output();
  EXPECT_NE(out.find("cannot start: the job store " + db_.string() +
                     " is not a SQLite database jobd can read"),
            std::string::npos)
      << out;
  EXPECT_EQ(contents_of(db_), text);
}

TEST_F(DurableStore, ASchemaNewerThanTheBinaryStopsTheStartAndIsLeftAlone) {
  jobd_process migrate({"--migrate-only", "--store", "sqlite:" + db_.string()}, {}, false);
  ASSERT_EQ(migrate.wait_exit(), 0) << migrate.full_output();
  EXPECT_NE(migrate.full_output().find("at schema version 7"), std::string::npos);
  other_connection(db_).exec("PRAGMA user_version = 99");
  jobd_process refused(args(), {}, false);
  EXPECT_EQ(refused.wait_exit(), 1);
  const std::string out = refused.full_output();
  EXPECT_NE(out.find("has schema version 99, newer than this jobd's (7)"), std::string::npos)
      << out;
  EXPECT_EQ(other_connection(db_).text("PRAGMA user_version"), "99");
}

// The first schema, as jobd 0.1 wrote it: frozen here, the format files in the field have.
constexpr const char* first_schema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY, version INTEGER NOT NULL, type TEXT NOT NULL,
  priority INTEGER NOT NULL, timeout_ms INTEGER NOT NULL, created_at INTEGER NOT NULL,
  status INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, queue_ns INTEGER NOT NULL,
  run_ns INTEGER, payload TEXT, result TEXT, error_code TEXT, error_message TEXT,
  error_details TEXT) STRICT;
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
PRAGMA user_version = 1;
)sql";

TEST_F(DurableStore, AFileOfTheFirstSchemaIsMigratedAndKeepsItsJobs) {
  std::filesystem::create_directories(db_.parent_path());
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  {
    other_connection v1(db_);
    v1.exec(first_schema);
    v1.exec("INSERT INTO meta VALUES ('id_salt', 12345)");
    // A job that succeeded a second ago (priority 1: normal; status 2: succeeded) and one
    // queued when the old jobd stopped (status 0).
    v1.exec("INSERT INTO jobs VALUES (1, 3, 'echo', 1, 1000, " +
            std::to_string(now_ns - 2'000'000'000) + ", 2, " +
            std::to_string(now_ns - 1'500'000'000) + ", " + std::to_string(now_ns - 1'000'000'000) +
            R"(, 500000000, 500000000, '"hi"', '"hi"', NULL, NULL, NULL))");
    v1.exec("INSERT INTO jobs VALUES (2, 1, 'echo', 1, 60000, " + std::to_string(now_ns) +
            R"(, 0, NULL, NULL, 0, NULL, '"again"', NULL, NULL, NULL, NULL))");
  }
  jobd_process server(args());
  server.wait_for_log("job store: sqlite:" + db_.string() + " (schema 7, sync full)");
  http_client c(server.port());
  json jobs = c.get("/v1/jobs").json()["jobs"];
  ASSERT_EQ(jobs.size(), 2u) << jobs;
  for (json& job : jobs) {
    if (job["status"] != "succeeded")
      job = c.get("/v1/jobs/" + job["id"].get<std::string>() + "?wait=true").json();
    EXPECT_EQ(job["status"], "succeeded") << job;
    EXPECT_EQ(job["attempt"], 1) << job;
    EXPECT_EQ(job["max_attempts"], 1) << job;
    EXPECT_EQ(job["run_at"], nullptr) << job;
    ASSERT_EQ(job["attempts"].size(), 1u) << job;
    EXPECT_EQ(job["attempts"][0]["status"], "succeeded") << job;
    EXPECT_EQ(job["attempts"][0]["started_at"], job["started_at"]) << job;
  }
  EXPECT_EQ(other_connection(db_).text("PRAGMA user_version"), "7");
}

TEST_F(DurableStore, ASecondJobdOnTheSameFileIsRefusedAndTheFirstGoesOn) {
  jobd_process first(args());
  jobd_process second(args(), {}, false);
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(second.full_output().find("in use by another jobd"), std::string::npos)
      << second.full_output();
  http_client c(first.port());
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
}

// The store is down while another process holds the file's write lock: submissions get 503
// store_unavailable at once, /readyz says why, a running job's end waits for the store, and
// all comes back by itself once the lock is let go.
TEST_F(DurableStore, AFileLockedByAnotherProcessTakesTheStoreDownUntilItIsFree) {
  std::string running, done;
  {
    jobd_process server(args({"--store-timeout-ms", "200"}));
    http_client c(server.port());
    done = c.post("/v1/jobs?wait=true", R"({"type":"noop"})").json()["id"];
    running = submit_async(c, sleep_job(500));
    other_connection other(db_);
    other.exec("BEGIN EXCLUSIVE");
    auto r = c.post("/v1/jobs", R"({"type":"noop"})");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "store_unavailable");
    EXPECT_EQ(r.header("retry-after"), "1");
    server.wait_for_log("job store: down, refusing jobs until it is back");
    r = c.get("/readyz");
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("locked"), std::string::npos)
        << r.body;
    const std::string page = c.get("/metrics").body;
    EXPECT_EQ(sample_text(page, "jobd_store_up"), "0");
    EXPECT_NE(sample_text(page, "jobd_store_errors_total{op=\"write\"}"), "0");
    // Known to be down: refused without waiting for the lock.
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_EQ(c.post("/v1/jobs", R"({"type":"noop"})").status, 503);
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 150ms);
    // The running job ends meanwhile, and its end cannot be stored: a wait for it is answered
    // with the job as the store has it (running), as if its limit had passed.
    const auto waited = c.get("/v1/jobs/" + running + "?wait=true");
    EXPECT_EQ(waited.status, 200);
    EXPECT_EQ(waited.json()["status"], "running");
    EXPECT_EQ(sample_text(c.get("/metrics").body,
                          R"(jobd_jobs_finished_total{priority="normal",status="succeeded"})"),
              "2");
    EXPECT_EQ(c.get("/v1/jobs/" + running).json()["status"], "running");
    other.exec("COMMIT");
    server.wait_for_log("job store: back up; taking jobs again");
    EXPECT_EQ(wait_terminal(c, running)["status"], "succeeded");
    EXPECT_EQ(c.get("/readyz").status, 200);
    EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(), 0);
  }
  // Everything acknowledged is in the file; nothing refused is.
  jobd_process again(args());
  http_client c(again.port());
  EXPECT_EQ(c.get("/v1/jobs/" + running).json()["status"], "succeeded");
  EXPECT_EQ(c.get("/v1/jobs/" + done).json()["status"], "succeeded");
  EXPECT_EQ(c.get("/v1/jobs?limit=100").json()["jobs"].size(), 3u);
}

// A full disk (a small tmpfs of jobd's own) takes the store down; freeing space brings it back,
// and the file is sound.
TEST_F(DurableStore, AFullDiskTakesTheStoreDownAndFreeingSpaceBringsItBack) {
  const auto disk = dir_.path() / "disk";
  std::filesystem::create_directories(disk);
  if (!can_mount_private_tmpfs(disk.string())) {
    GTEST_SKIP() << "mounting a private tmpfs needs root (CAP_SYS_ADMIN); "
                    "WritesTheSystemRefuses... covers the same failure without one";
  }
  jobd_process server(args({"--store", "sqlite:" + (disk / "jobd.db").string()}), {}, true, {},
                      private_tmpfs{disk.string(), "size=1m"});
  // jobd's view of its disk, from outside its mount namespace.
  const auto seen =
      std::filesystem::path("/proc") / std::to_string(server.pid()) / "root" / disk.relative_path();
  ASSERT_TRUE(std::filesystem::exists(seen / "jobd.db"));
  // Room to free later.
  std::ofstream(seen / "filler", std::ios::binary) << std::string(512 * 1024, 'f');
  http_client c(server.port());
  const std::string pad(16 * 1024, 'p');
  std::string full;
  int accepted = 0;
  for (int i = 0; i < 200 && full.empty(); ++i) {
    const auto r =
        c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":{"pad":")" + pad + R"("}})");
    if (r.status == 200) {
      ++accepted;
    } else if (r.status == 202) {
      // Accepted, but its end could not be stored: where to look for it later.
      EXPECT_EQ(r.json()["status"], "running");
      EXPECT_EQ(r.header("location"), "/v1/jobs/" + r.json()["id"].get<std::string>());
      ++accepted;
    } else {
      ASSERT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.json()["error"]["code"], "store_unavailable");
      full = r.json()["error"]["message"].get<std::string>();
    }
  }
  ASSERT_FALSE(full.empty()) << "the disk never filled";
  EXPECT_GT(accepted, 0);
  EXPECT_NE(full.find("full"), std::string::npos) << full;
  EXPECT_EQ(c.get("/readyz").status, 503);
  std::filesystem::remove(seen / "filler");
  server.wait_for_log("job store: back up; taking jobs again");
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
  EXPECT_EQ(other_connection(seen / "jobd.db").text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(c.get("/v1/jobs?limit=1000").json()["jobs"].size(),
            static_cast<std::size_t>(accepted) + 1);
}

// Writes the system refuses (here a file size limit of 0, as a full disk refuses them) take
// the store down; once they are allowed again it comes back, and the file is sound.
TEST_F(DurableStore, WritesTheSystemRefusesTakeTheStoreDownAndItComesBack) {
  jobd_process server(args());
  http_client c(server.port());
  ASSERT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
  rlimit before{};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, nullptr, &before), 0);
  const rlimit none{0, before.rlim_max};
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &none, nullptr), 0);
  const auto r = c.post("/v1/jobs?wait=true", R"({"type":"noop"})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "store_unavailable");
  EXPECT_EQ(c.get("/readyz").status, 503);
  ASSERT_EQ(prlimit(server.pid(), RLIMIT_FSIZE, &before, nullptr), 0);
  server.wait_for_log("job store: back up; taking jobs again");
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop"})").status, 200);
  EXPECT_EQ(c.get("/v1/jobs?limit=100").json()["jobs"].size(), 2u);
  EXPECT_EQ(other_connection(db_).text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace jobd::testing
