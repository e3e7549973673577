--- cicada.recovery: a small recovery policy, the seed's hand-written
-- catch / revoke / shrink / rebuild loop in one call.
--
--     local outcome = cicada.recovery.run(comm, {
--       threshold = 2,
--       setup = function(comm, old, oldranks)
--         -- per-communicator state, rebuilt after every shrink
--         local indices = old and old.protocol:indices_for(oldranks)
--         return {log = cicada.Logger(comm),
--                 protocol = cicada.shamir.BasicProtocolSuite(comm,
--                   {threshold = 2, indices = indices})}
--       end,
--       step = function(state, iteration)
--         -- one iteration of the computation, on state.comm
--       end,
--     })
--
-- `run` calls `step(state, iteration)` for iteration = 0, 1, 2, ... When a
-- step raises a communication error (`peer_failed`, `revoked` or
-- `timeout`), it revokes the communicator so that every player comes to
-- recover too, stops cleanly if too few players remain for the threshold,
-- shrinks the communicator to the survivors (named world-1, world-2, ...
-- after the first communicator's name), calls `setup` again with the
-- new communicator, the old state and `oldranks` (so that a Shamir suite
-- keeps its indices with `protocol:indices_for(oldranks)`), frees the old
-- communicator and goes on: by default with the next iteration, so that the
-- iteration that failed is skipped (its work is lost, and it is listed in
-- the outcome's `skipped`); with `retry = true`, with the same iteration
-- again on the survivors. Any other error is a bug in the step and is
-- raised again.
--
-- The policy table:
--
-- * `setup(comm, old_state, oldranks, heal)` -> state (required). Called with
--   `old_state == nil` for the first communicator. `state.comm` is set to
--   the communicator if `setup` leaves it unset.
-- * `start(state)` (optional): called once with the first state before the
--   first step, for one-time work such as sharing the initial secrets. It
--   is not protected: a failure there is raised.
-- * `step(state, iteration)` (required). Return true to stop.
-- * `threshold` (integer, default 1): the fewest players the computation
--   can go on with; below it `run` stops with reason `"too_few"`.
-- * `iterations` (integer, optional): stop after that many iterations.
-- * `retry` (boolean, default false): after a recovery, run the iteration
--   that failed again on the survivors instead of skipping it. A step that
--   is retried must be safe to repeat: change the state it keeps only once
--   its communication has succeeded (a step that failed after adding to a
--   running total would add twice).
-- * `name(generation, comm)` -> string, or a string prefix (optional): the
--   names of shrunk communicators; by default `"world-1"`, `"world-2"`, ...
--   from the first communicator's name without a `-N` suffix.
-- * `failed(state, err, iteration)` (optional): called when a step fails,
--   before the revoke, with the error (logging belongs here; remember that
--   a synchronised logger cannot be used, set `log.sync = false`).
-- * `recovered(state, event)` (optional): called after a shrink with the
--   new state and `event = {iteration=, old=, new=, oldranks=, error=}`
--   (`old` is still usable for its name and size, not for communication);
--   after a heal, at every member of the grown world, with `newranks` too
--   (at a newcomer `event = {iteration=, new=, newranks=, joined = true}`).
-- * `replace` (optional): heal instead of going on shrunk: `{size = n,
--   shares = fn, restore = fn, name = "healed", timeout = 5, address =
--   nil}` (`address`: where newcomers started with `cicada-lua --join`
--   come, in a world met through the rendezvous; see `comm:grow`). After the shrink, if fewer than `size`
--   players remain, grow back to `size` (`comm:grow`, communicators
--   `healed-1`, `healed-2`, ...), call `setup(grown, old_state, nil, heal)`
--   with `heal = {indices =, newranks =, joined =, iteration =}` (build the
--   suite with `heal.indices`: survivors keep their x-coordinates), recover
--   and reshare the shares that `shares(old_state)` lists (name -> share)
--   at everyone, hand them to `restore(state, new_shares)`, and retry the
--   failed iteration. The newcomers run the same function with
--   `comm.joined` and call `run` with the same policy: they skip `start`,
--   join the heal and go on from the retried iteration. A death during the
--   heal shrinks and heals again.
--
-- `run` returns an outcome table: `state` (the last state), `comm` (its
-- communicator, still open, or nil when too few players remain),
-- `iteration` (the last iteration attempted), `reason` (`"done"`,
-- `"stopped"` when step returned true, or `"too_few"`), `generations` (how
-- many shrinks happened), `error` (the last error caught, if any) and
-- `skipped` (the iterations that failed and were not run again: empty with
-- `retry = true`).
-- Errors of the recovery itself are raised: `excluded` when the others
-- went on without this player, `timeout` when a survivor never came to
-- shrink within comm.timeout.
--
-- Healing: `recover_shares(protocol, names, shares)` gives players without
-- shares (newcomers) shares of the listed secrets and refreshes everyone's,
-- the step the replace policy takes after growing back (see Healing in
-- docs/fault-tolerance.md). `outcome.heals` counts the grows.
-- @module cicada.recovery
local check = require("cicada.check")
local errors = require("cicada.errors")

local M = {}

--- The error kinds a step may raise that recovery handles.
M.recoverable = {peer_failed = true, revoked = true, timeout = true}

local function argerror(msg)
  check.argerror(2, "run", msg)
end

local function check_policy(comm, policy)
  if type(comm) ~= "userdata" or comm.rank == nil then
    check.argerror(1, "run", "communicator expected, got " .. type(comm))
  end
  if type(policy) ~= "table" then argerror("policy table expected, got " .. type(policy)) end
  for _, key in ipairs{"setup", "step"} do
    if type(policy[key]) ~= "function" then
      argerror(("'%s' must be a function, got %s"):format(key, type(policy[key])))
    end
  end
  for _, key in ipairs{"start", "failed", "recovered"} do
    if policy[key] ~= nil and type(policy[key]) ~= "function" then
      argerror(("'%s' must be a function, got %s"):format(key, type(policy[key])))
    end
  end
  for _, key in ipairs{"threshold", "iterations"} do
    local v = policy[key]
    if v ~= nil and (math.type(v) ~= "integer" or v < 0) then
      argerror(("'%s' must be a non-negative integer, got %s"):format(key, tostring(v)))
    end
  end
  if policy.retry ~= nil and type(policy.retry) ~= "boolean" then
    argerror("'retry' must be a boolean, got " .. type(policy.retry))
  end
  local replace = policy.replace
  if replace ~= nil then
    if type(replace) ~= "table" then argerror("'replace' must be a table, got " .. type(replace)) end
    if math.type(replace.size) ~= "integer" or replace.size < 1 then
      argerror("'replace.size' must be a positive integer, got " .. tostring(replace.size))
    end
    for _, key in ipairs{"shares", "restore"} do
      if type(replace[key]) ~= "function" then
        argerror(("'replace.%s' must be a function, got %s"):format(key, type(replace[key])))
      end
    end
    if replace.name ~= nil and type(replace.name) ~= "string" then
      argerror("'replace.name' must be a string, got " .. type(replace.name))
    end
    if replace.timeout ~= nil and not (type(replace.timeout) == "number" and replace.timeout > 0) then
      argerror("'replace.timeout' must be a positive number, got " .. tostring(replace.timeout))
    end
    if replace.address ~= nil and type(replace.address) ~= "string" then
      argerror("'replace.address' must be a string (tcp://HOST:PORT), got " .. type(replace.address))
    end
  end
  local name = policy.name
  if name ~= nil and type(name) ~= "string" and type(name) ~= "function" then
    argerror("'name' must be a string or a function, got " .. type(name))
  end
end

-- The name of the communicator of the given generation.
local function namer(policy, first)
  if type(policy.name) == "function" then return policy.name end
  local prefix = policy.name or (first.name:gsub("%-%d+$", ""))
  return function(generation) return prefix .. "-" .. generation end
end

local function build(policy, comm, old, oldranks, heal)
  local state = policy.setup(comm, old, oldranks, heal)
  if type(state) ~= "table" then
    error("cicada.recovery: setup must return a table, got " .. type(state), 0)
  end
  if state.comm == nil then state.comm = comm end
  return state
end

-- ==== Replacing the players that failed =========================================

-- Errors a heal recovers from by shrinking again: those of a step, and a
-- grown world that never came up (a member or a newcomer died first).
local heal_recoverable = {peer_failed = true, revoked = true, timeout = true,
                          startup_timeout = true}

-- Fresh x-coordinates: the smallest positive integers not in used.
local function fresh_indices(used, count)
  local out, x = {}, 0
  while #out < count do
    x = x + 1
    if not used[x] then out[#out + 1] = x; used[x] = true end
  end
  return out
end

-- The newcomers' ranks in a grown world, as a set. They follow the
-- members (ranks m .. m+k-1), except in a TLS world grown across hosts,
-- which keeps the ranks that certificates name: there a newcomer takes the
-- rank of the player it replaces.
local function newcomer_set(grown)
  local new = {}
  for _, r in ipairs(grown.newranks) do new[r] = true end
  return new
end

-- The plan's indices list the members' in their order, then the
-- newcomers': put them in the grown world's rank order.
local function by_rank(grown, indices)
  local new, out, m, k = newcomer_set(grown), {}, 0, 0
  local members = grown.world_size - #grown.newranks
  for r = 0, grown.world_size - 1 do
    if new[r] then k = k + 1; out[r + 1] = indices[members + k]
    else m = m + 1; out[r + 1] = indices[m] end
  end
  return out
end

-- Phase B of a heal, at every member of the grown world: learn the plan
-- from the first member from before, build the state on the grown world
-- with the plan's indices, recover the listed shares. Returns the new
-- state and the plan.
local function heal_grown(policy, grown, me, plan)
  local new, root = newcomer_set(grown), 0
  while new[root] do root = root + 1 end
  if plan and grown.rank == root then
    plan = {indices = by_rank(grown, plan.indices), names = plan.names,
            iteration = plan.iteration}
  end
  plan = grown:broadcast(root, grown.rank == root and plan or nil)
  me.last_plan = plan
  local heal = {indices = plan.indices, newranks = grown.newranks, joined = grown.joined,
                iteration = plan.iteration}
  local state = build(policy, grown, me.old, nil, heal)
  local shares = me.shares
  local recovered = M.recover_shares(state.protocol, plan.names, shares)
  policy.replace.restore(state, recovered)
  state._heal_iteration = plan.iteration
  return state, plan
end

-- Heal: grow `comm` (shrunk, or nil at a newcomer that starts in `grown`)
-- back to policy.replace.size, recover the shares, retrying on the next
-- shrunk communicator when a member or newcomer dies on the way. me holds
-- this player's x-coordinate (index, or nil if it never had one), its
-- shares (nil if none), the names of the shares, the old state and the
-- iteration to resume at. Returns state, grown comm, plan; or nil when too
-- few players remain.
local function heal(policy, comm, grown, me, outcome, threshold)
  local R = policy.replace
  while true do
    local ok, state, plan = pcall(function()
      local p
      if not grown then
        local infos = comm:allgather({index = me.index, names = me.names,
                                      iteration = me.iteration})
        local used, indices, names, iteration = {}, {}, nil, nil
        for _, info in ipairs(infos) do
          if info.index then used[info.index] = true end
          names = names or info.names
          if info.iteration and (not iteration or info.iteration < iteration) then
            iteration = info.iteration
          end
        end
        local missing = 0
        for i, info in ipairs(infos) do
          indices[i] = info.index or false
          if not info.index then missing = missing + 1 end
        end
        local extra = fresh_indices(used, missing + R.size - comm.world_size)
        local k = 0
        for i = 1, #infos do
          if not indices[i] then k = k + 1; indices[i] = extra[k] end
        end
        for _ = comm.world_size + 1, R.size do k = k + 1; indices[#indices + 1] = extra[k] end
        p = {indices = indices, names = names or {}, iteration = iteration or 0}
        outcome.heals = outcome.heals + 1
        grown = comm:grow{count = R.size - comm.world_size,
                          name = (R.name or "healed") .. "-" .. outcome.heals,
                          timeout = R.timeout, address = R.address}
      end
      return heal_grown(policy, grown, me, p)
    end)
    if ok then
      if comm then comm:free() end
      return state, grown, plan
    end
    local err = state
    if not heal_recoverable[errors.kind(err)] then error(err, 0) end
    outcome.error = err
    -- Start again from the survivors of whichever world failed: a newcomer
    -- that is still alive stays, with an index and no shares.
    local failed = grown or comm
    failed:revoke()
    if grown and me.last_plan then
      -- Everyone in the grown world knows the plan: keep its index (the
      -- members' old ones, a newcomer's new one), the names and the
      -- iteration; shares stay what they were (nil at a newcomer).
      me.index = me.last_plan.indices[grown.rank + 1]
      me.names = me.last_plan.names
      me.iteration = me.last_plan.iteration
    end
    me.last_plan = nil
    local shrunk = failed:shrink{name = failed.name .. "-shrunk"}
    if failed ~= comm and comm then comm:free() end
    failed:free()
    comm, grown = shrunk, nil
    if comm.world_size < threshold then
      comm:free()
      return nil
    end
  end
end

--- Run `policy.step` until it is done, recovering from failures.
-- @param comm the communicator to start with
-- @param policy see the module comment
-- @return the outcome table
function M.run(comm, policy)
  check_policy(comm, policy)
  local threshold = policy.threshold or 1
  local name_of = namer(policy, comm)
  local outcome = {generations = 0, heals = 0, reason = "done", skipped = {}}
  local state
  local iteration = 0
  if policy.replace and comm.joined then
    -- A newcomer: heal with the members that grew this world, then go on
    -- at the iteration they resume at.
    local me = {}
    local grown
    state, grown = heal(policy, nil, comm, me, outcome, threshold)
    if not state then
      outcome.reason = "too_few"
      return outcome
    end
    comm = grown
    iteration = state._heal_iteration
    if policy.recovered then
      policy.recovered(state, {iteration = iteration, new = grown, newranks = grown.newranks,
                               joined = true})
    end
  else
    state = build(policy, comm, nil, nil)
    if policy.start then policy.start(state) end
  end
  while policy.iterations == nil or iteration < policy.iterations do
    outcome.iteration = iteration
    local ok, result = pcall(policy.step, state, iteration)
    if ok and result == true then
      outcome.reason = "stopped"
      break
    elseif not ok then
      if not M.recoverable[errors.kind(result)] then error(result, 0) end
      outcome.error = result
      if policy.failed then policy.failed(state, result, iteration) end
      comm:revoke()
      if comm.world_size <= threshold then
        outcome.reason, comm = "too_few", nil
        break
      end
      local newcomm, oldranks = comm:shrink{name = name_of(outcome.generations + 1, comm)}
      outcome.generations = outcome.generations + 1
      if newcomm.world_size < threshold then
        newcomm:free()
        outcome.reason, comm = "too_few", nil
        break
      end
      local old = state
      if policy.replace and newcomm.world_size < policy.replace.size then
        local shares = policy.replace.shares(old)
        local names = {}
        for k in pairs(shares) do names[#names + 1] = k end
        table.sort(names)
        local me = {index = old.protocol.indices[comm.rank + 1], shares = shares,
                    names = names, old = old, iteration = iteration}
        local grown
        state, grown = heal(policy, newcomm, nil, me, outcome, threshold)
        comm:free()
        if not state then
          outcome.reason, comm = "too_few", nil
          break
        end
        if policy.recovered then
          policy.recovered(state, {iteration = iteration, old = comm, new = grown,
                                   oldranks = oldranks, error = result,
                                   newranks = grown.newranks})
        end
        comm = grown
        iteration = state._heal_iteration
      else
        state = build(policy, newcomm, old, oldranks)
        if policy.recovered then
          policy.recovered(state, {iteration = iteration, old = comm, new = newcomm,
                                   oldranks = oldranks, error = result})
        end
        comm:free()
        comm = newcomm
        if not policy.retry then
          outcome.skipped[#outcome.skipped + 1] = iteration
          iteration = iteration + 1
        end
      end
    else
      iteration = iteration + 1
    end
  end
  outcome.state, outcome.comm = state, comm
  return outcome
end

-- ==== Healing ===================================================================

--- Recover and refresh shares after new players joined: for each name in
-- `names` (in order; the same list at every player), holders pass their
-- share in `shares[name]`, newcomers have none; every player gets
-- `protocol:reshare(protocol:recover(shares[name]))`, a fresh share of the
-- same secret at its own index, so that shares from before no longer
-- combine with the new ones. A collective over `protocol.communicator`.
-- @param protocol a cicada.shamir.ProtocolSuite on the healed communicator
-- @tab names the names of the shares, a list of strings
-- @tab[opt] shares name -> this player's share (nil or empty at a newcomer)
-- @treturn table name -> this player's new share
-- @raise `bad argument #1 to 'recover_shares' (ProtocolSuite expected, got ...)`,
-- recover's errors (too few holders, shapes that differ), and
-- communication errors
function M.recover_shares(protocol, names, shares)
  if type(protocol) ~= "table" or type(protocol.recover) ~= "function" then
    check.argerror(1, "recover_shares", "ProtocolSuite expected, got " .. tostring(protocol))
  end
  if type(names) ~= "table" then
    check.argerror(2, "recover_shares", "list of names expected, got " .. type(names))
  end
  for i, name in ipairs(names) do
    if type(name) ~= "string" then
      check.argerror(2, "recover_shares", ("name %d is a %s, not a string"):format(i, type(name)))
    end
  end
  if shares ~= nil and type(shares) ~= "table" then
    check.argerror(3, "recover_shares", "table of shares expected, got " .. type(shares))
  end
  shares = shares or {}
  local out = {}
  for _, name in ipairs(names) do
    out[name] = protocol:reshare(protocol:recover(shares[name]))
  end
  return out
end

return M
