#pragma once

// The job object of the API as JSON text: what a job lookup answers, and what a sync
// submission, a list of jobs and (to come) an event or a completion callback carry.

#include <chrono>
#include <string>

#include "common/json_writer.hpp"
#include "store/job_record.hpp"

namespace jobd::jobs {

// Whether the object carries the job's payload, which it leaves out unless asked: a payload
// may be large, and its submitter has it.
enum class with_payload : bool { no, yes };

// Appends the job object of `job`, as it stands at `now`: a job under way shows how long it
// has waited or run until then. `times` formats the timestamps; its owner guards it.
void append_job_object(std::string& out, const store::job_record& job,
                       std::chrono::system_clock::time_point now, json_time_writer& times,
                       with_payload payload = with_payload::no);

}  // namespace jobd::jobs
