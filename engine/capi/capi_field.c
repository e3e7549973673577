/*
 * capi_field.c - the C API of cicada.h for field arithmetic, randomness and
 * Shamir sharing: checked wrappers over field.h and random.h.
 *
 * Owns the cicada_field and cicada_rng handles. Every call checks its
 * handles, pointers and sizes, and that its input elements are canonical
 * (below the order), before it hands whole arrays to the kernels; a bad
 * argument is CICADA_EINVALID with a message naming the call, the argument
 * and the index. No Lua here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cicada.h"
#include "capi/capi_error.h"
#include "core/check.h"
#include "core/field.h"
#include "core/random.h"
#include "core/shamir.h"

struct cicada_field {
  cc_field f;
};

struct cicada_rng {
  cc_rng r;
};

/* ==== Errors ================================================================ */

/* Fill err (if any) about no communicator and return code. */
static cicada_status fail(cicada_error *err, cicada_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cicada_status fail(cicada_error *err, cicada_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  code = capi_vfail(err, code, NULL, -1, -1, CICADA_TAG_NONE, fmt, ap);
  va_end(ap);
  return code;
}

/* ==== Checks ================================================================ */

static cicada_status check_field(const cicada_field *f, const char *call, cicada_error *err) {
  if (!f) return fail(err, CICADA_EINVALID, "%s: field is NULL", call);
  return CICADA_OK;
}

/* An output array of n words. */
static cicada_status check_out(const void *out, size_t n, const char *call, const char *what,
                               cicada_error *err) {
  if (!out && n > 0) return fail(err, CICADA_EINVALID, "%s: %s is NULL", call, what);
  return CICADA_OK;
}

/* An input array of n canonical elements. */
static cicada_status check_elems(const cicada_field *f, const uint64_t *a, size_t n,
                                 const char *call, const char *what, cicada_error *err) {
  size_t bad;
  if (!a && n > 0) return fail(err, CICADA_EINVALID, "%s: %s is NULL", call, what);
  bad = n ? cc_field_first_noncanonical(&f->f, a, n) : 0;
  if (bad < n)
    return fail(err, CICADA_EINVALID, "%s: %s[%zu] = %llu is not below the order %llu", call,
                what, bad, (unsigned long long)a[bad], (unsigned long long)f->f.p);
  return CICADA_OK;
}

/* out and the inputs a (and b, if given) of an element-wise kernel. */
static cicada_status check_elementwise(const cicada_field *f, const uint64_t *out,
                                       const uint64_t *a, const uint64_t *b, bool binary,
                                       size_t n, const char *call, cicada_error *err) {
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK) st = check_out(out, n, call, "out", err);
  if (st == CICADA_OK) st = check_elems(f, a, n, call, "a", err);
  if (st == CICADA_OK && binary) st = check_elems(f, b, n, call, "b", err);
  return st;
}

/* rows * cols without overflow. */
static cicada_status matrix_len(size_t rows, size_t cols, size_t *len, const char *call,
                                cicada_error *err) {
  if (cols != 0 && rows > SIZE_MAX / cols / sizeof(uint64_t))
    return fail(err, CICADA_EINVALID, "%s: %zu x %zu elements is too large", call, rows, cols);
  *len = rows * cols;
  return CICADA_OK;
}

/* ==== Fields ================================================================ */

cicada_status cicada_field_new(uint64_t order, cicada_field **out, cicada_error *err) {
  char msg[200];
  cicada_field *f;
  if (!out) return fail(err, CICADA_EINVALID, "cicada_field_new: out is NULL");
  *out = NULL;
  f = malloc(sizeof *f);
  if (!f) return fail(err, CICADA_ENOMEM, "cicada_field_new: out of memory");
  if (cc_field_init(&f->f, order ? order : CC_FIELD_DEFAULT_ORDER, msg, sizeof msg) != 0) {
    free(f);
    return fail(err, CICADA_EINVALID, "cicada_field_new: %s", msg);
  }
  *out = f;
  return capi_ok(err);
}

void cicada_field_free(cicada_field *f) { free(f); }

uint64_t cicada_field_order(const cicada_field *f) { return f ? f->f.p : 0; }

/* ==== Element-wise kernels ================================================== */

cicada_status cicada_field_add(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, b, true, n, "cicada_field_add", err);
  if (st != CICADA_OK) return st;
  cc_field_add(&f->f, out, a, b, n);
  return capi_ok(err);
}

