#pragma once

// Jobs waiting for a time (their run_at, or their next attempt) and the one thread that hands
// each to its lane when it is due: one wait on the earliest time, never a timer per job and
// never a poll. A due job whose lane is full stays here, first in line, until some job ends
// and so may have made room (room()): it was accepted, and is owed its place.
//
//   schedule s([&](std::uint64_t seq) { return enter_lane(seq); });
//   s.add(seq, due);      // entered at `due`, or later when its lane is full then
//   s.remove(seq);        // cancelled
//
// Thread-safety: every member may be called from any thread. `enter` runs on the schedule's
// thread, out of its lock, and may call add(), remove() and room().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <utility>

namespace jobd::jobs {

class schedule {
 public:
  using clock = std::chrono::system_clock;
  // Given a due job: true when it is taken (it entered its lane, or it is gone), false when its
  // lane has no room (it is offered again after the next room()).
  using enter_fn = std::function<bool(std::uint64_t seq)>;

  explicit schedule(enter_fn enter);
  ~schedule();  // stop()
  schedule(const schedule&) = delete;
  schedule& operator=(const schedule&) = delete;

  void add(std::uint64_t seq, clock::time_point due);
  // False when the job is not waiting here (it was handed over already, or never added).
  bool remove(std::uint64_t seq);
  // Some job ended: jobs due and held back for want of room are offered again. Cheap when
  // there are none (one atomic load), as it is called at every job's end.
  void room();
  // Hands over nothing more and joins the thread; jobs still waiting stay (the store keeps them
  // as scheduled). Later calls do nothing.
  void stop();

  // The earliest time a job waits for; none when none waits for a time.
  [[nodiscard]] std::optional<clock::time_point> earliest() const;

 private:
  void run(const std::stop_token& stop);
  // Offers the held-back jobs in order; those still refused stay, in order. Under mu_ (`lk`).
  void offer_held(std::unique_lock<std::mutex>& lk);

  enter_fn enter_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  // Guarded by mu_: the jobs waiting for their time, in due order (ties by submission), and
  // each one's time; the jobs due but held back, in the order they fell due.
  std::set<std::pair<clock::time_point, std::uint64_t>> waiting_;
  std::unordered_map<std::uint64_t, clock::time_point> due_of_;
  std::deque<std::uint64_t> held_;
  bool room_ = false;
  std::atomic<std::size_t> held_count_{0};  // held_.size(), for room() without the lock
  std::jthread thread_;                     // last: it stops before what it reads goes
};

}  // namespace jobd::jobs
