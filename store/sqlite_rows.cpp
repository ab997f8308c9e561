#include "store/sqlite_rows.hpp"

#include <memory>
#include <optional>
#include <string>

#include "common/json_reader.hpp"
#include "common/json_writer.hpp"

namespace jobd::store::detail {
namespace {

using std::chrono::system_clock;

system_clock::time_point time_of(std::int64_t ns) {
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(std::chrono::nanoseconds(ns)));
}

std::optional<std::string> text_of(const std::shared_ptr<const nlohmann::json>& v) {
  if (!v) return std::nullopt;
  return json_text(*v);
}

std::shared_ptr<const nlohmann::json> json_of(const sqlite::statement& s, int column) {
  if (s.is_null(column)) return nullptr;
  checked_json read = parse_checked_json(s.text(column), max_json_depth, "a stored value");
  if (!read.error.empty()) throw sqlite::error(SQLITE_CORRUPT, read.error);
  return std::make_shared<const nlohmann::json>(std::move(read.value));
}

}  // namespace

const std::string_view job_columns =
    "seq, version, type, priority, timeout_ms, created_at, status, started_at, finished_at, "
    "queue_ns, run_ns, payload, result, error_code, error_message, error_details";

std::int64_t nanos(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

job_record record_of(const sqlite::statement& s, std::uint64_t salt) {
  job_record r;
  r.seq = static_cast<std::uint64_t>(s.integer(0));
  r.id = opaque_id(r.seq, salt);
  r.version = static_cast<std::uint32_t>(s.integer(1));
  r.type = s.text(2);
  r.priority = static_cast<job_priority>(s.integer(3));
  r.timeout = std::chrono::milliseconds(s.integer(4));
  r.created_at = time_of(s.integer(5));
  r.status = static_cast<job_status>(s.integer(6));
  if (const auto t = s.maybe_integer(7)) r.started_at = time_of(*t);
  if (const auto t = s.maybe_integer(8)) r.finished_at = time_of(*t);
  r.queue_time = std::chrono::nanoseconds(s.integer(9));
  if (const auto t = s.maybe_integer(10)) r.run_time = std::chrono::nanoseconds(*t);
  r.payload = json_of(s, 11);
  r.result = json_of(s, 12);
  if (!s.is_null(13)) {
    r.error = job_failure{std::string(s.text(13)), std::string(s.text(14)), json_of(s, 15)};
  }
  return r;
}

void bind_record(sqlite::statement& s, const job_record& r) {
  s.bind(1, static_cast<std::int64_t>(r.seq));
  s.bind(2, std::int64_t{r.version});
  s.bind(3, std::string_view(r.type));
  s.bind(4, static_cast<std::int64_t>(r.priority));
  s.bind(5, std::int64_t{r.timeout.count()});
  s.bind(6, nanos(r.created_at));
  s.bind(7, static_cast<std::int64_t>(r.status));
  s.bind(8, r.started_at ? std::optional(nanos(*r.started_at)) : std::nullopt);
  // The column says whether a job is over, for retention and recovery: a terminal record
  // that names no finish time (none of jobd's) is given the time it is stored.
  const auto finished =
      r.finished_at ? r.finished_at
                    : (is_terminal(r.status) ? std::optional(system_clock::now()) : std::nullopt);
  s.bind(9, finished ? std::optional(nanos(*finished)) : std::nullopt);
  s.bind(10, std::int64_t{r.queue_time.count()});
  s.bind(11, r.run_time ? std::optional<std::int64_t>(r.run_time->count()) : std::nullopt);
  s.bind(12, text_of(r.payload));
  s.bind(13, text_of(r.result));
  if (r.error) {
    s.bind(14, std::string_view(r.error->code));
    s.bind(15, std::string_view(r.error->message));
    s.bind(16, text_of(r.error->details));
  } else {
    s.bind_null(14);
    s.bind_null(15);
    s.bind_null(16);
  }
}

}  // namespace jobd::store::detail
