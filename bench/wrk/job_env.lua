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

-- Where the JSON text `s` stops being one JSON value (RFC 8259): what was expected there and the
-- character's position, or nil when it is one. wrk's Lua has no JSON parser; this only checks.
local function json_error(s)
  local pos = 1
  local function skip_space() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function at() return s:sub(pos, pos) end

  local function string_at()
    pos = pos + 1
    while true do
      local c = at()
      if c == "" then return "a closing \"" end
      if c == '"' then pos = pos + 1; return nil end
      if c:byte() < 32 then return "no control character in a string (escape it)" end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          if not s:sub(pos + 2, pos + 5):match("^%x%x%x%x$") then
            pos = pos + 1; return "four hex digits after \\u"
          end
          pos = pos + 6
        elseif e ~= "" and ('"\\/bfnrt'):find(e, 1, true) then
          pos = pos + 2
        else
          pos = pos + 1; return "an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
        end
      else
        pos = pos + 1
      end
    end
  end

  local value
  local function members(depth, close)
    pos = pos + 1
    skip_space()
    if at() == close then pos = pos + 1; return nil end
    while true do
      skip_space()
      if close == "}" then
        if at() ~= '"' then return "a member name in double quotes" end
        local err = string_at()
        if err then return err end
        skip_space()
        if at() ~= ":" then return "':' after the member name" end
        pos = pos + 1
      end
      local err = value(depth + 1)
      if err then return err end
      skip_space()
      if at() == close then pos = pos + 1; return nil end
      if at() ~= "," then return "',' or '" .. close .. "'" end
      pos = pos + 1
    end
  end

  function value(depth)
    if depth > 64 then return "less nesting (64 levels at most)" end
    skip_space()
    local c = at()
    if c == "{" then return members(depth, "}") end
    if c == "[" then return members(depth, "]") end
    if c == '"' then return string_at() end
    for _, word in ipairs({ "true", "false", "null" }) do
      if s:sub(pos, pos + #word - 1) == word then pos = pos + #word; return nil end
    end
    local number = s:match("^%-?0", pos) or s:match("^%-?[1-9]%d*", pos)
    if not number then return "a JSON value: null, true, false, a number, \"text\", [...] or {...}" end
    pos = pos + #number
    local fraction = s:match("^%.%d+", pos)
    if fraction then pos = pos + #fraction end
    local exponent = s:match("^[eE][%+%-]?%d+", pos)
    if exponent then pos = pos + #exponent end
    return nil
  end

  local err = value(0)
  if not err then
    skip_space()
    if pos <= #s then err = "the end after one value" end
  end
  if err then return string.format("expected %s at character %d", err, pos) end
  return nil
end
M.json_error = json_error

-- A JSON value (RFC 8259), validated here so that a typo stops wrk instead of making every
-- request a 400.
function M.payload(name, default)
  local v = get(name, default)
  local err = json_error(v)
  if err then fail(name, v, "not one JSON value: " .. err) end
  return (v:match("^%s*(.-)%s*$"))
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

-- An HTTP header's name (a token); nil when unset and no default is given.
function M.header_name(name, default)
  local v = get(name, default)
  if v == nil then return nil end
  if not v:match("^[%w!#$%%&'*+.^_`|~-]+$") then fail(name, v, "a header name, e.g. Idempotency-Key") end
  return v
end

-- A share between 0 and 1.
function M.share(name, default)
  local v = get(name, default)
  local n = tonumber(v)
  if not n or n < 0 or n > 1 then fail(name, v, "a number from 0 to 1") end
  return n
end

return M
