-- Mutual TLS between players: credentials made by `cicada-lua
-- credentials`, worlds that compute and recover over TLS, and players
-- refused for an untrusted certificate or for speaking plaintext.
local cicada = require("cicada")
local errors = require("cicada.errors")
local support = require("support")

local dir

local function cred(r) return ("%s/player-%d.pem"):format(dir, r) end
local function cert(r) return ("%s/player-%d.crt"):format(dir, r) end
local function trusted(n)
  local t = {}
  for r = 0, n - 1 do t[#t + 1] = cert(r) end
  return table.concat(t, ",")
end

-- The startup timeout of the players of a world where one is refused:
-- every other player waits it out. A second scaled by the slowdown, for
-- the players, started one after another, to reach the root; and where
-- the refused player speaks plaintext, 2 s more: the root waits that long
-- for a newcomer to begin its handshake before it tells it that the world
-- speaks TLS, and only until its own startup timeout ends.
local REFUSED = support.seconds(1)
local PLAINTEXT_REFUSED = 2 + REFUSED

-- A player's script; arg[1], when given, is its startup timeout (else the
-- long one of CICADA_STARTUP_TIMEOUT).
local compute = [[
local cicada = require("cicada")
local comm = cicada.connect{startup_timeout = tonumber(arg[1])}
local all = comm:allgather(comm.rank * 10)
print(("player %d of %d got %s"):format(comm.rank, comm.world_size, table.concat(all, ",")))
]]

