--- cicada.logging: named loggers with levels, in the manner of Python's
-- logging module that the seed's examples use.
--
-- `logging.getLogger(name)` returns the logger for a dotted name (nil or
-- "root" for the root logger). A logger without a level of its own takes its
-- parent's; the root's is INFO. Records go to stderr as `LEVEL:name:message`,
-- e.g. `INFO:root:Iteration 0 comm world total: 1.0`. The library logs
-- through "cicada.communicator"; silence it with
-- `logging.getLogger("cicada.communicator"):setLevel("CRITICAL")`.
-- @module cicada.logging
local check = require("cicada.check")

local M = {}

M.DEBUG, M.INFO, M.WARNING, M.ERROR, M.CRITICAL = 10, 20, 30, 40, 50
local names = {[10] = "DEBUG", [20] = "INFO", [30] = "WARNING", [40] = "ERROR", [50] = "CRITICAL"}

--- A level number from a number or a name ("info", "WARNING", ...).
-- @param level a number or a level's name
-- @treturn number
-- @raise `unknown log level LOUD`
function M.level(level)
  if type(level) == "number" then return level end
  if type(level) == "string" and M[level:upper()] then return M[level:upper()] end
  check.error(("unknown log level %s"):format(tostring(level)))
end

local Logger = {}
Logger.__index = Logger

local loggers = {}
local output = io.stderr

--- Send records somewhere else than stderr.
-- @param file a file handle (anything with :write and :flush)
function M.set_output(file) output = file end

--- The logger for a dotted name, made on first use.
-- @string[opt] name the name (nil or "root" for the root logger)
-- @return the logger
function M.getLogger(name)
  name = name or "root"
  local logger = loggers[name]
  if not logger then
    logger = setmetatable({name = name}, Logger)
    if name == "root" then logger.level = M.INFO end
    loggers[name] = logger
  end
  return logger
end

--- Set this logger's own level.
-- @param level a number or a level's name
function Logger:setLevel(level) self.level = M.level(level) end

--- The level in force: this logger's own, or the nearest ancestor's.
-- @treturn number
function Logger:getEffectiveLevel()
  local name = self.name
  while true do
    local l = loggers[name]
    if l and l.level then return l.level end
    if name == "root" then return M.INFO end
    name = name:match("^(.*)%.[^.]*$") or "root"
  end
end

--- True when a record of the given level would be written.
-- @param level a number or a level's name
-- @treturn bool
function Logger:isEnabledFor(level) return M.level(level) >= self:getEffectiveLevel() end

--- Write a record at the given level, if enabled, in one write.
-- @param level a number or a level's name
-- @param message the record's text (tostring is applied)
function Logger:log(level, message)
  level = M.level(level)
  if level >= self:getEffectiveLevel() then
    -- One write per record, so that records of players sharing a stderr
    -- never interleave.
    output:write(("%s:%s:%s\n"):format(names[level] or ("Level " .. level), self.name,
                                       tostring(message)))
    output:flush()
  end
end

--- Write a record at level DEBUG.
-- @param m the record's text
function Logger:debug(m) self:log(M.DEBUG, m) end

--- Write a record at level INFO.
-- @param m the record's text
function Logger:info(m) self:log(M.INFO, m) end

--- Write a record at level WARNING.
-- @param m the record's text
function Logger:warning(m) self:log(M.WARNING, m) end

--- Write a record at level ERROR.
-- @param m the record's text
function Logger:error(m) self:log(M.ERROR, m) end

--- Write a record at level CRITICAL.
-- @param m the record's text
function Logger:critical(m) self:log(M.CRITICAL, m) end

return M
