#pragma once

// Runs the real jobd binary for a test: started with flags and environment, its log captured,
// the port read from its "listening on ADDR:PORT" line, and always reaped (SIGKILL if needed).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jobd::testing {

inline constexpr auto process_must_within = std::chrono::seconds(30);

// A tmpfs of the child's own at `path`, in a mount namespace of its own (root only): to run
// it out of disk space without touching anyone else's. `options` as mount(8) takes them.
struct private_tmpfs {
  std::string path;
  std::string options;
};

// Whether this process may give a child a private_tmpfs (it may not without CAP_SYS_ADMIN).
inline bool can_mount_private_tmpfs(const std::string& path) {
  const pid_t pid = fork();
  if (pid == 0) {
    const bool ok = unshare(CLONE_NEWNS) == 0 &&
                    mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                    mount("tmpfs", path.c_str(), "tmpfs", 0, "size=64k") == 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

class jobd_process {
 public:
  // Starts jobd with `args` (listen defaults to 127.0.0.1:0) and waits for it to listen; in the
  // folder `cwd` when one is given (relative paths in its settings resolve there).
  explicit jobd_process(std::vector<std::string> args, std::vector<std::string> env = {},
                        bool expect_listen = true, std::string cwd = {},
                        std::optional<private_tmpfs> tmpfs = {}) {
    bool has_listen = false;
    for (const auto& a : args) has_listen |= a.starts_with("--listen");
    if (!has_listen && expect_listen) {
      args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
    }
    if (expect_listen) args.insert(args.begin(), {"--access-log", "false"});
    // Only what the test gives (the runner's own JOBD_* variables must not leak in), plus the
    // sanitizer settings, so that a sanitizer build of jobd reports as the tests do.
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
    }
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::string bin = JOBD_BINARY;
    std::vector<char*> argv{bin.data()};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      // A test run that is killed must not leave its servers behind.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fds[1], STDERR_FILENO);
      dup2(fds[1], STDOUT_FILENO);
      if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
      if (tmpfs && (unshare(CLONE_NEWNS) != 0 ||
                    mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                    mount("tmpfs", tmpfs->path.c_str(), "tmpfs", 0, tmpfs->options.c_str()) != 0)) {
        _exit(125);
      }
      execve(bin.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    reader_ = std::thread([this] { read_output(); });
    reaper_ = std::thread([this] {
      int status = 0;
      waitpid(pid_, &status, 0);
      std::lock_guard lk(mu_);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      cv_.notify_all();
    });
    if (expect_listen) {
      const std::string line = wait_for_log("listening on ");
      const auto colon = line.rfind(':', line.find(" (workers"));
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    }
  }

  ~jobd_process() {
    bool exited = false;
    {
      std::lock_guard lk(mu_);
      exited = exit_code_.has_value();
    }
    if (!exited) kill(pid_, SIGKILL);
    reaper_.join();
    reader_.join();
    close(out_fd_);
    const std::string all = log_locked();
    for (const char* report : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                               "ERROR: LeakSanitizer", "runtime error:"}) {
      if (all.find(report) != std::string::npos)
        ADD_FAILURE() << "jobd reported a sanitizer finding:\n" << all;
    }
  }

  jobd_process(const jobd_process&) = delete;
  jobd_process& operator=(const jobd_process&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) { kill(pid_, sig); }

  // The exit code (or 128 + signal), waiting at most process_must_within.
  int wait_exit() {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, process_must_within, [&] { return exit_code_.has_value(); })) {
      ADD_FAILURE() << "jobd did not exit; log:\n" << log_locked();
      return -1;
    }
    return *exit_code_;
  }

  // Waits until the log has a line containing `needle`; returns that line.
  std::string wait_for_log(const std::string& needle) {
    std::unique_lock lk(mu_);
    std::string found;
    const bool ok = cv_.wait_for(lk, process_must_within, [&] {
      for (const auto& l : lines_) {
        if (l.find(needle) != std::string::npos) {
          found = l;
          return true;
        }
      }
      return eof_;
    });
    if (!ok || found.empty())
      ADD_FAILURE() << "jobd never logged \"" << needle << "\"; log:\n" << log_locked();
    return found;
  }

  std::string log() {
    std::lock_guard lk(mu_);
    return log_locked();
  }

  // Waits for the output to end (the process exited) and returns all of it.
  std::string full_output() {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, process_must_within, [&] { return eof_; });
    return log_locked();
  }

 private:
  std::string log_locked() const {
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all;
  }

  void read_output() {
    std::string partial;
    char buf[4096];
    for (;;) {
      const ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, static_cast<std::size_t>(n));
      std::lock_guard lk(mu_);
      for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      cv_.notify_all();
    }
    std::lock_guard lk(mu_);
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> exit_code_;  // guarded by mu_
  std::thread reader_;
  std::thread reaper_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

}  // namespace jobd::testing
