#include "server/app.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/json_writer.hpp"
#include "server/request_parsing.hpp"
#include "server/submit_body.hpp"

namespace jobd::server {
namespace {

using json = nlohmann::json;

constexpr std::size_t default_list_limit = 100;
constexpr std::size_t max_list_limit = 1000;

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

http_response json_response(unsigned status, const json& body) {
  // Messages may quote what a client sent, which need not be UTF-8: replace, never throw.
  return json_response(status, json_text(body));
}

// For an answer passed straight on: respond(with_route(error_response(...), route)).
http_response&& with_route(http_response&& r, std::string_view route) {
  r.route = route;
  return std::move(r);
}

http_response method_not_allowed(std::string_view allow, std::string_view route) {
  http_response r =
      error_response(405, "method_not_allowed", "this path allows only " + std::string(allow));
  r.headers.emplace_back("Allow", allow);
  r.route = route;
  return r;
}

// The status code of a finished job in sync mode: the one table for it.
unsigned sync_status(job_phase p) {
  switch (p) {
    case job_phase::succeeded:
      return 200;
    case job_phase::failed:
      return 500;
    case job_phase::timed_out:
      return 504;
    case job_phase::cancelled:
      return 409;
    case job_phase::queued:
    case job_phase::running:
      return 202;
  }
  return 500;
}

// A deferred answer that a job's completion and a timer race to give; the first one wins.
struct pending_answer {
  pending_answer(const responder& r, std::shared_ptr<job_record> rec)
      : respond(r), record(std::move(rec)) {}
  responder respond;
  std::shared_ptr<job_record> record;
  // Set before the job's completion can look at it, and only read by that completion.
  std::shared_ptr<timer_wait> timer;
  std::atomic<bool> answered{false};
  bool claim() { return !answered.exchange(true); }
};

// A job object as an answer; with `location`, naming the job's URL.
http_response job_object(const job_record& rec, std::string text, unsigned status,
                         std::string_view route, bool location = false) {
  http_response r = json_response(status, std::move(text));
  r.route = route;
  if (location) r.headers.emplace_back("Location", "/v1/jobs/" + std::string(rec.id.view()));
  return r;
}

// Why a `wait` query parameter is refused, with what is allowed.
std::string wait_refusal(const query_param& wait, std::chrono::milliseconds max) {
  if (wait.malformed) return "the query string has a malformed %-escape";
  return "query parameter wait must be true, false or a number of seconds in (0, " +
         std::to_string(max.count() / 1000) + "]";
}

}  // namespace

http_response error_response(unsigned status, std::string_view code, std::string_view message) {
  using namespace std::string_view_literals;
  std::string body;
  body.reserve(40 + code.size() + message.size());
  body += "{\"error\":{\"code\":"sv;
  append_json_string(body, code);
  body += ",\"message\":"sv;
  append_json_string(body, message);
  body += "}}"sv;
  return json_response(status, std::move(body));
}

app::app(const config::settings& settings, const handlers::registry& types, pool::pool& pool,
         job_store& store, metrics& metrics, timer_service& timers)
    : settings_(settings),
      types_(types),
      pool_(pool),
      store_(store),
      metrics_(metrics),
      timers_(timers),
      auth_(settings.auth_tokens) {}

const app::read_only_route app::read_only_routes[] = {
    {"/v1/job-types", &app::job_types}, {"/v1/pool", &app::pool_snapshot},
    {"/metrics", &app::metrics_text},   {"/healthz", &app::health},
    {"/readyz", &app::readiness},
};

bool app::needs_token(std::string_view path) const {
  if (!auth_.enabled()) return false;
  if (path == "/healthz") return settings_.auth_healthz;
  if (path == "/readyz") return settings_.auth_readyz;
  if (path == "/metrics") return settings_.auth_metrics;
  return path == "/v1" || path.starts_with("/v1/");
}

void app::handle(http_request req, responder respond) {
  try {
    route(req, respond);
  } catch (const std::exception& e) {
    // A bug in a route must cost one request, not the server. A route that already answered
    // makes this a second answer, which the session ignores.
    spdlog::error("internal error on {} {}: {}", req.method, req.target, e.what());
    respond(error_response(500, "internal_error", "internal error; see the server log"));
  }
}

void app::note_unread(std::string_view method, std::string_view target, http_response& answer) {
  answer.route = route_label(target.substr(0, target.find('?')));
  // Its body unread, the submission's priority is not known.
  if (answer.route == "/v1/jobs" && method == "POST") metrics_.count_invalid(pool::lane::normal);
}

void app::route(http_request& req, const responder& respond) {
  const std::string_view target = req.target;
  const auto qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query = qmark == std::string_view::npos ? "" : target.substr(qmark + 1);
  const std::string_view m = req.method;

  if (needs_token(path) && !auth_.accepts(req.authorization)) {
    // RFC 6750: say which scheme is wanted, and that the token was wrong if one was sent.
    const bool bearer = authenticator::is_bearer(req.authorization);
    http_response r = error_response(
        401, "unauthorized",
        req.authorization.empty() ? "this route needs an \"Authorization: Bearer TOKEN\" header"
        : bearer                  ? "the bearer token is not valid"
                                  : "the Authorization header is not of the form \"Bearer TOKEN\"");
    r.headers.emplace_back("WWW-Authenticate", bearer
                                                   ? R"(Bearer realm="jobd", error="invalid_token")"
                                                   : R"(Bearer realm="jobd")");
    // Refused before its body is read, like the session's own refusals.
    note_unread(m, target, r);
    return respond(std::move(r));
  }

  // HEAD is GET without the body (RFC 9110 9.3.2): the session leaves the body out.
  const bool get = m == "GET" || m == "HEAD";
  if (path == "/v1/jobs") {
    if (m == "POST") return submit(req, query, respond);
    if (get) return list_jobs(query, respond);
    return respond(method_not_allowed("GET, HEAD, POST", "/v1/jobs"));
  }
  if (route_label(path) == "/v1/jobs/{id}") {
    const std::string_view id = path.substr(path.rfind('/') + 1);
    if (get) return get_job(id, query, respond);
    if (m == "DELETE") return cancel_job(id, respond);
    return respond(method_not_allowed("GET, HEAD, DELETE", "/v1/jobs/{id}"));
  }

  for (const auto& r : read_only_routes) {
    if (path != r.path) continue;
    if (!get) return respond(method_not_allowed("GET, HEAD", r.path));
    return respond(with_route((this->*r.answer)(), r.path));
  }
  respond(error_response(404, "not_found", "no route for " + std::string(path)));
}

// The metrics label of a path: one of a fixed set, never the raw path, so that ids and stray
// paths do not each make a series.
std::string_view app::route_label(std::string_view path) {
  constexpr std::string_view jobs = "/v1/jobs";
  constexpr std::string_view jobs_prefix = "/v1/jobs/";
  if (path == jobs) return jobs;
  for (const auto& r : read_only_routes) {
    if (path == r.path) return r.path;
  }
  if (path.starts_with(jobs_prefix) && path.size() > jobs_prefix.size() &&
      path.find('/', jobs_prefix.size()) == std::string_view::npos) {
    return "/v1/jobs/{id}";
  }
  return "other";
}

http_response app::metrics_text() const {
  http_response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.render(pool_.stats());
  return r;
}

http_response app::health() const {
  return json_response(200, json{{"status", "ok"}});
}

http_response app::readiness() const {
  if (draining_.load(std::memory_order_relaxed)) {
    return error_response(503, "shutting_down", "the server is draining for shutdown");
  }
  return json_response(200, json{{"status", "ready"}});
}

void app::submit(const http_request& req, std::string_view query, const responder& respond) {
  static constexpr std::string_view route = "/v1/jobs";
  pool::lane lane = pool::lane::normal;
  auto invalid = [&](unsigned status, std::string_view code, const std::string& message) {
    metrics_.count_invalid(lane);
    respond(with_route(error_response(status, code, message), route));
  };

  // The query is answered for first, but the refusal is counted under the body's priority
  // when the body says one.
  auto invalid_query = [&](const std::string& message) {
    lane = read_submit_body(req.body, settings_.max_timeout).priority;
    invalid(400, "invalid_field", message);
  };
  // A submission takes nothing else: a misspelt wait would make it asynchronous unnoticed.
  // Reads ignore what they do not know, as reads do (cache-busting parameters, say).
  if (const auto unknown = unknown_query_param(query, {"wait"})) {
    return invalid_query(unknown_param_refusal(*unknown, {"wait"}));
  }
  const query_param wait_param = find_query_param(query, "wait");
  const auto wait =
      wait_param.malformed ? std::nullopt : parse_wait(wait_param.value, settings_.max_timeout);
  if (!wait) return invalid_query(wait_refusal(wait_param, settings_.max_timeout));

  submit_body body = read_submit_body(req.body, settings_.max_timeout);
  lane = body.priority;
  if (!body.error_code.empty()) return invalid(400, body.error_code, body.error_message);
  const handlers::job_type* type = types_.find(body.type);
  if (type == nullptr) {
    return invalid(400, "unknown_type",
                   "unknown job type \"" + body.type + "\"; known types: " + types_.names());
  }
  const std::chrono::milliseconds timeout = body.timeout.value_or(
      type->default_timeout.count() > 0 ? type->default_timeout : settings_.default_timeout);
  // Under overload most submissions are refused: refuse those before the payload is built and
  // checked by its type, the dearest part of a submission, and before building a job.
  pool::admit_result admitted = pool_.admit(lane);
  if (!admitted) return respond(with_route(queue_full(lane, admitted.refused()), route));
  json payload = take_payload(body);
  if (type->validate) {
    try {
      type->validate(payload);
    } catch (const handlers::job_error& e) {
      return invalid(400, e.code(), e.what());
    }
  }
  auto rec = store_.make(std::move(body.type), lane, timeout);
  pool::job_request job{
      .priority = lane,
      .timeout = timeout,
      .work =
          [rec, type, payload = std::move(payload), this](const pool::job_context& ctx) {
            store_.mark_running(*rec);
            store_.set_result(*rec, type->run(payload, ctx));
          },
      .on_done =
          [rec, this](const pool::job_outcome& outcome) {
            metrics_.observe_run(rec->type, outcome);
            store_.finish(*rec, outcome);
          }};
  const pool::job_handle handle = type->cheap ? pool_.run_here(admitted.take(), std::move(job))
                                              : pool_.submit(admitted.take(), std::move(job));
  store_.insert(rec, handle);

  if (!wait->wanted) return respond(job_response(*rec, 202, route, true));
  // Without a limit the job's deadline bounds the wait: handlers return once stopped.
  answer_when_done(rec, wait->limit, {.pending_status = 202, .sync_codes = true, .route = route},
                   respond);
}

void app::answer_when_done(const std::shared_ptr<job_record>& rec,
                           std::optional<std::chrono::milliseconds> limit, job_answer how,
                           const responder& respond) {
  // A job already over (a cheap one run on the I/O thread, say): no wait to arrange.
  if (is_terminal(store_.phase(*rec))) return respond(job_as_it_stands(*rec, how));
  auto answer = std::make_shared<pending_answer>(respond, rec);
  auto reply = [this, how](pending_answer& a) {
    if (a.claim()) a.respond(job_as_it_stands(*a.record, how));
  };
  // The store's waiter owns the answer; the timer only looks in. The job's end cancels the
  // timer, so an answered request holds nothing until its limit (up to max_timeout) would pass.
  if (limit) {
    answer->timer = timers_.after(*limit, [weak = std::weak_ptr<pending_answer>(answer), reply] {
      if (auto a = weak.lock()) reply(*a);
    });
  }
  auto on_end = [answer, reply] {
    if (answer->timer) answer->timer->cancel();
    reply(*answer);
  };
  if (!store_.wait(*rec, on_end)) on_end();
}

void app::get_job(std::string_view id, std::string_view query, const responder& respond) {
  static constexpr std::string_view route = "/v1/jobs/{id}";
  auto rec = store_.find(id);
  if (!rec) {
    return respond(
        with_route(error_response(404, "not_found", "no job with id " + std::string(id)), route));
  }
  const query_param wait_param = find_query_param(query, "wait");
  const auto wait =
      wait_param.malformed ? std::nullopt : parse_wait(wait_param.value, settings_.max_timeout);
  if (!wait) {
    return respond(with_route(
        error_response(400, "invalid_field", wait_refusal(wait_param, settings_.max_timeout)),
        route));
  }
  if (!wait->wanted) return respond(job_response(*rec, 200, route));
  // Without a limit the job's deadline bounds the wait: it is terminal soon after.
  answer_when_done(rec, wait->limit, {.pending_status = 200, .sync_codes = false, .route = route},
                   respond);
}

void app::cancel_job(std::string_view id, const responder& respond) {
  static constexpr std::string_view route = "/v1/jobs/{id}";
  auto rec = store_.find(id);
  if (!rec) {
    return respond(
        with_route(error_response(404, "not_found", "no job with id " + std::string(id)), route));
  }
  auto already_finished = [&] {
    // The pool may have ended the job an instant before the store hears of it.
    const job_phase p = store_.phase(*rec);
    const std::string state =
        is_terminal(p) ? "is already " + std::string(to_string(p)) : "has already finished";
    respond(with_route(
        error_response(409, "already_finished", "job " + std::string(rec->id.view()) + " " + state),
        route));
  };
  const auto handle = store_.begin_cancel(*rec);
  if (!handle) return already_finished();
  switch (pool_.cancel(*handle)) {
    case pool::cancel_result::cancelled:
      return respond(job_response(*rec, 200, route));
    case pool::cancel_result::stopping: {
      // The pool started the job an instant before its work told the store, or has ended it
      // since it answered: the status goes with the job as shown.
      store_.mark_running(*rec);
      job_phase shown{};
      std::string text = store_.render(*rec, &shown);
      return respond(job_object(*rec, std::move(text), is_terminal(shown) ? 200 : 202, route));
    }
    case pool::cancel_result::already_finished:
      return already_finished();
  }
}

void app::list_jobs(std::string_view query, const responder& respond) {
  static constexpr std::string_view route = "/v1/jobs";
  const query_param status = find_query_param(query, "status");
  const query_param limit_param = find_query_param(query, "limit");
  if (status.malformed) {
    return respond(
        with_route(error_response(400, "invalid_field", "malformed query string"), route));
  }
  std::optional<job_phase> phase;
  if (const auto& s = status.value) {
    phase = phase_from(*s);
    if (!phase) {
      return respond(with_route(
          error_response(
              400, "invalid_field",
              "status must be one of queued, running, succeeded, failed, timed_out, cancelled"),
          route));
    }
  }
  std::size_t limit = default_list_limit;
  if (const auto& l = limit_param.value) {
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc{} || ptr != l->data() + l->size() || n < 1 || n > max_list_limit) {
      return respond(with_route(
          error_response(400, "invalid_field",
                         "limit must be an integer 1.." + std::to_string(max_list_limit)),
          route));
    }
    limit = n;
  }
  respond(with_route(json_response(200, store_.list(phase, limit)), route));
}

