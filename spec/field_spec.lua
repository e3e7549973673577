-- field_spec.lua: what a user of cicada.field sees (fields, arrays,
-- arithmetic, Shamir kernels, encodings' C side and random streams).
local core = require("cicada.core")
local field = require("cicada.field")

local P = "18446744073709551557" -- 2^64 - 59

describe("Field", function()
  it("defaults to the order 2^64 - 59", function()
    local F = field.Field()
    assert.are.equal(-59, F.order) -- the same 64 bits
    assert.are.equal(64, F.bits)
    assert.are.equal("Field(order=" .. P .. ")", tostring(F))
    assert.are.equal(F, field.Field{order = P})
    assert.are.equal(F, core.Field(-59))
  end)

  it("accepts orders as integers, decimal strings and tables", function()
    assert.are.equal(7, field.Field{order = 7}.order)
    assert.are.equal(2147483647, core.Field("2147483647").order)
    assert.are.equal(2305843009213693951, field.Field(2305843009213693951).order)
    assert.are.equal("Field(order=18446744069414584321)",
                     tostring(core.Field("18446744069414584321")))
  end)

  it("refuses composite and out-of-range orders with a clear message", function()
    assert.has_error(function() core.Field(561) end,
                     "bad argument #1 to 'Field' (field order 561 is not prime)")
    assert.has_error(function() core.Field(1) end,
                     "bad argument #1 to 'Field' (field order 1 is not a prime >= 2)")
    assert.has_error(function() core.Field("340282366920938463463374607431768211456") end,
                     "bad argument #1 to 'Field' (order '340282366920938463463374607431768211456'"
                     .. " is not a decimal or 0x-hex integer below 2^128)")
    assert.has_error(function() core.Field("12a") end,
                     "bad argument #1 to 'Field' (order '12a' is not a decimal or 0x-hex integer"
                     .. " below 2^128)")
    assert.has_error(function() core.Field(2.5) end,
                     "bad argument #1 to 'Field' (order must be an integer)")
    assert.has_error(function() core.Field({}) end)
  end)
end)

describe("field arrays", function()
  local F = field.Field{order = 7}

  it("are built from integers, lists and lists of rows, reduced mod p", function()
    local a = F:array{1, 8, -1}
    assert.are.same({3}, a.shape)
    assert.are.equal(3, #a)
    assert.are.same({1, 1, 6}, a:tolist())
    assert.are.equal(6, a[3])
    local m = F:array{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({2, 3}, m.shape)
    assert.are.equal(2, m.ndim)
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, m:tolist())
    local s = F:array(-3)
    assert.are.same({}, s.shape)
    assert.are.equal(4, s:tolist())
    assert.are.equal("FieldArray([[1, 2, 3], [4, 5, 6]], order=7)", tostring(m))
    assert.are.equal("FieldArray(4, order=7)", tostring(s))
  end)

  it("read back with the same 64 bits as the element", function()
    local G = field.Field()
    assert.are.equal(-60, G:array(-1)[1]) -- p - 1 = 2^64 - 60
    assert.are.equal("FieldArray([18446744073709551556], order=" .. P .. ")",
                     tostring(G:array{-1}))
  end)

  it("name the element that is not an integer", function()
    assert.has_error(function() F:array{1, "x", 3} end,
                     "bad argument #1 to 'array' (element 2 is not an integer (got string))")
    assert.has_error(function() F:array{1, 2.5} end,
                     "bad argument #1 to 'array' (element 2 (2.5) is not an integer)")
    assert.has_error(function() F:array{{1, 2}, {3}} end,
                     "bad argument #1 to 'array' (row 2 has 1 elements, row 1 has 2)")
    assert.has_error(function() F:array{{1, 2}, {3, {}}} end,
                     "bad argument #1 to 'array' (element {2, 2} is not an integer (got table))")
  end)

  it("have zeros, ones, uniform and stack constructors", function()
    assert.are.same({0, 0, 0}, F:zeros{3}:tolist())
    assert.are.same({{1, 1}, {1, 1}}, F:ones{2, 2}:tolist())
    assert.are.same({}, F:zeros{}.shape)
    assert.are.same({4}, F:zeros(4).shape)
    local u = F:uniform({1000}, core.rng(1))
    for i = 1, #u do assert.is_true(u[i] >= 0 and u[i] < 7) end
    assert.are.equal(F:uniform({50}, core.rng(9)), F:uniform({50}, core.rng(9)))
    local m = F:stack{F:array{1, 2}, F:array{3, 4}, F:array{5, 6}}
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, m:tolist())
    assert.are.same({3, 4}, m:row(2):tolist())
    assert.are.same({1, 2, 3}, F:stack{F:array(1), F:array(2), F:array(3)}:tolist())
    assert.has_error(function() F:stack{F:array{1, 2}, F:array{3}} end,
                     "bad argument #1 to 'stack' (element 2 has shape {1}, element 1 has {2})")
    assert.has_error(function() F:zeros{1, 2, 3} end,
                     "bad argument #1 to 'zeros' (3 dimensions, at most 2 supported)")
  end)

  it("reshape, copy and set elements", function()
    local a = F:array{1, 2, 3, 4, 5, 6}
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, a:reshape{2, 3}:tolist())
    assert.has_error(function() a:reshape{4} end,
                     "bad argument #1 to 'reshape' (cannot reshape {6} (6 elements) into 4 elements)")
    local b = a:copy()
    b[1] = -1
    assert.are.equal(6, b[1])
    assert.are.equal(1, a[1])
    assert.has_error(function() return a[7] end)
    assert.has_error(function() return a[0] end)
  end)

  it("are told from userdata that only look like them", function()
    -- A userdata given a copy of a type's metatable (the same methods and
    -- name) is not of that type: every check refuses it, the fast one of
    -- the calls on shares too.
    local function lookalike(v)
      local copy = {}
      for k, x in pairs(getmetatable(v)) do copy[k] = x end
      local u = io.tmpfile()
      local own = debug.getmetatable(u)
      debug.setmetatable(u, copy)
      return u, function() debug.setmetatable(u, own); u:close() end
    end
    local a = F:array{1, 2}
    local fa, done_a = lookalike(a)
    assert.has_error(function() F:add(a, fa) end,
      "bad argument #2 to 'add' (field array, integer or list expected, got cicada.FieldArray)")
    assert.has_error(function() return fa + a end)
    assert.has_error(function() return fa[1] end,
      "bad argument #1 to 'index' (cicada.FieldArray expected, got cicada.FieldArray)")
    local copy = a.copy
    assert.has_error(function() return copy(fa) end,
      "bad argument #1 to 'copy' (cicada.FieldArray expected, got cicada.FieldArray)")
    assert.is_nil(F:_holds(fa))
    assert.are.equal(1, F:_holds(a))
    assert.has_error(function() core.encode(fa) end,
      "cannot send a userdata (cicada.FieldArray) (at value)")
    local fF, done_F = lookalike(F)
    assert.has_error(function() F.add(fF, a, a) end,
      "bad argument #1 to 'add' (cicada.Field expected, got cicada.Field)")
    local msg = F:shamir_share_message(F:array{1}, 2, F:array{1, 2, 3}, 1, core.rng(1))
    local fm, done_m = lookalike(msg)
    assert.has_error(function() core.encode(fm) end,
      "cannot send a userdata (cicada.Message) (at value)")
    assert.are.equal(core.decode(core.encode(msg)), core.decode(core.encode({msg}))[1])
    done_a()
    done_F()
    done_m()
  end)

  it("handle a million elements", function()
    local G = field.Field()
    local a = G:uniform({1000000}, core.rng("big"))
    local b = G:add(a, 1)
    assert.are.equal(1000000, #b)
    assert.are.equal(G:subtract(b, a), G:ones{1000000})
    assert.are.equal(G:multiply(a, G:inverse(a)), G:ones{1000000})
  end)
end)

