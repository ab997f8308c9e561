// The routes' waits (?wait=N) and cancels, driven in-process with a timer service the test
// controls.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "handlers/registry.hpp"
#include "pool/pool.hpp"
#include "server/app.hpp"
#include "server/job_store.hpp"
#include "server/metrics.hpp"

namespace jobd::server {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Keeps every wait it is given; a test fires them or looks whether they were cancelled.
class held_timers final : public timer_service {
 public:
  struct held : timer_wait {
    explicit held(std::function<void()> f) : fn(std::move(f)) {}
    // Keeps `fn`, as a real timer may for a while: what it holds must not matter.
    void cancel() override { cancelled = true; }
    std::function<void()> fn;
    bool cancelled = false;
  };

  std::shared_ptr<timer_wait> after(std::chrono::milliseconds, std::function<void()> fn) override {
    std::lock_guard lk(mu_);
    return waits_.emplace_back(std::make_shared<held>(std::move(fn)));
  }

  std::vector<std::shared_ptr<held>> waits() {
    std::lock_guard lk(mu_);
    return waits_;
  }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<held>> waits_;
};

// Collects the answers, whichever thread gives them.
class answers final : public answer_sink {
 public:
  void deliver(std::uint64_t request, http_response&& res) override {
    std::lock_guard lk(mu_);
    got_.emplace_back(request, std::move(res));
    cv_.notify_all();
  }
  // The answers to `request` once it has one (at most 10 s).
  std::vector<http_response> to(std::uint64_t request) {
    std::unique_lock lk(mu_);
    std::vector<http_response> out;
    cv_.wait_for(lk, 10s, [&] {
      out.clear();
      for (const auto& [r, res] : got_)
        if (r == request) out.push_back(res);
      return !out.empty();
    });
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint64_t, http_response>> got_;
};

struct routes_fixture {
  routes_fixture() {
    handlers::add_builtins(types);
    // Ends when the test opens the gate, so that a wait is arranged before the job is over.
    types.add({.name = "gated",
               .kind = "builtin",
               .run = [gate = gate_open](const json&, const pool::job_context&) {
                 gate.wait();
                 return json(nullptr);
               }});
  }
  // Jobs refer to the routes, store and metrics, destroyed before the pool: end them first.
  ~routes_fixture() { workers.drain(0ms); }

  std::promise<void> gate;
  std::shared_future<void> gate_open = gate.get_future().share();
  config::settings settings = [] {
    config::settings s;
    s.retain_jobs = 1;
    return s;
  }();
  handlers::registry types;
  pool::pool workers{{.workers_min = 2, .workers_max = 2, .reserved_high = 1}};
  job_store store{settings.retain_jobs, settings.retain_seconds};
  metrics stats;
  held_timers timers;
  app routes{settings, types, workers, store, stats, timers};
  std::shared_ptr<answers> sink = std::make_shared<answers>();

  void post(std::uint64_t request, std::string_view target, std::string_view body) {
    routes.handle({.method = "POST", .target = target, .body = body}, responder(sink, request));
  }
};

// A request answered at its job's end must not keep the job's record, or a timer, until its
// limit would have passed (up to max_timeout_ms): with quick jobs and long limits that is
// memory growing with the request rate.
TEST(RouteWaits, AJobsEndCancelsTheWaitsTimerAndKeepsNothingAlive) {
  routes_fixture f;
  f.post(1, "/v1/jobs?wait=3600", R"({"type":"gated"})");
  f.gate.set_value();
  const auto first = f.sink->to(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].status, 200) << first[0].body;
  const auto waits = f.timers.waits();
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_TRUE(waits[0]->cancelled);
  const std::weak_ptr<job_record> record =
      f.store.find(json::parse(first[0].body)["id"].get<std::string>());
  ASSERT_FALSE(record.expired());
  f.post(2, "/v1/jobs?wait=true", R"({"type":"noop"})");  // the store keeps only the newest
  ASSERT_EQ(f.sink->to(2).size(), 1u);
  // The worker that ended the job may still be unwinding: once the pool has stopped, nothing
  // but a leak can hold the record.
  f.workers.drain(0ms);
  EXPECT_TRUE(record.expired());
  waits[0]->fn();  // had it fired anyway, it would answer nothing more
  EXPECT_EQ(f.sink->to(1).size(), 1u);
}

// A limit that passes first answers with the job as it stands; the job's end answers nothing more.
TEST(RouteWaits, ALimitThatPassesFirstAnswersOnceWithTheJobUnderWay) {
  routes_fixture f;
  f.post(1, "/v1/jobs?wait=1", R"({"type":"sleep","payload":{"ms":60000}})");
  const auto waits = f.timers.waits();
  ASSERT_EQ(waits.size(), 1u);
  waits[0]->fn();
  const auto first = f.sink->to(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].status, 202);
  const std::string id = json::parse(first[0].body)["id"];
  f.routes.handle({.method = "DELETE", .target = "/v1/jobs/" + id}, responder(f.sink, 2));
  ASSERT_EQ(f.sink->to(2).size(), 1u);
  f.routes.handle({.method = "GET", .target = "/v1/jobs/" + id + "?wait=true"},
                  responder(f.sink, 3));
  const auto end = f.sink->to(3);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(json::parse(end[0].body)["status"], "cancelled");
  f.workers.drain(0ms);  // every completion, and so every answer, has been given
  EXPECT_EQ(f.sink->to(1).size(), 1u);
}

// A DELETE races the job's start and its end: whatever it finds, its status and the job it
// shows agree. The pool may have started the job an instant before the store hears of it, or
// ended it an instant after answering "stopping".
TEST(RouteCancel, ADeletesStatusAgreesWithTheJobItShows) {
  routes_fixture f;
  for (std::uint64_t n = 10; n < 10 + 2 * 2000; n += 2) {
    f.post(n, "/v1/jobs", R"({"type":"sleep","payload":{"ms":0}})");
    const auto submitted = f.sink->to(n);
    ASSERT_EQ(submitted.size(), 1u);
    ASSERT_EQ(submitted[0].status, 202) << submitted[0].body;
    const std::string id = json::parse(submitted[0].body)["id"];
    f.routes.handle({.method = "DELETE", .target = "/v1/jobs/" + id}, responder(f.sink, n + 1));
    const auto del = f.sink->to(n + 1);
    ASSERT_EQ(del.size(), 1u);
    const http_response& r = del[0];
    if (r.status == 404 || r.status == 409) continue;  // over (and perhaps evicted) already
    const std::string status = json::parse(r.body)["status"];
    if (r.status == 202) {
      ASSERT_EQ(status, "running") << "202 for job " << id << ": " << r.body;
    } else {
      ASSERT_EQ(r.status, 200u) << r.body;
      ASSERT_TRUE(status == "cancelled" || status == "succeeded" || status == "timed_out")
          << "200 for job " << id << ": " << r.body;
    }
  }
}

}  // namespace
}  // namespace jobd::server
