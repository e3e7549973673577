-- The seed's example [3]: example [2] with the computation in a pcall, so
-- that each player reports the failure and leaves the loop.
--
--     cicada-lua scripts/seed3_catch.lua
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

    -- Do computation in this block.
    local ok, e = pcall(function()
      -- Increment the total.
      local contributor = iteration % communicator.world_size
      local increment = communicator.rank == contributor and 1 or nil
      local increment_share = protocol:share(contributor, increment, {})
      total_share = protocol:add(total_share, increment_share)

      -- Print the current total.
      local total = protocol:reveal(total_share)
      log:info(("Iteration %d comm %s total: %s"):format(iteration, communicator.name, total),
               {src = 0})
    end)

    -- Implement failure recovery in this block.  Be careful here! Many
    -- operations can't be used when there are unresponsive players.
    if not ok then
      log.sync = false
      log:error(("Iteration %d comm %s player %d exception: %s"):format(
        iteration, communicator.name, communicator.rank, tostring(e)))
      break
    end
  end
end

cicada.run{world_size = 4, fn = main}
