-- wrk script: jobs whose deadline is shorter than their work, to measure how far past its
-- deadline each one ended (from the job objects: queue_ms + run_ms - timeout_ms).
--
--   JOB_PAYLOAD='{"ms":1000}' JOB_TIMEOUT_MS=20 wrk -t1 -c32 -d10s -s bench/wrk/deadline.lua URL
-- Last line: WRK_DEADLINE {"n":..,"late_p50_ms":..,"late_p99_ms":..,"late_max_ms":..,"status":{..}}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local env = dofile(here .. "job_env.lua")
local payload = env.payload("JOB_PAYLOAD", '{"ms":1000}')
local timeout = env.milliseconds("JOB_TIMEOUT_MS", "20") -- whole ms: sent and compared as one
wrk.method = "POST"
wrk.path = "/v1/jobs?wait=true"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"type":"sleep","payload":%s,"timeout_ms":%d}', payload, timeout)

local status = dofile(here .. "status_counts.lua")
setup = status.setup
function init(args)
  late = {}
  status.init()
end

function response(code, hdrs, resp)
  status.count(code, resp)
  local q = tonumber(resp:match('"queue_ms":([%d%.e%-]+)'))
  local r = tonumber(resp:match('"run_ms":([%d%.e%-]+)')) or 0
  if code == 504 and q then late[#late + 1] = q + r - timeout end
end

function done(summary, latency, requests)
  local all = {}
  for _, th in ipairs(status.threads()) do
    for _, v in ipairs(th:get("late")) do table.insert(all, v) end
  end
  table.sort(all)
  local function pct(p) return #all == 0 and 0 or all[math.max(1, math.ceil(p * #all))] end
  io.write(string.format('WRK_DEADLINE {"n":%d,"late_p50_ms":%.3f,"late_p99_ms":%.3f,"late_max_ms":%.3f,"status":{%s}}\n',
    #all, pct(0.5), pct(0.99), #all == 0 and 0 or all[#all], status.json()))
  status.exit_if_all_refused()
end
