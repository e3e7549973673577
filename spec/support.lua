--- Helpers shared by the specs: running worlds of players, and running
-- cicada-lua on a program to read what it writes.
local cicada = require("cicada")

local M = {}

--- The cicada-lua under test (ctest sets CICADA_LUA).
M.cicada_lua = os.getenv("CICADA_LUA") or "build/cicada-lua"

--- cicada.run with the world size and function first: run(n, fn, opts).
function M.run(n, fn, opts)
  opts = opts or {}
  opts.world_size, opts.fn = n, fn
  return cicada.run(opts)
end

--- Run a Lua program under cicada-lua and return what it wrote on stderr.
function M.stderr_of(program)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(program)
  f:close()
  local p = assert(io.popen(("%s %s 2>&1 1>/dev/null"):format(M.cicada_lua, path)))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

--- The lines of a string, without their newlines.
function M.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

return M
