// A small tour of the worker pool: two lanes, a full lane refusing at once, a deadline that
// stops a running job, a cancel, and the metrics snapshot at the end.
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include "pool/pool.hpp"

namespace pl = jobd::pool;
using namespace std::chrono_literals;

int main() {
  pl::pool pool({.workers_min = 2, .workers_max = 4, .normal_capacity = 4, .high_capacity = 2});
  auto report = [&](const char* what) {
    return [what](const pl::job_outcome& o) {
      std::printf("%-22s %-10s queued %6.2f ms, ran %6.2f ms\n", what,
                  std::string(pl::to_string(o.status)).c_str(),
                  std::chrono::duration<double, std::milli>(o.queue_wait).count(),
                  std::chrono::duration<double, std::milli>(o.run_time).count());
    };
  };
  auto sleep_for = [](std::chrono::milliseconds d) {
    return [d](const pl::job_context& ctx) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lk(m);
      cv.wait_for(lk, ctx.stop, d, [] { return false; });
    };
  };

  std::vector<pl::job_handle> handles;
  for (int i = 0; i < 10; ++i) {
    auto r = pool.try_submit(
        {.timeout = 5s, .work = sleep_for(30ms), .on_done = report("normal sleep 30ms")});
    if (r) {
      handles.push_back(r.handle());
    } else {
      std::printf("normal sleep 30ms      refused: %s\n",
                  std::string(pl::to_string(r.error())).c_str());
    }
  }
  (void)pool.try_submit({.priority = pl::lane::high,
                         .timeout = 5s,
                         .work = sleep_for(1ms),
                         .on_done = report("high sleep 1ms")});
  (void)pool.try_submit({.priority = pl::lane::high,
                         .timeout = 20ms,
                         .work = sleep_for(10s),
                         .on_done = report("high, deadline 20ms")});
  std::printf(
      "cancel of a queued job: %s\n",
      pool.cancel(handles.back()) == pl::cancel_result::cancelled ? "cancelled" : "too late");
  // Drain waits for every job, so every completion above has printed when it returns.
  pool.drain(5s);

  const pl::pool_stats s = pool.stats();
  std::printf("workers %zu (min %zu, max %zu), busy %zu\n", s.workers, s.workers_min, s.workers_max,
              s.busy);
  for (pl::lane l : {pl::lane::high, pl::lane::normal}) {
    const auto& ls = s.of(l);
    std::printf(
        "%-6s submitted %llu, rejected (full) %llu, succeeded %llu, timed out %llu, "
        "cancelled %llu\n",
        std::string(pl::to_string(l)).c_str(), static_cast<unsigned long long>(ls.submitted),
        static_cast<unsigned long long>(ls.rejected_queue_full),
        static_cast<unsigned long long>(ls.finished[0]),
        static_cast<unsigned long long>(ls.finished[2]),
        static_cast<unsigned long long>(ls.finished[3]));
  }
}