cicada_status cicada_field_sub(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, b, true, n, "cicada_field_sub", err);
  if (st != CICADA_OK) return st;
  cc_field_sub(&f->f, out, a, b, n);
  return capi_ok(err);
}

cicada_status cicada_field_mul(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, b, true, n, "cicada_field_mul", err);
  if (st != CICADA_OK) return st;
  cc_field_mul(&f->f, out, a, b, n);
  return capi_ok(err);
}

cicada_status cicada_field_neg(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, NULL, false, n, "cicada_field_neg", err);
  if (st != CICADA_OK) return st;
  cc_field_neg(&f->f, out, a, n);
  return capi_ok(err);
}

cicada_status cicada_field_mul_scalar(const cicada_field *f, uint64_t *out, const uint64_t *a,
                                      uint64_t s, size_t n, cicada_error *err) {
  const char *call = "cicada_field_mul_scalar";
  cicada_status st = check_elementwise(f, out, a, NULL, false, n, call, err);
  if (st == CICADA_OK) st = check_elems(f, &s, 1, call, "s", err);
  if (st != CICADA_OK) return st;
  cc_field_mul_scalar(&f->f, out, a, s, n);
  return capi_ok(err);
}

cicada_status cicada_field_pow(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               uint64_t e, size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, NULL, false, n, "cicada_field_pow", err);
  if (st != CICADA_OK) return st;
  cc_field_pow(&f->f, out, a, e, n);
  return capi_ok(err);
}

cicada_status cicada_field_inv(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err) {
  const char *call = "cicada_field_inv";
  size_t zero = 0;
  int rc;
  cicada_status st = check_elementwise(f, out, a, NULL, false, n, call, err);
  if (st != CICADA_OK || n == 0) return st == CICADA_OK ? capi_ok(err) : st;
  rc = cc_field_inv(&f->f, out, a, n, &zero);
  if (rc == CC_FIELD_EZERO)
    return fail(err, CICADA_EINVALID, "%s: a[%zu] is zero, which has no inverse", call, zero);
  if (rc == CC_FIELD_ENOMEM) return fail(err, CICADA_ENOMEM, "%s: out of memory", call);
  if (rc != CC_FIELD_OK) return fail(err, CICADA_EINVALID, "%s: the kernel failed (%d)", call, rc);
  return capi_ok(err);
}

cicada_status cicada_field_sum(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, NULL, false, n, "cicada_field_sum", err);
  if (st == CICADA_OK) st = check_out(out, 1, "cicada_field_sum", "out", err);
  if (st != CICADA_OK) return st;
  *out = cc_field_sum(&f->f, a, n);
  return capi_ok(err);
}

cicada_status cicada_field_dot(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err) {
  cicada_status st = check_elementwise(f, out, a, b, true, n, "cicada_field_dot", err);
  if (st == CICADA_OK) st = check_out(out, 1, "cicada_field_dot", "out", err);
  if (st != CICADA_OK) return st;
  *out = cc_field_dot(&f->f, a, b, n);
  return capi_ok(err);
}

cicada_status cicada_field_from_int64(const cicada_field *f, uint64_t *out, const int64_t *x,
                                      size_t n, cicada_error *err) {
  const char *call = "cicada_field_from_int64";
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK) st = check_out(out, n, call, "out", err);
  if (st == CICADA_OK) st = check_out(x, n, call, "x", err);
  if (st != CICADA_OK) return st;
  cc_field_from_i64(&f->f, out, x, n);
  return capi_ok(err);
}

cicada_status cicada_field_reduce(const cicada_field *f, uint64_t *out, const uint64_t *x,
                                  size_t n, cicada_error *err) {
  const char *call = "cicada_field_reduce";
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK) st = check_out(out, n, call, "out", err);
  if (st == CICADA_OK) st = check_out(x, n, call, "x", err);
  if (st != CICADA_OK) return st;
  cc_field_reduce(&f->f, out, x, n);
  return capi_ok(err);
}

/* ==== Randomness ============================================================= */

cicada_status cicada_rng_new(const void *seed, size_t seedlen, cicada_rng **out,
                             cicada_error *err) {
  cicada_rng *rng;
  if (!out) return fail(err, CICADA_EINVALID, "cicada_rng_new: out is NULL");
  *out = NULL;
  rng = malloc(sizeof *rng);
  if (!rng) return fail(err, CICADA_ENOMEM, "cicada_rng_new: out of memory");
  if (!seed) {
    cc_rng_init_os(&rng->r);
  } else if (cc_rng_init_seeded(&rng->r, seed, seedlen) != 0) {
    free(rng);
    return fail(err, CICADA_EIO, "cicada_rng_new: OpenSSL cannot set up a seeded stream");
  }
  *out = rng;
  return capi_ok(err);
}

