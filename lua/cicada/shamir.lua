--- cicada.shamir: Shamir secret sharing protocol suites.
--
-- Owns BasicProtocolSuite (share, reveal, local arithmetic on shares,
-- reshare, and the index bookkeeping that lets a suite be rebuilt on a
-- shrunk communicator) and ProtocolSuite (the same plus multiplication and
-- what is built on it). The per-element work is one C call per array
-- (cicada.field); this file decides who sends what to whom.
--
--     local p = shamir.BasicProtocolSuite(comm, {threshold=2})
--     local a = p:share(0, comm.rank == 0 and 3.5 or nil, {})
--     local b = p:share(1, comm.rank == 1 and {1, 2} or nil, {2})
--     p:reveal(p:add(a, b))                --> {4.5, 5.5} at every player
--
-- Options: `threshold` k (2 <= k <= comm.world_size): any k players can
-- reveal, fewer learn nothing; `indices`: one distinct nonzero integer
-- x-coordinate per rank (default 1..n); `seed`: makes the suite's randomness
-- reproducible (combined with comm.rank so players differ; without it the
-- OpenSSL CSPRNG is used); `order`: the field order (default 2^64-59);
-- `encoding`: default cicada.encoding.FixedPoint{precision=16}.
--
-- Shares are field arrays with the shape of the secret. Rebuild the suite
-- after comm:shrink with
--     shamir.BasicProtocolSuite(newcomm, {threshold=k,
--                                         indices=p:indices_for(oldranks)})
-- so that the survivors keep their x-coordinates and old shares stay valid.
--
-- ## ProtocolSuite
--
-- Semi-honest security with an honest majority: the product of two shares
-- has degree 2t-2, so every multiplication needs 2t - 1 <= n (t the
-- threshold, n the players; checked with an error naming the limit). Every
-- operation is a collective: all players call it with shares of the same
-- shape. Arrays are processed CHUNK_ELEMENTS at a time, so a million
-- elements need a few MB of temporaries.
--
-- When players deal shares to each other in these operations, the shares
-- that a pair's ChaCha20 stream can make are drawn on both sides instead of
-- sent (see "Dealing" below); the streams' seeds travel once, in the suite's
-- first operation that deals. A suite whose operation failed half-way (a
-- player died) has streams out of step: rebuild it on the shrunk
-- communicator, as the fault-tolerance pattern does anyway.
--
--     p:field_multiply(a, b)       element-wise product in the field; the
--                                  degree 2t-2 product is reduced by
--                                  resharing (each player shares its product
--                                  share with degree t-1, each combines the
--                                  sub-shares with the Lagrange weights at 0).
--                                  One round.
--     p:untruncated_multiply(a, b) the same on fixed-point shares: 2f
--                                  fraction bits; p:truncate brings them back
--     p:truncate(a [, bits])       a / 2^bits (default: the precision f)
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
--                                  field_multiply or multiply); a negative or
--                                  fractional e raises an error
--     p:multiplicative_inverse(a)  field inverse: reveal u = a * r for a
--                                  random shared r, return u^-1 * r. A shared
--                                  zero has no inverse: every player raises
--                                  "multiplicative_inverse: element i of the
--                                  secret is zero and has no inverse" (this
--                                  reveals that the element is zero, nothing
--                                  else); a zero mask (chance 1/p) is retried
--     p:random_bitwise_secret{bits=, shape=, src=}
--                                  shares of random bits and of their value
--                                  (bits XORed over the players in src)
--     p:bit_compose(bits)          the value of shared bits (local)
--
-- ## Truncation
--
-- p:truncate and the fixed-point products use probabilistic truncation by
-- a statistical mask (TruncPr of Catrina and Saxena, FC 2010), with the
-- random mask summed from one contribution per player instead of composed
-- from shared random bits: every player draws u_i uniform in
-- [0, 2^mask_bits) and shares u_i (with the degree of the value) and
-- floor(u_i / 2^bits) (degree t-1); the players reveal
-- c = x + 2^(L-2) + sum u_i (2^L <= p) and take
--     floor(c / 2^bits) - 2^(L-2-bits) - sum floor(u_i / 2^bits) - (m-1)/2
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
-- on x, and mask_bits = L - 1 - ceil(log2 m) is 60 for 3 players in the
-- default field (59 for 4 or 5): a product of magnitude 1 (2^32 before
-- truncation, precision 16) is hidden to 2^-28, one of magnitude 2^10 to
-- 2^-18. A 64-bit field leaves no room for the usual 40 bits of
-- statistical security at useful ranges. Values must satisfy
-- |x| < 2^(L-2) (2^61 in the default field: |a * b| < 2^29 for precision
-- 16) or the result is wrong; nothing checks this (it would need a
-- comparison).
local core = require("cicada.core")
local encoding = require("cicada.encoding")
local field = require("cicada.field")

