// The pool end to end: try_submit of a job whose body does nothing, to its completion callback.
// "latency": each producer keeps one job in flight and measures submit -> completion.
// "throughput": producers submit as fast as the lane bound allows.
#include <atomic>
#include <thread>

#include "latency.hpp"
#include "pool/pool.hpp"

namespace {

using jobd::bench::now_ns;
namespace pl = jobd::pool;

void run(benchmark::State& state, bool paced) {
  const int producers = static_cast<int>(state.range(0));
  const int jobs_per_producer = paced ? 20'000 : 200'000;
  std::vector<std::int64_t> samples;
  std::mutex samples_mu;
  for (auto _ : state) {
    pl::pool pool(
        {.workers_min = 2, .workers_max = 2, .reserved_high = 0, .normal_capacity = 1024});
    std::atomic<std::int64_t> completed{0};
    const auto start = now_ns();
    {
      std::vector<std::jthread> prods;
      for (int p = 0; p < producers; ++p) {
        prods.emplace_back([&] {
          std::vector<std::int64_t> mine;
          std::atomic<int> done{0};
          for (int i = 0; i < jobs_per_producer; ++i) {
            done.store(0, std::memory_order_relaxed);
            const auto submitted = now_ns();
            for (;;) {
              auto r = pool.try_submit({.work = [](const pl::job_context&) {},
                                        .on_done =
                                            [&done, &completed, paced](const pl::job_outcome&) {
                                              completed.fetch_add(1, std::memory_order_relaxed);
                                              if (paced) done.store(1, std::memory_order_release);
                                            }});
              if (r) break;
              std::this_thread::yield();
            }
            if (paced) {
              while (done.load(std::memory_order_acquire) == 0) std::this_thread::yield();
              mine.push_back(now_ns() - submitted);
            }
          }
          std::lock_guard lk(samples_mu);
          samples.insert(samples.end(), mine.begin(), mine.end());
        });
      }
    }
    pool.drain(std::chrono::seconds(60));
    state.SetIterationTime(static_cast<double>(now_ns() - start) / 1e9);
    if (completed.load() != static_cast<std::int64_t>(producers) * jobs_per_producer) {
      state.SkipWithError("lost a completion");
    }
  }
  state.SetItemsProcessed(state.iterations() * producers * jobs_per_producer);
  jobd::bench::report_percentiles(state, std::move(samples));
}

void BM_Pool_SubmitToCompletion_Latency(benchmark::State& s) {
  run(s, true);
}
void BM_Pool_Throughput(benchmark::State& s) {
  run(s, false);
}

// A backlog under concurrency limits: `jobs` jobs queued in a paused lane, spread over `keys`
// concurrency keys (0: none, the plain lane), then the lane resumed and timed until the last
// completes on two workers. With one job a key at a time, each pick must find a runnable job
// among many held back: the cost a job should not grow with the backlog.
void BM_Pool_KeyedBacklog(benchmark::State& s) {
  const auto jobs = static_cast<std::size_t>(s.range(0));
  const auto keys = static_cast<std::size_t>(s.range(1));
  for (auto _ : s) {
    pl::pool pool(
        {.workers_min = 2, .workers_max = 2, .reserved_high = 0, .normal_capacity = jobs});
    pool.pause(pl::lane::normal);
    std::atomic<std::size_t> completed{0};
    for (std::size_t i = 0; i < jobs; ++i) {
      pl::job_request r{.work = [](const pl::job_context&) {},
                        .on_done =
                            [&completed](const pl::job_outcome&) {
                              completed.fetch_add(1, std::memory_order_release);
                            }};
      if (keys > 0) r.limits = {.group = "t", .key = std::to_string(i % keys)};
      if (!pool.try_submit(std::move(r))) {
        s.SkipWithError("a job was refused");
        return;
      }
    }
    const auto start = now_ns();
    pool.resume(pl::lane::normal);
    while (completed.load(std::memory_order_acquire) < jobs) std::this_thread::yield();
    s.SetIterationTime(static_cast<double>(now_ns() - start) / 1e9);
    pool.drain(std::chrono::seconds(60));
  }
  s.SetItemsProcessed(static_cast<std::int64_t>(s.iterations() * jobs));
}

}  // namespace

BENCHMARK(BM_Pool_KeyedBacklog)
    ->Args({10'000, 0})
    ->Args({10'000, 1'000})
    ->Args({100'000, 10'000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Pool_SubmitToCompletion_Latency)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Pool_Throughput)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
