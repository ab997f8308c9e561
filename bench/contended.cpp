// A downstream that slows down when overloaded, for the adaptive limit's benchmark: each call
// counts the calls under way (in a file, under flock), then takes BASE_MS × (1 + n² / SCALE),
// n being how many were under way as it started, itself included. Past √SCALE calls at once
// the throughput falls, as a database's does past its sweet spot.
//   jobd_contended STATE_FILE BASE_MS SCALE
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

// Adds `delta` to the count in `fd` under an exclusive lock; the count after.
long add(int fd, long delta) {
  flock(fd, LOCK_EX);
  char text[32] = {};
  const ssize_t got = pread(fd, text, sizeof text - 1, 0);
  long n = got > 0 ? std::strtol(text, nullptr, 10) : 0;
  n += delta;
  const std::string out = std::to_string(n) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, out.data(), out.size(), 0) < 0) std::perror("write");
  flock(fd, LOCK_UN);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: jobd_contended STATE_FILE BASE_MS SCALE\n");
    return 2;
  }
  const int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  const double base_ms = std::strtod(argv[2], nullptr);
  const double scale = std::strtod(argv[3], nullptr);
  const long n = add(fd, 1);
  const double ms = base_ms * (1.0 + static_cast<double>(n * n) / scale);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
  add(fd, -1);
  std::printf("%ld\n", n);
  return 0;
}
