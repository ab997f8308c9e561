#include "handlers/exec.hpp"

#include <csignal>
#include <cstring>
#include <stdexcept>

#include "common/json_limits.hpp"
#include "common/json_reader.hpp"
#include "common/json_writer.hpp"
#include "common/text.hpp"
#include "handlers/process.hpp"

namespace jobd::handlers {
namespace {

using json = nlohmann::json;

// Documented defaults; a type's own env entries override them.
const std::vector<std::pair<std::string, std::string>> default_env = {
    {"PATH", "/usr/local/bin:/usr/bin:/bin"},
    {"LANG", "C.UTF-8"},
};

std::vector<std::string> environment_of(const config::exec_type& t) {
  std::vector<std::pair<std::string, std::string>> vars = default_env;
  for (const auto& var : t.env) {
    auto it = std::find_if(vars.begin(), vars.end(),
                           [&](const auto& kv) { return kv.first == var.first; });
    if (it != vars.end()) {
      it->second = var.second;
    } else {
      vars.push_back(var);
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// How the group ended when jobd had to end it, for the job's error message.
std::string termination(const process_result& r, std::chrono::milliseconds grace) {
  if (r.terminated_with == SIGKILL) {
    return "its processes ignored SIGTERM and were killed with SIGKILL after the " +
           std::to_string(grace.count()) + " ms grace";
  }
  if (r.terminated_with == SIGTERM) return "its processes were stopped with SIGTERM";
  return "its processes had already exited";
}

json run_exec(child_processes& children, const config::exec_type& type, const process_spec& spec,
              const json& payload, const pool::job_context& ctx) {
  std::string input;
  if (type.stdin_from == config::exec_type::input::payload) {
    input = payload.is_string() ? payload.get<std::string>() : json_text(payload);
  }
  process_result r;
  try {
    r = children.run(spec, input, ctx.stop);
  } catch (const spawn_error& e) {
    throw job_error("spawn_failed", e.what());
  }
  const std::string err = valid_utf8(r.err_tail);
  if (r.stop_requested) {
    // The pool reports timed_out or cancelled; this says what ending it took.
    throw job_error("stopped", termination(r, spec.kill_grace), json{{"stderr", err}});
  }
  if (r.output_too_large) {
    throw job_error("output_too_large",
                    "stdout exceeded max_output_bytes (" + std::to_string(spec.max_stdout_bytes) +
                        "); " + termination(r, spec.kill_grace),
                    json{{"stderr", err}});
  }
  if (!r.signal && !r.exit_code) {
    // Only when something outside jobd reaped the command (see child_processes).
    throw job_error("nonzero_exit", "the command's exit status was lost", json{{"stderr", err}});
  }
  if (r.signal) {
    throw job_error("killed_by_signal", "the command was ended by " + signal_name(*r.signal),
                    json{{"signal", *r.signal}, {"stderr", err}});
  }
  if (r.exit_code.value_or(-1) != 0) {
    throw job_error("nonzero_exit",
                    "the command exited with status " + std::to_string(r.exit_code.value_or(-1)),
                    json{{"exit_code", r.exit_code.value_or(-1)}, {"stderr", err}});
  }
  json out;
  switch (type.output) {
    case config::exec_type::output_format::text:
      out = valid_utf8(r.out);
      break;
    case config::exec_type::output_format::base64:
      out = base64(r.out);
      break;
    case config::exec_type::output_format::json: {
      // The command's output is as untrusted as a request body, and checked the same way.
      checked_json parsed = parse_checked_json(r.out, max_json_depth, "stdout");
      if (!parsed.error.empty()) {
        throw job_error("invalid_output", parsed.error, json{{"exit_code", 0}, {"stderr", err}});
      }
      out = std::move(parsed.value);
      break;
    }
  }
  return json{{"exit_code", 0}, {"stdout", std::move(out)}, {"stderr", err}};
}

}  // namespace

void add_exec_types(registry& r, const config::settings& s, child_processes& children) {
  for (const config::exec_type& t : s.exec_types) {
    if (r.find(t.name) != nullptr) {
      // Config keys are unique, so only a built-in can have the name already.
      throw std::invalid_argument("job_types." + t.name + ": \"" + t.name +
                                  "\" is the name of a built-in job type; choose another");
    }
    process_spec spec;
    spec.argv = t.command;
    spec.env = environment_of(t);
    spec.cwd = t.cwd;
    spec.max_stdout_bytes = t.max_output_bytes;
    spec.stderr_tail_bytes = s.stderr_tail_bytes;
    spec.kill_grace = s.kill_grace;
    r.add({.name = t.name,
           .kind = "exec",
           .default_timeout = t.timeout,
           .validate = {},
           .max_attempts = t.max_attempts,
           .retry_backoff = t.retry_backoff,
           .retry_on_timeout = t.retry_on_timeout,
           .max_concurrency = t.max_concurrency,
           .max_concurrency_per_key = t.max_concurrency_per_key,
           .adaptive_concurrency = t.adaptive_concurrency,
           .run = [&children, type = t, spec = std::move(spec)](const json& payload,
                                                                const pool::job_context& ctx) {
             return run_exec(children, type, spec, payload, ctx);
           }});
  }
}

}  // namespace jobd::handlers
