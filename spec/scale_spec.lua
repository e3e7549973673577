-- Large worlds: the relayed collectives (communicators of 8 players or
-- more) give the results of the direct ones and fail the same way, naming
-- the player that failed and never the one that relayed; a frozen player
-- is known everywhere, also where nobody waits on it; and a world of 128
-- players on one host runs, loses a player, shrinks and runs again.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")
local core = require("cicada.core")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run = support.run

-- Heartbeat timings for the tests of detection: a frozen player is noticed
-- after HB_TIMEOUT, which leaves a live one slowed by load or a sanitizer
-- room to be heard from.
local HB_INTERVAL, HB_TIMEOUT = 0.05, support.seconds(0.5)

-- pcall fn and return the error's kind and message ("ok" if it returned).
local function attempt(fn)
  local t = core.now()
  local ok, err = pcall(fn)
  return {kind = ok and "ok" or errors.kind(err), message = ok and "" or tostring(err),
          peer = not ok and type(err) == "table" and err.peer or nil, seconds = core.now() - t}
end

-- The value player r contributes: of every kind the codec carries, and
-- big enough at some players to travel in a message of its own.
local function value_of(r)
  if r % 4 == 0 then return ("%d"):format(r):rep(40000) end
  if r % 4 == 1 then return {r, "x" .. r, {nested = r * 1.5}} end
  if r % 4 == 2 then return r * 1000 end
  return "player " .. r
end

describe("relayed collectives", function()
  it("give every member the results of the direct forms", function()
    for _, n in ipairs{8, 11} do
      local results = support.run_all(n, function(comm)
        local all = comm:allgather(value_of(comm.rank))
        local from = {}
        for root = 0, comm.world_size - 1 do
          from[root + 1] = comm:broadcast(root, comm.rank == root and value_of(root) or nil)
        end
        comm:barrier()
        -- the same values, gathered one by one over point-to-point sends
        local direct = comm:gather(value_of(comm.rank), 0)
        return {all = all, from = from, direct = direct}
      end)
      local expected = {}
      for r = 0, n - 1 do expected[r + 1] = value_of(r) end
      assert.same(expected, results[1].direct)
      for r = 1, n do
        assert.same(expected, results[r].all)
        assert.same(expected, results[r].from)
      end
    end
  end)

  it("raise peer_failed at every survivor, naming the killed player", function()
    local results = run(9, function(comm)
      if comm.rank == 3 then cicada.inject.kill() end
      local out = {}
      out.allgather = attempt(function() return comm:allgather(comm.rank) end)
      out.barrier = attempt(function() return comm:barrier() end)
      out.broadcast = attempt(function() return comm:broadcast(3, nil) end)
      return out
    end)
    for r = 1, 9 do
      if r ~= 4 then
        for call, tag in pairs{allgather = "ALLGATHER", barrier = "BARRIER", broadcast = "BROADCAST"} do
          local got = results[r][call]
          assert.equal("peer_failed", got.kind, call)
          assert.equal(("Tag %s from player 3 failed: connection closed"):format(tag), got.message)
          assert.equal(3, got.peer)
        end
      end
    end
  end)

  it("raise at the members downstream of a root that died", function()
    local results = run(9, function(comm)
      if comm.rank == 0 then cicada.inject.kill() end
      return attempt(function() return comm:broadcast(0, nil) end)
    end)
    for r = 2, 9 do
      assert.equal("peer_failed", results[r].kind)
      assert.equal("Tag BROADCAST from player 0 failed: connection closed", results[r].message)
    end
  end)

  it("raise revoked at every member when one revokes instead of joining", function()
    local results = run(9, function(comm)
      if comm.rank == 5 then
        core.sleep(0.2)
        comm:revoke()
        return {kind = "revoker"}
      end
      return attempt(function() return comm:allgather(comm.rank) end)
    end)
    for r = 1, 9 do
      if r ~= 6 then
        assert.equal("revoked", results[r].kind)
        assert.equal("Comm world was revoked by player 5", results[r].message)
      end
    end
  end)
end)

describe("failure detection in a larger world", function()
  it("lets every player know of a frozen one, also those not waiting on it", function()
    local results = run(9, function(comm, limit)
      if comm.rank == 4 then cicada.inject.hang() end
      -- nobody waits for a message meanwhile: only polls failed()
      local deadline = core.now() + limit
      while #comm:failed() == 0 and core.now() < deadline do core.sleep(0.01) end
      return comm:failed()
    end, {heartbeat_interval = HB_INTERVAL, heartbeat_timeout = HB_TIMEOUT,
          args = {HB_TIMEOUT + support.seconds(3)}})
    for r = 1, 9 do
      if r ~= 5 then assert.same({4}, results[r]) end
    end
    assert.equal("Terminated(exitcode=-9)", tostring(results[5]))
  end)

  it("raises at every player waiting on a frozen one", function()
    local results = run(16, function(comm)
      if comm.rank == 15 then cicada.inject.hang() end
      return attempt(function() return comm:recv(15, 0) end)
    end, {heartbeat_interval = HB_INTERVAL, heartbeat_timeout = HB_TIMEOUT})
    for r = 1, 15 do
      assert.equal("peer_failed", results[r].kind)
      assert.equal(("Tag 0 from player 15 failed: silent for %gs (heartbeat timeout)"):format(
                     HB_TIMEOUT), results[r].message)
      -- about the timeout, at every one of them: not one after another
      assert.is_true(results[r].seconds < HB_TIMEOUT + support.seconds(2.5), ("player %d waited %.2fs"):format(r - 1,
                                                                        results[r].seconds))
    end
  end)
end)

describe("a world of 128 players", function()
  it("runs a round, loses a player, shrinks and runs another", function()
    local results = run(128, function(comm)
      local first = comm:allgather(comm.rank)
      if comm.rank == 77 then cicada.inject.kill() end
      local ok, err = pcall(comm.allgather, comm, comm.rank)
      if ok then return {error = "the round without player 77 completed"} end
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "survivors"}
      local second = newcomm:allgather(comm.rank)
      return {first = #first, kind = errors.kind(err), message = tostring(err),
              size = newcomm.world_size, second = second, oldranks = oldranks}
    end, {timeout = support.seconds(20), startup_timeout = support.seconds(20), heartbeat_interval = 0.5,
        heartbeat_timeout = support.seconds(2)})
    local survivors = {}
    for r = 0, 127 do if r ~= 77 then survivors[#survivors + 1] = r end end
    for r = 1, 128 do
      if r ~= 78 then
        local got = results[r]
        assert.is_nil(getmetatable(got), ("player %d: %s"):format(r - 1, tostring(got)))
        assert.is_nil(got.error)
        assert.equal(128, got.first)
        -- A player that starts the round after another survivor revoked
        -- raises revoked; every other one names the player that died.
        if got.kind == "revoked" then
          assert.matches("^Comm world was revoked by player %d+$", got.message)
        else
          assert.equal("peer_failed", got.kind)
          assert.equal("Tag ALLGATHER from player 77 failed: connection closed", got.message)
        end
        assert.equal(127, got.size)
        assert.same(survivors, got.second)
        assert.same(survivors, got.oldranks)
      end
    end
    assert.equal("Terminated(exitcode=-9)", tostring(results[78]))
  end)
end)
