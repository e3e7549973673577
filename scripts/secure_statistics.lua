-- Secure statistics: the mean and the variance of everyone's private
-- measurements, without anyone seeing anyone else's.
--
--     cicada-lua scripts/secure_statistics.lua [players] [values_per_player]
--
-- Each player holds its own readings (here: simulated daily temperatures,
-- drawn from a seed only that player uses). The players secret-share them,
-- compute on the shares with the full Shamir suite and reveal only what the
-- two results need:
--
--     mean     = sum(x) / N                  the shared sum is revealed:
--                                            with N public it says no more
--                                            than the mean itself
--     variance = sum((x - mean)^2) / N       the deviations from the public
--                                            mean are shares; p:dot squares
--                                            and sums them (one secure
--                                            product with truncation), and
--                                            only the sum is revealed
--
-- For the demonstration only, the players then pool their readings in the
-- clear so that the output shows the same statistics computed directly.
local cicada = require("cicada")

local players = tonumber(arg and arg[1]) or 4
local per_player = tonumber(arg and arg[2]) or 25

-- This player's private readings: temperatures in degrees, two decimals.
local function private_readings(rank, count)
  local rng = require("cicada.core").rng("secure_statistics/" .. rank)
  local xs = {}
  for i = 1, count do
    local base = 12 + 3 * rank -- players live in different climates
    xs[i] = math.floor((base + 10 * rng:uniform()) * 100 + 0.5) / 100
  end
  return xs
end

local function main(comm)
  local log = cicada.Logger(comm)
  -- Sums of squares stay below 2^13, so 30 value bits do (precision 16);
  -- the 64-bit field then has room for 12 bits of statistical security.
  local p = cicada.shamir.ProtocolSuite(comm, {threshold = 2, value_bits = 30,
                                               statistical_security = 12})
  local F, enc = p.field, p.encoding
  local mine = private_readings(comm.rank, per_player)

  -- Everyone's readings as one shared vector of N values: each player shares
  -- its own, and the shares are laid end to end (local, no communication).
  local parts = {}
  for src = 0, comm.world_size - 1 do
    parts[src + 1] = p:share(src, comm.rank == src and mine or nil, {per_player})
  end
  local x = F:concat(parts)
  local N = x.size

  -- The mean: reveal the shared sum (exact: sums of shares are local).
  local mean = p:reveal(p:sum(x)) / N

  -- The variance: deviations from the public mean, squared and summed by
  -- one secure dot product; only the sum of squares is revealed.
  local deviations = p:subtract(x, enc:encode(mean, F)) -- a public constant
  local variance = p:reveal(p:dot(deviations, deviations)) / N

  log:info(("%d players, %d private readings: mean %.4f, variance %.4f (std %.4f)"):format(
    comm.world_size, N, mean, variance, math.sqrt(variance)), {src = 0})

  -- The check in the clear (demonstration only: it reveals every reading).
  local all = comm:allgather(mine)
  local sum, sumsq = 0, 0
  for _, xs in ipairs(all) do
    for _, xi in ipairs(xs) do sum = sum + xi end
  end
  local plain_mean = sum / N
  for _, xs in ipairs(all) do
    for _, xi in ipairs(xs) do sumsq = sumsq + (xi - plain_mean) ^ 2 end
  end
  log:info(("in the clear:                mean %.4f, variance %.4f"):format(
    plain_mean, sumsq / N), {src = 0})
end

cicada.run{world_size = players, fn = main}
