--- cicada.shamir.logic: ProtocolSuite's logic on shared bits.
--
--     p:logical_and(a, b)   a b            one round
--     p:logical_or(a, b)    a + b - a b    one round
--     p:logical_xor(a, b)   a + b - 2 a b  one round
--     p:logical_not(a)      1 - a          local
--
-- The operands are shares of 0 and 1 as plain field elements, such as the
-- results of p:less or p:equal, of the same shape; so are the results.
-- Nothing checks that the secrets are bits: other values give meaningless
-- results.
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.logic

local M = {}

-- a * b of two shared bits, with the checks of the operation fname.
local function product(self, a, b, fname)
  self:_check_pair(a, b, fname)
  self:_check_multiplication(fname)
  local F = self.field
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_reduce(F:multiply(x, y))
  end)
end

--- Shares of a AND b, element-wise. One round.
-- @param a a share of bits
-- @param b a share of bits of the same shape
-- @return a share of bits
-- @raise `bad argument #2 to 'logical_and' (shapes {3} and {4} differ)`
function M:logical_and(a, b)
  return product(self, a, b, "logical_and")
end

--- Shares of a OR b, element-wise. One round.
-- @param a a share of bits
-- @param b a share of bits of the same shape
-- @return a share of bits
function M:logical_or(a, b)
  local F = self.field
  local ab = product(self, a, b, "logical_or") -- checks a and b first
  return F:subtract(F:add(a, b), ab)
end

--- Shares of a XOR b, element-wise. One round.
-- @param a a share of bits
-- @param b a share of bits of the same shape
-- @return a share of bits
function M:logical_xor(a, b)
  local F = self.field
  local ab = product(self, a, b, "logical_xor")
  return F:subtract(F:add(a, b), F:multiply(ab, 2))
end

--- Shares of NOT a, element-wise. Local.
-- @param a a share of bits
-- @return a share of bits
function M:logical_not(a)
  self:_check_share(a, 1, "logical_not")
  return self.field:subtract(1, a)
end

return M
