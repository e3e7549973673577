/*
 * shamir.c - Shamir sharing with fresh random coefficients (see shamir.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/shamir.h"
#include "core/wire.h"

/* Share into outs[j], or into the rows of matrix when outs is NULL; f64 or
 * f128 (the other NULL) says the width: 1 or 2 words per element. Block by
 * block: a block's coefficients (k - 1 rows of it) stay in cache while
 * every player's shares of it are evaluated, and only a block's worth of
 * coefficients exists at a time. */
static cc_status share(const cc_field *f64, const cc_field128 *f128, cc_rng *rng,
                       const uint64_t *secret, size_t n, size_t k, const uint64_t *x,
                       size_t m, uint64_t *matrix, uint64_t *const *outs,
                       uint64_t *scratch, size_t only, cc_error *err) {
  char msg[160];
  uint64_t *coeffs;
  size_t ncoeffs, width = f128 ? 2 : 1;
  cc_status st = cc_check_threshold(k > INT64_MAX ? INT64_MAX : (int64_t)k, m, err);
  if (st != CC_OK) return st;
  if ((f128 ? cc_field128_check_indices(f128, x, m, msg, sizeof msg)
            : cc_field_check_indices(f64, x, m, msg, sizeof msg)) != CC_FIELD_OK)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%s", msg);
  if (n == 0) return CC_OK;
  size_t block = n < CC_SHAMIR_BLOCK ? n : CC_SHAMIR_BLOCK;
  ncoeffs = (k - 1) * block * width; /* words; k <= m is small */
  coeffs = scratch ? scratch : malloc(ncoeffs ? ncoeffs * sizeof *coeffs : 1);
  if (!coeffs) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  const cc_field fl64 = f64 ? *f64 : (cc_field){0}; /* an output row may alias *f */
  const cc_field128 fl128 = f128 ? *f128 : (cc_field128){0};
  for (size_t i0 = 0; i0 < n && st == CC_OK; i0 += block) {
    size_t len = n - i0 < block ? n - i0 : block, words = (k - 1) * len * width;
    if (words &&
        (f128 ? cc_rng_uniform_mod128(rng, (uint64_t)fl128.p, (uint64_t)(fl128.p >> 64),
                                      coeffs, words / 2)
              : cc_rng_uniform_mod(rng, fl64.p, coeffs, words)) != 0) {
      st = cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "OpenSSL failed to produce random bytes");
      break;
    }
    const uint64_t *sec = secret + i0 * width;
    for (size_t j = only < m ? only : 0; j < (only < m ? only + 1 : m); j++) {
      uint64_t *row = (outs ? outs[only < m ? 0 : j] : matrix + j * n * width) + i0 * width;
      if (f128)
        cc_field128_shamir_eval(&fl128, row, sec, len, coeffs, k, cc_field128_get(x, j));
      else
        cc_field_shamir_eval(&fl64, row, sec, len, coeffs, k, x[j]);
    }
  }
  explicit_bzero(coeffs, ncoeffs * sizeof *coeffs);
  if (!scratch) free(coeffs);
  return st;
}

cc_status cc_shamir_share(const cc_field *f, cc_rng *rng, const uint64_t *secret, size_t n,
                          size_t k, const uint64_t *x, size_t m, uint64_t *out,
                          uint64_t *scratch, cc_error *err) {
  return share(f, NULL, rng, secret, n, k, x, m, out, NULL, scratch, SIZE_MAX, err);
}

cc_status cc_shamir_share_rows(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                               size_t n, size_t k, const uint64_t *x, size_t m,
                               uint64_t *const *outs, uint64_t *scratch, cc_error *err) {
  return share(f, NULL, rng, secret, n, k, x, m, NULL, outs, scratch, SIZE_MAX, err);
}

cc_status cc_shamir_share128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                             size_t n, size_t k, const uint64_t *x, size_t m,
                             uint64_t *out, uint64_t *scratch, cc_error *err) {
  return share(NULL, f, rng, secret, n, k, x, m, out, NULL, scratch, SIZE_MAX, err);
}

cc_status cc_shamir_share_rows128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                                  size_t n, size_t k, const uint64_t *x, size_t m,
                                  uint64_t *const *outs, uint64_t *scratch, cc_error *err) {
  return share(NULL, f, rng, secret, n, k, x, m, NULL, outs, scratch, SIZE_MAX, err);
}

