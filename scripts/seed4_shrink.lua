-- The seed's example [4]: player 3 dies in iteration 4; the survivors catch
-- the error, revoke the communicator, shrink it to the three of them, rebuild
-- their logger and protocol suite, and go on with the total intact.
--
--     cicada-lua scripts/seed4_shrink.lua
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

      -- Something went wrong.  Revoke the current communicator to
      -- ensure that all players are aware of it.
      communicator:revoke()

      -- Obtain a new communicator that contains the remaining players.
      local newcommunicator, oldranks = communicator:shrink{name = "fallback"}

      -- Recreate the logger since objects that depend on the old,
      -- revoked communicator must be rebuilt from scratch using the
      -- new communicator.
      log = cicada.Logger(newcommunicator)
      log:info(("Iteration %d shrank comm %s with %d players to comm %s with %d players."):format(
        iteration, communicator.name, communicator.world_size, newcommunicator.name,
        newcommunicator.world_size), {src = 0})

      -- Recreate the protocol since objects that depend on the old,
      -- revoked communicator must be rebuilt from scratch using the
      -- new communicator.
      protocol = cicada.shamir.BasicProtocolSuite(newcommunicator,
        {threshold = 2, indices = protocol:indices_for(oldranks)})

      -- Cleanup the old communicator.
      communicator:free()
      communicator = newcommunicator
    end
  end
end

cicada.run{world_size = 4, fn = main}
