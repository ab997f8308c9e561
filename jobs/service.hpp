#pragma once

// The job service: where a job's life is decided, away from HTTP. It takes submissions (checks
// them, admits them to a lane, stores their record, hands them to the pool), answers for jobs
// (get, list, wait), cancels them, and drains at shutdown. The pool runs jobs and knows no
// records; the store keeps records and runs nothing; this joins the two.
//
//   service jobs({...}, registry, pool, store);
//   jobs.submit({.type = "sleep", .payload_json = R"({"ms":10})"}, ex, [](submit_outcome o) {
//     if (!o.accepted()) return refuse(o.refused());
//     show(*o.job());
//   });
//
// Results come back through the handler given, on the executor given (a session's strand,
// say), as Asio's completion handlers do. One known when the call is made (a refusal; a job the
// memory store answers for) is handed over before the call returns, on the calling thread,
// which must be running on that executor; one that comes later (a job's end, a wait's limit, a
// durable store's commit) is posted to it. A handler must not block.
//
// Thread-safety: every member may be called from any thread, concurrently.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/unique_function.hpp"
#include "handlers/registry.hpp"
#include "jobs/adaptive_limits.hpp"
#include "jobs/callbacks.hpp"
#include "jobs/schedule.hpp"
#include "pool/pool.hpp"
#include "store/job_store.hpp"

namespace jobd::jobs {

using executor = boost::asio::any_io_executor;

// Told of every change of a job the store is given (its status, attempts, callback), on the
// thread that made it, sometimes under the service's lock: it must be quick, must not block,
// and must not call the service.
class job_observer {
 public:
  virtual void changed(const store::job_record& job) = 0;

