// One suite for every store backend: each runs it, so that none can drift from the interface's
// promises. The SQLite backend runs on a file of its own in a temporary folder.
#include "store/job_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "../support/temp_folder.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"

namespace jobd::store {
namespace {

using namespace std::chrono_literals;

using backend_factory =
    std::function<std::unique_ptr<job_store>(const std::filesystem::path& folder, retention)>;

struct backend {
  const char* name;
  backend_factory make;
};

void PrintTo(const backend& b, std::ostream* out) {
  *out << b.name;
}

class JobStoreConformance : public ::testing::TestWithParam<backend> {
 protected:
  std::unique_ptr<job_store> open(retention keep = {}) {
    return GetParam().make(folder_.path(), keep);
  }

 private:
  temp_folder folder_;
};

// Told once, with the outcome.
struct waiting_listener final : write_listener {
  void written(const store_error* e) override {
    told.set_value(e == nullptr ? std::string() : e->message);
  }
  std::promise<std::string> told;
};

job_record record(std::uint64_t seq, job_status status, std::uint32_t version = 0) {
  job_record r;
  r.seq = seq;
  r.id = opaque_id(seq, 42);
  r.version = version;
  r.type = "noop";
  r.status = status;
  r.created_at = std::chrono::system_clock::now();
  if (status == job_status::succeeded) r.result = std::make_shared<const nlohmann::json>(seq);
  return r;
}

// Writes the group and waits until it is stored: a read sees a group once its listener is told.
void write(job_store& s, std::vector<job_record> records) {
  auto l = std::make_shared<waiting_listener>();
  auto told = l->told.get_future();
  s.write(records, l, on_failure::report);
  EXPECT_EQ(told.get(), "");
}

// The record the store answers with for `seq`, waiting for it if the backend answers later.
std::optional<job_record> find(job_store& s, std::uint64_t seq) {
  std::promise<std::optional<job_record>> got;
  s.find(seq, [&got](std::optional<job_record> r, const store_error* e) {
    EXPECT_EQ(e, nullptr);
    got.set_value(std::move(r));
  });
  return got.get_future().get();
}

std::vector<std::uint64_t> listed(job_store& s, list_query q) {
  std::promise<std::vector<std::uint64_t>> got;
  s.list(q, [&got](std::vector<job_record> jobs, const store_error* e) {
    EXPECT_EQ(e, nullptr);
    std::vector<std::uint64_t> seqs;
    for (const auto& j : jobs) seqs.push_back(j.seq);
    got.set_value(std::move(seqs));
  });
  return got.get_future().get();
}

TEST_P(JobStoreConformance, AFreshStoreHasNothingToRecover) {
  auto s = open();
  const recovered_jobs r = s->recover();
  EXPECT_EQ(r.last_seq, 0u);
  EXPECT_TRUE(r.unfinished.empty());
  EXPECT_EQ(find(*s, 1), std::nullopt);
  EXPECT_TRUE(listed(*s, {}).empty());
}

TEST_P(JobStoreConformance, RecordsWrittenAreFoundAndListedNewestFirst) {
  auto s = open();
  write(*s, {record(1, job_status::succeeded), record(2, job_status::queued)});
  write(*s, {record(3, job_status::running)});
  ASSERT_NE(find(*s, 2), std::nullopt);
  EXPECT_EQ(find(*s, 2)->status, job_status::queued);
  EXPECT_EQ(*find(*s, 1)->result, nlohmann::json(1));
  EXPECT_EQ(listed(*s, {}), (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_EQ(listed(*s, {.limit = 2}), (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(listed(*s, {.status = job_status::queued}), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(find(*s, 4), std::nullopt);
}

// A retried, scheduled job keeps its attempts, its schedule and its history, whatever a later
// version changes of them.
TEST_P(JobStoreConformance, AttemptsSchedulesHistoryAndKeysAreKept) {
  auto s = open();
  const auto t0 = std::chrono::system_clock::time_point(1'765'000'000'123'456'789ns);
  job_record r = record(1, job_status::scheduled);
  r.attempt = 3;
  r.max_attempts = 5;
  r.retry_backoff = 250ms;
  r.run_at = t0;
  r.next_attempt_at = t0 + 2s;
  r.concurrency_key = "deploy-7";
  r.earlier_attempts = {
      {.number = 1,
       .status = job_status::failed,
       .started_at = t0,
       .finished_at = t0 + 1ms,
       .error =
           job_failure{"job_failed", "no",
                       std::make_shared<const nlohmann::json>(nlohmann::json{{"exit_code", 3}})}},
      {.number = 2,
       .status = job_status::timed_out,
       .finished_at = t0 + 9ms,
       .error = job_failure{"timed_out", "late", nullptr}}};
  write(*s, {r});
  const auto got = find(*s, 1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, job_status::scheduled);
  EXPECT_EQ(got->attempt, 3u);
  EXPECT_EQ(got->max_attempts, 5u);
  EXPECT_EQ(got->retry_backoff, 250ms);
  EXPECT_EQ(got->run_at, t0);
  EXPECT_EQ(got->next_attempt_at, t0 + 2s);
  EXPECT_EQ(got->concurrency_key, "deploy-7");
  ASSERT_EQ(got->earlier_attempts.size(), 2u);
  const job_attempt& first = got->earlier_attempts[0];
  EXPECT_EQ(first.number, 1u);
  EXPECT_EQ(first.status, job_status::failed);
  EXPECT_EQ(first.started_at, t0);
  EXPECT_EQ(first.finished_at, t0 + 1ms);
  ASSERT_TRUE(first.error);
  EXPECT_EQ(first.error->message, "no");
  ASSERT_TRUE(first.error->details);
  EXPECT_EQ(*first.error->details, (nlohmann::json{{"exit_code", 3}}));
  const job_attempt& second = got->earlier_attempts[1];
  EXPECT_EQ(second.started_at, std::nullopt);
  EXPECT_EQ(second.error->details, nullptr);
  EXPECT_EQ(listed(*s, {.status = job_status::scheduled}), (std::vector<std::uint64_t>{1}));
  // Scheduled is not over: a restart takes it up (from a store that keeps anything).
  if (std::string_view(GetParam().name) != "memory") {
    EXPECT_EQ(s->recover().unfinished.size(), 1u);
  }

  r.version = 1;
  r.status = job_status::succeeded;
  r.attempt = 4;
  r.next_attempt_at.reset();
  r.earlier_attempts.pop_back();
  write(*s, {r});
  EXPECT_EQ(find(*s, 1)->attempt, 4u);
  EXPECT_EQ(find(*s, 1)->next_attempt_at, std::nullopt);
  EXPECT_EQ(find(*s, 1)->earlier_attempts.size(), 1u);
  EXPECT_EQ(find(*s, 1)->concurrency_key, "deploy-7");  // written once, kept
  if (std::string_view(GetParam().name) != "memory") {
    EXPECT_EQ(s->recover().unfinished.size(), 0u);
  }
}

// Writers need not order their calls: a record older than the one stored changes nothing.
TEST_P(JobStoreConformance, TheNewestVersionOfAJobIsKeptWhateverTheOrderOfTheWrites) {
  auto s = open();
  write(*s, {record(1, job_status::queued, 0)});
  write(*s, {record(1, job_status::succeeded, 2)});
  write(*s, {record(1, job_status::running, 1)});
  EXPECT_EQ(find(*s, 1)->status, job_status::succeeded);
  EXPECT_EQ(find(*s, 1)->version, 2u);
}

TEST_P(JobStoreConformance, ItsListenerIsToldOnceTheGroupIsStored) {
  struct listener final : write_listener {
    void written(const store_error* e) override {
      ++calls;
      failed = e != nullptr;
    }
    int calls = 0;
    bool failed = false;
  };
  auto s = open();
  auto l = std::make_shared<listener>();
  const std::vector<job_record> group{record(1, job_status::queued), record(2, job_status::queued)};
  s->write(group, l, on_failure::report);
  s.reset();  // a durable backend tells it later, at the latest as it closes
  EXPECT_EQ(l->calls, 1);
  EXPECT_FALSE(l->failed);
}

TEST_P(JobStoreConformance, ListenersAreToldInTheOrderTheGroupsWereWritten) {
  struct listener final : write_listener {
    listener(std::mutex& m, std::vector<int>& o, int n) : mu(m), order(o), id(n) {}
    void written(const store_error* /*e*/) override {
      std::lock_guard lk(mu);
      order.push_back(id);
    }
    std::mutex& mu;
    std::vector<int>& order;
    int id;
  };
  std::mutex mu;
  std::vector<int> order;
  auto s = open();
  for (int i = 0; i < 50; ++i) {
    const std::vector<job_record> group{
        record(static_cast<std::uint64_t>(i + 1), job_status::queued)};
    s->write(group, std::make_shared<listener>(mu, order, i),
             i % 2 == 0 ? on_failure::report : on_failure::retry);
  }
  s.reset();
  std::vector<int> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
}

TEST_P(JobStoreConformance, IsUpWhenItCanWriteAndSaysSo) {
  auto s = open();
  write(*s, {record(1, job_status::queued)});
  EXPECT_TRUE(s->health().up);
  EXPECT_EQ(s->health().reason, "");
}

TEST_P(JobStoreConformance, KeepsOnlyTheNewestFinishedJobsButNeverForgetsUnfinishedOnes) {
  auto s = open({.keep_newest = 2, .keep_for = 3600s});
  write(*s, {record(1, job_status::running)});
  for (std::uint64_t seq = 2; seq <= 5; ++seq) {
    write(*s, {record(seq, job_status::queued)});
    write(*s, {record(seq, job_status::succeeded, 1)});
  }
  EXPECT_NE(find(*s, 1), std::nullopt);
  EXPECT_EQ(find(*s, 2), std::nullopt);
  EXPECT_EQ(find(*s, 3), std::nullopt);
  EXPECT_NE(find(*s, 4), std::nullopt);
  EXPECT_NE(find(*s, 5), std::nullopt);
  EXPECT_EQ(listed(*s, {}), (std::vector<std::uint64_t>{5, 4, 1}));
}

TEST_P(JobStoreConformance, ForgetsFinishedJobsOlderThanTheRetentionTime) {
  auto s = open({.keep_newest = 100, .keep_for = 0s});  // too old on the next look
  write(*s, {record(1, job_status::succeeded), record(2, job_status::queued)});
  EXPECT_EQ(find(*s, 1), std::nullopt);
  EXPECT_NE(find(*s, 2), std::nullopt);
}

// A record given back is the one written: its readers may keep it while the job moves on.
TEST_P(JobStoreConformance, ARecordReadNeverChangesUnderItsReader) {
  auto s = open();
  write(*s, {record(1, job_status::queued)});
  const std::optional<job_record> before = find(*s, 1);
  write(*s, {record(1, job_status::succeeded, 1)});
  EXPECT_EQ(before->status, job_status::queued);
  EXPECT_EQ(find(*s, 1)->status, job_status::succeeded);
}

// Each attempt's outcome, as a retried group's listener hears them.
struct counting_listener final : write_listener {
  void written(const store_error* e) override {
    std::lock_guard lk(mu);
    (e == nullptr ? stored : failed) += 1;
    if (e == nullptr) done.set_value();
    changed.notify_all();
  }
  bool failed_once_within(std::chrono::seconds limit) {
    std::unique_lock lk(mu);
    return changed.wait_for(lk, limit, [&] { return failed > 0; });
  }
  std::mutex mu;
  std::condition_variable changed;
  int stored = 0;
  int failed = 0;
  std::promise<void> done;
};

// While another process holds the file's write lock, commits fail: a reported group is told
// so and dropped, a retried one is told of each failed attempt and kept, the store says it is
// down; once the lock goes, the kept group is stored, its listener told once, and the store is
// up again, by itself.
TEST(SqliteStore, AFileLockedElsewhereTakesItDownAndKeptWritesLandOnceItIsFree) {
  temp_folder folder;
  const std::string path = (folder.path() / "jobs.db").string();
  std::promise<void> went_down;
  std::promise<void> came_back;
  sqlite_store s(
      {.path = path, .lock_timeout = 50ms, .on_health_change = [&](const store_health& h) {
         (h.up ? came_back : went_down).set_value();
       }});
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto refused = std::make_shared<waiting_listener>();
  auto refused_told = refused->told.get_future();
  const job_record fresh = record(1, job_status::queued);
  s.write({&fresh, 1}, refused, on_failure::report);
  EXPECT_NE(refused_told.get().find("locked"), std::string::npos);
  went_down.get_future().get();
  EXPECT_FALSE(s.available());
  EXPECT_FALSE(s.health().up);
  EXPECT_NE(s.health().reason.find("locked"), std::string::npos);

  auto kept = std::make_shared<counting_listener>();
  const job_record ended = record(2, job_status::succeeded);
  s.write({&ended, 1}, kept, on_failure::retry);
  // Told of a failed attempt while the lock is held: the writer retries within 2 s.
  EXPECT_TRUE(kept->failed_once_within(10s));
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  kept->done.get_future().get();
  came_back.get_future().get();
  EXPECT_TRUE(s.available());
  {
    std::lock_guard lk(kept->mu);
    EXPECT_EQ(kept->stored, 1);
  }
  EXPECT_EQ(find(s, 1), std::nullopt);
  EXPECT_EQ(find(s, 2)->status, job_status::succeeded);
  EXPECT_GE(s.stats().write_errors, 2u);
}

// A key is stored once, with the version that makes its job, whatever versions follow; one
// given again comes back after the first, so that the later counts; an expired one is deleted
// by the next commit, here the one that writes it.
TEST(SqliteStore, IdempotencyKeysAreStoredOnceAndComeBackInTheOrderTheyWereGiven) {
  temp_folder folder;
  const std::string path = (folder.path() / "jobs.db").string();
  const auto now = std::chrono::system_clock::now();
  const auto keyed = [](job_record r, std::string key,
                        std::chrono::system_clock::time_point until) {
    r.idempotency = std::make_shared<const idempotency_key>(
        idempotency_key{.key = std::move(key), .digest = r.seq * 7, .expires_at = until});
    return r;
  };
  {
    sqlite_store s({.path = path});
    write(s, {keyed(record(1, job_status::queued), " k", now + 1h)});
    write(s, {keyed(record(1, job_status::running, 1), " k", now + 1h)});
    write(s, {keyed(record(1, job_status::succeeded, 2), " k", now + 1h)});
    write(s, {keyed(record(2, job_status::queued), " k", now + 2h)});
    write(s, {keyed(record(3, job_status::queued), " gone", now - 1s)});
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM idempotency_keys", -1, &count, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 2);
  sqlite3_finalize(count);
  sqlite3_close(db);

  sqlite_store again({.path = path});
  const recovered_jobs r = again.recover();
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].first, 1u);
  EXPECT_EQ(r.keys[1].first, 2u);
  EXPECT_EQ(r.keys[1].second.key, " k");
  EXPECT_EQ(r.keys[1].second.digest, 14u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, JobStoreConformance,
    ::testing::Values(backend{"memory",
                              [](const std::filesystem::path&, retention keep) {
                                return std::make_unique<memory_store>(keep);
                              }},
                      backend{"sqlite",
                              [](const std::filesystem::path& folder, retention keep) {
                                return std::make_unique<sqlite_store>(
                                    sqlite_options{.path = folder / "jobs.db", .keep = keep});
                              }}),
    [](const ::testing::TestParamInfo<backend>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace jobd::store
