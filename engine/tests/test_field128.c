/*
 * test_field128.c - unit tests of the 128-bit GF(p) kernels (field128.c).
 *
 * Every kernel is checked against a slow reference written here from
 * scratch (shift-and-add modular multiplication, whose doublings never
 * leave 129 bits, and square-and-multiply on top of it), against identities
 * (a * a^-1 = 1, Fermat, distributivity, (a + b) - b = a), and against
 * values computed independently with Python's big integers. The orders:
 * 2^127 - 1 (the Mersenne path), the pseudo-Mersenne primes 2^128 - 159 and
 * 2^127 - 25 (folding), random 127- and 128-bit primes, 2^128 - 2^40 - 103
 * (whose Montgomery sums need a fourth word) and 2^64 + 13 (Montgomery), and 2^64 - 59, 2^61 - 1, 7 and 2, where the 64-bit field
 * (field.c) gives a second opinion. Primality is also checked with
 * OpenSSL's BN_check_prime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>

#include "core/field.h"
#include "core/field128.h"
#include "check.h"

typedef cc_u128 u128;

#define U128(hi, lo) (((u128)UINT64_C(hi) << 64) | UINT64_C(lo))
#define M127 U128(0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)

static void fail_u128(const char *file, int line, const char *expr, u128 got,
                      u128 want) {
  char g[40], w[40];
  cc_field128_format(g, got);
  cc_field128_format(w, want);
  fprintf(stderr, "%s:%d: %s == %s, expected %s\n", file, line, expr, g, w);
  failures++;
}

#define CHECK_EQ(a, b)                                                     \
  do {                                                                     \
    u128 a_ = (a), b_ = (b);                                               \
    if (a_ != b_) fail_u128(__FILE__, __LINE__, #a, a_, b_);               \
  } while (0)

/* ==== The reference ===================================================== */

static u128 ref_add(u128 p, u128 a, u128 b) {
  u128 s = a + b;
  if (s < a || s >= p) s -= p; /* on carry the true sum is s + 2^128 < 2p */
  return s;
}

static u128 ref_sub(u128 p, u128 a, u128 b) {
  return a >= b ? a - b : p - (b - a);
}

/* a * b mod p bit by bit, a < p, any b. */
static u128 ref_mul(u128 p, u128 a, u128 b) {
  u128 r = 0;
  for (int i = 127; i >= 0; i--) {
    r = ref_add(p, r, r);
    if ((b >> i) & 1) r = ref_add(p, r, a);
  }
  return r;
}

static u128 ref_pow(u128 p, u128 a, u128 e) {
  u128 r = 1 % p;
  for (int i = 127; i >= 0; i--) {
    r = ref_mul(p, r, r);
    if ((e >> i) & 1) r = ref_mul(p, r, a);
  }
  return r;
}

static u128 ref_inv(u128 p, u128 a) { return ref_pow(p, a, p - 2); }

/* A fixed-seed generator (splitmix64). */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t next64(void) {
  uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static u128 next128(void) {
  uint64_t lo = next64();
  return cc_u128_make(lo, next64());
}

/* Random canonical elements, but the first four are 0, 1, p-1, p-2. */
static void fill(u128 p, uint64_t *w, size_t n, int edges) {
  for (size_t i = 0; i < n; i++) {
    u128 x = next128() % p;
    if (edges && i < 4) {
      u128 e[4] = {0, 1 % p, p - 1, p >= 2 ? (p - 2) % p : 0};
      x = e[i];
    }
    cc_field128_set(w, i, x);
  }
}

/* Random nonzero canonical elements. */
static void fill_nonzero(u128 p, uint64_t *w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    u128 x = next128() % p;
    cc_field128_set(w, i, x ? x : 1);
  }
}

#define GET(w, i) cc_field128_get((w), (i))

/* ==== Primality ========================================================= */

static int openssl_is_prime(u128 n) {
  unsigned char be[16];
  for (int i = 0; i < 16; i++) be[i] = (unsigned char)(n >> (8 * (15 - i)));
  BIGNUM *b = BN_bin2bn(be, 16, NULL);
  BN_CTX *ctx = BN_CTX_new();
  int r = BN_check_prime(b, ctx, NULL);
  BN_CTX_free(ctx);
  BN_free(b);
  return r == 1;
}

static void test_primality(void) {
  static const struct { u128 n; int prime; } cases[] = {
    {0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 0}, {561, 0},
    {UINT64_C(18446744073709551557), 1},                      /* 2^64 - 59 */
    {UINT64_C(18446744073709551615), 0},                      /* 2^64 - 1 */
    {U128(0x1, 0x0), 0},                                      /* 2^64 */
    {U128(0x1, 0xD), 1},                                      /* 2^64 + 13 */
    {U128(0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF), 1},        /* 2^127 - 1 */
    {U128(0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFE7), 1},        /* 2^127 - 25 */
    {U128(0x8000000000000000, 0x0000000000000001), 0},        /* 2^127 + 1 */
    {U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF61), 1},        /* 2^128 - 159 */
    {U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF63), 0},        /* 2^128 - 157 */
    {U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF), 0},        /* 2^128 - 1 */
    {U128(0x6E751129301D8A84, 0xDF44C5B49A3A9565), 1},        /* random 127-bit */
    {U128(0xC3DC81C4C4749137, 0x9B67A4F9231A38F7), 1},        /* random 128-bit */
    {U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFEFFFFFFFF99), 1},        /* 2^128 - 2^40 - 103 */
    /* strong pseudoprimes to the first 12 and 13 prime bases */
    {U128(0x437A, 0xE92817F9FC85B7E5), 0},
    {U128(0x2BE69, 0x51ADC5B22410A5FD), 0},
    /* Carmichael numbers (6k+1)(12k+1)(18k+1) of 71 and 122 bits */
    {U128(0x51, 0x054959703164F2E1), 0},
    {U128(0x2880002F7297128, 0x76E12E175F3FEA59), 0},
    /* (2^64 - 59)(2^63 + 29) */
    {U128(0x7FFFFFFFFFFFFFFF, 0x7FFFFFFFFFFFF951), 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    u128 n = cases[i].n;
    char err[128] = "", dec[40];
    cc_field128_format(dec, n);
    int got = cc_field128_is_prime((uint64_t)n, (uint64_t)(n >> 64));
    if (got != cases[i].prime) fprintf(stderr, "primality of %s wrong\n", dec);
    CHECK(got == cases[i].prime);
    CHECK(openssl_is_prime(n) == cases[i].prime); /* the second method */
    CHECK((cc_field128_check_order((uint64_t)n, (uint64_t)(n >> 64), err,
                                   sizeof err) == 0) == cases[i].prime);
    CHECK(cases[i].prime ? err[0] == 0 : strstr(err, "not") != NULL);
  }
  char err[128];
  cc_field128 f;
  CHECK(cc_field128_init(&f, UINT64_MAX, UINT64_MAX, err, sizeof err) == -1);
  CHECK(strcmp(err, "field order 340282366920938463463374607431768211455 "
                    "is not prime") == 0);
  CHECK(cc_field128_init(&f, 1, 0, err, sizeof err) == -1);
  CHECK(strcmp(err, "field order 1 is not a prime >= 2") == 0);
  CHECK(cc_field128_check_order(4, 0, NULL, 0) == -1);
  /* The cache of the last prime must not let a composite through. */
  CHECK(cc_field128_check_order(UINT64_C(0xFFFFFFFFFFFFFF61), UINT64_MAX, NULL, 0) == 0);
  CHECK(cc_field128_check_order(UINT64_C(0xFFFFFFFFFFFFFF63), UINT64_MAX, NULL, 0) == -1);

  char buf[40];
  CHECK(cc_field128_format(buf, 0) == 1 && strcmp(buf, "0") == 0);
  CHECK(cc_field128_format(buf, M127) == 39);
  CHECK(strcmp(buf, "170141183460469231731687303715884105727") == 0);
}

static void test_parse(void) {
  static const struct { const char *s; int ok; u128 v; } cases[] = {
    {"0", 1, 0}, {"7", 1, 7}, {"007", 1, 7},
    {"18446744073709551616", 1, U128(0x1, 0x0)},
    {"170141183460469231731687303715884105727", 1, M127},
    {"340282366920938463463374607431768211455", 1, ~(u128)0},
    {"340282366920938463463374607431768211456", 0, 0},   /* 2^128 */
    {"340282366920938463463374607431768211460", 0, 0},
    {"1000000000000000000000000000000000000000", 0, 0},
    {"0x7fffffffffffffffffffffffffffffff", 1, M127},
    {"0XFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF61", 1, U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF61)},
    {"0x100000000000000000000000000000000", 0, 0},        /* 2^128 */
    {"0x", 0, 0}, {"", 0, 0}, {"-1", 0, 0}, {"12a", 0, 0}, {" 1", 0, 0},
    {"0xg", 0, 0}, {"1.5", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    u128 v = 12345;
    int rc = cc_field128_parse(cases[i].s, strlen(cases[i].s), &v);
    if ((rc == 0) != cases[i].ok) fprintf(stderr, "parse of '%s' wrong\n", cases[i].s);
    CHECK((rc == 0) == cases[i].ok);
    CHECK_EQ(v, cases[i].ok ? cases[i].v : 12345);
  }
  /* format and parse are inverse */
  for (int t = 0; t < 100; t++) {
    u128 x = next128() >> (t % 128), y = 0;
    char buf[40];
    size_t len = cc_field128_format(buf, x);
    CHECK(cc_field128_parse(buf, len, &y) == 0);
    CHECK_EQ(y, x);
  }
  u128 y = 0;
  CHECK(cc_field128_parse("12345", 3, &y) == 0); /* only len bytes */
  CHECK_EQ(y, 123);
}

/* ==== Orders and their reduction ======================================== */

struct order {
  const char *name;
  u128 p;
  enum cc_field128_kind kind;
};

