--- cicada.shamir.truncation: ProtocolSuite's truncate, and the truncation
-- of fixed-point products.
--
-- p:truncate and the fixed-point products use probabilistic truncation by
-- a statistical mask (TruncPr of Catrina and Saxena, FC 2010), with the
-- random mask summed from one contribution per player instead of composed
-- from shared random bits: every player draws u_i uniform in
-- [0, 2^mask_bits) and shares u_i (with the degree of the value) and
-- floor(u_i / 2^bits) (degree t-1); the players reveal
-- c = x + 2^(L-2) + sum u_i (2^L <= p) and take
--
--     floor(c / 2^bits) - 2^(L-2-bits) - sum floor(u_i / 2^bits) - (m-1)/2
--
-- where m is the number of contributions (n, or n + 1 with player 0 giving
-- two when n is even, so that (m-1)/2 is an integer). The result is
-- floor(x / 2^bits) + e - (m-1)/2, where the carry e of the low bits is
-- between 0 and m: the rounding is random and unbiased (to within
-- (m-1)/2^(bits+1) units), with an error of at most (m+1)/2 units in the
-- last place (2^-16 for the default precision): 2 units for 3 players, 3
-- for 4 or 5. It costs one round of mask contributions and one reveal.
-- Composing the mask's low bits from shared random bits
-- (random_bitwise_secret, as the Python Cicada suite does) would bound the
-- error by one unit, but costs a multiplication per bit and contributor for
-- every truncated element: too slow for a million elements.
--
-- The statistical-security caveat: c hides x only statistically, with a
-- distance of about |x| / 2^mask_bits from a value that does not depend
-- on x, and mask_bits = L - 1 - ceil(log2 m) is 123 for 3 players in the
-- default field 2^127 - 1 (122 for 4 or 5), but 60 in the 64-bit field
-- 2^64 - 59 (59): there a product of magnitude 1 (2^32 before truncation,
-- precision 16) is hidden only to 2^-28, one of magnitude 2^10 to 2^-18;
-- the 64-bit field leaves no room for the usual 40 bits of statistical
-- security at useful ranges. Values must satisfy |x| < 2^(L-2) (2^124 in
-- the default field, 2^61 in the 64-bit one: |a * b| < 2^29 for precision
-- 16) or the result is wrong; nothing checks this (it would need a
-- comparison).
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.truncation
local check = require("cicada.check")

local M = {}

