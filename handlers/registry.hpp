#pragma once

// Job types by name: what a job of each type does, and its defaults. Handlers know nothing of
// HTTP: a handler maps (payload, job context) to a JSON result or throws job_error.
//
// Thread-safety: built once at start-up, then only read, from any thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "handlers/job_error.hpp"
#include "pool/job.hpp"

namespace jobd::handlers {

// Where a job made of stages (a pipeline) tells how they go: the job object's `stages`, an
// array of {"type", "status", "run_ms", "items"}. Called on the job's worker thread; quick.
class stage_sink {
 public:
  virtual void stages_changed(nlohmann::json stages) = 0;

 protected:
  ~stage_sink() = default;
};

// What a running job sees: the pool's context, and where a pipeline reports its stages (null:
// nobody asks).
struct run_context : pool::job_context {
  stage_sink* stages = nullptr;
};

struct job_type {
  std::string name;
  std::string kind;  // "builtin", "exec" or "pipeline"
  // 0: the server's default timeout applies.
  std::chrono::milliseconds default_timeout{0};
  // Checks a payload at submission, before anything is queued. Throws job_error with code
  // "invalid_field" and a message naming the field. Empty: every payload is accepted.
  std::function<void(const nlohmann::json& payload)> validate;
  // Takes microseconds and never blocks, so it may run on the thread that received the job
  // when its lane is idle (pool::run_here), sparing two thread hand-offs. Requires
  // side_effects = false: a durable store keeps only its end.
  bool cheap = false;
  // Whether running it can change anything outside jobd. One that cannot starts before a
  // durable store has its running record: run again after a crash, it changes nothing, and its
  // worker is not held for a commit.
  bool side_effects = true;
  // Retries for a job of this type that names none: its attempts (0: the server's default) and
  // its first wait (none: the server's default); and whether a timed-out attempt is retried.
  std::uint32_t max_attempts = 0;
  std::optional<std::chrono::milliseconds> retry_backoff;
  bool retry_on_timeout = false;
  // At most so many jobs of this type run at once (0: no limit), and at most
  // max_concurrency_per_key of them with the same concurrency_key.
  std::size_t max_concurrency = 0;
  std::size_t max_concurrency_per_key = 1;
  // max_concurrency moved by measured run times instead (between 1 and the server's
  // adaptive_max).
  bool adaptive_concurrency = false;
  // Runs on a worker thread. Must return soon after ctx.stop is signalled.
  std::function<nlohmann::json(const nlohmann::json& payload, const run_context& ctx)> run;
};

class registry;

// The types by kind, for the start-up log: "cpu, echo, fail, noop, sleep (builtin); wc (exec)".
[[nodiscard]] std::string describe(const registry& types);

class registry {
 public:
  // Throws std::invalid_argument when the name is taken, the type has no `run`, or it is cheap
  // with side effects.
  void add(job_type type);
  [[nodiscard]] const job_type* find(std::string_view name) const;
  [[nodiscard]] std::vector<const job_type*> all() const;  // sorted by name
  [[nodiscard]] std::string names() const;                 // "a, b, c", for error messages

 private:
  std::map<std::string, job_type, std::less<>> types_;
};

// noop, echo, sleep, cpu and fail.
void add_builtins(registry& r);

}  // namespace jobd::handlers
