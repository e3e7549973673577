-- shamir_spec.lua: Shamir secret sharing among real player processes
-- (cicada.run), as a protocol author sees it.
local cicada = require("cicada")
local shamir = require("cicada.shamir")
local support = require("support")

local run, fake_comm = support.run_all, support.fake_comm

describe("BasicProtocolSuite", function()
  it("reveals negative, fractional and vector secrets to every player", function()
    local results = run(3, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      local a = p:share(0, comm.rank == 0 and -3.25 or nil, {})
      local v = p:share(2, comm.rank == 2 and {1.5, -2, 0.25} or nil, {3})
      return {p:reveal(a), p:reveal(v), p:reveal(p:share(1, comm.rank == 1 and 1 or nil))}
    end)
    for _, r in ipairs(results) do
      assert.are.equal(-3.25, r[1])
      assert.are.same({1.5, -2.0, 0.25}, r[2])
      assert.are.equal("1.0", tostring(r[3]))
    end
  end)

  it("reveals only to the listed receivers; the others get nil", function()
    local results = run(4, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 3})
      local s = p:share(0, comm.rank == 0 and {7, 8} or nil, {2})
      return {revealed = p:reveal(s, {1, 3}) or "nil"}
    end)
    assert.are.same({"nil", {7.0, 8.0}, "nil", {7.0, 8.0}},
                    {results[1].revealed, results[2].revealed,
                     results[3].revealed, results[4].revealed})
  end)

  for n = 2, 5 do
    it(("works with every threshold from 2 to %d among %d players"):format(n, n), function()
      local results = run(n, function(comm)
        local out = {}
        for k = 2, comm.world_size do
          local p = shamir.BasicProtocolSuite(comm, {threshold = k})
          local src = k % comm.world_size
          local s = p:share(src, comm.rank == src and {k, -k, k / 4} or nil, {3})
          out[k] = p:reveal(s)
        end
        return out
      end)
      for _, r in ipairs(results) do
        for k = 2, n do
          assert.are.same({k * 1.0, -k * 1.0, k / 4}, r[k])
        end
      end
    end)
  end

  it("shares secrets of more than 65,536 elements, one player's row at a time", function()
    -- 300 x 250 elements: the source makes and sends each player's row on
    -- its own; every threshold's shares still come from one polynomial per
    -- element, so any threshold-many players recover the secret, and
    -- fewer do not.
    local results = run(4, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 3, seed = 11})
      local F = p.field
      local secret = comm.rank == 2 and F:uniform_below({300, 250}, 1 << 40, require("cicada.core").rng(5)) or nil
      local s = p:share(2, secret, {300, 250})
      local shares = comm:allgather(s)
      local first = F:shamir_recover(F:stack{shares[1]:reshape{75000}, shares[2]:reshape{75000},
                                             shares[4]:reshape{75000}}, {1, 2, 4})
      local last = F:shamir_recover(F:stack{shares[2]:reshape{75000}, shares[3]:reshape{75000},
                                            shares[4]:reshape{75000}}, {2, 3, 4})
      local two = F:shamir_recover(F:stack{shares[1]:reshape{75000}, shares[3]:reshape{75000}},
                                   {1, 3})
      local want = F:uniform_below({300, 250}, 1 << 40, require("cicada.core").rng(5)):reshape{75000}
      return {shape = s.shape, first = first == want, last = last == want, two = two == want}
    end)
    for _, r in ipairs(results) do
      assert.are.same({300, 250}, r.shape)
      assert.is_true(r.first)
      assert.is_true(r.last)
      assert.is_false(r.two)
    end
  end)

  it("gives each player of a large sharing the row its seeded stream makes", function()
    -- 3 players, both fields, a vector and a matrix of more than 65,536
    -- elements (many blocks of coefficients): each receiver's message, and
    -- the source's own share, are rows of one sharing whose coefficients
    -- come from a stream seeded by the source's suite stream.
    local core = require("cicada.core")
    for _, order in ipairs{"18446744073709551557", "170141183460469231731687303715884105727"} do
      for _, shape in ipairs{{70001}, {3, 30000}} do
        local results = run(3, function(comm, o, sh)
          local p = shamir.BasicProtocolSuite(comm, {threshold = 2, seed = 11, order = o})
          local F = p.field
          local secret = comm.rank == 1 and F:uniform(sh, core.rng(5)) or nil
          local s = p:share(1, secret, sh)
          local stream = core.rng(core.rng("11/rank/1"):bytes(32))
          local want = F:shamir_share_row(F:uniform(sh, core.rng(5)), 2, p.indices, comm.rank + 1,
                                          stream)
          return {same = s == want, shape = s.shape}
        end, {order, shape})
        for rank, r in ipairs(results) do
          assert.is_true(r.same, ("player %d, order %s"):format(rank - 1, order))
          assert.are.same(shape, r.shape)
        end
      end
    end
  end)

  it("adds, subtracts, negates and sums shares", function()
    local results = run(3, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      local a = p:share(0, comm.rank == 0 and {1, 2, 3} or nil, {3})
      local b = p:share(1, comm.rank == 1 and {0.5, -4, 10} or nil, {3})
      return {p:reveal(p:add(a, b)), p:reveal(p:subtract(a, b)),
              p:reveal(p:negative(a)), p:reveal(p:sum(b))}
    end)
    for _, r in ipairs(results) do
      assert.are.same({1.5, -2.0, 13.0}, r[1])
      assert.are.same({0.5, 6.0, -7.0}, r[2])
      assert.are.same({-1.0, -2.0, -3.0}, r[3])
      assert.are.equal(6.5, r[4])
    end
  end)

  it("reshares: new shares of the same secret, unlike the old ones", function()
    local results = run(4, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 3})
      local s = p:share(3, comm.rank == 3 and {2.5, -1} or nil, {2})
      local t = p:reshare(s)
      return {p:reveal(t), p:reveal(p:reshare(p:sum(t))), changed = s ~= t}
    end)
    for _, r in ipairs(results) do
      assert.are.same({2.5, -1.0}, r[1])
      assert.are.equal(1.5, r[2])
      assert.is_true(r.changed)
    end
  end)

  it("gives a suite rebuilt on the survivors the indices that keep old shares valid", function()
    -- Four players share a secret with custom indices; then player 1 is
    -- pretended dead: shrink would return oldranks {0, 2, 3}.
    local oldranks = {0, 2, 3}
    local first = run(4, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2, indices = {10, 20, 30, 40}})
      local s = p:share(0, comm.rank == 0 and {4.5, -6} or nil, {2})
      return {share = s, indices = p:indices_for(oldranks), all = p.indices}
    end)
    assert.are.same({10, 30, 40}, first[1].indices)
    assert.are.same({10, 20, 30, 40}, first[2].all)
    local survivors = {first[1].share, first[3].share, first[4].share}
    local second = run(3, function(comm, shares, indices)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2, indices = indices})
      return {p:reveal(shares[comm.rank + 1])}
    end, {survivors, first[1].indices})
    for _, r in ipairs(second) do
      assert.are.same({4.5, -6.0}, r[1])
    end
  end)

  it("replays its randomness for a seed, and differs between players", function()
    local function shares(seed)
      return run(3, function(comm, s)
        local p = shamir.BasicProtocolSuite(comm, {threshold = 2, seed = s})
        return {p:share(0, comm.rank == 0 and 1 or nil):tolist()}
      end, {seed})
    end
    local a, b, c = shares(7), shares(7), shares(8)
    assert.are.same({a[1][1], a[2][1], a[3][1]}, {b[1][1], b[2][1], b[3][1]})
    assert.are_not.same({a[1][1], a[2][1], a[3][1]}, {c[1][1], c[2][1], c[3][1]})
  end)

  it("uses the Identity encoding when asked", function()
    local results = run(2, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2,
                                                  encoding = cicada.encoding.Identity()})
      return {p:reveal(p:share(1, comm.rank == 1 and {-5, 9} or nil, {2}))}
    end)
    assert.are.same({-5, 9}, results[1][1])
    assert.are.equal("integer", math.type(results[2][1][1]))
  end)

  it("says so when the source has no secret", function()
    local results = run(2, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      if comm.rank == 1 then
        local ok, err = pcall(p.share, p, 1, nil, {})
        return {ok = ok, err = err}
      end
      return {}
    end)
    assert.is_false(results[2].ok)
    assert.matches("bad argument #2 to 'share' %(secret is required at the source, player 1%)",
                   results[2].err)
  end)

  it("names the operation and the peer when a player fails, keeping the error's fields", function()
    cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
    local results = cicada.run{world_size = 3, timeout = support.seconds(5), fn = function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      local x = p:share(0, comm.rank == 0 and 1.5 or nil, {})
      if comm.rank == 2 then error("bad input data", 0) end
      local ok, err = pcall(p.reveal, p, x)
      if ok then return {message = "reveal succeeded without player 2"} end
      return {kind = cicada.errors.kind(err), message = tostring(err), peer = err.peer,
              operation = err.operation, comm = err.comm, failed = comm:failed()}
    end}
    for r = 1, 2 do
      assert.same({kind = "peer_failed", message = "reveal: player 2 failed: bad input data",
                   peer = 2, operation = "reveal", comm = "world", failed = {2}}, results[r])
    end
  end)

  it("names the outermost operation, keeps the innermost cause and passes the rest through", function()
    local basic = require("cicada.shamir.basic")
    local raised
    local class = {}
    function class.inner(_, what)
      if what == "comm" then
        raised = cicada.errors.new("peer_failed", {peer = 2, tag = "GATHER",
                                                   message = "Tag GATHER from player 2 failed: gone"})
      elseif what == "other" then
        raised = {kind = "mine", message = "Tag X from player 1 failed: untouched"}
      else
        raised = "plain string"
      end
      error(raised, 0)
    end
    function class.outer(self, what) return self:inner(what) end
    function class.values(_, ...) return select("#", ...), ... end
    function class.pause(_, x) return coroutine.yield(x) + 1 end
    basic.name_failures(class, {"inner", "outer", "values", "pause"})

    local ok, err = pcall(class.outer, class, "comm")
    assert.is_false(ok)
    assert.are.equal(raised, err)
    assert.are.equal("peer_failed", cicada.errors.kind(err))
    assert.are.equal("outer: player 2 failed: gone", tostring(err))
    assert.are.same({"outer", "player 2 failed: gone", 2, "GATHER"},
                    {err.operation, err.cause, err.peer, err.tag})
    for _, what in ipairs({"other", "string"}) do
      ok, err = pcall(class.outer, class, what)
      assert.is_false(ok)
      assert.are.equal(raised, err)
    end
    assert.is_nil(err.operation)
    -- Results (nil ones too) pass through, and so do yields.
    assert.are.same({4, 1, nil, "x", nil, n = 5}, table.pack(class:values(1, nil, "x", nil)))
    local co = coroutine.wrap(function(x) return class:pause(x) end)
    assert.are.equal(10, co(10))
    assert.are.equal(42, co(41))
  end)

  it("checks share arguments", function()
    local p = shamir.BasicProtocolSuite(fake_comm(3), {threshold = 2})
    local G = cicada.Field{order = 7}
    assert.has_error(function() p:add(true, 2) end,
                     "bad argument #1 to 'add' (share (field array), number or list expected, got boolean)")
    assert.has_error(function() p:add(1, 2) end,
                     "bad argument #2 to 'add' (one operand must be a share; both are public)")
    assert.has_error(function() p:add(p.field:array{1}, G:array{1}) end,
                     "bad argument #2 to 'add' (share of another field)")
    assert.has_error(function() p:share(5, 1) end,
                     "bad argument #1 to 'share' (rank 5 out of range [0, 3))")
    assert.has_error(function() p:indices_for({0, 3}) end,
                     "bad argument #1 to 'indices_for' (rank 3 out of range [0, 3))")
  end)

  it("checks the secret's shape and the share's type at every call", function()
    local p = shamir.BasicProtocolSuite(fake_comm(3), {threshold = 2})
    assert.has_error(function() p:share(0, {1, 2, 3}, {}) end,
                     "bad argument #3 to 'share' (secret has shape {3}, not {})")
    assert.has_error(function() p:share(0, 5, {1}) end,
                     "bad argument #3 to 'share' (secret has shape {}, not {1})")
    assert.has_error(function() p:share(0, {{1, 2}}, {2}) end,
                     "bad argument #3 to 'share' (secret has shape {1, 2}, not {2})")
    -- A share checked first does not let another userdata pass after it.
    assert.has_error(function() p:add(p.field:array{1}, io.stdout) end,
                     "bad argument #2 to 'add' (share (field array) expected, got userdata)")
    assert.has_error(function() p:add(io.stdout, p.field:array{1}) end,
                     "bad argument #1 to 'add' (share (field array) expected, got userdata)")
  end)
