#pragma once

// The body of PATCH /v1/pool: new worker bounds, either or both, read against the bounds the
// pool has now. Whether they fit together (and with the reserved workers) is the pool's to say.

#include <cstddef>
#include <string>
#include <string_view>

namespace jobd::server {

struct pool_resize {
  std::size_t workers_min = 0;
  std::size_t workers_max = 0;
  // Empty when the body was read; else the API's error code and what is wrong.
  std::string error_code;
  std::string error;
};

[[nodiscard]] pool_resize read_pool_resize(std::string_view body, std::size_t workers_min,
                                           std::size_t workers_max);

}  // namespace jobd::server