static const struct order orders[] = {
  {"2^127-1", M127, CC_FIELD128_M127},
  {"2^128-159", U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF61), CC_FIELD128_FOLD},
  {"2^127-25", U128(0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFE7), CC_FIELD128_FOLD},
  {"random127", U128(0x6E751129301D8A84, 0xDF44C5B49A3A9565), CC_FIELD128_MONT},
  {"random128", U128(0xC3DC81C4C4749137, 0x9B67A4F9231A38F7), CC_FIELD128_MONT},
  {"2^128-2^40-103", U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFEFFFFFFFF99), CC_FIELD128_MONT},
  {"2^64+13", U128(0x1, 0xD), CC_FIELD128_MONT},
  {"2^64-59", UINT64_C(18446744073709551557), CC_FIELD128_MONT},
  {"2^61-1", UINT64_C(2305843009213693951), CC_FIELD128_MONT},
  {"7", 7, CC_FIELD128_MONT},
  {"2", 2, CC_FIELD128_PLAIN},
};

static int setup(cc_field128 *f, const struct order *o) {
  char err[128];
  int rc = cc_field128_init(f, (uint64_t)o->p, (uint64_t)(o->p >> 64), err,
                            sizeof err);
  CHECK(rc == 0);
  if (rc != 0) fprintf(stderr, "%s: %s\n", o->name, err);
  CHECK(f->kind == o->kind);
  CHECK(f->p == o->p);
  CHECK(f->half == (o->p - 1) / 2);
  return rc;
}

/* Known answers from Python: a * b, 3^-1 and a^(2^100 + 12345). */
static void test_known_answers(void) {
  const u128 a = U128(0x0123456789ABCDEF, 0x0FEDCBA987654321);
  const u128 b = U128(0x7EDCBA9876543210, 0x0123456789ABCDEF);
  const struct { u128 p, ab, inv3; } kat[] = {
    {M127, U128(0x2BC7770FE752A73A, 0x765D41DFF3376841),
     U128(0x5555555555555555, 0x5555555555555555)},
    {U128(0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF61),
     U128(0x844D013A92A30504, 0xCA18DE8A0A4E44B6),
     U128(0xAAAAAAAAAAAAAAAA, 0xAAAAAAAAAAAAAA41)},
    {U128(0x6E751129301D8A84, 0xDF44C5B49A3A9565),
     U128(0x263850D22FD44113, 0x77E1DC7E02C518C5),
     U128(0x49A360C62013B1AD, 0xEA2DD923117C6399)},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    cc_field128 f;
    cc_field128_setup(&f, (uint64_t)kat[i].p, (uint64_t)(kat[i].p >> 64));
    CHECK_EQ(cc_field128_mul1(&f, a, b % kat[i].p), kat[i].ab);
    CHECK_EQ(cc_field128_inv1(&f, 3), kat[i].inv3);
    CHECK_EQ(ref_mul(kat[i].p, a, b % kat[i].p), kat[i].ab);
  }
  cc_field128 f;
  cc_field128_setup(&f, UINT64_MAX, UINT64_MAX >> 1);
  u128 e = ((u128)1 << 100) + 12345;
  CHECK_EQ(cc_field128_pow1(&f, a, e), U128(0x1389EE9C6A417876, 0xAB612AC8D2EA4F5C));
}

/* ==== Kernels against the reference ===================================== */

#define N 64

static void test_elementwise(const cc_field128 *f) {
  const u128 p = f->p;
  uint64_t a[2 * N], b[2 * N], c[2 * N], out[2 * N], tmp[2 * N];
  fill(p, a, N, 1);
  fill(p, b, N, 0);
  fill(p, c, N, 0);
  /* b gets the edge values too, paired against every edge of a */
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++) cc_field128_set(b, 4 + 4 * i + j, GET(a, j));
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++) cc_field128_set(a, 4 + 4 * i + j, GET(a, i));

  cc_field128_add(f, out, a, b, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_add(p, GET(a, i), GET(b, i)));
  cc_field128_sub(f, out, out, b, N); /* (a + b) - b = a, in place */
  CHECK(cc_field128_equal(out, a, N));
  cc_field128_sub(f, out, a, b, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_sub(p, GET(a, i), GET(b, i)));
  cc_field128_neg(f, out, a, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_sub(p, 0, GET(a, i)));
  cc_field128_add(f, out, out, a, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), 0);

  cc_field128_mul(f, out, a, b, N);
  for (size_t i = 0; i < N; i++) {
    CHECK_EQ(GET(out, i), ref_mul(p, GET(a, i), GET(b, i)));
    CHECK_EQ(cc_field128_mul1(f, GET(a, i), GET(b, i)), GET(out, i));
  }
  memcpy(tmp, a, sizeof a);
  cc_field128_mul(f, tmp, tmp, b, N); /* out == a */
  CHECK(cc_field128_equal(tmp, out, N));
  memcpy(tmp, b, sizeof b);
  cc_field128_mul(f, tmp, a, tmp, N); /* out == b */
  CHECK(cc_field128_equal(tmp, out, N));
  cc_field128_mul(f, tmp, a, a, N); /* squares */
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(tmp, i), ref_mul(p, GET(a, i), GET(a, i)));

  /* distributivity: a (b + c) = a b + a c */
  uint64_t lhs[2 * N], rhs[2 * N];
  cc_field128_add(f, lhs, b, c, N);
  cc_field128_mul(f, lhs, a, lhs, N);
  cc_field128_mul(f, rhs, a, b, N);
  cc_field128_mul(f, tmp, a, c, N);
  cc_field128_add(f, rhs, rhs, tmp, N);
  CHECK(cc_field128_equal(lhs, rhs, N));

  const u128 scalars[] = {0, 1 % p, p - 1, (p - 2) % p, 2 % p, next128() % p};
  for (size_t s = 0; s < sizeof scalars / sizeof scalars[0]; s++) {
    u128 sc = scalars[s];
    cc_field128_mul_scalar(f, out, a, sc, N);
    for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_mul(p, GET(a, i), sc));
    memcpy(tmp, a, sizeof a);
    cc_field128_mul_scalar(f, tmp, tmp, sc, N);
    CHECK(cc_field128_equal(tmp, out, N));
    cc_field128_add_scalar(f, out, a, sc, N);
    for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_add(p, GET(a, i), sc));
    cc_field128_sub_scalar(f, out, a, sc, N);
    for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_sub(p, GET(a, i), sc));
    cc_field128_rsub_scalar(f, out, sc, a, N);
    for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), ref_sub(p, sc, GET(a, i)));
    /* axpy: out = c + sc * a */
    memcpy(out, c, sizeof c);
    cc_field128_axpy(f, out, sc, a, N);
    for (size_t i = 0; i < N; i++)
      CHECK_EQ(GET(out, i), ref_add(p, GET(c, i), ref_mul(p, GET(a, i), sc)));
  }

  u128 sum = 0, dot = 0;
  for (size_t i = 0; i < N; i++) {
    sum = ref_add(p, sum, GET(a, i));
    dot = ref_add(p, dot, ref_mul(p, GET(a, i), GET(b, i)));
  }
  CHECK_EQ(cc_field128_sum(f, a, N), sum);
  CHECK_EQ(cc_field128_dot(f, a, b, N), dot);
  CHECK_EQ(cc_field128_sum(f, a, 0), 0);
  CHECK_EQ(cc_field128_dot(f, a, b, 0), 0);

  /* matvec: the 8 x 8 matrix a times the first 8 elements of b */
  cc_field128_matvec(f, out, a, b, 8, 8);
  for (size_t i = 0; i < 8; i++) {
    u128 r = 0;
    for (size_t j = 0; j < 8; j++)
      r = ref_add(p, r, ref_mul(p, GET(a, 8 * i + j), GET(b, j)));
    CHECK_EQ(GET(out, i), r);
  }

  /* pow: Fermat, small exponents, a random 128-bit exponent */
  cc_field128_pow(f, out, a, p - 1, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), GET(a, i) ? 1 : 0);
  cc_field128_pow(f, out, a, 0, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(out, i), 1 % p);
  cc_field128_pow(f, out, a, 1, N);
  CHECK(cc_field128_equal(out, a, N));
  u128 e = next128();
  memcpy(out, a, sizeof a);
  cc_field128_pow(f, out, out, e, 8);
  for (size_t i = 0; i < 8; i++) {
    CHECK_EQ(GET(out, i), ref_pow(p, GET(a, i), e));
    CHECK_EQ(cc_field128_pow1(f, GET(a, i), e), GET(out, i));
  }
  CHECK_EQ(cc_field128_pow1(f, 2 % p, 127), ref_pow(p, 2 % p, 127));

  /* inv: a * a^-1 = 1, the reference inverse, the first zero reported */
  fill_nonzero(p, tmp, N);
  cc_field128_set(tmp, 1, p - 1);
  cc_field128_set(tmp, 2, 1);
  size_t zi = 12345;
  CHECK(cc_field128_inv(f, out, tmp, N, &zi) == CC_FIELD_OK);
  CHECK(zi == 12345);
  for (size_t i = 0; i < N; i++) {
    CHECK_EQ(ref_mul(p, GET(tmp, i), GET(out, i)), 1 % p);
    if (i < 8) CHECK_EQ(GET(out, i), ref_inv(p, GET(tmp, i)));
    CHECK_EQ(cc_field128_inv1(f, GET(tmp, i)), GET(out, i));
  }
  memcpy(rhs, tmp, sizeof tmp);
  CHECK(cc_field128_inv(f, rhs, rhs, N, NULL) == CC_FIELD_OK); /* in place */
  CHECK(cc_field128_equal(rhs, out, N));
  CHECK(cc_field128_inv(f, out, tmp, 1, NULL) == CC_FIELD_OK);
  CHECK_EQ(GET(out, 0), ref_inv(p, GET(tmp, 0)));
  CHECK(cc_field128_inv(f, out, tmp, 0, NULL) == CC_FIELD_OK);
  cc_field128_set(tmp, 37, 0);
  cc_field128_set(tmp, 50, 0);
  memcpy(out, c, sizeof c);
  CHECK(cc_field128_inv(f, out, tmp, N, &zi) == CC_FIELD_EZERO);
  CHECK(zi == 37);
  CHECK(cc_field128_equal(out, c, N)); /* untouched */
  CHECK(cc_field128_inv(f, out, tmp, N, NULL) == CC_FIELD_EZERO);

  /* equal and first_noncanonical */
  CHECK(cc_field128_equal(a, a, N));
  CHECK(cc_field128_equal(a, b, 0));
  memcpy(tmp, a, sizeof a);
  tmp[2 * 9 + 1] ^= 1; /* the high word alone differs */
  CHECK(!cc_field128_equal(a, tmp, N));
  tmp[2 * 9 + 1] ^= 1;
  CHECK(cc_field128_first_noncanonical(f, a, N) == N);
  cc_field128_set(tmp, 20, p);
  cc_field128_set(tmp, 30, ~(u128)0);
  CHECK(cc_field128_first_noncanonical(f, tmp, N) == 20);
  CHECK(cc_field128_first_noncanonical(f, tmp + 2 * 21, N - 21) == 9);
}

