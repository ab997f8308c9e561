#include "jobs/service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <cmath>
#include <future>
#include <stdexcept>
#include <thread>

#include "common/json_reader.hpp"
#include "common/json_writer.hpp"
#include "common/opaque_id.hpp"
#include "common/rfc3339.hpp"
#include "handlers/job_error.hpp"
#include "jobs/callback_url.hpp"
#include "jobs/job_log.hpp"

namespace jobd::jobs {
namespace {

namespace net = boost::asio;
using json = nlohmann::json;
using system_clock = std::chrono::system_clock;

store::job_priority priority_of(pool::lane l) {
  return l == pool::lane::high ? store::job_priority::high : store::job_priority::normal;
}

pool::lane lane_of(store::job_priority p) {
  return p == store::job_priority::high ? pool::lane::high : pool::lane::normal;
}

store::job_failure failure_of(const std::exception_ptr& error) {
  if (!error) return {"job_failed", "the job failed", nullptr};
  try {
    std::rethrow_exception(error);
  } catch (const handlers::job_error& e) {
    auto details = e.details().is_object() ? std::make_shared<const json>(e.details()) : nullptr;
    return {e.code(), e.what(), std::move(details)};
  } catch (const std::exception& e) {
    return {"job_failed", e.what(), nullptr};
  } catch (...) {
    return {"job_failed", "the job threw a non-standard exception", nullptr};
  }
}

// What a job said while it was being stopped (an exec job: how its group ended, and its
// stderr), kept in its timed_out or cancelled error: why a job hung is often on its stderr.
store::job_failure stopped(std::string code, std::string why, const std::exception_ptr& error) {
  if (!error) return {std::move(code), std::move(why), nullptr};
  store::job_failure said = failure_of(error);
  return {std::move(code), std::move(why) + ": " + said.message, std::move(said.details)};
}

std::optional<store::store_error> error_of(const store::store_error* e) {
  return e != nullptr ? std::optional(*e) : std::nullopt;
}

// A job in the index whose end is not stored yet, as the store has it: what is read must not
// be undone by a crash before the store catches up.
store::job_record as_stored(const store::job_record& rec) {
  store::job_record shown = rec;
  if (!store::is_terminal(rec.status)) return shown;
  shown.status = rec.started_at ? store::job_status::running : store::job_status::queued;
  shown.finished_at.reset();
  shown.run_time.reset();
  shown.result.reset();
  shown.error.reset();
  return shown;
}

// Makes an attempt that ended (`rec` as it ended) history, and the job scheduled for its next
// attempt at `due`.
void schedule_next_attempt(store::job_record& rec, system_clock::time_point due) {
  if (rec.earlier_attempts.size() + 1 >= store::attempts_kept) {
    rec.earlier_attempts.erase(rec.earlier_attempts.begin());
  }
  rec.earlier_attempts.push_back({.number = rec.attempt,
                                  .status = rec.status,
                                  .started_at = rec.started_at,
                                  .finished_at = rec.finished_at.value_or(due),
                                  .error = std::move(rec.error)});
  ++rec.attempt;
  rec.status = store::job_status::scheduled;
  rec.next_attempt_at = due;
  rec.started_at.reset();
  rec.finished_at.reset();
  rec.run_time.reset();
  rec.result.reset();
  rec.error.reset();
  rec.queue_time = {};
}

// A submission (or a retry, or a replay) refused because the store cannot take it: `why` is
// the store's own words.
refusal store_down(std::string_view why) {
  return refusal{.why = refusal::kind::store_unavailable,
                 .message = "the job store is unavailable: " + std::string(why),
                 .retry_after = std::chrono::seconds(1)};
}

// A retry of a job that has not ended.
refusal not_ended(std::string_view id, store::job_status status) {
  return refusal{.why = refusal::kind::not_finished,
                 .message = "job " + std::string(id) + " is " +
                            std::string(store::to_string(status)) +
                            ": only a job that has ended can be retried"};
}

// Answers each waiter with `shown` on its executor, unless its limit answered it first.
template <class Waiters>
void answer_all(Waiters& waiters, store::job_record shown) {
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    auto& w = waiters[i];
    // Each waiter its copy; the last takes the one made under the lock.
    store::job_record copy = i + 1 < waiters.size() ? shown : std::move(shown);
    net::post(w->ex, [w, job = std::move(copy)]() mutable {
      if (w->answered) return;
      w->answered = true;
      if (w->timer) w->timer->cancel();  // what it holds is freed now, not at its limit
      w->done(lookup{std::move(job), std::nullopt});
    });
  }
}

// Where a result the service waited on goes: straight to its handler when it arrives within
// the call that asked for it, on that call's thread (a store that answers at once); otherwise
// posted to the caller's executor. `returned` is set by the asking call as it returns, and
// read and written only on its thread; its owner keeps it for as long as the handoff lives.
class handoff {
 public:
  handoff(const executor& ex, const bool* returned)
      : ex_(ex), caller_(std::this_thread::get_id()), returned_(returned) {}

  [[nodiscard]] bool within_call() const {
    return std::this_thread::get_id() == caller_ && !*returned_;
  }
  [[nodiscard]] const executor& where() const noexcept { return ex_; }

  template <class Handler, class... Values>
  void deliver(Handler done, Values... values) const {
    if (within_call()) return done(std::move(values)...);
    net::post(ex_, [done = std::move(done), ... values = std::move(values)]() mutable {
      done(std::move(values)...);
    });
  }

 private:
  executor ex_;
  std::thread::id caller_;
  const bool* returned_;
};

// A store read's way back: the handoff, and the flag it reads, which the callback keeps.
struct read_site {
  explicit read_site(const executor& ex)
      : returned(std::make_shared<bool>(false)), site(ex, returned.get()) {}
  std::shared_ptr<bool> returned;
  handoff site;
};

}  // namespace

// A request waiting for a job's end, or for its limit, whichever comes first. Both are handled
// on `ex`, which owns the timer.
struct service::pending_wait {
  pending_wait(const executor& e, lookup_handler d) : ex(e), done(std::move(d)) {}
  executor ex;
  lookup_handler done;
  std::optional<net::steady_timer> timer;  // when the wait has a limit
  bool answered = false;                   // only touched on `ex`
};

