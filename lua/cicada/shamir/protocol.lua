--- cicada.shamir.protocol: ProtocolSuite, the basic suite plus
-- multiplication and what is built on it.
--
-- Semi-honest security with an honest majority: the product of two shares
-- has degree 2t-2, so every multiplication needs 2t - 1 <= n (t the
-- threshold, n the players; checked with an error naming the limit). Every
-- operation is a collective: all players call it with shares of the same
-- shape. Arrays are processed 65,536 elements at a time, so a million
-- elements need a few MB of temporaries.
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

-- ==== The parts ===============================================================

local parts = {
  (require("cicada.shamir.dealing")),
  (require("cicada.shamir.truncation")),
  (require("cicada.shamir.arithmetic")),
  (require("cicada.shamir.bits")),
}
for _, part in ipairs(parts) do
  for name, method in pairs(part) do
    assert(ProtocolSuite[name] == nil, "two parts of ProtocolSuite define " .. name)
    ProtocolSuite[name] = method
  end
end
basic.name_failures(ProtocolSuite, basic.public_methods(ProtocolSuite))

return ProtocolSuite
