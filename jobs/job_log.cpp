#include "jobs/job_log.hpp"

#include <spdlog/spdlog.h>

#include "common/text.hpp"

namespace jobd::jobs {

void log_job_end(const store::job_record& job) {
  if (job.status == store::job_status::succeeded || !job.error) return;
  if (!spdlog::should_log(spdlog::level::debug)) return;
  spdlog::debug("job {} (type {}) ended {}: {}: {}", job.id.view(), job.type,
                store::to_string(job.status), job.error->code, printable(job.error->message));
}

}  // namespace jobd::jobs
