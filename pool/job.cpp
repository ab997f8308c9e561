#include "job.hpp"

namespace jobd::pool {

std::string_view to_string(lane l) noexcept {
  switch (l) {
    case lane::high:
      return "high";
    case lane::normal:
      return "normal";
  }
  return "unknown";
}

std::string_view to_string(job_status s) noexcept {
  switch (s) {
    case job_status::succeeded:
      return "succeeded";
    case job_status::failed:
      return "failed";
    case job_status::timed_out:
      return "timed_out";
    case job_status::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view to_string(submit_error e) noexcept {
  switch (e) {
    case submit_error::queue_full:
      return "queue_full";
    case submit_error::shutting_down:
      return "shutting_down";
  }
  return "unknown";
}

}  // namespace jobd::pool
