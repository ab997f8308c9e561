#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace jobd {

// A fixed-bucket histogram shaped for Prometheus exposition: of latencies in seconds, or of
// counts (records per commit, say).
//
// A plain value type: not thread-safe. Its owner guards it (the pool keeps its histograms under
// the pool mutex and hands out copies in snapshots; so does the job service, and the store).
// Observing is O(buckets) with no allocation.
class histogram {
 public:
  using bound_list = std::array<double, 18>;
  // Upper bounds of the finite buckets; an implicit +Inf bucket follows. Seconds span
  // sub-millisecond hand-offs up to the one-hour maximum timeout; counts, one to thousands.
  static constexpr bound_list seconds_bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                1.0,    2.5,     5.0,    10.0,  60.0,   300.0};
  static constexpr bound_list count_bounds = {1,  2,  3,  4,  6,   8,   12,  16,   24,
                                              32, 48, 64, 96, 128, 256, 512, 1024, 4096};

  // Of seconds.
  histogram() noexcept = default;
  // Of counts.
  [[nodiscard]] static histogram of_counts() noexcept { return histogram(count_bounds); }

  void observe(double value) noexcept;

  [[nodiscard]] const bound_list& bounds() const noexcept { return *bounds_; }

  // Count per bucket, not cumulative; the last entry is the +Inf bucket.
  [[nodiscard]] std::span<const std::uint64_t> bucket_counts() const noexcept { return counts_; }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] double sum() const noexcept { return sum_; }

 private:
  explicit histogram(const bound_list& bounds) noexcept : bounds_(&bounds) {}

  const bound_list* bounds_ = &seconds_bounds;
  std::array<std::uint64_t, std::tuple_size_v<bound_list> + 1> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0.0;
};

}  // namespace jobd