static void test_conversions(const cc_field128 *f) {
  const u128 p = f->p;
  static const int64_t ints[] = {0, 1, -1, 2, -2, 7, -7, 123456789, -123456789,
                                 INT64_MAX, INT64_MIN, INT64_MIN + 1};
  enum { NI = sizeof ints / sizeof ints[0] };
  uint64_t out[2 * NI];
  cc_field128_from_i64(f, out, ints, NI);
  for (size_t i = 0; i < NI; i++) {
    u128 mag = ints[i] < 0 ? (u128)(0 - (uint64_t)ints[i]) : (u128)ints[i];
    u128 want = ints[i] < 0 ? ref_sub(p, 0, mag % p) : mag % p;
    CHECK_EQ(GET(out, i), want);
    CHECK_EQ(cc_field128_from_i64_1(f, ints[i]), want);
  }
  /* x + (-x) = 0 */
  for (size_t i = 0; i + 1 < 9; i += 2)
    CHECK_EQ(ref_add(p, GET(out, i + 1), GET(out, i + 2)), 0);

  /* reduce: raw values, including 2^128 - 1, p, p + 1, 2p - 1 */
  uint64_t raw[2 * N], red[2 * N];
  for (size_t i = 0; i < N; i++) cc_field128_set(raw, i, next128());
  cc_field128_set(raw, 0, ~(u128)0);
  cc_field128_set(raw, 1, p);
  cc_field128_set(raw, 2, p + 1);
  cc_field128_set(raw, 3, p + p - 1); /* wraps for p > 2^127: still a value */
  cc_field128_set(raw, 4, 0);
  cc_field128_set(raw, 5, M127);
  cc_field128_set(raw, 6, (u128)1 << 127);
  memcpy(red, raw, sizeof raw);
  cc_field128_reduce(f, red, red, N);
  for (size_t i = 0; i < N; i++) {
    CHECK_EQ(GET(red, i), GET(raw, i) % p);
    CHECK_EQ(cc_field128_reduce1(f, GET(raw, i)), GET(raw, i) % p);
  }

  /* shift_right against a word-by-word reference */
  static const unsigned shifts[] = {0, 1, 7, 63, 64, 65, 100, 126, 127};
  for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
    unsigned sh = shifts[s];
    cc_field128_shift_right(red, raw, sh, N);
    for (size_t i = 0; i < N; i++) {
      uint64_t lo = raw[2 * i], hi = raw[2 * i + 1], wlo, whi;
      if (sh == 0) { wlo = lo; whi = hi; }
      else if (sh < 64) { wlo = (lo >> sh) | (hi << (64 - sh)); whi = hi >> sh; }
      else { wlo = hi >> (sh - 64); whi = 0; }
      CHECK(red[2 * i] == wlo && red[2 * i + 1] == whi);
    }
  }
  memcpy(red, raw, sizeof raw);
  cc_field128_shift_right(red, red, 64, N); /* in place */
  for (size_t i = 0; i < N; i++) CHECK(red[2 * i] == raw[2 * i + 1] && red[2 * i + 1] == 0);

  /* bit_compose: rows of 1, 64, 127, 130 and 200 bits */
  static const size_t widths[] = {1, 64, 127, 130, 200};
  for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
    size_t k = widths[wi], m = 3;
    uint64_t *bits = calloc(2 * m * k, sizeof *bits), comp[2 * 3];
    for (size_t i = 0; i < m * k; i++) bits[2 * i] = next64() & 1;
    for (size_t j = 0; j < k; j++) bits[2 * (2 * k + j)] = 1; /* all ones */
    cc_field128_bit_compose(f, comp, bits, m, k);
    for (size_t i = 0; i < m; i++) {
      u128 acc = 0;
      for (size_t j = 0; j < k; j++)
        acc = ref_add(p, ref_add(p, acc, acc), bits[2 * (i * k + j)] % p);
      CHECK_EQ(GET(comp, i), acc);
      if (k <= 127) { /* the plain binary number, reduced */
        u128 v = 0;
        for (size_t j = 0; j < k; j++) v = (v << 1) | bits[2 * (i * k + j)];
        CHECK_EQ(GET(comp, i), v % p);
      }
    }
    /* all ones over k bits is 2^k - 1 */
    CHECK_EQ(GET(comp, 2), ref_sub(p, ref_pow(p, 2 % p, k), 1 % p));
    free(bits);
  }
}

/* Products of values near p, where the folds carry (e.g. (p-1)(p-159) for
 * 2^128 - 159), and sums whose carries ripple through a whole word. */
static void test_carries(const cc_field128 *f) {
  const u128 p = f->p;
  if (p < 1000) return;
  enum { J = 300 };
  uint64_t a[2 * J], b[2 * J], out[2 * J];
  for (u128 i = 1; i <= 4; i++) {
    for (size_t j = 0; j < J; j++) {
      cc_field128_set(a, j, p - i);
      cc_field128_set(b, j, p - 1 - j);
    }
    cc_field128_mul(f, out, a, b, J);
    for (size_t j = 0; j < J; j++) CHECK_EQ(GET(out, j), ref_mul(p, p - i, p - 1 - j));
    CHECK_EQ(cc_field128_dot(f, a, b, J), cc_field128_sum(f, out, J));
  }
  /* Products whose low 128 bits are 2^128 - d for a small d, where the
   * first fold of 2^128 - c primes carries: b = -d / a mod 2^128, odd a. */
  for (int t = 0; t < 64; t++) {
    u128 x = (next128() % p) | 1, inv = x; /* Newton: 3, 6, 12, ... bits */
    for (int it = 0; it < 7; it++) inv *= 2 - x * inv;
    u128 d = (u128)1 << (t % 3 * 40), y = (0 - d) * inv;
    if (x * inv != 1 || x >= p || y >= p) continue;
    CHECK_EQ(cc_field128_mul1(f, x, y), ref_mul(p, x, y));
  }
  /* Three terms of weight 1 whose word sums carry twice: the low words
   * 2^63 + 5 and 2^63 carry into a high word 2 (2^63 - 1) + 1 = 2^64 - 1,
   * and the third low word 2^64 - 1 carries through it. */
  if (p != M127) return;
  uint64_t x[2 * 3] = {(UINT64_C(1) << 63) + 5, UINT64_MAX >> 1,
                       UINT64_C(1) << 63, UINT64_MAX >> 1,
                       UINT64_MAX, 0};
  uint64_t w[2 * 3] = {1, 0, 1, 0, 1, 0}, r[2];
  const uint64_t *xs[3] = {x, x + 2, x + 4};
  u128 want = ref_add(p, ref_add(p, GET(x, 0), GET(x, 1)), GET(x, 2));
  cc_field128_lincomb_arrays(f, r, w, xs, 3, 1);
  CHECK_EQ(GET(r, 0), want);
  CHECK_EQ(cc_field128_dot(f, x, w, 3), want);
}

/* ==== Lagrange, linear combinations, Shamir ============================= */

/* The polynomial secret + sum_d coeffs[d-1] x^d at x, by the reference. */
static u128 ref_poly(u128 p, u128 secret, const u128 *coeffs, size_t k, u128 x) {
  u128 acc = 0;
  for (size_t d = k - 1; d >= 1; d--) acc = ref_add(p, ref_mul(p, acc, x), coeffs[d - 1]);
  return ref_add(p, ref_mul(p, acc, x), secret);
}

static void test_lincomb(const cc_field128 *f) {
  const u128 p = f->p;
  enum { R = 5, NL = 17 };
  uint64_t rows[2 * R * NL], w[2 * R], out[2 * NL], out2[2 * NL];
  fill(p, rows, R * NL, 1);
  fill(p, w, R, 0);
  cc_field128_set(w, 1, 1 % p); /* a unit weight takes the addition path */
  cc_field128_set(w, 2, p - 1);
  const uint64_t *xs[R];
  for (size_t j = 0; j < R; j++) xs[j] = rows + 2 * j * NL;
  for (size_t r = 0; r <= R; r++) {
    cc_field128_lincomb(f, out, w, rows, r, NL);
    cc_field128_lincomb_arrays(f, out2, w, xs, r, NL);
    for (size_t i = 0; i < NL; i++) {
      u128 acc = 0;
      for (size_t j = 0; j < r; j++)
        acc = ref_add(p, acc, ref_mul(p, GET(rows, j * NL + i), GET(w, j)));
      CHECK_EQ(GET(out, i), acc);
      CHECK_EQ(GET(out2, i), acc);
    }
  }
  /* many arrays: the weights no longer fit the kernel's stack buffer */
  enum { RB = 40 };
  uint64_t *big = malloc(2 * RB * NL * sizeof *big), wb[2 * RB];
  const uint64_t *zs[RB];
  fill(p, big, RB * NL, 1);
  fill(p, wb, RB, 1);
  for (size_t j = 0; j < RB; j++) zs[j] = big + 2 * j * NL;
  cc_field128_lincomb_arrays(f, out2, wb, zs, RB, NL);
  uint64_t out3[2 * NL];
  cc_field128_lincomb(f, out3, wb, big, RB, NL);
  for (size_t i = 0; i < NL; i++) {
    u128 acc = 0;
    for (size_t j = 0; j < RB; j++)
      acc = ref_add(p, acc, ref_mul(p, GET(big, j * NL + i), GET(wb, j)));
    CHECK_EQ(GET(out2, i), acc);
    CHECK_EQ(GET(out3, i), acc);
  }
  /* all terms (p-1)(p-1): the lazy sums at their largest */
  for (size_t i = 0; i < RB * NL; i++) cc_field128_set(big, i, p - 1);
  for (size_t j = 0; j < RB; j++) cc_field128_set(wb, j, p - 1);
  cc_field128_lincomb_arrays(f, out2, wb, zs, RB, NL);
  for (size_t i = 0; i < NL; i++) CHECK_EQ(GET(out2, i), RB % p);
  for (size_t r = 2; r <= 3; r++) {
    cc_field128_lincomb_arrays(f, out2, wb, zs, r, NL);
    for (size_t i = 0; i < NL; i++) CHECK_EQ(GET(out2, i), r % p);
  }
  CHECK_EQ(cc_field128_dot(f, big, big, RB * NL), (u128)(RB * NL) % p);
  free(big);

  /* out may be one of the arrays */
  uint64_t copy[2 * R * NL];
  memcpy(copy, rows, sizeof rows);
  const uint64_t *ys[R];
  for (size_t j = 0; j < R; j++) ys[j] = copy + 2 * j * NL;
  cc_field128_lincomb_arrays(f, copy + 2 * 2 * NL, w, ys, R, NL);
  CHECK(cc_field128_equal(copy + 2 * 2 * NL, out, NL));

  /* all weights 1 (the sum path), large elements, out one of the arrays */
  uint64_t ones[2 * R];
  for (size_t j = 0; j < R; j++) cc_field128_set(ones, j, 1 % p);
  memcpy(copy, rows, sizeof rows);
  for (size_t i = 0; i < NL; i++) cc_field128_set(copy, i, p - 1 - i % p);
  for (size_t r = 1; r <= R; r++) {
    uint64_t want[2 * NL];
    for (size_t i = 0; i < NL; i++) {
      u128 acc = 0;
      for (size_t j = 0; j < r; j++) acc = ref_add(p, acc, GET(copy, j * NL + i));
      cc_field128_set(want, i, acc);
    }
    uint64_t keep[2 * R * NL];
    memcpy(keep, copy, sizeof keep);
    cc_field128_lincomb_arrays(f, copy + 2 * (r - 1) * NL, ones, ys, r, NL);
    CHECK(cc_field128_equal(copy + 2 * (r - 1) * NL, want, NL));
    memcpy(copy, keep, sizeof keep);
  }
}

