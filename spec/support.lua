--- Helpers shared by the specs: worlds of players run by cicada.run, and
-- cicada-lua run as separate processes (each in a process group of its
-- own, waited for with a deadline, killed when a spec ends, failed or
-- not).
--
-- Every temporary file comes from os.tmpname() itself, never a name made
-- from one, and is removed by the helper that made it or by cleanup(), so
-- that the specs leave nothing in /tmp. Specs that start processes call
-- `after_each(support.cleanup)`.
local cicada = require("cicada")
local core = require("cicada.core")

local M = {}

--- The cicada-lua under test (ctest sets CICADA_LUA).
M.cicada_lua = os.getenv("CICADA_LUA") or "build/cicada-lua"

--- How many times slower than a plain build the players may run:
-- CICADA_TEST_SLOWDOWN, which CMakeLists.txt sets for the specs (1 in a
-- plain build, more under ASan and TSan; see docs/building.md). Specs
-- whose point is how soon a failure is noticed scale their heartbeat
-- timeouts, and the bounds they put on the wait, by it.
M.slowdown = tonumber(os.getenv("CICADA_TEST_SLOWDOWN") or "") or 1

--- s seconds scaled by the slowdown.
function M.seconds(s)
  return s * M.slowdown
end

-- ==== Worlds of players (cicada.run) ==========================================

--- cicada.run with the world size and function first: run(n, fn, opts).
function M.run(n, fn, opts)
  opts = opts or {}
  opts.world_size, opts.fn = n, fn
  return cicada.run(opts)
end

--- Run fn(comm, table.unpack(args)) in n players and return the list of
-- per-rank results (tables), failing the spec with a player's error or
-- death if one did not return a table. opts: more cicada.run options.
function M.run_all(n, fn, args, opts)
  opts = opts or {}
  opts.args = args
  local results = M.run(n, fn, opts)
  for rank = 0, n - 1 do
    local r = results[rank + 1]
    if type(r) ~= "table" or getmetatable(r) ~= nil then
      error(("player %d: %s"):format(rank, tostring(r)), 2)
    end
  end
  return results
end

--- run_all with a timeout of 60 s scaled by the slowdown, for suites
-- working on large arrays.
function M.run_all_slow(n, fn, args)
  return M.run_all(n, fn, args, {timeout = M.seconds(20)})
end

--- count random fixed-point numbers in [-limit, limit], exact in 16 bits.
function M.fixed_randoms(count, limit)
  local xs = {}
  local m = math.floor(limit * 65536)
  for i = 1, count do xs[i] = math.random(-m, m) / 65536 end
  return xs
end

--- A communicator stand-in for code that fails, or builds a suite, before
-- any communication.
function M.fake_comm(n, rank)
  return {world_size = n, rank = rank or 0, ranks = {}}
end

--- Suite options for specs: opts plus a lowered value range and
-- statistical security (value_bits 34, statistical_security 8) when the
-- suite's field (opts.order, or the suites' default) is too narrow for the
-- defaults, as the 64-bit field is; opts unchanged in a wide field.
function M.narrow(opts)
  local ok, probe = pcall(require("cicada.shamir").BasicProtocolSuite, M.fake_comm(2),
                          {threshold = 2, order = opts.order})
  if ok and probe.field.bits < 100 then -- a bad order: left for the spec's own call
    if opts.value_bits == nil then opts.value_bits = 34 end
    if opts.statistical_security == nil then opts.statistical_security = 8 end
  end
  return opts
end

-- ==== Temporary files =========================================================

-- Files to remove at cleanup().
local files = {}

-- A new temporary file's name (the file exists, empty), removed at cleanup().
local function tmpfile()
  local path = os.tmpname()
  files[#files + 1] = path
  return path
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Write a Lua script to a temporary file and return its path; cleanup()
-- removes it.
function M.script(source)
  local path = tmpfile()
  write_file(path, source)
  return path
end

-- ==== cicada-lua as separate processes ========================================

-- Processes started since the last cleanup().
local started = {}

--- A word quoted for sh.
function M.shquote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
local shquote = M.shquote

-- The ports this spec may listen on: CICADA_TEST_PORTS ("first-last"),
-- which CMakeLists.txt sets to a block of its own for each spec, so that
-- specs run in parallel never pick the same port; a run of busted by hand
-- takes all of 20000-31999. The first port handed out depends on the
-- process and the time (not on math.random, which specs seed), so that
-- two runs of one spec at once likely start far apart.
local port_first, port_last = (os.getenv("CICADA_TEST_PORTS") or ""):match("^(%d+)%-(%d+)$")
port_first, port_last = math.tointeger(tonumber(port_first)), math.tointeger(tonumber(port_last))
if not port_first or port_last < port_first or port_first < 1024 or port_last > 65535 then
  port_first, port_last = 20000, 31999
end
local port_next = port_first + (core.getpid() * 7919 + os.time()) % (port_last - port_first + 1)

--- A port for a root address: outside the kernel's ephemeral range
-- (32768-60999 on Linux), so that no client connection holds it, and in
-- this spec's block, each one handed out once until the block is used
-- up, so that no earlier player still listening holds it either.
function M.port()
  local port = port_next
  port_next = port == port_last and port_first or port + 1
  return port
end

--- Whether a socket of this host listens on TCP `port` (IPv4 or IPv6), as
-- /proc/net/tcp and /proc/net/tcp6 list them.
function M.listening(port)
  for _, path in ipairs{"/proc/net/tcp", "/proc/net/tcp6"} do
    local f = io.open(path, "r")
    if f then
      for line in f:lines() do
        local at, state = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x+)")
        if state == "0A" and tonumber(at, 16) == port then -- 0A: TCP_LISTEN
          f:close()
          return true
        end
      end
      f:close()
    end
  end
  return false
