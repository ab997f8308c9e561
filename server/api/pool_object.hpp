#pragma once

// The pool's state as GET /v1/pool and /v1/events' `pool` events show it.

#include <string>
#include <vector>

#include "handlers/stage_stats.hpp"
#include "pool/stats.hpp"

namespace jobd::server {

// `stages`: the pipelines' stage pools, in their pipelines' order.
[[nodiscard]] std::string pool_object(const pool::pool_stats& stats,
                                      const std::vector<handlers::stage_stats>& stages);

}  // namespace jobd::server
