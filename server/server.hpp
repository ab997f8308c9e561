#pragma once

// The jobd process assembled: the I/O threads and their listener, the routes, the job service
// with its pool and store, signal handling, and the ordered shutdown (stop taking jobs, drain,
// cancel leftovers, answer waiters, close connections, join threads).

#include <memory>

#include "config/settings.hpp"
#include "handlers/pipeline.hpp"
#include "handlers/process.hpp"
#include "handlers/registry.hpp"

namespace jobd::server {

class server_impl;

class server {
 public:
  // Binds the listening socket; throws std::system_error when it cannot.
  // `children` are the exec jobs' processes: the server reaps their strays now and then.
  // `pipelines` run the stages of the pipeline types among `types`; they must outlive the
  // server, whose drain ends the pipelines' jobs.
  server(const config::settings& settings, const handlers::registry& types,
         handlers::child_processes& children, const handlers::pipelines& pipelines);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Serves until SIGTERM or SIGINT, then shuts down in order. Returns the exit code.
  int run();

 private:
  std::unique_ptr<server_impl> impl_;
};

}  // namespace jobd::server
