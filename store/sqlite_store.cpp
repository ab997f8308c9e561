#include "store/sqlite_store.hpp"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "store/sqlite.hpp"
#include "store/sqlite_file.hpp"
#include "store/sqlite_rows.hpp"

namespace jobd::store {
namespace {

using std::chrono::system_clock;

// Records past retention are deleted at most this many a commit, or twice the records it
// writes if that is more (so that deleting keeps pace with finishing): small steps, on the
// writer's thread, never on a caller's.
constexpr std::int64_t expiry_batch = 256;
// How often an idle writer looks for records that aged past retention.
constexpr auto expiry_period = std::chrono::seconds(1);
// Waits between attempts while the store is down, doubling up to the last.
constexpr auto first_retry = std::chrono::milliseconds(50);
constexpr auto last_retry = std::chrono::milliseconds(2'000);

// Finished records older than this are past retention.
std::int64_t age_cutoff(const retention& keep) {
  return detail::nanos(system_clock::now()) -
         std::chrono::duration_cast<std::chrono::nanoseconds>(keep.keep_for).count();
}

}  // namespace

// The writer thread's connection and statements.
class sqlite_store::writer {
 public:
  explicit writer(std::unique_ptr<sqlite::connection> db)
      : db_(std::move(db)),
        insert_(
            *db_,
            std::string("INSERT INTO jobs (") + std::string(detail::job_columns) +
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28) ON CONFLICT "
                "(seq) DO NOTHING"),
        update_(*db_, std::string("UPDATE jobs SET ") + std::string(detail::job_changes) +
                          " WHERE seq = ?1 AND version < ?2"),
        expire_oldest_(*db_,
                       "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE finished_at IS "
                       "NOT NULL AND callback_status IS NOT 0 ORDER BY finished_at LIMIT ?1)"),
        expire_aged_(*db_,
                     "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE finished_at IS "
                     "NOT NULL AND finished_at < ?1 AND callback_status IS NOT 0 ORDER BY "
                     "finished_at LIMIT ?2)"),
        expire_keys_(*db_,
                     "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM "
                     "idempotency_keys ORDER BY rowid LIMIT ?2) AND expires_at < ?1"),
        remember_key_(*db_, "INSERT INTO idempotency_keys VALUES (?1, ?2, ?3, ?4)"),
        probe_(*db_, "UPDATE meta SET value = value WHERE key = 'id_salt'"),
        finished_(
            db_->scalar("SELECT COUNT(*) FROM jobs WHERE finished_at IS NOT NULL").value_or(0)) {}

