#pragma once

// Runs one command in its own process group and collects its output, with no shell and without
// deadlock whatever the child does with its pipes. On stop (the job's deadline or a cancel), on
// output past the cap, and for processes the command leaves behind, the whole group gets SIGTERM,
// then SIGKILL after a grace period; run returns only when every process of the group
// has exited and been reaped, so nothing the job started outlives it.
//
// Runs on the calling (worker) thread and blocks it for the life of the process; nothing else.
// Limit: a process that leaves the group on purpose (setsid, setpgid) escapes it; only a cgroup
// could hold it. Once it exits it is reaped all the same (reap_strays).

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace jobd::handlers {

struct process_spec {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::vector<std::string> env;   // "NAME=value", the child's whole environment
  std::string cwd = "/";
  std::size_t max_stdout_bytes = 1 << 20;
  std::size_t stderr_tail_bytes = 4096;
  std::chrono::milliseconds kill_grace{2000};
};

struct process_result {
  // How the command's own process ended: exactly one of these is set.
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string out;       // stdout, at most max_stdout_bytes
  std::string err_tail;  // the last stderr_tail_bytes of stderr
  bool output_too_large = false;
  bool stop_requested = false;  // the stop token fired
  // What it took to end the group, when jobd had to: 0 (nothing), SIGTERM or SIGKILL.
  int terminated_with = 0;
};

// Thrown when the command cannot be started; what() says why.
class spawn_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The child processes of this process: the jobs' commands, and the orphans it adopts. Making
// one makes this process the subreaper of its descendants (PR_SET_CHILD_SUBREAPER): a job's
// leftover processes become its children, so they are reaped the moment they die instead of by
// an init that reaps late (or not at all, when jobd is PID 1 in a container). One per process,
// made at start-up before any job runs; every member may be called from any thread.
class child_processes {
 public:
  child_processes();
  child_processes(const child_processes&) = delete;
  child_processes& operator=(const child_processes&) = delete;

  // Runs one command to its end; see the top of this file.
  process_result run(const process_spec& spec, std::string_view input, std::stop_token stop);

  // Reaps every child that has exited and belongs to no running job: a process that left its
  // job's group (setsid) and so has no job to wait for it. Never waits for a process; returns
  // how many it reaped. Called after each job, and periodically by the server.
  std::size_t reap_strays();

 private:
  class runner;
  // The process groups of the running jobs (a command's group is its pid). A group is added
  // under the lock together with the spawn, so that reap_strays never takes a job's command
  // for a stray in between.
  std::mutex mu_;
  std::set<pid_t> live_groups_;  // guarded by mu_
};

}  // namespace jobd::handlers
