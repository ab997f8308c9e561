-- wrk script: a mix of high- and normal-priority jobs, with each lane's waits reported apart.
--
--   HIGH_SHARE=0.1 JOB_TYPE=sleep JOB_PAYLOAD='{"ms":10}' \
--     wrk -t1 -c64 -d10s -s bench/wrk/mixed.lua http://127.0.0.1:8080
--
-- HIGH_SHARE: the share of high-priority jobs, 0 to 1 (0.1). Every request is synchronous
-- (wait=true). wrk cannot tell which request a response answers
-- when a thread drives many connections, so the per-lane figures come from the job objects
-- jobd returns: "queue_ms" (submission to start) and "queue_ms + run_ms" (submission to end).
-- Last line: WRK_LANES {"high":{"n":..,"queue_p50_ms":..,"queue_p99_ms":..,"total_p99_ms":..},
--                       "normal":{...},"status":{"200":..,"503":..}}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local env = dofile(here .. "job_env.lua")
local share = env.share("HIGH_SHARE", "0.1")
local job_type = env.job_type("JOB_TYPE", "noop")
local payload = env.payload("JOB_PAYLOAD", "null")
local headers = { ["Content-Type"] = "application/json" }

local function body(priority)
  return string.format('{"type":%s,"payload":%s,"priority":"%s"}', job_type, payload, priority)
end

local status = dofile(here .. "status_counts.lua")
setup = status.setup

function init(args)
  -- Flat arrays, one global each: wrk's thread:get crashes copying nested tables.
  queue_high, queue_normal, total_high, total_normal = {}, {}, {}, {}
  status.init()
end

function request()
  local lane = math.random() < share and "high" or "normal"
  return wrk.format("POST", "/v1/jobs?wait=true", headers, body(lane))
end

function response(code, hdrs, resp)
  status.count(code, resp)
  local lane = resp:match('"priority":"(%a+)"')
  local q = tonumber(resp:match('"queue_ms":([%d%.e%-]+)'))
  local r = tonumber(resp:match('"run_ms":([%d%.e%-]+)')) or 0
  if q and (lane == "high" or lane == "normal") then
    local qs, ts = _G["queue_" .. lane], _G["total_" .. lane]
    qs[#qs + 1] = q
    ts[#ts + 1] = q + r
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  return sorted[math.max(1, math.ceil(p * #sorted))]
end

function done(summary, latency, requests)
  local q = { high = {}, normal = {} }
  local t = { high = {}, normal = {} }
  for _, th in ipairs(status.threads()) do
    for _, lane in ipairs({ "high", "normal" }) do
      for _, v in ipairs(th:get("queue_" .. lane)) do table.insert(q[lane], v) end
      for _, v in ipairs(th:get("total_" .. lane)) do table.insert(t[lane], v) end
    end
  end
  local out = {}
  for _, lane in ipairs({ "high", "normal" }) do
    table.sort(q[lane])
    table.sort(t[lane])
    table.insert(out, string.format(
      '"%s":{"n":%d,"queue_p50_ms":%.3f,"queue_p99_ms":%.3f,"total_p99_ms":%.3f}', lane, #q[lane],
      percentile(q[lane], 0.5), percentile(q[lane], 0.99), percentile(t[lane], 0.99)))
  end
  io.write("WRK_LANES {" .. table.concat(out, ",") .. ',"status":{' .. status.json() .. "}}\n")
  status.exit_if_all_refused()
end
