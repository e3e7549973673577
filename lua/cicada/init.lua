--- cicada: fault-tolerant secure multiparty computation, scripted in Lua.
--
--     local cicada = require("cicada")
--     local results = cicada.run{world_size = 4, fn = function(comm)
--       return comm:allgather(comm.rank)
--     end}
--
-- This module gathers the public API: run, connect, Logger, errors, logging, inject,
-- shamir, encoding and Field. Submodules load on first use.
-- @module cicada
local core = require("cicada.core")
local check = require("cicada.check")
local errors = require("cicada.errors")
local logging = require("cicada.logging")

local M = {version = core.version, errors = errors, logging = logging}

local lazy = {
  shamir = "cicada.shamir",
  encoding = "cicada.encoding",
  inject = "cicada.inject",
  recovery = "cicada.recovery",
}

setmetatable(M, {__index = function(t, k)
  if lazy[k] then
    local mod = require(lazy[k])
    rawset(t, k, mod)
    return mod
  elseif k == "Logger" then
    local f = require("cicada.logger").Logger
    rawset(t, k, f)
    return f
  elseif k == "Field" then
    local f = require("cicada.field").Field
    rawset(t, k, f)
    return f
  end
end})

-- ==== Communicator methods written in Lua ===============================

local methods = core.comm_methods

local function check_tag(t, n, fname)
  if math.type(t) ~= "integer" then
    check.argerror(n, fname, "integer tag expected, got " .. type(t))
  end
  if t < 0 then
    check.argerror(n, fname, ("tag %d is negative; negative tags belong to the library"):format(t))
  end
end

-- A pending operation: `req:test()` is true once complete, `req:wait()`
-- blocks until then and returns the value, `req.value` holds it.
local Request = {}
Request.__index = Request
Request.__name = "Request"

-- Receives posted for the same (source, tag) complete in the order they were
-- posted, whatever order they are waited on.
local pending = setmetatable({}, {__mode = "k"})

local function queue_of(comm, src, tag)
  local byc = pending[comm]
  if not byc then byc = {}; pending[comm] = byc end
  local key = src .. ":" .. tag
  local q = byc[key]
  if not q then q = {first = 1, last = 0}; byc[key] = q end
  return q
end

local function complete_head(q, value)
  local head = q[q.first]
  q[q.first] = nil
  q.first = q.first + 1
  head.value, head.done = value, true
end

--- True once the request is complete (the value is then in `req.value`);
-- never blocks.
-- @treturn bool
function Request:test()
  if self.done then return true end
  local q = queue_of(self.comm, self.src, self.tag)
  while not self.done do
    local ok, value = self.comm:_try_recv(self.src, self.tag)
    if not ok then return false end
    complete_head(q, value)
  end
  return true
end

--- Block until the request is complete.
-- @return the value received
-- @raise a cicada error (`timeout`, `peer_failed`, `revoked`, ...) as comm:recv
function Request:wait()
  if not self.done then
    local q = queue_of(self.comm, self.src, self.tag)
    while not self.done do
      complete_head(q, self.comm:recv(self.src, self.tag))
    end
  end
  return self.value
end

--- comm:isend(value, dst, tag): sending never blocks, so the request is
-- complete at once; the value is already queued for the destination.
-- @param comm the communicator
-- @param value what to send
-- @int dst the receiver's rank
-- @int tag a user tag (>= 0)
-- @return a complete request
function methods.isend(comm, value, dst, tag)
  comm:send(value, dst, tag)
  return setmetatable({done = true}, Request)
end

--- comm:irecv(src, tag): a receive to complete later with `req:wait()`.
-- Receives posted for the same source and tag complete in the order they
-- were posted.
-- @param comm the communicator
-- @int src the sender's rank
-- @int tag a user tag (>= 0)
-- @return a request
-- @raise `bad argument #1 to 'irecv' (rank 7 out of range [0, 4))`
function methods.irecv(comm, src, tag)
  check.rank(comm, src, 1, "irecv")
  check_tag(tag, 2, "irecv")
  local req = setmetatable({comm = comm, src = src, tag = tag, done = false}, Request)
  local q = queue_of(comm, src, tag)
  q.last = q.last + 1
  q[q.last] = req
  return req
end

-- ==== comm:grow ================================================================

