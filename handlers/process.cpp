#include "handlers/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace jobd::handlers {
namespace {

using clock = std::chrono::steady_clock;

// While jobd waits for a group's leftover processes to die, it checks this often: there is no
// descriptor that becomes ready when a process group empties.
constexpr auto group_check_interval = std::chrono::milliseconds(5);

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct pipe_pair {
  unique_fd read;
  unique_fd write;
};

pipe_pair make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw spawn_error(std::string("pipe: ") + std::strerror(errno));
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// posix_spawn's C structures, released on every path.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

int pidfd_send(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// The worker threads keep a timer slack of their own (pool/pool.cpp); a child inherits its
// spawning thread's, so the thread takes the command's for the spawn and then its own again.
class timer_slack_for_spawn {
 public:
  explicit timer_slack_for_spawn(unsigned long child_ns)
      : own_ns_(static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL))) {
    prctl(PR_SET_TIMERSLACK, child_ns, 0UL, 0UL, 0UL);
  }
  ~timer_slack_for_spawn() { prctl(PR_SET_TIMERSLACK, own_ns_, 0UL, 0UL, 0UL); }
  timer_slack_for_spawn(const timer_slack_for_spawn&) = delete;
  timer_slack_for_spawn& operator=(const timer_slack_for_spawn&) = delete;

 private:
  unsigned long own_ns_;
};

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

class child_processes::runner {
 public:
  runner(child_processes& owner, const process_spec& spec, std::string_view input,
         std::stop_token stop)
      : owner_(owner), spec_(spec), input_(input), stop_(std::move(stop)) {}

  ~runner() {
    if (pid_ <= 0) return;  // never started
    std::unique_lock lk(owner_.mu_);
    if (!done_) {
      // Leaving by an exception must not leave the job's processes behind either. An unreaped
      // command's pid and group id are its own; a reaped one's group id stays the group's while
      // a process is in it.
      if (!status_) {
        kill(-pgid_, SIGKILL);
        kill(pid_, SIGKILL);
      } else if (kill(-pgid_, 0) == 0) {
        kill(-pgid_, SIGKILL);
      }
      // Reaped by reap_locked like any child, never by waiting on its pid with the lock held.
      const auto until = clock::now() + kill_wait();
      while (!status_ && clock::now() < until) {
        owner_.reap_locked();
        if (status_) break;
        lk.unlock();
        wait_a_moment();
        lk.lock();
      }
    }
    // From here, whatever of the job is left is a stray, for reap_strays.
    forget_locked();
  }

  runner(const runner&) = delete;
  runner& operator=(const runner&) = delete;

  process_result run() {
    spawn();
    std::stop_callback on_stop(stop_, [this] {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
    });
    while (!finished()) step();
    drain(out_);
    drain(err_);
    done_ = true;
    return std::move(result_);
  }

