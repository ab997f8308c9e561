#pragma once

// The test process's one set of child processes, as jobd keeps one: made on first use, which
// also makes the process the reaper of the jobs' orphans.

#include "handlers/process.hpp"

namespace jobd::handlers {

inline child_processes& test_children() {
  static child_processes children;
  return children;
}

}  // namespace jobd::handlers
