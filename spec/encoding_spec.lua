-- encoding_spec.lua: how cicada.encoding turns Lua values into field
-- elements and back.
local encoding = require("cicada.encoding")
local field = require("cicada.field")

local F = field.Field()

describe("FixedPoint", function()
  it("has 16 bits of precision by default", function()
    local e = encoding.FixedPoint()
    assert.are.equal(16, e.precision)
    assert.are.equal("FixedPoint(precision=16)", tostring(e))
    assert.are.equal(65536, e:encode(1, F):tolist())
  end)

  it("decodes a shared 1 as the float 1.0", function()
    local e = encoding.FixedPoint{precision = 16}
    local x = e:decode(e:encode(1, F), F)
    assert.are.equal("float", math.type(x))
    assert.are.equal("1.0", tostring(x))
  end)

  it("round-trips negative, fractional and vector values", function()
    local e = encoding.FixedPoint{precision = 8}
    assert.are.equal(-3.25, e:decode(e:encode(-3.25, F), F))
    assert.are.same({0.5, -0.125, 100.0}, e:decode(e:encode({0.5, -0.125, 100}, F), F))
    assert.are.same({{1.0, 2.0}, {-1.0, 0.0}}, e:decode(e:encode({{1, 2}, {-1, 0}}, F), F))
  end)

  it("rounds half away from zero", function()
    local e = encoding.FixedPoint{precision = 0}
    assert.are.same({3.0, -3.0, 2.0, -2.0}, e:decode(e:encode({2.5, -2.5, 2.4, -2.4}, F), F))
  end)

  it("wraps negatives to p - |x|", function()
    local e = encoding.FixedPoint{precision = 0}
    assert.are.equal(-60, e:encode(-1, F):tolist()) -- 2^64 - 60, same 64 bits
    local G = field.Field{order = 7}
    assert.are.equal(6, e:encode(-1, G):tolist())
  end)

  it("decodes the elements of a 128-bit field to the nearest float, scaled exactly", function()
    -- Either side of the middle of 2^127 - 1, and values with more bits
    -- than a double holds: what Lua reads for the integer, over 2^precision.
    local G = field.Field{order = field.SUITE_ORDER}
    local xs = {"0", "1", "-1", "85070591730234615865843651857942052863",
                "-85070591730234615865843651857942052863", "18446744073709551617",
                "-123456789012345678901234567", "36893488147419103231"}
    for _, precision in ipairs{0, 16, 62} do
      local got = encoding.FixedPoint{precision = precision}:decode(G:array(xs), G)
      for i, x in ipairs(xs) do
        assert.are.equal(tonumber(x) / 2 ^ precision, got[i])
        assert.are.equal("float", math.type(got[i]))
      end
    end
  end)

  it("refuses bad precisions and values", function()
    assert.has_error(function() encoding.FixedPoint{precision = 63} end,
                     "bad argument #1 to 'FixedPoint' (precision must be an integer in [0, 62], got 63)")
    assert.has_error(function() encoding.FixedPoint{precision = 1.5} end)
    local e = encoding.FixedPoint()
    assert.has_error(function() e:encode({1, "x"}, F) end,
                     "bad argument #1 to 'encode_fixed' (element 2 is not a number (got string))")
    assert.has_error(function() e:encode(0 / 0, F) end)
    assert.has_error(function() e:encode(1, nil) end,
                     "bad argument #2 to 'encode' (field expected, got nil)")
  end)
end)

describe("Identity", function()
  it("keeps integers, negatives included", function()
    local e = encoding.Identity()
    assert.are.equal("Identity()", tostring(e))
    assert.are.equal(-5, e:decode(e:encode(-5, F), F))
    assert.are.same({1, -2, 3}, e:decode(e:encode({1, -2, 3}, F), F))
    assert.are.equal("integer", math.type(e:decode(e:encode(7, F), F)))
  end)
end)

describe("Boolean", function()
  it("maps true and false to 1 and 0", function()
    local e = encoding.Boolean()
    assert.are.equal("Boolean()", tostring(e))
    assert.are.same({1, 0}, e:encode({true, false}, F):tolist())
    assert.are.same({true, false, true}, e:decode(e:encode({true, false, 1}, F), F))
    assert.is_false(e:decode(e:encode(false, F), F))
    assert.has_error(function() e:encode({true, 2}, F) end,
                     "bad argument #1 to 'encode_bool' (element 2 is not a boolean, 0 or 1)")
  end)
end)

