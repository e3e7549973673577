--- cicada.shamir.protocol: ProtocolSuite, the basic suite plus
-- multiplication and what is built on it.
--
-- Semi-honest security with an honest majority: the product of two shares
-- has degree 2t-2, so every multiplication needs 2t - 1 <= n (t the
-- threshold, n the players; checked with an error naming the limit). Every
-- operation is a collective: all players call it with shares of the same
-- shape. Arrays are processed 65,536 elements at a time (16,384 in fields
-- wider than 64 bits; truncations, and so multiply, dot and matvec, 32,768
-- in the 64-bit field, or 8,192 in overlapping rounds for a longer product
-- among 2t - 1 players, in temporaries kept from call to call), so a
-- million elements need a few MB of temporaries.
--
-- The class is assembled here from its parts, one module per concern:
--
--   cicada.shamir.dealing     the rounds: exchanges, per-pair streams,
--                             dealing, degree reduction, random shares
--   cicada.shamir.truncation  truncate, and the truncation of products
--   cicada.shamir.arithmetic  field_multiply, untruncated_multiply,
--                             multiply, dot, matvec, field_power, power,
--                             multiplicative_inverse
--   cicada.shamir.bits        random_bitwise_secret, bit_compose
--   cicada.shamir.heal        recover (lost shares, without revealing them)
--   cicada.shamir.compare     less, less_zero, equal, maximum, minimum,
--                             relu, absolute, floor, zigmoid, bit_decompose
--   cicada.shamir.logic       logical_and, logical_or, logical_xor,
--                             logical_not
--   cicada.shamir.division    divide
--
-- Statistical security: the constructor checks that the field has room
-- for `value_bits` (default precision + 32) bits of values, the precision
-- and `statistical_security` (default 40) bits of mask, and otherwise
-- raises an error naming a field that would do.
--
-- Every method of cicada.shamir.BasicProtocolSuite works on a ProtocolSuite
-- too. This file also holds the checks that the parts share.
-- @module cicada.shamir.protocol
local basic = require("cicada.shamir.basic")
local check = require("cicada.check")

local ProtocolSuite = setmetatable({}, {__index = basic.Suite})
ProtocolSuite.__index = ProtocolSuite
ProtocolSuite.__name = "cicada.shamir.ProtocolSuite"

--- `ProtocolSuite(world_size=3, threshold=2)`.
-- @treturn string
function ProtocolSuite:__tostring()
  return ("ProtocolSuite(world_size=%d, threshold=%d)"):format(
    self.communicator.world_size, self.threshold)
end

-- ==== Checks shared by the parts ==============================================

--- Check that a and b are shares of this suite with the same shape.
-- @param a argument 1 of fname
-- @param b argument 2 of fname
-- @string fname the operation's name
-- @raise `bad argument #2 to 'multiply' (shapes {3} and {4} differ)`
-- @local
function ProtocolSuite:_check_pair(a, b, fname)
  self:_check_share(a, 1, fname)
  self:_check_share(b, 2, fname)
  local sa, sb = a.shape, b.shape
  if not basic.same_shape(sa, sb) then
    check.argerror(2, fname, ("shapes %s and %s differ"):format(
      basic.shape_str(sa), basic.shape_str(sb)))
  end
end

--- Check that the suite can multiply: products of two degree t-1
-- polynomials have degree 2t-2, so 2t-1 players must hold a point of them.
-- @string fname the operation's name
-- @raise `multiply: threshold 3 is too high for multiplication among 4 players (...)`
-- @local
function ProtocolSuite:_check_multiplication(fname)
  local t, n = self.threshold, self.communicator.world_size
  if 2 * t - 1 > n then
    check.error(("%s: threshold %d is too high for multiplication among %d "
                 .. "players (it needs 2 * threshold - 1 <= %d, so threshold <= %d)")
                :format(fname, t, n, n, (n + 1) // 2))
  end
end

--- The fraction bits of the suite's fixed-point encoding.
-- @string fname the operation's name
-- @treturn int the precision
-- @raise `multiply needs a fixed-point encoding, not Identity(); use field_multiply`
-- @local
function ProtocolSuite:_precision(fname)
  local precision = self.encoding.precision
  if math.type(precision) ~= "integer" then
    check.error(("%s needs a fixed-point encoding, not %s; use field_multiply")
                :format(fname, tostring(self.encoding)))
  end
  return precision
end

-- ==== Room in the field ======================================================

-- Fields the error below suggests, narrowest first: bits, order, name.
local WIDER_FIELDS = {
  {64, "18446744073709551557", "2^64 - 59"},
  {127, "170141183460469231731687303715884105727", "2^127 - 1"},
}

-- The ceiling of log2 of the number of mask contributions among n
-- players (an odd number, n or n + 1: see cicada.shamir.truncation).
local function contribution_bits(n)
  local uniforms = n % 2 == 1 and n or n + 1
  local bits = 0
  while (1 << bits) < uniforms do bits = bits + 1 end
  return bits
end

--- The bits of field order the suite's masked reveals need: a truncated
-- product has value_bits + precision bits and its mask statistical_security
-- more, summed over the contributions, plus a sign bit and a bit of slack;
-- a comparison masks value_bits + 2 bits (cicada.shamir.compare).
-- @treturn int the bits
-- @local
function ProtocolSuite:_field_bits_needed()
  local precision = self.encoding.precision
  if math.type(precision) ~= "integer" then precision = 0 end
  local extra = contribution_bits(self.communicator.world_size)
  local s, v = self.statistical_security, self.value_bits
  return math.max(v + precision + s + extra + 2, v + s + extra + 4)
end

--- Raise unless the field has room for the suite's value range, precision
-- and statistical security (called by the constructor).
-- @string fname the constructor's name
-- @raise `ProtocolSuite: the field (64 bits) is too small for value_bits 48,
-- precision 16 and statistical_security 40 among 3 players: they need a
-- field of 108 bits, e.g. order = 2^127 - 1 ("1701...727"); or lower
-- value_bits or statistical_security`
-- @local
function ProtocolSuite:_check_field_room(fname)
  local need = self:_field_bits_needed()
  if self.field.bits >= need then return end
  local suggestion = "no supported field is that wide"
  for _, f in ipairs(WIDER_FIELDS) do
    if f[1] >= need then
      suggestion = ('e.g. order = %s ("%s")'):format(f[3], f[2])
      break
    end
  end
  local precision = self.encoding.precision
  check.error(("%s: the field (%d bits) is too small for value_bits %d, precision %s "
               .. "and statistical_security %d among %d players: they need a field of "
               .. "%d bits, %s; or lower value_bits or statistical_security")
              :format(fname, self.field.bits, self.value_bits, tostring(precision or 0),
                      self.statistical_security, self.communicator.world_size, need,
                      suggestion))
end

-- ==== The parts ===============================================================

local parts = {
  (require("cicada.shamir.dealing")),
  (require("cicada.shamir.truncation")),
  (require("cicada.shamir.arithmetic")),
  (require("cicada.shamir.bits")),
  (require("cicada.shamir.heal")),
  (require("cicada.shamir.compare")),
  (require("cicada.shamir.logic")),
  (require("cicada.shamir.division")),
}
for _, part in ipairs(parts) do
  for name, method in pairs(part) do
    assert(ProtocolSuite[name] == nil, "two parts of ProtocolSuite define " .. name)
    ProtocolSuite[name] = method
  end
end
basic.name_failures(ProtocolSuite, basic.public_methods(ProtocolSuite))

return ProtocolSuite
