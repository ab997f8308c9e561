#include "limiter.hpp"

namespace jobd::pool::detail {

limit_group* limiter::group(std::string id, bool per_group, std::size_t limit) {
  auto [it, made] = groups_.try_emplace(id);
  limit_group& g = it->second;
  if (made) {
    g.id = std::move(id);
    g.per_group = per_group;
    g.limit = limit;
  }
  return &g;
}

void limiter::add(job_state& job, const job_limits& limits) {
  job.limited = true;
  job.passed = 0;
  job.limit_groups = {};
  // A key belongs to its group: the same key in two job types is two keys. The separator is
  // a byte no type name holds.
  if (!limits.key.empty()) {
    job.limit_groups[0] = group(limits.group + '\x1f' + limits.key, false,
                                std::max<std::size_t>(limits.key_limit, 1));
  }
  if (limits.group_limit > 0) job.limit_groups[1] = group(limits.group, true, limits.group_limit);
  wait_next(job);
}

void limiter::wait_next(job_state& job) {
  while (job.passed < job.limit_groups.size() && job.limit_groups[job.passed] == nullptr)
    ++job.passed;
  if (job.passed == job.limit_groups.size()) {
    ready_[static_cast<std::size_t>(job.priority)].emplace(job.order, &job);
    job.ready = true;
    return;
  }
  limit_group& g = *job.limit_groups[job.passed];
  g.waiting.emplace(job.order, &job);
  advance(g);
}

void limiter::advance(limit_group& g) {
  while (!g.waiting.empty() && g.held < g.limit) {
    job_state& first = *g.waiting.begin()->second;
    g.waiting.erase(g.waiting.begin());
    ++g.held;
    ++first.passed;
    wait_next(first);
  }
}

void limiter::set_limit(const std::string& group, std::size_t limit) {
  const auto it = groups_.find(group);
  if (it == groups_.end() || !it->second.per_group) return;
  it->second.limit = limit;
  advance(it->second);
}

void limiter::started(job_state& job) {
  ready_[static_cast<std::size_t>(job.priority)].erase({job.order, &job});
  job.ready = false;
  for (limit_group* g : job.limit_groups) {
    if (g != nullptr) ++g->running;
  }
}

void limiter::ended(job_state& job) {
  for (limit_group* g : job.limit_groups) {
    if (g != nullptr) --g->running;
  }
  give_back(job);
}

void limiter::removed(job_state& job) {
  if (job.ready) {
    ready_[static_cast<std::size_t>(job.priority)].erase({job.order, &job});
    job.ready = false;
  } else {
    job.limit_groups[job.passed]->waiting.erase({job.order, &job});
  }
  give_back(job);
}

void limiter::give_back(job_state& job) {
  for (std::size_t i = 0; i < job.limit_groups.size(); ++i) {
    limit_group* g = job.limit_groups[i];
    if (g == nullptr) continue;
    if (i < job.passed) {
      --g->held;
      advance(*g);
    }
  }
  for (limit_group*& g : job.limit_groups) forget_if_unused(std::exchange(g, nullptr));
  job.limited = false;
}

void limiter::forget_if_unused(limit_group* g) {
  if (g != nullptr && g->held == 0 && g->waiting.empty()) groups_.erase(g->id);
}

std::vector<group_stats> limiter::stats() const {
  std::vector<group_stats> out;
  for (const auto& [id, g] : groups_) {
    if (g.per_group) out.push_back({.name = id, .limit = g.limit, .running = g.running});
  }
  return out;
}

}  // namespace jobd::pool::detail
