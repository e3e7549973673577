-- protocol_suite_spec.lua: the full Shamir suite (cicada.shamir.ProtocolSuite)
-- among real player processes: every operation against the plaintext result
-- over random inputs, for 3 and 5 players, bad input, and multiplication of
-- shares made before a player died.
local cicada = require("cicada")
local field = require("cicada.field")
local shamir = require("cicada.shamir")
local support = require("support")

local UNIT = 2.0 ^ -16 -- the last place of FixedPoint{precision=16}
local P64 = "18446744073709551557" -- 2^64 - 59, the 64-bit field

local fake_comm = support.fake_comm

local run = support.run_all_slow

local randoms = support.fixed_randoms

-- The most units in the last place by which a truncated product may miss:
-- (m + 1) / 2 for m mask contributions (n, or n + 1 for even n).
local function max_units(n)
  local m = n % 2 == 1 and n or n + 1
  return (m + 1) / 2
end

-- Assert |got[i] - want[i]| <= units * UNIT for every i, and return the mean
-- error in units.
local function assert_close(want, got, units, what)
  assert.are.equal(#want, #got, what .. ": lengths")
  local total = 0
  for i = 1, #want do
    local err = got[i] - want[i]
    if math.abs(err) > units * UNIT + 1e-12 then
      error(("%s: element %d is %.10g, expected %.10g (off by %.2f units, at most %.1f)")
        :format(what, i, got[i], want[i], err / UNIT, units), 2)
    end
    total = total + err / UNIT
  end
  return #want > 0 and total / #want or 0
end

-- The default field (2^127 - 1) for 3 and 5 players, and the 64-bit field
-- 2^64 - 59 for 3.
for _, case in ipairs{{n = 3}, {n = 5}, {n = 3, order = P64}} do
  local n, order = case.n, case.order
  describe(("ProtocolSuite among %d players in the field of order %s"):format(
    n, order or "2^127 - 1"), function()
    local units = max_units(n)

    it("multiplies fixed-point vectors: close to the plaintext, unbiased", function()
      math.randomseed(100 + n)
      local count = 1000
      local xs, ys = randoms(count, 100), randoms(count, 100)
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(comm.world_size - 1, comm.rank == comm.world_size - 1 and y or nil, {#y})
        local prod = p:multiply(a, b)
        return {product = p:reveal(prod), shape = prod.shape,
                truncated = p:reveal(p:truncate(p:untruncated_multiply(a, b)))}
      end, {xs, ys})
      local want = {}
      for i = 1, count do want[i] = xs[i] * ys[i] end
      for _, r in ipairs(results) do
        assert.are.same({count}, r.shape)
        local bias = assert_close(want, r.product, units, "multiply")
        assert.is_true(math.abs(bias) < 0.25, ("multiply is biased by %.3f units"):format(bias))
        bias = assert_close(want, r.truncated, units, "truncate(untruncated_multiply)")
        assert.is_true(math.abs(bias) < 0.25, ("truncate is biased by %.3f units"):format(bias))
      end
    end)

    it("multiplies scalars, matrices and arrays longer than a chunk", function()
      math.randomseed(200 + n)
      local long = 70000 -- more than one chunk of 65536 elements
      local xs, ys = randoms(long, 3), randoms(long, 3)
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = (comm.world_size + 1) // 2})
        local s = p:share(1, comm.rank == 1 and -2.5 or nil, {})
        local t = p:share(2, comm.rank == 2 and 0.375 or nil, {})
        local m = p:share(0, comm.rank == 0 and {{1.5, -2, 0}, {0.25, 3, -1}} or nil, {2, 3})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(1, comm.rank == 1 and y or nil, {#y})
        local big = p:multiply(a, b)
        local ends = p:reveal(big)
        return {scalar = p:reveal(p:multiply(s, t)), matrix = p:reveal(p:multiply(m, m)),
                first = ends[1], middle = ends[65537], last = ends[#x], shape = p:multiply(m, m).shape}
      end, {xs, ys})
      for _, r in ipairs(results) do
        assert_close({-0.9375}, {r.scalar}, units, "scalar")
        assert.are.same({2, 3}, r.shape)
        assert_close({2.25, 4, 0, 0.0625, 9, 1}, {r.matrix[1][1], r.matrix[1][2], r.matrix[1][3],
                     r.matrix[2][1], r.matrix[2][2], r.matrix[2][3]}, units, "matrix")
        assert_close({xs[1] * ys[1], xs[65537] * ys[65537], xs[long] * ys[long]},
                     {r.first, r.middle, r.last}, units, "long vector")
      end
    end)

    it("multiplies every element of vectors of several rounds, with threshold (n + 1) / 2", function()
      -- Threshold (n + 1) / 2: the product's shares have degree n - 1, so
      -- that every player's share is needed (the masked reveal as a plain
      -- sum of scaled shares in the wide field); 40,000 elements take
      -- several rounds of a truncation in either field.
      math.randomseed(250 + n)
      local count = 40000
      local xs, ys = randoms(count, 8), randoms(count, 8)
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = (comm.world_size + 1) // 2,
                                                            order = order})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(comm.world_size - 1, comm.rank == comm.world_size - 1 and y or nil, {#y})
        return p:reveal(p:multiply(a, b))
      end, {xs, ys})
      local want = {}
      for i = 1, count do want[i] = xs[i] * ys[i] end
      for _, r in ipairs(results) do
        local bias = assert_close(want, r, units, "multiply")
        assert.is_true(math.abs(bias) < 0.1, ("multiply is biased by %.3f units"):format(bias))
      end
    end)

    it("computes dot products and matrix-vector products", function()
      math.randomseed(300 + n)
      local rows, cols = 7, 40
      local A, x = {}, randoms(cols, 10)
      for i = 1, rows do A[i] = randoms(cols, 10) end
      local results = run(n, function(comm, Am, xv)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order})
        local sa = p:share(0, comm.rank == 0 and Am or nil, {#Am, #xv})
        local sx = p:share(1, comm.rank == 1 and xv or nil, {#xv})
        local row1 = p:share(0, comm.rank == 0 and Am[1] or nil, {#xv})
        return {mv = p:reveal(p:matvec(sa, sx)), dot = p:reveal(p:dot(row1, sx)),
                dot2 = p:reveal(p:dot(sa, sa))}
      end, {A, x})
      local want, sumsq = {}, 0
      for i = 1, rows do
        want[i] = 0
        for j = 1, cols do
          want[i] = want[i] + A[i][j] * x[j]
          sumsq = sumsq + A[i][j] * A[i][j]
        end
      end
      for _, r in ipairs(results) do
        assert_close(want, r.mv, units, "matvec")
        assert_close({want[1]}, {r.dot}, units, "dot")
        assert_close({sumsq}, {r.dot2}, units, "dot of matrices")
      end
    end)

    it("raises to public powers, in the field and in fixed point", function()
      math.randomseed(400 + n)
      local xs = randoms(20, 1.5)
      local ints = {}
      for i = 1, 20 do ints[i] = math.random(-1000, 1000) end
      local results = run(n, function(comm, x, k)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order})
        local q = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order,
                                                            encoding = cicada.encoding.Identity()})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = q:share(1, comm.rank == 1 and k or nil, {#k})
        local out = {fixed = {}, field = {}}
        for _, e in ipairs{0, 1, 2, 3, 5, 6} do
          out.fixed[e + 1] = p:reveal(p:power(a, e))
        end
        for _, e in ipairs{0, 1, 2, 7, 13} do
          out.field[e + 1] = q:reveal(q:field_power(b, e))
        end
        out.field_multiply = q:reveal(q:field_multiply(b, b))
        return out
      end, {xs, ints})
      local F = cicada.Field{order = order or field.SUITE_ORDER}
      for _, r in ipairs(results) do
        for _, e in ipairs{0, 1, 2, 3, 5, 6} do
          local want = {}
          for i = 1, #xs do want[i] = xs[i] ^ e end
          -- each multiply adds its error to the propagated ones
          assert_close(want, r.fixed[e + 1], e <= 1 and 0 or 12 * units, "power " .. e)
        end
        for _, e in ipairs{0, 1, 2, 7, 13} do
          assert.are.same(F:decode_int(F:power(ints, e)), r.field[e + 1])
        end
        assert.are.same(F:decode_int(F:multiply(ints, ints)), r.field_multiply)
      end
    end)

    it("inverts shared field elements", function()
      math.randomseed(500 + n)
      local ints = {}
      for i = 1, 50 do ints[i] = math.random(1, 1 << 40) * (i % 2 == 0 and -1 or 1) end
      local results = run(n, function(comm, k)
        local q = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order,
                                                            encoding = cicada.encoding.Identity()})
        local b = q:share(2, comm.rank == 2 and k or nil, {#k})
        local inv = q:multiplicative_inverse(b)
        return {inv = q:reveal(inv), one = q:reveal(q:field_multiply(inv, b)),
                scalar = q:reveal(q:multiplicative_inverse(q:share(0, comm.rank == 0 and 2 or nil, {})))}
      end, {ints})
      local F = cicada.Field{order = order or field.SUITE_ORDER}
      local ones = {}
      for i = 1, #ints do ones[i] = 1 end
      for _, r in ipairs(results) do
        assert.are.same(F:decode_int(F:inverse(ints)), r.inv)
        assert.are.same(ones, r.one)
        assert.are.same(F:decode_int(F:inverse(2)), r.scalar)
      end
    end)

    it("makes random bitwise secrets and composes bits", function()
      local results = run(n, function(comm)
        local q = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, order = order,
                                                            encoding = cicada.encoding.Identity()})
        local bits, value = q:random_bitwise_secret{bits = 12, shape = {300}}
        local one_bits, one_value = q:random_bitwise_secret{bits = 5, src = {1}}
        local given = q:share(0, comm.rank == 0 and {{1, 0, 1}, {1, 1, 0}} or nil, {2, 3})
        return {bits = q:reveal(bits), value = q:reveal(value), shapes = {bits.shape, value.shape},
                one_bits = q:reveal(one_bits), one_value = q:reveal(one_value),
                composed = q:reveal(q:bit_compose(given))}
      end)
      local r = results[1]
      assert.are.same({{300, 12}, {300}}, r.shapes)
      local ones = {}
      for i = 1, 300 do
        local v = 0
        for j = 1, 12 do
          local b = r.bits[i][j]
          assert.is_true(b == 0 or b == 1)
          ones[j] = (ones[j] or 0) + b
          v = 2 * v + b
        end
        assert.are.equal(v, r.value[i])
      end
      for j = 1, 12 do -- each bit position is 1 about half the time
        assert.is_true(ones[j] > 90 and ones[j] < 210, ("bit %d was 1 %d times in 300"):format(j, ones[j]))
      end
      local v = 0
      for j = 1, 5 do v = 2 * v + r.one_bits[j] end
      assert.are.equal(v, r.one_value)
      assert.are.same({5, 6}, r.composed)
      for _, other in ipairs(results) do assert.are.same(r.value, other.value) end
    end)
  end)
end

-- What only the wide default field holds: products beyond 2^29 (the 64-bit
-- field's bound at precision 16), values of more than 64 bits, and revealed
-- integers beyond Lua's, for 3 and 5 players.
for _, n in ipairs{3, 5} do
  describe(("ProtocolSuite in the 128-bit field among %d players"):format(n), function()
    it("multiplies, truncates and sums values up to 30,000, products up to 9 * 10^8", function()
      math.randomseed(700 + n)
      local xs, ys = randoms(500, 30000), randoms(500, 30000)
      xs[1], ys[1], xs[2], ys[2], xs[3], ys[3] = 30000, 30000, -30000, 30000, 0, -12345.5
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, {threshold = 2})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(1, comm.rank == 1 and y or nil, {#y})
        return {bits = p.field.bits, product = p:reveal(p:multiply(a, b)),
                sum = p:reveal(p:add(a, b)), difference = p:reveal(p:subtract(a, b)),
                dot = p:reveal(p:dot(a, b)),
                square = p:reveal(p:power(p:share(0, comm.rank == 0 and {-29999.5} or nil, {1}), 2))}
      end, {xs, ys})
      local want, dot = {}, 0
      for i = 1, #xs do want[i] = xs[i] * ys[i]; dot = dot + want[i] end
      for _, r in ipairs(results) do
        assert.are.equal(127, r.bits)
        assert_close(want, r.product, max_units(n), "multiply")
        for i = 1, #xs do
          assert.are.equal(xs[i] + ys[i], r.sum[i])
          assert.are.equal(xs[i] - ys[i], r.difference[i])
        end
        assert.is_true(math.abs(r.dot - dot) <= max_units(n) * UNIT + 1e-6 * math.abs(dot))
        assert_close({29999.5 ^ 2}, r.square, max_units(n), "power")
      end
    end)

    it("shares, reveals, inverts and composes values beyond 64 bits", function()
      local results = run(n, function(comm)
        local q = shamir.ProtocolSuite(comm, {threshold = 2, encoding = cicada.encoding.Identity()})
        local F = q.field
        local big = F:array{"0x123456789abcdef0123456789abcdef", "-99999999999999999999", 7}
        local b = q:share(0, comm.rank == 0 and big or nil, {3})
        local bits, value = q:random_bitwise_secret{bits = 100, shape = {20}}
        local inv = q:multiplicative_inverse(b)
        return {revealed = q:reveal(b), value = q:reveal(value), bits = q:reveal(bits),
                one = q:reveal(q:field_multiply(inv, b)),
                product = q:reveal(q:field_multiply(b, b))}
      end)
      local F = cicada.Field{order = field.SUITE_ORDER}
      local big = F:array{"0x123456789abcdef0123456789abcdef", "-99999999999999999999", 7}
      for _, r in ipairs(results) do
        assert.are.same({"1512366075204170929049582354406559215", "-99999999999999999999", 7},
                        r.revealed)
        assert.are.same({1, 1, 1}, r.one)
        assert.are.same(F:decode_int(F:multiply(big, big)), r.product)
        local high = 0
        for i = 1, 20 do
          assert.are.same(F:decode_int(F:bit_compose(F:array(r.bits[i]))), r.value[i])
          if math.type(r.value[i]) ~= "integer" then high = high + 1 end
        end
        assert.is_true(high >= 15, "most 100-bit values do not fit a Lua integer")
        assert.are.same(results[1].value, r.value)
      end
    end)
  end)
end

describe("ProtocolSuite randomness", function()
  it("replays a run's shares for a seed, pair streams included", function()
    local function product_shares(seed)
      return run(3, function(comm, s)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, seed = s})
        local a = p:share(0, comm.rank == 0 and {1.5, -2} or nil, {2})
        local prod = p:multiply(a, a)
        return {shares = prod:tolist(), value = p:reveal(prod)}
      end, {seed})
    end
    local x, y, z = product_shares(11), product_shares(11), product_shares(12)
    for rank = 1, 3 do
      assert.are.same(x[rank].shares, y[rank].shares)
      assert.are_not.same(x[rank].shares, z[rank].shares)
      assert_close({2.25, 4}, x[rank].value, max_units(3), "seeded product")
    end
  end)
end)

describe("ProtocolSuite after a shrink", function()
  it("multiplies shares made before the failure in a suite rebuilt with indices_for", function()
    -- Five players share; then players 1 and 3 are pretended dead: shrink
    -- would give oldranks {0, 2, 4}, and the three survivors go on with
    -- their old shares.
    local oldranks = {0, 2, 4}
    local first = run(5, function(comm, olds)
      local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, indices = {3, 5, 7, 11, 13}})
      local a = p:share(0, comm.rank == 0 and {1.5, -2.25, 10} or nil, {3})
      local b = p:share(4, comm.rank == 4 and {-4, 0.5, 0.125} or nil, {3})
      local m = p:share(3, comm.rank == 3 and {{1, 2, 3}, {-1, 0.5, 2}} or nil, {2, 3})
      return {a = a, b = b, m = m, indices = p:indices_for(olds)}
    end, {oldranks})
    local shares = {}
    for i, r in ipairs(oldranks) do shares[i] = first[r + 1] end
    local second = run(3, function(comm, mine, indices)
      local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, indices = indices})
      local s = mine[comm.rank + 1]
      return {product = p:reveal(p:multiply(s.a, s.b)), mv = p:reveal(p:matvec(s.m, s.a)),
              dot = p:reveal(p:dot(s.a, s.b))}
    end, {shares, first[1].indices})
    assert.are.same({3, 7, 13}, first[1].indices)
    for _, r in ipairs(second) do
      assert_close({-6, -1.125, 1.25}, r.product, max_units(3), "product")
      assert_close({27, 17.375}, r.mv, max_units(3), "matvec")
      assert_close({-5.875}, {r.dot}, max_units(3), "dot")
    end
  end)

  it("multiplies old shares after a real death, revoke and shrink", function()
    local results = cicada.run{world_size = 4, timeout = support.seconds(20), fn = function(comm)
      cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
      local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2})
      local a = p:share(0, comm.rank == 0 and {2.5, -3, 0.75} or nil, {3})
      local b = p:share(1, comm.rank == 1 and {4, 1.5, -8} or nil, {3})
      local before = p:reveal(p:multiply(a, b)) -- the suite is in use when 2 dies
      if comm.rank == 2 then cicada.inject.kill() end
      local ok, err = pcall(p.multiply, p, a, b)
      if ok then return {error = "multiply succeeded with a dead player"} end
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "after"}
      local q = shamir.ProtocolSuite(newcomm, support.narrow{threshold = 2,
                                                             indices = p:indices_for(oldranks)})
      return {kind = cicada.errors.kind(err), message = tostring(err), peer = err.peer,
              oldranks = oldranks, size = newcomm.world_size,
              before = before,
              product = q:reveal(q:multiply(a, b)), dot = q:reveal(q:dot(a, b))}
    end}
    assert.are.equal("Terminated(exitcode=-9)", tostring(results[3]))
    for _, rank in ipairs{0, 1, 3} do
      local r = results[rank + 1]
      assert.are.equal("table", type(r), tostring(r))
      assert.is_nil(r.error)
      -- named for the operation called, not the library's internal tags
      -- (a survivor may have heard of the death from another's revoke)
      if r.kind == "peer_failed" then
        assert.matches("^multiply: player 2 failed: ", r.message)
        assert.are.equal(2, r.peer)
      else
        assert.are.equal("revoked", r.kind)
        assert.matches("^multiply: Comm world was revoked by player %d$", r.message)
      end
      assert.are.same({0, 1, 3}, r.oldranks)
      assert.are.equal(3, r.size)
      assert_close({10, -4.5, -6}, r.before, max_units(4), "product before the failure")
      assert_close({10, -4.5, -6}, r.product, max_units(3), "product after shrink")
      assert_close({-0.5}, {r.dot}, max_units(3), "dot after shrink")
    end
  end)
