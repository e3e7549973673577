-- comm:shrink{name=, timeout=}: a new communicator of the survivors, the
-- same at every one of them, also when players die while it runs.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")
local core = require("cicada.core")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run = support.run

-- What each survivor of a shrink reports: its old and new ranks, the
-- members (old ranks) it agreed on, and a collective over the new comm.
local function report(comm, newcomm, oldranks)
  local ok, gathered = pcall(newcomm.allgather, newcomm, comm.rank)
  return {old = comm.rank, new = newcomm.rank, size = newcomm.world_size, name = newcomm.name,
          oldranks = oldranks, gathered = ok and gathered or errors.kind(gathered)}
end

-- Check that the survivors in `results` (nil for the dead) agree on one
-- member list holding all of them, renumbered in old order.
local function assert_agreed(results, must_include)
  local members
  for _, r in pairs(results) do
    if type(r) == "table" and r.oldranks then
      members = members or r.oldranks
      assert.same(members, r.oldranks)
      assert.equal(#members, r.size)
      assert.equal(r.old, members[r.new + 1])
    end
  end
  assert.is_not_nil(members, "no survivor shrank")
  for i = 2, #members do assert.is_true(members[i - 1] < members[i]) end
  for _, rank in ipairs(must_include or {}) do
    local found = false
    for _, m in ipairs(members) do found = found or m == rank end
    assert.is_true(found, "survivor " .. rank .. " left out")
  end
  return members
end

describe("shrink", function()
  for _, n in ipairs{2, 3, 10} do
    it(("keeps all %d players of a healthy communicator, in order"):format(n), function()
      local results = run(n, function(comm)
        local newcomm, oldranks = comm:shrink{name = "same"}
        return report(comm, newcomm, oldranks)
      end)
      local all = {}
      for r = 0, n - 1 do all[r + 1] = r end
      for r = 0, n - 1 do
        assert.same({old = r, new = r, size = n, name = "same", oldranks = all, gathered = all},
                    results[r + 1])
      end
    end)
  end

  -- The recovery scenarios of the seed's peer system.
  for _, case in ipairs{{2, 0}, {2, 1}, {4, 0}, {4, 2}, {8, 6}} do
    local n, dying = case[1], case[2]
    it(("recovers %d players after player %d dies"):format(n, dying), function()
      local results = run(n, function(comm)
        if comm.rank == dying then cicada.inject.kill() end
        local ok, err = pcall(comm.allgather, comm, comm.rank)
        assert(not ok, "allgather succeeded without player " .. dying)
        comm:revoke()
        local newcomm, oldranks = comm:shrink{name = "fallback"}
        local r = report(comm, newcomm, oldranks)
        r.kind = errors.kind(err)
        return r
      end)
      local expected = {}
      for r = 0, n - 1 do if r ~= dying then expected[#expected + 1] = r end end
      for r = 0, n - 1 do
        if r == dying then
          assert.equal("Terminated(exitcode=-9)", tostring(results[r + 1]))
        else
          local got = results[r + 1]
          assert.is_true(got.kind == "peer_failed" or got.kind == "revoked")
          assert.same(expected, got.oldranks)
          assert.same(expected, got.gathered)
          assert.equal("fallback", got.name)
        end
      end
    end)
  end

  -- In a world of 6, a player sends 5 votes, then 5 estimates in its round.
  it("gives every survivor the same members when a second player dies during it", function()
    for messages = 0, 9 do
      local results = run(6, function(comm)
        if comm.rank == 5 then cicada.inject.kill() end
        pcall(comm.barrier, comm)
        comm:revoke()
        if comm.rank == 3 then cicada.inject.kill_in_agreement(comm, messages) end
        local newcomm, oldranks = comm:shrink{name = "second"}
        return report(comm, newcomm, oldranks)
      end)
      assert_agreed(results, {0, 1, 2, 4})
      assert.equal("Terminated(exitcode=-9)", tostring(results[4]))
    end
  end)

  it("survives the death of the lowest rank, its first coordinator, during recovery", function()
    for messages = 0, 7 do
      local results = run(5, function(comm)
        if comm.rank == 4 then cicada.inject.kill() end
        pcall(comm.barrier, comm)
        comm:revoke()
        if comm.rank == 0 then cicada.inject.kill_in_agreement(comm, messages) end
        local newcomm, oldranks = comm:shrink{name = "lowest"}
        local r = report(comm, newcomm, oldranks)
        -- a second shrink leaves out player 0 if the first kept it
        newcomm:revoke()
        local again, old2 = newcomm:shrink{name = "again"}
        r.again = {}
        for i, o in ipairs(old2) do r.again[i] = oldranks[o + 1] end
        r.again_size = again.world_size
        return r
      end)
      for r = 2, 4 do assert.same({1, 2, 3}, results[r].again) end
      assert_agreed({results[2], results[3], results[4]}, {1, 2, 3})
    end
  end)

  it("raises excluded at a frozen player that wakes after the others shrank without it", function()
    local results = run(3, function(comm)
      local pids = comm:allgather(core.getpid())
      if comm.rank == 2 then
        cicada.inject.hang()
        pcall(comm.allgather, comm, 1)
        comm:revoke()
        local ok, err = pcall(comm.shrink, comm, {name = "alone"})
        return {ok, errors.kind(err), tostring(err)}
      end
      pcall(comm.recv, comm, 2, 0)
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "pair"}
      if comm.rank == 0 then os.execute("kill -CONT " .. pids[3]) end
      local all = newcomm:allgather(comm.rank)
      -- stay until player 2 is gone: exiting would reset our links to it
      -- and could throw away the notice it has not read yet
      local deadline = core.now() + support.seconds(5)
      while os.execute("kill -0 " .. pids[3] .. " 2>/dev/null") and core.now() < deadline do
        core.sleep(0.01)
      end
      return {oldranks, all}
    end, {heartbeat_interval = 0.05, heartbeat_timeout = support.seconds(0.5)})
    assert.same({{0, 1}, {0, 1}}, results[1])
    assert.same({{0, 1}, {0, 1}}, results[2])
    local r = results[3]
    assert.same({false, "excluded"}, {r[1], r[2]})
    assert.matches("^Comm world player 2 was left out of SHRINK: player [01] declared it failed", r[3])
  end)

  it("works on a revoked communicator and names the new one", function()
    local results = run(3, function(comm)
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "next", timeout = 2}
      return {newcomm.name, newcomm.revoked, comm.revoked, oldranks}
    end)
    for r = 1, 3 do assert.same({"next", false, true, {0, 1, 2}}, results[r]) end
  end)

  it("keeps the communicator's name when given none", function()
    local results = run(2, function(comm)
      local newcomm, oldranks = comm:shrink()
      return {newcomm.name, oldranks}
    end, {name = "crew"})
    assert.same({"crew", {0, 1}}, results[1])
  end)

  it("can shrink the communicator it made, again and again", function()
    local results = run(4, function(comm)
      local c = comm
      for i = 1, 5 do
        local nc = c:shrink{name = "gen-" .. i}
        if c ~= comm then c:free() end
        c = nc
      end
      return {c.name, c:allgather(comm.rank)}
    end)
    for r = 1, 4 do assert.same({"gen-5", {0, 1, 2, 3}}, results[r]) end
  end)

  it("rejects a name that is not a string, and a freed communicator", function()
    local results = run(2, function(comm)
      local ok1, e1 = pcall(function() return comm:shrink{name = 5} end)
      local ok2, e2 = pcall(function() return comm:shrink("fallback") end)
      comm:free()
      local ok3, e3 = pcall(comm.shrink, comm, {name = "x"})
      return {ok1, tostring(e1), ok2, tostring(e2), ok3, errors.kind(e3)}
    end)
    local r = results[1]
    assert.is_false(r[1])
    assert.matches("bad argument #1 to 'shrink' %(option 'name' must be a string, got number%)", r[2])
    assert.is_false(r[3])
    assert.matches("bad argument #1 to 'shrink' %(options table expected, got string%)", r[4])
    assert.same({false, "not_running"}, {r[5], r[6]})
  end)
end)
