#pragma once

// How many CPUs this process may really use, for `workers: auto`: the affinity mask, lowered by
// a cgroup CPU quota when one is set (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us/cfs_period_us).
// In a container limited to 1.5 CPUs on a 16-core host this says 2, not 16.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace jobd::config {

struct cpu_budget {
  std::size_t cpus = 1;     // what "auto" uses: at least 1
  std::string explanation;  // for the start-up log, e.g. "cgroup quota 1.50 CPUs, affinity 16"
};

// The quota in CPUs (e.g. 1.5), if the process's cgroup or an ancestor has one. `proc_cgroup` is
// the text of /proc/self/cgroup; `mount` is where the cgroup hierarchy is mounted (/sys/fs/cgroup).
std::optional<double> cgroup_cpu_quota(const std::string& proc_cgroup,
                                       const std::filesystem::path& mount);

// Reads /proc/self/cgroup, /sys/fs/cgroup and the affinity mask of this process.
cpu_budget detect_cpu_budget();

}  // namespace jobd::config