end)

describe("ProtocolSuite bad input", function()
  it("refuses shares of different shapes or from another suite's field", function()
    local p = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})
    local other = shamir.ProtocolSuite(fake_comm(3), {value_bits = 8, statistical_security = 2, threshold = 2,
                                                      order = 2147483647})
    local F = p.field
    for _, op in ipairs{"multiply", "field_multiply", "untruncated_multiply", "dot"} do
      assert.has_error(function() p[op](p, F:zeros{3}, F:zeros{4}) end,
                       ("bad argument #2 to '%s' (shapes {3} and {4} differ)"):format(op))
      assert.has_error(function() p[op](p, F:zeros{3}, other.field:zeros{3}) end,
                       ("bad argument #2 to '%s' (share of another field)"):format(op))
      if op ~= "multiply" then -- multiply takes public operands
        assert.has_error(function() p[op](p, 1, F:zeros{3}) end,
                         ("bad argument #1 to '%s' (share (field array) expected, got number)"):format(op))
      end
    end
    assert.has_error(function() p:multiply(true, F:zeros{3}) end,
                     "bad argument #1 to 'multiply' (share (field array), number or list expected, got boolean)")
    assert.has_error(function() p:matvec(F:zeros{3}, F:zeros{3}) end,
                     "bad argument #1 to 'matvec' (matrix share expected, got shape {3})")
    assert.has_error(function() p:matvec(F:zeros{2, 3}, F:zeros{2}) end,
                     "bad argument #2 to 'matvec' (shapes {2, 3} and {2} do not match)")
    assert.has_error(function() p:bit_compose(F:zeros{}) end,
                     "bad argument #1 to 'bit_compose' (bits must be a vector or a matrix share)")
  end)

  it("refuses to multiply when the threshold is too high", function()
    local p = shamir.ProtocolSuite(fake_comm(4), support.narrow{threshold = 3})
    local a = p.field:zeros{2}
    for _, call in ipairs{
      {"multiply", function() p:multiply(a, a) end},
      {"field_multiply", function() p:field_multiply(a, a) end},
      {"dot", function() p:dot(a, a) end},
      {"power", function() p:power(a, 2) end},
      {"multiplicative_inverse", function() p:multiplicative_inverse(a) end},
    } do
      assert.has_error(call[2], call[1] .. ": threshold 3 is too high for multiplication among 4 "
                       .. "players (it needs 2 * threshold - 1 <= 4, so threshold <= 2)")
    end
    -- Sharing and revealing still work with that threshold.
    assert.are.equal(3, p.threshold)
  end)

  it("refuses negative and fractional exponents", function()
    local p = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})
    local a = p.field:zeros{2}
    for _, op in ipairs{"power", "field_power"} do
      for _, e in ipairs{-1, 2.5, "2", math.huge} do
        assert.has_error(function() p[op](p, a, e) end,
                         ("bad argument #2 to '%s' (exponent must be a non-negative integer, got %s)")
                         :format(op, tostring(e)))
      end
    end
    -- An integral float is an integer exponent; e = 0 needs no communication.
    assert.are.same({1, 1}, p:field_power(a, 0.0):tolist())
    assert.are.same({65536, 65536}, p:power(a, 0):tolist())
  end)

  it("refuses fixed-point operations without a fixed-point encoding", function()
    local q = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2, encoding = cicada.encoding.Identity()})
    local a = q.field:zeros{2}
    assert.has_error(function() q:multiply(a, a) end,
                     "multiply needs a fixed-point encoding, not Identity(); use field_multiply")
    assert.has_error(function() q:truncate(a, -1) end,
                     "bad argument #2 to 'truncate' (bits must be a non-negative integer, got -1)")
    assert.has_error(function() q:random_bitwise_secret{bits = 127} end,
                     "bad argument #1 to 'random_bitwise_secret' (bits must be an integer in [1, 126], got 127)")
    assert.has_error(function() q:random_bitwise_secret{bits = 4, src = {0, 0}} end,
                     "bad argument #1 to 'random_bitwise_secret' (rank 0 appears twice in src)")
  end)

  it("refuses a field too small for the value range, precision and security", function()
    assert.has_error(function()
      shamir.ProtocolSuite(fake_comm(5), {threshold = 2, value_bits = 32,
                                          order = "18446744073709551557"})
    end, "ProtocolSuite: the field (64 bits) is too small for value_bits 32, precision 16 "
         .. "and statistical_security 40 among 5 players: they need a field of 93 bits, "
         .. 'e.g. order = 2^127 - 1 ("170141183460469231731687303715884105727"); '
         .. "or lower value_bits or statistical_security")
    assert.has_error(function()
      shamir.ProtocolSuite(fake_comm(3), {threshold = 2, order = 65537, statistical_security = 8})
    end, "ProtocolSuite: the field (17 bits) is too small for value_bits 48, precision 16 "
         .. "and statistical_security 8 among 3 players: they need a field of 76 bits, "
         .. 'e.g. order = 2^127 - 1 ("170141183460469231731687303715884105727"); '
         .. "or lower value_bits or statistical_security")
    local p = shamir.ProtocolSuite(fake_comm(3), {threshold = 2, value_bits = 32,
                                                  order = "18446744073709551557",
                                                  statistical_security = 10})
    assert.are.equal(10, p.statistical_security)
    assert.are.equal(32, p.value_bits)
  end)

  it("raises the same error at every player for the inverse of a shared zero", function()
    local results = run(3, function(comm)
      local q = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, encoding = cicada.encoding.Identity()})
      local v = q:share(0, comm.rank == 0 and {3, 0, 5} or nil, {3})
      local z = q:share(1, comm.rank == 1 and 0 or nil, {})
      local ok1, err1 = pcall(q.multiplicative_inverse, q, v)
      local ok2, err2 = pcall(q.multiplicative_inverse, q, z)
      -- The suite is still usable afterwards.
      return {ok1 = ok1, err1 = tostring(err1), ok2 = ok2, err2 = tostring(err2),
              after = q:reveal(q:field_multiply(v, v))}
    end)
    for _, r in ipairs(results) do
      assert.is_false(r.ok1)
      assert.matches("multiplicative_inverse: element 2 of the secret is zero and has no inverse",
                     r.err1, 1, true)
      assert.is_false(r.ok2)
      assert.matches("multiplicative_inverse: the secret is zero and has no inverse", r.err2, 1, true)
      assert.are.same({9, 0, 25}, r.after)
    end
  end)
