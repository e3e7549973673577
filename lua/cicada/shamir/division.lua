--- cicada.shamir.division: ProtocolSuite's fixed-point division by a
-- shared divisor.
--
--     p:divide(a, b)   a / b, element-wise
--
-- The reciprocal of b by Newton iterations on a normalized divisor (as in
-- Catrina and Saxena, "Secure computation with fixed-point numbers", FC
-- 2010, with the normalization by comparisons instead of bit
-- decomposition):
--
-- 1. s = [b < 0] and |b| = b - 2 s b; B = |b| * 2^f, the encoded integer
--    (f the precision).
-- 2. One batch of k - 1 comparisons [B < 2^i], i = 0 .. k - 2 (k =
--    p.value_bits), gives the position j of B's leading bit; a public
--    linear combination of them gives S = 2^(k-2-j), so that B S lies in
--    [2^(k-2), 2^(k-1)) and v = B S / 2^(k-1) in [0.5, 1).
-- 3. w = 2.9142 - 2v approximates 1/v to 0.086; three Newton steps
--    w = w (2 - v w) square the error each (below 2^-16 before rounding).
-- 4. 1/b = w S 2^f / 2^(k-1) (one product and a truncation), a/b = a (1/b),
--    and the sign of b is put back.
--
-- Accuracy: every truncation rounds at random (see
-- cicada.shamir.truncation), so the reciprocal is off by a few units of
-- 2^-f and a few units in its 16th significant bit, and the quotient by
-- at most (|a| + |a / b| + 1) * 2^(3-f): 2^-13 for |a| and |a / b| near 1
-- with precision 16.
-- Divisors must satisfy 2^-f <= |b| < 2^(k-1-f) (the value range); a zero
-- divisor gives 0. Rounds: about 38 (two comparisons of 8 rounds, three
-- Newton steps of two products, and the products and truncations around).
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.division
local check = require("cicada.check")

local M = {}

--- The fixed-point quotient a / b, element-wise, for a shared divisor b
-- (see the module comment for the accuracy and the range).
-- @param a a share, a number or a list (the dividend)
-- @param b a share of the same shape (the divisor)
-- @return a share in the suite's encoding
-- @raise `bad argument #2 to 'divide' (share (field array) expected, got number)`
-- for a public divisor (multiply by its inverse instead)
function M:divide(a, b)
  local F, enc = self.field, self.encoding
  if type(b) ~= "userdata" then
    check.argerror(2, "divide", "share (field array) expected, got " .. type(b)
                   .. " (for a public divisor, multiply by its inverse)")
  end
  a, b = self:_check_operands(a, b, "divide")
  self:_check_multiplication("divide")
  local f = self:_precision("divide")
  local k = self.value_bits
  local shape = b.ndim > 0 and b.shape or a.shape
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  local function flat(x) return F:add(F:zeros{n}, x:reshape(x.ndim > 0 and {n} or {})) end
  local af, bf = flat(a), flat(b)
  if n == 0 then return F:zeros(shape) end
  -- 1. The sign and the magnitude.
  local neg = self:less_zero(bf)
  local babs = F:subtract(bf, F:multiply(self:field_multiply(neg, bf), 2))
  -- 2. [B < 2^i] for i = 0 .. k - 2 in one batch, and S = 2^(k-2-j).
  local parts, coefs = {}, {}
  for i = 0, k - 2 do
    parts[i + 1] = F:subtract(babs, F:power(2, i))
    coefs[i + 1] = i == 0 and F:negative(F:power(2, k - 2)) or F:power(2, k - 2 - i)
  end
  local below = self:less_zero(F:concat(parts))
  local rows = {}
  for i = 1, k - 1 do rows[i] = below:slice((i - 1) * n + 1, i * n) end
  local S = F:add(F:lincomb(F:concat(coefs), rows), 1)
  -- 3. v in [0.5, 1), and w close to 1 / v.
  local v = self:truncate(self:field_multiply(babs, S), k - 1 - f)
  local w = F:subtract(enc:encode(2.9142, F), F:multiply(v, 2))
  local two = enc:encode(2, F)
  for _ = 1, 3 do
    w = self:multiply(w, F:subtract(two, self:multiply(v, w)))
  end
  -- 4. 1 / |b|, the quotient, and the sign.
  local inverse = self:truncate(self:field_multiply(w, S), k - 1 - f)
  local q = self:multiply(af, inverse)
  q = F:subtract(q, F:multiply(self:field_multiply(neg, q), 2))
  return q:reshape(shape)
end

return M
