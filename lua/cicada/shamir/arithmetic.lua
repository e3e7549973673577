--- cicada.shamir.arithmetic: ProtocolSuite's products, powers and
-- inverses.
--
--     p:field_multiply(a, b)       element-wise product in the field; the
--                                  degree 2t-2 product is reduced by
--                                  resharing (each player shares its product
--                                  share with degree t-1, each combines the
--                                  sub-shares with the Lagrange weights at 0).
--                                  One round.
--     p:untruncated_multiply(a, b) the same on fixed-point shares: 2f
--                                  fraction bits; p:truncate brings them back
--     p:multiply(a, b)             fixed-point product: the local product is
--                                  truncated directly from degree 2t-2 (the
--                                  truncation's reveal reduces the degree),
--                                  two rounds
--     p:dot(a, b)                  fixed-point sum of a * b over all
--                                  elements (a scalar share), two rounds
--     p:matvec(A, x)               {m, k} times {k}: an {m} share, two rounds
--     p:field_power(a, e), p:power(a, e)
--                                  public integer e >= 0 by square and
--                                  multiply (about log2(e) rounds of
--                                  field_multiply or multiply)
--     p:multiplicative_inverse(a)  field inverse: reveal u = a * r for a
--                                  random shared r, return u^-1 * r
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.arithmetic
local basic = require("cicada.shamir.basic")
local check = require("cicada.check")

local M = {}

local shape_str = basic.shape_str

-- ==== Multiplication ============================================================

--- A share of the element-wise product in the field (no fixed-point
-- truncation). One round.
-- @param a a share
-- @param b a share of the same shape
-- @return a share
-- @raise `bad argument #2 to 'field_multiply' (shapes {3} and {4} differ)`,
-- or an error naming the limit when the threshold is too high
function M:field_multiply(a, b)
  self:_check_pair(a, b, "field_multiply")
  self:_check_multiplication("field_multiply")
  local F = self.field
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_reduce(F:multiply(x, y))
  end)
end

--- The product of two fixed-point shares with twice the precision
-- (p:truncate brings it back). One round.
-- @param a a share
-- @param b a share of the same shape
-- @return a share
function M:untruncated_multiply(a, b)
  self:_check_pair(a, b, "untruncated_multiply")
  self:_check_multiplication("untruncated_multiply")
  local F = self.field
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_reduce(F:multiply(x, y))
  end)
end

--- The element-wise fixed-point product. Two rounds: the truncation's
-- reveal also reduces the product's degree. Either operand may be public
-- (a number or a list, encoded with the suite's encoding; a scalar
-- broadcasts): the product is then local and only truncated.
-- @param a a share, a number or a list
-- @param b a share of the same shape, a number or a list
-- @return a share
-- @raise `bad argument #2 to 'multiply' (shapes {3} and {4} differ)`; an
-- error when the threshold is too high or the encoding is not fixed-point
function M:multiply(a, b)
  local pa, pb
  a, pa = self:_operand(a, 1, "multiply")
  b, pb = self:_operand(b, 2, "multiply")
  if pa or pb then
    a, b = self:_check_operands(a, b, "multiply")
    if pa and pb then
      check.argerror(2, "multiply", "one operand must be a share; both are public")
    end
    local bits = self:_precision("multiply")
    local h = self.field:multiply(a, b)
    return self:_truncate_all(h, self.threshold, bits, h.shape, "multiply")
  end
  self:_check_pair(a, b, "multiply")
  self:_check_multiplication("multiply")
  local bits = self:_precision("multiply")
  return self:_truncate_all(a, 2 * self.threshold - 1, bits, a.shape, "multiply", b)
end

--- A scalar share of the fixed-point dot product of two shares of the same
-- shape (every element). Two rounds, whatever the length.
-- @param a a share
-- @param b a share of the same shape
-- @return a 0-d share
function M:dot(a, b)
  self:_check_pair(a, b, "dot")
  self:_check_multiplication("dot")
  local bits = self:_precision("dot")
  return self:_truncate_all(self.field:dot(a, b), 2 * self.threshold - 1,
                            bits, {}, "dot")
end

