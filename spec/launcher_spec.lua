-- The launcher: `cicada-lua -n N script.lua` starts N local players that
-- each run the script and join one world with cicada.connect().
local support = require("support")

local compute = [[
local cicada = require("cicada")
local comm = cicada.connect()
local all = comm:allgather(comm.rank * 10)
print(("player %d of %d got %s from %s"):format(comm.rank, comm.world_size,
  table.concat(all, ","), table.concat({...}, " ")))
]]

describe("cicada-lua -n N", function()
  after_each(support.cleanup)

  it("starts N players that compute together and exits 0", function()
    local rc, out = support.run_cli({"-n", "3", support.script(compute), "a", "b"})
    assert.equal(0, rc, out)
    for r = 0, 2 do
      assert.matches(("player %d of 3 got 0,10,20 from a b"):format(r), out, 1, true)
    end
  end)

  it("runs a world of one", function()
    local rc, out = support.run_cli({"-n", "1", support.script(compute)})
    assert.equal(0, rc, out)
    assert.matches("player 0 of 1 got 0 from", out, 1, true)
  end)

  it("exits non-zero naming a player that raised, and its error", function()
    local rc, out = support.run_cli({"-n", "3", support.script([[
      local comm = require("cicada").connect()
      if comm.rank == 1 then error("player one gives up") end
      comm:barrier()
    ]])})
    assert.equal(1, rc)
    assert.matches("player 1: .*player one gives up", out)
    assert.matches("players? [^\n]*1 %(exit code 1%)[^\n]* failed", out)
    -- the others hear why it failed, not just that its connection closed
    assert.matches("player 0: Tag BARRIER from player 1 failed: [^\n]*: player one gives up", out)
  end)

  it("names a player that was killed, with its signal", function()
    local rc, out = support.run_cli({"-n", "2", support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect()
      if comm.rank == 1 then cicada.inject.kill() end
    ]])})
    assert.equal(1, rc)
    assert.matches("player 1 (signal 9) failed", out, 1, true)
  end)

  it("gives the failure of one player to the others as peer_failed", function()
    local rc, out = support.run_cli({"-n", "3", support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect()
      if comm.rank == 2 then cicada.inject.kill() end
      local ok, err = pcall(comm.recv, comm, 2, 0)
      print(("player %d: %s"):format(comm.rank, cicada.errors.kind(err)))
    ]])})
    assert.equal(1, rc)
    assert.matches("player 0: peer_failed", out, 1, true)
    assert.matches("player 1: peer_failed", out, 1, true)
    assert.matches("player 2 (signal 9) failed", out, 1, true)
  end)

  describe("refuses bad input with one line and a non-zero exit", function()
    local function refuses(args, pattern)
      local rc, out = support.run_cli(args)
      assert.equal(2, rc, out)
      assert.matches(pattern, out)
      assert.equal(1, support.count(out, "[^\n]*\n"), out)
    end

    it("a world size below 1", function()
      refuses({"-n", "0", support.script(compute)}, "world size 0 is below 1")
    end)
    it("a world size that is not a number", function()
      refuses({"-n", "three", support.script(compute)}, "world size .* 'three' is not an integer")
    end)
    it("a missing script", function()
      refuses({"-n", "2", "/nonexistent/script.lua"},
              "cannot read the script '/nonexistent/script.lua': No such file")
    end)
    it("no script at all", function()
      local rc, out = support.run_cli({"-n", "2"})
      assert.equal(2, rc)
      assert.matches("no script given", out)
    end)
    it("an unknown option", function()
      local rc, out = support.run_cli({"--ranks", "2", support.script(compute)})
      assert.equal(2, rc)
      assert.matches("unknown option '%-%-ranks'", out)
    end)
  end)
end)
