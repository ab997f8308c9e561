#pragma once

// Reading the files settings name (config, tokens): whole, bounded, and only regular files, so
// that a setting pointing at /dev/zero or a FIFO fails start-up instead of hanging it.

#include <cstddef>
#include <string>

namespace jobd::config {

inline constexpr std::size_t max_config_bytes = 16 << 20;

// The file's content. Throws config_error "`what`: ..." when it is not a readable regular file
// or is larger than `max_bytes`.
std::string read_small_file(const std::string& path, std::size_t max_bytes,
                            const std::string& what);

}  // namespace jobd::config