end)

describe("BasicProtocolSuite construction", function()
  it("exposes its threshold, indices, field and encoding", function()
    local p = shamir.BasicProtocolSuite(fake_comm(3), {threshold = 3})
    assert.are.equal(3, p.threshold)
    assert.are.same({1, 2, 3}, p.indices)
    assert.are.equal("170141183460469231731687303715884105727", p.field.order) -- 2^127 - 1
    assert.are.equal("FixedPoint(precision=16)", tostring(p.encoding))
    local q = shamir.BasicProtocolSuite(fake_comm(2), {threshold = 2, order = 2147483647})
    assert.are.equal(2147483647, q.field.order)
    assert.are.equal("BasicProtocolSuite(world_size=2, threshold=2)", tostring(q))
    assert.are.equal("ProtocolSuite(world_size=3, threshold=2)",
                     tostring(shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})))
  end)

  it("refuses thresholds out of range", function()
    assert.has_error(function() shamir.BasicProtocolSuite(fake_comm(3), {threshold = 1}) end,
                     "bad argument #2 to 'BasicProtocolSuite' (threshold 1 out of range [2, 3])")
    assert.has_error(function() shamir.BasicProtocolSuite(fake_comm(3), {threshold = 4}) end,
                     "bad argument #2 to 'BasicProtocolSuite' (threshold 4 out of range [2, 3])")
    assert.has_error(function() shamir.BasicProtocolSuite(fake_comm(3), {}) end,
                     "bad argument #2 to 'BasicProtocolSuite' (threshold must be an integer, got nil)")
  end)

  it("says how to start more players in a world of one", function()
    local ok, err = pcall(shamir.ProtocolSuite, fake_comm(1), {threshold = 2})
    assert.is_false(ok)
    assert.matches("threshold 2 out of range [2, 1]; this world has one player: start 2 or more "
                   .. "with `cicada-lua -n 2 script.lua` or `cicada.run{world_size = 2", err, 1, true)
  end)

  it("refuses the wrong number of indices, duplicates and zeros", function()
    assert.has_error(function()
      shamir.BasicProtocolSuite(fake_comm(3), {threshold = 2, indices = {1, 2}})
    end, "bad argument #2 to 'BasicProtocolSuite' (2 indices for 3 players)")
    assert.has_error(function()
      shamir.BasicProtocolSuite(fake_comm(3), {threshold = 2, indices = {1, 2, 1}})
    end, "bad argument #2 to 'BasicProtocolSuite' (indices 1 and 3 are the same (1))")
    assert.has_error(function()
      shamir.BasicProtocolSuite(fake_comm(3), {threshold = 2, indices = {1, 0, 2}})
    end, "bad argument #2 to 'BasicProtocolSuite' (index 2 (0) is not a nonzero integer)")
    assert.has_error(function()
      shamir.BasicProtocolSuite(fake_comm(2), {threshold = 2, indices = {1, 8}, order = 7})
    end, "bad argument #2 to 'BasicProtocolSuite' (indices: indices 1 and 2 are the same (1))")
  end)

  it("refuses a composite order", function()
    assert.has_error(function()
      shamir.BasicProtocolSuite(fake_comm(2), {threshold = 2, order = 561})
    end, "bad argument #2 to 'BasicProtocolSuite' (field order 561 is not prime)")
  end)
