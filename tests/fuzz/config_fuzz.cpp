// Config parsing: the input as a config file (job types included), or, after a leading 0x01,
// as JOBD_* environment entries one a line. Anything but config_error escaping is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::vector<std::string> env;
  int fd = -1;
  if (!input.empty() && input[0] == '\x01') {
    std::size_t start = 1;
    while (start <= input.size()) {
      const auto nl = input.find('\n', start);
      env.push_back(input.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  } else {
    // An in-memory file: no disk traffic per input.
    fd = memfd_create("jobd-config-fuzz", MFD_CLOEXEC);
    if (fd < 0 || write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
      if (fd >= 0) close(fd);
      return 0;
    }
    args = {"--config", "/proc/self/fd/" + std::to_string(fd)};
  }
  try {
    (void)jobd::config::load(args, env, 2);
  } catch (const jobd::config::config_error&) {
    // The expected answer to bad input.
  }
  if (fd >= 0) close(fd);
  return 0;
}
