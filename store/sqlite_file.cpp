#include "store/sqlite_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string_view>

namespace jobd::store::detail {
namespace {

// Each entry takes the schema from its position to the next: user_version 0 is a new file.
// The numbers stored for a status and a priority are their enums' values: part of the format.
constexpr std::string_view migrations[] = {
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  priority INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL,   -- nanoseconds since the Unix epoch, as are the other times
  status INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  queue_ns INTEGER NOT NULL,
  run_ns INTEGER,
  payload TEXT,                  -- JSON text; NULL for a null payload, as for the result
  result TEXT,
  error_code TEXT,
  error_message TEXT,
  error_details TEXT
) STRICT;
-- The jobs to take up again at start; the finished ones by when they finished, for retention.
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
)sql",
    // Attempts and schedules: a job of version 1 made one attempt of one.
    R"sql(
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN retry_backoff_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN run_at INTEGER;
ALTER TABLE jobs ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE jobs ADD COLUMN earlier_attempts TEXT;  -- JSON array; NULL when there were none
)sql",
    // Idempotency-Keys: kept apart from the jobs, whose retention is shorter than a key's life.
    R"sql(
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  digest INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
)sql",
    // Completion callbacks: a finished job whose callback is pending is kept past retention.
    R"sql(
ALTER TABLE jobs ADD COLUMN callback_url TEXT;
ALTER TABLE jobs ADD COLUMN callback_status INTEGER;
ALTER TABLE jobs ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN callback_error TEXT;
CREATE INDEX jobs_callbacks_pending ON jobs (seq) WHERE callback_status = 0;
)sql",
    // Idempotency-Keys appended in the order they are given, without an index: jobd looks keys
    // up in memory and reads them from here only at start, and an index on random keys made
    // every commit rewrite pages all over it. Appended, they expire about in rowid order, so
    // the oldest rows are the ones to delete. A key given again after it expired is a second
    // row; the later one counts.
    R"sql(
CREATE TABLE idempotency_keys_appended (
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  digest INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
INSERT INTO idempotency_keys_appended SELECT key, seq, digest, expires_at FROM idempotency_keys
  ORDER BY expires_at;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_appended RENAME TO idempotency_keys;
)sql",
    // Concurrency keys: jobs of a type with the same key run so many at once at most.
    R"sql(
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
)sql",
    // Pipelines: how their stages went.
    R"sql(
ALTER TABLE jobs ADD COLUMN stages TEXT;
)sql",
};
static_assert(std::size(migrations) == sqlite_store::schema_version);

// The folder of `path`, made when missing; a clear error when it cannot be.
void make_folder_of(const std::string& path) {
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    throw store_open_error("cannot make the folder " + folder.string() + " for the job store " +
                           path + ": " + ec.message());
  }
}

}  // namespace

// The words for an operator who named a file that cannot be opened.
void refuse(const sqlite_options& o, const sqlite::error& e) {
  switch (e.primary()) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw store_open_error("the job store " + o.path +
                             " is not a SQLite database jobd can read (" + e.what() +
                             "): name another file, or move this one away");
    case SQLITE_BUSY:
      throw store_open_error("the job store " + o.path + " is locked by another process (waited " +
                             std::to_string(o.lock_timeout.count()) + " ms): " + e.what());
    default:
      throw store_open_error("cannot open the job store " + o.path + ": " + e.what());
  }
}

// Sets up a connection that writes, and brings the schema up to this build's.
std::unique_ptr<sqlite::connection> open_for_writing(const sqlite_options& o) {
  try {
    auto db = std::make_unique<sqlite::connection>(o.path, false);
    sqlite3_busy_timeout(db->handle(), static_cast<int>(o.lock_timeout.count()));
    // WAL: readers go on beside the writer, and a commit is one append and one sync.
    db->exec("PRAGMA journal_mode = WAL");
    db->exec(o.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    const std::int64_t version = db->scalar("PRAGMA user_version").value_or(0);
    if (version > sqlite_store::schema_version) {
      throw store_open_error("the job store " + o.path + " has schema version " +
                             std::to_string(version) + ", newer than this jobd's (" +
                             std::to_string(sqlite_store::schema_version) +
                             "): it was written by a newer jobd; run that one, or name another "
                             "file");
    }
    for (std::int64_t v = version; v < sqlite_store::schema_version; ++v) {
      db->exec("BEGIN IMMEDIATE");
      try {
        db->exec(migrations[v]);
        db->exec("PRAGMA user_version = " + std::to_string(v + 1));
        db->exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    return db;
  } catch (const sqlite::error& e) {
    refuse(o, e);
  }
}

std::uint64_t salt_of(sqlite::connection& db) {
  if (const auto salt = db.scalar("SELECT value FROM meta WHERE key = 'id_salt'")) {
    return static_cast<std::uint64_t>(*salt);
  }
  // A new file: ids keep their meaning for as long as it lives.
  std::random_device random;
  const std::uint64_t salt = (std::uint64_t{random()} << 32) | random();
  sqlite::statement put(db, "INSERT INTO meta (key, value) VALUES ('id_salt', ?1)");
  put.bind(1, static_cast<std::int64_t>(salt));
  put.step();
  return salt;
}

file_lock::file_lock(const std::string& path) {
  make_folder_of(path);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw store_open_error("cannot open the job store " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    throw store_open_error(e == EWOULDBLOCK
                               ? "the job store " + path +
                                     " is in use by another jobd: each file serves one (a "
                                     "shared store is PostgreSQL's)"
                               : "cannot lock the job store " + path + ": " + std::strerror(e));
  }
}

file_lock::~file_lock() {
  ::close(fd_);
}

}  // namespace jobd::store::detail