http_response app::job_types() const {
  json list = json::array();
  for (const handlers::job_type* t : types_.all()) {
    const auto timeout =
        t->default_timeout.count() > 0 ? t->default_timeout : settings_.default_timeout;
    list.push_back({{"name", t->name}, {"kind", t->kind}, {"default_timeout_ms", timeout.count()}});
  }
  return json_response(200, json{{"job_types", std::move(list)}});
}

http_response app::pool_snapshot() const {
  const pool::pool_stats s = pool_.stats();
  json lanes = json::object();
  for (auto l : {pool::lane::high, pool::lane::normal}) {
    const auto& ls = s.of(l);
    json finished = json::object();
    for (auto st : {pool::job_status::succeeded, pool::job_status::failed,
                    pool::job_status::timed_out, pool::job_status::cancelled}) {
      finished[std::string(pool::to_string(st))] = ls.finished[static_cast<std::size_t>(st)];
    }
    lanes[std::string(pool::to_string(l))] = {
        {"depth", ls.depth},
        {"capacity", ls.capacity},
        {"oldest_wait_seconds", ls.oldest_wait_seconds},
        {"submitted", ls.submitted},
        {"rejected",
         {{"queue_full", ls.rejected_queue_full}, {"shutting_down", ls.rejected_shutting_down}}},
        {"finished", std::move(finished)},
        {"recent_run_ms", ls.recent_run_seconds * 1000.0},
    };
  }
  const char* state = s.state == pool::pool_state::running    ? "running"
                      : s.state == pool::pool_state::draining ? "draining"
                                                              : "stopped";
  return json_response(200, json{{"state", state},
                                 {"workers",
                                  {{"min", s.workers_min},
                                   {"max", s.workers_max},
                                   {"reserved_high", s.reserved_high},
                                   {"alive", s.workers},
                                   {"busy", s.busy},
                                   {"idle", s.idle}}},
                                 {"lanes", std::move(lanes)}});
}

