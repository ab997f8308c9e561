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

// Earlier attempts as the column keeps them: [{"n", "status", "started", "finished", "error":
// {"code", "message", "details"}}], times in nanoseconds since the epoch.
std::string attempts_text(const std::vector<job_attempt>& attempts) {
  nlohmann::json out = nlohmann::json::array();
  for (const job_attempt& a : attempts) {
    nlohmann::json entry = {{"n", a.number},
                            {"status", static_cast<int>(a.status)},
                            {"finished", nanos(a.finished_at)}};
    if (a.started_at) entry["started"] = nanos(*a.started_at);
    if (a.error) {
      entry["error"] = {{"code", a.error->code}, {"message", a.error->message}};
      if (a.error->details) entry["error"]["details"] = *a.error->details;
    }
    out.push_back(std::move(entry));
  }
  return json_text(out);
}

std::vector<job_attempt> attempts_of(const nlohmann::json& stored) {
  std::vector<job_attempt> out;
  try {
    for (const nlohmann::json& entry : stored) {
      job_attempt a;
      a.number = entry.at("n").get<std::uint32_t>();
      a.status = static_cast<job_status>(entry.at("status").get<int>());
      a.finished_at = time_of(entry.at("finished").get<std::int64_t>());
      if (const auto t = entry.find("started"); t != entry.end()) {
        a.started_at = time_of(t->get<std::int64_t>());
      }
      if (const auto e = entry.find("error"); e != entry.end()) {
        const auto details = e->find("details");
        a.error = job_failure{
            e->at("code").get<std::string>(), e->at("message").get<std::string>(),
            details == e->end() ? nullptr : std::make_shared<const nlohmann::json>(*details)};
      }
      out.push_back(std::move(a));
    }
  } catch (const nlohmann::json::exception& e) {
    throw sqlite::error(SQLITE_CORRUPT, std::string("a stored attempt: ") + e.what());
  }
  return out;
}

}  // namespace

const std::string_view job_columns =
    "seq, version, type, priority, timeout_ms, created_at, status, started_at, finished_at, "
    "queue_ns, run_ns, payload, result, error_code, error_message, error_details, attempt, "
    "max_attempts, retry_backoff_ms, run_at, next_attempt_at, earlier_attempts, callback_url, "
    "callback_status, callback_attempts, callback_error, concurrency_key, stages";

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
  r.attempt = static_cast<std::uint32_t>(s.integer(16));
  r.max_attempts = static_cast<std::uint32_t>(s.integer(17));
  r.retry_backoff = std::chrono::milliseconds(s.integer(18));
  if (const auto t = s.maybe_integer(19)) r.run_at = time_of(*t);
  if (const auto t = s.maybe_integer(20)) r.next_attempt_at = time_of(*t);
  if (const auto attempts = json_of(s, 21)) r.earlier_attempts = attempts_of(*attempts);
  if (!s.is_null(22)) {
    r.callback = std::make_shared<const job_callback>(
        job_callback{std::string(s.text(22)), static_cast<callback_status>(s.integer(23)),
                     static_cast<std::uint32_t>(s.integer(24)),
                     s.is_null(25) ? std::string() : std::string(s.text(25))});
  }
  if (!s.is_null(26)) r.concurrency_key = s.text(26);
  r.stages = json_of(s, 27);
  return r;
}

