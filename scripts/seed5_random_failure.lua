-- The seed's example [5]: a failure model. Each call of `failure()` kills
-- the player with probability pfail, drawn from a stream seeded per player,
-- so a seed gives the same failures on every run. The seed writes it as a
-- Python generator; in Lua it is a closure, and cicada.inject has it:
--
--     local failure = cicada.inject.random_failure{pfail = 0.05, seed = 42 + comm.rank}
--     failure()   -- once per iteration
--
-- This script writes it out the seed's way and shows, for four players and
-- twenty iterations, which of them it kills.
--
--     cicada-lua scripts/seed5_random_failure.lua
local cicada = require("cicada")

local function random_failure(pfail, seed)
  local generator = require("cicada.field").rng(seed)
  return function()
    if generator:uniform() <= pfail then cicada.inject.kill() end
  end
end

local function main(communicator)
  local failure = random_failure(0.05, 42 + communicator.rank)
  for _ = 0, 19 do
    failure()
  end
  return "survived 20 iterations"
end

local results = cicada.run{world_size = 4, fn = main}
for rank, result in ipairs(results) do
  print(("player %d: %s"):format(rank - 1, tostring(result)))
end