http_response app::queue_full(pool::lane lane, const pool::refusal& refused) const {
  http_response r;
  if (refused.why == pool::submit_error::shutting_down) {
    r = error_response(503, "shutting_down",
                       "the server is draining for shutdown; retry elsewhere");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  // Retry-After is the time the lane needs to drain at its recent pace:
  // depth x recent mean run time / workers serving the lane, clamped to [1, 60] s.
  const pool::lane_load& ls = refused.load;
  const double seconds = static_cast<double>(ls.depth) * ls.recent_run_seconds /
                         static_cast<double>(std::max<std::size_t>(ls.serving_workers, 1));
  const long retry = std::clamp(static_cast<long>(std::ceil(seconds)), 1L, 60L);
  // Under overload this is the answer to most requests, so it is written straight out: every
  // part of it is plain text, nothing needs escaping.
  std::string retry_text;
  append_decimal(retry_text, static_cast<std::uint64_t>(retry));
  r.status = 503;
  r.body.reserve(112);
  using namespace std::string_view_literals;
  r.body += R"({"error":{"code":"queue_full","message":"the )"sv;
  r.body += pool::to_string(lane);
  r.body += " lane is full ("sv;
  append_decimal(r.body, ls.capacity);
  r.body += ls.capacity == 1 ? " job); retry after "sv : " jobs); retry after "sv;
  r.body += retry_text;
  r.body += " s\"}}\n"sv;
  r.headers.emplace_back("Retry-After", std::move(retry_text));
  return r;
}

http_response app::job_as_it_stands(const job_record& rec, job_answer how) const {
  job_phase phase{};
  std::string text = store_.render(rec, &phase);
  if (is_terminal(phase)) {
    return job_object(rec, std::move(text), how.sync_codes ? sync_status(phase) : 200, how.route);
  }
  // Still under way: a 202 says where to look for the job's end.
  return job_object(rec, std::move(text), how.pending_status, how.route, how.pending_status == 202);
}

http_response app::job_response(const job_record& rec, unsigned status, std::string_view route,
                                bool location) const {
  return job_object(rec, store_.render(rec), status, route, location);
}

}  // namespace jobd::server