/* Linear combinations whose weights are 1, -1, one word, minus one word or
 * full (M127 has a kernel per class), over elements at the edges, longer
 * than the kernel's block of 256, with out one of the arrays. */
static void test_lincomb_classes(const cc_field128 *f) {
  const u128 p = f->p;
  enum { RC = 14, NC = 600 };
  const u128 two64 = (u128)1 << 64;
  u128 wv[RC] = {1 % p, p - 1, 3 % p, (p - 3) % p, (two64 - 1) % p,
                 (p - (two64 - 1) % p) % p, two64 % p, 0, 0, 0, 0, 0, 32 % p, (p - 32 % p) % p};
  /* 2^64, -2^64, 2^126 = 1/2 and -1/2 are rotations in 2^127 - 1 */
  wv[7] = next128() % p;
  wv[8] = (p - (two64 % p)) % p;
  /* c 2^s and -c 2^s (rotations in 2^127 - 1): 1/2, -1/2, 3/2 there */
  wv[9] = ((u128)1 << 126) % p;
  wv[10] = (p - ((u128)1 << 126) % p) % p;
  wv[11] = ref_mul(p, 3, ((u128)1 << 126) % p);
  uint64_t *x = malloc(2 * RC * NC * sizeof *x), *out = malloc(2 * NC * sizeof *out);
  uint64_t *want = malloc(2 * NC * sizeof *want), w[2 * RC];
  fill(p, x, RC * NC, 1);
  const u128 edge[] = {0, 1, p - 1, p - 2, two64 - 1, two64, p >> 1};
  for (size_t j = 0; j < RC; j++)
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
      cc_field128_set(x, j * NC + (e * 7 + j) % NC, edge[e] % p);
  const uint64_t *xs[RC];
  for (size_t j = 0; j < RC; j++) xs[j] = x + 2 * j * NC;
  /* every class in every position: rotate the weights */
  for (size_t rot = 0; rot < RC; rot++) {
    for (size_t j = 0; j < RC; j++) cc_field128_set(w, j, wv[(j + rot) % RC]);
    for (size_t r = 1; r <= RC; r++) {
      for (size_t i = 0; i < NC; i++) {
        u128 acc = 0;
        for (size_t j = 0; j < r; j++)
          acc = ref_add(p, acc, ref_mul(p, GET(x, j * NC + i), GET(w, j)));
        cc_field128_set(want, i, acc);
      }
      cc_field128_lincomb_arrays(f, out, w, xs, r, NC);
      CHECK(cc_field128_equal(out, want, NC));
    }
  }
  /* 1 and each class (two terms in registers), also written over the
   * second array */
  for (size_t c = 0; c < RC; c++) {
    cc_field128_set(w, 0, 1 % p);
    cc_field128_set(w, 1, wv[c]);
    for (size_t i = 0; i < NC; i++)
      cc_field128_set(want, i, ref_add(p, GET(x, i), ref_mul(p, GET(x, NC + i), wv[c])));
    cc_field128_lincomb_arrays(f, out, w, xs, 2, NC);
    CHECK(cc_field128_equal(out, want, NC));
    uint64_t *second = malloc(2 * NC * sizeof *second);
    CHECK(second != NULL);
    memcpy(second, x + 2 * NC, 2 * NC * sizeof *second);
    const uint64_t *pair[2] = {x, second};
    cc_field128_lincomb_arrays(f, second, w, pair, 2, NC);
    CHECK(cc_field128_equal(second, want, NC));
    free(second);
  }
  /* 1, -1, -1, ...: a share minus dealt ones (the subtraction path) */
  cc_field128_set(w, 0, 1 % p);
  for (size_t j = 1; j < RC; j++) cc_field128_set(w, j, p - 1);
  for (size_t r = 2; r <= RC; r++) {
    for (size_t i = 0; i < NC; i++) {
      u128 acc = GET(x, i);
      for (size_t j = 1; j < r; j++) acc = ref_sub(p, acc, GET(x, j * NC + i));
      cc_field128_set(want, i, acc);
    }
    cc_field128_lincomb_arrays(f, out, w, xs, r, NC);
    CHECK(cc_field128_equal(out, want, NC));
  }
  /* out is the last array */
  for (size_t i = 0; i < NC; i++) {
    u128 acc = 0;
    for (size_t j = 0; j < 3; j++)
      acc = ref_add(p, acc, ref_mul(p, GET(x, j * NC + i), GET(w, j)));
    cc_field128_set(want, i, acc);
  }
  cc_field128_lincomb_arrays(f, x + 2 * 2 * NC, w, xs, 3, NC);
  CHECK(cc_field128_equal(x + 2 * 2 * NC, want, NC));
  free(x);
  free(out);
  free(want);
}

static void test_shamir(const cc_field128 *f) {
  const u128 p = f->p;
  char err[160];
  enum { M = 6, K = 3, NS = 5 };
  uint64_t x[2 * M], secret[2 * NS], coeffs[2 * (K - 1) * NS],
      shares[2 * M * NS], out[2 * NS];

  /* indices: 1, 2, 3, two random ones and p - 1 */
  fill_nonzero(p, x, M);
  for (size_t j = 0; j < 3; j++) cc_field128_set(x, j, (j + 1) % p);
  cc_field128_set(x, M - 1, p - 1);
  if (p <= 7) { /* small fields: 1 .. 6 */
    for (size_t j = 0; j < M; j++) cc_field128_set(x, j, j + 1);
  }
  fill(p, secret, NS, 1);
  fill(p, coeffs, (K - 1) * NS, 0);

  if (p > 7) {
    CHECK(cc_field128_shamir_share(f, shares, secret, NS, coeffs, K, x, M, err,
                                   sizeof err) == CC_FIELD_OK);
    for (size_t j = 0; j < M; j++)
      for (size_t i = 0; i < NS; i++) {
        u128 c[K - 1];
        for (size_t d = 0; d < K - 1; d++) c[d] = GET(coeffs, d * NS + i);
        CHECK_EQ(GET(shares, j * NS + i), ref_poly(p, GET(secret, i), c, K, GET(x, j)));
      }
    /* one player at a time, with an unreduced index x + p where it fits */
    for (size_t j = 0; j < M; j++) {
      u128 xj = GET(x, j);
      if (xj + p > xj) xj += p;
      cc_field128_shamir_eval(f, out, secret, NS, coeffs, K, xj);
      CHECK(cc_field128_equal(out, shares + 2 * j * NS, NS));
    }
    /* recover from subsets of k and more players */
    static const size_t subsets[][M] = {
      {0, 1, 2}, {3, 4, 5}, {0, 2, 5}, {5, 1, 3}, {0, 1, 2, 3}, {0, 1, 2, 3, 4, 5}};
    static const size_t sizes[] = {3, 3, 3, 3, 4, 6};
    for (size_t s = 0; s < 6; s++) {
      size_t r = sizes[s];
      uint64_t sx[2 * M], ss[2 * M * NS];
      for (size_t t = 0; t < r; t++) {
        cc_field128_set(sx, t, GET(x, subsets[s][t]));
        memcpy(ss + 2 * t * NS, shares + 2 * subsets[s][t] * NS, 2 * NS * sizeof *ss);
      }
      CHECK(cc_field128_shamir_recover(f, out, ss, NS, sx, r, err, sizeof err) == 0);
      CHECK(cc_field128_equal(out, secret, NS));
    }
    /* k - 1 shares do not determine the secret: here they give another one */
    CHECK(cc_field128_shamir_recover(f, out, shares, NS, x, K - 1, err, sizeof err) == 0);
    CHECK(!cc_field128_equal(out, secret, NS));
  }

  /* one-word indices (the kernels multiply by them with fewer products),
   * over enough random elements to carry both ways */
  {
    enum { NB = 64, KB = 4 };
    uint64_t sb[2 * NB], cb[2 * (KB - 1) * NB], ob[2 * NB];
    fill(p, sb, NB, 1);
    fill(p, cb, (KB - 1) * NB, 1);
    const u128 xw[] = {2, 3, 1000, UINT64_MAX, (u128)1 << 63, next64(), next64()};
    for (size_t t = 0; t < sizeof xw / sizeof xw[0]; t++) {
      u128 xt = xw[t] % p;
      if (xt == 0) continue;
      cc_field128_shamir_eval(f, ob, sb, NB, cb, KB, xt);
      for (size_t i = 0; i < NB; i++) {
        u128 c[KB - 1];
        for (size_t d = 0; d < KB - 1; d++) c[d] = GET(cb, d * NB + i);
        CHECK_EQ(GET(ob, i), ref_poly(p, GET(sb, i), c, KB, xt));
      }
    }
  }

  /* k = 1: every share is the secret (GF(2) has a single index, 1) */
  size_t m1 = p > 2 ? 2 : 1;
  CHECK(cc_field128_shamir_share(f, shares, secret, NS, coeffs, 1, x, m1, err,
                                 sizeof err) == CC_FIELD_OK);
  for (size_t j = 0; j < m1; j++) CHECK(cc_field128_equal(shares + 2 * j * NS, secret, NS));

  /* errors */
  CHECK(cc_field128_shamir_share(f, shares, secret, NS, coeffs, 0, x, 3, err,
                                 sizeof err) == CC_FIELD_EINVAL);
  CHECK(strcmp(err, "threshold 0 out of range [1, 3]") == 0);
  CHECK(cc_field128_shamir_share(f, shares, secret, NS, coeffs, 4, x, 3, err,
                                 sizeof err) == CC_FIELD_EINVAL);
  CHECK(cc_field128_shamir_recover(f, out, shares, NS, x, 0, err, sizeof err) ==
        CC_FIELD_EINVAL);
  uint64_t bad[2 * 3];
  cc_field128_set(bad, 0, 1);
  cc_field128_set(bad, 1, 2 % p);
  cc_field128_set(bad, 2, p); /* zero mod p */
  if (p > 2) {
    CHECK(cc_field128_check_indices(f, bad, 3, err, sizeof err) == CC_FIELD_EINVAL);
    CHECK(strcmp(err, "index 3 is zero modulo the field order") == 0);
    cc_field128_set(bad, 2, 1 + p); /* 1 again, mod p */
    CHECK(cc_field128_check_indices(f, bad, 3, err, sizeof err) == CC_FIELD_EINVAL);
    CHECK(strcmp(err, "indices 1 and 3 are the same (1)") == 0);
    CHECK(cc_field128_shamir_share(f, shares, secret, NS, coeffs, 2, bad, 3, err,
                                   sizeof err) == CC_FIELD_EINVAL);
    uint64_t lam[2 * 3];
    CHECK(cc_field128_lagrange0(f, lam, bad, 3, err, sizeof err) == CC_FIELD_EINVAL);
    CHECK(cc_field128_check_indices(f, bad, 2, err, sizeof err) == CC_FIELD_OK);
  }
}

