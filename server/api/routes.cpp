#include "server/api/routes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/fnv1a.hpp"
#include "jobs/job_object.hpp"
#include "server/api/pool_object.hpp"
#include "server/api/pool_resize.hpp"
#include "server/api/submit_body.hpp"
#include "server/api/ui_assets.hpp"
#include "server/http/request_parsing.hpp"

namespace jobd::server {
namespace {

constexpr std::size_t default_list_limit = 100;
constexpr std::size_t max_list_limit = 1000;
constexpr std::string_view id_segment = "{id}";

http_response json_response(unsigned status, std::string body, std::string_view route) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.body += '\n';
  r.route = route;
  return r;
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

http_response not_found(std::string_view id, std::string_view route) {
  return with_route(error_response(404, "not_found", "no job with id " + std::string(id)), route);
}

// The status code of a finished job in sync mode: the one table for it.
unsigned sync_status(store::job_status s) {
  switch (s) {
    case store::job_status::succeeded:
      return 200;
    case store::job_status::failed:
      return 500;
    case store::job_status::timed_out:
      return 504;
    case store::job_status::cancelled:
      return 409;
    case store::job_status::queued:
    case store::job_status::running:
    case store::job_status::scheduled:
      return 202;
  }
  return 500;
}

// Why a `wait` query parameter is refused, with what is allowed.
std::string wait_refusal(const query_param& wait, std::chrono::milliseconds max) {
  if (wait.malformed) return "the query string has a malformed %-escape";
  return "query parameter wait must be true, false or a number of seconds in (0, " +
         std::to_string(max.count() / 1000) + "]";
}

// Pool control once the drain has begun: the pool is left as the drain needs it.
http_response draining_refusal() {
  http_response r = error_response(503, "shutting_down",
                                   "the server is draining for shutdown; the pool is not changed");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A yes-or-no query parameter: absent is no, present with no value is yes, as `wait` is.
std::optional<bool> flag_of(const query_param& p) {
  if (p.malformed) return std::nullopt;
  if (!p.value || *p.value == "false") return false;
  if (p.value->empty() || *p.value == "true") return true;
  return std::nullopt;
}

std::optional<wait_spec> wait_of(const query_param& wait, std::chrono::milliseconds max) {
  return wait.malformed ? std::nullopt : parse_wait(wait.value, max);
}

}  // namespace

routes::routes(const config::settings& settings, jobs::service& jobs,
               const handlers::pipelines& pipelines, metrics& metrics, event_hub& events)
    : settings_(settings),
      limits_{.max_timeout = settings.max_timeout,
              .max_attempts = settings.max_attempts_limit,
              .max_backoff = settings.retry_backoff_max,
              .max_delay = settings.max_schedule},
      jobs_(jobs),
      pipelines_(pipelines),
      metrics_(metrics),
      events_(events),
      auth_(settings.auth_tokens) {}

const routes::route_entry routes::table[] = {
    {"/v1/jobs", "GET, HEAD, POST", &routes::list_jobs, &routes::submit, nullptr},
    {"/v1/jobs/{id}", "GET, HEAD, DELETE", &routes::get_job, nullptr, &routes::cancel_job},
    {"/v1/jobs/{id}/retry", "POST", nullptr, &routes::retry_job, nullptr},
    {"/v1/job-types", "GET, HEAD", &routes::job_types, nullptr, nullptr},
    {"/v1/pool", "GET, HEAD, PATCH", &routes::pool_snapshot, nullptr, nullptr,
     &routes::resize_pool},
    {"/v1/pool/lanes/{id}/pause", "POST", nullptr, &routes::pause_lane, nullptr},
    {"/v1/pool/lanes/{id}/resume", "POST", nullptr, &routes::resume_lane, nullptr},
    {"/v1/events", "GET, HEAD", &routes::events, nullptr, nullptr},
    {"/metrics", "GET, HEAD", &routes::metrics_text, nullptr, nullptr},
    {"/healthz", "GET, HEAD", &routes::health, nullptr, nullptr},
    {"/readyz", "GET, HEAD", &routes::readiness, nullptr, nullptr},
    {"/ui/{id}", "GET, HEAD", &routes::ui_file, nullptr, nullptr},
    {"/", "GET, HEAD", &routes::index, nullptr, nullptr},
};

const routes::route_entry* routes::match(std::string_view path, std::string_view& id) {
  for (const route_entry& r : table) {
    const auto at = r.path.find(id_segment);
    if (at == std::string_view::npos) {
      if (path == r.path) return &r;
      continue;
    }
    // The id is one segment: what lies between the route's text before and after it.
    const std::string_view prefix = r.path.substr(0, at);
    const std::string_view suffix = r.path.substr(at + id_segment.size());
    if (path.size() > prefix.size() + suffix.size() && path.starts_with(prefix) &&
        path.ends_with(suffix)) {
      const std::string_view segment =
          path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
      if (segment.find('/') != std::string_view::npos) continue;
      id = segment;
      return &r;
    }
  }
  return nullptr;
}

// The metrics label of a path: one of a fixed set, never the raw path, so that ids and stray
// paths do not each make a series.
std::string_view routes::route_label(std::string_view path) {
  std::string_view id;
  const route_entry* r = match(path, id);
  return r != nullptr ? r->path : "other";
}

bool routes::needs_token(std::string_view path) const {
  if (!auth_.enabled()) return false;
  if (path == "/healthz") return settings_.auth_healthz;
  if (path == "/readyz") return settings_.auth_readyz;
  if (path == "/metrics") return settings_.auth_metrics;
  return path == "/v1" || path.starts_with("/v1/");
}

void routes::handle(http_request req, responder respond) {
  try {
    dispatch(req, respond);
  } catch (const std::exception& e) {
    // A bug in a route must cost one request, not the server. A route that already answered
    // makes this a second answer, which the session ignores.
    spdlog::error("internal error on {} {}: {}", req.method, req.target, e.what());
    respond(error_response(500, "internal_error", "internal error; see the server log"));
  }
}

void routes::note_unread(std::string_view method, std::string_view target, http_response& answer) {
  answer.route = route_label(target.substr(0, target.find('?')));
  // Its body unread, the submission's priority is not known.
  if (answer.route == "/v1/jobs" && method == "POST") metrics_.count_invalid(pool::lane::normal);
}

void routes::dispatch(const http_request& req, const responder& respond) {
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

  std::string_view id;
  const route_entry* r = match(path, id);
  if (r == nullptr) {
    return respond(error_response(404, "not_found", "no route for " + std::string(path)));
  }
  // HEAD is GET without the body (RFC 9110 9.3.2): the session leaves the body out.
  void (routes::*answer)(const call&) = m == "GET" || m == "HEAD" ? r->get
                                        : m == "POST"             ? r->post
                                        : m == "DELETE"           ? r->del
                                        : m == "PATCH"            ? r->patch
                                                                  : nullptr;
  if (answer == nullptr) return respond(method_not_allowed(r->allow, r->path));
  (this->*answer)(call{req, query, id, r->path, respond});
}

void routes::submit(const call& c) {
  pool::lane lane = pool::lane::normal;
  auto invalid = [&](std::string_view code, const std::string& message) {
    metrics_.count_invalid(lane);
    c.respond(with_route(error_response(400, code, message), c.route));
  };

  // The query is answered for first, but the refusal is counted under the body's priority
  // when the body says one.
  auto invalid_query = [&](const std::string& message) {
    lane = read_submit_body(c.req.body, limits_).priority;
    invalid("invalid_field", message);
  };
  // A submission takes nothing else: a misspelt wait would make it asynchronous unnoticed.
  // Reads ignore what they do not know, as reads do (cache-busting parameters, say).
  if (const auto unknown = unknown_query_param(c.query, {"wait"})) {
    return invalid_query(unknown_param_refusal(*unknown, {"wait"}));
  }
  const query_param wait_param = find_query_param(c.query, "wait");
  const auto wait = wait_of(wait_param, settings_.max_timeout);
  if (!wait) return invalid_query(wait_refusal(wait_param, settings_.max_timeout));

  submit_body body = read_submit_body(c.req.body, limits_);
  lane = body.priority;
  if (!body.error_code.empty()) return invalid(body.error_code, body.error_message);
  std::optional<jobs::idempotency_request> idempotency;
  if (const auto& key = c.req.idempotency_key) {
    const bool visible =
        std::all_of(key->begin(), key->end(), [](char ch) { return ch > ' ' && ch < 0x7f; });
    if (key->empty() || key->size() > 255 || !visible) {
      return invalid("invalid_field",
                     "the Idempotency-Key header must be 1..255 visible ASCII characters (no "
                     "spaces or control characters)");
    }
    idempotency = jobs::idempotency_request{
        .key = auth_.key_scope(c.req.authorization) + " " + std::string(*key),
        .digest = fnv1a_64(c.req.body)};
  }
  // Its route is /v1/jobs: the handler keeps what it must, and stays small enough to be kept
  // without an allocation.
  jobs_.submit(
      {.type = std::move(body.type),
       .payload_json = body.payload_text,
       .priority = lane,
       .timeout = body.timeout,
       .max_attempts = body.max_attempts,
       .retry_backoff = body.retry_backoff,
       .run_at = body.run_at,
       .delay = body.delay,
       .idempotency = std::move(idempotency),
       .callback_url = std::move(body.callback_url),
       .concurrency_key = std::move(body.concurrency_key)},
      c.respond.executor(),
      [this, respond = c.respond, lane, wait = *wait](jobs::submit_outcome outcome) {
        static constexpr std::string_view route = "/v1/jobs";
        if (!outcome.accepted()) {
          return respond(with_route(refused(outcome.refused(), lane), route));
        }
        const bool replayed = outcome.replayed();
        if (!wait.wanted) {
          http_response r = job_response(outcome.job(), 202, route, true);
          if (replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
          return respond(std::move(r));
        }
        // Without a limit the job's deadline bounds the wait: handlers return once
        // stopped.
        answer_when_done(
            outcome.job(), wait.limit,
            {.pending_status = 202, .sync_codes = true, .route = route, .replayed = replayed},
            respond);
      });
}

http_response routes::refused(const jobs::refusal& why, pool::lane lane) {
  using kind = jobs::refusal::kind;
  if (why.why == kind::invalid || why.why == kind::unknown_type) {
    metrics_.count_invalid(lane);
    return error_response(400, why.why == kind::invalid ? "invalid_field" : "unknown_type",
                          why.message);
  }
  if (why.why == kind::idempotency_key_reused) {
    metrics_.count_invalid(lane);
    return error_response(422, "idempotency_key_reused", why.message);
  }
  if (why.why == kind::not_found) return error_response(404, "not_found", why.message);
  http_response r;
  if (why.why == kind::queue_full) {
    // Under overload this is the answer to most requests: its message is worded here, from
    // the lane's name and numbers, and needs no escaping.
    std::string message;
    message.reserve(64);
    why.append_message(message);
    r = error_response(503, "queue_full", message, true);
  } else {
    const std::string_view code = why.why == kind::shutting_down   ? "shutting_down"
                                  : why.why == kind::schedule_full ? "schedule_full"
                                                                   : "store_unavailable";
    r = error_response(503, code, why.message);
  }
  std::string retry_after;
  append_decimal(retry_after, static_cast<std::uint64_t>(why.retry_after.count()));
  r.headers.emplace_back("Retry-After", std::move(retry_after));
  return r;
}

http_response routes::store_unavailable(const store::store_error& e, std::string_view route) {
  http_response r =
      error_response(503, "store_unavailable", "the job store is unavailable: " + e.message);
  r.headers.emplace_back("Retry-After", "1");
  r.route = route;
  return r;
}

void routes::answer_when_done(const store::job_record& job,
                              std::optional<std::chrono::milliseconds> limit, job_answer how,
                              const responder& respond) {
  // A job already over (a cheap one run on the I/O thread, say): no wait to arrange.
  if (store::is_terminal(job.status)) return respond(job_as_it_stands(job, how));
  jobs_.wait(job.id, limit, respond.executor(), [this, how, respond](jobs::lookup found) {
    if (found.error) return respond(store_unavailable(*found.error, how.route));
    respond(job_as_it_stands(*found.job, how));
  });
}

http_response routes::job_as_it_stands(const store::job_record& job, job_answer how) {
  // Still under way: a 202 says where to look for the job's end.
  http_response r = store::is_terminal(job.status)
                        ? job_response(job, how.sync_codes ? sync_status(job.status) : 200,
                                       how.route, false, how.payload)
                        : job_response(job, how.pending_status, how.route,
                                       how.pending_status == 202, how.payload);
  if (how.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

http_response routes::job_response(const store::job_record& job, unsigned status,
                                   std::string_view route, bool location,
                                   jobs::with_payload payload) {
  std::string text;
  text.reserve(320);
  {
    std::lock_guard lk(times_mu_);
    jobs::append_job_object(text, job, std::chrono::system_clock::now(), times_, payload);
  }
  http_response r = json_response(status, std::move(text), route);
  if (location) r.headers.emplace_back("Location", "/v1/jobs/" + std::string(job.id.view()));
  return r;
}

void routes::get_job(const call& c) {
  jobs_.get(
      c.id, c.respond.executor(),
      [this, id = std::string(c.id), query = std::string(c.query), label = c.route,
       respond = c.respond](jobs::lookup found) {
        if (found.error) return respond(store_unavailable(*found.error, label));
        if (!found.job) return respond(not_found(id, label));
        const query_param wait_param = find_query_param(query, "wait");
        const auto wait = wait_of(wait_param, settings_.max_timeout);
        if (!wait) {
          return respond(with_route(
              error_response(400, "invalid_field", wait_refusal(wait_param, settings_.max_timeout)),
              label));
        }
        const query_param payload_param = find_query_param(query, "payload");
        const auto payload = flag_of(payload_param);
        if (!payload) {
          return respond(with_route(
              error_response(400, "invalid_field", "query parameter payload must be true or false"),
              label));
        }
        const auto with = *payload ? jobs::with_payload::yes : jobs::with_payload::no;
        if (!wait->wanted) return respond(job_response(*found.job, 200, label, false, with));
        // Without a limit the job's deadline bounds the wait: it is terminal soon after.
        answer_when_done(
            *found.job, wait->limit,
            {.pending_status = 200, .sync_codes = false, .route = label, .payload = with}, respond);
      });
}

void routes::cancel_job(const call& c) {
  jobs_.cancel(c.id, c.respond.executor(),
               [this, id = std::string(c.id), label = c.route,
                respond = c.respond](jobs::cancel_outcome out) {
                 using kind = jobs::cancel_outcome::kind;
                 if (out.error) return respond(store_unavailable(*out.error, label));
                 switch (out.what) {
                   case kind::not_found:
                     return respond(not_found(id, label));
                   case kind::already_finished: {
                     // The pool may have ended the job an instant before its record says so.
                     const std::string state =
                         store::is_terminal(out.job->status)
                             ? "is already " + std::string(store::to_string(out.job->status))
                             : "has already finished";
                     return respond(with_route(
                         error_response(409, "already_finished",
                                        "job " + std::string(out.job->id.view()) + " " + state),
                         label));
                   }
                   case kind::cancelled:
                     return respond(job_response(*out.job, 200, label));
                   case kind::stopping:
                     // Over by now, or still stopping: the status goes with the job as shown.
                     return respond(job_response(
                         *out.job, store::is_terminal(out.job->status) ? 200 : 202, label));
                 }
               });
}

void routes::retry_job(const call& c) {
  jobs_.retry(
      c.id, c.respond.executor(),
      [this, id = std::string(c.id), label = c.route,
       respond = c.respond](jobs::submit_outcome outcome) {
        using kind = jobs::refusal::kind;
        if (outcome.accepted()) return respond(job_response(outcome.job(), 202, label));
        const jobs::refusal& why = outcome.refused();
        switch (why.why) {
          case kind::not_found:
            return respond(not_found(id, label));
          case kind::not_finished:
          case kind::already_succeeded:
            return respond(with_route(
                error_response(409,
                               why.why == kind::not_finished ? "not_finished" : "already_succeeded",
                               why.message),
                label));
          default:
            return respond(with_route(refused(why, why.lane), label));
        }
      });
}

void routes::list_jobs(const call& c) {
  const query_param status = find_query_param(c.query, "status");
  const query_param limit_param = find_query_param(c.query, "limit");
  if (status.malformed) {
    return c.respond(
        with_route(error_response(400, "invalid_field", "malformed query string"), c.route));
  }
  store::list_query query;
  if (const auto& s = status.value) {
    query.status = store::job_status_from(*s);
    if (!query.status) {
      return c.respond(with_route(
          error_response(
              400, "invalid_field",
              "status must be one of scheduled, queued, running, succeeded, failed, timed_out, "
              "cancelled"),
          c.route));
    }
  }
  query.limit = default_list_limit;
  if (const auto& l = limit_param.value) {
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc{} || ptr != l->data() + l->size() || n < 1 || n > max_list_limit) {
      return c.respond(with_route(
          error_response(400, "invalid_field",
                         "limit must be an integer 1.." + std::to_string(max_list_limit)),
          c.route));
    }
    query.limit = n;
  }
  jobs_.list(
      query, c.respond.executor(),
      [this, label = c.route, respond = c.respond](std::vector<store::job_record> found,
                                                   std::optional<store::store_error> error) {
        if (error) return respond(store_unavailable(*error, label));
        std::string text;
        json_writer w(text);
        w.begin_object().key("jobs").begin_array();
        const auto now = std::chrono::system_clock::now();
        {
          std::lock_guard lk(times_mu_);
          for (const store::job_record& job : found) {
            w.value_by([&](std::string& out) { jobs::append_job_object(out, job, now, times_); });
          }
        }
        w.end_array().end_object();
        respond(json_response(200, std::move(text), label));
      });
}

// The read-only routes' JSON is written with its keys in order, as it always has been.
void routes::job_types(const call& c) {
  std::string text;
  json_writer w(text);
  w.begin_object().key("job_types").begin_array();
  for (const jobs::job_type_info& t : jobs_.job_types()) {
    w.begin_object()
        .key("default_timeout_ms")
        .value(t.default_timeout.count())
        .key("kind")
        .value(t.kind)
        .key("max_concurrency");
    if (t.adaptive_concurrency) {
      w.plain("adaptive");
    } else if (t.max_concurrency > 0) {
      w.value(t.max_concurrency);
    } else {
      w.null();
    }
    w.key("max_concurrency_per_key")
        .value(t.max_concurrency_per_key)
        .key("name")
        .value(t.name)
        .end_object();
  }
  w.end_array().end_object();
  c.respond(json_response(200, std::move(text), c.route));
}

void routes::pool_snapshot(const call& c) {
  c.respond(json_response(200, pool_object(jobs_.pool_stats(), pipelines_.stats()), c.route));
}

void routes::resize_pool(const call& c) {
  const pool::pool_stats now = jobs_.pool_stats();
  const pool_resize asked = read_pool_resize(c.req.body, now.workers_min, now.workers_max);
  if (!asked.error_code.empty()) {
    return c.respond(with_route(error_response(400, asked.error_code, asked.error), c.route));
  }
  if (now.workers_adaptive) {
    return c.respond(with_route(
        error_response(400, "invalid_field",
                       "workers_max is \"adaptive\": jobd moves it between workers_min and "
                       "adaptive_max by the jobs' run times, and the pool is not resized by hand"),
        c.route));
  }
  try {
    if (!jobs_.resize_pool(asked.workers_min, asked.workers_max)) {
      return c.respond(with_route(draining_refusal(), c.route));
    }
  } catch (const std::invalid_argument& e) {
    // The pool's words name its own field ("pool: workers_max = 1: ..."); the API's are the
    // request's.
    std::string why = e.what();
    if (why.starts_with("pool: ")) why.erase(0, 6);
    return c.respond(with_route(error_response(400, "invalid_field", why), c.route));
  }
  spdlog::info("pool resized: workers {}..{} (were {}..{})", asked.workers_min, asked.workers_max,
               now.workers_min, now.workers_max);
  c.respond(json_response(200, pool_object(jobs_.pool_stats(), pipelines_.stats()), c.route));
}

void routes::pause_lane(const call& c) {
  set_lane_paused(c, true);
}

void routes::resume_lane(const call& c) {
  set_lane_paused(c, false);
}

void routes::set_lane_paused(const call& c, bool paused) {
  const std::optional<pool::lane> lane = c.id == "high"     ? std::optional(pool::lane::high)
                                         : c.id == "normal" ? std::optional(pool::lane::normal)
                                                            : std::nullopt;
  if (!lane) {
    return c.respond(with_route(
        error_response(404, "not_found",
                       "no lane named " + std::string(c.id) + "; the lanes are high and normal"),
        c.route));
  }
  if (paused) {
    if (!jobs_.pause_lane(*lane)) return c.respond(with_route(draining_refusal(), c.route));
  } else {
    jobs_.resume_lane(*lane);
  }
  spdlog::info("{} lane {}", c.id, paused ? "paused: it takes jobs and starts none" : "resumed");
  c.respond(json_response(200, pool_object(jobs_.pool_stats(), pipelines_.stats()), c.route));
}

void routes::events(const call& c) {
  http_response r;
  r.content_type = "text/event-stream";
  r.stream = events_.subscribe(pool_object(jobs_.pool_stats(), pipelines_.stats()));
  r.route = c.route;
  c.respond(std::move(r));
}

void routes::metrics_text(const call& c) {
  http_response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  const jobs::callback_counts callbacks = jobs_.callback_totals();
  r.body = metrics_.render(jobs_.pool_stats(), jobs_.run_seconds(), jobs_.retried(),
                           {callbacks.delivered, callbacks.retried, callbacks.failed},
                           jobs_.store_health(), jobs_.store_stats(), pipelines_.stats());
  r.route = c.route;
  c.respond(std::move(r));
}

// What answers here, for whoever opens the root: the routes and their methods.
void routes::index(const call& c) {
  // A browser gets the dashboard; curl and the like the routes, as JSON.
  if (c.req.accepts_html) return c.respond(ui_answer("index.html", c.route));
  std::string text;
  json_writer w(text);
  w.begin_object().key("service").plain("jobd").key("routes").begin_array();
  for (const route_entry& r : table) {
    if (r.path == c.route) continue;
    w.begin_object().key("path").plain(r.path).key("methods").plain(r.allow).end_object();
  }
  w.end_array().end_object();
  c.respond(json_response(200, std::move(text), c.route));
}

void routes::ui_file(const call& c) {
  c.respond(ui_answer(c.id, c.route));
}

http_response routes::ui_answer(std::string_view name, std::string_view route) {
  for (const ui_asset& a : ui_assets()) {
    if (a.name != name) continue;
    http_response r;
    r.content_type = a.content_type;
    r.body.assign(a.body);
    r.route = route;
    // Only its own files and jobd's answers: no inline script, no other origin, no framing.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
  }
  return with_route(error_response(404, "not_found", "no such file of the dashboard"), route);
}

void routes::health(const call& c) {
  std::string text;
  json_writer(text).begin_object().key("status").plain("ok").end_object();
  c.respond(json_response(200, std::move(text), c.route));
}

void routes::readiness(const call& c) {
  if (draining_.load(std::memory_order_relaxed)) {
    return c.respond(with_route(
        error_response(503, "shutting_down", "the server is draining for shutdown"), c.route));
  }
  if (const store::store_health store = jobs_.store_health(); !store.up) {
    // Submissions would be refused: a balancer should send them elsewhere meanwhile.
    return c.respond(store_unavailable({store.reason}, c.route));
  }
  std::string text;
  json_writer(text).begin_object().key("status").plain("ready").end_object();
  c.respond(json_response(200, std::move(text), c.route));
}

}  // namespace jobd::server
