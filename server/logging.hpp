#pragma once

#include "config/settings.hpp"

namespace jobd::server {

// Sets the default spdlog logger: stderr, UTC timestamps, text lines or one JSON object a line.
void setup_logging(const config::settings& s);

}  // namespace jobd::server
