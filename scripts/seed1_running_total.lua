-- The seed's example [1]: four players take turns incrementing a running
-- total kept as a Shamir secret, revealing it after each turn.
--
--     cicada-lua scripts/seed1_running_total.lua
local cicada = require("cicada")

local function main(comm)
  -- One-time initialization.
  local log = cicada.Logger(comm)
  local protocol = cicada.shamir.BasicProtocolSuite(comm, {threshold = 2})

  local total_share = protocol:share(0, comm.rank == 0 and 0 or nil, {})

  -- Main iteration loop.
  for iteration = 0, 7 do
    -- Increment the total.
    local contributor = iteration % comm.world_size
    local increment = comm.rank == contributor and 1 or nil
    local increment_share = protocol:share(contributor, increment, {})
    total_share = protocol:add(total_share, increment_share)

    -- Print the current total.
    local total = protocol:reveal(total_share)
    log:info(("Iteration %d comm %s total: %s"):format(iteration, comm.name, total), {src = 0})
  end
end

cicada.run{world_size = 4, fn = main}
