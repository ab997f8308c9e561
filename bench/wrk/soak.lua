-- wrk script for the soak: a paced mix of every kind of job, submitted without waiting.
--
--   SOAK_INTERVAL_MS=20 wrk -t2 -c80 -d600s -s bench/wrk/soak.lua http://127.0.0.1:8080
--
-- Each connection waits SOAK_INTERVAL_MS (wrk's delay()) after an answer before its next
-- request, so the offered rate is at most connections x 1000 / interval: 80 at 20 ms, 4000/s.
-- The mix: built-ins (noop, echo, cpu, fail, sleep 20 ms, a sleep past its timeout_ms), exec
-- jobs from the example config (wordcount, checksum, json-summary), high-priority jobs, short
-- sync waits, reads of the pool and the metrics.
-- Last line: WRK_SOAK {"requests":..,"status":{"202":..,"503":..}}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local interval = dofile(here .. "job_env.lua").milliseconds("SOAK_INTERVAL_MS", "50")
local headers = { ["Content-Type"] = "application/json" }

local mix = {
  { "POST", "/v1/jobs", '{"type":"noop"}' },
  { "POST", "/v1/jobs", '{"type":"echo","payload":{"items":[1,2,3],"note":"soak"}}' },
  { "POST", "/v1/jobs", '{"type":"cpu","payload":{"iterations":200000}}' },
  { "POST", "/v1/jobs", '{"type":"fail","payload":{"message":"expected"}}' },
  { "POST", "/v1/jobs", '{"type":"sleep","payload":{"ms":20}}' },
  { "POST", "/v1/jobs", '{"type":"sleep","payload":{"ms":20}}' },
  { "POST", "/v1/jobs", '{"type":"sleep","payload":{"ms":500},"timeout_ms":30}' },
  { "POST", "/v1/jobs", '{"type":"wordcount","payload":"a few words to count"}' },
  { "POST", "/v1/jobs", '{"type":"checksum","payload":"soak"}' },
  { "POST", "/v1/jobs", '{"type":"json-summary","payload":{"items":[{"price":1},{"price":2}]}}' },
  { "POST", "/v1/jobs", '{"type":"noop","priority":"high"}' },
  { "POST", "/v1/jobs?wait=1", '{"type":"sleep","payload":{"ms":5}}' },
  { "GET", "/v1/pool", nil },
  { "GET", "/metrics", nil },
}

local status = dofile(here .. "status_counts.lua")
setup = status.setup

function init(args)
  status.init()
end

function delay()
  return interval
end

function request()
  local m = mix[math.random(#mix)]
  return wrk.format(m[1], m[2], headers, m[3])
end

function response(code, hdrs, body)
  status.count(code, body)
end

function done(summary, latency, requests)
  io.write(string.format('WRK_SOAK {"requests":%d,"status":{%s}}\n', summary.requests,
                         status.json()))
  status.exit_if_all_refused()
end
