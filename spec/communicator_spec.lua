-- The communicator: point to point, collectives, matching, timeouts,
-- statistics and argument checking, each run over real player processes.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")

local run = support.run

-- Run fn in every player and return the error each one raised (as a
-- string and its kind), or the value it returned.
local function outcome(fn)
  return function(comm, ...)
    local ok, err = pcall(fn, comm, ...)
    if ok then return {ok = true, value = err} end
    return {ok = false, message = tostring(err), kind = errors.kind(err)}
  end
end

describe("cicada.run", function()
  it("returns each player's result in rank order", function()
    local results = run(4, function(comm) return comm.rank * 10 end)
    assert.same({0, 10, 20, 30}, results)
  end)

  it("passes args to fn after the communicator", function()
    local results = run(2, function(comm, a, b) return a .. b .. comm.rank end, {args = {"x", "y"}})
    assert.same({"xy0", "xy1"}, results)
  end)

  it("gives every player the communicator's fields", function()
    local results = run(3, function(comm)
      return {rank = comm.rank, size = comm.world_size, name = comm.name, ranks = comm.ranks,
              timeout = comm.timeout, revoked = comm.revoked}
    end, {name = "fields"})
    -- 5 s unless CICADA_TIMEOUT says otherwise, as it does under ctest (the
    -- default itself: spec.cli)
    local timeout = tonumber(os.getenv("CICADA_TIMEOUT") or "") or 5
    for r = 0, 2 do
      assert.same({rank = r, size = 3, name = "fields", ranks = {0, 1, 2}, timeout = timeout,
                   revoked = false}, results[r + 1])
    end
  end)

  it("reports a player that raised as Failed, with the error and a traceback", function()
    local results = run(3, function(comm)
      if comm.rank == 1 then error("player one gives up") end
      return "fine"
    end)
    assert.equal("fine", results[1])
    assert.equal("fine", results[3])
    assert.is_true(errors.is_failed(results[2]))
    assert.matches("player one gives up", results[2].error)
    assert.matches("traceback", results[2].traceback)
    assert.matches("^Failed%(.*player one gives up%)$", tostring(results[2]))
  end)

  it("reports a killed player as Terminated(exitcode=-9)", function()
    local results = run(2, function(comm)
      if comm.rank == 1 then cicada.inject.kill() end
      return comm.rank
    end)
    assert.equal(0, results[1])
    assert.is_true(errors.is_terminated(results[2]))
    assert.equal(-9, results[2].exitcode)
    assert.equal("Terminated(exitcode=-9)", tostring(results[2]))
  end)

  it("reports all 64 players when each raises an error", function()
    -- 64 processes starting at once on a small, busy (or sanitized) machine
    -- may need more than the default 5 s to connect.
    local results = run(64, function(comm) error("failure of player " .. comm.rank, 0) end,
                        {startup_timeout = support.seconds(20)})
    for r = 0, 63 do
      assert.is_true(errors.is_failed(results[r + 1]))
      assert.equal("failure of player " .. r, results[r + 1].error)
    end
  end)

  it("starts and stops 4 players 100 times in a row", function()
    for _ = 1, 100 do
      local results = run(4, function(comm) return comm:allgather(comm.rank)[4] end)
      assert.same({3, 3, 3, 3}, results)
    end
  end)

  it("reports a result that cannot travel as Failed", function()
    local results = run(1, function() return function() end end)
    assert.is_true(errors.is_failed(results[1]))
    assert.matches("cannot return its result", results[1].error)
  end)

  it("rejects bad options with errors naming them", function()
    assert.has_error(function() cicada.run{world_size = 0, fn = print} end,
      "bad option 'world_size' to 'run' (integer >= 1 expected, got 0)")
    assert.has_error(function() cicada.run{world_size = 2, fn = 3} end,
      "bad option 'fn' to 'run' (function expected, got number)")
    assert.has_error(function() cicada.run{world_size = 2, fn = print, timeout = -1} end,
      "bad option 'timeout' to 'run' (positive number expected, got -1)")
    assert.has_error(function() cicada.run(4) end, "bad argument #1 to 'run' (table expected, got number)")
  end)
end)

