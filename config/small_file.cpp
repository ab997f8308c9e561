#include "config/small_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "config/config_error.hpp"

namespace jobd::config {

std::string read_small_file(const std::string& path, std::size_t max_bytes,
                            const std::string& what) {
  auto unreadable = [&](int error) {
    return config_error(what + ": cannot be read: " + std::strerror(error));
  };
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw unreadable(errno);
  if (!S_ISREG(st.st_mode)) throw config_error(what + ": is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    throw config_error(what + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(errno != 0 ? errno : EIO);
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size));
  content.assign(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) throw config_error(what + ": read error");
  return content;
}

}  // namespace jobd::config
