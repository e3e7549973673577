--- cicada.shamir.bits: ProtocolSuite's shared random bits and their
-- composition.
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.bits
local check = require("cicada.check")

local M = {}

-- The ranks in src (default: every player), each once; a set of them.
local function check_src(comm, src)
  if src == nil then
    src = comm.ranks
  elseif type(src) ~= "table" or #src == 0 then
    check.argerror(1, "random_bitwise_secret", "src must be a non-empty list of ranks")
  end
  return src, check.rank_list(comm, src, 1, "random_bitwise_secret", "src")
end

--- Shares of random bits and of the number they make.
-- Every player in `src` draws `bits` random bits per element and shares
-- them; the bits are XORed together (x + y - 2xy, by field_multiply,
-- pairwise in log2(#src) rounds), so they are uniform and unknown to anyone
-- as long as one player in `src` keeps its own secret.
-- @tab options `bits` (1 to field.bits - 1), `shape` (`{}`, the default, or
-- `{m}`), `src` (a list of ranks, default: every player)
-- @return the bit shares, shape `{bits}` or `{m, bits}`, most significant
-- bit first
-- @return the share of their value, shape `{}` or `{m}`
-- @raise `bad argument #1 to 'random_bitwise_secret' (...)`
function M:random_bitwise_secret(options)
  local F, comm = self.field, self.communicator
  if type(options) ~= "table" then
    check.argerror(1, "random_bitwise_secret", "options table expected, got " .. type(options))
  end
  local bits, shape = options.bits, options.shape or {}
  if math.type(bits) ~= "integer" or bits < 1 or bits >= F.bits then
    check.argerror(1, "random_bitwise_secret", ("bits must be an integer in [1, %d], got %s")
                   :format(F.bits - 1, tostring(bits)))
  end
  if type(shape) ~= "table" or #shape > 1 or
     (#shape == 1 and (math.type(shape[1]) ~= "integer" or shape[1] < 0)) then
    check.argerror(1, "random_bitwise_secret", "shape must be {} or {m}")
  end
  local src, in_src = check_src(comm, options.src)
  if #src > 1 then self:_check_multiplication("random_bitwise_secret") end
  local count = shape[1] or 1
  local total = count * bits
  local rows
  if in_src[comm.rank] then
    rows = F:shamir_share_each(F:uniform_below({total}, 2, self._rng),
                               self.threshold, self._indices, self._rng)
  end
  local layer = self:_exchange(rows, src)
  -- XOR pairs of contributions, one field_multiply per level of the tree.
  while #layer > 1 do
    local half = #layer // 2
    local xs, ys = {}, {}
    for i = 1, half do
      xs[i], ys[i] = layer[2 * i - 1], layer[2 * i]
    end
    local x, y = F:concat(xs), F:concat(ys)
    local xor = F:subtract(F:add(x, y), F:multiply(self:field_multiply(x, y), 2))
    local nextl = {}
    for i = 1, half do
      nextl[i] = xor:slice((i - 1) * total + 1, i * total)
    end
    if #layer % 2 == 1 then nextl[#nextl + 1] = layer[#layer] end
    layer = nextl
  end
  local bit_shape = #shape == 0 and {bits} or {count, bits}
  local bit_shares = layer[1]:reshape(bit_shape)
  return bit_shares, F:bit_compose(bit_shares)
end

--- The share of the number whose bits (most significant first, along the
-- last dimension) are shared in `bits`. Local.
-- @param bits a `{k}` share (gives a scalar) or an `{m, k}` share (gives an
-- `{m}` vector)
-- @return a share
-- @raise `bad argument #1 to 'bit_compose' (bits must be a vector or a matrix share)`
function M:bit_compose(bits)
  self:_check_share(bits, 1, "bit_compose")
  if bits.ndim == 0 then
    check.argerror(1, "bit_compose", "bits must be a vector or a matrix share")
  end
  return self.field:bit_compose(bits)
end

return M