static void test_lagrange(const cc_field128 *f) {
  const u128 p = f->p;
  char err[160];
  enum { R = 7 };
  uint64_t x[2 * R], lam[2 * R];
  size_t r = p > 8 ? R : (size_t)(p - 1);
  fill_nonzero(p, x, r);
  if (p <= 8)
    for (size_t j = 0; j < r; j++) cc_field128_set(x, j, j + 1);
  else
    cc_field128_set(x, 0, p - 1);
  CHECK(cc_field128_lagrange0(f, lam, x, r, err, sizeof err) == CC_FIELD_OK);
  /* each weight by the formula, with the reference inverse */
  for (size_t j = 0; j < r; j++) {
    u128 num = 1 % p, den = 1 % p, xj = GET(x, j);
    for (size_t m = 0; m < r; m++) {
      if (m == j) continue;
      num = ref_mul(p, num, GET(x, m));
      den = ref_mul(p, den, ref_sub(p, GET(x, m), xj));
    }
    CHECK_EQ(GET(lam, j), ref_mul(p, num, ref_inv(p, den)));
  }
  /* against a direct evaluation: a random polynomial of degree r - 1 */
  u128 coef[R] = {0}, acc = 0;
  for (size_t d = 0; d < r; d++) coef[d] = next128() % p;
  for (size_t j = 0; j < r; j++) {
    u128 y = ref_poly(p, coef[0], coef + 1, r, GET(x, j));
    acc = ref_add(p, acc, ref_mul(p, y, GET(lam, j)));
  }
  CHECK_EQ(acc, coef[0]);
  /* a single point: weight 1 */
  CHECK(cc_field128_lagrange0(f, lam, x, 1, err, sizeof err) == CC_FIELD_OK);
  CHECK_EQ(GET(lam, 0), 1 % p);
}

/* ==== The 64-bit field as a second opinion ============================== */

static void test_against_field64(const cc_field128 *f) {
  if (f->p >> 64) return;
  cc_field g;
  CHECK(cc_field_init(&g, (uint64_t)f->p, NULL, 0) == 0);
  uint64_t a[N], b[N], o64[N], a2[2 * N], b2[2 * N], o128[2 * N];
  for (size_t i = 0; i < N; i++) {
    a[i] = next64() % g.p;
    b[i] = i < 2 ? i : next64() % g.p;
    cc_field128_set(a2, i, a[i]);
    cc_field128_set(b2, i, b[i]);
  }
  cc_field_mul(&g, o64, a, b, N);
  cc_field128_mul(f, o128, a2, b2, N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(o128, i), o64[i]);
  CHECK_EQ(cc_field128_dot(f, a2, b2, N), cc_field_dot(&g, a, b, N));
  cc_field_pow(&g, o64, a, UINT64_C(0xDEADBEEF12345), N);
  cc_field128_pow(f, o128, a2, UINT64_C(0xDEADBEEF12345), N);
  for (size_t i = 0; i < N; i++) CHECK_EQ(GET(o128, i), o64[i]);
  if (g.p > N + 1) {
    for (size_t i = 0; i < 8; i++) { b[i] = i + 1; cc_field128_set(b2, i, i + 1); }
    CHECK(cc_field_lagrange0(&g, o64, b, 8, NULL, 0) == 0);
    CHECK(cc_field128_lagrange0(f, o128, b2, 8, NULL, 0) == 0);
    for (size_t i = 0; i < 8; i++) CHECK_EQ(GET(o128, i), o64[i]);
  }
}

/* cc_field128_bitlt_pairs against the plaintext (plain bits r, shares of
 * degree 0), with pairs whose bits lie in both words of c, and affine in
 * (r, rho): k(a) + k(b) = k(a + b) + k(0). */
static void test_bitlt_pairs(const cc_field128 *f) {
  enum { BN = 32, MAXM = 100 };
  static uint64_t c[2 * BN], r[2 * MAXM * BN], rho[2 * MAXM / 2 * BN], lt[2 * MAXM * BN],
                  eq[2 * MAXM * BN], ra[2 * MAXM * BN], pa[2 * MAXM * BN], rs[2 * MAXM * BN],
                  ps[2 * MAXM * BN], zero[2 * MAXM * BN], l1[2 * MAXM * BN], e1[2 * MAXM * BN],
                  l2[2 * MAXM * BN], e2[2 * MAXM * BN], l0[2 * MAXM * BN], e0[2 * MAXM * BN];
  for (unsigned m = 2; m <= MAXM && (int)m < f->bits; m += 7) {
    size_t h = m / 2, rows = h + m % 2;
    for (size_t e = 0; e < BN; e++) {
      u128 cv = next128() % f->p;
      cc_field128_set(c, e, cv);
      for (size_t i = 0; i < m; i++) cc_field128_set(r, i * BN + e, next64() & 1);
      for (size_t i = 0; i < h; i++)
        cc_field128_set(rho, i * BN + e, cc_field128_get(r, i * BN + e) & cc_field128_get(r, (h + i) * BN + e));
    }
    cc_field128_bitlt_pairs(f, lt, eq, c, r, rho, m, BN);
    for (size_t e = 0; e < BN; e++) {
      u128 cw = cc_field128_get(c, e);
      for (size_t i = 0; i < rows; i++) {
        unsigned cv, rv;
        if (i < h) {
          unsigned eh = m - 1 - 2 * (unsigned)i;
          cv = (unsigned)(cw >> (eh - 1)) & 3;
          rv = (unsigned)(2 * cc_field128_get(r, i * BN + e) + cc_field128_get(r, (h + i) * BN + e));
        } else {
          cv = (unsigned)cw & 1;
          rv = (unsigned)cc_field128_get(r, 2 * h * BN + e);
        }
        CHECK(cc_field128_get(lt, i * BN + e) == (u128)(cv < rv));
        CHECK(cc_field128_get(eq, i * BN + e) == (u128)(cv == rv));
      }
    }
    fill(f->p, ra, m * BN, 1);
    fill(f->p, pa, h * BN, 1);
    fill(f->p, rs, m * BN, 0);
    fill(f->p, ps, h * BN, 0);
    memset(zero, 0, sizeof zero);
    cc_field128_bitlt_pairs(f, l1, e1, c, ra, pa, m, BN);
    cc_field128_bitlt_pairs(f, l2, e2, c, rs, ps, m, BN);
    cc_field128_add(f, l1, l1, l2, rows * BN);
    cc_field128_add(f, e1, e1, e2, rows * BN);
    cc_field128_add(f, rs, rs, ra, m * BN);
    cc_field128_add(f, ps, ps, pa, h * BN);
    cc_field128_bitlt_pairs(f, l2, e2, c, rs, ps, m, BN);
    cc_field128_bitlt_pairs(f, l0, e0, c, zero, zero, m, BN);
    cc_field128_add(f, l2, l2, l0, rows * BN);
    cc_field128_add(f, e2, e2, e0, rows * BN);
    CHECK(memcmp(l1, l2, 2 * rows * BN * sizeof *l1) == 0);
    CHECK(memcmp(e1, e2, 2 * rows * BN * sizeof *e1) == 0);
  }
}

/* cc_field128_xor_group against its formulas, element by element, with
 * the reference arithmetic: w = (1 - 2b) u + z x for a bit (for a pair,
 * b_h (1 - 2 b_l) u_l + b_l (1 - 2 b_h) u_h + (1 - 2 b_h)(1 - 2 b_l) v +
 * z x), bits = w + fa b, prod = w + fa b_h b_l, messages lam w -/+ rho. */
