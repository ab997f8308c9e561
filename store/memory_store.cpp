#include "store/memory_store.hpp"

#include <random>
#include <utility>

namespace jobd::store {

memory_store::memory_store(retention keep)
    : keep_(keep), id_salt_(std::random_device{}() * 0x100000001ULL) {}

recovered_jobs memory_store::recover() {
  return {};
}

void memory_store::write(std::span<const record_ptr> records,
                         std::shared_ptr<write_listener> listener) {
  let_go freed;
  {
    std::lock_guard lk(mu_);
    bool finished = false;
    for (const record_ptr& rec : records) {
      auto [it, fresh] = by_seq_.try_emplace(rec->seq, rec);
      bool finishing = fresh && is_terminal(rec->status);
      if (!fresh) {
        if (it->second->version >= rec->version) continue;  // a newer one is stored
        finishing = !is_terminal(it->second->status) && is_terminal(rec->status);
        freed.push_back(std::exchange(it->second, rec));
      }
      if (finishing) {
        // Retention counts from here, on a clock read only when a job ends.
        finished_.emplace_back(clock::now(), rec->seq);
        finished = true;
      }
    }
    if (finished) expire_locked(finished_.back().first, freed);
  }
  if (listener) listener->written(nullptr);
}

void memory_store::find(std::uint64_t seq, find_done done) {
  const auto now = clock::now();
  let_go freed;
  record_ptr found;
  {
    std::lock_guard lk(mu_);
    expire_locked(now, freed);
    if (auto it = by_seq_.find(seq); it != by_seq_.end()) found = it->second;
  }
  done(std::move(found), nullptr);
}

void memory_store::list(const list_query& query, list_done done) {
  const auto now = clock::now();
  let_go freed;
  std::vector<record_ptr> out;
  {
    std::lock_guard lk(mu_);
    expire_locked(now, freed);
    for (auto it = by_seq_.rbegin(); it != by_seq_.rend() && out.size() < query.limit; ++it) {
      if (query.status && it->second->status != *query.status) continue;
      out.push_back(it->second);
    }
  }
  done(std::move(out), nullptr);
}

void memory_store::expire_locked(clock::time_point now, let_go& out) {
  while (!finished_.empty() && (finished_.size() > keep_.keep_newest ||
                                now - finished_.front().first >= keep_.keep_for)) {
    if (auto node = by_seq_.extract(finished_.front().second))
      out.push_back(std::move(node.mapped()));
    finished_.pop_front();
  }
}

}  // namespace jobd::store
