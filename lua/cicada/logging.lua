--- cicada.logging: named loggers with levels, in the manner of Python's
-- logging module that the seed's examples use.
--
-- `logging.getLogger(name)` returns the logger for a dotted name (nil or
-- "root" for the root logger). A logger without a level of its own takes its
-- parent's; the root's is INFO. Records go to stderr as `LEVEL:name:message`,
-- e.g. `INFO:root:Iteration 0 comm world total: 1.0`. The library logs
-- through "cicada.communicator"; silence it with
-- `logging.getLogger("cicada.communicator"):setLevel("CRITICAL")`.
local check = require("cicada.check")

local M = {}

M.DEBUG, M.INFO, M.WARNING, M.ERROR, M.CRITICAL = 10, 20, 30, 40, 50
local names = {[10] = "DEBUG", [20] = "INFO", [30] = "WARNING", [40] = "ERROR", [50] = "CRITICAL"}

--- A level number from a number or a name ("info", "WARNING", ...).
function M.level(level)
  if type(level) == "number" then return level end
  if type(level) == "string" and M[level:upper()] then return M[level:upper()] end
  check.error(("unknown log level %s"):format(tostring(level)))
end

local Logger = {}
Logger.__index = Logger

local loggers = {}
local output = io.stderr

--- Send records somewhere else than stderr (a file handle with :write).
function M.set_output(file) output = file end

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

function Logger:setLevel(level) self.level = M.level(level) end

function Logger:getEffectiveLevel()
  local name = self.name
  while true do
    local l = loggers[name]
    if l and l.level then return l.level end
    if name == "root" then return M.INFO end
    name = name:match("^(.*)%.[^.]*$") or "root"
  end
end

function Logger:isEnabledFor(level) return M.level(level) >= self:getEffectiveLevel() end

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

function Logger:debug(m) self:log(M.DEBUG, m) end
function Logger:info(m) self:log(M.INFO, m) end
function Logger:warning(m) self:log(M.WARNING, m) end
function Logger:error(m) self:log(M.ERROR, m) end
function Logger:critical(m) self:log(M.CRITICAL, m) end

return M
