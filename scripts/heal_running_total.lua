-- The seed's running total, healed: four players (threshold 2) take turns
-- incrementing a total kept as a Shamir secret; player 2 is killed at
-- iteration 3. The survivors revoke, shrink, grow back to four players (the
-- launcher starts a replacement, which runs this same function with
-- comm.joined), recover the replacement's shares of every secret without
-- revealing them, and retry iteration 3. Every iteration prints its line
-- with the communicator's name and the right total. At the end, a secret
-- that player 0 shared at the start (42) is revealed from the shares of
-- only the replacement and one survivor.
--
--     cicada-lua scripts/heal_running_total.lua
--
-- The same script runs as four players of `cicada-lua -n 4`: each gets its
-- communicator from cicada.connect(), and so does the replacement, which
-- the launcher starts with the same script (its comm.joined is true). The
-- launcher then exits 1, naming player 2, which was killed.
--
--     cicada-lua -n 4 scripts/heal_running_total.lua
local cicada = require("cicada")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local SIZE, THRESHOLD = 4, 2

local function main(world)
  local shares = {}

  local outcome = cicada.recovery.run(world, {
    threshold = THRESHOLD,
    iterations = 8,

    -- Rebuilt on every new communicator: after a heal, `heal.indices` are
    -- the Shamir x-coordinates of everyone (survivors keep theirs).
    setup = function(comm, old, oldranks, heal)
      local indices = heal and heal.indices or (old and old.protocol:indices_for(oldranks))
      return {
        log = cicada.Logger(comm),
        protocol = cicada.shamir.ProtocolSuite(comm, {threshold = THRESHOLD, indices = indices}),
      }
    end,

    start = function(state)
      local mine = state.comm.rank == 0
      shares.total = state.protocol:share(0, mine and 0 or nil, {})
      shares.secret = state.protocol:share(0, mine and 42 or nil, {})
    end,

    -- Grow back to SIZE players and recover these shares at the newcomers.
    replace = {
      size = SIZE,
      shares = function() return shares end,
      restore = function(_, recovered) shares = recovered end,
    },

    recovered = function(state, event)
      state.log:info(("Iteration %d healed comm %s: %d survivors and %d replacement(s)")
        :format(event.iteration, event.new.name, event.new.world_size - #event.newranks,
                #event.newranks), {src = 0})
    end,

    step = function(state, iteration)
      local comm, protocol = state.comm, state.protocol
      if iteration == 3 and comm == world and not world.joined and world.rank == 2 then
        cicada.inject.kill()
      end
      local contributor = iteration % comm.world_size
      local increment = comm.rank == contributor and 1 or nil
      local total = protocol:add(shares.total, protocol:share(contributor, increment, {}))
      local value = protocol:reveal(total)
      shares.total = total   -- only once the iteration succeeded: it may be retried
      state.log:info(("Iteration %d comm %s total: %s"):format(iteration, comm.name, value),
                     {src = 0})
    end,
  })

  -- Reveal player 0's secret from two shares only: the replacement's (the
  -- last rank) and one survivor's (rank 0).
  local comm, protocol = outcome.comm, outcome.state.protocol
  local last = comm.world_size - 1
  local pair = comm:split((comm.rank == 0 or comm.rank == last) and "pair" or nil)
  if pair then
    local indices = protocol.indices
    local p = cicada.shamir.BasicProtocolSuite(pair, {
      threshold = THRESHOLD, indices = {indices[1], indices[last + 1]}})
    local secret = p:reveal(shares.secret)
    if pair.rank == 0 then print(("HEALED secret=%s"):format(secret)) end
  end
end

if os.getenv("CICADA_WORLD_SIZE") then
  main(cicada.connect())       -- a player (or the replacement) of cicada-lua -n
else
  cicada.run{world_size = SIZE, fn = main}
end
