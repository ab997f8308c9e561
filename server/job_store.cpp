#include "server/job_store.hpp"

#include <random>

#include "handlers/job_error.hpp"
#include "common/json_writer.hpp"
#include "server/logging.hpp"
#include "common/opaque_id.hpp"

namespace jobd::server {
namespace {

using json = nlohmann::json;

struct failure {
  std::string code;
  std::string message;
  json details;
};

failure failure_of(const std::exception_ptr& error) {
  if (!error) return {"job_failed", "the job failed", nullptr};
  try {
    std::rethrow_exception(error);
  } catch (const handlers::job_error& e) {
    return {e.code(), e.what(), e.details()};
  } catch (const std::exception& e) {
    return {"job_failed", e.what(), nullptr};
  } catch (...) {
    return {"job_failed", "the job threw a non-standard exception", nullptr};
  }
}

// What a job said while it was being stopped (an exec job: how its group ended, and its
// stderr), kept in the timed_out or cancelled error: why a job hung is often on its stderr.
struct stop_report {
  std::string note;  // ": <message>", or empty when the job said nothing
  json details;
};

stop_report stop_report_of(const std::exception_ptr& error) {
  if (!error) return {};
  failure f = failure_of(error);
  return {": " + f.message, std::move(f.details)};
}

}  // namespace

std::string_view to_string(job_phase p) noexcept {
  switch (p) {
    case job_phase::queued:
      return "queued";
    case job_phase::running:
      return "running";
    case job_phase::succeeded:
      return "succeeded";
    case job_phase::failed:
      return "failed";
    case job_phase::timed_out:
      return "timed_out";
    case job_phase::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<job_phase> phase_from(std::string_view s) noexcept {
  for (auto p : {job_phase::queued, job_phase::running, job_phase::succeeded, job_phase::failed,
                 job_phase::timed_out, job_phase::cancelled}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

job_store::job_store(std::size_t retain_jobs, std::chrono::seconds retain_for)
    : retain_jobs_(retain_jobs),
      retain_for_(retain_for),
      id_salt_(std::random_device{}() * 0x100000001ULL) {}

std::shared_ptr<job_record> job_store::make(std::string type, pool::lane priority,
                                            std::chrono::milliseconds timeout) {
  auto rec = std::make_shared<job_record>();
  rec->type = std::move(type);
  rec->priority = priority;
  rec->timeout = timeout;
  rec->created_at = std::chrono::system_clock::now();
  rec->created_steady = pool::clock::now();
  std::lock_guard lk(mu_);
  rec->seq = next_seq_++;
  rec->id = opaque_id(rec->seq, id_salt_);
  return rec;
}

void job_store::insert(const std::shared_ptr<job_record>& rec, pool::job_handle handle) {
  const auto now = pool::clock::now();
  evicted_records evicted;
  std::lock_guard lk(mu_);
  // A job that ended before this (its deadline passed in the queue, say) has no use for its
  // handle, and holding it would close a loop: the pool's job keeps its unrun work, which keeps
  // this record. The handle is released after the lock, as a parameter.
  if (!is_terminal(rec->phase)) rec->handle = std::move(handle);
  rec->stored = true;
  by_seq_.emplace(rec->seq, rec);
  // A quick job may have finished before it was inserted.
  if (is_terminal(rec->phase)) finished_.emplace_back(now, rec->seq);
  evict_locked(now, evicted);
}

void job_store::mark_running(job_record& rec) {
  const auto now = pool::clock::now();
  std::lock_guard lk(mu_);
  if (rec.phase != job_phase::queued) return;  // a cancel saw it start first, or it is over
  rec.phase = job_phase::running;
  rec.started_at = std::chrono::system_clock::now();
  rec.started_steady = now;
  rec.queue_time = now - rec.created_steady;
}

void job_store::set_result(job_record& rec, nlohmann::json result) {
  std::lock_guard lk(mu_);
  rec.result = std::move(result);
}

void job_store::finish(job_record& rec, const pool::job_outcome& outcome) {
  const auto now = pool::clock::now();
  waiter_list waiters;
  evicted_records evicted;
  // Why a job did not succeed, for an operator who turns debug on: copied only then, and
  // written once the lock is let go. (Formatting code in this file made the compiler inline
  // its hot paths less: +2.5 % instructions per request. It lives in logging.cpp.)
  struct end_note {
    std::string id, type, status, code, message;
  };
  std::optional<end_note> ended;
  {
    std::lock_guard lk(mu_);
    rec.finished_at = std::chrono::system_clock::now();
    // Measured on the store's clock readings, like the live figure: a started job's was fixed
    // when it started, so queue_ms never changes once it is shown as final.
    if (outcome.started) {
      rec.run_time = outcome.run_time;
    } else {
      rec.queue_time = now - rec.created_steady;
    }
    const char* where = outcome.started ? "running" : "queued";
    switch (outcome.status) {
      case pool::job_status::succeeded:
        rec.phase = job_phase::succeeded;
        break;
      case pool::job_status::failed: {
        rec.phase = job_phase::failed;
        failure f = failure_of(outcome.error);
        rec.error_code = std::move(f.code);
        rec.error_message = std::move(f.message);
        rec.error_details = std::move(f.details);
        rec.result = nullptr;
        break;
      }
      case pool::job_status::timed_out: {
        rec.phase = job_phase::timed_out;
        rec.error_code = "timed_out";
        stop_report stop = stop_report_of(outcome.error);
        rec.error_message = "the job's deadline of " + std::to_string(rec.timeout.count()) +
                            " ms passed while it was " + where + stop.note;
        rec.error_details = std::move(stop.details);
        rec.result = nullptr;
        break;
      }
      case pool::job_status::cancelled: {
        rec.phase = job_phase::cancelled;
        rec.error_code = "cancelled";
        stop_report stop = stop_report_of(outcome.error);
        rec.error_message = (rec.cancel_requested ? std::string("cancelled by request while ")
                                                  : std::string("cancelled at shutdown while ")) +
                            where + stop.note;
        rec.error_details = std::move(stop.details);
        rec.result = nullptr;
        break;
      }
    }
    rec.handle = {};
    waiters.swap(rec.waiters);
    if (rec.stored) finished_.emplace_back(now, rec.seq);
    evict_locked(now, evicted);
    if (rec.phase != job_phase::succeeded && debug_enabled()) {
      ended = end_note{std::string(rec.id.view()), rec.type, std::string(to_string(rec.phase)),
                       rec.error_code, rec.error_message};
    }
  }
  if (ended) log_job_end(ended->id, ended->type, ended->status, ended->code, ended->message);
  for (auto& w : waiters) w();
}

std::shared_ptr<job_record> job_store::find(std::string_view id) {
  const auto now = pool::clock::now();
  evicted_records evicted;
  std::lock_guard lk(mu_);
  evict_locked(now, evicted);
  const auto seq = seq_of_opaque_id(id, id_salt_);
  if (!seq) return nullptr;
  auto it = by_seq_.find(*seq);
  return it == by_seq_.end() ? nullptr : it->second;
}

bool job_store::wait(job_record& rec, std::function<void()> w) {
  std::lock_guard lk(mu_);
  if (is_terminal(rec.phase)) return false;
  rec.waiters.push_back(std::move(w));
  return true;
}

std::optional<pool::job_handle> job_store::begin_cancel(job_record& rec) {
  std::lock_guard lk(mu_);
  if (is_terminal(rec.phase)) return std::nullopt;
  rec.cancel_requested = true;
  return rec.handle;
}

std::string job_store::render(const job_record& rec, job_phase* shown) const {
  const auto now = pool::clock::now();
  std::string out;
  out.reserve(320);
  std::lock_guard lk(mu_);
  render_locked(out, rec, now);
  if (shown != nullptr) *shown = rec.phase;
  return out;
}

job_phase job_store::phase(const job_record& rec) const {
  std::lock_guard lk(mu_);
  return rec.phase;
}

std::string job_store::list(std::optional<job_phase> phase, std::size_t limit) {
  const auto now = pool::clock::now();
  std::string out = "{\"jobs\":[";
  evicted_records evicted;
  std::lock_guard lk(mu_);
  evict_locked(now, evicted);
  std::size_t listed = 0;
  for (auto it = by_seq_.rbegin(); it != by_seq_.rend() && listed < limit; ++it) {
    if (phase && it->second->phase != *phase) continue;
    if (listed++ > 0) out += ',';
    render_locked(out, *it->second, now);
  }
  out += "]}";
  return out;
}

void job_store::render_locked(std::string& out, const job_record& rec,
                              pool::clock::time_point now) const {
  using namespace std::string_view_literals;
  auto time_or_null = [this, &out](const auto& t) {
    if (t) {
      times_.append(out, *t);
    } else {
      out += "null"sv;
    }
  };
  out += "{\"id\":"sv;
  append_json_plain(out, rec.id);
  out += ",\"type\":"sv;
  append_json_string(out, rec.type);
  out += ",\"priority\":"sv;
  append_json_plain(out, pool::to_string(rec.priority));
  out += ",\"status\":"sv;
  append_json_plain(out, to_string(rec.phase));
  out += ",\"timeout_ms\":"sv;
  append_decimal(out, std::int64_t{rec.timeout.count()});
  out += ",\"created_at\":"sv;
  times_.append(out, rec.created_at);
  out += ",\"started_at\":"sv;
  time_or_null(rec.started_at);
  out += ",\"finished_at\":"sv;
  time_or_null(rec.finished_at);
  // Live figures while the job is under way, final ones once it is terminal.
  out += ",\"queue_ms\":"sv;
  append_json_millis(out,
                     rec.phase == job_phase::queued ? now - rec.created_steady : rec.queue_time);
  out += ",\"run_ms\":"sv;
  if (rec.phase == job_phase::running) {
    append_json_millis(out,
                       rec.started_steady ? now - *rec.started_steady : pool::clock::duration{});
  } else if (rec.phase != job_phase::queued && rec.run_time) {
    append_json_millis(out, *rec.run_time);
  } else {
    out += "null"sv;
  }
  if (rec.phase == job_phase::succeeded) {
    out += ",\"result\":"sv;
    append_json_value(out, rec.result);
  }
  if (rec.phase == job_phase::failed || rec.phase == job_phase::timed_out ||
      rec.phase == job_phase::cancelled) {
    out += ",\"error\":{\"code\":"sv;
    append_json_string(out, rec.error_code);
    out += ",\"message\":"sv;
    append_json_string(out, rec.error_message);
    if (rec.error_details.is_object()) {
      for (const auto& [k, v] : rec.error_details.items()) {
        if (k == "code" || k == "message") continue;
        out += ',';
        append_json_string(out, k);
        out += ':';
        append_json_value(out, v);
      }
    }
    out += '}';
  }
  out += '}';
}

void job_store::evict_locked(pool::clock::time_point now, evicted_records& out) {
  while (!finished_.empty() &&
         (finished_.size() > retain_jobs_ || now - finished_.front().first >= retain_for_)) {
    if (auto node = by_seq_.extract(finished_.front().second)) out.push_back(std::move(node));
    finished_.pop_front();
  }
}

}  // namespace jobd::server
