--- cicada.shamir: Shamir secret sharing protocol suites.
--
-- Owns BasicProtocolSuite (share, reveal, local arithmetic on shares,
-- reshare, and the index bookkeeping that lets a suite be rebuilt on a
-- shrunk communicator). The polynomial work is one C call each
-- (Field:shamir_share / Field:shamir_recover); this file decides who sends
-- what to whom.
--
--     local p = shamir.BasicProtocolSuite(comm, {threshold=2})
--     local a = p:share(0, comm.rank == 0 and 3.5 or nil, {})
--     local b = p:share(1, comm.rank == 1 and {1, 2} or nil, {2})
--     p:reveal(p:add(a, b))                --> {4.5, 5.5} at every player
--
-- Options: `threshold` k (2 <= k <= comm.world_size): any k players can
-- reveal, fewer learn nothing; `indices`: one distinct nonzero integer
-- x-coordinate per rank (default 1..n); `seed`: makes the suite's randomness
-- reproducible (combined with comm.rank so players differ; without it the
-- OpenSSL CSPRNG is used); `order`: the field order (default 2^64-59);
-- `encoding`: default cicada.encoding.FixedPoint{precision=16}.
--
-- Shares are field arrays with the shape of the secret. Rebuild the suite
-- after comm:shrink with
--     shamir.BasicProtocolSuite(newcomm, {threshold=k,
--                                         indices=p:indices_for(oldranks)})
-- so that the survivors keep their x-coordinates and old shares stay valid.
local core = require("cicada.core")
local encoding = require("cicada.encoding")
local field = require("cicada.field")

local M = {}

local Suite = {}
Suite.__index = Suite
Suite.__name = "cicada.shamir.BasicProtocolSuite"

local function argerror(n, fname, msg, level)
  error(string.format("bad argument #%d to '%s' (%s)", n, fname, msg), (level or 2) + 1)
end

-- ==== Construction ========================================================

