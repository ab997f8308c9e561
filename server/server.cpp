#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "config/auth_tokens.hpp"
#include "jobs/service.hpp"
#include "server/api/pool_object.hpp"
#include "server/api/routes.hpp"
#include "server/callback_client.hpp"
#include "server/http/listener.hpp"
#include "server/obs/logging.hpp"
#include "server/shutdown_signals.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"

namespace jobd::server {

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

pool::pool_config pool_config_from(const config::settings& s) {
  return {.workers_min = s.workers_min,
          .workers_max = s.workers_max,
          .reserved_high = s.reserved_high_workers,
          .normal_capacity = s.queue_capacity,
          .high_capacity = s.high_queue_capacity,
          .idle_timeout = s.worker_idle_timeout};
}

// Responses still being written when the pool has drained get this long before connections close.
constexpr auto flush_limit = 2s;
constexpr auto flush_poll = 5ms;
// How long an orphan that left its job's group may stay a zombie after it exits.
constexpr std::chrono::milliseconds stray_reap_period = 1s;

std::unique_ptr<store::job_store> open_store(const config::settings& s) {
  const store::retention keep{.keep_newest = s.retain_jobs, .keep_for = s.retain_seconds};
  const std::string path = config::sqlite_path(s);
  if (path.empty()) {
    spdlog::warn(
        "job store: memory: accepted jobs do not survive a restart or a crash; keep them with "
        "store: sqlite:PATH (--store, JOBD_STORE)");
    return std::make_unique<store::memory_store>(keep);
  }
  auto opened = std::make_unique<store::sqlite_store>(store::sqlite_options{
      .path = path,
      .keep = keep,
      .full_sync = s.store_full_sync,
      .lock_timeout = s.store_timeout,
      .on_health_change = [](const store::store_health& h) {
        if (h.up) {
          spdlog::info("job store: back up; taking jobs again");
        } else {
          spdlog::error("job store: down, refusing jobs until it is back: {}", h.reason);
        }
      }});
  spdlog::info("job store: sqlite:{} (schema {}, sync {})", path,
               store::sqlite_store::schema_version, s.store_full_sync ? "full" : "normal");
  return opened;
}

// Jobs ended so far, both lanes: for the drain's summary.
struct ended_counts {
  std::uint64_t finished = 0;  // succeeded, failed or timed out
  std::uint64_t cancelled = 0;
};

ended_counts ended_so_far(const pool::pool_stats& stats) {
  ended_counts out;
  for (const pool::lane_stats& lane : stats.lanes) {
    for (std::size_t status = 0; status < pool::job_status_count; ++status) {
      (status == static_cast<std::size_t>(pool::job_status::cancelled) ? out.cancelled
                                                                       : out.finished) +=
          lane.finished[status];
    }
  }
  return out;
}

std::optional<callback_client> callback_client_if_on(const config::settings& s) {
  if (s.callback_allow.empty()) return std::nullopt;
  return std::optional<callback_client>(std::in_place, s.callback_timeout, "jobd/" JOBD_VERSION,
                                        s.callback_ca_pem);
}

void log_recovery(const jobs::recovery_report& r) {
  const std::size_t total =
      r.queued_again + r.timed_out + r.interrupted + r.retried + r.scheduled + r.unknown_type;
  if (total == 0) return;
  spdlog::info(
      "job store: took up {} unfinished job(s) in {} ms: {} queued again, {} scheduled, {} timed "
      "out while jobd was down, {} interrupted while running ({} of them due again as their next "
      "attempt), {} of a type no longer configured",
      total, std::chrono::duration_cast<std::chrono::milliseconds>(r.took).count(), r.queued_again,
      r.scheduled, r.timed_out, r.interrupted + r.retried, r.retried, r.unknown_type);
}

}  // namespace

