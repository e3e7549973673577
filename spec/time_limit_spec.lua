-- Every run ends: a time limit stops the players still running (SIGTERM,
-- then SIGKILL), cicada.run reports them as Terminated with the reason, and
-- cicada-lua exits 124 naming them. Frozen players are killed after a grace
-- period by cicada.run and by the -n launcher alike.
local cicada = require("cicada")
local support = require("support")

local busy = [[
local cicada = require("cicada")
local comm = cicada.connect()
print(("player %d starts"):format(comm.rank))
io.stdout:flush()
if comm.rank == 1 then while true do end end
comm:barrier()   -- waits for player 1 (the default timeout is 5 s)
]]

-- A time limit within which the players that do not loop start, meet and
-- end, on a machine slowed by load or a sanitizer: 3 s in a plain build.
local LIMIT = support.seconds(1)

describe("time limit", function()
  after_each(support.cleanup)

  describe("in cicada.run", function()
    it("returns the players still running as Terminated with the reason", function()
      local results = support.run(3, function(comm)
        if comm.rank == 2 then while true do end end
        return comm.rank
      end, {time_limit = LIMIT})
      assert.equal(0, results[1])
      assert.equal(1, results[2])
      assert.is_true(cicada.errors.is_terminated(results[3]))
      local reason = ("time limit of %g s passed"):format(LIMIT)
      assert.equal(reason, results[3].reason)
      assert.equal(-15, results[3].exitcode)
      assert.equal("Terminated(exitcode=-15, " .. reason .. ")", tostring(results[3]))
    end)

    it("kills a player that ignores SIGTERM after the grace period", function()
      local results = support.run(2, function(comm)
        if comm.rank == 1 then
          require("cicada.core").raise_signal("STOP")
        end
        while true do end
      end, {time_limit = 0.5})
      for rank = 0, 1 do
        assert.is_true(cicada.errors.is_terminated(results[rank + 1]), tostring(results[rank + 1]))
        assert.equal("time limit of 0.5 s passed", results[rank + 1].reason)
      end
      assert.equal(-9, results[2].exitcode)
    end)

    it("refuses a time limit that is not positive", function()
      local ok, err = pcall(cicada.run, {world_size = 1, fn = function() end, time_limit = 0})
      assert.is_false(ok)
      assert.matches("bad option 'time_limit' to 'run'", err)
    end)
  end)

  describe("in cicada-lua", function()
    it("stops the players of -n still running and exits 124 naming them", function()
      local rc, out = support.run_cli({"-n", "3", "--time-limit", "1", support.script(busy)})
      assert.equal(124, rc, out)
      assert.matches("cicada-lua: time limit of 1 s passed: players 0, 1, 2 stopped", out, 1, true)
    end)

    it("names only the players still running", function()
      local rc, out = support.run_cli({"-n", "3", "--time-limit", tostring(LIMIT), support.script([[
        local comm = require("cicada").connect()
        if comm.rank == 2 then while true do end end
      ]])})
      assert.equal(124, rc, out)
      assert.matches(("time limit of %g s passed: player 2 stopped"):format(LIMIT), out, 1, true)
    end)

    it("takes the limit from CICADA_TIME_LIMIT", function()
      local rc, out = support.run_cli({"-n", "2", support.script(busy)}, {CICADA_TIME_LIMIT = "0.5"})
      assert.equal(124, rc, out)
      assert.matches("time limit of 0.5 s passed", out, 1, true)
    end)

    it("stops a script run without -n", function()
      local rc, out = support.run_cli({"--time-limit=0.5", support.script("while true do end")})
      assert.equal(124, rc, out)
      assert.matches("cicada-lua: time limit of 0.5 s passed: the script was stopped", out, 1, true)
    end)

    it("names the player of a multi-host world that it stopped", function()
      local root = ("tcp://127.0.0.1:%d"):format(support.port())
      local script = support.script(busy)
      local h0 = support.start({"--rank", "0", "-n", "2", "--root-address", root,
                                "--time-limit", "1", script})
      local h1 = support.start({"--rank", "1", "-n", "2", "--root-address", root,
                                "--time-limit", "1", script})
      local rc1, out1 = support.wait(h1)
      assert.equal(124, rc1, out1)
      assert.matches("cicada-lua: time limit of 1 s passed: player 1 stopped", out1, 1, true)
      local rc0, out0 = support.wait(h0)
      assert.is_true(rc0 == 1 or rc0 == 124, out0)
    end)

    it("keeps the exit code of a script that ends in time", function()
      local rc, out = support.run_cli({"--time-limit", "30", support.script("os.exit(3)")})
      assert.equal(3, rc, out)
      rc, out = support.run_cli({"--time-limit", "30", support.script("print('fine')")})
      assert.equal(0, rc, out)
      assert.matches("fine", out, 1, true)
    end)

    it("refuses a time limit that is not a positive number", function()
      local rc, out = support.run_cli({"--time-limit", "soon", support.script("print(1)")})
      assert.equal(2, rc, out)
      assert.matches("--time-limit (CICADA_TIME_LIMIT) 'soon' is not a positive number of seconds",
                     out, 1, true)
    end)
  end)

  describe("the -n launcher", function()
    it("kills a frozen player once the others have ended, as cicada.run does", function()
      -- Player 0 ends once it has given up on player 1, after the heartbeat
      -- timeout: the spec's own, for this test's point is that player.
      local rc, out = support.run_cli({"-n", "2", "--heartbeat-timeout",
                                       tostring(support.seconds(1)), support.script([[
        local cicada = require("cicada")
        local comm = cicada.connect()
        if comm.rank == 1 then cicada.inject.hang() end
      ]])})
      assert.equal(1, rc, out)
      assert.matches("player 1 (signal 9) failed", out, 1, true)
    end)
  end)
end)