--- The fixed-point product of a matrix share and a vector share. Two rounds.
-- @param A an {m, k} share
-- @param x a {k} share
-- @return an {m} share
-- @raise `bad argument #2 to 'matvec' (shapes {2, 3} and {2} do not match)`
function M:matvec(A, x)
  self:_check_share(A, 1, "matvec")
  self:_check_share(x, 2, "matvec")
  local sa, sx = A.shape, x.shape
  if #sa ~= 2 then
    check.argerror(1, "matvec", "matrix share expected, got shape " .. shape_str(sa))
  end
  if #sx ~= 1 or sx[1] ~= sa[2] then
    check.argerror(2, "matvec", ("shapes %s and %s do not match"):format(
      shape_str(sa), shape_str(sx)))
  end
  self:_check_multiplication("matvec")
  local bits = self:_precision("matvec")
  return self:_truncate_all(self.field:matvec(A, x), 2 * self.threshold - 1,
                            bits, {sa[1]}, "matvec")
end

-- ==== Powers ====================================================================

local function check_exponent(e, fname)
  local i = math.type(e) and math.tointeger(e)
  if i == nil or i < 0 then
    check.argerror(2, fname, "exponent must be a non-negative integer, got " .. tostring(e))
  end
  return i
end

-- a^e (e >= 1) by squaring and multiplying with mul (field_multiply or
-- multiply). A step that needs both a square and a product does them in
-- one call, so e costs about log2(e) rounds of mul.
local function power(self, a, e, mul)
  local F = self.field
  local n, shape = a.size, a.shape
  local result, base = nil, a:reshape{n}
  while true do
    local odd = e & 1 == 1
    e = e >> 1
    if odd and result == nil then
      result = base
      if e == 0 then break end
      base = mul(self, base, base)
    elseif odd then
      if e == 0 then
        result = mul(self, result, base)
        break
      end
      local both = mul(self, F:concat{result, base}, F:concat{base, base})
      result, base = both:slice(1, n), both:slice(n + 1, 2 * n)
    else
      base = mul(self, base, base) -- e > 0: a higher bit is set
    end
  end
  return result:reshape(shape)
end

--- A share of a^e in the field, for a public integer e >= 0 (a^0 is 1,
-- also for a shared 0), by square and multiply: about log2(e) rounds.
-- @param a a share
-- @int e the exponent
-- @return a share
-- @raise `bad argument #2 to 'field_power' (exponent must be a non-negative integer, got -1)`
function M:field_power(a, e)
  self:_check_share(a, 1, "field_power")
  e = check_exponent(e, "field_power")
  if e == 0 then return self.field:ones(a.shape) end
  if e > 1 then self:_check_multiplication("field_power") end
  return power(self, a, e, M.field_multiply)
end

--- A share of the fixed-point a^e for a public integer e >= 0, by e's
-- square-and-multiply chain of p:multiply.
-- @param a a share
-- @int e the exponent
-- @return a share
-- @raise `bad argument #2 to 'power' (exponent must be a non-negative integer, got 2.5)`
function M:power(a, e)
  self:_check_share(a, 1, "power")
  e = check_exponent(e, "power")
  self:_precision("power")
  if e == 0 then
    return self.field:add(self.field:zeros(a.shape), self.encoding:encode(1, self.field))
  end
  if e > 1 then self:_check_multiplication("power") end
  return power(self, a, e, M.multiply)
end

-- ==== Inverse ===================================================================

-- How often multiplicative_inverse draws a new mask for a chunk whose
-- masked product has a zero, before it concludes that the secret is zero:
-- enough that a zero mask twice in a row is below 2^-40 in fields of 20
-- bits and more.
local INVERSE_ATTEMPTS = 2

-- The inverse of the public array u, or nil and the (1-based) index of its
-- first zero element.
--- A share of a^-1 in the field, element-wise: masks a with a random
-- shared r, reveals a * r and returns (a r)^-1 * [r]. A zero mask (chance
-- 1/p) is retried.
-- @param a a share
-- @return a share
-- @raise `multiplicative_inverse: element 2 of the secret is zero and has no
-- inverse` (or `the secret is zero` for one element) at every player alike,
-- revealing only that the element is zero
function M:multiplicative_inverse(a)
  local F = self.field
  self:_check_share(a, 1, "multiplicative_inverse")
  self:_check_multiplication("multiplicative_inverse")
  local offset = 0
  return self:_chunked({a}, a.shape, function(chunk)
    local zero
    for _ = 1, INVERSE_ATTEMPTS do
      local r = self:_random_field(chunk.size)
      local u = self:_open(self:_reduce(F:multiply(chunk, r)))
      local inv, at = F:try_inverse(u)
      if inv then
        offset = offset + chunk.size
        return F:multiply(inv, r)
      end
      zero = at
    end
    local where = a.size == 1 and "the secret is zero" or
      ("element %d of the secret is zero"):format(offset + zero)
    check.error(("multiplicative_inverse: %s and has no inverse"):format(where))
  end)
end

return M
