#pragma once

// Where job records are kept: one interface, a backend each (memory, SQLite; PostgreSQL is to
// come). It runs nothing and knows no pool: records in, records out.
//
// Every member may be called from any thread, concurrently, and with the caller's own locks
// held: a store takes no lock of the caller's, and calls back out of its own locks. Results
// come back through the callback or listener given: a backend that answers at once (memory)
// calls it before returning, on the caller's thread; one that must wait for a disk or a
// database calls it later from a thread of its own. A callback must not block.
//
//   store.find(seq, [](std::optional<job_record> job, const store_error* e) { ... });

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/histogram.hpp"
#include "common/unique_function.hpp"
#include "store/job_record.hpp"

namespace jobd::store {

// Why a store could not do what was asked (a disk full, a database gone). The one error every
// backend reports.
struct store_error {
  std::string message;
};

// A store that cannot be opened at all: a file that is not a database, a schema newer than
// this build, a file another process holds. Thrown at start only; the message names the file
// and what is wrong.
class store_open_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How long finished jobs are kept: the newest `keep_newest`, each for at most `keep_for` after
// it finished. Jobs not finished are always kept.
struct retention {
  std::size_t keep_newest = 10'000;
  std::chrono::seconds keep_for{3'600};
};

struct list_query {
  std::optional<job_status> status;  // all when empty
  std::size_t limit = 100;
};

// What a store holds at start that must be taken up again.
struct recovered_jobs {
  std::uint64_t last_seq = 0;          // the highest sequence number used; 0 for none
  std::vector<job_record> unfinished;  // queued and running jobs, in submission order
  // The Idempotency-Keys not yet expired, each with the job it made.
  std::vector<std::pair<std::uint64_t, idempotency_key>> keys;
  // Finished jobs whose completion callback is still to be delivered, in submission order.
  std::vector<job_record> callbacks_pending;
};

// What a store does with a group of writes it could not store.
enum class on_failure : std::uint8_t {
  // Tells the listener and forgets the group: a submission, refused when it is not stored.
  report,
  // Keeps the group and tries again, with backoff, until it is stored; its listener is told of
  // each failed attempt (the group still kept), and once of the store. A change of a job
  // already accepted: it must not be lost while the store is down, and whoever waits for it
  // should hear that it is late.
  retry,
};

// Whether the store can take writes now; when not, why (for /readyz and the log).
struct store_health {
  bool up = true;
  std::string reason;
};

// The store's side of the metrics: its commits and its connections. A store without a disk or
// a database (memory) has neither, and reports zeros.
struct store_stats {
  histogram commit_seconds;
  histogram commit_jobs = histogram::of_counts();  // records per commit
  std::uint64_t write_errors = 0;                  // failed commits
  std::uint64_t read_errors = 0;
  std::size_t connections_busy = 0;
  std::size_t connections_idle = 0;
  // How long a read waited for a connection.
  histogram connection_wait_seconds;
};

// Told once a group of writes is durable, or that an attempt failed (see on_failure). Writes are on
// every job's path: a listener the writer already owns costs no allocation, where a callback would.
class write_listener {
 public:
  virtual void written(const store_error* error) = 0;

 protected:
  ~write_listener() = default;
};

class job_store {
 public:
  using find_done = unique_function<void(std::optional<job_record> job, const store_error* error)>;
  using list_done = unique_function<void(std::vector<job_record> jobs, const store_error* error)>;

  virtual ~job_store() = default;

  // The salt of this store's job ids: a durable store keeps it, so that ids keep their meaning
  // across restarts.
  [[nodiscard]] virtual std::uint64_t id_salt() const = 0;

  // Called once, at start, before any write.
  [[nodiscard]] virtual recovered_jobs recover() = 0;

  // Stores a copy of each record as the latest state of its job, as one group: all of them, or
  // on an error none. A record older (by version) than the one stored is ignored, so that
  // writers need not order their calls. `listener`, if given, is told once the group is
  // durable, and of failures as `if_failed` says. The records are read only during the call.
  virtual void write(std::span<const job_record> records, std::shared_ptr<write_listener> listener,
                     on_failure if_failed) = 0;

  // The latest record of job `seq`; none when there is none (never made, or forgotten).
  virtual void find(std::uint64_t seq, find_done done) = 0;

  // Records newest first, as the query asks.
  virtual void list(const list_query& query, list_done done) = 0;

  [[nodiscard]] virtual store_health health() const = 0;
  // health().up, cheap enough for every submission: a write made while it is false would only
  // wait for the next attempt to fail.
  [[nodiscard]] virtual bool available() const noexcept = 0;
  [[nodiscard]] virtual store_stats stats() const = 0;
};

}  // namespace jobd::store