namespace {

// What bind_record and bind_changes bind alike, from ?`at`: the outcome (status, times, result,
// error) and attempts, then the callback's state.
void bind_outcome(sqlite::statement& s, const job_record& r, int at) {
  s.bind(at, static_cast<std::int64_t>(r.status));
  s.bind(at + 1, r.started_at ? std::optional(nanos(*r.started_at)) : std::nullopt);
  // The column says whether a job is over, for retention and recovery: a terminal record
  // that names no finish time (none of jobd's) is given the time it is stored.
  const auto finished =
      r.finished_at ? r.finished_at
                    : (is_terminal(r.status) ? std::optional(system_clock::now()) : std::nullopt);
  s.bind(at + 2, finished ? std::optional(nanos(*finished)) : std::nullopt);
  s.bind(at + 3, std::int64_t{r.queue_time.count()});
  s.bind(at + 4, r.run_time ? std::optional<std::int64_t>(r.run_time->count()) : std::nullopt);
}

void bind_error(sqlite::statement& s, const job_record& r, int at) {
  if (r.error) {
    s.bind(at, std::string_view(r.error->code));
    s.bind(at + 1, std::string_view(r.error->message));
    s.bind(at + 2, text_of(r.error->details));
  } else {
    s.bind_null(at);
    s.bind_null(at + 1);
    s.bind_null(at + 2);
  }
}

std::optional<std::string> attempts_column(const job_record& r) {
  return r.earlier_attempts.empty() ? std::nullopt
                                    : std::optional(attempts_text(r.earlier_attempts));
}

void bind_callback_state(sqlite::statement& s, const job_record& r, int at) {
  if (r.callback) {
    s.bind(at, static_cast<std::int64_t>(r.callback->status));
    s.bind(at + 1, std::int64_t{r.callback->attempts});
    s.bind(at + 2,
           r.callback->last_error.empty() ? std::nullopt : std::optional(r.callback->last_error));
  } else {
    s.bind_null(at);
    s.bind(at + 1, std::int64_t{0});
    s.bind_null(at + 2);
  }
}

}  // namespace

const std::string_view job_changes =
    "version = ?2, status = ?3, started_at = ?4, finished_at = ?5, queue_ns = ?6, run_ns = ?7, "
    "result = ?8, error_code = ?9, error_message = ?10, error_details = ?11, attempt = ?12, "
    "max_attempts = ?13, next_attempt_at = ?14, earlier_attempts = ?15, callback_status = ?16, "
    "callback_attempts = ?17, callback_error = ?18, stages = ?19";

void bind_record(sqlite::statement& s, const job_record& r) {
  s.bind(1, static_cast<std::int64_t>(r.seq));
  s.bind(2, std::int64_t{r.version});
  s.bind(3, std::string_view(r.type));
  s.bind(4, static_cast<std::int64_t>(r.priority));
  s.bind(5, std::int64_t{r.timeout.count()});
  s.bind(6, nanos(r.created_at));
  bind_outcome(s, r, 7);
  s.bind(12, text_of(r.payload));
  s.bind(13, text_of(r.result));
  bind_error(s, r, 14);
  s.bind(17, std::int64_t{r.attempt});
  s.bind(18, std::int64_t{r.max_attempts});
  s.bind(19, std::int64_t{r.retry_backoff.count()});
  s.bind(20, r.run_at ? std::optional(nanos(*r.run_at)) : std::nullopt);
  s.bind(21, r.next_attempt_at ? std::optional(nanos(*r.next_attempt_at)) : std::nullopt);
  s.bind(22, attempts_column(r));
  if (r.callback) {
    s.bind(23, std::string_view(r.callback->url));
  } else {
    s.bind_null(23);
  }
  bind_callback_state(s, r, 24);
  s.bind(27, r.concurrency_key.empty() ? std::nullopt : std::optional(r.concurrency_key));
  s.bind(28, text_of(r.stages));
}

void bind_changes(sqlite::statement& s, const job_record& r) {
  s.bind(1, static_cast<std::int64_t>(r.seq));
  s.bind(2, std::int64_t{r.version});
  bind_outcome(s, r, 3);
  s.bind(8, text_of(r.result));
  bind_error(s, r, 9);
  s.bind(12, std::int64_t{r.attempt});
  s.bind(13, std::int64_t{r.max_attempts});
  s.bind(14, r.next_attempt_at ? std::optional(nanos(*r.next_attempt_at)) : std::nullopt);
  s.bind(15, attempts_column(r));
  bind_callback_state(s, r, 16);
  s.bind(19, text_of(r.stages));
}

}  // namespace jobd::store::detail
