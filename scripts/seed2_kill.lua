-- The seed's example [2]: the running total of example [1], with player 3
-- killed at the start of iteration 4 and nothing to handle it. The others
-- learn of the death at once, from the closed connection, and each raises
-- peer_failed where the seed's players wait five seconds for a timeout.
--
--     cicada-lua scripts/seed2_kill.lua
local cicada = require("cicada")

local function main(communicator)
  -- One-time initialization.
  local log = cicada.Logger(communicator)
  local protocol = cicada.shamir.BasicProtocolSuite(communicator, {threshold = 2})

  local total_share = protocol:share(0, communicator.rank == 0 and 0 or nil, {})

  -- Main iteration loop.
  for iteration = 0, 7 do
    -- Simulate the unexpected death of player 3.
    if iteration == 4 and communicator.rank == 3 then cicada.inject.kill() end

    -- Increment the total.
    local contributor = iteration % communicator.world_size
    local increment = communicator.rank == contributor and 1 or nil
    local increment_share = protocol:share(contributor, increment, {})
    total_share = protocol:add(total_share, increment_share)

    -- Print the current total.
    local total = protocol:reveal(total_share)
    log:info(("Iteration %d comm %s total: %s"):format(iteration, communicator.name, total),
             {src = 0})
  end
end

cicada.run{world_size = 4, fn = main}