 private:
  void spawn() {
    pipe_pair in = make_pipe();
    pipe_pair out = make_pipe();
    pipe_pair err = make_pipe();
    spawn_setup s;
    posix_spawn_file_actions_adddup2(&s.actions, in.read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&s.actions, out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&s.actions, err.write.get(), STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&s.actions, spec_.cwd.c_str());
    // Descriptors the server opened without O_CLOEXEC (sockets among them) stay in the server.
    posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    // A new process group of its own, no blocked signals, and default dispositions: the server
    // ignores SIGPIPE, which the child must not inherit.
    posix_spawnattr_setflags(
        &s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&s.attr, 0);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &all);
    auto argv = c_strings(spec_.argv);
    auto envp = c_strings(spec_.env);
    // posix_spawn waits for the exec, which a slow file system can make long: it runs outside
    // the lock, and reaping leaves unknown children alone meanwhile, so that the command is
    // neither reaped as a stray nor reaped before its pidfd is opened.
    {
      std::lock_guard lk(owner_.mu_);
      ++owner_.spawning_;
    }
    pid_t pid = -1;
    int rc = 0;
    int pidfd_errno = 0;
    {
      const timer_slack_for_spawn slack(owner_.child_timer_slack_ns_);
      rc = posix_spawn(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
    }
    if (rc == 0) {
      pidfd_ = unique_fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
      if (!pidfd_) pidfd_errno = errno;
    }
    {
      std::lock_guard lk(owner_.mu_);
      --owner_.spawning_;
      if (rc == 0) {
        pid_ = pgid_ = pid;
        owner_.commands_[pid_] = &status_;
      }
    }
    owner_.spawned_.notify_all();
    if (rc != 0) throw spawn_error("cannot start " + spec_.argv[0] + ": " + std::strerror(rc));

    in_ = std::move(in.write);
    out_ = std::move(out.read);
    err_ = std::move(err.read);
    set_nonblocking(in_.get());
    set_nonblocking(out_.get());
    set_nonblocking(err_.get());
    if (input_.empty()) in_.reset();  // EOF at once for a child that reads stdin
    // Out of descriptors, say. The destructor then kills the group and reaps the command, once:
    // reaping it here as well would leave its pid, free for reuse, to the destructor's kill.
    auto cannot_watch = [](int error) {
      return spawn_error(std::string("cannot watch the child: ") + std::strerror(error));
    };
    if (!pidfd_ && pidfd_errno == ESRCH) {
      // Gone already, and reaped outside reap_locked (which leaves it alone while spawns are
      // under way): its status is lost, as in collect().
      std::lock_guard lk(owner_.mu_);
      lose_status_locked();
    } else if (!pidfd_) {
      throw cannot_watch(pidfd_errno);
    }
    stop_fd_ = unique_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd_) throw cannot_watch(errno);
  }

  // Reaps whatever has died (this job's processes among them, since jobd is the subreaper of
  // its orphans), and takes the command's status, whoever reaped it.
  void collect() {
    std::lock_guard lk(owner_.mu_);
    owner_.reap_locked();
    if (reaped_) return;
    if (status_) return record(*status_);
    if (!exited_) return;
    // Exited, yet not ours to wait for: something reaped it outside reap_locked (SIGCHLD set to
    // be ignored, say). Its status is lost; waiting longer would spin on the ready pidfd.
    siginfo_t info{};
    if (waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG | WNOWAIT) != 0 &&
        errno == ECHILD) {
      lose_status_locked();
    }
  }

  // Takes the command out of the map, if it is still there: once reaped, it has left, and its
  // pid may be another command's by now.
  void forget_locked() {
    const auto command = owner_.commands_.find(pid_);
    if (command != owner_.commands_.end() && command->second == &status_) {
      owner_.commands_.erase(command);
    }
  }

  // The command is gone without its status: the job ends with neither exit code nor signal.
  void lose_status_locked() {
    forget_locked();
    exited_ = reaped_ = true;
  }

  // Whether any process is left in the group. A zombie counts until its parent reaps it: this
  // process reaps its own, but one whose parent left the group waits for that parent.
  bool group_alive() {
    collect();
    if (group_gone_) return false;
    const bool alive = kill(-pgid_, 0) == 0 || errno != ESRCH;
    // Once the command is reaped and the group empty, the id is free for reuse: never again.
    if (!alive && reaped_) group_gone_ = true;
    return alive;
  }

  bool terminating() const { return terminate_started_ != clock::time_point{}; }

  // How long SIGKILL is given to end the group before the job ends regardless.
  std::chrono::milliseconds kill_wait() const {
    return std::max(spec_.kill_grace, std::chrono::milliseconds(1000));
  }

  void wait_a_moment() const {
    if (pidfd_ && !exited_) {
      pollfd fd{pidfd_.get(), POLLIN, 0};
      ::poll(&fd, 1, static_cast<int>(group_check_interval.count()));
    } else {
      ::poll(nullptr, 0, 1);
    }
  }

  bool finished() {
    if (killed_at_ != clock::time_point{} && clock::now() - killed_at_ >= kill_wait()) {
      collect();
      return true;  // what SIGKILL has not ended by now is left behind; see the header
    }
    if (!reaped_) return false;
    if (group_alive()) {
      // The command has exited but left processes behind: they end with it.
      if (!terminating()) terminate(SIGTERM);
      return false;
    }
    return true;
  }

  void step() {
    pollfd fds[5];
    int n = 0;
    auto add = [&](const unique_fd& fd, short events) -> int {
      if (!fd) return -1;
      fds[n] = {fd.get(), events, 0};
      return n++;
    };
    const int in_i = add(in_, POLLOUT);
    const int out_i = add(out_, POLLIN);
    const int err_i = add(err_, POLLIN);
    const int pid_i = reaped_ || exited_ ? -1 : add(pidfd_, POLLIN);
    const int stop_i = result_.stop_requested ? -1 : add(stop_fd_, POLLIN);

    int timeout_ms = -1;
    if (terminating() || (exited_ && !reaped_)) {
      // Waiting for the group to die (wake for SIGKILL time, and to look at the group), or for
      // a spawn under way to let reaping take the command.
      timeout_ms = static_cast<int>(group_check_interval.count());
    }
    if (::poll(fds, static_cast<nfds_t>(n), timeout_ms) < 0 && errno != EINTR) {
      throw spawn_error(std::string("poll: ") + std::strerror(errno));
    }
    auto ready = [&](int i) {
      return i >= 0 && (fds[i].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR));
    };

    // The command's end first: a stop that follows must not signal a group id already free.
    if (ready(pid_i)) exited_ = true;
    if (exited_ && !reaped_) collect();
    if (ready(stop_i)) {
      result_.stop_requested = true;
      if (!terminating()) terminate(SIGTERM);
    }
    if (ready(in_i)) write_input();
    if (ready(out_i)) drain(out_);
    if (ready(err_i)) drain(err_);
    if (terminating() && killed_at_ == clock::time_point{} &&
        clock::now() - terminate_started_ >= spec_.kill_grace && (!reaped_ || group_alive())) {
      terminate(SIGKILL);
    }
  }

  void terminate(int sig) {
    (sig == SIGTERM ? terminate_started_ : killed_at_) = clock::now();
    // The group by its id, which stays the group's while a process is in it, and the command
    // through its pidfd, which reaches it wherever it went and never a process that reused its
    // pid. A stopped process must run to act on SIGTERM (SIGKILL ends it stopped or not).
    bool sent = false;
    if (!group_gone_) {
      sent = kill(-pgid_, sig) == 0;
      if (sig == SIGTERM) kill(-pgid_, SIGCONT);
    }
    if (!reaped_) {
      sent = pidfd_send(pidfd_.get(), sig) == 0 || sent;
      if (sig == SIGTERM) pidfd_send(pidfd_.get(), SIGCONT);
    }
    if (sent) result_.terminated_with = sig;
  }

  void write_input() {
    // A child that exits without reading makes this write fail with EPIPE and raise SIGPIPE. The
    // signal is blocked on this thread for the write and consumed, so the process never depends on
    // the server's disposition for it.
    sigset_t pipe_only;
    sigset_t old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    write_input_blocked();
    const timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void write_input_blocked() {
    while (written_ < input_.size()) {
      const ssize_t w = ::write(in_.get(), input_.data() + written_, input_.size() - written_);
      if (w > 0) {
        written_ += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno == EAGAIN) return;
      break;  // EPIPE: the child closed stdin or exited; the rest is not wanted
    }
    in_.reset();
  }

  // Reads what is there. stdout is kept up to its cap; stderr keeps only its tail. Either way
  // the memory a job can take is bounded, whatever the child writes.
  void drain(unique_fd& fd) {
    if (!fd) return;
    char buf[65536];
    for (;;) {
      const ssize_t r = ::read(fd.get(), buf, sizeof buf);
      if (r < 0 && errno == EAGAIN) return;
      if (r <= 0) {
        fd.reset();  // EOF or error
        return;
      }
      const auto got = static_cast<std::size_t>(r);
      if (&fd == &out_) {
        const auto room = spec_.max_stdout_bytes - result_.out.size();
        result_.out.append(buf, std::min(room, got));
        if (got > room) {
          result_.output_too_large = true;
          // Nothing more is wanted: closing our end makes the child's next write fail at once.
          out_.reset();
          if (terminate_started_ == clock::time_point{}) terminate(SIGTERM);
          return;
        }
      } else {
        std::string& tail = result_.err_tail;
        tail.append(buf, got);
        if (tail.size() > spec_.stderr_tail_bytes)
          tail.erase(0, tail.size() - spec_.stderr_tail_bytes);
      }
    }
  }

  void record(int status) {
    reaped_ = true;
    if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
  }

  child_processes& owner_;
  const process_spec& spec_;
  std::string_view input_;
  std::stop_token stop_;
  pid_t pid_ = -1;
  pid_t pgid_ = -1;
  unique_fd in_, out_, err_, pidfd_, stop_fd_;
  std::size_t written_ = 0;
  std::optional<int> status_;  // the command's wait status, set by reap_locked; guarded by mu_
  bool exited_ = false;        // its pidfd was ready: it has exited, reaped or not
  bool reaped_ = false;        // its status is recorded, or known to be lost
  bool group_gone_ = false;    // seen empty after the command was reaped: its id may be reused
  bool done_ = false;
  clock::time_point terminate_started_{};  // when SIGTERM went out
  clock::time_point killed_at_{};          // when SIGKILL went out
  process_result result_;
};

