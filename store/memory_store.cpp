#include "store/memory_store.hpp"

#include <random>
#include <utility>

namespace jobd::store {

memory_store::memory_store(retention keep)
    : keep_(keep), id_salt_(std::random_device{}() * 0x100000001ULL) {
  // The records kept, and the few under way besides: no rehash while the store fills.
  index_.reserve(keep_.keep_newest + 1024);
}

recovered_jobs memory_store::recover() {
  return {};
}

void memory_store::write(std::span<const job_record> records,
                         std::shared_ptr<write_listener> listener, on_failure /*if_failed*/) {
  let_go freed;
  {
    std::lock_guard lk(mu_);
    bool finished = false;
    for (const job_record& rec : records) {
      auto [at, fresh] = index_.try_emplace(rec.seq);
      bool finishing = fresh && is_terminal(rec.status);
      if (fresh) {
        at->second = by_seq_.emplace_hint(by_seq_.end(), rec.seq, rec);
      } else {
        job_record& stored = at->second->second;
        if (stored.version >= rec.version) continue;  // a newer one is stored
        finishing = !is_terminal(stored.status) && is_terminal(rec.status);
        stored = rec;
      }
      if (finishing) {
        // Retention counts from here, on a clock read only when a job ends.
        finished_.emplace_back(clock::now(), rec.seq);
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
  std::optional<job_record> found;
  {
    std::lock_guard lk(mu_);
    expire_locked(now, freed);
    if (auto it = index_.find(seq); it != index_.end()) found = it->second->second;
  }
  done(std::move(found), nullptr);
}

void memory_store::list(const list_query& query, list_done done) {
  const auto now = clock::now();
  let_go freed;
  std::vector<job_record> out;
  {
    std::lock_guard lk(mu_);
    expire_locked(now, freed);
    for (auto it = by_seq_.rbegin(); it != by_seq_.rend() && out.size() < query.limit; ++it) {
      if (query.status && it->second.status != *query.status) continue;
      out.push_back(it->second);
    }
  }
  done(std::move(out), nullptr);
}

void memory_store::expire_locked(clock::time_point now, let_go& out) {
  while (!finished_.empty() && (finished_.size() > keep_.keep_newest ||
                                now - finished_.front().first >= keep_.keep_for)) {
    if (auto at = index_.find(finished_.front().second); at != index_.end()) {
      out.push_back(by_seq_.extract(at->second));
      index_.erase(at);
    }
    finished_.pop_front();
  }
}

}  // namespace jobd::store
