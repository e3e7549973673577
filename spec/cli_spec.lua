-- The command line: exit codes a shell can trust, timings and log level
-- for the script's connect/run, tagged player output, and rank and world
-- size from a cluster launcher's environment.
local cicada = require("cicada")
local support = require("support")

describe("cicada.errors.check", function()
  it("returns the results when every player returned", function()
    local results = {1, 2, 3}
    assert.equal(results, cicada.errors.check(results))
  end)

  it("raises listing the failed and terminated players at the caller's line", function()
    local results = {
      "fine",
      cicada.errors.Failed("spec.lua:3: gave up\nmore detail", "traceback"),
      cicada.errors.Terminated(-15, "time limit of 2 s passed"),
    }
    local ok, err = pcall(cicada.errors.check, results)
    assert.is_false(ok)
    assert.matches("cli_spec.lua:%d+: 2 players", err)
    assert.matches(": 2 players did not finish: player 1 failed: spec.lua:3: gave up; "
                 .. "player 2 terminated: Terminated(exitcode=-15, time limit of 2 s passed)", err,
                   1, true)
  end)

  it("makes cicada-lua exit 1 when a player of cicada.run failed", function()
    local rc, out = support.run_cli({support.script([[
      local cicada = require("cicada")
      cicada.errors.check(cicada.run{world_size = 2, fn = function(comm)
        if comm.rank == 1 then error("no luck") end
      end})
      print("not reached")
    ]])})
    assert.equal(1, rc, out)
    assert.matches("1 player did not finish: player 1 failed: [^\n]*no luck", out)
    assert.not_matches("not reached", out, 1, true)
  end)

  it("refuses what is not a list of results", function()
    local ok, err = pcall(cicada.errors.check, "results")
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'check' (table of results expected, got string)", err, 1, true)
  end)
end)

