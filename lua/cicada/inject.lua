--- cicada.inject: faults on purpose, for prototyping recovery policies.
--
--     cicada.inject.kill()      -- this player dies now (SIGKILL)
--     cicada.inject.hang()      -- this player freezes now (SIGSTOP)
--     local failure = cicada.inject.random_failure{pfail = 0.05, seed = 42 + comm.rank}
--     failure()                 -- once per iteration: dies with probability pfail
--     cicada.inject.kill_in_agreement(comm, 3)  -- dies after 3 messages of the next shrink
--
-- random_failure draws from a seeded stream, so a seed gives the same
-- failures on every run.
-- @module cicada.inject
local core = require("cicada.core")
local check = require("cicada.check")

local M = {}

--- This player dies now (SIGKILL).
function M.kill() core.raise_signal("KILL") end

--- This player freezes now (SIGSTOP): its peers notice it only by its
-- silence, after the heartbeat timeout.
function M.hang() core.raise_signal("STOP") end

--- inject.kill_in_agreement(comm, messages): die (SIGKILL) partway through
-- the next agreement (shrink, agree or split), once this player has sent
-- `messages` of its messages: 0 dies before its first vote; in a world of
-- n players, n - 1 votes go out first, then in round r player r sends its
-- estimate to the n - 1 others. For testing recovery from a coordinator that
-- dies midway.
-- @param comm the communicator of the coming agreement
-- @int messages how many of its messages this player sends first
-- @raise `bad argument #2 to 'kill_in_agreement' (non-negative integer expected, got -1)`
function M.kill_in_agreement(comm, messages)
  if math.type(messages) ~= "integer" or messages < 0 then
    check.argerror(2, "kill_in_agreement",
                   "non-negative integer expected, got " .. tostring(messages))
  end
  comm:_kill_in_agreement(messages)
end

--- A function to call once per iteration, which kills this player with
-- probability `pfail`.
-- @tab opts `pfail` (a probability), `seed` (an integer; the same seed gives
-- the same failures), `action` (what to do instead of kill, for tests)
-- @treturn func
-- @raise `bad option 'pfail' to 'random_failure' (probability in [0, 1] expected, got 2)`
function M.random_failure(opts)
  if type(opts) ~= "table" then
    check.argerror(1, "random_failure", "table expected, got " .. type(opts))
  end
  local pfail, seed = opts.pfail, opts.seed
  if type(pfail) ~= "number" or pfail < 0 or pfail > 1 then
    check.optionerror("pfail", "random_failure",
                      "probability in [0, 1] expected, got " .. tostring(pfail))
  end
  if seed ~= nil and math.type(seed) ~= "integer" then
    check.optionerror("seed", "random_failure", "integer expected, got " .. type(seed))
  end
  local rng = core.rng(seed)
  local kill = opts.action or M.kill
  return function()
    if rng:uniform() < pfail then kill() end
  end
end

return M
