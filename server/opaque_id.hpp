#pragma once

// Ids that are sequence numbers in disguise: 16 lower-case hex digits. An odd multiplier is a
// bijection on 64-bit integers, so distinct numbers give distinct ids and an id decodes back to
// its number; the salt keeps them unguessable across restarts. Job ids and request ids.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobd::server {

std::string opaque_id(std::uint64_t seq, std::uint64_t salt);

// The number `id` was made from with `salt`; nullopt when it is not an id in form.
std::optional<std::uint64_t> seq_of_opaque_id(std::string_view id, std::uint64_t salt);

}  // namespace jobd::server