// A job under way: what its record does not hold. Its first write (the queued record) tells it
// when that is stored, and only then is it handed to the pool; its later writes tell the parts
// below, through pointers that own the job.
struct service::live_job final : store::write_listener {
  service* owner = nullptr;
  std::weak_ptr<live_job> self;
  const handlers::job_type* type = nullptr;
  pool::clock::time_point created_steady;
  // Set by the job's work as it starts, read by its completion (as `result` is).
  adaptive_limits::start adaptive_at;
  // Set by the job's work and read by its completion, which the pool runs after the work, on
  // the same thread.
  std::shared_ptr<const json> result;
  // Until the first write is stored: the lane's place, and who waits for the answer.
  pool::admission place;
  bool submit_returned = false;  // see handoff
  std::optional<handoff> submitter;
  submit_handler on_accepted;

  // ---- guarded by the service's mutex (but for the first write, made before anyone else
  // can see the job)
  store::job_record record;
  pool::job_handle handle;
  bool cancel_requested = false;
  boost::container::small_vector<std::shared_ptr<pending_wait>, 1> waiters;

  void written(const store::store_error* error) override;

  // The running record: its work starts once it is stored.
  struct running_write final : store::write_listener {
    // 0 until told; 1 once stored; 2 when the job was stopped before.
    std::atomic<std::uint8_t> state{0};
    void written(const store::store_error* error) override {
      if (error != nullptr) return;  // kept and tried again: the work waits on
      state.store(1, std::memory_order_release);
      state.notify_all();
    }
  } running;
  // The terminal record: the job leaves the service's index once it is stored, so that until
  // then a lookup is answered from here, never with an older record from the store.
  struct terminal_write final : store::write_listener {
    live_job* job = nullptr;
    void written(const store::store_error* error) override {
      if (error != nullptr) return job->owner->end_late(*job);
      job->owner->end_stored(*job);
    }
  } ended;
  // A pipeline's stages as they go: shown, and stored with the job's next write.
  struct stage_report final : handlers::stage_sink {
    live_job* job = nullptr;
    void stages_changed(json shown) override {
      job->owner->stages_changed(*job, std::make_shared<const json>(std::move(shown)));
    }
  } stages;
};

service::service(service_config config, const handlers::registry& types, pool::pool& pool,
                 store::job_store& store, callback_transport* transport)
    : config_(config),
      types_(types),
      pool_(pool),
      adaptive_(config.adaptive, types, pool),
      store_(store),
      id_salt_(store.id_salt()),
      jitter_(std::random_device{}()),
      schedule_([this](std::uint64_t seq) { return enter_lane(seq); }) {
  const auto began = std::chrono::steady_clock::now();
  store::recovered_jobs recovered = store_.recover();
  // The sequence numbers go on from the store's last.
  next_seq_.store(recovered.last_seq + 1);
  // In the order they expire: the store gives them so. A key given again after it expired
  // comes twice, and the later one counts.
  for (auto& [seq, k] : recovered.keys) {
    key_expiry_.emplace_back(k.expires_at, k.key);
    keys_.insert_or_assign(std::move(k.key),
                           key_entry{.digest = k.digest, .expires_at = k.expires_at, .seq = seq});
  }
  if (transport != nullptr) {
    callbacks_.emplace(config_.callbacks, *transport, [this](const store::job_record& changed) {
      store_.write({&changed, 1}, nullptr, store::on_failure::retry);
      notify(changed);
    });
    for (store::job_record& job : recovered.callbacks_pending) callbacks_->deliver(std::move(job));
  }
  take_up(std::move(recovered.unfinished));
  recovery_.took = std::chrono::steady_clock::now() - began;
}

void service::take_up(std::vector<store::job_record> unfinished) {
  const auto now = system_clock::now();
  const auto now_steady = pool::clock::now();
  // Ended, or due again: stored before anyone is answered.
  std::vector<store::job_record> changed;
  const auto end_as = [&](store::job_record& rec, store::job_status status, std::string code,
                          std::string message) {
    ++rec.version;
    rec.status = status;
    rec.finished_at = now;
    if (!rec.started_at) rec.queue_time = std::max(now - rec.created_at, system_clock::duration{});
    rec.error = store::job_failure{std::move(code), std::move(message), nullptr};
    changed.push_back(std::move(rec));
  };
  const auto index = [&](store::job_record rec, const handlers::job_type* type) {
    auto job = make_live(type);
    job->record = std::move(rec);
    std::lock_guard lk(mu_);
    live_.emplace(job->record.seq, job);
    return job;
  };
  std::vector<std::pair<std::uint64_t, system_clock::time_point>> due;
  for (store::job_record& rec : unfinished) {
    const handlers::job_type* type = types_.find(rec.type);
    if (type == nullptr) {
      ++recovery_.unknown_type;
      end_as(rec, store::job_status::failed, "unknown_type",
             "the job's type \"" + rec.type + "\" is no longer configured; it never ran");
      continue;
    }
    if (rec.status == store::job_status::running) {
      store::job_failure why{"interrupted",
                             "jobd stopped while the job was running; it may have run in part",
                             nullptr};
      if (rec.attempt < rec.max_attempts) {
        // Its next attempt, at once: the one interrupted is in its history.
        ++recovery_.retried;
        ++rec.version;
        rec.status = store::job_status::failed;
        rec.finished_at = now;
        rec.error = std::move(why);
        schedule_next_attempt(rec, now);
        changed.push_back(rec);
        due.emplace_back(rec.seq, now);
        scheduled_count_.fetch_add(1);
        (void)index(std::move(rec), type);
        continue;
      }
      ++recovery_.interrupted;
      end_as(rec, store::job_status::failed, std::move(why.code), std::move(why.message));
      continue;
    }
    if (rec.status == store::job_status::scheduled) {
      ++recovery_.scheduled;
      due.emplace_back(rec.seq, rec.next_attempt_at.value_or(rec.run_at.value_or(now)));
      scheduled_count_.fetch_add(1);
      (void)index(std::move(rec), type);
      continue;
    }
    // Its deadline still counts from when its attempt was due: its submission, for most.
    const auto waited =
        std::max(now - rec.next_attempt_at.value_or(rec.created_at), system_clock::duration{});
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(rec.timeout - waited);
    if (left.count() <= 0) {
      ++recovery_.timed_out;
      end_as(rec, store::job_status::timed_out, "timed_out",
             "the job's deadline of " + std::to_string(rec.timeout.count()) +
                 " ms passed while jobd was down; it never started");
      continue;
    }
    pool::admit_result admitted = pool_.readmit(lane_of(rec.priority));
    if (!admitted) throw std::logic_error("the pool refused a job taken up at start");
    auto job = index(std::move(rec), type);
    job->created_steady = now_steady - std::chrono::duration_cast<pool::clock::duration>(waited);
    ++recovery_.queued_again;
    (void)start(job, admitted.take(), false, left);
  }
  if (!changed.empty()) {
    // Stored before the service answers anyone: a reader of the store must not find them as
    // they were before the restart.
    struct stored_signal final : store::write_listener {
      std::promise<void> done;
      void written(const store::store_error* error) override {
        if (error == nullptr) done.set_value();  // else kept and tried again
      }
    };
    auto signal = std::make_shared<stored_signal>();
    std::future<void> stored = signal->done.get_future();
    store_.write(changed, std::move(signal), store::on_failure::retry);
    stored.wait();
  }
  // After the queued ones, which were in their lanes first.
  for (const auto& [seq, at] : due) schedule_.add(seq, at);
}