class server_impl {
 public:
  server_impl(const config::settings& settings, const handlers::registry& types,
              handlers::child_processes& children, const handlers::pipelines& pipelines)
      : settings_(settings),
        children_(children),
        pipelines_(pipelines),
        ioc_(std::in_place, static_cast<int>(settings.io_threads)),
        signals_(std::in_place, *ioc_, shutdown_signal_numbers()),
        store_(open_store(settings)),
        pool_(pool_config_from(settings)),
        // Callbacks off (no callback_allow): no client, and no threads for it.
        callback_client_(callback_client_if_on(settings)),
        jobs_({.default_timeout = settings.default_timeout,
               .max_timeout = settings.max_timeout,
               .retry_backoff = settings.retry_backoff,
               .retry_backoff_max = settings.retry_backoff_max,
               .scheduled_capacity = settings.scheduled_capacity,
               .max_schedule = settings.max_schedule,
               .idempotency_ttl = settings.idempotency_ttl,
               .callback_allow = settings.callback_allow,
               .callbacks = {.backoff = settings.callback_backoff,
                             .max_attempts = settings.callback_max_attempts,
                             .concurrency = settings.callback_concurrency,
                             .secret = settings.callback_secret},
               .adaptive = {.workers = settings.workers_adaptive,
                            .workers_min = settings.workers_min,
                            .max = settings.adaptive_max}},
              types, pool_, *store_, callback_client_ ? &*callback_client_ : nullptr),
        events_(metrics_, (settings_.events_job_rate * event_hub::window.count() + 999) / 1000),
        routes_(settings_, jobs_, pipelines_, metrics_, events_),
        ctx_{routes_, metrics_, settings_} {
    log_recovery(jobs_.recovery());
    jobs_.observe(&events_);
    ctx_.request_id_salt =
        (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    boost::system::error_code bad_address;
    const auto address = net::ip::make_address(settings.listen_host, bad_address);
    if (bad_address) {
      throw std::runtime_error("cannot listen on " + settings.listen_host + ": " +
                               bad_address.message());
    }
    listener_ = std::make_shared<listener>(
        *ioc_, net::ip::tcp::endpoint(address, settings.listen_port), ctx_);
  }

  ~server_impl() {
    // Order matters: no job may complete into a torn-down server; the store's last commits
    // tell the service's jobs, and may post answers to the I/O context; the sessions that
    // the I/O context still holds refer to ctx_ and metrics_.
    jobs_.drain(0ms);
    jobs_.observe(nullptr);
    // Posts under way are dropped before the store goes: their ends would be written to it.
    if (callback_client_) callback_client_->stop();
    store_.reset();
    signals_.reset();
    listener_.reset();
    ioc_.reset();
  }

  server_impl(const server_impl&) = delete;
  server_impl& operator=(const server_impl&) = delete;

  int run() {
    const auto ep = listener_->local_endpoint();
    // fmt rather than operator+: g++ 12 at -O3 reports a false -Wrestrict on "[" + str + "]".
    const std::string shown = ep.address().is_v6() ? fmt::format("[{}]", ep.address().to_string())
                                                   : ep.address().to_string();
    announce(fmt::format(
        "listening on {}:{} (workers {}..{}, {} reserved for high; queues normal {} high {}; "
        "io threads {})",
        shown, ep.port(), settings_.workers_min, settings_.workers_max,
        settings_.reserved_high_workers.value_or(0), settings_.queue_capacity,
        settings_.high_queue_capacity, settings_.io_threads));
    if (!settings_.auth_tokens.empty()) {
      std::string open;
      for (const auto& [path, closed] : {std::pair{"/healthz", settings_.auth_healthz},
                                         std::pair{"/readyz", settings_.auth_readyz},
                                         std::pair{"/metrics", settings_.auth_metrics}}) {
        if (!closed) open += open.empty() ? path : fmt::format(", {}", path);
      }
      spdlog::info("authentication: {} bearer token(s) from {}; open without a token: {}",
                   settings_.auth_tokens.size(), settings_.auth_token_file,
                   open.empty() ? "nothing" : open);
      if (const std::string shared = config::shared_with(settings_.auth_token_file_mode);
          !shared.empty()) {
        spdlog::warn(
            "auth_token_file {} is open to {}: whoever can read it can run jobs; chmod 600 it "
            "(auth_token_file_strict: true refuses to start so)",
            settings_.auth_token_file, shared);
      }
    } else if (!ep.address().is_loopback()) {  // all of 127.0.0.0/8, and ::1
      spdlog::warn(
          "listening on {} with no auth_token_file: anyone who can reach it can run jobs; set "
          "auth_token_file or expose it only to trusted clients",
          settings_.listen_host);
    }
    wait_for_signal();
    reap_strays_every(stray_reap_period);
    publish_pool_every(settings_.events_interval);
    end_event_windows();
    listener_->run();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < settings_.io_threads; ++i) {
      threads.emplace_back([this, i] {
        const std::string name = "jobd-io-" + std::to_string(i);
        pthread_setname_np(pthread_self(), name.c_str());
        run_io();
      });
    }
    run_io();
    for (auto& t : threads) t.join();
    if (drainer_.joinable()) drainer_.join();
    spdlog::info("stopped");
    return 0;
  }

