-- wrk script: submits jobs to jobd and prints one machine-readable summary line.
--
--   JOB_TYPE=sleep JOB_PAYLOAD='{"ms":10}' JOB_PRIORITY=normal JOB_WAIT=true \
--     wrk -t1 -c64 -d10s -s bench/wrk/submit.lua http://127.0.0.1:8080
--
-- Environment (all optional): JOB_TYPE (noop), JOB_PAYLOAD (a JSON value, null),
-- JOB_PRIORITY (normal), JOB_WAIT (true: sync; false: async; or seconds), JOB_TIMEOUT_MS,
-- JOB_NUMBERED_HEADER (a header name, e.g. Idempotency-Key: each request carries it with a value
-- no other request of the run has; none by default).
-- Unset or empty takes the default; a malformed value stops wrk at once (see job_env.lua).
-- The last line printed is: WRK_SUMMARY {"requests_per_sec":..., "p50_ms":..., "p90_ms":...,
-- "p99_ms":..., "requests":..., "socket_errors":..., "status":{"200":...,"503":...}}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local env = dofile(here .. "job_env.lua")
local job_type = env.job_type("JOB_TYPE", "noop")
local payload = env.payload("JOB_PAYLOAD", "null")
local priority = env.priority("JOB_PRIORITY", "normal")
local wait = env.wait("JOB_WAIT", "true")
local timeout = env.milliseconds("JOB_TIMEOUT_MS", nil)
local numbered = env.header_name("JOB_NUMBERED_HEADER", nil)

wrk.method = "POST"
wrk.path = "/v1/jobs?wait=" .. wait
wrk.headers["Content-Type"] = "application/json"
local body = string.format('{"type":%s,"payload":%s,"priority":"%s"', job_type, payload, priority)
if timeout then body = body .. string.format(',"timeout_ms":%d', timeout) end
wrk.body = body .. "}"

local status = dofile(here .. "status_counts.lua")
setup = status.setup

function init(args)
  status.init()
end

if numbered then
  local headers, n = {}, 0
  for name, value in pairs(wrk.headers) do headers[name] = value end
  -- Built per request, which costs wrk time: compare a run with one header against a run with
  -- another, not against a run without.
  function request()
    n = n + 1
    headers[numbered] = string.format("%d-%d", thread_index or 0, n)
    return wrk.format(nil, nil, headers, nil)
  end
end

function response(code, headers, body)
  status.count(code, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests_per_sec":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"requests":%d,"socket_errors":%d,"status":{%s}}\n',
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.connect + e.read + e.write + e.timeout, status.json()))
  status.exit_if_all_refused()
end
