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

// Whether debug lines are written: a caller can skip gathering what only they would show.
bool debug_enabled();

// At debug level: why a job did not succeed. The message is a client's text, made printable.
void log_job_end(std::string_view id, std::string_view type, std::string_view status,
                 std::string_view code, std::string_view message);

// One access line: a request answered, or a connection refused before one was read ("-" for
// its method and target). `target` as loggable_target() makes it.
void log_access(std::string_view request_id, std::string_view client, std::string_view method,
                std::string_view target, std::string_view route, unsigned status,
                double duration_ms);

// `text` with its control characters written as \xNN, for text from clients (a job's error
// message, say) in a log line: it cannot start a line of its own or move a terminal's cursor.
std::string printable(std::string_view text);

// A request target as the access log shows it: bytes outside printable ASCII (which the parser
// lets through as obs-text) percent-encoded, so that the line is valid UTF-8 and can carry no
// terminal escapes. Targets are ASCII in practice: those are copied as they are.
std::string loggable_target(std::string_view target);

}  // namespace jobd::server
