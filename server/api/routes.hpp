#pragma once

// The HTTP API: each route reads its request, makes one call on the job service and turns what
// comes back into an answer. One table names the routes, for routing and for the metrics'
// route labels alike; one place maps the service's outcomes to status codes.
//
// Thread-safety: handle() may be called from any I/O thread concurrently, each call on its
// session's executor. Routes that read state (pool, metrics, health) answer inline and never
// block; answers about jobs come back through the responder on the session's executor.

#include <atomic>
#include <mutex>

#include "common/json_writer.hpp"
#include "config/settings.hpp"
#include "handlers/pipeline.hpp"
#include "jobs/job_object.hpp"
#include "jobs/service.hpp"
#include "server/api/auth.hpp"
#include "server/api/event_hub.hpp"
#include "server/api/submit_body.hpp"
#include "server/http/http_types.hpp"
#include "server/obs/metrics.hpp"

namespace jobd::server {

class routes final : public request_handler {
 public:
  routes(const config::settings& settings, jobs::service& jobs,
         const handlers::pipelines& pipelines, metrics& metrics, event_hub& events);

  void handle(http_request req, responder respond) override;
  void note_unread(std::string_view method, std::string_view target,
                   http_response& answer) override;

  // /readyz answers 503 from now on.
  void begin_shutdown() noexcept { draining_.store(true, std::memory_order_relaxed); }

 private:
  // One request on its way through a route.
  struct call {
    const http_request& req;
    std::string_view query;
    std::string_view id;  // the {id} of a route that has one
    std::string_view route;
    const responder& respond;
  };
  // A route: its path (fixed, or ending in "/{id}": one more path segment), and what answers
  // each method it allows. GET also answers HEAD.
  struct route_entry {
    std::string_view path;
    std::string_view allow;
    void (routes::*get)(const call&);
    void (routes::*post)(const call&);
    void (routes::*del)(const call&);
    void (routes::*patch)(const call&) = nullptr;
  };
  static const route_entry table[];
  // The route of `path`, and its {id}; nullptr when none matches.
  static const route_entry* match(std::string_view path, std::string_view& id);
  static std::string_view route_label(std::string_view path);

  void dispatch(const http_request& req, const responder& respond);
  // Whether `path` needs a bearer token under the settings.
  [[nodiscard]] bool needs_token(std::string_view path) const;

  void submit(const call& c);
  void list_jobs(const call& c);
  void get_job(const call& c);
  void cancel_job(const call& c);
  void retry_job(const call& c);
  void job_types(const call& c);
  void pool_snapshot(const call& c);
  void resize_pool(const call& c);
  void pause_lane(const call& c);
  void resume_lane(const call& c);
  // Pauses or resumes the lane the call's {id} names.
  void set_lane_paused(const call& c, bool paused);
  void events(const call& c);
  void metrics_text(const call& c);
  void health(const call& c);
  void readiness(const call& c);
  void index(const call& c);
  void ui_file(const call& c);
  // A file of the dashboard, or a 404.
  [[nodiscard]] static http_response ui_answer(std::string_view name, std::string_view route);

  // How a job answers: with which status while it is under way (a 202 also names the job's
  // URL), with the sync table's status or 200 once it is terminal, under which route.
  struct job_answer {
    unsigned pending_status;
    bool sync_codes;
    std::string_view route;
    bool replayed = false;  // a submission answered with the job an earlier one made
    jobs::with_payload payload = jobs::with_payload::no;
  };
  // Answers when the job is terminal, or after `limit`, if given, with the job as it stands.
  void answer_when_done(const store::job_record& job,
                        std::optional<std::chrono::milliseconds> limit, job_answer how,
                        const responder& respond);
  [[nodiscard]] http_response job_as_it_stands(const store::job_record& job, job_answer how);
  [[nodiscard]] http_response job_response(const store::job_record& job, unsigned status,
                                           std::string_view route, bool location = false,
                                           jobs::with_payload payload = jobs::with_payload::no);
  // The answer to a refused submission, counted when it is the client's mistake.
  [[nodiscard]] http_response refused(const jobs::refusal& why, pool::lane lane);
  // The answer when the store could not be read.
  [[nodiscard]] static http_response store_unavailable(const store::store_error& e,
                                                       std::string_view route);

  const config::settings& settings_;
  const submit_limits limits_;
  jobs::service& jobs_;
  const handlers::pipelines& pipelines_;
  metrics& metrics_;
  event_hub& events_;
  const authenticator auth_;
  std::atomic<bool> draining_{false};
  // Job objects written in one second share the text of their times.
  std::mutex times_mu_;
  json_time_writer times_;  // guarded by times_mu_
};

}  // namespace jobd::server
