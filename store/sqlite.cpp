#include "store/sqlite.hpp"

namespace jobd::store::sqlite {

connection::connection(const std::string& path, bool read_only) : path_(path) {
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw error(rc, "cannot open " + path + ": " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
}

connection::~connection() {
  // Every statement is finalised first: they belong to objects this one outlives.
  sqlite3_close(db_);
}

void connection::check(int rc) const {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw error(rc, path_ + ": " + sqlite3_errmsg(db_));
}

void connection::exec(std::string_view sql) {
  check(sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr));
}

std::optional<std::int64_t> connection::scalar(std::string_view sql) {
  statement s(*this, sql);
  if (!s.step() || s.is_null(0)) return std::nullopt;
  return s.integer(0);
}

statement::statement(connection& db, std::string_view sql) : db_(db) {
  db_.check(sqlite3_prepare_v3(db_.handle(), sql.data(), static_cast<int>(sql.size()),
                               SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr));
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

void statement::bind(int at, std::int64_t v) {
  db_.check(sqlite3_bind_int64(stmt_, at, v));
}

void statement::bind(int at, std::string_view text) {
  db_.check(
      sqlite3_bind_text(stmt_, at, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
}

void statement::bind(int at, std::optional<std::int64_t> v) {
  if (v) return bind(at, *v);
  bind_null(at);
}

void statement::bind(int at, const std::optional<std::string>& text) {
  if (text) return bind(at, std::string_view(*text));
  bind_null(at);
}

void statement::bind_null(int at) {
  db_.check(sqlite3_bind_null(stmt_, at));
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_);
  db_.check(rc);
  return rc == SQLITE_ROW;
}

void statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::optional<std::int64_t> statement::maybe_integer(int column) const {
  if (is_null(column)) return std::nullopt;
  return integer(column);
}

std::string_view statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p != nullptr
             ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string_view();
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace jobd::store::sqlite
