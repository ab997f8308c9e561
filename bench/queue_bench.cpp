// Hand-off between producer and consumer threads through two bounded-queue designs:
//   mutex_cv: a std::deque under a mutex with condition variables (the pool's design), and
//   moodycamel: moodycamel::BlockingConcurrentQueue (lock-free, semaphore that spins first).
// "latency": each producer keeps one item in flight and measures push -> pop.
// "throughput": producers push as fast as the bound allows.
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "latency.hpp"

namespace {

using jobd::bench::now_ns;

constexpr std::size_t capacity = 1024;
constexpr int consumers = 2;

struct item {
  std::int64_t pushed_ns = 0;
  std::atomic<int>* done = nullptr;  // the producer waits on it in latency mode
};

class mutex_cv_queue {
 public:
  bool try_push(item it) {
    {
      std::lock_guard lk(mu_);
      if (q_.size() >= capacity) return false;
      q_.push_back(it);
    }
    cv_.notify_one();
    return true;
  }
  bool pop(item& out) {  // false once closed and empty
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    out = q_.front();
    q_.pop_front();
    return true;
  }
  void close() {
    {
      std::lock_guard lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> q_;
  bool closed_ = false;
};

class moodycamel_queue {
 public:
  bool try_push(item it) {
    // The queue has no hard bound of its own; an approximate size check stands in for one.
    if (q_.size_approx() >= capacity) return false;
    return q_.enqueue(it);
  }
  bool pop(item& out) {
    for (;;) {
      if (q_.wait_dequeue_timed(out, std::chrono::milliseconds(1))) return true;
      if (closed_.load(std::memory_order_acquire)) return q_.try_dequeue(out);
    }
  }
  void close() { closed_.store(true, std::memory_order_release); }

 private:
  moodycamel::BlockingConcurrentQueue<item> q_{capacity};
  std::atomic<bool> closed_{false};
};

template <class Queue>
void run(benchmark::State& state, bool paced) {
  const int producers = static_cast<int>(state.range(0));
  const int items_per_producer = paced ? 20'000 : 200'000;
  std::vector<std::int64_t> samples;
  std::mutex samples_mu;
  for (auto _ : state) {
    Queue q;
    std::vector<std::int64_t> local_samples;
    std::vector<std::jthread> cons;
    for (int c = 0; c < consumers; ++c) {
      cons.emplace_back([&] {
        std::vector<std::int64_t> mine;
        item it;
        while (q.pop(it)) {
          mine.push_back(now_ns() - it.pushed_ns);
          if (it.done != nullptr) it.done->store(1, std::memory_order_release);
        }
        std::lock_guard lk(samples_mu);
        local_samples.insert(local_samples.end(), mine.begin(), mine.end());
      });
    }
    const auto start = now_ns();
    {
      std::vector<std::jthread> prods;
      for (int p = 0; p < producers; ++p) {
        prods.emplace_back([&] {
          std::atomic<int> done{0};
          for (int i = 0; i < items_per_producer; ++i) {
            done.store(0, std::memory_order_relaxed);
            item it{now_ns(), paced ? &done : nullptr};
            while (!q.try_push(it)) std::this_thread::yield();
            if (paced) {
              while (done.load(std::memory_order_acquire) == 0) std::this_thread::yield();
            }
          }
        });
      }
    }
    q.close();
    cons.clear();
    state.SetIterationTime(static_cast<double>(now_ns() - start) / 1e9);
    samples.insert(samples.end(), local_samples.begin(), local_samples.end());
  }
  state.SetItemsProcessed(state.iterations() * producers * items_per_producer);
  jobd::bench::report_percentiles(state, std::move(samples));
}

void BM_MutexCv_Latency(benchmark::State& s) {
  run<mutex_cv_queue>(s, true);
}
void BM_Moodycamel_Latency(benchmark::State& s) {
  run<moodycamel_queue>(s, true);
}
void BM_MutexCv_Throughput(benchmark::State& s) {
  run<mutex_cv_queue>(s, false);
}
void BM_Moodycamel_Throughput(benchmark::State& s) {
  run<moodycamel_queue>(s, false);
}

}  // namespace

BENCHMARK(BM_MutexCv_Latency)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Moodycamel_Latency)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MutexCv_Throughput)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Moodycamel_Throughput)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
