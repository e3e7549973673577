--- cicada.errors: the errors that communication raises, and the records
-- that `cicada.run` returns for players that raised or died.
--
-- A communication failure raises a table with fields `kind`, `comm` (the
-- communicator's name), `rank` (the local rank), `peer` and `tag` (when
-- known) and `message`; `tostring(err)` gives the message. Use
-- `errors.kind(err)` to branch on the kind: it returns nil for errors that
-- are not cicada's (plain strings, other tables).
-- @module cicada.errors
local check = require("cicada.check")
local core = require("cicada.core")

local M = {}

--- Every kind a cicada error can have, with what it means.
M.kinds = {
  timeout = "no matching message within comm.timeout",
  peer_failed = "the operation needs a player known to have failed",
  revoked = "the communicator was revoked by some player",
  not_running = "the communicator was freed",
  excluded = "the survivors decided without this player",
  token_mismatch = "this player, or the root, could not prove the world's token",
  startup_timeout = "not every player connected within startup_timeout",
  encryption_failed = "TLS setup or authentication failed",
}

local error_mt = core.error_metatable

--- The kind of a cicada error, or nil for any other value.
function M.kind(err)
  if type(err) == "table" and getmetatable(err) == error_mt then
    return err.kind
  end
  return nil
end

--- Make a cicada error object (for library modules written in Lua).
-- @param kind one of the kinds above
-- @param fields table with message and optionally comm, rank, peer, tag
function M.new(kind, fields)
  if not M.kinds[kind] then check.argerror(1, "new", "unknown error kind " .. tostring(kind)) end
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.kind = kind
  e.message = e.message or kind
  return core.error(e)
end

--- Restore the metatable of a cicada error that crossed a process boundary.
function M.revive(value)
  if type(value) == "table" and type(value.kind) == "string" and M.kinds[value.kind]
      and type(value.message) == "string" then
    return core.error(value)
  end
  return value
end

-- ==== Records returned by cicada.run =====================================

local Failed = {}
Failed.__index = Failed
Failed.__name = "Failed"
--- `Failed(error message)`.
-- @treturn string
function Failed:__tostring() return "Failed(" .. tostring(self.error) .. ")" end

local Terminated = {}
Terminated.__index = Terminated
Terminated.__name = "Terminated"
--- `Terminated(exitcode=-9)`, or with its reason when it has one:
-- `Terminated(exitcode=-15, time limit of 2 s passed)`.
-- @treturn string
function Terminated:__tostring()
  if self.reason then
    return ("Terminated(exitcode=%d, %s)"):format(self.exitcode, self.reason)
  end
  return ("Terminated(exitcode=%d)"):format(self.exitcode)
end

--- A player that raised: `.error` (the error value) and `.traceback`.
function M.Failed(err, traceback)
  return setmetatable({error = M.revive(err), traceback = traceback or ""}, Failed)
end

--- A player that died: `.exitcode`, the negative signal number for a
-- signal, and `.reason` when the library stopped it (the time limit).
-- @int exitcode the exit status or negative signal number
-- @string[opt] reason why it was stopped
function M.Terminated(exitcode, reason)
  return setmetatable({exitcode = exitcode, reason = reason}, Terminated)
end

--- True for a Failed record.
-- @param v any value
-- @treturn bool
function M.is_failed(v) return getmetatable(v) == Failed end

--- True for a Terminated record.
-- @param v any value
-- @treturn bool
function M.is_terminated(v) return getmetatable(v) == Terminated end

-- The first line of what a player's record says.
local function first_line(v)
  local s = tostring(v)
  return s:match("^[^\n]*")
end

--- Raise an error if any result of `cicada.run` is a Failed or Terminated
-- record, listing those players with the first line of each one's error:
--
--     local results = cicada.errors.check(cicada.run{world_size = 3, fn = f})
--
-- raises `2 players did not finish: player 1 failed: ...; player 2
-- terminated: ...`, so that cicada-lua exits 1.
-- @tab results the list cicada.run returned
-- @treturn table results, when every player returned
-- @raise the list of failed and terminated players
function M.check(results)
  if type(results) ~= "table" then
    check.argerror(1, "check", "table of results expected, got " .. type(results))
  end
  -- A player that returned nothing leaves a hole: look up to the last result.
  local bad, n = {}, #results
  for k in pairs(results) do
    if math.type(k) == "integer" and k > n then n = k end
  end
  for i = 1, n do
    local r = results[i]
    if M.is_failed(r) then
      bad[#bad + 1] = ("player %d failed: %s"):format(i - 1, first_line(r.error))
    elseif M.is_terminated(r) then
      bad[#bad + 1] = ("player %d terminated: %s"):format(i - 1, first_line(r))
    end
  end
  if #bad > 0 then
    check.error(("%d player%s did not finish: %s"):format(
      #bad, #bad == 1 and "" or "s", table.concat(bad, "; ")))
  end
  return results
end

return M
