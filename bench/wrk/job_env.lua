-- Job submissions chosen by environment variables, for the scripts beside this file:
--   local env = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "job_env.lua")
-- A variable that is unset or empty takes its default. A malformed value, which would make every
-- request a 400, stops wrk before it sends anything (status 2), naming the variable and what it
-- takes. What only the server knows (whether a job type exists, say) it says in its 400s.
local M = {}

local function fail(name, value, allowed)
  io.stderr:write(string.format("%s=%q: %s\n", name, value, allowed))
  os.exit(2)
end

local function get(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- A JSON string literal for `s`.
function M.json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- The job type, as a JSON string literal.
function M.job_type(name, default)
  return M.json_string(get(name, default))
end

-- A JSON value, checked only in shape (the server says the rest): a literal, a number, or text
-- that opens and closes like an object, an array or a string.
function M.payload(name, default)
  local v = get(name, default)
  local t = v:match("^%s*(.-)%s*$")
  local first, last = t:sub(1, 1), t:sub(-1)
  local ok = t == "null" or t == "true" or t == "false" or
      (t:match("^%-?%d+%.?%d*[eE]?[%+%-]?%d*$") ~= nil) or
      (#t >= 2 and ((first == "{" and last == "}") or (first == "[" and last == "]") or
        (first == '"' and last == '"')))
  if not ok then fail(name, v, "a JSON value: null, a number, \"text\", [...] or {...}") end
  return t
end

function M.priority(name, default)
  local v = get(name, default)
  if v ~= "high" and v ~= "normal" then fail(name, v, "high or normal") end
  return v
end

-- The wait query parameter: true, false, or seconds.
function M.wait(name, default)
  local v = get(name, default)
  local n = tonumber(v)
  if v ~= "true" and v ~= "false" and not (n and n > 0) then
    fail(name, v, "true, false, or a number of seconds above 0")
  end
  return v
end

-- A whole number of milliseconds, 1 or more; nil when unset and no default is given.
function M.milliseconds(name, default)
  local v = get(name, default)
  if v == nil then return nil end
  if not v:match("^%d+$") or tonumber(v) < 1 then fail(name, v, "a whole number of ms, 1 or more") end
  return tonumber(v)
end

-- A share between 0 and 1.
function M.share(name, default)
  local v = get(name, default)
  local n = tonumber(v)
  if not n or n < 0 or n > 1 then fail(name, v, "a number from 0 to 1") end
  return n
end

return M
