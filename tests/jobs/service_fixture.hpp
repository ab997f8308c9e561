#pragma once

// The job service with a real pool, a store and an I/O thread, in process. Calls are made on
// the I/O thread, as the routes make them, and their outcomes awaited.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "jobs/service.hpp"
#include "store/memory_store.hpp"

namespace jobd::jobs::testing {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A memory store that remembers what it was given to write, and can be made to fail.
class recording_store final : public store::job_store {
 public:
  explicit recording_store(store::retention keep) : inner_(keep) {}

  [[nodiscard]] std::uint64_t id_salt() const override { return inner_.id_salt(); }
  [[nodiscard]] store::recovered_jobs recover() override { return inner_.recover(); }
  void write(std::span<const store::job_record> records,
             std::shared_ptr<store::write_listener> listener,
             store::on_failure if_failed) override {
    bool failing = false;
    bool kept = false;
    std::shared_ptr<store::write_listener> told;
    {
      std::lock_guard lk(mu_);
      failing = failing_;
      if ((failing_ || holding_) && if_failed == store::on_failure::retry) {
        // Kept, as a store must keep what retries, until it can be written.
        kept = true;
        if (failing_) told = listener;
        held_.push_back({{records.begin(), records.end()}, std::move(listener)});
      } else if (!failing_) {
        for (const auto& r : records) written_.emplace_back(r.seq, r.status);
      }
    }
    // Told out of the store's lock, as every store must: the writer may hold its own.
    const store::store_error e{"the disk is full"};
    if (kept) {
      if (told) told->written(&e);  // of the failed attempt; the group stays kept
      return;
    }
    if (failing) {
      if (listener) listener->written(&e);
      return;
    }
    inner_.write(records, std::move(listener), if_failed);
  }
  void find(std::uint64_t seq, find_done done) override { inner_.find(seq, std::move(done)); }
  void list(const store::list_query& q, list_done done) override {
    inner_.list(q, std::move(done));
  }
  [[nodiscard]] store::store_health health() const override {
    std::lock_guard lk(mu_);
    return {!failing_, failing_ ? "the disk is full" : ""};
  }
  [[nodiscard]] bool available() const noexcept override { return !says_down_.load(); }
  [[nodiscard]] store::store_stats stats() const override { return inner_.stats(); }

  // While on, groups that report fail, and groups that retry are held; once off, those held
  // are written, in order. `says_so`: available() tells, as a store that has seen a write fail
  // does; otherwise only the next write finds out.
  void fail(bool on, bool says_so = false) {
    std::vector<held_group> held;
    says_down_.store(on && says_so);
    {
      std::lock_guard lk(mu_);
      failing_ = on;
      if (!on && !holding_) held.swap(held_);
    }
    for (auto& g : held) write(g.records, std::move(g.listener), store::on_failure::retry);
  }
  // While on, groups that retry (a job's running and terminal records) wait, unwritten and
  // unfailed, as behind a slow disk; once off, they are written, in order.
  void hold_changes(bool on) {
    std::vector<held_group> held;
    {
      std::lock_guard lk(mu_);
      holding_ = on;
      if (!on && !failing_) held.swap(held_);
    }
    for (auto& g : held) write(g.records, std::move(g.listener), store::on_failure::retry);
  }
  // The statuses written for job `seq`, in the order of the writes.
  std::vector<store::job_status> statuses_of(std::uint64_t seq) {
    std::lock_guard lk(mu_);
    std::vector<store::job_status> out;
    for (const auto& [s, status] : written_)
      if (s == seq) out.push_back(status);
    return out;
  }
  std::size_t writes() {
    std::lock_guard lk(mu_);
    return written_.size();
  }

 private:
  struct held_group {
    std::vector<store::job_record> records;
    std::shared_ptr<store::write_listener> listener;
  };
  store::memory_store inner_;
  mutable std::mutex mu_;
  // What was written, not the records: a test may watch what the records hold be freed.
  std::vector<std::pair<std::uint64_t, store::job_status>> written_;  // guarded by mu_
  bool failing_ = false;                                              // guarded by mu_
  bool holding_ = false;                                              // guarded by mu_
  std::atomic<bool> says_down_{false};
  std::vector<held_group> held_;  // guarded by mu_
};

// A job type that runs until its gate opens (or it is stopped).
class gate {
 public:
  void open() { promise_.set_value(); }
  void wait(const pool::job_context& ctx) const {
    while (future_.wait_for(1ms) != std::future_status::ready && !ctx.stop.stop_requested()) {
    }
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
};

struct service_fixture {
  explicit service_fixture(pool::pool_config pool_cfg = {.workers_min = 2,
                                                         .workers_max = 2,
                                                         .reserved_high = 1},
                           store::retention keep = {})
      : workers(std::move(pool_cfg)), store(keep) {
    handlers::add_builtins(types);
    types.add({.name = "gated",
               .kind = "builtin",
               .run = [this](const json&, const pool::job_context& ctx) {
                 gated.wait(ctx);
                 return json(nullptr);
               }});
    io = std::thread([this] { ioc.run(); });
  }
  ~service_fixture() {
    // Jobs end into the service: every one before it goes. A wait's timer left armed (a test
    // that failed) must not hold the I/O thread until its limit.
    workers.drain(0ms);
    ioc.stop();
    io.join();
  }

  // Runs `fn` on the I/O thread and waits for it to return.
  template <class F>
  void on_io(F fn) {
    std::promise<void> done;
    boost::asio::post(ioc, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  submit_outcome submit(submit_request request) {
    std::promise<submit_outcome> got;
    on_io([&] {
      jobs.submit(std::move(request), ioc.get_executor(),
                  [&got](submit_outcome o) { got.set_value(std::move(o)); });
    });
    return got.get_future().get();
  }

  lookup get(std::string_view id) {
    std::promise<lookup> got;
    on_io([&] {
      jobs.get(id, ioc.get_executor(), [&got](lookup l) { got.set_value(std::move(l)); });
    });
    return got.get_future().get();
  }

  cancel_outcome cancel(std::string_view id) {
    std::promise<cancel_outcome> got;
    on_io([&] {
      jobs.cancel(id, ioc.get_executor(),
                  [&got](cancel_outcome o) { got.set_value(std::move(o)); });
    });
    return got.get_future().get();
  }

  // The job once a worker has started it (it has left its lane).
  std::optional<store::job_record> running(std::string_view id) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      std::optional<store::job_record> job = get(id).job;
      if (!job || job->status != store::job_status::queued) return job;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "job " << id << " never started";
        return job;
      }
      std::this_thread::yield();
    }
  }

  // The job once it is terminal.
  std::optional<store::job_record> ended(std::string_view id) {
    std::promise<lookup> got;
    on_io([&] {
      jobs.wait(id, std::nullopt, ioc.get_executor(),
                [&got](lookup l) { got.set_value(std::move(l)); });
    });
    return got.get_future().get().job;
  }

  gate gated;
  handlers::registry types;
  pool::pool workers;
  recording_store store;
  service jobs{{.default_timeout = 30s, .max_timeout = 60s}, types, workers, store};
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard =
      boost::asio::make_work_guard(ioc);
  std::thread io;
};

}  // namespace jobd::jobs::testing
