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
  token_mismatch = "a peer presented another world's token",
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
--- `Terminated(exitcode=-9)`.
-- @treturn string
function Terminated:__tostring()
  return ("Terminated(exitcode=%d)"):format(self.exitcode)
end

--- A player that raised: `.error` (the error value) and `.traceback`.
function M.Failed(err, traceback)
  return setmetatable({error = M.revive(err), traceback = traceback or ""}, Failed)
end

--- A player that died: `.exitcode`, the negative signal number for a signal.
function M.Terminated(exitcode)
  return setmetatable({exitcode = exitcode}, Terminated)
end

--- True for a Failed record.
-- @param v any value
-- @treturn bool
function M.is_failed(v) return getmetatable(v) == Failed end

--- True for a Terminated record.
-- @param v any value
-- @treturn bool
function M.is_terminated(v) return getmetatable(v) == Terminated end

return M