--- comm:grow{count=, name=, timeout=, address=}: admit `count` new
-- players. A collective of every member of `comm` (typically just shrunk):
-- the members keep their order at ranks `0 .. m-1`, the newcomers take
-- `m .. m+count-1` (in a TLS world across hosts, see below), and members and newcomers bring up a new world whose
-- links prove the world's token through the same HELLO as at startup.
--
-- Where the newcomers come from: in a world started by `cicada.run` or
-- `cicada-lua -n`, rank 0 asks the launcher, which forks them; they run
-- the run's `fn` (or the script, whose `cicada.connect()` returns the grown
-- communicator) with `comm.joined == true`. In a world met through the
-- rendezvous (`cicada-lua --rank R ... --root-address`, mpirun), give
-- `address`: rank 0 of the members waits there for newcomers started with
-- `cicada-lua --join tcp://HOST:PORT` (and the world's token), seats them
-- in the order they prove the token, and refuses any other connection.
-- A TLS world started by a launcher grows the same way: its players share
-- the world's one identity, which plays every rank, and the newcomers run
-- under it too. Across hosts, a TLS world keeps the ranks that
-- certificates name: members keep their ranks in the world and each
-- newcomer takes the one its certificate names (`cicada-lua --rejoin`
-- brings a restarted player back at its own). `comm.newranks` lists the
-- newcomers at everyone.
-- @param comm the communicator
-- @tab opts `count` (integer >= 1, required), `name` (of the new
-- communicator; default: comm's, at most 63 bytes), `timeout` (seconds for
-- the newcomers to come and the grown world to come up; default: 5),
-- `address` (`tcp://HOST:PORT` where rank 0 waits for newcomers from other
-- hosts; default: CICADA_GROW_ADDRESS when no launcher can start them)
-- @return the grown communicator
-- @treturn table the newcomers' ranks in it
-- @raise `peer_failed` if a member died before the exchange (revoke,
-- shrink, grow again), `startup_timeout` if a member or a newcomer never
-- came; a plain error where no newcomer can come
function methods.grow(comm, opts)
  if type(opts) ~= "table" then
    check.argerror(1, "grow", "options table expected, got " .. type(opts))
  end
  local k = opts.count
  if math.type(k) ~= "integer" or k < 1 then
    check.optionerror("count", "grow", "integer >= 1 expected, got " .. tostring(k))
  end
  check.option(opts, "name", "string", "grow")
  check.option(opts, "timeout", "positive", "grow")
  check.option(opts, "address", "string", "grow")
  local name = opts.name or comm.name
  if #name > 63 then check.optionerror("name", "grow", "at most 63 bytes") end
  local address = opts.address
  if not address and not core._can_grow() then
    address = os.getenv("CICADA_GROW_ADDRESS")
    if address == "" then address = nil end
  end
  if not address and not core._can_grow() then
    check.error("comm:grow: this player was not started by cicada.run or cicada-lua -n, "
                .. "whose launchers start the newcomers: give address = \"tcp://HOST:PORT\" "
                .. "(or CICADA_GROW_ADDRESS) for newcomers started with cicada-lua --join")
  end
  local startup = opts.timeout or 5
  -- rank 0's id names the grown world (and keys its links in a world met
  -- through the rendezvous); 0 in a cicada.run world
  local id = core._grow_id()
  if address and id == 0 then
    check.error("comm:grow: only a world met through the rendezvous (cicada.connect) can "
                .. "take newcomers from other hosts")
  end
  local listener, port, host, seat, tls = comm:_grow_listen(address ~= nil)
  local got = comm:allgather{port, comm.rank == 0 and id or 0, host, seat}
  local ports, hosts, seats = {}, {}, {}
  id = got[1][2]
  for i, info in ipairs(got) do ports[i], hosts[i], seats[i] = info[1], info[3], info[4] end
  if tls then
    -- A TLS world keeps the ranks that certificates name: the members keep
    -- theirs, so the grown world must hold them.
    for _, r in ipairs(seats) do
      if r >= comm.world_size + k then
        listener = nil
        check.error(("comm:grow: a member plays rank %d in this TLS world: grow it to at least "
                     .. "%d players"):format(r, r + 1))
      end
    end
  end
  if not address then
    if comm.rank == 0 then
      core._grow_request{ports = ports, count = k, name = name, timeout = comm.timeout,
                         startup_timeout = startup, id = id}
    end
    local grown = comm:_grow_world(listener, ports, k, name, startup, id)
    return grown, grown.newranks
  end
  -- Across hosts: rank 0 seats the newcomers, then tells the others
  -- whether they all came.
  local verdict
  if comm.rank == 0 then
    local ok, err = pcall(core._grow_meet, {address = address, hosts = hosts, ports = ports,
                                            seats = seats, count = k, timeout = startup, id = id,
                                            name = name})
    verdict = ok and {ok = true, newcomers = err}
              or {kind = errors.kind(err), message = type(err) == "table" and err.message
                  or tostring(err)}
  end
  verdict = comm:broadcast(0, verdict)
  if not verdict.ok then
    if verdict.kind then
      error(errors.new(verdict.kind, {comm = comm.name, rank = comm.rank,
                                      message = verdict.message}), 0)
    end
    check.error(verdict.message)
  end
  local grown = comm:_grow_world(listener, ports, k, name, startup, id, hosts, seats,
                                 verdict.newcomers)
  return grown, grown.newranks