describe("collectives", function()
  it("allgather returns every player's value in rank order", function()
    local results = run(4, function(comm) return comm:allgather({r = comm.rank}) end)
    for r = 1, 4 do assert.same({{r = 0}, {r = 1}, {r = 2}, {r = 3}}, results[r]) end
  end)

  it("allgather carries big field arrays and strings intact, word for word", function()
    -- Megabytes that differ in every word and in size from player to
    -- player: a body read straight into its payload must land whole, in
    -- order, whatever the boundaries of the reads.
    local function value_of(rank)
      local core = require("cicada.core")
      local F = core.Field("18446744073709551557")
      local words, parts = {}, {}
      for i = 1, 200000 + 13 * rank do words[i] = (i * 2654435761 + rank * 40503) % 1000000007 end
      for i = 1, 150000 + 7 * rank do parts[i] = string.pack("<I4", (i * 40503 + rank) % 4294967296) end
      return {F:array(words), table.concat(parts), rank}
    end
    local results = run(4, function(comm)
      local wants, bad = {}, {}
      for r = 0, 3 do wants[r + 1] = value_of(r) end
      for round = 1, 3 do
        for i, v in ipairs(comm:allgather(wants[comm.rank + 1])) do
          local want = wants[i]
          if not (v[1] == want[1] and v[2] == want[2] and v[3] == want[3]) then
            bad[#bad + 1] = ("round %d, player %d"):format(round, i - 1)
          end
        end
      end
      return bad
    end)
    for r = 1, 4 do assert.same({}, results[r]) end
  end)

  it("allgather carries lone field arrays of any shape and width as core.encode writes them", function()
    -- Sizes on both sides of a small message's (one allocation) and a
    -- larger one's, scalars, matrices, 64- and 128-bit fields.
    local results = run(2, function(comm)
      local core = require("cicada.core")
      local F, G = core.Field("18446744073709551557"), core.Field("170141183460469231731687303715884105727")
      local function values(rank)
        local vs = {F:array(rank - 5), G:array(-7 - rank), F:zeros{0}, G:zeros{3, 0}}
        for _, n in ipairs({1, 509, 510, 511, 512, 1000}) do
          local words = {}
          for i = 1, n do words[i] = -(i * 2654435761 + rank * 40503) end
          vs[#vs + 1] = F:array(words)
          vs[#vs + 1] = G:array(words):slice(1, n // 2)
          if n % 2 == 0 then vs[#vs + 1] = F:array(words):reshape{2, n // 2} end
        end
        return vs
      end
      local bad, bytes = {}, 0
      local before = comm:stats().tags.ALLGATHER
      before = before and before.bytes_sent or 0
      for i, v in ipairs(values(comm.rank)) do
        local got = comm:allgather(v)
        bytes = bytes + 2 * #core.encode(v)
        for r = 0, 1 do
          local want = values(r)[i]
          if not (got[r + 1] == want and core.encode(got[r + 1]) == core.encode(want)) then
            bad[#bad + 1] = ("value %d of player %d"):format(i, r)
          end
        end
      end
      return {bad = bad, bytes = bytes, sent = comm:stats().tags.ALLGATHER.bytes_sent - before}
    end)
    for r = 1, 2 do
      assert.same({}, results[r].bad)
      assert.equal(results[r].bytes, results[r].sent)
    end
  end)

  it("broadcast gives everyone the source's value", function()
    local results = run(4, function(comm)
      return comm:broadcast(2, comm.rank == 2 and {"from two", 2.5} or nil)
    end)
    for r = 1, 4 do assert.same({"from two", 2.5}, results[r]) end
  end)

  it("gather collects at the destination only", function()
    local results = run(4, function(comm) return {comm:gather(comm.rank * comm.rank, 1)} end)
    assert.same({}, results[1])
    assert.same({{0, 1, 4, 9}}, results[2])
    assert.same({}, results[3])
  end)

  it("gatherv keeps the order of its sources", function()
    local results = run(5, function(comm)
      return {comm:gatherv({4, 0, 2}, "v" .. comm.rank, 3)}
    end)
    assert.same({{"v4", "v0", "v2"}}, results[4])
    for _, r in ipairs{1, 2, 3, 5} do assert.same({}, results[r]) end
  end)

  it("scatter gives each player its element", function()
    local results = run(4, function(comm)
      return comm:scatter(1, comm.rank == 1 and {"a", "b", "c", "d"} or nil)
    end)
    assert.same({"a", "b", "c", "d"}, results)
  end)

  it("scatterv gives the listed players their element and nil to the rest", function()
    local results = run(4, function(comm)
      return {comm:scatterv(0, comm.rank == 0 and {"x", "y"} or nil, {3, 1})}
    end)
    assert.same({{}, {"y"}, {}, {"x"}}, results)
  end)

  it("_scatter_others sends each player but the source its row, as scatterv to the others", function()
    local results = run(4, function(comm)
      local rows = {"r0", "r1", "r2", "r3"}
      local got = {}
      -- From player 2: rows listed by rank; its own is not sent.
      got[1] = comm:_scatter_others(2, comm.rank == 2 and rows or nil) or "none"
      -- The same messages as scatterv to the others: either side may use either.
      if comm.rank == 1 then
        got[2] = comm:_scatter_others(1, rows) or "none"
      else
        got[2] = comm:scatterv(1, nil, {0, 2, 3})
      end
      if comm.rank == 0 then
        local ok, err = pcall(comm._scatter_others, comm, 0, {"a", "b"})
        got[3] = ok and "sent" or tostring(err):match("%(.*%)")
      end
      return got
    end)
    assert.same({{"r0", "r0", "(2 values for 4 players)"}, {"r1", "none"}, {"none", "r2"},
                 {"r3", "r3"}}, results)
  end)

  it("_exchange_payloads sends a value to some and waits on others, keeping the listed", function()
    local results = run(4, function(comm)
      local F = cicada.Field{order = 2147483647}
      local me, n = comm.rank, comm.world_size
      local succ, pred = (me + 1) % n, (me - 1) % n
      local others, rest = {}, {}
      for r = 0, n - 1 do
        if r ~= me and r ~= succ then others[#others + 1] = r end
        if r ~= me and r ~= pred then rest[#rest + 1] = r end
      end
      local x = F:array{10 * (me + 1)}
      -- Its own value and its predecessor's, summed; the rest only awaited.
      local got = comm:_exchange_payloads(x, comm:_exchange_plan({succ}, {me, pred}, others, rest))
      local out = {sum = F:_combine_payloads(F:ones{2}, got, "int")}
      -- Its predecessor's alone.
      local plan = comm:_exchange_plan({succ}, {pred})
      out.pred = F:_combine_payloads(F:ones{1}, comm:_exchange_payloads(x, plan), "int")
      local function err(...)
        local ok, e = pcall(comm._exchange_plan, comm, ...)
        return ok and "planned" or tostring(e):match("%(.*%)")
      end
      if me == 0 then
        out.self_to = err({0}, {})
        out.twice = err({1}, {}, {1})
        out.self_await = err({}, {}, nil, {0})
        out.both = err({}, {2}, nil, {2})
        out.range = err({4}, {})
        -- The only check of a plan's lists: the exchange trusts them.
        out.dup_to = err({1, 1}, {})
        out.dup_from = err({}, {2, 0, 2})
        out.plan = select(2, pcall(comm._exchange_payloads, comm, x, {1}))
      end
      return out
    end)
    for r = 1, 4 do
      local pred = (r - 2) % 4 + 1
      assert.same({10 * (r + pred)}, results[r].sum)
      assert.same({10 * pred}, results[r].pred)
    end
    assert.equal("(rank 0 is this player's own)", results[1].self_to)
    assert.equal("(rank 1 is in to_list too)", results[1].twice)
    assert.equal("(rank 0 is this player's own)", results[1].self_await)
    assert.equal("(rank 2 is in from_list too)", results[1].both)
    assert.matches("rank 4 out of range", results[1].range, 1, true)
    assert.matches("rank 1 listed twice", results[1].dup_to, 1, true)
    assert.matches("rank 2 listed twice", results[1].dup_from, 1, true)
    assert.matches("exchange plan expected, got table", results[1].plan, 1, true)
  end)

  it("sends a message made ahead (a player's row of a sharing) as the array it encodes", function()
    -- A row of 300,000 elements: its bytes stay queued for a while after
    -- send returns; wait says when they have left, and the message can
    -- then be written over with the next player's row.
    local results = run(3, function(comm)
      local field = require("cicada.field")
      local core = require("cicada.core")
      local F = field.Field()
      local secret = F:uniform({300000}, core.rng(3))
      local function row(j) return F:shamir_share_row(secret, 2, {1, 2, 3}, j, core.rng(4)) end
      if comm.rank == 0 then
        local msg = F:shamir_share_message(secret, 2, {1, 2, 3}, 2, core.rng(4))
        comm:scatterv(0, {msg}, {1})
        local left = msg:wait(30)
        local again = F:shamir_share_message(secret, 2, {1, 2, 3}, 3, core.rng(4), msg)
        comm:send(again, 2, 5)
        comm:broadcast(0, again)
        return {left = left, reused = again == msg, done = again:wait(30)}
      end
      local got = comm.rank == 1 and comm:scatterv(0, nil, {1}) or comm:recv(0, 5)
      local all = comm:broadcast(0)
      return {mine = got == row(comm.rank + 1), bcast = all == row(3)}
    end)
    assert.same({left = true, reused = true, done = true}, results[1])
    assert.same({mine = true, bcast = true}, results[2])
    assert.same({mine = true, bcast = true}, results[3])
  end)

  it("barrier returns at every player once all have entered", function()
    local results = run(3, function(comm)
      local core = require("cicada.core")
      if comm.rank == 0 then core.sleep(0.2) end
      local entered = core.now()   -- the same monotonic clock in every player
      comm:barrier()
      return {entered = entered, left = core.now()}
    end)
    -- players 1 and 2 waited for player 0, who entered last
    assert.is_true(results[2].left >= results[1].entered)
    assert.is_true(results[3].left >= results[1].entered)
  end)

  it("works with one player", function()
    local results = run(1, function(comm)
      comm:barrier()
      return {comm:allgather(7), comm:broadcast(0, 8), comm:gather(9, 0), comm:scatter(0, {10})}
    end)
    assert.same({{{7}, 8, {9}, 10}}, results)
  end)
end)

describe("point to point", function()
  it("delivers a value from send to recv", function()
    local results = run(2, function(comm)
      if comm.rank == 0 then comm:send({1, "two", {three = 3.0}}, 1, 5)
      else return comm:recv(0, 5) end
    end)
    assert.same({1, "two", {three = 3.0}}, results[2])
    assert.equal("float", math.type(results[2][3].three))
  end)

  it("matches by tag, first in first out within a tag", function()
    local results = run(2, function(comm)
      if comm.rank == 0 then
        comm:send("a1", 1, 1); comm:send("b1", 1, 2); comm:send("a2", 1, 1); comm:send("b2", 1, 2)
      else
        return {comm:recv(0, 2), comm:recv(0, 1), comm:recv(0, 1), comm:recv(0, 2)}
      end
    end)
    assert.same({"b1", "a1", "a2", "b2"}, results[2])
  end)

  it("sends to oneself", function()
    local results = run(2, function(comm)
      comm:send("me " .. comm.rank, comm.rank, 3)
      return comm:recv(comm.rank, 3)
    end)
    assert.same({"me 0", "me 1"}, results)
  end)

  it("delivers 100,000 messages each once and in order", function()
    local results = run(2, function(comm)
      local n = 100000
      if comm.rank == 0 then
        for i = 1, n do comm:send(i, 1, 0) end
        return comm:recv(1, 1)
      end
      local expect = 1
      for _ = 1, n do
        local v = comm:recv(0, 0)
        if v ~= expect then error(("message %d arrived as %s"):format(expect, tostring(v))) end
        expect = expect + 1
      end
      comm:send("done", 0, 1)
      return expect - 1
    end, {timeout = support.seconds(20)})
    assert.same({"done", 100000}, results)
  end)

  it("isend and irecv complete, and irecvs on one tag complete in posting order", function()
    local results = run(2, function(comm)
      if comm.rank == 0 then
        local r = comm:isend("first", 1, 4)
        comm:isend("second", 1, 4)
        return {r:test(), r:wait()}
      end
      local a = comm:irecv(0, 4)
      local b = comm:irecv(0, 4)
      local bv = b:wait()
      assert(a:test())
      return {a.value, bv, a:wait()}
    end)
    assert.same({true}, results[1])
    assert.same({"first", "second", "first"}, results[2])
  end)

  it("irecv:test is false until the message arrives", function()
    local results = run(2, function(comm)
      if comm.rank == 1 then
        local req = comm:irecv(0, 9)
        local before = req:test()
        comm:send("go", 0, 8)
        return {before, req:wait()}
      end
      comm:recv(1, 8)
      comm:send("late", 1, 9)
    end)
    assert.same({false, "late"}, results[2])
  end)
end)

describe("timeouts", function()
  -- Player 1 stays until player 0 has timed out (leaving earlier would be
  -- a failure, not a timeout): player 0 tells it on tag 9 when it has.
  local function timed_out(comm)
    if comm.rank == 0 then comm:send("timed out", 1, 9) end
  end
  local function stay(comm)
    comm.timeout = 60
    comm:recv(0, 9)
  end

  it("raise a timeout error worded like the seed's", function()
    local results = run(2, outcome(function(comm)
      if comm.rank == 1 then return stay(comm) end
      comm.timeout = 0.2
      local ok, err = pcall(comm.recv, comm, 1, 3)
      timed_out(comm)
      if not ok then error(err, 0) end
    end))
    assert.same({ok = false, kind = "timeout", message = "Tag 3 from player 1 timed-out after 0.2s"},
      results[1])
  end)

  it("name the library tag of a collective", function()
    local results = run(2, outcome(function(comm)
      if comm.rank == 1 then return stay(comm) end
      comm.timeout = 0.2
      local ok, err = pcall(comm.gatherv, comm, {1}, "x", 0)
      timed_out(comm)
      if not ok then error(err, 0) end
    end))
    assert.same({ok = false, kind = "timeout", message = "Tag GATHERV from player 1 timed-out after 0.2s"},
      results[1])
  end)

  it("carry the communicator, rank, peer and tag in the error object", function()
    local results = run(2, function(comm)
      if comm.rank == 1 then return stay(comm) end
      comm.timeout = 0.1
      local ok, err = pcall(comm.recv, comm, 1, 6)
      timed_out(comm)
      return {ok, err.kind, err.comm, err.rank, err.peer, err.tag}
    end, {name = "tick"})
    assert.same({false, "timeout", "tick", 0, 1, "6"}, results[1])
  end)
end)

describe("a player that has finished", function()
  it("still delivers what it sent before it exited", function()
    local results = run(3, function(comm)
      if comm.rank == 0 then
        for i = 1, 100 do comm:send(i, 2, 0) end
        return "gone"
      end
      if comm.rank == 2 then
        require("cicada.core").sleep(0.3)
        local sum = 0
        for _ = 1, 100 do sum = sum + comm:recv(0, 0) end
        return sum
      end
    end)
    assert.equal("gone", results[1])
    assert.equal(5050, results[3])
  end)

  it("makes a recv from it fail at once instead of timing out", function()
    local results = run(2, outcome(function(comm)
      if comm.rank == 1 then return end
      local _, err = pcall(comm.recv, comm, 1, 0)
      error(err, 0)
    end))
    assert.equal("peer_failed", results[1].kind)
    assert.matches("Tag 0 from player 1 failed", results[1].message)
  end)
end)

describe("stats", function()
  it("counts messages and bytes per peer and per tag", function()
    local results = run(2, function(comm)
      if comm.rank == 0 then comm:send("hello", 1, 7) else comm:recv(0, 7) end
      comm:allgather(1)
      return comm:stats()
    end)
    local s0, s1 = results[1], results[2]
    assert.equal(2, s0.peers[2].msgs_sent)   -- "hello" and its allgather value
    assert.equal(2, s1.peers[1].msgs_recv)
    assert.equal(1, s1.peers[1].msgs_sent)
    assert.equal(1, s0.tags[7].msgs_sent)
    assert.equal(1, s1.tags[7].msgs_recv)
    assert.equal(s0.tags[7].bytes_sent, s1.tags[7].bytes_recv)
    assert.equal(2, s0.tags.ALLGATHER.msgs_sent)   -- to player 1 and to itself
    assert.equal(2, s1.tags.ALLGATHER.msgs_recv)
    assert.equal(s0.total.msgs_sent, s0.peers[1].msgs_sent + s0.peers[2].msgs_sent)
  end)
end)

describe("free", function()
  it("makes every later call raise not_running", function()
    local results = run(2, function(comm)
      comm:free()
      local ok, err = pcall(comm.allgather, comm, 1)
      return {ok, errors.kind(err), tostring(err), comm.name}
    end)
    assert.same({false, "not_running", "Comm world was freed", "world"}, results[1])
  end)
end)

describe("argument checking", function()
  local function message_of(fn)
    local results = run(4, outcome(fn))
    return results[1].message
  end

  it("names a rank out of range", function()
    assert.matches("bad argument #2 to 'send' %(rank 7 out of range %[0, 4%)%)",
      message_of(function(comm) comm:send(1, 7, 0) end))
  end)

  it("refuses a negative user tag", function()
    assert.matches("bad argument #3 to 'send' %(tag %-1 is negative; negative tags belong to the library%)",
      message_of(function(comm) comm:send(1, 0, -1) end))
  end)

  it("refuses a value that cannot travel, at the sender", function()
    assert.matches("cannot send a function",
      message_of(function(comm) comm:send(print, 1, 0) end))
  end)

  it("refuses a scatter list of the wrong length", function()
    assert.matches("bad argument #2 to 'scatter' %(3 values for 4 receivers%)",
      message_of(function(comm) comm:scatter(0, {1, 2, 3}) end))
  end)

  it("stays usable after a scatter that raised at its source midway", function()
    local results = run(2, function(comm)
      local ok, err = true, nil
      if comm.rank == 0 then
        ok, err = pcall(comm.scatterv, comm, 0, {"kept", print}, {0, 1})
      end
      return {ok, tostring(err), comm:allgather(comm.rank),
              comm:scatter(0, comm.rank == 0 and {"a", "b"} or nil)}
    end)
    assert.is_false(results[1][1])
    assert.matches("cannot send a function", results[1][2])
    assert.same({true, "nil", {0, 1}, "b"}, results[2])
    assert.same({0, 1}, results[1][3])
    assert.equal("a", results[1][4])
  end)

  it("refuses a gatherv source listed twice", function()
    assert.matches("rank 1 listed twice",
      message_of(function(comm) comm:gatherv({1, 1}, 0, 0) end))
  end)

  it("refuses setting an unknown field or a bad timeout", function()
    assert.matches("cannot set field 'rank'", message_of(function(comm) comm.rank = 3 end))
    assert.matches("timeout must be a positive number",
      message_of(function(comm) comm.timeout = 0 end))
  end)
end)
