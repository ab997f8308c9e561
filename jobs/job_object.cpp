#include "jobs/job_object.hpp"

#include <nlohmann/json.hpp>

namespace jobd::jobs {
namespace {

void append_failure(std::string& out, const store::job_failure& error) {
  using namespace std::string_view_literals;
  out += R"({"code":)"sv;
  append_json_string(out, error.code);
  out += R"(,"message":)"sv;
  append_json_string(out, error.message);
  if (error.details && error.details->is_object()) {
    for (const auto& [k, v] : error.details->items()) {
      if (k == "code" || k == "message") continue;
      out += ',';
      append_json_string(out, k);  // a handler's own names: escaped like any text
      out += ':';
      append_json_value(out, v);
    }
  }
  out += '}';
}

// One entry of `attempts`, in three parts: its number and status; its times,
// `,"started_at":...,"finished_at":...`; its node (null for a single jobd) and error.
void append_attempt_head(std::string& out, std::uint32_t number, store::job_status status) {
  using namespace std::string_view_literals;
  out += R"({"attempt":)"sv;
  append_decimal(out, std::uint64_t{number});
  out += R"(,"status":)"sv;
  append_json_plain(out, store::to_string(status));
}

void append_attempt_tail(std::string& out, const std::optional<store::job_failure>& error) {
  using namespace std::string_view_literals;
  out += R"(,"node":null,"error":)"sv;
  if (error) {
    append_failure(out, *error);
  } else {
    out += "null"sv;
  }
  out += '}';
}

}  // namespace

// Every answer about a job carries this, so it is the measured fast path of JSON writing: the
// keys are literals appended whole, the values go through the common appenders (the one string
// escaper among them). A json_writer, which keeps count of commas, cost an answer some 1,500
// instructions more.
void append_job_object(std::string& out, const store::job_record& job,
                       std::chrono::system_clock::time_point now, json_time_writer& times,
                       with_payload payload) {
  using namespace std::string_view_literals;
  using store::job_status;
  auto time_or_null = [&](const std::optional<std::chrono::system_clock::time_point>& t) {
    if (t) {
      times.append(out, *t);
    } else {
      out += "null"sv;
    }
  };
  out += R"({"id":)"sv;
  append_json_plain(out, job.id);
  out += R"(,"type":)"sv;
  append_json_string(out, job.type);
  out += R"(,"priority":)"sv;
  append_json_plain(out, store::to_string(job.priority));
  out += R"(,"status":)"sv;
  append_json_plain(out, store::to_string(job.status));
  out += R"(,"timeout_ms":)"sv;
  append_decimal(out, std::int64_t{job.timeout.count()});
  out += R"(,"created_at":)"sv;
  times.append(out, job.created_at);
  // The current attempt's entry in `attempts` repeats these two: copied, not written again.
  const std::size_t times_begin = out.size();
  out += R"(,"started_at":)"sv;
  time_or_null(job.started_at);
  out += R"(,"finished_at":)"sv;
  time_or_null(job.finished_at);
  const std::size_t times_size = out.size() - times_begin;
  // Live figures while the job is under way, final ones once they are known.
  out += R"(,"queue_ms":)"sv;
  // A queued job's wait counts from when its attempt fell due: its submission, for most.
  append_json_millis(out, job.status == job_status::queued
                              ? now - job.next_attempt_at.value_or(job.created_at)
                              : job.queue_time);
  out += R"(,"run_ms":)"sv;
  if (job.status == job_status::running && job.started_at) {
    append_json_millis(out, now - *job.started_at);
  } else if (job.run_time && job.status != job_status::queued) {
    append_json_millis(out, *job.run_time);
  } else {
    out += "null"sv;
  }
  if (payload == with_payload::yes) {
    out += R"(,"payload":)"sv;
    if (job.payload) {
      append_json_value(out, *job.payload);
    } else {
      out += "null"sv;
    }
  }
  if (job.status == job_status::succeeded) {
    out += R"(,"result":)"sv;
    if (job.result) {
      append_json_value(out, *job.result);
    } else {
      out += "null"sv;
    }
  }
  if (job.error) {
    out += R"(,"error":)"sv;
    append_failure(out, *job.error);
  }
  out += R"(,"attempt":)"sv;
  append_decimal(out, std::uint64_t{job.attempt});
  out += R"(,"max_attempts":)"sv;
  append_decimal(out, std::uint64_t{job.max_attempts});
  out += R"(,"run_at":)"sv;
  time_or_null(job.run_at);
  out += R"(,"next_attempt_at":)"sv;
  time_or_null(job.status == job_status::scheduled ? job.next_attempt_at : std::nullopt);
  out += R"(,"attempts":[)"sv;
  for (const store::job_attempt& a : job.earlier_attempts) {
    append_attempt_head(out, a.number, a.status);
    out += R"(,"started_at":)"sv;
    time_or_null(a.started_at);
    out += R"(,"finished_at":)"sv;
    times.append(out, a.finished_at);
    append_attempt_tail(out, a.error);
    out += ',';
  }
  // The attempt under way, or the last: from the job's own fields.
  if (job.status == job_status::running || store::is_terminal(job.status)) {
    append_attempt_head(out, job.attempt, job.status);
    out.append(out, times_begin, times_size);  // a string may append a part of itself
    append_attempt_tail(out, job.error);
  } else if (!job.earlier_attempts.empty()) {
    out.pop_back();
  }
  out += ']';
  if (job.stages) {
    out += R"(,"stages":)"sv;
    append_json_value(out, *job.stages);
  }
  if (!job.concurrency_key.empty()) {
    out += R"(,"concurrency_key":)"sv;
    append_json_string(out, job.concurrency_key);
  }
  if (job.callback) {
    out += R"(,"callback":{"status":)"sv;
    append_json_plain(out, store::to_string(job.callback->status));
    out += R"(,"attempts":)"sv;
    append_decimal(out, std::uint64_t{job.callback->attempts});
    out += R"(,"last_error":)"sv;
    if (job.callback->last_error.empty()) {
      out += "null"sv;
    } else {
      append_json_string(out, job.callback->last_error);
    }
    out += '}';
  }
  out += '}';
}

}  // namespace jobd::jobs
