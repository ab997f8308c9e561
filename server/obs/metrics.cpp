#include "server/obs/metrics.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "server/obs/process_stats.hpp"

namespace jobd::server {
namespace {

constexpr std::array<pool::lane, pool::lane_count> lanes = {pool::lane::high, pool::lane::normal};
constexpr std::array<pool::job_status, pool::job_status_count> statuses = {
    pool::job_status::succeeded, pool::job_status::failed, pool::job_status::timed_out,
    pool::job_status::cancelled};

// Appends Prometheus text exposition to a string.
class writer {
 public:
  // About a scrape's size with a few job types and routes: the text is not copied as it grows.
  writer() { out_.reserve(16 * 1024); }

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // `labels` is the inside of the braces, already escaped, or empty.
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    append_value(value);
    out_ += '\n';
  }

  void histogram(std::string_view name, std::string_view labels, const histogram& h) {
    std::uint64_t cumulative = 0;
    const auto counts = h.bucket_counts();
    const auto& le = &h.bounds() == &histogram::count_bounds ? counts_text() : seconds_text();
    for (std::size_t i = 0; i < le.size(); ++i) {
      cumulative += counts[i];
      bucket(name, labels, le[i], cumulative);
    }
    bucket(name, labels, "+Inf", h.count());
    sample(std::string(name) + "_sum", labels, h.sum());
    sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
  }

  std::string take() { return std::move(out_); }

 private:
  // Whole numbers (counts, bounds, bytes) in plain digits, fractions as the shortest text that
  // reads back as the same double: printf's "%.17g" cost a scrape most of its time and wrote 0.1
  // as 0.10000000000000001, and the shortest form alone writes 100000 as 1e+05.
  void append_value(double value) {
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    if (std::isnan(value)) {
      out_ += "NaN";
      return;
    }
    if (std::isinf(value)) {
      out_ += value > 0 ? "+Inf" : "-Inf";
      return;
    }
    char buf[32];
    const bool whole = std::trunc(value) == value && std::fabs(value) < exact_integers;
    const auto written =
        whole ? std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value))
              : std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, written.ptr);
  }

  void bucket(std::string_view name, std::string_view labels, std::string_view le,
              std::uint64_t count) {
    out_ += name;
    out_ += "_bucket{";
    if (!labels.empty()) {
      out_ += labels;
      out_ += ',';
    }
    out_ += "le=\"";
    out_ += le;
    out_ += "\"} ";
    append_value(static_cast<double>(count));
    out_ += '\n';
  }

  using bound_texts = std::array<std::string, std::tuple_size_v<histogram::bound_list>>;

  // The `le` labels, formatted once: the same text in every scrape keeps each bucket one series.
  static bound_texts texts_of(const histogram::bound_list& bounds) {
    bound_texts t;
    for (std::size_t i = 0; i < t.size(); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", bounds[i]);
      t[i] = le;
    }
    return t;
  }
  static const bound_texts& seconds_text() {
    static const bound_texts text = texts_of(histogram::seconds_bounds);
    return text;
  }
  static const bound_texts& counts_text() {
    static const bound_texts text = texts_of(histogram::count_bounds);
    return text;
  }

  std::string out_;
};

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + escape_label(value) + "\"";
}

std::string priority(pool::lane l) {
  return label("priority", pool::to_string(l));
}

}  // namespace

void metrics::observe_request(std::string_view route, unsigned status, double seconds) {
  std::lock_guard lk(mu_);
  auto it = requests_.find(route);
  if (it == requests_.end()) it = requests_.emplace(std::string(route), route_traffic{}).first;
  ++it->second.by_status[status];
  it->second.seconds.observe(seconds);
}

void metrics::count_invalid(pool::lane l) {
  std::lock_guard lk(mu_);
  ++invalid_[static_cast<std::size_t>(l)];
}