void cicada_rng_free(cicada_rng *rng) {
  if (!rng) return;
  cc_rng_free(&rng->r);
  OPENSSL_cleanse(rng, sizeof *rng);
  free(rng);
}

cicada_status cicada_field_random(const cicada_field *f, cicada_rng *rng, uint64_t *out,
                                  size_t n, cicada_error *err) {
  const char *call = "cicada_field_random";
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK && !rng) st = fail(err, CICADA_EINVALID, "%s: rng is NULL", call);
  if (st == CICADA_OK) st = check_out(out, n, call, "out", err);
  if (st != CICADA_OK) return st;
  if (n > 0 && cc_rng_uniform_mod(&rng->r, f->f.p, out, n) != 0)
    return fail(err, CICADA_EIO, "%s: OpenSSL failed to produce random bytes", call);
  return capi_ok(err);
}

/* ==== Shamir ================================================================== */

cicada_status cicada_shamir_share(const cicada_field *f, cicada_rng *rng,
                                  const uint64_t *secret, size_t n, size_t k,
                                  const uint64_t *indices, size_t nplayers,
                                  uint64_t *shares, size_t shares_len, cicada_error *err) {
  const char *call = "cicada_shamir_share";
  size_t want = 0;
  cc_error e;
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK && !rng) st = fail(err, CICADA_EINVALID, "%s: rng is NULL", call);
  if (st == CICADA_OK && (nplayers < 1 || !indices))
    st = fail(err, CICADA_EINVALID, "%s: need the indices of at least one player", call);
  if (st == CICADA_OK && cc_check_threshold(k > INT64_MAX ? INT64_MAX : (int64_t)k, nplayers,
                                            &e) != CC_OK)
    st = fail(err, CICADA_EINVALID, "%s: %s", call, e.message);
  if (st == CICADA_OK) st = check_elems(f, secret, n, call, "secret", err);
  if (st == CICADA_OK) st = matrix_len(nplayers, n, &want, call, err);
  if (st == CICADA_OK && shares_len != want)
    st = fail(err, CICADA_EINVALID, "%s: shares has %zu elements, %zu players x %zu need %zu", call,
              shares_len, nplayers, n, want);
  if (st == CICADA_OK) st = check_out(shares, want, call, "shares", err);
  if (st != CICADA_OK || n == 0) return st == CICADA_OK ? capi_ok(err) : st;
  if (cc_shamir_share(&f->f, &rng->r, secret, n, k, indices, nplayers, shares, NULL, &e) != CC_OK)
    return capi_fail_cc(err, NULL, -1, call, &e);
  return capi_ok(err);
}

cicada_status cicada_shamir_recover(const cicada_field *f, const uint64_t *shares,
                                    size_t shares_len, const uint64_t *indices, size_t r,
                                    size_t k, uint64_t *secret, size_t n, cicada_error *err) {
  const char *call = "cicada_shamir_recover";
  char msg[200];
  size_t want = 0;
  int rc;
  cicada_status st = check_field(f, call, err);
  if (st == CICADA_OK && k < 1)
    st = fail(err, CICADA_EINVALID, "%s: threshold %zu must be at least 1", call, k);
  if (st == CICADA_OK && (r < k || !indices))
    st = fail(err, CICADA_EINVALID, "%s: %zu shares%s cannot recover a secret of threshold %zu",
              call, r, indices ? "" : " (indices NULL)", k);
  if (st == CICADA_OK) st = matrix_len(r, n, &want, call, err);
  if (st == CICADA_OK && shares_len != want)
    st = fail(err, CICADA_EINVALID, "%s: shares has %zu elements, %zu players x %zu need %zu", call,
              shares_len, r, n, want);
  if (st == CICADA_OK) st = check_elems(f, shares, want, call, "shares", err);
  if (st == CICADA_OK) st = check_out(secret, n, call, "secret", err);
  if (st != CICADA_OK || n == 0) return st == CICADA_OK ? capi_ok(err) : st;
  rc = cc_field_shamir_recover(&f->f, secret, shares, n, indices, r, msg, sizeof msg);
  if (rc == CC_FIELD_ENOMEM) return fail(err, CICADA_ENOMEM, "%s: out of memory", call);
  if (rc != CC_FIELD_OK) return fail(err, CICADA_EINVALID, "%s: %s", call, msg);
  return capi_ok(err);
}
