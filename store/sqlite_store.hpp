#pragma once

// Job records in one SQLite file: an accepted job survives a crash of jobd and, with the full
// sync, of the machine. One writer thread commits every group of records waiting at that
// instant in one transaction and one sync (a group commit), and only then tells their writers;
// a few reader threads, each with a read-only connection of its own, answer reads beside it
// (WAL lets them). No caller's thread waits on the disk. The schema is versioned (PRAGMA
// user_version) and migrated when the store opens; one jobd at a time holds the file.
//
//   sqlite_store jobs({.path = "var/jobd.db", .keep = {.keep_newest = 10'000}});
//
// When a commit fails (a full disk, a file locked past lock_timeout) the store is down: the
// groups that report are told, those that retry are kept and tried again with backoff, and a
// probe write is tried meanwhile; the first commit that succeeds brings it back up.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/job_store.hpp"

namespace jobd::store {

namespace detail {
class file_lock;
}

struct sqlite_options {
  std::string path;
  retention keep;
  // FULL: a commit is on the disk before the writers are told (it survives the machine's
  // power loss). NORMAL: on its way there (it survives a crash of jobd, not of the machine),
  // and several times cheaper a commit.
  bool full_sync = true;
  std::size_t readers = 2;  // read connections, each on a thread of its own; >= 1
  // How long a commit waits for a file another process has locked before it fails.
  std::chrono::milliseconds lock_timeout{5'000};
  // Told on the writer's thread each time the store goes down or comes back up.
  std::function<void(const store_health&)> on_health_change;
};

class sqlite_store final : public job_store {
 public:
  // The schema this build writes; a file with a newer one is refused.
  static constexpr std::int64_t schema_version = 7;

  // Opens the file (making it, and its folder, when missing), brings its schema up to this
  // build's and starts the threads. Throws store_open_error naming the file and what is wrong.
  explicit sqlite_store(sqlite_options options);
  // Commits what waits to be written (one attempt), tells its listeners, then stops its
  // threads. Reads not yet begun are told the store is closing.
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  [[nodiscard]] std::uint64_t id_salt() const override { return id_salt_; }
  [[nodiscard]] recovered_jobs recover() override;
  // Listeners are told in the order the groups were written.
  void write(std::span<const job_record> records, std::shared_ptr<write_listener> listener,
             on_failure if_failed) override;
  void find(std::uint64_t seq, find_done done) override;
  void list(const list_query& query, list_done done) override;
  [[nodiscard]] store_health health() const override;
  [[nodiscard]] bool available() const noexcept override {
    return up_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] store_stats stats() const override;

 private:
  using clock = std::chrono::steady_clock;
  struct group {
    std::vector<job_record> records;
    std::shared_ptr<write_listener> listener;
    on_failure if_failed = on_failure::report;
  };
  class writer;
  class reader;
  // Given the thread's reader, or nullptr and why there is none; false when the read failed.
  using read_task = unique_function<bool(reader* r, const std::string& unavailable)>;
  struct queued_read {
    clock::time_point since;
    read_task task;
  };

  void write_loop() noexcept;
  // One attempt at `batch` (empty: a tick of retention, or a probe while down). Tells the
  // listeners and leaves in `batch` the groups to try again. Returns whether it was stored.
  bool attempt(std::vector<group>& batch);
  void set_health(bool up, const std::string& reason);
  void read_loop() noexcept;
  void read(read_task task);
  // A read that gives `done` what `query` finds on a reader's connection, or the error.
  template <class Query, class Done>
  void read_with(Query query, Done done);

  const sqlite_options options_;
  std::unique_ptr<detail::file_lock> lock_;  // held for as long as any connection is open
  std::uint64_t id_salt_ = 0;
  std::unique_ptr<writer> writer_;  // the writer thread's own

  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::vector<group> waiting_;  // guarded by write_mu_
  bool stopping_ = false;       // guarded by write_mu_
  std::thread writer_thread_;

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<queued_read> reads_;  // guarded by read_mu_
  bool readers_stop_ = false;      // guarded by read_mu_
  std::vector<std::thread> reader_threads_;

  mutable std::mutex stats_mu_;
  store_health health_;         // guarded by stats_mu_
  std::atomic<bool> up_{true};  // health_.up, read without the lock
  store_stats stats_;  // guarded by stats_mu_; its connection counts are worked out when read
  std::size_t readers_busy_ = 0;  // guarded by stats_mu_
  bool writer_busy_ = false;      // guarded by stats_mu_
};

// `jobd --migrate-only`: opens the file, brings its schema up to this build's, and closes it.
// Throws store_open_error.
void migrate_sqlite(const std::string& path);

}  // namespace jobd::store