end

--- Wait until a started process listens on `port` (what a fixed sleep
-- cannot promise of a process slowed by load or a sanitizer); raise if
-- it has not within timeout_s seconds (default seconds(10)).
function M.await_listening(port, timeout_s)
  timeout_s = timeout_s or M.seconds(10)
  local deadline = core.now() + timeout_s
  while not M.listening(port) do
    if core.now() > deadline then
      error(("nothing listened on port %d within %gs"):format(port, timeout_s), 2)
    end
    core.sleep(0.01)
  end
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
  table.insert(words, shquote(M.cicada_lua))
  for _, a in ipairs(args) do table.insert(words, shquote(a)) end
  -- The exit code goes to rc through a rename, so that rc is never seen
  -- half-written: rc stays empty until the process has ended.
  local out, rc, rc_tmp = tmpfile(), tmpfile(), tmpfile()
  local inner = ("%s env %s > %s 2>&1; echo $? > %s; mv %s %s"):format(
    table.concat(before, " "), table.concat(words, " "), shquote(out),
    shquote(rc_tmp), shquote(rc_tmp), shquote(rc))
  local p = assert(io.popen(("setsid sh -c %s > /dev/null 2>&1 & echo $!"):format(shquote(inner))))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  local h = {pid = pid, out = out, rc = rc}
  table.insert(started, h)
  return h
end

--- Wait for a started process to end (at most timeout_s seconds, default
-- seconds(20), then it is killed and this raises). Returns its exit code
-- and its output.
function M.wait(h, timeout_s)
  timeout_s = timeout_s or M.seconds(20)
  local deadline = core.now() + timeout_s
  while true do
    local rc = read_file(h.rc)
    if rc and rc ~= "" then
      -- Ended: keep what it printed and remove its files now, so that a
      -- spec that never calls cleanup() leaves nothing behind either.
      h.done = true
      h.text = read_file(h.out) or ""
      os.remove(h.out)
      os.remove(h.rc)
      return math.tointeger(tonumber(rc)), h.text
    end
    if core.now() > deadline then
      M.kill(h)
      error(("cicada-lua (pid %d) did not finish within %gs; it printed:\n%s"):format(
        h.pid, timeout_s, read_file(h.out) or ""))
    end
    core.sleep(0.02)
  end
end

--- Sleep for s seconds.
M.sleep = core.sleep

--- What a started process has printed so far.
function M.output(h) return h.text or read_file(h.out) or "" end

--- Run `cicada-lua args...` to the end: its exit code and output.
function M.run_cli(args, env, timeout_s)
  return M.wait(M.start(args, env), timeout_s)
end

--- Kill a started process and its process group.
function M.kill(h)
  if h.pid and not h.killed then
    -- No "--": the kill of dash (sh on Debian) takes -PID after the signal
    -- as a process group, and refuses "--".
    os.execute(("kill -KILL -%d 2>/dev/null"):format(h.pid))
    h.killed = true
  end
end

--- Kill every process started since the last call and remove the
-- temporary files.
function M.cleanup()
  for _, h in ipairs(started) do M.kill(h) end
  for i = #started, 1, -1 do started[i] = nil end
  for i = #files, 1, -1 do
    os.remove(files[i])
    files[i] = nil
  end
end

--- Run a Lua program under cicada-lua and return what it wrote on stderr.
function M.stderr_of(program)
  local path = os.tmpname()
  write_file(path, program)
  local p = assert(io.popen(("%s %s 2>&1 1>/dev/null"):format(shquote(M.cicada_lua), shquote(path))))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return out
end

-- ==== Text ====================================================================

--- The lines of a string, without their newlines.
function M.lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

--- How many times a Lua pattern matches in text.
function M.count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

math.randomseed(os.time(), core.getpid())

return M