describe("cicada-lua options", function()
  after_each(support.cleanup)

  it("lists every option and the exit codes in --help", function()
    local rc, out = support.run_cli({"--help"})
    assert.equal(0, rc)
    for _, opt in ipairs{"--time-limit", "--timeout", "--startup-timeout", "--heartbeat-interval",
                         "--heartbeat-timeout", "--log-level", "--tag-output", "--stats"} do
      assert.matches(opt, out, 1, true)
    end
    assert.matches("exit codes: 0", out, 1, true)
    assert.matches("124 the time limit passed", out, 1, true)
  end)

  local show_timings = [[
    local comm = require("cicada").connect()
    print(("timeout=%s"):format(comm.timeout))
    print(("level=%s"):format(require("cicada.logging").getLogger("cicada.communicator")
      :getEffectiveLevel()))
  ]]

  it("gives --timeout and --log-level to the script's connect", function()
    local rc, out = support.run_cli({"--timeout", "7.5", "--log-level", "error",
                                     support.script(show_timings)})
    assert.equal(0, rc, out)
    assert.matches("timeout=7.5", out, 1, true)
    assert.matches("level=" .. cicada.logging.ERROR, out, 1, true)
  end)

  it("gives the script's connect a 5 s timeout by default", function()
    -- An empty CICADA_TIMEOUT counts as unset (ctest sets a longer one).
    local rc, out = support.run_cli({support.script(show_timings)}, {CICADA_TIMEOUT = ""})
    assert.equal(0, rc, out)
    assert.matches("timeout=5.0\n", out, 1, true)
  end)

  it("takes the same settings from CICADA_* variables", function()
    local rc, out = support.run_cli({support.script(show_timings)},
                                    {CICADA_TIMEOUT = "3", CICADA_LOG_LEVEL = "debug"})
    assert.equal(0, rc, out)
    assert.matches("timeout=3", out, 1, true)
    assert.matches("level=" .. cicada.logging.DEBUG, out, 1, true)
  end)

  it("gives the heartbeat and startup settings to the players of -n", function()
    local rc, out = support.run_cli({"-n", "2", "--heartbeat-interval", "0.05",
                                     "--heartbeat-timeout", "0.5", "--startup-timeout", "9",
                                     support.script([[
      local comm = require("cicada").connect()
      print(os.getenv("CICADA_HEARTBEAT_INTERVAL"), os.getenv("CICADA_HEARTBEAT_TIMEOUT"),
            os.getenv("CICADA_STARTUP_TIMEOUT"), comm:allgather(comm.rank)[2])
    ]])})
    assert.equal(0, rc, out)
    assert.equal(2, support.count(out, "0.05\t0.5\t9\t1"), out)
  end)

  it("refuses a heartbeat timeout that is not above the interval", function()
    local rc, out = support.run_cli({"--heartbeat-interval", "1", "--heartbeat-timeout", "0.5",
                                     support.script("require('cicada').connect()")})
    assert.equal(2, rc, out)
    assert.matches("heartbeat", out)
    assert.equal(1, support.count(out, "[^\n]*\n"), out)
  end)

  it("refuses a bad timing or log level with one line and exit code 2", function()
    local rc, out = support.run_cli({"--timeout", "-1", support.script("print(1)")})
    assert.equal(2, rc, out)
    assert.matches("--timeout (CICADA_TIMEOUT) '-1' is not a positive number of seconds", out, 1,
                   true)
    rc, out = support.run_cli({"--log-level", "loud", support.script("print(1)")})
    assert.equal(2, rc, out)
    assert.matches("log level 'loud' (--log-level, CICADA_LOG_LEVEL) is not one of", out, 1, true)
  end)

  it("prefixes each line of each player with its rank under --tag-output", function()
    local rc, out = support.run_cli({"-n", "3", "--tag-output", support.script([[
      local comm = require("cicada").connect()
      print("out of " .. comm.rank)
      io.stderr:write("err of ", comm.rank, "\n")
      io.write("no newline at the end")
    ]])})
    assert.equal(0, rc, out)
    for r = 0, 2 do
      assert.matches(("\n?%%[%d%%] out of %d\n"):format(r, r), out)
      assert.matches(("\n?%%[%d%%] err of %d\n"):format(r, r), out)
      assert.matches(("\n?%%[%d%%] no newline at the end\n"):format(r), out)
    end
    assert.equal(9, support.count(out, "[^\n]*\n"), out)
  end)

  describe("--stats", function()
    local pattern = "stats: player (%d) of 2: ([%d.]+) s, sent (%d+) messages (%d+) bytes, "
                    .. "received (%d+) messages (%d+) bytes"
    local function figures(out)
      local t = {}
      for rank, secs, ms, bs, mr, br in out:gmatch(pattern) do
        t[tonumber(rank)] = {secs = tonumber(secs), msgs_sent = tonumber(ms),
                             bytes_sent = tonumber(bs), msgs_recv = tonumber(mr),
                             bytes_recv = tonumber(br)}
      end
      return t
    end

    it("prints each player's time, messages and bytes when the run ends", function()
      local rc, out = support.run_cli({"-n", "2", "--stats", support.script([[
        local comm = require("cicada").connect()
        if comm.rank == 0 then comm:send(string.rep("x", 1000), 1, 5)
        else comm:recv(0, 5) end
      ]])})
      assert.equal(0, rc, out)
      local t = figures(out)
      assert.equal(1, t[0].msgs_sent, out)
      assert.is_true(t[0].bytes_sent >= 1000, out)
      assert.equal(0, t[0].msgs_recv, out)
      assert.equal(1, t[1].msgs_recv, out)
      assert.equal(t[0].bytes_sent, t[1].bytes_recv, out)
      assert.equal(0, t[1].msgs_sent, out)
      assert.is_true(t[0].secs >= 0, out)
    end)

    it("also for a player whose script failed, and for cicada.run's players", function()
      local rc, out = support.run_cli({"--stats", support.script([[
        require("cicada").run{world_size = 2, fn = function(comm)
          if comm.rank == 1 then comm:send("hello", 0, 1) else comm:recv(1, 1) end
        end}
      ]])})
      assert.equal(0, rc, out)
      local t = figures(out)
      assert.equal(1, t[1].msgs_sent, out)
      assert.equal(1, t[0].msgs_recv, out)
      rc, out = support.run_cli({"-n", "2", "--stats", support.script([[
        local comm = require("cicada").connect()
        error("gives up")
      ]])})
      assert.equal(1, rc, out)
      assert.equal(2, support.count(out, "stats: player %d of 2"), out)
    end)

    it("counts the traffic of every communicator of the player (comm:stats().engine)", function()
      local results = support.run_all(2, function(comm)
        local sub = comm:split("all")
        if sub.rank == 0 then sub:send("on the sub-communicator", 1, 3) else sub:recv(0, 3) end
        local world, engine = comm:stats().total, comm:stats().engine
        return {world_sent = world.msgs_sent, world_recv = world.msgs_recv,
                sent = engine.msgs_sent, recv = engine.msgs_recv}
      end)
      -- the split's agreement travels on the world; the message on sub only
      -- appears in the engine's total
      for r = 1, 2 do
        local t = results[r]
        assert.equal(t.world_sent + (r == 1 and 1 or 0), t.sent)
        assert.equal(t.world_recv + (r == 2 and 1 or 0), t.recv)
      end
    end)

    it("prints nothing without --stats", function()
      local rc, out = support.run_cli({"-n", "2", support.script("require('cicada').connect()")})
      assert.equal(0, rc, out)
      assert.not_matches("stats:", out, 1, true)
    end)
  end)

  describe("takes rank and world size from a cluster launcher", function()
    local whoami = [[
      local comm = require("cicada").connect()
      print(("rank %d of %d"):format(comm.rank, comm.world_size))
    ]]
    for _, vars in ipairs{{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                          {"SLURM_PROCID", "SLURM_NTASKS"}, {"PMI_RANK", "PMI_SIZE"}} do
      it(vars[1] .. " and " .. vars[2], function()
        local root = ("tcp://127.0.0.1:%d"):format(support.port())
        local script = support.script(whoami)
        local hs = {}
        for r = 0, 1 do
          hs[r] = support.start({"--root-address", root, script}, {[vars[1]] = tostring(r),
                                                                    [vars[2]] = "2"})
        end
        for r = 0, 1 do
          local rc, out = support.wait(hs[r])
          assert.equal(0, rc, out)
          assert.matches(("rank %d of 2"):format(r), out, 1, true)
        end
      end)
    end

    it("but not when -n says how many players to start", function()
      local rc, out = support.run_cli({"-n", "2", support.script(whoami)},
                                      {SLURM_PROCID = "0", SLURM_NTASKS = "5"})
      assert.equal(0, rc, out)
      assert.equal(2, support.count(out, "of 2\n"), out)
    end)
  end)
end)