static void test_xor_group(const cc_field128 *f) {
  enum { XN = 8, XM = 5, XH = XM / 2, XP = 2 };
  const u128 p = f->p;
  static uint64_t b[2 * XM * XN], u[2 * XM * XN], v[2 * XP * XN], z[2 * (XM + XP) * XN],
                  rho[2 * (XM + XP) * XN], bits[2 * XM * XN], prod[2 * XP * XN],
                  msg[2 * XM * XN], msgp[2 * XP * XN];
  for (size_t i = 0; i < XM * XN; i++) cc_field128_set(b, i, next64() & 1);
  fill(p, u, XM * XN, 1);
  fill(p, v, XP * XN, 1);
  fill(p, z, (XM + XP) * XN, 0);
  fill(p, rho, (XM + XP) * XN, 0);
  u128 fa = next128() % p, x = next128() % p, lam = next128() % p;
  for (int negate = 0; negate < 2; negate++) {
    cc_field128_xor_group(f, bits, prod, msg, msgp, b, u, v, z, rho, fa, x, lam, negate,
                          XM, XP, XN);
    for (size_t j = 0; j < XM + XP; j++) {
      for (size_t e = 0; e < XN; e++) {
        u128 w, out, zx = ref_mul(p, cc_field128_get(z, j * XN + e), x);
        if (j < XM) {
          u128 bb = cc_field128_get(b, j * XN + e), uu = cc_field128_get(u, j * XN + e);
          w = ref_add(p, bb ? ref_sub(p, 0, uu) : uu, zx);
          out = ref_add(p, w, bb ? fa : 0);
          CHECK(cc_field128_get(bits, j * XN + e) == out);
        } else {
          size_t i = j - XM;
          u128 bh = cc_field128_get(b, i * XN + e), bl = cc_field128_get(b, (XH + i) * XN + e);
          u128 uh = cc_field128_get(u, i * XN + e), ul = cc_field128_get(u, (XH + i) * XN + e);
          u128 vv = cc_field128_get(v, i * XN + e);
          u128 ch = bl ? (bh ? p - 1 : 1) : 0, cl = bh ? (bl ? p - 1 : 1) : 0;
          u128 cv = bh == bl ? 1 : p - 1;
          if (p == 2) { ch %= 2; cl %= 2; cv %= 2; }
          w = ref_add(p, ref_add(p, ref_mul(p, ch, uh), ref_mul(p, cl, ul)),
                      ref_add(p, ref_mul(p, cv, vv), zx));
          out = ref_add(p, w, bh && bl ? fa : 0);
          CHECK(cc_field128_get(prod, i * XN + e) == out);
        }
        u128 t = ref_mul(p, lam, w), r = cc_field128_get(rho, j * XN + e);
        u128 m = negate ? ref_sub(p, t, r) : ref_add(p, t, r);
        CHECK(cc_field128_get(j < XM ? msg : msgp, (j < XM ? j : j - XM) * XN + e) == m);
      }
    }
  }
}

/* cc_field128_xor_group_rng against cc_field128_xor_group given the same
 * values, drawn from a second stream of the same seed in the documented
 * order (packed bits of the m rows, then z_j and rho_j row by row); with
 * and without messages, and n not a multiple of 64. */
static void test_xor_group_rng(const cc_field128 *f) {
  enum { XN = 70, XM = 5, XH = XM / 2, XP = 2, XW = (XN + 63) / 64 };
  const u128 p = f->p;
  static uint64_t b[2 * XM * XN], u[2 * XM * XN], v[2 * XP * XN], z[2 * (XM + XP) * XN],
                  rho[2 * (XM + XP) * XN], bits[2 * XM * XN], prod[2 * XP * XN],
                  msg[2 * XM * XN], msgp[2 * XP * XN], bits2[2 * XM * XN],
                  prod2[2 * XP * XN], msg2[2 * XM * XN], msgp2[2 * XP * XN];
  uint64_t packed[XM * XW];
  (void)XH;
  fill(p, u, XM * XN, 1);
  fill(p, v, XP * XN, 1);
  u128 fa = next128() % p;
  /* The index and lam at random, and small as the suites' are (1 with -1,
   * 2 with 2, 3 with -3): each weight class of 2^127 - 1. */
  const u128 xs[4] = {next128() % p, 1 % p, 2 % p, 3 % p};
  const u128 lams[4] = {next128() % p, p - 1, 2 % p, (p - 3 % p) % p};
  for (int c = 0; c < 8; c++) {
    int with_msg = c % 2;
    u128 x = xs[c / 2], lam = lams[c / 2];
    cc_rng a, r;
    CHECK(cc_rng_init_seeded(&a, "xor", 3) == 0);
    CHECK(cc_rng_init_seeded(&r, "xor", 3) == 0);
    CHECK(cc_field128_xor_group_rng(f, &a, bits2, prod2, with_msg ? msg2 : NULL,
                                    with_msg ? msgp2 : NULL, u, v, fa, x, lam, with_msg,
                                    XM, XP, XN) == CC_FIELD_OK);
    CHECK(cc_rng_bytes(&r, packed, sizeof packed) == 0);
    for (size_t j = 0; j < XM; j++)
      for (size_t e = 0; e < XN; e++)
        cc_field128_set(b, j * XN + e, (packed[j * XW + e / 64] >> (e % 64)) & 1);
    for (size_t j = 0; j < XM + XP; j++) {
      CHECK(cc_rng_uniform_mod128(&r, (uint64_t)p, (uint64_t)(p >> 64), z + 2 * j * XN, XN) == 0);
      CHECK(cc_rng_uniform_mod128(&r, (uint64_t)p, (uint64_t)(p >> 64), rho + 2 * j * XN, XN) == 0);
    }
    cc_field128_xor_group(f, bits, prod, with_msg ? msg : NULL, with_msg ? msgp : NULL, b, u,
                          v, z, rho, fa, x, lam, with_msg, XM, XP, XN);
    CHECK(memcmp(bits, bits2, sizeof bits) == 0);
    CHECK(memcmp(prod, prod2, sizeof prod) == 0);
    if (with_msg) {
      CHECK(memcmp(msg, msg2, sizeof msg) == 0);
      CHECK(memcmp(msgp, msgp2, sizeof msgp) == 0);
    }
    /* Both streams took the same number of bytes. */
    uint64_t wa = 0, wr = 0;
    CHECK(cc_rng_bytes(&a, &wa, sizeof wa) == 0);
    CHECK(cc_rng_bytes(&r, &wr, sizeof wr) == 0);
    CHECK(wa == wr);
    cc_rng_free(&a);
    cc_rng_free(&r);
  }
}

/* The plain-sum unmask against a reference in M127 (0 elsewhere): sums of
 * 1 to 5 arrays at the edges, shifts of 0 to 127 bits, subtracted terms of
 * every weight class (0 too), s of 0 and p - 1, out one of the arrays. */