describe("field arithmetic", function()
  local F = field.Field{order = 7}

  it("adds, subtracts, multiplies and negates element-wise", function()
    local a, b = F:array{1, 2, 3}, F:array{6, 6, 6}
    assert.are.same({0, 1, 2}, F:add(a, b):tolist())
    assert.are.same({2, 3, 4}, F:subtract(a, b):tolist())
    assert.are.same({6, 5, 4}, F:multiply(a, b):tolist())
    assert.are.same({6, 5, 4}, F:negative(a):tolist())
    assert.are.same({0, 1, 2}, (a + b):tolist())
    assert.are.same({2, 3, 4}, (a - b):tolist())
    assert.are.same({6, 5, 4}, (a * b):tolist())
    assert.are.same({6, 5, 4}, (-a):tolist())
  end)

  it("broadcasts scalars and integers", function()
    local a = F:array{1, 2, 3}
    assert.are.same({3, 4, 5}, (a + 2):tolist())
    assert.are.same({1, 0, 6}, (2 - a):tolist())
    assert.are.same({3, 6, 2}, F:multiply(3, a):tolist())
    assert.are.same({6, 5, 4}, F:multiply(a, F:array(-1)):tolist())
    assert.are.equal(3, F:add(1, 2):tolist())
  end)

  it("computes sums, dot products, powers and inverses", function()
    local a = F:array{1, 2, 3, 4, 5, 6}
    assert.are.equal(0, F:sum(a):tolist()) -- 21 mod 7
    assert.are.equal(91 % 7, F:dot(a, a):tolist())
    assert.are.same({1, 1, 1, 1, 1, 1}, F:power(a, 6):tolist())
    assert.are.same({1, 4, 5, 2, 3, 6}, F:inverse(a):tolist())
    assert.are.same({1, 4, 5, 2, 3, 6}, F:power(a, -1):tolist())
    assert.are.same({1, 1, 1, 1, 1, 1}, F:power(a, 0):tolist())
  end)

  it("names the zero that has no inverse", function()
    assert.has_error(function() F:inverse(F:array{1, 0, 3}) end,
                     "bad argument #1 to 'inverse' (element 2 is zero and has no inverse)")
    assert.has_error(function() F:inverse(F:array(0)) end,
                     "bad argument #1 to 'inverse' (zero has no inverse)")
  end)

  it("compares arrays by shape and value", function()
    assert.is_true(F:array{1, 2} == F:array{8, 9})
    assert.is_false(F:array{1, 2} == F:array{1, 3})
    assert.is_false(F:array{1, 2} == F:array{{1, 2}})
    assert.is_true(F:equal(F:array{3, 3}, 3))
    assert.is_false(F:equal(F:array{1, 2}, F:array{1, 2, 3}))
    assert.is_false(F:array{1} == field.Field{order = 11}:array{1})
  end)

  it("checks shapes, naming the argument", function()
    assert.has_error(function() F:add(F:array{1, 2, 3}, F:array{1, 2, 3, 4}) end,
                     "bad argument #2 to 'add' (shapes {3} and {4} differ)")
    assert.has_error(function() F:dot(F:array{1}, F:array{1, 2}) end,
                     "bad argument #2 to 'dot' (shapes {1} and {2} differ)")
    assert.has_error(function() F:add({1, 2}) end,
                     "bad argument #2 to 'add' (field array, integer or list expected, got nil)")
    assert.has_error(function() F:add(F:array{1}, "x") end,
                     "bad argument #2 to 'add' (field array, integer or list expected, got string)")
  end)

  it("never mixes arrays of different fields", function()
    local G = field.Field{order = 11}
    assert.has_error(function() F:add(F:array{1}, G:array{1}) end,
                     "bad argument #2 to 'add' (array of order 11 does not belong to the field of order 7)")
    assert.has_error(function() return F:array{1} + G:array{1} end,
                     "bad argument #2 to 'add' (arrays of different fields (orders 7 and 11))")
  end)

  it("uses the general reduction for 2^61 - 1 and 2^31 - 1", function()
    local G = field.Field{order = 2305843009213693951}
    -- (2^61 - 2)^2 = 1 and 3 * (2^62 - 1) / 3 = 1 (mod 2^61 - 1)
    assert.are.equal(1, G:multiply(-1, -1):tolist())
    assert.are.equal(1537228672809129301, G:inverse(3):tolist())
    local H = field.Field{order = 2147483647}
    assert.are.equal(1, H:multiply(2, 1073741824):tolist())
  end)
end)

describe("Lagrange and Shamir kernels", function()
  local F = field.Field()

  it("gives the weights at 0 for points 1, 2, 3", function()
    -- 3, -3, 1: -3 is p - 3 = 2^64 - 62, read back as -62
    assert.are.same({3, -62, 1}, F:lagrange{1, 2, 3}:tolist())
    assert.are.same({3, -3, 1}, F:decode_int(F:lagrange{1, 2, 3}))
  end)

  it("shares with any threshold and recovers from any k players", function()
    local secret = F:array{5, -7, 123456789}
    local rng = core.rng(3)
    for k = 1, 5 do
      local shares = F:shamir_share(secret, k, {1, 2, 3, 4, 5}, rng)
      assert.are.same({5, 3}, shares.shape)
      local last = F:stack{shares:row(5), shares:row(3), shares:row(4), shares:row(2), shares:row(1)}
      local rows, xs = {}, {}
      for j = 1, k do rows[j] = last:row(j); xs[j] = ({5, 3, 4, 2, 1})[j] end
      assert.are.equal(secret, F:shamir_recover(F:stack(rows), xs))
    end
  end)

  it("draws coefficients from the CSPRNG when given no stream", function()
    local shares = F:shamir_share({1, 2}, 2, {1, 2, 3})
    assert.are.same({3, 2}, shares.shape)
    assert.are.same({1, 2}, F:shamir_recover(shares, {1, 2, 3}):tolist())
  end)

  it("rejects bad thresholds and indices", function()
    local s = F:array{1}
    assert.has_error(function() F:shamir_share(s, 4, {1, 2, 3}) end,
                     "bad argument #2 to 'shamir_share' (threshold 4 out of range [1, 3])")
    assert.has_error(function() F:shamir_share(s, 2, {1, 2, 2}) end,
                     "bad argument #3 to 'shamir_share' (indices 2 and 3 are the same (2))")
    assert.has_error(function() F:lagrange{1, 0} end,
                     "bad argument #1 to 'lagrange' (index 2 is zero modulo the field order)")
    assert.has_error(function() F:shamir_recover(F:zeros{2, 1}, {1, 2, 3}) end,
                     "bad argument #2 to 'shamir_recover' (3 indices for 2 rows of shares)")
  end)
end)

