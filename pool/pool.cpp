#include "pool.hpp"

#include <pthread.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "detail/job_state.hpp"
#include "detail/limiter.hpp"

namespace jobd::pool {
namespace detail {
namespace {

constexpr std::size_t index_of(lane l) noexcept {
  return static_cast<std::size_t>(l);
}

double seconds(clock::duration d) noexcept {
  return std::chrono::duration<double>(d).count();
}

void name_this_thread(const std::string& name) noexcept {
  // Linux caps thread names at 15 characters; a longer name is refused, not truncated.
  const std::string shown = name.substr(0, 15);
  pthread_setname_np(pthread_self(), shown.c_str());
}

// A pause in a busy-wait: tells the CPU so (on x86, frees the core's other hyper-thread and
// saves power); elsewhere, lets another thread run.
inline void relax_cpu() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Linux lets a sleeping thread wake up to 50 µs late by default, to batch wake-ups. A job's
// timed waits and the deadline timer should end when asked: 1 ns is the smallest slack.
void wake_on_time() noexcept {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

// The completion contract says it must not throw; noexcept turns a throw into terminate
// instead of a job that silently never completes.
void deliver(completion_fn& done, const job_outcome& outcome) noexcept {
  completion_fn fn = std::move(done);
  fn(outcome);
}

clock::time_point deadline_after(clock::time_point now, clock::duration timeout) noexcept {
  return timeout >= clock::time_point::max() - now ? clock::time_point::max() : now + timeout;
}

// Weight of the newest run in the recent-run-time mean: about the last ten jobs matter.
constexpr double recent_weight = 0.2;

}  // namespace

class pool_impl {
 public:
  explicit pool_impl(pool_config cfg)
      : cfg_(validated(std::move(cfg))),
        workers_min_(cfg_.workers_min),
        workers_max_(cfg_.workers_max) {
    const std::size_t reserved = *cfg_.reserved_high;
    for (auto& s : lane_stats_) s = lane_stats{};
    lane_stats_[index_of(lane::high)].capacity = cfg_.high_capacity;
    lane_stats_[index_of(lane::normal)].capacity = cfg_.normal_capacity;
    // The timer thread starts every worker, so a failure to create one has a single home.
    workers_ = cfg_.workers_min;
    starting_ = cfg_.workers_min;
    spawn_requests_ = cfg_.workers_min;
    reserved_to_spawn_ = reserved;
    timer_ = std::thread([this] { timer_loop(); });
  }

  ~pool_impl() { drain(std::chrono::milliseconds(0)); }

  pool_impl(const pool_impl&) = delete;
  pool_impl& operator=(const pool_impl&) = delete;

  admit_result admit(lane l) {
    lock lk(mu_);
    if (const auto why = refusal_locked(l)) return refusal{.why = *why, .load = load_locked(l)};
    ++admitted_[index_of(l)];
    return admission(this, l);
  }
  admit_result readmit(lane l) {
    lock lk(mu_);
    if (state_ != pool_state::running) {
      ++lane_stats_[index_of(l)].rejected_shutting_down;
      return refusal{.why = submit_error::shutting_down, .load = load_locked(l)};
    }
    ++admitted_[index_of(l)];
    return admission(this, l);
  }
  // An admission dropped unused.
  void release(lane l) {
    lock lk(mu_);
    --admitted_[index_of(l)];
    notify_drain_locked();
  }
  job_handle submit(admission&& place, job_request req, wake_up when);
  void wake();
  job_handle run_here(admission&& place, job_request req);
  cancel_result cancel(const std::shared_ptr<job_state>& job);
  lane_load load(lane l) const {
    lock lk(mu_);
    return load_locked(l);
  }
  pool_stats stats() const;
  void drain(std::chrono::milliseconds grace) {
    std::call_once(drained_once_, [&] { drain_once(grace); });
  }
  void stop_accepting() {
    lock lk(mu_);
    if (state_ == pool_state::running) state_ = pool_state::draining;
  }
  bool resize(std::size_t workers_min, std::size_t workers_max);
  bool set_paused(lane l, bool paused);
  void set_group_limit(const std::string& group, std::size_t limit);

 private:
  enum class worker_kind : std::uint8_t { reserved, shared };
  using lock = std::unique_lock<std::mutex>;
  using finished_job = std::pair<std::shared_ptr<job_state>, job_outcome>;

  void timer_loop() noexcept;
  void worker_loop(std::size_t id, worker_kind kind) noexcept;
  void start_worker(lock& lk);
  void reap(lock& lk);
  void expire_deadlines(lock& lk);
  void drain_once(std::chrono::milliseconds grace);

