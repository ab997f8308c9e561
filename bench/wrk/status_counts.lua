-- Answers counted per HTTP status across wrk's threads, for the scripts beside this file:
--   local status = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status_counts.lua")
--   setup = status.setup; call status.init() in init() and status.count(s) in response().
local M = {}
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
end

-- The threads setup() saw, for scripts that gather more than the counts.
function M.threads()
  return threads
end

function M.init()
  statuses = {} -- a global: done() reads it from each thread with thread:get
end

function M.count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

-- The counts of every thread as the members of a JSON object: "200":n,"503":m (sorted).
function M.json()
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  table.sort(parts)
  return table.concat(parts, ",")
end

return M
