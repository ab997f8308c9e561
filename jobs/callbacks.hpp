#pragma once

// Completion callbacks: each finished job that asked for one is POSTed to its callback_url, and
// tried again with backoff until a 2xx answer or its last attempt, at most `concurrency` at
// once. When and what to post is decided here; the posting itself is a transport's (server/
// has the HTTP one), so that jobs/ knows no HTTP. Every change of a callback's state is handed
// back as a new version of the job's record, for the store: a delivery still pending when jobd
// stops is tried again at its next start.
//
// Thread-safety: every member may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

#include "common/unique_function.hpp"
#include "jobs/schedule.hpp"
#include "store/job_record.hpp"

namespace jobd::jobs {

struct callback_config {
  std::chrono::milliseconds backoff{1'000};  // before the second attempt; doubles, +-25 %
  std::chrono::milliseconds backoff_max{300'000};
  std::uint32_t max_attempts = 10;
  std::size_t concurrency = 16;
  std::string secret;  // the HMAC-SHA256 key of X-Jobd-Signature; empty: no signature
};

// What posts a callback.
class callback_transport {
 public:
  struct request {
    std::string url;  // http://host[:port]/target, checked at submission
    std::string body;
    std::string signature;  // "sha256=<hex>", or "" for none
  };
  // Told once, from any thread: "" when the receiver answered 2xx, else why not.
  using done_fn = unique_function<void(std::string error)>;
  virtual void post(request req, done_fn done) = 0;

 protected:
  ~callback_transport() = default;
};

struct callback_counts {
  std::uint64_t delivered = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
};

class callbacks {
 public:
  using changed_fn = std::function<void(const store::job_record&)>;
  callbacks(callback_config config, callback_transport& transport, changed_fn changed);
  ~callbacks();  // stop()
  callbacks(const callbacks&) = delete;
  callbacks& operator=(const callbacks&) = delete;

  // Posts the callback of `job` (terminal, its callback pending) as soon as there is room.
  void deliver(store::job_record job);
  // Starts no more deliveries; those pending stay so (in the store, for the next start).
  void stop() { schedule_.stop(); }
  [[nodiscard]] callback_counts counts() const;

 private:
  bool start(std::uint64_t seq);
  void ended(std::uint64_t seq, std::string error);

  const callback_config config_;
  callback_transport& transport_;
  const changed_fn changed_;
  mutable std::mutex mu_;
  // Guarded by mu_: the jobs whose callback is pending, as last handed back; how many posts are
  // under way; what became of them.
  std::unordered_map<std::uint64_t, store::job_record> pending_;
  std::size_t in_flight_ = 0;
  std::minstd_rand jitter_;
  callback_counts counts_;
  schedule schedule_;  // last: its thread calls start()
};

// The X-Jobd-Signature of `body`: "sha256=" and the hex HMAC-SHA256 with `secret`.
std::string callback_signature(std::string_view secret, std::string_view body);

}  // namespace jobd::jobs
