#pragma once

// One stage of a pipeline: a job type run on a pool of its own (a bulkhead), so that a slow
// stage fills its own queue and no other. The pipeline's job, on a worker of the main pool,
// hands the stage its items and waits for them; when the stage's queue is full it waits for
// room instead of being refused: the job was accepted, and a full stage only slows it down.
//
// Thread-safety: run() may be called from many threads at once (one per pipeline job).

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <vector>

#include "handlers/registry.hpp"
#include "handlers/stage_stats.hpp"
#include "pool/pool.hpp"

namespace jobd::handlers {

// How a stage's items ended when not all succeeded.
struct stage_failure {
  enum class kind : std::uint8_t {
    item_failed,  // an item failed or ran past its type's timeout: `item`, `cause`
    stopped,      // the pipeline's job was stopped (deadline, cancel, drain)
  };
  kind what = kind::stopped;
  std::size_t item = 0;
  // item_failed: the item's error object ({"code", "message", ...its details}), made on the
  // thread the item ran on: what it threw does not cross threads.
  nlohmann::json cause;
};

// The results in input order, or why there are none.
struct stage_outcome {
  std::vector<nlohmann::json> results;
  std::optional<stage_failure> failure;
};

class stage_pool {
 public:
  // `type` must outlive the stage pool. `stealing`: see run().
  stage_pool(const job_type& type, std::size_t workers, std::size_t queue_capacity,
             bool stealing = false);
  ~stage_pool();
  stage_pool(const stage_pool&) = delete;
  stage_pool& operator=(const stage_pool&) = delete;

  [[nodiscard]] const job_type& type() const noexcept { return type_; }

  // Runs the stage's type on every input, at most `workers` at once (with other jobs' items),
  // each within the pipeline's deadline and its type's own timeout. Returns when every item
  // it handed over has ended: at the first failure, and when `ctx.stop` is signalled, the
  // others are cancelled (their processes ended) first.
  //
  // Each item is a job of the stage's pool, in its shared lanes. With `stealing`, several items
  // are: one runner job a worker (fewer when there are fewer items), each with a deque of its
  // share of the items, in order; a runner that has run its own takes from the back of
  // another's. Then an item costs a deque's pop instead of a job's hand-off, but an item's own
  // type timeout is not enforced apart from the pipeline's deadline, and the runners hold
  // their workers until the map is done.
  [[nodiscard]] stage_outcome run(std::span<const nlohmann::json> inputs, const run_context& ctx);

  // Its load; the pipeline, index and type are the caller's to fill in.
  [[nodiscard]] stage_stats stats() const;

 private:
  struct batch;
  // A place in the stage's queue in lane `l`, waiting while it is full; none once `ctx` is
  // stopped or the batch has failed.
  [[nodiscard]] pool::admission place_for(pool::lane l, const run_context& ctx, batch& b);
  void room_made();

  const job_type& type_;
  std::size_t capacity_;
  std::size_t workers_;
  bool stealing_;
  pool::pool pool_;
  // Told whenever a place in the queue may have come free: an item started or ended.
  std::mutex room_mu_;
  std::condition_variable_any room_;
  std::uint64_t room_events_ = 0;
};

}  // namespace jobd::handlers
