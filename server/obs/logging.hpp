#pragma once

#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace jobd::server {

// Sets the default spdlog logger: stderr, UTC timestamps, text lines or one JSON object a line.
void setup_logging(const config::settings& s);

// Logs `message` at info even when the level is warn or above; not when logging is off. For the
// start-up line: it is how a client learns the port the kernel chose for --listen ADDR:0.
void announce(std::string_view message);

// One access line: a request answered, or a connection refused before one was read ("-" for
// its method and target). `target` as percent_encode_unprintable() makes it.
void log_access(std::string_view request_id, std::string_view client, std::string_view method,
                std::string_view target, std::string_view route, unsigned status,
                double duration_ms);

}  // namespace jobd::server
