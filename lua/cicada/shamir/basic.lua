--- cicada.shamir.basic: BasicProtocolSuite, Shamir secret sharing with
-- local arithmetic on shares.
--
-- Owns the suite's construction (threshold, indices, field, encoding,
-- randomness), share and reveal, the local arithmetic, reshare, and the
-- index bookkeeping that lets a suite be rebuilt on a shrunk communicator.
-- The per-element work is one C call per array (cicada.field); this file
-- decides who sends what to whom. Users reach it through
-- `cicada.shamir.BasicProtocolSuite`; ProtocolSuite (cicada.shamir.protocol)
-- inherits every method here.
-- @module cicada.shamir.basic
local core = require("cicada.core")
local check = require("cicada.check")
local encoding = require("cicada.encoding")
local field = require("cicada.field")

local combine_modes = encoding._combine_modes

local M = {}

--- The default statistical security, in bits: a masked reveal leaks at
-- most 2^-40 (statistical distance) about the masked value.
M.DEFAULT_STATISTICAL_SECURITY = 40

--- The bits of value range above the precision, by default: encoded values
-- satisfy |x * 2^precision| < 2^(precision + 31), so |x| < 2^31.
M.DEFAULT_RANGE_BITS = 32

local Suite = {}
Suite.__index = Suite
Suite.__name = "cicada.shamir.BasicProtocolSuite"

--- The class of BasicProtocolSuite objects (metatable and methods), for
-- cicada.shamir and cicada.shamir.protocol.
-- @local
M.Suite = Suite

-- ==== Shapes ================================================================

--- A shape as it reads in messages: `{2, 3}`.
-- @tab shape a list of sizes
-- @treturn string
-- @local
function M.shape_str(shape)
  return "{" .. table.concat(shape, ", ") .. "}"
end

--- True when two shapes are equal.
-- @tab a a list of sizes
-- @tab b a list of sizes
-- @treturn bool
-- @local
function M.same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

local shape_str, same_shape = M.shape_str, M.same_shape

-- Whether array x has the given shape; a scalar's needs no shape table.
local function has_shape(x, shape)
  if #shape == 0 then return x.ndim == 0 end
  return same_shape(x.shape, shape)
end

