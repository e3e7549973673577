--- cicada.shamir: Shamir secret sharing protocol suites.
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
-- OpenSSL CSPRNG is used); `order`: the field order (default 2^127-1);
-- `encoding`: default cicada.encoding.FixedPoint{precision=16}.
--
-- `statistical_security` (default 40) and `value_bits` (default precision
-- + 32) size the masks of ProtocolSuite's masked reveals; a ProtocolSuite
-- whose field has no room for them raises an error naming a field that
-- would do (cicada.shamir.protocol).
--
-- Shares are field arrays with the shape of the secret. Rebuild the suite
-- after comm:shrink with
--
--     shamir.BasicProtocolSuite(newcomm, {threshold=k,
--                                         indices=p:indices_for(oldranks)})
--
-- so that the survivors keep their x-coordinates and old shares stay valid.
--
-- This module holds the public constructors; the suites live in the
-- modules of lua/cicada/shamir/, one per concern:
--
--   cicada.shamir.basic       BasicProtocolSuite: construction, share,
--                             reveal, add, subtract, negative, sum,
--                             reshare, indices_for
--   cicada.shamir.protocol    ProtocolSuite: the class, its checks, and
--                             the assembly of the parts below
--   cicada.shamir.dealing     the rounds in which players deal shares
--   cicada.shamir.truncation  truncate; the probabilistic truncation and
--                             its statistical-security caveat
--   cicada.shamir.arithmetic  multiplications, dot, matvec, powers, inverse
--   cicada.shamir.bits        random_bitwise_secret, bit_compose
--   cicada.shamir.heal        recover: shares for newcomers, revealing
--                             nothing (share recovery of proactive secret
--                             sharing)
--   cicada.shamir.compare     less, less_zero, equal, maximum, minimum,
--                             relu, absolute, floor, zigmoid, bit_decompose
--   cicada.shamir.logic       logical_and, logical_or, logical_xor,
--                             logical_not
--   cicada.shamir.division    divide
-- @module cicada.shamir
local basic = require("cicada.shamir.basic")
local ProtocolSuite = require("cicada.shamir.protocol")

local M = {}

--- A suite for sharing, revealing and local arithmetic on shares.
-- @param comm the communicator whose players hold the shares
-- @tab options `threshold` (required), `indices`, `seed`, `order`, `encoding`,
-- `statistical_security`, `value_bits` (see the module comment)
-- @return a cicada.shamir.BasicProtocolSuite
-- @raise `bad argument #2 to 'BasicProtocolSuite' (threshold 1 out of range [2, 3])`
-- and the like for bad options
function M.BasicProtocolSuite(comm, options)
  return basic.new("BasicProtocolSuite", basic.Suite, comm, options)
end

--- The basic suite plus multiplication and what is built on it
-- (semi-honest, honest majority: multiplication needs
-- 2 * threshold - 1 <= world_size).
-- @param comm the communicator whose players hold the shares
-- @tab options as for BasicProtocolSuite
-- @return a cicada.shamir.ProtocolSuite
-- @raise as BasicProtocolSuite
function M.ProtocolSuite(comm, options)
  return basic.new("ProtocolSuite", ProtocolSuite, comm, options)
end

return M
