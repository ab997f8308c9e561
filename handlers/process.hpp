#pragma once

// Runs one command in its own process group and collects its output, with no shell and without
// deadlock whatever the child does with its pipes. On stop (the job's deadline or a cancel), on
// output past the cap, and for processes the command leaves behind, the whole group gets SIGTERM
// (and SIGCONT, so that a stopped process acts on it), then SIGKILL after a grace period; run
// returns when every process of the group has exited, so nothing the job started outlives it.
// The command itself is signalled through its pidfd as well, so it cannot dodge the signals by
// leaving its group.
//
// Runs on the calling (worker) thread and blocks it for the life of the process; nothing else.
// Limits: a process the command starts that leaves the group on purpose (setsid, setpgid)
// escapes it; only a cgroup could hold it. Once it exits it is reaped all the same
// (reap_strays). And after SIGKILL run waits at most the grace again (a second at least): what
// is left then is a process stuck in the kernel (it dies on its way out), a zombie whose parent
// left the group (that parent's to reap), or a process jobd may not signal (a setuid program);
// it is left behind, and reaped by reap_strays if it is jobd's child.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
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
  // How the command's own process ended: one of these is set, or neither when it outlived even
  // the wait after SIGKILL (stuck in the kernel; only once it was stopped or its output was too
  // large), or when something outside this class reaped it and its status was lost.
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
// an init that reaps late (or not at all, when jobd is PID 1 in a container). It reaps every
// child of the process, so nothing else in it may wait for children; making it also sets
// SIGCHLD to its default. One per process, made at start-up before any job runs; every member
// may be called from any thread.
class child_processes {
 public:
  child_processes();
  child_processes(const child_processes&) = delete;
  child_processes& operator=(const child_processes&) = delete;

  // Runs one command to its end; see the top of this file.
  process_result run(const process_spec& spec, std::string_view input, std::stop_token stop);

  // Reaps every child that has exited: the orphans a job's processes leave (in its group or
  // out of it, as a process that called setsid), and the running jobs' commands, whose status
  // goes to their jobs. Never waits for a process; returns how many it reaped that were not a
  // running job's command. Called after each job, and periodically by the server.
  std::size_t reap_strays();

  // SIGKILL for every running job's command and process group, for an exit that does not wait
  // for the jobs (a second SIGTERM): what the jobs started does not outlive the process. Waits
  // for spawns under way, whose commands it could not reach yet, but half a second at most, as
  // such an exit must not hang (the lock itself is never held for long).
  void kill_all();

 private:
  class runner;
  std::size_t reap_locked();

  // Every child of the process is reaped by reap_locked, under this lock, so that no job loses
  // its command's status to another. Nothing blocks while holding it.
  std::mutex mu_;
  // The running jobs' unreaped commands, each with where its status goes (its runner's slot,
  // guarded by mu_). A command leaves the map when it is reaped: a pid in the map is still that
  // command's, and so is its process group's id.
  std::map<pid_t, std::optional<int>*> commands_;  // guarded by mu_
  // Spawns under way (outside the lock: posix_spawn waits for the exec). While there are any,
  // an exited child not in the map may be one of their commands, and is not reaped yet.
  std::size_t spawning_ = 0;         // guarded by mu_
  std::condition_variable spawned_;  // a spawn under way is over
  // What a command starts with, whatever the worker thread that spawns it has set for itself.
  unsigned long child_timer_slack_ns_ = 0;
};

}  // namespace jobd::handlers
