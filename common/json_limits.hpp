#pragma once

// The bound on JSON nesting, checked while any text is parsed (parse_checked_json): the
// serialiser and every walk over a document recurse, so depth must be capped whoever wrote the
// text (a client, a config file, an exec job's output).

#include <cstddef>

namespace jobd {

// Deeper than this is refused: no job, setting or result needs it.
inline constexpr std::size_t max_json_depth = 64;

}  // namespace jobd
