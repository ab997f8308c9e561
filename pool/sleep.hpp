#pragma once

#include <stop_token>

#include "pool/job.hpp"

namespace jobd::pool {

// Blocks until `until` or until `stop` is requested, whichever comes first, and returns whether a
// stop was requested. A job that waits should wait here: one futex wait on the thread's stack,
// with no lock, condition variable or allocation, so a pool full of waiting jobs costs the
// kernel's timers and nothing more.
bool sleep_until(const std::stop_token& stop, clock::time_point until);

}  // namespace jobd::pool
