#pragma once

// Job records by id: what GET /v1/jobs/{id} shows, who waits for each job, and how long a finished
// job is remembered (the newest `retain_jobs`, each for at most `retain_for`).
//
// Thread-safety: every member may be called from any thread. Records are guarded by the store's
// one mutex; waiters run outside it, on the thread that finished the job.

#include <boost/container/small_vector.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pool/job.hpp"
#include "common/json_writer.hpp"
#include "common/opaque_id.hpp"

namespace jobd::server {

enum class job_phase : std::uint8_t { queued, running, succeeded, failed, timed_out, cancelled };

std::string_view to_string(job_phase p) noexcept;
std::optional<job_phase> phase_from(std::string_view s) noexcept;
inline bool is_terminal(job_phase p) noexcept {
  return p != job_phase::queued && p != job_phase::running;
}

// Usually one waiter (the request that submitted the job), held without an allocation.
using waiter_list = boost::container::small_vector<std::function<void()>, 1>;

struct job_record {
  // Set at creation, then only read.
  std::uint64_t seq = 0;
  opaque_id_text id{{}};
  std::string type;
  pool::lane priority = pool::lane::normal;
  std::chrono::milliseconds timeout{0};
  std::chrono::system_clock::time_point created_at;
  pool::clock::time_point created_steady;

  // ---- guarded by the store's mutex
  job_phase phase = job_phase::queued;
  std::optional<std::chrono::system_clock::time_point> started_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
  std::optional<pool::clock::time_point> started_steady;
  pool::clock::duration queue_time{};
  std::optional<pool::clock::duration> run_time;
  nlohmann::json result;
  std::string error_code;
  std::string error_message;
  nlohmann::json error_details;  // extra fields of the error object, from the handler
  pool::job_handle handle;
  bool cancel_requested = false;
  bool stored = false;  // inserted into the store's indexes
  waiter_list waiters;
};

class job_store {
 public:
  job_store(std::size_t retain_jobs, std::chrono::seconds retain_for);

  // A new record with a fresh id, not yet findable: the job is inserted once the pool took it.
  std::shared_ptr<job_record> make(std::string type, pool::lane priority,
                                   std::chrono::milliseconds timeout);
  void insert(const std::shared_ptr<job_record>& rec, pool::job_handle handle);

  void mark_running(job_record& rec);
  void set_result(job_record& rec, nlohmann::json result);
  // Makes the record terminal from the pool's outcome and runs its waiters. Once per record.
  void finish(job_record& rec, const pool::job_outcome& outcome);

  // nullptr for an unknown or forgotten id.
  std::shared_ptr<job_record> find(std::string_view id);
  // Runs `w` once the record is terminal; false (and `w` dropped) when it already is.
  bool wait(job_record& rec, std::function<void()> w);
  // The job's handle, unless it is terminal; records that a cancel was asked for.
  std::optional<pool::job_handle> begin_cancel(job_record& rec);

  // The job object of the API, as JSON text; and, when asked, the phase that text shows.
  std::string render(const job_record& rec, job_phase* shown = nullptr) const;
  job_phase phase(const job_record& rec) const;
  // {"jobs": [...]}, newest first.
  std::string list(std::optional<job_phase> phase, std::size_t limit);

 private:
  using record_index = std::map<std::uint64_t, std::shared_ptr<job_record>>;
  // Records taken out of the store, destroyed by their holder once the lock is released: a
  // record's result and payload are freed outside it. One at a time, as a rule.
  using evicted_records = boost::container::small_vector<record_index::node_type, 2>;

  void render_locked(std::string& out, const job_record& rec, pool::clock::time_point now) const;
  void evict_locked(pool::clock::time_point now, evicted_records& out);

  const std::size_t retain_jobs_;
  const std::chrono::seconds retain_for_;
  const std::uint64_t id_salt_;

  mutable std::mutex mu_;
  mutable json_time_writer times_;  // guarded by mu_
  std::uint64_t next_seq_ = 1;      // guarded by mu_
  // An id decodes to its sequence number, so this one index serves lookups by id too.
  record_index by_seq_;  // guarded by mu_
  // Finished jobs in finishing order, for eviction by count and age; guarded by mu_.
  std::deque<std::pair<pool::clock::time_point, std::uint64_t>> finished_;
};

}  // namespace jobd::server
