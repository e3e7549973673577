-- One player per process, as on separate hosts: `cicada-lua --rank R -n N
-- --root-address tcp://H:P script.lua`, or the same settings from the
-- CICADA_* environment, meeting through the root.
local support = require("support")

-- The script of every player; arg[1], when given, is its startup timeout
-- (else the long one of CICADA_STARTUP_TIMEOUT).
local compute = [[
local cicada = require("cicada")
local comm = cicada.connect{startup_timeout = tonumber(arg[1])}
local all = comm:allgather(comm.rank * 10)
print(("player %d of %d got %s"):format(comm.rank, comm.world_size, table.concat(all, ",")))
]]

-- The startup timeout of the players of a world where one never comes or
-- is refused, which the others wait out: enough for every player, started
-- one after the other, to reach the root on a machine slowed by load or a
-- sanitizer (CICADA_TEST_SLOWDOWN).
local REFUSED = support.seconds(1)

-- Start n players with --rank, in the given order, and wait for them all;
-- startup: their startup timeout (nil: the long one).
local function world(n, root, order, extra, startup)
  local script = support.script(compute)
  local handles = {}
  for _, r in ipairs(order) do
    local args = {"--rank", tostring(r), "-n", tostring(n), "--root-address", root}
    for _, a in ipairs(extra and extra(r) or {}) do table.insert(args, a) end
    table.insert(args, script)
    if startup then table.insert(args, tostring(startup)) end
    handles[r] = support.start(args)
    support.sleep(0.1)
  end
  local rcs, outs = {}, {}
  for r = 0, n - 1 do rcs[r], outs[r] = support.wait(handles[r]) end
  return rcs, outs
end

local function has_ipv6()
  local f = io.open("/proc/net/if_inet6")
  if not f then return false end
  local any = f:read("l") ~= nil
  f:close()
  return any
end

describe("cicada-lua --rank", function()
  after_each(support.cleanup)

  it("three players started in any order compute together over IPv4", function()
    local rcs, outs = world(3, "tcp://127.0.0.1:" .. support.port(), {2, 0, 1})
    for r = 0, 2 do
      assert.equal(0, rcs[r], outs[r])
      assert.matches(("player %d of 3 got 0,10,20"):format(r), outs[r], 1, true)
    end
  end)

  it("reaches the root by host name", function()
    local rcs, outs = world(2, "tcp://localhost:" .. support.port(), {1, 0})
    for r = 0, 1 do assert.equal(0, rcs[r], outs[r]) end
  end)

  it("works over IPv6", function()
    if not has_ipv6() then
      print("skipped: this host has no IPv6")
      return
    end
    local rcs, outs = world(2, "tcp://[::1]:" .. support.port(), {0, 1},
      function() return {"--address", "tcp://[::1]:0"} end)
    for r = 0, 1 do
      assert.equal(0, rcs[r], outs[r])
      assert.matches(("player %d of 2 got 0,10"):format(r), outs[r], 1, true)
    end
  end)

  it("takes its settings from the CICADA_* environment", function()
    local root = "tcp://127.0.0.1:" .. support.port()
    local script = support.script(compute)
    local hs = {}
    for r = 0, 1 do
      hs[r] = support.start({script}, {CICADA_WORLD_SIZE = "2", CICADA_RANK = tostring(r),
                                       CICADA_ROOT_ADDRESS = root,
                                       CICADA_ADDRESS = "tcp://127.0.0.1:0"})
    end
    for r = 0, 1 do
      local rc, out = support.wait(hs[r])
      assert.equal(0, rc, out)
      assert.matches(("player %d of 2 got 0,10"):format(r), out, 1, true)
    end
  end)

  it("refuses a player with another token alone; the others time out naming it", function()
    local rcs, outs = world(3, "tcp://127.0.0.1:" .. support.port(), {0, 1, 2}, function(r)
      return {"--token", r == 2 and "other secret" or "our secret"}
    end, REFUSED)
    for r = 0, 2 do assert.equal(1, rcs[r], outs[r]) end
    -- A wrong token proves nothing about who sent it, so it cannot fail the
    -- world: the root drops it, says why, and waits for a real player 2.
    assert.matches("token_mismatch: player 2: the root says: it claimed to be player 2 without "
                   .. "proving the world's token", outs[2], 1, true)
    for r = 0, 1 do
      assert.matches("startup_timeout: .*player 2 did not reach the root.*a connection for "
                     .. "player 2 was refused: it claimed to be player 2 without proving the "
                     .. "world's token", outs[r])
    end
  end)

  it("says which players never came, at every player that did", function()
    local root = "tcp://127.0.0.1:" .. support.port()
    local script = support.script(compute)
    local h0 = support.start({"--rank", "0", "-n", "3", "--root-address", root, script,
                              tostring(REFUSED)})
    local h1 = support.start({"--rank", "1", "-n", "3", "--root-address", root, script,
                              tostring(REFUSED)})
    for _, h in ipairs{h0, h1} do
      local rc, out = support.wait(h)
      assert.equal(1, rc, out)
      assert.matches("startup_timeout: .*player 2 did not reach the root", out)
    end
  end)

  describe("refuses bad input with one line and a non-zero exit", function()
    local function refuses(args, pattern, env)
      local rc, out = support.run_cli(args, env)
      assert.is_not.equal(0, rc, out)
      assert.matches(pattern, out)
      assert.equal(1, support.count(out, "[^\n]*\n"), out)
    end

    it("a root address with another scheme", function()
      refuses({"--rank", "1", "-n", "2", "--root-address", "http://localhost:8080",
               support.script(compute)}, "root address 'http://localhost:8080' has the scheme 'http'")
    end)
    it("a root address without a port", function()
      refuses({"--rank", "1", "-n", "2", "--root-address", "tcp://localhost",
               support.script(compute)}, "has no port")
    end)
    it("a rank outside the world", function()
      refuses({"--rank", "3", "-n", "3", "--root-address", "tcp://localhost:1",
               support.script(compute)}, "rank 3 is outside the world of 3 players")
    end)
    it("a rank outside the world, from the environment", function()
      refuses({support.script(compute)}, "rank %-1 is outside the world of 2 players",
              {CICADA_WORLD_SIZE = "2", CICADA_RANK = "-1", CICADA_ROOT_ADDRESS = "tcp://x:1"})
    end)
    it("a missing root address", function()
      refuses({"--rank", "1", "-n", "2", support.script(compute)}, "needs the root's address")
    end)
    it("a root port already in use", function()
      local port = support.port()
      local root = "tcp://127.0.0.1:" .. port
      local script = support.script(compute)
      local first = support.start({"--rank", "0", "-n", "2", "--root-address", root, script})
      support.await_listening(port)
      refuses({"--rank", "0", "-n", "2", "--root-address", root, script},
              "player 0 cannot listen on 127.0.0.1 port %d+: Address already in use")
      support.kill(first)
    end)
    it("an unreachable root, once the startup timeout has passed", function()
      refuses({"--rank", "1", "-n", "2", "--root-address", "tcp://127.0.0.1:" .. support.port(),
               support.script(compute), "0.5"},
              "startup_timeout: player 1 cannot reach the root at 127.0.0.1 port %d+ .*Connection refused")
    end)
  end)
end)