-- Start one --rank process per entry of `who` ({rank=, identity=, trusted=}
-- or {rank=} for plaintext), with startup timeout `startup` (nil: the long
-- one), and wait for all of them.
local function world(n, who, startup)
  local root = "tcp://127.0.0.1:" .. support.port()
  local script = support.script(compute)
  local hs = {}
  for _, w in ipairs(who) do
    local args = {"--rank", tostring(w.rank), "-n", tostring(n), "--root-address", root}
    if w.identity then
      for _, a in ipairs{"--identity", w.identity, "--trusted", w.trusted} do args[#args + 1] = a end
    end
    args[#args + 1] = script
    args[#args + 1] = startup and tostring(startup) or nil
    hs[w.rank] = support.start(args)
  end
  local rcs, outs = {}, {}
  for r = 0, n - 1 do rcs[r], outs[r] = support.wait(hs[r]) end
  return rcs, outs
end

describe("TLS", function()
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
    for _, r in ipairs{0, 1, 2, 7} do
      local rc, out = support.run_cli({"credentials", tostring(r), dir})
      assert.equal(0, rc, out)
    end
  end)
  teardown(function() os.execute("rm -rf " .. support.shquote(dir)) end)
  after_each(support.cleanup)

  it("credentials writes a private identity and a certificate naming the rank", function()
    local f = assert(io.open(cred(1)))
    local pem = f:read("a")
    f:close()
    assert.matches("BEGIN PRIVATE KEY", pem, 1, true)
    assert.matches("BEGIN CERTIFICATE", pem, 1, true)
    local p = io.popen("stat -c %a " .. support.shquote(cred(1)))
    assert.equal("600", p:read("l"))
    p:close()
    p = io.popen("openssl x509 -noout -subject -in " .. support.shquote(cert(1)) .. " 2>&1")
    local subject = p:read("a")
    p:close()
    if subject:match("subject") then assert.matches("cicada player 1", subject, 1, true) end
  end)

  it("three players on TLS links compute together", function()
    local rcs, outs = world(3, {
      {rank = 2, identity = cred(2), trusted = trusted(3)},
      {rank = 0, identity = cred(0), trusted = trusted(3)},
      {rank = 1, identity = cred(1), trusted = trusted(3)},
    })
    for r = 0, 2 do
      assert.equal(0, rcs[r], outs[r])
      assert.matches(("player %d of 3 got 0,10,20"):format(r), outs[r], 1, true)
    end
  end)

  it("refuses a player whose certificate is not trusted at the rendezvous, naming it", function()
    local rcs, outs = world(3, {
      {rank = 0, identity = cred(0), trusted = trusted(3)},
      {rank = 1, identity = cred(1), trusted = trusted(3)},
      {rank = 2, identity = cred(7), trusted = trusted(3)},
    }, REFUSED)
    for r = 0, 2 do
      assert.equal(1, rcs[r], outs[r])
      assert.is_nil(outs[r]:match("got 0,10"))
    end
    -- The rendezvous is TLS: the root's handshake refuses the certificate,
    -- logs and drops the connection, and every player that came hears
    -- that player 2 never did, and why a connection was refused.
    assert.matches("player 0 refused a connection from 127.0.0.1: its TLS handshake failed: "
                   .. "certificate verify failed", outs[0], 1, true)
    for r = 0, 1 do
      assert.matches("startup_timeout: .*player 2 did not reach the root at 127.0.0.1 port %d+ "
                     .. ("within the startup timeout of %gs; "):format(REFUSED)
                     .. "a connection from 127.0.0.1 was "
                     .. "refused: its TLS handshake failed: certificate verify failed", outs[r])
    end
    assert.matches("encryption_failed: player 2: TLS with the root at 127.0.0.1 port %d+ failed",
                   outs[2])
  end)

  it("refuses a player that speaks plaintext to a TLS world, telling it so", function()
    local rcs, outs = world(3, {
      {rank = 0, identity = cred(0), trusted = trusted(3)},
      {rank = 1, identity = cred(1), trusted = trusted(3)},
      {rank = 2},
    }, PLAINTEXT_REFUSED)
    for r = 0, 2 do assert.equal(1, rcs[r], outs[r]) end
    assert.matches("encryption_failed: player 2: the root says: this world's root speaks TLS: "
                   .. "give this player --identity and --trusted", outs[2], 1, true)
    for r = 0, 1 do
      assert.matches("startup_timeout: .*player 2 did not reach the root.*a connection from "
                     .. "127.0.0.1 was refused: it did not begin a TLS handshake in time", outs[r])
    end
  end)

  it("refuses a TLS player at a plaintext root, telling both", function()
    local rcs, outs = world(2, {
      {rank = 0},
      {rank = 1, identity = cred(1), trusted = trusted(3)},
    }, REFUSED)
    for r = 0, 1 do assert.equal(1, rcs[r], outs[r]) end
    assert.matches("encryption_failed: player 1: TLS with the root at 127.0.0.1 port %d+ failed",
                   outs[1])
    assert.matches("startup_timeout: .*player 1 did not reach the root.*a connection from "
                   .. "127.0.0.1 was refused: it speaks TLS to this plaintext world", outs[0])
  end)

  it("refuses at the rendezvous a player that presents another player's certificate", function()
    local rcs, outs = world(2, {
      {rank = 0, identity = cred(0), trusted = trusted(3)},
      {rank = 1, identity = cred(2), trusted = trusted(3)},
    }, REFUSED)
    for r = 0, 1 do
      assert.equal(1, rcs[r], outs[r])
      assert.is_nil(outs[r]:match("got 0,10"))
    end
    assert.matches("startup_timeout: player 0: player 1 did not reach the root at 127.0.0.1 port "
                   .. ("%%d+ within the startup timeout of %gs; "):format(REFUSED)
                   .. "a connection for player 1 was "
                   .. "refused: it claimed to be player 1 with the certificate of player 2", outs[0])
    assert.matches("encryption_failed: player 1: the root says: it claimed to be player 1 with "
                   .. "the certificate of player 2", outs[1], 1, true)
  end)

  it("a player refuses a root that presents another player's certificate", function()
    local rcs, outs = world(2, {
      {rank = 0, identity = cred(2), trusted = trusted(3)},
      {rank = 1, identity = cred(1), trusted = trusted(3)},
    }, REFUSED)
    for r = 0, 1 do assert.equal(1, rcs[r], outs[r]) end
    assert.matches("encryption_failed: player 1: the root at 127.0.0.1 port %d+ presented the "
                   .. "certificate of another player, not the certificate of player 0; refused",
                   outs[1])
    assert.matches("startup_timeout: player 0: player 1 did not reach the root", outs[0], 1, true)
  end)

  it("says in one line that a PEM file is missing", function()
    local rc, out = support.run_cli({"--rank", "0", "-n", "2", "--root-address", "tcp://127.0.0.1:1",
                                 "--identity", dir .. "/nothere.pem", "--trusted", trusted(2),
                                 support.script(compute)})
    assert.equal(2, rc)
    assert.matches("cannot read the identity file '.*nothere.pem': No such file", out)
    assert.equal(1, support.count(out, "[^\n]*\n"), out)
  end)

  it("runs heartbeats, revoke, shrink and agree unchanged in cicada.run", function()
    local results = cicada.run{world_size = 4, identity = cred(0), trusted = {cert(0)},
                               heartbeat_timeout = support.seconds(0.5), fn = function(comm)
      local sum = 0
      for _, v in ipairs(comm:allgather(comm.rank)) do sum = sum + v end
      if comm.rank == 3 then cicada.inject.kill() end
      local ok, err = pcall(comm.recv, comm, 3, 0)
      -- whichever comes first: player 3's death, or another survivor's revoke
      local kind = errors.kind(err)
      assert(not ok and (kind == "peer_failed" or kind == "revoked"), tostring(err))
      comm:revoke()
      local small, oldranks = comm:shrink{name = "survivors"}
      return {sum = sum, size = small.world_size, oldranks = oldranks, agreed = small:agree(true)}
    end}
    for r = 0, 2 do
      assert.same({sum = 6, size = 3, oldranks = {0, 1, 2}, agreed = true}, results[r + 1])
    end
    assert.is_true(errors.is_terminated(results[4]))
  end)

  it("carries messages of several megabytes intact, many at once", function()
    -- Large writes block, and the I/O thread finishes what the sending
    -- thread began while both keep writing: every byte in order.
    local results = cicada.run{world_size = 4, identity = cred(0), trusted = {cert(0)},
                               fn = function(comm)
      local big = string.rep(string.char(65 + comm.rank), 6000000 + comm.rank)
      local sizes = {}
      for round = 1, 4 do
        for i, v in ipairs(comm:allgather(big)) do
          assert(v == string.rep(string.char(64 + i), 5999999 + i), "round " .. round)
          sizes[i] = #v
        end
      end
      return sizes
    end}
    for r = 1, 4 do assert.same({6000000, 6000001, 6000002, 6000003}, results[r]) end
  end)

  it("carries big field arrays word for word", function()
    -- Every word differs, and so does each player's size: decrypted
    -- straight into its payload, a body must land whole and in order.
    local function value_of(rank)
      local F = require("cicada.core").Field("18446744073709551557")
      local words = {}
      for i = 1, 300000 + 13 * rank do words[i] = (i * 2654435761 + rank * 40503) % 1000000007 end
      return F:array(words)
    end
    local results = cicada.run{world_size = 3, identity = cred(0), trusted = {cert(0)},
                               fn = function(comm)
      local wants, bad = {}, {}
      for r = 0, 2 do wants[r + 1] = value_of(r) end
      for round = 1, 2 do
        for i, v in ipairs(comm:allgather(wants[comm.rank + 1])) do
          if v ~= wants[i] then bad[#bad + 1] = ("round %d, player %d"):format(round, i - 1) end
        end
      end
      return bad
    end}
    for r = 1, 3 do assert.same({}, results[r]) end
  end)

  it("refuses an untrusted identity in cicada.run before any player starts", function()
    assert.has_error(function()
      cicada.run{world_size = 2, identity = cred(0), trusted = {dir .. "/nothere.crt"},
                 fn = function() end}
    end, "cannot read the trusted certificate file '" .. dir .. "/nothere.crt': No such file or directory")
  end)
end)
