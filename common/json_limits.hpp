#pragma once

// The bound on JSON nesting, checked before any text reaches nlohmann's parser: the parser, the
// serialiser and every walk over a document recurse, so depth must be capped before parsing,
// whoever wrote the text (a client, a config file, an exec job's output).

#include <cstddef>
#include <string_view>

namespace jobd {

// Deeper than this is refused: no job, setting or result needs it.
inline constexpr std::size_t max_json_depth = 64;

// True when `text` nests arrays/objects deeper than `max_depth` (strings are skipped properly,
// and with `comments`, // and /* */ comments too, for text parsed with ignore_comments).
bool nests_deeper_than(std::string_view text, std::size_t max_depth, bool comments = false);

}  // namespace jobd
