#include "config/small_file.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "config/settings.hpp"

namespace jobd::config {

std::string read_small_file(const std::string& path, std::size_t max_bytes,
                            const std::string& what) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw config_error(what + ": cannot be read");
  if (!S_ISREG(st.st_mode)) throw config_error(what + ": is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    throw config_error(what + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(what + ": cannot be read");
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size));
  content.assign(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) throw config_error(what + ": read error");
  return content;
}

}  // namespace jobd::config
