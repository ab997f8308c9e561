#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/histogram.hpp"
#include "job.hpp"

namespace jobd::pool {

enum class pool_state : std::uint8_t { running, draining, stopped };

// One lane's share of a snapshot. Counters only grow over the pool's life.
struct lane_stats {
  std::size_t depth = 0;     // jobs queued now (cancelled and expired ones are removed at once)
  std::size_t capacity = 0;  // the lane's bound
  bool paused = false;       // takes jobs, starts none (pool::pause)
  // Age of the oldest queued job, 0 when the lane is empty.
  double oldest_wait_seconds = 0.0;
  // Accepted jobs; refused ones are counted in `rejected_*` instead, never here.
  std::uint64_t submitted = 0;
  std::uint64_t rejected_queue_full = 0;
  std::uint64_t rejected_shutting_down = 0;
  // Terminal jobs by job_status, indexed by its value. Includes jobs that never ran.
  std::array<std::uint64_t, job_status_count> finished{};
  // Submission to start, observed once per job that started (jobs that ended queued excluded).
  jobd::histogram queue_wait;
  // Start to end, observed once per job that started, whatever its status.
  jobd::histogram run_time;
  // Exponentially weighted mean of run time (seconds) over recent jobs, for drain-rate estimates;
  // 0 until a job of this lane has run.
  double recent_run_seconds = 0.0;
};

// What a refusal's Retry-After is estimated from: one lane's backlog and pace, read at once.
struct lane_load {
  std::size_t depth = 0;
  std::size_t capacity = 0;
  double recent_run_seconds = 0.0;  // as lane_stats::recent_run_seconds
  std::size_t serving_workers = 0;  // workers_max, less the reserved ones for the normal lane
};

// A refusal by admit(), with the lane's load at that instant: all a 503 needs to say.
struct refusal {
  submit_error why = submit_error::queue_full;
  lane_load load;
};

// What admit() gives: a place in the lane, or why there is none.
class [[nodiscard]] admit_result {
 public:
  admit_result(admission place) : place_(std::move(place)) {}  // NOLINT: implicit by design
  admit_result(refusal why) : refused_(why) {}                 // NOLINT: implicit by design

  [[nodiscard]] bool admitted() const noexcept { return place_.valid(); }
  explicit operator bool() const noexcept { return admitted(); }
  // Meaningful only when admitted(); taken once.
  [[nodiscard]] admission take() noexcept { return std::move(place_); }
  // Meaningful only when !admitted().
  [[nodiscard]] const refusal& refused() const noexcept { return refused_; }

 private:
  admission place_;
  refusal refused_;
};

// A job group under a concurrency limit (job_limits::group) with jobs in line or running.
struct group_stats {
  std::string name;
  std::size_t limit = 0;
  std::size_t running = 0;
  bool adaptive = false;  // the limit is moved by whoever set it (see adaptive_limit)
};

// A consistent snapshot: every field was read under one lock at one instant.
struct pool_stats {
  pool_state state = pool_state::running;
  std::size_t workers_min = 0;
  std::size_t workers_max = 0;
  bool workers_adaptive = false;  // workers_max is moved by whoever set it (see adaptive_limit)
  std::size_t reserved_high = 0;
  std::size_t workers = 0;                   // threads alive now, reserved ones included
  std::size_t busy = 0;                      // workers running a job
  std::size_t idle = 0;                      // workers - busy
  std::array<lane_stats, lane_count> lanes;  // indexed by lane's value
  std::vector<group_stats> groups;           // in no order

  [[nodiscard]] const lane_stats& of(lane l) const noexcept {
    return lanes[static_cast<std::size_t>(l)];
  }
};

}  // namespace jobd::pool
