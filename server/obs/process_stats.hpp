#pragma once

#include <optional>

namespace jobd::server {

// What Prometheus' process collector reports, read from /proc/self.
struct process_stats {
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

std::optional<process_stats> read_process_stats();

}  // namespace jobd::server
