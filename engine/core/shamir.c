/*
 * shamir.c - Shamir sharing with fresh random coefficients (see shamir.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/shamir.h"

/* Share into outs[j], or into the rows of matrix when outs is NULL; f64 or
 * f128 (the other NULL) says the width: 1 or 2 words per element. */
static cc_status share(const cc_field *f64, const cc_field128 *f128, cc_rng *rng,
                       const uint64_t *secret, size_t n, size_t k, const uint64_t *x,
                       size_t m, uint64_t *matrix, uint64_t *const *outs,
                       uint64_t *scratch, cc_error *err) {
  char msg[160];
  uint64_t *coeffs;
  size_t ncoeffs, width = f128 ? 2 : 1;
  cc_status st = cc_check_threshold(k > INT64_MAX ? INT64_MAX : (int64_t)k, m, err);
  if (st != CC_OK) return st;
  if ((f128 ? cc_field128_check_indices(f128, x, m, msg, sizeof msg)
            : cc_field_check_indices(f64, x, m, msg, sizeof msg)) != CC_FIELD_OK)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%s", msg);
  if (n == 0) return CC_OK;
  if (n > SIZE_MAX / sizeof *coeffs / width / k)
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE,
                        "%zu coefficients of %zu elements are too many", k - 1, n);
  ncoeffs = (k - 1) * n * width; /* words */
  coeffs = scratch ? scratch : malloc(ncoeffs ? ncoeffs * sizeof *coeffs : 1);
  if (!coeffs) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  if (ncoeffs &&
      (f128 ? cc_rng_uniform_mod128(rng, (uint64_t)f128->p, (uint64_t)(f128->p >> 64),
                                    coeffs, ncoeffs / 2)
            : cc_rng_uniform_mod(rng, f64->p, coeffs, ncoeffs)) != 0) {
    st = cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "OpenSSL failed to produce random bytes");
  } else if (f128) {
    const cc_field128 fl = *f128; /* an output row may alias *f */
    for (size_t j = 0; j < m; j++)
      cc_field128_shamir_eval(&fl, outs ? outs[j] : matrix + j * n * 2, secret, n, coeffs,
                              k, cc_field128_get(x, j));
  } else {
    const cc_field fl = *f64; /* an output row may alias *f */
    for (size_t j = 0; j < m; j++)
      cc_field_shamir_eval(&fl, outs ? outs[j] : matrix + j * n, secret, n, coeffs, k, x[j]);
  }
  explicit_bzero(coeffs, ncoeffs * sizeof *coeffs);
  if (!scratch) free(coeffs);
  return st;
}

cc_status cc_shamir_share(const cc_field *f, cc_rng *rng, const uint64_t *secret, size_t n,
                          size_t k, const uint64_t *x, size_t m, uint64_t *out,
                          uint64_t *scratch, cc_error *err) {
  return share(f, NULL, rng, secret, n, k, x, m, out, NULL, scratch, err);
}

cc_status cc_shamir_share_rows(const cc_field *f, cc_rng *rng, const uint64_t *secret,
                               size_t n, size_t k, const uint64_t *x, size_t m,
                               uint64_t *const *outs, uint64_t *scratch, cc_error *err) {
  return share(f, NULL, rng, secret, n, k, x, m, NULL, outs, scratch, err);
}

cc_status cc_shamir_share128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                             size_t n, size_t k, const uint64_t *x, size_t m,
                             uint64_t *out, uint64_t *scratch, cc_error *err) {
  return share(NULL, f, rng, secret, n, k, x, m, out, NULL, scratch, err);
}

cc_status cc_shamir_share_rows128(const cc_field128 *f, cc_rng *rng, const uint64_t *secret,
                                  size_t n, size_t k, const uint64_t *x, size_t m,
                                  uint64_t *const *outs, uint64_t *scratch, cc_error *err) {
  return share(NULL, f, rng, secret, n, k, x, m, NULL, outs, scratch, err);
}
