#include "handlers/stage_pool.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>

namespace jobd::handlers {

using json = nlohmann::json;

// One run() call's items. Shared with its runners' completions, which may run (on a stage
// worker, or the stage pool's timer thread) until the moment run() sees the last one end.
struct stage_pool::batch {
  std::mutex mu;
  std::condition_variable_any changed;
  std::size_t unfinished = 0;  // runners handed over, not yet ended; guarded by mu
  // Each item's result, written by the one runner that ran it and read once every runner has
  // ended (their ends, under mu, order the two).
  std::vector<std::optional<json>> results;
  std::vector<pool::job_handle> handles;  // by runner; guarded by mu
  // By runner: the item it runs, for a runner that ends stopped.
  std::vector<std::atomic<std::size_t>> current;
  std::optional<stage_failure> failure;  // the first item to fail; guarded by mu
  std::atomic<bool> failed{false};       // failure is set: runners stop taking items
  // Stealing: each runner's items, taken from the front by it and from the back by others.
  struct share {
    std::mutex mu;
    std::deque<std::size_t> items;
  };
  std::vector<std::unique_ptr<share>> shares;

  void fail(stage_failure f) {
    std::lock_guard lk(mu);
    if (!failure) failure = std::move(f);
    failed.store(true, std::memory_order_relaxed);
  }
  std::optional<std::size_t> next(std::size_t r) {
    {
      share& own = *shares[r];
      std::lock_guard lk(own.mu);
      if (!own.items.empty()) {
        const std::size_t i = own.items.front();
        own.items.pop_front();
        return i;
      }
    }
    for (std::size_t k = 1; k < shares.size(); ++k) {
      share& other = *shares[(r + k) % shares.size()];
      std::lock_guard lk(other.mu);
      if (!other.items.empty()) {
        const std::size_t i = other.items.back();
        other.items.pop_back();
        return i;
      }
    }
    return std::nullopt;
  }
};

namespace {

// The job object's error for how an item ended, when it did not succeed: what it threw, or
// how the pool ended it.
json cause_of(pool::job_status status, const std::exception_ptr& thrown, const job_type& type) {
  if (status == pool::job_status::timed_out) {
    return {{"code", "timed_out"},
            {"message", "it ran past its type's timeout of " +
                            std::to_string(type.default_timeout.count()) + " ms"}};
  }
  if (status == pool::job_status::cancelled) {
    return {{"code", "cancelled"}, {"message", "it was cancelled at shutdown"}};
  }
  if (!thrown) return {{"code", "job_failed"}, {"message", "the job failed"}};
  try {
    std::rethrow_exception(thrown);
  } catch (const job_error& e) {
    json out = e.details().is_object() ? e.details() : json::object();
    out["code"] = e.code();
    out["message"] = e.what();
    return out;
  } catch (const std::exception& e) {
    return {{"code", "job_failed"}, {"message", e.what()}};
  } catch (...) {
    return {{"code", "job_failed"}, {"message", "the job threw a non-standard exception"}};
  }
}

pool::pool_config stage_config(std::size_t workers, std::size_t queue_capacity) {
  return {.workers_min = workers,
          .workers_max = workers,
          // A stage has no long jobs of another kind to keep high ones from: its lanes share
          // its workers, high items first.
          .reserved_high = 0,
          .normal_capacity = queue_capacity,
          .high_capacity = queue_capacity};
}

}  // namespace

stage_pool::stage_pool(const job_type& type, std::size_t workers, std::size_t queue_capacity,
                       bool stealing)
    : type_(type),
      capacity_(queue_capacity),
      workers_(workers),
      stealing_(stealing),
      pool_(stage_config(workers, queue_capacity)) {}

// Nothing runs here any more by then: the pipelines' jobs, which alone hand items over, ended
// with the main pool's drain.
stage_pool::~stage_pool() {
  pool_.drain(std::chrono::milliseconds(0));
}

void stage_pool::room_made() {
  {
    std::lock_guard lk(room_mu_);
    ++room_events_;
  }
  room_.notify_all();
}

pool::admission stage_pool::place_for(pool::lane l, const run_context& ctx, batch& b) {
  for (;;) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lk(room_mu_);
      seen = room_events_;
    }
    pool::admit_result admitted = pool_.admit(l);
    if (admitted) return admitted.take();
    if (admitted.refused().why == pool::submit_error::shutting_down) return {};
    {
      std::lock_guard lk(b.mu);
      if (b.failure) return {};
    }
    // Full: room comes when one of the stage's items starts or ends (this batch's or another
    // pipeline job's), and a failure of this batch is such an end.
    std::unique_lock lk(room_mu_);
    if (!room_.wait(lk, ctx.stop, [&] { return room_events_ != seen; })) return {};
  }
}

