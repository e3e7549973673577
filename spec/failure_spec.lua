-- Failure detection: a killed player is known at once, a frozen one after
-- the heartbeat timeout, a busy one never; every call that needs a failed
-- player raises peer_failed as soon as the failure is known.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")
local core = require("cicada.core")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run = support.run
local seconds = support.seconds

-- Heartbeat timings for the tests of detection: a frozen player is noticed
-- after HB_TIMEOUT, which leaves a live one slowed by load or a sanitizer
-- room to be heard from.
local HB_INTERVAL, HB_TIMEOUT = 0.05, seconds(0.5)

-- Wait (polling comm:failed()) until `rank` is known to have failed.
local function await_failure(comm, rank)
  local deadline = core.now() + seconds(5)
  while core.now() < deadline do
    for _, r in ipairs(comm:failed()) do if r == rank then return end end
    core.sleep(0.002)
  end
  error("player " .. rank .. " was never noticed")
end

-- pcall fn and return the error's kind and message, plus how long it took.
local function attempt(fn)
  local t = core.now()
  local ok, err = pcall(fn)
  return {kind = ok and "ok" or errors.kind(err), message = ok and "" or tostring(err),
          seconds = core.now() - t}
end

describe("failure detection", function()
  it("lists a killed player in failed(), and not a player that finished", function()
    local results = run(4, function(comm)
      if comm.rank == 2 then cicada.inject.kill() end
      if comm.rank == 3 then return "finished" end
      await_failure(comm, 2)
      pcall(comm.recv, comm, 3, 0)   -- returns once player 3 has left
      return comm:failed()
    end)
    assert.same({2}, results[1])
    assert.same({2}, results[2])
    assert.equal("finished", results[4])
  end)

  it("tells the others the first line of the error of a player that raised", function()
    local results = run(3, function(comm)
      if comm.rank == 2 then error("the input file is empty\nand more detail", 0) end
      local r = attempt(function() return comm:recv(2, 7) end)
      r.failed = comm:failed()
      return r
    end, {timeout = seconds(5)})
    for r = 1, 2 do
      assert.equal("peer_failed", results[r].kind)
      assert.equal("Tag 7 from player 2 failed: the input file is empty", results[r].message)
      assert.same({2}, results[r].failed)
    end
    assert.is_true(errors.is_failed(results[3]))
  end)

  it("delivers what a player that raised sent before its error", function()
    local results = run(2, function(comm)
      if comm.rank == 1 then
        comm:send("before", 0, 3)
        error("gave up", 0)
      end
      local first = comm:recv(1, 3)
      return {first, attempt(function() return comm:recv(1, 3) end).message}
    end, {timeout = seconds(5)})
    assert.same({"before", "Tag 3 from player 1 failed: gave up"}, results[1])
  end)

  it("raises peer_failed at once from a recv that needs a killed player", function()
    local results = run(3, function(comm)
      if comm.rank == 1 then
        core.sleep(0.1)
        cicada.inject.kill()
      end
      return attempt(function() return comm:recv(1, 4) end)
    end, {timeout = seconds(5)})
    for _, r in ipairs{1, 3} do
      assert.equal("peer_failed", results[r].kind)
      assert.equal("Tag 4 from player 1 failed: connection closed", results[r].message)
      assert.is_true(results[r].seconds < seconds(2.5))   -- half the timeout
    end
  end)

  it("makes send and every collective that needs the dead player raise peer_failed", function()
    local results = run(3, function(comm)
      if comm.rank == 2 then cicada.inject.kill() end
      await_failure(comm, 2)
      local out = {
        send = attempt(function() comm:send("x", 2, 5) end),
        recv = attempt(function() return comm:recv(2, 5) end),
        allgather = attempt(function() return comm:allgather(1) end),
        barrier = attempt(function() comm:barrier() end),
        broadcast = attempt(function() return comm:broadcast(2, nil) end),
        scatter = attempt(function() return comm:scatter(2, nil) end),
        scatterv = attempt(function() return comm:scatterv(2, nil, {0, 1}) end),
      }
      if comm.rank == 0 then
        out.gather = attempt(function() return comm:gather(1, 0) end)
        out.gatherv = attempt(function() return comm:gatherv({1, 2}, 1, 0) end)
      else
        comm:gather(1, 0)
        comm:gatherv({1, 2}, 1, 0)
      end
      return out
    end)
    local expected = {
      send = "Tag 5 to player 2 failed: connection closed",
      recv = "Tag 5 from player 2 failed: connection closed",
      allgather = "Tag ALLGATHER from player 2 failed: connection closed",
      barrier = "Tag BARRIER from player 2 failed: connection closed",
      broadcast = "Tag BROADCAST from player 2 failed: connection closed",
      scatter = "Tag SCATTER from player 2 failed: connection closed",
      scatterv = "Tag SCATTERV from player 2 failed: connection closed",
      gather = "Tag GATHER from player 2 failed: connection closed",
      gatherv = "Tag GATHERV from player 2 failed: connection closed",
    }
    for r = 1, 2 do
      for call, got in pairs(results[r]) do
        assert.equal("peer_failed", got.kind, call)
        assert.equal(expected[call], got.message)
        assert.is_true(got.seconds < seconds(1), call .. " waited")
      end
    end
    assert.equal(9, (function() local n = 0; for _ in pairs(results[1]) do n = n + 1 end; return n end)())
  end)

  it("carries the communicator, rank, peer and tag in the error", function()
    local results = run(2, function(comm)
      if comm.rank == 1 then cicada.inject.kill() end
      local _, err = pcall(comm.allgather, comm, 1)
      return {err.kind, err.comm, err.rank, err.peer, err.tag}
    end, {name = "crew"})
    assert.same({"peer_failed", "crew", 0, 1, "ALLGATHER"}, results[1])
  end)

  it("notices a frozen player after the heartbeat timeout and closes its links", function()
    local results = run(3, function(comm)
      if comm.rank == 2 then cicada.inject.hang() end
      return attempt(function() return comm:recv(2, 0) end)
    end, {heartbeat_interval = HB_INTERVAL, heartbeat_timeout = HB_TIMEOUT})
    for r = 1, 2 do
      assert.equal("peer_failed", results[r].kind)
      assert.equal(("Tag 0 from player 2 failed: silent for %gs (heartbeat timeout)"):format(
                     HB_TIMEOUT), results[r].message)
      assert.is_true(results[r].seconds < HB_TIMEOUT + seconds(2))
    end
    assert.equal("Terminated(exitcode=-9)", tostring(results[3]))
  end)

  it("never suspects a player computing in Lua for twice the heartbeat timeout", function()
    local results = run(3, function(comm, busy)
      if comm.rank == 1 then
        local t, x = core.now(), 0
        while core.now() - t < busy do x = x + 1 end
      end
      local all = comm:allgather(comm.rank)
      return {all, comm:failed()}
    end, {heartbeat_interval = HB_INTERVAL, heartbeat_timeout = HB_TIMEOUT,
          timeout = 2 * HB_TIMEOUT + seconds(5), args = {2 * HB_TIMEOUT}})
    for r = 1, 3 do assert.same({{0, 1, 2}, {}}, results[r]) end
  end)
end)
