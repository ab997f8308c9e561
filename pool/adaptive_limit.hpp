#pragma once

// A concurrency limit moved by measured run times: a gradient limit after Netflix's
// concurrency-limits (Gradient2), with the baseline of its first Gradient limit. When jobs that
// share something (a disk, a lock, a downstream, the CPUs) run slower the more of them run, the
// limit comes down, so that they wait in jobd's queue instead of inside the shared thing; while
// run times stay near the baseline, it goes up.
//
//   adaptive_limit l({.min = 1, .max = 64});
//   const std::size_t at_start = l.started();        // as a job starts
//   if (auto moved = l.ended(run_time, at_start)) apply(*moved);   // as it ends
//
// Samples are taken in windows of `window` jobs. Each window's mean run time is compared with
// the baseline, the lowest window mean measured with at most `min` jobs running ("the best
// recent"): gradient = clamp(tolerance * baseline / mean, 0.5, 1); the limit moves to
// limit * gradient + sqrt(limit), smoothed by `smoothing`, within [min, max]. A window in which
// fewer than half the limit ran does not move it (nothing to learn about the limit's load).
// Every `probe_every` windows the baseline is measured again: the limit drops to `min` for one
// window of jobs started under it, then returns where it was. The first window is such a probe.
//
// Thread-safety: every member may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

namespace jobd::pool {

class adaptive_limit {
 public:
  struct options {
    std::size_t min = 1;
    std::size_t max = 64;
    std::size_t window = 10;        // jobs a window
    double tolerance = 1.5;         // how much slower than the baseline is no sign of overload
    double smoothing = 0.2;         // how far one window moves the limit towards its aim
    std::size_t probe_every = 100;  // windows between measurements of the baseline
  };

  // Throws std::invalid_argument for min 0, max < min, window 0, tolerance < 1 or smoothing
  // outside (0, 1].
  explicit adaptive_limit(options o);

  // The limit now.
  [[nodiscard]] std::size_t limit() const;
  // A job of the scope starts: how many run with it (itself included), for ended().
  std::size_t started();
  // A job that started with `running_at_start` running ended after `run_time`. The new limit
  // when it moved; none when it stayed.
  std::optional<std::size_t> ended(std::chrono::nanoseconds run_time, std::size_t running_at_start);
  // A job that started ended without a run time worth counting (cancelled, say).
  void left();

  struct figures {
    std::size_t limit = 0;
    double baseline_seconds = 0.0;  // 0 until measured
    bool probing = false;
  };
  [[nodiscard]] figures snapshot() const;

 private:
  // The window is over: returns the new limit when it moved. Under mu_.
  std::optional<std::size_t> close_window_locked();
  [[nodiscard]] std::size_t whole(double limit) const;

  const options o_;
  mutable std::mutex mu_;
  double limit_;
  std::size_t running_ = 0;
  // The window under way.
  std::size_t samples_ = 0;
  double sum_seconds_ = 0.0;
  std::size_t most_running_ = 0;
  // The baseline and its measurement.
  std::optional<double> baseline_;
  bool probing_ = true;
  double limit_before_probe_;
  std::size_t windows_since_probe_ = 0;
};

}  // namespace jobd::pool
