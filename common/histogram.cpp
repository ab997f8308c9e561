#include "histogram.hpp"

#include <algorithm>

namespace jobd::pool {

void histogram::observe(double seconds) noexcept {
  // lower_bound: a value equal to a bound belongs to that bucket (Prometheus "le").
  const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
  ++counts_[static_cast<std::size_t>(it - bounds.begin())];
  ++count_;
  sum_ += seconds;
}

}  // namespace jobd::pool