-- Secrets of more elements than this count as large: share makes and sends
-- their rows one at a time and collects the garbage around them (a full
-- cycle costs a fraction of a millisecond, nothing against a million
-- elements' work, but would be felt by small ones).
local LARGE_ELEMENTS = 1 << 16

-- ==== Construction ==========================================================

local function check_indices(indices, n, fname)
  if type(indices) ~= "table" then
    check.argerror(2, fname, "indices must be a list, got " .. type(indices))
  end
  if #indices ~= n then
    check.argerror(2, fname, ("%d indices for %d players"):format(#indices, n))
  end
  local seen, copy = {}, {}
  for i = 1, n do
    local x = indices[i]
    if math.type(x) ~= "integer" or x == 0 then
      check.argerror(2, fname, ("index %d (%s) is not a nonzero integer"):format(i, tostring(x)))
    end
    if seen[x] then
      check.argerror(2, fname, ("indices %d and %d are the same (%d)"):format(seen[x], i, x))
    end
    seen[x] = i
    copy[i] = x
  end
  return copy
end

local function make_rng(seed, rank, fname)
  if seed == nil then
    return core.rng()
  end
  if math.type(seed) ~= "integer" and type(seed) ~= "string" then
    check.argerror(2, fname, "seed must be an integer or a string, got " .. type(seed))
  end
  return core.rng(("%s/rank/%d"):format(tostring(seed), rank))
end

--- A new suite with metatable `mt` (Suite or a class inheriting from it).
-- @string fname the constructor's name, for errors
-- @tab mt the suite's class
-- @param comm the communicator
-- @tab[opt] options `threshold`, `indices`, `seed`, `order`, `encoding`,
-- `statistical_security`, `value_bits`
-- @return the suite
-- @raise `bad argument #2 to 'fname' (...)` for a bad option
-- @local
function M.new(fname, mt, comm, options)
  if type(comm) ~= "table" and type(comm) ~= "userdata" then
    check.argerror(1, fname, "communicator expected, got " .. type(comm))
  end
  options = options or {}
  if type(options) ~= "table" then
    check.argerror(2, fname, "options table expected, got " .. type(options))
  end
  local n = comm.world_size
  local k = options.threshold
  if math.type(k) ~= "integer" then
    check.argerror(2, fname, "threshold must be an integer, got " .. tostring(k))
  end
  if k < 2 or k > n then
    local hint = ""
    if n == 1 then   -- a script run without -n: say how to get players
      hint = ("; this world has one player: start %d or more with `cicada-lua -n %d script.lua`"
              .. " or `cicada.run{world_size = %d, fn = ...}`"):format(k, k, k)
    end
    check.argerror(2, fname, ("threshold %d out of range [2, %d]%s"):format(k, n, hint))
  end
  local indices = options.indices
  if indices == nil then
    indices = {}
    for i = 1, n do indices[i] = i end
  end
  indices = check_indices(indices, n, fname)
  local ok, F = pcall(field.Field, {order = options.order or field.SUITE_ORDER})
  if not ok then
    check.argerror(2, fname, check.reason(F))
  end
  local enc = options.encoding or encoding.FixedPoint{precision = 16}
  local security = options.statistical_security
  if security == nil then security = M.DEFAULT_STATISTICAL_SECURITY end
  if math.type(security) ~= "integer" or security < 1 then
    check.argerror(2, fname, "statistical_security must be a positive integer, got "
                   .. tostring(security))
  end
  local value_bits = options.value_bits
  if value_bits == nil then
    value_bits = (math.type(enc.precision) == "integer" and enc.precision or 0)
      + M.DEFAULT_RANGE_BITS
  end
  if math.type(value_bits) ~= "integer" or value_bits < 2 then
    check.argerror(2, fname, "value_bits must be an integer >= 2, got " .. tostring(value_bits))
  end
  local self = setmetatable({
    communicator = comm,
    threshold = k,
    indices = indices,
    field = F,
    encoding = enc,
    statistical_security = security,
    value_bits = value_bits,
    _indices = F:array(indices),
    _rng = make_rng(options.seed, comm.rank, fname),
  }, mt)
  -- The field rejects indices that collide modulo its order.
  local lok, lambda = pcall(F.lagrange, F, self._indices)
  if not lok then
    check.argerror(2, fname, "indices: " .. check.reason(lambda))
  end
  self._lambda = lambda -- Lagrange weights at 0 over every player
  self._ones = F:ones{n}
  self._weights = {} -- ProtocolSuite's dealing weights, by dealer/k/target
  if mt._check_field_room then mt._check_field_room(self, fname) end
  return self
end

--- `BasicProtocolSuite(world_size=3, threshold=2)`.
-- @treturn string
function Suite:__tostring()
  return ("BasicProtocolSuite(world_size=%d, threshold=%d)"):format(
    self.communicator.world_size, self.threshold)
end

-- ==== Helpers ===============================================================

-- The metatable of field arrays, once _check_share has seen one by name.
local array_mt

-- F:_holds(x): x's number of dimensions when x is an array of field F,
-- false or nil otherwise (one C call, the check of every share); the
-- method of every field.
local holds = field.Field()._holds
local mathtype = math.type

local function holds_nothing() return nil end

-- What each call needs of the suite's communicator and field, read once
-- (every read of a C object's key is a call): the rank, the world size,
-- the methods used on every call; read again when `communicator` or
-- `field` is replaced. A field that is not a cicada.Field (a wrapper
-- around one, say) has its methods looked up on every call, as usual,
-- and `holds` finds nothing in it, which sends every check the long way.
local function fast(self)
  local c, comm, F = self._fast, self.communicator, self.field
  if c and c.comm == comm and c.F == F then return c end
  c = {
    comm = comm, F = F,
    rank = comm.rank, size = comm.world_size,
    scatterv = comm.scatterv,
    scatter_others = comm._scatter_others,
    allgather_payloads = comm._allgather_payloads,
    exchange_payloads = comm._exchange_payloads,
  }
  if pcall(holds, F) then
    c.holds = holds
    c.add, c.subtract = F.add, F.subtract
    c.share_each = F.shamir_share_each
    c.combine_payloads = F._combine_payloads
  else
    c.holds = holds_nothing
    c.add = function(f, a, b) return f:add(a, b) end
    c.subtract = function(f, a, b) return f:subtract(a, b) end
    c.share_each = function(f, ...) return f:shamir_share_each(...) end
    c.combine_payloads = function(f, ...) return f:_combine_payloads(...) end
  end
  self._fast = c
  return c
end

-- has_shape for a value that is probably an array of F: a scalar's or a
-- vector's shape checked without a shape table.
local function has_shape_of(c, x, shape)
  local d = c.holds(c.F, x)
  if d and d == #shape then
    if d == 0 then return true end
    if d == 1 then return x.size == shape[1] end
  end
  return has_shape(x, shape)
end

--- A share of this suite's field, or raise naming argument n of fname.
-- @param x the value to check
-- @int n its argument position
-- @string fname the function's name
-- @return x
-- @local
function Suite:_check_share(x, n, fname)
  local F = self.field
  if fast(self).holds(F, x) then return x end
  local mt = type(x) == "userdata" and getmetatable(x)
  if not mt or mt ~= array_mt then
    if not (mt and mt.__name == "cicada.FieldArray") then
      check.argerror(n, fname, "share (field array) expected, got " .. type(x))
    end
    array_mt = mt
  end
  if x.order ~= self.field.order then
    check.argerror(n, fname, "share of another field")
  end
  return x
end

--- The encoding enc, or the suite's when it is nil.
-- @param enc an encoding (with encode and decode) or nil
-- @int n its argument position
-- @string fname the function's name
-- @return the encoding
-- @local
function Suite:_check_encoding(enc, n, fname)
  if enc == nil then return self.encoding end
  if type(enc) ~= "table" or type(enc.encode) ~= "function" or type(enc.decode) ~= "function" then
    check.argerror(n, fname, "encoding expected (e.g. cicada.encoding.Boolean()), got " .. type(enc))
  end
  return enc
end

--- A share, or a public number or list encoded with the suite's encoding
-- (a field array with the public value at every player, which is a valid
-- share of it: the constant polynomial).
-- @param x a share, a number or a list (of rows)
-- @int n its argument position
-- @string fname the function's name
-- @return a field array
-- @return true when x was public
-- @local
function Suite:_operand(x, n, fname)
  local tx = type(x)
  if tx == "number" or tx == "table" then
    local ok, encoded = pcall(self.encoding.encode, self.encoding, x, self.field)
    if not ok then check.argerror(n, fname, check.reason(encoded)) end
    return encoded, true
  end
  if tx ~= "userdata" then
    check.argerror(n, fname, "share (field array), number or list expected, got " .. tx)
  end
  return self:_check_share(x, n, fname), false
end

--- Check the two operands of a local operation: shares of this suite whose
-- shapes are equal, or one of them a scalar (which broadcasts).
-- @param a argument 1 of fname
-- @param b argument 2 of fname
-- @string fname the operation's name
-- @raise `bad argument #2 to 'add' (shapes {3} and {4} differ)`
-- @local
function Suite:_check_operands(a, b, fname)
  local pa, pb
  a, pa = self:_operand(a, 1, fname)
  b, pb = self:_operand(b, 2, fname)
  if pa and pb then
    check.argerror(2, fname, "one operand must be a share; both are public")
  end
  if a.ndim > 0 and b.ndim > 0 and not same_shape(a.shape, b.shape) then
    check.argerror(2, fname, ("shapes %s and %s differ"):format(shape_str(a.shape), shape_str(b.shape)))
  end
  return a, b
end

-- True when a and b are shares of field F that _check_operands would pass
-- as they are (either a scalar, or vectors of one size); false sends
-- them through _check_operands, which decides.
local function same_field_shapes(c, F, a, b)
  local da, db = c.holds(F, a), c.holds(F, b)
  if not (da and db) then return false end
  if da == 0 or db == 0 then return true end
  return da == 1 and db == 1 and a.size == b.size
end

--- Reconstruct from every player's share (rank order): the Lagrange
-- combination at 0, one C call, no copies of the shares.
-- @tab shares one share per player
-- @return the secret, a field array
-- @local
function Suite:_recover(shares)
  return self.field:lincomb(self._lambda, shares)
end

-- ==== Sharing and revealing =================================================

-- Whether a share of this shape (as share's argument, maybe nil or
-- malformed) is large: then a receiver, too, collects its garbage before
-- the share arrives.
local function large_shape(shape)
  if shape == nil then return false end
  local n = 1
  for _, d in ipairs(shape) do
    if math.type(d) ~= "integer" then return false end
    n = n * d
  end
  return n > LARGE_ELEMENTS
end

-- Every rank of the suite's communicator but src, in order: made once
-- per source and kept.
local function others_of(self, src)
  local lists = self._others_of
  if not lists then
    lists = {}
    self._others_of = lists
  end
  local others = lists[src]
  if not others then
    others = {}
    for r = 0, self.communicator.world_size - 1 do
      if r ~= src then others[#others + 1] = r end
    end
    lists[src] = others
  end
  return others
end

--- Share a secret held by one player.
-- Every player calls it; only `src` passes the secret.
-- @int src the rank holding the secret
-- @param secret a number, a list, a list of rows or a field array at `src`;
-- nil elsewhere
-- @tab[opt] shape the secret's shape (`{}` scalar, `{n}`, `{m, n}`), checked
-- @param[opt] enc the encoding of this secret (default: the suite's), e.g.
-- `cicada.encoding.Boolean()`; only `src` uses it
-- @return this player's share, a field array shaped like the secret
-- @raise `bad argument #n to 'share' (...)`
function Suite:share(src, secret, shape, enc)
  local comm = self.communicator
  local c = fast(self)
  if mathtype(src) ~= "integer" or src < 0 or src >= c.size then
    check.rank(comm, src, 1, "share")
  end
  if shape ~= nil and type(shape) ~= "table" then
    check.argerror(3, "share", "shape must be a list of sizes, got " .. type(shape))
  end
  if enc == nil then
    enc = self.encoding
  else
    enc = self:_check_encoding(enc, 4, "share")
  end
  local rows, large
  if c.rank == src then
    if secret == nil then
      check.argerror(2, "share", ("secret is required at the source, player %d"):format(src))
    end
    local F = self.field
    local value
    if type(secret) == "userdata" then
      value = self:_check_share(secret, 2, "share")
    else
      local ok, encoded = pcall(enc.encode, enc, secret, F)
      if not ok then check.argerror(2, "share", check.reason(encoded)) end
      value = encoded
    end
    if shape ~= nil and not has_shape_of(c, value, shape) then
      check.argerror(3, "share", ("secret has shape %s, not %s"):format(
        shape_str(value.shape), shape_str(shape)))
    end
    if value.size > LARGE_ELEMENTS then
      -- A large secret: one player's row at a time (below), each from the
      -- same polynomials, whose coefficients a stream seeded here draws
      -- again for each row; and the garbage collected first, so that the
      -- rows take the room of what the caller dropped.
      collectgarbage()
      large = {value = value, seed = self._rng:bytes(32)}
    else
      rows = c.share_each(F, value, self.threshold, self._indices, self._rng)
    end
  end
  -- The source keeps its own share: only the others' travel (and are
  -- encoded), which saves a copy of the whole array at the source. A
  -- communicator of the engine sends a row to every player but the source
  -- in one call (_scatter_others); with any other, and for a large
  -- secret, the list of the others (made once per source and kept) goes
  -- to scatterv. Either way the messages are those of one scatterv.
  local scatter_others = c.scatter_others
  local share
  if large then
    -- Each receiver gets its one message as from a single scatterv. A
    -- message is a row's encoding, written block by block straight into
    -- the bytes that travel (no row array, no encoded copy of it). One
    -- message's room serves each receiver in turn: the next row is written
    -- into it once the last has left (msg:wait), and the source's own row
    -- is made once the last message is gone. So the source holds one row
    -- on top of the secret at any time, however fast the rows leave.
    local F, k = self.field, self.threshold
    local msg
    for _, r in ipairs(others_of(self, src)) do
      if msg then msg:wait() end
      msg = F:shamir_share_message(large.value, k, self._indices, r + 1, core.rng(large.seed), msg)
      comm:scatterv(src, {msg}, {r})
    end
    if msg then
      msg:wait()
      msg:free()
    end
    share = F:shamir_share_row(large.value, k, self._indices, src + 1, core.rng(large.seed))
    large = nil -- luacheck: ignore 311
  elseif c.rank == src then
    if scatter_others then
      scatter_others(comm, src, rows)
    else
      local others, values = others_of(self, src), {}
      for i = 1, #others do values[i] = rows[others[i] + 1] end
      c.scatterv(comm, src, values, others)
    end
    share = rows[src + 1]
  else
    -- A large share (its shape says so): what the caller dropped (e.g.
    -- the secret of its own earlier large sharing) is collected first, as
    -- at the source, so that its room is free before the share's message
    -- and its decoded array are made.
    if shape ~= nil and shape[1] ~= nil and large_shape(shape) then collectgarbage() end
    if scatter_others then
      share = scatter_others(comm, src)
    else
      share = c.scatterv(comm, src, nil, others_of(self, src))
    end
  end
  if shape ~= nil and not has_shape_of(c, share, shape) then
    check.error(("share from player %d has shape %s, expected %s"):format(
      src, shape_str(share.shape), shape_str(shape)))
  end
  return share
end

local function check_dst(comm, dst)
  if type(dst) ~= "table" then
    check.argerror(2, "reveal", "dst must be a list of ranks, got " .. type(dst))
  end
  return check.rank_list(comm, dst, 2, "reveal")
end

-- Communicators at least this big relay their allgather in log2(n) rounds
-- (engine/comm/collective.c): a reveal to every player is then an
-- allgather, fewer messages than the direct exchange's n - 1 per player.
local RELAYED_SIZE = 8

-- Whether receiver d combines the share of player s: s is d or one of its
-- threshold - 1 predecessors in rank order (wrapping), as in MPyC's output.
local function combines(d, s, n, k)
  return (d - s) % n < k
end

-- The reveal's messages at this player, for the receivers listed in
-- `receives` (rank -> true; nil for every player): the ranks its share goes
-- to (the receivers that combine it), those that get an empty message
-- instead (every other receiver, so that each receiver waits on every
-- player, as over an allgather), and, when it receives, the ranks whose
-- shares it combines (its own and its predecessors', in rank order), the
-- ranks it gets an empty message from, and the Lagrange weights at 0 of
-- the shares it combines.
local function reveal_plan(self, c, receives)
  local n, k, me = c.size, self.threshold, c.rank
  local to, notify, from, await = {}, {}, {}, {}
  local plan = {}
  for d = 0, n - 1 do
    if d ~= me and (receives == nil or receives[d]) then
      local list = combines(d, me, n, k) and to or notify
      list[#list + 1] = d
    end
  end
  if receives == nil or receives[me] then
    local xs = {}
    for s = 0, n - 1 do
      if combines(me, s, n, k) then
        from[#from + 1] = s
        xs[#xs + 1] = self.indices[s + 1]
      else
        await[#await + 1] = s
      end
    end
    plan.weights = c.F:lagrange(c.F:array(xs))
  end
  plan.lists = c.comm:_exchange_plan(to, from, notify, await)
  return plan
end

--- Reveal a shared secret.
-- Every player calls it with its share. Each receiver combines `threshold`
-- shares, its own and those of the `threshold - 1` players before it in
-- rank order, so the share must have degree below the threshold, as the
-- result of every suite operation has (a local product of two shares,
-- `p.field:multiply(a, b)`, has not). A player that is gone makes the
-- reveal raise at every receiver.
-- @param share this player's share
-- @tab[opt] dst the ranks that learn the secret (default: every player)
-- @param[opt] enc the encoding to decode with (default: the suite's), e.g.
-- `cicada.encoding.Boolean()` for the result of a comparison
-- @return the decoded secret at the players in `dst`, nil elsewhere
-- @raise `bad argument #n to 'reveal' (...)`
function Suite:reveal(share, dst, enc)
  local comm, F, c = self.communicator, self.field, fast(self)
  if not c.holds(F, share) then self:_check_share(share, 1, "reveal") end
  if enc == nil then
    enc = self.encoding
  else
    enc = self:_check_encoding(enc, 3, "reveal")
  end
  local exchange_payloads = c.exchange_payloads
  if exchange_payloads == nil then
    return self:_reveal_values(share, dst, enc)
  end
  -- Each receiver combines threshold shares, its own and those of its
  -- threshold - 1 predecessors (a share has degree < threshold), so each
  -- share travels only to the receivers that combine it; the others get an
  -- empty message, which makes the reveal fail at every receiver wherever a
  -- player is gone, as an allgather did. The shares stay the bytes they
  -- came as: one C call reads them, checks them, combines them and (for the
  -- encodings it knows) decodes the secret, without a field array per
  -- share.
  local payloads, weights
  if dst == nil then
    local plan = c.reveal_plan
    if not plan or plan.k ~= self.threshold then
      plan = reveal_plan(self, c, nil)
      plan.k = self.threshold
      plan.relayed = c.size >= RELAYED_SIZE
      c.reveal_plan = plan
    end
    if plan.relayed then
      payloads, weights = c.allgather_payloads(comm, share), self._lambda
    else
      payloads, weights = exchange_payloads(comm, share, plan.lists), plan.weights
    end
  else
    local plan = reveal_plan(self, c, check_dst(comm, dst))
    payloads = exchange_payloads(comm, share, plan.lists)
    if plan.weights == nil then return nil end
    weights = plan.weights
  end
  local combine = c.combine_payloads
  local mode = combine_modes[enc.decode]
  if mode == "fixed" then
    local precision = enc.precision
    if mathtype(precision) == "integer" and precision >= 0 and precision <= 62 then
      return combine(F, weights, payloads, "fixed", precision)
    end
  elseif mode then
    return combine(F, weights, payloads, mode)
  end
  return enc:decode(combine(F, weights, payloads), F)
end

--- reveal through a communicator without `_exchange_payloads` (one
-- written in Lua, say): the shares as field arrays, combined, decoded.
-- @local
function Suite:_reveal_values(share, dst, enc)
  local comm = self.communicator
  local shares
  if dst == nil then
    shares = comm:allgather(share)
  else
    check_dst(comm, dst)
    for _, d in ipairs(dst) do
      local got = comm:gatherv(comm.ranks, share, d)
      if d == comm.rank then shares = got end
    end
  end
  if shares == nil then
    return nil
  end
  local secret = self:_recover(shares)
  return enc:decode(secret, self.field)
end

-- ==== Arithmetic on shares ==================================================

--- The share of a + b (local).
-- Either operand may be public: a number or a list (of rows), encoded with
-- the suite's encoding.
-- @param a a share
-- @param b a share of the same shape, or a scalar share (which broadcasts)
-- @return a share
-- @raise `bad argument #2 to 'add' (shapes {3} and {4} differ)`
function Suite:add(a, b)
  local F, c = self.field, fast(self)
  if not same_field_shapes(c, F, a, b) then
    a, b = self:_check_operands(a, b, "add")
  end
  return c.add(F, a, b)
end

--- The share of a - b (local).
-- Either operand may be public, as for add.
-- @param a a share
-- @param b a share of the same shape, or a scalar share (which broadcasts)
-- @return a share
function Suite:subtract(a, b)
  local F, c = self.field, fast(self)
  if not same_field_shapes(c, F, a, b) then
    a, b = self:_check_operands(a, b, "subtract")
  end
  return c.subtract(F, a, b)
end

--- The share of -a (local).
-- @param a a share
-- @return a share
function Suite:negative(a)
  self:_check_share(a, 1, "negative")
  return self.field:negative(a)
end

--- The share of the sum of a shared array's elements (local).
-- @param a a share
-- @return a 0-d share
function Suite:sum(a)
  self:_check_share(a, 1, "sum")
  return self.field:sum(a)
end

--- A fresh share of the same secret: every player shares its share with a
-- new random polynomial; each combines what it receives with the Lagrange
-- weights at 0. Old and new shares are unrelated polynomials. One round.
-- @param share this player's share
-- @return this player's new share
function Suite:reshare(share)
  local comm = self.communicator
  local F = self.field
  self:_check_share(share, 1, "reshare")
  local mine = F:shamir_share_each(share, self.threshold, self._indices, self._rng)
  local received = {}
  for src = 0, comm.world_size - 1 do
    received[src + 1] = comm:scatter(src, src == comm.rank and mine or nil)
  end
  return self:_recover(received)
end

--- The indices for a suite rebuilt on a shrunk communicator, so that the
-- survivors keep their x-coordinates and old shares stay valid:
--     BasicProtocolSuite(newcomm, {threshold = k, indices = p:indices_for(oldranks)})
-- @tab oldranks `oldranks[i]` is the old (0-based) rank of new rank i - 1,
-- as returned by `comm:shrink`
-- @treturn {int,...} the indices
-- @raise `bad argument #1 to 'indices_for' (rank 3 out of range [0, 3))`
function Suite:indices_for(oldranks)
  if type(oldranks) ~= "table" then
    check.argerror(1, "indices_for", "list of ranks expected, got " .. type(oldranks))
  end
  local out = {}
  for i, r in ipairs(oldranks) do
    if math.type(r) ~= "integer" or r < 0 or r >= #self.indices then
      check.argerror(1, "indices_for", ("rank %s out of range [0, %d)"):format(
        tostring(r), #self.indices))
    end
    out[i] = self.indices[r + 1]
  end
  return out
end

-- ==== Failures named by the operation =========================================

-- The error kinds of communication, which name a peer.
local communication_kinds = {peer_failed = true, timeout = true, revoked = true}

-- The error to raise for err, raised by operation op: a communication
-- error is renamed for op; any other passes through untouched.
local function rename_failure(op, err)
  if type(err) == "table" and communication_kinds[err.kind] and type(err.message) == "string" then
    -- "Tag ALLGATHER from player 2 failed: ..." -> "player 2 failed: ...";
    -- kept from the innermost call, so that the outermost names it.
    err.cause = err.cause or (err.message:gsub("^Tag %S+ %a+ (player %d+)", "%1"))
    err.operation = op
    err.message = op .. ": " .. err.cause
  end
  return err
end

--- Make the public methods of a suite class (names not starting with `_`)
-- raise communication errors that name the operation the user called and
-- the peer, `reveal: player 2 failed: connection closed`, rather than the
-- library's internal tags. The error keeps its kind, peer, tag and comm;
-- it gains `operation` (`"reveal"`) and `cause` (the message without it).
-- Other errors pass through untouched. Each method is wrapped in one C
-- function (`core._name_failures`) whose protected call costs little on
-- the way through; the renaming runs only when an error comes out.
-- @tab class the class table
-- @tab names the method names to wrap
-- @local
function M.name_failures(class, names)
  for _, name in ipairs(names) do
    class[name] = core._name_failures(class[name], name, rename_failure)
  end
end

--- The public methods of a class (names not starting with `_`), sorted.
-- @tab class the class table
-- @treturn {string,...} the names
-- @local
function M.public_methods(class)
  local names = {}
  for name, v in pairs(class) do
    if type(v) == "function" and name:sub(1, 1) ~= "_" then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

M.name_failures(Suite, M.public_methods(Suite))

return M
