--- cicada.shamir.dealing: the rounds of ProtocolSuite, in which players
-- deal each other shares.
--
-- In the suite's rounds every player deals secrets to every player. A
-- degree k - 1 polynomial is fixed by its value at 0 (the secret) and k - 1
-- more points, so the shares of the k - 1 players after the dealer (ranks
-- dealer + 1 ... dealer + k - 1, cyclically) are drawn from an AES-CTR
-- stream that only the dealer and that player know, and are never sent; the
-- dealer computes the other shares by Lagrange interpolation and sends only
-- those. The polynomial is as random as one with random coefficients, and a
-- player's pseudo-random share is known to nobody but the two. With 3
-- players and threshold 2 a multiplication's masks then travel as one
-- array per player instead of four.
--
-- The streams' seeds travel once, in the suite's first operation that
-- deals. A suite whose operation failed half-way (a player died) has
-- streams out of step: rebuild it on the shrunk communicator, as the
-- fault-tolerance pattern does anyway.
--
-- Every function here is a method of ProtocolSuite (cicada.shamir.protocol)
-- for the other parts' use, not for users.
-- @module cicada.shamir.dealing
local core = require("cicada.core")

local M = {}

-- The operations that communicate work on at most this many elements per
-- round, so that their temporaries stay a few MB whatever the array size:
-- 65,536 in fields of 64 bits, 16,384 in wider ones. A 128-bit chunk of
-- 16,384 elements is 256 KB an array, so that a multiplication's dozen
-- temporaries stay near the caches: a million products in 2^127 - 1 took
-- 25% less CPU than with 65,536-element (1 MB) chunks, whose kernels waited
-- on memory; in the 64-bit field smaller chunks saved too little (5%) to
-- pay for the 4 times as many rounds.
local CHUNK_ELEMENTS = 1 << 16
local WIDE_CHUNK_ELEMENTS = 1 << 14

--- The elements per round of an operation in this suite's field.
-- @local
function M:_chunk_elements()
  return self.field.bits > 64 and WIDE_CHUNK_ELEMENTS or CHUNK_ELEMENTS
end

-- Library tag of the suite's all-to-all rounds.
local TAG = core.tags.RESHARE

--- One round in which every player in senders (default: all) sends
-- rows[j + 1] to each other player j.
-- @tab rows this player's row for each player, or nil if it sends nothing
-- @tab[opt] senders the ranks that send
-- @treturn table what this player received from each sender, in the order of
-- senders (its own row where it is one)
-- @local
function M:_exchange(rows, senders)
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

--- The public value of a 1-D share of degree < world_size.
-- @param share this player's share
-- @return the value, a field array
-- @local
function M:_open(share)
  return self.field:lincomb(self._lambda, self.communicator:allgather(share))
end

