--- cicada.shamir.compare: ProtocolSuite's comparisons and what is built on
-- them, element-wise on shares of any shape.
--
--     p:less_zero(a)       shares of 1 where a < 0, else 0
--     p:less(a, b)         [a < b]            p:equal(a, b)   [a == b]
--     p:maximum(a, b), p:minimum(a, b), p:relu(a), p:absolute(a)
--     p:floor(a)           the largest whole number <= a (fixed-point)
--     p:zigmoid(a)         0 below -0.5, a + 0.5 between, 1 above 0.5
--     p:bit_decompose(a [, bits])  shares of the bits, most significant
--                          first, in one more dimension
--
-- Results of comparisons are shares of 0 and 1 as plain field elements
-- (reveal them with `cicada.encoding.Boolean()` or `Identity()`); the
-- others are shares in the suite's encoding. Either operand of the binary
-- operations may be public (a number or a list, encoded with the suite's
-- encoding).
--
-- The protocols are those of Catrina and de Hoogh ("Improved primitives
-- for secure multiparty integer computation", SCN 2010), with the bitwise
-- less-than done by a tree in logarithmic depth:
--
-- * Mod2m(x, m), x mod 2^m for a k-bit signed x (k = p.value_bits): the
--   players make m shared random bits r_j (the bits of t = threshold
--   parties, XORed; see below) and r' = sum 2^j r_j, and a statistical
--   mask r'' summed from one contribution per party, each uniform in
--   [0, 2^(k + s - m + 2)) (s = p.statistical_security); they reveal
--   c = x + 2^k + r' + 2^m r'', whose distance from a value independent of
--   x is below 2^-s. Then x mod 2^m = (c mod 2^m) - r' + 2^m [c mod 2^m < r'],
--   where the last term is a bitwise less-than of public and shared bits:
--   with lt_j = (1 - c_j) r_j and eq_j = [c_j = r_j] (local, c is
--   public), a tree merges neighbouring bits (hi, lo) into
--   (lt_hi + eq_hi lt_lo, eq_hi eq_lo): ceil(log2 m) rounds of about 1.5m
--   multiplications in all. The first level needs only r_hi r_lo: with c
--   public, a pair's (lt, eq) is r_hi, r_lo, r_hi r_lo and 1 summed with
--   coefficients chosen by the pair's bits of c, which one C call
--   (F:bitlt_pairs) does for all pairs; the random bits are laid out so
--   that the pairs' high and low bits are two contiguous blocks.
-- * less_zero(x) = (Mod2m(x, k - 1) - x) / 2^(k-1) (their LTZ); less(a, b)
--   is less_zero(a - b); floor(a) = a - Mod2m(a, precision).
-- * equal(a, b): the same mask with m = k; a = b exactly when every d_j is
--   0, so [a = b] = 1 - OR of the d_j (a tree of ceil(log2 k) rounds).
-- * bit_decompose(a, m): the same mask, then a = c - r' mod 2^m as
--   c + not(r') + 1 by a carry-prefix circuit (Sklansky) of generate and
--   propagate bits, as in the bit decomposition of Damgaard, Fitzi, Kiltz,
--   Nielsen and Toft (TCC 2006): ceil(log2 m) + 1 rounds after the reveal.
-- * maximum, minimum, relu, absolute and zigmoid multiply a comparison bit
--   by a share (one more round).
--
-- The random bits (and the statistical mask) come from t = threshold
-- parties: the group A of the first n - t + 1 ranks and, one party each,
-- the other t - 1 ranks (the dealers). The group draws its bits from a
-- stream whose seed only its members know (sent once, by its first
-- member, in the suite's first comparison) and shares them without
-- communication, as in pseudo-random secret sharing (Cramer, Damgaard and
-- Ishai, TCC 2005): a value b known to A is shared on b f_A, where f_A is
-- the polynomial of degree t - 1 with f_A(0) = 1 and f_A(x_j) = 0 at the
-- t - 1 dealers' indices, so each member's share is b f_A(x_i) and each
-- dealer's 0. The dealers deal theirs (one round, in which the group sends
-- nothing), and the t parties' bits are XORed. A semi-honest coalition of
-- fewer than t players cannot hold a member of A and every dealer (that
-- would be t players), so one party's bits and mask part are unknown to
-- it: the XOR is a uniform bit and the mask hides c as above. The shares
-- it sees are uniform too (every dealt polynomial and every degree
-- reduction has a random coefficient that an honest player drew).
-- With t = 2 the XOR needs no multiplication, and neither do the products
-- r_hi r_lo of the less-than's first level: see _mask_bits_pair (the
-- group's members compute their shares locally, with F:xor_group_drawn,
-- and two of them send the dealer one masked message each). With t = 2 in
-- a field wider than 64 bits, the dealer makes its bits, their products
-- and its messages in one C call (F:deal_bits), and each level of the
-- less-than tree reduces its products by a dealing of lambda h (lambda
-- the player's Lagrange weight at 0, so that the reduced share is a plain
-- sum) in one call and adds what it drew and received into the next
-- level in another (F:tree_deal, F:tree_merge; see _tree_plan). There,
-- Mod2m sends the dealer its shares after the reveal instead, only those
-- of the first level's (lt, eq) and of r' (_mod2m_pair; the argument is
-- in docs/shamir.md), in the round that the XOR's messages took.
-- Rounds: the random parts take 1 + ceil(log2 t) rounds (the dealing,
-- then the XOR), the reveal one, the less-than ceil(log2 m), one fewer
-- with t = 2 (its first level's products come with the XOR): 8 for
-- less_zero
-- with 3 players (t = 2) and the default 48 value bits. Values must satisfy
-- |x * 2^precision| < 2^(value_bits - 1) (for less, also a - b), or the
-- result is wrong; the field's room for this and for the mask is checked
-- when the suite is made.
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.compare
local check = require("cicada.check")
local core = require("cicada.core")

local M = {}

-- Library tag of the suite's all-to-all rounds (as cicada.shamir.dealing).
local TAG = core.tags.RESHARE

-- ==== Helpers ===================================================================

-- 2^e (e may be negative: the inverse) as a 0-d array of F.
local function pow2(F, e)
  return F:power(F:array(2), e)
end

-- The m weights 2^(m-1), ..., 2, 1 as a field array, cached per suite.
local function weights_desc(self, m)
  self._pow2_desc = self._pow2_desc or {}
  local w = self._pow2_desc[m]
  if not w then
    local F, parts = self.field, {}
    for j = 1, m do parts[j] = pow2(F, m - j) end
    w = F:concat(parts)
    self._pow2_desc[m] = w
  end
  return w
end

-- n elements uniform in [0, 2^bits), from pieces of at most 62 bits (so
-- that the bound is a Lua integer whatever the field's width).
local function uniform_bits(F, rng, n, bits)
  local out, done = nil, 0
  while done < bits do
    local piece = math.min(bits - done, 62)
    local u = F:multiply(F:uniform_below({n}, 1 << piece, rng), pow2(F, done))
    out = out and F:add(out, u) or u
    done = done + piece
  end
  return out
end

-- The rows of the flat array a of m * n elements, each n long.
local function rows_of(a, m, n)
  local rows = {}
  for j = 1, m do rows[j] = a:slice((j - 1) * n + 1, j * n) end
  return rows
end

-- x OR y of shared bits (x + y - xy) for lists of rows xs and ys, one
-- multiplication for all of them; a list of rows.
local function or_rows(self, xs, ys, n)
  local F = self.field
  local x, y = F:concat(xs), F:concat(ys)
  local o = F:subtract(F:add(x, y), self:field_multiply(x, y))
  return rows_of(o, #xs, n)
end

-- The element-wise product of the 1-D shares x and y in one round, whatever
-- their size: the arrays of a comparison chunk are bounded already
-- (CHUNK_BIT_ELEMENTS), so field_multiply's rounds of 65,536 elements would
-- only add rounds.
local function products(self, x, y)
  return self:_reduce(self.field:multiply(x, y))
end

-- [c < r] for public bits c and shared bits r, given as flat vectors of
-- rows of n (most significant first) lt_j = (1 - c_j) r_j and
-- eq_j = [c_j = r_j]: a tree that merges neighbours (hi, lo) into
-- (lt_hi + eq_hi lt_lo, eq_hi eq_lo), both products in one
-- multiplication: ceil(log2 #lt) rounds, about 2 #lt products. A node's eq
-- serves only when it is (part of) a high neighbour, so the least
-- significant node of each level (the root among them) gets none: one
-- product fewer per level. Each level's products and merge are one C call
-- each over the whole vectors (F:less_tree_products, F:less_tree_merge).
local function less_tree(self, lt, eq, n)
  local F = self.field
  local plan = self:_tree_plan()
  while lt.size > n do
    if plan then
      local comm = self.communicator
      -- This player's share of its own dealing, then one message per target.
      local msgs = table.pack(F:tree_deal(plan.out, lt, eq, n, plan.weights))
      local own = msgs[1]
      for i, rank in ipairs(plan.targets) do comm:_lib_send(msgs[i + 1], rank, TAG) end
      local got = {}
      for i, rank in ipairs(plan.sources) do got[i] = comm:_lib_recv(rank, TAG) end
      lt, eq = F:tree_merge(plan.from, lt, own, got, n, plan.x)
    else
      local prod = self:_reduce(F:less_tree_products(lt, eq, n))
      lt, eq = F:less_tree_merge(lt, prod, n)
    end
  end
  return lt
end

-- The most messages one call of F:tree_deal or F:deal_bits makes (the
-- kernels' CC_FIELD128_TREE_MAX_MSGS): a player sends one to each player
-- but itself and one other.
local FUSED_MAX_TARGETS = 64

-- True when the threshold-2 paths take the fused kernels: a field wider
-- than 64 bits (the 64-bit field's products and weights cost little) and
-- at most FUSED_MAX_TARGETS + 2 players.
local function fused(self)
  return self.field.bits > 64 and self.communicator.world_size - 2 <= FUSED_MAX_TARGETS
end

--- How the levels of less_tree reduce their products with threshold 2 in
-- a field wider than 64 bits, worked out once per suite (false
-- otherwise). A level's products h have degree 2; lambda h, with lambda
-- this player's Lagrange weight at 0 over every player, are summands of
-- the products' values, and each player deals its own with a polynomial
-- of degree 1, g(x) = lambda h + z x. The share of one other player d is
-- x_d e, e drawn from their pair's stream (as uniform as a share of a
-- random polynomial, as in cicada.shamir.dealing), which fixes
-- z = e - q with q = lambda h / x_d, so that g(x) = (x_d - x) q + x e:
-- this player's own share and its messages to the others have small
-- weights, and q is one product per element, none when lambda / x_d is 1
-- or -1 (the sign goes into the weights): d is the first player after
-- this one (cyclically) for which it is, else the next one. Every player
-- works out every player's d, so it knows whose shares it draws and whose
-- it receives. A player's share of the reduced products is the plain sum
-- of its shares of every player's g. F:tree_deal makes the products, q,
-- the own share and the messages in one pass; F:tree_merge adds the
-- shares drawn and received and merges the level.
-- @treturn table `out` (the stream to d), `from` (the streams of the
-- players whose d this player is), `weights` (of F:tree_deal), `targets`
-- (the ranks its messages go to, in order), `sources` (the ranks it
-- receives from), `x` (its index, the weight of its drawn shares), or
-- false
-- @local
function M:_tree_plan()
  local plan = self._tree_plan_cache
  if plan ~= nil then return plan end
  local F, comm = self.field, self.communicator
  plan = false
  if self.threshold == 2 and fused(self) then
    local size, me = comm.world_size, comm.rank
    local streams = self:_pair_streams()
    local function index(r) return self._indices:slice(r + 1, r + 1) end
    local one, minus = F:array{1}, F:array{-1}
    -- Player r's d and its lambda_r / x_d.
    local function drawn_for(r)
      local lambda = self._lambda:slice(r + 1, r + 1)
      local first
      for step = 1, size - 1 do
        local d = (r + step) % size
        local mu = F:multiply(lambda, F:inverse(index(d)))
        if mu == one or mu == minus then return d, mu end
        first = first or {d, mu}
      end
      return first[1], first[2]
    end
    local d, mu = drawn_for(me)
    local xd, xm = index(d), index(me)
    local sign = one
    if mu == minus then sign, mu = minus, one end
    local weights = {mu, F:multiply(F:subtract(xd, xm), sign), xm}
    local targets, sources, from = {}, {}, {}
    for r = 0, size - 1 do
      if r ~= me and r ~= d then
        targets[#targets + 1] = r
        local xr = index(r)
        weights[#weights + 1] = F:multiply(F:subtract(xd, xr), sign)
        weights[#weights + 1] = xr
      end
      if r ~= me then
        if drawn_for(r) == me then
          from[#from + 1] = streams.from[r + 1]
        else
          sources[#sources + 1] = r
        end
      end
    end
    plan = {out = streams.out[d + 1], from = from, weights = F:concat(weights),
            targets = targets, sources = sources, x = xm}
  end
  self._tree_plan_cache = plan
  return plan
end

-- [c mod 2^m < r] for the public vector c (n elements) and the m shared
-- bits r in the paired order of _mask_and_open (1 < m): one product
-- r_high r_low per pair, then the first level of the tree by one local
-- kernel (the pair's (lt, eq) is a sum of r_high, r_low, their product and
-- 1 with coefficients chosen by c's two bits), then less_tree.
local function less_paired(self, c, r, m, n, rho)
  local F = self.field
  local h = m // 2
  rho = rho or products(self, r:slice(1, h * n), r:slice(h * n + 1, 2 * h * n))
  local lt, eq = F:bitlt_pairs(c, r, rho, m)
  return less_tree(self, lt, eq, n)
end

-- The OR of all rows d, by a tree: ceil(log2 #d) rounds.
local function or_all(self, d, n)
  while #d > 1 do
    local half = #d // 2
    local xs, ys = {}, {}
    for i = 1, half do xs[i], ys[i] = d[i], d[half + i] end
    local o = or_rows(self, xs, ys, n)
    if #d % 2 == 1 then o[#o + 1] = d[#d] end
    d = o
  end
  return d[1]
end

--- Who makes the random parts of the masks, among n players with
-- threshold t: the group A of the first n - t + 1 ranks, who share a seed
-- and draw their part from it (pseudo-random secret sharing: the value is
-- shared on the polynomial of degree t - 1 that is 1 at 0 and 0 at every
-- index outside A, so nothing travels), and the dealers, the other t - 1
-- ranks, each dealing its own part. A coalition of fewer than t players
-- misses the group or a dealer: it cannot hold all of A and all t - 1
-- dealers, which would make n - t + 1 + t - 1 > t - 1 players.
-- @treturn table `group` (ranks), `dealers` (ranks), `weight` (this
-- player's factor f_A(x_me) as a 0-d array, if it is in A)
-- @local
function M:_mask_parties()
  local parties = self._mask_party_cache
  if parties then return parties end
  local F, comm, t = self.field, self.communicator, self.threshold
  local n, me = comm.world_size, comm.rank
  local group, dealers = {}, {}
  for r = 0, n - t do group[#group + 1] = r end
  for r = n - t + 1, n - 1 do dealers[#dealers + 1] = r end
  local weight
  if me <= n - t then
    -- f_A(x) = prod over j outside A of (x_j - x) / x_j.
    weight = F:array(1)
    local xi = F:array(self._indices[me + 1])
    for _, j in ipairs(dealers) do
      local xj = F:array(self._indices[j + 1])
      weight = F:multiply(weight, F:multiply(F:subtract(xj, xi), F:inverse(xj)))
    end
  end
  parties = {group = group, dealers = dealers, weight = weight}
  self._mask_party_cache = parties
  return parties
end

--- The random parts of a mask for n elements: m * n random bits and n
-- elements uniform in [0, 2^high_bits) from each party of _mask_parties
-- (the group draws its own from its shared stream and the dealers deal
-- theirs in one round, in which the group sends nothing); the bits are
-- XORed over the t parties and the uniform parts summed. A coalition of
-- fewer than t players misses a party, whose bits make the XOR uniform and
-- whose part alone hides the high part to 2^-s. With threshold 2 (one
-- dealer), _mask_bits_pair makes the XOR, and the products of the first
-- `pairs` pairs of bits, without multiplications; otherwise the XOR takes
-- ceil(log2 t) multiplications (x + y - 2xy) and no products are made.
-- @int n elements
-- @int m bits per element
-- @int high_bits bits of each party's statistical part
-- @int[opt] pairs how many products r_hi r_lo of the pairs of
-- bitlt_pairs are wanted (0, the default, to m // 2)
-- @return the shared bits, flat, m rows of n (every element an independent
-- random bit, so any row order is as good)
-- @return the shared sum of the statistical parts, n elements
-- @return the shared products (pairs rows of n), when made, or nil
-- @local
function M:_mask_bits(n, m, high_bits, pairs)
  local F = self.field
  local parties = self:_mask_parties()
  if #parties.dealers == 1 then return self:_mask_bits_pair(n, m, high_bits, pairs or 0) end
  local layer, high = {}, {}
  if parties.weight then
    local stream = self:_group_stream(parties.group)
    local b, high_a = F:uniform_below({m * n}, 2, stream), uniform_bits(F, stream, n, high_bits)
    layer[1], high[1] = F:multiply(b, parties.weight), F:multiply(high_a, parties.weight)
    F:wipe(b, high_a)
  else
    layer[1], high[1] = F:zeros{m * n}, F:zeros{n}
  end
  local secrets
  if not parties.weight then
    secrets = {F:uniform_below({m * n}, 2, self._rng), uniform_bits(F, self._rng, n, high_bits)}
  end
  local got = self:_deal_from(secrets, {m * n, n}, parties.dealers)
  if secrets then F:wipe(secrets[1], secrets[2]) end
  for d = 1, #got do layer[d + 1], high[d + 1] = got[d][1], got[d][2] end
  local size = m * n
  while #layer > 1 do
    local half = #layer // 2
    local xs, ys = {}, {}
    for i = 1, half do xs[i], ys[i] = layer[2 * i - 1], layer[2 * i] end
    local x, y = xs[1], ys[1]
    if half > 1 then x, y = F:concat(xs), F:concat(ys) end
    local xor = F:subtract(F:add(x, y), F:multiply(products(self, x, y), 2))
    local nextl = {}
    for i = 1, half do nextl[i] = half == 1 and xor or xor:slice((i - 1) * size + 1, i * size) end
    if #layer % 2 == 1 then nextl[#nextl + 1] = layer[#layer] end
    layer = nextl
  end
  return layer[1], F:lincomb(self._ones:slice(1, #high), high)
end

--- _mask_bits with threshold 2: the group (ranks 0 to n - 2) knows its
-- bits b, the dealer (rank n - 1) deals its bits u and, for the pairs
-- wanted, the products u_hi u_lo. Then r = b xor u = b + (1 - 2b) u and
-- r_hi r_lo = b_hi b_lo + b_hi (1 - 2 b_lo) u_lo + b_lo (1 - 2 b_hi) u_hi
-- + (1 - 2 b_hi)(1 - 2 b_lo) u_hi u_lo are each a value the group knows
-- plus a combination, with coefficients the group knows, of values the
-- dealer shared. The first is shared on (value) f_A (see _mask_parties);
-- the second on W = (combination of the dealer's polynomials) + Z, with Z
-- a random polynomial through 0 whose coefficient z comes from the group's
-- stream, so each member computes its point of W itself (F:xor_group_drawn).
-- The dealer's point is lambda_0 W(x_0) + lambda_1 W(x_1), which ranks 0
-- and 1 send it masked by +rho and -rho (also from the group's stream).
-- What the dealer receives is uniform, and so is their sum, W(x_d),
-- because of z x_d: it learns nothing about b; the members receive
-- nothing but the dealing. Each result's polynomial has a coefficient of x
-- that holds z, so the shares of any one player are uniform. One send from
-- two players to one instead of a multiplication, and the pairs'
-- products come without one.
-- @local
function M:_mask_bits_pair(n, m, high_bits, pairs)
  local F, comm = self.field, self.communicator
  local parties = self:_mask_parties()
  local me, dealer = comm.rank, parties.dealers[1]
  local size = m * n
  local secrets, high_a, stream
  if me == dealer then
    if not fused(self) then
      local u, h = F:uniform_below({size}, 2, self._rng), m // 2
      secrets = {u, F:multiply(u:slice(1, pairs * n), u:slice(h * n + 1, (h + pairs) * n)),
                 uniform_bits(F, self._rng, n, high_bits)}
    end
  else
    -- The group's bits b, the coefficients z and the masks rho are drawn
    -- from the stream by F:xor_group_drawn, row by row, after high_a.
    stream = self:_group_stream(parties.group)
    high_a = uniform_bits(F, stream, n, high_bits)
  end
  local got
  if me == dealer and fused(self) then
    got = {nil, nil, self:_deal_bits(n, m, pairs, high_bits)}
  else
    got = self:_deal_from(secrets, {size, pairs * n, n}, parties.dealers)[1]
  end
  if secrets then F:wipe(secrets[1], secrets[2], secrets[3]) end
  local bits, prod, high
  if me == dealer then
    local w0, w1 = comm:_lib_recv(0, TAG), comm:_lib_recv(1, TAG)
    bits, prod, high = F:add(w0[1], w1[1]), F:add(w0[2], w1[2]), got[3]
  else
    local x = self._indices
    local xi, lambda = F:array(x[me + 1]), nil
    if me <= 1 then
      local xd, other = F:array(x[dealer + 1]), F:array(x[2 - me])
      lambda = F:multiply(F:subtract(xd, other), F:inverse(F:subtract(xi, other)))
    end
    local msg, msgp
    bits, prod, msg, msgp = F:xor_group_drawn(stream, got[1], got[2], parties.weight, xi, m,
                                              pairs, lambda, me == 1)
    if msg then comm:_lib_send({msg, msgp}, dealer, TAG) end
    high = F:add(F:multiply(high_a, parties.weight), got[3])
    F:wipe(high_a)
  end
  return bits, high, pairs > 0 and prod or nil
end

--- The dealing of _mask_bits_pair at its dealer, in a field wider than 64
-- bits: the same messages as _deal_from's of {u, the pairs' products,
-- the statistical part} (the same draws from the pair stream of the
-- player whose shares are drawn, in the same order), with the bits and
-- the products made, dealt and packed into messages by one C call
-- (F:deal_bits: the dealer's own shares of them serve nothing, as it gets
-- its shares of the XOR from the group).
-- @int n elements
-- @int m bits per element
-- @int pairs products wanted
-- @int high_bits bits of the statistical part
-- @return the dealer's share of its statistical part
-- @local
function M:_deal_bits(n, m, pairs, high_bits)
  local F, comm = self.field, self.communicator
  local size, me = comm.world_size, comm.rank
  local plan = self._deal_bits_cache
  if not plan then
    local drawn = (me + 1) % size
    local weights, targets = {}, {}
    for r = 0, size - 1 do
      if r ~= me and r ~= drawn then
        targets[#targets + 1] = r
        weights[#weights + 1] = self:_deal_weights(me, 2, r)
      end
    end
    plan = {stream = self:_pair_streams().out[drawn + 1], targets = targets,
            weights = F:concat(weights), own = self:_deal_weights(me, 2, me)}
    self._deal_bits_cache = plan
  end
  local msgs = table.pack(F:deal_bits(self._rng, plan.stream, m, pairs, n, plan.weights))
  local terms = {uniform_bits(F, self._rng, n, high_bits), F:uniform({n}, plan.stream)}
  for i, r in ipairs(plan.targets) do
    local share = F:lincomb(plan.weights:slice(2 * i - 1, 2 * i), terms)
    comm:_lib_send({msgs[2 * i - 1], msgs[2 * i], share}, r, TAG)
  end
  local high = F:lincomb(plan.own, terms)
  F:wipe(terms[1])
  return high
end

-- The weights of the m rows of random bits in the paired order: the high
-- bits of the pairs (2^(m-1), 2^(m-3), ...), their low bits (2^(m-2),
-- 2^(m-4), ...), then 2^0 when m is odd; cached per suite.
local function weights_paired(self, m)
  self._pow2_paired = self._pow2_paired or {}
  local w = self._pow2_paired[m]
  if not w then
    local F, parts, h = self.field, {}, m // 2
    for i = 1, h do parts[i], parts[h + i] = pow2(F, m + 1 - 2 * i), pow2(F, m - 2 * i) end
    if m % 2 == 1 then parts[m] = pow2(F, 0) end
    w = F:concat(parts)
    self._pow2_paired[m] = w
  end
  return w
end

--- Mask the 1-D chunk x (degree t-1 shares of k-bit signed values) with m
-- shared random bits and a statistical mask, and reveal it (see the module
-- comment).
-- @param x the chunk
-- @int m how many random bits (1 <= m <= value_bits)
-- @bool paired the bits' rows in the order of bitlt_pairs (the pairs'
-- high bits, their low bits, then bit 0 when m is odd: every element is an
-- independent random bit, so any order is as good) instead of most
-- significant first, and no c_bits
-- @treturn table `c` the public masked value, `c_bits` its low m bits as
-- rows (most significant first), `c_low` = c mod 2^m, `r` the shared
-- value of the random bits, `bits` the same bits as one
-- flat array of m rows, `c_flat` likewise for c_bits
-- @local
function M:_mask_and_open(x, m, paired)
  local F = self.field
  local n, k, s = x.size, self.value_bits, self.statistical_security
  local flat, r_high, rho = self:_mask_bits(n, m, k + s - m + 2, paired and m // 2 or 0)
  local r = F:lincomb_rows(paired and weights_paired(self, m) or weights_desc(self, m), flat)
  local masked = F:add(F:add(F:add(x, pow2(F, k)), r), F:multiply(r_high, pow2(F, m)))
  local c = self:_open(masked)
  local high = F:shift_right(c, m)
  local out = {c = c, c_low = F:subtract(c, F:multiply(high, pow2(F, m))),
               r = r, bits = flat, rho = rho}
  if paired then return out end
  -- Bit b of c is (c >> b) - 2 (c >> (b + 1)).
  local shifted = {[m] = high}
  for b = 0, m - 1 do shifted[b] = F:shift_right(c, b) end
  local c_bits = {}
  for j = 1, m do
    local b = m - j
    c_bits[j] = F:subtract(shifted[b], F:multiply(shifted[b + 1], 2))
  end
  out.c_bits, out.c_flat = c_bits, F:concat(c_bits)
  return out
end

-- The shared bits c_j xor r_j (c public) as one flat array.
local function xor_public(F, mask)
  local cr = F:multiply(mask.c_flat, mask.bits)
  return F:subtract(F:add(mask.c_flat, mask.bits), F:multiply(cr, 2))
end

--- The weights of _mod2m_pair, worked out once per suite: `open`, the
-- Lagrange weights at 0 of the indices of ranks 0 and 1 (c from their two
-- shares), and at ranks 0 and 1 `lam`, this player's Lagrange weight at
-- the dealer's index over the same two points (as _mask_bits_pair's).
-- @local
function M:_pair_open_plan()
  local plan = self._pair_open_cache
  if plan then return plan end
  local F, me = self.field, self.communicator.rank
  local dealer = self:_mask_parties().dealers[1]
  local x = self._indices
  local x0, x1, xd = F:array(x[1]), F:array(x[2]), F:array(x[dealer + 1])
  local open = F:concat{F:multiply(x1, F:inverse(F:subtract(x1, x0))),
                        F:multiply(x0, F:inverse(F:subtract(x0, x1)))}
  local lam
  if me <= 1 then
    local xi, other = me == 0 and x0 or x1, me == 0 and x1 or x0
    lam = F:multiply(F:subtract(xd, other), F:inverse(F:subtract(xi, other)))
  end
  plan = {open = open, lam = lam, x = F:array(x[me + 1]), zero = F:zeros{1}}
  self._pair_open_cache = plan
  return plan
end

--- _mod2m with threshold 2 in a field wider than 64 bits (1 < m): the
-- dealer's bits u and the pairs' products are dealt as in _mask_bits_pair,
-- but the group's members keep their plain shares of r = b xor u and of
-- the products (F:_xor_group_plain: no random polynomial Z yet), reveal c
-- among themselves from the shares of ranks 0 and 1, whose r' part is
-- randomized by one polynomial z' X, and send the dealer, masked as in
-- _mask_bits_pair, only what it needs after the reveal: its shares of the
-- first level's (lt, eq), each row randomized by its own z X
-- (F:_bitlt_randomized, F:_randomize_rows), and of r'. The dealer sends
-- nothing in the reveal. The same rounds as _mask_and_open and
-- less_paired; the dealer receives 2 ceil(m / 2) + 1 rows from each of
-- ranks 0 and 1 instead of m + floor(m / 2) and does not compute the
-- first level. See docs/shamir.md for the argument.
-- @local
function M:_mod2m_pair(x, m)
  local F, comm = self.field, self.communicator
  local n, k, s = x.size, self.value_bits, self.statistical_security
  local high_bits, pairs = k + s - m + 2, m // 2
  local parties = self:_mask_parties()
  local me, dealer = comm.rank, parties.dealers[1]
  local plan = self:_pair_open_plan()
  local lt, eq, r, c
  if me == dealer then
    F:wipe(self:_deal_bits(n, m, pairs, high_bits))
    c = F:lincomb(plan.open, {comm:_lib_recv(0, TAG), comm:_lib_recv(1, TAG)})
    local w0, w1 = comm:_lib_recv(0, TAG), comm:_lib_recv(1, TAG)
    lt, eq, r = F:add(w0[1], w1[1]), F:add(w0[2], w1[2]), F:add(w0[3], w1[3])
  else
    local stream = self:_group_stream(parties.group)
    local high_a = uniform_bits(F, stream, n, high_bits)
    local got = self:_deal_from(nil, {m * n, pairs * n, n}, parties.dealers)[1]
    local bits, prod = F:_xor_group_plain(stream, got[1], got[2], parties.weight, m, pairs)
    local high = F:add(F:multiply(high_a, parties.weight), got[3])
    F:wipe(high_a)
    r = F:lincomb_rows(weights_paired(self, m), bits)
    F:_randomize_rows(stream, r, n, plan.x)
    local masked = F:add(F:add(F:add(x, pow2(F, k)), r), F:multiply(high, pow2(F, m)))
    F:wipe(high)
    if me <= 1 then
      for q = 0, comm.world_size - 1 do
        if q ~= me then comm:_lib_send(masked, q, TAG) end
      end
    end
    local m0 = me == 0 and masked or comm:_lib_recv(0, TAG)
    local m1 = me == 1 and masked or comm:_lib_recv(1, TAG)
    c = F:lincomb(plan.open, {m0, m1})
    local negate = me == 1
    local mlt, meq
    lt, eq, mlt, meq = F:_bitlt_randomized(stream, c, bits, prod, m, plan.x, plan.lam, negate)
    local mr = F:_randomize_rows(stream, r, n, plan.zero, plan.lam, negate)
    if plan.lam then comm:_lib_send({mlt, meq, mr}, dealer, TAG) end
  end
  local u = less_tree(self, lt, eq, n)
  local low = F:subtract(c, F:multiply(F:shift_right(c, m), pow2(F, m)))
  return F:add(F:subtract(low, r), F:multiply(u, pow2(F, m)))
end

--- x mod 2^m for a 1-D chunk x of k-bit signed values (Catrina and de
-- Hoogh's Mod2m), in [0, 2^m).
-- @param x the chunk
-- @int m the bits (1 <= m < value_bits)
-- @return a chunk of shares
-- @local
function M:_mod2m(x, m)
  local F = self.field
  local n = x.size
  if m > 1 and n > 0 and self.threshold == 2 and fused(self) then
    return self:_mod2m_pair(x, m)
  end
  local mask = self:_mask_and_open(x, m, m > 1)
  -- [c mod 2^m < r] at the most significant bit where they differ.
  local u
  if m == 1 then
    u = F:multiply(F:subtract(1, F:subtract(mask.c, F:multiply(F:shift_right(mask.c, 1), 2))),
                   mask.bits)
  else
    u = less_paired(self, mask.c, mask.bits, m, n, mask.rho)
  end
  return F:add(F:subtract(mask.c_low, mask.r), F:multiply(u, pow2(F, m)))
end

--- [x < 0] for a 1-D chunk (Catrina and de Hoogh's LTZ).
-- @param x the chunk
-- @return a chunk of shares of 0/1
-- @local
function M:_less_zero_chunk(x)
  local F, k = self.field, self.value_bits
  local low = self:_mod2m(x, k - 1)
  return F:multiply(F:subtract(low, x), pow2(F, -(k - 1)))
end

--- [x = 0] for a 1-D chunk.
-- @param x the chunk
-- @return a chunk of shares of 0/1
-- @local
function M:_equal_zero_chunk(x)
  local F, k = self.field, self.value_bits
  local mask = self:_mask_and_open(x, k)
  local any = or_all(self, rows_of(xor_public(F, mask), k, x.size), x.size)
  return F:subtract(1, any)
end

-- The operands of a binary operation as arrays (public ones encoded), at
-- least one a share, with equal shapes or one of them a scalar.
local function operands(self, a, b, fname)
  a, b = self:_check_operands(a, b, fname)
  self:_check_multiplication(fname)
  return a, b
end

-- A comparison of n elements works on arrays of about n * value_bits
-- elements; chunks of at most this many of those (about 680 comparisons
-- with the defaults) keep each temporary below 1 MB in 2^127 - 1, where
-- the kernels then find their operands in the caches and each message is
-- about 0.5 MB: 10,000 comparisons took about 35% less CPU than in one
-- chunk of 2^20 (arrays of 11 MB), and 20% less than in chunks of 2^16,
-- which pays for the 14 more chunks' rounds. Chunks of 2^14 saved no more.
local CHUNK_BIT_ELEMENTS = 1 << 15

-- The number of elements per chunk for operations on m-bit masks (a
-- suite's _chunk_bit_elements, which specs set, overrides the constant).
local function chunk_elements(self, m)
  return math.max(1, (self._chunk_bit_elements or CHUNK_BIT_ELEMENTS) // m)
end

-- fn applied chunk by chunk (1-D slices) to the share x, whose shape the
-- result takes.
local function each(self, x, fn)
  local F, n = self.field, x.size
  local flat = x:reshape{n}
  local step = chunk_elements(self, self.value_bits)
  if n <= step then return fn(self, flat):reshape(x.shape) end
  local parts = {}
  for first = 1, n, step do
    -- Collect the previous chunk's temporaries (a few MB) before making
    -- more, so that the next chunk's arrays reuse memory still in the
    -- caches: about 3% less CPU for less_10k. A full cycle visits few
    -- objects here (an array is one), as in the truncation's chunks.
    if first > 1 then collectgarbage() end
    parts[#parts + 1] = fn(self, flat:slice(first, math.min(n, first + step - 1)))
  end
  return F:concat(parts, x.shape)
end

-- a + bit * (b - a) for a shared bit array: b where bit is 1, else a.
local function select(self, bit, a, b)
  local F = self.field
  local d = F:subtract(b, a)
  if d.ndim == 0 and bit.ndim > 0 then d = F:add(F:zeros(bit.shape), d) end
  if bit.ndim == 0 and d.ndim > 0 then bit = F:add(F:zeros(d.shape), bit) end
  return F:add(a, self:field_multiply(bit, d))
end

-- (G, P) of a run of bit positions: generate and propagate of the carry.
-- The prefix of the lists G, P (least significant position first), each
-- position j combined with every lower one, by Sklansky's construction:
-- (G_hi, P_hi) o (G_lo, P_lo) = (G_hi + P_hi G_lo, P_hi P_lo), both
-- products of a round in one multiplication; ceil(log2 #G) rounds.
local function carry_prefix(self, G, P, n)
  local F = self.field
  local m, span = #G, 1
  while span < m do
    local hi, lo = {}, {}
    for j = 1, m do
      local block = (j - 1) // span
      if block % 2 == 1 then hi[#hi + 1], lo[#lo + 1] = j, block * span end
    end
    local xs, ys = {}, {}
    for i, j in ipairs(hi) do
      xs[i], ys[i] = P[j], G[lo[i]]
      xs[#hi + i], ys[#hi + i] = P[j], P[lo[i]]
    end
    local prod = rows_of(self:field_multiply(F:concat(xs), F:concat(ys)), 2 * #hi, n)
    for i, j in ipairs(hi) do
      G[j], P[j] = F:add(G[j], prod[i]), prod[#hi + i]
    end
    span = span * 2
  end
  return G
end

--- The bits of a 1-D chunk x mod 2^m, as m rows (most significant first):
-- x = c - r mod 2^m is c + not(r) + 1, added by a carry-prefix circuit of
-- the public bits of c and the shared bits of r (Damgaard, Fitzi, Kiltz,
-- Nielsen and Toft's bit decomposition, TCC 2006, with a statistical mask).
-- @param x the chunk
-- @int m the bits
-- @treturn table m rows of n shares of bits
-- @local
function M:_bits_chunk(x, m)
  local F = self.field
  local n = x.size
  local mask = self:_mask_and_open(x, m)
  local y = F:subtract(1, mask.bits)                    -- not(r)
  local g = F:multiply(mask.c_flat, y)                  -- c and y (c public)
  local p = F:subtract(F:add(mask.c_flat, y), F:multiply(g, 2)) -- c xor y
  -- Least significant first; the carry into position 0 is 1, folded into
  -- position 0's generate: G_0 = g_0 + p_0.
  local grows, prows = rows_of(g, m, n), rows_of(p, m, n)
  local G, P = {}, {}
  for j = 1, m do G[j], P[j] = grows[m + 1 - j], prows[m + 1 - j] end
  local p0 = P[1]
  G[1], P[1] = F:add(G[1], P[1]), F:zeros{n}
  local carry = carry_prefix(self, G, P, n) -- carry[j]: out of position j - 1
  -- Sum bit j = p_j xor carry into j; the carry into 0 is 1.
  local out = {}
  out[m] = F:subtract(1, p0)
  if m > 1 then
    local ps, cs = {}, {}
    for j = 2, m do ps[j - 1], cs[j - 1] = prows[m + 1 - j], carry[j - 1] end
    local pc = rows_of(self:field_multiply(F:concat(ps), F:concat(cs)), m - 1, n)
    for j = 2, m do
      local sum = F:subtract(F:add(ps[j - 1], cs[j - 1]), F:multiply(pc[j - 1], 2))
      out[m + 1 - j] = sum
    end
  end
  return out
end

-- ==== Comparisons ===============================================================

--- Shares of [a < 0], element-wise: 1 where a is negative, else 0.
-- @param a a share
-- @return a share of 0/1 of a's shape
-- @raise `bad argument #1 to 'less_zero' (share (field array) expected, got nil)`
function M:less_zero(a)
  self:_check_share(a, 1, "less_zero")
  self:_check_multiplication("less_zero")
  return each(self, a, M._less_zero_chunk)
end

--- Shares of [a < b], element-wise (less_zero of a - b). Either operand
-- may be public.
-- @param a a share, a number or a list
-- @param b a share of the same shape (or a scalar), a number or a list
-- @return a share of 0/1
-- @raise `bad argument #2 to 'less' (shapes {3} and {4} differ)`
function M:less(a, b)
  a, b = operands(self, a, b, "less")
  return each(self, self.field:subtract(a, b), M._less_zero_chunk)
end

--- Shares of [a = b], element-wise. Either operand may be public.
-- @param a a share, a number or a list
-- @param b a share of the same shape (or a scalar), a number or a list
-- @return a share of 0/1
function M:equal(a, b)
  a, b = operands(self, a, b, "equal")
  return each(self, self.field:subtract(a, b), M._equal_zero_chunk)
end

--- The element-wise maximum. Either operand may be public.
-- @param a a share, a number or a list
-- @param b a share of the same shape (or a scalar), a number or a list
-- @return a share in the suite's encoding
function M:maximum(a, b)
  a, b = operands(self, a, b, "maximum")
  local lt = each(self, self.field:subtract(a, b), M._less_zero_chunk)
  return select(self, lt, a, b)
end

--- The element-wise minimum. Either operand may be public.
-- @param a a share, a number or a list
-- @param b a share of the same shape (or a scalar), a number or a list
-- @return a share in the suite's encoding
function M:minimum(a, b)
  a, b = operands(self, a, b, "minimum")
  local lt = each(self, self.field:subtract(a, b), M._less_zero_chunk)
  return select(self, lt, b, a)
end

--- max(a, 0), element-wise.
-- @param a a share
-- @return a share
function M:relu(a)
  self:_check_share(a, 1, "relu")
  self:_check_multiplication("relu")
  local neg = each(self, a, M._less_zero_chunk)
  return select(self, neg, a, self.field:zeros(a.shape))
end

--- |a|, element-wise.
-- @param a a share
-- @return a share
function M:absolute(a)
  self:_check_share(a, 1, "absolute")
  self:_check_multiplication("absolute")
  local neg = each(self, a, M._less_zero_chunk)
  return select(self, neg, a, self.field:negative(a))
end

--- The largest whole number not above a, element-wise, in the suite's
-- fixed-point encoding (a - Mod2m(a, precision); exact).
-- @param a a share
-- @return a share
-- @raise `floor needs a fixed-point encoding, not Identity(); use field_multiply`
function M:floor(a)
  self:_check_share(a, 1, "floor")
  self:_check_multiplication("floor")
  local bits = self:_precision("floor")
  if bits == 0 then return a:copy() end
  return each(self, a, function(suite, chunk)
    return suite.field:subtract(chunk, suite:_mod2m(chunk, bits))
  end)
end

--- Shares of the bits of a, most significant first, in one more
-- dimension: the two's complement of a's encoded value mod 2^bits (the
-- binary digits of a * 2^precision when it is between 0 and 2^bits).
-- @param a a scalar or vector share
-- @int[opt] bits how many bits (1 to p.value_bits; default p.value_bits)
-- @return a `{bits}` share for a scalar, `{m, bits}` for an `{m}` vector
-- @raise `bad argument #2 to 'bit_decompose' (bits must be an integer in [1, 48], got 0)`
function M:bit_decompose(a, bits)
  local F = self.field
  self:_check_share(a, 1, "bit_decompose")
  if a.ndim > 1 then
    check.argerror(1, "bit_decompose", "scalar or vector share expected, got a matrix")
  end
  local k = self.value_bits
  if bits == nil then bits = k end
  if math.type(bits) ~= "integer" or bits < 1 or bits > k then
    check.argerror(2, "bit_decompose", ("bits must be an integer in [1, %d], got %s")
                   :format(k, tostring(bits)))
  end
  self:_check_multiplication("bit_decompose")
  local n = a.size
  if n == 0 then return F:zeros{0, bits} end
  local chunk, parts = chunk_elements(self, bits), {}
  local flat = a:reshape{n}
  for first = 1, n, chunk do
    local x = flat:slice(first, math.min(n, first + chunk - 1))
    local rows = self:_bits_chunk(x, bits)
    parts[#parts + 1] = F:concat(rows, {bits, x.size}):transpose()
  end
  local out = F:concat(parts)
  return out:reshape(a.ndim == 0 and {bits} or {n, bits})
end

--- The "zigmoid", a piecewise-linear sigmoid: 0 below -0.5, a + 0.5
-- between, 1 above 0.5. Both comparisons go in one batch.
-- @param a a share
-- @return a share in the suite's encoding
function M:zigmoid(a)
  local F = self.field
  self:_check_share(a, 1, "zigmoid")
  self:_check_multiplication("zigmoid")
  self:_precision("zigmoid")
  local half = self.encoding:encode(0.5, F)
  local one = self.encoding:encode(1, F)
  local n = a.size
  local flat = a:reshape{n}
  local up = F:add(flat, half)
  local both = each(self, F:concat{up, F:subtract(half, flat)}, M._less_zero_chunk)
  local below, above = both:slice(1, n), both:slice(n + 1, 2 * n)
  local middle = F:subtract(F:subtract(1, below), above)
  local out = F:add(F:multiply(above, one), self:field_multiply(middle, up))
  return out:reshape(a.shape)
end

return M
