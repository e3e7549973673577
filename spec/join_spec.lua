-- Growing a world met through the rendezvous, as across hosts: the players
-- are started one by one with --rank and --root-address (on 127.0.0.1),
-- one is killed, the survivors grow with comm:grow{address=}, and a
-- newcomer started with `cicada-lua --join` takes the free rank and
-- recovers its share of a secret. Newcomers that cannot prove the token
-- are refused while the members keep waiting.
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
    local players, script, address = world(token, 3)
    local wrong = token_file("another token")
    local rc, out = support.wait(join(script, address, {"--token-file", wrong}, 3), 60)
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