--- fn applied to consecutive chunks (1-D slices of at most
-- self:_chunk_elements() elements, row-major) of the arrays, which have the
-- same size.
-- @tab arrays one or two field arrays
-- @tab shape the result's shape
-- @func fn called with a chunk of each array, returns a chunk of the result
-- @return the results concatenated into an array of the given shape
-- @local
function M:_chunked(arrays, shape, fn)
  local n = arrays[1].size
  local chunk = self:_chunk_elements()
  if n <= chunk and arrays[1].ndim == 1 and #shape == 1 then
    return fn(arrays[1], arrays[2]) -- one chunk, already flat: no copies
  end
  local parts = {}
  local first = 1
  repeat
    local last = math.min(first + chunk - 1, n)
    -- Arrays of several chunks: collect the garbage (earlier chunks'
    -- temporaries, megabytes each) before making more, so that the peak
    -- stays near the live data. A full cycle visits few objects here (an
    -- array is one), a fraction of a millisecond against a chunk's work.
    if n > chunk then collectgarbage() end
    if #arrays == 1 then
      parts[#parts + 1] = fn(arrays[1]:slice(first, last))
    else
      parts[#parts + 1] = fn(arrays[1]:slice(first, last), arrays[2]:slice(first, last))
    end
    first = last + 1
  until first > n
  return self.field:concat(parts, shape)
end

--- The per-pair streams, made at the suite's first dealing (one round):
-- each player sends every other player a fresh 32-byte seed from the
-- suite's random stream.
-- @treturn table `out[j + 1]` makes the shares this player deals to j,
-- `from[j + 1]` the shares that j deals to this player
-- @local
function M:_pair_streams()
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

--- The weights that give, from the secret and the k - 1 drawn shares (in
-- rank order after the dealer), the share of target: Lagrange weights at 0
-- of the points {0, x_q...} shifted by -x_target.
-- @int dealer the dealer's rank
-- @int k the threshold of the dealt polynomial
-- @int target the rank whose share the weights give
-- @return the weights, a field array
-- @local
function M:_deal_weights(dealer, k, target)
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

--- One round: this player deals its secrets and receives every player's.
-- @tab secrets 1-D field arrays of one size
-- @tab ks the threshold of each secret's polynomial
-- @treturn table got, where `got[j + 1][i]` is this player's share of
-- player j's secret i
-- @local
function M:_deal(secrets, ks)
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

--- The sum over every dealer of its i-th dealt secret's shares.
-- @tab got as returned by _deal
-- @int i which secret
-- @param weights one weight per dealer (a field array)
-- @return a field array
-- @local
function M:_combine(got, i, weights)
  local column = {}
  for j, shares in ipairs(got) do column[j] = shares[i] end
  return self.field:lincomb(weights, column)
end

--- Shares of uniformly random field elements, the sum of one secret
-- contribution from every player. One round.
-- @int n how many
-- @return a 1-D share
-- @local
function M:_random_field(n)
  local got = self:_deal({self.field:uniform({n}, self._rng)}, {self.threshold})
  return self:_combine(got, 1, self._ones)
end

--- Degree reduction of a 1-D chunk h of degree 2t-2 shares: every player
-- shares its share with degree t-1; the Lagrange combination (weights at 0
-- over every player's index) of the sub-shares is a degree t-1 share of the
-- same secret. One round.
-- @param h a chunk of product shares
-- @return a chunk of degree t-1 shares
-- @local
function M:_reduce(h)
  local got = self:_deal({h}, {self.threshold})
  return self:_combine(got, 1, self._lambda)
end

--- One round in which only the players in dealers deal (secrets of the
-- given sizes, degree threshold - 1) and everyone receives: as _deal, with
-- the shares that a pair's stream can make drawn on both sides, but the
-- other players send nothing.
-- @tab secrets this player's 1-D arrays (sizes as given) if it is a
-- dealer, else nil
-- @tab sizes the size of each secret
-- @tab dealers the dealing ranks
-- @treturn table got, where `got[d][i]` is this player's share of secret
-- i of dealers[d]
-- @local
function M:_deal_from(secrets, sizes, dealers)
  local F, comm = self.field, self.communicator
  local n, me, k = comm.world_size, comm.rank, self.threshold
  local streams = self:_pair_streams()
  local mine
  if secrets then
    local outbox = {}
    for j = 1, n do outbox[j] = {} end
    mine = {}
    for i, secret in ipairs(secrets) do
      local terms = {secret}
      for d = 1, k - 1 do
        terms[d + 1] = F:uniform({sizes[i]}, streams.out[(me + d) % n + 1])
      end
      for m = 0, n - 1 do
        if not drawn(me, m, k, n) then
          local share = k == 1 and secret or F:lincomb(self:_deal_weights(me, k, m), terms)
          if m == me then mine[i] = share else local box = outbox[m + 1]; box[#box + 1] = share end
        end
      end
    end
    for m = 0, n - 1 do
      if m ~= me and #outbox[m + 1] > 0 then comm:_lib_send(outbox[m + 1], m, TAG) end
    end
  end
  local got = {}
  for d, j in ipairs(dealers) do
    if j == me then
      got[d] = mine
    else
      local shares, box, at = {}, nil, 0
      for i = 1, #sizes do
        if drawn(j, me, k, n) then
          shares[i] = F:uniform({sizes[i]}, streams.from[j + 1])
        else
          box = box or comm:_lib_recv(j, TAG)
          at = at + 1
          shares[i] = box[at]
        end
      end
      got[d] = shares
    end
  end
  return got
end

--- A random stream that exactly the players in members share, made at its
-- first use: the first member sends the others a fresh 32-byte seed (the
-- other players do nothing). Cached per list of members.
-- @tab members ranks in increasing order, this player among them
-- @return the stream (a core.rng)
-- @local
function M:_group_stream(members)
  self._group_streams = self._group_streams or {}
  local key = table.concat(members, ",")
  local stream = self._group_streams[key]
  if stream then return stream end
  local comm = self.communicator
  local seed
  if comm.rank == members[1] then
    seed = self._rng:bytes(32)
    for i = 2, #members do comm:_lib_send(seed, members[i], TAG) end
  else
    seed = comm:_lib_recv(members[1], TAG)
  end
  stream = core.rng(seed)
  self._group_streams[key] = stream
  return stream
end

return M
