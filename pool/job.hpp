#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace jobd::pool {

using clock = std::chrono::steady_clock;

// The two lanes. Each is its own bounded queue; workers look at `high` first.
enum class lane : std::uint8_t { high, normal };
inline constexpr std::size_t lane_count = 2;

// The terminal statuses. Every accepted job ends in exactly one of them, exactly once.
enum class job_status : std::uint8_t { succeeded, failed, timed_out, cancelled };
inline constexpr std::size_t job_status_count = 4;

// Why a submission was refused. A refused job was never queued and never runs.
enum class submit_error : std::uint8_t { queue_full, shutting_down };

// When submit() wakes a worker for the job: at once, or at the caller's wake() (so that the
// jobs a thread hands over in one pass cost one wake-up).
enum class wake_up : std::uint8_t { now, later };

// What cancel() did. `cancelled`: the job was queued, is removed and already terminal (its
// completion ran before cancel() returned). `stopping`: it is running and has been asked to stop;
// its completion follows. `already_finished`: nothing changed.
enum class cancel_result : std::uint8_t { cancelled, stopping, already_finished };

[[nodiscard]] std::string_view to_string(lane l) noexcept;
[[nodiscard]] std::string_view to_string(job_status s) noexcept;
[[nodiscard]] std::string_view to_string(submit_error e) noexcept;

// What a running job sees. `stop` is signalled when the deadline passes, on cancel, and when a
// drain gives up waiting; a job should return soon after (long waits should wait on it).
struct job_context {
  std::stop_token stop;
  clock::time_point deadline;
  lane priority = lane::normal;
};

// Delivered once per accepted job, when it is terminal.
struct job_outcome {
  job_status status = job_status::succeeded;
  // What the job threw, if it threw: the cause when failed; for a job stopped by its deadline or a
  // cancel, what it threw while stopping (it may say how it stopped). Null otherwise.
  std::exception_ptr error;
  // Whether the job's function was called at all (false when it ended while queued).
  bool started = false;
  // Time from submission to start (to the end, when it never started).
  clock::duration queue_wait{};
  // Time from start to the end; zero when it never started.
  clock::duration run_time{};
};

// The job's body. It runs on a worker thread; throwing makes the job `failed`, unless the job had
// already been stopped for its deadline or a cancel, in which case that reason decides.
using job_fn = std::function<void(const job_context&)>;

// Runs exactly once per accepted job, outside every pool lock, on whichever thread ended the job:
// a worker, the pool's timer thread (deadline while queued), or the caller of cancel() or drain().
// It must be cheap, must not block, and must not throw (the pool terminates if it does).
using completion_fn = std::function<void(const job_outcome&)>;

// The concurrency limits a job runs under. At most `group_limit` jobs of its `group` (a job
// type, say) run at once (0: no such limit); of them, at most `key_limit` with the same `key`
// (empty: no key). A job over a limit waits in its lane without holding up the jobs behind it
// that are not; jobs of one key start in their order, and so do those of one group.
struct job_limits {
  std::string group;
  std::size_t group_limit = 0;
  std::string key;
  std::size_t key_limit = 1;

  [[nodiscard]] bool any() const noexcept { return group_limit > 0 || !key.empty(); }
};

struct job_request {
  lane priority = lane::normal;
  // Counted from submission: it covers the time queued and the time running. Must be > 0.
  clock::duration timeout = std::chrono::seconds(30);
  job_fn work;
  completion_fn on_done;
  job_limits limits;
};

class pool;
namespace detail {
struct job_state;
class pool_impl;
}  // namespace detail

// A place held in a lane for a job not yet handed over: it counts against the lane's bound, so
// that a job can be admitted, then prepared (its record stored, say), then submitted without
// being refused at that point. Given back when dropped unused. Move-only; must not outlive its
// pool.
class admission {
 public:
  admission() = default;
  admission(admission&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), lane_(other.lane_) {}
  admission& operator=(admission&& other) noexcept;
  admission(const admission&) = delete;
  admission& operator=(const admission&) = delete;
  ~admission();

  [[nodiscard]] bool valid() const noexcept { return pool_ != nullptr; }
  [[nodiscard]] lane priority() const noexcept { return lane_; }

 private:
  friend class detail::pool_impl;
  admission(detail::pool_impl* pool, lane l) noexcept : pool_(pool), lane_(l) {}
  detail::pool_impl* pool_ = nullptr;
  lane lane_ = lane::normal;
};

// Refers to an accepted job, for cancel(). Cheap to copy; keeps no thread or queue slot alive.
class job_handle {
 public:
  job_handle() = default;
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

 private:
  friend class pool;
  friend class detail::pool_impl;
  explicit job_handle(std::shared_ptr<detail::job_state> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::job_state> state_;
};

// The result of try_submit: either an accepted job's handle or the reason for refusal.
class [[nodiscard]] submit_result {
 public:
  submit_result(job_handle h) : handle_(std::move(h)) {}  // NOLINT: implicit by design
  submit_result(submit_error e) : error_(e) {}            // NOLINT: implicit by design

  [[nodiscard]] bool accepted() const noexcept { return handle_.valid(); }
  explicit operator bool() const noexcept { return accepted(); }
  // Meaningful only when !accepted().
  [[nodiscard]] submit_error error() const noexcept { return error_; }
  [[nodiscard]] const job_handle& handle() const noexcept { return handle_; }

 private:
  job_handle handle_;
  submit_error error_ = submit_error::queue_full;
};

}  // namespace jobd::pool