describe("Bits", function()
  it("turns an integer into field.bits bits, most significant first", function()
    local e = encoding.Bits()
    assert.are.equal("Bits()", tostring(e))
    local G = field.Field{order = 7} -- 3 bits
    assert.are.same({1, 1, 0}, e:decode(e:encode(6, G), G))
    local bits = e:decode(e:encode(5, F), F)
    assert.are.equal(64, #bits)
    assert.are.same({1, 0, 1}, {bits[62], bits[63], bits[64]})
  end)

  it("keeps a list of bits as given and refuses non-bits", function()
    local e = encoding.Bits()
    assert.are.same({0, 1, 1, 0}, e:decode(e:encode({0, 1, 1, 0}, F), F))
    assert.has_error(function() e:encode({0, 3}, F) end)
    assert.has_error(function() e:decode(F:array{0, 5}, F) end,
                     "bad argument #1 to 'decode_bits' (element 2 is not a bit)")
  end)
end)

describe("the Field's decoders", function()
  it("decode into lists of Lua numbers and booleans of their own types", function()
    -- The types too: 1 == 1.0, so a float where an integer is due (or the
    -- reverse) would pass an equality check.
    local function check(got, want, kind)
      assert.are.equal(#want, #got)
      assert.is_nil(got[#want + 1])
      local count = 0
      for i, x in ipairs(got) do
        count = i
        if kind == "boolean" then
          if type(x) ~= "boolean" or x ~= want[i] then
            error(("element %d: %s, want %s"):format(i, tostring(x), tostring(want[i])))
          end
        elseif math.type(x) ~= kind or x ~= want[i] then
          error(("element %d: %s (%s), want %s"):format(i, tostring(x), tostring(math.type(x)),
                                                         tostring(want[i])))
        end
      end
      assert.are.equal(#want, count)
      got[#got + 1] = "more"
      assert.are.equal(#want + 1, #got)
    end
    for _, G in ipairs{field.Field{order = "18446744073709551557"}, F} do
      for _, n in ipairs{1, 5, 70000} do
        local ints, fixed, bools = {}, {}, {}
        for i = 1, n do
          ints[i] = (i * 7919 % 4001 - 2000) * (i % 3 == 0 and 1000003 or 1)
          fixed[i] = ints[i] / 64
          bools[i] = i % 3 == 1
        end
        check(G:decode_int(G:encode_int(ints)), ints, "integer")
        check(G:decode_fixed(G:encode_fixed(fixed, 6), 6), fixed, "float")
        check(G:decode_bool(G:encode_bool(bools)), bools, "boolean")
        local rows = G:decode_int(G:encode_int{ints, ints})
        assert.are.equal(2, #rows)
        check(rows[1], ints, "integer")
        check(rows[2], ints, "integer")
      end
      assert.are.equal("-1.5", tostring(G:decode_fixed(G:encode_fixed({-1.5}, 6), 6)[1]))
      assert.are.equal("-96", tostring(G:decode_int(G:encode_fixed({-1.5}, 6))[1]))
    end
  end)

  it("decode fixed point of every magnitude as the signed integer scaled, at any length", function()
    -- Magnitudes up to (p - 1) / 2, most of them above 2^53 (rounded to
    -- the nearest float), lengths around 8, precisions 0 to 62: each
    -- number is the float of the signed integer decode_int gives, times
    -- 2^-precision, bit for bit.
    local G = field.Field{order = "18446744073709551557"}
    local half = 9223372036854775749 -- (p - 1) / 2
    local edges = {0, 1, -1, half, -half, half - 1, -(half - 1), (1 << 53) + 1,
                   -((1 << 53) + 1), (1 << 62) + 12345, -(1 << 62) - 1}
    local rng = 0x2545F4914F6CDD1D
    local ints = {}
    for i = 1, 1001 do
      rng = rng * 6364136223846793005 + 1442695040888963407
      local v = edges[i % 17 + 1] or (rng >> 1) % half * (i % 2 == 0 and 1 or -1)
      ints[i] = v >> (i % 5 == 0 and i % 60 or 0)
    end
    for _, n in ipairs{1, 2, 7, 8, 9, 15, 16, 17, 64, 1001} do
      local a = G:encode_int(table.move(ints, 1, n, 1, {}))
      local signed = G:decode_int(a)
      for _, precision in ipairs{0, 16, 62} do
        local got = G:decode_fixed(a, precision)
        assert.are.equal(n, #got)
        for i = 1, n do
          local want = signed[i] * 2.0 ^ -precision
          if math.type(got[i]) ~= "float" or got[i] ~= want then
            error(("n %d, precision %d, element %d: %s, want %s"):format(
              n, precision, i, tostring(got[i]), tostring(want)))
          end
        end
      end
    end
  end)
end)
