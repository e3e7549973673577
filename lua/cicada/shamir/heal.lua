--- cicada.shamir.heal: recovering lost shares without revealing them.
--
--     -- survivors pass their share, newcomers (or players that lost
--     -- theirs) pass nil; every player returns its share
--     local s = p:recover(comm.joined and nil or s)
--     s = p:reshare(s)   -- then refresh, so that old shares are useless
--
-- The protocol is the share recovery of proactive secret sharing:
-- A. Herzberg, S. Jarecki, H. Krawczyk, M. Yung, "Proactive Secret
-- Sharing Or: How to Cope With Perpetual Leakage", CRYPTO 1995 (LNCS 963,
-- pp. 339-352), in its semi-honest form (without the verifiable secret
-- sharing that protects against cheating players). With f the degree k - 1
-- polynomial of the secret (k the threshold), x_j the suite's index of
-- player j, and D the first k players (by rank) that hold a share:
--
-- 1. (metadata, one allgather) every player says whether it holds a share
--    and of which shape; all players then know the holders and the
--    newcomers (the others), and raise the same argument error if fewer
--    than k players hold a share or the shapes differ;
-- 2. (round 1) for every newcomer r, every dealer i in D deals the other
--    dealers the points of a random polynomial q_{i,r} of degree k - 1 with
--    q_{i,r}(x_r) = 0;
-- 3. (round 2) every dealer j sends newcomer r the masked value
--    g_r(x_j) = f(x_j) + sum over i of q_{i,r}(x_j);
-- 4. newcomer r interpolates the k points of g_r at x_r (Lagrange weights
--    over D at x_r, one C call): g_r(x_r) = f(x_r), its share.
--
-- What each party learns: a newcomer sees the k points of g_r, that is the
-- polynomial g_r, which is uniformly random among the polynomials of degree
-- k - 1 that take the value f(x_r) at x_r; so it learns its share and
-- nothing else (g_r(0) is the secret plus a uniform mask). A dealer sees
-- only the other dealers' random points q_{i,r}(x_j). Any k - 1 colluding
-- players still learn nothing about the secret: at least one dealer is not
-- among them, and its mask hides g_r everywhere but at x_r. Several
-- newcomers recover at once with independent masks.
--
-- Requirements: at least k players hold valid shares of the same
-- polynomial (and of the same shape); newcomers' x-coordinates are their
-- own indices in the suite, survivors keep theirs (the indices of a suite
-- built with `indices_for`, plus one new distinct index per newcomer).
-- Costs: one allgather, then two rounds among the k dealers and the
-- newcomers; the other holders return after the allgather. Arrays go
-- 65,536 elements per round, like the suite's other rounds.
--
-- Holders never change their shares, so a recovery that fails half-way
-- (a newcomer or a dealer died: `peer_failed` at the players that waited
-- for it; the others see the failure at their next call) loses nothing:
-- revoke, shrink, and recover again on the next communicator. A player
-- whose old share might come back (one that was only cut off, and rejoins)
-- is the reason for `p:reshare`, which replaces every share by a fresh one
-- of the same secret (a new random polynomial), so that an old share no
-- longer combines with the new ones.
--
-- The functions here are methods of ProtocolSuite (cicada.shamir.protocol).
-- @module cicada.shamir.heal
local basic = require("cicada.shamir.basic")
local check = require("cicada.check")
local core = require("cicada.core")

local M = {}

-- Elements per round, as in cicada.shamir.dealing.
local CHUNK_ELEMENTS = 1 << 16

-- Library tag of the suite's rounds.
local TAG = core.tags.RESHARE

local shape_str, same_shape = basic.shape_str, basic.same_shape

