/*
 * shamir.h - Shamir sharing with fresh random coefficients.
 *
 * Owns the one step that every front end's "share this secret" needs: draw
 * the k - 1 random coefficient rows of each polynomial from a cc_rng,
 * evaluate the polynomials (64-bit or 128-bit fields) at the players' x-coordinates (field.h's
 * kernels) and wipe the coefficients (explicit_bzero, which the compiler
 * may not drop) on success and on every error path: together with one
 * share they would reveal the secret. The C API (cicada_shamir_share) and the Lua
 * binding (F:shamir_share, F:shamir_share_each) call these; neither draws
 * coefficients itself. No Lua here.
 */
#ifndef CICADA_CORE_SHAMIR_H
#define CICADA_CORE_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/field.h"
#include "core/field128.h"
#include "core/random.h"
#include "core/status.h"

/* Elements per block of a sharing: the coefficients are drawn and used a
 * block at a time. */
#define CC_SHAMIR_BLOCK ((size_t)4096)

/* Share the n-element secret with threshold k (check.h's rule, 1 <= k <= m)
 * among the m players with x-coordinates x (nonzero and distinct mod p).
 * out is the m x n row-major matrix whose row j holds player j's shares;
 * it must not overlap secret. The coefficients are drawn block by block:
 * for each block of b = min(n - i0, CC_SHAMIR_BLOCK) elements from i0 on,
 * (k - 1) x b of them (the rows of degrees 1 .. k - 1), so that for
 * n <= CC_SHAMIR_BLOCK (and for any n when k <= 2) the stream gives the
 * (k - 1) x n matrix of cc_field_shamir_share in row order. scratch holds
 * a block's coefficients: (k - 1) * min(n, CC_SHAMIR_BLOCK) words of the
 * caller's, or NULL to allocate and free them here; either way they are
 * wiped before return. CC_OK, or CC_EINVALID (threshold, indices),
 * CC_ENOMEM or CC_EIO (the stream failed) with err filled. */
cc_status cc_shamir_share(const cc_field *f, cc_rng *rng, const uint64_t *secret, size_t n,
                          size_t k, const uint64_t *x, size_t m, uint64_t *out,
                          uint64_t *scratch, cc_error *err);

/* The same, writing player j's n shares at outs[j] (m pointers): for
 * callers whose players' shares live in separate arrays. */
cc_status cc_shamir_share_rows(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                               size_t n, size_t k, const uint64_t *x, size_t m,
                               uint64_t *const *outs, uint64_t *scratch, cc_error *err);

/* The same two for a field of up to 128 bits (core/field128.h): every array
 * (secret, x, out, outs[j], scratch) holds 2 words per element, and
 * scratch is (k - 1) * min(n, CC_SHAMIR_BLOCK) elements, twice as many
 * words. */
cc_status cc_shamir_share128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                             size_t n, size_t k, const uint64_t *x, size_t m,
                             uint64_t *out, uint64_t *scratch, cc_error *err);
cc_status cc_shamir_share_rows128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                                  size_t n, size_t k, const uint64_t *x, size_t m,
                                  uint64_t *const *outs, uint64_t *scratch, cc_error *err);

/* Player j's row (0 <= j < m) of cc_shamir_share's matrix, the
 * coefficients drawn from rng the same way: with a stream of the same
 * state, the rows made one at a time are those of one sharing, and no
 * more than one row need exist at a time. out holds n elements. */
cc_status cc_shamir_share_row(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                              size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                              uint64_t *out, uint64_t *scratch, cc_error *err);
cc_status cc_shamir_share_row128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                                 size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                                 uint64_t *out, uint64_t *scratch, cc_error *err);

/* Player j's row as cc_shamir_share_row makes it (the same draws from rng),
 * written at out as the words of the wire format (core/wire.h): n elements
 * of width (1, or 2 for the 128-bit call) little-endian u64s, at any
 * alignment, e.g. straight after an array header in a payload. Each block
 * of CC_SHAMIR_BLOCK elements is evaluated into block (the caller's
 * min(n, CC_SHAMIR_BLOCK) elements, aligned) and stored, so that no
 * n-element row need exist. scratch holds a block's coefficients as for
 * cc_shamir_share, but is the caller's (not NULL); it is wiped before
 * return. Errors as cc_shamir_share_row's. */
cc_status cc_shamir_share_row_wire(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                                   size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                                   uint8_t *out, uint64_t *scratch, uint64_t *block,
                                   cc_error *err);
cc_status cc_shamir_share_row_wire128(const cc_field128 *f, cc_rng *rng,
                                      const uint64_t *secret, size_t n, size_t k,
                                      const uint64_t *x, size_t m, size_t j, uint8_t *out,
                                      uint64_t *scratch, uint64_t *block, cc_error *err);

#endif
