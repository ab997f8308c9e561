#pragma once

#include <array>
#include <list>
#include <map>
#include <memory>
#include <stop_token>
#include <utility>

#include "../job.hpp"

namespace jobd::pool::detail {

enum class job_phase : std::uint8_t { queued, running, finished };

// Why a running job was asked to stop; the first reason wins and decides its status.
enum class stop_reason : std::uint8_t { none, deadline, cancel, shutdown };

struct job_state;
struct limit_group;
using job_list = std::list<std::shared_ptr<job_state>>;
using deadline_index = std::multimap<clock::time_point, job_state*>;

// One accepted job. The fields above the line are set before the job is published and then
// only read; the rest are guarded by the pool mutex.
struct job_state : std::enable_shared_from_this<job_state> {
  job_fn work;            // moved out by the worker that runs it
  completion_fn on_done;  // moved out by whoever ends the job: that is what makes it run once
  lane priority = lane::normal;
  clock::time_point submitted;
  clock::time_point deadline;
  std::stop_source stop;
  // ---- guarded by pool mutex
  job_phase phase = job_phase::queued;
  stop_reason reason = stop_reason::none;
  clock::time_point started;
  // Position in its lane while queued, then in the running list: a splice moves it between
  // the two without allocating, and cancel removes it in O(1).
  job_list::iterator position;
  deadline_index::iterator deadline_entry;
  bool has_deadline_entry = false;
  // Its place in the order jobs arrived, across both lanes' queues: the oldest runnable job of
  // a lane is the one with the smallest.
  std::uint64_t order = 0;
  // Under concurrency limits (see limiter.hpp): its groups, key first, each a stage it waits at
  // in its turn (null: none); how many stages it has passed; and whether it has passed them all
  // and waits only for a worker.
  bool limited = false;
  std::array<limit_group*, 2> limit_groups{};
  std::size_t passed = 0;
  bool ready = false;
};

}  // namespace jobd::pool::detail
