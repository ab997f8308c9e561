#pragma once

// The jobs that run under concurrency limits (job_limits), while they wait for room.
//
// A limited job passes up to two stages in turn: its key's group, then its job group's. At
// each it waits in that group's line (ordered by arrival) until it is first and the group has
// room, and passing takes one of the group's places, held until the job ends. Past its last
// stage it is ready: in its lane's ready set, ordered by arrival, for a worker to take. So a job
// over a limit waits without holding up any job behind it that is not, and the jobs of one key,
// or of one group, pass in the order they came (a job that waited for its key goes before the
// group's later jobs). Each step costs O(log n) at most, in the jobs of one line.
//
// Not thread-safe: the pool calls it under its own lock.

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../job.hpp"
#include "../stats.hpp"
#include "job_state.hpp"

namespace jobd::pool::detail {

using order_set = std::set<std::pair<std::uint64_t, job_state*>>;

struct limit_group {
  std::string id;          // its key in the limiter's map
  bool per_group = false;  // a job group's (else a key's): reported in the pool's stats
  std::size_t limit = 1;
  std::size_t held = 0;     // places taken: jobs past this stage, ready or running
  std::size_t running = 0;  // of them, started
  order_set waiting;
};

class limiter {
 public:
  // A job arrives: it waits at its first stage, or is ready at once.
  void add(job_state& job, const job_limits& limits);
  // The oldest ready job of the lane; null when there is none.
  [[nodiscard]] job_state* front(lane l) const {
    const auto& r = ready_[static_cast<std::size_t>(l)];
    return r.empty() ? nullptr : r.begin()->second;
  }
  [[nodiscard]] std::size_t ready_count(lane l) const {
    return ready_[static_cast<std::size_t>(l)].size();
  }
  // A ready job taken by a worker.
  void started(job_state& job);
  // A started job ended: its places are given back, and the jobs first in line take them.
  void ended(job_state& job);
  // A job that never started leaves (cancelled, expired): likewise.
  void removed(job_state& job);
  // A job group's limit moves: jobs in its line pass now if it grew. A group with no job in
  // line or running is not kept: its next job brings its limit.
  void set_limit(const std::string& group, std::size_t limit);
  // The job groups' limits and running counts, by name.
  [[nodiscard]] std::vector<group_stats> stats() const;

 private:
  limit_group* group(std::string id, bool per_group, std::size_t limit);
  // Puts the job in line at its next stage, or in the ready set past its last.
  void wait_next(job_state& job);
  // Lets the jobs first in the group's line pass while it has room.
  void advance(limit_group& g);
  // Gives back the places the job holds, then forgets the groups nobody is in.
  void give_back(job_state& job);
  void forget_if_unused(limit_group* g);

  std::unordered_map<std::string, limit_group> groups_;  // nodes: pointers to them stay valid
  std::array<order_set, lane_count> ready_;
};

}  // namespace jobd::pool::detail
