-- Growing a world met through the rendezvous, as across hosts: the players
-- are started one by one with --rank and --root-address (on 127.0.0.1),
-- one is killed, the survivors grow with comm:grow{address=}, and a
-- newcomer started with `cicada-lua --join` takes the free rank and
-- recovers its share of a secret. Newcomers that cannot prove the token
-- are refused while the members keep waiting. In a TLS world the grown
-- world keeps the ranks certificates name: the killed player comes back
-- as itself with --rejoin, and a newcomer whose certificate plays another
-- rank, or no trusted one, is refused.
local support = require("support")

-- Every player runs this; arg[1] is where rank 0 of the members waits for
-- the newcomer, arg[2] how long (seconds).
local heal = [[
local cicada = require("cicada")
cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
local comm = cicada.connect()
local address, wait = arg[1], tonumber(arg[2])
if comm.joined then
  local indices = comm:broadcast(0, nil)
  local p = cicada.shamir.ProtocolSuite(comm, {threshold = 2, indices = indices})
  local share = p:recover(nil)
  print(("newcomer rank %d of %d in %s, newranks %s, index %d, secret %s"):format(comm.rank,
    comm.world_size, comm.name, table.concat(comm.newranks, ","), indices[comm.rank + 1],
    p:reveal(share)))
  return
end
local p = cicada.shamir.ProtocolSuite(comm, {threshold = 2})
local share = p:share(0, comm.rank == 0 and 42 or nil, {})
if comm.rank == 2 then cicada.inject.kill() end
pcall(comm.barrier, comm)
comm:revoke()
local shrunk, oldranks = comm:shrink{name = "shrunk"}
local ok, grown = pcall(shrunk.grow, shrunk, {count = 1, name = "healed", timeout = wait,
                                              address = address})
if not ok then
  print(("member %d: %s: %s"):format(shrunk.rank, cicada.errors.kind(grown) or "error",
                                     tostring(grown)))
  os.exit(3)
end
local indices = p:indices_for(oldranks)
indices[#indices + 1] = 3
grown:broadcast(0, indices)
local q = cicada.shamir.ProtocolSuite(grown, {threshold = 2, indices = indices})
local mine = q:recover(share)
print(("member rank %d of %d in %s, joined %s, secret %s"):format(grown.rank, grown.world_size,
  grown.name, tostring(grown.joined), q:reveal(mine)))
]]

local function token_file(text)
  local path = support.script(text .. "\n")
  os.execute("chmod 600 " .. support.shquote(path))
  return path
end

-- Start the three players of a world; return their handles, the script
-- and the address where the members will wait.
local function world(token, wait)
  local root = "tcp://127.0.0.1:" .. support.port()
  local address = "tcp://127.0.0.1:" .. support.port()
  local script = support.script(heal)
  local players = {}
  for r = 0, 2 do
    players[r] = support.start({"--rank", tostring(r), "-n", "3", "--root-address", root,
                                "--token-file", token, script, address, tostring(wait)})
  end
  return players, script, address
end

local function join(script, address, token_args, wait)
  local args = {"--join", address}
  for _, a in ipairs(token_args) do args[#args + 1] = a end
  args[#args + 1] = script
  args[#args + 1] = address
  args[#args + 1] = tostring(wait)
  return support.start(args)
end

describe("cicada-lua --join", function()
  after_each(support.cleanup)

  it("a newcomer takes the rank the dead player left and recovers its share of the secret", function()
    local token = token_file("the world's token")
    local players, script, address = world(token, 20)
    local rc, out = support.wait(join(script, address, {"--token-file", token}, 20), 60)
    assert.are.equal(0, rc, out)
    assert.matches("newcomer rank 2 of 3 in healed, newranks 2, index 3, secret 42.0", out, 1, true)
    for r = 0, 1 do
      local prc, pout = support.wait(players[r], 60)
      assert.are.equal(0, prc, pout)
      assert.matches(("member rank %d of 3 in healed, joined false, secret 42.0"):format(r), pout,
                     1, true)
    end
    local krc = support.wait(players[2], 60)
    assert.are_not.equal(0, krc)   -- killed
  end)

  it("refuses a newcomer with another token; the members wait on and seat the real one", function()
    local token = token_file("the world's token")
    local players, script, address = world(token, 20)
    local wrong = token_file("another token")
    local rc, out = support.wait(join(script, address, {"--token-file", wrong}, 20), 60)
    assert.are.equal(1, rc, out)
    assert.matches("token_mismatch: newcomer: the root says: it came to join without proving the "
                   .. "world's token", out, 1, true)
    rc, out = support.wait(join(script, address, {"--token-file", token}, 20), 60)
    assert.are.equal(0, rc, out)
    assert.matches("newcomer rank 2 of 3 in healed", out, 1, true)
    for r = 0, 1 do
      local prc, pout = support.wait(players[r], 60)
      assert.are.equal(0, prc, pout)
      assert.matches("secret 42.0", pout, 1, true)
    end
  end)

  it("the members raise startup_timeout, naming what was refused, when no valid newcomer comes", function()
    local token = token_file("the world's token")
    -- The members wait a second scaled by the slowdown (3 s in a plain
    -- build), long enough for the newcomer, started with them, to be
    -- refused first on a machine slowed by load or a sanitizer.
    local wait = support.seconds(1)
    local players, script, address = world(token, wait)
    local wrong = token_file("another token")
    local rc, out = support.wait(join(script, address, {"--token-file", wrong}, wait), 60)
    assert.are.equal(1, rc, out)
    for r = 0, 1 do
      local prc, pout = support.wait(players[r], 60)
      assert.are.equal(3, prc, pout)
      assert.matches(("member %d: startup_timeout: "):format(r), pout, 1, true)
      assert.matches("1 of 1 newcomers did not join", pout, 1, true)
      assert.matches("it came to join without proving the world's token", pout, 1, true)
    end
  end)

  it("checks its command line", function()
    local script = support.script("print('ran')")
    local rc, out = support.run_cli({"--join", "tcp://127.0.0.1:1", "-n", "2", script})
    assert.are.equal(2, rc, out)
    assert.matches("give it neither -n nor --rank", out, 1, true)
    rc, out = support.run_cli({"--join", "127.0.0.1:7000", script})
    assert.are.equal(2, rc, out)
    assert.matches("join address '127.0.0.1:7000' is not a URL", out, 1, true)
  end)

  it("comm:grow in a world met through the rendezvous asks for an address", function()
    local token = token_file("t")
    local root = "tcp://127.0.0.1:" .. support.port()
    local script = support.script([[
      local cicada = require("cicada")
      local comm = cicada.connect()
      local ok, err = pcall(comm.grow, comm, {count = 1})
      print(ok, err)
      ok, err = pcall(comm.grow, comm, {count = 1, address = "tcp://127.0.0.1"})
      print(ok, err)
    ]])
    local hs = {}
    for r = 0, 1 do
      hs[r] = support.start({"--rank", tostring(r), "-n", "2", "--root-address", root,
                            "--token-file", token, script})
    end
    for r = 0, 1 do
      local rc, out = support.wait(hs[r], 60)
      assert.are.equal(0, rc, out)
      local lines = support.lines(out)
      assert.matches("^false\t.*give address = \"tcp://HOST:PORT\"", lines[1])
      if r == 0 then
        assert.matches("^false\t.*bad option 'address'.*has no port", lines[2])
      end
    end
  end)
end)

-- The replace policy of cicada.recovery, healing through an address:
-- player 1 dies at iteration 1; arg[1] is the address, arg[2] the wait.
local healing = [[
local cicada = require("cicada")
cicada.logging.getLogger("cicada.communicator"):setLevel("CRITICAL")
local world = cicada.connect()
local shares = {}
local outcome = cicada.recovery.run(world, {
  threshold = 2,
  iterations = 4,
  setup = function(comm, old, oldranks, heal)
    local indices = heal and heal.indices or (old and old.protocol:indices_for(oldranks))
    return {protocol = cicada.shamir.ProtocolSuite(comm, {threshold = 2, indices = indices})}
  end,
  start = function(state)
    local mine = state.comm.rank == 0
    shares.total = state.protocol:share(0, mine and 0 or nil, {})
    shares.secret = state.protocol:share(0, mine and 42 or nil, {})
  end,
  replace = {size = 3, shares = function() return shares end,
             restore = function(_, recovered) shares = recovered end,
             address = arg[1], timeout = tonumber(arg[2])},
  step = function(state, iteration)
    local comm, p = state.comm, state.protocol
    if iteration == 1 and comm == world and not world.joined and world.rank == 1 then
      cicada.inject.kill()
    end
    local c = iteration % comm.world_size
    local total = p:add(shares.total, p:share(c, comm.rank == c and 1 or nil, {}))
    p:reveal(total)
    shares.total = total
  end,
})
local comm, p = outcome.comm, outcome.state.protocol
print(("rank %d of %d in %s, joined %s, newranks %s, total %s, secret %s"):format(comm.rank,
  comm.world_size, comm.name, tostring(world.joined), table.concat(comm.newranks, ","),
  p:reveal(shares.total), p:reveal(shares.secret)))
]]

describe("cicada-lua --rejoin in a TLS world", function()
  after_each(support.cleanup)

  it("brings the killed player back at its own rank; a member's or an untrusted certificate is refused", function()
    local dir, other = os.tmpname(), os.tmpname()
    os.remove(dir)
    os.remove(other)
    assert(os.execute("mkdir -p " .. support.shquote(dir) .. " " .. support.shquote(other)))
    for r = 0, 2 do assert.are.equal(0, (support.run_cli({"credentials", tostring(r), dir}))) end
    -- a key and certificate for rank 1 that nobody trusts
    assert.are.equal(0, (support.run_cli({"credentials", "1", other})))
    local trusted = ("%s/player-0.crt,%s/player-1.crt,%s/player-2.crt"):format(dir, dir, dir)
    local token = token_file("the world's token")
    local root = "tcp://127.0.0.1:" .. support.port()
    local address = "tcp://127.0.0.1:" .. support.port()
    local script = support.script(healing)
    local function tls(identity)
      return {"--token-file", token, "--identity", identity, "--trusted", trusted}
    end
    local players = {}
    for r = 0, 2 do
      local args = {"--rank", tostring(r), "-n", "3", "--root-address", root}
      for _, a in ipairs(tls(dir .. "/player-" .. r .. ".pem")) do args[#args + 1] = a end
      table.insert(args, script)
      table.insert(args, address)
      table.insert(args, "30")
      players[r] = support.start(args)
    end
    local function newcomer(flag, identity)
      local args = {flag, address}
      for _, a in ipairs(tls(identity)) do args[#args + 1] = a end
      table.insert(args, script)
      return support.wait(support.start(args), 60)
    end
    -- the certificate of player 2, a member
    local rc, out = newcomer("--join", dir .. "/player-2.pem")
    assert.are.equal(1, rc, out)
    assert.matches("encryption_failed: newcomer: the root says: it came with the certificate of "
                   .. "player 2, a rank that is not free in the grown world", out, 1, true)
    -- a certificate for rank 1 that is not trusted
    rc, out = newcomer("--join", other .. "/player-1.pem")
    assert.are.equal(1, rc, out)
    assert.matches("encryption_failed", out, 1, true)
    -- player 1, restarted with its own identity
    rc, out = newcomer("--rejoin", dir .. "/player-1.pem")
    assert.are.equal(0, rc, out)
    assert.matches("rank 1 of 3 in healed-1, joined true, newranks 1, total 4.0, secret 42.0", out,
                   1, true)
    for _, r in ipairs{0, 2} do
      local prc, pout = support.wait(players[r], 60)
      assert.are.equal(0, prc, pout)
      assert.matches(("rank %d of 3 in healed-1, joined false, newranks 1, total 4.0, secret 42.0")
                     :format(r), pout, 1, true)
    end
    os.execute("rm -rf " .. support.shquote(dir) .. " " .. support.shquote(other))
  end)

  it("in a world of -n: a member's certificate is refused, the world's identity takes the free rank", function()
    -- The players of a local TLS world share one identity (player 0's);
    -- a newcomer from outside the launcher comes with a certificate.
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
    for r = 0, 2 do assert.are.equal(0, (support.run_cli({"credentials", tostring(r), dir}))) end
    local trusted = ("%s/player-0.crt,%s/player-1.crt,%s/player-2.crt"):format(dir, dir, dir)
    local token = token_file("the world's token")
    local address = "tcp://127.0.0.1:" .. support.port()
    local script = support.script(healing)
    local launcher = support.start({"-n", "3", "--token-file", token, "--identity",
                                    dir .. "/player-0.pem", "--trusted", trusted, script, address,
                                    "30"})
    local function newcomer(identity)
      return support.wait(support.start({"--join", address, "--token-file", token, "--identity",
                                         identity, "--trusted", trusted, script}), 60)
    end
    -- player 1 died; the certificate of player 2, a member, cannot take its place
    local rc, out = newcomer(dir .. "/player-2.pem")
    assert.are.equal(1, rc, out)
    assert.matches("encryption_failed: newcomer: the root says: it came with the certificate of "
                   .. "player 2, a rank that is not free in the grown world", out, 1, true)
    rc, out = newcomer(dir .. "/player-0.pem")
    assert.are.equal(0, rc, out)
    assert.matches("rank 1 of 3 in healed-1, joined true, newranks 1, total 4.0, secret 42.0", out,
                   1, true)
    rc, out = support.wait(launcher, 60)
    os.execute("rm -rf " .. support.shquote(dir))
    assert.are.equal(1, rc, out)   -- player 1 was killed
    for _, r in ipairs{0, 2} do
      assert.matches(("rank %d of 3 in healed-1, joined false, newranks 1, total 4.0, secret 42.0")
                     :format(r), out, 1, true)
    end
    assert.matches("cicada-lua: player 1 (signal 9) failed", out, 1, true)
  end)

  it("--rejoin needs an identity", function()
    local rc, out = support.run_cli({"--rejoin", "tcp://127.0.0.1:1", support.script("")})
    assert.are.equal(2, rc, out)
    assert.matches("give it --identity and --trusted", out, 1, true)
  end)
end)
