-- comm:revoke(): it reaches every player, wakes pending calls, is logged once
-- per player, and makes every call but shrink, agree, failed, stats and free
-- raise `revoked`.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")
local core = require("cicada.core")


-- The revoke warnings of the players would fill the test output.
cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run = support.run

local stderr_of = support.stderr_of

-- What a blocked receive raises once `revoker` revokes: every player waits
-- for a message from its right neighbour that never comes.
local function revoke_from(n, revoker)
  return run(n, function(comm)
    if comm.rank == revoker then comm:revoke() end
    local ok, err = pcall(comm.recv, comm, (comm.rank + 1) % comm.world_size, 1)
    return {ok = ok, kind = errors.kind(err), message = tostring(err), revoked = comm.revoked}
  end)
end

describe("revoke", function()
  for _, case in ipairs{{2, {0, 1}}, {3, {0, 1, 2}}, {10, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
                       {32, {0, 1, 15, 16, 30, 31}}} do
    local n, revokers = case[1], case[2]
    it(("reaches every player of %d from rank %s"):format(n, table.concat(revokers, ", ")), function()
      for _, revoker in ipairs(revokers) do
        local results = revoke_from(n, revoker)
        for rank = 0, n - 1 do
          assert.same({ok = false, kind = "revoked", revoked = true,
                       message = ("Comm world was revoked by player %d"):format(revoker)},
                      results[rank + 1])
        end
      end
    end)
  end

  it("wakes a pending recv at once, not at its timeout", function()
    local results = run(3, function(comm)
      if comm.rank == 1 then
        core.sleep(0.2)
        comm:revoke()
        return
      end
      local t = core.now()
      local _, err = pcall(comm.recv, comm, 1, 0)
      return {errors.kind(err), core.now() - t}
    end, {timeout = support.seconds(5)})
    for _, r in ipairs{1, 3} do
      assert.equal("revoked", results[r][1])
      assert.is_true(results[r][2] < support.seconds(2.5))   -- half comm.timeout
    end
  end)

  it("is idempotent, and each player logs it once", function()
    local out = stderr_of([[
      local cicada = require("cicada")
      cicada.run{world_size = 4, fn = function(comm)
        comm:revoke()
        comm:revoke()
        pcall(comm.barrier, comm)
        comm:revoke()
      end}
    ]])
    local seen = {}
    for line in out:gmatch("[^\n]+") do
      local rank, by = line:match("^WARNING:cicada.communicator:Comm world player (%d+) revoked by player (%d+)$")
      assert.is_not_nil(rank, "unexpected line: " .. line)
      assert.is_nil(seen[rank], "player " .. rank .. " logged twice")
      seen[rank] = by
    end
    for rank = 0, 3 do assert.is_not_nil(seen[tostring(rank)]) end
  end)

  it("sets comm.revoked at every player", function()
    local results = run(4, function(comm)
      local before = comm.revoked
      comm:barrier()
      if comm.rank == 3 then comm:revoke() end
      pcall(comm.barrier, comm)
      return {before, comm.revoked}
    end)
    for r = 1, 4 do assert.same({false, true}, results[r]) end
  end)

  it("makes every call raise revoked except shrink, agree, failed, stats and free", function()
    local results = run(3, function(comm)
      comm:revoke()
      pcall(comm.barrier, comm)
      local calls = {
        send = function() comm:send(1, (comm.rank + 1) % 3, 0) end,
        recv = function() return comm:recv((comm.rank + 1) % 3, 0) end,
        allgather = function() return comm:allgather(1) end,
        barrier = function() comm:barrier() end,
        broadcast = function() return comm:broadcast(0, 1) end,
        gather = function() return comm:gather(1, 0) end,
        gatherv = function() return comm:gatherv({0, 1, 2}, 1, 0) end,
        scatter = function() return comm:scatter(0, {1, 2, 3}) end,
        scatterv = function() return comm:scatterv(0, {1, 2, 3}, {0, 1, 2}) end,
        irecv = function() return comm:irecv((comm.rank + 1) % 3, 0):wait() end,
      }
      local kinds = {}
      for name, call in pairs(calls) do
        local ok, err = pcall(call)
        kinds[name] = ok and "ok" or errors.kind(err)
      end
      local allowed = {failed = comm:failed(), stats = type(comm:stats()), agree = comm:agree(true)}
      local newcomm, oldranks = comm:shrink{name = "after"}
      allowed.shrink = {newcomm.world_size, oldranks}
      comm:free()
      allowed.freed = comm.freed
      return {kinds = kinds, allowed = allowed}
    end)
    for r = 1, 3 do
      for name, kind in pairs(results[r].kinds) do
        assert.equal("revoked", kind, name .. " did not raise revoked")
      end
      assert.same({failed = {}, stats = "table", agree = true, shrink = {3, {0, 1, 2}}, freed = true},
                  results[r].allowed)
    end
  end)

  it("raises not_running on a freed communicator", function()
    local results = run(2, function(comm)
      comm:free()
      local ok, err = pcall(comm.revoke, comm)
      return {ok, errors.kind(err), tostring(err)}
    end)
    assert.same({false, "not_running", "Comm world was freed"}, results[1])
  end)
end)