  static std::shared_ptr<job_state> make_job(job_request& req);
  // Runs a job's completion on the calling thread, out of the lock, and lets a drain know.
  void complete_here(lock& lk, job_state& job, const job_outcome& outcome);
  // Takes the place `place` held (it is then spent) and gives the job its lane and deadline. A
  // pool already stopped ends the job cancelled here and returns false.
  bool take_place(lock& lk, admission& place, const std::shared_ptr<job_state>& job,
                  clock::duration timeout);
  std::optional<submit_error> refusal_locked(lane l);
  // Whether a worker may take a job from lane `l` now: it has one, and is not paused.
  bool runnable_locked(lane l) const {
    return !paused_[index_of(l)] && (!lanes_[index_of(l)].empty() || limits_.front(l) != nullptr);
  }
  // Jobs queued in the lane, waiting under a limit or not.
  std::size_t depth_locked(lane l) const {
    return lanes_[index_of(l)].size() + limited_[index_of(l)].size();
  }
  // Takes a queued job out of its lane, before its end.
  void unqueue_locked(job_state& job);
  // Asks for a worker more when the runnable jobs outnumber the workers that will take them
  // without help, up to workers_max; whether it did (the timer thread starts it).
  bool grow_locked();
  lane_load load_locked(lane l) const;
  // Queues a job whose place was taken; unlocks `lk`.
  void enqueue(lock& lk, const std::shared_ptr<job_state>& job, const job_limits& limits,
               wake_up when = wake_up::now);
  static std::exception_ptr call_work(job_state& job) noexcept;
  static job_status status_after_run(const job_state& job, clock::time_point end, bool threw);
  bool has_work_locked(worker_kind kind) const;
  std::shared_ptr<job_state> pick_locked(worker_kind kind);
  void wake_for_queued_locked(bool& wake_reserved, bool& wake_shared) const;
  void notify(bool wake_reserved, bool wake_shared);
  // Starts a worker if the runnable jobs need one and wakes every idle worker that can take
  // them, for a change that may have made many runnable at once; unlocks `lk`.
  void wake_every_idle(lock& lk);
  void run(lock& lk, std::shared_ptr<job_state> job);
  job_outcome finish_locked(job_state& job, job_status status, clock::time_point now);
  void notify_drain_locked();

  const pool_config cfg_;
  // The bounds resize() moves; the rest of the config stays as it was given.
  std::size_t workers_min_;  // guarded by mu_
  std::size_t workers_max_;  // guarded by mu_
  // Lanes whose jobs wait, accepted but not started, until resumed. Guarded by mu_.
  std::array<bool, lane_count> paused_{};

  mutable std::mutex mu_;
  std::condition_variable reserved_cv_;  // reserved workers wait here for high-lane work
  std::condition_variable shared_cv_;    // shared workers wait here for any work
  std::condition_variable timer_cv_;     // the timer thread: deadlines, spawns, exits
  std::condition_variable drained_cv_;   // drain(): queues empty, workers idle or gone

  pool_state state_ = pool_state::running;  // guarded by mu_
  // Each lane's queued jobs without limits, in order; and those with limits, in order, which
  // the limiter lets run when they have room. Guarded by mu_, as the two below.
  std::array<job_list, lane_count> lanes_;
  std::array<job_list, lane_count> limited_;
  limiter limits_;
  std::uint64_t next_order_ = 0;
  // Places admit() gave that are not yet submitted or given back; they count against the
  // lanes' bounds. Guarded by mu_.
  std::array<std::size_t, lane_count> admitted_{};
  job_list running_;                               // guarded by mu_
  deadline_index deadlines_;                       // guarded by mu_
  std::array<lane_stats, lane_count> lane_stats_;  // guarded by mu_
  std::size_t workers_ = 0;                        // alive or starting; guarded by mu_
  std::size_t starting_ = 0;            // counted in workers_, not yet looking for work; by mu_
  std::size_t reserved_launching_ = 0;  // reserved threads made, not yet looking; by mu_
  std::size_t busy_ = 0;                // guarded by mu_
  // Jobs run or ended on a caller's thread (run_here, cancel, a submit after the drain) whose
  // completion has not returned: a drain waits for them too. Guarded by mu_.
  std::size_t on_callers_threads_ = 0;
  std::size_t idle_reserved_ = 0;  // waiting on reserved_cv_; guarded by mu_
  std::size_t idle_shared_ = 0;    // waiting on shared_cv_; guarded by mu_
  // Workers watching for a job before they sleep (cfg_.spin): a job they can take needs no
  // wake-up. Guarded by mu_.
  std::size_t spinning_reserved_ = 0;
  std::size_t spinning_shared_ = 0;
  // Grows whenever a job may have become runnable (see wake_for_queued_locked): what watching
  // workers watch, without the lock.
  mutable std::atomic<std::uint64_t> work_events_{0};
  std::size_t spawn_requests_ = 0;     // guarded by mu_
  std::size_t reserved_to_spawn_ = 0;  // guarded by mu_
  std::size_t consecutive_high_ = 0;   // shared high picks while normal waited; by mu_
  std::size_t next_worker_id_ = 0;     // guarded by mu_
  std::vector<std::size_t> exited_;    // workers that returned, to be joined; by mu_
  bool timer_stop_ = false;            // guarded by mu_
  // When the timer thread looks at the deadlines next: max while it waits for none, min while
  // it is awake. Guarded by mu_.
  clock::time_point timer_wakes_at_ = clock::time_point::min();