describe("encoding kernels", function()
  local F = field.Field()

  it("encode fixed point rounding half away from zero", function()
    assert.are.same({1, -1}, F:decode_int(F:encode_fixed({0.5, -0.5}, 1)))
    assert.are.same({3, 2, -3}, F:decode_int(F:encode_fixed({1.25, 0.75, -1.25}, 1)))
    assert.are.same({1.5, -2.25, 0.0}, F:decode_fixed(F:encode_fixed({1.5, -2.25, 0}, 16), 16))
    assert.are.equal(1.0, F:decode_fixed(F:encode_fixed(1, 16), 16))
    assert.are.equal("1.0", tostring(F:decode_fixed(F:encode_fixed(1, 16), 16)))
    assert.has_error(function() F:encode_fixed(1e300, 16) end,
                     "bad argument #1 to 'encode_fixed' (value (1e+300) is out of range for 16 bits of precision)")
    assert.has_error(function() F:encode_fixed(1, 63) end,
                     "bad argument #2 to 'encode_fixed' (precision 63 out of range [0, 62])")
  end)

  it("encode integers, booleans and bits", function()
    assert.are.same({-5, 7}, F:decode_int(F:encode_int{-5, 7}))
    assert.are.same({true, false}, F:decode_bool(F:encode_bool{true, false}))
    local G = field.Field{order = 7}
    assert.are.same({1, 1, 0}, G:decode_bits(G:encode_bits(6)))
    assert.are.same({0, 1, 1}, G:encode_bits{0, 1, 1}:tolist())
    assert.has_error(function() G:encode_bits(8) end,
                     "bad argument #1 to 'encode_bits' (8 does not fit in 3 bits)")
    assert.has_error(function() G:decode_bits(G:array{0, 2}) end,
                     "bad argument #1 to 'decode_bits' (element 2 is not a bit)")
  end)
end)

