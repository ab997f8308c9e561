#include "config/auth_tokens.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "config/config_error.hpp"
#include "config/small_file.hpp"

namespace jobd::config {

namespace {

constexpr std::size_t min_token = 16;
constexpr std::size_t max_token = 4096;
constexpr std::size_t max_token_file_bytes = 1 << 20;

bool token_char(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/';
}

// RFC 6750's b64token, bounded: the length bounds count the token's characters, not the
// base64 padding after them, of which there are at most two.
constexpr std::size_t max_padding = 2;

bool valid_token(std::string_view t) {
  const auto last = t.find_last_not_of('=');
  if (last == std::string_view::npos) return false;
  const std::string_view body = t.substr(0, last + 1);
  if (body.size() < min_token || body.size() > max_token) return false;
  if (t.size() - body.size() > max_padding) return false;
  return std::all_of(body.begin(), body.end(), [](char c) { return token_char(c); });
}

std::string_view trimmed(std::string_view s) {
  constexpr std::string_view space = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

}  // namespace

std::vector<std::string> read_auth_tokens(const std::string& path) {
  const std::string where = "auth_token_file " + path;
  std::istringstream in(read_small_file(path, max_token_file_bytes, where));
  std::vector<std::string> tokens;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string_view t = trimmed(line);
    if (t.empty() || t.starts_with('#')) continue;
    if (!valid_token(t)) {
      throw config_error(where + ", line " + std::to_string(number) +
                         ": not a token (16 to 4096 characters of A-Z a-z 0-9 - . _ ~ + /, "
                         "then up to two '=')");
    }
    tokens.emplace_back(t);
  }
  if (tokens.empty()) throw config_error(where + ": holds no token");
  return tokens;
}

unsigned permission_bits(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<unsigned>(st.st_mode) & 07777U;
}

std::string shared_with(unsigned mode) {
  const bool group = (mode & 070U) != 0;
  const bool others = (mode & 07U) != 0;
  if (!group && !others) return "";
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode & 07777U);
  return std::string(group && others ? "group and others"
                     : group         ? "its group"
                                     : "others") +
         " (mode " + octal + ")";
}

}  // namespace jobd::config