  // Owned by the timer thread while it runs, then by drain_once().
  std::unordered_map<std::size_t, std::thread> threads_;
  std::thread timer_;
  std::once_flag drained_once_;
};

std::shared_ptr<job_state> pool_impl::make_job(job_request& req) {
  if (!req.work) throw std::invalid_argument("pool: job_request.work is empty");
  if (!req.on_done) throw std::invalid_argument("pool: job_request.on_done is empty");
  if (req.timeout <= clock::duration::zero()) {
    throw std::invalid_argument("pool: job_request.timeout must be positive");
  }
  // Allocated before the lock is taken; a refused job costs one allocation and nothing else.
  auto job = std::make_shared<job_state>();
  job->work = std::move(req.work);
  job->on_done = std::move(req.on_done);
  job->priority = req.priority;
  return job;
}

std::optional<submit_error> pool_impl::refusal_locked(lane l) {
  lane_stats& ls = lane_stats_[index_of(l)];
  if (state_ != pool_state::running) {
    ++ls.rejected_shutting_down;
    return submit_error::shutting_down;
  }
  if (depth_locked(l) + admitted_[index_of(l)] >= ls.capacity) {
    ++ls.rejected_queue_full;
    return submit_error::queue_full;
  }
  return std::nullopt;
}

bool pool_impl::take_place(lock& lk, admission& place, const std::shared_ptr<job_state>& job,
                           clock::duration timeout) {
  const lane l = place.lane_;
  place.pool_ = nullptr;  // spent: its place is the job's now
  --admitted_[index_of(l)];
  job->priority = l;
  const auto now = clock::now();
  job->submitted = now;
  job->deadline = deadline_after(now, timeout);
  if (state_ != pool_state::stopped) return true;
  // Admitted before a drain that has ended since: the job was accepted, so it ends like the
  // other jobs the drain gave up on.
  ++lane_stats_[index_of(l)].submitted;
  complete_here(lk, *job, finish_locked(*job, job_status::cancelled, now));
  return false;
}

void pool_impl::complete_here(lock& lk, job_state& job, const job_outcome& outcome) {
  ++on_callers_threads_;
  lk.unlock();
  deliver(job.on_done, outcome);
  // Only now may a drain return: its promise is that every completion has run.
  lk.lock();
  --on_callers_threads_;
  notify_drain_locked();
}

job_handle pool_impl::submit(admission&& place, job_request req, wake_up when) {
  if (place.pool_ != this) throw std::invalid_argument("pool: submit() without a valid admission");
  auto job = make_job(req);
  lock lk(mu_);
  if (take_place(lk, place, job, req.timeout)) enqueue(lk, job, req.limits, when);
  return job_handle(std::move(job));
}

void pool_impl::wake() {
  lock lk(mu_);
  bool wake_reserved = false;
  bool wake_shared = false;
  wake_for_queued_locked(wake_reserved, wake_shared);
  // Several jobs may have come since the last wake-up: as many workers as they need, no more
  // (a pool of many idle workers must not wake them all for two jobs).
  const auto runnable = [this](lane l) {
    return paused_[index_of(l)] ? std::size_t{0}
                                : lanes_[index_of(l)].size() + limits_.ready_count(l);
  };
  const std::size_t high = runnable(lane::high);
  const std::size_t reserved = wake_reserved ? std::min(idle_reserved_, high) : 0;
  const std::size_t shared =
      wake_shared ? std::min(idle_shared_, high + runnable(lane::normal) - reserved) : 0;
  lk.unlock();
  for (std::size_t i = 0; i < reserved; ++i) reserved_cv_.notify_one();
  for (std::size_t i = 0; i < shared; ++i) shared_cv_.notify_one();
}

job_handle pool_impl::run_here(admission&& place, job_request req) {
  if (place.pool_ != this) {
    throw std::invalid_argument("pool: run_here() without a valid admission");
  }
  auto job = make_job(req);
  lock lk(mu_);
  if (!take_place(lk, place, job, req.timeout)) return job_handle(std::move(job));
  // Behind the jobs its lane may run first, and never past a limit or a pause.
  const lane l = job->priority;
  if (req.limits.any() || runnable_locked(l) || paused_[index_of(l)]) {
    enqueue(lk, job, req.limits);
    return job_handle(std::move(job));
  }
  job->phase = job_phase::running;
  job->started = job->submitted;
  lane_stats& ls = lane_stats_[index_of(job->priority)];
  ++ls.submitted;
  ls.queue_wait.observe(0.0);
  ++on_callers_threads_;  // a drain waits for the job running here too
  lk.unlock();

  std::exception_ptr thrown = call_work(*job);
  const auto end = clock::now();

  lk.lock();
  --on_callers_threads_;  // counted again, under the same lock, until its completion has run
  job_outcome outcome = finish_locked(*job, status_after_run(*job, end, thrown != nullptr), end);
  outcome.error = thrown;
  complete_here(lk, *job, outcome);
  return job_handle(std::move(job));
}

void pool_impl::enqueue(lock& lk, const std::shared_ptr<job_state>& job, const job_limits& limits,
                        wake_up when) {
  lane_stats& ls = lane_stats_[index_of(job->priority)];
  job->order = next_order_++;
  job_list& queue = (limits.any() ? limited_ : lanes_)[index_of(job->priority)];
  queue.push_back(job);
  job->position = std::prev(queue.end());
  if (limits.any()) limits_.add(*job, limits);
  job->deadline_entry = deadlines_.emplace(job->deadline, job.get());
  job->has_deadline_entry = true;
  ++ls.submitted;
  // Only a deadline before the timer's next look needs it sooner: one after it is found then.
  // (A job's deadline is mostly its submission plus a fixed timeout: past the last's.)
  bool wake_timer = job->deadline < timer_wakes_at_;
  wake_timer |= grow_locked();
  bool wake_reserved = false;
  bool wake_shared = false;
  wake_for_queued_locked(wake_reserved, wake_shared);
  lk.unlock();
  if (when == wake_up::now) notify(wake_reserved, wake_shared);
  if (wake_timer) timer_cv_.notify_one();
}

bool pool_impl::grow_locked() {
  const auto runnable_depth = [this](lane l) {
    return paused_[index_of(l)] ? std::size_t{0}
                                : lanes_[index_of(l)].size() + limits_.ready_count(l);
  };
  const std::size_t high_depth = runnable_depth(lane::high);
  const std::size_t queued = high_depth + runnable_depth(lane::normal);
  // Of the workers starting, the reserved ones will take high jobs only. Spawns are made in
  // order, reserved ones first.
  const std::size_t starting_reserved =
      reserved_launching_ + std::min(spawn_requests_, reserved_to_spawn_);
  // Watching workers take jobs as idle ones do, sooner.
  const std::size_t ready =
      std::min(idle_reserved_ + spinning_reserved_ + starting_reserved, high_depth) + idle_shared_ +
      spinning_shared_ + (starting_ - starting_reserved);
  if (queued <= ready || workers_ >= workers_max_) return false;
  ++workers_;
  ++starting_;
  ++spawn_requests_;
  return true;
}

bool pool_impl::resize(std::size_t workers_min, std::size_t workers_max) {
  pool_config asked = cfg_;
  asked.workers_min = workers_min;
  asked.workers_max = workers_max;
  (void)validated(asked);  // as at the start: throws naming the field
  lock lk(mu_);
  if (state_ != pool_state::running) return false;  // a drain ends every worker anyway
  workers_min_ = workers_min;
  workers_max_ = workers_max;
  bool wake_timer = false;
  if (workers_ < workers_min_) {
    const std::size_t more = workers_min_ - workers_;
    workers_ += more;
    starting_ += more;
    spawn_requests_ += more;
    wake_timer = true;
  }
  wake_timer |= grow_locked();
  const bool over = workers_ > workers_max_;
  lk.unlock();
  if (wake_timer) timer_cv_.notify_one();
  // Idle shared workers over the bound leave now; busy ones once their job is over.
  if (over) shared_cv_.notify_all();
  return true;
}

void pool_impl::set_group_limit(const std::string& group, std::size_t limit) {
  lock lk(mu_);
  limits_.set_limit(group, std::max<std::size_t>(limit, 1));
  // A grown limit may have let several jobs pass.
  wake_every_idle(lk);
}

void pool_impl::wake_every_idle(lock& lk) {
  const bool wake_timer = grow_locked();
  bool wake_reserved = false;
  bool wake_shared = false;
  wake_for_queued_locked(wake_reserved, wake_shared);
  lk.unlock();
  if (wake_reserved) reserved_cv_.notify_all();
  if (wake_shared) shared_cv_.notify_all();
  if (wake_timer) timer_cv_.notify_one();
}

bool pool_impl::set_paused(lane l, bool paused) {
  lock lk(mu_);
  if (paused && state_ != pool_state::running) return false;
  if (paused_[index_of(l)] == paused) return true;
  paused_[index_of(l)] = paused;
  if (paused) return true;
  // The lane may hold many jobs.
  wake_every_idle(lk);
  return true;
}

void pool_impl::wake_for_queued_locked(bool& wake_reserved, bool& wake_shared) const {
  const bool high_waits = runnable_locked(lane::high);
  const bool normal_waits = runnable_locked(lane::normal);
  if (!high_waits && !normal_waits) return;
  work_events_.fetch_add(1, std::memory_order_release);
  if (spinning_reserved_ + spinning_shared_ > 0) {
    // Watching workers take what they can cover without a wake-up: reserved ones high jobs,
    // shared ones any.
    const auto runnable = [this](lane l) {
      return paused_[index_of(l)] ? std::size_t{0}
                                  : lanes_[index_of(l)].size() + limits_.ready_count(l);
    };
    const std::size_t high = runnable(lane::high);
    const std::size_t high_left = high - std::min(high, spinning_reserved_);
    if (high_left + runnable(lane::normal) <= spinning_shared_) return;
  }
  if (high_waits && idle_reserved_ > 0) {
    wake_reserved = true;
  } else if ((high_waits || normal_waits) && idle_shared_ > 0) {
    wake_shared = true;
  }
  if (normal_waits && idle_shared_ > 0) wake_shared = true;
}

void pool_impl::notify(bool wake_reserved, bool wake_shared) {
  if (wake_reserved) reserved_cv_.notify_one();
  if (wake_shared) shared_cv_.notify_one();
}

cancel_result pool_impl::cancel(const std::shared_ptr<job_state>& job) {
  lock lk(mu_);
  switch (job->phase) {
    case job_phase::finished:
      return cancel_result::already_finished;
    case job_phase::queued: {
      unqueue_locked(*job);
      // Its place under a limit may let another job run.
      bool wake_reserved = false;
      bool wake_shared = false;
      wake_for_queued_locked(wake_reserved, wake_shared);
      const job_outcome outcome = finish_locked(*job, job_status::cancelled, clock::now());
      lk.unlock();
      notify(wake_reserved, wake_shared);
      lk.lock();
      complete_here(lk, *job, outcome);
      return cancel_result::cancelled;
    }
    case job_phase::running:
      if (job->reason == stop_reason::none) job->reason = stop_reason::cancel;
      lk.unlock();
      // Stop callbacks (an exec job's kill, say) run here, outside the pool lock.
      job->stop.request_stop();
      return cancel_result::stopping;
  }
  return cancel_result::already_finished;
}

pool_stats pool_impl::stats() const {
  pool_stats s;
  const auto now = clock::now();
  lock lk(mu_);
  s.state = state_;
  s.workers_min = workers_min_;
  s.workers_max = workers_max_;
  s.reserved_high = *cfg_.reserved_high;
  s.workers = workers_;
  s.busy = busy_;
  s.idle = workers_ - busy_;
  s.lanes = lane_stats_;
  for (std::size_t i = 0; i < lane_count; ++i) {
    s.lanes[i].depth = lanes_[i].size() + limited_[i].size();
    s.lanes[i].paused = paused_[i];
    std::optional<clock::time_point> oldest;
    for (const job_list* q : {&lanes_[i], &limited_[i]}) {
      if (!q->empty() && (!oldest || q->front()->submitted < *oldest))
        oldest = q->front()->submitted;
    }
    if (oldest) s.lanes[i].oldest_wait_seconds = seconds(now - *oldest);
  }
  s.groups = limits_.stats();
  return s;
}

lane_load pool_impl::load_locked(lane l) const {
  lane_load out;
  out.serving_workers = l == lane::high ? workers_max_ : workers_max_ - *cfg_.reserved_high;
  out.depth = depth_locked(l);
  out.capacity = lane_stats_[index_of(l)].capacity;
  out.recent_run_seconds = lane_stats_[index_of(l)].recent_run_seconds;
  return out;
}

bool pool_impl::has_work_locked(worker_kind kind) const {
  if (runnable_locked(lane::high)) return true;
  return kind == worker_kind::shared && runnable_locked(lane::normal);
}

std::shared_ptr<job_state> pool_impl::pick_locked(worker_kind kind) {
  job_list& high = lanes_[index_of(lane::high)];
  job_list& normal = lanes_[index_of(lane::normal)];
  const bool high_runs = runnable_locked(lane::high);
  const bool normal_runs = runnable_locked(lane::normal);
  job_list* from = nullptr;
  if (kind == worker_kind::reserved) {
    if (high_runs) from = &high;
  } else if (normal_runs && (!high_runs || consecutive_high_ >= cfg_.high_burst)) {
    from = &normal;
    consecutive_high_ = 0;
  } else if (high_runs) {
    from = &high;
    consecutive_high_ = normal_runs ? consecutive_high_ + 1 : 0;
  }
  if (from == nullptr) return nullptr;
  // The lane's oldest runnable job: first of those without limits, or first of the ready.
  const lane l = from == &high ? lane::high : lane::normal;
  job_state* ready = limits_.front(l);
  if (ready != nullptr && (from->empty() || ready->order < from->front()->order)) {
    std::shared_ptr<job_state> job = *ready->position;
    limits_.started(*ready);
    running_.splice(running_.end(), limited_[index_of(l)], ready->position);
    return job;
  }
  std::shared_ptr<job_state> job = from->front();
  running_.splice(running_.end(), *from, from->begin());
  return job;
}

std::exception_ptr pool_impl::call_work(job_state& job) noexcept {
  job_fn work = std::move(job.work);
  try {
    work(job_context{job.stop.get_token(), job.deadline, job.priority});
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

job_status pool_impl::status_after_run(const job_state& job, clock::time_point end, bool threw) {
  if (job.reason == stop_reason::cancel || job.reason == stop_reason::shutdown) {
    return job_status::cancelled;
  }
  if (job.reason == stop_reason::deadline || end >= job.deadline) return job_status::timed_out;
  return threw ? job_status::failed : job_status::succeeded;
}

job_outcome pool_impl::finish_locked(job_state& job, job_status status, clock::time_point now) {
  const bool started = job.phase == job_phase::running;
  job.phase = job_phase::finished;
  if (job.has_deadline_entry) {
    deadlines_.erase(job.deadline_entry);
    job.has_deadline_entry = false;
  }
  lane_stats& ls = lane_stats_[index_of(job.priority)];
  ++ls.finished[static_cast<std::size_t>(status)];
  job_outcome outcome;
  outcome.status = status;
  outcome.started = started;
  if (started) {
    outcome.queue_wait = job.started - job.submitted;
    outcome.run_time = now - job.started;
    const double run = seconds(outcome.run_time);
    ls.run_time.observe(run);
    ls.recent_run_seconds =
        ls.run_time.count() == 1
            ? run
            : (1.0 - recent_weight) * ls.recent_run_seconds + recent_weight * run;
  } else {
    outcome.queue_wait = now - job.submitted;
  }
  return outcome;
}

void pool_impl::notify_drain_locked() {
  if (state_ != pool_state::running) drained_cv_.notify_all();
}

void pool_impl::run(lock& lk, std::shared_ptr<job_state> job) {
  const auto now = clock::now();
  if (now >= job->deadline) {
    // Its deadline passed in the queue and the timer has not got to it yet: it must not run.
    running_.erase(job->position);
    if (job->limited) limits_.ended(*job);
    job_outcome outcome = finish_locked(*job, job_status::timed_out, now);
    notify_drain_locked();
    lk.unlock();
    deliver(job->on_done, outcome);
    lk.lock();
    return;
  }
  job->phase = job_phase::running;
  job->started = now;
  ++busy_;
  lane_stats_[index_of(job->priority)].queue_wait.observe(seconds(now - job->submitted));
  bool wake_reserved = false;
  bool wake_shared = false;
  // Pass the baton: a notify that found no waiter must not leave queued work behind.
  wake_for_queued_locked(wake_reserved, wake_shared);
  lk.unlock();
  notify(wake_reserved, wake_shared);

  std::exception_ptr thrown = call_work(*job);
  const auto end = clock::now();

  lk.lock();
  --busy_;
  running_.erase(job->position);
  wake_reserved = wake_shared = false;
  if (job->limited) {
    // Its places under limits go to the jobs next in line: other workers may take them.
    limits_.ended(*job);
    wake_for_queued_locked(wake_reserved, wake_shared);
  }
  job_outcome outcome = finish_locked(*job, status_after_run(*job, end, thrown != nullptr), end);
  outcome.error = thrown;
  notify_drain_locked();
  lk.unlock();
  notify(wake_reserved, wake_shared);
  deliver(job->on_done, outcome);
  lk.lock();
}

void pool_impl::unqueue_locked(job_state& job) {
  if (job.limited) {
    limits_.removed(job);
    limited_[index_of(job.priority)].erase(job.position);
  } else {
    lanes_[index_of(job.priority)].erase(job.position);
  }
}

void pool_impl::worker_loop(std::size_t id, worker_kind kind) noexcept {
  name_this_thread("jobd-worker-" + std::to_string(id));
  wake_on_time();
  if (cfg_.on_worker_start) cfg_.on_worker_start(id);
  std::condition_variable& cv = kind == worker_kind::reserved ? reserved_cv_ : shared_cv_;
  lock lk(mu_);
  --starting_;
  if (kind == worker_kind::reserved) --reserved_launching_;
  std::size_t& idle = kind == worker_kind::reserved ? idle_reserved_ : idle_shared_;
  // Reserved workers are part of workers_min and never retire; a shared one leaves when the
  // pool was made smaller than the workers it has.
  const auto over_max = [&] { return kind == worker_kind::shared && workers_ > workers_max_; };
  std::size_t& spinning = kind == worker_kind::reserved ? spinning_reserved_ : spinning_shared_;
  bool watched = false;  // since its last job: it watches once, then sleeps
  for (;;) {
    if (over_max()) break;
    if (auto job = pick_locked(kind)) {
      run(lk, std::move(job));
      watched = false;
      continue;
    }
    if (state_ == pool_state::stopped) break;
    if (!watched && cfg_.spin->count() > 0 && state_ == pool_state::running) {
      watched = true;
      ++spinning;
      const std::uint64_t seen = work_events_.load(std::memory_order_acquire);
      lk.unlock();
      const auto until = clock::now() + *cfg_.spin;
      bool moved = false;
      while (!(moved = work_events_.load(std::memory_order_acquire) != seen) &&
             clock::now() < until) {
        relax_cpu();
      }
      lk.lock();
      --spinning;
      if (moved) continue;
    }
    ++idle;
    const bool woke = cv.wait_until(lk, clock::now() + cfg_.idle_timeout, [&] {
      return state_ == pool_state::stopped || has_work_locked(kind) || over_max();
    });
    --idle;
    if (!woke && kind == worker_kind::shared && workers_ > workers_min_) break;
  }
  --workers_;
  exited_.push_back(id);
  timer_cv_.notify_one();
  notify_drain_locked();
  lk.unlock();
  if (cfg_.on_worker_exit) cfg_.on_worker_exit(id);
}

void pool_impl::start_worker(lock& lk) {
  --spawn_requests_;
  const std::size_t id = next_worker_id_++;
  const worker_kind kind = reserved_to_spawn_ > 0 ? worker_kind::reserved : worker_kind::shared;
  if (kind == worker_kind::reserved) {
    --reserved_to_spawn_;
    ++reserved_launching_;
  }
  lk.unlock();
  try {
    std::thread t([this, id, kind] { worker_loop(id, kind); });
    threads_.emplace(id, std::move(t));
    lk.lock();
  } catch (const std::exception&) {
    // Out of threads: the job stays queued for the workers there are; a later submit retries.
    lk.lock();
    --workers_;
    --starting_;
    if (kind == worker_kind::reserved) {
      --reserved_launching_;
      ++reserved_to_spawn_;
    }
    notify_drain_locked();
  }
}

void pool_impl::reap(lock& lk) {
  std::vector<std::size_t> ids = std::exchange(exited_, {});
  lk.unlock();
  for (std::size_t id : ids) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    it->second.join();
    threads_.erase(it);
  }
  lk.lock();
}

void pool_impl::expire_deadlines(lock& lk) {
  const auto now = clock::now();
  std::vector<finished_job> expired;
  std::vector<std::shared_ptr<job_state>> to_stop;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    job_state& job = *deadlines_.begin()->second;
    if (job.phase == job_phase::queued) {
      auto owned = *job.position;
      unqueue_locked(job);
      job_outcome outcome = finish_locked(job, job_status::timed_out, now);
      expired.emplace_back(std::move(owned), outcome);
    } else {
      deadlines_.erase(deadlines_.begin());
      job.has_deadline_entry = false;
      if (job.reason == stop_reason::none) job.reason = stop_reason::deadline;
      to_stop.push_back(job.shared_from_this());
    }
  }
  if (expired.empty() && to_stop.empty()) return;
  notify_drain_locked();
  bool wake_reserved = false;
  bool wake_shared = false;
  wake_for_queued_locked(wake_reserved, wake_shared);
  lk.unlock();
  notify(wake_reserved, wake_shared);
  for (auto& job : to_stop) job->stop.request_stop();
  for (auto& [job, outcome] : expired) deliver(job->on_done, outcome);
  lk.lock();
}

void pool_impl::timer_loop() noexcept {
  name_this_thread("jobd-timer");
  wake_on_time();
  lock lk(mu_);
  while (!timer_stop_) {
    if (spawn_requests_ > 0) {
      start_worker(lk);
      continue;
    }
    if (!exited_.empty()) {
      reap(lk);
      continue;
    }
    expire_deadlines(lk);
    if (timer_stop_ || spawn_requests_ > 0 || !exited_.empty()) continue;
    if (!deadlines_.empty() && deadlines_.begin()->first <= clock::now()) continue;
    if (deadlines_.empty()) {
      timer_wakes_at_ = clock::time_point::max();
      timer_cv_.wait(lk);
    } else {
      // A copy: wait_until reads its argument again after waking, when the entry may be gone.
      const clock::time_point next = deadlines_.begin()->first;
      timer_wakes_at_ = next;
      timer_cv_.wait_until(lk, next);
    }
    timer_wakes_at_ = clock::time_point::min();  // awake: it looks at every deadline
  }
}

void pool_impl::drain_once(std::chrono::milliseconds grace) {
  lock lk(mu_);
  if (state_ == pool_state::running) state_ = pool_state::draining;
  // The jobs a paused lane holds were accepted: the drain gives them their time to run too.
  paused_ = {};
  // Every idle worker: a paused lane's jobs were accepted and get their time to run too, and
  // jobs handed over to be woken for later may not have been yet.
  lk.unlock();
  reserved_cv_.notify_all();
  shared_cv_.notify_all();
  lk.lock();
  drained_cv_.wait_for(lk, grace, [&] {
    return depth_locked(lane::high) == 0 && depth_locked(lane::normal) == 0 && admitted_[0] == 0 &&
           admitted_[1] == 0 && busy_ == 0 && on_callers_threads_ == 0;
  });

  // Out of time: what is queued is cancelled here, what runs is asked to stop.
  const auto now = clock::now();
  std::vector<finished_job> cancelled;
  for (std::array<job_list, lane_count>* queues : {&lanes_, &limited_}) {
    for (job_list& queue : *queues) {
      while (!queue.empty()) {
        auto job = queue.front();
        unqueue_locked(*job);
        cancelled.emplace_back(job, finish_locked(*job, job_status::cancelled, now));
      }
    }
  }
  std::vector<std::shared_ptr<job_state>> to_stop;
  for (auto& job : running_) {
    if (job->reason == stop_reason::none) job->reason = stop_reason::shutdown;
    to_stop.push_back(job);
  }
  state_ = pool_state::stopped;
  // Spawns not yet begun will never be: forget them so the count below can reach zero.
  workers_ -= spawn_requests_;
  starting_ -= spawn_requests_;
  spawn_requests_ = 0;
  lk.unlock();
  reserved_cv_.notify_all();
  shared_cv_.notify_all();
  for (auto& job : to_stop) job->stop.request_stop();
  for (auto& [job, outcome] : cancelled) deliver(job->on_done, outcome);

  lk.lock();
  drained_cv_.wait(lk, [&] { return workers_ == 0 && on_callers_threads_ == 0; });
  timer_stop_ = true;
  lk.unlock();
  timer_cv_.notify_one();
  timer_.join();
  for (auto& [id, t] : threads_) t.join();
  threads_.clear();
}

}  // namespace detail

admission& admission::operator=(admission&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr) pool_->release(lane_);
    pool_ = std::exchange(other.pool_, nullptr);
    lane_ = other.lane_;
  }
  return *this;
}

