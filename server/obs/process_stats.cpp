#include "server/obs/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace jobd::server {
namespace {

double count_open_fds() {
  // Since Linux 6.2 the directory's size is its number of entries: a scrape costs one stat
  // whatever the connection count, where listing 10,000 descriptors holds the I/O thread for
  // milliseconds. Older kernels report 0, and the listing counts them.
  struct stat st {};
  if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return static_cast<double>(st.st_size);
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor opendir itself holds
}

double read_boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

// The boot time does not change: read once, not on every scrape (/proc/stat is long on big
// machines).
double boot_time_seconds() {
  static const double boot = read_boot_time_seconds();
  return boot;
}

}  // namespace

std::optional<process_stats> read_process_stats() {
  // Counted before this function opens a file of its own.
  const double open_fds = count_open_fds();
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
    if (i == 22) starttime = std::stod(field);
    if (i == 23) vsize = std::stod(field);
    if (i == 24) {
      rss_pages = std::stod(field);
      break;
    }
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  process_stats s;
  s.resident_memory_bytes = rss_pages * static_cast<double>(sysconf(_SC_PAGESIZE));
  s.virtual_memory_bytes = vsize;
  s.cpu_seconds = (utime + stime) / ticks;
  s.start_time_seconds = boot_time_seconds() + starttime / ticks;
  s.open_fds = open_fds;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = static_cast<double>(lim.rlim_cur);
  return s;
}

}  // namespace jobd::server