std::string metrics::render(const pool::pool_stats& p,
                            const std::map<std::string, histogram, std::less<>>& run_seconds,
                            const std::map<std::string, std::uint64_t, std::less<>>& retried,
                            const callback_outcomes& callbacks,
                            const store::store_health& store_health,
                            const store::store_stats& store,
                            const std::vector<handlers::stage_stats>& stages) const {
  writer w;
  w.family("jobd_jobs_submitted_total", "counter", "Jobs accepted into a lane.");
  for (auto l : lanes)
    w.sample("jobd_jobs_submitted_total", priority(l), static_cast<double>(p.of(l).submitted));

  {
    std::lock_guard lk(mu_);
    w.family("jobd_jobs_rejected_total", "counter",
             "Jobs refused: lane full, shutting down, or an invalid request.");
    for (auto l : lanes) {
      const auto& s = p.of(l);
      w.sample("jobd_jobs_rejected_total", priority(l) + ",reason=\"queue_full\"",
               static_cast<double>(s.rejected_queue_full));
      w.sample("jobd_jobs_rejected_total", priority(l) + ",reason=\"shutting_down\"",
               static_cast<double>(s.rejected_shutting_down));
      w.sample("jobd_jobs_rejected_total", priority(l) + ",reason=\"invalid\"",
               static_cast<double>(invalid_[static_cast<std::size_t>(l)]));
    }
  }

  w.family("jobd_jobs_finished_total", "counter", "Jobs that reached a terminal status.");
  for (auto l : lanes) {
    for (auto st : statuses) {
      w.sample("jobd_jobs_finished_total", priority(l) + "," + label("status", pool::to_string(st)),
               static_cast<double>(p.of(l).finished[static_cast<std::size_t>(st)]));
    }
  }
  w.family("jobd_queue_depth", "gauge", "Jobs waiting in a lane.");
  for (auto l : lanes)
    w.sample("jobd_queue_depth", priority(l), static_cast<double>(p.of(l).depth));
  w.family("jobd_queue_capacity", "gauge", "The bound of a lane.");
  for (auto l : lanes)
    w.sample("jobd_queue_capacity", priority(l), static_cast<double>(p.of(l).capacity));
  w.family("jobd_queue_oldest_wait_seconds", "gauge",
           "Age of the oldest queued job; 0 when empty.");
  for (auto l : lanes)
    w.sample("jobd_queue_oldest_wait_seconds", priority(l), p.of(l).oldest_wait_seconds);
  w.family("jobd_workers", "gauge", "Worker threads by state.");
  w.sample("jobd_workers", "state=\"busy\"", static_cast<double>(p.busy));
  w.sample("jobd_workers", "state=\"idle\"", static_cast<double>(p.idle));
  w.family("jobd_concurrency_limit", "gauge",
           "Jobs that may run at once: scope workers (workers_max) or type:NAME "
           "(max_concurrency), fixed or adaptive.");
  w.sample("jobd_concurrency_limit", label("scope", "workers"), static_cast<double>(p.workers_max));
  for (const pool::group_stats& g : p.groups) {
    w.sample("jobd_concurrency_limit", label("scope", "type:" + g.name),
             static_cast<double>(g.limit));
  }
  if (!stages.empty()) {
    const auto stage_label = [](const handlers::stage_stats& s) {
      return label("pipeline", s.pipeline) + "," + label("stage", std::to_string(s.index)) + "," +
             label("type", s.type);
    };
    w.family("jobd_stage_queue_depth", "gauge", "Items waiting in a pipeline stage's queue.");
    for (const auto& s : stages)
      w.sample("jobd_stage_queue_depth", stage_label(s), static_cast<double>(s.queued));
    w.family("jobd_stage_workers", "gauge", "A pipeline stage's workers by state.");
    for (const auto& s : stages) {
      w.sample("jobd_stage_workers", stage_label(s) + ",state=\"busy\"",
               static_cast<double>(s.busy));
      w.sample("jobd_stage_workers", stage_label(s) + ",state=\"idle\"",
               static_cast<double>(s.workers - s.busy));
    }
  }
  w.family("jobd_job_queue_wait_seconds", "histogram",
           "Submission to start, for jobs that started.");
  for (auto l : lanes) w.histogram("jobd_job_queue_wait_seconds", priority(l), p.of(l).queue_wait);

  w.family("jobd_job_run_seconds", "histogram", "Start to end, for jobs that started, by type.");
  for (const auto& [type, h] : run_seconds)
    w.histogram("jobd_job_run_seconds", label("type", type), h);
  w.family("jobd_jobs_retried_total", "counter",
           "Attempts that ended failed (or timed out, where the type says) and were tried again.");
  for (const auto& [type, n] : retried) {
    w.sample("jobd_jobs_retried_total", label("type", type), static_cast<double>(n));
  }
  w.family("jobd_callbacks_total", "counter",
           "Completion callback deliveries by outcome: delivered, retried (failed, to be tried "
           "again), failed (for good).");
  w.sample("jobd_callbacks_total", "outcome=\"delivered\"",
           static_cast<double>(callbacks.delivered));
  w.sample("jobd_callbacks_total", "outcome=\"retried\"", static_cast<double>(callbacks.retried));
  w.sample("jobd_callbacks_total", "outcome=\"failed\"", static_cast<double>(callbacks.failed));
  {
    std::lock_guard lk(mu_);
    w.family("jobd_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const auto& [route, traffic] : requests_) {
      for (const auto& [status, n] : traffic.by_status) {
        w.sample("jobd_http_requests_total",
                 label("route", route) + "," + label("code", std::to_string(status)),
                 static_cast<double>(n));
      }
    }
    w.family("jobd_http_request_duration_seconds", "histogram",
             "Request read to response queued for writing, by route.");
    for (const auto& [route, traffic] : requests_) {
      w.histogram("jobd_http_request_duration_seconds", label("route", route), traffic.seconds);
    }
  }
  w.family("jobd_store_up", "gauge", "1 when the job store takes writes, 0 while it is down.");
  w.sample("jobd_store_up", "", store_health.up ? 1.0 : 0.0);
  w.family("jobd_store_commit_seconds", "histogram", "Time of a commit of the job store.");
  w.histogram("jobd_store_commit_seconds", "", store.commit_seconds);
  w.family("jobd_store_commit_jobs", "histogram", "Job records per commit of the job store.");
  w.histogram("jobd_store_commit_jobs", "", store.commit_jobs);
  w.family("jobd_store_errors_total", "counter", "Failed commits and reads of the job store.");
  w.sample("jobd_store_errors_total", "op=\"write\"", static_cast<double>(store.write_errors));
  w.sample("jobd_store_errors_total", "op=\"read\"", static_cast<double>(store.read_errors));
  w.family("jobd_store_connections", "gauge", "The job store's connections by state.");
  w.sample("jobd_store_connections", "state=\"busy\"", static_cast<double>(store.connections_busy));
  w.sample("jobd_store_connections", "state=\"idle\"", static_cast<double>(store.connections_idle));
  w.family("jobd_store_connection_wait_seconds", "histogram",
           "Time a read of the job store waited for a connection.");
  w.histogram("jobd_store_connection_wait_seconds", "", store.connection_wait_seconds);

  w.family("jobd_http_connections", "gauge", "Open HTTP connections.");
  w.sample("jobd_http_connections", "", static_cast<double>(connections()));
  w.family("jobd_http_sse_clients", "gauge", "Open /v1/events streams.");
  w.sample("jobd_http_sse_clients", "", static_cast<double>(sse_clients()));

  if (auto ps = read_process_stats()) {
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", "", ps->resident_memory_bytes);
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", "", ps->virtual_memory_bytes);
    w.family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.sample("process_open_fds", "", ps->open_fds);
    w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    w.sample("process_max_fds", "", ps->max_fds);
    w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
    w.sample("process_cpu_seconds_total", "", ps->cpu_seconds);
    w.family("process_start_time_seconds", "gauge",
             "Start time of the process since the Unix epoch.");
    w.sample("process_start_time_seconds", "", ps->start_time_seconds);
  }
  return w.take();
}

}  // namespace jobd::server
