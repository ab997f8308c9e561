#pragma once

// Bearer-token checks for the routes that need them (RFC 6750 header form only).

#include <string>
#include <string_view>
#include <vector>

namespace jobd::server {

class authenticator {
 public:
  // No tokens: every request is accepted.
  explicit authenticator(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  bool enabled() const noexcept { return !tokens_.empty(); }

  // `authorization` is the Authorization header's value ("" when absent). The comparison takes
  // the same time wherever a presented token differs from the configured ones, and visits every
  // configured token, so timing tells an attacker nothing about how close a guess was.
  bool accepts(std::string_view authorization) const noexcept;

  // Whether the header presents a bearer token at all (right or wrong): RFC 6750 gives an
  // error code in the challenge only then.
  static bool is_bearer(std::string_view authorization) noexcept;

  // What keeps one client's Idempotency-Keys apart from another's: a fingerprint of the bearer
  // token (never the token), the same across restarts; "" when there are no tokens.
  std::string key_scope(std::string_view authorization) const;

 private:
  std::vector<std::string> tokens_;
};

}  // namespace jobd::server