  // One transaction, one sync: every record of every group, then a step of retention; with
  // nothing to write, a `probe` writes all the same, to learn whether the store is back.
  void commit(const std::vector<group>& groups, std::size_t records, const retention& keep,
              bool probe) {
    db_->exec("BEGIN IMMEDIATE");
    try {
      std::int64_t finished = finished_;
      std::int64_t keys_due = keys_due_;
      // A job's older versions waiting in the same batch (queued, then running, then ended)
      // are passed over: only its newest is written.
      newest_.clear();
      for (const group& g : groups) {
        for (const job_record& r : g.records) {
          auto [it, first] = newest_.try_emplace(r.seq, r.version);
          if (!first) it->second = std::max(it->second, r.version);
        }
      }
      for (const group& g : groups) {
        for (const job_record& r : g.records) {
          const auto it = newest_.find(r.seq);
          if (it == newest_.end() || it->second != r.version) continue;
          newest_.erase(it);  // written once, even if a group holds that version twice
          finished += put(r, keys_due) && is_terminal(r.status);
        }
      }
      if (probe) run(probe_);
      finished -= expire(finished, records, keep, keys_due);
      db_->exec("COMMIT");
      finished_ = finished;
      keys_due_ = keys_due;
    } catch (...) {
      sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

 private:
  // Whether the row changed: an older version than the one stored changes nothing. A later
  // version sets only what versions change; the whole record is written when there is no row
  // yet (the job's first version, or one whose row retention took).
  bool put(const job_record& r, std::int64_t& keys_due) {
    bool changed = false;
    if (r.version > 0) {
      detail::bind_changes(update_, r);
      changed = run(update_) > 0;
    }
    if (!changed) {
      detail::bind_record(insert_, r);
      changed = run(insert_) > 0;
    }
    if (changed && r.idempotency && r.version == 0) {
      const idempotency_key& k = *r.idempotency;
      remember_key_.bind(1, std::string_view(k.key));
      remember_key_.bind(2, static_cast<std::int64_t>(r.seq));
      remember_key_.bind(3, static_cast<std::int64_t>(k.digest));
      remember_key_.bind(4, detail::nanos(k.expires_at));
      run(remember_key_);
      keys_due = std::min(keys_due, detail::nanos(k.expires_at));
    }
    return changed;
  }

  // Deletes finished records past retention, a batch at most; returns how many.
  std::int64_t expire(std::int64_t finished, std::size_t records, const retention& keep,
                      std::int64_t& keys_due) {
    const std::int64_t batch = std::max(expiry_batch, 2 * static_cast<std::int64_t>(records));
    std::int64_t deleted = 0;
    if (const auto over = finished - static_cast<std::int64_t>(keep.keep_newest); over > 0) {
      expire_oldest_.bind(1, std::min(over, batch));
      deleted += run(expire_oldest_);
    }
    expire_aged_.bind(1, age_cutoff(keep));
    expire_aged_.bind(2, batch);
    deleted += run(expire_aged_);
    if (const std::int64_t now = detail::nanos(system_clock::now()); now >= keys_due) {
      expire_keys_.bind(1, now);
      expire_keys_.bind(2, batch);
      run(expire_keys_);
      keys_due = db_->scalar("SELECT expires_at FROM idempotency_keys ORDER BY rowid LIMIT 1")
                     .value_or(no_key_due);
    }
    return deleted;
  }

  // Runs a statement that returns no rows; returns the rows it changed.
  std::int64_t run(sqlite::statement& s) {
    try {
      s.step();
    } catch (...) {
      s.reset();
      throw;
    }
    s.reset();
    return sqlite3_changes64(db_->handle());
  }

  std::unique_ptr<sqlite::connection> db_;
  sqlite::statement insert_;
  sqlite::statement update_;
  sqlite::statement expire_oldest_;
  sqlite::statement expire_aged_;
  sqlite::statement expire_keys_;
  sqlite::statement remember_key_;
  sqlite::statement probe_;
  std::int64_t finished_;  // finished records stored, as of the last commit
  // When the oldest stored Idempotency-Key expires (no_key_due: none is stored; 0: not known
  // yet): until then, no commit looks for expired keys.
  static constexpr std::int64_t no_key_due = std::numeric_limits<std::int64_t>::max();
  std::int64_t keys_due_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> newest_;  // a batch's jobs: newest version
};

// A reader thread's connection and statements.
class sqlite_store::reader {
 public:
  reader(const std::string& path, std::chrono::milliseconds lock_timeout)
      : db_(path, true),
        find_(db_, std::string("SELECT ") + std::string(detail::job_columns) +
                       " FROM jobs WHERE seq = ?1 AND (finished_at IS NULL OR finished_at >= ?2)"),
        list_all_(db_, std::string("SELECT ") + std::string(detail::job_columns) +
                           " FROM jobs WHERE finished_at IS NULL OR finished_at >= ?2 ORDER BY "
                           "seq DESC LIMIT ?1"),
        list_status_(db_, std::string("SELECT ") + std::string(detail::job_columns) +
                              " FROM jobs WHERE status = ?3 AND (finished_at IS NULL OR "
                              "finished_at >= ?2) ORDER BY seq DESC LIMIT ?1") {
    sqlite3_busy_timeout(db_.handle(), static_cast<int>(lock_timeout.count()));
  }

  // A record past retention may wait for the writer's next step to be deleted; it is not
  // shown meanwhile.
  std::optional<job_record> find(std::uint64_t seq, const retention& keep, std::uint64_t salt) {
    find_.bind(1, static_cast<std::int64_t>(seq));
    find_.bind(2, age_cutoff(keep));
    std::vector<job_record> found = rows(find_, salt);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
  }

  std::vector<job_record> list(const list_query& q, const retention& keep, std::uint64_t salt) {
    sqlite::statement& s = q.status ? list_status_ : list_all_;
    s.bind(1, static_cast<std::int64_t>(q.limit));
    s.bind(2, age_cutoff(keep));
    if (q.status) s.bind(3, static_cast<std::int64_t>(*q.status));
    return rows(s, salt);
  }

 private:
  static std::vector<job_record> rows(sqlite::statement& s, std::uint64_t salt) {
    std::vector<job_record> out;
    try {
      while (s.step()) out.push_back(detail::record_of(s, salt));
    } catch (...) {
      s.reset();
      throw;
    }
    s.reset();
    return out;
  }

  sqlite::connection db_;
  sqlite::statement find_;
  sqlite::statement list_all_;
  sqlite::statement list_status_;
};

sqlite_store::sqlite_store(sqlite_options options) : options_(std::move(options)) {
  lock_ = std::make_unique<detail::file_lock>(options_.path);
  auto db = detail::open_for_writing(options_);
  try {
    id_salt_ = detail::salt_of(*db);
    writer_ = std::make_unique<writer>(std::move(db));
  } catch (const sqlite::error& e) {
    detail::refuse(options_, e);
  }
  stats_.connections_idle = std::max<std::size_t>(options_.readers, 1) + 1;
  // Named for top -H and perf, within the kernel's 15 characters.
  writer_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "jobd-store-w");
    write_loop();
  });
  for (std::size_t i = 0; i < std::max<std::size_t>(options_.readers, 1); ++i) {
    reader_threads_.emplace_back([this, i] {
      const std::string name = "jobd-store-r" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      read_loop();
    });
  }
}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lk(read_mu_);
    readers_stop_ = true;
  }
  read_cv_.notify_all();
  for (auto& t : reader_threads_) t.join();
  {
    std::lock_guard lk(write_mu_);
    stopping_ = true;
  }
  write_cv_.notify_all();
  writer_thread_.join();
}

