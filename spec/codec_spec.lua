-- codec_spec.lua - cicada.core.encode / decode: the values that travel
-- between players, the ones that cannot, and malformed bytes.

local core = require("cicada.core")

local function round_trip(v)
  return core.decode(core.encode(v))
end

-- A deterministic generator, so a failing case can be replayed.
local function lcg(seed)
  local state = seed
  return function(n)
    state = (state * 6364136223846793005 + 1442695040888963407)
    return ((state >> 33) % n) + 1
  end
end

-- The error raised by decoding s; fails the test if s decodes.
local function decode_error(s)
  local ok, err = pcall(core.decode, s)
  assert.is_false(ok, "decoded malformed bytes")
  assert.is_string(err)
  return err
end

describe("codec", function()

  describe("round trips", function()

    it("keeps nil and booleans", function()
      assert.is_nil(round_trip(nil))
      assert.is_true(round_trip(true))
      assert.is_false(round_trip(false))
    end)

    it("keeps integers and floats apart", function()
      assert.equal("integer", math.type(round_trip(3)))
      assert.equal("float", math.type(round_trip(3.0)))
      assert.equal(3, round_trip(3))
      assert.equal(3.0, round_trip(3.0))
    end)

    it("keeps the extreme integers", function()
      assert.equal(math.maxinteger, round_trip(math.maxinteger))
      assert.equal(math.mininteger, round_trip(math.mininteger))
      assert.equal(-1, round_trip(-1))
      assert.equal(0, round_trip(0))
    end)

    it("keeps every float, -0.0, infinities and NaN included", function()
      local z = round_trip(-0.0)
      assert.equal(0.0, z)
      assert.equal(-math.huge, 1 / z)
      assert.equal(math.huge, round_trip(math.huge))
      assert.equal(-math.huge, round_trip(-math.huge))
      local nan = round_trip(0 / 0)
      assert.is_true(nan ~= nan)
      assert.equal(0.1, round_trip(0.1))
      assert.equal(5e-324, round_trip(5e-324))
    end)

    it("keeps strings with embedded zeros and every byte", function()
      local all = {}
      for b = 0, 255 do all[#all + 1] = string.char(b) end
      all = table.concat(all)
      assert.equal("a\0b\0", round_trip("a\0b\0"))
      assert.equal("", round_trip(""))
      assert.equal(all, round_trip(all))
      assert.equal(string.rep("x", 100000), round_trip(string.rep("x", 100000)))
    end)

    it("keeps nested tables", function()
      local v = {1, 2.0, "three", {4, {5, {six = 6}}}, {}}
      assert.same(v, round_trip(v))
    end)

    it("keeps mixed array and hash parts", function()
      local v = {10, 20, 30, x = "x", [2.5] = true, [-1] = "minus", [100] = "far",
                 [true] = false, ["with space"] = {}}
      local w = round_trip(v)
      assert.same(v, w)
      assert.equal(3, #w)
      assert.equal("integer", math.type(w[1]))
    end)

    it("keeps lists with holes by key", function()
      local v = {1, nil, 3, n = 3}
      assert.same(v, round_trip(v))
    end)

    it("sends tables as keys by value", function()
      local w = round_trip({[{1, 2}] = "pair"})
      local k, v = next(w)
      assert.same({1, 2}, k)
      assert.equal("pair", v)
    end)

    it("sends a shared subtable once per reference", function()
      local shared = {1, 2}
      local w = round_trip({shared, shared})
      assert.same({{1, 2}, {1, 2}}, w)
    end)

    it("sends raw contents and never calls metamethods", function()
      local called = false
      local t = setmetatable({1, x = 2}, {
        __index = function() called = true end,
        __pairs = function() called = true end,
        __len = function() called = true; return 99 end,
      })
      local w = round_trip(t)
      assert.same({1, x = 2}, w)
      assert.is_nil(getmetatable(w))
      assert.is_false(called)
    end)

    it("accepts the deepest nesting the wire allows", function()
      local v = {}
      for _ = 2, 64 do v = {v} end
      local w = round_trip(v)
      local depth = 0
      while w do depth = depth + 1; w = w[1] end
      assert.equal(64, depth)
    end)

    it("encodes integers in eight little-endian bytes", function()
      assert.equal("\4\1\0\0\0\0\0\0\0", core.encode(1))
      assert.equal("\5" .. string.pack("<d", 1.0), core.encode(1.0))
      assert.equal("\1", core.encode(nil))
    end)
  end)

  describe("field arrays", function()
    local F = core.Field(97)

    it("keep their order, shape and words", function()
      local a = F:array({{0, 1, 2}, {94, 95, 96}})
      local b = round_trip(a)
      assert.equal(97, b.order)
      assert.same({2, 3}, b.shape)
      assert.is_true(a == b)
    end)

    it("keep scalars, empty arrays and arrays inside tables", function()
      local w = round_trip({s = F:array(5), e = F:array({}), list = {F:array({1, 2})}})
      assert.equal(0, w.s.ndim)
      assert.is_true(w.s == F:array(5))
      assert.equal(0, w.e.size)
      assert.is_true(w.list[1] == F:array({1, 2}))
    end)

    it("keep words above math.maxinteger in the default field", function()
      local G = core.Field()
      local a = G:array({-1, 0, 1})
      local b = round_trip(a)
      assert.is_true(a == b)
      assert.equal(a.order, b.order)
    end)

    it("are refused when a word is not below the order", function()
      local s = core.encode(F:array({1, 2}))
      local bad = s:sub(1, -9) .. string.pack("<I8", 97)
      assert.matches("word 1 is 97, not below the order 97", decode_error(bad))
    end)

    describe("of a 128-bit field", function()
      local M127 = "170141183460469231731687303715884105727" -- 2^127 - 1
      local W = core.Field(M127)

      it("keep their order, shape and both words of every element", function()
        local a = W:array({{0, -1, "0x123456789abcdef0123456789abcdef"}, {1, 2, 3}})
        local b = round_trip({a, W:array(-5), W:array({})})
        assert.equal(M127, b[1].order)
        assert.same({2, 3}, b[1].shape)
        assert.is_true(a == b[1])
        assert.is_true(b[2] == W:array(-5))
        assert.equal(0, b[3].size)
        local P128 = core.Field("340282366920938463463374607431768211297") -- 2^128 - 159
        local c = P128:array({-1, 7})
        assert.is_true(round_trip(c) == c)
      end)

      it("travel under tag 0x09: the two words of the order, then lo, hi per element", function()
        local s = core.encode(W:array({-1}))
        assert.equal("\9" .. string.pack("<I8I8", -1, 0x7fffffffffffffff) .. "\1"
                     .. string.pack("<I4I8I8", 1, -2, 0x7fffffffffffffff), s)
      end)

      it("are refused when an element is not below the order", function()
        local s = core.encode(W:array({1, 2}))
        local bad = s:sub(1, -17) .. string.pack("<I8I8", -1, 0x7fffffffffffffff)
        assert.matches("element 1 is " .. M127 .. ", not below the order " .. M127,
                       decode_error(bad))
      end)

      it("are refused when the order is not prime or fits the 64-bit tag", function()
        local s = core.encode(W:array({1, 2}))
        local composite = s:sub(1, 1) .. string.pack("<I8I8", -2, 0x7fffffffffffffff) .. s:sub(18)
        assert.matches("field array at byte 0 has an invalid order: field order "
                       .. "170141183460469231731687303715884105726 is not prime",
                       decode_error(composite))
        local small = s:sub(1, 1) .. string.pack("<I8I8", 97, 0) .. s:sub(18)
        assert.matches("tag 0x09 with an order below 2^64", decode_error(small))
      end)

      it("reject every truncation and survive mutation", function()
        local sample = core.encode({W:array({{1, -1}, {2, -2}}), x = W:array(3)})
        for n = 0, #sample - 1 do
          assert.matches("^cannot decode: truncated input", decode_error(sample:sub(1, n)))
        end
        local rand = lcg(4242)
        for _ = 1, 2000 do
          local pos = rand(#sample)
          local m = sample:sub(1, pos - 1) .. string.char(rand(256) - 1) .. sample:sub(pos + 1)
          local ok, err = pcall(core.decode, m)
          if not ok then assert.matches("^cannot decode: ", err) end
        end
      end)
    end)

    it("are refused when the order is not prime", function()
      local s = core.encode(F:array({1, 2}))
      local bad = s:sub(1, 1) .. string.pack("<I8", 96) .. s:sub(10)
      assert.matches("field array at byte 0 has an invalid order", decode_error(bad))
    end)

    it("leave Field objects behind", function()
      assert.has_error(function() core.encode({f = F}) end,
        "cannot send a userdata (cicada.Field) (at value.f)")
    end)
  end)

  describe("refuses values that cannot travel", function()

    it("names a function and where it is", function()
      assert.has_error(function() core.encode({x = {1, 2, print}}) end,
        "cannot send a function (at value.x[3])")
    end)

    it("names a function at the top", function()
      assert.has_error(function() core.encode(print) end, "cannot send a function (at value)")
    end)

    it("names a coroutine", function()
      assert.has_error(function() core.encode({co = coroutine.create(print)}) end,
        "cannot send a coroutine (at value.co)")
    end)

    it("names a function used as a key", function()
      assert.has_error(function() core.encode({a = {[print] = 1}}) end,
        "cannot send a function (as a key in value.a)")
    end)

    it("quotes keys that are not names", function()
      assert.has_error(function() core.encode({["end"] = {[2.5] = {["a b"] = print}}}) end,
        'cannot send a function (at value["end"][2.5]["a b"])')
    end)

    it("refuses userdata other than field arrays", function()
      local ok, err = pcall(core.encode, {io.stdout})
      assert.is_false(ok)
      assert.matches("cannot send a userdata %(FILE%*%) %(at value%[1%]%)", err)
    end)

    it("refuses a table that contains itself", function()
      local t = {a = {}}
      t.a.b = t
      assert.has_error(function() core.encode(t) end,
        "cannot send a table that contains itself (at value.a.b)")
    end)

    it("refuses tables nested too deep", function()
      local v = {}
      for _ = 1, 64 do v = {v} end
      local ok, err = pcall(core.encode, v)
      assert.is_false(ok)
      assert.matches("cannot send tables nested more than 64 deep %(at value%[1%]", err)
    end)

    it("needs an argument", function()
      assert.has_error(function() core.encode() end)
    end)
  end)

  describe("rejects malformed bytes", function()
    local sample = core.encode({1, 2.5, "a\0b", {true, false}, x = math.mininteger,
                                [1.5] = -0.0, nested = {deep = {"z"}}})

    it("rejects every truncation of a valid encoding", function()
      for n = 0, #sample - 1 do
        local err = decode_error(sample:sub(1, n))
        assert.matches("^cannot decode: truncated input", err)
      end
    end)

    it("rejects trailing bytes", function()
      assert.equal("cannot decode: trailing bytes: the value ends at byte 1 but the input has 2 bytes",
        decode_error("\1\1"))
    end)

    it("rejects unknown tags", function()
      assert.equal("cannot decode: unknown value tag 0x63 at byte 0", decode_error("c"))
    end)

    it("rejects huge declared lengths without allocating them", function()
      local str = "\6" .. string.pack("<I4", 0xffffffff) .. "abc"
      assert.matches("string at byte 0 needs 4294967295 more bytes, 3 remain",
        decode_error(str))
      local tbl = "\7" .. string.pack("<I4I4", 0xffffffff, 0xffffffff) .. "\1"
      assert.matches("table at byte 0 declares 12884901885 items", decode_error(tbl))
    end)

    it("rejects nil and NaN keys and nil values", function()
      local head = "\7" .. string.pack("<I4I4", 0, 1)
      assert.matches("table key at byte 9 is nil", decode_error(head .. "\1\3"))
      assert.matches("table key at byte 9 is NaN", decode_error(head .. core.encode(0 / 0) .. "\3"))
      assert.matches("table value at byte 10 is nil", decode_error(head .. "\3\1"))
    end)

    it("rejects nesting deeper than 64", function()
      local s = string.rep("\7" .. string.pack("<I4I4", 1, 0), 65) .. "\3"
      assert.matches("nesting too deep: table at byte 576", decode_error(s))
    end)

    it("rejects random garbage with an error, never a crash", function()
      local rand = lcg(12345)
      for _ = 1, 2000 do
        local n = rand(40) - 1
        local bytes = {}
        for i = 1, n do bytes[i] = string.char(rand(256) - 1) end
        local s = table.concat(bytes)
        local ok, err = pcall(core.decode, s)
        if not ok then
          assert.matches("^cannot decode: ", err)
        end
      end
    end)

    it("rejects mutated valid encodings with an error, never a crash", function()
      local rand = lcg(777)
      for _ = 1, 2000 do
        local pos = rand(#sample)
        local s = sample:sub(1, pos - 1) .. string.char(rand(256) - 1) .. sample:sub(pos + 1)
        local ok, err = pcall(core.decode, s)
        if not ok then
          assert.matches("^cannot decode: ", err)
        end
      end
    end)

    it("needs a string", function()
      assert.has_error(function() core.decode({}) end)
    end)
  end)
end)
