#include "server/api/pool_object.hpp"

#include "common/json_writer.hpp"

namespace jobd::server {
namespace {

std::chrono::nanoseconds from_seconds(double seconds) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(seconds));
}

}  // namespace

std::string pool_object(const pool::pool_stats& s,
                        const std::vector<handlers::stage_stats>& stages) {
  std::string text;
  json_writer w(text);
  w.begin_object().key("lanes").begin_object();
  for (auto l : {pool::lane::high, pool::lane::normal}) {
    const auto& ls = s.of(l);
    const auto finished = [&ls](pool::job_status st) {
      return ls.finished[static_cast<std::size_t>(st)];
    };
    w.key(pool::to_string(l))
        .begin_object()
        .key("capacity")
        .value(ls.capacity)
        .key("depth")
        .value(ls.depth)
        .key("finished")
        .begin_object()
        .key("cancelled")
        .value(finished(pool::job_status::cancelled))
        .key("failed")
        .value(finished(pool::job_status::failed))
        .key("succeeded")
        .value(finished(pool::job_status::succeeded))
        .key("timed_out")
        .value(finished(pool::job_status::timed_out))
        .end_object()
        .key("oldest_wait_seconds")
        .seconds(from_seconds(ls.oldest_wait_seconds))
        .key("paused")
        .value(ls.paused)
        .key("recent_run_ms")
        .millis(from_seconds(ls.recent_run_seconds))
        .key("rejected")
        .begin_object()
        .key("queue_full")
        .value(ls.rejected_queue_full)
        .key("shutting_down")
        .value(ls.rejected_shutting_down)
        .end_object()
        .key("submitted")
        .value(ls.submitted)
        .end_object();
  }
  const char* state = s.state == pool::pool_state::running    ? "running"
                      : s.state == pool::pool_state::draining ? "draining"
                                                              : "stopped";
  w.end_object().key("pipelines").begin_object();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const handlers::stage_stats& st = stages[i];
    if (i == 0 || stages[i - 1].pipeline != st.pipeline) {
      if (i > 0) w.end_array();
      w.key(st.pipeline).begin_array();
    }
    w.begin_object()
        .key("busy")
        .value(st.busy)
        .key("queue_capacity")
        .value(st.capacity)
        .key("queued")
        .value(st.queued)
        .key("type")
        .plain(st.type)
        .key("workers")
        .value(st.workers)
        .end_object();
  }
  if (!stages.empty()) w.end_array();
  w.end_object().key("state").plain(state).key("types").begin_object();
  for (const pool::group_stats& g : s.groups) {
    w.key(g.name)
        .begin_object()
        .key("adaptive")
        .value(g.adaptive)
        .key("limit")
        .value(g.limit)
        .key("running")
        .value(g.running)
        .end_object();
  }
  w.end_object()
      .key("workers")
      .begin_object()
      .key("adaptive")
      .value(s.workers_adaptive)
      .key("alive")
      .value(s.workers)
      .key("busy")
      .value(s.busy)
      .key("idle")
      .value(s.idle)
      .key("max")
      .value(s.workers_max)
      .key("min")
      .value(s.workers_min)
      .key("reserved_high")
      .value(s.reserved_high)
      .end_object()
      .end_object();
  return text;
}

}  // namespace jobd::server