/* One player's row (j, from 0) of a sharing in either width. */
static cc_status share_row(const cc_field *f, const cc_field128 *g, cc_rng *rng,
                           const uint64_t *secret, size_t n, size_t k, const uint64_t *x,
                           size_t m, size_t j, uint64_t *out, uint64_t *scratch, cc_error *err) {
  uint64_t *outs[1] = {out};
  if (j >= m)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player %zu out of range [1, %zu]",
                        j + 1, m);
  return share(f, g, rng, secret, n, k, x, m, NULL, outs, scratch, j, err);
}

cc_status cc_shamir_share_row(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                              size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                              uint64_t *out, uint64_t *scratch, cc_error *err) {
  return share_row(f, NULL, rng, secret, n, k, x, m, j, out, scratch, err);
}

cc_status cc_shamir_share_row128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                                 size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                                 uint64_t *out, uint64_t *scratch, cc_error *err) {
  return share_row(NULL, f, rng, secret, n, k, x, m, j, out, scratch, err);
}

/* Player j's row in the wire's byte order (see shamir.h), either width: the
 * same draws as share() with only == j, each block evaluated into `block`
 * and stored at its place in out. */
static cc_status share_row_wire(const cc_field *f64, const cc_field128 *f128, cc_rng *rng,
                                const uint64_t *secret, size_t n, size_t k, const uint64_t *x,
                                size_t m, size_t j, uint8_t *out, uint64_t *scratch,
                                uint64_t *block, cc_error *err) {
  char msg[160];
  size_t width = f128 ? 2 : 1, ncoeffs;
  cc_status st = cc_check_threshold(k > INT64_MAX ? INT64_MAX : (int64_t)k, m, err);
  if (st != CC_OK) return st;
  if ((f128 ? cc_field128_check_indices(f128, x, m, msg, sizeof msg)
            : cc_field_check_indices(f64, x, m, msg, sizeof msg)) != CC_FIELD_OK)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%s", msg);
  if (j >= m)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player %zu out of range [1, %zu]",
                        j + 1, m);
  if (n == 0) return CC_OK;
  size_t step = n < CC_SHAMIR_BLOCK ? n : CC_SHAMIR_BLOCK;
  ncoeffs = (k - 1) * step * width;
  const cc_field fl64 = f64 ? *f64 : (cc_field){0};
  const cc_field128 fl128 = f128 ? *f128 : (cc_field128){0};
  for (size_t i0 = 0; i0 < n; i0 += step) {
    size_t len = n - i0 < step ? n - i0 : step, words = (k - 1) * len * width;
    if (words &&
        (f128 ? cc_rng_uniform_mod128(rng, (uint64_t)fl128.p, (uint64_t)(fl128.p >> 64),
                                      scratch, words / 2)
              : cc_rng_uniform_mod(rng, fl64.p, scratch, words)) != 0) {
      st = cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "OpenSSL failed to produce random bytes");
      break;
    }
    const uint64_t *sec = secret + i0 * width;
    if (f128)
      cc_field128_shamir_eval(&fl128, block, sec, len, scratch, k, cc_field128_get(x, j));
    else
      cc_field_shamir_eval(&fl64, block, sec, len, scratch, k, x[j]);
    cc_wire_store_words(out + i0 * width * 8, block, len * width);
  }
  explicit_bzero(scratch, ncoeffs * sizeof *scratch);
  return st;
}

cc_status cc_shamir_share_row_wire(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                                   size_t n, size_t k, const uint64_t *x, size_t m, size_t j,
                                   uint8_t *out, uint64_t *scratch, uint64_t *block,
                                   cc_error *err) {
  return share_row_wire(f, NULL, rng, secret, n, k, x, m, j, out, scratch, block, err);
}

cc_status cc_shamir_share_row_wire128(const cc_field128 *f, cc_rng *rng,
                                      const uint64_t *secret, size_t n, size_t k,
                                      const uint64_t *x, size_t m, size_t j, uint8_t *out,
                                      uint64_t *scratch, uint64_t *block, cc_error *err) {
  return share_row_wire(NULL, f, rng, secret, n, k, x, m, j, out, scratch, block, err);
}
