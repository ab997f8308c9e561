#include <sched.h>

#include <stdexcept>
#include <string>

#include "pool.hpp"

namespace jobd::pool {
namespace {

template <class T>
[[noreturn]] void reject(const std::string& field, T value, const std::string& allowed) {
  throw std::invalid_argument("pool: " + field + " = " + std::to_string(value) + ": " + allowed);
}

}  // namespace

pool_config validated(pool_config cfg) {
  if (cfg.workers_min < 1) reject("workers_min", cfg.workers_min, "must be at least 1");
  if (cfg.workers_max < cfg.workers_min) {
    reject("workers_max", cfg.workers_max,
           "must be at least workers_min (" + std::to_string(cfg.workers_min) + ")");
  }
  if (!cfg.reserved_high) cfg.reserved_high = cfg.workers_max >= 2 ? 1 : 0;
  const std::size_t reserved = *cfg.reserved_high;
  if (reserved > 0 && reserved >= cfg.workers_max) {
    reject("reserved_high", reserved,
           "must be below workers_max (" + std::to_string(cfg.workers_max) +
               ") so that a worker serves the normal lane");
  }
  if (reserved > cfg.workers_min) {
    reject("reserved_high", reserved,
           "must not exceed workers_min (" + std::to_string(cfg.workers_min) + ")");
  }
  if (cfg.normal_capacity < 1) reject("normal_capacity", cfg.normal_capacity, "must be at least 1");
  if (cfg.high_capacity < 1) reject("high_capacity", cfg.high_capacity, "must be at least 1");
  if (cfg.high_burst < 1) reject("high_burst", cfg.high_burst, "must be at least 1");
  if (!cfg.spin) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    const bool several = sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2;
    cfg.spin = std::chrono::microseconds(several ? 20 : 0);
  }
  if (cfg.spin->count() < 0 || cfg.spin->count() > 10'000) {
    reject("spin_us", cfg.spin->count(), "must be 0..10000");
  }
  if (cfg.idle_timeout.count() < 1) {
    reject("idle_timeout_ms", cfg.idle_timeout.count(), "must be at least 1");
  }
  return cfg;
}

}  // namespace jobd::pool