std::shared_ptr<service::live_job> service::make_live(const handlers::job_type* type) {
  auto job = std::make_shared<live_job>();
  job->owner = this;
  job->self = job;
  job->type = type;
  job->ended.job = job.get();
  job->stages.job = job.get();
  return job;
}

void service::end_stored(live_job& job) {
  std::shared_ptr<live_job> last;  // let go of out of the lock
  boost::container::small_vector<std::shared_ptr<pending_wait>, 1> waiters;
  std::optional<store::job_record> shown;
  {
    std::lock_guard lk(mu_);
    waiters.swap(job.waiters);
    if (!waiters.empty()) shown = job.record;
    if (auto node = live_.extract(job.record.seq)) last = std::move(node.mapped());
  }
  // Its end is stored: the callback tells of nothing a crash could undo. Terminal, the record
  // changes no more.
  if (callbacks_ && job.record.callback &&
      job.record.callback->status == store::callback_status::pending) {
    callbacks_->deliver(job.record);
  }
  if (shown) answer_all(waiters, std::move(*shown));
}

void service::end_late(live_job& job) {
  boost::container::small_vector<std::shared_ptr<pending_wait>, 1> waiters;
  std::optional<store::job_record> shown;
  {
    std::lock_guard lk(mu_);
    waiters.swap(job.waiters);
    if (!waiters.empty()) shown = as_stored(job.record);  // in the index: its end is not stored
  }
  if (shown) answer_all(waiters, std::move(*shown));
}

store::job_record service::shown_locked(const live_job& job) const {
  return live_.contains(job.record.seq) ? as_stored(job.record) : job.record;
}

service::~service() = default;

std::optional<std::uint64_t> service::seq_of(std::string_view id) const {
  return seq_of_opaque_id(id, id_salt_);
}

std::pair<std::shared_ptr<service::live_job>, std::optional<store::job_record>> service::find_live(
    std::uint64_t seq) const {
  std::lock_guard lk(mu_);
  const auto it = live_.find(seq);
  if (it == live_.end()) return {};
  return {it->second, as_stored(it->second->record)};
}

std::chrono::milliseconds service::timeout_of(const handlers::job_type& type,
                                              const submit_request& request) const {
  if (request.timeout) return *request.timeout;
  return type.default_timeout.count() > 0 ? type.default_timeout : config_.default_timeout;
}

refusal service::lane_refusal(pool::lane lane, const pool::refusal& refused) const {
  if (refused.why == pool::submit_error::shutting_down) {
    return {.why = refusal::kind::shutting_down,
            .message = "the server is draining for shutdown; retry elsewhere",
            .retry_after = std::chrono::seconds(5)};
  }
  // The time the lane needs to drain at its recent pace: depth x recent mean run time / workers
  // serving the lane, clamped to [1, 60] s.
  const pool::lane_load& load = refused.load;
  const double seconds = static_cast<double>(load.depth) * load.recent_run_seconds /
                         static_cast<double>(std::max<std::size_t>(load.serving_workers, 1));
  const long retry = std::clamp(static_cast<long>(std::ceil(seconds)), 1L, 60L);
  return {.why = refusal::kind::queue_full,
          .retry_after = std::chrono::seconds(retry),
          .lane = lane,
          .lane_capacity = load.capacity};
}

void refusal::append_message(std::string& out) const {
  using namespace std::string_view_literals;
  if (why != kind::queue_full) {
    out += message;
    return;
  }
  out += "the "sv;
  out += pool::to_string(lane);
  out += " lane is full ("sv;
  append_decimal(out, std::uint64_t{lane_capacity});
  out += lane_capacity == 1 ? " job); retry after "sv : " jobs); retry after "sv;
  append_decimal(out, static_cast<std::uint64_t>(retry_after.count()));
  out += " s"sv;
}