--- The public parameters for truncating `bits` bits among n players.
-- With c < 2^(L-1) + uniforms * 2^mask_bits <= 2^L the masked value never
-- wraps around p.
-- @int bits how many bits to truncate
-- @string fname the operation's name, for errors
-- @treturn table `uniforms`, the number of mask contributions (odd: n, or
-- n + 1 with player 0 giving two), so that their carry averages an integer;
-- `bound`, each contribution is uniform in [0, bound = 2^mask_bits);
-- `shift`, 2^(L-2) with 2^L <= p, added so that the masked value is
-- non-negative (values must satisfy |x| < shift); `correction`,
-- shift / 2^bits + (uniforms - 1) / 2, subtracted at the end (bound, shift
-- and correction are 0-d field arrays)
-- @raise `multiply: the field (17 bits) is too small to truncate 16 bits among 3 players`
-- @local
function M:_truncation_params(bits, fname)
  local n = self.communicator.world_size
  local uniforms = n % 2 == 1 and n or n + 1
  local L = self.field.bits - 1
  local log2u = 0
  while (1 << log2u) < uniforms do log2u = log2u + 1 end
  local mask_bits = L - 1 - log2u
  if bits >= mask_bits or bits > L - 2 then
    check.error(("%s: the field (%d bits) is too small to truncate %d bits among %d players")
                :format(fname, self.field.bits, bits, n))
  end
  -- Powers of two as 0-d field arrays: in a 128-bit field they exceed Lua
  -- integers.
  local F = self.field
  local shift = F:power(2, L - 2)
  return {
    uniforms = uniforms,
    bound = F:power(2, mask_bits),
    shift = shift,
    correction = F:add(F:shift_right(shift, bits), (uniforms - 1) // 2),
  }
end

--- floor(h / 2^bits), plus the random carry, of a 1-D chunk h of shares of
-- degree k - 1 (k = t for a share, 2t - 1 for a product of two). Two
-- rounds: the mask contributions, then the reveal of the masked value.
-- @param h the chunk
-- @int k the degree of h's shares, plus one
-- @int bits how many bits to truncate
-- @tab T the parameters from _truncation_params
-- @return a chunk of degree t - 1 shares
-- @local
function M:_truncate_chunk(h, k, bits, T)
  local F, comm = self.field, self.communicator
  local n, size = h.size, comm.world_size
  -- This player's contribution u to the mask r, and u's high part.
  local u = F:uniform_below({n}, T.bound, self._rng)
  local high = F:shift_right(u, bits)
  if T.uniforms > size and comm.rank == 0 then
    local u2 = F:uniform_below({n}, T.bound, self._rng)
    high = F:add(high, F:shift_right(u2, bits))
    u = F:add(u, u2)
  end
  -- In fields wider than 64 bits player 0 puts the public shift into its u
  -- and the correction into its high part (after taking that part), so
  -- that they reach the sums below through the dealing instead of costing
  -- every player a pass. In the 64-bit field the separate passes measured
  -- faster (about 7% of a million products' CPU).
  local wide = F.bits > 64
  if wide and comm.rank == 0 then
    u = F:add(u, T.shift)
    high = F:add(high, T.correction)
  end
  -- u is shared with the degree of h, so that h + r is a random polynomial
  -- of that degree apart from its value at 0; high with degree t - 1.
  local got = self:_deal({u, high}, {k, self.threshold})
  if not wide then
    -- c = h + r + shift is public; floor(c / 2^bits) - correction - r_high
    -- is floor(h / 2^bits) plus the carry of the low bits.
    local r = self:_combine(got, 1, self._ones)
    local r_high = self:_combine(got, 2, self._ones)
    local c = self:_open(F:add(F:add(h, r), T.shift))
    return F:subtract(F:subtract(F:shift_right(c, bits), T.correction), r_high)
  end
  -- c = h + shift + r, where r + shift is the sum of the dealt u, is
  -- public; floor(c / 2^bits) - (correction + r_high), the second the sum
  -- of the dealt high parts, is floor(h / 2^bits) plus the carry of the low
  -- bits. Each is one linear combination (weights 1 and -1: additions).
  local masked, result = {h}, {false}
  for j, shares in ipairs(got) do
    masked[j + 1] = shares[1]
    result[j + 1] = shares[2]
  end
  local c = self:_open(F:lincomb(self:_unit_weights(size + 1, 1), masked))
  result[1] = F:shift_right(c, bits)
  return F:lincomb(self:_unit_weights(size + 1, -1), result)
end

--- The weights {1, s, s, ..., s} (count of them), cached: s = 1 sums,
-- s = -1 subtracts the rest from the first.
-- @local
function M:_unit_weights(count, s)
  local key = "unit/" .. count .. "/" .. s
  local w = self._weights[key]
  if w == nil then
    local list = {1}
    for i = 2, count do list[i] = s end
    w = self.field:array(list)
    self._weights[key] = w
  end
  return w
end

--- Truncate the array h of degree k - 1 shares, chunk by chunk.
-- @param h the shares
-- @int k the degree of h's shares, plus one
-- @int bits how many bits to truncate
-- @tab shape the result's shape
-- @string fname the operation's name, for errors
-- @return the truncated shares
-- @local
function M:_truncate_all(h, k, bits, shape, fname)
  local T = self:_truncation_params(bits, fname)
  return self:_chunked({h}, shape, function(chunk)
    return self:_truncate_chunk(chunk, k, bits, T)
  end)
end

--- A share of a / 2^bits, rounded down or up at random (see the module
-- comment). Two rounds.
-- @param a a share
-- @int[opt] bits how many bits (default: the encoding's precision)
-- @return a share
-- @raise `bad argument #2 to 'truncate' (bits must be a non-negative integer, got -1)`
function M:truncate(a, bits)
  self:_check_share(a, 1, "truncate")
  if bits == nil then bits = self:_precision("truncate") end
  if math.type(bits) ~= "integer" or bits < 0 then
    check.argerror(2, "truncate", "bits must be a non-negative integer, got " .. tostring(bits))
  end
  if bits == 0 then return a:copy() end
  return self:_truncate_all(a, self.threshold, bits, a.shape, "truncate")
end

return M
