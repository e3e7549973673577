-- cicada.Logger: coordinated logging, checked on the stderr of real runs of
-- cicada-lua, and cicada.logging's levels and format.
local support = require("support")
local stderr_of = support.stderr_of
local lines = support.lines

describe("cicada.Logger", function()
  it("writes every player's record in rank order when sync", function()
    local out = stderr_of([[
      local cicada = require("cicada")
      cicada.run{world_size = 5, fn = function(comm)
        local log = cicada.Logger(comm)
        -- the later ranks are ready first: order must still be by rank
        require("cicada.core").sleep((comm.world_size - comm.rank) * 0.02)
        log:info("player " .. comm.rank)
        log:warning("again " .. comm.rank)
      end}
    ]])
    assert.same({
      "INFO:root:player 0", "INFO:root:player 1", "INFO:root:player 2",
      "INFO:root:player 3", "INFO:root:player 4",
      "WARNING:root:again 0", "WARNING:root:again 1", "WARNING:root:again 2",
      "WARNING:root:again 3", "WARNING:root:again 4",
    }, lines(out))
  end)

  it("writes only the players named by src", function()
    local out = stderr_of([[
      local cicada = require("cicada")
      cicada.run{world_size = 4, fn = function(comm)
        local log = cicada.Logger(comm)
        log:info("only zero", {src = 0})
        log:error("three and one " .. comm.rank, {src = {3, 1}})
      end}
    ]])
    assert.same({"INFO:root:only zero", "ERROR:root:three and one 1", "ERROR:root:three and one 3"},
      lines(out))
  end)

  it("honours the logger's level and lets records below it pass silently", function()
    local out = stderr_of([[
      local cicada = require("cicada")
      cicada.run{world_size = 2, fn = function(comm)
        local log = cicada.Logger(comm)
        log:debug("hidden")
        cicada.logging.getLogger():setLevel("DEBUG")
        log:debug("shown " .. comm.rank, {src = 1})
        log:critical("critical " .. comm.rank, {src = 0})
      end}
    ]])
    assert.same({"DEBUG:root:shown 1", "CRITICAL:root:critical 0"}, lines(out))
  end)

  it("communicates nothing when sync is false", function()
    local cicada = require("cicada")
    local results = cicada.run{world_size = 2, fn = function(comm)
      local log = cicada.Logger(comm)
      log.sync = false
      cicada.logging.set_output({write = function() end, flush = function() end})
      log:info("local only")
      return comm:stats().total.msgs_sent
    end}
    assert.same({0, 0}, results)
  end)

  it("writes to a logger passed in, such as a LuaLogging one", function()
    local cicada = require("cicada")
    local results = cicada.run{world_size = 2, fn = function(comm)
      local seen = {}
      local fake = {}
      for _, level in ipairs{"debug", "info", "warning", "error", "critical"} do
        fake[level] = function(_, m) seen[#seen + 1] = level .. ":" .. m end
      end
      local log = cicada.Logger(comm, {logger = fake})
      log:info("a")
      log:critical("b", {src = 1})
      return seen
    end}
    assert.same({{"info:a"}, {"info:a", "critical:b"}}, results)
  end)

  it("accepts the seed's argument order, Logger(logger, comm)", function()
    local cicada = require("cicada")
    local results = cicada.run{world_size = 1, fn = function(comm)
      local log = cicada.Logger(cicada.logging.getLogger(), comm)
      return {log.sync, log.communicator == comm}
    end}
    assert.same({{true, true}}, results)
  end)

  it("refuses bad arguments with errors naming them", function()
    local cicada = require("cicada")
    local results = cicada.run{world_size = 2, fn = function(comm)
      local log = cicada.Logger(comm)
      local errs = {}
      errs[1] = select(2, pcall(log.info, log, "x", {src = 9}))
      errs[2] = select(2, pcall(log.info, log, "x", 5))
      errs[3] = select(2, pcall(cicada.Logger, 42))
      return errs
    end}
    assert.matches("bad option 'src' to 'info' %(rank 9 out of range %[0, 2%)%)", results[1][1])
    assert.matches("bad argument #2 to 'info' %(table expected, got number%)", results[1][2])
    assert.matches("bad argument #1 to 'Logger' %(communicator expected, got number%)", results[1][3])
  end)
end)

describe("cicada.logging", function()
  it("formats records as LEVEL:name:message with levels inherited by dotted names", function()
    local out = stderr_of([[
      local logging = require("cicada").logging
      logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
      logging.getLogger("cicada.communicator"):error("silenced")
      logging.getLogger("cicada.communicator.socket"):error("silenced too")
      logging.getLogger("app"):info("from app")
      logging.getLogger():debug("below INFO")
    ]])
    assert.same({"INFO:app:from app"}, lines(out))
  end)

  it("silences the run's failure records when cicada.communicator is CRITICAL", function()
    local out = stderr_of([[
      local cicada = require("cicada")
      cicada.run{world_size = 2, fn = function(comm) if comm.rank == 1 then error("boom") end end}
      cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
      cicada.run{world_size = 2, fn = function(comm) if comm.rank == 1 then error("quiet") end end}
    ]])
    local l = lines(out)
    assert.equal(1, #l)
    assert.matches("^ERROR:cicada.communicator:Comm world player 1 failed: Failed%(.*boom%)$", l[1])
  end)
end)
