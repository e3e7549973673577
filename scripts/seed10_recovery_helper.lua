-- The seed's example [10] written with cicada.recovery: the policy helper
-- catches the failure, revokes, stops cleanly when too few players remain
-- for the threshold, shrinks to the survivors (world-1, world-2, ...),
-- rebuilds the logger and the protocol suite with their Shamir indices, and
-- frees the old communicator. What is left is the computation itself.
--
--     cicada-lua scripts/seed10_recovery_helper.lua
local cicada = require("cicada")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local function main(communicator)
  local failure = cicada.inject.random_failure{pfail = 0.05, seed = 42 + communicator.rank}
  local total_share

  local outcome = cicada.recovery.run(communicator, {
    threshold = 2,

    -- The state that depends on a communicator, rebuilt after each shrink.
    setup = function(comm, old, oldranks)
      return {
        log = cicada.Logger(comm),
        protocol = cicada.shamir.BasicProtocolSuite(comm, {
          threshold = 2, indices = old and old.protocol:indices_for(oldranks)}),
      }
    end,

    -- One-time initialization.
    start = function(state)
      total_share = state.protocol:share(0, communicator.rank == 0 and 0 or nil, {})
    end,

    recovered = function(state, event)
      state.log:info(("Iteration %d shrank comm %s with %d players to comm %s with %d players.")
        :format(event.iteration, event.old.name, event.old.world_size, event.new.name,
                event.new.world_size), {src = 0})
    end,

    -- One iteration of the computation.
    step = function(state, iteration)
      local comm, protocol = state.comm, state.protocol
      failure()
      local contributor = iteration % comm.world_size
      local increment = comm.rank == contributor and 1 or nil
      local increment_share = protocol:share(contributor, increment, {})
      total_share = protocol:add(total_share, increment_share)

      local total = protocol:reveal(total_share)
      state.log:info(("Iteration %d comm %s total: %s"):format(iteration, comm.name, total),
                     {src = 0})
    end,
  })

  if outcome.reason == "too_few" then
    outcome.state.log.sync = false
    outcome.state.log:info(("Iteration %d not enough players to continue."):format(
      outcome.iteration), {src = 0})
  end
end

cicada.run{world_size = 5, fn = main, name = "world-0"}
