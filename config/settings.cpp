#include "config/settings.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "common/json_limits.hpp"
#include "common/json_reader.hpp"
#include "common/json_writer.hpp"
#include "config/auth_tokens.hpp"
#include "config/nearest_name.hpp"
#include "config/small_file.hpp"

namespace jobd::config {
namespace {

using json = nlohmann::json;

// Thrown by value parsers with what is allowed; load() adds the setting, value and source.
struct bad_value : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::uint64_t parse_uint(std::string_view v, std::uint64_t min, std::uint64_t max) {
  const std::string allowed = "an integer " + std::to_string(min) + ".." + std::to_string(max);
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec == std::errc::invalid_argument || end != v.data() + v.size()) {
    throw bad_value("not an integer; allowed: " + allowed);
  }
  if (ec == std::errc::result_out_of_range || out < min || out > max) {
    throw bad_value("out of range; allowed: " + allowed);
  }
  return out;
}

std::size_t parse_size(std::string_view v, std::size_t min, std::size_t max) {
  return static_cast<std::size_t>(parse_uint(v, min, max));
}

std::chrono::milliseconds parse_ms(std::string_view v, std::int64_t min, std::int64_t max) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(
      parse_uint(v, static_cast<std::uint64_t>(min), static_cast<std::uint64_t>(max))));
}