local function check_indices(indices, n)
  if type(indices) ~= "table" then
    argerror(2, "BasicProtocolSuite", "indices must be a list, got " .. type(indices), 3)
  end
  if #indices ~= n then
    argerror(2, "BasicProtocolSuite", string.format(
      "%d indices for %d players", #indices, n), 3)
  end
  local seen, copy = {}, {}
  for i = 1, n do
    local x = indices[i]
    if math.type(x) ~= "integer" or x == 0 then
      argerror(2, "BasicProtocolSuite", string.format(
        "index %d (%s) is not a nonzero integer", i, tostring(x)), 3)
    end
    if seen[x] then
      argerror(2, "BasicProtocolSuite", string.format(
        "indices %d and %d are the same (%d)", seen[x], i, x), 3)
    end
    seen[x] = i
    copy[i] = x
  end
  return copy
end

local function make_rng(seed, rank)
  if seed == nil then
    return core.rng()
  end
  if math.type(seed) ~= "integer" and type(seed) ~= "string" then
    argerror(2, "BasicProtocolSuite", "seed must be an integer or a string, got "
             .. type(seed), 4)
  end
  return core.rng(string.format("%s/rank/%d", tostring(seed), rank))
end

--- BasicProtocolSuite(comm, {threshold=, indices=, seed=, order=, encoding=})
function M.BasicProtocolSuite(comm, options)
  if type(comm) ~= "table" and type(comm) ~= "userdata" then
    argerror(1, "BasicProtocolSuite", "communicator expected, got " .. type(comm))
  end
  options = options or {}
  if type(options) ~= "table" then
    argerror(2, "BasicProtocolSuite", "options table expected, got " .. type(options))
  end
  local n = comm.world_size
  local k = options.threshold
  if math.type(k) ~= "integer" then
    argerror(2, "BasicProtocolSuite", "threshold must be an integer, got " .. tostring(k))
  end
  if k < 2 or k > n then
    argerror(2, "BasicProtocolSuite", string.format(
      "threshold %d out of range [2, %d]", k, n))
  end
  local indices = options.indices
  if indices == nil then
    indices = {}
    for i = 1, n do indices[i] = i end
  end
  indices = check_indices(indices, n)
  local ok, F = pcall(field.Field, {order = options.order})
  if not ok then
    argerror(2, "BasicProtocolSuite", (tostring(F):gsub("^.-%((.*)%)$", "%1")))
  end
  local self = setmetatable({
    communicator = comm,
    threshold = k,
    indices = indices,
    field = F,
    encoding = options.encoding or encoding.FixedPoint{precision = 16},
    _indices = F:array(indices),
    _rng = make_rng(options.seed, comm.rank),
  }, Suite)
  -- The field rejects indices that collide modulo its order.
  local lok, err = pcall(F.lagrange, F, self._indices)
  if not lok then
    argerror(2, "BasicProtocolSuite", "indices: " .. tostring(err):gsub("^.-%((.*)%)$", "%1"))
  end
  return self
end

--- Same as BasicProtocolSuite for now; a later change adds multiplication
-- and the rest of the full suite here.
M.ProtocolSuite = M.BasicProtocolSuite

function Suite:__tostring()
  return string.format("BasicProtocolSuite(world_size=%d, threshold=%d)",
                       self.communicator.world_size, self.threshold)
end

-- ==== Helpers =============================================================

local function check_rank(comm, r, n, fname)
  if math.type(r) ~= "integer" or r < 0 or r >= comm.world_size then
    argerror(n, fname, string.format("rank %s out of range [0, %d)",
                                     tostring(r), comm.world_size), 3)
  end
  return r
end

-- A share of this suite's field, or raise naming argument n of fname.
function Suite:_check_share(x, n, fname)
  local a = type(x) == "userdata" and getmetatable(x) and getmetatable(x).__name
  if a ~= "cicada.FieldArray" then
    argerror(n, fname, "share (field array) expected, got " .. type(x), 3)
  end
  if x.order ~= self.field.order then
    argerror(n, fname, "share of another field", 3)
  end
  return x
end

local function shape_str(shape)
  return "{" .. table.concat(shape, ", ") .. "}"
end

local function same_shape(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- Rows of an m x N matrix, each reshaped to shape: rows[r + 1] is rank r's.
local function split_rows(matrix, shape)
  local rows = {}
  for r = 1, matrix.shape[1] do
    rows[r] = matrix:row(r):reshape(shape)
  end
  return rows
end

-- Reconstruct from a list of shares held by the players with indices xs.
function Suite:_recover(shares, xs, shape)
  local F = self.field
  local flat = {}
  for i, s in ipairs(shares) do
    flat[i] = s:reshape{s.size}
  end
  return F:shamir_recover(F:stack(flat), xs):reshape(shape)
end

-- ==== Sharing and revealing ===============================================

--- p:share(src, secret, shape): secret (number, list or field array) at
-- src only; returns this player's share, shaped like the secret.
function Suite:share(src, secret, shape)
  local comm = self.communicator
  check_rank(comm, src, 1, "share")
  if shape ~= nil and type(shape) ~= "table" then
    argerror(3, "share", "shape must be a list of sizes, got " .. type(shape))
  end
  local rows
  if comm.rank == src then
    if secret == nil then
      argerror(2, "share", string.format("secret is required at the source, player %d", src))
    end
    local F = self.field
    local value
    if type(secret) == "userdata" then
      value = self:_check_share(secret, 2, "share")
    else
      value = self.encoding:encode(secret, F)
    end
    if shape ~= nil and not same_shape(value.shape, shape) then
      argerror(3, "share", string.format("secret has shape %s, not %s",
                                         shape_str(value.shape), shape_str(shape)))
    end
    local matrix = F:shamir_share(value:reshape{value.size}, self.threshold,
                                  self._indices, self._rng)
    rows = split_rows(matrix, value.shape)
  end
  local share = comm:scatter(src, rows)
  if shape ~= nil and not same_shape(share.shape, shape) then
    error(string.format("share from player %d has shape %s, expected %s",
                        src, shape_str(share.shape), shape_str(shape)), 2)
  end
  return share
end

local function check_dst(comm, dst)
  if type(dst) ~= "table" then
    argerror(2, "reveal", "dst must be a list of ranks, got " .. type(dst), 3)
  end
  local seen = {}
  for i, r in ipairs(dst) do
    if math.type(r) ~= "integer" or r < 0 or r >= comm.world_size then
      argerror(2, "reveal", string.format("rank %s out of range [0, %d)",
                                          tostring(r), comm.world_size), 3)
    end
    if seen[r] then
      argerror(2, "reveal", string.format("rank %d appears twice", r), 3)
    end
    seen[r] = i
  end
  return dst
end

--- p:reveal(share, dst): the decoded secret at the players in dst (every
-- player when dst is nil), nil elsewhere.
function Suite:reveal(share, dst)
  local comm = self.communicator
  self:_check_share(share, 1, "reveal")
  local shares
  if dst == nil then
    shares = comm:allgather(share)
  else
    check_dst(comm, dst)
    for _, d in ipairs(dst) do
      local got = comm:gatherv(comm.ranks, share, d)
      if d == comm.rank then shares = got end
    end
  end
  if shares == nil then
    return nil
  end
  local secret = self:_recover(shares, self._indices, share.shape)
  return self.encoding:decode(secret, self.field)
end

-- ==== Arithmetic on shares ================================================

function Suite:add(a, b)
  self:_check_share(a, 1, "add")
  self:_check_share(b, 2, "add")
  return self.field:add(a, b)
end

function Suite:subtract(a, b)
  self:_check_share(a, 1, "subtract")
  self:_check_share(b, 2, "subtract")
  return self.field:subtract(a, b)
end

function Suite:negative(a)
  self:_check_share(a, 1, "negative")
  return self.field:negative(a)
end

--- The share of the sum of a shared array's elements (a 0-d share).
function Suite:sum(a)
  self:_check_share(a, 1, "sum")
  return self.field:sum(a)
end

--- A fresh share of the same secret: every player shares its share with a
-- new random polynomial; each combines what it receives with the Lagrange
-- weights at 0. Old and new shares are unrelated polynomials.
function Suite:reshare(share)
  local comm = self.communicator
  local F = self.field
  self:_check_share(share, 1, "reshare")
  local matrix = F:shamir_share(share:reshape{share.size}, self.threshold,
                                self._indices, self._rng)
  local mine = split_rows(matrix, {share.size})
  local received = {}
  for src = 0, comm.world_size - 1 do
    received[src + 1] = comm:scatter(src, src == comm.rank and mine or nil)
  end
  return F:shamir_recover(F:stack(received), self._indices):reshape(share.shape)
end

--- The indices for a suite rebuilt on a shrunk communicator: oldranks[i]
-- is the old (0-based) rank of new rank i - 1, as returned by shrink.
function Suite:indices_for(oldranks)
  if type(oldranks) ~= "table" then
    argerror(1, "indices_for", "list of ranks expected, got " .. type(oldranks))
  end
  local out = {}
  for i, r in ipairs(oldranks) do
    if math.type(r) ~= "integer" or r < 0 or r >= #self.indices then
      argerror(1, "indices_for", string.format("rank %s out of range [0, %d)",
                                               tostring(r), #self.indices))
    end
    out[i] = self.indices[r + 1]
  end
  return out
end

return M