void service::submit(submit_request request, const executor& ex, submit_handler done) {
  // First: a replay is answered whatever the lanes' load, and takes no place.
  std::shared_ptr<const store::idempotency_key> key;
  if (request.idempotency && !claim_key(*request.idempotency, ex, done, key)) return;
  const handlers::job_type* type = types_.find(request.type);
  if (type == nullptr) {
    return done(refusal{
        .why = refusal::kind::unknown_type,
        .message = "unknown job type \"" + request.type + "\"; known types: " + types_.names()});
  }
  const std::chrono::milliseconds timeout = timeout_of(*type, request);
  if (timeout.count() < 1 || timeout > config_.max_timeout) {
    return done(refusal{.why = refusal::kind::invalid,
                        .field = "timeout_ms",
                        .message = "timeout_ms must be an integer 1.." +
                                   std::to_string(config_.max_timeout.count())});
  }
  // The clock is read here only for a job that asks to run later: most do not, and under
  // overload most are refused below.
  std::optional<system_clock::time_point> due;
  std::optional<system_clock::time_point> asked_at;  // then, the submission's time too
  if (request.run_at || request.delay) {
    std::optional<refusal> refused;
    asked_at = system_clock::now();
    due = due_of(request, *asked_at, refused);
    if (refused) return done(std::move(*refused));
  }
  if (request.callback_url) {
    if (auto why = callback_refusal(*request.callback_url)) return done(std::move(*why));
  }
  if (!store_.available()) {
    return done(store_down(store_.health().reason));
  }
  // A job to run later waits outside the lanes, bounded by scheduled_capacity; one to run now
  // takes its lane's place. Under overload most submissions are refused: refuse those before
  // the payload is built and checked by its type, the dearest part of a submission.
  pool::admission place;
  // Gives the scheduled place back unless the job is made.
  struct scheduled_place {
    std::atomic<std::size_t>* count = nullptr;
    ~scheduled_place() {
      if (count != nullptr) count->fetch_sub(1);
    }
  } held;
  if (due) {
    if (scheduled_count_.fetch_add(1) >= config_.scheduled_capacity) {
      scheduled_count_.fetch_sub(1);
      return done(schedule_refusal(system_clock::now()));
    }
    held.count = &scheduled_count_;
  } else {
    pool::admit_result admitted = pool_.admit(request.priority);
    if (!admitted) return done(lane_refusal(request.priority, admitted.refused()));
    place = admitted.take();
  }

  std::shared_ptr<const json> payload;
  if (!request.payload_json.empty()) {
    checked_json parsed = parse_checked_json(request.payload_json, max_json_depth, "the payload");
    if (!parsed.error.empty()) {
      return done(
          refusal{.why = refusal::kind::invalid, .field = "payload", .message = parsed.error});
    }
    if (!parsed.value.is_null()) payload = std::make_shared<const json>(std::move(parsed.value));
  }
  if (type->validate) {
    try {
      type->validate(payload ? *payload : json());
    } catch (const handlers::job_error& e) {
      return done(refusal{.why = refusal::kind::invalid, .field = "payload", .message = e.what()});
    }
  }

  auto job = make_live(type);
  store::job_record& rec = job->record;
  rec.seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  rec.id = opaque_id(rec.seq, id_salt_);
  rec.type = std::move(request.type);
  rec.priority = priority_of(request.priority);
  rec.timeout = timeout;
  rec.created_at = asked_at.value_or(system_clock::now());
  rec.payload = std::move(payload);
  rec.idempotency = std::move(key);
  if (request.concurrency_key) rec.concurrency_key = std::move(*request.concurrency_key);
  if (request.callback_url) {
    rec.callback = std::make_shared<const store::job_callback>(
        store::job_callback{.url = *request.callback_url});
  }
  rec.max_attempts = request.max_attempts.value_or(type->max_attempts > 0 ? type->max_attempts : 1);
  rec.retry_backoff =
      request.retry_backoff.value_or(type->retry_backoff.value_or(config_.retry_backoff));
  if (due) {
    rec.status = store::job_status::scheduled;
    rec.run_at = due;
    rec.next_attempt_at = due;
    held.count = nullptr;  // the job has it now
  }
  job->created_steady = pool::clock::now();
  job->place = std::move(place);
  job->submitter.emplace(ex, &job->submit_returned);
  job->on_accepted = std::move(done);
  {
    std::lock_guard lk(mu_);
    live_.emplace(rec.seq, job);
  }
  // Stored before it can run: with a durable store, the submission is answered once it is.
  // Nothing changes the record before the store has it: no lock is needed to read it here.
  store_.write({&rec, 1}, job, store::on_failure::report);
  job->submit_returned = true;
}

void service::live_job::written(const store::store_error* error) {
  service& svc = *owner;
  submit_handler done = std::move(on_accepted);
  const handoff site = *submitter;
  if (error != nullptr) {
    // Not stored, so not accepted: it must never run, and its place is given back.
    {
      std::lock_guard lk(svc.mu_);
      svc.live_.erase(record.seq);
      if (record.status == store::job_status::scheduled) svc.scheduled_count_.fetch_sub(1);
    }
    place = pool::admission{};
    return site.deliver(std::move(done), submit_outcome(store_down(error->message)));
  }
  if (svc.observer_.load(std::memory_order_acquire) != nullptr) {
    // Stored, so accepted: now it may be shown. Under the lock, as it can change meanwhile.
    std::lock_guard lk(svc.mu_);
    svc.notify(record);
  }
  if (!place.valid()) {
    // To run later: it waits in the schedule (unless cancelled while it was being stored).
    std::optional<store::job_record> shown;
    bool waits = false;
    {
      std::lock_guard lk(svc.mu_);
      shown = svc.shown_locked(*this);
      waits = record.status == store::job_status::scheduled;
    }
    if (waits) svc.schedule_.add(shown->seq, *shown->next_attempt_at);
    return site.deliver(std::move(done), submit_outcome(std::move(*shown)));
  }
  // A cheap job runs at once on this thread, the submitter's or the store's: cheaper than
  // waking a worker for it.
  store::job_record shown = svc.start(self.lock(), std::move(place), true, record.timeout);
  site.deliver(std::move(done), submit_outcome(std::move(shown)));
}

store::job_record service::start(const std::shared_ptr<live_job>& job, pool::admission place,
                                 bool here, std::chrono::milliseconds timeout) {
  // The service's index keeps the job until it ends: the pool's lambdas hold a plain pointer,
  // which std::function keeps in place rather than on the heap.
  live_job* const live = job.get();
  pool::job_request request{
      .timeout = timeout,
      .work =
          [live](const pool::job_context& ctx) {
            if (!live->owner->mark_running(*live, ctx.stop)) return;
            live->adaptive_at = live->owner->adaptive_.started(*live->type);
            const auto& payload = live->record.payload;  // never changed after the first write
            const handlers::run_context run{ctx, &live->stages};
            json result = live->type->run(payload ? *payload : json(), run);
            if (!result.is_null()) live->result = std::make_shared<const json>(std::move(result));
          },
      .on_done = [live](const pool::job_outcome& outcome) { live->owner->finish(*live, outcome); }};
  const handlers::job_type& type = *job->type;
  if (type.max_concurrency > 0 || type.adaptive_concurrency ||
      !job->record.concurrency_key.empty()) {
    request.limits = {.group = type.name,
                      .group_limit = type.adaptive_concurrency ? adaptive_.type_limit(type)
                                                               : type.max_concurrency,
                      .key = job->record.concurrency_key,
                      .key_limit = type.max_concurrency_per_key};
  }
  pool::job_handle handle;
  if (job->type->cheap && here) {
    handle = pool_.run_here(std::move(place), std::move(request));
  } else if (here && job->submitter) {
    // The jobs a thread hands over in one pass (an I/O thread's requests read together, a
    // store's commit) wake workers once, when the submitter's executor gets to it.
    handle = pool_.submit(std::move(place), std::move(request), pool::wake_up::later);
    if (!wake_posted_.exchange(true)) {
      net::post(job->submitter->where(), [this] {
        wake_posted_.store(false);
        pool_.wake();
      });
    }
  } else {
    handle = pool_.submit(std::move(place), std::move(request));
  }
  std::optional<store::job_record> shown;
  bool cancel_now = false;
  {
    std::lock_guard lk(mu_);
    // A job over already (run here, or its deadline passed) keeps no handle: it would close a
    // loop, the pool's job holding this one through its unrun work.
    if (!store::is_terminal(job->record.status)) {
      job->handle = handle;
      cancel_now = job->cancel_requested;
    }
    // Ended already (run here) but not yet stored: the submitter waits for it like anyone.
    shown = shown_locked(*job);
  }
  // Asked to stop while its record was being stored.
  if (cancel_now) (void)pool_.cancel(handle);
  return std::move(*shown);
}