recovered_jobs sqlite_store::recover() {
  recovered_jobs out;
  try {
    sqlite::connection db(options_.path, true);
    out.last_seq = static_cast<std::uint64_t>(db.scalar("SELECT MAX(seq) FROM jobs").value_or(0));
    sqlite::statement s(db, std::string("SELECT ") + std::string(detail::job_columns) +
                                " FROM jobs WHERE finished_at IS NULL ORDER BY seq");
    while (s.step()) out.unfinished.push_back(detail::record_of(s, id_salt_));
    sqlite::statement callbacks(db, std::string("SELECT ") + std::string(detail::job_columns) +
                                        " FROM jobs WHERE callback_status = 0 AND finished_at "
                                        "IS NOT NULL ORDER BY seq");
    while (callbacks.step())
      out.callbacks_pending.push_back(detail::record_of(callbacks, id_salt_));
    sqlite::statement keys(db,
                           "SELECT key, seq, digest, expires_at FROM idempotency_keys WHERE "
                           "expires_at >= ?1 ORDER BY expires_at, rowid");
    keys.bind(1, detail::nanos(std::chrono::system_clock::now()));
    while (keys.step()) {
      out.keys.emplace_back(
          static_cast<std::uint64_t>(keys.integer(1)),
          idempotency_key{std::string(keys.text(0)), static_cast<std::uint64_t>(keys.integer(2)),
                          std::chrono::system_clock::time_point(
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  std::chrono::nanoseconds(keys.integer(3))))});
    }
  } catch (const sqlite::error& e) {
    detail::refuse(options_, e);
  }
  return out;
}

void sqlite_store::write(std::span<const job_record> records,
                         std::shared_ptr<write_listener> listener, on_failure if_failed) {
  group g{std::vector<job_record>(records.begin(), records.end()), std::move(listener), if_failed};
  bool first = false;
  {
    std::lock_guard lk(write_mu_);
    first = waiting_.empty();
    waiting_.push_back(std::move(g));
  }
  // The writer takes everything waiting at once: only the first write of a round wakes it.
  if (first) write_cv_.notify_one();
}

void sqlite_store::write_loop() noexcept {
  // Kept between rounds: the groups that retry, oldest first, ahead of any new ones.
  std::vector<group> batch;
  auto retry_wait = std::chrono::duration_cast<clock::duration>(first_retry);
  auto next_round = clock::now() + expiry_period;
  std::unique_lock lk(write_mu_);
  for (;;) {
    write_cv_.wait_until(lk, next_round, [&] { return stopping_ || !waiting_.empty(); });
    // Everything that waits at this instant goes in one transaction: one sync for all.
    for (auto& g : waiting_) batch.push_back(std::move(g));
    waiting_.clear();
    const bool stopping = stopping_;
    lk.unlock();
    const auto now = clock::now();
    if (!batch.empty() || stopping || now >= next_round) {
      const bool stored = attempt(batch);
      if (stored) {
        retry_wait = std::chrono::duration_cast<clock::duration>(first_retry);
        next_round = clock::now() + expiry_period;
      } else {
        next_round = clock::now() + retry_wait;
        retry_wait =
            std::min(retry_wait * 2, std::chrono::duration_cast<clock::duration>(last_retry));
      }
      if (stopping) {
        // One attempt only: what is left is taken up again at the next start. A write made by
        // a listener just told (a job cancelled as it was handed over) gets its attempt too.
        lk.lock();
        if (!stored || waiting_.empty()) break;
        continue;
      }
    }
    lk.lock();
  }
  // Still locked. Writers who wait for an answer get one; the jobs' changes left are
  // recovered from what the file holds.
  std::vector<group> left = std::move(waiting_);
  lk.unlock();
  const store_error closing{"the job store is closing"};
  for (auto* groups : {&batch, &left}) {
    for (group& g : *groups) {
      if (g.listener && g.if_failed == on_failure::report) g.listener->written(&closing);
    }
  }
}

