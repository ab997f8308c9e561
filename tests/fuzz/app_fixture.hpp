#pragma once

// The routes with everything behind them (the job service, its pool and store, metrics, the
// built-in job types), built once per fuzzing process: libFuzzer calls the target millions of
// times, and a pool per input would measure thread start-up, not parsing. Answers and the
// waits' timers run on an I/O thread of the fixture's own.

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "config/settings.hpp"
#include "handlers/registry.hpp"
#include "jobs/service.hpp"
#include "pool/pool.hpp"
#include "server/api/routes.hpp"
#include "server/http/http_codec.hpp"
#include "server/obs/metrics.hpp"
#include "store/memory_store.hpp"

namespace jobd::fuzz {

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

// Serialises an answer as the session would write it. An answer may come from another thread
// after the input is gone, so the sink keeps nothing of it.
class wire_writer final : public server::answer_sink {
 public:
  explicit wire_writer(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void deliver(std::uint64_t, server::http_response&& r) override {
    std::string out;
    server::append_wire_response(out, r, 11, true, "fuzz", "Thu, 01 Jan 1970 00:00:00 GMT");
  }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const override { return ex_; }

 private:
  boost::asio::any_io_executor ex_;
};

struct app_fixture {
  app_fixture() {
    handlers::add_builtins(types);
    io = std::thread([this] { ioc.run(); });
  }
  // Jobs end into the service, the routes and the I/O thread: end every job while all of them
  // still exist.
  ~app_fixture() {
    workers.drain(std::chrono::milliseconds(0));
    guard.reset();
    io.join();
  }
  app_fixture(const app_fixture&) = delete;
  app_fixture& operator=(const app_fixture&) = delete;

  // Hands a request to the routes on the I/O thread, as a session does, and waits for the
  // call to return (its answer may come later).
  void handle(server::http_request req) {
    std::promise<void> done;
    boost::asio::post(ioc, [&] {
      routes.handle(req, server::responder(sink, 0));
      done.set_value();
    });
    done.get_future().wait();
  }

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
  store::memory_store store{
      {.keep_newest = settings.retain_jobs, .keep_for = settings.retain_seconds}};
  jobs::service jobs{
      {.default_timeout = settings.default_timeout, .max_timeout = settings.max_timeout},
      types,
      workers,
      store};
  server::metrics stats;
  server::event_hub events{stats, 100};
  handlers::pipelines pipelines{types, settings};  // none: the fuzz settings name none
  server::routes routes{settings, jobs, pipelines, stats, events};
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard =
      boost::asio::make_work_guard(ioc);
  std::shared_ptr<wire_writer> sink = std::make_shared<wire_writer>(ioc.get_executor());
  std::thread io;
};

// libFuzzer's entry points are free functions, so the fixture is a function-local static.
inline app_fixture& fixture() {
  static app_fixture f;
  return f;
}

}  // namespace jobd::fuzz
