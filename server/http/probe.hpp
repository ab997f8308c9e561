#pragma once

// `jobd --probe TARGET`: one GET, for health checks in images that carry no HTTP client.

#include <chrono>
#include <string>

#include "config/settings.hpp"

namespace jobd::server {

struct probe_outcome {
  bool healthy = false;  // a 2xx answer arrived in time
  std::string detail;    // "200 OK", or why there was no good answer
};

// `target` is an http:// URL, or a path asked of the settings' listen address (a wildcard
// address is asked on the loopback of the same family). Waits at most `timeout` in all.
probe_outcome probe(const std::string& target, const config::settings& s,
                    std::chrono::milliseconds timeout);

}  // namespace jobd::server
