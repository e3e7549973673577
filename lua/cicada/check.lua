--- cicada.check: the argument errors of cicada's Lua modules, built in one
-- place.
--
-- Like lauxlib's `luaL_argerror`, every error raised here reads
-- `bad argument #2 to 'share' (rank 5 out of range [0, 3))` and points at
-- the line that called the library: the error's position is that of the
-- first function on the call stack that is not one of cicada's Lua modules
-- (nor a C function). A check may therefore sit in a helper several calls
-- deep inside the library and still blame the user's line.
--
--     local check = require("cicada.check")
--     if type(opts) ~= "table" then
--       check.argerror(1, "run", "table expected, got " .. type(opts))
--     end
--
-- This module is internal: its names may change between versions.
-- @module cicada.check
local M = {}

-- The source prefix shared by cicada's Lua modules: the directory holding
-- this file ("@/usr/share/lua/5.4/cicada/"), whatever LUA_PATH found it by.
local library_prefix = debug.getinfo(1, "S").source:match("^(@.*[/\\])check%.lua$")

-- True for a frame of one of cicada's Lua modules (this directory or below).
local function in_library(info)
  if library_prefix then
    return info.source:sub(1, #library_prefix) == library_prefix
  end
  -- Loaded from elsewhere than a file: recognise the package by name.
  return info.source:find("[/\\]cicada[/\\]") ~= nil
end

-- The stack level, as `error` counts it from the caller of user_level,
-- of the nearest Lua function outside the library; 0 (no position) when
-- every Lua function on the stack is the library's.
local function user_level()
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if info == nil then return 0 end
    if info.what ~= "C" and not in_library(info) then return level - 1 end
    level = level + 1
  end
end

--- Raise `message` at the line of the user's call into the library.
-- @string message the whole error message
-- @raise always
function M.error(message)
  error(message, user_level())
end

--- Raise `bad argument #n to 'fname' (message)` at the user's line.
-- @int n the argument's position (for methods, not counting self)
-- @string fname the function's name as the user calls it
-- @string message what is wrong, e.g. `table expected, got number`
-- @raise always
function M.argerror(n, fname, message)
  M.error(("bad argument #%d to '%s' (%s)"):format(n, fname, message))
end

--- Raise `bad option 'key' to 'fname' (message)` at the user's line, for a
-- field of an options table.
-- @string key the option's name
-- @string fname the function's name
-- @string message what is wrong
-- @raise always
function M.optionerror(key, fname, message)
  M.error(("bad option '%s' to '%s' (%s)"):format(key, fname, message))
end

--- The reason given by an argument error raised in C, without the
-- position and the `bad argument #n to 'f'` around it, so that a Lua
-- function can raise it again as an error of its own argument:
-- `bad argument #1 to 'Field' (field order 561 is not prime)` gives
-- `field order 561 is not prime`. Any other error is returned whole, as
-- a string.
-- @param err an error value caught by pcall
-- @treturn string
function M.reason(err)
  local s = tostring(err)
  return s:match("^.-bad argument #%d+ to '[^']*' %((.*)%)$") or s
end

-- A short description of a value for "expected, got ..." messages.
local function describe(v)
  return math.type(v) == "float" and tostring(v) or type(v)
end

--- Check that `r` is a rank of `comm` (an integer in [0, comm.world_size)).
-- @param comm the communicator
-- @param r the value to check
-- @int n the argument's position
-- @string fname the function's name
-- @treturn int r
-- @raise `bad argument #n to 'fname' (rank 7 out of range [0, 4))`
function M.rank(comm, r, n, fname)
  if math.type(r) ~= "integer" then
    M.argerror(n, fname, "rank expected, got " .. describe(r))
  end
  if r < 0 or r >= comm.world_size then
    M.argerror(n, fname, ("rank %d out of range [0, %d)"):format(r, comm.world_size))
  end
  return r
end

--- Check that every entry of list is a rank of comm and none is there twice
-- (argument n of fname; `what` names the list in the error, or nil).
-- @param comm the communicator
-- @tab list the ranks
-- @int n the argument's position
-- @string fname the function's name
-- @string[opt] what the list's name, e.g. "src"
-- @treturn table the set of the ranks (rank -> true)
-- @raise `bad argument #2 to 'reveal' (rank 1 appears twice)`
function M.rank_list(comm, list, n, fname, what)
  local seen = {}
  for _, r in ipairs(list) do
    M.rank(comm, r, n, fname)
    if seen[r] then
      M.argerror(n, fname, ("rank %d appears twice%s"):format(r, what and " in " .. what or ""))
    end
    seen[r] = true
  end
  return seen
end

-- What each kind of check_option accepts, and how errors name it.
local option_kinds = {
  integer = {"integer", function(v) return math.type(v) == "integer" end},
  positive = {"positive number", function(v) return type(v) == "number" and v > 0 end},
}

--- Check the optional field `key` of the options table `opts`: nil, or of
-- the given kind (`"integer"`, `"positive"` for a positive number, or a
-- Lua type name such as `"string"` or `"table"`).
-- @tab opts the options table
-- @string key the option's name
-- @string kind what it must be
-- @string fname the function's name
-- @return the option's value
-- @raise `bad option 'timeout' to 'run' (positive number expected, got -1)`
function M.option(opts, key, kind, fname)
  local v = opts[key]
  if v == nil then return nil end
  local known = option_kinds[kind]
  local ok
  if known then ok = known[2](v) else ok = type(v) == kind end
  if not ok then
    M.optionerror(key, fname, ("%s expected, got %s"):format(known and known[1] or kind, tostring(v)))
  end
  return v
end

return M
