-- The seed's example [10]: example [9] with five players and the
-- communicator's own log lines silenced, so that only the totals and the
-- recoveries show.
--
--     cicada-lua scripts/seed10_quiet.lua
local cicada = require("cicada")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local function main(communicator)
  -- One-time initialization.
  local communicator_index = 0
  local failure = cicada.inject.random_failure{pfail = 0.05, seed = 42 + communicator.rank}
  local log = cicada.Logger(communicator)
  local protocol = cicada.shamir.BasicProtocolSuite(communicator, {threshold = 2})

  local total_share = protocol:share(0, communicator.rank == 0 and 0 or nil, {})

  -- Main iteration loop.
  local iteration = 0
  while true do
    -- Allow failures to occur at random.
    failure()

    -- Do computation in this block.
    local ok = pcall(function()
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
      -- Something went wrong.  Revoke the current communicator to
      -- ensure that all players are aware of it.
      communicator:revoke()

      -- If we don't have enough players to continue, it's time to shutdown cleanly.
      if communicator.world_size == protocol.threshold then
        log.sync = false
        log:info(("Iteration %d not enough players to continue."):format(iteration), {src = 0})
        break
      end

      -- Obtain a new communicator that contains the remaining players.
      communicator_index = communicator_index + 1
      local newcommunicator, oldranks =
        communicator:shrink{name = ("world-%d"):format(communicator_index)}

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
    iteration = iteration + 1
  end
end

cicada.run{world_size = 5, fn = main, name = "world-0"}
