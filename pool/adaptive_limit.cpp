#include "adaptive_limit.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace jobd::pool {

namespace {

adaptive_limit::options checked(adaptive_limit::options o) {
  if (o.min == 0) throw std::invalid_argument("adaptive limit: min must be at least 1");
  if (o.max < o.min) throw std::invalid_argument("adaptive limit: max must be at least min");
  if (o.window == 0) throw std::invalid_argument("adaptive limit: window must be at least 1");
  if (!(o.tolerance >= 1.0)) throw std::invalid_argument("adaptive limit: tolerance must be >= 1");
  if (!(o.smoothing > 0.0 && o.smoothing <= 1.0))
    throw std::invalid_argument("adaptive limit: smoothing must be in (0, 1]");
  return o;
}

}  // namespace

adaptive_limit::adaptive_limit(options o)
    : o_(checked(o)),
      limit_(static_cast<double>(o_.min)),
      limit_before_probe_(static_cast<double>(o_.min)) {}

std::size_t adaptive_limit::whole(double limit) const {
  return std::clamp(static_cast<std::size_t>(limit), o_.min, o_.max);
}

std::size_t adaptive_limit::limit() const {
  std::lock_guard lk(mu_);
  return probing_ ? o_.min : whole(limit_);
}

std::size_t adaptive_limit::started() {
  std::lock_guard lk(mu_);
  return ++running_;
}

void adaptive_limit::left() {
  std::lock_guard lk(mu_);
  if (running_ > 0) --running_;
}

std::optional<std::size_t> adaptive_limit::ended(std::chrono::nanoseconds run_time,
                                                 std::size_t running_at_start) {
  std::lock_guard lk(mu_);
  if (running_ > 0) --running_;
  // A probe measures jobs started under the probe's limit only: those started before ran
  // beside more.
  if (probing_ && running_at_start > o_.min) return std::nullopt;
  ++samples_;
  sum_seconds_ += std::chrono::duration<double>(run_time).count();
  most_running_ = std::max(most_running_, running_at_start);
  if (samples_ < o_.window) return std::nullopt;
  return close_window_locked();
}

std::optional<std::size_t> adaptive_limit::close_window_locked() {
  const std::size_t shown_before = probing_ ? o_.min : whole(limit_);
  // Never 0: a run time too short for the clock is the best there is.
  const double mean = std::max(sum_seconds_ / static_cast<double>(samples_), 1e-9);
  const std::size_t most = most_running_;
  samples_ = 0;
  sum_seconds_ = 0.0;
  most_running_ = 0;
  if (probing_) {
    baseline_ = mean;
    probing_ = false;
    windows_since_probe_ = 0;
    limit_ = limit_before_probe_;
  } else {
    baseline_ = std::min(*baseline_, mean);
    // With so few running, the window says nothing of the limit's load.
    if (static_cast<double>(most) >= limit_ / 2.0) {
      const double gradient = std::clamp(o_.tolerance * *baseline_ / mean, 0.5, 1.0);
      const double aim = limit_ * gradient + std::sqrt(limit_);
      limit_ = std::clamp(limit_ * (1.0 - o_.smoothing) + aim * o_.smoothing,
                          static_cast<double>(o_.min), static_cast<double>(o_.max));
    }
    if (++windows_since_probe_ >= o_.probe_every) {
      probing_ = true;
      limit_before_probe_ = limit_;
    }
  }
  const std::size_t shown = probing_ ? o_.min : whole(limit_);
  if (shown == shown_before) return std::nullopt;
  return shown;
}

adaptive_limit::figures adaptive_limit::snapshot() const {
  std::lock_guard lk(mu_);
  return {.limit = probing_ ? o_.min : whole(limit_),
          .baseline_seconds = baseline_.value_or(0.0),
          .probing = probing_};
}

}  // namespace jobd::pool
