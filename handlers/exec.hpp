#pragma once

#include "config/settings.hpp"
#include "handlers/process.hpp"
#include "handlers/registry.hpp"

namespace jobd::handlers {

// Registers each configured exec type, whose commands run as `children`. Throws
// std::invalid_argument when a name is taken.
void add_exec_types(registry& r, const config::settings& s, child_processes& children);

}  // namespace jobd::handlers