bool service::mark_running(live_job& job, const std::stop_token& stop) {
  record_running(job);
  if (!job.type->side_effects) return true;
  std::atomic<std::uint8_t>& state = job.running.state;
  if (state.load(std::memory_order_acquire) == 1) return true;  // stored already (memory)
  const std::stop_callback wake(stop, [&state] {
    std::uint8_t waiting = 0;
    state.compare_exchange_strong(waiting, 2, std::memory_order_acq_rel);
    state.notify_all();
  });
  state.wait(0, std::memory_order_acquire);
  return state.load(std::memory_order_acquire) == 1;
}

void service::record_running(live_job& job) {
  const auto now = pool::clock::now();
  std::lock_guard lk(mu_);
  store::job_record& rec = job.record;
  if (rec.status != store::job_status::queued) return;
  ++rec.version;
  rec.status = store::job_status::running;
  rec.started_at = system_clock::now();
  rec.queue_time = now - job.created_steady;
  // A cheap job ends microseconds later and its end is stored instead: run again after a crash
  // in between, it changes nothing (cheap types have no side effects).
  if (job.type->cheap) return;
  // Under the lock, so that the record is not changed while the store copies it.
  store_.write({&rec, 1}, std::shared_ptr<store::write_listener>(job.self.lock(), &job.running),
               store::on_failure::retry);
  notify(rec);
}

void service::stages_changed(live_job& job, std::shared_ptr<const json> stages) {
  std::lock_guard lk(mu_);
  store::job_record& rec = job.record;
  if (rec.status != store::job_status::running) return;
  ++rec.version;
  rec.stages = std::move(stages);
  notify(rec);
}

void service::finish(live_job& ended, const pool::job_outcome& outcome) {
  const auto now = pool::clock::now();
  if (ended.adaptive_at.any()) {
    // A job cancelled (by request or at shutdown) ran as long as someone wanted: no measure.
    adaptive_.ended(*ended.type, std::exchange(ended.adaptive_at, {}), outcome.run_time,
                    outcome.status != pool::job_status::cancelled);
  }
  // The index holds it until its end is stored, which may be before the write returns.
  const std::shared_ptr<live_job> keep = ended.self.lock();
  bool retry_due = false;
  {
    std::lock_guard lk(mu_);
    store::job_record& rec = ended.record;
    ++rec.version;
    rec.finished_at = system_clock::now();
    // A started job's queue time was fixed when it started, so that it never changes once it
    // is shown as final.
    if (outcome.started) {
      rec.run_time = outcome.run_time;
      run_seconds_[ended.type].observe(std::chrono::duration<double>(outcome.run_time).count());
    } else {
      rec.queue_time = now - ended.created_steady;
    }
    const char* where = outcome.started ? "running" : "queued";
    switch (outcome.status) {
      case pool::job_status::succeeded:
        rec.status = store::job_status::succeeded;
        rec.result = std::move(ended.result);
        break;
      case pool::job_status::failed:
        rec.status = store::job_status::failed;
        rec.error = failure_of(outcome.error);
        break;
      case pool::job_status::timed_out:
        rec.status = store::job_status::timed_out;
        rec.error = stopped("timed_out",
                            "the job's deadline of " + std::to_string(rec.timeout.count()) +
                                " ms passed while it was " + where,
                            outcome.error);
        break;
      case pool::job_status::cancelled:
        rec.status = store::job_status::cancelled;
        rec.error = stopped("cancelled",
                            std::string(ended.cancel_requested ? "cancelled by request while "
                                                               : "cancelled at shutdown while ") +
                                where,
                            outcome.error);
        break;
    }
    ended.handle = {};
    if (const auto due = retry_locked(ended)) {
      log_job_retry(ended.record);
      // Under the lock, so that the record is not changed while the store copies it.
      store_.write({&ended.record, 1}, nullptr, store::on_failure::retry);
      notify(ended.record);
      schedule_.add(ended.record.seq, *due);
      retry_due = true;
    }
  }
  // Its place in the lane is free: a due job held back for want of one may enter.
  schedule_.room();
  if (retry_due) return;
  // Terminal: nothing changes the record any more, so it is read out of the lock. A store
  // that answers at once takes the job out of the index before this returns.
  log_job_end(ended.record);
  notify(ended.record);
  store_.write({&ended.record, 1}, std::shared_ptr<store::write_listener>(keep, &ended.ended),
               store::on_failure::retry);
}

bool service::claim_key(const idempotency_request& request, const executor& ex,
                        submit_handler& done,
                        std::shared_ptr<const store::idempotency_key>& claimed) {
  const auto now = system_clock::now();
  std::unique_lock lk(mu_);
  purge_keys_locked(now);
  if (const auto stale = keys_.find(request.key);
      stale != keys_.end() && stale->second.expires_at <= now && stale->second.seq != 0) {
    keys_.erase(stale);  // past its time, behind one the purge waits for
  }
  if (const auto it = keys_.find(request.key); it != keys_.end()) {
    key_entry& entry = it->second;
    if (entry.digest != request.digest) {
      lk.unlock();
      done(refusal{.why = refusal::kind::idempotency_key_reused,
                   .message = "this Idempotency-Key was used for a request with another body; "
                              "a new request needs a new key"});
      return false;
    }
    if (entry.seq == 0) {
      entry.waiting.emplace_back(ex, std::move(done));
      return false;
    }
    const std::uint64_t seq = entry.seq;
    lk.unlock();
    replay(seq, ex, std::move(done));
    return false;
  }
  const auto expires = now + config_.idempotency_ttl;
  keys_.emplace(request.key, key_entry{.digest = request.digest, .expires_at = expires});
  key_expiry_.emplace_back(expires, request.key);
  lk.unlock();
  claimed = std::make_shared<const store::idempotency_key>(
      store::idempotency_key{request.key, request.digest, expires});
  // The outcome settles the key on its way to the submitter: a refusal leaves none behind.
  done = [this, key = request.key, first = std::move(done)](submit_outcome outcome) mutable {
    settle_key(key, outcome);
    first(std::move(outcome));
  };
  return true;
}

