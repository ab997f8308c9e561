// The routes driven in process: requests in, answers out, with the job service behind them on
// a real pool, as the session drives them (on its executor).
#include "server/api/routes.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../jobs/service_fixture.hpp"

namespace jobd::server {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Collects the answers, whichever thread gives them; its requests are handled on `ex`.
class answers final : public answer_sink {
 public:
  explicit answers(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  void deliver(std::uint64_t request, http_response&& res) override {
    std::lock_guard lk(mu_);
    got_.emplace_back(request, std::move(res));
    cv_.notify_all();
  }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const override { return ex_; }
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
  boost::asio::any_io_executor ex_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::uint64_t, http_response>> got_;
};

struct routes_fixture : jobs::testing::service_fixture {
  routes_fixture() : service_fixture({.workers_min = 2, .workers_max = 2, .reserved_high = 1}) {}

  config::settings settings;
  metrics stats;
  event_hub events{stats, 100};
  handlers::registry no_pipeline_types;
  handlers::pipelines pipelines{no_pipeline_types, settings};
  routes api{settings, jobs, pipelines, stats, events};
  std::shared_ptr<answers> sink = std::make_shared<answers>(ioc.get_executor());

  void request(std::uint64_t n, std::string_view method, std::string target,
               std::string body = "") {
    on_io([&] {
      api.handle({.method = method, .target = target, .body = body}, responder(sink, n));
    });
  }
};

TEST(Routes, ASyncSubmissionIsAnsweredWithTheJobAtItsEnd) {
  routes_fixture f;
  f.request(1, "POST", "/v1/jobs?wait=true", R"({"type":"echo","payload":{"n":1}})");
  const auto got = f.sink->to(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, 200) << got[0].body;
  EXPECT_EQ(got[0].route, "/v1/jobs");
  EXPECT_EQ(json::parse(got[0].body)["result"], json::parse(R"({"n":1})"));
}

// A limit that passes first answers with the job as it stands; the job's end answers nothing
// more.
TEST(Routes, AWaitsLimitAnswersOnceWithTheJobUnderWay) {
  routes_fixture f;
  f.request(1, "POST", "/v1/jobs?wait=0.01", R"({"type":"gated"})");
  const auto first = f.sink->to(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].status, 202);
  const std::string id = json::parse(first[0].body)["id"];
  EXPECT_EQ(first[0].headers.front().second, "/v1/jobs/" + id);  // Location
  f.request(2, "DELETE", "/v1/jobs/" + id);
  ASSERT_EQ(f.sink->to(2).size(), 1u);
  f.request(3, "GET", "/v1/jobs/" + id + "?wait=true");
  const auto end = f.sink->to(3);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(json::parse(end[0].body)["status"], "cancelled");
  f.workers.drain(0ms);  // every completion, and so every answer, has been given
  f.on_io([] {});
  EXPECT_EQ(f.sink->to(1).size(), 1u);
}

// A DELETE races the job's start and its end: whatever it finds, its status and the job it
// shows agree.
TEST(Routes, ADeletesStatusAgreesWithTheJobItShows) {
  routes_fixture f;
  for (std::uint64_t n = 10; n < 10 + 2 * 2000; n += 2) {
    f.request(n, "POST", "/v1/jobs", R"({"type":"sleep","payload":{"ms":0}})");
    const auto submitted = f.sink->to(n);
    ASSERT_EQ(submitted.size(), 1u);
    ASSERT_EQ(submitted[0].status, 202) << submitted[0].body;
    const std::string id = json::parse(submitted[0].body)["id"];
    f.request(n + 1, "DELETE", "/v1/jobs/" + id);
    const auto del = f.sink->to(n + 1);
    ASSERT_EQ(del.size(), 1u);
    const http_response& r = del[0];
    if (r.status == 404 || r.status == 409) continue;  // over (and perhaps forgotten) already
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

// The root answers with the routes, so that opening it teaches what there is.
TEST(Routes, TheRootListsEveryOtherRouteWithItsMethods) {
  routes_fixture f;
  f.request(1, "GET", "/");
  const auto r = f.sink->to(1).at(0);
  ASSERT_EQ(r.status, 200u);
  const json index = json::parse(r.body);
  EXPECT_EQ(index["service"], "jobd");
  std::vector<std::string> paths;
  for (const auto& route : index["routes"]) paths.push_back(route["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/retry", "/v1/job-types",
                       "/v1/pool", "/v1/pool/lanes/{id}/pause", "/v1/pool/lanes/{id}/resume",
                       "/v1/events", "/metrics", "/healthz", "/readyz", "/ui/{id}"}));
  EXPECT_EQ(index["routes"][0]["methods"], "GET, HEAD, POST");
}

// Every route's answer carries the route's label, from the one table routing uses too.
TEST(Routes, TheLabelOfEveryAnswerIsItsRoutesPath) {
  routes_fixture f;
  const std::vector<std::tuple<std::string, std::string, unsigned, std::string>> cases = {
      {"GET", "/v1/jobs", 200, "/v1/jobs"},
      {"GET", "/v1/jobs/0123456789abcdef", 404, "/v1/jobs/{id}"},
      {"PUT", "/v1/jobs/x", 405, "/v1/jobs/{id}"},
      {"GET", "/v1/job-types", 200, "/v1/job-types"},
      {"GET", "/v1/pool", 200, "/v1/pool"},
      {"POST", "/v1/pool/lanes/low/pause", 404, "/v1/pool/lanes/{id}/pause"},
      {"HEAD", "/metrics", 200, "/metrics"},
      {"GET", "/healthz", 200, "/healthz"},
      {"POST", "/readyz", 405, "/readyz"},
      {"GET", "/", 200, "/"},
      {"GET", "/v1/jobs/x/retry", 405, "/v1/jobs/{id}/retry"},
      {"POST", "/v1/jobs/0123456789abcdef/retry", 404, "/v1/jobs/{id}/retry"},
      {"POST", "/v1/jobs//retry", 404, "other"},
      {"POST", "/v1/jobs/a/b/retry", 404, "other"},
      {"GET", "/v1/jobs/a/b", 404, "other"},
      {"GET", "/nowhere", 404, "other"},
  };
  std::uint64_t n = 100;
  for (const auto& [method, target, status, label] : cases) {
    f.request(++n, method, target);
    const auto got = f.sink->to(n);
    ASSERT_EQ(got.size(), 1u) << method << " " << target;
    EXPECT_EQ(got[0].status, status) << method << " " << target << ": " << got[0].body;
    EXPECT_EQ(got[0].route, label) << method << " " << target;
  }
}

}  // namespace
}  // namespace jobd::server
