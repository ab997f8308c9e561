#pragma once

// The store that keeps records in memory only: jobs are gone when the process ends. Every call
// is answered before it returns.

#include <boost/container/small_vector.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "store/job_store.hpp"

namespace jobd::store {

class memory_store final : public job_store {
 public:
  explicit memory_store(retention keep);

  [[nodiscard]] std::uint64_t id_salt() const override { return id_salt_; }
  [[nodiscard]] recovered_jobs recover() override;
  // Never fails: `if_failed` does not matter.
  void write(std::span<const job_record> records, std::shared_ptr<write_listener> listener,
             on_failure if_failed) override;
  void find(std::uint64_t seq, find_done done) override;
  void list(const list_query& query, list_done done) override;
  [[nodiscard]] store_health health() const override { return {}; }
  [[nodiscard]] bool available() const noexcept override { return true; }
  [[nodiscard]] store_stats stats() const override { return {}; }

 private:
  using clock = std::chrono::steady_clock;
  using ordered_records = std::map<std::uint64_t, job_record>;
  // Records let go of under the lock, freed by their holder once it is released: a record's
  // payload and result are freed outside it.
  using let_go = boost::container::small_vector<ordered_records::node_type, 2>;

  void expire_locked(clock::time_point now, let_go& out);

  const retention keep_;
  const std::uint64_t id_salt_;

  std::mutex mu_;
  // The records in submission order, for lists; guarded by mu_. A new job is the newest, so it
  // is placed at the end without a walk down the tree.
  ordered_records by_seq_;
  // Where each record stands in by_seq_: a job's later writes and its lookups find it in one
  // step, where a walk down a tree of ten thousand records missed the cache at every level.
  // Guarded by mu_.
  std::unordered_map<std::uint64_t, ordered_records::iterator> index_;
  // Finished jobs in finishing order, for expiry by count and age; guarded by mu_.
  std::deque<std::pair<clock::time_point, std::uint64_t>> finished_;
};

}  // namespace jobd::store
