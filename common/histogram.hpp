#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace jobd::pool {

// A fixed-bucket latency histogram in seconds, shaped for Prometheus exposition.
//
// A plain value type: not thread-safe. Its owner guards it (the pool keeps its histograms under
// the pool mutex and hands out copies in snapshots). Observing is O(buckets) with no allocation.
class histogram {
 public:
  // Upper bounds (seconds) of the finite buckets; an implicit +Inf bucket follows. They span
  // sub-millisecond hand-offs up to the one-hour maximum timeout.
  static constexpr std::array<double, 18> bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                    1.0,    2.5,     5.0,    10.0,  60.0,   300.0};

  void observe(double seconds) noexcept;

  // Count per bucket, not cumulative; the last entry is the +Inf bucket.
  [[nodiscard]] std::span<const std::uint64_t> bucket_counts() const noexcept { return counts_; }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] double sum() const noexcept { return sum_; }

 private:
  std::array<std::uint64_t, bounds.size() + 1> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0.0;
};

}  // namespace jobd::pool
