#include "common/histogram.hpp"

#include <algorithm>

namespace jobd {

void histogram::observe(double value) noexcept {
  // lower_bound: a value equal to a bound belongs to that bucket (Prometheus "le").
  const auto it = std::lower_bound(bounds_->begin(), bounds_->end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_->begin())];
  ++count_;
  sum_ += value;
}

}  // namespace jobd
