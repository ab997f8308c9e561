#pragma once

// Thin RAII over SQLite's C API: a connection, a prepared statement, and the one error type
// they throw. Each connection is used by one thread at a time (opened without SQLite's own
// mutex); the store gives every thread its own.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace jobd::store::sqlite {

// A call into SQLite that failed: its result code and SQLite's own words for it.
class error : public std::runtime_error {
 public:
  error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }
  // The primary result code: SQLITE_BUSY, SQLITE_FULL, SQLITE_NOTADB...
  [[nodiscard]] int primary() const noexcept { return code_ & 0xff; }

 private:
  int code_;
};

class statement;

class connection {
 public:
  // Opens `path` (read-only, or read-write and created if missing). Throws error.
  connection(const std::string& path, bool read_only);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Runs SQL that takes no parameters and whose rows, if any, are not needed.
  void exec(std::string_view sql);
  // The first column of the first row of a query, as an integer; nullopt when there is none.
  [[nodiscard]] std::optional<std::int64_t> scalar(std::string_view sql);
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
  // Throws error for `rc` unless it is SQLITE_OK, SQLITE_ROW or SQLITE_DONE, in SQLite's words
  // for it and the file's name.
  void check(int rc) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class statement {
 public:
  statement(connection& db, std::string_view sql);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Binding, by 1-based position. A null optional binds NULL.
  void bind(int at, std::int64_t v);
  void bind(int at, std::string_view text);
  void bind(int at, std::optional<std::int64_t> v);
  void bind(int at, const std::optional<std::string>& text);
  void bind_null(int at);
  // One step: true with a row to read, false when done. Throws error.
  bool step();
  // Makes the statement ready for its next run, its bindings cleared.
  void reset() noexcept;

  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] std::optional<std::int64_t> maybe_integer(int column) const;
  [[nodiscard]] std::string_view text(int column) const;  // valid until the next step
  [[nodiscard]] bool is_null(int column) const;

 private:
  connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace jobd::store::sqlite