stage_outcome stage_pool::run(std::span<const json> inputs, const run_context& ctx) {
  auto b = std::make_shared<batch>();
  b->results.resize(inputs.size());
  const bool steal = stealing_ && inputs.size() > 1;
  const std::size_t runners = steal ? std::min(workers_, inputs.size()) : inputs.size();
  b->handles.resize(runners);
  b->current = std::vector<std::atomic<std::size_t>>(runners);
  if (steal) {
    // Runner r's share is the r-th slice, in order: thieves take from its far end.
    for (std::size_t r = 0; r < runners; ++r) {
      b->shares.push_back(std::make_unique<batch::share>());
      for (std::size_t i = r * inputs.size() / runners; i < (r + 1) * inputs.size() / runners; ++i)
        b->shares.back()->items.push_back(i);
    }
  } else {
    for (std::size_t r = 0; r < runners; ++r) b->current[r].store(r, std::memory_order_relaxed);
  }
  // Runs item i on the calling runner's thread.
  const auto run_item = [this, inputs](batch& on, std::size_t i, const run_context& item) {
    if (type_.validate) type_.validate(inputs[i]);
    on.results[i] = type_.run(inputs[i], item);
  };
  for (std::size_t r = 0; r < runners; ++r) {
    const auto left = ctx.deadline - pool::clock::now();
    if (ctx.stop.stop_requested() || left <= pool::clock::duration::zero()) break;
    pool::admission place = place_for(ctx.priority, ctx, *b);
    if (!place.valid()) break;
    const auto own = type_.default_timeout;
    // A runner of several items has the pipeline's deadline only.
    const auto timeout =
        own.count() > 0 && !steal ? std::min<pool::clock::duration>(left, own) : left;
    pool::job_request request{
        .timeout = timeout,
        .work =
            [this, b, r, steal, run_item](const pool::job_context& job) {
              room_made();  // it left the queue
              const run_context item{job, nullptr};
              if (!steal) return run_item(*b, r, item);
              while (!b->failed.load(std::memory_order_relaxed) && !job.stop.stop_requested()) {
                const std::optional<std::size_t> i = b->next(r);
                if (!i) return;
                b->current[r].store(*i, std::memory_order_relaxed);
                try {
                  run_item(*b, *i, item);
                } catch (...) {
                  b->fail({.what = stage_failure::kind::item_failed,
                           .item = *i,
                           .cause = cause_of(pool::job_status::failed, std::current_exception(),
                                             type_)});
                  return;
                }
              }
            },
        .on_done =
            [this, b, r](const pool::job_outcome& outcome) {
              {
                std::lock_guard lk(b->mu);
                if (outcome.status != pool::job_status::succeeded && !b->failure) {
                  b->failure =
                      stage_failure{.what = stage_failure::kind::item_failed,
                                    .item = b->current[r].load(std::memory_order_relaxed),
                                    .cause = cause_of(outcome.status, outcome.error, type_)};
                  b->failed.store(true, std::memory_order_relaxed);
                }
                --b->unfinished;
              }
              b->changed.notify_all();
              room_made();
            }};
    {
      std::lock_guard lk(b->mu);
      ++b->unfinished;
    }
    pool::job_handle handle = pool_.submit(std::move(place), std::move(request));
    std::lock_guard lk(b->mu);
    b->handles[r] = std::move(handle);
    if (b->failure) break;
  }

  std::unique_lock lk(b->mu);
  b->changed.wait(lk, ctx.stop, [&] { return b->unfinished == 0 || b->failure; });
  if (b->unfinished > 0) {
    // Stopped, or an item failed: the rest are not wanted. A queued item's completion runs
    // within cancel(), so the lock is let go meanwhile.
    const std::vector<pool::job_handle> handles = b->handles;
    lk.unlock();
    for (const pool::job_handle& h : handles) {
      if (h.valid()) (void)pool_.cancel(h);
    }
    lk.lock();
    b->changed.wait(lk, [&] { return b->unfinished == 0; });
  }
  stage_outcome out;
  // Past the pipeline's deadline an item's own ends with it (its timeout is what was left):
  // the pipeline was stopped, whichever of the two timers came first.
  if (ctx.stop.stop_requested() || pool::clock::now() >= ctx.deadline) {
    out.failure = stage_failure{.what = stage_failure::kind::stopped};
  } else if (b->failure) {
    out.failure = std::move(b->failure);
  } else if (std::any_of(b->results.begin(), b->results.end(),
                         [](const auto& r) { return !r.has_value(); })) {
    // Not every item was handed over: the deadline came first.
    out.failure = stage_failure{.what = stage_failure::kind::stopped};
  } else {
    out.results.reserve(inputs.size());
    for (auto& r : b->results) out.results.push_back(std::move(*r));
  }
  return out;
}

stage_stats stage_pool::stats() const {
  const pool::pool_stats s = pool_.stats();
  return {.workers = s.workers,
          .busy = s.busy,
          .queued = s.of(pool::lane::high).depth + s.of(pool::lane::normal).depth,
          .capacity = capacity_};
}

}  // namespace jobd::handlers
