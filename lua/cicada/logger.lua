--- cicada.Logger: logging coordinated among the players of a communicator.
--
--     local log = cicada.Logger(comm)            -- sync = true
--     log:info("total: " .. total, {src = 0})    -- only rank 0 writes
--
-- With `log.sync == true` every call is a collective: the players that
-- write (all of them, or those named by `src`) write in rank order, and
-- every player returns once all have written. With `log.sync = false` the
-- call writes locally and communicates nothing, which is what recovery code
-- needs when some players may be gone. The records go to a logger from
-- `cicada.logging` (the root logger by default), or to any object with
-- debug/info/warning/error/critical methods such as a LuaLogging logger.
-- @module cicada.logger
local core = require("cicada.core")
local check = require("cicada.check")
local logging = require("cicada.logging")

local M = {}

local LOGSYNC = core.tags.LOGSYNC

local Logger = {}
Logger.__index = Logger
Logger.__name = "Logger"

local function writers(comm, src, fname)
  if src == nil then return comm.ranks end
  if math.type(src) == "integer" then src = {src} end
  if type(src) ~= "table" then
    check.optionerror("src", fname, "rank or list of ranks expected, got " .. type(src))
  end
  local sorted, seen = {}, {}
  for _, r in ipairs(src) do
    if math.type(r) ~= "integer" or r < 0 or r >= comm.world_size then
      check.optionerror("src", fname, ("rank %s out of range [0, %d)"):format(
        tostring(r), comm.world_size))
    end
    if not seen[r] then seen[r] = true; sorted[#sorted + 1] = r end
  end
  table.sort(sorted)
  return sorted
end

local function emit(self, method, message)
  self.logger[method](self.logger, message)
end

local function record(self, method, message, opts)
  if opts ~= nil and type(opts) ~= "table" then
    check.argerror(2, method, "table expected, got " .. type(opts))
  end
  local comm = self.communicator
  local src = writers(comm, opts and opts.src, method)
  if not self.sync then
    for _, r in ipairs(src) do
      if r == comm.rank then emit(self, method, message) end
    end
    return
  end
  -- Pass a token along the writers in rank order, then wait for everyone.
  for i, r in ipairs(src) do
    if r == comm.rank then
      if i > 1 then comm:_lib_recv(src[i - 1], LOGSYNC) end
      emit(self, method, message)
      if i < #src then comm:_lib_send(true, src[i + 1], LOGSYNC) end
    end
  end
  comm:barrier()
end

--- Log a message at level DEBUG; see `Logger:info`.
-- @param message the record's text
-- @tab[opt] opts `src`, as for `Logger:info`
function Logger:debug(message, opts) record(self, "debug", message, opts) end

--- Log a message at level INFO: a collective when `log.sync` is true.
-- @param message the record's text
-- @tab[opt] opts `src`: a rank or a list of ranks, the players that write
-- (default: every player)
-- @raise `bad option 'src' to 'info' (rank 9 out of range [0, 2))`
function Logger:info(message, opts) record(self, "info", message, opts) end

--- Log a message at level WARNING; see `Logger:info`.
-- @param message the record's text
-- @tab[opt] opts `src`, as for `Logger:info`
function Logger:warning(message, opts) record(self, "warning", message, opts) end

--- Log a message at level ERROR; see `Logger:info`.
-- @param message the record's text
-- @tab[opt] opts `src`, as for `Logger:info`
function Logger:error(message, opts) record(self, "error", message, opts) end

--- Log a message at level CRITICAL; see `Logger:info`.
-- @param message the record's text
-- @tab[opt] opts `src`, as for `Logger:info`
function Logger:critical(message, opts) record(self, "critical", message, opts) end

--- A logger for the players of a communicator:
-- `cicada.Logger(comm, {sync=true, logger=nil})`, or in the seed's order
-- `cicada.Logger(logger, comm)`.
-- @param a the communicator (or the logger, in the seed's order)
-- @param[opt] b the options table (or the communicator)
-- @return the Logger, with fields `communicator`, `sync` and `logger`
-- @raise `bad argument #1 to 'Logger' (communicator expected, got number)`
function M.Logger(a, b)
  local comm, opts = a, b
  -- the seed's order, Logger(logging.getLogger(), communicator)
  if type(a) == "table" and getmetatable(a) ~= nil and a.info and b ~= nil
      and type(b) ~= "table" then
    comm, opts = b, {logger = a}
  end
  if type(comm) ~= "userdata" or comm.rank == nil then
    check.argerror(1, "Logger", "communicator expected, got " .. type(comm))
  end
  opts = opts or {}
  if type(opts) ~= "table" then
    check.argerror(2, "Logger", "table expected, got " .. type(opts))
  end
  local sync = opts.sync
  if sync == nil then sync = true end
  if type(sync) ~= "boolean" then
    check.optionerror("sync", "Logger", "boolean expected, got " .. type(sync))
  end
  return setmetatable({communicator = comm, sync = sync,
                       logger = opts.logger or logging.getLogger()}, Logger)
end

return M
