-- check_spec.lua: argument errors of the Lua modules name the argument and
-- point at the line that called the library, not at a line inside it, as
-- lauxlib's luaL_argerror does for C functions.
local cicada = require("cicada")
local check = require("cicada.check")
local shamir = require("cicada.shamir")

-- Call fn, which must raise, from the line that calls raised_here.
-- Returns the error and the position that line has in error messages
-- ("spec/check_spec.lua:42: "); fn must be written on that same line.
local function raised_here(fn)
  local caller = debug.getinfo(2, "Sl")
  local ok, err = pcall(fn)
  assert.is_false(ok, "no error raised")
  return tostring(err), ("%s:%d: "):format(caller.short_src, caller.currentline)
end

-- Assert that err is message, positioned at where.
local function assert_at(where, message, err)
  assert.are.equal(where .. message, err)
end

local support = require("support")
local fake_comm = support.fake_comm

describe("argument errors", function()
  it("point at the caller of every public method of both suites", function()
    local basic = require("cicada.shamir.basic")
    local p = shamir.ProtocolSuite(fake_comm(3), {threshold = 2})
    local names = basic.public_methods(basic.Suite)
    for _, name in ipairs(basic.public_methods(getmetatable(p))) do names[#names + 1] = name end
    assert.is_true(#names >= 19, "too few methods found: " .. #names)
    for _, name in ipairs(names) do
      local here = debug.getinfo(1, "Sl")
      local ok, err = pcall(p[name], p, "bad", "bad", "bad")
      assert.is_false(ok, name .. " accepted bad arguments")
      local at = ("%s:%d: bad argument #"):format(here.short_src, here.currentline + 1)
      assert.are.equal(at, tostring(err):sub(1, #at), name)
      assert.matches("^#%d to '" .. name .. "' %(", tostring(err):sub(#at))
    end
  end)

  it("point at the caller of the shamir constructors and local operations", function()
    local err, at = raised_here(function() shamir.BasicProtocolSuite(fake_comm(3), {threshold = 1}) end)
    assert_at(at, "bad argument #2 to 'BasicProtocolSuite' (threshold 1 out of range [2, 3])", err)
    err, at = raised_here(function() shamir.ProtocolSuite(fake_comm(2), support.narrow{threshold = 2, order = 561}) end)
    assert_at(at, "bad argument #2 to 'ProtocolSuite' (field order 561 is not prime)", err)
    local p = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})
    err, at = raised_here(function() p:share(5, 1) end)
    assert_at(at, "bad argument #1 to 'share' (rank 5 out of range [0, 3))", err)
    err, at = raised_here(function() p:add(true, 2) end)
    assert_at(at, "bad argument #1 to 'add' (share (field array), number or list expected, got boolean)", err)
    err, at = raised_here(function() p:subtract(p.field:zeros{3}, p.field:zeros{4}) end)
    assert_at(at, "bad argument #2 to 'subtract' (shapes {3} and {4} differ)", err)
    err, at = raised_here(function() p:indices_for({0, 3}) end)
    assert_at(at, "bad argument #1 to 'indices_for' (rank 3 out of range [0, 3))", err)
  end)

  it("point at the caller of ProtocolSuite operations, however deep the check", function()
    local p = shamir.ProtocolSuite(fake_comm(3), support.narrow{threshold = 2})
    local F = p.field
    local err, at = raised_here(function() p:multiply(F:zeros{3}, F:zeros{4}) end)
    assert_at(at, "bad argument #2 to 'multiply' (shapes {3} and {4} differ)", err)
    err, at = raised_here(function() p:matvec(F:zeros{2, 3}, F:zeros{2}) end)
    assert_at(at, "bad argument #2 to 'matvec' (shapes {2, 3} and {2} do not match)", err)
    err, at = raised_here(function() p:power(F:zeros{2}, -1) end)
    assert_at(at, "bad argument #2 to 'power' (exponent must be a non-negative integer, got -1)", err)
    err, at = raised_here(function() p:random_bitwise_secret{bits = 4, src = {0, 0}} end)
    assert_at(at, "bad argument #1 to 'random_bitwise_secret' (rank 0 appears twice in src)", err)
    local q = shamir.ProtocolSuite(fake_comm(4), support.narrow{threshold = 3})
    err, at = raised_here(function() q:multiply(F:zeros{2}, F:zeros{2}) end)
    assert_at(at, "multiply: threshold 3 is too high for multiplication among 4 players "
              .. "(it needs 2 * threshold - 1 <= 4, so threshold <= 2)", err)
    err, at = raised_here(function() shamir.ProtocolSuite(fake_comm(3), {threshold = 2, order = 65537}) end)
    assert_at(at, "ProtocolSuite: the field (17 bits) is too small for value_bits 48, precision 16 "
              .. "and statistical_security 40 among 3 players: they need a field of 108 bits, "
              .. 'e.g. order = 2^127 - 1 ("170141183460469231731687303715884105727"); '
              .. "or lower value_bits or statistical_security", err)
  end)

  it("point at the caller of cicada.run, Logger, recovery, encodings, inject and Field", function()
    local err, at = raised_here(function() cicada.run(4) end)
    assert_at(at, "bad argument #1 to 'run' (table expected, got number)", err)
    err, at = raised_here(function() cicada.run{world_size = 2, fn = print, timeout = -1} end)
    assert_at(at, "bad option 'timeout' to 'run' (positive number expected, got -1)", err)
    err, at = raised_here(function() cicada.Logger(42) end)
    assert_at(at, "bad argument #1 to 'Logger' (communicator expected, got number)", err)
    err, at = raised_here(function() cicada.recovery.run(42, {}) end)
    assert_at(at, "bad argument #1 to 'run' (communicator expected, got number)", err)
    err, at = raised_here(function() cicada.encoding.FixedPoint{precision = 63} end)
    assert_at(at, "bad argument #1 to 'FixedPoint' (precision must be an integer in [0, 62], got 63)", err)
    err, at = raised_here(function() cicada.inject.random_failure{pfail = 2} end)
    assert_at(at, "bad option 'pfail' to 'random_failure' (probability in [0, 1] expected, got 2)", err)
    err, at = raised_here(function() cicada.Field{order = 561} end)
    assert_at(at, "bad argument #1 to 'Field' (field order 561 is not prime)", err)
    err, at = raised_here(function() cicada.logging.getLogger("check_spec"):setLevel("LOUD") end)
    assert_at(at, "unknown log level LOUD", err)
  end)

  it("point at the caller inside players: Logger:info, share, irecv, multiplicative_inverse", function()
    local results = cicada.run{world_size = 3, fn = function(comm)
      local log = cicada.Logger(comm)
      local p = shamir.ProtocolSuite(comm, support.narrow{threshold = 2, encoding = cicada.encoding.Identity()})
      local zero = p:share(0, comm.rank == 0 and {4, 0} or nil, {2})
      local out = {}
      local function note(err, at) out[#out + 1] = {err = err, at = at} end
      note(raised_here(function() log:info("x", 5) end))
      note(raised_here(function() log:info("x", {src = 9}) end))
      note(raised_here(function() comm:irecv(1.5, 0) end))
      if comm.rank == 1 then
        note(raised_here(function() p:share(1, {1, "x"}) end))
      end
      note(raised_here(function() p:multiplicative_inverse(zero) end))
      return out
    end}
    for rank, r in ipairs(results) do
      assert.are.equal("table", type(r), tostring(r))
      assert_at(r[1].at, "bad argument #2 to 'info' (table expected, got number)", r[1].err)
      assert_at(r[2].at, "bad option 'src' to 'info' (rank 9 out of range [0, 3))", r[2].err)
      assert_at(r[3].at, "bad argument #1 to 'irecv' (rank expected, got 1.5)", r[3].err)
      if rank == 2 then
        assert_at(r[4].at, "bad argument #2 to 'share' (element 2 is not an integer (got string))",
                  r[4].err)
      end
      local last = r[#r]
      assert_at(last.at, "multiplicative_inverse: element 2 of the secret is zero and has no inverse",
                last.err)
    end
  end)
end)

describe("cicada.check", function()
  it("gives the reason of an argument error raised in C, and any other error whole", function()
    local F = cicada.Field{order = 7}
    local _, err = pcall(F.inverse, F, F:array{1, 0})
    assert.are.equal("element 2 is zero and has no inverse", check.reason(err))
    assert.are.equal("x.lua:3: boom", check.reason("x.lua:3: boom"))
  end)

  it("checks ranks and options with the usual messages", function()
    local comm = fake_comm(4)
    assert.are.equal(3, check.rank(comm, 3, 1, "f"))
    assert.has_error(function() check.rank(comm, 4, 2, "f") end,
                     "bad argument #2 to 'f' (rank 4 out of range [0, 4))")
    assert.has_error(function() check.rank(comm, "0", 2, "f") end,
                     "bad argument #2 to 'f' (rank expected, got string)")
    assert.are.equal(2, check.option({n = 2}, "n", "integer", "f"))
    assert.is_nil(check.option({}, "n", "integer", "f"))
    assert.has_error(function() check.option({n = 2.5}, "n", "integer", "f") end,
                     "bad option 'n' to 'f' (integer expected, got 2.5)")
    assert.has_error(function() check.option({s = 1}, "s", "string", "f") end,
                     "bad option 's' to 'f' (string expected, got 1)")
  end)
end)
