#pragma once

// The worker pool: two bounded lanes, min..max workers with reserved high-lane workers,
// per-job deadlines driven by a timer thread, cancel by handle, metrics, and a one-way drain.
//
//   jobd::pool::pool p({.workers_min = 2, .workers_max = 8});
//   auto r = p.try_submit({.priority = lane::high, .timeout = 2s, .work = fn, .on_done = done});
//   if (!r) reject(r.error());   // never blocks: a full lane says so at once
//
// Thread-safety: every member function may be called from any thread, concurrently, except that
// the destructor must not race with other calls. Nothing here blocks on a full queue.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "job.hpp"
#include "stats.hpp"

namespace jobd::pool {

struct pool_config {
  // Workers alive at all times (reserved ones included). Must be >= 1.
  std::size_t workers_min = 1;
  // Workers under backlog. Must be >= workers_min.
  std::size_t workers_max = 4;
  // Workers that only ever run high-lane jobs, so that a high job starts at once while normal
  // jobs occupy every other worker. A priority queue alone cannot promise that: long normal jobs
  // would hold every thread. Must be <= workers_min and < workers_max (so something serves the
  // normal lane), or 0 when workers_max is 1. Empty: 1 when workers_max >= 2, else 0.
  std::optional<std::size_t> reserved_high;
  std::size_t normal_capacity = 1024;  // bound of the normal lane, >= 1
  std::size_t high_capacity = 256;     // bound of the high lane, >= 1
  // A worker above workers_min retires after this long without work.
  std::chrono::milliseconds idle_timeout{30'000};
  // Anti-starvation guard: after this many high-lane jobs in a row taken by shared (non-reserved)
  // workers while normal jobs wait, the next shared pick is a normal job. So under a steady high
  // stream the normal lane still gets at least 1 in (high_burst + 1) shared picks. >= 1.
  std::size_t high_burst = 8;
  // How long a worker that found no job watches for one before it sleeps: a job handed to a
  // watching worker costs no wake-up (a futex call and a scheduling delay, tens of µs on a busy
  // machine). Watching burns its CPU meanwhile, so it only pays where another CPU can run the
  // submitter. Empty: 20 µs when this process may run on two CPUs or more, else 0 (off).
  std::optional<std::chrono::microseconds> spin;
  // Optional hooks, called outside every pool lock on the worker's own thread.
  std::function<void(std::size_t worker_id)> on_worker_start;
  std::function<void(std::size_t worker_id)> on_worker_exit;
};

// Throws std::invalid_argument naming the field, the value and what is allowed.
// Returns the config with defaults resolved.
[[nodiscard]] pool_config validated(pool_config cfg);

namespace detail {
class pool_impl;
}

class pool {
 public:
  // Starts workers_min workers and the timer thread. Throws std::invalid_argument on a bad config.
  explicit pool(pool_config cfg);
  // Drains with no grace period if drain() was not called: queued jobs are cancelled, running
  // ones are asked to stop and awaited; every completion has run when this returns.
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Never blocks. A place in lane `l` for a job to come (see admission), or a refusal, counted:
  // queue_full when the lane's queued and admitted jobs are at its bound (even if the other lane
  // has room), shutting_down once stop_accepting() or drain() has begun. The refusal carries the
  // lane's load read under the same lock, for a Retry-After.
  [[nodiscard]] admit_result admit(lane l);

  // A place in lane `l` for a job accepted before (one taken up again at start): past the
  // lane's bound if need be, as the job is owed one; refused only with shutting_down.
  [[nodiscard]] admit_result readmit(lane l);

  // Hands an admitted job to its place's lane (its request's priority is ignored). Never
  // refused: the place was held for it. If a drain has ended meanwhile, the job ends cancelled
  // at once, its completion run before this returns. Throws std::invalid_argument for an
  // admission already used, a request without work or on_done, or a timeout <= 0.
  // With wake_up::later no worker is woken for it (a watching one may take it): the caller
  // calls wake() soon, once for all the jobs it handed over so; a drain wakes them too.
  job_handle submit(admission&& place, job_request req, wake_up when = wake_up::now);

  // Wakes the idle workers that the runnable jobs need.
  void wake();

  // Like submit, but when the lane has nothing queued the job runs at once on the calling
  // thread, and its completion has run when this returns. For job types far cheaper than a
  // hand-off to a worker (microseconds, never blocking): they skip two thread wake-ups. The
  // counters, the deadline and the outcome are submit's; a lane with jobs queued queues this one
  // behind them, so order within a lane holds. Such a job runs on no worker, so `busy` does not
  // count it, and it cannot be cancelled (it is over first).
  job_handle run_here(admission&& place, job_request req);

  // admit() and submit() in one: the job, or why it was refused. On refusal, `on_done` is not
  // called.
  [[nodiscard]] submit_result try_submit(job_request req);

  // One lane's load, cheaper than a whole stats() snapshot.
  [[nodiscard]] lane_load load(lane l) const;

  // See cancel_result. Safe with a handle whose job has long finished.
  cancel_result cancel(const job_handle& h);

  [[nodiscard]] pool_stats stats() const;

  // From now on admit() refuses with shutting_down; queued and running jobs go on, and so do
  // admitted ones. Never blocks, so it can be called where drain() cannot (an I/O thread, a
  // signal handler's callback).
  void stop_accepting();

  // Moves the worker bounds, validated as the config was at the start (std::invalid_argument
  // naming the field otherwise): workers start at once up to a larger workers_min, and shared
  // workers over a smaller workers_max leave, idle ones at once, busy ones when their job is over.
  // False, and nothing changes, once a drain has begun.
  bool resize(std::size_t workers_min, std::size_t workers_max);

  // Moves the limit of a job group (job_limits::group) for its jobs in line and running now;
  // later jobs bring their own. A limit of 0 is taken as 1.
  void set_group_limit(const std::string& group, std::size_t limit);

  // A paused lane still takes jobs (up to its bound) but starts none: they wait, their
  // deadlines running, until it is resumed. A drain resumes both lanes, and a pause once it has
  // begun is refused (false): the jobs it holds were accepted, and are owed their run.
  bool pause(lane l);
  void resume(lane l);

  // Stops accepting, waits up to `grace` for queued, admitted and running jobs to finish, then
  // cancels the queued rest and asks the running rest to stop, waits for them, and joins every
  // thread.
  // Every accepted job is terminal and its completion has run when this returns. A job that
  // ignores its stop token delays the return until it ends. Later calls return at once.
  void drain(std::chrono::milliseconds grace);

 private:
  std::unique_ptr<detail::pool_impl> impl_;
};

}  // namespace jobd::pool