static void test_unmask_sum(const cc_field128 *f) {
  const u128 p = f->p;
  enum { RU = 5, QU = 8, NU = 700 };
  uint64_t *x = malloc(2 * (RU + QU) * NU * sizeof *x), *out = malloc(2 * NU * sizeof *out);
  uint64_t *want = malloc(2 * NU * sizeof *want), v[2 * QU];
  CHECK(x && out && want);
  if (f->kind != CC_FIELD128_M127) {
    const uint64_t *one[1] = {x};
    CHECK(cc_field128_unmask_sum(f, out, one, 1, 3, 0, v, one, 0, 1) == 0);
    free(x), free(out), free(want);
    return;
  }
  fill(p, x, (RU + QU) * NU, 1);
  const u128 edge[] = {0, 1, p - 1, p - 2, ((u128)1 << 64) - 1, (u128)1 << 64, p >> 1};
  for (size_t j = 0; j < RU + QU; j++)
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
      cc_field128_set(x, j * NU + (e * 11 + j) % NU, edge[e]);
  for (size_t i = 0; i < NU; i += 5) /* runs of p - 1 in every c array */
    for (size_t j = 0; j < RU; j++) cc_field128_set(x, j * NU + i, p - 1);
  const uint64_t *cs[RU], *ys[QU];
  for (size_t j = 0; j < RU; j++) cs[j] = x + 2 * j * NU;
  for (size_t j = 0; j < QU; j++) ys[j] = x + 2 * (RU + j) * NU;
  const u128 vw[QU] = {1, p - 1, 3, p - 3, (u128)1 << 126, p - ((u128)1 << 126), 0,
                       next128() % p};
  for (size_t j = 0; j < QU; j++) cc_field128_set(v, j, vw[j]);
  static const unsigned shifts[] = {0, 1, 16, 63, 64, 65, 100, 126, 127};
  for (size_t r = 1; r <= RU; r++) {
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
      unsigned bits = shifts[k];
      u128 s = k % 2 ? p - 1 : (k % 3 ? next128() % p : 0);
      size_t q = (r + k) % (QU + 1);
      for (size_t i = 0; i < NU; i++) {
        u128 c = 0, h = 0;
        for (size_t j = 0; j < r; j++) c = ref_add(p, c, GET(cs[j], i));
        for (size_t j = 0; j < q; j++) h = ref_add(p, h, ref_mul(p, vw[j], GET(ys[j], i)));
        cc_field128_set(want, i, ref_sub(p, ref_sub(p, c >> bits, s), h));
      }
      CHECK(cc_field128_unmask_sum(f, out, cs, r, bits, s, v, ys, q, NU) == 1);
      CHECK(cc_field128_equal(out, want, NU));
    }
  }
  /* 3 shares and 4 terms of weights 1, 1, c, c in any order (the
   * product's unmask among 3 players, summed in registers), a word c up to
   * 2^63 - 1, and beyond (the passes), with every y 0 in part of the run */
  {
    const u128 cw[] = {1, 2, 3, ((u128)1 << 63) - 1, (u128)1 << 63, p - 5};
    static const int orders4[3][4] = {{0, 1, 1, 0}, {1, 0, 0, 1}, {1, 0, 1, 0}};
    uint64_t *zeros = calloc(2 * NU, sizeof *zeros);
    CHECK(zeros != NULL);
    for (size_t ci = 0; ci < sizeof cw / sizeof cw[0]; ci++) {
      for (size_t o = 0; o < 3; o++) {
        for (int z = 0; z < 2; z++) {
          u128 w4[4];
          uint64_t v4[8];
          const uint64_t *y4[4];
          for (size_t j = 0; j < 4; j++) {
            w4[j] = orders4[o][j] ? cw[ci] : 1;
            cc_field128_set(v4, j, w4[j]);
            y4[j] = z && j >= 2 ? zeros : ys[j];
          }
          unsigned bits = (unsigned)(ci * 37 + o * 11) % 128;
          u128 s = (ci + o) % 2 ? p - 1 : next128() % p;
          for (size_t i = 0; i < NU; i++) {
            u128 c = 0, h = 0;
            for (size_t j = 0; j < 3; j++) c = ref_add(p, c, GET(cs[j], i));
            for (size_t j = 0; j < 4; j++) h = ref_add(p, h, ref_mul(p, w4[j], GET(y4[j], i)));
            cc_field128_set(want, i, ref_sub(p, ref_sub(p, c >> bits, s), h));
          }
          CHECK(cc_field128_unmask_sum(f, out, cs, 3, bits, s, v4, y4, 4, NU) == 1);
          CHECK(cc_field128_equal(out, want, NU));
        }
      }
    }
    free(zeros);
  }
  /* The same shape with the shares read as received: little-endian bytes
   * at an odd offset, checked as read (an element of p or above 2^127 in
   * any share is found), and other shapes left to the caller. */
  {
    uint8_t *raw = malloc(3 * 16 * NU + 8);
    uint64_t *plain = malloc(2 * NU * sizeof *plain), v4[8];
    CHECK(raw && plain);
    const uint8_t *cb[3];
    for (size_t j = 0; j < 3; j++) {
      memcpy(raw + 3 + 16 * NU * j, cs[j], 16 * NU); /* little-endian hosts */
      cb[j] = raw + 3 + 16 * NU * j;
    }
    const u128 w4[4] = {3, 1, 1, 3};
    for (size_t j = 0; j < 4; j++) cc_field128_set(v4, j, w4[j]);
    int bad = 1;
    for (unsigned bits = 0; bits <= 127; bits += 21) {
      CHECK(cc_field128_unmask_sum(f, plain, cs, 3, bits, 9, v4, ys, 4, NU) == 1);
      CHECK(cc_field128_unmask_sum_le(f, out, cb, 3, bits, 9, v4, ys, 4, NU, &bad) == 1);
      CHECK(bad == 0 && cc_field128_equal(out, plain, NU));
    }
    const u128 wrong[] = {p, p + 1, (u128)1 << 127, ~(u128)0};
    for (size_t e = 0; e < sizeof wrong / sizeof wrong[0]; e++) {
      uint8_t *at = raw + 3 + 16 * NU * (e % 3) + 16 * (NU - 1 - 37 * e), keep[16];
      uint64_t words[2] = {(uint64_t)wrong[e], (uint64_t)(wrong[e] >> 64)};
      memcpy(keep, at, 16);
      memcpy(at, words, 16);
      CHECK(cc_field128_unmask_sum_le(f, out, cb, 3, 16, 9, v4, ys, 4, NU, &bad) == 1 && bad);
      memcpy(at, keep, 16);
    }
    CHECK(cc_field128_unmask_sum_le(f, out, cb, 3, 16, 9, v4, ys, 4, NU, &bad) == 1 && !bad);
    CHECK(cc_field128_unmask_sum_le(f, out, cb, 3, 16, 9, v4, ys, 3, NU, &bad) == 0);
    CHECK(cc_field128_unmask_sum_le(f, out, cb, 2, 16, 9, v4, ys, 4, NU, &bad) == 0);
    cc_field128_set(v4, 1, 5);
    CHECK(cc_field128_unmask_sum_le(f, out, cb, 3, 16, 9, v4, ys, 4, NU, &bad) == 0);
    free(raw);
    free(plain);
  }
  /* out is the first array summed */
  uint64_t *copy = malloc(2 * 2 * NU * sizeof *copy);
  CHECK(copy != NULL);
  memcpy(copy, x, 2 * 2 * NU * sizeof *copy);
  const uint64_t *two[2] = {copy, copy + 2 * NU};
  for (size_t i = 0; i < NU; i++) {
    u128 c = ref_add(p, GET(x, i), GET(x, NU + i));
    cc_field128_set(want, i, ref_sub(p, ref_sub(p, c >> 16, 5), ref_mul(p, vw[2], GET(ys[0], i))));
  }
  uint64_t v3[2];
  cc_field128_set(v3, 0, vw[2]);
  CHECK(cc_field128_unmask_sum(f, copy, two, 2, 16, 5, v3, ys, 1, NU) == 1);
  CHECK(cc_field128_equal(copy, want, NU));
  free(copy);
  free(x);
  free(out);
  free(want);
}

/* cc_field128_mul_signed_sum: out = pw a b + s + sum of +-xs[j], for
 * every class of pw, 3 terms (the product's masked share among 3 players,
 * its own loops) and other counts, against the reference. */
static void test_mul_signed_sum(const cc_field128 *f) {
  const u128 p = f->p;
  enum { NM = 900, RM = 5 };
  uint64_t *x = malloc(2 * (RM + 2) * NM * sizeof *x), *out = malloc(2 * NM * sizeof *out);
  uint64_t *want = malloc(2 * NM * sizeof *want), w[2 * RM];
  CHECK(x && out && want);
  fill(p, x, (RM + 2) * NM, 7);
  const u128 edge[] = {0, 1, p - 1, p - 2, ((u128)1 << 64) - 1, (u128)1 << 64, p >> 1};
  for (size_t j = 0; j < RM + 2; j++)
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
      cc_field128_set(x, j * NM + (e * 13 + j) % NM, edge[e]);
  for (size_t i = 0; i < NM; i += 7) { /* runs at the top of the field */
    cc_field128_set(x, i, p - 1);
    cc_field128_set(x, NM + i, p - 1);
  }
  const uint64_t *a = x, *b = x + 2 * NM, *xs[RM];
  for (size_t j = 0; j < RM; j++) xs[j] = x + 2 * (2 + j) * NM;
  const u128 pws[] = {1, p - 1, 3, p - 3, (u128)1 << 70, next128() % p, 0};
  if (f->kind != CC_FIELD128_M127) {
    CHECK(cc_field128_mul_signed_sum(f, out, a, b, 3, w, xs, 0, 0, NM) == 0);
    free(x), free(out), free(want);
    return;
  }
  for (size_t r = 0; r <= RM; r++) {
    for (size_t k = 0; k < sizeof pws / sizeof pws[0]; k++) {
      u128 pw = pws[k], s = k % 2 ? p - 1 : next128() % p, ws[RM];
      for (size_t j = 0; j < r; j++) {
        ws[j] = (j + k) % 3 == 1 ? p - 1 : 1;
        cc_field128_set(w, j, ws[j]);
      }
      for (int withb = 0; withb < 2; withb++) {
        for (size_t i = 0; i < NM; i++) {
          u128 t = withb ? ref_mul(p, GET(a, i), GET(b, i)) : GET(a, i);
          u128 acc = ref_add(p, ref_mul(p, pw, t), s);
          for (size_t j = 0; j < r; j++) acc = ref_add(p, acc, ref_mul(p, ws[j], GET(xs[j], i)));
          cc_field128_set(want, i, acc);
        }
        CHECK(cc_field128_mul_signed_sum(f, out, a, withb ? b : NULL, pw, w, xs, r, s, NM) == 1);
        CHECK(cc_field128_equal(out, want, NM));
      }
    }
  }
  /* a weight other than 1 and -1 is not this kernel's */
  cc_field128_set(w, 0, 2);
  CHECK(cc_field128_mul_signed_sum(f, out, a, b, 3, w, xs, 1, 0, NM) == 0);
  free(x);
  free(out);
  free(want);
}

/* The AVX-512 IFMA kernels of 2^127 - 1 against the scalar ones, bit for
 * bit: products with three terms for every class of pw (words of one and
 * two radix-2^52 limbs, full weights), the product's unmask among 3
 * players for words c of one and two limbs, the shares as arrays and as
 * received bytes at every offset mod 8 with values 0, 1, p - 1 and the
 * rejected p, p + 1, 2^127, 2^128 - 1 among them, lengths around the
 * vector width, out aliasing an operand. Skipped (said so) on a CPU
 * without IFMA; CICADA_NO_SIMD turns them off. */
static const size_t simd_lengths[] = {0, 1, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 67, 256, 1001};

