--- cicada.field: arithmetic modulo a prime below 2^128, over whole arrays in C.
--
-- This module owns the Lua face of the field bindings (engine/lua_field.c);
-- the arithmetic is in engine/core/field.c (orders below 2^64) and
-- engine/core/field128.c (orders of 65 to 128 bits), the random streams in
-- engine/core/random.c.
--
-- ## Fields
--
--     local field = require("cicada.field")
--     local F = field.Field{order = 7}        -- or field.Field() for 2^64-59
--     local G = require("cicada.core").Field("18446744069414584321")
--     local W = field.Field{order = field.SUITE_ORDER}   -- 2^127 - 1
--
-- `order` is a prime with 2 <= order < 2^128, given as a Lua integer, as a
-- decimal or 0x-hex string, or (above math.maxinteger, below 2^64) as the
-- integer with the same 64 bits (-59 is 2^64-59). Composite or out-of-range
-- orders raise an error. Orders below 2^64 make the 64-bit field (one word
-- per element); larger ones the 128-bit field (two words per element; fast
-- reduction for 2^127 - 1 and pseudo-Mersenne primes such as 2^128 - 159,
-- Montgomery otherwise). Every method below works in both.
-- `F.order` is the order as a Lua integer with the same 64 bits (a decimal
-- string in a 128-bit field), `F.bits` its bit length, `tostring(F)` is
-- `Field(order=7)`; fields compare equal by order.
--
-- ## Arrays
--
-- Field arrays have 0 (a scalar), 1 or 2 dimensions, elements stored inline
-- as one or two 64-bit words; a million-element array is one allocation.
--
--     F:array(x)          -- x: integer (0-d), list (1-d), list of rows (2-d),
--                         -- or a field array of F (copied). Integers are
--                         -- reduced mod p; negatives wrap (-1 is p-1).
--     F:zeros(shape), F:ones(shape)      -- shape: {} , {n}, {m, n} or n
--     F:uniform(shape [, rng])           -- uniform elements; CSPRNG if no rng
--     F:uniform_below(shape, bound [, rng])  -- uniform in [0, bound),
--                                        -- 1 <= bound <= order; bound an
--                                        -- integer, integer string or 0-d
--                                        -- array of F (e.g. F:power(2, 100))
--     F:stack{a1, a2, ...}               -- n-vectors to an m x n matrix,
--                                        -- scalars to a vector
--     F:concat({a1, a2, ...} [, shape])  -- every element of a1, then of a2...
--                                        -- (row-major) as a vector, or in
--                                        -- the given shape
--
--     a.shape (a new list), a.ndim, a.size, a.order
--     #a                  -- number of elements (a.size)
--     a[i], a[i] = v      -- element i (1-based, row-major); values read back
--                         -- as Lua integers with the same 64 bits
--     a:tolist()          -- integer, list or list of rows, same 64 bits
--     a:row(i)            -- row i of a matrix, as a vector
--     a:slice(i [, j])    -- elements i..j (default: to the end; 1-based,
--                         -- row-major, inclusive) as a new vector
--     a:reshape(shape), a:copy()
--     a:transpose()       -- a matrix with rows and columns swapped
--     a + b, a - b, a * b, -a, a == b, tostring(a)
--
-- Values read back with the same 64 bits: above math.maxinteger they show as
-- negative Lua integers, and F:array() reads negative integers as negatives
-- (so p-1 reads back as -60 in the default field, and F:array{-60} is p-60).
-- Use F:decode_int for signed values.
--
-- In a 128-bit field, elements read back (a[i], a:tolist(), a.order) as Lua
-- integers below 2^63 and as decimal strings from 2^63 on, and F:decode_int
-- gives an integer when the signed value fits, else its decimal string
-- ("-99999999999999999999"). Wherever an integer element is taken (F:array,
-- a[i] = v, the operands below, uniform_below's bound), a decimal or 0x-hex
-- string, optionally signed, gives one beyond Lua's integers.
--
-- ## Arithmetic
--
-- Operands are arrays of F, or integers or lists that are converted. A 0-d
-- operand (or an integer) broadcasts over the other; otherwise shapes must
-- match (`bad argument #2 to 'add' (shapes {3} and {4} differ)`). Arrays of
-- different fields never mix.
--
--     F:add(a, b), F:subtract(a, b), F:multiply(a, b), F:negative(a)
--     F:sum(a), F:dot(a, b)      -- 0-d arrays
--     F:matvec(A, x)             -- {m, k} matrix times {k} vector: {m}
--     F:bit_compose(bits)        -- {k} bits (most significant first) to a
--                                -- 0-d number; {m, k} rows to an {m} vector
--     F:shift_right(a, s)        -- floor(a / 2^s) of the canonical values
--                                -- (0 <= s < 64, or < 128 in a 128-bit
--                                -- field), for public values
--     F:power(a, e)              -- public integer e; negative e inverts
--     F:inverse(a)               -- Montgomery's trick; names a zero element
--     F:try_inverse(a)           -- the inverse, or nil and the index of the
--                                -- first zero element
--     F:equal(a, b)              -- true if same shape and elements
--
-- ## Secret sharing kernels
--
--     F:lagrange(indices)                -- weights at 0 for distinct nonzero
--                                        -- x-coordinates
--     F:shamir_share(secret, k, indices [, rng])
--         -- n-element secret, threshold k (degree k-1), m players: the m x n
--         -- matrix whose row j is player j's shares
--     F:shamir_recover(shares, indices)  -- r x n shares -> n-vector (also
--                                        -- combines reshared sub-shares)
--     F:shamir_share_each(secrets, ks, indices [, rng])
--         -- what each player receives: a list of m arrays. secrets is one
--         -- array with an integer threshold k (each result shaped like it),
--         -- or a list of s n-element arrays with a list of s thresholds
--         -- (each result an s x n matrix, row i sharing secrets[i])
--     F:shamir_share_row(secret, k, indices, j [, rng])
--         -- row j of F:shamir_share(secret, k, indices, rng), shaped like
--         -- the secret: with streams in the same state, the rows made one
--         -- at a time are those of one sharing
--     F:shamir_share_message(secret, k, indices, j [, rng [, into]])
--         -- the same row as a Message, ready to send: its encoding,
--         -- written block by block straight into the bytes that travel
--         -- (no row array, no encoded copy). Every send (send, isend,
--         -- scatterv, broadcast ...) takes it as it is, and the receiver
--         -- gets the row as a field array. into, a Message of an earlier
--         -- call, is written over and returned if no send holds it any
--         -- more (and its room fits), else its bytes are dropped.
--         -- msg:wait([seconds]) -> true once no send holds its bytes
--         -- (false after seconds, default 1); msg:free() (also <close>)
--         -- drops them now; #msg is their count. A freed message cannot
--         -- be sent.
--     F:lincomb(weights, arrays)         -- sum of weights[j] * arrays[j],
--                                        -- arrays of one shape
--     F:lincomb_rows(weights, a)         -- sum of weights[j] * row j of a
--                                        -- (#weights rows of #a / #weights)
--     F:wipe(a, ...)                     -- overwrite the arrays with zeros
--                                        -- (secrets no longer needed)
--     F:xor_group(b, u, v, z, fa, x, m, pairs [, lam, rho, negate])
--         -- a group member's shares of the XOR of its group's bits b with
--         -- a dealer's shared bits u, and of the products of the first
--         -- pairs of them (v: the dealer's products), and its messages to
--         -- the dealer (cicada.shamir.compare's _mask_bits_pair)
--     F:xor_group_drawn(stream, u, v, fa, x, m, pairs [, lam, negate])
--         -- the same with b, z and rho drawn from the group's stream in C,
--         -- row by row: b's m rows packed (ceil(n / 64) little-endian
--         -- 64-bit words each, one bit an element), then z and rho of each
--         -- of the m + pairs rows (F:uniform's draws); returns as xor_group
--     F:less_tree_products(lt, eq, n), F:less_tree_merge(lt, prod, n)
--         -- one level of a less-than tree of (lt, eq) rows of n (vectors,
--         -- most significant first): the products eq[2i] lt[2i+1] and
--         -- eq[2i] eq[2i+1] of the level, then from their reduced shares
--         -- the next level's lt and eq (cicada.shamir.compare's less_tree)
--     F:bitlt_pairs(c, r, rho, m)        -- the first level of a bitwise
--         -- less-than of the public vector c's low m bits and m rows of
--         -- shared bits r (the pairs' high bits, their low bits, then bit 0
--         -- if m is odd; rho the pairs' products): shares of each pair's
--         -- (lt, eq), two vectors of m // 2 + m % 2 rows, locally
--     F:tree_deal(stream, lt, eq, n, w)  -- fields wider than 64 bits:
--         -- a level's products h (as less_tree_products) dealt with
--         -- threshold 2 in one pass: with e drawn from stream row by row
--         -- (F:uniform's draws of n) and q = w[1] h, returns w[2] q +
--         -- w[3] e, then w[2k] q + w[2k+1] e for each further pair of
--         -- weights (cicada.shamir.compare's _tree_plan)
--     F:tree_merge(streams, lt, own, got, n, x)
--         -- the next level's lt and eq (as less_tree_merge) from products
--         -- own + x d + the sum of the list got, d the sum of the rows
--         -- drawn as tree_deal draws e from each stream of the list
--     F:deal_bits(own, pair, m, pairs, n, w)
--         -- a dealer's messages of m rows of n random bits u (packed draws
--         -- from own, as xor_group_drawn's b) and of the products of rows
--         -- i and m // 2 + i for the first pairs: with e F:uniform's draws
--         -- from pair (m n, then pairs n), w0 u + w1 e and w0 prod + w1 e
--         -- for each pair of weights (w0, w1) of w, 128-bit fields only
--
-- ## Kernels into existing arrays
--
-- For loops that reuse their temporaries (cicada.shamir's truncations):
-- each fills an array the caller owns and returns it.
--
--     F:_unfilled(shape)                 -- an array of that shape, not cleared:
--         -- for results whose every element a kernel below writes
--     F:uniform_into(out [, rng]), F:uniform_below_into(out, bound [, rng])
--         -- fill out as F:uniform and F:uniform_below would draw it
--     F:shift_right_into(out, a, s)      -- out = floor(a / 2^s)
--     F:lincomb_into(out, weights, arrays)
--         -- out = sum of weights[j] * arrays[j] (out may be one of them)
--     F:mul_lincomb_into(out, a, b, at, weights, arrays, s [, pw])
--         -- out = pw * x * y + sum of weights[j] * arrays[j] + s, with
--         -- x, y the #out elements of a and b from index at on (b nil:
--         -- pw * x + ...), s and pw (default 1) one element each; out may
--         -- be a size n for a new vector
--     F:_mul_lincomb_message(into, n, a, b, at, weights, arrays, s [, pw])
--         -- a Message holding the encoding of the vector
--         -- F:mul_lincomb_into(n, ...) would give, made straight into the
--         -- bytes that travel; into (a message of an earlier call, or nil)
--         -- is written over when no send holds it and its room fits
--     F:unmask_into(result, at, weights, cs, bits, s, v, ys)
--         -- the #cs[1] elements of result from index at on become
--         -- floor(c / 2^bits) - s - sum of v[j] * ys[j], where c is the sum
--         -- of weights[j] * cs[j]: a truncation's last step in one pass;
--         -- cs may also be the messages of comm:_allgather_payloads (each a
--         -- vector of the field), read where they arrived and released; so
--         -- may ys's elements then, each a message of comm:_lib_recv_payload
--
-- ## Encodings (one C call per array; used by cicada.encoding)
--
--     F:encode_fixed(x, precision), F:decode_fixed(a, precision)
--         -- x * 2^precision rounded half away from zero; negatives wrap;
--         -- decoding treats values above (p-1)/2 as negative, gives floats
--     F:encode_int(x), F:decode_int(a)     -- integers, signed decoding
--     F:encode_bool(x), F:decode_bool(a)   -- true/false <-> 1/0
--     F:encode_bits(x), F:decode_bits(a)
--         -- a non-negative integer to its F.bits bits, most significant
--         -- first; or a list of 0/1 as given; decoding gives 0/1 integers
-- Decoding gives a number for a 0-d array, a list for 1-d, rows for 2-d.
--
-- ## Random streams
--
--     local rng = core.rng()      -- OpenSSL CSPRNG
--     local rng = core.rng(42)    -- reproducible AES-128-CTR stream (integer or
--                                 -- string seed)
--     rng:uniform()               -- float in [0, 1)
--     rng:bytes(n)                -- n random bytes
-- @module cicada.field
local check = require("cicada.check")
local core = require("cicada.core")

local M = {}

--- 2^64 - 59, the default order, as the decimal string.
M.DEFAULT_ORDER = "18446744073709551557"

--- 2^127 - 1, the Mersenne prime that is the Shamir suites' default order,
-- as the decimal string.
M.SUITE_ORDER = "170141183460469231731687303715884105727"

--- Make a field: `Field{order=...}` or `Field(order)`; default 2^64 - 59.
-- @param[opt] options a table with `order`, or the order itself
-- @return the field
-- @raise `bad argument #1 to 'Field' (field order 561 is not prime)`
function M.Field(options)
  local order = options
  if type(options) == "table" then
    order = options.order
  end
  if order == nil then
    order = M.DEFAULT_ORDER
  end
  local ok, F = pcall(core.Field, order)
  if not ok then check.argerror(1, "Field", check.reason(F)) end
  return F
end

--- A random stream: `rng()` for the OpenSSL CSPRNG, `rng(seed)` for a
-- reproducible AES-128-CTR stream (integer or string seed). A seed gives
-- the same stream in every run, but not the ChaCha20 stream it gave in
-- earlier versions of cicada: values recorded from those differ now.
-- @function rng
M.rng = core.rng

return M
