#pragma once

// FNV-1a, 64 bits: a fast hash that is the same in every build and on every machine, for
// fingerprints that are stored (a request body's, say). Not for secrets, nor against anyone
// who chooses the input to collide.

#include <cstdint>
#include <string_view>

namespace jobd {

constexpr std::uint64_t fnv1a_64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

static_assert(fnv1a_64("") == 0xcbf29ce484222325ULL);
static_assert(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);

}  // namespace jobd