static void test_simd_paths(const cc_field128 *f) {
  if (f->kind != CC_FIELD128_M127) return;
  setenv("CICADA_NO_SIMD", "1", 1);
  CHECK(_cc_field128_simd(-1) == 0);
  unsetenv("CICADA_NO_SIMD");
  CHECK(_cc_field128_simd(0) == 0);
  if (!_cc_field128_simd(1)) {
    printf("IFMA kernels: skipped (this CPU has no AVX-512 IFMA)\n");
    _cc_field128_simd(-1);
    return;
  }
  const u128 p = f->p;
  enum { NV = 1001, RV = 7 };
  uint64_t *x = malloc(2 * RV * NV * sizeof *x);
  uint64_t *outs = malloc(2 * NV * sizeof *outs), *outv = malloc(2 * NV * sizeof *outv);
  uint8_t *raw = malloc(3 * 16 * NV + 8);
  CHECK(x && outs && outv && raw);
  fill(p, x, RV * NV, 1);
  const u128 edge[] = {0, 1, p - 1, p - 2, ((u128)1 << 52) - 1, (u128)1 << 52,
                       ((u128)1 << 104) - 1, (u128)1 << 104, ((u128)1 << 64) - 1};
  for (size_t j = 0; j < RV; j++)
    for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
      cc_field128_set(x, j * NV + (e * 5 + j) % 16, edge[e]);
  for (size_t i = 16; i < NV; i += 3) /* runs of p - 1: the largest sums */
    for (size_t j = 0; j < RV; j++) cc_field128_set(x, j * NV + i, p - 1);
  const uint64_t *arr[RV];
  for (size_t j = 0; j < RV; j++) arr[j] = x + 2 * j * NV;

  /* mul_signed_sum: a, b, three terms of mixed signs */
  const u128 pws[] = {1, p - 1, 3, p - 3, ((u128)1 << 52) - 1, (u128)1 << 52,
                      ((u128)1 << 63) + 5, p - ((u128)1 << 60), (u128)1 << 100,
                      next128() % p, 0};
  for (size_t k = 0; k < sizeof pws / sizeof pws[0]; k++) {
    uint64_t w[6];
    for (size_t j = 0; j < 3; j++) cc_field128_set(w, j, (j + k) % 3 == 1 ? p - 1 : 1);
    u128 s = k % 2 ? p - 1 : next128() % p;
    for (size_t l = 0; l < sizeof simd_lengths / sizeof simd_lengths[0]; l++) {
      size_t n = simd_lengths[l];
      CHECK(_cc_field128_simd(0) == 0);
      CHECK(cc_field128_mul_signed_sum(f, outs, arr[0], arr[1], pws[k], w, arr + 2, 3, s, n) == 1);
      CHECK(_cc_field128_simd(1) == 1);
      CHECK(cc_field128_mul_signed_sum(f, outv, arr[0], arr[1], pws[k], w, arr + 2, 3, s, n) == 1);
      CHECK(cc_field128_equal(outs, outv, n));
    }
  }
  { /* out is a, b or one of the terms */
    uint64_t w[6], *copy = malloc(2 * 5 * NV * sizeof *copy);
    CHECK(copy != NULL);
    for (size_t j = 0; j < 3; j++) cc_field128_set(w, j, j == 1 ? p - 1 : 1);
    _cc_field128_simd(0);
    CHECK(cc_field128_mul_signed_sum(f, outs, arr[0], arr[1], 3, w, arr + 2, 3, 7, NV) == 1);
    _cc_field128_simd(1);
    for (size_t t = 0; t < 5; t++) {
      memcpy(copy, x, 2 * 5 * NV * sizeof *copy);
      const uint64_t *cp[5];
      for (size_t j = 0; j < 5; j++) cp[j] = copy + 2 * j * NV;
      uint64_t *o = copy + 2 * t * NV;
      CHECK(cc_field128_mul_signed_sum(f, o, cp[0], cp[1], 3, w, cp + 2, 3, 7, NV) == 1);
      CHECK(cc_field128_equal(o, outs, NV));
    }
    free(copy);
  }

  /* two terms of the weights 1 and w (truncations' high parts), out
   * also one of the terms */
  const u128 w2s[] = {3, p - 3, ((u128)1 << 52) - 1, (u128)1 << 52, ((u128)1 << 63) + 5,
                      p - ((u128)1 << 60), (u128)1 << 70, p - ((u128)1 << 70),
                      (u128)1 << 126, next128() % p, 0};
  for (size_t k = 0; k < sizeof w2s / sizeof w2s[0]; k++) {
    uint64_t w[4];
    cc_field128_set(w, 0, 1);
    cc_field128_set(w, 1, w2s[k]);
    for (size_t l = 0; l < sizeof simd_lengths / sizeof simd_lengths[0]; l++) {
      size_t n = simd_lengths[l];
      _cc_field128_simd(0);
      cc_field128_lincomb_arrays(f, outs, w, arr + 1, 2, n);
      _cc_field128_simd(1);
      cc_field128_lincomb_arrays(f, outv, w, arr + 1, 2, n);
      CHECK(cc_field128_equal(outs, outv, n));
    }
    uint64_t *copy = malloc(2 * 2 * NV * sizeof *copy);
    CHECK(copy != NULL);
    for (size_t t = 0; t < 2; t++) {
      memcpy(copy, arr[1], 2 * 2 * NV * sizeof *copy);
      const uint64_t *cp[2] = {copy, copy + 2 * NV};
      cc_field128_lincomb_arrays(f, copy + 2 * t * NV, w, cp, 2, NV);
      CHECK(cc_field128_equal(copy + 2 * t * NV, outs, NV));
    }
    free(copy);
  }

  /* sums of 2 to 5 terms of the weights 1, or 1 then -1 */
  for (size_t r = 2; r <= 5; r++) {
    for (int minus = 0; minus < 2; minus++) {
      uint64_t w[10];
      for (size_t j = 0; j < r; j++) cc_field128_set(w, j, minus && j > 0 ? p - 1 : 1);
      for (size_t l = 0; l < sizeof simd_lengths / sizeof simd_lengths[0]; l++) {
        size_t n = simd_lengths[l];
        _cc_field128_simd(0);
        cc_field128_lincomb_arrays(f, outs, w, arr, r, n);
        _cc_field128_simd(1);
        cc_field128_lincomb_arrays(f, outv, w, arr, r, n);
        CHECK(cc_field128_equal(outs, outv, n));
      }
      uint64_t *copy = malloc(2 * r * NV * sizeof *copy);
      CHECK(copy != NULL);
      memcpy(copy, x, 2 * r * NV * sizeof *copy);
      const uint64_t *cp[5];
      for (size_t j = 0; j < r; j++) cp[j] = copy + 2 * j * NV;
      cc_field128_lincomb_arrays(f, copy + 2 * (r - 1) * NV, w, cp, r, NV);
      CHECK(cc_field128_equal(copy + 2 * (r - 1) * NV, outs, NV));
      free(copy);
    }
  }

  /* the unmask of a product among 3 players: weights 1, 1, c, c */
  const u128 cw[] = {1, 3, ((u128)1 << 52) - 1, (u128)1 << 52, ((u128)1 << 63) - 1};
  const u128 wrong[] = {p, p + 1, (u128)1 << 127, ~(u128)0};
  for (size_t ci = 0; ci < sizeof cw / sizeof cw[0]; ci++) {
    uint64_t v4[8];
    for (size_t j = 0; j < 4; j++) cc_field128_set(v4, j, (j + ci) % 2 ? cw[ci] : 1);
    const uint64_t *y4[4] = {arr[3], arr[4], arr[5], arr[6]};
    static const unsigned shifts[] = {0, 1, 16, 52, 63, 64, 65, 100, 126, 127};
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
      unsigned bits = shifts[k];
      u128 s = k % 2 ? p - 1 : next128() % p;
      for (size_t l = 0; l < sizeof simd_lengths / sizeof simd_lengths[0]; l++) {
        size_t n = simd_lengths[l];
        _cc_field128_simd(0);
        CHECK(cc_field128_unmask_sum(f, outs, arr, 3, bits, s, v4, y4, 4, n) == 1);
        _cc_field128_simd(1);
        CHECK(cc_field128_unmask_sum(f, outv, arr, 3, bits, s, v4, y4, 4, n) == 1);
        CHECK(cc_field128_equal(outs, outv, n));
      }
    }
    /* as received bytes at each offset, with wrong values in some runs */
    for (size_t off = 0; off < 8; off++) {
      const uint8_t *cb[3];
      for (size_t j = 0; j < 3; j++) {
        memcpy(raw + off + 16 * NV * j, arr[j], 16 * NV);
        cb[j] = raw + off + 16 * NV * j;
      }
      for (size_t e = 0; e <= sizeof wrong / sizeof wrong[0]; e++) {
        size_t n = simd_lengths[(off + e + ci) % (sizeof simd_lengths / sizeof simd_lengths[0])];
        uint8_t *at = NULL, keep[16];
        if (e < sizeof wrong / sizeof wrong[0] && n > 0) {
          /* in the vector part or the scalar tail, by turns */
          size_t i = (e + off) % 2 ? n - 1 : (n / 8 > 0 ? (e * 7 + off) % (n & ~(size_t)7) : 0);
          uint64_t words[2] = {(uint64_t)wrong[e], (uint64_t)(wrong[e] >> 64)};
          at = raw + off + 16 * NV * ((e + off) % 3) + 16 * i;
          memcpy(keep, at, 16);
          memcpy(at, words, 16);
        }
        int bads = -1, badv = -1;
        unsigned bits = (unsigned)(off * 17 + e * 5) % 128;
        _cc_field128_simd(0);
        CHECK(cc_field128_unmask_sum_le(f, outs, cb, 3, bits, 9, v4, y4, 4, n, &bads) == 1);
        _cc_field128_simd(1);
        CHECK(cc_field128_unmask_sum_le(f, outv, cb, 3, bits, 9, v4, y4, 4, n, &badv) == 1);
        CHECK(bads == (at != NULL) && badv == bads);
        CHECK(cc_field128_equal(outs, outv, n));
        if (at) memcpy(at, keep, 16);
      }
    }
  }
  { /* out is one of the shares or terms */
    uint64_t v4[8], *copy = malloc(2 * 7 * NV * sizeof *copy);
    CHECK(copy != NULL);
    for (size_t j = 0; j < 4; j++) cc_field128_set(v4, j, j % 2 ? 3 : 1);
    _cc_field128_simd(0);
    CHECK(cc_field128_unmask_sum(f, outs, arr, 3, 40, 11, v4, arr + 3, 4, NV) == 1);
    _cc_field128_simd(1);
    for (size_t t = 0; t < 7; t++) {
      memcpy(copy, x, 2 * 7 * NV * sizeof *copy);
      const uint64_t *cp[7];
      for (size_t j = 0; j < 7; j++) cp[j] = copy + 2 * j * NV;
      uint64_t *o = copy + 2 * t * NV;
      CHECK(cc_field128_unmask_sum(f, o, cp, 3, 40, 11, v4, cp + 3, 4, NV) == 1);
      CHECK(cc_field128_equal(o, outs, NV));
    }
    free(copy);
  }
  _cc_field128_simd(-1);
  free(x);
  free(outs);
  free(outv);
  free(raw);
}

int main(void) {
  test_primality();
  test_parse();
  test_known_answers();
  for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
    cc_field128 f;
    int before = failures;
    if (setup(&f, &orders[i]) != 0) continue;
    test_elementwise(&f);
    test_conversions(&f);
    test_carries(&f);
    test_lincomb(&f);
    test_lincomb_classes(&f);
    test_unmask_sum(&f);
    test_mul_signed_sum(&f);
    test_simd_paths(&f);
    test_lagrange(&f);
    test_shamir(&f);
    test_against_field64(&f);
    test_bitlt_pairs(&f);
    test_xor_group(&f);
    test_xor_group_rng(&f);
    if (failures != before) fprintf(stderr, "(failures above: order %s)\n", orders[i].name);
  }
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all field128 checks passed\n");
  return 0;
}