 protected:
  ~job_observer() = default;
};

struct service_config {
  // For a job whose request and type name no timeout.
  std::chrono::milliseconds default_timeout{30'000};
  // The most any job may ask for.
  std::chrono::milliseconds max_timeout{3'600'000};
  // The wait before a second attempt, for a job whose request and type name none; each later
  // wait doubles it, +-25 %, up to retry_backoff_max.
  std::chrono::milliseconds retry_backoff{1'000};
  std::chrono::milliseconds retry_backoff_max{600'000};
  // Jobs submitted to run later, waiting at most (retries are never refused for it).
  std::size_t scheduled_capacity = 100'000;
  // How far ahead run_at and delay reach.
  std::chrono::milliseconds max_schedule{30LL * 86'400'000};
  // How long an Idempotency-Key answers for the job it made.
  std::chrono::seconds idempotency_ttl{86'400};
  // The prefixes a callback_url must start with; none: callbacks are off.
  std::vector<std::string> callback_allow;
  callback_config callbacks;
  // workers_max and the types' max_concurrency that are "adaptive".
  adaptive_config adaptive;
};

// An Idempotency-Key as a submission brings it: the same key with the same body is answered
// with the job the first made; with another body it is refused.
struct idempotency_request {
  std::string key;           // scoped by the caller (to the bearer token, say)
  std::uint64_t digest = 0;  // of the body
};

struct submit_request {
  std::string type;
  // The payload as JSON text; empty for a null payload. Read only during the call.
  std::string_view payload_json;
  pool::lane priority = pool::lane::normal;
  // Empty: the type's default, else the service's.
  std::optional<std::chrono::milliseconds> timeout;
  // Empty: the type's, else 1 attempt; the type's wait, else the service's.
  std::optional<std::uint32_t> max_attempts;
  std::optional<std::chrono::milliseconds> retry_backoff;
  // When to run, if not at once: a time, or a delay from now (not both).
  std::optional<std::chrono::system_clock::time_point> run_at;
  std::optional<std::chrono::milliseconds> delay;
  std::optional<idempotency_request> idempotency;
  std::optional<std::string> callback_url;
  // Jobs of a type with the same key run at most the type's max_concurrency_per_key at once.
  std::optional<std::string> concurrency_key;
};

// Why a submission was refused. A refused job was never stored, queued or run.
struct refusal {
  enum class kind : std::uint8_t {
    queue_full,     // its lane is at its bound
    shutting_down,  // the service drains
    invalid,        // a field is out of its range, or the type refused the payload
    unknown_type,
    store_unavailable,  // its record could not be stored
    schedule_full,      // it would run later, and scheduled_capacity jobs wait already
    // A retry's own (retry()):
    not_found,          // no such job
    not_finished,       // it is not terminal yet
    already_succeeded,  // it has nothing to retry
    // An Idempotency-Key's own:
    idempotency_key_reused,  // the key made a job from another body
  };
  kind why = kind::invalid;
  // invalid: the field at fault ("timeout_ms", "payload"); empty for the other kinds.
  std::string_view field;
  // For people, naming the field and what is allowed (the known types, for unknown_type).
  // Empty for queue_full, the refusal of most submissions under overload: append_message()
  // words it from the fields below, only when an answer is written.
  std::string message;
  // When a client should try again (queue_full: the lane's drain time at its recent pace;
  // shutting_down: elsewhere, soon; schedule_full: when the next scheduled job is due); zero
  // for the others.
  std::chrono::seconds retry_after{0};
  pool::lane lane = pool::lane::normal;  // queue_full: the lane that is full
  std::size_t lane_capacity = 0;         // queue_full: its bound

  // The message, for every kind: plain ASCII for queue_full.
  void append_message(std::string& out) const;
};

class submit_outcome {
 public:
  submit_outcome(store::job_record job) : job_(std::move(job)) {}  // NOLINT: implicit by design
  submit_outcome(refusal why) : refused_(std::move(why)) {}        // NOLINT: implicit by design

  [[nodiscard]] bool accepted() const noexcept { return job_.has_value(); }
  // The accepted job as it stood when the answer was made: queued, or later. Only when
  // accepted().
  [[nodiscard]] const store::job_record& job() const noexcept { return *job_; }
  // Meaningful only when !accepted().
  [[nodiscard]] const refusal& refused() const noexcept { return refused_; }
  // Whether the job was made by an earlier submission with the same Idempotency-Key.
  [[nodiscard]] bool replayed() const noexcept { return replayed_; }
  void mark_replayed() noexcept { replayed_ = true; }

 private:
  std::optional<store::job_record> job_;
  refusal refused_;
  bool replayed_ = false;
};

// A job looked up: the job, or none (never made, or forgotten), or why the store could not say.
struct lookup {
  std::optional<store::job_record> job;
  std::optional<store::store_error> error;
};

struct cancel_outcome {
  enum class kind : std::uint8_t {
    not_found,
    already_finished,  // it was terminal before the cancel; `job` shows how it ended
    cancelled,         // it was queued: it is cancelled now
    stopping,          // it was running: it is asked to stop, and ends soon
  };
  kind what = kind::not_found;
  std::optional<store::job_record> job;  // as it stands after the cancel; none for not_found
  std::optional<store::store_error> error;
};

// What the service took up again at start, from a durable store.
struct recovery_report {
  std::size_t queued_again = 0;  // back in their lanes, in their order
  std::size_t timed_out = 0;     // their deadline passed while jobd was down: never started
  std::size_t interrupted = 0;   // running when jobd stopped, no attempt left: ended failed
  std::size_t retried = 0;       // running when jobd stopped: due again as their next attempt
  std::size_t scheduled = 0;     // waiting for their time: due as before (at once if past)
  std::size_t unknown_type = 0;  // of a type no longer configured: ended failed
  std::chrono::steady_clock::duration took{};
};

struct job_type_info {
  std::string name;
  std::string kind;
  std::chrono::milliseconds default_timeout;  // the type's own, else the service's
  std::size_t max_concurrency = 0;            // 0: no limit
  std::size_t max_concurrency_per_key = 1;
  bool adaptive_concurrency = false;  // max_concurrency "adaptive"
};

class service {
 public:
  using submit_handler = unique_function<void(submit_outcome)>;
  using lookup_handler = unique_function<void(lookup)>;
  using list_handler =
      unique_function<void(std::vector<store::job_record>, std::optional<store::store_error>)>;
  using cancel_handler = unique_function<void(cancel_outcome)>;

  // Takes up the jobs the store holds unfinished (see recovery()). `types` and `pool` must
  // outlive the service, and the pool must be drained (drain()) before it is destroyed, so
  // that no job ends into a service that is gone. The store must be destroyed first: its last
  // commits tell the service's jobs they are stored.
  service(service_config config, const handlers::registry& types, pool::pool& pool,
          store::job_store& store, callback_transport* transport = nullptr);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  void submit(submit_request request, const executor& ex, submit_handler done);
  void get(std::string_view id, const executor& ex, lookup_handler done);
  void list(const store::list_query& query, const executor& ex, list_handler done);
  void cancel(std::string_view id, const executor& ex, cancel_handler done);
  // Runs a terminal job that did not succeed again, now, as its next attempt (max_attempts
  // grows by one if it must): accepted as a submission is, with the job queued; or refused
  // (not_found, not_finished, already_succeeded, or as a submission is: lane full, ...).
  void retry(std::string_view id, const executor& ex, submit_handler done);
  // Completes once the job is terminal and that is stored, or after `limit` if one is given,
  // with the job as it stands then (none when there is no such job). Without a limit, the job's
  // deadline bounds the wait: a job is terminal soon after it. An end the store cannot take
  // yet (it is down) completes the wait early, with the job as the store has it.
  void wait(std::string_view id, std::optional<std::chrono::milliseconds> limit, const executor& ex,
            lookup_handler done);

  // Sorted by name.
  [[nodiscard]] std::vector<job_type_info> job_types() const;
  // The pool's, with every type under a max_concurrency (fixed or adaptive) in `groups`, by
  // name.
  [[nodiscard]] pool::pool_stats pool_stats() const;
  // Pool control at run time: see pool::resize (throws std::invalid_argument), pause, resume.
  // False once the service drains. Not for an adaptive workers_max: the caller refuses that.
  bool resize_pool(std::size_t workers_min, std::size_t workers_max) {
    return pool_.resize(workers_min, workers_max);
  }
  [[nodiscard]] bool workers_adaptive() const noexcept { return adaptive_.workers_adaptive(); }
  bool pause_lane(pool::lane l) { return pool_.pause(l); }
  void resume_lane(pool::lane l) { pool_.resume(l); }
  // Run times of the jobs that started, by type: only types that have run appear.
  [[nodiscard]] std::map<std::string, histogram, std::less<>> run_seconds() const;
  // Attempts that ended in a way that is tried again, by type: only types with some appear.
  [[nodiscard]] std::map<std::string, std::uint64_t, std::less<>> retried() const;
  [[nodiscard]] callback_counts callback_totals() const {
    return callbacks_ ? callbacks_->counts() : callback_counts{};
  }

  [[nodiscard]] const recovery_report& recovery() const noexcept { return recovery_; }
  [[nodiscard]] store::store_health store_health() const { return store_.health(); }
  [[nodiscard]] store::store_stats store_stats() const { return store_.stats(); }

  // From now on `observer` (nullptr: none) is told of every change of a job; it must outlive
  // the service, or be replaced with nullptr first.
  void observe(job_observer* observer) noexcept {
    observer_.store(observer, std::memory_order_release);
  }

  // From now on submissions are refused with shutting_down; jobs taken go on. Never blocks.
  void stop_accepting() { pool_.stop_accepting(); }
  // Lets the jobs taken finish within `grace`, then cancels the rest. Every job taken is
  // terminal and every waiter answered when this returns; a job scheduled for later stays so
  // (a durable store keeps it for the next start). Blocks: not for an I/O thread.
  void drain(std::chrono::milliseconds grace);

 private:
  struct live_job;
  struct pending_wait;

  [[nodiscard]] std::optional<std::uint64_t> seq_of(std::string_view id) const;
  // Tells the observer, if there is one, of the job's new version.
  void notify(const store::job_record& job) const {
    if (job_observer* o = observer_.load(std::memory_order_acquire)) o->changed(job);
  }
  // The job under way with that number, and its record as the store will have it once its
  // writes so far are stored (an end not yet stored is not shown); none when it is not under
  // way (over, or never made).
  std::pair<std::shared_ptr<live_job>, std::optional<store::job_record>> find_live(
      std::uint64_t seq) const;
  std::chrono::milliseconds timeout_of(const handlers::job_type& type,
                                       const submit_request& request) const;
  refusal lane_refusal(pool::lane lane, const pool::refusal& refused) const;
  refusal schedule_refusal(std::chrono::system_clock::time_point now) const;
  // Why a callback_url is refused, if it is.
  std::optional<refusal> callback_refusal(const std::string& url) const;
  // For a submission with an Idempotency-Key: true when the key is new, and then `done` is
  // wrapped to settle the key with the outcome; false when the submission is answered (a
  // replay, a refusal) or waits for the first with its key to be settled.
  bool claim_key(const idempotency_request& key, const executor& ex, submit_handler& done,
                 std::shared_ptr<const store::idempotency_key>& claimed);
  // The first submission with the key is answered: replays waiting for it are too.
  void settle_key(const std::string& key, const submit_outcome& outcome);
  // Answers a submission with the job `seq` an earlier one with its key made.
  void replay(std::uint64_t seq, const executor& ex, submit_handler done);
  // Forgets the keys past their time. Under mu_.
  void purge_keys_locked(std::chrono::system_clock::time_point now);
  // retry() once the job's record is read: none when the job is taken (`done` is then its),
  // else why not.
  std::optional<refusal> retry_ended(std::optional<store::job_record> rec, const executor& ex,
                                     submit_handler& done);
  // Takes up the jobs a process before this one left unfinished.
  void take_up(std::vector<store::job_record> unfinished);
  // A job of `type` under way, owned by this service, its record still to fill; not yet in the
  // index.
  std::shared_ptr<live_job> make_live(const handlers::job_type* type);
  // When a submission asks to run later: its time; none for now. Or why it is refused.
  std::optional<std::chrono::system_clock::time_point> due_of(
      const submit_request& request, std::chrono::system_clock::time_point now,
      std::optional<refusal>& refused) const;
  // Called by the schedule with a job that is due: true once it is in its lane (or gone).
  bool enter_lane(std::uint64_t seq);
  // Makes an ended attempt a retry when the job and its type allow one: the record becomes
  // scheduled for the next attempt. Under mu_; returns the time it is due.
  std::optional<std::chrono::system_clock::time_point> retry_locked(live_job& job);
  // Hands a job whose record is stored to the pool; `here` when on the submitter's thread,
  // within its call, where a cheap job may run at once.
  store::job_record start(const std::shared_ptr<live_job>& job, pool::admission place, bool here,
                          std::chrono::milliseconds timeout);
  // Records that the job runs. Returns once that record is stored (true), or once `stop` is
  // requested first (false): a job the store shows as queued has never started. A type without
  // side effects starts at once (true): run again after a crash, it changes nothing.
  bool mark_running(live_job& job, const std::stop_token& stop);
  void record_running(live_job& job);
  // A pipeline's stages moved on: shown at once, stored with the job's next change.
  void stages_changed(live_job& job, std::shared_ptr<const nlohmann::json> stages);
  void finish(live_job& ended, const pool::job_outcome& outcome);
  // Its terminal record is stored: the job leaves the index and its waiters are answered, so
  // that no one is told of an end a crash could still undo.
  void end_stored(live_job& job);
  // Its end could not be stored yet (it will be, once the store is back): its waiters are
  // answered with the job as the store has it, as if their limit had passed, rather than
  // held for as long as the store is down.
  void end_late(live_job& job);
  // The job's record as readers are shown it (see find_live), whether or not it is still in
  // the index. Under mu_.
  [[nodiscard]] store::job_record shown_locked(const live_job& job) const;

  const service_config config_;
  const handlers::registry& types_;
  pool::pool& pool_;
  adaptive_limits adaptive_;
  store::job_store& store_;
  const std::uint64_t id_salt_;

  std::atomic<std::uint64_t> next_seq_;
  recovery_report recovery_;

  mutable std::mutex mu_;
  // Jobs not yet terminal, or whose terminal record is not yet stored, by sequence number:
  // their pool handle, their waiters. Guarded by mu_.
  std::unordered_map<std::uint64_t, std::shared_ptr<live_job>> live_;
  // By type; the types are the registry's, so their addresses name them. Guarded by mu_.
  std::map<const handlers::job_type*, histogram> run_seconds_;
  std::map<const handlers::job_type*, std::uint64_t> retried_;
  std::minstd_rand jitter_;  // guarded by mu_
  // Jobs whose record says scheduled: counted as they become so and as they stop being so,
  // under mu_; read without it to refuse a submission when scheduled_capacity are waiting.
  std::atomic<std::size_t> scheduled_count_{0};
  std::atomic<job_observer*> observer_{nullptr};
  // A pool.wake() is posted for jobs handed over with wake_up::later and has not run yet.
  std::atomic<bool> wake_posted_{false};
  // Idempotency-Keys alive, and the order they expire in (their time is the same for all, so
  // it is the order they came in). Guarded by mu_.
  struct key_entry {
    std::uint64_t digest = 0;
    std::chrono::system_clock::time_point expires_at;
    std::uint64_t seq = 0;  // the job it made; 0 while its first submission is under way
    // Submissions with the key that came while its first was under way.
    std::vector<std::pair<executor, submit_handler>> waiting;
  };
  std::unordered_map<std::string, key_entry> keys_;
  std::deque<std::pair<std::chrono::system_clock::time_point, std::string>> key_expiry_;
  // Posts completion callbacks, when there is a transport. Its thread writes to the store.
  std::optional<callbacks> callbacks_;
  // Last: its thread calls enter_lane, which uses the members above.
  schedule schedule_;
};

}  // namespace jobd::jobs
