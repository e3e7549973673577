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
-- (when the value's shares have degree n - 1, a product among 2t - 1
-- players, u_i goes into player i's revealed share of c whole, under
-- pairwise masks that cancel in the sum, instead of being shared: see
-- _truncation_plan), where m is the number of
-- contributions (n, or n + 1 with player 0 giving
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
local core = require("cicada.core")

local M = {}

-- Library tag of the suite's all-to-all rounds (as cicada.shamir.dealing).
local TAG = core.tags.RESHARE

--- The public parameters for truncating `bits` bits among n players.
-- With c < 2^(L-1) + uniforms * 2^mask_bits <= 2^L the masked value never
-- wraps around p. Cached per suite and bits.
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
  local key = "truncation/" .. bits
  local T = self._weights[key]
  if T then return T end
  -- Powers of two as 0-d field arrays: in a 128-bit field they exceed Lua
  -- integers.
  local F = self.field
  local shift = F:power(2, L - 2)
  T = {
    uniforms = uniforms,
    bound = F:power(2, mask_bits),
    shift = shift,
    correction = F:add(F:shift_right(shift, bits), (uniforms - 1) // 2),
  }
  self._weights[key] = T
  return T
end

-- True when rank's share of a degree k - 1 polynomial dealt by dealer is
-- drawn from their pair's stream (cicada.shamir.dealing).
local function drawn(dealer, rank, k, n)
  local after = (rank - dealer) % n
  return after >= 1 and after <= k - 1
end

--- Arrays of n elements of the suite's field, by name, kept from call to
-- call: the truncation's temporaries live here instead of in fresh arrays
-- per chunk, so that a long array's chunks reuse memory already touched.
-- Two sets of each size (slot 1 and 2: consecutive chunks in flight at
-- once) of two sizes are kept (a long array's chunks and its last one).
-- What is sent from here is encoded (copied) as it is sent, but for the
-- message `cmsg`, which is written over only once no send holds it.
-- @int n the elements of each array
-- @int[opt] slot 1 (default) or 2
-- @treturn table the arrays by name, made at first use
-- @local
function M:_scratch(n, slot)
  slot = slot or 1
  local sets = self._scratch_sets
  if sets == nil then
    sets = {}
    self._scratch_sets = sets
  end
  for i, set in ipairs(sets) do
    if set.n == n and set.slot == slot then
      if i > 1 then table.remove(sets, i); table.insert(sets, 1, set) end
      return set.arrays
    end
  end
  local F = self.field
  local arrays = setmetatable({}, {__index = function(t, name)
    local a = F:zeros{n}
    rawset(t, name, a)
    return a
  end})
  table.insert(sets, 1, {n = n, slot = slot, arrays = arrays})
  sets[5] = nil
  return arrays
end

--- Who deals what to whom in a truncation of degree k - 1 shares, worked
-- out once per suite and k: the dealing of {u, high} with thresholds
-- {k, t} (as cicada.shamir.dealing's _deal), whose shares for the players
-- after the dealer come from the pairs' streams; for k = n (`scaled`),
-- u's pairwise masks in place of its dealing.
-- @int k the degree of the truncated shares, plus one
-- @treturn table `sends`, per player this one sends to: its rank and the
-- weights of its share of u (or false) and of high (or false); `draws`,
-- per other dealer whose shares for this player come from their stream:
-- the stream, whether u's and high's do, and the scratch names they go
-- to; `recvs`, per dealer that sends: its rank and whether the message
-- holds u's share; `uout`, `hout` and `uname`, `hname`: the streams of
-- the terms of this player's polynomials (for `scaled`, of its pairwise
-- masks) and their scratch names; `cw`, `hw`: the
-- weights of the masked share's terms and of the mask's high part; `pw`
-- and `ow`, the weights of the product and of the revealed shares; `zw`,
-- for threshold 2, the weights that make the high polynomial's slope
-- @local
function M:_truncation_plan(k)
  local key = "plan/" .. k
  local plan = self._weights[key]
  if plan then return plan end
  local F, comm = self.field, self.communicator
  local size, me, t = comm.world_size, comm.rank, self.threshold
  local streams = self:_pair_streams()
  plan = {sends = {}, draws = {}, recvs = {}, uname = {}, hname = {}, uout = {}, hout = {}}
  -- Threshold 2 in a field wider than 64 bits: the high parts' shares from
  -- their polynomials' slopes (below). In 64-bit fields a full product
  -- costs little more than a small one, and the slope's extra pass
  -- measured slower than the interpolation's weights.
  local slope = t == 2 and F.bits > 64
  -- Shares of degree size - 1 (a product among 2t - 1 players): the
  -- masked value is revealed as a plain sum of scaled shares, and u is
  -- added to it through pairwise masks (below).
  local scaled = k == size
  if scaled then
    -- One draw z per pair of players, from the lower rank's stream to the
    -- higher: this player draws those for the players after it.
    for d = 1, size - 1 do
      local j = (me + d) % size
      if j > me then
        plan.uname[#plan.uname + 1] = "u" .. d
        plan.uout[#plan.uout + 1] = streams.out[j + 1]
      end
    end
  else
    for d = 1, k - 1 do
      plan.uname[d] = "u" .. d
      plan.uout[d] = streams.out[(me + d) % size + 1]
    end
  end
  for d = 1, t - 1 do
    plan.hname[d] = "h" .. d
    plan.hout[d] = streams.out[(me + d) % size + 1]
  end
  for j = 0, size - 1 do
    if j ~= me then
      local du, dh = drawn(me, j, k, size), drawn(me, j, t, size)
      if not (du and dh) then
        plan.sends[#plan.sends + 1] = {
          rank = j,
          u = not du and self:_deal_weights(me, k, j),
          high = not dh and (slope and F:array{1, self.indices[j + 1]}
                             or self:_deal_weights(me, t, j)),
        }
      end
      local ru, rh = drawn(j, me, k, size), drawn(j, me, t, size)
      -- Scaled: the pair's z from the stream of a player before this one
      -- (and no share of u travels).
      if scaled then ru = j < me end
      if ru or rh then
        plan.draws[#plan.draws + 1] = {stream = streams.from[j + 1], u = ru, high = rh,
                                        uname = "fu" .. j, hname = "fh" .. j}
      end
      if scaled then
        if not rh then plan.recvs[#plan.recvs + 1] = {rank = j, u = false} end
      elseif not (ru and rh) then
        plan.recvs[#plan.recvs + 1] = {rank = j, u = not ru}
      end
    end
  end
  -- The weights of this player's share of its own polynomial's terms, then
  -- 1 for each other dealer's share (drawn first, then received).
  local ones = F:ones{size - 1}
  if slope then
    -- The high part's polynomials have degree 1: g(x) = high + x z. The
    -- stream's draw e for the next player stands for its share x_next e
    -- (as uniform as e), so that z = e - high / x_next, and every share
    -- is high + x z, small weights instead of the interpolation's
    -- full-width ones: one product by 1 / x_next per element remains.
    local x = self.indices[me + 1]
    local xn = self.indices[(me + 1) % size + 1]
    plan.zw = F:concat{F:ones{1}, F:negative(F:inverse(F:array{xn}))}
    local hw = {1, x}
    for _, draw in ipairs(plan.draws) do
      if draw.high then hw[#hw + 1] = x end
    end
    for _ = 1, #plan.recvs do hw[#hw + 1] = 1 end
    plan.hw = F:array(hw)
  else
    plan.hw = F:concat{self:_deal_weights(me, t, me), ones}
  end
  if scaled then
    -- Shares of degree size - 1 (a product among 2t - 1 players): the
    -- reveal needs every share. Each player reveals its share of c times
    -- its Lagrange weight, so that c is the plain sum of what is revealed,
    -- without the interpolation's full-width weights, and adds its whole
    -- contribution u, masked by pairwise masks that cancel in the sum: for
    -- each pair of players one draw z from their stream, added by the
    -- lower rank and subtracted by the higher. A coalition of up to t - 1
    -- players learns of another player's revealed value only what c
    -- tells: the masks of the pairs of players outside it are uniform and
    -- unknown to it. (As a dealing of u with the scaled shares drawn, one
    -- from each stream, the draws would only add up to one uniform mask
    -- per pair, at twice the draws.) The public shift rides in player 0's
    -- value. In the 64-bit field the product's weight costs one more
    -- machine product, less than the draws and the reveal's products it
    -- saves (9% less CPU for 10,000 products).
    plan.scaled = true
    local lower = 0
    for _, draw in ipairs(plan.draws) do
      if draw.u then lower = lower + 1 end
    end
    plan.cw = F:concat{F:ones{1 + #plan.uname}, F:negative(F:ones{lower})}
    plan.pw = self._lambda:slice(me + 1, me + 1)
    plan.ow = F:ones{size}
    if size == 3 and t == 2 and F.bits <= 64 then
      -- 3 players in a 64-bit field: the high part's shares from the slope
      -- of its polynomial, as above but in one pass with the shift and the
      -- sum of this player's terms (F:_high_shares_into), so that the
      -- unmask adds two terms instead of two products and two terms. The
      -- shares are the interpolation's, element for element.
      local x = self.indices[me + 1]
      plan.fused = {
        inv = F:inverse(F:array{self.indices[(me + 1) % size + 1]}),
        xsend = F:array{self.indices[plan.sends[1].rank + 1]},
        xme = F:array{x},
      }
      plan.hw = F:ones{2}
    end
  else
    plan.cw = F:concat{self:_deal_weights(me, k, me), ones}
    plan.ow = self._lambda
  end
  self._weights[key] = plan
  return plan
end

-- The end of _truncate_start: c = h + r + shift is public, and this
-- player's share of it is made in one pass (its own share of u from the
-- polynomial's terms, the others' as drawn or received) straight into the
-- message that travels (kept with the scratch, written over once its last
-- send is done), then revealed.
local function masked_share(self, h, b, at, n, T, S, ahead, plan, uterms, hterms)
  local F, comm = self.field, self.communicator
  local c
  if plan.scaled then
    c = F:_mul_lincomb_message(rawget(S, "cmsg"), n, h, b, at, plan.cw, uterms,
                               comm.rank == 0 and T.shift or 0, plan.pw)
    -- sent now (ahead), to each other player on the dealing's tag, after
    -- the shares of high: the receivers take them in that order
    if ahead then
      for j = 0, comm.world_size - 1 do
        if j ~= comm.rank then comm:_lib_send(c, j, TAG) end
      end
    end
  else
    c = F:_mul_lincomb_message(rawget(S, "cmsg"), n, h, b, at, plan.cw, uterms, T.shift)
  end
  rawset(S, "cmsg", c)
  return {plan = plan, c = c, hterms = hterms, ahead = ahead}
end

--- Start the truncation of elements at..at+n-1 of h (times the same
-- elements of b, when b is given), shares of degree k - 1 (k = t for a
-- share, 2t - 1 for a product of two): floor(h / 2^bits) plus the random
-- carry. Two rounds: the mask contributions (a dealing, as
-- cicada.shamir.dealing's _deal of {u, high} with thresholds {k, t}: the
-- same streams, draws and messages; for k = n, u under pairwise masks
-- instead of dealt: _truncation_plan), then the reveal of the masked
-- value. This draws the mask, sends this player's shares of it, makes its
-- share of the masked value (the product, the mask's sum and the public
-- shift in one pass) and, with `ahead` (for k = n only), sends it to every
-- other player: _truncate_finish receives the rest and writes the result.
-- For k = n nothing is received here, so that the next chunk's start may
-- come before this one's finish (its messages travel while this chunk is
-- unmasked; the receives take each sender's messages in the order sent).
-- @param h the shares to truncate (or the first factor)
-- @param b the second factor, or nil
-- @int at the first element (1-based)
-- @int n how many elements
-- @int k the degree of the shares (of the product), plus one
-- @int bits how many bits to truncate
-- @tab T the parameters from _truncation_params
-- @param S the scratch arrays (_scratch) this chunk's temporaries go to
-- @bool ahead send the share of the masked value now, point to point
-- (k = n only), instead of in _truncate_finish's allgather
-- @treturn table what _truncate_finish needs
-- @local
function M:_truncate_start(h, b, at, n, k, bits, T, S, ahead)
  local F, comm = self.field, self.communicator
  local plan = self:_truncation_plan(k)
  -- This player's contribution u to the mask r, and u's high part.
  local u, high = S.u, S.high
  F:uniform_below_into(u, T.bound, self._rng)
  if plan.fused then return self:_truncate_start3(h, b, at, n, bits, T, S, ahead, plan, u) end
  F:shift_right_into(high, u, bits)
  if T.uniforms > comm.world_size and comm.rank == 0 then
    local u2, high2 = S.u2, S.high2
    F:uniform_below_into(u2, T.bound, self._rng)
    F:shift_right_into(high2, u2, bits)
    local pair = F:ones{2}
    F:lincomb_into(high, pair, {high, high2})
    F:lincomb_into(u, pair, {u, u2})
  end
  -- u is dealt with the degree of h, so that h + r is a random polynomial
  -- of that degree apart from its value at 0; high with degree t - 1. The
  -- shares of the players after this one come from the pairs' streams
  -- (u's draw first, then high's, on each stream).
  local uterms, hterms = {u}, {high}
  for d, name in ipairs(plan.uname) do
    uterms[d + 1] = F:uniform_into(S[name], plan.uout[d])
  end
  for d, name in ipairs(plan.hname) do
    hterms[d + 1] = F:uniform_into(S[name], plan.hout[d])
  end
  if plan.zw then F:lincomb_into(hterms[2], plan.zw, {hterms[2], high}) end
  -- (the messages are encoded as they are sent: the shares may be made in
  -- scratch, one per receiver; a share of high alone travels as a bare
  -- vector, which its receiver reads where it arrived: unmask_into below)
  for i, send in ipairs(plan.sends) do
    if send.u then
      local box = {F:lincomb_into(S["su" .. i], send.u, uterms)}
      if send.high then box[2] = F:lincomb_into(S["sh" .. i], send.high, hterms) end
      comm:_lib_send(box, send.rank, TAG)
    else
      comm:_lib_send(F:lincomb_into(S["sh" .. i], send.high, hterms), send.rank, TAG)
    end
  end
  -- The other dealers' shares for this player: drawn from the streams
  -- while their messages travel, then received: those with a share of u
  -- now, those of the high part only after the reveal's round
  -- (_truncate_finish), so that both rounds' messages travel at once.
  for _, draw in ipairs(plan.draws) do
    if draw.u then uterms[#uterms + 1] = F:uniform_into(S[draw.uname], draw.stream) end
    if draw.high then hterms[#hterms + 1] = F:uniform_into(S[draw.hname], draw.stream) end
  end
  for _, recv in ipairs(plan.recvs) do
    if recv.u then
      local box = comm:_lib_recv(recv.rank, TAG)
      uterms[#uterms + 1] = box[1]
      hterms[#hterms + 1] = box[2]
    end
  end
  return masked_share(self, h, b, at, n, T, S, ahead, plan, uterms, hterms)
end

--- _truncate_start for a product among 3 players in a 64-bit field
-- (`plan.fused`): the same draws from the same streams, shares and
-- messages, the high part's shares made in one pass with its shift.
-- @local
function M:_truncate_start3(h, b, at, n, bits, T, S, ahead, plan, u)
  local F, comm = self.field, self.communicator
  -- the pairwise masks this player draws for the players after it, then
  -- (on the stream to the next player, after its mask if any) the next
  -- player's share of the high part
  local uterms = {u}
  for d, name in ipairs(plan.uname) do
    uterms[d + 1] = F:uniform_into(S[name], plan.uout[d])
  end
  local e = F:uniform_into(S.h1, plan.hout[1])
  -- the pairwise masks of the players before this one and the previous
  -- player's share of its high part for this one, from their streams
  local y
  for _, draw in ipairs(plan.draws) do
    if draw.u then uterms[#uterms + 1] = F:uniform_into(S[draw.uname], draw.stream) end
    if draw.high then y = F:uniform_into(S[draw.hname], draw.stream) end
  end
  local fused = plan.fused
  local send, own = F:_high_shares_into(S.sh1, S.own, u, e, y, bits, fused.inv,
                                        fused.xsend, fused.xme)
  comm:_lib_send(send, plan.sends[1].rank, TAG)
  return masked_share(self, h, b, at, n, T, S, ahead, plan, uterms, {own})
end

--- Finish a truncation begun by _truncate_start: reveal the masked value
-- (or, when they were sent ahead, receive the shares sent to this
-- player), receive the shares
-- of the mask's high part that travel alone, and write floor(c / 2^bits)
-- - correction - r_high into elements at.. of result (the reveal's
-- combination, the shift right and the subtraction of the mask's high
-- part in one pass).
-- @param result the array the truncated shares go to
-- @int at the first element (1-based)
-- @tab state what _truncate_start returned
-- @int bits how many bits to truncate
-- @tab T the parameters from _truncation_params
-- @local
function M:_truncate_finish(result, at, state, bits, T)
  local F, comm = self.field, self.communicator
  local plan, hterms = state.plan, state.hterms
  local cs
  if state.ahead then
    -- (the shares of high alone first: each sender sent its share of
    -- high before its share of c)
    for _, recv in ipairs(plan.recvs) do
      if not recv.u then hterms[#hterms + 1] = comm:_lib_recv_payload(recv.rank, TAG) end
    end
    cs = {}
    for j = 0, comm.world_size - 1 do
      cs[j + 1] = j == comm.rank and state.c or comm:_lib_recv_payload(j, TAG)
    end
  else
    -- the shares are unmasked where they arrived (unmask_into reads the
    -- messages and checks them as a decoding would)
    cs = comm:_allgather_payloads(state.c)
    -- (the shares of high alone stay in their messages, which unmask_into
    -- reads, checks and releases)
    for _, recv in ipairs(plan.recvs) do
      if not recv.u then hterms[#hterms + 1] = comm:_lib_recv_payload(recv.rank, TAG) end
    end
  end
  -- floor(c / 2^bits) - correction - r_high, r_high the sum of the dealt
  -- high parts, is floor(h / 2^bits) plus the carry of the low bits.
  F:unmask_into(result, at, plan.ow, cs, bits, T.correction, plan.hw, hterms)
end

-- Elements per round of a truncation (and so of multiply, dot, matvec):
-- its temporaries are kept from call to call, so that smaller rounds than
-- the other operations' (cicada.shamir.dealing) cost no allocations, and
-- they keep a chunk's dozen arrays (256 KB each) nearer the caches and the
-- peak memory lower: in the 64-bit field, a million products took about 5%
-- less CPU with 32,768-element rounds than with 65,536, and their peak
-- resident set 6 MB less. Fields wider than 64 bits keep 16,384.
local TRUNCATION_CHUNK_ELEMENTS = 1 << 15

-- Elements per round of a product among 2t - 1 players longer than one
-- round, in the 64-bit field, whose rounds overlap (_truncate_all): two
-- rounds' temporaries are live at once, and rounds of 32,768 elements
-- overlapped took about 20% more CPU than 8,192 (the caches: a round's
-- dozen arrays of 64 KB instead of 256 KB), 8,192 as little as rounds
-- of 32,768 that do not overlap. In wider fields the overlap measured
-- slower (8,192 or 16,384 elements): their rounds run one at a time.
local OVERLAP_CHUNK_ELEMENTS = 1 << 13

-- The growth of the Lua heap (KB) between chunks of a long truncation
-- that makes the next chunk wait for a full collection.
local GARBAGE_KB = 1024

--- The elements per round of a truncation in this suite's field.
-- @local
function M:_truncation_chunk_elements()
  return math.min(TRUNCATION_CHUNK_ELEMENTS, self:_chunk_elements())
end

--- Truncate the array h of degree k - 1 shares (or the element-wise
-- product of h and b), chunk by chunk, into a new array.
-- @param h the shares
-- @int k the degree of h's shares (or of the product's), plus one
-- @int bits how many bits to truncate
-- @tab shape the result's shape
-- @string fname the operation's name, for errors
-- @param[opt] b the second factor of a product, shaped like h
-- @return the truncated shares
-- @local
function M:_truncate_all(h, k, bits, shape, fname, b)
  local T = self:_truncation_params(bits, fname)
  local n, chunk = h.size, self:_truncation_chunk_elements()
  -- Arrays of several chunks: collect the garbage (what the caller dropped,
  -- earlier chunks' messages) before making more, so that the peak stays
  -- near the live data. A full cycle visits few objects here (an array is
  -- one), a fraction of a millisecond against a chunk's work.
  -- Between chunks, a full collection once the heap has grown by
  -- GARBAGE_KB since the last: a chunk leaves little garbage (its
  -- temporaries are scratch, its revealed messages and the high-part
  -- shares received alone released as read), the largest pieces the
  -- received boxes of u's and high's shares when u's are dealt.
  local last
  if n > chunk then
    collectgarbage()
    last = collectgarbage("count")
  end
  -- every element is written by one chunk's unmask_into
  local result = self.field:_unfilled(shape)
  -- For k = n, more than one chunk and the 64-bit field, the next chunk
  -- starts (its mask drawn, its messages sent) before this one finishes,
  -- so that no player waits idle for the others' shares while there is
  -- work: two sets of scratch, used in turn, in chunks of
  -- OVERLAP_CHUNK_ELEMENTS. Otherwise a chunk's start receives (or a
  -- single chunk has nothing to overlap: one allgather costs less than
  -- the sends and receives one at a time), and each chunk runs alone.
  local overlap = n > chunk and self.field.bits <= 64 and self:_truncation_plan(k).scaled
  if overlap then chunk = math.min(chunk, OVERLAP_CHUNK_ELEMENTS) end
  local at, slot, pending, pending_at = 1, 1, nil, nil
  while at <= n do
    local m = math.min(chunk, n - at + 1)
    if at > 1 and collectgarbage("count") - last > GARBAGE_KB then
      collectgarbage()
      last = collectgarbage("count")
    end
    local state = self:_truncate_start(h, b, at, m, k, bits, T, self:_scratch(m, slot), overlap)
    if pending then self:_truncate_finish(result, pending_at, pending, bits, T) end
    if overlap then
      pending, pending_at, slot = state, at, 3 - slot
    else
      self:_truncate_finish(result, at, state, bits, T)
    end
    at = at + m
  end
  if pending then self:_truncate_finish(result, pending_at, pending, bits, T) end
  return result
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