void service::settle_key(const std::string& key, const submit_outcome& outcome) {
  std::vector<std::pair<executor, submit_handler>> waiting;
  {
    std::lock_guard lk(mu_);
    const auto it = keys_.find(key);
    if (it == keys_.end()) return;
    waiting.swap(it->second.waiting);
    if (outcome.accepted()) {
      it->second.seq = outcome.job().seq;
    } else {
      keys_.erase(it);
    }
  }
  for (auto& [ex, handler] : waiting) {
    submit_outcome same = outcome;
    if (same.accepted()) same.mark_replayed();
    net::post(ex, [handler = std::move(handler), same = std::move(same)]() mutable {
      handler(std::move(same));
    });
  }
}

void service::replay(std::uint64_t seq, const executor& ex, submit_handler done) {
  const auto replayed = [](store::job_record rec) {
    submit_outcome o(std::move(rec));
    o.mark_replayed();
    return o;
  };
  if (auto [job, rec] = find_live(seq); job) return done(replayed(std::move(*rec)));
  read_site back(ex);
  store_.find(seq, [back, replayed, done = std::move(done)](
                       std::optional<store::job_record> rec,
                       const store::store_error* error) mutable {
    if (error != nullptr) {
      return back.site.deliver(std::move(done), submit_outcome(store_down(error->message)));
    }
    if (!rec) {
      return back.site.deliver(
          std::move(done),
          submit_outcome(refusal{.why = refusal::kind::not_found,
                                 .message = "the job this Idempotency-Key made is no longer kept "
                                            "(retain_jobs, retain_seconds)"}));
    }
    back.site.deliver(std::move(done), replayed(std::move(*rec)));
  });
  *back.returned = true;
}

void service::purge_keys_locked(system_clock::time_point now) {
  while (!key_expiry_.empty() && key_expiry_.front().first <= now) {
    const auto it = keys_.find(key_expiry_.front().second);
    // A key given again after it expired has a later time: that one stays.
    if (it != keys_.end() && it->second.expires_at == key_expiry_.front().first) {
      // One whose first submission is still under way stays, first in line, until settled.
      if (it->second.seq == 0) return;
      keys_.erase(it);
    }
    key_expiry_.pop_front();
  }
}

std::optional<system_clock::time_point> service::due_of(const submit_request& request,
                                                        system_clock::time_point now,
                                                        std::optional<refusal>& refused) const {
  const auto invalid = [&](std::string_view field, std::string message) {
    refused = refusal{.why = refusal::kind::invalid, .field = field, .message = std::move(message)};
    return std::nullopt;
  };
  if (request.run_at && request.delay) {
    return invalid("run_at", "run_at and delay_ms name the same thing: give one of them");
  }
  if (request.delay) {
    if (*request.delay > config_.max_schedule) {
      return invalid("delay_ms", "delay_ms must be at most max_schedule_ms = " +
                                     std::to_string(config_.max_schedule.count()));
    }
    if (request.delay->count() == 0) return std::nullopt;
    return now + *request.delay;
  }
  if (!request.run_at) return std::nullopt;
  // A second of grace for clocks that differ a little: "now" as the client saw it.
  if (*request.run_at < now - std::chrono::seconds(1)) {
    return invalid("run_at",
                   "run_at is in the past (the server's time is " + rfc3339_text(now) + ")");
  }
  if (*request.run_at > now + config_.max_schedule) {
    return invalid("run_at", "run_at is more than max_schedule_ms = " +
                                 std::to_string(config_.max_schedule.count()) +
                                 " ms ahead (the server's time is " + rfc3339_text(now) + ")");
  }
  if (*request.run_at <= now) return std::nullopt;
  return *request.run_at;
}

std::optional<refusal> service::callback_refusal(const std::string& url) const {
  const auto invalid = [](std::string message) {
    return refusal{
        .why = refusal::kind::invalid, .field = "callback_url", .message = std::move(message)};
  };
  if (!callbacks_ || config_.callback_allow.empty()) {
    return invalid(
        "callback_url: callbacks are off on this jobd (its callback_allow names no "
        "URL prefix)");
  }
  std::string error;
  if (!parse_callback_url(url, error)) return invalid(std::move(error));
  const bool allowed =
      std::any_of(config_.callback_allow.begin(), config_.callback_allow.end(),
                  [&url](const std::string& prefix) { return url.starts_with(prefix); });
  if (!allowed) {
    std::string prefixes;
    for (const std::string& p : config_.callback_allow)
      prefixes += (prefixes.empty() ? "" : ", ") + p;
    return invalid("callback_url must start with one of the callback_allow prefixes: " + prefixes);
  }
  return std::nullopt;
}

refusal service::schedule_refusal(system_clock::time_point now) const {
  // When the earliest waiting job is due, a place may be free: clamped to [1, 60] s.
  const auto earliest = schedule_.earliest().value_or(now);
  const long retry = std::clamp(
      static_cast<long>(std::chrono::ceil<std::chrono::seconds>(earliest - now).count()), 1L, 60L);
  return {.why = refusal::kind::schedule_full,
          .message = "the schedule is full (" + std::to_string(config_.scheduled_capacity) +
                     " jobs wait for their time); retry after " + std::to_string(retry) + " s",
          .retry_after = std::chrono::seconds(retry)};
}

std::optional<system_clock::time_point> service::retry_locked(live_job& job) {
  store::job_record& rec = job.record;
  const bool retried_outcome =
      rec.status == store::job_status::failed ||
      (rec.status == store::job_status::timed_out && job.type->retry_on_timeout);
  if (!retried_outcome || job.cancel_requested || rec.attempt >= rec.max_attempts) {
    return std::nullopt;
  }
  // Attempt n+1 waits base x 2^(n-1), +-25 %, at most retry_backoff_max.
  const double base = static_cast<double>(rec.retry_backoff.count()) *
                      std::ldexp(1.0, static_cast<int>(std::min(rec.attempt, 60u)) - 1);
  const double jittered = base * std::uniform_real_distribution<double>(0.75, 1.25)(jitter_);
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(
      std::min(jittered, static_cast<double>(config_.retry_backoff_max.count()))));
  const auto due = rec.finished_at.value_or(system_clock::now()) + wait;
  schedule_next_attempt(rec, due);
  ++retried_[job.type];
  scheduled_count_.fetch_add(1);
  return due;
}

