-- cicada.recovery, and the seed's running total surviving failures: the
-- survivors always agree on the revealed total and nothing deadlocks.
local cicada = require("cicada")
local errors = require("cicada.errors")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

-- The seed's running total under cicada.recovery. make_fail(world_rank)
-- gives each player a function(iteration) that may kill it at the top of
-- an iteration. Each player returns what it revealed, iteration by
-- iteration, and how recovery ended.
local function running_total(n, iterations, make_fail)
  return cicada.run{world_size = n, name = "world-0", fn = function(comm)
    local fail = make_fail(comm.rank)
    local total_share
    local revealed = {}
    local outcome = cicada.recovery.run(comm, {
      threshold = 2,
      iterations = iterations,
      setup = function(c, old, oldranks)
        return {protocol = cicada.shamir.BasicProtocolSuite(c, {
          threshold = 2, indices = old and old.protocol:indices_for(oldranks)})}
      end,
      start = function(state)
        total_share = state.protocol:share(0, comm.rank == 0 and 0 or nil, {})
      end,
      step = function(state, iteration)
        fail(iteration)
        local protocol, c = state.protocol, state.comm
        local contributor = iteration % c.world_size
        local increment = c.rank == contributor and 1 or nil
        total_share = protocol:add(total_share, protocol:share(contributor, increment, {}))
        revealed[iteration + 1] = protocol:reveal(total_share)
      end,
    })
    return {revealed = revealed, reason = outcome.reason, generations = outcome.generations,
            name = outcome.comm and outcome.comm.name, size = outcome.comm and outcome.comm.world_size}
  end}
end

-- Every two survivors revealed the same totals wherever both revealed, and
-- each total is a whole number no larger than the iterations so far.
local function assert_consistent(results)
  local survivors = {}
  for rank, r in ipairs(results) do
    if errors.is_failed(r) then error("player " .. (rank - 1) .. " raised: " .. tostring(r.error)) end
    if type(r) == "table" and r.revealed then survivors[#survivors + 1] = r end
  end
  for i = 2, #survivors do
    for it, total in pairs(survivors[i].revealed) do
      local other = survivors[1].revealed[it]
      if other ~= nil then assert.equal(other, total, "totals differ at iteration " .. (it - 1)) end
    end
  end
  for _, s in ipairs(survivors) do
    for it, total in pairs(s.revealed) do
      assert.equal(math.floor(total), total)
      assert.is_true(total >= 1 and total <= it, ("total %s at iteration %d"):format(total, it - 1))
    end
  end
  return survivors
end

describe("cicada.recovery", function()
  it("carries the seed's total of 8 through the death of player 3", function()
    local results = running_total(4, 8, function(rank)
      return function(iteration)
        if iteration == 4 and rank == 3 then cicada.inject.kill() end
      end
    end)
    for r = 1, 3 do
      assert.equal("done", results[r].reason)
      assert.equal(1, results[r].generations)
      assert.equal("world-1", results[r].name)
      assert.equal(3, results[r].size)
      assert.equal(8.0, results[r].revealed[8])
      assert.same({1.0, 2.0, 3.0, 4.0}, {table.unpack(results[r].revealed, 1, 4)})
    end
    assert.equal("Terminated(exitcode=-9)", tostring(results[4]))
  end)

  it("stops cleanly when too few players remain for the threshold", function()
    local results = running_total(3, 50, function(rank)
      return function(iteration)
        if iteration == 2 and rank == 2 then cicada.inject.kill() end
        if iteration == 5 and rank == 1 then cicada.inject.kill() end
      end
    end)
    assert.equal("too_few", results[1].reason)
    assert.equal(1, results[1].generations)
    -- iteration 2's contributor was the dead player 2, so its increment is lost
    assert.same({1.0, 2.0, nil, 3.0, 4.0}, {table.unpack(results[1].revealed, 1, 5)})
    assert.is_nil(results[1].revealed[6])
    assert_consistent(results)
  end)

  -- A total that a step adds to only once its reveal succeeded, so that a
  -- retried iteration never adds twice; player 2 dies at the top of
  -- iteration 2, the iteration whose contributor it is.
  local function committed_total(retry)
    return cicada.run{world_size = 3, fn = function(comm)
      local total_share, revealed = nil, {}
      local outcome = cicada.recovery.run(comm, {
        threshold = 2, iterations = 6, retry = retry,
        setup = function(c, old, oldranks)
          return {protocol = cicada.shamir.BasicProtocolSuite(c, {
            threshold = 2, indices = old and old.protocol:indices_for(oldranks)})}
        end,
        start = function(state)
          total_share = state.protocol:share(0, comm.rank == 0 and 0 or nil, {})
        end,
        step = function(state, iteration)
          if iteration == 2 and comm.rank == 2 then cicada.inject.kill() end
          local protocol, c = state.protocol, state.comm
          local contributor = iteration % c.world_size
          local new_total = protocol:add(total_share,
            protocol:share(contributor, c.rank == contributor and 1 or nil, {}))
          revealed[iteration + 1] = protocol:reveal(new_total)
          total_share = new_total
        end,
      })
      return {revealed = revealed, skipped = outcome.skipped, reason = outcome.reason,
              generations = outcome.generations}
    end}
  end

  it("skips the iteration that failed by default, and says so in skipped", function()
    local results = committed_total(nil)
    for r = 1, 2 do
      assert.equal("done", results[r].reason)
      assert.same({2}, results[r].skipped)
      -- iteration 2's increment is lost: 5 where 6 iterations were meant
      assert.same({1.0, 2.0, nil, 3.0, 4.0, 5.0}, {table.unpack(results[r].revealed, 1, 6)})
    end
    assert.equal("Terminated(exitcode=-9)", tostring(results[3]))
  end)

  it("runs the iteration that failed again on the survivors with retry = true", function()
    local results = committed_total(true)
    for r = 1, 2 do
      assert.equal("done", results[r].reason)
      assert.equal(1, results[r].generations)
      assert.same({}, results[r].skipped)
      assert.same({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, results[r].revealed)
    end
  end)

  it("rejects a retry that is not a boolean", function()
    local results = cicada.run{world_size = 1, fn = function(comm)
      local _, err = pcall(cicada.recovery.run, comm, {
        setup = function() return {} end, step = function() end, retry = "yes"})
      return err
    end}
    assert.matches("bad argument #2 to 'run' %('retry' must be a boolean, got string%)",
                   results[1])
  end)

  it("re-raises an error that is not a communication failure", function()
    local results = cicada.run{world_size = 2, fn = function(comm)
      return {pcall(cicada.recovery.run, comm, {
        setup = function() return {} end,
        step = function() error("a bug in the step", 0) end,
      })}
    end}
    assert.same({false, "a bug in the step"}, results[1])
  end)

  it("rejects a policy without setup or step", function()
    local results = cicada.run{world_size = 1, fn = function(comm)
      local _, err = pcall(cicada.recovery.run, comm, {setup = function() return {} end})
      return err
    end}
    assert.matches("bad argument #2 to 'run' %('step' must be a function, got nil%)", results[1])
  end)

  it("keeps the survivors' totals equal over 100 seeds of random failures, with no deadlock", function()
    local deaths = 0
    for seed = 1, 100 do
      local results = running_total(3 + seed % 5, 25, function(rank)
        return cicada.inject.random_failure{pfail = 0.06, seed = seed * 1000 + rank}
      end)
      assert_consistent(results)
      for _, r in ipairs(results) do
        if errors.is_terminated(r) then deaths = deaths + 1 end
      end
    end
    assert.is_true(deaths > 50, "too few failures to test anything: " .. deaths)
  end)
end)
