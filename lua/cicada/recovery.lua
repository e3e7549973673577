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
-- * `setup(comm, old_state, oldranks)` -> state (required). Called with
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
--   (`old` is still usable for its name and size, not for communication).
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
-- the step a replace policy takes after growing back (see Healing in
-- docs/fault-tolerance.md; growing is not there yet).
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

local function build(policy, comm, old, oldranks)
  local state = policy.setup(comm, old, oldranks)
  if type(state) ~= "table" then
    error("cicada.recovery: setup must return a table, got " .. type(state), 0)
  end
  if state.comm == nil then state.comm = comm end
  return state
end

--- Run `policy.step` until it is done, recovering from failures.
-- @param comm the communicator to start with
-- @param policy see the module comment
-- @return the outcome table
function M.run(comm, policy)
  check_policy(comm, policy)
  local threshold = policy.threshold or 1
  local name_of = namer(policy, comm)
  local state = build(policy, comm, nil, nil)
  if policy.start then policy.start(state) end
  local outcome = {generations = 0, reason = "done", skipped = {}}
  local iteration = 0
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