bool service::enter_lane(std::uint64_t seq) {
  std::shared_ptr<live_job> job;
  pool::lane lane = pool::lane::normal;
  {
    std::lock_guard lk(mu_);
    const auto it = live_.find(seq);
    if (it == live_.end() || it->second->record.status != store::job_status::scheduled) {
      return true;  // cancelled meanwhile
    }
    job = it->second;
    lane = lane_of(job->record.priority);
  }
  // A lane that is full stays so until a job ends: asked first, so that a job held back is not
  // counted as a refusal each time it is offered.
  if (const pool::lane_load load = pool_.load(lane); load.depth >= load.capacity) return false;
  pool::admit_result admitted = pool_.admit(lane);
  if (!admitted) {
    // Shutting down: it stays scheduled, for the next start to take up.
    return admitted.refused().why != pool::submit_error::queue_full;
  }
  std::chrono::milliseconds timeout{};
  {
    std::lock_guard lk(mu_);
    store::job_record& rec = job->record;
    if (rec.status != store::job_status::scheduled) return true;  // its place goes back
    ++rec.version;
    rec.status = store::job_status::queued;
    job->created_steady = pool::clock::now();  // this attempt's queue time counts from here
    timeout = rec.timeout;
    scheduled_count_.fetch_sub(1);
    store_.write({&rec, 1}, nullptr, store::on_failure::retry);
    notify(rec);
  }
  (void)start(job, admitted.take(), false, timeout);
  return true;
}

void service::drain(std::chrono::milliseconds grace) {
  pool_.drain(grace);
  schedule_.stop();
  // Callbacks not yet delivered stay pending, in the store for the next start.
  if (callbacks_) callbacks_->stop();
  // Every job taken is over; those still scheduled stay so. Their waiters are answered with
  // them as they stand.
  std::vector<std::pair<decltype(live_job::waiters), store::job_record>> answers;
  {
    std::lock_guard lk(mu_);
    for (auto& [seq, job] : live_) {
      if (job->waiters.empty()) continue;
      answers.emplace_back(std::move(job->waiters), shown_locked(*job));
      job->waiters.clear();
    }
  }
  for (auto& [waiters, shown] : answers) answer_all(waiters, std::move(shown));
}

void service::get(std::string_view id, const executor& ex, lookup_handler done) {
  const auto seq = seq_of(id);
  if (!seq) return done(lookup{});
  if (auto [job, rec] = find_live(*seq); job) return done(lookup{std::move(rec), std::nullopt});
  // Over, or never made: the store answers.
  read_site back(ex);
  store_.find(*seq, [back, done = std::move(done)](std::optional<store::job_record> rec,
                                                   const store::store_error* error) mutable {
    back.site.deliver(std::move(done), lookup{std::move(rec), error_of(error)});
  });
  *back.returned = true;
}

void service::list(const store::list_query& query, const executor& ex, list_handler done) {
  read_site back(ex);
  store_.list(query, [back, done = std::move(done)](std::vector<store::job_record> jobs,
                                                    const store::store_error* error) mutable {
    back.site.deliver(std::move(done), std::move(jobs), error_of(error));
  });
  *back.returned = true;
}

void service::cancel(std::string_view id, const executor& ex, cancel_handler done) {
  const auto seq = seq_of(id);
  if (!seq) return done(cancel_outcome{});
  auto [job, rec] = find_live(*seq);
  if (!job) {
    // Over already, or never made: the store tells which.
    read_site back(ex);
    store_.find(*seq, [back, done = std::move(done)](std::optional<store::job_record> found,
                                                     const store::store_error* error) mutable {
      cancel_outcome out{
          found ? cancel_outcome::kind::already_finished : cancel_outcome::kind::not_found,
          std::move(found), error_of(error)};
      back.site.deliver(std::move(done), std::move(out));
    });
    *back.returned = true;
    return;
  }
  pool::job_handle handle;
  bool was_scheduled = false;
  {
    std::lock_guard lk(mu_);
    store::job_record& r = job->record;
    if (r.status == store::job_status::scheduled) {
      // Nothing runs: it ends here, and leaves the schedule below.
      was_scheduled = true;
      ++r.version;
      r.status = store::job_status::cancelled;
      r.finished_at = system_clock::now();
      r.error = store::job_failure{"cancelled", "cancelled by request while scheduled", nullptr};
      r.next_attempt_at.reset();
      scheduled_count_.fetch_sub(1);
    }
    rec = r;
    if (!store::is_terminal(rec->status)) {
      job->cancel_requested = true;
      handle = job->handle;
    }
  }
  if (was_scheduled) {
    (void)schedule_.remove(*seq);
    log_job_end(*rec);
    // Terminal: nothing changes the record any more.
    notify(job->record);
    store_.write({&job->record, 1}, std::shared_ptr<store::write_listener>(job, &job->ended),
                 store::on_failure::retry);
    return done(cancel_outcome{cancel_outcome::kind::cancelled, std::move(rec), {}});
  }
  // Ended, its end not yet stored: it stays in the index meanwhile.
  if (store::is_terminal(rec->status)) {
    return done(cancel_outcome{cancel_outcome::kind::already_finished, std::move(rec), {}});
  }
  // Not handed to the pool yet (its record is being stored): it is stopped once it is.
  if (!handle.valid()) return done(cancel_outcome{cancel_outcome::kind::stopping, rec, {}});
  const pool::cancel_result result = pool_.cancel(handle);
  {
    std::lock_guard lk(mu_);
    rec = job->record;
  }
  switch (result) {
    case pool::cancel_result::cancelled:
      return done(cancel_outcome{cancel_outcome::kind::cancelled, std::move(rec), {}});
    case pool::cancel_result::stopping:
      // The pool started it an instant before its work could say so.
      record_running(*job);
      {
        std::lock_guard lk(mu_);
        rec = job->record;
      }
      return done(cancel_outcome{cancel_outcome::kind::stopping, std::move(rec), {}});
    case pool::cancel_result::already_finished:
      return done(cancel_outcome{cancel_outcome::kind::already_finished, std::move(rec), {}});
  }
}

