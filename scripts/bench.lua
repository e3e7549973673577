-- The benchmark: one line per figure,
--     BENCH name=<id> players=<n> size=<k> median_ms=<x> runs=<r>
-- Each figure runs inside real player processes on this host (loopback TCP)
-- and reports the median over its runs, timed at player 0 between barriers.
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

local function report(name, players, size, samples_s)
  print(("BENCH name=%s players=%d size=%d median_ms=%.4f runs=%d"):format(
    name, players, size, median(samples_s) * 1e3, #samples_s))
  io.stdout:flush()
end

-- Time op(comm, state) inside `players` processes: each sample runs op
-- `batch` times between two barriers, and the time per op measured at rank
-- 0 is kept. Returns the samples.
local function timed(players, runs, batch, setup, op)
  local results = cicada.run{world_size = players, timeout = 60, fn = function(comm)
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
  end}
  if type(results[1]) ~= "table" then error("benchmark failed: " .. tostring(results[1])) end
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

local function suite(comm)
  return {p = cicada.shamir.BasicProtocolSuite(comm, {threshold = 2})}
end

-- One round of the seed's loop: share a scalar, add, reveal (4 players).
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
  end))
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
    end, function(comm, s)
      s.p:share(0, s.secret, {n})
    end))
  end)
end

local function reveal_figure(name, n, runs, batch)
  figure(name, function()
    report(name, 4, n, timed(4, runs, batch, function(comm)
      local s = suite(comm)
      local secret = comm.rank == 0 and s.p.encoding:encode(vector(n), s.p.field) or nil
      s.share = s.p:share(0, secret, {n})
      return s
    end, function(comm, s)
      s.p:reveal(s.share)
    end))
  end)
end

share_figure("share_10k", 10000, 21, 10)
reveal_figure("reveal_10k", 10000, 21, 10)
reveal_figure("reveal_1m", 1000000, 7, 1)

for _, f in ipairs(figures) do
  if not filter or f.name:find(filter, 1, true) then f.fn() end
end
