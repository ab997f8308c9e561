#pragma once

// The server's own metrics (HTTP traffic, refusals of invalid requests, connections) and the
// Prometheus text exposition (format 0.0.4) of those, the jobs', the store's and the
// process's figures.
//
// Thread-safety: every member may be called from any thread; one mutex guards the counters.

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "handlers/stage_stats.hpp"
#include "pool/stats.hpp"
#include "store/job_store.hpp"

namespace jobd::server {

class metrics {
 public:
  void observe_request(std::string_view route, unsigned status, double seconds);
  void count_invalid(pool::lane priority);
  void connection_opened() noexcept { connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() noexcept { connections_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t connections() const noexcept {
    return connections_.load(std::memory_order_relaxed);
  }
  // Open /v1/events streams (each is a connection too).
  void sse_client_opened() noexcept { sse_clients_.fetch_add(1, std::memory_order_relaxed); }
  void sse_client_closed() noexcept { sse_clients_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t sse_clients() const noexcept {
    return sse_clients_.load(std::memory_order_relaxed);
  }

  // Completion callbacks' deliveries so far, by outcome.
  struct callback_outcomes {
    std::uint64_t delivered = 0;
    std::uint64_t retried = 0;
    std::uint64_t failed = 0;
  };
  // The whole /metrics page: these figures, the pool's snapshot, the run times of jobs and
  // their retried attempts by type, the job store's state and figures, and the pipelines'
  // stage pools.
  [[nodiscard]] std::string render(const pool::pool_stats& pool,
                                   const std::map<std::string, histogram, std::less<>>& run_seconds,
                                   const std::map<std::string, std::uint64_t, std::less<>>& retried,
                                   const callback_outcomes& callbacks,
                                   const store::store_health& store_health,
                                   const store::store_stats& store,
                                   const std::vector<handlers::stage_stats>& stages) const;

 private:
  mutable std::mutex mu_;
  struct route_traffic {
    std::map<unsigned, std::uint64_t> by_status;
    histogram seconds;
  };
  // By route label: found by a string_view, without making a key (this is on every request).
  std::map<std::string, route_traffic, std::less<>> requests_;  // guarded by mu_
  std::array<std::uint64_t, pool::lane_count> invalid_{};       // guarded by mu_
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> sse_clients_{0};
};

}  // namespace jobd::server
