#include "jobs/schedule.hpp"

#include <pthread.h>

#include <algorithm>

namespace jobd::jobs {

schedule::schedule(enter_fn enter)
    : enter_(std::move(enter)), thread_([this](const std::stop_token& stop) {
        pthread_setname_np(pthread_self(), "jobd-schedule");
        run(stop);
      }) {}

schedule::~schedule() {
  stop();
}

void schedule::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void schedule::add(std::uint64_t seq, clock::time_point due) {
  std::lock_guard lk(mu_);
  const bool first = waiting_.empty() || due < waiting_.begin()->first;
  waiting_.emplace(due, seq);
  due_of_[seq] = due;
  if (first) wake_.notify_one();  // a new earliest time: the wait is shortened
}

bool schedule::remove(std::uint64_t seq) {
  std::lock_guard lk(mu_);
  if (const auto it = due_of_.find(seq); it != due_of_.end()) {
    waiting_.erase({it->second, seq});
    due_of_.erase(it);
    return true;
  }
  const auto held = std::find(held_.begin(), held_.end(), seq);
  if (held == held_.end()) return false;
  held_.erase(held);
  held_count_.store(held_.size(), std::memory_order_relaxed);
  return true;
}

void schedule::room() {
  if (held_count_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lk(mu_);
  room_ = true;
  wake_.notify_one();
}

std::optional<schedule::clock::time_point> schedule::earliest() const {
  std::lock_guard lk(mu_);
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

void schedule::offer_held(std::unique_lock<std::mutex>& lk) {
  room_ = false;
  std::deque<std::uint64_t> offered;
  offered.swap(held_);
  std::deque<std::uint64_t> still;
  lk.unlock();
  for (const std::uint64_t seq : offered) {
    if (!enter_(seq)) still.push_back(seq);
  }
  lk.lock();
  // Held back again ahead of any that fell due meanwhile: they were due first.
  held_.insert(held_.begin(), still.begin(), still.end());
  held_count_.store(held_.size(), std::memory_order_relaxed);
}

void schedule::run(const std::stop_token& stop) {
  std::unique_lock lk(mu_);
  while (!stop.stop_requested()) {
    if (room_ && !held_.empty()) {
      offer_held(lk);
      continue;
    }
    if (!waiting_.empty() && waiting_.begin()->first <= clock::now()) {
      const std::uint64_t seq = waiting_.begin()->second;
      waiting_.erase(waiting_.begin());
      due_of_.erase(seq);
      // Behind the ones held back already: due order is kept within a lane.
      if (!held_.empty()) {
        held_.push_back(seq);
        held_count_.store(held_.size(), std::memory_order_relaxed);
        continue;
      }
      lk.unlock();
      const bool taken = enter_(seq);
      lk.lock();
      if (!taken) {
        held_.push_back(seq);
        held_count_.store(held_.size(), std::memory_order_relaxed);
      }
      continue;
    }
    if (waiting_.empty()) {
      // Until a job is added, or room is made for those held back.
      wake_.wait(lk, stop, [this] { return !waiting_.empty() || (room_ && !held_.empty()); });
    } else {
      // Until the earliest time, or until the earliest changes (add() brings an earlier one,
      // remove() takes it), or room is made.
      const auto until = waiting_.begin()->first;
      wake_.wait_until(lk, stop, until, [&] {
        return (room_ && !held_.empty()) || waiting_.empty() || waiting_.begin()->first != until;
      });
    }
  }
}

}  // namespace jobd::jobs