end

-- ==== Defaults from the environment ===========================================

-- The timings of run and connect that a CICADA_* variable gives when the
-- options table does not; cicada-lua's --timeout and the like set these
-- variables. (CICADA_TIME_LIMIT is cicada-lua's own: it bounds the whole
-- command, cicada.run's time_limit one run.)
local timing_env = {
  timeout = "CICADA_TIMEOUT",
  startup_timeout = "CICADA_STARTUP_TIMEOUT",
  heartbeat_interval = "CICADA_HEARTBEAT_INTERVAL",
  heartbeat_timeout = "CICADA_HEARTBEAT_TIMEOUT",
}

-- opts[key], else the number in its variable, else nil.
local function timing(opts, key, fname)
  local v = opts[key]
  if v ~= nil then return v end
  local var = timing_env[key]
  local text = os.getenv(var)
  if text == nil or text == "" then return nil end
  v = tonumber(text)
  if not v or v <= 0 then
    check.error(("cicada.%s: %s='%s' is not a positive number of seconds"):format(
      fname, var, text))
  end
  return v
end

-- CICADA_LOG_LEVEL (cicada-lua --log-level) sets the level of the library's
-- loggers, "cicada" and those below it.
do
  local level = os.getenv("CICADA_LOG_LEVEL")
  if level and level ~= "" then logging.getLogger("cicada"):setLevel(level) end
end

-- ==== Traffic figures (cicada-lua --stats) ====================================

-- With CICADA_STATS set, each player writes one line on stderr as it ends.
local stats_wanted = (os.getenv("CICADA_STATS") or "") ~= ""
local loaded_at = core.now()
local joined = {}     -- world communicators from connect, for print_stats

-- "stats: player 1 of 3: 0.52 s, sent 12 messages 3456 bytes, received ..."
local function stats_line(comm, started)
  local ok, st = pcall(comm.stats, comm)
  if not ok then return nil end
  local e = st.engine
  return ("stats: player %d of %d: %.3f s, sent %d messages %d bytes, received %d messages %d bytes\n")
    :format(comm.rank, comm.world_size, core.now() - started, e.msgs_sent, e.bytes_sent,
            e.msgs_recv, e.bytes_recv)
end

--- Write on stderr, for each world this process joined with `connect`,
-- the player's elapsed time (since `cicada` was loaded) and the messages
-- and bytes it sent and received over every communicator:
-- `stats: player 1 of 3: 0.520 s, sent 12 messages 3456 bytes, received 12
-- messages 3456 bytes`. `cicada-lua --stats` (CICADA_STATS) calls it when
-- the script ends, and has each `cicada.run` player write the same line.
function M.print_stats()
  for _, comm in ipairs(joined) do
    local line = stats_line(comm, loaded_at)
    if line then io.stderr:write(line) end
  end
end

-- ==== cicada.run ============================================================

local function run_player(fn, args)
  return function(comm, start_error)
    -- Players share the parent's stderr: line buffering makes each log
    -- record one write, so that records of different players never mix.
    io.stderr:setvbuf("line")
    local record
    if comm then
      local started = core.now()
      local ok, result = xpcall(fn, function(e)
        return {error = e, traceback = debug.traceback(tostring(e), 2)}
      end, comm, table.unpack(args, 1, args.n or #args))
      if ok then record = {ok = true, value = result}
      else record = {ok = false, error = result.error, traceback = result.traceback} end
      if not ok then pcall(core._announce_failure, tostring(result.error)) end
      if stats_wanted then io.stderr:write(stats_line(comm, started) or "") end
    else
      record = {ok = false, error = start_error, traceback = ""}
    end
    local ok, data = pcall(core.encode, record)
    if not ok then
      local what = record.ok and "its result" or "its error"
      data = core.encode({ok = false, error = ("cannot return %s: %s"):format(what, tostring(data)),
                          traceback = record.traceback or ""})
    end
    return data
  end
end

-- `trusted` is a comma-separated string of PEM files or a list of them.
local function trusted_list(v, fname)
  if v == nil or type(v) == "string" then return v end
  if type(v) == "table" then
    for i, path in ipairs(v) do
      if type(path) ~= "string" then
        check.optionerror("trusted", fname, ("PEM file name expected at [%d], got %s"):format(
          i, type(path)))
      end
    end
    return table.concat(v, ",")
  end
  check.optionerror("trusted", fname, "string or list of strings expected, got " .. type(v))
end

--- cicada.run{world_size=, fn=, args=, name="world", timeout=5,
-- startup_timeout=5, heartbeat_interval=0.1, heartbeat_timeout=1,
-- time_limit=nil, identity=nil, trusted=nil}
-- With `identity` (a PEM file with this host's key and certificate) and
-- `trusted` (PEM certificate files), every link is mutual TLS.
-- Forks world_size players on this host and calls fn(comm, table.unpack(args))
-- in each. Returns the list of their results in rank order, followed by
-- those of the newcomers that comm:grow started, in the order they were
-- started; a player that
-- raised gives a Failed record, one that died a Terminated record, and each
-- of those is logged as an error of "cicada.communicator". With
-- `time_limit` (seconds), players still running when it passes are stopped
-- (SIGTERM, then SIGKILL a second later) and come back as
-- `Terminated(exitcode=-15, time limit of 2 s passed)`. Timings not given
-- come from CICADA_TIMEOUT, CICADA_STARTUP_TIMEOUT,
-- CICADA_HEARTBEAT_INTERVAL and CICADA_HEARTBEAT_TIMEOUT.
-- Pass the results to `cicada.errors.check` to raise if any player failed.
-- @tab opts the options above; `world_size` and `fn` are required
-- @treturn table the players' results, in rank order
-- @raise `bad option 'world_size' to 'run' (integer >= 1 expected, got 0)`
-- and the like for bad options
function M.run(opts)
  if type(opts) ~= "table" then
    check.argerror(1, "run", "table expected, got " .. type(opts))
  end
  local n = opts.world_size
  if math.type(n) ~= "integer" or n < 1 then
    check.optionerror("world_size", "run", "integer >= 1 expected, got " .. tostring(n))
  end
  if type(opts.fn) ~= "function" then
    check.optionerror("fn", "run", "function expected, got " .. type(opts.fn))
  end
  check.option(opts, "args", "table", "run")
  check.option(opts, "name", "string", "run")
  check.option(opts, "identity", "string", "run")
  local trusted = trusted_list(opts.trusted, "run")
  local t = {}
  for key in pairs(timing_env) do
    check.option(opts, key, "positive", "run")
    t[key] = timing(opts, key, "run")
  end
  check.option(opts, "time_limit", "positive", "run")
  t.time_limit = opts.time_limit
  local name = opts.name or "world"
  local comm_log = logging.getLogger("cicada.communicator")
  core.set_engine_log_level(comm_log:getEffectiveLevel())

  local reports = core.launch({
    world_size = n, name = name, timeout = t.timeout,
    startup_timeout = t.startup_timeout,
    heartbeat_interval = t.heartbeat_interval,
    heartbeat_timeout = t.heartbeat_timeout,
    time_limit = t.time_limit,
    identity = opts.identity, trusted = trusted,
  }, run_player(opts.fn, opts.args or {}))

  -- The players started first, then the newcomers of every comm:grow in
  -- the order they were started.
  local results = {}
  for rank = 0, #reports - 1 do
    local report = reports[rank + 1]
    local result
    local ok, record = false, nil
    if report.data then ok, record = pcall(core.decode, report.data) end
    if ok and type(record) == "table" and record.ok then
      result = record.value
    elseif ok and type(record) == "table" then
      result = errors.Failed(record.error, record.traceback)
    elseif report.timed_out then
      result = errors.Terminated(report.exitcode,
                                 ("time limit of %g s passed"):format(t.time_limit))
    else
      result = errors.Terminated(report.exitcode)
    end
    if errors.is_failed(result) or errors.is_terminated(result) then
      local who = rank < n and ("player %d"):format(rank)
                  or ("newcomer %d"):format(rank - n + 1)
      comm_log:error(("Comm %s %s failed: %s"):format(name, who, tostring(result)))
    end
    results[rank + 1] = result
  end
  return results
end

-- ==== cicada.connect ========================================================

-- Each setting of connect, with the environment variable that gives it
-- when the options table does not. The cicada-lua command line sets these
-- variables, so a script run by the launcher or with --rank needs none.
local connect_env = {
  world_size = "CICADA_WORLD_SIZE",
  rank = "CICADA_RANK",
  root_address = "CICADA_ROOT_ADDRESS",
  address = "CICADA_ADDRESS",
  token = "CICADA_TOKEN",
  identity = "CICADA_IDENTITY",
  trusted = "CICADA_TRUSTED",
  join = "CICADA_JOIN",
}

local function connect_setting(opts, key)
  local v = opts[key]
  local var = connect_env[key]
  if v ~= nil or not var then return v end
  v = os.getenv(var)
  if v == nil or v == "" then return nil end
  if key == "world_size" or key == "rank" then
    local n = math.tointeger(tonumber(v))
    if not n then
      check.error(("cicada.connect: %s='%s' is not an integer"):format(var, v))
    end
    return n
  end
  return v
end

--- cicada.connect{world_size=, rank=, root_address=, address=, token=,
-- identity=, trusted=, name="world", timeout=5, startup_timeout=5,
-- heartbeat_interval=0.1, heartbeat_timeout=1}
-- Joins a world whose players were started separately: by `cicada-lua -n N`
-- or one per host with `cicada-lua --rank R -n N --root-address tcp://H:P`.
-- Settings not given come from CICADA_WORLD_SIZE, CICADA_RANK,
-- CICADA_ROOT_ADDRESS, CICADA_ADDRESS, CICADA_TOKEN, CICADA_IDENTITY,
-- CICADA_TRUSTED, CICADA_TIMEOUT, CICADA_STARTUP_TIMEOUT,
-- CICADA_HEARTBEAT_INTERVAL and CICADA_HEARTBEAT_TIMEOUT; with none at all
-- it returns a world of one. With
-- `identity` and `trusted` every link is mutual TLS (see cicada.run). Returns the world communicator. Raises
-- `token_mismatch` or `startup_timeout` (cicada errors) when the world
-- cannot form, `encryption_failed` when a peer is not trusted or not
-- speaking TLS, and a plain error for bad settings or an address in use.
-- @tab[opt] opts the settings above
-- @return the world communicator
function M.connect(opts)
  if opts ~= nil and type(opts) ~= "table" then
    check.argerror(1, "connect", "table expected, got " .. type(opts))
  end
  opts = opts or {}
  for _, key in ipairs{"world_size", "rank"} do check.option(opts, key, "integer", "connect") end
  for _, key in ipairs{"root_address", "address", "token", "name", "identity", "join"} do
    check.option(opts, key, "string", "connect")
  end
  local trusted = trusted_list(opts.trusted, "connect")
  local settings = {name = opts.name}
  for _, key in ipairs{"timeout", "startup_timeout", "heartbeat_interval", "heartbeat_timeout"} do
    check.option(opts, key, "positive", "connect")
    settings[key] = timing(opts, key, "connect")
  end
  for key in pairs(connect_env) do settings[key] = connect_setting(opts, key) end
  if trusted then settings.trusted = trusted end
  core.set_engine_log_level(logging.getLogger("cicada.communicator"):getEffectiveLevel())
  local comm = core.connect(settings)
  if stats_wanted then joined[#joined + 1] = comm end
  return comm
end

return M
