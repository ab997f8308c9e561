#pragma once

#include <string_view>

#include "config/settings.hpp"

namespace jobd::server {

// Sets the default spdlog logger: stderr, UTC timestamps, text lines or one JSON object a line.
void setup_logging(const config::settings& s);

// Logs `message` at info even when the level is warn or above; not when logging is off. For the
// start-up line: it is how a client learns the port the kernel chose for --listen ADDR:0.
void announce(std::string_view message);

}  // namespace jobd::server