local function size_of(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

--- Who holds a share, and its shape, from the allgathered metadata; raise
-- the same argument error at every player when recovery is impossible.
-- @tab shapes `shapes[rank + 1]` is the shape held there, or false
-- @int k the threshold
-- @treturn table the ranks holding a share, in order
-- @treturn table the ranks without one, in order
-- @treturn table the shape
-- @local
local function holders_of(shapes, k)
  local holders, newcomers, shape, first = {}, {}, nil, nil
  for i, s in ipairs(shapes) do
    local rank = i - 1
    if s then
      holders[#holders + 1] = rank
      if shape == nil then
        shape, first = s, rank
      elseif not same_shape(shape, s) then
        check.argerror(1, "recover", ("shares have different shapes: %s at player %d, %s at player %d")
                       :format(shape_str(shape), first, shape_str(s), rank))
      end
    else
      newcomers[#newcomers + 1] = rank
    end
  end
  if #holders < k and #newcomers > 0 then
    check.argerror(1, "recover", ("%d of %d players hold a share (%s); recovering needs "
                                  .. "at least threshold %d")
                   :format(#holders, #shapes, "ranks {" .. table.concat(holders, ", ") .. "}", k))
  end
  return holders, newcomers, shape
end

--- Give the players without a share (newcomers) a share of the same
-- secret at their own index, revealing nothing else (the share recovery
-- of Herzberg, Jarecki, Krawczyk and Yung; see the module comment). A
-- collective: every player calls it, holders with their share, newcomers
-- with nil. The holders' shares are returned unchanged. Works the same on
-- any communicator: all it needs is who holds a share and the suite's
-- indices.
-- @param share this player's share, or nil at a newcomer
-- @return this player's share: the same at a holder, the recovered one at a
-- newcomer
-- @raise `bad argument #1 to 'recover' (1 of 4 players hold a share (ranks {0});
-- recovering needs at least threshold 2)` and
-- `bad argument #1 to 'recover' (shares have different shapes: {3} at player 0,
-- {4} at player 2)` at every player; `peer_failed` and the like when a
-- player it waits for fails
function M:recover(share)
  if share ~= nil then self:_check_share(share, 1, "recover") end
  local comm, F, k = self.communicator, self.field, self.threshold
  local me = comm.rank
  local holders, newcomers, shape = holders_of(comm:allgather(share ~= nil and share.shape), k)
  if #newcomers == 0 then return share end
  local dealers, mine = {}, nil -- the first k holders; this player's place among them
  for d = 1, k do
    dealers[d] = holders[d]
    if holders[d] == me then mine = d end
  end
  if share ~= nil and mine == nil then return share end

  -- For newcomer r, the dealers' indices shifted by -x_r: a polynomial of
  -- degree k - 1 that is 0 at 0 in the shifted coordinates vanishes at x_r,
  -- and the Lagrange weights at 0 of the shifted points are those at x_r.
  local xs = {}
  for d, rank in ipairs(dealers) do xs[d] = self.indices[rank + 1] end
  xs = F:array(xs)
  local shifted = {}
  for c, r in ipairs(newcomers) do shifted[c] = F:subtract(xs, self.indices[r + 1]) end

  local size = size_of(shape)
  if share == nil then
    -- A newcomer: k masked points per chunk, combined at its index.
    local c
    for i, r in ipairs(newcomers) do if r == me then c = i end end
    local weights = F:lagrange(shifted[c])
    local parts, first = {}, 1
    repeat
      local got = {}
      for d, rank in ipairs(dealers) do got[d] = comm:_lib_recv(rank, TAG) end
      parts[#parts + 1] = F:lincomb(weights, got)
      first = first + CHUNK_ELEMENTS
    until first > size
    return F:concat(parts, shape)
  end

  -- A dealer.
  local flat = share.ndim == 1 and share or share:reshape{size}
  local sum = F:ones{k + 1}
  local first = 1
  repeat
    local last = math.min(first + CHUNK_ELEMENTS - 1, size)
    local mine_part = (first == 1 and last == size) and flat or flat:slice(first, last)
    local zeros = F:zeros{last - first + 1}
    -- Round 1: the masks, one polynomial per newcomer, k points each.
    local outbox, masks = {}, {}
    for d = 1, k do outbox[d] = {} end
    for c in ipairs(newcomers) do
      local points = F:shamir_share_each(zeros, k, shifted[c], self._rng)
      for d = 1, k do outbox[d][c] = points[d] end
      masks[c] = {mine_part, points[mine]}
    end
    for d, rank in ipairs(dealers) do
      if d ~= mine then comm:_lib_send(outbox[d], rank, TAG) end
    end
    for d, rank in ipairs(dealers) do
      if d ~= mine then
        local got = comm:_lib_recv(rank, TAG)
        for c in ipairs(newcomers) do
          local list = masks[c]
          list[#list + 1] = got[c]
        end
      end
    end
    -- Round 2: this dealer's share plus every mask's point, to each newcomer.
    for c, r in ipairs(newcomers) do
      comm:_lib_send(F:lincomb(sum, masks[c]), r, TAG)
    end
    first = last + 1
  until first > size
  return share
end

return M
