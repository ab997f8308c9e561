#pragma once

// What /proc says about processes, for tests that check nothing outlives a job.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace jobd::testing {

// The whole of a /proc file; empty when it cannot be read, as when its process is gone, even
// half-way through (a stream would throw then: the read fails with ESRCH).
inline std::string proc_file(const std::string& path) {
  std::string out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0) out.clear();
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

// Whether process `pid` exits (reaped or not) within `limit`; false too when it cannot be watched.
inline bool exits_within(pid_t pid, std::chrono::milliseconds limit) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return false;
  pollfd exited{fd, POLLIN, 0};
  const bool ready = poll(&exited, 1, static_cast<int>(limit.count())) == 1;
  close(fd);
  return ready;
}

// Checks `condition` until it holds or `limit` passes, for a test that waits on another process:
// a regression then fails the test instead of hanging it. Nothing is retried; the condition is
// expected to hold within milliseconds.
template <class Condition>
bool eventually(Condition condition, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

// Processes whose command line contains `marker`.
inline std::vector<pid_t> processes_with(const std::string& marker) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  while (dirent* e = readdir(proc)) {
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    const std::string cmdline = proc_file(std::string("/proc/") + e->d_name + "/cmdline");
    if (cmdline.find(marker) != std::string::npos) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

// The state letter of /proc/PID/stat ('R', 'S', 'Z' for a zombie, ...), and the parent's pid;
// '\0' and 0 for a process that is gone (reaped).
struct process_status {
  char state = '\0';
  pid_t parent = 0;
};
// The fields of /proc/PID/stat from the third (the state) on, after the parenthesised command
// name, which may hold spaces; none for a process that is gone.
inline std::istringstream stat_fields(pid_t pid) {
  const std::string stat = proc_file("/proc/" + std::to_string(pid) + "/stat");
  const auto name_end = stat.rfind(')');
  return std::istringstream(name_end == std::string::npos ? "" : stat.substr(name_end + 2));
}

inline process_status status_of(pid_t pid) {
  std::istringstream fields = stat_fields(pid);
  process_status s;
  fields >> s.state >> s.parent;
  return s;
}

// Entries of /proc/PID/fd (for the calling process, one of them is the listing itself).
inline int open_fds(pid_t pid = getpid()) {
  int n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// Peak resident set (VmHWM) in KiB, or -1.
inline long peak_rss_kb(pid_t pid = getpid()) {
  std::istringstream in(proc_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

// User plus system CPU time the process has used, in seconds (fields 14 and 15 of
// /proc/PID/stat, after the parenthesised command name).
inline double cpu_seconds(pid_t pid) {
  std::istringstream fields = stat_fields(pid);
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;
  long utime = 0;
  long stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace jobd::testing
