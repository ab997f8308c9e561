#pragma once

// The SQLite store's file: its schema and migrations, opening it for writing, its id salt, and
// the lock that keeps it to one jobd.

#include <cstdint>
#include <memory>
#include <string>

#include "store/sqlite.hpp"
#include "store/sqlite_store.hpp"

namespace jobd::store::detail {

// One jobd a file: two would both take up its unfinished jobs and run them twice. An flock,
// which SQLite's own (POSIX) locks do not see; its descriptor stays open until every
// connection is closed, as closing any descriptor of the file would drop SQLite's locks.
class file_lock {
 public:
  // Makes the file's folder when missing. Throws store_open_error when the file is locked by
  // another jobd, or cannot be opened.
  explicit file_lock(const std::string& path);
  ~file_lock();
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

 private:
  int fd_ = -1;
};

// A connection that writes, in WAL mode at options' sync, with the schema brought up to this
// build's. Throws store_open_error, in words for an operator, for a file that is not a
// database, one whose schema is newer, or one locked past options.lock_timeout.
[[nodiscard]] std::unique_ptr<sqlite::connection> open_for_writing(const sqlite_options& options);

// The file's id salt, made and kept at its first use.
[[nodiscard]] std::uint64_t salt_of(sqlite::connection& db);

// Throws store_open_error for `e`, met while opening the store, in words for an operator.
[[noreturn]] void refuse(const sqlite_options& options, const sqlite::error& e);

}  // namespace jobd::store::detail
