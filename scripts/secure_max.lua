-- secure_max.lua: the players learn who holds the largest private value,
-- and nothing else: not the values, not the maximum, not the order of the
-- others.
--
--     cicada-lua scripts/secure_max.lua [players]
--     cicada-lua scripts/secure_max.lua 3.5 -2 10 7   -- player i holds the
--                                                     -- i-th value (a demo)
--
-- Every player secret-shares its value. A running maximum and the rank
-- that holds it stay shared: for each next player j, one secure comparison
-- b = [max < x_j] and one multiplication choose max + b (x_j - max) and
-- rank + b (j - rank). Only the final rank is revealed. Ties go to the
-- lowest rank.
local cicada = require("cicada")

local values = {}
for i = 1, arg and #arg or 0 do values[i] = tonumber(arg[i]) end
local players = #values > 1 and #values or (values[1] and math.tointeger(values[1])) or 4
if #values <= 1 then values = nil end
if players < 3 then
  error(("secure_max needs at least 3 players (an honest majority), not %d"):format(players))
end

-- This player's private value: given on the command line, or random.
local function private_value(rank)
  if values then return values[rank + 1] end
  local rng = require("cicada.field").rng()
  return math.floor(rng:uniform() * 1000000) / 100 -- up to 10,000.00
end

cicada.run{world_size = players, fn = function(comm)
  local log = cicada.Logger(comm)
  -- Values up to 2^16 in magnitude: 34 value bits leave room for the
  -- default 40 bits of statistical security in a 128-bit field; the
  -- 64-bit field has room for 8.
  local options = {threshold = (comm.world_size + 1) // 2, value_bits = 34}
  if cicada.shamir.BasicProtocolSuite(comm, options).field.bits < 100 then
    options.statistical_security = 8
  end
  local p = cicada.shamir.ProtocolSuite(comm, options)
  local F = p.field
  local mine = private_value(comm.rank)

  local best = p:share(0, comm.rank == 0 and mine or nil, {})
  local holder = F:zeros{}
  for j = 1, comm.world_size - 1 do
    local x = p:share(j, comm.rank == j and mine or nil, {})
    local bigger = p:less(best, x)
    -- One multiplication for both choices: bigger * (x - best, j - holder).
    local step = p:field_multiply(F:concat{bigger, bigger},
                                  F:concat{p:subtract(x, best), F:subtract(j, holder)})
    best = F:add(best, step:slice(1, 1):reshape{})
    holder = F:add(holder, step:slice(2, 2):reshape{})
  end
  local winner = p:reveal(holder, nil, cicada.encoding.Identity())
  log:info(("player %d holds the largest value (mine is %.2f)"):format(winner, mine))
end}
