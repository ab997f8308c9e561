#include "server/api/auth.hpp"

#include <cctype>

#include "common/fnv1a.hpp"

namespace jobd::server {

namespace {

// Time depends on the configured token's length only, not on the presented bytes.
bool same_token(std::string_view presented, std::string_view configured) noexcept {
  unsigned char diff = presented.size() == configured.size() ? 0 : 1;
  for (std::size_t i = 0; i < configured.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(configured[i]));
  }
  return diff == 0;
}

// The credentials of "Bearer <token>" (the scheme is case-insensitive), or "" if the header
// has another form.
std::string_view bearer_credentials(std::string_view header) noexcept {
  constexpr std::string_view scheme = "bearer";
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return {};
  }
  std::string_view token = header.substr(scheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

}  // namespace

std::string authenticator::key_scope(std::string_view authorization) const {
  if (tokens_.empty()) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::uint64_t h = fnv1a_64(bearer_credentials(authorization));
  std::string out(16, '0');
  for (auto it = out.rbegin(); it != out.rend(); ++it, h >>= 4) *it = hex[h & 15];
  return out;
}

bool authenticator::is_bearer(std::string_view authorization) noexcept {
  return !bearer_credentials(authorization).empty();
}

bool authenticator::accepts(std::string_view authorization) const noexcept {
  if (tokens_.empty()) return true;
  const std::string_view presented = bearer_credentials(authorization);
  bool matched = false;
  for (const std::string& t : tokens_) matched |= same_token(presented, t);
  return matched && !presented.empty();
}

}  // namespace jobd::server
