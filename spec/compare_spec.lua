-- compare_spec.lua: the comparison and logic operations of
-- cicada.shamir.ProtocolSuite (less, less_zero, equal, maximum, minimum,
-- relu, absolute, floor, zigmoid, logical_*), public operands and per-call
-- encodings, against the plaintext among real player processes: 3 and 5
-- players, negative, zero, fractional and large values, and after a shrink.
local cicada = require("cicada")
local shamir = require("cicada.shamir")
local support = require("support")

local fake_comm = support.fake_comm

-- In a wide default field the suite's defaults hold (40 bits of
-- statistical security, values and products up to 2^31, so products near
-- 10^9); the 64-bit field has room for values up to 2^17 with 8 bits of
-- security (support.narrow).
local WIDE = shamir.BasicProtocolSuite(fake_comm(2), {threshold = 2}).field.bits >= 100
local PRODUCT_FACTOR = WIDE and 32768 or 1 -- 30000 * 32768 is about 10^9
local PRODUCT_LIMIT = 30000 * PRODUCT_FACTOR

local run = support.run_all_slow

local randoms = support.fixed_randoms

local function bit(b) return b and 1 or 0 end

-- The plaintext of every unary and binary operation on the lists xs, ys.
local function plaintext(xs, ys)
  local want = {less = {}, less_zero = {}, equal = {}, maximum = {}, minimum = {},
                relu = {}, absolute = {}, floor = {}, zigmoid = {}}
  for i, x in ipairs(xs) do
    local y = ys[i]
    want.less[i], want.less_zero[i], want.equal[i] = bit(x < y), bit(x < 0), bit(x == y)
    want.maximum[i], want.minimum[i] = math.max(x, y), math.min(x, y)
    want.relu[i], want.absolute[i], want.floor[i] = math.max(x, 0), math.abs(x), math.floor(x)
    want.zigmoid[i] = x < -0.5 and 0 or x > 0.5 and 1 or x + 0.5
  end
  return want
end

-- Every operation on shares of xs (player 0) and ys (the last player),
-- revealed: comparisons with Identity() (0/1), the others as numbers.
local function every_operation(threshold)
  return function(comm, xs, ys, shape)
    local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
    local last = comm.world_size - 1
    local a = p:share(0, comm.rank == 0 and xs or nil, shape)
    local b = p:share(last, comm.rank == last and ys or nil, shape)
    local I = cicada.encoding.Identity()
    local got = {shape = p:less(a, b).shape}
    for _, op in ipairs{"less", "equal"} do got[op] = p:reveal(p[op](p, a, b), nil, I) end
    got.less_zero = p:reveal(p:less_zero(a), nil, I)
    for _, op in ipairs{"maximum", "minimum"} do got[op] = p:reveal(p[op](p, a, b)) end
    for _, op in ipairs{"relu", "absolute", "floor", "zigmoid"} do got[op] = p:reveal(p[op](p, a)) end
    return got
  end
end

