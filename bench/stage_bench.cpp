// A map stage's items through the stage pool's shared lanes against per-worker deques with
// stealing: 10,000 tiny items (the cost of handing an item over), and 100 uneven ones whose
// long items all fall in the first worker's share (how well the load evens out). Makespan is
// the time per iteration; items/s beside it.
#include <benchmark/benchmark.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "handlers/stage_pool.hpp"

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const jobd::handlers::job_type tiny{
    .name = "tiny",
    .kind = "builtin",
    .run = [](const json& p, const jobd::handlers::run_context&) { return p; }};

// Spins for the payload's microseconds: CPU work, as a map's items often are.
const jobd::handlers::job_type spin{.name = "spin",
                                    .kind = "builtin",
                                    .run = [](const json& p, const jobd::handlers::run_context&) {
                                      const auto until = std::chrono::steady_clock::now() +
                                                         std::chrono::microseconds(p.get<int>());
                                      while (std::chrono::steady_clock::now() < until) {
                                      }
                                      return json(nullptr);
                                    }};

void run_map(benchmark::State& state, const jobd::handlers::job_type& type, const json& items) {
  const bool stealing = state.range(0) != 0;
  const auto workers = static_cast<std::size_t>(state.range(1));
  jobd::handlers::stage_pool stage(type, workers, items.size(), stealing);
  const auto& inputs = items.get_ref<const json::array_t&>();
  for (auto _ : state) {
    const jobd::handlers::run_context ctx{{.deadline = std::chrono::steady_clock::now() + 1h}};
    const auto out = stage.run(inputs, ctx);
    if (out.failure) state.SkipWithError("the map failed");
    benchmark::DoNotOptimize(out.results.data());
  }
  state.counters["items/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * inputs.size()), benchmark::Counter::kIsRate);
  state.SetLabel(stealing ? "stealing" : "shared lanes");
}

void BM_Map_TinyItems(benchmark::State& state) {
  json items = json::array();
  for (int i = 0; i < 10'000; ++i) items.push_back(i);
  run_map(state, tiny, items);
}

// 100 items: the first 10 take 10 ms, the other 90 take 1 ms; 190 ms of work in all.
void BM_Map_UnevenItems(benchmark::State& state) {
  json items = json::array();
  for (int i = 0; i < 100; ++i) items.push_back(i < 10 ? 10'000 : 1'000);
  run_map(state, spin, items);
}

}  // namespace

BENCHMARK(BM_Map_TinyItems)
    ->ArgsProduct({{0, 1}, {2, 4}})
    ->ArgNames({"stealing", "workers"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Map_UnevenItems)
    ->ArgsProduct({{0, 1}, {2, 4}})
    ->ArgNames({"stealing", "workers"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
