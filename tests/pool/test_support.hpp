#pragma once

// Synchronisation helpers for deterministic pool tests: jobs are held by gates and observed
// through recorders, so no test depends on a sleep.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "pool/pool.hpp"

namespace jobd::pool::testing {

// Upper bound for "this must happen": reached only when the code under test is broken.
inline constexpr auto must_happen_within = std::chrono::seconds(20);

// A door jobs wait at until the test opens it, or until their stop token fires.
class gate {
 public:
  void open() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // True when opened, false when stopped first.
  bool wait(std::stop_token stop) {
    std::unique_lock lk(mu_);
    return cv_.wait(lk, stop, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool open_ = false;
};

// Records job starts and completions by name, and lets the test wait for them.
class recorder {
 public:
  // A job body that records its start, then, given a gate, waits at it (or for its stop token).
  job_fn job(std::string name, gate* g = nullptr) {
    return [this, name = std::move(name), g](const job_context& ctx) {
      {
        std::lock_guard lk(mu_);
        starts_.push_back(name);
        stop_tokens_[name] = ctx.stop;
      }
      cv_.notify_all();
      if (g != nullptr) g->wait(ctx.stop);
    };
  }

  completion_fn done(std::string name) {
    return [this, name = std::move(name)](const job_outcome& o) {
      {
        std::lock_guard lk(mu_);
        outcomes_[name].push_back(o);
      }
      cv_.notify_all();
    };
  }

  job_request request(const std::string& name, lane l = lane::normal, gate* g = nullptr,
                      clock::duration timeout = std::chrono::seconds(60)) {
    return job_request{
        .priority = l, .timeout = timeout, .work = job(name, g), .on_done = done(name)};
  }

  job_outcome wait_done(const std::string& name) {
    std::unique_lock lk(mu_);
    const bool ok = cv_.wait_for(lk, must_happen_within, [&] { return outcomes_.contains(name); });
    if (!ok) {
      ADD_FAILURE() << "job " << name << " never completed";
      return {};
    }
    return outcomes_[name].front();
  }

  void wait_started(const std::string& name) {
    std::unique_lock lk(mu_);
    const bool ok = cv_.wait_for(lk, must_happen_within, [&] {
      return std::find(starts_.begin(), starts_.end(), name) != starts_.end();
    });
    if (!ok) ADD_FAILURE() << "job " << name << " never started";
  }

  void wait_completions(std::size_t n) {
    std::unique_lock lk(mu_);
    const bool ok = cv_.wait_for(lk, must_happen_within, [&] { return completions_locked() >= n; });
    if (!ok) ADD_FAILURE() << "only " << completions_locked() << " of " << n << " jobs completed";
  }

  std::size_t completions(const std::string& name) {
    std::lock_guard lk(mu_);
    auto it = outcomes_.find(name);
    return it == outcomes_.end() ? 0 : it->second.size();
  }

  bool started(const std::string& name) {
    std::lock_guard lk(mu_);
    return std::find(starts_.begin(), starts_.end(), name) != starts_.end();
  }

  std::vector<std::string> starts() {
    std::lock_guard lk(mu_);
    return starts_;
  }

  bool stop_requested(const std::string& name) {
    std::lock_guard lk(mu_);
    return stop_tokens_.at(name).stop_requested();
  }

 private:
  std::size_t completions_locked() const {
    std::size_t n = 0;
    for (const auto& [name, v] : outcomes_) n += v.size();
    return n;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> starts_;
  std::map<std::string, std::stop_token> stop_tokens_;
  std::map<std::string, std::vector<job_outcome>> outcomes_;
};

}  // namespace jobd::pool::testing
