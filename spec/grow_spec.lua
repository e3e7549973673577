-- comm:grow admits newcomers that the launcher of a cicada.run world
-- starts; the replace policy of cicada.recovery heals a world back to its
-- size, recovering the newcomers' shares; faults during the heal shrink
-- and heal again.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local F = cicada.Field{order = require("cicada.field").SUITE_ORDER} -- the suites' default

-- Every subset of size k of the list xs.
local function subsets(xs, k)
  local out = {}
  local function walk(from, chosen)
    if #chosen == k then
      out[#out + 1] = table.move(chosen, 1, k, 1, {})
      return
    end
    for i = from, #xs do
      chosen[#chosen + 1] = xs[i]
      walk(i + 1, chosen)
      chosen[#chosen] = nil
    end
  end
  walk(1, {})
  return out
end

-- The fixed-point value that the given members' shares reconstruct; each
-- member is {share =, index =}.
local function open(members)
  local rows, xs = {}, {}
  for i, m in ipairs(members) do rows[i], xs[i] = m.share, m.index end
  return F:decode_fixed(F:shamir_recover(F:stack(rows), xs), 16)[1]
end

-- The results that are tables (the players that finished), and the others.
local function finished(results)
  local ok, other = {}, {}
  for i, r in ipairs(results) do
    if type(r) == "table" and getmetatable(r) == nil then ok[#ok + 1] = r
    else other[#other + 1] = i end
  end
  return ok, other
end

describe("comm:grow", function()
  after_each(support.cleanup)

  it("admits a newcomer after the survivors of a death: they keep their order, it takes the rank after them", function()
    local results = support.run(4, function(comm)
      if comm.joined then
        return {joined = true, rank = comm.rank, size = comm.world_size, name = comm.name,
                newranks = comm.newranks, all = comm:allgather(comm.rank * 10)}
      end
      if comm.rank == 2 then cicada.inject.kill() end
      pcall(comm.barrier, comm)
      comm:revoke()
      local shrunk, oldranks = comm:shrink{name = "shrunk"}
      local grown, newranks = shrunk:grow{count = 1, name = "healed", timeout = support.seconds(2)}
      return {joined = grown.joined, rank = grown.rank, old = oldranks[grown.rank + 1],
              size = grown.world_size, name = grown.name, newranks = newranks,
              all = grown:allgather(grown.rank * 10)}
    end, {time_limit = support.seconds(20)})
    assert.are.equal(5, #results)
    assert.is_true(errors.is_terminated(results[3]))
    for i, old in pairs{[1] = 0, [2] = 1, [4] = 3} do
      local r = results[i]
      assert.are.equal("table", type(r), tostring(r))
      assert.is_false(r.joined)
      assert.are.equal(old, r.old)
      assert.are.equal(i == 4 and 2 or old, r.rank)
    end
    local newcomer = results[5]
    assert.are.equal("table", type(newcomer), tostring(newcomer))
    assert.is_true(newcomer.joined)
    assert.are.equal(3, newcomer.rank)
    for _, i in ipairs{1, 2, 4, 5} do
      assert.are.equal(4, results[i].size)
      assert.are.equal("healed", results[i].name)
      assert.are.same({3}, results[i].newranks)
      assert.are.same({0, 10, 20, 30}, results[i].all)
    end
  end)

  it("checks its options and says where it cannot grow", function()
    -- In a process of its own: this one must not run engine threads of
    -- its own when it forks the players of the other specs.
    local rc, out = support.run_cli({support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect{}   -- a world of one, not started by cicada.run
      local ok, err = pcall(comm.grow, comm, {count = 0})
      print(ok, err)
      ok, err = pcall(comm.grow, comm, {count = 1})
      print(ok, err)
    ]])}, nil, 30)
    assert.are.equal(0, rc, out)
    local lines = support.lines(out)
    assert.matches("^false\t.*bad option 'count'", lines[1])
    assert.matches("^false\t.*not started by cicada.run", lines[2])
  end)

  it("grows a TLS world of cicada.run back: the newcomer recovers a secret under the world's identity", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
    local rc, out = support.run_cli({"credentials", "0", dir})
    assert.are.equal(0, rc, out)
    local results = support.run(4, function(comm)
      if comm.joined then
        local indices = comm:broadcast(0, nil)
        local q = cicada.shamir.ProtocolSuite(comm, {threshold = 2, indices = indices})
        local share = q:recover(nil)
        return {joined = true, rank = comm.rank, size = comm.world_size, secret = q:reveal(share)}
      end
      local p = cicada.shamir.ProtocolSuite(comm, {threshold = 2})
      local share = p:share(0, comm.rank == 0 and 42 or nil, {})
      if comm.rank == 2 then cicada.inject.kill() end
      pcall(comm.barrier, comm)
      comm:revoke()
      local shrunk, oldranks = comm:shrink{name = "shrunk"}
      local grown = shrunk:grow{count = 1, name = "healed", timeout = support.seconds(10)}
      local indices = p:indices_for(oldranks)
      indices[#indices + 1] = 3
      grown:broadcast(0, indices)
      local q = cicada.shamir.ProtocolSuite(grown, {threshold = 2, indices = indices})
      return {joined = grown.joined, rank = grown.rank, size = grown.world_size,
              secret = q:reveal(q:recover(share))}
    end, {identity = dir .. "/player-0.pem", trusted = {dir .. "/player-0.crt"}, time_limit = support.seconds(20)})
    os.execute("rm -rf " .. support.shquote(dir))
    assert.are.equal(5, #results)
    assert.is_true(errors.is_terminated(results[3]))
    for _, i in ipairs{1, 2, 4, 5} do
      local r = results[i]
      assert.are.equal("table", type(r), tostring(r))
      assert.are.equal(4, r.size)
      assert.are.equal(42.0, r.secret)
      assert.are.equal(i == 5, r.joined)
    end
    assert.are.equal(3, results[5].rank)
  end)

  it("raises at every survivor when one dies before growing, and they grow again without it", function()
    local results = support.run(4, function(comm)
      if comm.joined then
        return {joined = true, rank = comm.rank, size = comm.world_size,
                all = comm:allgather(comm.rank)}
      end
      if comm.rank == 3 then cicada.inject.kill() end
      pcall(comm.barrier, comm)
      comm:revoke()
      local shrunk = comm:shrink{name = "shrunk"}
      -- A second death: the member at rank 1 of the shrunk communicator
      -- dies instead of growing.
      if shrunk.rank == 1 then cicada.inject.kill() end
      local ok, err = pcall(shrunk.grow, shrunk, {count = 1, name = "first", timeout = 1})
      assert(not ok, "the first grow succeeded without a member")
      local kind = errors.kind(err)
      shrunk:revoke()
      local again = shrunk:shrink{name = "again"}
      local grown = again:grow{count = 2, name = "second", timeout = support.seconds(2)}
      return {joined = false, kind = kind, rank = grown.rank, size = grown.world_size,
              all = grown:allgather(grown.rank)}
    end, {time_limit = support.seconds(20)})
    local ok = finished(results)
    local survivors, newcomers = 0, 0
    for _, r in ipairs(ok) do
      assert.are.equal(4, r.size)
      assert.are.same({0, 1, 2, 3}, r.all)
      if r.joined then
        newcomers = newcomers + 1
        assert.is_true(r.rank >= 2)
      else
        survivors = survivors + 1
        local known = {peer_failed = true, revoked = true, startup_timeout = true}
        assert.is_truthy(known[r.kind], tostring(r.kind))
      end
    end
    assert.are.equal(2, survivors)
    assert.are.equal(2, newcomers)
  end)
end)

-- A running total and a secret of player 0 under the replace policy.
-- kill(world, comm, iteration, heal) says whether this player dies now.
local function healing_world(n, k, iterations, kill_at, kill_newcomer)
  return support.run(n, function(world, n_, k_, iterations_, kill_at_, kill_newcomer_)
    local shares = {}
    local outcome = cicada.recovery.run(world, {
      threshold = k_,
      iterations = iterations_,
      setup = function(comm, old, oldranks, heal)
        if heal and heal.joined and kill_newcomer_ and comm.name == kill_newcomer_ then
          cicada.inject.kill()   -- the newcomer dies before recovering
        end
        local indices = heal and heal.indices or (old and old.protocol:indices_for(oldranks))
        return {protocol = cicada.shamir.ProtocolSuite(comm, {threshold = k_, indices = indices})}
      end,
      start = function(state)
        local mine = state.comm.rank == 0
        shares.total = state.protocol:share(0, mine and 0 or nil, {})
        shares.secret = state.protocol:share(0, mine and 42 or nil, {})
      end,
      replace = {size = n_, timeout = support.seconds(2), shares = function() return shares end,
                 restore = function(_, recovered) shares = recovered end},
      step = function(state, iteration)
        local comm, protocol = state.comm, state.protocol
        if comm == world and not world.joined and iteration == kill_at_.iteration then
          for _, r in ipairs(kill_at_.ranks) do
            if world.rank == r then cicada.inject.kill() end
          end
        end
        local contributor = iteration % comm.world_size
        local total = protocol:add(shares.total,
          protocol:share(contributor, comm.rank == contributor and 1 or nil, {}))
        protocol:reveal(total)
        shares.total = total
      end,
    })
    local protocol = outcome.state.protocol
    return {rank = outcome.comm.rank, size = outcome.comm.world_size, name = outcome.comm.name,
            joined = world.joined, index = protocol.indices[outcome.comm.rank + 1],
            share = shares.secret, total = protocol:reveal(shares.total),
            secret = protocol:reveal(shares.secret)}
  end, {args = {n, k, iterations, kill_at, kill_newcomer}, time_limit = support.seconds(10)})
end

describe("engines of worlds grown from", function()
  -- The threads and descriptors of this process, by listing /proc.
  local function count(what)
    local p = assert(io.popen(("ls /proc/%d/%s | wc -l"):format(require("cicada.core").getpid(),
                                                              what)))
    local n = math.tointeger(tonumber(p:read("l")))
    p:close()
    return n
  end

  it("stop once their communicators are freed: five heals leave threads and descriptors as after one", function()
    local results = support.run(3, function(comm, rounds)
      local round = comm.joined and comm:broadcast(0, nil) or 0
      local seen = {}
      while round < rounds do
        if comm.rank == 2 then cicada.inject.kill() end   -- the last one, a newcomer after the first heal
        pcall(comm.barrier, comm)
        comm:revoke()
        local shrunk = comm:shrink{name = "shrunk"}
        comm:free()
        local grown = shrunk:grow{count = 1, name = "healed-" .. (round + 1),
                                  timeout = support.seconds(5)}
        shrunk:free()
        round = grown:broadcast(0, round + 1)
        comm = grown
        collectgarbage()
        seen[round] = {tasks = count("task"), fds = count("fd"), freed = shrunk.freed}
      end
      return {rank = comm.rank, name = comm.name, seen = seen, sum = comm:allgather(1)}
    end, {args = {5}, time_limit = support.seconds(20)})
    local members = 0
    for _, r in ipairs(results) do
      if type(r) == "table" and getmetatable(r) == nil and r.seen[1] then
        members = members + 1
        assert.are.equal("healed-5", r.name)
        assert.are.same({1, 1, 1}, r.sum)
        for round = 1, 5 do assert.is_true(r.seen[round].freed) end
        assert.is_true(r.seen[5].tasks <= r.seen[1].tasks,
                       ("threads: %d after one heal, %d after five"):format(r.seen[1].tasks, r.seen[5].tasks))
        -- a socket may be on its way out as we look: each engine left
        -- running would hold half a dozen (its links, listener, wakeups)
        assert.is_true(r.seen[5].fds <= r.seen[1].fds + 2,
                       ("descriptors: %d after one heal, %d after five"):format(r.seen[1].fds, r.seen[5].fds))
      end
    end
    assert.are.equal(2, members)   -- ranks 0 and 1 healed five times
  end)
end)

describe("the replace policy", function()
  it("heals a world of 4 (threshold 2) after a death: every iteration counted, the newcomer holds shares", function()
    local results = healing_world(4, 2, 6, {iteration = 2, ranks = {1}})
    local ok, other = finished(results)
    local said = {}
    for i, r in ipairs(results) do said[i] = tostring(r) end
    assert.are.same({2}, other, table.concat(said, "\n"))
    assert.are.equal(4, #ok)
    local members, newcomers = {}, 0
    for _, r in ipairs(ok) do
      assert.are.equal(4, r.size)
      assert.are.equal("healed-1", r.name)
      assert.are.equal(6.0, r.total)
      assert.are.equal(42.0, r.secret)
      if r.joined then newcomers = newcomers + 1 end
      members[#members + 1] = r
    end
    assert.are.equal(1, newcomers)
    for _, pair in ipairs(subsets(members, 2)) do
      assert.are.equal(42.0, open(pair))
    end
  end)

  it("heals again when a newcomer dies before recovering", function()
    local ok = finished(healing_world(4, 2, 5, {iteration = 1, ranks = {3}}, "healed-1"))
    assert.are.equal(4, #ok)
    local newcomers = 0
    for _, r in ipairs(ok) do
      assert.are.equal("healed-2", r.name)
      assert.are.equal(5.0, r.total)
      assert.are.equal(42.0, r.secret)
      if r.joined then newcomers = newcomers + 1 end
    end
    assert.are.equal(1, newcomers)
    for _, pair in ipairs(subsets(ok, 2)) do
      assert.are.equal(42.0, open(pair))
    end
  end)

  it("replaces two players that die at once in a world of 5 (threshold 3); any 3 then open every secret", function()
    local ok, other = finished(healing_world(5, 3, 5, {iteration = 2, ranks = {1, 3}}))
    assert.are.same({2, 4}, other)
    assert.are.equal(5, #ok)
    local newcomers, indices = 0, {}
    for _, r in ipairs(ok) do
      assert.are.equal(5, r.size)
      assert.are.equal(5.0, r.total)
      assert.are.equal(42.0, r.secret)
      if r.joined then newcomers = newcomers + 1 end
      assert.is_nil(indices[r.index], "two members share index " .. tostring(r.index))
      indices[r.index] = true
    end
    assert.are.equal(2, newcomers)
    local all = subsets(ok, 3)
    assert.are.equal(10, #all)
    for _, three in ipairs(all) do assert.are.equal(42.0, open(three)) end
  end)
end)

describe("scripts/heal_running_total.lua", function()
  after_each(support.cleanup)

  it("heals under cicada-lua -n 4: the launcher starts the replacement with the same script", function()
    local src = os.getenv("CICADA_SOURCE_DIR") or "."
    local rc, out = support.run_cli({"-n", "4", src .. "/scripts/heal_running_total.lua"}, nil, 60)
    assert.are.equal(1, rc, out)   -- player 2 was killed
    for i = 0, 7 do
      local name = i < 3 and "world" or "healed%-1"
      assert.are.equal(1, support.count(out, ("Iteration %d comm %s total: %d%%.0\n"):format(
        i, name, i + 1)), out)
    end
    assert.are.equal(1, support.count(out, "3 survivors and 1 replacement"), out)
    assert.are.equal(1, support.count(out, "HEALED secret=42%.0\n"), out)
    assert.matches("cicada%-lua: player 2 %(signal 9%) failed\n", out)
    assert.are.equal(0, support.count(out, "newcomer"), out)
  end)
  it("prints every iteration with the right total and the healed name, then the secret", function()
    local src = os.getenv("CICADA_SOURCE_DIR") or "."
    local rc, out = support.run_cli({src .. "/scripts/heal_running_total.lua"}, nil, 60)
    assert.are.equal(0, rc, out)
    for i = 0, 7 do
      local name = i < 3 and "world" or "healed%-1"
      assert.are.equal(1, support.count(out, ("Iteration %d comm %s total: %d%%.0\n"):format(
        i, name, i + 1)), out)
    end
    assert.are.equal(1, support.count(out, "HEALED secret=42%.0\n"), out)
  end)
end)

describe("cicada-lua -n", function()
  after_each(support.cleanup)

  -- Every player of a world of 4 runs this: player 2 dies, the others grow
  -- back and recover their secret's share at the newcomer.
  local heal_script = [[
    local cicada = require("cicada")
    cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
    local comm = cicada.connect()
    if comm.joined then
      local indices = comm:broadcast(0, nil)
      local q = cicada.shamir.ProtocolSuite(comm, {threshold = 2, indices = indices})
      print(("newcomer at rank %d of %d in %s: secret %s"):format(comm.rank, comm.world_size,
        comm.name, q:reveal(q:recover(nil))))
      io.stderr:write("the newcomer is done\n")
      return
    end
    local p = cicada.shamir.ProtocolSuite(comm, {threshold = 2})
    local share = p:share(0, comm.rank == 0 and 42 or nil, {})
    if comm.rank == 2 then cicada.inject.kill() end
    pcall(comm.barrier, comm)
    comm:revoke()
    local shrunk, oldranks = comm:shrink{name = "shrunk"}
    local grown = shrunk:grow{count = 1, name = "healed", timeout = 10}
    local indices = p:indices_for(oldranks)
    indices[#indices + 1] = 3
    grown:broadcast(0, indices)
    local q = cicada.shamir.ProtocolSuite(grown, {threshold = 2, indices = indices})
    print(("member at rank %d of %d in %s: secret %s"):format(grown.rank, grown.world_size,
      grown.name, q:reveal(q:recover(share))))
  ]]

  it("grows a TLS world back: the newcomer plays under the world's identity and recovers the secret", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
    local rc, out = support.run_cli({"credentials", "0", dir})
    assert.are.equal(0, rc, out)
    rc, out = support.run_cli({"-n", "4", "--identity", dir .. "/player-0.pem",
                               "--trusted", dir .. "/player-0.crt", support.script(heal_script)},
                              nil, 60)
    os.execute("rm -rf " .. support.shquote(dir))
    assert.are.equal(1, rc, out)   -- player 2 was killed
    assert.are.equal(1, support.count(out, "newcomer at rank 3 of 4 in healed: secret 42%.0\n"), out)
    for r = 0, 2 do
      assert.are.equal(1, support.count(out, ("member at rank %d of 4 in healed: secret 42%%.0\n")
        :format(r)), out)
    end
    assert.matches("cicada%-lua: player 2 %(signal 9%) failed\n", out)
  end)

  it("tags a newcomer's lines with its rank in the grown world under --tag-output", function()
    local rc, out = support.run_cli({"-n", "4", "--tag-output", support.script(heal_script)},
                                    nil, 60)
    assert.are.equal(1, rc, out)   -- player 2 was killed
    assert.are.equal(1, support.count(out, "\n?%[%+3%] newcomer at rank 3 of 4 in healed: secret 42%.0\n"),
                     out)
    assert.are.equal(1, support.count(out, "\n?%[%+3%] the newcomer is done\n"), out)
    -- the members' lines carry their ranks in the world they started in
    for r, now in pairs{[0] = 0, [1] = 1, [3] = 2} do
      assert.are.equal(1, support.count(out, ("\n?%%[%d%%] member at rank %d of 4 in healed: "
        .. "secret 42%%.0\n"):format(r, now)), out)
    end
    -- every line is tagged, but the launcher's own
    for _, line in ipairs(support.lines(out)) do
      if not line:match("^cicada%-lua: ") then assert.matches("^%[%+?%d%] ", line) end
    end
  end)

  it("names a newcomer that fails by the order it was started in", function()
    local rc, out = support.run_cli({"-n", "2", support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect()
      if comm.joined then
        print(("newcomer at rank %d of %d in %s"):format(comm.rank, comm.world_size, comm.name))
        comm:barrier()
        error("the newcomer gives up")
      end
      local grown = comm:grow{count = 1, name = "grown"}
      grown:barrier()
      print(("member at rank %d of %d"):format(grown.rank, grown.world_size))
    ]])}, nil, 60)
    assert.are.equal(1, rc, out)
    assert.matches("newcomer at rank 2 of 3 in grown\n", out)
    assert.are.equal(2, support.count(out, "member at rank %d of 3\n"), out)
    assert.matches("the newcomer gives up", out, 1, true)
    assert.matches("cicada%-lua: newcomer 1 %(exit code 1%) failed\n", out)
  end)
end)
