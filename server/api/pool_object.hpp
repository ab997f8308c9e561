#pragma once

// The pool's state as GET /v1/pool and /v1/events' `pool` events show it.

#include <string>

#include "pool/stats.hpp"

namespace jobd::server {

[[nodiscard]] std::string pool_object(const pool::pool_stats& stats);

}  // namespace jobd::server