describe("random streams", function()
  it("replay for the same seed and differ for another", function()
    local a, b, c = core.rng(42), core.rng(42), core.rng("42")
    local x, y, z = a:uniform(), b:uniform(), c:uniform()
    assert.are.equal(x, y)
    assert.are_not.equal(x, z)
    assert.is_true(x >= 0 and x < 1)
    assert.are.equal(16, #core.rng():bytes(16))
    assert.are.equal("Rng(seeded)", tostring(a))
    assert.are.equal("Rng(csprng)", tostring(core.rng()))
  end)

  it("give each process its own bytes from an unseeded stream made before a fork", function()
    local rng = core.rng()
    assert.are.equal(1, #rng:bytes(1))   -- the stream now holds bytes it drew
    local results = require("cicada").run{world_size = 3, fn = function() return rng:bytes(32) end}
    local mine = rng:bytes(32)
    for r = 1, 3 do
      assert.are.equal("string", type(results[r]))
      assert.are.equal(32, #results[r])
      assert.are_not.equal(mine, results[r])
      for s = r + 1, 3 do assert.are_not.equal(results[s], results[r]) end
    end
    -- A seeded stream replays in every process, as it should.
    local seeded = core.rng("fork")
    seeded:bytes(1)
    local replays = require("cicada").run{world_size = 2, fn = function() return seeded:bytes(8) end}
    assert.are.equal(replays[1], replays[2])
    assert.are.equal(seeded:bytes(8), replays[1])
  end)

  it("give the same bytes in one large request as in small ones", function()
    -- 100,000 bytes: several pieces of the direct path (whole 4 KB blocks,
    -- 16 KB at a time) after a small read through the buffer.
    local a, b = core.rng("pieces"), core.rng("pieces")
    local whole = a:bytes(7) .. a:bytes(100000) .. a:bytes(5000)
    local parts = {}
    for i = 1, (7 + 100000 + 5000) // 1000 do parts[i] = b:bytes(1000) end
    parts[#parts + 1] = b:bytes((7 + 100000 + 5000) % 1000)
    local small = table.concat(parts)
    assert.are.equal(#whole, #small)
    assert.is_true(whole == small)
    assert.is_nil(whole:find(string.rep("\0", 64), 1, true)) -- a keystream, not zeros
  end)
end)

describe("kernels for protocols", function()
  local F = field.Field()

  it("multiply a matrix by a vector", function()
    local A = F:array{{1, 2, 3}, {-1, 0, 4}}
    assert.are.same({14, 11}, F:matvec(A, {1, 2, 3}):tolist())
    assert.are.same({0}, F:matvec(F:zeros{1, 0}, F:zeros{0}):tolist())
    assert.has_error(function() F:matvec(F:array{1, 2}, {1, 2}) end,
                     "bad argument #1 to 'matvec' (matrix expected, got shape {2})")
    assert.has_error(function() F:matvec(A, {1, 2}) end,
                     "bad argument #2 to 'matvec' (shapes {2, 3} and {2} do not match)")
  end)

  it("compose bits, most significant first, row by row", function()
    assert.are.equal(11, F:bit_compose{1, 0, 1, 1}:tolist())
    assert.are.same({5, 2}, F:bit_compose{{1, 0, 1}, {0, 1, 0}}:tolist())
    assert.are.equal(1, field.Field{order = 7}:bit_compose{1, 1, 1, 1}:tolist()) -- 15 mod 7
    assert.has_error(function() F:bit_compose(3) end,
                     "bad argument #1 to 'bit_compose' (bits must be a vector or a matrix)")
  end)

  it("shift canonical values right", function()
    -- -1 is p - 1 = 2^64 - 60, whose top 48 bits are all ones
    assert.are.same({0, 1, 2, (1 << 48) - 1}, F:shift_right({65535, 65536, 131072, -1}, 16):tolist())
    assert.are.same({{1, 2}}, F:shift_right({{2, 4}}, 1):tolist())
    assert.has_error(function() F:shift_right({1}, 64) end,
                     "bad argument #2 to 'shift_right' (shift 64 out of range [0, 63])")
  end)

  it("draw uniform values below a bound", function()
    local a = F:uniform_below({1000}, 10, core.rng(1))
    local seen = {}
    for i = 1, #a do
      assert.is_true(a[i] >= 0 and a[i] < 10)
      seen[a[i]] = true
    end
    for v = 0, 9 do assert.is_true(seen[v]) end
    assert.are.equal(a, F:uniform_below({1000}, 10, core.rng(1)))
    assert.are.same({0, 0, 0}, F:uniform_below({3}, 1):tolist())
    assert.are.same({2, 2}, F:uniform_below({2, 2}, 1 << 62).shape)
    assert.has_error(function() F:uniform_below({3}, 0) end,
                     "bad argument #2 to 'uniform_below' (bound 0 out of range [1, " .. P .. "])")
    assert.has_error(function() field.Field{order = 7}:uniform_below({3}, 8) end,
                     "bad argument #2 to 'uniform_below' (bound 8 out of range [1, 7])")
  end)

  it("slice and concatenate arrays in row-major order", function()
    local m = F:array{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({2, 3, 4}, m:slice(2, 4):tolist())
    assert.are.same({5, 6}, m:slice(5):tolist())
    assert.are.same({}, m:slice(7, 6):tolist())
    assert.has_error(function() m:slice(0, 2) end,
                     "bad argument #1 to 'slice' (index 0 out of range [1, 7])")
    assert.has_error(function() m:slice(2, 7) end,
                     "bad argument #2 to 'slice' (index 7 out of range [1, 6])")
    assert.are.same({1, 2, 3, 4, 5, 6, 7}, F:concat{m, F:array(7)}:tolist())
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, F:concat({m}, {3, 2}):tolist())
    assert.are.equal(9, F:concat({F:array{9}}, {}):tolist())
    assert.has_error(function() F:concat({m}, {4}) end,
                     "bad argument #2 to 'concat' (6 elements do not fill the shape)")
    assert.has_error(function() F:concat{m, field.Field{order = 7}:array{1}} end)
  end)

  it("handle a million elements in one call", function()
    local n = 1000000
    local a = F:uniform_below({n}, 1 << 40, core.rng(3))
    local parts = {}
    for i = 1, n, 250000 do parts[#parts + 1] = a:slice(i, i + 249999) end
    assert.are.equal(a, F:concat(parts, {n}))
    assert.are.equal(#a, #F:shift_right(a, 16))
    assert.are.equal(F:dot(a, a), F:matvec(a:reshape{1, n}, a):reshape{})
  end)
end)

describe("kernels for sharing rounds", function()
  local F = field.Field()

  it("combine arrays linearly", function()
    local a, b = F:array{{1, 2}, {3, 4}}, F:array{{10, 20}, {30, 40}}
    assert.are.same({{21, 42}, {63, 84}}, F:lincomb({1, 2}, {a, b}):tolist())
    assert.are.same({-1}, F:decode_int(F:lincomb({-1}, {F:array{1}})))
    assert.has_error(function() F:lincomb({1}, {a, b}) end,
                     "bad argument #2 to 'lincomb' (2 arrays for 1 weights)")
    assert.has_error(function() F:lincomb({1, 1}, {a, F:array{1}}) end,
                     "bad argument #2 to 'lincomb' (element 2 has shape {1}, element 1 has {2, 2})")
  end)

  it("share secrets into one array per player that recovers them", function()
    local idx = {2, 5, 9, 11}
    local s1, s2 = F:array{7, -8, 9}, F:array{1, 2, 3}
    local each = F:shamir_share_each({s1, s2}, {3, 2}, idx, core.rng(5))
    assert.are.equal(4, #each)
    assert.are.same({2, 3}, each[1].shape)
    -- Any 3 players recover the degree 2 secret, any 2 the degree 1 one.
    local rows1, rows2 = {}, {}
    for j = 1, 3 do rows1[j] = each[j + 1]:row(1) end
    for j = 1, 2 do rows2[j] = each[j]:row(2) end
    assert.are.equal(s1, F:shamir_recover(F:stack(rows1), {5, 9, 11}))
    assert.are.equal(s2, F:shamir_recover(F:stack(rows2), {2, 5}))
    -- Two players cannot recover the degree 2 secret.
    assert.are_not.equal(s1, F:shamir_recover(F:stack{rows1[1], rows1[2]}, {5, 9}))
    -- A single secret keeps its shape.
    local one = F:shamir_share_each(F:array{{1, 2}}, 2, idx)
    assert.are.same({1, 2}, one[4].shape)
    assert.has_error(function() F:shamir_share_each({s1, s2}, {3}, idx) end,
                     "bad argument #2 to 'shamir_share_each' (1 thresholds for 2 secrets)")
    assert.has_error(function() F:shamir_share_each(s1, 5, idx) end,
                     "bad argument #2 to 'shamir_share_each' (threshold 5 out of range [1, 4])")
    assert.has_error(function() F:shamir_share_each({s1, F:array{1}}, {2, 2}, idx) end,
                     "bad argument #1 to 'shamir_share_each' (secret 2 has 1 elements, secret 1 has 3)")
  end)

  -- Runs call() with the collector part way through running finalizers:
  -- the first allocation inside call runs some of them, and each of those
  -- runs mutate(); call itself must not allocate before the kernel does.
  -- Deterministic: the collector is stopped and stepped one basic step at
  -- a time until the first of many finalizers has run.
  local function with_finalizers_pending(mutate, call)
    -- a step size of 2^0 bytes: one basic step per collectgarbage("step", 0)
    local mode = collectgarbage("incremental", 200, 100, 0)
    collectgarbage("stop")
    local armed, ran = false, 0
    local meta = {__gc = function()
      ran = ran + 1
      if armed then mutate() end
    end}
    for _ = 1, 1000 do setmetatable({}, meta) end
    local steps = 0
    while ran == 0 do
      collectgarbage("step", 0)
      steps = steps + 1
      assert(steps < 10000000, "no finalizer ran")
    end
    assert(ran < 1000, "every finalizer ran in one step")
    armed = true
    collectgarbage("restart")
    local ok, got = pcall(call)
    armed = false
    collectgarbage()
    collectgarbage("incremental", 200, 100, 13) -- Lua 5.4's defaults
    collectgarbage(mode)
    return ok, got
  end

  it("are safe from a finalizer that changes a list while a kernel reads it", function()
    -- A finalizer run by an allocation inside the call, after the call has
    -- checked its list and before it uses it: the call says that the list
    -- changed instead of reading what it did not check.
    local idx = F:array{1, 2, 3, 4}
    local secrets, thresholds = {F:array{1, 2, 3}, F:array{4, 5, 6}}, {2, 3}
    local ok, got = with_finalizers_pending(function() secrets[2] = io.stdout end,
      function() return F:shamir_share_each(secrets, thresholds, idx) end)
    assert.is_false(ok)
    assert.matches("the secrets or thresholds changed while they were shared", got, 1, true)
    -- Unchanged, the same lists are shared.
    secrets[2] = F:array{4, 5, 6}
    ok, got = with_finalizers_pending(function() end,
      function() return F:shamir_share_each(secrets, thresholds, idx) end)
    assert.is_true(ok)
    assert.are.same({2, 3}, got[1].shape)

    local parts = {F:array{1, 2, 3}, F:array{4, 5, 6}}
    ok, got = with_finalizers_pending(
      function() parts[2] = F:array{1, 2, 3, 4, 5, 6, 7, 8, 9} end,
      function() return F:concat(parts) end)
    assert.is_false(ok)
    assert.matches("the list changed while it was concatenated", got, 1, true)
    parts[2] = F:array{4, 5, 6}
    ok, got = with_finalizers_pending(function() end, function() return F:concat(parts) end)
    assert.is_true(ok)
    assert.are.equal(F:array{1, 2, 3, 4, 5, 6}, got)
  end)
end)

describe("one player's row of a sharing", function()
  for _, order in ipairs{P, "170141183460469231731687303715884105727"} do
    it("is that row of F:shamir_share from a stream in the same state, order " .. order, function()
      local F = field.Field{order = order}
      -- Past one block of coefficients (4096 elements), threshold 3.
      local secret = F:uniform({2, 5000}, core.rng(1))
      local all = F:shamir_share(secret:reshape{10000}, 3, {1, 2, 3, 4}, core.rng(9))
      for j = 1, 4 do
        local row = F:shamir_share_row(secret, 3, {1, 2, 3, 4}, j, core.rng(9))
        assert.are.same({2, 5000}, row.shape)
        assert.are.equal(all:row(j), row:reshape{10000})
      end
      assert.has_error(function() F:shamir_share_row(secret, 3, {1, 2, 3, 4}, 5) end,
                       "bad argument #4 to 'shamir_share_row' (player 5 out of range [1, 4])")
      assert.has_error(function() F:shamir_share_row(secret, 5, {1, 2, 3, 4}, 1) end,
                       "bad argument #2 to 'shamir_share_row' (threshold 5 out of range [1, 4])")
    end)
  end
end)

describe("one player's row of a sharing as a message", function()
  local idx = {1, 2, 3, 4}
  for _, order in ipairs{P, "170141183460469231731687303715884105727"} do
    local F = field.Field{order = order}
    it("is the encoding of that row, for every shape, order " .. order, function()
      -- A scalar, a short vector, and a matrix past one block of
      -- coefficients (4096 elements), threshold 3.
      for _, shape in ipairs{{}, {7}, {2, 5000}, {0}} do
        local secret = F:uniform(shape, core.rng(1))
        for j = 1, 4 do
          local row = F:shamir_share_row(secret, 3, idx, j, core.rng(9))
          local msg = F:shamir_share_message(secret, 3, idx, j, core.rng(9))
          assert.are.equal(core.encode(row), core.encode(msg))
          assert.are.equal(#core.encode(row), #msg)
          assert.are.equal(row, core.decode(core.encode(msg)))
          -- Inside a table its bytes stand for the row.
          assert.are.equal(core.encode({row, x = 1}), core.encode({msg, x = 1}))
        end
      end
    end)

    it("is written over in place once no send holds it, order " .. order, function()
      local secret = F:uniform({3, 3000}, core.rng(2))
      local first = F:shamir_share_message(secret, 2, idx, 1, core.rng(4))
      local again = F:shamir_share_message(secret, 2, idx, 3, core.rng(4), first)
      assert.are.equal(first, again)
      assert.are.equal(core.encode(F:shamir_share_row(secret, 2, idx, 3, core.rng(4))),
                       core.encode(again))
      assert.is_true(again:wait(0))
      -- A scalar's message too.
      local one = F:shamir_share_message(F:array{5}:reshape{}, 2, idx, 1, core.rng(4))
      assert.are.equal(one, F:shamir_share_message(F:array{6}:reshape{}, 2, idx, 4, core.rng(4), one))
      assert.are.equal(F:shamir_share_row(F:array{6}:reshape{}, 2, idx, 4, core.rng(4)),
                       core.decode(core.encode(one)))
      -- A message of another size: the old one's bytes are dropped.
      local small = F:shamir_share_message(F:uniform({5}, core.rng(2)), 2, idx, 2, core.rng(4), again)
      assert.are_not.equal(again, small)
      assert.are.equal("Message(freed)", tostring(again))
      assert.are.equal(0, #again)
      assert.are.equal(("Message(%d bytes)"):format(#core.encode(F:zeros{5})), tostring(small))
    end)
  end

  it("cannot be sent once freed, and says what is wrong with its arguments", function()
    local F = field.Field{order = P}
    local secret = F:uniform({10}, core.rng(1))
    local msg = F:shamir_share_message(secret, 2, idx, 1)
    msg:free()
    assert.is_true(msg:wait())
    assert.has_error(function() core.encode(msg) end, "cannot send a freed message")
    assert.has_error(function() core.encode({msg}) end, "cannot send a freed message")
    do
      local closing <close> = F:shamir_share_message(secret, 2, idx, 2)
      msg = closing
    end
    assert.are.equal("Message(freed)", tostring(msg))
    assert.has_error(function() F:shamir_share_message(secret, 2, idx, 5) end,
                     "bad argument #4 to 'shamir_share_message' (player 5 out of range [1, 4])")
    assert.has_error(function() F:shamir_share_message(secret, 5, idx, 1) end,
                     "bad argument #2 to 'shamir_share_message' (threshold 5 out of range [1, 4])")
    assert.has_error(function() F:shamir_share_message(secret, 2, {1, 2, 2}, 1) end)
    assert.has_error(function() F:shamir_share_message(secret, 2, idx, 1, nil, {}) end,
                     "bad argument #6 to 'shamir_share_message' (message expected, got table)")
    assert.has_error(function() F:shamir_share_message(secret, 2, idx, 1, 7) end)
    local G = field.Field{order = 65537}
    assert.has_error(function() G:shamir_share_message(secret, 2, idx, 1) end)
    assert.has_error(function() F:shamir_share_message(secret, 2, idx, 1):wait(-1) end,
                     "bad argument #1 to 'wait' (seconds must not be negative)")
  end)
end)

describe("kernels into existing arrays", function()
  -- The 64-bit field of the default order (lazy sums), one of Montgomery
  -- products, and a 128-bit one.
  for _, order in ipairs{P, "2305843009213693951", "170141183460469231731687303715884105727"} do
    local F = field.Field{order = order}
    describe("of order " .. order, function()
      it("fill arrays as the allocating kernels would make them", function()
        local out = F:zeros{300}
        assert.are.equal(out, F:uniform_into(out, core.rng(3)))
        assert.are.equal(F:uniform({300}, core.rng(3)), out)
        F:uniform_below_into(out, 1 << 20, core.rng(4))
        assert.are.equal(F:uniform_below({300}, 1 << 20, core.rng(4)), out)
        F:uniform_below_into(out, 1000, core.rng(4))
        assert.are.equal(F:uniform_below({300}, 1000, core.rng(4)), out)
        local a = F:uniform({300}, core.rng(5))
        assert.are.equal(F:shift_right(a, 9), F:shift_right_into(F:zeros{300}, a, 9))
        local b = F:uniform({300}, core.rng(6))
        assert.are.equal(F:lincomb({3, -1}, {a, b}), F:lincomb_into(F:zeros{300}, {3, -1}, {a, b}))
        -- out may be one of the arrays.
        local c = a:copy()
        F:lincomb_into(c, {1, 5}, {b, c})
        assert.are.equal(F:lincomb({1, 5}, {b, a}), c)
      end)

      it("sum arrays with weights 1 and -1 in any order", function()
        local rng = core.rng(8)
        local xs = {}
        for j = 1, 6 do xs[j] = F:uniform({300}, rng) end
        -- the extremes too: 0 and p - 1 in every position of some element
        for j = 1, 6 do
          xs[j] = F:concat{F:array{0, -1, 0, -1}, xs[j]:slice(5, 300)}
        end
        local function want(signs)
          local acc = signs[1] == 1 and xs[1] or F:negative(xs[1])
          for j = 2, #signs do
            acc = signs[j] == 1 and F:add(acc, xs[j]) or F:subtract(acc, xs[j])
          end
          return acc
        end
        for _, signs in ipairs{{1, -1, -1, 1, 1}, {-1, 1, 1}, {1, 1, -1, 1},
                                {-1, -1, -1, -1, -1, -1}, {-1, 1, -1, 1, -1, 1}} do
          local list = {table.unpack(xs, 1, #signs)}
          assert.are.equal(want(signs), F:lincomb(signs, list))
          assert.are.equal(want(signs), F:lincomb_into(F:zeros{300}, signs, list))
        end
      end)

      it("make a masked product share and truncate it in place", function()
        local rng = core.rng(7)
        local a, b = F:uniform({1000}, rng), F:uniform({1000}, rng)
        local xs, w = {}, {}
        for j = 1, 5 do
          xs[j] = F:uniform({200}, rng)
          w[j] = j % 2 == 0 and 1 or F:uniform({}, rng)
        end
        local weights = F:concat{w[1]:reshape{1}, F:array{1}, w[3]:reshape{1}, F:array{1},
                                 w[5]:reshape{1}}
        local s = F:uniform({}, rng)
        local x, y = a:slice(301, 500), b:slice(301, 500)
        local want = F:add(F:add(F:multiply(x, y), F:lincomb(weights, xs)), s)
        assert.are.equal(want, F:mul_lincomb_into(F:zeros{200}, a, b, 301, weights, xs, s))
        assert.are.equal(want, F:mul_lincomb_into(200, a, b, 301, weights, xs, s))
        assert.are.equal(F:add(F:add(x, F:lincomb(weights, xs)), s),
                         F:mul_lincomb_into(200, a, nil, 301, weights, xs, s))
        assert.are.equal(F:add(x, 5), F:mul_lincomb_into(200, a, nil, 301, {}, {}, 5))
        -- A weight on the product (small, negative, full-width, 1), over
        -- more elements than the kernels' blocks.
        local ws = F:concat{weights, F:array{-1}}
        local x6, y6, zs = a:slice(201, 800), b:slice(201, 800), {}
        for j = 1, 6 do zs[j] = F:uniform({600}, rng) end
        -- weights of any class, or all 1 and -1 (one pass in 2^127 - 1)
        for _, weights6 in ipairs{ws, F:array{1, -1, -1, 1, 1, -1}} do
          for _, pw in ipairs{3, -3, F:uniform({}, rng), 1, -1, 0} do
            local sum = F:add(F:lincomb(weights6, zs), s)
            assert.are.equal(F:add(F:multiply(F:multiply(x6, y6), pw), sum),
                             F:mul_lincomb_into(600, a, b, 201, weights6, zs, s, pw))
            assert.are.equal(F:add(F:multiply(x6, pw), sum),
                             F:mul_lincomb_into(600, a, nil, 201, weights6, zs, s, pw))
          end
        end
        -- The same share made straight into a message: its bytes decode to
        -- the vector, over more elements than its blocks; a message no
        -- send holds is written over in place, one of another size is not.
        local msg = F:_mul_lincomb_message(nil, 600, a, b, 201, ws, zs, s, 3)
        assert.are.equal(F:mul_lincomb_into(600, a, b, 201, ws, zs, s, 3),
                         core.decode(core.encode(msg)))
        local again = F:_mul_lincomb_message(msg, 600, a, nil, 201, ws, zs, s)
        assert.are.equal(msg, again)
        assert.are.equal(F:mul_lincomb_into(600, a, nil, 201, ws, zs, s),
                         core.decode(core.encode(again)))
        local other = F:_mul_lincomb_message(again, 200, a, b, 301, weights, xs, s)
        assert.are_not.equal(again, other)
        assert.are.equal(want, core.decode(core.encode(other)))
        assert.has_error(function() F:_mul_lincomb_message(a, 200, a, b, 301, weights, xs, s) end,
                         "bad argument #1 to '_mul_lincomb_message' (message expected, got userdata)")
        -- unmask_into writes elements 301..500 of the result and no others.
        local result = F:zeros{1000}
        local cs, ys, v = {xs[1], xs[2], xs[3]}, {xs[4], xs[5]}, F:array{1, 7}
        local lam = F:array{3, -3, 1}
        assert.are.equal(result, F:unmask_into(result, 301, lam, cs, 20, s, v, ys))
        local part = F:subtract(F:subtract(F:shift_right(F:lincomb(lam, cs), 20), s),
                                F:lincomb(v, ys))
        assert.are.equal(part, result:slice(301, 500))
        assert.are.equal(F:zeros{300}, result:slice(1, 300))
        assert.are.equal(F:zeros{500}, result:slice(501, 1000))
      end)

      it("name the argument that does not fit", function()
        local a, xs = F:zeros{10}, {F:zeros{4}}
        assert.has_error(function() F:mul_lincomb_into(4, a, nil, 8, {1}, xs, 0) end,
                         "bad argument #4 to 'mul_lincomb_into' (elements 8 to 11 out of range [1, 10])")
        assert.has_error(function() F:mul_lincomb_into(4, a, nil, 0, {1}, xs, 0) end,
                         "bad argument #4 to 'mul_lincomb_into' (elements 0 to 3 out of range [1, 10])")
        assert.has_error(function() F:mul_lincomb_into(5, a, nil, 1, {1}, xs, 0) end,
                         "bad argument #6 to 'mul_lincomb_into' (element 1 has 4 elements, not 5)")
        assert.has_error(function() F:mul_lincomb_into(4, a, F:zeros{9}, 1, {1}, xs, 0) end,
                         "bad argument #3 to 'mul_lincomb_into' (a and b differ in size)")
        assert.has_error(function() F:mul_lincomb_into(4, a, nil, 1, {1, 2}, xs, 0) end,
                         "bad argument #5 to 'mul_lincomb_into' (2 weights for 1 arrays)")
        assert.has_error(function() F:mul_lincomb_into(4, a, nil, 1, {1}, xs, a) end,
                         "bad argument #7 to 'mul_lincomb_into' (one element expected)")
        assert.has_error(function() F:mul_lincomb_into(4, a, nil, 1, {1}, xs, 0, a) end,
                         "bad argument #8 to 'mul_lincomb_into' (one element expected)")
        assert.has_error(function() F:unmask_into(a, 8, {1}, xs, 3, 0, {}, {}) end,
                         "bad argument #2 to 'unmask_into' (elements 8 to 11 out of range [1, 10])")
        assert.has_error(function() F:unmask_into(a, 1, {1}, xs, F.bits * 2, 0, {}, {}) end)
        assert.has_error(function() F:unmask_into(a, 1, {1}, {}, 3, 0, {}, {}) end,
                         "bad argument #4 to 'unmask_into' (no arrays)")
        assert.has_error(function() F:shift_right_into(a, F:zeros{4}, 1) end,
                         "bad argument #2 to 'shift_right_into' (sizes differ)")
        assert.has_error(function() F:lincomb_into(a, {1}, {F:zeros{4}}) end,
                         "bad argument #3 to 'lincomb_into' (element 1 has 4 elements, not 10)")
        local G = field.Field{order = 7}
        assert.has_error(function() F:uniform_into(G:zeros{3}) end)
      end)
    end)
  end
end)

describe("the high part's shares of a truncation", function()
  -- F:_high_shares_into(send, own, u, e, y, bits, inv, xs, xo): h = u >> bits
  -- dealt with g(x) = h + x (e - h) / x_next; send = g(xs), own = g(xo) + y.
  for _, order in ipairs{"18446744073709551557", "2305843009213693951", "7"} do
    it("interpolates h and e in GF(" .. order .. ")", function()
      local F = field.Field{order = order}
      local rng = core.rng("high shares " .. order)
      local n = 37
      local bits = F.bits > 8 and F.bits - 8 or 1
      local u, e, y = F:uniform({n}, rng), F:uniform({n}, rng), F:uniform({n}, rng)
      for _, x in ipairs{{2, 1, 3}, {3, 2, 1}, {5, 4, 6}} do
        local inv = F:inverse(F:array{x[1]})
        local h = F:shift_right(u, bits)
        local d = F:multiply(F:subtract(e, h), inv:reshape{})
        local want_send = F:add(h, F:multiply(d, x[2]))
        local want_own = F:add(F:add(h, F:multiply(d, x[3])), y)
        local send, own = F:zeros{n}, F:zeros{n}
        local s2, o2 = F:_high_shares_into(send, own, u, e, y, bits, inv, x[2], x[3])
        assert.are.equal(send, s2)
        assert.are.equal(own, o2)
        assert.are.equal(want_send, send)
        assert.are.equal(want_own, own)
        F:_high_shares_into(send, own, u, e, nil, bits, inv, x[2], x[3])
        assert.are.equal(F:subtract(want_own, y), own)
      end
    end)
  end

  it("names what does not fit", function()
    local F = field.Field{order = "18446744073709551557"}
    local a, b, c, d = F:zeros{4}, F:zeros{4}, F:zeros{4}, F:zeros{4}
    assert.has_error(function() F:_high_shares_into(a, b, c, F:zeros{3}, nil, 3, 1, 1, 2) end,
                     "bad argument #4 to '_high_shares_into' (sizes differ)")
    assert.has_error(function() F:_high_shares_into(a, a, c, d, nil, 3, 1, 1, 2) end,
                     "bad argument #2 to '_high_shares_into' (send and own are the same array)")
    assert.has_error(function() F:_high_shares_into(a, b, c, d, nil, 64, 1, 1, 2) end,
                     "bad argument #6 to '_high_shares_into' (bits 64 out of range [0, 63])")
    local G = field.Field{order = "170141183460469231731687303715884105727"}
    assert.has_error(function()
      G:_high_shares_into(G:zeros{1}, G:zeros{1}, G:zeros{1}, G:zeros{1}, nil, 3, 1, 1, 2)
    end, "_high_shares_into: a 64-bit field expected")
  end)
end)

describe("128-bit fields", function()
  local M127 = "170141183460469231731687303715884105727" -- 2^127 - 1
  local F = field.Field{order = M127}
  local A = "0x123456789abcdef0123456789abcdef"
  local B = "1267650600228229401496703217721" -- 2^100 + 12345

  it("take orders above 2^64 as decimal or 0x-hex strings", function()
    assert.are.equal(M127, F.order)
    assert.are.equal(127, F.bits)
    assert.are.equal("Field(order=" .. M127 .. ")", tostring(F))
    assert.are.equal(F, core.Field("0x7fffffffffffffffffffffffffffffff"))
    assert.are.equal(F, field.Field{order = field.SUITE_ORDER})
    assert.are.equal(128, field.Field{order = "340282366920938463463374607431768211297"}.bits)
    -- an order below 2^64 given as a string is the 64-bit field
    assert.are.equal(-59, core.Field("0xffffffffffffffc5").order)
    assert.has_error(function() core.Field("340282366920938463463374607431768211455") end,
                     "bad argument #1 to 'Field' (field order 340282366920938463463374607431768211455"
                     .. " is not prime)")
  end)

  it("read elements as integers when they fit, else as decimal strings", function()
    local a = F:array{5, -1, A, "-7"}
    assert.are.equal(5, a[1])
    assert.are.equal("170141183460469231731687303715884105726", a[2])
    assert.are.equal("1512366075204170929049582354406559215", a[3])
    assert.are.same({5, "170141183460469231731687303715884105726",
                     "1512366075204170929049582354406559215",
                     "170141183460469231731687303715884105720"}, a:tolist())
    assert.are.same({5, -1, "1512366075204170929049582354406559215", -7}, F:decode_int(a))
    a[1] = "0x10000000000000000"
    a[2] = -2
    assert.are.equal("18446744073709551616", a[1])
    assert.are.same({"18446744073709551616", -2}, F:decode_int(a:slice(1, 2)))
    assert.are.equal(M127, a.order)
    assert.are.equal("FieldArray([7, 0], order=" .. M127 .. ")",
                     tostring(F:array{7, M127}))
  end)

  it("add, subtract, multiply, power and invert like the integers mod p", function()
    local a, b = F:array{A}, F:array{B}
    assert.are.same({"160310802625115240082477954712935487381"}, (a * b):tolist())
    assert.are.same({"1512367342854771157278983851109776936"}, F:add(a, b):tolist())
    assert.are.same({"86582956537788186566663832715645394357"},
                    F:subtract(F:subtract(a, b), F:power(2, 126)):tolist())
    assert.are.same({"136331448303329379656515013235603223308"}, F:power(a, 5):tolist())
    assert.are.same({"113921561018797284433026251948604234169"}, F:inverse(a):tolist())
    assert.are.equal(1, F:multiply(F:power(a, -3), F:power(a, 3))[1])
    assert.are.equal(1, (F:array(-1) * F:array(-1)):tolist())
    assert.are.same({1, 2}, F:multiply({1, 2}, F:array(M127) + 1):tolist())
    local inv, zero = F:try_inverse(F:array{3, 0})
    assert.is_nil(inv)
    assert.are.equal(2, zero)
    assert.is_true(F:equal(F:array{A, A}, F:array(A)))
    assert.are.equal(F:array{2, 3}, F:array{2, 3})
    assert.are_not.equal(F:array{2, 3}, field.Field():array{2, 3})
    assert.has_error(function() return F:array{1} + field.Field():array{1} end)
  end)

  it("use the pseudo-Mersenne and Montgomery reductions too", function()
    local G = field.Field{order = "340282366920938463463374607431768211297"} -- 2^128 - 159
    assert.are.equal("160310803509653658908398014471302250728", G:multiply(A, B):tolist())
    assert.are.equal("207940166649694578224586805780326145997", G:inverse(B)[1])
    local H = field.Field{order = "618970019642690137449562111"} -- 2^89 - 1
    assert.are.equal("93250043159425248579434453", H:multiply(A, B)[1])
  end)

  it("sum, dot, matvec, compose bits, shift and combine linearly", function()
    local x = F:array{A, B, -1}
    assert.are.equal(F:add(F:add(A, B), -1), F:sum(x))
    assert.are.equal(F:add(F:multiply(A, A), F:add(F:multiply(B, B), 1)), F:dot(x, x))
    assert.are.equal(F:array{F:dot(x, x):tolist(), F:sum(x):tolist()},
                     F:matvec(F:stack{x, F:ones{3}}, x))
    local bits = F:encode_bits(5)
    assert.are.equal(127, #bits)
    assert.are.equal(5, F:bit_compose(bits):tolist())
    local ones = {}
    for i = 1, 100 do ones[i] = 1 end
    assert.are.equal(F:subtract(F:power(2, 100), 1), F:bit_compose(ones))
    assert.are.same({"4722366482869645213696", 0}, F:shift_right({"0x1000000000000000000000000", 5}, 24):tolist())
    assert.are.equal(0, F:shift_right(F:power(2, 126), 127):tolist())
    assert.has_error(function() F:shift_right(x, 128) end,
                     "bad argument #2 to 'shift_right' (shift 128 out of range [0, 127])")
    assert.are.equal(F:add(F:multiply(2, x), F:multiply(A, x)), F:lincomb(F:array{2, A}, {x, x}))
    assert.are.equal(F:array{B, -1}, F:concat{x:slice(2), F:zeros{0}})
    assert.are.equal(x, x:reshape{1, 3}:row(1))
  end)

  it("encode and decode fixed point, integers and booleans", function()
    local big = 2.0 ^ 100
    local a = F:encode_fixed({1.5, -2.25, big, -big}, 16)
    assert.are.same({1.5, -2.25, big, -big}, F:decode_fixed(a, 16))
    assert.are.equal(98304, a[1])
    assert.has_error(function() F:encode_fixed({2.0 ^ 120}, 16) end,
                     "bad argument #1 to 'encode_fixed' (element 1 (1.3292279957849e+36) is out of range"
                     .. " for 16 bits of precision)")
    assert.are.same({true, false}, F:decode_bool(F:encode_bool{true, false}))
    assert.are.same({math.mininteger, "-9223372036854775809", "9223372036854775808"},
                    F:decode_int(F:array{math.mininteger, "-9223372036854775809",
                                         "9223372036854775808"}))
  end)

  it("share with any threshold and recover, one array per player too", function()
    local secret = F:array{A, B, -1, 0}
    local shares = F:shamir_share(secret, 3, {1, 2, 3, 4, 5}, field.rng(1))
    assert.are.same({5, 4}, shares.shape)
    assert.are.equal(secret, F:shamir_recover(F:stack{shares:row(2), shares:row(4), shares:row(5)}, {2, 4, 5}))
    assert.are_not.equal(secret, F:shamir_recover(F:stack{shares:row(2), shares:row(4)}, {2, 4}))
    local each = F:shamir_share_each({secret, secret:slice(1, 4)}, {2, 3}, {1, 2, 3})
    local rows = {}
    for j = 1, 3 do rows[j] = each[j]:row(2) end
    assert.are.equal(secret, F:shamir_recover(F:stack(rows), {1, 2, 3}))
    assert.are.equal(1, F:sum(F:lagrange{1, 2, 3}):tolist())
  end)

  it("draw uniform values below the order and below a bound", function()
    local u = F:uniform({2000}, field.rng(7))
    local high = 0
    for i = 1, 2000 do
      if math.type(u[i]) ~= "integer" then high = high + 1 end
    end
    assert.is_true(high > 1900, "nearly all of 2000 uniform elements exceed 2^63")
    assert.are.equal(u, F:uniform({2000}, field.rng(7)))
    local small = F:uniform_below({1000}, F:power(2, 70), field.rng(8))
    local odd = F:uniform_below({1000}, "1000000000000000000000", field.rng(9))
    local max_small, max_odd = 0, 0
    for i = 1, 1000 do
      max_small = math.max(max_small, #tostring(small[i]))
      max_odd = math.max(max_odd, #tostring(odd[i]))
      assert.is_true(F:shift_right(small:slice(i, i), 70)[1] == 0)
    end
    assert.are.equal(21, max_odd) -- below 10^21, but most have 21 digits
    assert.are.equal(22, max_small) -- below 2^70 = 1180591620717411303424
    assert.has_error(function() F:uniform_below({1}, 0) end,
                     "bad argument #2 to 'uniform_below' (bound 0 out of range [1, " .. M127 .. "])")
  end)
end)