admission::~admission() {
  if (pool_ != nullptr) pool_->release(lane_);
}

pool::pool(pool_config cfg) : impl_(std::make_unique<detail::pool_impl>(std::move(cfg))) {}

pool::~pool() = default;

admit_result pool::admit(lane l) {
  return impl_->admit(l);
}

admit_result pool::readmit(lane l) {
  return impl_->readmit(l);
}

job_handle pool::submit(admission&& place, job_request req, wake_up when) {
  return impl_->submit(std::move(place), std::move(req), when);
}

void pool::wake() {
  impl_->wake();
}

job_handle pool::run_here(admission&& place, job_request req) {
  return impl_->run_here(std::move(place), std::move(req));
}

submit_result pool::try_submit(job_request req) {
  admit_result admitted = impl_->admit(req.priority);
  if (!admitted) return admitted.refused().why;
  return impl_->submit(admitted.take(), std::move(req), wake_up::now);
}

lane_load pool::load(lane l) const {
  return impl_->load(l);
}

cancel_result pool::cancel(const job_handle& h) {
  if (!h.state_) throw std::invalid_argument("pool: cancel() with an empty job_handle");
  return impl_->cancel(h.state_);
}

pool_stats pool::stats() const {
  return impl_->stats();
}

void pool::stop_accepting() {
  impl_->stop_accepting();
}

void pool::drain(std::chrono::milliseconds grace) {
  impl_->drain(grace);
}

bool pool::resize(std::size_t workers_min, std::size_t workers_max) {
  return impl_->resize(workers_min, workers_max);
}

void pool::set_group_limit(const std::string& group, std::size_t limit) {
  impl_->set_group_limit(group, limit);
}

bool pool::pause(lane l) {
  return impl_->set_paused(l, true);
}

void pool::resume(lane l) {
  impl_->set_paused(l, false);
}

}  // namespace jobd::pool
