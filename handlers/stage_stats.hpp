#pragma once

#include <cstddef>
#include <string>

namespace jobd::handlers {

// One stage pool of a pipeline, as /v1/pool and /metrics show it.
struct stage_stats {
  std::string pipeline;
  std::size_t index = 0;  // the stage's place in its pipeline, from 0
  std::string type;
  std::size_t workers = 0;
  std::size_t busy = 0;
  std::size_t queued = 0;    // both lanes
  std::size_t capacity = 0;  // each lane's bound
};

}  // namespace jobd::handlers
