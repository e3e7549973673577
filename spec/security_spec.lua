-- Attacks on a multi-host world, played from outside (a stranger on the
-- network) and from inside (a player with its own credentials): each must
-- fail, and the world must form with its real players or refuse with a
-- clear error naming the offender. Strangers are bash processes writing
-- raw bytes through /dev/tcp; every one is killed after each test.
local support = require("support")

local core = require("cicada.core")

local attackers = {}
local signs = {} -- files attackers write "up" into

-- Run bash code in a process group of its own, in the background.
local function attack(code)
  local p = assert(io.popen(("setsid bash -c %s > /dev/null 2>&1 & echo $!"):format(
    support.shquote(code))))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  attackers[#attackers + 1] = pid
  return pid
end

local function stop_attackers()
  for i = #attackers, 1, -1 do
    os.execute(("kill -KILL -%d 2>/dev/null"):format(attackers[i]))
    attackers[i] = nil
  end
  for i = #signs, 1, -1 do
    os.remove(signs[i])
    signs[i] = nil
  end
end

-- A file for an attacker to write "up" into once it has done what must
-- come before the players go on (bash code: `set -e; ...; echo up > FILE`,
-- so that a refused connection ends it before it says so).
local function sign()
  local path = os.tmpname()
  signs[#signs + 1] = path
  return path
end

-- Wait until an attacker has written "up" into `path` (a fixed sleep
-- promises nothing of a bash started under load); raise if it has not
-- within seconds(10), e.g. because its connection was refused.
local function await_sign(path)
  local deadline = core.now() + support.seconds(10)
  while true do
    local f = io.open(path, "r")
    local text = f and f:read("a") or ""
    if f then f:close() end
    if text ~= "" then return end
    assert(core.now() < deadline, "the attacker did not get through")
    support.sleep(0.01)
  end
end

local function tmpfile(bytes)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

-- Each player connects (startup timeout arg[1], "-" for the long one of
-- CICADA_STARTUP_TIMEOUT), waits `pause` seconds (the strangers' time to do
-- their worst), computes, and reports its peak memory.
local compute = [[
local cicada = require("cicada")
local core = require("cicada.core")
local comm = cicada.connect{startup_timeout = tonumber(arg[1])}
core.sleep(tonumber(arg[2]) or 0)
local all = comm:allgather(comm.rank * 10)
local f = io.open("/proc/self/status")   -- nil when out of descriptors
local hwm = f and f:read("a"):match("VmHWM:%s*(%d+) kB") or "?"
if f then f:close() end
print(("player %d of %d got %s; peak %s kB"):format(comm.rank, comm.world_size,
      table.concat(all, ","), hwm))
]]

local function start(n, r, root, opts)
  opts = opts or {}
  local args = {"--rank", tostring(r), "-n", tostring(n), "--root-address", root}
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  args[#args + 1] = support.script(compute)
  args[#args + 1] = opts.startup and tostring(opts.startup) or "-"
  args[#args + 1] = tostring(opts.pause or 0)
  return support.start(args)
end

local function finish(hs)
  local rcs, outs = {}, {}
  for r, h in pairs(hs) do rcs[r], outs[r] = support.wait(h, support.seconds(10)) end
  return rcs, outs
end

local function computed(n, rcs, outs)
  local want = {}
  for r = 0, n - 1 do want[#want + 1] = tostring(r * 10) end
  for r = 0, n - 1 do
    assert.equal(0, rcs[r], outs[r])
    assert.matches(("player %d of %d got %s"):format(r, n, table.concat(want, ",")), outs[r], 1, true)
  end
end

describe("a stranger", function()
  after_each(function()
    stop_attackers()
    support.cleanup()
  end)

  it("announcing a 1 GiB frame and sending 400 MB to a link port costs a player nothing", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. support.port()
    local hs = {}
    hs[2] = start(3, 2, root, {args = {"--address", "tcp://127.0.0.1:" .. port}, pause = 1})
    support.await_listening(port)
    -- version 1, DATA, no flags, tag 0, context 0, source 0, 1 GiB - 24
    local header = tmpfile(string.pack("<BBHi4I8I4I4", 1, 1, 0, 0, 0, 0, (1 << 30) - 24))
    local up = sign()
    attack(("set -e; exec 3<>/dev/tcp/127.0.0.1/%d; cat %s >&3; echo up > %s; head -c 400000000 /dev/zero >&3")
           :format(port, support.shquote(header), support.shquote(up)))
    await_sign(up)
    hs[0] = start(3, 0, root, {pause = 1})
    hs[1] = start(3, 1, root, {pause = 1})
    local rcs, outs = finish(hs)
    os.remove(header)
    computed(3, rcs, outs)
    assert.matches("player 2: dropped a connection from 127.0.0.1 port %d+: it sent a frame of "
                   .. "type 1 and 1073741800 bytes before its HELLO", outs[2])
    local peak = tonumber(outs[2]:match("peak (%d+) kB"))
    assert.is_true(peak < 100 * 1024, "player 2 peaked at " .. tostring(peak) .. " kB")
  end)

  it("holding 40 silent connections at the root delays no player", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. port
    local hs = {}
    hs[0] = start(3, 0, root)
    support.await_listening(port)
    local up = sign()
    attack(("set -e; for i in $(seq 40); do exec {fd}<>/dev/tcp/127.0.0.1/%d; done; echo up > %s; sleep 20")
           :format(port, support.shquote(up)))
    await_sign(up)
    hs[1] = start(3, 1, root)
    hs[2] = start(3, 2, root)
    computed(3, finish(hs))
  end)

  it("sending garbage or a forged report to the root is dropped, blaming no player", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. port
    local hs = {}
    hs[0] = start(3, 0, root, {args = {"--token", "our secret"}})
    support.await_listening(port)
    local ups = {sign(), sign()}
    attack(("set -e; exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; echo up > %s; sleep 5")
           :format(port, support.shquote(ups[1])))
    -- A well-formed report for rank 2 whose proof is not made with the token.
    attack(("set -e; exec 3<>/dev/tcp/127.0.0.1/%d; read -r _ _ <&3; "
            .. "printf 'CICADA 2 3 2 %s plain 4000 %s -\\n' >&3; echo up > %s; sleep 5")
           :format(port, ("0"):rep(32), ("ab"):rep(32), support.shquote(ups[2])))
    for _, up in ipairs(ups) do await_sign(up) end
    hs[1] = start(3, 1, root, {args = {"--token", "our secret"}})
    hs[2] = start(3, 2, root, {args = {"--token", "our secret"}})
    local rcs, outs = finish(hs)
    computed(3, rcs, outs)
    assert.matches("player 0 refused a connection from 127.0.0.1: it claimed to be player 2 "
                   .. "without proving the world's token", outs[0], 1, true)
  end)

  it("with another token is refused by the root and takes no rank", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. port
    local hs = {}
    hs[0] = start(3, 0, root, {args = {"--token", "our secret"}})
    support.sleep(0.2)
    local thief = start(3, 2, root, {args = {"--token", "a guess"}})
    local rc, out = support.wait(thief, 30)
    assert.equal(1, rc, out)
    assert.matches("token_mismatch: player 2: the root says: it claimed to be player 2 without "
                   .. "proving the world's token", out, 1, true)
    hs[1] = start(3, 1, root, {args = {"--token", "our secret"}})
    hs[2] = start(3, 2, root, {args = {"--token", "our secret"}})
    computed(3, finish(hs))
  end)

  it("holding silent connections and sending garbage to link ports fails nothing", function()
    local ports = {support.port(), support.port()}
    local root = "tcp://127.0.0.1:" .. support.port()
    local hs = {}
    hs[1] = start(3, 1, root, {args = {"--address", "tcp://127.0.0.1:" .. ports[1]}})
    hs[2] = start(3, 2, root, {args = {"--address", "tcp://127.0.0.1:" .. ports[2]}})
    for _, port in ipairs(ports) do support.await_listening(port) end
    local up = sign()
    attack(("set -e; for i in $(seq 10); do exec {fd}<>/dev/tcp/127.0.0.1/%d; done; "
            .. "exec 3<>/dev/tcp/127.0.0.1/%d; head -c 100000 /dev/urandom >&3; echo up > %s; sleep 20")
           :format(ports[1], ports[2], support.shquote(up)))
    await_sign(up)
    hs[0] = start(3, 0, root)
    computed(3, finish(hs))
  end)
end)

describe("with TLS", function()
  local dir

  local function sh(cmd)
    local ok = os.execute("(" .. cmd .. ") > /dev/null 2>&1")
    assert(ok, "failed: " .. cmd)
  end
  local function path(name) return dir .. "/" .. name end
  -- A certificate for the key in key.pem, with subject CN=cn, issued by
  -- (ca.crt, ca key) or self-signed; CA:TRUE if ca_true.
  local function cert(name, key, cn, issuer, ca_true)
    local ext = path(name .. ".ext")
    local f = assert(io.open(ext, "w"))
    f:write(ca_true and "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\n"
                    or "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    f:close()
    local q = support.shquote
    sh(("openssl req -new -key %s -subj %s -out %s"):format(q(key), q("/CN=" .. cn), q(path(name .. ".csr"))))
    if issuer then
      sh(("openssl x509 -req -in %s -CA %s -CAkey %s -set_serial %d -days 30 -extfile %s -out %s")
         :format(q(path(name .. ".csr")), q(issuer.crt), q(issuer.key), math.random(1, 1 << 30), q(ext),
                 q(path(name .. ".crt"))))
    else
      sh(("openssl x509 -req -in %s -signkey %s -days 30 -extfile %s -out %s")
         :format(q(path(name .. ".csr")), q(key), q(ext), q(path(name .. ".crt"))))
    end
    return path(name .. ".crt")
  end
  local function key(name)
    sh(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s")
       :format(support.shquote(path(name .. ".key"))))
    return path(name .. ".key")
  end
  local function identity(name, ...)
    sh(("cat %s > %s"):format(table.concat((function(t)
      local out = {}
      for _, p in ipairs(t) do out[#out + 1] = support.shquote(p) end
      return out
    end)({...}), " "), support.shquote(path(name .. ".pem"))))
    return path(name .. ".pem")
  end

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
  end)
  teardown(function() os.execute("rm -rf " .. support.shquote(dir)) end)
  after_each(function()
    stop_attackers()
    support.cleanup()
  end)

  -- The startup timeout of a world where one player is refused, which
  -- every other player waits out: a second, scaled by the slowdown, for
  -- the players, started one after the other, to reach the root.
  local REFUSED = support.seconds(1)

  -- Start a world of these identities, with startup timeout `startup`
  -- (nil: the long one).
  local function tls_world(ids, trusted, startup)
    local root = "tcp://127.0.0.1:" .. support.port()
    local hs = {}
    for r = 0, #ids do
      local args = {"--identity", ids[r], "--trusted", trusted}
      hs[r] = start(#ids + 1, r, root, {args = args, startup = startup})
    end
    return hs
  end

  it("admits the leaves of a separate CA by the rank they name, and refuses a leaf for another rank", function()
    local ca = {key = key("ca")}
    ca.crt = cert("ca", ca.key, "cicada test CA", nil, true)
    local ids = {}
    for r = 0, 2 do
      local k = key("leaf" .. r)
      ids[r] = identity("leaf" .. r, k, cert("leaf" .. r, k, "cicada player " .. r, ca))
    end
    computed(3, finish(tls_world(ids, ca.crt)))
    -- Player 1's leaf, presented by whoever plays rank 2.
    ids[2] = ids[1]
    local rcs, outs = finish(tls_world(ids, ca.crt, REFUSED))
    for r = 0, 2 do
      assert.equal(1, rcs[r], outs[r])
      assert.is_nil(outs[r]:match("got 0,10"))
    end
    -- Refused at the rendezvous, before it learns the address book.
    assert.matches("startup_timeout: player 0: player 2 did not reach the root at 127.0.0.1 port "
                   .. ("%%d+ within the startup timeout of %gs; "):format(REFUSED)
                   .. "a connection for player 2 was "
                   .. "refused: it claimed to be player 2 with the certificate of player 1", outs[0])
    assert.matches("encryption_failed: player 2: the root says: it claimed to be player 2 with "
                   .. "the certificate of player 1", outs[2], 1, true)
  end)

  it("refuses a certificate for rank 2 that player 1 issued itself, and one naming no rank", function()
    -- Player certificates as older versions made them: CA:TRUE.
    local keys, crts = {}, {}
    for r = 0, 2 do
      keys[r] = key("p" .. r)
      crts[r] = cert("p" .. r, keys[r], "cicada player " .. r, nil, true)
    end
    local trusted = table.concat({crts[0], crts[1], crts[2]}, ",")
    local mk = key("mallory")
    for _, cn in ipairs{"cicada player 2", "mallory"} do
      local forged = cert("forged", mk, cn, {crt = crts[1], key = keys[1]})
      local ids = {[0] = identity("i0", keys[0], crts[0]), identity("i1", keys[1], crts[1]),
                   identity("forged", mk, forged, crts[1])}
      local rcs, outs = finish(tls_world(ids, trusted, REFUSED))
      for r = 0, 2 do
        assert.equal(1, rcs[r], outs[r])
        assert.is_nil(outs[r]:match("got 0,10"))
      end
      -- The root's TLS handshake refuses it: it never sees the book.
      assert.matches("player 0 refused a connection from 127.0.0.1: its TLS handshake failed: "
                     .. "certificate verify failed", outs[0], 1, true)
      assert.matches("player 2 did not reach the root at 127.0.0.1 port %d+ within the startup "
                     .. ("timeout of %gs; a connection from 127.0.0.1 was refused"):format(REFUSED),
                     outs[0])
      assert.matches("encryption_failed: player 2: TLS with the root", outs[2], 1, true)
    end
  end)

  it("drops garbage sent to a TLS link port and forms the world", function()
    local ids, crts = {}, {}
    for r = 0, 2 do
      local k = key("g" .. r)
      crts[#crts + 1] = cert("g" .. r, k, "cicada player " .. r)
      ids[r] = identity("g" .. r, k, crts[#crts])
    end
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. support.port()
    local hs = {}
    hs[1] = start(3, 1, root, {args = {"--identity", ids[1], "--trusted", table.concat(crts, ","),
                                       "--address", "tcp://127.0.0.1:" .. port}})
    support.await_listening(port)
    local up = sign()
    attack(("set -e; exec 3<>/dev/tcp/127.0.0.1/%d; head -c 5000 /dev/urandom >&3; echo up > %s; sleep 10")
           :format(port, support.shquote(up)))
    await_sign(up)
    for _, r in ipairs{0, 2} do
      hs[r] = start(3, r, root, {args = {"--identity", ids[r], "--trusted", table.concat(crts, ",")}})
    end
    computed(3, finish(hs))
  end)
end)

describe("once the world is up", function()
  after_each(function()
    stop_attackers()
    support.cleanup()
  end)

  it("a player closes late connections at once, saying so once", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. support.port()
    local up, seen = os.tmpname(), os.tmpname()
    os.remove(up)
    -- Each player says when its links are up, then waits for the stranger.
    local script = support.script(([[
local cicada = require("cicada")
local core = require("cicada.core")
local comm = cicada.connect()
if comm.rank == 1 then io.open(%q, "w"):close() end
for _ = 1, 300 do
  local f = io.open(%q)
  local n = f and #f:read("a") or 0
  if f then f:close() end
  if n >= 40 then break end
  core.sleep(0.05)
end
print(("player %%d of 2 got %%s"):format(comm.rank, table.concat(comm:allgather(comm.rank * 10), ",")))
]]):format(up, seen))
    local hs = {
      [1] = support.start({"--rank", "1", "-n", "2", "--root-address", root,
                           "--address", "tcp://127.0.0.1:" .. port, script}),
      [0] = support.start({"--rank", "0", "-n", "2", "--root-address", root, script}),
    }
    -- 20 connections to player 1's link port: each is accepted and closed
    -- at once (cat sees the end of the stream, status 0), not left waiting.
    attack(([[
while [ ! -e %s ]; do sleep 0.05; done
for i in $(seq 20); do
  exec 3<>/dev/tcp/127.0.0.1/%d || { echo "x" >> %s; continue; }
  timeout 20 cat <&3 > /dev/null; echo "$?" >> %s
  exec 3<&-
done]]):format(support.shquote(up), port, support.shquote(seen), support.shquote(seen)))
    local rcs, outs = finish(hs)
    local f = assert(io.open(seen))
    local results = f:read("a")
    f:close()
    os.remove(seen)
    os.remove(up)
    assert.equal(string.rep("0\n", 20), results)
    computed(2, rcs, outs)
    assert.equal(1, support.count(outs[1], "player 1: every link is up; closing connections that "
                                  .. "come now %(the first from 127.0.0.1 port %d+%)"), outs[1])
    assert.is_nil(outs[1]:match("no handshake"), outs[1])
  end)

  it("a silent connection accepted as the world formed is closed at the handshake deadline",
     function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. support.port()
    local seen = os.tmpname()
    local hs = {}
    hs[1] = start(2, 1, root, {args = {"--address", "tcp://127.0.0.1:" .. port}, pause = 7})
    support.await_listening(port)
    -- Connects before the world is up and says nothing; cat ends (status
    -- 0) when player 1 closes the connection.
    local up = sign()
    attack(("set -e; exec 3<>/dev/tcp/127.0.0.1/%d; echo up > %s; set +e; timeout 20 cat <&3 > /dev/null; echo $? > %s")
           :format(port, support.shquote(up), support.shquote(seen)))
    await_sign(up)
    hs[0] = start(2, 0, root, {pause = 7})
    local rcs, outs = finish(hs)
    local f = assert(io.open(seen))
    local status = f:read("a")
    f:close()
    os.remove(seen)
    computed(2, rcs, outs)
    assert.matches("player 1: dropped a connection from 127.0.0.1 port %d+: no handshake "
                   .. "within 5s", outs[1])
    assert.equal("0\n", status)
  end)
end)

describe("at the descriptor limit", function()
  after_each(function()
    stop_attackers()
    support.cleanup()
  end)

  it("a player flooded with connections pauses its listener and says so once", function()
    local port = support.port()
    local root = "tcp://127.0.0.1:" .. support.port()
    -- Player 1 may hold 16 descriptors: the strangers take what is left.
    local h1 = support.start({"--rank", "1", "-n", "2", "--root-address", root,
                              "--address", "tcp://127.0.0.1:" .. port, support.script(compute), "4"},
                             nil, {"sh", "-c", 'ulimit -n 16 && exec "$@"', "sh"})
    support.await_listening(port)
    local up = sign()
    attack(("set -e; for i in $(seq 60); do exec {fd}<>/dev/tcp/127.0.0.1/%d; done; echo up > %s; sleep 20")
           :format(port, support.shquote(up)))
    await_sign(up)
    local h0 = start(2, 0, root, {startup = 4})
    local rc1, out1 = support.wait(h1, 30)
    support.wait(h0, 30)
    assert.equal(1, support.count(out1, "cannot accept connections: Too many open files"), out1)
    assert.is_true(#support.lines(out1) < 40, out1)
    -- It either formed the world once the strangers timed out, or says who
    -- never came; nothing else.
    if rc1 == 0 then
      assert.matches("player 1 of 2 got 0,10", out1, 1, true)
    else
      assert.matches("startup_timeout: player 1: players 0 did not connect", out1, 1, true)
    end
  end)
end)

describe("credentials", function()
  it("writes its key fresh, 0600, over an old 0644 file or a symbolic link", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shquote(dir)))
    local q = support.shquote
    local function mode(p)
      local h = io.popen("stat -c %a " .. q(p))
      local m = h:read("l")
      h:close()
      return m
    end
    local function slurp(p)
      local f = assert(io.open(p))
      local s = f:read("a")
      f:close()
      return s
    end
    assert(os.execute(("echo old > %s/player-1.pem && chmod 644 %s/player-1.pem"):format(q(dir), q(dir))))
    assert(os.execute(("echo target > %s/elsewhere && ln -s elsewhere %s/player-2.pem"):format(q(dir), q(dir))))
    for _, r in ipairs{"1", "2"} do
      local rc, out = support.run_cli({"credentials", r, dir})
      assert.equal(0, rc, out)
      assert.equal("600", mode(dir .. "/player-" .. r .. ".pem"))
      assert.matches("BEGIN PRIVATE KEY", slurp(dir .. "/player-" .. r .. ".pem"), 1, true)
    end
    assert.equal("target\n", slurp(dir .. "/elsewhere"))   -- the link was not followed
    os.execute("rm -rf " .. q(dir))
  end)
end)
