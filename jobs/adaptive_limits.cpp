#include "jobs/adaptive_limits.hpp"

namespace jobd::jobs {

adaptive_limits::adaptive_limits(const adaptive_config& config, const handlers::registry& types,
                                 pool::pool& pool)
    : pool_(pool), workers_min_(config.workers_min) {
  if (config.workers) {
    workers_ = std::make_unique<pool::adaptive_limit>(
        pool::adaptive_limit::options{.min = config.workers_min, .max = config.max});
  }
  for (const handlers::job_type* t : types.all()) {
    if (!t->adaptive_concurrency) continue;
    types_.emplace(t, std::make_unique<pool::adaptive_limit>(
                          pool::adaptive_limit::options{.min = 1, .max = config.max}));
  }
}

adaptive_limits::start adaptive_limits::started(const handlers::job_type& type) {
  start at;
  // A cheap job may run on the thread that hands it over, on no worker.
  if (workers_ && !type.cheap) at.workers = workers_->started();
  if (const auto it = types_.find(&type); it != types_.end()) at.type = it->second->started();
  return at;
}

void adaptive_limits::ended(const handlers::job_type& type, start at,
                            std::chrono::nanoseconds run_time, bool counts) {
  if (at.workers > 0) {
    if (!counts) {
      workers_->left();
    } else if (workers_->ended(run_time, at.workers)) {
      std::lock_guard lk(apply_mu_);
      (void)pool_.resize(workers_min_, workers_->limit());
    }
  }
  if (at.type > 0) {
    pool::adaptive_limit& limit = *types_.at(&type);
    if (!counts) {
      limit.left();
    } else if (limit.ended(run_time, at.type)) {
      std::lock_guard lk(apply_mu_);
      pool_.set_group_limit(type.name, limit.limit());
    }
  }
}

std::size_t adaptive_limits::type_limit(const handlers::job_type& type) const {
  const auto it = types_.find(&type);
  return it == types_.end() ? 0 : it->second->limit();
}

}  // namespace jobd::jobs