// 0 stands for "auto" until resolve() knows the CPU count.
std::size_t parse_workers(std::string_view v) {
  if (v == "auto") return 0;
  try {
    return parse_size(v, 1, 10'000);
  } catch (const bad_value&) {
    throw bad_value("allowed: \"auto\" or an integer 1..10000");
  }
}

bool parse_bool(std::string_view v) {
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw bad_value("allowed: true or false (also 1 or 0, yes or no, on or off)");
}

void parse_listen(settings& s, std::string_view v) {
  const std::string allowed = "allowed: ADDR:PORT, e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:0";
  const auto colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw bad_value(allowed);
  std::string_view host = v.substr(0, colon);
  const bool bracketed = host.front() == '[';
  if (bracketed) {
    if (host.back() != ']' || host.size() < 3) throw bad_value(allowed);
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw bad_value("an IPv6 address goes in brackets; " + allowed);
  }
  try {
    s.listen_port = static_cast<std::uint16_t>(parse_uint(v.substr(colon + 1), 0, 65535));
  } catch (const bad_value&) {
    throw bad_value("the port must be 0..65535; " + allowed);
  }
  // Checked here so that a bad address is a configuration error, not a failure to start. An
  // IPv6 scope (fe80::1%eth0) is left to the server, which resolves the interface.
  const std::string address(bracketed ? host.substr(0, host.find('%')) : host);
  in6_addr parsed{};
  if (inet_pton(bracketed ? AF_INET6 : AF_INET, address.c_str(), &parsed) != 1) {
    throw bad_value(std::string(bracketed ? "not an IPv6 address" : "not an IPv4 address") +
                    " (host names are not looked up); " + allowed);
  }
  s.listen_host = std::string(host);
}

struct option {
  std::string_view key;
  std::string_view help;
  std::function<void(settings&, std::string_view)> apply;
};

const std::vector<option>& options() {
  static const std::vector<option> table = {
      {"listen", "ADDR:PORT to listen on (port 0: any free port) [127.0.0.1:8080]", parse_listen},
      {"workers", "sets workers_min and workers_max: N or \"auto\"",
       [](settings& s, std::string_view v) {
         s.workers_min = s.workers_max = parse_workers(v);
         s.workers_adaptive = false;
       }},
      {"workers_min", "workers kept alive: N or \"auto\" (the CPUs available) [auto]",
       [](settings& s, std::string_view v) { s.workers_min = parse_workers(v); }},
      {"workers_max",
       "workers under backlog: N, \"auto\" (4 x the CPUs available) or \"adaptive\" (moved by "
       "measured run times, workers_min..adaptive_max) [auto]",
       [](settings& s, std::string_view v) {
         s.workers_adaptive = v == "adaptive";
         if (s.workers_adaptive) {
           s.workers_max = 0;
           return;
         }
         try {
           s.workers_max = parse_workers(v);
         } catch (const bad_value&) {
           throw bad_value("allowed: \"auto\", \"adaptive\" or an integer 1..10000");
         }
       }},
      {"adaptive_max",
       "the most an adaptive limit (workers_max or a type's max_concurrency) "
       "reaches [64]",
       [](settings& s, std::string_view v) { s.adaptive_max = parse_size(v, 1, 10'000); }},
      {"reserved_high_workers", "workers that only run high-priority jobs [1 if workers_max >= 2]",
       [](settings& s, std::string_view v) { s.reserved_high_workers = parse_size(v, 0, 10'000); }},
      {"queue_capacity", "bound of the normal lane [1024]",
       [](settings& s, std::string_view v) { s.queue_capacity = parse_size(v, 1, 10'000'000); }},
      {"high_queue_capacity", "bound of the high lane [256]",
       [](settings& s, std::string_view v) {
         s.high_queue_capacity = parse_size(v, 1, 10'000'000);
       }},
      {"worker_idle_timeout_ms", "an extra worker retires after this long idle [30000]",
       [](settings& s, std::string_view v) { s.worker_idle_timeout = parse_ms(v, 1, 86'400'000); }},
      {"io_threads", "threads running HTTP I/O [1]",
       [](settings& s, std::string_view v) { s.io_threads = parse_size(v, 1, 256); }},
      {"max_connections", "open connections at most; more get 503 and a close [10000]",
       [](settings& s, std::string_view v) { s.max_connections = parse_size(v, 1, 1'000'000); }},
      {"max_body_bytes", "largest request body; larger gets 413 [1048576]",
       [](settings& s, std::string_view v) { s.max_body_bytes = parse_size(v, 1, 1 << 30); }},
      {"max_header_bytes", "largest request header block; larger gets 431 [16384]",
       [](settings& s, std::string_view v) { s.max_header_bytes = parse_size(v, 256, 1 << 20); }},
      {"pipeline_limit", "requests per connection read ahead of their responses [16]",
       [](settings& s, std::string_view v) { s.pipeline_limit = parse_size(v, 1, 1024); }},
      {"read_timeout_ms",
       "time to receive one request, first byte to last, and to write one answer [10000]",
       [](settings& s, std::string_view v) { s.read_timeout = parse_ms(v, 1, 3'600'000); }},
      {"keepalive_timeout_ms", "an idle keep-alive connection is closed after this [60000]",
       [](settings& s, std::string_view v) { s.keepalive_timeout = parse_ms(v, 1, 3'600'000); }},
      {"events_interval_ms", "how often /v1/events sends the pool's state [1000]",
       [](settings& s, std::string_view v) { s.events_interval = parse_ms(v, 10, 3'600'000); }},
      {"events_job_rate",
       "job events /v1/events streams a second at most; the others are told as lag [200]",
       [](settings& s, std::string_view v) { s.events_job_rate = parse_size(v, 10, 10'000'000); }},
      {"default_timeout_ms",
       "a job's deadline when neither request nor type sets one [30000, or max_timeout_ms if "
       "lower]",
       [](settings& s, std::string_view v) { s.default_timeout = parse_ms(v, 1, 86'400'000); }},
      {"max_timeout_ms", "the largest timeout_ms a request may ask for [3600000]",
       [](settings& s, std::string_view v) { s.max_timeout = parse_ms(v, 1, 86'400'000); }},
      {"drain_timeout_ms", "on SIGTERM, time for queued and running jobs to finish [30000]",
       [](settings& s, std::string_view v) { s.drain_timeout = parse_ms(v, 0, 86'400'000); }},
      {"retain_jobs", "finished jobs kept for GET, newest first [10000]",
       [](settings& s, std::string_view v) { s.retain_jobs = parse_size(v, 0, 10'000'000); }},
      {"retain_seconds", "a finished job is forgotten after this long [3600]",
       [](settings& s, std::string_view v) {
         s.retain_seconds = std::chrono::seconds(parse_uint(v, 1, 30 * 86'400));
       }},
      {"store",
       "where jobs are kept: memory (gone when jobd stops) or sqlite:PATH (a file; they survive "
       "restarts) [memory]",
       [](settings& s, std::string_view v) {
         if (v == "memory" || (v.starts_with("sqlite:") && v.size() > 7)) {
           s.store = std::string(v);
           return;
         }
         if (v.starts_with("postgres")) {
           throw bad_value("PostgreSQL is not built into this jobd; allowed: memory, sqlite:PATH");
         }
         throw bad_value("allowed: memory, sqlite:PATH");
       }},
      {"store_sync",
       "sqlite: full (a job is acknowledged once it is on the disk: it survives the machine's "
       "power loss) or normal (on its way there: it survives a crash of jobd) [full]",
       [](settings& s, std::string_view v) {
         if (v != "full" && v != "normal") throw bad_value("allowed: full, normal");
         s.store_full_sync = v == "full";
       }},
      {"store_timeout_ms", "how long a store write waits for a file another process holds [5000]",
       [](settings& s, std::string_view v) { s.store_timeout = parse_ms(v, 1, 600'000); }},
      {"max_attempts_limit", "the most attempts a job may ask for (max_attempts) [25]",
       [](settings& s, std::string_view v) {
         s.max_attempts_limit = static_cast<std::uint32_t>(parse_uint(v, 1, 1'000));
       }},
      {"retry_backoff_ms",
       "the wait before a job's second attempt when neither request nor type sets one; each "
       "later wait doubles it [1000]",
       [](settings& s, std::string_view v) { s.retry_backoff = parse_ms(v, 0, 86'400'000); }},
      {"retry_backoff_max_ms", "the longest wait between two attempts [600000]",
       [](settings& s, std::string_view v) { s.retry_backoff_max = parse_ms(v, 0, 86'400'000); }},
      {"scheduled_capacity",
       "jobs waiting for their run_at or their next attempt, at most; more get 503 "
       "schedule_full [100000]",
       [](settings& s, std::string_view v) {
         s.scheduled_capacity = parse_size(v, 1, 100'000'000);
       }},
      {"max_schedule_ms", "how far ahead run_at and delay_ms may reach [2592000000: 30 days]",
       [](settings& s, std::string_view v) {
         s.max_schedule = parse_ms(v, 1, 10LL * 365 * 86'400'000);
       }},
      {"idempotency_ttl_s",
       "how long an Idempotency-Key answers for the job it made [86400: a day]",
       [](settings& s, std::string_view v) {
         s.idempotency_ttl = std::chrono::seconds(parse_uint(v, 1, 30 * 86'400));
       }},
      {"callback_allow",
       "comma-separated URL prefixes a job's callback_url must start with, e.g. "
       "http://10.0.0.5:9000/hooks/ [none: callbacks are off]",
       [](settings& s, std::string_view v) {
         s.callback_allow.clear();
         for (std::size_t at = 0; at <= v.size();) {
           const std::size_t comma = std::min(v.find(',', at), v.size());
           std::string_view prefix = v.substr(at, comma - at);
           while (!prefix.empty() && prefix.front() == ' ') prefix.remove_prefix(1);
           while (!prefix.empty() && prefix.back() == ' ') prefix.remove_suffix(1);
           if (!prefix.empty()) {
             if (!prefix.starts_with("http://") && !prefix.starts_with("https://")) {
               throw bad_value("each prefix must start with http:// or https:// (\"" +
                               std::string(prefix) + "\" does not)");
             }
             s.callback_allow.emplace_back(prefix);
           }
           at = comma + 1;
         }
       }},
      {"callback_ca_file",
       "a PEM file of the certificate authorities that https callback receivers are checked "
       "against [none: the system's]",
       [](settings& s, std::string_view v) {
         if (v.empty()) throw bad_value("must name a file; leave it unset for the system's");
         s.callback_ca_file = std::string(v);
       }},
      {"callback_secret_file",
       "a file whose content (trimmed) keys the X-Jobd-Signature HMAC of callbacks [none]",
       [](settings& s, std::string_view v) {
         if (v.empty()) throw bad_value("must name a file; leave it unset for no signature");
         s.callback_secret_file = std::string(v);
       }},
      {"callback_timeout_ms", "one callback delivery, connect to answer, at most [10000]",
       [](settings& s, std::string_view v) { s.callback_timeout = parse_ms(v, 1, 600'000); }},
      {"callback_max_attempts", "deliveries of one callback at most [10]",
       [](settings& s, std::string_view v) {
         s.callback_max_attempts = static_cast<std::uint32_t>(parse_uint(v, 1, 100));
       }},
      {"callback_backoff_ms",
       "the wait before a callback's second delivery; each later one doubles, up to 5 minutes "
       "[1000]",
       [](settings& s, std::string_view v) { s.callback_backoff = parse_ms(v, 0, 3'600'000); }},
      {"callback_concurrency", "callback deliveries under way at once, at most [16]",
       [](settings& s, std::string_view v) { s.callback_concurrency = parse_size(v, 1, 1'024); }},
      {"kill_grace_ms", "after SIGTERM, a job's processes get this long before SIGKILL [2000]",
       [](settings& s, std::string_view v) { s.kill_grace = parse_ms(v, 0, 600'000); }},
      {"stderr_tail_bytes", "how much of the end of an exec job's stderr is kept [4096]",
       [](settings& s, std::string_view v) { s.stderr_tail_bytes = parse_size(v, 0, 1 << 20); }},
      {"auth_token_file",
       "bearer tokens, one a line, that the /v1 routes then require (401 without) [none]",
       [](settings& s, std::string_view v) {
         // An empty value (JOBD_AUTH_TOKEN_FILE= in a unit file, say) must not turn auth off.
         if (v.empty()) throw bad_value("must name a file; leave it unset for no token check");
         s.auth_token_file = std::string(v);
       }},
      {"auth_token_file_strict",
       "refuse to start when auth_token_file is open to its group or others (else a warning) "
       "[false]",
       [](settings& s, std::string_view v) { s.auth_token_file_strict = parse_bool(v); }},
      {"auth_healthz", "with auth_token_file, /healthz requires a token too [false]",
       [](settings& s, std::string_view v) { s.auth_healthz = parse_bool(v); }},
      {"auth_readyz", "with auth_token_file, /readyz requires a token too [false]",
       [](settings& s, std::string_view v) { s.auth_readyz = parse_bool(v); }},
      {"auth_metrics", "with auth_token_file, /metrics requires a token too [false]",
       [](settings& s, std::string_view v) { s.auth_metrics = parse_bool(v); }},
      {"log_level", "trace, debug, info, warn, error, critical or off [info]",
       [](settings& s, std::string_view v) {
         static constexpr std::array<std::string_view, 7> levels = {
             "trace", "debug", "info", "warn", "error", "critical", "off"};
         if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
           throw bad_value("allowed: trace, debug, info, warn, error, critical, off");
         }
         s.log_level = std::string(v);
       }},
      {"log_format", "text or json [text]",
       [](settings& s, std::string_view v) {
         if (v == "text") {
           s.log_format_ = log_format::text;
         } else if (v == "json") {
           s.log_format_ = log_format::json;
         } else {
           throw bad_value("allowed: text, json");
         }
       }},
      {"access_log", "one log line per request: true or false [true]",
       [](settings& s, std::string_view v) { s.access_log = parse_bool(v); }},
  };
  return table;
}

const option* find_option(std::string_view key) {
  for (const option& o : options()) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

// "; did you mean X?" for the option whose key is nearest to `key`, shown by `shown` (as a flag,
// a variable or a key); or "". `in_file` adds the keys only a config file has.
template <class Shown>
std::string did_you_mean(std::string_view key, Shown shown, bool in_file = false) {
  std::vector<std::string_view> keys;
  for (const option& o : options()) keys.push_back(o.key);
  if (in_file) keys.push_back("job_types");
  const std::string_view nearest = nearest_name(key, keys);
  return nearest.empty() ? "" : "; did you mean " + shown(nearest) + "?";
}

std::string flag_of(std::string_view key) {
  std::string f = "--" + std::string(key);
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

std::string env_of(std::string_view key) {
  std::string e = "JOBD_" + std::string(key);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::toupper(c); });
  return e;
}

// Where each setting's value came from ("flag --workers-max", ...), for the errors that only
// the settings together show; a setting absent here has its default.
using value_sources = std::map<std::string, std::string, std::less<>>;

void apply(settings& s, const option& o, std::string_view value, const std::string& source,
           value_sources& sources) {
  try {
    o.apply(s, value);
  } catch (const bad_value& e) {
    throw config_error(std::string(o.key) + " = \"" + std::string(value) + "\" (from " + source +
                       "): " + e.what());
  }
  if (o.key == "workers") {
    sources["workers_min"] = source;
    sources["workers_max"] = source;
  } else {
    sources[std::string(o.key)] = source;
  }
}

using field_failure = std::function<void(const std::string& field, const std::string& why)>;

std::uint64_t integer_field(const std::string& key, const json& v, std::uint64_t min,
                            std::uint64_t max, const field_failure& fail) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > max) {
    fail(key, "must be an integer " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v.get<std::uint64_t>();
}

// A field every kind of job type has; false when `key` is none of them.
bool parse_type_option(const std::string& key, const json& v, job_type_options& t,
                       const field_failure& fail) {
  if (key == "timeout_ms") {
    t.timeout = std::chrono::milliseconds(integer_field(key, v, 1, 86'400'000, fail));
  } else if (key == "max_attempts") {
    t.max_attempts = static_cast<std::uint32_t>(integer_field(key, v, 1, 1'000, fail));
  } else if (key == "retry_backoff_ms") {
    t.retry_backoff = std::chrono::milliseconds(integer_field(key, v, 0, 86'400'000, fail));
  } else if (key == "retry_on_timeout") {
    if (!v.is_boolean()) fail(key, "must be true or false");
    t.retry_on_timeout = v.get<bool>();
  } else if (key == "max_concurrency") {
    t.adaptive_concurrency = v == "adaptive";
    if (t.adaptive_concurrency) {
      t.max_concurrency = 0;
    } else if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1 ||
               v.get<std::uint64_t>() > 10'000) {
      fail(key, "must be an integer 1..10000 or \"adaptive\"");
    } else {
      t.max_concurrency = v.get<std::size_t>();
    }
  } else if (key == "max_concurrency_per_key") {
    t.max_concurrency_per_key = integer_field(key, v, 1, 10'000, fail);
  } else {
    return false;
  }
  return true;
}

constexpr std::array<std::string_view, 6> type_option_fields = {
    "timeout_ms",       "max_attempts",    "retry_backoff_ms",
    "retry_on_timeout", "max_concurrency", "max_concurrency_per_key"};

// The words for a field no kind of job type has, with the nearest that `kind` has.
void unknown_field(const std::string& key, std::span<const std::string_view> own,
                   const field_failure& fail) {
  std::vector<std::string_view> fields(own.begin(), own.end());
  fields.insert(fields.end(), type_option_fields.begin(), type_option_fields.end());
  std::string allowed;
  for (const std::string_view f : fields) {
    allowed += allowed.empty() ? "" : ", ";
    allowed += f;
  }
  const std::string_view nearest = nearest_name(key, fields);
  fail(key, "unknown field" +
                (nearest.empty() ? "" : " (did you mean " + std::string(nearest) + "?)") +
                "; allowed: " + allowed);
}

exec_type parse_exec_type(const std::string& name, const json& spec, const field_failure& fail) {
  exec_type t;
  t.name = name;
  for (const auto& [key, v] : spec.items()) {
    if (key == "kind") continue;  // "exec", checked by the caller
    if (parse_type_option(key, v, t, fail)) continue;
    if (key == "command") {
      if (!v.is_array() || v.empty()) fail(key, "must be a non-empty array of strings");
      for (const auto& arg : v) {
        if (!arg.is_string()) fail(key, "must be a non-empty array of strings");
        t.command.push_back(arg.get<std::string>());
        // A C string ends there: the program would get less than the file says.
        if (t.command.back().find('\0') != std::string::npos) fail(key, "must not contain NUL");
      }
      const std::string& program = t.command.front();
      if (program.empty() || program.front() != '/') {
        fail(key,
             "the program \"" + program + "\" must be an absolute path (no shell, no PATH lookup)");
      }
      struct stat st {};
      if (stat(program.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          access(program.c_str(), X_OK) != 0) {
        fail(key, "the program \"" + program + "\" is not an executable file");
      }
    } else if (key == "max_output_bytes") {
      t.max_output_bytes = integer_field(key, v, 1, 1u << 30, fail);
    } else if (key == "stdin") {
      if (v == "payload") {
        t.stdin_from = exec_type::input::payload;
      } else if (v == "none") {
        t.stdin_from = exec_type::input::none;
      } else {
        fail(key, "must be \"payload\" or \"none\"");
      }
    } else if (key == "output") {
      if (v == "text") {
        t.output = exec_type::output_format::text;
      } else if (v == "json") {
        t.output = exec_type::output_format::json;
      } else if (v == "base64") {
        t.output = exec_type::output_format::base64;
      } else {
        fail(key, "must be \"text\", \"json\" or \"base64\"");
      }
    } else if (key == "env") {
      if (!v.is_object()) fail(key, "must be an object of strings");
      for (const auto& [var, value] : v.items()) {
        if (!value.is_string()) fail(key + "." + var, "must be a string");
        if (var.empty() || var.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
          fail(key + "." + var, "is not a variable name");
        if (value.get<std::string>().find('\0') != std::string::npos)
          fail(key + "." + var, "must not contain NUL");
        t.env.emplace_back(var, value.get<std::string>());
      }
    } else if (key == "cwd") {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().front() != '/') {
        fail(key, "must be an absolute path");
      }
      t.cwd = v.get<std::string>();
      if (t.cwd.find('\0') != std::string::npos) fail(key, "must not contain NUL");
      struct stat st {};
      if (stat(t.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        fail(key, "\"" + t.cwd + "\" is not a directory");
    } else {
      static constexpr std::array<std::string_view, 7> fields = {
          "kind", "command", "max_output_bytes", "stdin", "output", "env", "cwd"};
      unknown_field(key, fields, fail);
    }
  }
  if (t.command.empty()) fail("command", "is required");
  return t;
}

pipeline_stage parse_stage(const json& spec, const std::string& where, const field_failure& fail) {
  if (!spec.is_object()) fail(where, "must be an object such as {\"type\": \"wordcount\"}");
  pipeline_stage stage;
  for (const auto& [key, v] : spec.items()) {
    const std::string field = where + "." + key;
    if (key == "type") {
      if (!v.is_string() || v.get<std::string>().empty()) fail(field, "must name a job type");
      stage.type = v.get<std::string>();
    } else if (key == "map") {
      if (!v.is_boolean()) fail(field, "must be true or false");
      stage.map = v.get<bool>();
    } else if (key == "workers") {
      stage.workers = integer_field(field, v, 1, 1'024, fail);
    } else if (key == "queue_capacity") {
      stage.queue_capacity = integer_field(field, v, 1, 1'000'000, fail);
    } else if (key == "stealing") {
      if (!v.is_boolean()) fail(field, "must be true or false");
      stage.stealing = v.get<bool>();
    } else {
      static constexpr std::array<std::string_view, 5> fields = {"type", "map", "workers",
                                                                 "queue_capacity", "stealing"};
      const std::string_view nearest = nearest_name(key, fields);
      fail(field, "unknown field" +
                      (nearest.empty() ? "" : " (did you mean " + std::string(nearest) + "?)") +
                      "; allowed: type, map, workers, queue_capacity, stealing");
    }
  }
  if (stage.type.empty()) fail(where + ".type", "is required");
  return stage;
}

pipeline_type parse_pipeline_type(const std::string& name, const json& spec,
                                  const field_failure& fail) {
  pipeline_type t;
  t.name = name;
  for (const auto& [key, v] : spec.items()) {
    if (key == "kind") continue;
    if (parse_type_option(key, v, t, fail)) continue;
    if (key == "stages") {
      if (!v.is_array() || v.empty() || v.size() > 64) {
        fail(key, "must be an array of 1..64 stages such as [{\"type\": \"wordcount\"}]");
      }
      for (std::size_t i = 0; i < v.size(); ++i) {
        t.stages.push_back(parse_stage(v[i], key + "[" + std::to_string(i) + "]", fail));
      }
    } else {
      static constexpr std::array<std::string_view, 2> fields = {"kind", "stages"};
      unknown_field(key, fields, fail);
    }
  }
  if (t.stages.empty()) fail("stages", "is required");
  return t;
}

void parse_job_types(const json& types, const std::string& path, settings& s) {
  if (!types.is_object())
    throw config_error("config file " + path + ": job_types must be an object");
  s.exec_types.clear();
  s.pipeline_types.clear();
  for (const auto& [name, spec] : types.items()) {
    const std::string where = "config file " + path + ": job_types." + name;
    const field_failure fail = [&](const std::string& field, const std::string& why) {
      throw config_error(where + (field.empty() ? "" : "." + field) + ": " + why);
    };
    if (name.empty() || name.size() > 64 ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      fail("", "a job type name is 1..64 characters of a-z, 0-9, _ and -");
    }
    if (!spec.is_object()) fail("", "must be an object");
    const auto kind = spec.find("kind");
    if (kind == spec.end() || *kind == "exec") {
      s.exec_types.push_back(parse_exec_type(name, spec, fail));
    } else if (*kind == "pipeline") {
      s.pipeline_types.push_back(parse_pipeline_type(name, spec, fail));
    } else {
      fail("kind", "must be \"exec\" (the default) or \"pipeline\"");
    }
  }
  // Stages run built-in and exec types; the built-ins' names are the handlers' to check.
  for (const pipeline_type& p : s.pipeline_types) {
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
      const std::string& stage_type = p.stages[i].type;
      const bool nested = std::any_of(s.pipeline_types.begin(), s.pipeline_types.end(),
                                      [&](const pipeline_type& q) { return q.name == stage_type; });
      if (nested) {
        throw config_error("config file " + path + ": job_types." + p.name + ".stages[" +
                           std::to_string(i) + "].type: \"" + stage_type +
                           "\" is a pipeline; a stage runs a built-in or exec type");
      }
    }
  }
}

void apply_file(settings& s, const std::string& path, value_sources& sources) {
  const std::string content = read_small_file(path, max_config_bytes, "config file " + path);
  // Checked as a request body is: a key given twice would be read as its last value, silently.
  checked_json parsed =
      parse_checked_json(content, max_json_depth, "config file " + path, /*comments=*/true);
  if (!parsed.error.empty()) throw config_error(parsed.error);
  const json doc = std::move(parsed.value);
  if (!doc.is_object()) throw config_error("config file " + path + ": must hold a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key == "job_types") {
      parse_job_types(value, path, s);
      continue;
    }
    const option* o = find_option(key);
    if (o == nullptr) {
      const std::string hint = did_you_mean(
          key, [](std::string_view k) { return "\"" + std::string(k) + "\""; }, true);
      throw config_error("config file " + path + ": unknown setting \"" + key + "\"" + hint +
                         " (jobd --help lists them)");
    }
    std::string text;
    if (value.is_null()) {
      continue;  // the default, as describe() writes an unset auth_token_file
    } else if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      text = json_text(value);
    } else {
      throw config_error(key + " (from config file " + path +
                         "): must be a string, a number or a boolean");
    }
    apply(s, *o, text, "config file " + path, sources);
  }
}

void resolve_and_validate(settings& s, std::size_t cpus, const value_sources& sources) {
  // "5 (from flag --workers-min)": a value and where it came from.
  auto from = [&sources](std::string_view key, auto value) {
    const auto it = sources.find(key);
    return std::to_string(value) +
           (it == sources.end() ? " (default)" : " (from " + it->second + ")");
  };
  cpus = std::max<std::size_t>(cpus, 1);
  auto fail = [](const std::string& what) { throw config_error(what); };
  if (s.workers_adaptive) {
    if (s.workers_min == 0) s.workers_min = std::min(cpus, s.adaptive_max);
    if (s.adaptive_max < s.workers_min) {
      fail("adaptive_max = " + from("adaptive_max", s.adaptive_max) +
           ": must be at least workers_min = " + from("workers_min", s.workers_min) +
           " when workers_max is \"adaptive\"");
    }
    // The adaptive limit starts at its lowest.
    s.workers_max = s.workers_min;
  }
  if (s.workers_min == 0 && s.workers_max == 0) {
    s.workers_min = cpus;
    s.workers_max = 4 * cpus;
  } else if (s.workers_min == 0) {
    s.workers_min = std::min(cpus, s.workers_max);
  } else if (s.workers_max == 0) {
    s.workers_max = std::max(s.workers_min, 4 * cpus);
  }
  if (s.workers_max < s.workers_min) {
    fail("workers_max = " + from("workers_max", s.workers_max) +
         ": must be at least workers_min = " + from("workers_min", s.workers_min));
  }
  if (!s.reserved_high_workers) s.reserved_high_workers = s.workers_max >= 2 ? 1 : 0;
  const std::size_t reserved = *s.reserved_high_workers;
  if (reserved > 0 && reserved >= s.workers_max) {
    fail("reserved_high_workers = " + from("reserved_high_workers", reserved) +
         ": must be below workers_max = " + from("workers_max", s.workers_max) +
         ", so that some worker serves the normal lane");
  }
  if (reserved > s.workers_min) {
    fail("reserved_high_workers = " + from("reserved_high_workers", reserved) +
         ": must not exceed workers_min = " + from("workers_min", s.workers_min));
  }
  const auto check_type = [&](const std::string& name, const job_type_options& t) {
    if (t.timeout > s.max_timeout) {
      fail("job_types." + name + ".timeout_ms = " + std::to_string(t.timeout.count()) +
           " (from the config file): must not exceed max_timeout_ms = " +
           from("max_timeout_ms", s.max_timeout.count()));
    }
    if (t.max_attempts > s.max_attempts_limit) {
      fail("job_types." + name + ".max_attempts = " + std::to_string(t.max_attempts) +
           " (from the config file): must not exceed max_attempts_limit = " +
           from("max_attempts_limit", s.max_attempts_limit));
    }
  };
  for (const exec_type& t : s.exec_types) check_type(t.name, t);
  for (const pipeline_type& t : s.pipeline_types) check_type(t.name, t);
  if (!s.auth_token_file.empty()) {
    s.auth_tokens = read_auth_tokens(s.auth_token_file);
    s.auth_token_file_mode = permission_bits(s.auth_token_file);
    if (s.auth_token_file_strict && (s.auth_token_file_mode & 077) != 0) {
      fail("auth_token_file " + s.auth_token_file + " is open to " +
           shared_with(s.auth_token_file_mode) +
           ", and auth_token_file_strict is on: chmod 600 it, or turn the check off");
    }
  } else if (s.auth_healthz || s.auth_readyz || s.auth_metrics) {
    fail("auth_healthz, auth_readyz and auth_metrics need auth_token_file");
  }
  if (!s.callback_ca_file.empty()) {
    s.callback_ca_pem =
        read_small_file(s.callback_ca_file, 4 << 20, "callback_ca_file " + s.callback_ca_file);
    if (s.callback_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      fail("callback_ca_file " + s.callback_ca_file +
           " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
  }
  if (!s.callback_secret_file.empty()) {
    std::string secret = read_small_file(s.callback_secret_file, 4096,
                                         "callback_secret_file " + s.callback_secret_file);
    while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back())))
      secret.pop_back();
    if (secret.size() < 16) {
      fail("callback_secret_file " + s.callback_secret_file +
           " holds fewer than 16 characters: a signature's key must be hard to guess");
    }
    s.callback_secret = std::move(secret);
  }
  // An operator who lowers only the ceiling means it for every job: the built-in default
  // follows it down. A default set on purpose above the ceiling is a mistake, and refused.
  if (s.default_timeout > s.max_timeout && !sources.contains("default_timeout_ms")) {
    s.default_timeout = s.max_timeout;
  }
  if (s.default_timeout > s.max_timeout) {
    fail("default_timeout_ms = " + from("default_timeout_ms", s.default_timeout.count()) +
         ": must not exceed max_timeout_ms = " + from("max_timeout_ms", s.max_timeout.count()));
  }
}

std::string_view value_of(std::string_view arg, const std::vector<std::string>& args,
                          std::size_t& i, std::string_view flag) {
  if (const auto eq = arg.find('='); eq != std::string_view::npos) return arg.substr(eq + 1);
  // No value starts with "--": the next flag is a missing value, not one.
  if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
    throw config_error(std::string(flag) + " needs a value (" + std::string(flag) + " VALUE or " +
                       std::string(flag) + "=VALUE)");
  }
  return args[++i];
}

}  // namespace

command load(const std::vector<std::string>& args, const std::vector<std::string>& environ_entries,
             std::size_t cpus) {
  command cmd;
  std::optional<std::string> config_path;
  std::vector<std::pair<const option*, std::string>> flag_values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      cmd.what = command::action::help;
      return cmd;
    }
    if (arg == "--version") {
      cmd.what = command::action::version;
      return cmd;
    }
    if (arg == "--check-config") {
      cmd.what = command::action::check_config;
      continue;
    }
    if (arg == "--migrate-only") {
      cmd.what = command::action::migrate_only;
      continue;
    }
    if (arg == "--probe" || arg.starts_with("--probe=")) {
      cmd.what = command::action::probe;
      cmd.probe_target = std::string(value_of(arg, args, i, "--probe"));
      if (!cmd.probe_target.starts_with("/") && !cmd.probe_target.starts_with("http://")) {
        throw config_error("--probe \"" + cmd.probe_target +
                           "\": allowed: a path such as /healthz, or an http:// URL");
      }
      continue;
    }
    if (!arg.starts_with("--")) {
      throw config_error("unexpected argument \"" + std::string(arg) + "\" (jobd --help)");
    }
    const std::string_view flag = arg.substr(0, arg.find('='));
    if (flag == "--config") {
      config_path = std::string(value_of(arg, args, i, flag));
      continue;
    }
    std::string key(flag.substr(2));
    std::replace(key.begin(), key.end(), '-', '_');
    const option* o = find_option(key);
    if (o == nullptr) {
      throw config_error("unknown option " + std::string(flag) + did_you_mean(key, flag_of) +
                         " (jobd --help)");
    }
    flag_values.emplace_back(o, std::string(value_of(arg, args, i, flag)));
  }

  std::vector<std::pair<std::string, std::string>> env;
  for (const std::string& entry : environ_entries) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || !entry.starts_with("JOBD_")) continue;
    env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  if (!config_path) {
    for (const auto& [name, value] : env) {
      if (name == "JOBD_CONFIG") config_path = value;
    }
  }

  settings& s = cmd.values;
  value_sources sources;
  if (config_path) {
    apply_file(s, *config_path, sources);
    cmd.config_file = *config_path;
  }
  // "workers" sets both bounds, so it goes first within its source and the specific keys win.
  auto by_generality = [](const option* o) { return o->key == "workers" ? 0 : 1; };
  std::vector<std::pair<const option*, std::string>> env_values;
  for (const auto& [name, value] : env) {
    if (name == "JOBD_CONFIG") continue;
    bool known = false;
    for (const option& o : options()) {
      if (env_of(o.key) == name) {
        env_values.emplace_back(&o, value);
        known = true;
      }
    }
    if (!known) {
      std::string key = name.substr(std::string_view("JOBD_").size());
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      throw config_error("unknown environment variable " + name + did_you_mean(key, env_of) +
                         " (jobd --help)");
    }
  }
  for (auto* values : {&env_values, &flag_values}) {
    std::stable_sort(values->begin(), values->end(), [&](const auto& a, const auto& b) {
      return by_generality(a.first) < by_generality(b.first);
    });
    const bool from_env = values == &env_values;
    for (const auto& [o, value] : *values) {
      apply(s, *o, value, from_env ? "environment " + env_of(o->key) : "flag " + flag_of(o->key),
            sources);
    }
  }
  resolve_and_validate(s, cpus, sources);
  return cmd;
}

std::string settings_help() {
  std::ostringstream out;
  out << "usage: jobd [--config FILE] [--SETTING VALUE]... [--check-config | --migrate-only |\n"
         "            --probe TARGET]\n"
         "            [--help] [--version]\n\n"
         "Each setting is a flag, an environment variable and a config-file key; precedence:\n"
         "flag > environment > config file > default. --config FILE (or JOBD_CONFIG) names a\n"
         "JSON file whose top-level object holds settings by key.\n\n";
  for (const option& o : options()) {
    out << "  " << flag_of(o.key) << "  (" << env_of(o.key) << ", \"" << o.key << "\")\n      "
        << o.help << "\n";
  }
  out << "  --check-config\n      validate the settings, print them and exit\n"
         "  --migrate-only\n      bring the store's schema up to this jobd's, and exit\n"
         "  --probe /PATH | --probe http://HOST:PORT/PATH\n"
         "      GET the path (at the listen address, or the URL), exit 0 on a 2xx answer, else 1;\n"
         "      a health check that needs no curl; it waits at most read_timeout_ms\n";
  return out.str();
}

std::string sqlite_path(const settings& s) {
  constexpr std::string_view prefix = "sqlite:";
  return s.store.starts_with(prefix) ? s.store.substr(prefix.size()) : std::string();
}

std::string describe(const settings& s) {
  const bool v6 = s.listen_host.find(':') != std::string::npos;
  json j = {
      {"listen",
       (v6 ? "[" + s.listen_host + "]" : s.listen_host) + ":" + std::to_string(s.listen_port)},
      {"workers_min", s.workers_min},
      {"workers_max", s.workers_adaptive ? json("adaptive") : json(s.workers_max)},
      {"adaptive_max", s.adaptive_max},
      {"reserved_high_workers", s.reserved_high_workers.value_or(0)},
      {"queue_capacity", s.queue_capacity},
      {"high_queue_capacity", s.high_queue_capacity},
      {"worker_idle_timeout_ms", s.worker_idle_timeout.count()},
      {"io_threads", s.io_threads},
      {"max_connections", s.max_connections},
      {"max_body_bytes", s.max_body_bytes},
      {"max_header_bytes", s.max_header_bytes},
      {"pipeline_limit", s.pipeline_limit},
      {"read_timeout_ms", s.read_timeout.count()},
      {"keepalive_timeout_ms", s.keepalive_timeout.count()},
      {"events_interval_ms", s.events_interval.count()},
      {"events_job_rate", s.events_job_rate},
      {"default_timeout_ms", s.default_timeout.count()},
      {"max_timeout_ms", s.max_timeout.count()},
      {"drain_timeout_ms", s.drain_timeout.count()},
      {"retain_jobs", s.retain_jobs},
      {"retain_seconds", s.retain_seconds.count()},
      {"store", s.store},
      {"store_sync", s.store_full_sync ? "full" : "normal"},
      {"store_timeout_ms", s.store_timeout.count()},
      {"max_attempts_limit", s.max_attempts_limit},
      {"retry_backoff_ms", s.retry_backoff.count()},
      {"retry_backoff_max_ms", s.retry_backoff_max.count()},
      {"scheduled_capacity", s.scheduled_capacity},
      {"max_schedule_ms", s.max_schedule.count()},
      {"idempotency_ttl_s", s.idempotency_ttl.count()},
      {"callback_allow",
       [&s] {
         std::string joined;
         for (const std::string& p : s.callback_allow) joined += (joined.empty() ? "" : ",") + p;
         return joined;
       }()},
      {"callback_ca_file", s.callback_ca_file.empty() ? json(nullptr) : json(s.callback_ca_file)},
      // The file only: the secret is never shown.
      {"callback_secret_file",
       s.callback_secret_file.empty() ? json(nullptr) : json(s.callback_secret_file)},
      {"callback_timeout_ms", s.callback_timeout.count()},
      {"callback_max_attempts", s.callback_max_attempts},
      {"callback_backoff_ms", s.callback_backoff.count()},
      {"callback_concurrency", s.callback_concurrency},
      {"log_level", s.log_level},
      {"log_format", s.log_format_ == log_format::json ? "json" : "text"},
      {"access_log", s.access_log},
      {"kill_grace_ms", s.kill_grace.count()},
      {"stderr_tail_bytes", s.stderr_tail_bytes},
      // The file only: the tokens are secrets and never shown.
      {"auth_token_file", s.auth_token_file.empty() ? json(nullptr) : json(s.auth_token_file)},
      {"auth_healthz", s.auth_healthz},
      {"auth_readyz", s.auth_readyz},
      {"auth_metrics", s.auth_metrics},
      {"auth_token_file_strict", s.auth_token_file_strict},
  };
  if (!s.exec_types.empty() || !s.pipeline_types.empty()) {
    json types = json::object();
    const auto options = [](json& spec, const job_type_options& t) {
      if (t.timeout.count() > 0) spec["timeout_ms"] = t.timeout.count();
      if (t.max_attempts > 0) spec["max_attempts"] = t.max_attempts;
      if (t.retry_backoff) spec["retry_backoff_ms"] = t.retry_backoff->count();
      if (t.retry_on_timeout) spec["retry_on_timeout"] = true;
      if (t.max_concurrency > 0) spec["max_concurrency"] = t.max_concurrency;
      if (t.adaptive_concurrency) spec["max_concurrency"] = "adaptive";
      if (t.max_concurrency_per_key != 1)
        spec["max_concurrency_per_key"] = t.max_concurrency_per_key;
    };
    for (const exec_type& t : s.exec_types) {
      json env = json::object();
      for (const auto& [k, v] : t.env) env[k] = v;
      static constexpr const char* outputs[] = {"text", "json", "base64"};
      json spec = {{"command", t.command},
                   {"max_output_bytes", t.max_output_bytes},
                   {"stdin", t.stdin_from == exec_type::input::payload ? "payload" : "none"},
                   {"output", outputs[static_cast<int>(t.output)]},
                   {"env", std::move(env)},
                   {"cwd", t.cwd}};
      options(spec, t);
      types[t.name] = std::move(spec);
    }
    for (const pipeline_type& t : s.pipeline_types) {
      json stages = json::array();
      for (const pipeline_stage& stage : t.stages) {
        stages.push_back({{"type", stage.type},
                          {"map", stage.map},
                          {"workers", stage.workers},
                          {"queue_capacity", stage.queue_capacity},
                          {"stealing", stage.stealing ? json(*stage.stealing) : json("auto")}});
      }
      json spec = {{"kind", "pipeline"}, {"stages", std::move(stages)}};
      options(spec, t);
      types[t.name] = std::move(spec);
    }
    j["job_types"] = std::move(types);
  }
  return json_text_indented(j, 2);
}

}  // namespace jobd::config
