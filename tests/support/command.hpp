#pragma once

// Runs a shell command line for a test and captures what it printed (stdout and stderr).

#include <cstdio>
#include <string>

namespace jobd::testing {

struct command_result {
  int status = -1;  // as pclose() reports it: 0 when the command exited 0
  std::string output;
};

inline command_result run_command(const std::string& command_line) {
  command_result r;
  FILE* p = popen((command_line + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) r.output += buf;
  r.status = pclose(p);
  return r;
}

}  // namespace jobd::testing
