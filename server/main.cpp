// jobd: parse settings, set up logging, serve until a signal, drain, exit.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "config/cpu_budget.hpp"
#include "config/settings.hpp"
#include "handlers/exec.hpp"
#include "handlers/pipeline.hpp"
#include "handlers/process.hpp"
#include "handlers/registry.hpp"
#include "server/http/probe.hpp"
#include "server/obs/logging.hpp"
#include "server/server.hpp"
#include "server/shutdown_signals.hpp"
#include "store/sqlite_store.hpp"

extern char** environ;

namespace {

constexpr const char* version = JOBD_VERSION;

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

// Every connection holds a descriptor, and the usual soft limit (1024) would cap
// max_connections far below its default; the hard limit is what the host allows.
void raise_descriptor_limit(std::size_t max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  if (lim.rlim_cur != before) {
    spdlog::info("descriptors: soft limit raised from {} to {} (the hard limit)", before,
                 lim.rlim_cur);
  } else {
    spdlog::info("descriptors: limit {}", lim.rlim_cur);
  }
  // Listener, pool, logs and a few per running exec job besides the connections.
  constexpr rlim_t headroom = 64;
  if (lim.rlim_cur < max_connections + headroom) {
    spdlog::warn(
        "descriptors: limit {} is below max_connections ({}) + {}: past it, new connections wait "
        "in the kernel's backlog; raise the hard limit (ulimit -Hn) or lower max_connections",
        lim.rlim_cur, max_connections, headroom);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using jobd::config::command;
  command cmd;
  const jobd::config::cpu_budget cpus = jobd::config::detect_cpu_budget();
  try {
    cmd = jobd::config::load(std::vector<std::string>(argv + 1, argv + argc), environment(),
                             cpus.cpus);
  } catch (const jobd::config::config_error& e) {
    std::fprintf(stderr, "jobd: invalid configuration: %s\n", e.what());
    return 2;
  }
  // Makes jobd the reaper of its jobs' orphans, before any job can leave one.
  jobd::handlers::child_processes children;
  jobd::handlers::registry types;
  jobd::handlers::add_builtins(types);
  try {
    jobd::handlers::add_exec_types(types, cmd.values, children);
    jobd::handlers::check_pipeline_types(types, cmd.values);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "jobd: invalid configuration: %s\n", e.what());
    return 2;
  }
  switch (cmd.what) {
    case command::action::help:
      std::cout << jobd::config::settings_help();
      return 0;
    case command::action::version:
      std::cout << "jobd " << version << "\n";
      return 0;
    case command::action::check_config:
      // stdout is the settings alone, for jq and the like; the verdict goes beside it.
      std::cout << jobd::config::describe(cmd.values) << std::endl;
      std::cerr << "configuration OK\n";
      return 0;
    case command::action::probe: {
      const auto outcome =
          jobd::server::probe(cmd.probe_target, cmd.values, cmd.values.read_timeout);
      (outcome.healthy ? std::cout : std::cerr)
          << "jobd --probe " << cmd.probe_target << ": " << outcome.detail << "\n";
      return outcome.healthy ? 0 : 1;
    }
    case command::action::migrate_only: {
      const std::string path = jobd::config::sqlite_path(cmd.values);
      if (path.empty()) {
        std::cout << "jobd --migrate-only: the store is " << cmd.values.store
                  << ", which has no schema to migrate\n";
        return 0;
      }
      try {
        jobd::store::migrate_sqlite(path);
      } catch (const jobd::store::store_open_error& e) {
        std::cerr << "jobd --migrate-only: " << e.what() << "\n";
        return 1;
      }
      std::cout << "jobd --migrate-only: the job store " << path << " is at schema version "
                << jobd::store::sqlite_store::schema_version << "\n";
      return 0;
    }
    case command::action::run:
      break;
  }

  // Writes to a closed pipe or socket are reported as errors; they must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  // A write past the file size limit (RLIMIT_FSIZE) fails with EFBIG, which the job store
  // reports as the store being down, until it can write again; by default it would kill jobd.
  std::signal(SIGXFSZ, SIG_IGN);
  jobd::server::setup_logging(cmd.values);
  raise_descriptor_limit(cmd.values.max_connections);
  spdlog::info("config: {}", cmd.config_file.empty()
                                 ? "no file (defaults, JOBD_* variables and flags)"
                                 : "file " + cmd.config_file);
  // Their stage pools outlive the server, whose drain ends the pipelines' jobs. Their threads
  // start before the server's: with the signals it reads blocked, as in all of jobd's threads.
  jobd::server::block_shutdown_signals();
  jobd::handlers::pipelines pipelines(types, cmd.values);
  spdlog::info("job types: {}", jobd::handlers::describe(types));
  spdlog::info("CPUs for workers \"auto\": {} ({})", cpus.cpus, cpus.explanation);
  try {
    jobd::server::server srv(cmd.values, types, children, pipelines);
    return srv.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