-- Flatten a list of rows.
local function flat(rows)
  if type(rows[1]) ~= "table" then return rows end
  local out = {}
  for _, row in ipairs(rows) do
    for _, v in ipairs(row) do out[#out + 1] = v end
  end
  return out
end

-- m rows of n bits drawn from stream as the group kernels draw them:
-- each row packed into ceil(n / 64) little-endian 64-bit words. A flat
-- list of 0/1, row after row.
local function drawn_bits(stream, m, n)
  local words = (n + 63) // 64
  local packed, b = stream:bytes(m * words * 8), {}
  for j = 0, m - 1 do
    for e = 0, n - 1 do
      local byte = packed:byte(j * words * 8 + e // 8 + 1)
      b[j * n + e + 1] = (byte >> (e % 8)) & 1
    end
  end
  return b
end

local function assert_same_lists(want, got, what)
  assert.are.equal(#want, #got, what .. ": lengths")
  for i = 1, #want do
    if want[i] ~= got[i] then
      error(("%s: element %d is %s, expected %s"):format(what, i, tostring(got[i]),
                                                          tostring(want[i])), 2)
    end
  end
end

local EDGES_X = {-3.5, 0, 0, 2, 30000, -30000, 0.25, 7, -0.5, 0.5, 1 / 65536, -1 / 65536, -29999.75, 12.5}
local EDGES_Y = {1, 0, -1 / 65536, 2, 29999.5, -29999.5, 0.5, 7.25, -0.5, 0.75, 0, 0, -29999.75, -12.5}

for _, n in ipairs{3, 5} do
  local threshold = (n + 1) // 2
  describe(("comparisons among %d players"):format(n), function()
    it("match the plaintext on negative, zero, fractional and large values", function()
      local results = run(n, every_operation(threshold), {EDGES_X, EDGES_Y, {#EDGES_X}})
      local want = plaintext(EDGES_X, EDGES_Y)
      for _, r in ipairs(results) do
        assert.are.same({#EDGES_X}, r.shape)
        for op, values in pairs(want) do assert_same_lists(values, r[op], op) end
      end
    end)

    it("match the plaintext on random matrices of values up to 30,000", function()
      math.randomseed(300 + n)
      local rows, cols = 40, 25
      local xs, ys = randoms(rows * cols, 30000), randoms(rows * cols, 30000)
      for i = 1, rows * cols, 7 do ys[i] = xs[i] end -- some equal pairs
      local mx, my = {}, {}
      for r = 1, rows do
        mx[r], my[r] = {}, {}
        for c = 1, cols do
          mx[r][c], my[r][c] = xs[(r - 1) * cols + c], ys[(r - 1) * cols + c]
        end
      end
      local results = run(n, every_operation(threshold), {mx, my, {rows, cols}})
      local want = plaintext(xs, ys)
      for _, r in ipairs(results) do
        assert.are.same({rows, cols}, r.shape)
        for op, values in pairs(want) do assert_same_lists(values, flat(r[op]), op) end
      end
    end)

    it("work chunk by chunk on arrays longer than a chunk", function()
      math.randomseed(600 + n)
      local xs, ys = randoms(250, 1000), randoms(250, 1000)
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
        p._chunk_bit_elements = 100 * p.value_bits -- chunks of 100 elements
        local I = cicada.encoding.Identity()
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(1, comm.rank == 1 and y or nil, {#y})
        return {less = p:reveal(p:less(a, b), nil, I), floor = p:reveal(p:floor(a)),
                composed = p:reveal(p:bit_compose(p:bit_decompose(a)), nil, I), k = p.value_bits}
      end, {xs, ys})
      local want = plaintext(xs, ys)
      for _, r in ipairs(results) do
        assert_same_lists(want.less, r.less, "less")
        assert_same_lists(want.floor, r.floor, "floor")
        local composed = {}
        for i, x in ipairs(xs) do composed[i] = math.floor(x * 65536 + 0.5) % (1 << r.k) end
        assert_same_lists(composed, r.composed, "bit_compose(bit_decompose(a))")
      end
    end)

    it("take public operands, compare products and reveal booleans", function()
      local xs = {-2.5, 0, 1.5, 30000, -30000}
      local ys = {4, 3, 0.5, PRODUCT_FACTOR, PRODUCT_FACTOR}
      local results = run(n, function(comm, x, y, limit)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
        local B = cicada.encoding.Boolean()
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(1, comm.rank == 1 and y or nil, {#y})
        local prod = p:multiply(a, b)
        return {
          less_public = p:reveal(p:less(a, 1), nil, B),
          public_less = p:reveal(p:less(1, a), nil, B),
          max_public = p:reveal(p:maximum(a, {0, 0, 2, 0, 0})),
          sign = p:reveal(p:less(prod, 0.5), nil, B),
          at_limit = p:reveal(p:less(limit - 1, prod), nil, B),
          product = p:reveal(prod),
          sum = p:reveal(p:add(2, a)),
          difference = p:reveal(p:subtract(a, {1, 1, 1, 1, 1})),
          scaled = p:reveal(p:multiply(0.5, a)),
        }
      end, {xs, ys, PRODUCT_LIMIT})
      for _, r in ipairs(results) do
        assert.are.same({true, true, false, false, true}, r.less_public)
        assert.are.same({false, false, true, true, false}, r.public_less)
        assert.are.same({0, 0, 2, 30000, 0}, r.max_public)
        assert.are.same({true, true, false, false, true}, r.sign)
        assert.are.same({false, false, false, true, false}, r.at_limit)
        assert.are.same({-0.5, 2, 3.5, 30002, -29998}, r.sum)
        assert.are.same({-3.5, -1, 0.5, 29999, -30001}, r.difference)
        for i, v in ipairs{-1.25, 0, 0.75, 15000, -15000} do
          assert.is_true(math.abs(r.scaled[i] - v) <= 4 * 2 ^ -16, "scaled " .. i)
        end
        for i, v in ipairs{-10, 0, 0.75, PRODUCT_LIMIT, -PRODUCT_LIMIT} do
          assert.is_true(math.abs(r.product[i] - v) <= 4 * 2 ^ -16, "product " .. i)
        end
      end
    end)

    it("divide with the documented accuracy", function()
      math.randomseed(500 + n)
      local xs, ys = {1, 7, -3, 100, 0.5, 30000, -12.25, 0, -30000}, {3, 2, 0.7, -9, 1000, 7, -0.125, 5, -1}
      for i = #xs + 1, 60 do
        xs[i] = math.random(-6553600, 6553600) / 65536
        ys[i] = math.random(32768, 65536000) / 65536 * (i % 2 == 0 and -1 or 1)
      end
      local results = run(n, function(comm, x, y)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local b = p:share(1, comm.rank == 1 and y or nil, {#y})
        return {quotient = p:reveal(p:divide(a, b)),
                scalar = p:reveal(p:divide(1, p:share(2, comm.rank == 2 and 4 or nil, {})))}
      end, {xs, ys})
      for _, r in ipairs(results) do
        for i, q in ipairs(r.quotient) do
          local want = xs[i] / ys[i]
          if math.abs(q - want) > (math.abs(xs[i]) + math.abs(want) + 1) * 2 ^ -13 then
            error(("%g / %g gave %.8g, expected %.8g"):format(xs[i], ys[i], q, want))
          end
        end
        assert.is_true(math.abs(r.scalar - 0.25) <= 2 ^ -13)
      end
    end)

    it("decompose negative, zero, fractional and large values into bits", function()
      local xs = {0, 1, 5, -1, 30000, -30000, 0.5, 12345.678, -2 ^ -16}
      local results = run(n, function(comm, x)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
        local I = cicada.encoding.Identity()
        local a = p:share(0, comm.rank == 0 and x or nil, {#x})
        local bits = p:bit_decompose(a)
        local few = p:bit_decompose(p:share(1, comm.rank == 1 and 3 or nil, {}), 20)
        return {shape = bits.shape, bits = p:reveal(bits, nil, I), few_shape = few.shape,
                few = p:reveal(few, nil, I), k = p.value_bits,
                composed = p:reveal(p:bit_compose(bits), nil, I)}
      end, {xs})
      for _, r in ipairs(results) do
        local k = r.k
        assert.are.same({#xs, k}, r.shape)
        for i, x in ipairs(xs) do
          local v = math.floor(x * 65536 + 0.5) % (1 << k) -- two's complement in k bits
          local want = {}
          for j = 1, k do want[j] = (v >> (k - j)) & 1 end
          assert_same_lists(want, r.bits[i], ("bits of %g"):format(x))
          assert.are.equal(v, r.composed[i])
        end
        assert.are.same({20}, r.few_shape)
        assert_same_lists({0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, r.few, "bits of 3")
      end
    end)

    it("compute logic on shared bits", function()
      local results = run(n, function(comm)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = threshold})
        local I = cicada.encoding.Identity()
        local a = p:share(0, comm.rank == 0 and {0, 0, 1, 1} or nil, {4}, I)
        local b = p:share(1, comm.rank == 1 and {0, 1, 0, 1} or nil, {4}, I)
        return {["and"] = p:reveal(p:logical_and(a, b), nil, I),
                ["or"] = p:reveal(p:logical_or(a, b), nil, I),
                xor = p:reveal(p:logical_xor(a, b), nil, I),
                ["not"] = p:reveal(p:logical_not(a), nil, I),
                chained = p:reveal(p:logical_and(p:less(a, b), p:equal(a, 0)), nil, I)}
      end)
      for _, r in ipairs(results) do
        assert.are.same({0, 0, 0, 1}, r["and"])
        assert.are.same({0, 1, 1, 1}, r["or"])
        assert.are.same({0, 1, 1, 0}, r.xor)
        assert.are.same({1, 1, 0, 0}, r["not"])
        assert.are.same({0, 1, 0, 0}, r.chained)
      end
    end)
  end)
end

describe("comparisons", function()
  it("work on scalars and on old shares after a real death, revoke and shrink", function()
    local results = cicada.run{world_size = 4, timeout = support.seconds(30), fn = function(comm)
      cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
      local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2})
      local a = p:share(0, comm.rank == 0 and {2.5, -3, 0.75} or nil, {3})
      local b = p:share(1, comm.rank == 1 and {4, -3, -8} or nil, {3})
      local s = p:share(3, comm.rank == 3 and -1.25 or nil, {})
      if comm.rank == 2 then cicada.inject.kill() end
      local ok, err = pcall(p.less, p, a, b)
      if ok then return {error = "less succeeded with a dead player"} end
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "after"}
      local q = shamir.ProtocolSuite(newcomm, support.narrow{threshold = 2,
                                                             indices = p:indices_for(oldranks)})
      local I = cicada.encoding.Identity()
      return {kind = cicada.errors.kind(err), size = newcomm.world_size,
              less = q:reveal(q:less(a, b), nil, I), equal = q:reveal(q:equal(a, b), nil, I),
              maximum = q:reveal(q:maximum(a, b)), scalar = q:reveal(q:less_zero(s), nil, I),
              absolute = q:reveal(q:absolute(s))}
    end}
    assert.are.equal("Terminated(exitcode=-9)", tostring(results[3]))
    for _, rank in ipairs{0, 1, 3} do
      local r = results[rank + 1]
      assert.are.equal("table", type(r), tostring(r))
      assert.is_nil(r.error)
      assert.is_not_nil(r.kind)
      assert.are.equal(3, r.size)
      assert.are.same({1, 0, 0}, r.less)
      assert.are.same({0, 1, 0}, r.equal)
      assert.are.same({4, -3, 0.75}, r.maximum)
      assert.are.equal(1, r.scalar)
      assert.are.equal(1.25, r.absolute)
    end
  end)

  it("compare every value of small ranges (every shape of the less-than tree)", function()
    -- value_bits v makes Mod2m compare v - 1 bits: from 1 (no pairs) to
    -- 12, so every mix of pairs and a left-over bit in the tree's levels.
    local results = run(3, function(comm)
      local I = cicada.encoding.Identity()
      local got = {}
      for v = 2, 13 do
        local p = shamir.ProtocolSuite(comm, {threshold = 2, encoding = I, value_bits = v,
                                              statistical_security = 20,
                                              order = "170141183460469231731687303715884105727"})
        local xs, ys = {}, {}
        local half = 1 << (v - 2) -- a and b in [-half, half), so a - b in range
        for x = -half, half - 1 do
          for y = -half, half - 1, math.max(1, half // 4) do xs[#xs + 1], ys[#ys + 1] = x, y end
        end
        local a = p:share(0, comm.rank == 0 and xs or nil, {#xs})
        local b = p:share(1, comm.rank == 1 and ys or nil, {#ys})
        got[v] = {xs = xs, ys = ys, lt = p:reveal(p:less(a, b), nil, I),
                  ltz = p:reveal(p:less_zero(a), nil, I)}
      end
      return got
    end)
    for _, got in ipairs(results) do
      for v = 2, 13 do
        local g = got[v]
        for i, x in ipairs(g.xs) do
          assert.are.equal(bit(x < g.ys[i]), g.lt[i], ("value_bits %d: %d < %d"):format(v, x, g.ys[i]))
          assert.are.equal(bit(x < 0), g.ltz[i], ("value_bits %d: %d < 0"):format(v, x))
        end
      end
    end
  end)

  it("make the masks' random bits from a group's stream and threshold - 1 dealers", function()
    -- 3 and 4 players with threshold 2 (no multiplications: the XOR and the
    -- pairs' products by F:xor_group), 5 with threshold 3 (multiplications).
    for _, case in ipairs{{3, 2}, {4, 2}, {5, 3}} do
      local results = run(case[1], function(comm, t)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = t})
        p:_mask_bits(10, 4, 10, 2) -- the streams' seeds travel first
        -- Count the messages through a stand-in for the communicator.
        local sent = 0
        p.communicator = setmetatable({_lib_send = function(_, ...)
          sent = sent + 1
          return comm:_lib_send(...)
        end}, {__index = function(_, key)
          local v = comm[key]
          if type(v) ~= "function" then return v end
          return function(_, ...) return v(comm, ...) end
        end})
        local bits, high, prod = p:_mask_bits(1000, 5, 10, 2)
        p.communicator = comm
        local I = cicada.encoding.Identity()
        return {sent = sent, bits = p:reveal(bits, nil, I), high = p:reveal(high, nil, I),
                prod = prod and p:reveal(prod, nil, I)}
      end, {case[2]})
      local n, t = case[1], case[2]
      for r, got in ipairs(results) do
        -- The dealers (the last t - 1 ranks) send one message to each
        -- player whose share is not drawn from their pair's stream. With
        -- t = 2, ranks 0 and 1 send the dealer one message each; otherwise
        -- the XOR takes two multiplications of one message to each of n - t
        -- players per player.
        local dealing = r - 1 > n - t and n - t or 0
        local xor = t == 2 and (r <= 2 and 1 or 0) or 2 * (n - t)
        assert.are.equal(dealing + xor, got.sent)
        local ones = 0
        for _, v in ipairs(got.bits) do
          assert.is_true(v == 0 or v == 1)
          ones = ones + v
        end
        assert.is_true(ones > 2000 and ones < 3000, tostring(ones)) -- 5000 fair bits
        for _, v in ipairs(got.high) do assert.is_true(v >= 0 and v < t * 1024) end
        if t == 2 then
          -- Pair i is rows i and 2 + i (m = 5, so m // 2 = 2 pairs).
          for i = 0, 1 do
            for e = 1, 1000 do
              assert.are.equal(got.bits[i * 1000 + e] * got.bits[(2 + i) * 1000 + e],
                               got.prod[i * 1000 + e])
            end
          end
        else
          assert.is_nil(got.prod)
        end
      end
    end
  end)

  it("wipe secrets and combine rows of field arrays (kernels of the masks)", function()
    local F = cicada.Field{order = 7}
    local a, b = F:array{1, 2, 3}, F:array{4, 5, 6, 0}
    F:wipe(a, nil, b)
    assert.are.same({0, 0, 0}, a:tolist())
    assert.are.same({0, 0, 0, 0}, b:tolist())
    -- Rows {1, 2}, {3, 4}, {5, 6} with weights 1, 2, 3: {22, 28} mod 7.
    assert.are.same({1, 0}, F:lincomb_rows(F:array{1, 2, 3}, F:array{1, 2, 3, 4, 5, 6}):tolist())
    assert.has_error(function() F:lincomb_rows(F:array{1, 2}, F:array{1, 2, 3}) end)
  end)

  it("draw a group's bits, coefficients and masks from its stream (F:xor_group_drawn)", function()
    local core = require("cicada.core")
    local field = require("cicada.field")
    for _, order in ipairs{field.SUITE_ORDER, field.DEFAULT_ORDER} do
      local F = cicada.Field{order = order}
      local n, m, pairs = 70, 5, 2
      local rng = core.rng(5)
      local u, v = F:uniform({m * n}, rng), F:uniform({pairs * n}, rng)
      local fa, x, lam = F:array(3), F:array(4), F:array(5)
      for _, with_msg in ipairs{false, true} do
        local bits, prod, msg, msgp = F:xor_group_drawn(core.rng("group"), u, v, fa, x, m,
                                                        pairs, with_msg and lam or nil, with_msg)
        -- The same values drawn by hand in the documented order: the m
        -- rows of bits packed into ceil(n / 64) little-endian words each,
        -- then each row's z and rho.
        local stream = core.rng("group")
        local b = drawn_bits(stream, m, n)
        local zs, rhos = {}, {}
        for j = 1, m + pairs do zs[j], rhos[j] = F:uniform({n}, stream), F:uniform({n}, stream) end
        local want = {F:xor_group(F:array(b), u, v, F:concat(zs), fa, x, m, pairs,
                                  with_msg and lam or nil, F:concat(rhos), with_msg)}
        assert.are.equal(want[1], bits)
        assert.are.equal(want[2], prod)
        if with_msg then
          assert.are.equal(want[3], msg)
          assert.are.equal(want[4], msgp)
        else
          assert.is_nil(msg)
        end
      end
      assert.has_error(function() F:xor_group_drawn(core.rng(1), u, v, fa, x, 4, 2) end,
                       "bad argument #6 to 'xor_group_drawn' (u must have m rows)")
      assert.has_error(function() F:xor_group_drawn(nil, u, v, fa, x, m, 2) end)
    end
  end)

  it("make a level of the less-than tree in one call each (F:less_tree_products, F:less_tree_merge)", function()
    local field = require("cicada.field")
    for _, order in ipairs{field.SUITE_ORDER, 101} do
      local F = cicada.Field{order = order}
      local n = 2
      -- 5 rows (odd: 2 pairs, both with eq products, and a row left over)
      -- and 4 (even: the last pair without one).
      local lt5 = F:array{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
      local eq5 = F:array{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
      assert.are.equal(F:array{11 * 3, 12 * 4, 15 * 7, 16 * 8, 11 * 13, 12 * 14, 15 * 17, 16 * 18},
                       F:less_tree_products(lt5, eq5, n))
      local lt4, eq4 = lt5:slice(1, 8), eq5:slice(1, 6) -- eq's last row serves no more
      assert.are.equal(F:array{11 * 3, 12 * 4, 15 * 7, 16 * 8, 11 * 13, 12 * 14},
                       F:less_tree_products(lt4, eq4, n))
      local prod = F:array{30, 31, 32, 33, 34, 35, 36, 37}
      local nlt, neq = F:less_tree_merge(lt5, prod, n)
      assert.are.same({1 + 30, 2 + 31, 5 + 32, 6 + 33, 9, 10}, nlt:tolist())
      assert.are.same({34, 35, 36, 37}, neq:tolist())
      nlt, neq = F:less_tree_merge(lt4, prod:slice(1, 6), n)
      assert.are.same({31, 33, 37, 39}, nlt:tolist())
      assert.are.same({34, 35}, neq:tolist())
      assert.has_error(function() F:less_tree_products(lt5, eq5, 3) end,
                       "bad argument #1 to 'less_tree_products' (a vector of rows of 3 elements expected)")
      assert.has_error(function() F:less_tree_products(lt5, eq5:slice(1, 6), n) end,
                       "bad argument #2 to 'less_tree_products' (eq has too few rows for lt)")
      assert.has_error(function() F:less_tree_merge(lt5, prod:slice(1, 6), n) end,
                       "bad argument #2 to 'less_tree_merge' (prod must have the rows of F:less_tree_products)")
    end
  end)

  it("randomize a group's first level after the reveal (F:_xor_group_plain, F:_bitlt_randomized)", function()
    local core = require("cicada.core")
    local field = require("cicada.field")
    for _, order in ipairs{field.SUITE_ORDER, "340282366920938463463374607431768211297"} do
      local F = cicada.Field{order = order}
      for _, m in ipairs{4, 5} do
        local n, pairs, h = 70, m // 2, m // 2
        local rows = h + m % 2
        local rng = core.rng(7)
        local u, v = F:uniform({m * n}, rng), F:uniform({pairs * n}, rng)
        local c = F:uniform_below({n}, 1 << m, rng)
        local fa, x, lam = F:array(3), F:array(2), F:array(-1)
        -- Plain shares: F:xor_group with every z 0, the bits drawn alone.
        local bits, prod = F:_xor_group_plain(core.rng("group"), u, v, fa, m, pairs)
        local b = drawn_bits(core.rng("group"), m, n)
        local want = {F:xor_group(F:array(b), u, v, F:zeros{(m + pairs) * n}, fa, x, m, pairs)}
        assert.are.equal(want[1], bits)
        assert.are.equal(want[2], prod)
        -- The first level, each row y made y + z x, and the messages
        -- lam (y + z x) - rho, drawn row by row: lt's z and rho, eq's.
        for _, with_msg in ipairs{false, true} do
          local lt, eq, mlt, meq = F:_bitlt_randomized(core.rng("level"), c, bits, prod, m, x,
                                                       with_msg and lam or nil, true)
          local plt, peq = F:bitlt_pairs(c, bits, prod, m)
          local stream = core.rng("level")
          local wl, we, ml, me = {}, {}, {}, {}
          for i = 1, rows do
            local zl, rl = F:uniform({n}, stream), F:uniform({n}, stream)
            local ze, re = F:uniform({n}, stream), F:uniform({n}, stream)
            local range = {(i - 1) * n + 1, i * n}
            wl[i] = F:add(plt:slice(range[1], range[2]), F:multiply(zl, x))
            we[i] = F:add(peq:slice(range[1], range[2]), F:multiply(ze, x))
            ml[i] = F:subtract(F:multiply(wl[i], lam), rl)
            me[i] = F:subtract(F:multiply(we[i], lam), re)
          end
          assert.are.equal(F:concat(wl), lt)
          assert.are.equal(F:concat(we), eq)
          if with_msg then
            assert.are.equal(F:concat(ml), mlt)
            assert.are.equal(F:concat(me), meq)
          else
            assert.is_nil(mlt)
          end
        end
        -- F:_randomize_rows, in place: y + z x, and lam (y + z x) + rho.
        local y = F:uniform({2 * n}, rng)
        local copy = y:copy()
        local msg = F:_randomize_rows(core.rng("rows"), y, n, x, lam)
        local stream = core.rng("rows")
        local wy, wm = {}, {}
        for i = 1, 2 do
          local z, rho = F:uniform({n}, stream), F:uniform({n}, stream)
          wy[i] = F:add(copy:slice((i - 1) * n + 1, i * n), F:multiply(z, x))
          wm[i] = F:add(F:multiply(wy[i], lam), rho)
        end
        assert.are.equal(F:concat(wy), y)
        assert.are.equal(F:concat(wm), msg)
      end
    end
  end)

  it("compare empty arrays in the default field", function()
    local results = cicada.run{world_size = 3, timeout = support.seconds(30), fn = function(comm)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local a = p:share(0, comm.rank == 0 and p.field:zeros{0} or nil, {0})
      return {p:less(a, a).size, p:floor(a).size}
    end}
    for r = 1, 3 do assert.are.same({0, 0}, results[r]) end
  end)

  it("compare with threshold 2 among more players than the fused kernels send to (67)", function()
    -- Each player but two gets a message of F:tree_deal and F:deal_bits,
    -- which make at most 64: from 67 players on, the separate calls.
    for _, n in ipairs{66, 67} do
      local results = cicada.run{world_size = n, timeout = support.seconds(60), fn = function(comm)
        local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2})
        local a = p:share(0, comm.rank == 0 and {1, -2, 3.5, 0} or nil, {4})
        local b = p:share(n - 1, comm.rank == n - 1 and {2, -3, 3.5, 0.25} or nil, {4})
        return p:reveal(p:less(a, b), nil, cicada.encoding.Identity())
      end}
      for r = 1, n do assert.are.same({1, 0, 0, 1}, results[r]) end
    end
  end)

  it("deal and merge a threshold-2 tree level in one call each (F:tree_deal, F:tree_merge)", function()
    local core = require("cicada.core")
    local field = require("cicada.field")
    -- 2^127 - 1 (one-word weights by a fast path, others by products),
    -- 2^128 - 159 (pseudo-Mersenne) and 2^89 - 1 (Montgomery).
    for _, order in ipairs{field.SUITE_ORDER, "340282366920938463463374607431768211297",
                           "618970019642690137449562111"} do
      local F = cicada.Field{order = order}
      local big = F:power(3, 100)
      for _, rows in ipairs{5, 4, 2} do
        for _, n in ipairs{3, 70} do
          local half = rows // 2
          local eqs = rows % 2 == 0 and half - 1 or half
          local rng = core.rng(rows * 100 + n)
          -- Random rows with the edge values 0, 1 and p - 1 among them.
          local edges = F:array{0, 1, -1}
          local lt = F:concat{edges, F:uniform({rows * n - 3}, rng)}
          local eq = F:concat{F:uniform({rows * n - 3}, rng), edges}
          local prods = F:less_tree_products(lt, eq, n)
          for _, w in ipairs{F:array{1, 1, -1, 5, -7}, F:array{-1, 2, 3, -1, 1, 4, 0},
                             F:concat{big, F:array{1}, big, F:negative(big), F:array{2}}} do
            local out = table.pack(F:tree_deal(core.rng("pair"), lt, eq, n, w))
            assert.are.equal((#w - 3) // 2 + 1, out.n)
            local stream, es = core.rng("pair"), {}
            for j = 1, half + eqs do es[j] = F:uniform({n}, stream) end
            local e, q = F:concat(es), F:multiply(prods, w[1])
            for k = 1, out.n do
              local want = F:add(F:multiply(q, w[2 * k]), F:multiply(e, w[2 * k + 1]))
              assert.are.equal(want, out[k])
            end
          end
          -- A receiver: what two streams draw (summed) times x, plus its
          -- own share and the shares it got, merged.
          local own, got = F:uniform({(half + eqs) * n}, rng), {}
          for k = 1, 2 do got[k] = F:uniform({(half + eqs) * n}, rng) end
          for _, x in ipairs{F:array{2}, F:array{1}, F:negative(big)} do
            for streams = 0, 2 do
              local list, refs = {}, {}
              for k = 1, streams do list[k], refs[k] = core.rng("s" .. k), core.rng("s" .. k) end
              local nlt, neq = F:tree_merge(list, lt, own, got, n, x)
              local d = F:zeros{(half + eqs) * n}
              for j = 1, half + eqs do
                local row = F:zeros{n}
                for k = 1, streams do row = F:add(row, F:uniform({n}, refs[k])) end
                d = F:concat{d:slice(1, (j - 1) * n), row, d:slice(j * n + 1, (half + eqs) * n)}
              end
              local prod = F:add(F:add(own, F:multiply(d, x[1])), F:add(got[1], got[2]))
              local wlt, weq = F:less_tree_merge(lt, prod, n)
              assert.are.equal(wlt, nlt)
              assert.are.equal(weq, neq)
            end
          end
        end
      end
      local lt, eq = F:uniform{10}, F:uniform{10}
      assert.has_error(function() F:tree_deal(core.rng(1), lt, eq, 2, F:array{1, 2}) end,
                       "bad argument #5 to 'tree_deal' (weights must be a vector of 3 + 2k elements, k <= 64)")
      assert.has_error(function() F:tree_merge({}, lt, F:zeros{3}, {}, 2, F:array{1}) end,
                       "bad argument #3 to 'tree_merge' (own must have the rows of the products)")
      assert.has_error(function() F:tree_merge({1}, lt, F:zeros{8}, {}, 2, F:array{1}) end,
                       "bad argument #1 to 'tree_merge' (element 1 is not a random stream)")
      assert.has_error(function() F:tree_merge({}, lt, F:zeros{8}, {F:zeros{3}}, 2, F:array{1}) end,
                       "bad argument #4 to 'tree_merge' (element 1 is not an array of the products' rows)")
    end
    local F = cicada.Field()
    assert.has_error(function() F:tree_deal(core.rng(1), F:zeros{4}, F:zeros{4}, 2, F:ones{3}) end,
                     "tree_deal needs a field wider than 64 bits")
  end)

  it("deal a dealer's random bits and their pairs' products in one call (F:deal_bits)", function()
    local core = require("cicada.core")
    local field = require("cicada.field")
    for _, order in ipairs{field.SUITE_ORDER, "340282366920938463463374607431768211297",
                           "618970019642690137449562111"} do
      local F = cicada.Field{order = order}
      for _, shape in ipairs{{m = 5, pairs = 2, n = 70}, {m = 4, pairs = 0, n = 3},
                             {m = 1, pairs = 0, n = 65}, {m = 6, pairs = 3, n = 1}} do
        local m, pairs, n = shape.m, shape.pairs, shape.n
        for _, w in ipairs{F:array{-1, 2}, F:array{-2, 3, 1, 1},
                           F:concat{F:power(5, 90), F:array{-1}, F:array{0}, F:power(7, 80)}} do
          local out = table.pack(F:deal_bits(core.rng("own"), core.rng("pair"), m, pairs, n, w))
          assert.are.equal(#w, out.n)
          -- The bits packed as F:xor_group_drawn draws a group's, the
          -- products of rows i and m // 2 + i, then the draws.
          local own = core.rng("own")
          local b = drawn_bits(own, m, n)
          local u, h = F:array(b), m // 2
          local prod = F:multiply(u:slice(1, pairs * n), u:slice(h * n + 1, (h + pairs) * n))
          local pair = core.rng("pair")
          local e1, e2 = F:uniform({m * n}, pair), F:uniform({pairs * n}, pair)
          for t = 1, #w // 2 do
            local w0, w1 = w[2 * t - 1], w[2 * t]
            assert.are.equal(F:add(F:multiply(u, w0), F:multiply(e1, w1)), out[2 * t - 1])
            assert.are.equal(F:add(F:multiply(prod, w0), F:multiply(e2, w1)), out[2 * t])
          end
        end
      end
      assert.has_error(function() F:deal_bits(core.rng(1), core.rng(2), 4, 3, 5, F:ones{2}) end,
                       "bad argument #4 to 'deal_bits' (pairs must be in [0, m // 2])")
      assert.has_error(function() F:deal_bits(core.rng(1), core.rng(2), 4, 2, 5, F:ones{3}) end,
                       "bad argument #6 to 'deal_bits' (weights must be a vector of 2k elements, 1 <= k <= 64)")
    end
  end)

  it("transpose field arrays (the layout step of bit_decompose)", function()
    local F = cicada.Field{order = 7}
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, F:array{{1, 2, 3}, {4, 5, 6}}:transpose():tolist())
    assert.has_error(function() F:array{1, 2}:transpose() end,
                     "calling 'transpose' on bad self (matrix expected, got shape {2})")
  end)

  it("refuse bad operands with errors naming them", function()
    local p = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})
    local F = p.field
    assert.has_error(function() p:less(F:zeros{3}, F:zeros{4}) end,
                     "bad argument #2 to 'less' (shapes {3} and {4} differ)")
    assert.has_error(function() p:equal(1, 2) end,
                     "bad argument #2 to 'equal' (one operand must be a share; both are public)")
    assert.has_error(function() p:bit_decompose(F:zeros{3}, 0) end,
                     ("bad argument #2 to 'bit_decompose' (bits must be an integer in [1, %d], got 0)")
                     :format(p.value_bits))
    assert.has_error(function() p:bit_decompose(F:zeros{2, 2}) end,
                     "bad argument #1 to 'bit_decompose' (scalar or vector share expected, got a matrix)")
    assert.has_error(function() p:less_zero(nil) end,
                     "bad argument #1 to 'less_zero' (share (field array) expected, got nil)")
    assert.has_error(function() p:logical_and(F:zeros{2}, F:zeros{3}) end,
                     "bad argument #2 to 'logical_and' (shapes {2} and {3} differ)")
    assert.has_error(function() p:reveal(F:zeros{2}, nil, "Boolean") end,
                     "bad argument #3 to 'reveal' (encoding expected (e.g. cicada.encoding.Boolean()), got string)")
    local q = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2,
                                                                encoding = cicada.encoding.Identity()})
    assert.has_error(function() q:floor(F:zeros{2}) end,
                     "floor needs a fixed-point encoding, not Identity(); use field_multiply")
    local r = shamir.ProtocolSuite(fake_comm(4), support.narrow{threshold = 3})
    assert.has_error(function() r:less(F:zeros{2}, F:zeros{2}) end,
                     "less: threshold 3 is too high for multiplication among 4 players "
                     .. "(it needs 2 * threshold - 1 <= 4, so threshold <= 2)")
  end)
end)

describe("scripts/secure_max.lua", function()
  after_each(support.cleanup)

  it("tells every player who holds the largest value", function()
    local script = (os.getenv("CICADA_SOURCE_DIR") or ".") .. "/scripts/secure_max.lua"
    local rc, out = support.run_cli({script, "3.5", "-2", "10.25", "10", "-7"}, nil, 60)
    assert.are.equal(0, rc, out)
    assert.are.equal(5, support.count(out, "player 2 holds the largest value"), out)
  end)
end)
