-- The benchmark: one line per figure,
--     BENCH name=<id> players=<n> size=<k> median_ms=<x> runs=<r> [field=<order>]
-- The figures of the Shamir suites say which field they measure: the 64-bit
-- field 2^64 - 59 (field=2^64-59), passed explicitly so that these figures
-- stay comparable across versions, or the suites' default 2^127 - 1
-- (field=2^127-1, multiply_1m_f128).
-- Each figure runs inside real player processes on this host (loopback TCP)
-- and reports the median over its runs, timed at player 0 between barriers.
-- multiply_1m_rss reports memory instead: the peak resident set (VmHWM) of
-- each player of a run, in MB, as median_mb= over the players; idle_64_cpu
-- reports CPU, in percent of one core, as median_pct=. round_floor
-- is the same message pattern as round over plain blocking TCP (a small C
-- program built with the project), the floor to read round against.
--
--     cicada-lua scripts/bench.lua            -- every figure
--     cicada-lua scripts/bench.lua round      -- the figures whose names match
local cicada = require("cicada")
local core = require("cicada.core")

local filter = arg and arg[1]

local function median(xs)
  table.sort(xs)
  local n = #xs
  if n % 2 == 1 then return xs[(n + 1) // 2] end
  return (xs[n // 2] + xs[n // 2 + 1]) / 2
end

local function report(name, players, size, samples_s, field)
  print(("BENCH name=%s players=%d size=%d median_ms=%.4f runs=%d%s"):format(
    name, players, size, median(samples_s) * 1e3, #samples_s,
    field and " field=" .. field or ""))
  io.stdout:flush()
end

-- Time op(comm, state) inside `players` processes: each sample runs op
-- `batch` times between two barriers, and the time per op measured at rank
-- 0 is kept. Returns the samples. `options` are more options of cicada.run.
local function timed(players, runs, batch, setup, op, options)
  local run_options = {world_size = players, timeout = 60}
  for k, v in pairs(options or {}) do run_options[k] = v end
  run_options.fn = function(comm)
    local state = setup and setup(comm) or {}
    op(comm, state)                      -- warm up
    local samples = {}
    for i = 1, runs do
      comm:barrier()
      local t0 = core.now()
      for _ = 1, batch do op(comm, state) end
      comm:barrier()
      samples[i] = (core.now() - t0) / batch
    end
    return samples
  end
  local results = cicada.run(run_options)
  for r = 1, players do
    if getmetatable(results[r]) ~= nil or type(results[r]) ~= "table" then
      error(("benchmark failed at player %d: %s"):format(r - 1, tostring(results[r])))
    end
  end
  return results[1]
end

local figures = {}
local function figure(name, fn) figures[#figures + 1] = {name = name, fn = fn} end

-- Start 4 players, connect them and run a trivial function in each.
figure("startup", function()
  local samples = {}
  for i = 1, 30 do
    local t0 = core.now()
    cicada.run{world_size = 4, fn = function(comm) return comm.rank end}
    samples[i] = core.now() - t0
  end
  report("startup", 4, 0, samples)
end)

-- The 64-bit field of the suite figures, and its name in their lines.
local ORDER64, F64 = "18446744073709551557", "2^64-59"
local F64_SUITE = F64 .. " statistical_security=20"

local function suite(comm)
  return {p = cicada.shamir.BasicProtocolSuite(comm, {threshold = 2, order = ORDER64})}
end

-- One round of the seed's loop: share a scalar, add, reveal (4 players).
-- The floor under `round`: the same messages over plain blocking TCP, from
-- the round_floor program built beside cicada-lua (engine/bench/); `round`
-- reads as a multiple of it. CICADA_ROUND_FLOOR names another binary.
figure("round_floor", function()
  local exe = os.getenv("CICADA_ROUND_FLOOR") or
    ((arg and arg[-1] or "cicada-lua"):match("^(.*)/[^/]*$") or ".") .. "/round_floor"
  local p = io.popen(("'%s' 4 21 200 2>&1"):format(exe:gsub("'", "'\\''")))
  local out = p:read("a")
  local ok = p:close()
  local line = out:match("(BENCH name=round_floor[^\n]*)")
  if not ok or not line then
    error(("round_floor failed (%s): %s"):format(exe, out), 0)
  end
  print(line)
  io.stdout:flush()
end)

figure("round", function()
  report("round", 4, 1, timed(4, 21, 200, function(comm)
    local s = suite(comm)
    s.total = s.p:share(0, comm.rank == 0 and 0 or nil, {})
    s.i = 0
    return s
  end, function(comm, s)
    s.i = s.i + 1
    local src = s.i % comm.world_size
    local inc = s.p:share(src, comm.rank == src and 1 or nil, {})
    s.total = s.p:add(s.total, inc)
    s.p:reveal(s.total)
  end), F64)
end)

local function vector(n)
  local v = {}
  for i = 1, n do v[i] = (i % 1000) / 8 end
  return v
end

local function share_figure(name, n, runs, batch)
  figure(name, function()
    report(name, 4, n, timed(4, runs, batch, function(comm)
      local s = suite(comm)
      s.secret = comm.rank == 0 and s.p.encoding:encode(vector(n), s.p.field) or nil
      return s
    end, function(_, s)
      s.p:share(0, s.secret, {n})
    end), F64)
  end)
end

local function reveal_figure(name, n, runs, batch)
  figure(name, function()
    report(name, 4, n, timed(4, runs, batch, function(comm)
      local s = suite(comm)
      local secret = comm.rank == 0 and s.p.encoding:encode(vector(n), s.p.field) or nil
      s.share = s.p:share(0, secret, {n})
      return s
    end, function(_, s)
      s.p:reveal(s.share)
    end), F64)
  end)
end

share_figure("share_10k", 10000, 21, 10)
reveal_figure("reveal_10k", 10000, 21, 10)
reveal_figure("reveal_1m", 1000000, 7, 1)

-- Shares of two n-vectors of fixed-point numbers in [-8, 8) (made in C,
-- so that no Lua list of n numbers inflates the memory figure), from
-- players 0 and 1, in a full suite over the field of the given order
-- (default: the 64-bit field, where products below 2^6 need 24 value
-- bits, which leave room for 20 bits of statistical security: F64 names
-- both in the figure's line).
local function product_setup(n, order)
  return function(comm)
    order = order or ORDER64
    local options = {threshold = 2, order = order}
    if order == ORDER64 then options.value_bits, options.statistical_security = 24, 20 end
    local p = cicada.shamir.ProtocolSuite(comm, options)
    local F = p.field
    local function secret()
      return F:subtract(F:uniform_below({n}, 1 << 20), 1 << 19)
    end
    local s = {p = p}
    s.a = p:share(0, comm.rank == 0 and secret() or nil, {n})
    s.b = p:share(1, comm.rank == 1 and secret() or nil, {n})
    return s
  end
end

-- Fixed-point multiplication (with truncation) of n pairs, 3 players, in
-- the field of order `order` (named `field` in the line).
local function multiply_figure(name, n, runs, batch, order, field)
  figure(name, function()
    report(name, 3, n, timed(3, runs, batch, product_setup(n, order), function(_, s)
      s.p:multiply(s.a, s.b)
    end), field)
  end)
end

multiply_figure("multiply_10k", 10000, 21, 10, ORDER64, F64_SUITE)
multiply_figure("multiply_1m", 1000000, 7, 1, ORDER64, F64_SUITE)
-- The same million products in the suites' default 128-bit field.
multiply_figure("multiply_1m_f128", 1000000, 7, 1, require("cicada.field").SUITE_ORDER, "2^127-1")

-- The fixed-point dot product of two 10,000-vectors, 3 players.
figure("dot_10k", function()
  report("dot_10k", 3, 10000, timed(3, 21, 20, product_setup(10000), function(_, s)
    s.p:dot(s.a, s.b)
  end), F64_SUITE)
end)

-- less_10k: 10,000 comparisons of shared fixed-point values in [-8, 8),
-- 3 players, the suites' default field and options. A field too narrow
-- for the default statistical security (the 64-bit one) gets value_bits 24
-- and the security that leaves, 20, said at the end of the line.
figure("less_10k", function()
  local n, options, note = 10000, {threshold = 2}, ""
  local probe = cicada.shamir.BasicProtocolSuite({world_size = 3, rank = 0}, options)
  if probe.field.bits < 100 then
    options.value_bits, options.statistical_security = 24, 20
    note = " statistical_security=20"
  end
  local samples = timed(3, 11, 2, function(comm)
    local p = cicada.shamir.ProtocolSuite(comm, options)
    local F = p.field
    local function secret()
      return F:subtract(F:uniform_below({n}, 1 << 20), 1 << 19)
    end
    return {p = p, a = p:share(0, comm.rank == 0 and secret() or nil, {n}),
            b = p:share(1, comm.rank == 1 and secret() or nil, {n})}
  end, function(_, s)
    s.p:less(s.a, s.b)
  end)
  print(("BENCH name=less_10k players=3 size=%d median_ms=%.4f runs=%d%s"):format(
    n, median(samples) * 1e3, #samples, note))
  io.stdout:flush()
end)

-- Peak memory of a player that multiplies 1,000,000 pairs (3 players): the
-- VmHWM of each player process after sharing and 3 multiplications.
local function peak_mb()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("a")
  f:close()
  return tonumber(status:match("VmHWM:%s*(%d+)%s*kB")) / 1024
end

figure("multiply_1m_rss", function()
  local n = 1000000
  local results = cicada.run{world_size = 3, timeout = 60, fn = function(comm)
    local s = product_setup(n)(comm)
    for _ = 1, 3 do s.p:multiply(s.a, s.b) end
    comm:barrier()
    return peak_mb()
  end}
  for r, mb in ipairs(results) do
    if type(mb) ~= "number" then error(("benchmark failed at player %d: %s"):format(r - 1, tostring(mb))) end
  end
  print(("BENCH name=multiply_1m_rss players=3 size=%d median_mb=%.1f runs=%d field=%s"):format(
    n, median(results), #results, F64_SUITE))
  io.stdout:flush()
end)

-- ==== Fault tolerance ======================================================

-- The failures below are on purpose: keep their log records out of the way.
cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

-- From a SIGKILL to the error at the slowest survivor (4 players): the dying
-- player sends its clock reading just before it dies; the others are
-- blocked in a receive from it.
-- After a barrier, player 3 sends the others its clock reading and dies
-- (SIGKILL); the others wait for that player until its death is known.
-- Returns, at the survivors, the clock reading and whether the wait failed.
local function kill_rank3(comm)
  comm:barrier()
  if comm.rank == 3 then
    local t0 = core.now()
    for r = 0, 2 do comm:send(t0, r, 1) end
    cicada.inject.kill()
  end
  local t0 = comm:recv(3, 1)
  local ok = pcall(comm.recv, comm, 3, 2)
  return t0, not ok
end

figure("detect_kill", function()
  local samples = {}
  for i = 1, 21 do
    local results = cicada.run{world_size = 4, fn = function(comm)
      local t0, failed = kill_rank3(comm)
      return failed and core.now() - t0 or nil
    end}
    local worst = 0
    for r = 1, 3 do
      if type(results[r]) ~= "number" then error("detect_kill: " .. tostring(results[r])) end
      worst = math.max(worst, results[r])
    end
    samples[i] = worst
  end
  report("detect_kill", 4, 0, samples)
end)

-- From the last survivor calling shrink to every survivor holding the new
-- communicator, after a death (4 to 3 players).
figure("shrink", function()
  local samples = {}
  for i = 1, 21 do
    local results = cicada.run{world_size = 4, fn = function(comm)
      comm:barrier()
      if comm.rank == 3 then cicada.inject.kill() end
      pcall(comm.barrier, comm)
      comm:revoke()
      local called = core.now()
      local newcomm = comm:shrink{name = "after"}
      local done = core.now()
      return newcomm:allgather({called, done})
    end}
    local times = results[1]
    if type(times) ~= "table" then error("shrink: " .. tostring(times)) end
    local last_call, last_done = 0, 0
    for _, t in ipairs(times) do
      last_call, last_done = math.max(last_call, t[1]), math.max(last_done, t[2])
    end
    samples[i] = last_done - last_call
  end
  report("shrink", 4, 0, samples)
end)

-- From a SIGKILL to every member of the grown world holding its recovered
-- share (4 players, threshold 2, one replacement): the dying player sends
-- its clock reading just before it dies; the survivors revoke, shrink,
-- grow back to 4 (the launcher starts the replacement) and recover a
-- shared secret at the replacement; the figure is the slowest member's
-- time from the kill to its return from recover.
figure("heal", function()
  local samples = {}
  for i = 1, 11 do
    local results = cicada.run{world_size = 4, fn = function(comm)
      local shamir = cicada.shamir
      if comm.joined then
        local plan = comm:broadcast(0, nil)
        local p = shamir.ProtocolSuite(comm, {threshold = 2, indices = plan.indices})
        p:recover(nil)
        return core.now() - plan.t0
      end
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local share = p:share(0, comm.rank == 0 and 42 or nil, {})
      local t0 = kill_rank3(comm)
      comm:revoke()
      local shrunk, oldranks = comm:shrink{name = "shrunk"}
      local grown = shrunk:grow{count = 1, name = "healed"}
      local indices = p:indices_for(oldranks)
      indices[#indices + 1] = 4
      grown:broadcast(0, grown.rank == 0 and {indices = indices, t0 = t0} or nil)
      local q = shamir.ProtocolSuite(grown, {threshold = 2, indices = indices})
      q:recover(share)
      return core.now() - t0
    end}
    local worst = 0
    for _, r in ipairs{1, 2, 3, 5} do
      if type(results[r]) ~= "number" then error("heal: " .. tostring(results[r])) end
      worst = math.max(worst, results[r])
    end
    samples[i] = worst
  end
  report("heal", 4, 0, samples)
end)

-- The seed's example [4] as a whole: start, one kill, shrink, 8 rounds, exit.
figure("seed4", function()
  local exe = arg and arg[-1] or "cicada-lua"
  local script = (arg and arg[0] or "scripts/bench.lua"):gsub("bench%.lua$", "seed4_shrink.lua")
  local samples = {}
  for i = 1, 11 do
    local t0 = core.now()
    local ok = os.execute(("%s %s 2>/dev/null"):format(exe, script))
    samples[i] = core.now() - t0
    if not ok then error("seed4: the script failed") end
  end
  report("seed4", 4, 8, samples)
end)

-- ==== 64 players ==============================================================
-- startup_64: cicada.run of 64 players doing nothing. allgather_64: one
-- scalar allgather among 64 (allgather_128: among 128). idle_64_cpu: the CPU a player of an idle
-- 64-player world uses (heartbeats), in percent of one core over 2 s of
-- idling, as median_pct= over the players, and total_pct= for the whole
-- world.

figure("startup_64", function()
  local samples = {}
  for i = 1, 5 do
    local t0 = core.now()
    cicada.run{world_size = 64, timeout = 60, startup_timeout = 60,
               fn = function(comm) return comm.rank end}
    samples[i] = core.now() - t0
  end
  report("startup_64", 64, 0, samples)
end)

figure("allgather_64", function()
  report("allgather_64", 64, 1, timed(64, 11, 20, nil, function(comm)
    comm:allgather(comm.rank)
  end, {startup_timeout = 60}))
end)

figure("allgather_128", function()
  report("allgather_128", 128, 1, timed(128, 11, 10, nil, function(comm)
    comm:allgather(comm.rank)
  end, {startup_timeout = 120}))
end)

-- Seconds on a CPU of every thread of this process, from the scheduler's
-- nanosecond counters (/proc/PID/task/TID/schedstat, first field).
-- This process's threads, listed once (by `ls`, whose own cost must not
-- fall inside a measured window), and the CPU seconds they have used
-- (schedstat, in ns).
local function threads()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("a"):match("^(%d+)")
  f:close()
  local paths = {}
  local ls = assert(io.popen("ls /proc/" .. pid .. "/task"))
  for tid in ls:lines() do paths[#paths + 1] = ("/proc/%s/task/%s/schedstat"):format(pid, tid) end
  ls:close()
  return paths
end

local function cpu_seconds(paths)
  local total = 0
  for _, path in ipairs(paths) do
    local t = io.open(path)
    if t then
      total = total + (tonumber(t:read("a"):match("^(%d+)")) or 0) / 1e9
      t:close()
    end
  end
  return total
end

figure("idle_64_cpu", function()
  local idle_s = 2
  local results = cicada.run{world_size = 64, timeout = 60, startup_timeout = 60,
    fn = function(comm)
      local paths = threads()
      comm:barrier()
      local c0, t0 = cpu_seconds(paths), core.now()
      core.sleep(idle_s)
      local pct = (cpu_seconds(paths) - c0) / (core.now() - t0) * 100
      comm:barrier()
      return pct
    end}
  local pcts = {}
  for r = 1, 64 do
    if type(results[r]) ~= "number" then
      error(("idle_64_cpu failed at player %d: %s"):format(r - 1, tostring(results[r])))
    end
    pcts[r] = results[r]
  end
  local total = 0
  for _, pct in ipairs(pcts) do total = total + pct end
  print(("BENCH name=idle_64_cpu players=64 size=0 median_pct=%.3f total_pct=%.2f runs=1"):format(
    median(pcts), total))
  io.stdout:flush()
end)

-- Each figure's players are forked from this process: collect what the
-- figures before left behind, so that it does not count in their memory.
for _, f in ipairs(figures) do
  if not filter or f.name:find(filter, 1, true) then
    collectgarbage("collect")
    f.fn()
  end
end

-- ==== Over TLS ================================================================
-- round_tls and reveal_1m_tls: round and reveal_1m with every link mutual
-- TLS (one identity made by `cicada-lua credentials` for all four players,
-- trusted by each), to compare with the plaintext figures.

local function credentials()
  local exe = arg and arg[-1] or "cicada-lua"
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute(("mkdir -p %s && %s credentials 0 %s >/dev/null"):format(dir, exe, dir)),
         "bench: cannot make TLS credentials with " .. exe)
  return dir, dir .. "/player-0.pem", dir .. "/player-0.crt"
end

-- timed() with the TLS options of cicada.run.
local function timed_tls(tls, players, runs, batch, setup, op)
  return timed(players, runs, batch, setup, op, {identity = tls.identity, trusted = tls.trusted})
end

local tls_figures = {}

tls_figures[#tls_figures + 1] = {name = "round_tls", fn = function(tls)
  report("round_tls", 4, 1, timed_tls(tls, 4, 21, 200, function(comm)
    local s = suite(comm)
    s.total = s.p:share(0, comm.rank == 0 and 0 or nil, {})
    s.i = 0
    return s
  end, function(comm, s)
    s.i = s.i + 1
    local src = s.i % comm.world_size
    local inc = s.p:share(src, comm.rank == src and 1 or nil, {})
    s.total = s.p:add(s.total, inc)
    s.p:reveal(s.total)
  end), F64)
end}

tls_figures[#tls_figures + 1] = {name = "reveal_1m_tls", fn = function(tls)
  local n = 1000000
  report("reveal_1m_tls", 4, n, timed_tls(tls, 4, 7, 1, function(comm)
    local s = suite(comm)
    local secret = comm.rank == 0 and s.p.encoding:encode(vector(n), s.p.field) or nil
    s.share = s.p:share(0, secret, {n})
    return s
  end, function(_, s)
    s.p:reveal(s.share)
  end), F64)
end}

do
  local wanted = {}
  for _, f in ipairs(tls_figures) do
    if not filter or f.name:find(filter, 1, true) then wanted[#wanted + 1] = f end
  end
  if #wanted > 0 then
    local dir, identity, cert = credentials()
    local ok, err = pcall(function()
      for _, f in ipairs(wanted) do f.fn({identity = identity, trusted = cert}) end
    end)
    os.execute("rm -rf " .. dir)
    if not ok then error(err, 0) end
  end
end
