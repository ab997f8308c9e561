#pragma once

// The routes with everything behind them (pool, store, metrics, the built-in job types), built
// once per fuzzing process: libFuzzer calls the target millions of times, and a pool per input
// would measure thread start-up, not parsing.

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "handlers/registry.hpp"
#include "pool/pool.hpp"
#include "server/app.hpp"
#include "server/http_codec.hpp"
#include "server/job_store.hpp"
#include "server/metrics.hpp"

namespace jobd::fuzz {

// Fires at once: what a route does when its wait ends is exercised without any waiting.
class immediate_timers final : public server::timer_service {
 public:
  std::shared_ptr<server::timer_wait> after(std::chrono::milliseconds,
                                            std::function<void()> fn) override {
    fn();
    return std::make_shared<spent_wait>();
  }

 private:
  struct spent_wait final : server::timer_wait {
    void cancel() override {}
  };
};

inline config::settings fuzz_settings() {
  config::settings s;
  s.workers_min = 2;
  s.workers_max = 2;
  s.reserved_high_workers = 1;
  s.queue_capacity = 64;
  s.high_queue_capacity = 16;
  // Jobs end quickly whatever an input asks for, so that the queues keep moving.
  s.default_timeout = std::chrono::milliseconds(5);
  s.max_timeout = std::chrono::milliseconds(20);
  s.retain_jobs = 256;
  s.max_body_bytes = 64 << 10;
  s.max_header_bytes = 8 << 10;
  return s;
}

struct app_fixture {
  app_fixture() { handlers::add_builtins(types); }
  // Jobs still running refer to the routes, store and metrics, which are destroyed before the
  // pool (declared first): end every job while all of them still exist.
  ~app_fixture() { workers.drain(std::chrono::milliseconds(0)); }
  app_fixture(const app_fixture&) = delete;
  app_fixture& operator=(const app_fixture&) = delete;

  // Jobs still ending in the destructor may log. Taken first, so that spdlog's registry (a
  // static made on first use) is made before this fixture, and so destroyed after it.
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();
  config::settings settings = fuzz_settings();
  handlers::registry types;
  pool::pool workers{{.workers_min = settings.workers_min,
                      .workers_max = settings.workers_max,
                      .reserved_high = settings.reserved_high_workers,
                      .normal_capacity = settings.queue_capacity,
                      .high_capacity = settings.high_queue_capacity}};
  server::job_store store{settings.retain_jobs, settings.retain_seconds};
  server::metrics stats;
  immediate_timers timers;
  server::app routes{settings, types, workers, store, stats, timers};
};

// libFuzzer's entry points are free functions, so the fixture is a function-local static.
inline app_fixture& fixture() {
  static app_fixture f;
  return f;
}

// Serialises an answer as the session would write it. An answer may come from a worker thread
// after the input is gone, so the sink keeps nothing of it.
class wire_writer final : public server::answer_sink {
 public:
  void deliver(std::uint64_t, server::http_response&& r) override {
    std::string out;
    server::append_wire_response(out, r, 11, true, "fuzz", "Thu, 01 Jan 1970 00:00:00 GMT");
  }
};

inline server::responder write_answer() {
  static const auto sink = std::make_shared<wire_writer>();
  return {sink, 0};
}

}  // namespace jobd::fuzz
