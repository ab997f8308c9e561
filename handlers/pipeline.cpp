#include "handlers/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "config/nearest_name.hpp"

namespace jobd::handlers {

using json = nlohmann::json;

struct pipelines::pipeline {
  config::pipeline_type spec;
  std::vector<std::unique_ptr<stage_pool>> stages;  // one per stage of spec
};

namespace {

std::string stage_name(std::size_t index, const std::string& type) {
  return "stage " + std::to_string(index) + " (" + type + ")";
}

const char* json_kind(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_string()) return "a string";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  return "null";
}

// The pipeline's own validation: its first stage's, on the payload or on each element.
void validate_first(const config::pipeline_stage& stage, const job_type& type,
                    const json& payload) {
  if (!stage.map) {
    if (type.validate) type.validate(payload);
    return;
  }
  if (!payload.is_array()) {
    throw job_error("invalid_field", "the payload must be an array: " + stage_name(0, stage.type) +
                                         " runs on each element");
  }
  if (!type.validate) return;
  for (std::size_t i = 0; i < payload.size(); ++i) {
    try {
      type.validate(payload[i]);
    } catch (const job_error& e) {
      throw job_error(e.code(), "payload[" + std::to_string(i) + "]: " + e.what());
    }
  }
}

// Runs the stages one after another, telling ctx.stages how they go.
json run_stages(const config::pipeline_type& spec,
                const std::vector<std::unique_ptr<stage_pool>>& stages, const json& payload,
                const run_context& ctx) {
  json shown = json::array();
  for (const config::pipeline_stage& stage : spec.stages) {
    shown.push_back(
        {{"type", stage.type}, {"status", "pending"}, {"run_ms", nullptr}, {"items", nullptr}});
  }
  const auto report = [&] {
    if (ctx.stages != nullptr) ctx.stages->stages_changed(shown);
  };
  const auto end_at = [&](std::size_t k, const char* status) {
    shown[k]["status"] = status;
    for (std::size_t later = k + 1; later < shown.size(); ++later) {
      shown[later]["status"] = "skipped";
    }
    report();
  };
  report();

  json current = payload;
  for (std::size_t k = 0; k < stages.size(); ++k) {
    stage_pool& stage = *stages[k];
    const bool map = spec.stages[k].map;
    const std::string name = stage_name(k, spec.stages[k].type);
    if (map && !current.is_array()) {
      end_at(k, "failed");
      throw job_error(
          "invalid_stage_input",
          name + " runs on each element of an array, and was given " + json_kind(current),
          {{"stage", k}, {"type", spec.stages[k].type}});
    }
    shown[k]["status"] = "running";
    if (map) shown[k]["items"] = current.size();
    report();
    const auto began = pool::clock::now();
    stage_outcome out = map ? stage.run(current.get_ref<const json::array_t&>(), ctx)
                            : stage.run(std::span(&current, 1), ctx);
    const auto took =
        std::chrono::duration_cast<std::chrono::microseconds>(pool::clock::now() - began);
    shown[k]["run_ms"] = static_cast<double>(took.count()) / 1000.0;
    if (out.failure && out.failure->what == stage_failure::kind::stopped) {
      end_at(k, pool::clock::now() >= ctx.deadline ? "timed_out" : "cancelled");
      throw job_error("stopped", "stopped in " + name);
    }
    if (out.failure) {
      end_at(k, "failed");
      json cause = std::move(out.failure->cause);
      std::string message = name + " failed";
      json details = {{"stage", k}, {"type", spec.stages[k].type}};
      if (map) {
        message += " at item " + std::to_string(out.failure->item);
        details["item"] = out.failure->item;
      }
      message += ": " + cause["message"].get<std::string>();
      details["cause"] = std::move(cause);
      throw job_error("stage_failed", message, std::move(details));
    }
    shown[k]["status"] = "succeeded";
    report();
    current = map ? json(std::move(out.results)) : std::move(out.results.front());
  }
  return current;
}

const job_type& stage_type(const registry& types, const config::pipeline_type& p,
                           std::size_t index) {
  const std::string& name = p.stages[index].type;
  const job_type* type = types.find(name);
  const std::string where = "job_types." + p.name + ".stages[" + std::to_string(index) + "].type";
  if (type == nullptr) {
    std::vector<std::string> names;
    for (const job_type* t : types.all()) names.push_back(t->name);
    const std::vector<std::string_view> known(names.begin(), names.end());
    const std::string_view nearest = config::nearest_name(name, known);
    throw std::invalid_argument(
        where + ": no job type \"" + name + "\"" +
        (nearest.empty() ? "" : " (did you mean " + std::string(nearest) + "?)") +
        "; a stage runs a built-in or exec type: " + types.names());
  }
  if (type->kind == "pipeline") {
    throw std::invalid_argument(where + ": \"" + name +
                                "\" is a pipeline; a stage runs a built-in or exec type");
  }
  return *type;
}

}  // namespace

void check_pipeline_types(const registry& types, const config::settings& s) {
  for (const config::pipeline_type& p : s.pipeline_types) {
    if (p.stages.empty()) {
      throw std::invalid_argument("job_types." + p.name + ".stages: a pipeline needs a stage");
    }
    if (types.find(p.name) != nullptr) {
      throw std::invalid_argument("job_types." + p.name + ": \"" + p.name +
                                  "\" is the name of a built-in job type; choose another");
    }
    for (std::size_t i = 0; i < p.stages.size(); ++i) (void)stage_type(types, p, i);
  }
}

pipelines::pipelines(registry& types, const config::settings& s) {
  check_pipeline_types(types, s);
  for (const config::pipeline_type& spec : s.pipeline_types) {
    auto p = std::make_unique<pipeline>();
    p->spec = spec;
    bool side_effects = false;
    for (std::size_t i = 0; i < spec.stages.size(); ++i) {
      const job_type& type = stage_type(types, spec, i);
      side_effects = side_effects || type.side_effects;
      // Stealing costs an item a deque's pop instead of a job's hand-off (docs/benchmarks.md:
      // 70 times as many tiny items a second), but only a job of its own is held to a timeout.
      const bool stealing = spec.stages[i].stealing.value_or(type.default_timeout.count() == 0);
      p->stages.push_back(std::make_unique<stage_pool>(type, spec.stages[i].workers,
                                                       spec.stages[i].queue_capacity, stealing));
    }
    const pipeline* const self = p.get();
    types.add({.name = spec.name,
               .kind = "pipeline",
               .default_timeout = spec.timeout,
               .validate =
                   [self](const json& payload) {
                     validate_first(self->spec.stages.front(), self->stages.front()->type(),
                                    payload);
                   },
               .cheap = false,
               .side_effects = side_effects,
               .max_attempts = spec.max_attempts,
               .retry_backoff = spec.retry_backoff,
               .retry_on_timeout = spec.retry_on_timeout,
               .max_concurrency = spec.max_concurrency,
               .max_concurrency_per_key = spec.max_concurrency_per_key,
               .adaptive_concurrency = spec.adaptive_concurrency,
               .run =
                   [self](const json& payload, const run_context& ctx) {
                     return run_stages(self->spec, self->stages, payload, ctx);
                   }});
    pipelines_.push_back(std::move(p));
  }
}

pipelines::~pipelines() = default;

std::vector<stage_stats> pipelines::stats() const {
  std::vector<stage_stats> out;
  for (const auto& p : pipelines_) {
    for (std::size_t i = 0; i < p->stages.size(); ++i) {
      stage_stats s = p->stages[i]->stats();
      s.pipeline = p->spec.name;
      s.index = i;
      s.type = p->spec.stages[i].type;
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace jobd::handlers