 private:
  void run_io() {
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log it and keep serving the other connections.
        spdlog::error("I/O handler failed: {}", e.what());
      }
    }
  }

  void wait_for_signal() {
    signals_->async_wait([this](int signo) {
      if (shutting_down_) {
        // A closing terminal can send SIGHUP twice (the shell's, then the kernel's): only a
        // deliberate second SIGTERM or SIGINT cuts the drain short.
        if (signo == SIGHUP) return wait_for_signal();
        spdlog::warn("signal {} during shutdown: exiting now", signo);
        children_.kill_all();
        std::_Exit(1);
      }
      shutting_down_ = true;
      // Refuse new jobs before anything else, so that nothing is accepted after the signal.
      jobs_.stop_accepting();
      routes_.begin_shutdown();
      spdlog::info("signal {}: draining (up to {} ms), then stopping", signo,
                   settings_.drain_timeout.count());
      wait_for_signal();
      // drain() blocks until every job is terminal: it must not hold an I/O thread, which the
      // waiting clients' answers need.
      drainer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "jobd-drain");
        const ended_counts before = ended_so_far(jobs_.pool_stats());
        const auto began = std::chrono::steady_clock::now();
        jobs_.drain(settings_.drain_timeout);
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - began);
        const ended_counts after = ended_so_far(jobs_.pool_stats());
        // Past the grace, what was left was cancelled: the drain did not finish its jobs.
        std::string summary =
            (took >= settings_.drain_timeout ? "the drain timed out after " : "drained in ") +
            std::to_string(took.count()) +
            " ms: " + std::to_string(after.finished - before.finished) + " job(s) finished, " +
            std::to_string(after.cancelled - before.cancelled) + " cancelled";
        net::post(*ioc_, [this, summary = std::move(summary)] {
          listener_->stop();
          events_.close();  // each stream ends once it has written what it has
          flush_then_stop(std::chrono::steady_clock::now() + flush_limit, summary);
        });
      });
    });
  }

  // The processes a job's commands leave behind are re-parented to jobd: those outside the
  // job's group (setsid) have no job to wait for them, and those inside would otherwise wait
  // for the job's end. Without this they would stay zombies meanwhile.
  void reap_strays_every(std::chrono::milliseconds period) {
    if (const std::size_t n = children_.reap_strays(); n > 0) {
      spdlog::debug("reaped {} exited process(es) left behind by jobs' commands", n);
    }
    after(period, [this, period] { reap_strays_every(period); });
  }

  // The pool's state to /v1/events' clients, while there are some.
  void publish_pool_every(std::chrono::milliseconds period) {
    if (events_.has_clients())
      events_.publish_pool(pool_object(jobs_.pool_stats(), pipelines_.stats()));
    after(period, [this, period] { publish_pool_every(period); });
  }

  void end_event_windows() {
    events_.end_window();
    after(event_hub::window, [this] { end_event_windows(); });
  }

  // Runs `fn` on an I/O thread after `delay`.
  void after(std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<net::steady_timer>(*ioc_, delay);
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  }

  // Every job is terminal and every waiter answered; give the answers time to be written.
  void flush_then_stop(std::chrono::steady_clock::time_point limit, const std::string& summary) {
    if (ctx_.unanswered.load() == 0 || std::chrono::steady_clock::now() >= limit) {
      spdlog::info("{}; closing {} connection(s)", summary, metrics_.connections());
      ioc_->stop();
      return;
    }
    after(std::chrono::duration_cast<std::chrono::milliseconds>(flush_poll),
          [this, limit, summary] { flush_then_stop(limit, summary); });
  }

  const config::settings settings_;
  handlers::child_processes& children_;
  const handlers::pipelines& pipelines_;
  metrics metrics_;
  std::optional<net::io_context> ioc_;
  // Before the store and the pool: their threads are started with these signals blocked.
  std::optional<shutdown_signals> signals_;
  std::unique_ptr<store::job_store> store_;
  pool::pool pool_;
  std::optional<callback_client> callback_client_;
  jobs::service jobs_;
  event_hub events_;
  routes routes_;
  session_context ctx_;
  std::shared_ptr<listener> listener_;
  bool shutting_down_ = false;  // touched only by the signal handler
  std::thread drainer_;
};

server::server(const config::settings& settings, const handlers::registry& types,
               handlers::child_processes& children, const handlers::pipelines& pipelines)
    : impl_(std::make_unique<server_impl>(settings, types, children, pipelines)) {}

server::~server() = default;

int server::run() {
  return impl_->run();
}

}  // namespace jobd::server