end)

describe("multiplicative_inverse and the field's try_inverse", function()
  -- F with a try_inverse that counts its calls: F's own where the engine
  -- has it, else one that finds the first zero element in Lua.
  local function counting_field(F)
    local proxy = {calls = 0}
    function proxy.try_inverse(_, u)
      proxy.calls = proxy.calls + 1
      if F.try_inverse then return F:try_inverse(u) end
      for i = 1, u.size do
        if u[i] == 0 then return nil, i end
      end
      return F:inverse(u)
    end
    return setmetatable(proxy, {__index = function(_, k)
      local v = F[k]
      if type(v) ~= "function" then return v end
      return function(_, ...) return v(F, ...) end
    end})
  end

  it("asks F:try_inverse for the first zero instead of reading an error", function()
    local results = run(3, function(comm)
      local q = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, encoding = cicada.encoding.Identity()})
      local v = q:share(0, comm.rank == 0 and {3, 5, 0} or nil, {3})
      local two = q:share(0, comm.rank == 0 and {2} or nil, {1})
      local F = q.field
      q.field = counting_field(F)
      local inv = q:multiplicative_inverse(two)
      local okz, err = pcall(q.multiplicative_inverse, q, v)
      local calls = q.field.calls
      q.field = F
      return {inv = q:reveal(inv), okz = okz, err = tostring(err), calls = calls}
    end)
    local F = cicada.Field{order = field.SUITE_ORDER}
    for _, r in ipairs(results) do
      assert.are.same({1}, F:multiply(F:array(r.inv), 2):tolist())
      assert.is_false(r.okz)
      assert.matches("multiplicative_inverse: element 3 of the secret is zero and has no inverse",
                     r.err, 1, true)
      assert.is_true(r.calls >= 2)
    end
  end)
end)
