-- A network partition between real hosts, made of Linux network namespaces:
-- three players, each in a namespace of its own, joined by veth links to a
-- bridge; then one namespace's link goes down in the middle of the run. The
-- survivors must notice through heartbeats, shrink and finish; the player
-- cut off gets peer_failed, then excluded, and never a world of its own.
--
-- Needs root and `ip` (iproute2); skipped, saying why, where either is
-- missing or namespaces cannot be made. Removes everything it creates.
local support = require("support")

local id = ("cc%d"):format(require("cicada.core").getpid() % 100000)
local hub = id .. "hub"
local function ns(r) return id .. "n" .. r end
-- A private subnet that exists only inside these namespaces.
local subnet = ("10.%d.%d"):format(100 + math.random(0, 99), math.random(1, 250))
local function addr(r) return ("%s.%d"):format(subnet, r + 1) end

local created = {}

local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  return ok == true or ok == 0
end

local function netns(name)
  if not sh("ip netns add " .. name) then return false end
  table.insert(created, name)
  return sh(("ip netns exec %s ip link set lo up"):format(name))
end

-- The hub namespace holds a bridge; each player's namespace a veth to it.
local function build()
  if not netns(hub) then return false end
  if not (sh(("ip netns exec %s ip link add br0 type bridge"):format(hub))
          and sh(("ip netns exec %s ip link set br0 up"):format(hub))) then
    return false
  end
  for r = 0, 2 do
    local v, h = id .. "v" .. r, id .. "h" .. r
    if not (netns(ns(r))
            and sh(("ip link add %s type veth peer name %s"):format(v, h))
            and sh(("ip link set %s netns %s"):format(v, ns(r)))
            and sh(("ip link set %s netns %s"):format(h, hub))
            and sh(("ip netns exec %s ip link set %s master br0 up"):format(hub, h))
            and sh(("ip netns exec %s ip addr add %s/24 dev %s"):format(ns(r), addr(r), v))
            and sh(("ip netns exec %s ip link set %s up"):format(ns(r), v))) then
      sh(("ip link del %s"):format(v))   -- if it never left this namespace
      return false
    end
  end
  return true
end

-- Deleting a namespace deletes the links inside it.
local function teardown_netns()
  for i = #created, 1, -1 do sh("ip netns del " .. created[i]) end
  created = {}
end

local function why_not()
  local p = io.popen("id -u")
  local uid = p:read("l")
  p:close()
  if uid ~= "0" then return "needs root to create network namespaces" end
  if not sh("command -v ip") then return "needs ip (iproute2)" end
  return nil
end

local script = [[
local cicada = require("cicada")
local core = require("cicada.core")
local errors = require("cicada.errors")
io.stdout:setvbuf("line")
-- A heartbeat timeout scaled as in spec/support.lua: room for a live player
-- slowed by load or a sanitizer, and well below comm.timeout.
local slowdown = tonumber(os.getenv("CICADA_TEST_SLOWDOWN") or "") or 1
local comm = cicada.connect{heartbeat_interval = 0.1, heartbeat_timeout = 0.5 * slowdown,
                            timeout = 30, startup_timeout = 5 * slowdown}
local round, ok, err = 0, true, nil
while ok do
  ok, err = pcall(comm.allgather, comm, round)
  if ok then
    print(("round %d done"):format(round))
    round = round + 1
    core.sleep(0.05)
  end
end
print(("error %s at %.3f: %s"):format(errors.kind(err), core.now(), tostring(err)))
comm:revoke()
local shrunk, small = pcall(comm.shrink, comm, {name = "survivors", timeout = 5 * slowdown})
if not shrunk then
  print(("shrink: %s: %s"):format(errors.kind(small), tostring(small)))
  return
end
local all = small:allgather(comm.rank)
print(("world %s"):format(table.concat(all, ",")))
]]

describe("a partition between network namespaces", function()
  local reason = why_not()

  after_each(function()
    support.cleanup()
    teardown_netns()
  end)

  it("lets the survivors shrink and finish, and leaves the cut-off player out", function()
    if reason then
      pending("skipped: " .. reason)
      print("partition test skipped: " .. reason)
      return
    end
    if not build() then
      teardown_netns()
      pending("skipped: cannot create network namespaces and veth links here")
      print("partition test skipped: cannot create network namespaces and veth links here")
      return
    end
    local port = support.port()
    local path = support.script(script)
    local hs = {}
    for r = 0, 2 do
      hs[r] = support.start({"--rank", tostring(r), "-n", "3",
                             "--root-address", ("tcp://%s:%d"):format(addr(0), port),
                             "--address", ("tcp://%s:0"):format(addr(r)), path},
                            nil, {"ip", "netns", "exec", ns(r)})
    end
    -- Cut player 2 off once every player has done a few rounds together.
    local core = require("cicada.core")
    local deadline = core.now() + support.seconds(10)
    local function rounds_done(h) return support.output(h):match("round 3 done") ~= nil end
    while not (rounds_done(hs[0]) and rounds_done(hs[1]) and rounds_done(hs[2])) do
      assert(core.now() < deadline, "the players did not start computing: "
             .. support.output(hs[0]) .. support.output(hs[1]) .. support.output(hs[2]))
      core.sleep(0.05)
    end
    local cut_at = core.now()
    assert(sh(("ip netns exec %s ip link set %sv2 down"):format(ns(2), id)), "cannot cut the link")

    local outs = {}
    for r = 0, 2 do
      local rc
      rc, outs[r] = support.wait(hs[r], support.seconds(10))
      assert.equal(0, rc, outs[r])
    end
    -- The survivors noticed through heartbeats (comm.timeout is 30s), shrank
    -- together and finished a round without player 2.
    local saw_peer_failed = false
    for r = 0, 1 do
      local kind, at = outs[r]:match("error (%S+) at (%S+):")
      assert.is_truthy(kind == "peer_failed" or kind == "revoked", outs[r])
      if kind == "peer_failed" then
        saw_peer_failed = true
        print(("player %d noticed the cut after %.2fs"):format(r, tonumber(at) - cut_at))
      end
      assert.matches("world 0,1\n", outs[r], 1, true)
    end
    assert.is_true(saw_peer_failed)
    -- The cut-off player lost both peers: peer_failed, then excluded from
    -- the shrink (it is a minority cut off by silence), never a world.
    assert.matches("error peer_failed at", outs[2], 1, true)
    assert.is_nil(outs[2]:match("\nworld "), outs[2])
    assert.matches("shrink: excluded: Comm world player 2 was left out of SHRINK", outs[2], 1, true)
  end)
end)
