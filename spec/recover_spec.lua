-- p:recover(share): players without a share (newcomers) get a valid one at
-- their own index from the holders, revealing nothing else; p:reshare then
-- makes the old shares useless.
local support = require("support")
local cicada = require("cicada")
local errors = require("cicada.errors")
local shamir = cicada.shamir

cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")

local run, run_all = support.run, support.run_all
local F = cicada.Field{order = require("cicada.field").SUITE_ORDER} -- the suites' default
local SECRET = {42, -7.5}

-- Every subset of size k of {0, ..., n - 1}, as lists of ranks.
local function subsets(n, k)
  local out = {}
  local function walk(from, chosen)
    if #chosen == k then
      out[#out + 1] = table.move(chosen, 1, k, 1, {})
      return
    end
    for r = from, n - 1 do
      chosen[#chosen + 1] = r
      walk(r + 1, chosen)
      chosen[#chosen] = nil
    end
  end
  walk(0, {})
  return out
end

-- The fixed-point value that the shares of the given ranks reconstruct.
local function open(shares, ranks, indices)
  local rows, xs = {}, {}
  for i, r in ipairs(ranks) do
    rows[i], xs[i] = shares[r + 1], indices[r + 1]
  end
  return F:decode_fixed(F:shamir_recover(F:stack(rows), xs), 16)
end

-- Check that every subset of k of the shares reconstructs SECRET.
local function assert_every_subset_opens(shares, k, indices)
  local all = subsets(#shares, k)
  for _, ranks in ipairs(all) do
    assert.are.same(SECRET, open(shares, ranks, indices),
                    "ranks {" .. table.concat(ranks, ", ") .. "}")
  end
  return #all
end

-- A world of n players with threshold k sharing SECRET from player 0; the
-- players in `lost` forget their share and recover it.
local function recover_in_world(n, k, lost)
  return run_all(n, function(comm, k_, lost_, secret)
    local p = shamir.ProtocolSuite(comm, {threshold = k_})
    local s = p:share(0, comm.rank == 0 and secret or nil, {2})
    local forget = false
    for _, r in ipairs(lost_) do forget = forget or r == comm.rank end
    local got = p:recover(not forget and s or nil)
    return {old = s, new = got, indices = p.indices, revealed = p:reveal(got)}
  end, {k, lost, SECRET})
end

describe("recover", function()
  it("gives player 3 of 4 (threshold 2) back its share, and any 2 players open the secret", function()
    local results = recover_in_world(4, 2, {3})
    local shares = {}
    for r = 0, 3 do
      local res = results[r + 1]
      assert.are.same(SECRET, res.revealed)
      -- A share recovered at the same index is the point of the same
      -- polynomial: exactly the lost share; the holders' are unchanged.
      assert.is_true(res.old == res.new, "player " .. r .. "'s share changed")
      shares[r + 1] = res.new
    end
    assert.are.equal(6, assert_every_subset_opens(shares, 2, results[1].indices))
  end)

  it("shows the newcomer only masked points, whose combination is its share", function()
    local results = run_all(4, function(comm, secret)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local s = p:share(0, comm.rank == 0 and secret or nil, {2})
      local seen = {}
      if comm.rank == 3 then
        -- Record every message of the suite's rounds that the newcomer gets.
        local methods = getmetatable(comm).__methods
        local recv = methods._lib_recv
        methods._lib_recv = function(c, src, tag)
          local value = recv(c, src, tag)
          seen[#seen + 1] = {src = src, value = value}
          return value
        end
      end
      local got = p:recover(comm.rank ~= 3 and s or nil)
      return {old = s, new = got, seen = seen}
    end, {SECRET})
    local seen = results[4].seen
    assert.are.equal(2, #seen) -- from the 2 dealers, players 0 and 1
    assert.are.same({0, 1}, {seen[1].src, seen[2].src})
    local points = {seen[1].value, seen[2].value}
    for i = 1, 2 do
      assert.is_false(points[i] == results[i].old, "player " .. (i - 1) .. " sent its share")
    end
    -- The points lie on a polynomial through the newcomer's share (at x = 4)
    -- that is not the secret's: at 0 it gives something else.
    assert.is_true(F:shamir_recover(F:stack(points), {1 - 4, 2 - 4}) == results[4].new)
    assert.are_not.same(SECRET, F:decode_fixed(F:shamir_recover(F:stack(points), {1, 2}), 16))
  end)

  it("recovers two shares at once in a world of 5 (threshold 3)", function()
    local results = recover_in_world(5, 3, {1, 4})
    local shares = {}
    for r = 0, 4 do
      assert.is_true(results[r + 1].old == results[r + 1].new, "player " .. r)
      shares[r + 1] = results[r + 1].new
    end
    assert.are.equal(10, assert_every_subset_opens(shares, 3, results[1].indices))
  end)

  it("gives newcomers shares at their own indices, whatever they are", function()
    -- Players 1 and 2 lost their shares and took new x-coordinates (the
    -- indices of the suite on the healed communicator differ from the
    -- first suite's at ranks 1 and 2).
    local results = run_all(4, function(comm, secret)
      local first = shamir.ProtocolSuite(comm, {threshold = 2, indices = {3, 5, 7, 11}})
      local s = first:share(2, comm.rank == 2 and secret or nil, {2})
      local healed = shamir.ProtocolSuite(comm, {threshold = 2, indices = {3, 17, 19, 11}})
      local got = healed:recover((comm.rank == 0 or comm.rank == 3) and s or nil)
      return {old = s, new = got, revealed = healed:reveal(got)}
    end, {SECRET})
    local shares = {}
    for r = 0, 3 do
      assert.are.same(SECRET, results[r + 1].revealed)
      shares[r + 1] = results[r + 1].new
    end
    assert.is_false(results[2].old == results[2].new)
    assert.are.equal(6, assert_every_subset_opens(shares, 2, {3, 17, 19, 11}))
  end)

  it("recovers matrices and scalars, and returns the shares when nobody lacks one", function()
    local results = run_all(3, function(comm)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local m = p:share(1, comm.rank == 1 and {{1, 2, 3}, {4, 5, 6}} or nil, {2, 3})
      local x = p:share(0, comm.rank == 0 and -2.25 or nil, {})
      local same = p:recover(x)
      return {matrix = p:reveal(p:recover(comm.rank ~= 2 and m or nil)),
              scalar = p:reveal(p:recover(comm.rank ~= 0 and x or nil)),
              unchanged = same == x}
    end)
    for _, r in ipairs(results) do
      assert.are.same({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, r.matrix)
      assert.are.equal(-2.25, r.scalar)
      assert.is_true(r.unchanged)
    end
  end)

  it("recovers arrays longer than one round (65,536 elements)", function()
    local n = 70000
    local results = run_all(3, function(comm, size)
      local p = shamir.ProtocolSuite(comm, {threshold = 2, encoding = cicada.encoding.Identity()})
      local secret = comm.rank == 0 and p.field:zeros{size} or nil
      if secret then
        for i = 1, size, 9999 do secret[i] = i end
      end
      local s = p:share(0, secret, {size})
      local got = p:recover(comm.rank ~= 1 and s or nil)
      local values = p:reveal(got)
      return {same = got == s, first = values[1], at = values[9999 * 7 + 1], last = values[size]}
    end, {n})
    for _, r in ipairs(results) do
      assert.is_true(r.same)
      assert.are.same({1, 9999 * 7 + 1, 0}, {r.first, r.at, r.last})
    end
  end)
end)

describe("reshare after recover", function()
  it("makes the old shares useless with the new ones", function()
    local results = run_all(4, function(comm, secret)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local s = p:share(0, comm.rank == 0 and secret or nil, {2})
      local recovered = p:recover(comm.rank ~= 3 and s or nil)
      return {old = s, new = p:reshare(recovered), indices = p.indices}
    end, {SECRET})
    local old, new = {}, {}
    for r = 0, 3 do
      old[r + 1], new[r + 1] = results[r + 1].old, results[r + 1].new
      assert.is_false(old[r + 1] == new[r + 1], "player " .. r .. "'s share was not refreshed")
    end
    local indices = results[1].indices
    assert.are.equal(6, assert_every_subset_opens(new, 2, indices))
    -- Player 3's old share (say it was stolen, or its first process comes
    -- back) with any new share opens something else.
    for r = 0, 2 do
      local mixed = {new[1], new[2], new[3], old[4]}
      assert.are_not.same(SECRET, open(mixed, {r, 3}, indices), "with player " .. r)
    end
    assert.are.same(SECRET, open(old, {0, 3}, indices))
  end)
end)

describe("cicada.recovery.recover_shares", function()
  it("gives two newcomers in a world of 5 (threshold 3) fresh shares of every listed secret", function()
    local results = run_all(5, function(comm, secret)
      local p = shamir.ProtocolSuite(comm, {threshold = 3})
      local held = {total = p:share(0, comm.rank == 0 and secret or nil, {2}),
                    key = p:share(1, comm.rank == 1 and 0.5 or nil, {})}
      local newcomer = comm.rank == 2 or comm.rank == 4
      local got = cicada.recovery.recover_shares(p, {"total", "key"}, not newcomer and held or nil)
      return {old = held.total, new = got.total, key = p:reveal(got.key), indices = p.indices}
    end, {SECRET})
    local shares = {}
    for r = 0, 4 do
      local res = results[r + 1]
      assert.are.equal(0.5, res.key)
      assert.is_false(res.old == res.new, "player " .. r .. "'s share was not refreshed")
      shares[r + 1] = res.new
    end
    assert.are.equal(10, assert_every_subset_opens(shares, 3, results[1].indices))
  end)

  it("needs a suite that can recover, and a list of names", function()
    local basic = shamir.BasicProtocolSuite(support.fake_comm(3), {threshold = 2})
    assert.has_error(function() cicada.recovery.recover_shares(basic, {"a"}) end,
      "bad argument #1 to 'recover_shares' (ProtocolSuite expected, got "
      .. "BasicProtocolSuite(world_size=3, threshold=2))")
    local p = shamir.ProtocolSuite(support.fake_comm(3), {threshold = 2})
    assert.has_error(function() cicada.recovery.recover_shares(p, {"a", 2}) end,
      "bad argument #2 to 'recover_shares' (name 2 is a number, not a string)")
    assert.has_error(function() cicada.recovery.recover_shares(p, {"a"}, 5) end,
      "bad argument #3 to 'recover_shares' (table of shares expected, got number)")
  end)
end)

describe("recover on a communicator that grew", function()
  -- Until comm:grow exists, a spare player stands in for a newcomer: the
  -- world has 5 players, the computation runs on the first 4; when player 2
  -- dies the survivors revoke, the world shrinks to the 3 survivors (in
  -- their order) and the spare after them, which is the communicator grow
  -- will return. The spare takes the dead player's x-coordinate.
  it("gives the player that replaces a dead one its share, and any 2 players open the secret", function()
    local results = run(5, function(world, secret)
      local spare = world.rank == 4
      local active = world:split(spare and "spare" or "active")
      local s, indices
      if spare then
        local ok, err = pcall(world.recv, world, 0, 1) -- woken by the revoke
        assert(not ok and errors.kind(err) == "revoked", tostring(err))
      else
        local p = shamir.ProtocolSuite(active, {threshold = 2})
        s = p:share(0, active.rank == 0 and secret or nil, {2})
        if active.rank == 2 then cicada.inject.kill() end
        assert(not pcall(p.reveal, p, s))
        active:revoke()
        world:revoke()
        indices = p.indices
      end
      local healed, oldranks = world:shrink{name = "healed"}
      -- The survivors keep their indices; the newcomer takes the free one.
      local q = shamir.ProtocolSuite(healed, {threshold = 2, indices = {1, 2, 4, 3}})
      local got = q:recover(s)
      return {share = got, same = got == s, oldranks = oldranks, indices = indices,
              revealed = q:reveal(got), name = healed.name}
    end, {args = {SECRET}})
    assert.is_true(errors.is_terminated(results[3]))
    local shares = {}
    for i, r in ipairs{0, 1, 3, 4} do
      local res = results[r + 1]
      assert.is_table(res, tostring(res))
      assert.are.same({0, 1, 3, 4}, res.oldranks)
      assert.are.equal("healed", res.name)
      assert.are.same(SECRET, res.revealed)
      shares[i] = res.share
    end
    assert.are.same({1, 2, 3, 4}, results[1].indices)
    assert.is_true(results[1].same and results[2].same and results[4].same)
    assert.are.equal(6, assert_every_subset_opens(shares, 2, {1, 2, 4, 3}))
  end)
end)

describe("recover under failures", function()
  it("leaves the survivors an error to catch and their shares intact when the newcomer dies", function()
    local results = run(4, function(comm, secret)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local s = p:share(0, comm.rank == 0 and secret or nil, {2})
      if comm.rank == 3 then
        cicada.inject.kill() -- the newcomer dies instead of recovering
      end
      local ok, err = pcall(p.recover, p, s)
      local kind = not ok and errors.kind(err) or "none"
      comm:revoke()
      local newcomm, oldranks = comm:shrink{}
      local q = shamir.ProtocolSuite(newcomm, {threshold = 2, indices = p:indices_for(oldranks)})
      return {kind = kind, revealed = q:reveal(s), size = newcomm.world_size}
    end, {args = {SECRET}})
    assert.is_true(errors.is_terminated(results[4]))
    local failed = 0
    for r = 0, 2 do
      local res = results[r + 1]
      assert.is_table(res, tostring(res))
      assert.are.same(SECRET, res.revealed)
      assert.are.equal(3, res.size)
      -- The players that waited for the newcomer saw it fail; a player that
      -- waited only for another survivor saw that survivor revoke.
      assert.is_true(res.kind == "peer_failed" or res.kind == "revoked", res.kind)
      if res.kind == "peer_failed" then failed = failed + 1 end
    end
    assert.is_true(failed >= 1)
  end)

  it("lets the survivors shrink and recover again when a dealer dies half-way", function()
    local results = run(4, function(comm, secret)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local s = p:share(0, comm.rank == 0 and secret or nil, {2})
      local lost = comm.rank == 3
      if comm.rank == 1 then
        -- Player 1 (with 0, one of the first 2 holders, who deal) takes
        -- part in recover's first step, which says who holds a share, and
        -- dies before it deals.
        comm:allgather(s.shape)
        cicada.inject.kill()
      end
      local ok, err = pcall(p.recover, p, not lost and s or nil)
      if ok then ok, err = pcall(p.reveal, p, err) end -- a holder that did not deal
      local kind = not ok and errors.kind(err) or "none"
      comm:revoke()
      local newcomm, oldranks = comm:shrink{name = "healed"}
      local q = shamir.ProtocolSuite(newcomm, {threshold = 2, indices = p:indices_for(oldranks)})
      local got = q:recover(not lost and s or nil)
      return {kind = kind, revealed = q:reveal(got), same = got == s, oldranks = oldranks}
    end, {args = {SECRET}})
    assert.is_true(errors.is_terminated(results[2]))
    for _, r in ipairs{0, 2, 3} do
      local res = results[r + 1]
      assert.is_table(res, tostring(res))
      assert.are.same({0, 2, 3}, res.oldranks)
      assert.is_true(res.kind == "peer_failed" or res.kind == "revoked", res.kind)
      assert.are.same(SECRET, res.revealed)
      assert.is_true(res.same, "player " .. r .. " holds another share")
    end
  end)
end)

describe("recover's argument errors", function()
  it("says at every player that too few players hold a share", function()
    local results = run_all(4, function(comm)
      local p = shamir.ProtocolSuite(comm, {threshold = 3})
      local s = p:share(0, comm.rank == 0 and 1 or nil, {})
      local ok, err = pcall(p.recover, p, comm.rank < 2 and s or nil)
      return {ok = ok, err = tostring(err)}
    end)
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.matches("recover_spec.lua:%d+: bad argument #1 to 'recover' %(2 of 4 players hold a share "
                     .. "%(ranks {0, 1}%); recovering needs at least threshold 3%)", r.err)
    end
  end)

  it("says at every player that the shapes differ", function()
    local results = run_all(4, function(comm)
      local p = shamir.ProtocolSuite(comm, {threshold = 2})
      local share = comm.rank < 3 and p.field:zeros{comm.rank == 2 and 3 or 2} or nil
      local ok, err = pcall(p.recover, p, share)
      return {ok = ok, err = tostring(err)}
    end)
    for _, r in ipairs(results) do
      assert.is_false(r.ok)
      assert.matches("bad argument #1 to 'recover' %(shares have different shapes: "
                     .. "{2} at player 0, {3} at player 2%)", r.err)
    end
  end)

  it("rejects what is not a share of the suite's field", function()
    local p = shamir.ProtocolSuite(support.fake_comm(3), {threshold = 2})
    assert.has_error(function() p:recover(5) end,
      "bad argument #1 to 'recover' (share (field array) expected, got number)")
    local G = cicada.Field{order = 7}
    assert.has_error(function() p:recover(G:zeros{2}) end,
      "bad argument #1 to 'recover' (share of another field)")
  end)
end)
