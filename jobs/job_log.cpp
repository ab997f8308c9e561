#include "jobs/job_log.hpp"

#include <spdlog/spdlog.h>

#include "common/rfc3339.hpp"
#include "common/text.hpp"

namespace jobd::jobs {

void log_job_end(const store::job_record& job) {
  if (job.status == store::job_status::succeeded || !job.error) return;
  if (!spdlog::should_log(spdlog::level::debug)) return;
  spdlog::debug("job {} (type {}) ended {}: {}: {}", job.id.view(), job.type,
                store::to_string(job.status), job.error->code, printable(job.error->message));
}

void log_job_retry(const store::job_record& job) {
  if (job.earlier_attempts.empty() || !job.next_attempt_at) return;
  const store::job_attempt& last = job.earlier_attempts.back();
  spdlog::info("job {} (type {}) attempt {} of {} ended {}{}{}; attempt {} at {}", job.id.view(),
               job.type, last.number, job.max_attempts, store::to_string(last.status),
               last.error ? ": " : "", last.error ? printable(last.error->message) : "",
               job.attempt, rfc3339_text(*job.next_attempt_at));
}

}  // namespace jobd::jobs
