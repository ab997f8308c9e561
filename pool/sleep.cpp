#include "sleep.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>

namespace jobd::pool {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word is a plain 32-bit integer");

// FUTEX_WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC, which is steady_clock's clock.
timespec monotonic_timespec(clock::time_point t) noexcept {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  // Before the clock's epoch is simply the past; a negative timespec would be refused.
  if (ns < 0) ns = 0;
  return timespec{.tv_sec = static_cast<std::time_t>(ns / 1'000'000'000),
                  .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

bool sleep_until(const std::stop_token& stop, clock::time_point until) {
  std::atomic<std::uint32_t> stopped{0};
  // Runs on the thread that requests the stop (or here, at once, if it already was). The
  // callback's destructor waits for a running callback, so `stopped` outlives the wake.
  const std::stop_callback wake(stop, [&stopped]() noexcept {
    stopped.store(1, std::memory_order_release);
    syscall(SYS_futex, &stopped, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  });
  if (until == clock::time_point::max()) {
    // No deadline to convert: wait for the stop alone.
    while (stopped.load(std::memory_order_acquire) == 0) {
      syscall(SYS_futex, &stopped, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    }
    return true;
  }
  const timespec at = monotonic_timespec(until);
  while (stopped.load(std::memory_order_acquire) == 0) {
    if (syscall(SYS_futex, &stopped, FUTEX_WAIT_BITSET_PRIVATE, 0, &at, nullptr,
                FUTEX_BITSET_MATCH_ANY) == 0) {
      continue;
    }
    // EAGAIN: the word changed before the wait began (the stop came first); EINTR: a signal.
    // Either way the loop looks again. Anything else ends the wait as if the time had come.
    if (errno != EAGAIN && errno != EINTR) break;
  }
  return stopped.load(std::memory_order_acquire) != 0;
}

}  // namespace jobd::pool
