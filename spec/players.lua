--- Helpers for specs that run cicada-lua as separate processes: start
-- them in their own process groups, wait with a deadline, read what they
-- printed, and kill every one of them when a spec ends, failed or not.
local core = require("cicada.core")

local M = {}

M.exe = os.getenv("CICADA_LUA") or "cicada-lua"

local started = {}

local function shquote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shquote = shquote

--- Write a Lua script to a temporary file and return its path.
function M.script(source)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(source)
  f:close()
  started.files = started.files or {}
  table.insert(started.files, path)
  return path
end

--- A port for a root address: outside the kernel's ephemeral range
-- (32768-60999 on Linux), so that no client connection holds it.
function M.port()
  return math.random(20000, 32000)
end

--- Start `cicada-lua args...` with extra environment variables (a table),
-- in a process group of its own, after the words of `prefix` (a list, e.g.
-- {"ip", "netns", "exec", "ns0"}). Returns a handle for wait().
function M.start(args, env, prefix)
  local words = {}
  for k, v in pairs(env or {}) do table.insert(words, k .. "=" .. shquote(v)) end
  table.sort(words)
  local before = {}
  for _, w in ipairs(prefix or {}) do table.insert(before, shquote(w)) end
  table.insert(words, shquote(M.exe))
  for _, a in ipairs(args) do table.insert(words, shquote(a)) end
  local out = os.tmpname()
  local rc = out .. ".rc"
  local inner = ("%s env %s > %s 2>&1; echo $? > %s.tmp; mv %s.tmp %s"):format(
    table.concat(before, " "), table.concat(words, " "), out, rc, rc, rc)
  local p = assert(io.popen(("setsid sh -c %s > /dev/null 2>&1 & echo $!"):format(shquote(inner))))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  local h = {pid = pid, out = out, rc = rc}
  table.insert(started, h)
  return h
end

local function read_file(path)
  if path == nil then return nil end
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Wait for a started process to end (at most timeout_s seconds, then it
-- is killed and this raises). Returns its exit code and its output.
function M.wait(h, timeout_s)
  local deadline = core.now() + (timeout_s or 20)
  while true do
    local rc = read_file(h.rc)
    if rc then
      h.done = true
      return math.tointeger(tonumber(rc)), read_file(h.out) or ""
    end
    if core.now() > deadline then
      M.kill(h)
      error(("cicada-lua (pid %d) did not finish within %gs; it printed:\n%s"):format(
        h.pid, timeout_s or 20, read_file(h.out) or ""))
    end
    core.sleep(0.02)
  end
end

--- What a started process has printed so far.
function M.output(h) return read_file(h.out) or "" end

--- Run `cicada-lua args...` to the end: exit code and output.
function M.run(args, env, timeout_s)
  return M.wait(M.start(args, env), timeout_s)
end

function M.kill(h)
  if h.pid and not h.killed then
    os.execute(("kill -KILL -- -%d 2>/dev/null"):format(h.pid))
    h.killed = true
  end
end

--- Kill every process started since the last call and remove the files.
function M.cleanup()
  for _, h in ipairs(started) do
    M.kill(h)
    os.remove(h.out)
    os.remove(h.rc)
  end
  for _, path in ipairs(started.files or {}) do os.remove(path) end
  for i = #started, 1, -1 do started[i] = nil end
  started.files = nil
end

function M.sleep(s) core.sleep(s) end

--- The lines of text that match a Lua pattern.
function M.count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

math.randomseed(os.time(), core.getpid())

return M