void service::retry(std::string_view id, const executor& ex, submit_handler done) {
  const auto seq = seq_of(id);
  const std::string wanted(id);
  if (!seq)
    return done(refusal{.why = refusal::kind::not_found, .message = "no job with id " + wanted});
  if (auto [job, rec] = find_live(*seq); job) {
    return done(not_ended(wanted, rec->status));
  }
  read_site back(ex);
  store_.find(
      *seq, [this, back, ex, done = std::move(done)](std::optional<store::job_record> rec,
                                                     const store::store_error* error) mutable {
        if (error != nullptr) {
          return back.site.deliver(std::move(done), submit_outcome(store_down(error->message)));
        }
        if (auto refused = retry_ended(std::move(rec), ex, done)) {
          back.site.deliver(std::move(done), submit_outcome(std::move(*refused)));
        }
      });
  *back.returned = true;
}

std::optional<refusal> service::retry_ended(std::optional<store::job_record> found,
                                            const executor& ex, submit_handler& done) {
  if (!found) return refusal{.why = refusal::kind::not_found, .message = "no such job"};
  store::job_record& rec = *found;
  const std::string id(rec.id.view());
  if (rec.status == store::job_status::succeeded) {
    return refusal{.why = refusal::kind::already_succeeded,
                   .message = "job " + id + " succeeded: there is nothing to retry"};
  }
  if (!store::is_terminal(rec.status)) {
    return not_ended(id, rec.status);
  }
  const handlers::job_type* type = types_.find(rec.type);
  if (type == nullptr) {
    return refusal{.why = refusal::kind::unknown_type,
                   .message = "job " + id + " is of type \"" + rec.type +
                              "\", which is no longer configured; known types: " + types_.names()};
  }
  if (!store_.available()) {
    return store_down(store_.health().reason);
  }
  const pool::lane lane = lane_of(rec.priority);
  pool::admit_result admitted = pool_.admit(lane);
  if (!admitted) return lane_refusal(lane, admitted.refused());
  // The ended attempt goes to the history, and the next one is due now: queued at once.
  const auto now = system_clock::now();
  ++rec.version;
  schedule_next_attempt(rec, now);
  rec.status = store::job_status::queued;
  rec.max_attempts = std::max(rec.max_attempts, rec.attempt);
  // A new end to tell of.
  if (rec.callback) {
    rec.callback =
        std::make_shared<const store::job_callback>(store::job_callback{.url = rec.callback->url});
  }

  auto job = make_live(type);
  job->record = std::move(rec);
  job->created_steady = pool::clock::now();
  job->place = admitted.take();
  // Answered through `ex` always: this may run on a store's thread.
  job->submit_returned = true;
  job->submitter.emplace(ex, &job->submit_returned);
  {
    std::lock_guard lk(mu_);
    // Retried twice at once: the first is under way.
    if (!live_.emplace(job->record.seq, job).second) {
      return refusal{.why = refusal::kind::not_finished,
                     .message = "job " + id + " is being retried already"};
    }
  }
  job->on_accepted = std::move(done);
  store_.write({&job->record, 1}, job, store::on_failure::report);
  return std::nullopt;
}

void service::wait(std::string_view id, std::optional<std::chrono::milliseconds> limit,
                   const executor& ex, lookup_handler done) {
  const auto seq = seq_of(id);
  if (!seq) return done(lookup{});
  auto [job, rec] = find_live(*seq);
  if (!job) return get(id, ex, std::move(done));
  auto w = std::make_shared<pending_wait>(ex, std::move(done));
  bool over = false;  // its end stored, between find_live and here
  {
    std::lock_guard lk(mu_);
    rec = job->record;
    // Still in the index: its end, if it has one, is not stored yet; end_stored answers.
    over = !live_.contains(*seq);
    if (!over) job->waiters.push_back(w);
  }
  if (over) return w->done(lookup{std::move(rec), std::nullopt});
  if (!limit) return;
  // The job's end is posted to `ex`, where this runs now: it cannot look at the timer before
  // it is armed.
  w->timer.emplace(ex, *limit);
  w->timer->async_wait([this, w, job = job](boost::system::error_code ec) {
    if (ec || w->answered) return;
    w->answered = true;
    std::optional<store::job_record> now;
    {
      std::lock_guard lk(mu_);
      now = shown_locked(*job);
    }
    w->done(lookup{std::move(now), std::nullopt});
  });
}

std::vector<job_type_info> service::job_types() const {
  std::vector<job_type_info> out;
  for (const handlers::job_type* t : types_.all()) {
    out.push_back({t->name, t->kind,
                   t->default_timeout.count() > 0 ? t->default_timeout : config_.default_timeout,
                   t->max_concurrency, t->max_concurrency_per_key, t->adaptive_concurrency});
  }
  return out;
}

pool::pool_stats service::pool_stats() const {
  pool::pool_stats s = pool_.stats();
  s.workers_adaptive = adaptive_.workers_adaptive();
  // The pool knows the limited types with jobs in line or running; the others run none.
  for (const handlers::job_type* t : types_.all()) {
    if (t->max_concurrency == 0 && !t->adaptive_concurrency) continue;
    const std::size_t limit =
        t->adaptive_concurrency ? adaptive_.type_limit(*t) : t->max_concurrency;
    const auto seen = std::find_if(s.groups.begin(), s.groups.end(),
                                   [t](const pool::group_stats& g) { return g.name == t->name; });
    if (seen == s.groups.end()) {
      s.groups.push_back({.name = t->name, .limit = limit, .adaptive = t->adaptive_concurrency});
    } else {
      // The limit now: the group's may be the one its jobs came with.
      seen->limit = limit;
      seen->adaptive = t->adaptive_concurrency;
    }
  }
  std::sort(s.groups.begin(), s.groups.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return s;
}

std::map<std::string, std::uint64_t, std::less<>> service::retried() const {
  std::map<std::string, std::uint64_t, std::less<>> out;
  std::lock_guard lk(mu_);
  for (const auto& [type, n] : retried_) out.emplace(type->name, n);
  return out;
}

std::map<std::string, histogram, std::less<>> service::run_seconds() const {
  std::map<std::string, histogram, std::less<>> out;
  std::lock_guard lk(mu_);
  for (const auto& [type, h] : run_seconds_) out.emplace(type->name, h);
  return out;
}

}  // namespace jobd::jobs
