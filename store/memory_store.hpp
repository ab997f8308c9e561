#pragma once

// The store that keeps records in memory only: jobs are gone when the process ends. Every call
// is answered before it returns.

#include <boost/container/small_vector.hpp>
#include <deque>
#include <map>
#include <mutex>

#include "store/job_store.hpp"

namespace jobd::store {

class memory_store final : public job_store {
 public:
  explicit memory_store(retention keep);

  [[nodiscard]] std::uint64_t id_salt() const override { return id_salt_; }
  [[nodiscard]] recovered_jobs recover() override;
  void write(std::span<const record_ptr> records,
             std::shared_ptr<write_listener> listener) override;
  void find(std::uint64_t seq, find_done done) override;
  void list(const list_query& query, list_done done) override;

 private:
  using clock = std::chrono::steady_clock;
  using record_index = std::map<std::uint64_t, record_ptr>;
  // Records let go of under the lock, freed by their holder once it is released: a record's
  // payload and result are freed outside it.
  using let_go = boost::container::small_vector<record_ptr, 4>;

  void expire_locked(clock::time_point now, let_go& out);

  const retention keep_;
  const std::uint64_t id_salt_;

  std::mutex mu_;
  record_index by_seq_;  // guarded by mu_
  // Finished jobs in finishing order, for expiry by count and age; guarded by mu_.
  std::deque<std::pair<clock::time_point, std::uint64_t>> finished_;
};

}  // namespace jobd::store
