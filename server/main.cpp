// jobd: parse settings, set up logging, serve until a signal, drain, exit.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "config/cpu_budget.hpp"
#include "config/settings.hpp"
#include "handlers/exec.hpp"
#include "handlers/process.hpp"
#include "handlers/registry.hpp"
#include "server/logging.hpp"
#include "server/probe.hpp"
#include "server/server.hpp"

extern char** environ;

namespace {

constexpr const char* version = JOBD_VERSION;

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
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
  jobd::handlers::registry types;
  jobd::handlers::add_builtins(types);
  try {
    jobd::handlers::add_exec_types(types, cmd.values);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "jobd: invalid configuration: job_types: %s\n", e.what());
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
      std::cout << jobd::config::describe(cmd.values) << "\nconfiguration OK\n";
      return 0;
    case command::action::probe: {
      const auto outcome =
          jobd::server::probe(cmd.probe_target, cmd.values, cmd.values.read_timeout);
      (outcome.healthy ? std::cout : std::cerr)
          << "jobd --probe " << cmd.probe_target << ": " << outcome.detail << "\n";
      return outcome.healthy ? 0 : 1;
    }
    case command::action::run:
      break;
  }

  // Writes to a closed pipe or socket are reported as errors; they must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  jobd::handlers::adopt_orphans();
  jobd::server::setup_logging(cmd.values);
  spdlog::info("CPUs for workers \"auto\": {} ({})", cpus.cpus, cpus.explanation);
  try {
    jobd::server::server srv(cmd.values, types);
    return srv.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
