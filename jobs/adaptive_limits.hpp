#pragma once

// The adaptive concurrency limits of a service: the pool's workers_max when it is "adaptive",
// and each job type's max_concurrency that is. The service tells it of each job of such a
// scope as it starts and ends; a limit that moves is applied to the pool at once.
//
// Thread-safety: every member may be called from any thread.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "handlers/registry.hpp"
#include "pool/adaptive_limit.hpp"
#include "pool/pool.hpp"

namespace jobd::jobs {

struct adaptive_config {
  bool workers = false;         // workers_max is adaptive
  std::size_t workers_min = 1;  // its lowest
  std::size_t max = 64;         // adaptive_max: the highest of any adaptive limit
};

class adaptive_limits {
 public:
  // Makes a limit for each type of `types` whose max_concurrency is adaptive.
  adaptive_limits(const adaptive_config& config, const handlers::registry& types, pool::pool& pool);

  // How many of each of a job's scopes ran as it started (itself included); 0 where its
  // scope has no adaptive limit.
  struct start {
    std::size_t workers = 0;
    std::size_t type = 0;
    [[nodiscard]] bool any() const noexcept { return workers > 0 || type > 0; }
  };
  // A job of `type` starts on a worker.
  [[nodiscard]] start started(const handlers::job_type& type);
  // It ended after `run_time`; `counts` when the run time says something of the load (not
  // for a job cancelled by request).
  void ended(const handlers::job_type& type, start at, std::chrono::nanoseconds run_time,
             bool counts);

  [[nodiscard]] bool workers_adaptive() const noexcept { return workers_ != nullptr; }
  // The type's limit now; 0 when it has no adaptive one.
  [[nodiscard]] std::size_t type_limit(const handlers::job_type& type) const;

 private:
  pool::pool& pool_;
  const std::size_t workers_min_;
  std::unique_ptr<pool::adaptive_limit> workers_;
  // Built once, then only read: the limits themselves are thread-safe.
  std::map<const handlers::job_type*, std::unique_ptr<pool::adaptive_limit>> types_;
  // Applies moves one at a time, each with the limit as it stands then, so that two ends
  // racing cannot leave the pool with the older of their limits.
  std::mutex apply_mu_;
};

}  // namespace jobd::jobs
