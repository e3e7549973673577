-- Players started by Open MPI's mpirun: each takes its rank and the world
-- size from mpirun's environment, so one command line serves every rank.
-- Needs Debian's openmpi-bin; without mpirun the spec says so and skips.
local support = require("support")

local function have_mpirun()
  return os.execute("command -v mpirun > /dev/null 2>&1") == true
end

-- mpirun refuses root without --allow-run-as-root, and more ranks than
-- cores without --oversubscribe. The sanitizer builds preload their runtime
-- for the uninstrumented lua5.4 (LD_PRELOAD); mpirun itself must not get it
-- (ThreadSanitizer reports races inside Open MPI), and cicada-lua, built
-- instrumented, does not need it.
local function mpirun(n)
  return {"env", "-u", "LD_PRELOAD", "mpirun", "--allow-run-as-root", "--oversubscribe",
          "-n", tostring(n)}
end

describe("mpirun -n N cicada-lua --root-address URL script.lua", function()
  after_each(support.cleanup)

  if not have_mpirun() then
    pending("mpirun not found: install Debian's openmpi-bin to run this spec")
    return
  end

  it("forms a world of N players that compute together", function()
    local root = ("tcp://127.0.0.1:%d"):format(support.port())
    local h = support.start({"--root-address", root, support.script([[
      local comm = require("cicada").connect()
      local all = comm:allgather(comm.rank * 10)
      print(("player %d of %d got %s"):format(comm.rank, comm.world_size, table.concat(all, ",")))
    ]])}, nil, mpirun(3))
    local rc, out = support.wait(h, 60)
    assert.equal(0, rc, out)
    for r = 0, 2 do
      assert.matches(("player %d of 3 got 0,10,20"):format(r), out, 1, true)
    end
  end)

  -- mpirun aborts the job at the first player that exits non-zero, so the
  -- others may be stopped before they can say what they saw.
  it("names a player that raises, and mpirun exits non-zero", function()
    local root = ("tcp://127.0.0.1:%d"):format(support.port())
    local h = support.start({"--root-address", root, support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect()
      if comm.rank == 1 then error("player one gives up") end
      pcall(comm.recv, comm, 1, 0)
    ]])}, nil, mpirun(3))
    local rc, out = support.wait(h, 60)
    assert.are_not.equal(0, rc, out)
    assert.matches("player 1: [^\n]*player one gives up", out)
  end)
end)
