-- Answers counted per HTTP status across wrk's threads, for the scripts beside this file:
--   local status = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "status_counts.lua")
--   setup = status.setup; call status.init() in init() and status.count(s, body) in response().
-- Each thread prints the first 4xx answer it gets on stderr: a refused request usually means a
-- variable the server does not take, and a run of nothing but 400s should say why.
local M = {}
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

-- The threads setup() saw, for scripts that gather more than the counts.
function M.threads()
  return threads
end

function M.init()
  statuses = {} -- a global: done() reads it from each thread with thread:get
  -- Every thread's Lua state starts with the same random sequence; its index sets it apart.
  math.randomseed(os.time() * 1000 + (thread_index or 0))
end

function M.count(status, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 400 and status < 500 and not told_refusal then
    told_refusal = true
    io.stderr:write(string.format("first %d answer: %s\n", status, (body or ""):sub(1, 300)))
  end
end

local function totals()
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  return counts
end

-- The counts of every thread as the members of a JSON object: "200":n,"503":m (sorted).
function M.json()
  local counts = totals()
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  table.sort(parts)
  return table.concat(parts, ",")
end

-- For the end of done(), after the summary: a run whose every answer was a 4xx measured nothing
-- but refusals, so wrk exits 3 to make a script or CI step that runs it fail.
function M.exit_if_all_refused()
  local answers, refused = 0, 0
  for code, n in pairs(totals()) do
    answers = answers + n
    if code >= 400 and code < 500 then refused = refused + n end
  end
  if answers > 0 and refused == answers then
    io.stdout:flush()
    io.stderr:write(string.format("every one of the %d answers was a 4xx: nothing was measured\n", answers))
    os.exit(3)
  end
end

return M
