#pragma once

// The v1 API and the operational routes: parses and validates requests, submits jobs to the pool,
// answers from the job store, and maps every outcome to a status code in one place.
//
// Thread-safety: handle() may be called from any I/O thread concurrently. Routes that read state
// (status, metrics, health, pool) answer inline and never block; job results come back through
// the responder from the thread that finished the job.

#include <atomic>

#include "config/settings.hpp"
#include "handlers/registry.hpp"
#include "pool/pool.hpp"
#include "server/auth.hpp"
#include "server/http_types.hpp"
#include "server/job_store.hpp"
#include "server/metrics.hpp"

namespace jobd::server {

class app {
 public:
  app(const config::settings& settings, const handlers::registry& types, pool::pool& pool,
      job_store& store, metrics& metrics, timer_service& timers);

  void handle(http_request req, responder respond);
  // Labels a refusal given before the request's body was read (the session's 413, 431 or 400,
  // a 401) with the request's route, and counts it as the routes count their refusals.
  // `method` and `target` are "" when the request line was not read.
  void note_unread(std::string_view method, std::string_view target, http_response& answer);

  // /readyz answers 503 from now on.
  void begin_shutdown() noexcept { draining_.store(true, std::memory_order_relaxed); }

 private:
  void route(http_request& req, const responder& respond);
  // Whether `path` needs a bearer token under the settings.
  bool needs_token(std::string_view path) const;
  void submit(const http_request& req, std::string_view query, const responder& respond);
  void get_job(std::string_view id, std::string_view query, const responder& respond);
  void cancel_job(std::string_view id, const responder& respond);
  void list_jobs(std::string_view query, const responder& respond);
  // The routes that only read state: GET only, answered at once. One table, which also names
  // these routes for the metrics.
  struct read_only_route {
    std::string_view path;
    http_response (app::*answer)() const;
  };
  static const read_only_route read_only_routes[];
  static std::string_view route_label(std::string_view path);

  http_response job_types() const;
  http_response pool_snapshot() const;
  http_response metrics_text() const;
  http_response health() const;
  http_response readiness() const;
  http_response queue_full(pool::lane lane, const pool::refusal& refused) const;
  // How a job object answers: with which status while the job is under way (a 202 also names
  // the job's URL), with the sync status table or 200 once it is terminal, under which route.
  struct job_answer {
    unsigned pending_status;
    bool sync_codes;
    std::string_view route;
  };
  // Answers `respond` when `rec` is terminal, or after `limit`, if one is given, with the job as
  // it stands.
  void answer_when_done(const std::shared_ptr<job_record>& rec,
                        std::optional<std::chrono::milliseconds> limit, job_answer how,
                        const responder& respond);
  // The job object with the status `how` gives its phase, both read at one instant: a body
  // that shows the job over never comes with a status that says it is under way.
  http_response job_as_it_stands(const job_record& rec, job_answer how) const;
  http_response job_response(const job_record& rec, unsigned status, std::string_view route,
                             bool location = false) const;

  const config::settings& settings_;
  const handlers::registry& types_;
  pool::pool& pool_;
  job_store& store_;
  metrics& metrics_;
  timer_service& timers_;
  const authenticator auth_;
  std::atomic<bool> draining_{false};
};

// {"error": {"code": ..., "message": ...}}
http_response error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace jobd::server
