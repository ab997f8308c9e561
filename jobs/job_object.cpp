#include "jobs/job_object.hpp"

#include <nlohmann/json.hpp>

namespace jobd::jobs {

// Every answer about a job carries this, so it is the measured fast path of JSON writing: the
// keys are literals appended whole, the values go through the common appenders (the one string
// escaper among them). A json_writer, which keeps count of commas, cost an answer some 1,500
// instructions more.
void append_job_object(std::string& out, const store::job_record& job,
                       std::chrono::system_clock::time_point now, json_time_writer& times) {
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
  out += R"(,"started_at":)"sv;
  time_or_null(job.started_at);
  out += R"(,"finished_at":)"sv;
  time_or_null(job.finished_at);
  // Live figures while the job is under way, final ones once they are known.
  out += R"(,"queue_ms":)"sv;
  append_json_millis(out, job.status == job_status::queued ? now - job.created_at : job.queue_time);
  out += R"(,"run_ms":)"sv;
  if (job.status == job_status::running && job.started_at) {
    append_json_millis(out, now - *job.started_at);
  } else if (job.run_time && job.status != job_status::queued) {
    append_json_millis(out, *job.run_time);
  } else {
    out += "null"sv;
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
    out += R"(,"error":{"code":)"sv;
    append_json_string(out, job.error->code);
    out += R"(,"message":)"sv;
    append_json_string(out, job.error->message);
    if (job.error->details && job.error->details->is_object()) {
      for (const auto& [k, v] : job.error->details->items()) {
        if (k == "code" || k == "message") continue;
        out += ',';
        append_json_string(out, k);  // a handler's own names: escaped like any text
        out += ':';
        append_json_value(out, v);
      }
    }
    out += '}';
  }
  out += '}';
}

}  // namespace jobd::jobs
