-- Big messages never look like death: while a player reads (or writes) a
-- message that takes longer than the heartbeat timeout to cross, the bytes
-- arriving count as a sign of life and the heartbeats still go out.
local support = require("support")

local MB = 1024 * 1024

-- 500 MB; under a sanitizer's runtime (preloaded: ASan, TSan), which checks
-- or clears shadow memory for every byte copied or freed, 32 MB, still
-- more than one read step (16 MiB) and streamed into its payload.
local sanitized = (os.getenv("LD_PRELOAD") or ""):find("san") ~= nil
local SIZE = sanitized and 32 * MB or 500 * MB

-- The heartbeat timeout: 1 s in a plain build, where 500 MB take about
-- that long to cross on an idle machine and several times longer under
-- load. Under a sanitizer, which slows every thread of both players (the
-- I/O thread's sweep, and the thread that sends the heartbeat the sweep
-- left to it after each read step) while the 32 MB still cross in about a
-- second, the timeout is the failure specs', scaled by the slowdown.
local HEARTBEAT_TIMEOUT = sanitized and support.seconds(0.5) or 1

describe("a big message", function()
  it(("crosses five times in a row with a %g s heartbeat timeout"):format(HEARTBEAT_TIMEOUT), function()
    local size = SIZE
    local results = support.run(2, function(comm)
      local got = {}
      for round = 1, 5 do
        if comm.rank == 0 then
          -- A temporary: only the engine's encoded copy outlives the call.
          comm:send(string.rep(string.char(64 + round), size), 1, round)
          got[round] = comm:recv(1, round)
        else
          local value = comm:recv(0, round)
          got[round] = {#value, value:sub(1, 1), value:sub(-1)}
          value = nil -- luacheck: ignore 311
          collectgarbage()
          comm:send("received", 0, round)
        end
        collectgarbage()
      end
      return got
    end, {heartbeat_timeout = HEARTBEAT_TIMEOUT, timeout = support.seconds(40)})
    assert.is_table(results[1], tostring(results[1]))
    assert.is_table(results[2], tostring(results[2]))
    for round = 1, 5 do
      local byte = string.char(64 + round)
      assert.same({size, byte, byte}, results[2][round])
      assert.equal("received", results[1][round])
    end
  end)
end)
