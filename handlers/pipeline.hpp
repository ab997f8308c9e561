#pragma once

// Job types made of stages (config "kind": "pipeline"). Each stage's result is the next one's
// payload; a `map` stage runs its type on every element of an array at once and gives the
// results in input order. Each stage runs on a stage pool of its own (stage_pool.hpp). The
// pipeline's job holds a worker of the main pool while it hands its stages their items and
// waits for them; its deadline covers every stage, and a stop (deadline, cancel) ends the
// running stage's items and skips the stages after it.
//
// Thread-safety: built once at start-up; stats() may be called from any thread.

#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "handlers/registry.hpp"
#include "handlers/stage_pool.hpp"

namespace jobd::handlers {

// What pipelines' constructor checks, without starting anything (for --check-config): each
// stage's type is in `types`, and no pipeline is empty. Throws std::invalid_argument naming
// the pipeline and stage at fault.
void check_pipeline_types(const registry& types, const config::settings& s);

class pipelines {
 public:
  // Checks s.pipeline_types as check_pipeline_types does, starts their stage pools, and adds
  // them to `types`. Must be destroyed after the pool that runs their jobs has drained.
  pipelines(registry& types, const config::settings& s);
  ~pipelines();
  pipelines(const pipelines&) = delete;
  pipelines& operator=(const pipelines&) = delete;

  // Every stage of every pipeline, in the config's order.
  [[nodiscard]] std::vector<stage_stats> stats() const;

 private:
  struct pipeline;
  std::vector<std::unique_ptr<pipeline>> pipelines_;
};

}  // namespace jobd::handlers
