#pragma once

#include "store/job_record.hpp"

namespace jobd::jobs {

// At debug level: why a terminal job did not succeed, its message (a client's or a command's
// text) made printable. Nothing for a job that succeeded. Apart from the service, whose hot
// paths the formatting code would crowd.
void log_job_end(const store::job_record& job);
// An attempt that ended and is tried again (`job` scheduled for the next one), at info: a
// failure that is retried is worth a line where a final one may be routine.
void log_job_retry(const store::job_record& job);

}  // namespace jobd::jobs