local M = {}

local Suite = {}
Suite.__index = Suite
Suite.__name = "cicada.shamir.BasicProtocolSuite"

local function argerror(n, fname, msg, level)
  error(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), (level or 2) + 1)
end

-- ==== Construction ========================================================

local function check_indices(indices, n, fname)
  if type(indices) ~= "table" then
    argerror(2, fname, "indices must be a list, got " .. type(indices), 3)
  end
  if #indices ~= n then
    argerror(2, fname, string.format(
      "%d indices for %d players", #indices, n), 3)
  end
  local seen, copy = {}, {}
  for i = 1, n do
    local x = indices[i]
    if math.type(x) ~= "integer" or x == 0 then
      argerror(2, fname, string.format(
        "index %d (%s) is not a nonzero integer", i, tostring(x)), 3)
    end
    if seen[x] then
      argerror(2, fname, string.format(
        "indices %d and %d are the same (%d)", seen[x], i, x), 3)
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
    argerror(2, fname, "seed must be an integer or a string, got "
             .. type(seed), 4)
  end
  return core.rng(string.format("%s/rank/%d", tostring(seed), rank))
end

-- A suite with metatable mt; fname names the constructor in errors.
local function construct(fname, mt, comm, options)
  if type(comm) ~= "table" and type(comm) ~= "userdata" then
    argerror(1, fname, "communicator expected, got " .. type(comm))
  end
  options = options or {}
  if type(options) ~= "table" then
    argerror(2, fname, "options table expected, got " .. type(options))
  end
  local n = comm.world_size
  local k = options.threshold
  if math.type(k) ~= "integer" then
    argerror(2, fname, "threshold must be an integer, got " .. tostring(k))
  end
  if k < 2 or k > n then
    argerror(2, fname, string.format(
      "threshold %d out of range [2, %d]", k, n))
  end
  local indices = options.indices
  if indices == nil then
    indices = {}
    for i = 1, n do indices[i] = i end
  end
  indices = check_indices(indices, n, fname)
  local ok, F = pcall(field.Field, {order = options.order})
  if not ok then
    argerror(2, fname, (tostring(F):gsub("^.-%((.*)%)$", "%1")))
  end
  local self = setmetatable({
    communicator = comm,
    threshold = k,
    indices = indices,
    field = F,
    encoding = options.encoding or encoding.FixedPoint{precision = 16},
    _indices = F:array(indices),
    _rng = make_rng(options.seed, comm.rank, fname),
  }, mt)
  -- The field rejects indices that collide modulo its order.
  local lok, lambda = pcall(F.lagrange, F, self._indices)
  if not lok then
    argerror(2, fname, "indices: " .. tostring(lambda):gsub("^.-%((.*)%)$", "%1"))
  end
  self._lambda = lambda -- Lagrange weights at 0 over every player
  self._ones = F:ones{n}
  self._weights = {} -- ProtocolSuite's dealing weights, by dealer/k/target
  return self
end

--- BasicProtocolSuite(comm, {threshold=, indices=, seed=, order=, encoding=})
function M.BasicProtocolSuite(comm, options)
  return construct("BasicProtocolSuite", Suite, comm, options)
end

function Suite:__tostring()
  return string.format("BasicProtocolSuite(world_size=%d, threshold=%d)",
                       self.communicator.world_size, self.threshold)
end

-- ==== Helpers =============================================================

local function check_rank(comm, r, n, fname)
  if math.type(r) ~= "integer" or r < 0 or r >= comm.world_size then
    argerror(n, fname, string.format("rank %s out of range [0, %d)",
                                     tostring(r), comm.world_size), 3)
  end
  return r
end

-- A share of this suite's field, or raise naming argument n of fname.
function Suite:_check_share(x, n, fname)
  local a = type(x) == "userdata" and getmetatable(x) and getmetatable(x).__name
  if a ~= "cicada.FieldArray" then
    argerror(n, fname, "share (field array) expected, got " .. type(x), 3)
  end
  if x.order ~= self.field.order then
    argerror(n, fname, "share of another field", 3)
  end
  return x
end

local function shape_str(shape)
  return "{" .. table.concat(shape, ", ") .. "}"
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- Reconstruct from every player's share (rank order): the Lagrange
-- combination at 0, one C call, no copies of the shares.
function Suite:_recover(shares)
  return self.field:lincomb(self._lambda, shares)
end

-- ==== Sharing and revealing ===============================================

--- p:share(src, secret, shape): secret (number, list or field array) at
-- src only; returns this player's share, shaped like the secret.
function Suite:share(src, secret, shape)
  local comm = self.communicator
  check_rank(comm, src, 1, "share")
  if shape ~= nil and type(shape) ~= "table" then
    argerror(3, "share", "shape must be a list of sizes, got " .. type(shape))
  end
  local rows
  if comm.rank == src then
    if secret == nil then
      argerror(2, "share", string.format("secret is required at the source, player %d", src))
    end
    local F = self.field
    local value
    if type(secret) == "userdata" then
      value = self:_check_share(secret, 2, "share")
    else
      value = self.encoding:encode(secret, F)
    end
    if shape ~= nil and not same_shape(value.shape, shape) then
      argerror(3, "share", string.format("secret has shape %s, not %s",
                                         shape_str(value.shape), shape_str(shape)))
    end
    rows = F:shamir_share_each(value, self.threshold, self._indices, self._rng)
  end
  -- The source keeps its own share: only the others' travel (and are
  -- encoded), which saves a copy of the whole array at the source.
  local others = {}
  for r = 0, comm.world_size - 1 do
    if r ~= src then others[#others + 1] = r end
  end
  local share
  if comm.rank == src then
    local values = {}
    for i, r in ipairs(others) do values[i] = rows[r + 1] end
    comm:scatterv(src, values, others)
    share = rows[src + 1]
  else
    share = comm:scatterv(src, nil, others)
  end
  if shape ~= nil and not same_shape(share.shape, shape) then
    error(string.format("share from player %d has shape %s, expected %s",
                        src, shape_str(share.shape), shape_str(shape)), 2)
  end
  return share
end

local function check_dst(comm, dst)
  if type(dst) ~= "table" then
    argerror(2, "reveal", "dst must be a list of ranks, got " .. type(dst), 3)
  end
  local seen = {}
  for i, r in ipairs(dst) do
    if math.type(r) ~= "integer" or r < 0 or r >= comm.world_size then
      argerror(2, "reveal", string.format("rank %s out of range [0, %d)",
                                          tostring(r), comm.world_size), 3)
    end
    if seen[r] then
      argerror(2, "reveal", string.format("rank %d appears twice", r), 3)
    end
    seen[r] = i
  end
  return dst
end

--- p:reveal(share, dst): the decoded secret at the players in dst (every
-- player when dst is nil), nil elsewhere.
function Suite:reveal(share, dst)
  local comm = self.communicator
  self:_check_share(share, 1, "reveal")
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
  return self.encoding:decode(secret, self.field)
end

-- ==== Arithmetic on shares ================================================

function Suite:add(a, b)
  self:_check_share(a, 1, "add")
  self:_check_share(b, 2, "add")
  return self.field:add(a, b)
end

function Suite:subtract(a, b)
  self:_check_share(a, 1, "subtract")
  self:_check_share(b, 2, "subtract")
  return self.field:subtract(a, b)
end

function Suite:negative(a)
  self:_check_share(a, 1, "negative")
  return self.field:negative(a)
end

--- The share of the sum of a shared array's elements (a 0-d share).
function Suite:sum(a)
  self:_check_share(a, 1, "sum")
  return self.field:sum(a)
end

--- A fresh share of the same secret: every player shares its share with a
-- new random polynomial; each combines what it receives with the Lagrange
-- weights at 0. Old and new shares are unrelated polynomials.
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

--- The indices for a suite rebuilt on a shrunk communicator: oldranks[i]
-- is the old (0-based) rank of new rank i - 1, as returned by shrink.
function Suite:indices_for(oldranks)
  if type(oldranks) ~= "table" then
    argerror(1, "indices_for", "list of ranks expected, got " .. type(oldranks))
  end
  local out = {}
  for i, r in ipairs(oldranks) do
    if math.type(r) ~= "integer" or r < 0 or r >= #self.indices then
      argerror(1, "indices_for", string.format("rank %s out of range [0, %d)",
                                               tostring(r), #self.indices))
    end
    out[i] = self.indices[r + 1]
  end
  return out
end


-- ==== ProtocolSuite =========================================================

local ProtocolSuite = setmetatable({}, {__index = Suite})
ProtocolSuite.__index = ProtocolSuite
ProtocolSuite.__name = "cicada.shamir.ProtocolSuite"

-- The operations that communicate work on at most this many elements per
-- round, so that their temporaries stay a few MB whatever the array size.
local CHUNK_ELEMENTS = 1 << 16

-- Library tag of the suite's all-to-all rounds.
local TAG = core.tags.RESHARE

--- ProtocolSuite(comm, {threshold=, indices=, seed=, order=, encoding=}):
-- the basic suite plus multiplication and what is built on it.
function M.ProtocolSuite(comm, options)
  return construct("ProtocolSuite", ProtocolSuite, comm, options)
end

function ProtocolSuite:__tostring()
  return string.format("ProtocolSuite(world_size=%d, threshold=%d)",
                       self.communicator.world_size, self.threshold)
end

-- ---- Checks -------------------------------------------------------------------

-- Two shares of this suite with the same shape.
function ProtocolSuite:_check_pair(a, b, fname)
  self:_check_share(a, 1, fname)
  self:_check_share(b, 2, fname)
  local sa, sb = a.shape, b.shape
  if not same_shape(sa, sb) then
    argerror(2, fname, string.format("shapes %s and %s differ",
                                     shape_str(sa), shape_str(sb)), 2)
  end
end

-- Products of two degree t-1 polynomials have degree 2t-2: 2t-1 players
-- must hold a point of them.
function ProtocolSuite:_check_multiplication(fname)
  local t, n = self.threshold, self.communicator.world_size
  if 2 * t - 1 > n then
    error(string.format("%s: threshold %d is too high for multiplication among %d "
                        .. "players (it needs 2 * threshold - 1 <= %d, so threshold <= %d)",
                        fname, t, n, n, (n + 1) // 2), 3)
  end
end

-- The fraction bits of the suite's fixed-point encoding.
function ProtocolSuite:_precision(fname)
  local precision = self.encoding.precision
  if math.type(precision) ~= "integer" then
    error(string.format("%s needs a fixed-point encoding, not %s; use field_multiply",
                        fname, tostring(self.encoding)), 3)
  end
  return precision
end

local function check_exponent(e, fname)
  local i = math.type(e) and math.tointeger(e)
  if i == nil or i < 0 then
    argerror(2, fname, "exponent must be a non-negative integer, got " .. tostring(e), 2)
  end
  return i
end

-- ---- Rounds -------------------------------------------------------------------

-- One round in which every player in senders (default: all) sends
-- rows[j + 1] to each other player j; returns what this player received
-- from each sender, in the order of senders (its own row where it is one).
function ProtocolSuite:_exchange(rows, senders)
  local comm = self.communicator
  local me, n = comm.rank, comm.world_size
  if rows then
    for j = 0, n - 1 do
      if j ~= me then comm:_lib_send(rows[j + 1], j, TAG) end
    end
  end
  local got = {}
  if senders == nil then
    for j = 0, n - 1 do
      got[j + 1] = j == me and rows[j + 1] or comm:_lib_recv(j, TAG)
    end
  else
    for i, j in ipairs(senders) do
      got[i] = j == me and rows[j + 1] or comm:_lib_recv(j, TAG)
    end
  end
  return got
end

-- The public value of a 1-D share of degree < world_size, as a field array.
function ProtocolSuite:_open(share)
  return self.field:lincomb(self._lambda, self.communicator:allgather(share))
end

-- fn applied to consecutive chunks (1-D slices of at most CHUNK_ELEMENTS
-- elements, row-major) of the arrays, which have the same size; the results
-- concatenated into an array of the given shape.
function ProtocolSuite:_chunked(arrays, shape, fn)
  local n = arrays[1].size
  local parts = {}
  local first = 1
  repeat
    local last = math.min(first + CHUNK_ELEMENTS - 1, n)
    -- Arrays of several chunks: collect the garbage (earlier chunks'
    -- temporaries, megabytes each) before making more, so that the peak
    -- stays near the live data. A full cycle visits few objects here (an
    -- array is one), a fraction of a millisecond against a chunk's work.
    if n > CHUNK_ELEMENTS then collectgarbage() end
    if #arrays == 1 then
      parts[#parts + 1] = fn(arrays[1]:slice(first, last))
    else
      parts[#parts + 1] = fn(arrays[1]:slice(first, last), arrays[2]:slice(first, last))
    end
    first = last + 1
  until first > n
  return self.field:concat(parts, shape)
end

-- ---- Dealing ------------------------------------------------------------------
--
-- In the suite's rounds every player deals secrets to every player. A
-- degree k - 1 polynomial is fixed by its value at 0 (the secret) and k - 1
-- more points, so the shares of the k - 1 players after the dealer (ranks
-- dealer + 1 ... dealer + k - 1, cyclically) are drawn from a ChaCha20
-- stream that only the dealer and that player know, and are never sent; the
-- dealer computes the other shares by Lagrange interpolation and sends only
-- those. The polynomial is as random as one with random coefficients, and a
-- player's pseudo-random share is known to nobody but the two. With 3
-- players and threshold 2 a multiplication's masks then travel as one
-- array per player instead of four.

-- Per-pair streams, made at the suite's first dealing (one round): each
-- player sends every other player a fresh 32-byte seed from the suite's
-- random stream; out[j + 1] makes the shares this player deals to j,
-- from[j + 1] the shares that j deals to this player.
function ProtocolSuite:_pair_streams()
  local streams = self._streams
  if streams then return streams end
  local comm = self.communicator
  local seeds = {}
  for j = 0, comm.world_size - 1 do
    seeds[j + 1] = j == comm.rank and "" or self._rng:bytes(32)
  end
  local got = self:_exchange(seeds)
  streams = {out = {}, from = {}}
  for j = 0, comm.world_size - 1 do
    if j ~= comm.rank then
      streams.out[j + 1] = core.rng(seeds[j + 1])
      streams.from[j + 1] = core.rng(got[j + 1])
    end
  end
  self._streams = streams
  return streams
end

-- True when rank's share of a degree k - 1 polynomial dealt by dealer is
-- drawn from their pair's stream.
local function drawn(dealer, rank, k, n)
  local after = (rank - dealer) % n
  return after >= 1 and after <= k - 1
end

-- The weights that give, from the secret and the k - 1 drawn shares (in
-- rank order after the dealer), the share of target: Lagrange weights at 0
-- of the points {0, x_q...} shifted by -x_target.
function ProtocolSuite:_deal_weights(dealer, k, target)
  local key = dealer .. "/" .. k .. "/" .. target
  local w = self._weights[key]
  if w == nil then
    local F, n = self.field, self.communicator.world_size
    local points = {0}
    for d = 1, k - 1 do points[d + 1] = self.indices[(dealer + d) % n + 1] end
    w = F:lagrange(F:subtract(F:array(points), self.indices[target + 1]))
    self._weights[key] = w
  end
  return w
end

-- One round: this player deals its secrets (1-D arrays of one size; secret
-- i with threshold ks[i]) and receives every player's. Returns got, where
-- got[j + 1][i] is this player's share of player j's secret i.
function ProtocolSuite:_deal(secrets, ks)
  local F, comm = self.field, self.communicator
  local n, me = comm.world_size, comm.rank
  local streams = self:_pair_streams()
  local size = secrets[1].size
  local outbox, mine = {}, {}
  for j = 1, n do outbox[j] = {} end
  for i, secret in ipairs(secrets) do
    local k = ks[i]
    local terms = {secret}
    for d = 1, k - 1 do
      terms[d + 1] = F:uniform({size}, streams.out[(me + d) % n + 1])
    end
    for m = 0, n - 1 do
      if not drawn(me, m, k, n) then
        local share = k == 1 and secret or F:lincomb(self:_deal_weights(me, k, m), terms)
        if m == me then
          mine[i] = share
        else
          local box = outbox[m + 1]
          box[#box + 1] = share
        end
      end
    end
  end
  for m = 0, n - 1 do
    if m ~= me and #outbox[m + 1] > 0 then comm:_lib_send(outbox[m + 1], m, TAG) end
  end
  local got = {}
  for j = 0, n - 1 do
    if j == me then
      got[j + 1] = mine
    else
      local shares, box, at = {}, nil, 0
      for i = 1, #secrets do
        if drawn(j, me, ks[i], n) then
          shares[i] = F:uniform({size}, streams.from[j + 1])
        else
          box = box or comm:_lib_recv(j, TAG)
          at = at + 1
          shares[i] = box[at]
        end
      end
      got[j + 1] = shares
    end
  end
  return got
end

-- The i-th share from every dealer in got (as returned by _deal).
local function column(got, i)
  local out = {}
  for j, shares in ipairs(got) do out[j] = shares[i] end
  return out
end

-- Shares of uniformly random field elements, n of them (1-D): the sum of
-- one secret contribution from every player. One round.
function ProtocolSuite:_random_field(n)
  local F = self.field
  local got = self:_deal({F:uniform({n}, self._rng)}, {self.threshold})
  return F:lincomb(self._ones, column(got, 1))
end

-- Degree reduction of a 1-D chunk h of degree 2t-2 shares: every player
-- shares its share with degree t-1; the Lagrange combination (weights at 0
-- over every player's index) of the sub-shares is a degree t-1 share of the
-- same secret. One round.
function ProtocolSuite:_reduce(h)
  local got = self:_deal({h}, {self.threshold})
  return self.field:lincomb(self._lambda, column(got, 1))
end

-- ---- Truncation ---------------------------------------------------------------

-- The public parameters for truncating `bits` bits among n players:
--   uniforms    number of mask contributions (odd: n, or n + 1 with player
--               0 giving two), so that their carry averages an integer;
--   bound       each contribution is uniform in [0, bound = 2^mask_bits);
--   shift       2^(L-2) with 2^L <= p, added so that the masked value is
--               non-negative; values must satisfy |x| < shift;
--   correction  shift / 2^bits + (uniforms - 1) / 2, subtracted at the end.
-- With c < 2^(L-1) + uniforms * 2^mask_bits <= 2^L the masked value never
-- wraps around p.
function ProtocolSuite:_truncation_params(bits, fname)
  local n = self.communicator.world_size
  local uniforms = n % 2 == 1 and n or n + 1
  local L = self.field.bits - 1
  local log2u = 0
  while (1 << log2u) < uniforms do log2u = log2u + 1 end
  local mask_bits = L - 1 - log2u
  if bits >= mask_bits or bits > L - 2 then
    error(string.format("%s: the field (%d bits) is too small to truncate %d bits "
                        .. "among %d players", fname, self.field.bits, bits, n), 4)
  end
  local shift = 1 << (L - 2)
  return {
    uniforms = uniforms,
    bound = 1 << mask_bits,
    shift = shift,
    correction = (shift >> bits) + (uniforms - 1) // 2,
  }
end

-- floor(h / 2^bits), plus the random carry, of a 1-D chunk h of shares of
-- degree k - 1 (k = t for a share, 2t - 1 for a product of two), as a
-- degree t - 1 share. Two rounds: the mask contributions, then the reveal
-- of the masked value.
function ProtocolSuite:_truncate_chunk(h, k, bits, T)
  local F, comm = self.field, self.communicator
  local n = h.size
  -- This player's contribution u to the mask r, and u's high part.
  local u = F:uniform_below({n}, T.bound, self._rng)
  local high = F:shift_right(u, bits)
  if T.uniforms > comm.world_size and comm.rank == 0 then
    local u2 = F:uniform_below({n}, T.bound, self._rng)
    high = F:add(high, F:shift_right(u2, bits))
    u = F:add(u, u2)
  end
  -- u is shared with the degree of h, so that h + r is a random polynomial
  -- of that degree apart from its value at 0; high with degree t - 1.
  local got = self:_deal({u, high}, {k, self.threshold})
  local r = F:lincomb(self._ones, column(got, 1))
  local r_high = F:lincomb(self._ones, column(got, 2))
  -- c = h + shift + r is public; floor(c / 2^bits) - correction - r_high
  -- is floor(h / 2^bits) plus the carry of the low bits.
  local c = self:_open(F:add(F:add(h, r), T.shift))
  return F:subtract(F:subtract(F:shift_right(c, bits), T.correction), r_high)
end

-- Truncate the array h of degree k - 1 shares, chunk by chunk, into an
-- array of the given shape.
function ProtocolSuite:_truncate_all(h, k, bits, shape, fname)
  local T = self:_truncation_params(bits, fname)
  return self:_chunked({h}, shape, function(chunk)
    return self:_truncate_chunk(chunk, k, bits, T)
  end)
end

--- p:truncate(a, bits): a share of a / 2^bits, rounded down or up at
-- random (see the module comment); bits defaults to the encoding's
-- precision. Two rounds.
function ProtocolSuite:truncate(a, bits)
  self:_check_share(a, 1, "truncate")
  if bits == nil then bits = self:_precision("truncate") end
  if math.type(bits) ~= "integer" or bits < 0 then
    argerror(2, "truncate", "bits must be a non-negative integer, got " .. tostring(bits))
  end
  if bits == 0 then return a:copy() end
  return self:_truncate_all(a, self.threshold, bits, a.shape, "truncate")
end

-- ---- Multiplication -------------------------------------------------------------

--- p:field_multiply(a, b): a share of the element-wise product in the field
-- (no fixed-point truncation). One round.
function ProtocolSuite:field_multiply(a, b)
  self:_check_pair(a, b, "field_multiply")
  self:_check_multiplication("field_multiply")
  local F = self.field
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_reduce(F:multiply(x, y))
  end)
end

--- p:untruncated_multiply(a, b): the product of two fixed-point shares
-- with twice the precision (p:truncate brings it back). One round.
function ProtocolSuite:untruncated_multiply(a, b)
  self:_check_pair(a, b, "untruncated_multiply")
  self:_check_multiplication("untruncated_multiply")
  local F = self.field
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_reduce(F:multiply(x, y))
  end)
end

--- p:multiply(a, b): the element-wise fixed-point product. Two rounds: the
-- truncation's reveal also reduces the product's degree.
function ProtocolSuite:multiply(a, b)
  self:_check_pair(a, b, "multiply")
  self:_check_multiplication("multiply")
  local bits = self:_precision("multiply")
  local T = self:_truncation_params(bits, "multiply")
  local F, k = self.field, 2 * self.threshold - 1
  return self:_chunked({a, b}, a.shape, function(x, y)
    return self:_truncate_chunk(F:multiply(x, y), k, bits, T)
  end)
end

--- p:dot(a, b): a scalar share of the fixed-point dot product of two shares
-- of the same shape (every element). Two rounds, whatever the length.
function ProtocolSuite:dot(a, b)
  self:_check_pair(a, b, "dot")
  self:_check_multiplication("dot")
  local bits = self:_precision("dot")
  return self:_truncate_all(self.field:dot(a, b), 2 * self.threshold - 1,
                            bits, {}, "dot")
end

--- p:matvec(A, x): the fixed-point product of an {m, k} matrix share and a
-- {k} vector share, an {m} vector share. Two rounds.
function ProtocolSuite:matvec(A, x)
  self:_check_share(A, 1, "matvec")
  self:_check_share(x, 2, "matvec")
  local sa, sx = A.shape, x.shape
  if #sa ~= 2 then
    argerror(1, "matvec", "matrix share expected, got shape " .. shape_str(sa))
  end
  if #sx ~= 1 or sx[1] ~= sa[2] then
    argerror(2, "matvec", string.format("shapes %s and %s do not match",
                                        shape_str(sa), shape_str(sx)))
  end
  self:_check_multiplication("matvec")
  local bits = self:_precision("matvec")
  return self:_truncate_all(self.field:matvec(A, x), 2 * self.threshold - 1,
                            bits, {sa[1]}, "matvec")
end

-- a^e (e >= 1) by squaring and multiplying with mul (field_multiply or
-- multiply). A step that needs both a square and a product does them in
-- one call, so e costs about log2(e) rounds of mul.
function ProtocolSuite:_power(a, e, mul)
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

--- p:field_power(a, e): a share of a^e in the field, for a public integer
-- e >= 0 (a^0 is 1, also for a shared 0).
function ProtocolSuite:field_power(a, e)
  self:_check_share(a, 1, "field_power")
  e = check_exponent(e, "field_power")
  if e == 0 then return self.field:ones(a.shape) end
  if e > 1 then self:_check_multiplication("field_power") end
  return self:_power(a, e, ProtocolSuite.field_multiply)
end

--- p:power(a, e): a share of the fixed-point a^e for a public integer
-- e >= 0, by e's square-and-multiply chain of p:multiply.
function ProtocolSuite:power(a, e)
  self:_check_share(a, 1, "power")
  e = check_exponent(e, "power")
  self:_precision("power")
  if e == 0 then
    return self.field:add(self.field:zeros(a.shape), self.encoding:encode(1, self.field))
  end
  if e > 1 then self:_check_multiplication("power") end
  return self:_power(a, e, ProtocolSuite.multiply)
end

-- ---- Inverse ----------------------------------------------------------------

-- How often multiplicative_inverse draws a new mask for a chunk whose
-- masked product has a zero, before it concludes that the secret is zero:
-- enough that a zero mask twice in a row is below 2^-40 in fields of 20
-- bits and more.
local INVERSE_ATTEMPTS = 2

--- p:multiplicative_inverse(a): a share of a^-1 in the field, element-wise.
-- Masks a with a random shared r, reveals a * r and returns (a r)^-1 * [r].
-- A shared zero cannot be inverted: every player raises the same error
-- naming the element (revealing only that it is zero).
function ProtocolSuite:multiplicative_inverse(a)
  local F = self.field
  self:_check_share(a, 1, "multiplicative_inverse")
  self:_check_multiplication("multiplicative_inverse")
  local offset = 0
  return self:_chunked({a}, a.shape, function(chunk)
    local zero
    for _ = 1, INVERSE_ATTEMPTS do
      local r = self:_random_field(chunk.size)
      local u = self:_open(self:_reduce(F:multiply(chunk, r)))
      local ok, inv = pcall(F.inverse, F, u)
      if ok then
        offset = offset + chunk.size
        return F:multiply(inv, r)
      end
      zero = tonumber(tostring(inv):match("element (%d+) is zero")) or 1
    end
    local where = a.size == 1 and "the secret is zero" or
      string.format("element %d of the secret is zero", offset + zero)
    error(string.format("multiplicative_inverse: %s and has no inverse", where), 4)
  end)
end

-- ---- Bits ---------------------------------------------------------------------

--- p:random_bitwise_secret{bits=, shape=, src=}: shares of random bits and
-- of the number they make. Every player in src (default: all) draws `bits`
-- random bits per element and shares them; the bits are XORed together
-- (x + y - 2xy, by field_multiply, pairwise in log2(#src) rounds), so they
-- are uniform and unknown to anyone as long as one player in src keeps its
-- own secret. Returns the bit shares (shape {bits}, or {m, bits} for
-- shape {m}; most significant bit first) and the share of their value.
function ProtocolSuite:random_bitwise_secret(options)
  local F, comm = self.field, self.communicator
  if type(options) ~= "table" then
    argerror(1, "random_bitwise_secret", "options table expected, got " .. type(options))
  end
  local bits, shape, src = options.bits, options.shape or {}, options.src
  if math.type(bits) ~= "integer" or bits < 1 or bits >= F.bits then
    argerror(1, "random_bitwise_secret", string.format(
      "bits must be an integer in [1, %d], got %s", F.bits - 1, tostring(bits)))
  end
  if type(shape) ~= "table" or #shape > 1 or
     (#shape == 1 and (math.type(shape[1]) ~= "integer" or shape[1] < 0)) then
    argerror(1, "random_bitwise_secret", "shape must be {} or {m}")
  end
  if src == nil then
    src = comm.ranks
  elseif type(src) ~= "table" or #src == 0 then
    argerror(1, "random_bitwise_secret", "src must be a non-empty list of ranks")
  end
  local seen = {}
  for _, r in ipairs(src) do
    check_rank(comm, r, 1, "random_bitwise_secret")
    if seen[r] then
      argerror(1, "random_bitwise_secret", string.format("rank %d appears twice in src", r))
    end
    seen[r] = true
  end
  if #src > 1 then self:_check_multiplication("random_bitwise_secret") end
  local count = shape[1] or 1
  local total = count * bits
  local rows
  if seen[comm.rank] then
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

--- p:bit_compose(bits): the share of the number whose bits (most
-- significant first, along the last dimension) are shared in bits: a
-- {k} share gives a scalar, an {m, k} share an {m} vector. Local.
function ProtocolSuite:bit_compose(bits)
  self:_check_share(bits, 1, "bit_compose")
  if bits.ndim == 0 then
    argerror(1, "bit_compose", "bits must be a vector or a matrix share")
  end
  return self.field:bit_compose(bits)
end

return M