bool sqlite_store::attempt(std::vector<group>& batch) {
  std::size_t records = 0;
  for (const group& g : batch) records += g.records.size();
  bool down = false;
  {
    std::lock_guard lk(stats_mu_);
    down = !health_.up;
    writer_busy_ = true;
  }
  const auto began = clock::now();
  std::optional<store_error> failed;
  try {
    writer_->commit(batch, records, options_.keep, down && records == 0);
  } catch (const std::exception& e) {
    failed = store_error{e.what()};
  }
  const double took = std::chrono::duration<double>(clock::now() - began).count();
  {
    std::lock_guard lk(stats_mu_);
    writer_busy_ = false;
    if (records > 0 || failed) stats_.commit_seconds.observe(took);
    if (records > 0 && !failed) stats_.commit_jobs.observe(static_cast<double>(records));
    if (failed) ++stats_.write_errors;
  }
  set_health(!failed, failed ? failed->message : std::string());
  // Told out of every lock, in the order written: a listener goes on with its job (hands it to
  // the pool, say), and may write again.
  std::vector<group> kept;
  for (group& g : batch) {
    if (!failed) {
      if (g.listener) g.listener->written(nullptr);
    } else if (g.if_failed == on_failure::retry) {
      if (g.listener) g.listener->written(&*failed);
      kept.push_back(std::move(g));
    } else if (g.listener) {
      g.listener->written(&*failed);
    }
  }
  batch = std::move(kept);
  return !failed;
}

void sqlite_store::set_health(bool up, const std::string& reason) {
  store_health now;
  {
    std::lock_guard lk(stats_mu_);
    if (health_.up == up) return;
    health_ = {up, up ? std::string() : reason};
    up_.store(up, std::memory_order_relaxed);
    now = health_;
  }
  if (options_.on_health_change) options_.on_health_change(now);
}

store_health sqlite_store::health() const {
  std::lock_guard lk(stats_mu_);
  return health_;
}

store_stats sqlite_store::stats() const {
  std::lock_guard lk(stats_mu_);
  store_stats out = stats_;
  out.connections_busy = readers_busy_ + (writer_busy_ ? 1 : 0);
  out.connections_idle = reader_threads_.size() + 1 - out.connections_busy;
  return out;
}

void sqlite_store::read(read_task task) {
  {
    std::lock_guard lk(read_mu_);
    reads_.push_back({clock::now(), std::move(task)});
  }
  read_cv_.notify_one();
}

void sqlite_store::read_loop() noexcept {
  std::optional<reader> r;
  std::unique_lock lk(read_mu_);
  for (;;) {
    read_cv_.wait(lk, [&] { return readers_stop_ || !reads_.empty(); });
    if (readers_stop_) break;
    queued_read next = std::move(reads_.front());
    reads_.pop_front();
    lk.unlock();
    {
      std::lock_guard s(stats_mu_);
      ++readers_busy_;
      stats_.connection_wait_seconds.observe(
          std::chrono::duration<double>(clock::now() - next.since).count());
    }
    // Opened on first use, and again after a read failed: the file may have come back.
    std::string unavailable;
    if (!r) {
      try {
        r.emplace(options_.path, options_.lock_timeout);
      } catch (const std::exception& e) {
        unavailable = e.what();
      }
    }
    const bool ok = next.task(r ? &*r : nullptr, unavailable);
    if (!ok) r.reset();
    {
      std::lock_guard s(stats_mu_);
      --readers_busy_;
      if (!ok) ++stats_.read_errors;
    }
    lk.lock();
  }
  // Still locked. The last reader out answers the reads left.
  std::deque<queued_read> left = std::move(reads_);
  lk.unlock();
  for (auto& q : left) q.task(nullptr, "the job store is closing");
}

template <class Query, class Done>
void sqlite_store::read_with(Query query, Done done) {
  read([query = std::move(query), done = std::move(done)](reader* r,
                                                          const std::string& unavailable) mutable {
    decltype(query(*r)) found;
    try {
      if (r == nullptr) throw std::runtime_error(unavailable);
      found = query(*r);
    } catch (const std::exception& e) {
      const store_error failed{e.what()};
      done(decltype(found){}, &failed);
      return false;
    }
    done(std::move(found), nullptr);
    return true;
  });
}

void sqlite_store::find(std::uint64_t seq, find_done done) {
  read_with([this, seq](reader& r) { return r.find(seq, options_.keep, id_salt_); },
            std::move(done));
}

void sqlite_store::list(const list_query& query, list_done done) {
  read_with([this, query](reader& r) { return r.list(query, options_.keep, id_salt_); },
            std::move(done));
}

void migrate_sqlite(const std::string& path) {
  sqlite_options o;
  o.path = path;
  const detail::file_lock held(path);
  (void)detail::open_for_writing(o);
}

}  // namespace jobd::store
