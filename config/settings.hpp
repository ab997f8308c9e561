#pragma once

// jobd's settings: plain data with in-class defaults, loaded with the precedence
// flag > environment (JOBD_*) > config file > default, then validated as a whole.
//
// Every setting has one name in three spellings: the file key `queue_capacity`, the flag
// `--queue-capacity` and the variable `JOBD_QUEUE_CAPACITY`. `settings_help()` lists them all.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config_error.hpp"

namespace jobd::config {

enum class log_format : std::uint8_t { text, json };

// What every configured job type may set, whatever it runs.
struct job_type_options {
  std::chrono::milliseconds timeout{0};  // 0: the server's default_timeout
  // Retries: a job of this type that names none makes this many attempts (0: the server's
  // default, 1), waiting this long before the second (none: the server's default).
  std::uint32_t max_attempts = 0;
  std::optional<std::chrono::milliseconds> retry_backoff;
  bool retry_on_timeout = false;            // whether a timed-out attempt is tried again
  std::size_t max_concurrency = 0;          // jobs of the type running at once at most; 0: any
  std::size_t max_concurrency_per_key = 1;  // of them, with the same concurrency_key
  // max_concurrency "adaptive": moved between 1 and adaptive_max by measured run times.
  bool adaptive_concurrency = false;
};

// A job type that runs a configured command (config file key "job_types"). Clients choose the
// type, never the program.
struct exec_type : job_type_options {
  enum class input : std::uint8_t { payload, none };
  enum class output_format : std::uint8_t { text, json, base64 };

  std::string name;
  std::vector<std::string> command;        // command[0] is an absolute, executable path
  std::size_t max_output_bytes = 1 << 20;  // stdout kept at most; past it the job fails
  input stdin_from = input::payload;
  output_format output = output_format::text;
  std::vector<std::pair<std::string, std::string>> env;  // added to PATH and LANG defaults
  std::string cwd = "/";
};

// One stage of a pipeline: a built-in or exec type, run on a pool of the stage's own.
struct pipeline_stage {
  std::string type;
  bool map = false;  // runs its type on every element of an array, in parallel
  std::size_t workers = 2;
  std::size_t queue_capacity = 256;
  // A map's items shared out to per-worker deques, idle workers stealing (stage_pool.hpp).
  // Unset: stealing, unless the stage's type has a timeout of its own, which only an item run
  // as a job of its own is held to.
  std::optional<bool> stealing;
};

// A job type made of stages (config "kind": "pipeline"): each stage's result is the next one's
// payload.
struct pipeline_type : job_type_options {
  std::string name;
  std::vector<pipeline_stage> stages;
};

struct settings {
  // Network and HTTP.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::size_t io_threads = 1;
  std::size_t max_connections = 10'000;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t pipeline_limit = 16;  // requests read ahead of their responses, per connection
  std::chrono::milliseconds read_timeout{10'000};       // one request, first byte to last
  std::chrono::milliseconds keepalive_timeout{60'000};  // idle between requests
  std::chrono::milliseconds events_interval{1'000};     // /v1/events: the pool's state this often
  std::size_t events_job_rate = 200;                    // /v1/events: job events a second at most
  // Pool.
  std::size_t workers_min = 0;  // 0 until resolved: "auto" means the CPUs this process may use
  std::size_t workers_max = 0;
  // workers_max "adaptive": the bound moves between workers_min and adaptive_max by measured run
  // times (workers_max is then where it starts: workers_min).
  bool workers_adaptive = false;
  std::size_t adaptive_max = 64;  // the most an adaptive limit may reach
  std::optional<std::size_t> reserved_high_workers;
  std::size_t queue_capacity = 1024;
  std::size_t high_queue_capacity = 256;
  std::chrono::milliseconds worker_idle_timeout{30'000};
  // Jobs.
  std::chrono::milliseconds default_timeout{30'000};
  std::chrono::milliseconds max_timeout{3'600'000};
  std::chrono::milliseconds drain_timeout{30'000};
  std::size_t retain_jobs = 10'000;
  std::chrono::seconds retain_seconds{3'600};
  // Where jobs' records are kept: "memory" (gone when jobd stops) or "sqlite:PATH".
  std::string store = "memory";
  bool store_full_sync = true;                     // store_sync: full, or normal
  std::chrono::milliseconds store_timeout{5'000};  // a write's wait for a file held elsewhere
  // Retries and schedules.
  std::uint32_t max_attempts_limit = 25;                 // the most max_attempts may ask for
  std::chrono::milliseconds retry_backoff{1'000};        // before a second attempt, by default
  std::chrono::milliseconds retry_backoff_max{600'000};  // no wait between attempts is longer
  std::size_t scheduled_capacity = 100'000;              // jobs waiting for their time, at most
  std::chrono::milliseconds max_schedule{30LL * 86'400'000};  // run_at at most this far ahead
  std::chrono::seconds idempotency_ttl{86'400};  // an Idempotency-Key answers this long
  // Completion callbacks: the URL prefixes a callback_url may start with (none: callbacks off),
  // the file of the signature's secret and the secret read from it, and how deliveries go.
  std::vector<std::string> callback_allow;
  std::string callback_ca_file;  // empty: https receivers are checked against the system's CAs
  std::string callback_ca_pem;   // its content, read at load
  std::string callback_secret_file;
  std::string callback_secret;
  std::chrono::milliseconds callback_timeout{10'000};
  std::uint32_t callback_max_attempts = 10;
  std::chrono::milliseconds callback_backoff{1'000};
  std::size_t callback_concurrency = 16;
  // Exec jobs.
  std::vector<exec_type> exec_types;
  std::vector<pipeline_type> pipeline_types;
  std::chrono::milliseconds kill_grace{2'000};  // SIGTERM to SIGKILL for a job's process group
  std::size_t stderr_tail_bytes = 4096;         // the end of stderr kept in a job's result
  // Authentication: with a token file, the /v1 routes need "Authorization: Bearer TOKEN".
  std::string auth_token_file;           // empty: no authentication
  std::vector<std::string> auth_tokens;  // read from auth_token_file when the settings load
  // The file's permission bits, as read with the tokens: a file others can read is a warning,
  // or (strict) a refusal to start.
  unsigned auth_token_file_mode = 0;
  bool auth_token_file_strict = false;
  bool auth_healthz = false;  // /healthz, /readyz and /metrics stay open unless set
  bool auth_readyz = false;
  bool auth_metrics = false;
  // Logging.
  std::string log_level = "info";
  log_format log_format_ = log_format::text;
  bool access_log = true;
};

// What the command line asked for besides settings.
struct command {
  enum class action : std::uint8_t { run, help, version, check_config, probe, migrate_only };
  action what = action::run;
  settings values;
  // For action::probe: an http:// URL, or a path such as /healthz asked of `values`' listen
  // address (so a container's health check follows JOBD_LISTEN).
  std::string probe_target;
  // The config file read (--config or JOBD_CONFIG); empty when none was named.
  std::string config_file;
};

// Parses argv (flags), the environment and the config file (--config FILE, or JOBD_CONFIG), in
// that precedence, then validates. Throws config_error.
// `environ_entries` are "NAME=value" strings (normally ::environ).
command load(const std::vector<std::string>& args, const std::vector<std::string>& environ_entries,
             std::size_t cpus);

std::string settings_help();

// The file of a "sqlite:PATH" store; empty for any other.
std::string sqlite_path(const settings& s);

// The effective settings as a JSON object text, keyed like the config file.
std::string describe(const settings& s);

}  // namespace jobd::config