end)

describe("BasicProtocolSuite reveal, combining the shares as they arrive", function()
  local ORDER64 = "18446744073709551557"
  -- Elements that decode on either side of the middle of the field, and
  -- next to the order: 0, +-1, +-5, +-2^16, the largest positive (p-1)/2
  -- and its negative (p+1)/2.
  local elements = {
    [ORDER64] = {0, 1, -1, 5, -5, 65536, -65536, 9223372036854775749, -9223372036854775749,
                 123456789},
    default = {0, 1, -1, 5, -5, 65536, -65536, "85070591730234615865843651857942052863",
               "-85070591730234615865843651857942052863", 123456789},
  }

  -- The reference: every share as a field array, their Lagrange
  -- combination, then the encoding's decode.
  local function reference(p, comm, share, enc)
    local F = p.field
    local lambda = F:lagrange(F:array(p.indices))
    return enc:decode(F:lincomb(lambda, comm:allgather(share)), F)
  end

  for _, order in ipairs{ORDER64, "default"} do
    it(("decodes as the Lagrange combination of the arrays would, every encoding (%s)"):format(order),
       function()
      local results = run(4, function(comm)
        local p = shamir.BasicProtocolSuite(comm, {threshold = 3,
                                                    order = order ~= "default" and order or nil})
        local F = p.field
        local E = cicada.encoding
        local custom = {encode = function() end,
                        decode = function(_, a) return {"custom", a:tolist()} end}
        local override = E.FixedPoint{precision = 8}
        override.decode = function(self, a, G) return {"override", G:decode_fixed(a, self.precision)} end
        local encodings = {E.FixedPoint{precision = 0}, E.FixedPoint(), E.FixedPoint{precision = 62},
                           E.Identity(), E.Boolean(), custom, override}
        local xs = elements[order]
        -- and secrets longer than the blocks the combination works in
        local long, row, neg = {}, {}, {}
        for i = 1, 5000 do long[i] = i * 7919 - 20000000 end
        for i = 1, 1000 do row[i], neg[i] = long[i] * 3, -long[i] end
        local secrets = {F:array(xs), F:array{xs, xs}, F:array(xs[9]), F:array(long),
                         F:array{row, neg, row}}
        local out = {}
        for i, secret in ipairs(secrets) do
          local s = p:share(i % 4, comm.rank == i % 4 and secret or nil)
          for j, enc in ipairs(encodings) do
            local got, want = p:reveal(s, nil, enc), reference(p, comm, s, enc)
            out[#out + 1] = {got = got, want = want, where = ("secret %d, encoding %d"):format(i, j)}
          end
          -- Only the receivers get it, in any order of the list.
          local at = p:reveal(s, {2, 0}, E.Identity())
          local all = reference(p, comm, s, E.Identity())
          out[#out + 1] = {got = at or "nil",
                           want = (comm.rank == 0 or comm.rank == 2) and all or "nil",
                           where = ("secret %d to {2, 0}"):format(i)}
        end
        -- Bits: 0/1 elements decode; any other raises as Bits:decode does.
        local bits = p:share(1, comm.rank == 1 and F:array{1, 0, 1, 1} or nil)
        out[#out + 1] = {got = p:reveal(bits, nil, E.Bits()), want = {1, 0, 1, 1}, where = "bits"}
        local s = p:share(1, comm.rank == 1 and F:array{1, 2} or nil)
        local _, err = pcall(p.reveal, p, s, nil, E.Bits())
        local _, want = pcall(E.Bits().decode, E.Bits(), F:array{1, 2}, F)
        out[#out + 1] = {got = err, want = want, where = "not a bit"}
        return out
      end)
      for _, r in ipairs(results) do
        assert.are.equal(5 * 8 + 2, #r)
        for _, c in ipairs(r) do
          assert.are.same(c.want, c.got, c.where)
        end
      end
      -- And what they decode to, at player 0.
      local r = results[1]
      local half = order == ORDER64 and 9223372036854775749 / 65536
        or 85070591730234615865843651857942052863 / 65536
      assert.are.same({0, 1 / 65536, -1 / 65536, 5 / 65536, -5 / 65536, 1, -1, half, -half,
                       123456789 / 65536}, r[2].got)
      assert.are.equal(-half, r[2 * 8 + 2].got)            -- the scalar, FixedPoint()
      assert.are.same({false, true, true, true}, {table.unpack(r[5].got, 1, 4)})
      assert.are.same({0, 1, -1, 5}, {table.unpack(r[4].got, 1, 4)})
      assert.are.equal("custom", r[6].got[1])
      assert.are.equal("override", r[7].got[1])
      assert.are.same(r[2].got, r[8 + 2].got[2])           -- the 2-d secret's rows
    end)
  end

  it("reveals among 17 players, whose shares come relayed, in both fields", function()
    -- More shares than the combination's unrolled loops and its scratch
    -- on the C stack take; messages of 64 KiB and more travel on their own.
    local results = run(17, function(comm)
      local out = {}
      for _, order in ipairs{ORDER64, "default"} do
        local p = shamir.BasicProtocolSuite(comm, {threshold = 5,
                                                    order = order ~= "default" and order or nil})
        local v = {}
        for i = 1, 9000 do v[i] = (i * 7919 % 4001 - 2000) / 16 end
        local s = p:share(3, comm.rank == 3 and v or nil, {9000})
        local got = p:reveal(s)
        local wrong = #got ~= 9000 and "length " .. #got or nil
        for i = 1, 9000 do
          if not wrong and got[i] ~= v[i] then wrong = "element " .. i end
        end
        local F = p.field
        out[#out + 1] = {
          wrong = wrong or "none",
          at = p:reveal(s, {16, 1}, cicada.encoding.Identity()) or "nil",
          want_at = (comm.rank == 16 or comm.rank == 1) and
            F:decode_int(F:encode_fixed(v, 16)) or "nil"}
      end
      return out
    end)
    assert.are.equal(17, #results)
    for _, r in ipairs(results) do
      assert.are.equal(2, #r)
      for _, f in ipairs(r) do
        assert.are.equal("none", f.wrong)
        assert.are.same(f.want_at, f.at)
      end
    end
  end)

  it("reveals secrets of more than 2^16 elements, again and again, in both fields", function()
    -- Rows longer than the result tables made by the table constructor
    -- (2^14 numbers), one after another, to all players and to one.
    local n = 70000
    local results = run(3, function(comm)
      local out = {}
      for _, order in ipairs{ORDER64, "default"} do
        local p = shamir.BasicProtocolSuite(comm, {threshold = 2,
                                                    order = order ~= "default" and order or nil})
        local v = {}
        for i = 1, n do v[i] = (i * 7919 % 4001 - 2000) / 16 end
        local s = p:share(1, comm.rank == 1 and v or nil, {n})
        for round = 1, 3 do
          local got = p:reveal(s, round == 3 and {2} or nil)
          local wrong = "none"
          if round == 3 and comm.rank ~= 2 then
            wrong = got == nil and "none" or "not nil"
          elseif #got ~= n then
            wrong = "length " .. #got
          else
            for i = 1, n do
              if got[i] ~= v[i] then wrong = ("element %d: %s"):format(i, got[i]) break end
            end
          end
          out[#out + 1] = wrong
        end
      end
      return out
    end)
    for _, r in ipairs(results) do
      assert.are.same({"none", "none", "none", "none", "none", "none"}, r)
    end
  end)

  it("reveals fixed-point secrets of every magnitude, each the signed integer scaled", function()
    -- Words up to (p - 1) / 2 either side (most of them rounded to the
    -- nearest float), at every position of the combination's blocks and
    -- their vectors, from 2 shares (threshold 2) and from 3.
    local n, half = 1001, 9223372036854775749 -- (p - 1) / 2 of 2^64 - 59
    local results = run(3, function(comm)
      local out = {}
      for k = 2, 3 do
        local p = shamir.BasicProtocolSuite(comm, {threshold = k, order = ORDER64})
        local F = p.field
        local ints, rng = {}, 0x2545F4914F6CDD1D
        for i = 1, n do
          rng = rng * 6364136223846793005 + 1442695040888963407
          local v = ({0, 1, -1, half, -half})[i % 13 + 1] or (rng >> 1) % half
          ints[i] = (i % 2 == 0 and v or -v) >> (i % 7 == 0 and i % 60 or 0)
        end
        local secret = F:encode_int(ints)
        local signed = F:decode_int(secret)
        local got = p:reveal(p:share(0, comm.rank == 0 and secret or nil, {n}))
        local wrong = #got == n and "none" or "length " .. #got
        for i = 1, n do
          local want = signed[i] * 2.0 ^ -16
          if math.type(got[i]) ~= "float" or got[i] ~= want then
            wrong = ("element %d: %s, want %s"):format(i, tostring(got[i]), tostring(want))
            break
          end
        end
        out[#out + 1] = wrong
      end
      return out
    end)
    for _, r in ipairs(results) do
      assert.are.same({"none", "none"}, r)
    end
  end)

  it("raises, naming the player, when a player's share has another shape", function()
    local results = run(3, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 3})
      local s = p.field:zeros{comm.rank == 2 and 3 or 2}
      local ok, err = pcall(p.reveal, p, s)
      return {ok = ok, err = tostring(err)}
    end)
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.matches("share from player 2 has shape {3}, player 0's has {2}", r.err, 1, true)
    end
  end)

  it("unmasks received messages as it unmasks the arrays they hold", function()
    local results = run(3, function(comm)
      local out = {}
      for _, order in ipairs{ORDER64, require("cicada.field").SUITE_ORDER} do
        local F = cicada.Field{order = order}
        local rng = require("cicada.core").rng(comm.rank + 5)
        -- more elements than a block of the unmask; every player's mask
        -- the same (drawn from one seed), the shares its own
        local c = F:uniform({700}, rng)
        local mrng = require("cicada.core").rng(99)
        local ys, v = {F:uniform({700}, mrng), F:uniform({700}, mrng)}, F:array{1, 7}
        local ys4 = {ys[1], F:uniform({700}, mrng), ys[2], F:uniform({700}, mrng)}
        local r = {}
        -- the weights of a plain-sum reveal and of another; the high part's
        -- weights 1, c, 1, c of a product among 3 players, and others
        for k, case in ipairs{{F:ones{3}, v, ys}, {F:array{3, -3, 1}, v, ys},
                              {F:ones{3}, F:array{1, 7, 1, 7}, ys4},
                              {F:ones{3}, F:array{1, 1, 1, 1}, ys4}} do
          local w, vk, yk = case[1], case[2], case[3]
          local want = F:zeros{1000}
          F:unmask_into(want, 201, w, comm:allgather(c), 20, 5, vk, yk)
          local got = F:zeros{1000}
          local ret = F:unmask_into(got, 201, w, comm:_allgather_payloads(c), 20, 5, vk, yk)
          r[k] = ret == got and want == got and want:slice(201, 900) ~= F:zeros{700}
        end
        local function err(value, ...)
          local payloads = comm:_allgather_payloads(value)
          local ok, e = pcall(F.unmask_into, F, F:zeros{1000}, 201, F:ones{3}, payloads, 20, 5, ...)
          return ok and "no error" or tostring(e)
        end
        r.string = err(comm.rank == 1 and "x" or c, v, ys)
        r.field = err(comm.rank == 2 and cicada.Field{order = 7}:zeros{700} or c, v, ys)
        r.size = err(comm.rank == 1 and F:zeros{701} or c, v, ys)
        r.range = err(F:zeros{801}, v, {F:zeros{801}, F:zeros{801}})
        out[#out + 1] = r
      end
      return out
    end)
    for _, per_player in ipairs(results) do
      for _, r in ipairs(per_player) do
        for k = 1, 4 do assert.is_true(r[k]) end
        assert.matches("share from player 1 is not a vector of the field's elements", r.string, 1, true)
        assert.matches("share from player 2 is not a vector of the field's elements", r.field, 1, true)
        assert.matches("share from player 1 has 701 elements, player 0's 700", r.size, 1, true)
        assert.matches("elements 201 to 1001 out of range [1, 1000]", r.range, 1, true)
      end
    end
  end)

  it("unmasks a list of one message per player as the allgathered messages", function()
    local results = run(3, function(comm)
      local core = require("cicada.core")
      local TAG = core.tags.RESHARE
      local out = {}
      for _, order in ipairs{ORDER64, require("cicada.field").SUITE_ORDER} do
        local F = cicada.Field{order = order}
        local c = F:uniform({700}, core.rng(comm.rank + 5))
        local mrng = core.rng(99)
        local ys, v = {F:uniform({700}, mrng), F:uniform({700}, mrng)}, F:array{1, 7}
        -- this player's share as the Message it is sent as (a copy of c)
        local mine = F:_mul_lincomb_message(nil, 700, c, nil, 1, F:array{0}, {c}, 0)
        local function list(value)
          for j = 0, 2 do
            if j ~= comm.rank then comm:_lib_send(value or mine, j, TAG) end
          end
          local cs = {}
          for j = 0, 2 do
            cs[j + 1] = j == comm.rank and mine or comm:_lib_recv_payload(j, TAG)
          end
          return cs
        end
        local r = {}
        for k, w in ipairs{F:ones{3}, F:array{3, -3, 1}} do
          local want = F:zeros{1000}
          F:unmask_into(want, 201, w, comm:allgather(c), 20, 5, v, ys)
          local got = F:zeros{1000}
          local ret = F:unmask_into(got, 201, w, list(), 20, 5, v, ys)
          r[k] = ret == got and want == got and want:slice(201, 900) ~= F:zeros{700}
        end
        -- the Message is left as it was, and may be read again
        local again = F:zeros{1000}
        F:unmask_into(again, 201, F:ones{3}, list(), 20, 5, v, ys)
        r.again = again == select(1, F:unmask_into(F:zeros{1000}, 201, F:ones{3},
                                                      comm:allgather(c), 20, 5, v, ys))
        local function err(cs)
          local ok, e = pcall(F.unmask_into, F, F:zeros{1000}, 201, F:ones{3}, cs, 20, 5, v, ys)
          return ok and "no error" or tostring(e)
        end
        r.size = err(list(comm.rank == 0 and F:zeros{701} or nil))
        local cs = list()
        F:unmask_into(F:zeros{1000}, 201, F:ones{3}, cs, 20, 5, v, ys)
        r.released = err(cs) -- the received messages were released
        out[#out + 1] = r
      end
      return out
    end)
    for rank, per_player in ipairs(results) do
      for _, r in ipairs(per_player) do
        assert.is_true(r[1])
        assert.is_true(r[2])
        assert.is_true(r.again)
        -- (player 0 sent 701 elements and keeps its own 700)
        if rank == 1 then
          assert.equal("no error", r.size)
        else
          assert.matches("share from player 1 has 700 elements, player 0's 701", r.size, 1, true)
        end
        assert.matches("holds no message", r.released, 1, true)
      end
    end
  end)

  it("unmasks with subtracted terms received as messages as with the arrays they hold",
     function()
    local results = run(3, function(comm)
      local core = require("cicada.core")
      local TAG = core.tags.RESHARE
      local out = {}
      local next_rank, prev_rank = (comm.rank + 1) % 3, (comm.rank - 1) % 3
      for _, order in ipairs{ORDER64, require("cicada.field").SUITE_ORDER} do
        local F = cicada.Field{order = order}
        local c = F:uniform({700}, core.rng(comm.rank + 5))
        -- the terms the same at every player (one seed): the one received
        -- from the previous player is the one sent to the next
        local mrng = core.rng(99)
        local ys = {F:uniform({700}, mrng), F:uniform({700}, mrng),
                    F:uniform({700}, mrng), F:uniform({700}, mrng)}
        -- term k received: sent from the previous player
        local function received(list, k, value)
          comm:_lib_send(value or list[k], next_rank, TAG)
          local copy = {}
          for j, y in ipairs(list) do copy[j] = y end
          copy[k] = comm:_lib_recv_payload(prev_rank, TAG)
          return copy
        end
        local r = {}
        -- the high part's weights 1, c, 1, c of a product among 3 players
        -- (each term received in turn), then other weights and shapes
        local cases = {}
        for k = 1, 4 do cases[k] = {F:ones{3}, F:array{1, 7, 1, 7}, ys, k} end
        cases[5] = {F:ones{3}, F:array{1, 7}, {ys[1], ys[2]}, 2}
        cases[6] = {F:array{3, -3, 1}, F:array{1, 7, 1, 7}, ys, 3}
        for k, case in ipairs(cases) do
          local w, vk, yk, at = case[1], case[2], case[3], case[4]
          local want = F:zeros{1000}
          F:unmask_into(want, 201, w, comm:allgather(c), 20, 5, vk, yk)
          local got = F:zeros{1000}
          local ret = F:unmask_into(got, 201, w, comm:_allgather_payloads(c), 20, 5, vk,
                                    received(yk, at))
          r[k] = ret == got and want == got and want:slice(201, 900) ~= F:zeros{700}
        end
        local function err(value)
          local terms = received(ys, 2, value)
          local ok, e = pcall(F.unmask_into, F, F:zeros{1000}, 201, F:ones{3},
                              comm:_allgather_payloads(c), 20, 5, F:array{1, 7, 1, 7}, terms)
          return ok and "no error" or tostring(e)
        end
        r.string = err("x")
        r.field = err(cicada.Field{order = 7}:zeros{700})
        r.size = err(F:zeros{701})
        out[#out + 1] = r
      end
      return out
    end)
    for _, per_player in ipairs(results) do
      for _, r in ipairs(per_player) do
        for k = 1, 6 do assert.is_true(r[k]) end
        assert.matches("term 2 of the mask's high part is not a vector of the field's elements",
                       r.string, 1, true)
        assert.matches("term 2 of the mask's high part is not a vector of the field's elements",
                       r.field, 1, true)
        assert.matches("term 2 of the mask's high part has 701 elements, not 700", r.size, 1, true)
      end
    end
  end)

  it("reads messages that are not shares of the field as errors naming the player", function()
    local results = run(3, function(comm)
      local F = cicada.Field{order = ORDER64}
      local lambda = F:lagrange(F:array{1, 2, 3})
      local function combine(value, ...)
        local payloads = comm:_allgather_payloads(value)
        local ok, got = pcall(F._combine_payloads, F, lambda, payloads, ...)
        return ok and got or tostring(got)
      end
      local x = F:array{comm.rank + 1, -1}
      local out = {
        array = combine(x):tolist(),
        fixed = combine(x, "fixed", 0),
        int = combine(x, "int"),
        bool = combine(F:array{comm.rank, 0}, "bool"),
        string = combine(comm.rank == 1 and "x" or x),
        field = combine(comm.rank == 1 and cicada.Field{order = 7}:array{1, 2} or x),
        shape = combine(comm.rank == 1 and F:array{{1, 2}} or x),
      }
      local payloads = comm:_allgather_payloads(x)
      F:_combine_payloads(lambda, payloads)
      out.again = select(2, pcall(F._combine_payloads, F, lambda, payloads))
      out.weights = select(2, pcall(F._combine_payloads, F, F:array{1, 2},
                                    comm:_allgather_payloads(x)))
      out.mode = select(2, pcall(F._combine_payloads, F, lambda, payloads, "bits"))
      out.precision = select(2, pcall(F._combine_payloads, F, lambda, payloads, "fixed", 63))
      out.type = select(2, pcall(F._combine_payloads, F, lambda, {}))
      return out
    end)
    -- The weights of the indices 1, 2, 3 at 0 are 3, -3, 1: the shares
    -- 1, 2, 3 give 3 - 6 + 3 = 0, the shares -1, -1, -1 give -1.
    local minus_one = cicada.Field{order = ORDER64}:array{-1}:tolist()[1]
    for _, r in ipairs(results) do
      assert.are.same({0, minus_one}, r.array)
      assert.are.same({0.0, -1.0}, r.fixed)
      assert.are.same({0, -1}, r.int)
      assert.are.same({true, false}, r.bool)
      assert.are.equal("share from player 1 is a string, not a field array", r.string)
      assert.are.equal("share from player 1 is of another field (order 7, not " .. ORDER64 .. ")",
                       r.field)
      assert.are.equal("share from player 1 has shape {1, 2}, player 0's has {2}", r.shape)
      assert.matches("no messages", r.again, 1, true)
      assert.matches("2 weights for 3 messages", r.weights, 1, true)
      assert.matches("invalid option 'bits'", r.mode, 1, true)
      assert.matches("precision 63 out of range [0, 62]", r.precision, 1, true)
      assert.matches("received messages expected, got table", r.type, 1, true)
    end
  end)
end)

describe("BasicProtocolSuite reveal from threshold shares", function()
  local ORDER64 = "18446744073709551557"

  -- Every threshold, to everyone and to lists of receivers, in both
  -- fields and every encoding the combination decodes itself.
  for n = 3, 6 do
    it(("gives every receiver the secret, every threshold among %d players"):format(n), function()
      local results = run(n, function(comm)
        local E = cicada.encoding
        local encodings = {E.FixedPoint(), E.Identity(), E.Boolean(), E.FixedPoint{precision = 4}}
        local dsts = {{0}, {comm.world_size - 1, 1}, {2, 0, 1}}
        local out = {}
        for _, order in ipairs{ORDER64, "default"} do
          for k = 2, comm.world_size do
            local p = shamir.BasicProtocolSuite(comm, {threshold = k,
                                                        order = order ~= "default" and order or nil})
            local src = (k + 1) % comm.world_size
            local s = p:share(src, comm.rank == src and {k, -k, k / 4, 0} or nil, {4})
            for e, enc in ipairs(encodings) do
              out[#out + 1] = p:reveal(s, nil, enc)
              for d, dst in ipairs(dsts) do
                out[#out + 1] = p:reveal(s, dst, enc) or ("nil %d %d"):format(e, d)
              end
            end
          end
        end
        return out
      end)
      local F = cicada.Field{order = ORDER64}
      local i = 0
      for _ = 1, 2 do
        for k = 2, n do
          local want = {{k * 1.0, -k * 1.0, k / 4, 0.0},
                        F:decode_int(F:encode_fixed({k, -k, k / 4, 0}, 16)),
                        {true, true, true, false},
                        {k * 4096.0, -k * 4096.0, k * 1024.0, 0.0}}
          for e = 1, 4 do
            i = i + 1
            for r = 1, n do assert.are.same(want[e], results[r][i], ("k %d, enc %d"):format(k, e)) end
            for d, dst in ipairs{{0}, {n - 1, 1}, {2, 0, 1}} do
              i = i + 1
              local at = {}
              for _, x in ipairs(dst) do at[x] = true end
              for r = 1, n do
                assert.are.same(at[r - 1] and want[e] or ("nil %d %d"):format(e, d), results[r][i])
              end
            end
          end
        end
      end
    end)
  end

  -- One player's share off by one: the receivers that combine it (itself
  -- and its threshold - 1 successors) get another value, the others the
  -- secret; so a wrong choice of shares or of weights shows.
  for _, case in ipairs{{n = 5, k = 3, off = 2, wrong = {2, 3, 4}},
                        {n = 4, k = 2, off = 3, wrong = {0, 3}},
                        {n = 4, k = 4, off = 0, wrong = {0, 1, 2, 3}},
                        {n = 9, k = 3, off = 8, wrong = {0, 1, 8}}} do
    it(("combines at each receiver its own share and its %d predecessors' (%d players)"):format(
         case.k - 1, case.n), function()
      local results = run(case.n, function(comm)
        local p = shamir.BasicProtocolSuite(comm, {threshold = case.k, order = ORDER64})
        local s = p:share(1, comm.rank == 1 and 3 or nil, {})
        if comm.rank == case.off then s = p.field:add(s, p.field:array(1)) end
        local E = cicada.encoding.Identity()
        local to_all = p:reveal(s, nil, E)
        local at_first = p:reveal(s, {case.n - 1, 0}, E)
        return {all = to_all, first = at_first or "nil"}
      end)
      local wrong = {}
      for _, r in ipairs(case.wrong) do wrong[r] = true end
      for r = 0, case.n - 1 do
        local got = results[r + 1]
        -- Among 8 players or more, a reveal to all is one relayed
        -- allgather, combined whole: every share counts.
        if case.n < 8 then
          if wrong[r] then assert.are_not.equal(3 * 65536, got.all, "player " .. r)
          else assert.are.equal(3 * 65536, got.all, "player " .. r) end
        else
          assert.are_not.equal(3 * 65536, got.all)
        end
        if r == 0 or r == case.n - 1 then
          if wrong[r] then assert.are_not.equal(3 * 65536, got.first, "player " .. r)
          else assert.are.equal(3 * 65536, got.first, "player " .. r) end
        else
          assert.are.equal("nil", got.first)
        end
      end
    end)
  end

  it("combines with the weights of the players' indices on a communicator of some players",
     function()
    -- Five players share with threshold 3; players 0, 2, 3 and 4 go on in
    -- a communicator of their own, whose suite keeps their indices.
    local results = run(5, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 3, indices = {3, 5, 8, 13, 21}})
      local s = p:share(4, comm.rank == 4 and {2.5, -7, 1e6} or nil, {3})
      local sub = comm:split(comm.rank ~= 1 and "some" or nil)
      if not sub then return {got = "none"} end
      local q = shamir.BasicProtocolSuite(sub, {threshold = 3, indices = p:indices_for{0, 2, 3, 4}})
      local got = {q:reveal(s), q:reveal(s, {3}) or "nil", q:reveal(s, {0, 2}) or "nil",
                   q.indices}
      sub:free()
      return {got = got}
    end)
    local v = {2.5, -7.0, 1e6}
    assert.are.equal("none", results[2].got)
    for new, old in ipairs{0, 2, 3, 4} do
      local got = results[old + 1].got
      assert.are.same({3, 8, 13, 21}, got[4])
      assert.are.same(v, got[1])
      assert.are.same(new == 4 and v or "nil", got[2])
      assert.are.same((new == 1 or new == 3) and v or "nil", got[3])
    end
  end)

  it("names the player of a bad share among the few it combines", function()
    local results = run(4, function(comm)
      local F = cicada.Field{order = ORDER64}
      local me = comm.rank
      local succ, pred = (me + 1) % 4, (me - 1) % 4
      local plan = comm:_exchange_plan({succ}, {pred, me})
      local w = F:ones{2}
      local function combine(value, ...)
        local ok, got = pcall(F._combine_payloads, F, w, comm:_exchange_payloads(value, plan), ...)
        return ok and got or tostring(got)
      end
      local x = F:array{me + 1, 2}
      return {
        string = combine(me == 2 and "x" or x),
        shape = combine(me == 2 and F:array{1, 2, 3} or x, "int"),
        sum = combine(x, "int"),
      }
    end)
    assert.are.equal("share from player 2 is a string, not a field array", results[4].string)
    assert.are.equal("share from player 2 has shape {3}, player 1's has {2}", results[3].shape)
    assert.are.equal("share from player 3 has shape {2}, player 2's has {3}", results[4].shape)
    -- the others combine their predecessor's and their own
    assert.are.same({4 + 1, 4}, results[1].sum)
    assert.are.same({1 + 2, 4}, results[2].sum)
    assert.are.same({1 + 2, 4}, results[2].shape)
    assert.are.same("share from player 2 is a string, not a field array", results[3].string)
  end)

  it("raises on a revoked communicator, also at a receiver that sends nothing", function()
    cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
    local results = run(3, function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      local s = p:share(0, comm.rank == 0 and 5 or nil, {})
      -- Players 0 and 2 send player 1 what it needs and go; player 1, the
      -- only receiver, revokes first.
      if comm.rank ~= 1 then
        local got = p:reveal(s, {1}) or "nil"
        comm:send("sent", 1, 7)
        return {got = got}
      end
      comm:recv(0, 7)
      comm:recv(2, 7)
      comm:revoke()
      local ok, err = pcall(p.reveal, p, s, {1})
      return {got = ok and tostring(err) or cicada.errors.kind(err)}
    end)
    assert.are.same({{got = "nil"}, {got = "revoked"}, {got = "nil"}}, results)
  end)

  it("raises at every player when one is gone, not only where its share is combined",
     function()
    cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
    local results = cicada.run{world_size = 5, timeout = support.seconds(5), fn = function(comm)
      local p = shamir.BasicProtocolSuite(comm, {threshold = 2})
      local x = p:share(0, comm.rank == 0 and 1.5 or nil, {})
      if comm.rank == 3 then cicada.inject.kill() end
      local out = {}
      for _, dst in ipairs{false, {1, 4}} do
        local ok, err = pcall(p.reveal, p, x, dst or nil)
        out[#out + 1] = ok and "revealed" or
          (cicada.errors.kind(err) .. " " .. tostring(err.peer) .. " " .. tostring(err.operation))
      end
      return out
    end}
    for r = 1, 5 do
      if r ~= 4 then
        local rank = r - 1
        local second = (rank == 1 or rank == 4) and "peer_failed 3 reveal" or "revealed"
        assert.are.same({"peer_failed 3 reveal", second}, results[r], "player " .. rank)
      end
    end
  end)
end)
