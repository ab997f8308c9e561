#include "store/job_record.hpp"

namespace jobd::store {

std::string_view to_string(job_status s) noexcept {
  switch (s) {
    case job_status::queued:
      return "queued";
    case job_status::running:
      return "running";
    case job_status::succeeded:
      return "succeeded";
    case job_status::failed:
      return "failed";
    case job_status::timed_out:
      return "timed_out";
    case job_status::cancelled:
      return "cancelled";
    case job_status::scheduled:
      return "scheduled";
  }
  return "unknown";
}

std::optional<job_status> job_status_from(std::string_view s) noexcept {
  for (auto st :
       {job_status::queued, job_status::running, job_status::succeeded, job_status::failed,
        job_status::timed_out, job_status::cancelled, job_status::scheduled}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view to_string(callback_status s) noexcept {
  switch (s) {
    case callback_status::pending:
      return "pending";
    case callback_status::delivered:
      return "delivered";
    case callback_status::failed:
      return "failed";
  }
  return "unknown";
}

std::string_view to_string(job_priority p) noexcept {
  return p == job_priority::high ? "high" : "normal";
}

}  // namespace jobd::store
