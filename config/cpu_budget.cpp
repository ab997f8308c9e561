#include "config/cpu_budget.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace jobd::config {
namespace {

std::optional<std::string> read_first_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// cgroup v2: "max 100000" (no limit) or "150000 100000".
std::optional<double> v2_quota(const std::filesystem::path& dir) {
  const auto line = read_first_line(dir / "cpu.max");
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    return std::stod(quota) / period;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// cgroup v1: cpu.cfs_quota_us is -1 when there is no limit.
std::optional<double> v1_quota(const std::filesystem::path& dir) {
  const auto quota = read_first_line(dir / "cpu.cfs_quota_us");
  const auto period = read_first_line(dir / "cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  try {
    const double q = std::stod(*quota);
    const double p = std::stod(*period);
    if (q <= 0 || p <= 0) return std::nullopt;
    return q / p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The smallest quota on the way from `dir` up to `mount` (a parent's limit binds its children).
template <class Reader>
std::optional<double> lowest_on_path(const std::filesystem::path& mount, const std::string& rel,
                                     Reader read) {
  std::optional<double> lowest;
  std::filesystem::path dir = mount / std::filesystem::path(rel).relative_path();
  for (;;) {
    if (auto q = read(dir); q && (!lowest || *q < *lowest)) lowest = q;
    if (dir == mount || !dir.has_relative_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
    if (dir.string().size() < mount.string().size()) break;
  }
  return lowest;
}

}  // namespace

std::optional<double> cgroup_cpu_quota(const std::string& proc_cgroup,
                                       const std::filesystem::path& mount) {
  std::istringstream lines(proc_cgroup);
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path"
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      if (auto q = lowest_on_path(mount, path, v2_quota)) return q;
      continue;
    }
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      if (name != "cpu") continue;
      for (const char* dir : {"cpu,cpuacct", "cpu"}) {
        if (auto q = lowest_on_path(mount / dir, path, v1_quota)) return q;
      }
    }
  }
  return std::nullopt;
}

cpu_budget detect_cpu_budget() {
  std::size_t affinity = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    affinity = static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
  std::ifstream in("/proc/self/cgroup");
  const std::string proc_cgroup((std::istreambuf_iterator<char>(in)), {});
  cpu_budget b;
  b.cpus = affinity;
  b.explanation = "affinity " + std::to_string(affinity) + " CPUs, no cgroup CPU quota";
  if (const auto quota = cgroup_cpu_quota(proc_cgroup, "/sys/fs/cgroup")) {
    const auto rounded = static_cast<std::size_t>(std::max(1.0, std::ceil(*quota)));
    b.cpus = std::min(affinity, rounded);
    char text[96];
    std::snprintf(text, sizeof text, "cgroup quota %.2f CPUs, affinity %zu CPUs", *quota, affinity);
    b.explanation = text;
  }
  return b;
}

}  // namespace jobd::config
