-- comm:agree(flag) and comm:split(name): the same agreement as shrink, giving
-- every survivor the same answer.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run = support.run

describe("agree", function()
  for _, n in ipairs{1, 3, 7} do
    it(("is true at all %d players when all vote true"):format(n), function()
      local results = run(n, function(comm) return comm:agree(true) end)
      for r = 1, n do assert.is_true(results[r]) end
    end)
  end

  for _, n in ipairs{2, 3, 7} do
    it(("is false at all %d players when one votes false"):format(n), function()
      for liar = 0, n - 1, math.max(1, n // 3) do
        local results = run(n, function(comm) return comm:agree(comm.rank ~= liar) end)
        for r = 1, n do assert.is_false(results[r]) end
      end
    end)
  end

  it("runs many times in a row, each answer its own", function()
    local results = run(4, function(comm)
      local answers = {}
      for i = 1, 50 do answers[i] = comm:agree(i % 3 ~= 0 or comm.rank ~= i % 4) end
      return answers
    end)
    for i = 1, 50 do
      for r = 1, 4 do assert.equal(i % 3 ~= 0, results[r][i]) end
    end
  end)

  it("gives the survivors one answer after a death, on a revoked communicator", function()
    for dying = 0, 3 do
      local results = run(4, function(comm)
        if comm.rank == dying then cicada.inject.kill() end
        pcall(comm.barrier, comm)
        comm:revoke()
        return comm:agree(true)
      end)
      for r = 0, 3 do
        if r ~= dying then assert.is_true(results[r + 1]) end
      end
    end
  end)

  it("gives the survivors one answer when a player dies while agreeing", function()
    for messages = 0, 7 do
      local results = run(5, function(comm)
        if comm.rank == 1 then cicada.inject.kill_in_agreement(comm, messages) end
        return comm:agree(comm.rank ~= 1)
      end)
      local answer = results[1]
      assert.is_boolean(answer)
      for _, r in ipairs{1, 3, 4, 5} do assert.equal(answer, results[r]) end
      assert.equal("Terminated(exitcode=-9)", tostring(results[2]))
    end
  end)

  it("rejects a flag that is not a boolean", function()
    local results = run(1, function(comm)
      local _, err = pcall(function() return comm:agree(1) end)
      return tostring(err)
    end)
    assert.matches("bad argument #1 to 'agree' %(boolean expected, got number%)", results[1])
  end)

  it("raises not_running on a freed communicator", function()
    local results = run(2, function(comm)
      comm:free()
      local _, err = pcall(function() return comm:agree(true) end)
      return errors.kind(err)
    end)
    assert.same({"not_running", "not_running"}, results)
  end)
end)

describe("split", function()
  it("groups the players giving the same name in rank order, nil giving nil", function()
    local names = {"a", "b", "a", nil, "b", "a", nil}
    local results = run(7, function(comm)
      local name = names[comm.rank + 1]
      local sub = comm:split(name)
      if not sub then return "none" end
      return {name = sub.name, rank = sub.rank, size = sub.world_size,
              members = sub:allgather(comm.rank)}
    end)
    local a = {0, 2, 5}
    local b = {1, 4}
    assert.same({name = "a", rank = 0, size = 3, members = a}, results[1])
    assert.same({name = "b", rank = 0, size = 2, members = b}, results[2])
    assert.same({name = "a", rank = 1, size = 3, members = a}, results[3])
    assert.equal("none", results[4])
    assert.same({name = "b", rank = 1, size = 2, members = b}, results[5])
    assert.same({name = "a", rank = 2, size = 3, members = a}, results[6])
    assert.equal("none", results[7])
  end)

  it("gives each group a communicator of its own", function()
    local results = run(4, function(comm)
      local sub = comm:split(comm.rank % 2 == 0 and "even" or "odd")
      -- the same tag in both groups at once: nothing crosses over
      local got = sub:allgather(comm.rank * 10)
      local again = comm:split("all")
      return {got, again:allgather(comm.rank)}
    end)
    assert.same({{0, 20}, {0, 1, 2, 3}}, results[1])
    assert.same({{10, 30}, {0, 1, 2, 3}}, results[2])
  end)

  it("rejects a name that is not a string", function()
    local results = run(1, function(comm)
      local _, err = pcall(function() return comm:split(3) end)
      return tostring(err)
    end)
    assert.matches("bad argument #1 to 'split' %(string or nil expected, got number%)", results[1])
  end)
end)