child_processes::child_processes()
    : child_timer_slack_ns_(
          static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL))) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // Inherited as ignored (or with SA_NOCLDWAIT), SIGCHLD would have the kernel reap the children
  // itself, and no job would learn how its command ended.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGCHLD, &dfl, nullptr);
}

process_result child_processes::run(const process_spec& spec, std::string_view input,
                                    std::stop_token stop) {
  if (spec.argv.empty()) throw spawn_error("empty command");
  process_result result = runner(*this, spec, input, std::move(stop)).run();
  // What the job left behind outside its group and has exited since.
  reap_strays();
  return result;
}

std::size_t child_processes::reap_strays() {
  std::lock_guard lk(mu_);
  return reap_locked();
}

void child_processes::kill_all() {
  std::unique_lock lk(mu_);
  spawned_.wait_for(lk, std::chrono::milliseconds(500), [&] { return spawning_ == 0; });
  // Unreaped, under the lock: each pid and group id is still its command's.
  for (const auto& [pid, status] : commands_) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
}

std::size_t child_processes::reap_locked() {
  std::size_t strays = 0;
  for (;;) {
    // Looks before reaping: a child that is no command may be one not yet in the map.
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    const pid_t pid = info.si_pid;
    const auto command = commands_.find(pid);
    if (command == commands_.end() && spawning_ > 0) break;  // the next call takes it
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) != pid) break;
    if (command != commands_.end()) {
      *command->second = status;
      commands_.erase(command);
    } else {
      ++strays;
    }
  }
  return strays;
}

}  // namespace jobd::handlers
