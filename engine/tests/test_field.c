/*
 * test_field.c - unit tests of the GF(p) kernels (field.c) and the random
 * streams (random.c) against values computed independently with Python's
 * big integers (pow(x, e, p) and friends), for the default order 2^64 - 59,
 * the other folding order 2^64 - 2^32 + 1, and orders that take the
 * Montgomery path (2^61 - 1, the first prime above 2^63, 2^31 - 1, 7).
 * Also the sharing step of shamir.c and the shared checks of check.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/field.h"
#include "core/random.h"
#include "core/shamir.h"
#include "core/simd.h"
#include "core/wire.h"
#include "check.h"

#define CHECK_EQ(a, b)                                                     \
  do {                                                                     \
    unsigned long long a_ = (a), b_ = (b);                                 \
    if (a_ != b_) {                                                        \
      fprintf(stderr, "%s:%d: %s == %llu, expected %llu\n", __FILE__,     \
              __LINE__, #a, a_, b_);                                       \
      failures++;                                                          \
    }                                                                      \
  } while (0)

/* ==== Primality ========================================================= */

static void test_primality(void) {
  static const struct { uint64_t n; int prime; } cases[] = {
    {0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 0}, {7, 1}, {9, 0}, {37, 1},
    {41, 1}, {561, 0}, {1105, 0}, {1729, 0}, {2465, 0}, {2821, 0},
    {6601, 0}, {8911, 0},                       /* Carmichael numbers */
    {UINT64_C(2147483647), 1},                  /* 2^31 - 1 */
    {UINT64_C(3215031751), 0},                  /* spsp to bases 2, 3, 5, 7 */
    {UINT64_C(2305843009213693951), 1},         /* 2^61 - 1 */
    {UINT64_C(3825123056546413051), 0},         /* spsp to bases 2..23 */
    {UINT64_C(9223372036854775837), 1},         /* first prime above 2^63 */
    {UINT64_C(18446743979220271189), 0},        /* (2^32-5)(2^32-17) */
    {UINT64_C(18446744069414584321), 1},        /* 2^64 - 2^32 + 1 */
    {UINT64_C(18446744073709551557), 1},        /* 2^64 - 59 */
    {UINT64_C(18446744073709551559), 0},        /* 2^64 - 57 */
    {UINT64_C(18446744073709551615), 0},        /* 2^64 - 1 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[128] = "";
    if (cc_field_is_prime(cases[i].n) != cases[i].prime)
      fprintf(stderr, "primality of %llu wrong\n", (unsigned long long)cases[i].n);
    CHECK(cc_field_is_prime(cases[i].n) == cases[i].prime);
    CHECK((cc_field_check_order(cases[i].n, err, sizeof err) == 0) == cases[i].prime);
    CHECK(cases[i].prime ? err[0] == 0 : strstr(err, "not") != NULL);
  }
  char err[128];
  CHECK(cc_field_check_order(561, err, sizeof err) == -1);
  CHECK(strcmp(err, "field order 561 is not prime") == 0);
  CHECK(cc_field_check_order(1, err, sizeof err) == -1);
  CHECK(strcmp(err, "field order 1 is not a prime >= 2") == 0);
  CHECK(cc_field_check_order(4, NULL, 0) == -1);
}

/* ==== Kernels against Python ============================================ */

struct vector {
  uint64_t p, a[4], b[4], mul[4], add[4], sub[4], dot, sum, e, pow[4];
};

static const struct vector vectors[] = {
  {UINT64_C(18446744073709551557),
   {UINT64_C(18446744073709551556), UINT64_C(14799178230035213023), UINT64_C(1164115433906158532), UINT64_C(2175216119781798972)},
   {UINT64_C(18446744073709551556), UINT64_C(8711387064946514083), UINT64_C(7002664860023442459), UINT64_C(3872982626502034966)},
   {UINT64_C(1), UINT64_C(12257927623857476479), UINT64_C(16224788405419772590), UINT64_C(12451616646118046273)},
   {UINT64_C(18446744073709551555), UINT64_C(5063821221272175549), UINT64_C(8166780293929600991), UINT64_C(6048198746283833938)},
   {UINT64_C(0), UINT64_C(6087791165088698940), UINT64_C(12608194647592267630), UINT64_C(16748977566989315563)},
   UINT64_C(4040844527976192229), UINT64_C(18138509783723170526), UINT64_C(8999366892653588108),
   {UINT64_C(1), UINT64_C(12065942173234020484), UINT64_C(15196676970568211627), UINT64_C(9861102539415283305)}},
  {UINT64_C(2305843009213693951),
   {UINT64_C(2305843009213693950), UINT64_C(997892909385286285), UINT64_C(1757698188627742326), UINT64_C(4856219737289049)},
   {UINT64_C(2305843009213693950), UINT64_C(1663758039694327107), UINT64_C(527489770566483509), UINT64_C(2179645825940313281)},
   {UINT64_C(1), UINT64_C(1730393856303182970), UINT64_C(682934376809297323), UINT64_C(54842884019810634)},
   {UINT64_C(2305843009213693949), UINT64_C(355807939865919441), UINT64_C(2285187959194225835), UINT64_C(2184502045677602330)},
   {UINT64_C(0), UINT64_C(1639977878904653129), UINT64_C(1230208418061258817), UINT64_C(131053403010669719)},
   UINT64_C(162328107918596977), UINT64_C(454604308536623708), UINT64_C(16628401675759750943),
   {UINT64_C(2305843009213693950), UINT64_C(1421325906805476546), UINT64_C(985611218693440200), UINT64_C(104147531676227542)}},
  {UINT64_C(9223372036854775837),
   {UINT64_C(9223372036854775836), UINT64_C(169801152120619550), UINT64_C(6377047045578648633), UINT64_C(7677164818041690485)},
   {UINT64_C(9223372036854775836), UINT64_C(5467437777444762813), UINT64_C(3502109416845026634), UINT64_C(5241815115701522205)},
   {UINT64_C(1), UINT64_C(1755168650216457617), UINT64_C(1834301941828703037), UINT64_C(9024405866433839336)},
   {UINT64_C(9223372036854775835), UINT64_C(5637238929565382363), UINT64_C(655784425568899430), UINT64_C(3695607896888436853)},
   {UINT64_C(0), UINT64_C(3925735411530632574), UINT64_C(2874937628733621999), UINT64_C(2435349702340168280)},
   UINT64_C(3390504421624224154), UINT64_C(5000640978886182830), UINT64_C(636889189181363272),
   {UINT64_C(1), UINT64_C(4599533871125990989), UINT64_C(5865694897022646188), UINT64_C(7892478691439695824)}},
  {UINT64_C(7),
   {UINT64_C(6), UINT64_C(5), UINT64_C(6), UINT64_C(0)},
   {UINT64_C(6), UINT64_C(5), UINT64_C(1), UINT64_C(2)},
   {UINT64_C(1), UINT64_C(4), UINT64_C(6), UINT64_C(0)},
   {UINT64_C(5), UINT64_C(3), UINT64_C(0), UINT64_C(2)},
   {UINT64_C(0), UINT64_C(0), UINT64_C(5), UINT64_C(5)},
   UINT64_C(4), UINT64_C(3), UINT64_C(1595045547040606607),
   {UINT64_C(6), UINT64_C(3), UINT64_C(6), UINT64_C(0)}},
  {UINT64_C(2147483647),
   {UINT64_C(2147483646), UINT64_C(1091837578), UINT64_C(231780618), UINT64_C(1671692785)},
   {UINT64_C(2147483646), UINT64_C(1118706722), UINT64_C(1803782207), UINT64_C(844508892)},
   {UINT64_C(1), UINT64_C(1337330618), UINT64_C(371296190), UINT64_C(2037391497)},
   {UINT64_C(2147483645), UINT64_C(63060653), UINT64_C(2035562825), UINT64_C(368718030)},
   {UINT64_C(0), UINT64_C(2120614503), UINT64_C(575482058), UINT64_C(827183893)},
   UINT64_C(1598534659), UINT64_C(847827333), UINT64_C(8657428560074652038),
   {UINT64_C(1), UINT64_C(82001558), UINT64_C(274171001), UINT64_C(810603927)}},
  {UINT64_C(18446744069414584321),
   {UINT64_C(18446744069414584320), UINT64_C(18136612232734853794), UINT64_C(10942308442020527141), UINT64_C(7260632608529405453)},
   {UINT64_C(18446744069414584320), UINT64_C(9264666206804705008), UINT64_C(18116116508690649287), UINT64_C(14213643260515463757)},
   {UINT64_C(1), UINT64_C(12545477418621514170), UINT64_C(8847143573580794278), UINT64_C(15013115947118925200)},
   {UINT64_C(18446744069414584319), UINT64_C(8954534370124974481), UINT64_C(10611680881296592107), UINT64_C(3027531799630284889)},
   {UINT64_C(0), UINT64_C(8871946025930148786), UINT64_C(11272936002744462175), UINT64_C(11493733417428526017)},
   UINT64_C(17958992869906649328), UINT64_C(17892809213870202066), UINT64_C(10115059443641873252),
   {UINT64_C(1), UINT64_C(11387015972380402300), UINT64_C(3213579068970469049), UINT64_C(17806044542264175733)}}
};

static void test_vector(const struct vector *v) {
  cc_field f;
  uint64_t out[4], tmp[4], inv[4];
  CHECK(cc_field_init(&f, v->p, NULL, 0) == 0);
  cc_field_mul(&f, out, v->a, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->mul[i]);
  cc_field_add(&f, out, v->a, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->add[i]);
  cc_field_sub(&f, out, v->a, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->sub[i]);
  CHECK_EQ(cc_field_dot(&f, v->a, v->b, 4), v->dot);
  CHECK_EQ(cc_field_sum(&f, v->a, 4), v->sum);
  cc_field_pow(&f, out, v->a, v->e, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->pow[i]);

  /* Aliasing: out == a. */
  memcpy(out, v->a, sizeof out);
  cc_field_mul(&f, out, out, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->mul[i]);
  memcpy(out, v->a, sizeof out);
  cc_field_sub(&f, out, out, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->sub[i]);

  /* Scalar forms agree with the element-wise ones. */
  for (int i = 0; i < 4; i++) {
    cc_field_mul_scalar(&f, tmp, v->a, v->b[i], 4);
    cc_field_mul1(&f, v->a[i], v->b[i]);
    CHECK_EQ(tmp[i], v->mul[i]);
    CHECK_EQ(cc_field_mul1(&f, v->a[i], v->b[i]), v->mul[i]);
    cc_field_add_scalar(&f, tmp, v->a, v->b[i], 4);
    CHECK_EQ(tmp[i], v->add[i]);
    cc_field_sub_scalar(&f, tmp, v->a, v->b[i], 4);
    CHECK_EQ(tmp[i], v->sub[i]);
    cc_field_rsub_scalar(&f, tmp, v->a[i], v->b, 4);
    CHECK_EQ(tmp[i], v->sub[i]);
  }
  cc_field_neg(&f, tmp, v->b, 4);
  cc_field_add(&f, tmp, v->a, tmp, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(tmp[i], v->sub[i]);

  /* Batch inverse against Fermat, and a zero reported by its index. */
  size_t zero = 99;
  int has_zero = 0;
  for (int i = 0; i < 4; i++) has_zero |= v->a[i] == 0;
  if (has_zero) {
    CHECK(cc_field_inv(&f, inv, v->a, 4, &zero) == CC_FIELD_EZERO);
    CHECK(v->a[zero] == 0);
  } else {
    CHECK(cc_field_inv(&f, inv, v->a, 4, &zero) == CC_FIELD_OK);
    for (int i = 0; i < 4; i++) {
      CHECK_EQ(inv[i], cc_field_pow1(&f, v->a[i], v->p - 2));
      CHECK_EQ(cc_field_mul1(&f, inv[i], v->a[i]), 1);
    }
    memcpy(out, v->a, sizeof out);
    CHECK(cc_field_inv(&f, out, out, 4, NULL) == CC_FIELD_OK);
    CHECK(cc_field_equal(out, inv, 4));
  }
  CHECK(v->a[0] == v->p - 1); /* (p-1)^2 = 1 */
  CHECK_EQ(v->mul[0], 1);

  /* axpy: out += w x, with the shortcut for w == 1. */
  memcpy(out, v->a, sizeof out);
  cc_field_axpy(&f, out, 1, v->b, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], v->add[i]);
  memset(out, 0, sizeof out);
  cc_field_axpy(&f, out, v->b[2], v->a, 4);
  CHECK_EQ(out[2], v->mul[2]);
  cc_field_axpy(&f, out, 0, v->a, 4);
  CHECK_EQ(out[2], v->mul[2]);

  /* matvec: a as a 1 x 4 matrix is a dot product; as a 4 x 1 matrix it
   * scales by the single element of x. */
  cc_field_matvec(&f, out, v->a, v->b, 1, 4);
  CHECK_EQ(out[0], v->dot);
  cc_field_matvec(&f, out, v->a, v->b + 1, 4, 1);
  cc_field_mul_scalar(&f, tmp, v->a, v->b[1], 4);
  for (int i = 0; i < 4; i++) CHECK_EQ(out[i], tmp[i]);
}

static void test_bits_and_shifts(void) {
  cc_field f;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  /* Rows of bits, most significant first. */
  static const uint64_t bits[3 * 4] = {1, 0, 1, 1,  0, 0, 0, 0,  1, 1, 1, 1};
  uint64_t out[4];
  cc_field_bit_compose(&f, out, bits, 3, 4);
  CHECK_EQ(out[0], 11);
  CHECK_EQ(out[1], 0);
  CHECK_EQ(out[2], 15);
  cc_field_bit_compose(&f, out, bits, 1, 12); /* 1011 0000 1111 */
  CHECK_EQ(out[0], 0xB0F);
  cc_field_setup(&f, 7);
  cc_field_bit_compose(&f, out, bits + 8, 1, 4); /* 15 mod 7 */
  CHECK_EQ(out[0], 1);
  /* 63 ones in GF(2^64 - 59): 2^63 - 1 stays below p. */
  uint64_t ones[63];
  for (int i = 0; i < 63; i++) ones[i] = 1;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  cc_field_bit_compose(&f, out, ones, 1, 63);
  CHECK_EQ(out[0], UINT64_C(0x7FFFFFFFFFFFFFFF));

  uint64_t a[4] = {0, 65535, 65536, UINT64_C(18446744073709551556)};
  cc_field_shift_right(out, a, 16, 4);
  CHECK_EQ(out[0], 0);
  CHECK_EQ(out[1], 0);
  CHECK_EQ(out[2], 1);
  CHECK_EQ(out[3], UINT64_C(18446744073709551556) >> 16);
  cc_field_shift_right(a, a, 0, 4); /* in place, no change */
  CHECK_EQ(a[1], 65535);

  /* Transpose a 2 x 3 matrix of one-word elements, and a 40 x 33 one of
   * two-word elements (more than one block each way). */
  uint64_t m23[6] = {1, 2, 3, 4, 5, 6}, m32[6];
  cc_field_transpose(m32, m23, 2, 3, 1);
  CHECK_EQ(m32[0], 1);
  CHECK_EQ(m32[1], 4);
  CHECK_EQ(m32[2], 2);
  CHECK_EQ(m32[5], 6);
  enum { R = 40, C = 33 };
  static uint64_t big[R * C * 2], bigt[R * C * 2];
  for (size_t i = 0; i < R * C * 2; i++) big[i] = i;
  cc_field_transpose(bigt, big, R, C, 2);
  for (size_t i = 0; i < R; i++)
    for (size_t j = 0; j < C; j++)
      for (size_t w = 0; w < 2; w++)
        CHECK_EQ(bigt[(j * R + i) * 2 + w], big[(i * C + j) * 2 + w]);
}

static void test_kernels(void) {
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
    test_vector(&vectors[i]);
}

static void test_kinds_and_conversion(void) {
  cc_field f;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  CHECK(f.kind == CC_FIELD_FOLD && f.c == 59 && f.bits == 64);
  cc_field_setup(&f, UINT64_C(2305843009213693951));
  CHECK(f.kind == CC_FIELD_MONT && f.bits == 61);
  cc_field_setup(&f, 2);
  CHECK(f.kind == CC_FIELD_PLAIN);
  uint64_t x[3] = {1, 1, 0}, y[3];
  cc_field_mul(&f, y, x, x, 3);
  CHECK(y[0] == 1 && y[2] == 0);
  CHECK_EQ(cc_field_pow1(&f, 1, 0), 1);

  int64_t s[5] = {-1, 0, 5, INT64_MIN, INT64_MAX};
  uint64_t out[5];
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  cc_field_from_i64(&f, out, s, 5);
  CHECK_EQ(out[0], UINT64_C(18446744073709551556));
  CHECK_EQ(out[1], 0);
  CHECK_EQ(out[2], 5);
  CHECK_EQ(out[3], UINT64_C(9223372036854775749)); /* p - 2^63 */
  CHECK_EQ(out[4], UINT64_C(9223372036854775807));
  cc_field_setup(&f, 7);
  cc_field_from_i64(&f, out, s, 5);
  CHECK_EQ(out[0], 6);
  CHECK_EQ(out[2], 5);
  CHECK_EQ(out[3], 6); /* -2^63 mod 7 = 6 */
  CHECK_EQ(out[4], 0); /* 2^63 = 8^21 = 1 mod 7 */
  int64_t m8 = -8;
  cc_field_from_i64(&f, out, &m8, 1);
  CHECK_EQ(out[0], 6);
  uint64_t raw[2] = {7, 15};
  cc_field_reduce(&f, out, raw, 2);
  CHECK(out[0] == 0 && out[1] == 1);
  CHECK_EQ(cc_field_first_noncanonical(&f, raw, 2), 0);
  CHECK_EQ(cc_field_first_noncanonical(&f, out, 2), 2);
  CHECK_EQ(cc_field_pow1(&f, 0, 0), 1);
}

/* ==== Lagrange and Shamir =============================================== */

static const uint64_t orders[] = {
  UINT64_C(18446744073709551557), UINT64_C(18446744069414584321),
  UINT64_C(2305843009213693951), UINT64_C(9223372036854775837),
  UINT64_C(2147483647), 7};

static void test_lagrange(void) {
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    uint64_t x[3] = {1, 2, 3}, lambda[3];
    CHECK(cc_field_lagrange0(&f, lambda, x, 3, NULL, 0) == 0);
    /* Points 1, 2, 3 give weights 3, -3, 1 at 0. */
    CHECK_EQ(lambda[0], 3 % f.p);
    CHECK_EQ(lambda[1], f.p - 3 % f.p);
    CHECK_EQ(lambda[2], 1);
    /* f(x) = 5 + 3x + 2x^2: values 10, 19, 32 at 1, 2, 3. */
    uint64_t y[3] = {10 % f.p, 19 % f.p, 32 % f.p}, s;
    CHECK(cc_field_shamir_recover(&f, &s, y, 1, x, 3, NULL, 0) == 0);
    CHECK_EQ(s, 5 % f.p);
  }
  cc_field f;
  char err[128];
  uint64_t lambda[3];
  cc_field_setup(&f, 7);
  uint64_t dup[3] = {1, 2, 9}; /* 9 = 2 mod 7 */
  CHECK(cc_field_lagrange0(&f, lambda, dup, 3, err, sizeof err) == CC_FIELD_EINVAL);
  CHECK(strcmp(err, "indices 2 and 3 are the same (2)") == 0);
  uint64_t zero[2] = {3, 14};
  CHECK(cc_field_lagrange0(&f, lambda, zero, 2, err, sizeof err) == CC_FIELD_EINVAL);
  CHECK(strcmp(err, "index 2 is zero modulo the field order") == 0);
}

static void test_shamir_known(void) {
  /* Secret {5, 7}, coefficients {3, 1} (degree 1) and {2, 4} (degree 2):
   * f0 = 5 + 3x + 2x^2, f1 = 7 + x + 4x^2 at x = 1, 2, 3, 4. */
  cc_field f;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  uint64_t secret[2] = {5, 7}, coeffs[4] = {3, 1, 2, 4}, x[4] = {1, 2, 3, 4};
  uint64_t shares[8], out[2];
  static const uint64_t expect[8] = {10, 12, 19, 25, 32, 46, 49, 75};
  CHECK(cc_field_shamir_share(&f, shares, secret, 2, coeffs, 3, x, 4, NULL, 0) == 0);
  for (int i = 0; i < 8; i++) CHECK_EQ(shares[i], expect[i]);
  /* Any three rows recover; rows 1, 3, 4 (players with x = 2, 4, 1). */
  uint64_t sub[6] = {19, 25, 49, 75, 10, 12}, xs[3] = {2, 4, 1};
  CHECK(cc_field_shamir_recover(&f, out, sub, 2, xs, 3, NULL, 0) == 0);
  CHECK(out[0] == 5 && out[1] == 7);
  /* Two rows are not enough for degree 2: the result is some other value. */
  CHECK(cc_field_shamir_recover(&f, out, shares, 2, x, 2, NULL, 0) == 0);
  CHECK(!(out[0] == 5 && out[1] == 7));

  char err[128];
  CHECK(cc_field_shamir_share(&f, shares, secret, 2, coeffs, 5, x, 4, err, sizeof err) == CC_FIELD_EINVAL);
  CHECK(strcmp(err, "threshold 5 out of range [1, 4]") == 0);
  CHECK(cc_field_shamir_share(&f, shares, secret, 2, coeffs, 0, x, 4, err, sizeof err) == CC_FIELD_EINVAL);
  uint64_t bad[4] = {1, 2, 2, 4};
  CHECK(cc_field_shamir_share(&f, shares, secret, 2, coeffs, 3, bad, 4, err, sizeof err) == CC_FIELD_EINVAL);
  CHECK(strcmp(err, "indices 2 and 3 are the same (2)") == 0);
  CHECK(cc_field_shamir_recover(&f, out, shares, 2, x, 0, err, sizeof err) == CC_FIELD_EINVAL);
}

static void test_shamir_random(void) {
  enum { N = 1000, M = 5 };
  static uint64_t secret[N], coeffs[(M - 1) * N], shares[M * N], out[N];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "shamir", 6) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    uint64_t x[M] = {3, 1, 4, 5, 2}; /* any order */
    if (f.p == 7) x[3] = 6;
    for (size_t k = 1; k <= M; k++) {
      CHECK(cc_rng_uniform_mod(&rng, f.p, secret, N) == 0);
      CHECK(cc_rng_uniform_mod(&rng, f.p, coeffs, (k - 1) * N) == 0);
      CHECK(cc_field_shamir_share(&f, shares, secret, N, coeffs, k, x, M, NULL, 0) == 0);
      /* The last k players suffice. */
      CHECK(cc_field_shamir_recover(&f, out, shares + (M - k) * N, N,
                                    x + (M - k), k, NULL, 0) == 0);
      CHECK(cc_field_equal(out, secret, N));
      CHECK(cc_field_shamir_recover(&f, out, shares, N, x, M, NULL, 0) == 0);
      CHECK(cc_field_equal(out, secret, N));
    }
  }
  cc_rng_free(&rng);
}

/* Past one block, cc_shamir_share draws each block's coefficient rows in
 * turn: the same seed drawn by hand block by block gives the same shares,
 * and any k of them recover the secret. */
static void test_shamir_blocks(void) {
  enum { M = 4, K = 3 };
  const size_t n = CC_SHAMIR_BLOCK + 100;
  uint64_t *secret = malloc(n * sizeof *secret), *want = malloc(M * n * sizeof *want);
  uint64_t *got = malloc(M * n * sizeof *got), *out = malloc(n * sizeof *out);
  uint64_t *coeffs = malloc((K - 1) * CC_SHAMIR_BLOCK * sizeof *coeffs);
  uint64_t *part = malloc(M * CC_SHAMIR_BLOCK * sizeof *part);
  uint64_t x[M] = {1, 2, 3, 4};
  cc_field f;
  cc_rng a, b;
  cc_error e;
  CHECK(secret && want && got && out && coeffs && part);
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  for (size_t i = 0; i < n; i++) secret[i] = i * 7919u;
  CHECK(cc_rng_init_seeded(&a, "blocks", 6) == 0);
  CHECK(cc_rng_init_seeded(&b, "blocks", 6) == 0);
  for (size_t i0 = 0; i0 < n; i0 += CC_SHAMIR_BLOCK) {
    size_t len = n - i0 < CC_SHAMIR_BLOCK ? n - i0 : CC_SHAMIR_BLOCK;
    CHECK(cc_rng_uniform_mod(&a, f.p, coeffs, (K - 1) * len) == 0);
    CHECK(cc_field_shamir_share(&f, part, secret + i0, len, coeffs, K, x, M, NULL, 0) == 0);
    for (size_t j = 0; j < M; j++) memcpy(want + j * n + i0, part + j * len, len * sizeof *part);
  }
  CHECK(cc_shamir_share(&f, &b, secret, n, K, x, M, got, NULL, &e) == CC_OK);
  CHECK(memcmp(want, got, M * n * sizeof *got) == 0);
  CHECK(cc_field_shamir_recover(&f, out, got + n, n, x + 1, K, NULL, 0) == 0);
  CHECK(cc_field_equal(out, secret, n));
  cc_rng_free(&a);
  cc_rng_free(&b);
  /* One row at a time, each from a stream in the same state. */
  for (size_t j = 0; j < M; j++) {
    CHECK(cc_rng_init_seeded(&a, "blocks", 6) == 0);
    CHECK(cc_shamir_share_row(&f, &a, secret, n, K, x, M, j, out, NULL, &e) == CC_OK);
    CHECK(cc_field_equal(out, want + j * n, n));
    cc_rng_free(&a);
  }
  CHECK(cc_rng_init_seeded(&a, "blocks", 6) == 0);
  CHECK(cc_shamir_share_row(&f, &a, secret, n, K, x, M, M, out, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "player 5 out of range [1, 4]") == 0);
  cc_rng_free(&a);
  free(secret); free(want); free(got); free(out); free(coeffs); free(part);
}

/* A row written in the wire's byte order (cc_shamir_share_row_wire and
 * its 128-bit form), at an odd address, over more than one block: the
 * words of cc_shamir_share_row's row from a stream in the same state, for
 * every player; a player out of range is refused. */
static void test_shamir_row_wire(void) {
  enum { M = 4, K = 3 };
  const size_t n = 2 * CC_SHAMIR_BLOCK + 100;
  uint64_t *secret = malloc(2 * n * sizeof *secret), *row = malloc(2 * n * sizeof *row);
  uint64_t *coeffs = malloc(2 * (K - 1) * CC_SHAMIR_BLOCK * sizeof *coeffs);
  uint64_t *block = malloc(2 * CC_SHAMIR_BLOCK * sizeof *block);
  uint8_t *bytes = malloc(1 + 16 * n), *want = malloc(16 * n);
  uint64_t x[M] = {1, 2, 3, 4}, x2[2 * M] = {1, 0, 2, 0, 3, 0, 4, 0};
  cc_field f;
  cc_field128 g;
  cc_rng a;
  cc_error e;
  CHECK(secret && row && coeffs && block && bytes && want);
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  cc_field128_setup(&g, CC_FIELD128_DEFAULT_ORDER_LO, CC_FIELD128_DEFAULT_ORDER_HI);
  for (size_t i = 0; i < 2 * n; i++) secret[i] = (i * 7919u) % ((uint64_t)1 << 62);
  for (int width = 1; width <= 2; width++) {
    for (size_t j = 0; j < M; j++) {
      CHECK(cc_rng_init_seeded(&a, "wire", 4) == 0);
      CHECK((width == 2 ? cc_shamir_share_row128(&g, &a, secret, n, K, x2, M, j, row, NULL, &e)
                        : cc_shamir_share_row(&f, &a, secret, n, K, x, M, j, row, NULL, &e)) ==
            CC_OK);
      cc_rng_free(&a);
      cc_wire_store_words(want, row, n * (size_t)width);
      CHECK(cc_rng_init_seeded(&a, "wire", 4) == 0);
      CHECK((width == 2
                 ? cc_shamir_share_row_wire128(&g, &a, secret, n, K, x2, M, j, bytes + 1, coeffs,
                                               block, &e)
                 : cc_shamir_share_row_wire(&f, &a, secret, n, K, x, M, j, bytes + 1, coeffs,
                                            block, &e)) == CC_OK);
      cc_rng_free(&a);
      CHECK(memcmp(bytes + 1, want, 8 * n * (size_t)width) == 0);
    }
  }
  CHECK(cc_rng_init_seeded(&a, "wire", 4) == 0);
  CHECK(cc_shamir_share_row_wire(&f, &a, secret, n, K, x, M, M, bytes, coeffs, block, &e) ==
        CC_EINVALID);
  CHECK(strcmp(e.message, "player 5 out of range [1, 4]") == 0);
  CHECK(cc_shamir_share_row_wire(&f, &a, secret, n, M + 1, x, M, 0, bytes, coeffs, block, &e) ==
        CC_EINVALID);
  CHECK(strcmp(e.message, "threshold 5 out of range [1, 4]") == 0);
  x[3] = 2;
  CHECK(cc_shamir_share_row_wire(&f, &a, secret, n, K, x, M, 0, bytes, coeffs, block, &e) ==
        CC_EINVALID);
  CHECK(strcmp(e.message, "indices 2 and 4 are the same (2)") == 0);
  cc_rng_free(&a);
  free(secret); free(row); free(coeffs); free(block); free(bytes); free(want);
}

/* cc_shamir_share draws its coefficients from the stream and shares with
 * the kernel: the same seed drawn by hand gives the same shares, and the
 * per-player form gives the same rows. */
static void test_shamir_core(void) {
  enum { N = 64, M = 4 };
  static uint64_t secret[N], coeffs[(M - 1) * N], want[M * N], got[M * N], rows[M][N];
  uint64_t *outs[M] = {rows[0], rows[1], rows[2], rows[3]};
  uint64_t x[M] = {1, 2, 3, 4};
  cc_field f;
  cc_rng a, b, c;
  cc_error e;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  for (size_t i = 0; i < N; i++) secret[i] = i * 1000003u;
  for (size_t k = 1; k <= M; k++) {
    CHECK(cc_rng_init_seeded(&a, "deal", 4) == 0);
    CHECK(cc_rng_init_seeded(&b, "deal", 4) == 0);
    CHECK(cc_rng_init_seeded(&c, "deal", 4) == 0);
    CHECK(cc_rng_uniform_mod(&a, f.p, coeffs, (k - 1) * N) == 0);
    CHECK(cc_field_shamir_share(&f, want, secret, N, coeffs, k, x, M, NULL, 0) == 0);
    CHECK(cc_shamir_share(&f, &b, secret, N, k, x, M, got, NULL, &e) == CC_OK);
    CHECK(memcmp(want, got, sizeof want) == 0);
    CHECK(cc_shamir_share_rows(&f, &c, secret, N, k, x, M, outs, NULL, &e) == CC_OK);
    for (size_t j = 0; j < M; j++) CHECK(memcmp(rows[j], want + j * N, sizeof rows[j]) == 0);
    cc_rng_free(&a);
    cc_rng_free(&b);
    cc_rng_free(&c);
  }
  CHECK(cc_rng_init_seeded(&a, "deal", 4) == 0);
  CHECK(cc_shamir_share(&f, &a, secret, N, 5, x, M, got, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "threshold 5 out of range [1, 4]") == 0);
  CHECK(cc_shamir_share(&f, &a, secret, N, 0, x, M, got, NULL, &e) == CC_EINVALID);
  x[3] = 1;
  CHECK(cc_shamir_share(&f, &a, secret, N, 2, x, M, got, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "indices 1 and 4 are the same (1)") == 0);
  cc_rng_free(&a);
}

/* The same for the 128-bit field 2^127 - 1: elements of two words. */
static void test_shamir_core128(void) {
  enum { N = 16, M = 4 };
  static uint64_t secret[2 * N], coeffs[2 * (M - 1) * N], want[2 * M * N], got[2 * M * N],
      rows[M][2 * N];
  uint64_t *outs[M] = {rows[0], rows[1], rows[2], rows[3]};
  uint64_t x[2 * M] = {1, 0, 2, 0, 3, 0, 4, 0};
  cc_field128 f;
  cc_rng a, b, c;
  cc_error e;
  cc_field128_setup(&f, CC_FIELD128_DEFAULT_ORDER_LO, CC_FIELD128_DEFAULT_ORDER_HI);
  for (size_t i = 0; i < N; i++) cc_field128_set(secret, i, f.p - 1 - i * 1000003u);
  for (size_t k = 1; k <= M; k++) {
    CHECK(cc_rng_init_seeded(&a, "deal", 4) == 0);
    CHECK(cc_rng_init_seeded(&b, "deal", 4) == 0);
    CHECK(cc_rng_init_seeded(&c, "deal", 4) == 0);
    CHECK(cc_rng_uniform_mod128(&a, CC_FIELD128_DEFAULT_ORDER_LO, CC_FIELD128_DEFAULT_ORDER_HI,
                                coeffs, (k - 1) * N) == 0);
    CHECK(cc_field128_shamir_share(&f, want, secret, N, coeffs, k, x, M, NULL, 0) == 0);
    CHECK(cc_shamir_share128(&f, &b, secret, N, k, x, M, got, NULL, &e) == CC_OK);
    CHECK(memcmp(want, got, sizeof want) == 0);
    CHECK(cc_shamir_share_rows128(&f, &c, secret, N, k, x, M, outs, NULL, &e) == CC_OK);
    for (size_t j = 0; j < M; j++)
      CHECK(memcmp(rows[j], want + 2 * j * N, sizeof rows[j]) == 0);
    /* Any k players recover the secret. */
    CHECK(cc_field128_shamir_recover(&f, got, want + 2 * (M - k) * N, N, x + 2 * (M - k), k,
                                     NULL, 0) == 0);
    CHECK(memcmp(got, secret, sizeof secret) == 0);
    cc_rng_free(&a);
    cc_rng_free(&b);
    cc_rng_free(&c);
  }
  CHECK(cc_rng_init_seeded(&a, "deal", 4) == 0);
  CHECK(cc_shamir_share128(&f, &a, secret, N, 5, x, M, got, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "threshold 5 out of range [1, 4]") == 0);
  x[6] = 1;
  CHECK(cc_shamir_share128(&f, &a, secret, N, 2, x, M, got, NULL, &e) == CC_EINVALID);
  CHECK(strstr(e.message, "indices 1 and 4 are the same") != NULL);
  cc_rng_free(&a);
}

/* ==== Shared checks ======================================================= */

static void test_checks(void) {
  cc_error e;
  int dup[3] = {0, 2, 0}, fine[3] = {2, 0, 1};
  CHECK(cc_check_world_size(1, &e) == CC_OK && cc_check_world_size(CC_MAX_WORLD_SIZE, &e) == CC_OK);
  CHECK(cc_check_world_size(0, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "world size 0 is below 1") == 0);
  CHECK(cc_check_world_size(2000, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "world size 2000 is above the limit of 1024 players") == 0);
  CHECK(cc_check_player_rank(2, 3, &e) == CC_OK);
  CHECK(cc_check_player_rank(3, 3, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "rank 3 is outside the world of 3 players [0, 3)") == 0);
  CHECK(cc_check_rank(4, 4, "destination", &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "destination rank 4 out of range [0, 4)") == 0 && e.peer == 4);
  CHECK(cc_check_rank(-1, 4, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "rank -1 out of range [0, 4)") == 0 && e.peer == -1);
  CHECK(cc_check_rank_list(fine, 3, 3, NULL, &e) == CC_OK);
  CHECK(cc_check_rank_list(dup, 3, 3, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "rank 0 listed twice") == 0);
  CHECK(cc_check_rank_list(fine, 3, 2, NULL, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "3 ranks listed for 2 players") == 0);
  CHECK(cc_check_user_tag(0, &e) == CC_OK && cc_check_user_tag(INT32_MAX, &e) == CC_OK);
  CHECK(cc_check_user_tag(-3, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "tag -3 is negative; negative tags belong to the library") == 0);
  CHECK(cc_check_user_tag((int64_t)INT32_MAX + 1, &e) == CC_EINVALID);
  CHECK(cc_check_heartbeat(0.5, 2, &e) == CC_OK);
  CHECK(cc_check_heartbeat(2, 2, &e) == CC_EINVALID && strstr(e.message, "interval < timeout"));
  CHECK(cc_check_heartbeat(0, 2, &e) == CC_EINVALID);
  CHECK(cc_check_positive("grace_s", 0, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "grace_s 0 must be positive") == 0);
  CHECK(cc_check_threshold(1, 3, &e) == CC_OK && cc_check_threshold(3, 3, &e) == CC_OK);
  CHECK(cc_check_threshold(0, 3, &e) == CC_EINVALID);
  CHECK(cc_check_threshold(4, 3, &e) == CC_EINVALID);
  CHECK(strcmp(e.message, "threshold 4 out of range [1, 3]") == 0);
  CHECK(cc_check_comm_live("world", 2, true, true, &e) == CC_OK);
  CHECK(cc_check_comm_live("world", 2, false, true, &e) == CC_ENOT_RUNNING);
  CHECK(strcmp(e.message, "Comm world was freed") == 0 && e.code == CC_ENOT_RUNNING);
  CHECK(cc_check_comm_live("world", 2, true, false, &e) == CC_ENOT_RUNNING);
  CHECK(strcmp(e.message, "Comm world: the engine of player 2 was stopped") == 0);
  CHECK(cc_check_engine_live(1, false, &e) == CC_ENOT_RUNNING);
  CHECK(strcmp(e.message, "the engine of player 1 was stopped") == 0);
  CHECK(cc_check_engine_live(1, true, NULL) == CC_OK);
}

/* lincomb over separate arrays (lazy reduction for the folding orders)
 * against axpy one term at a time, with random values and with the largest
 * words (p - 1 times p - 1, 100 terms) that stress the 128-bit sum and its
 * carries; every unrolled term count (2 to 8) and the general loop. */
static void test_lincomb_arrays(void) {
  enum { N = 257, R = 100 };
  static uint64_t xs[R][N], w[R], want[N], got[N];
  const uint64_t *ptrs[R];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "lincomb", 7) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    for (int extreme = 0; extreme <= 1; extreme++) {
      for (size_t j = 0; j < R; j++) {
        if (extreme) {
          for (size_t i = 0; i < N; i++) xs[j][i] = f.p - 1;
          w[j] = f.p - 1;
        } else {
          CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, &w[j], 1) == 0);
        }
        ptrs[j] = xs[j];
      }
      static const size_t counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 34, R};
      for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t r = counts[c];
        memset(want, 0, sizeof want);
        for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], N);
        cc_field_lincomb_arrays(&f, got, w, ptrs, r, N);
        CHECK(cc_field_equal(got, want, N));
      }
    }
    /* (p-1)^2 = 1, so 100 such terms sum to 100 mod p. */
    if (f.p > 100) CHECK_EQ(got[0], 100 % f.p);
    /* out may be any of the arrays, not only the first. */
    for (size_t r = 2; r <= 9; r++) {
      for (size_t at = 0; at < r; at++) {
        static uint64_t copy[9][N];
        const uint64_t *cp[9];
        for (size_t j = 0; j < r; j++) {
          memcpy(copy[j], xs[j], sizeof copy[j]);
          cp[j] = copy[j];
        }
        memset(want, 0, sizeof want);
        for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], N);
        cc_field_lincomb_arrays(&f, copy[at], w, cp, r, N);
        CHECK(cc_field_equal(copy[at], want, N));
      }
    }
  }
  cc_rng_free(&rng);
}

/* lincomb over little-endian words at any alignment, read in place
 * (cc_field_lincomb_le), against lincomb_arrays of the same values: every
 * kind of field (and p = 2), term counts of the unrolled loops and past
 * them, random and extreme words, random weights and small ones of either
 * sign (the Lagrange weights of the indices 1..4, +-(2^32 - 1), 2^32),
 * two weights that add up to 1,
 * byte offsets 0 to 7, lengths that end mid-way a prefetch stride; a word
 * at or above p anywhere (p itself, 2^64 - 1) is refused. */
static void put_le(uint8_t *b, uint64_t v) {
  for (int k = 0; k < 8; k++) b[k] = (uint8_t)(v >> (8 * k));
}

static void test_lincomb_le(void) {
  enum { N = 301, R = 10 };
  static uint64_t xs[R][N], w[R], want[N], got[N];
  static uint8_t bytes[R][8 * N + 8];
  const uint64_t *ptrs[R];
  const uint8_t *at[R];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "lincomb_le", 10) == 0);
  static const uint64_t two[] = {2};
  for (size_t o = 0; o <= sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, o < sizeof orders / sizeof orders[0] ? orders[o] : two[0]);
    for (int extreme = 0; extreme <= 4; extreme++) {
      for (size_t j = 0; j < R; j++) {
        size_t off = (j * 3 + (size_t)extreme) % 8;
        if (extreme == 4) {
          /* the first two weights add up to 1, as a reveal's from two
           * shares do; words random, p - 1 and 0 */
          CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
          for (size_t i = 0; i < N; i += 5) xs[j][i] = f.p - 1;
          for (size_t i = 1 + j; i < N; i += 7) xs[j][i] = 0;
          CHECK(cc_rng_uniform_mod(&rng, f.p, &w[j], 1) == 0);
          if (j == 1) w[1] = w[0] <= 1 % f.p ? 1 % f.p - w[0] : f.p - (w[0] - 1);
        } else if (extreme == 1) {
          for (size_t i = 0; i < N; i++) xs[j][i] = f.p - 1 - (i % 2);
          w[j] = f.p - 1;
        } else if (extreme >= 2) {
          /* 4, -6, 4, -1 (the weights of 1..4), 0, +-(2^32 - 1); with
           * extreme 3 the second is 2^32 */
          static const int64_t small[R] = {4, -6, 4, -1, 0, 4294967295, -4294967295, 1, 7, -2};
          int64_t v = extreme == 3 && j == 1 ? INT64_C(4294967296) : small[j];
          if (j < 4 || extreme == 2) {
            for (size_t i = 0; i < N; i++) xs[j][i] = f.p - 1 - (i % 3) % f.p;
          } else {
            CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
          }
          w[j] = cc_field_from_i64_1(&f, v);
        } else {
          CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, &w[j], 1) == 0);
        }
        for (size_t i = 0; i < N; i++) put_le(bytes[j] + off + 8 * i, xs[j][i]);
        ptrs[j] = xs[j];
        at[j] = bytes[j] + off;
      }
      for (size_t r = 0; r <= R; r++) {
        static const size_t lengths[] = {0, 1, 7, 8, 9, 130, N};
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
          size_t n = lengths[l];
          memset(got, 0xab, sizeof got);
          CHECK(cc_field_lincomb_le(&f, got, w, at, r, n) == 0);
          cc_field_lincomb_arrays(&f, want, w, ptrs, r, n);
          CHECK(cc_field_equal(got, want, n));
          CHECK(n == N || got[n] == UINT64_C(0xabababababababab));
        }
      }
    }
    /* a bad word in any row, at the start, the middle or the end */
    static const size_t places[] = {0, 150, N - 1};
    for (size_t r = 1; r <= R; r++) {
      for (size_t pl = 0; pl < 3; pl++) {
        size_t j = (r + pl) % r, i = places[pl];
        uint8_t *b = (uint8_t *)at[j] + 8 * i;
        put_le(b, pl == 1 ? UINT64_MAX : f.p);
        CHECK(cc_field_lincomb_le(&f, got, w, at, r, N) == -1);
        put_le(b, f.p - 1);
        CHECK(cc_field_lincomb_le(&f, got, w, at, r, N) == 0);
      }
    }
  }
  cc_rng_free(&rng);
}

/* The AVX-512 two-term kernel of cc_field_lincomb_le (weights that add up
 * to 1, as a reveal's from two shares) against the scalar loop, bit for
 * bit: 2^64 - 59, 2^64 - 4294967249 (the largest c the vectors take) and
 * 2^64 - 2^32 + 1 (scalar both ways), random words and p - 1, 0 and words
 * that make y - x borrow, weights 0, 1, p - 1 and random, byte offsets 0
 * to 7, lengths around the vector width; a word of p or 2^64 - 1 in
 * either share, in a vector or in the tail, is refused both ways. Skipped
 * (said so) on a CPU without AVX-512 F; CICADA_NO_SIMD turns it off. */
/* A family's switch: CICADA_NO_SIMD keeps the scalar code, a family
 * whose vector code was not compiled never runs it, and the CPU decides
 * the rest. */
static void test_simd_switch(void) {
  cc_simd_switch none = {-1, 0}, f = {-1, CC_SIMD_AVX512F};
  CHECK(cc_simd_on(&none) == 0);
  CHECK(_cc_simd_set(&none, 1) == 0);
  const char *was = getenv("CICADA_NO_SIMD");
  char *saved = was ? strdup(was) : NULL;
  setenv("CICADA_NO_SIMD", "1", 1);
  CHECK(_cc_simd_set(&f, -1) == 0);
  CHECK(cc_simd_on(&f) == 0);
  int cpu = _cc_simd_set(&f, 1); /* what the CPU has, the environment aside */
  CHECK(cc_simd_on(&f) == cpu);
  setenv("CICADA_NO_SIMD", "", 1); /* empty: not set */
  CHECK(_cc_simd_set(&f, -1) == cpu);
  cc_simd_switch fresh = {-1, CC_SIMD_AVX512F};
  CHECK(cc_simd_on(&fresh) == cpu);
  CHECK(_cc_simd_set(&f, 0) == 0 && cc_simd_on(&f) == 0);
  if (saved) {
    setenv("CICADA_NO_SIMD", saved, 1);
    free(saved);
  } else {
    unsetenv("CICADA_NO_SIMD");
  }
}

static void test_lincomb_le_simd(void) {
  setenv("CICADA_NO_SIMD", "1", 1);
  CHECK(_cc_field_lincomb_le_simd(-1) == 0);
  unsetenv("CICADA_NO_SIMD");
  CHECK(_cc_field_lincomb_le_simd(0) == 0);
  if (!_cc_field_lincomb_le_simd(1)) {
    printf("AVX-512 two-term kernel: skipped (this CPU has no AVX-512 F)\n");
    _cc_field_lincomb_le_simd(-1);
    return;
  }
  enum { N = 1001 };
  static const uint64_t folds[] = {UINT64_C(18446744073709551557),
                                   UINT64_C(18446744069414584367),
                                   UINT64_C(18446744069414584321)};
  static const size_t lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 64, 257, N};
  static uint64_t xs[2][N], want[N + 1], got[N + 1];
  static uint8_t bytes[2][8 * N + 8];
  const uint8_t *at[2];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "lincomb_le_simd", 15) == 0);
  for (size_t o = 0; o < sizeof folds / sizeof folds[0]; o++) {
    cc_field f;
    cc_field_setup(&f, folds[o]);
    CHECK(f.kind == CC_FIELD_FOLD);
    for (int kind = 0; kind < 6; kind++) {
      uint64_t w[2];
      CHECK(cc_rng_uniform_mod(&rng, f.p, &w[1], 1) == 0);
      if (kind == 1) w[1] = 0;
      if (kind == 2) w[1] = 1;
      if (kind == 3) w[1] = f.p - 1;
      w[0] = w[1] <= 1 ? 1 - w[1] : f.p - (w[1] - 1);
      for (size_t j = 0; j < 2; j++) {
        CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
        for (size_t i = 0; i < N; i++) {
          /* kind 4: p - 1 against 0 and 1 (every difference borrows or
           * is p - 1); kind 5: the largest words, mixed */
          if (kind == 4) xs[j][i] = j ? i % 3 : f.p - 1;
          if (kind == 5 && (i + j) % 3 != 0) xs[j][i] = f.p - 1 - (i % 5);
        }
      }
      for (size_t off = 0; off < 8; off++) {
        for (size_t j = 0; j < 2; j++) {
          at[j] = bytes[j] + (off + 5 * j) % 8;
          for (size_t i = 0; i < N; i++) put_le((uint8_t *)at[j] + 8 * i, xs[j][i]);
        }
        for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
          size_t n = lengths[l];
          memset(want, 0xab, sizeof want);
          memset(got, 0xab, sizeof got);
          _cc_field_lincomb_le_simd(0);
          CHECK(cc_field_lincomb_le(&f, want, w, at, 2, n) == 0);
          _cc_field_lincomb_le_simd(1);
          CHECK(cc_field_lincomb_le(&f, got, w, at, 2, n) == 0);
          CHECK(memcmp(got, want, sizeof got) == 0);
        }
      }
      /* bad words: in the first vector, the last one, the tail */
      static const size_t places[] = {0, 5, 991, 999, 1000};
      for (size_t pl = 0; pl < sizeof places / sizeof places[0]; pl++) {
        uint8_t *b = (uint8_t *)at[pl % 2] + 8 * places[pl];
        for (int simd = 0; simd <= 1; simd++) {
          _cc_field_lincomb_le_simd(simd);
          put_le(b, pl == 2 ? UINT64_MAX : f.p);
          CHECK(cc_field_lincomb_le(&f, got, w, at, 2, N) == -1);
          put_le(b, f.p - 1);
          CHECK(cc_field_lincomb_le(&f, got, w, at, 2, N) == 0);
        }
        put_le(b, xs[pl % 2][places[pl]]);
      }
    }
  }
  _cc_field_lincomb_le_simd(-1);
  cc_rng_free(&rng);
}

/* The n words of c and y written little-endian at byte offsets off and
 * 7 - off of cb and yb (misaligned as received messages may be), *ca and
 * *ya set to where they start. */
static void place_le(const uint64_t *c, const uint64_t *y, size_t n, size_t off, uint8_t *cb,
                     uint8_t *yb, const uint8_t **ca, const uint8_t **ya) {
  for (size_t i = 0; i < n; i++) {
    put_le(cb + off + 8 * i, c[i]);
    put_le(yb + (7 - off) + 8 * i, y[i]);
  }
  *ca = cb + off;
  *ya = yb + (7 - off);
}

/* The unmask of a plain-sum reveal read in place (cc_field_unmask_sum_le)
 * against cc_field_unmask_shift of the same values, in the folding fields
 * (the others are declined, out untouched): share and term counts of the
 * unrolled loops and others, random and extreme words (p - 1 everywhere,
 * so that the sums carry), subtracted terms of weight 1 and others, byte
 * offsets 0 to 7; a word at or above p in any share or term is refused. */
static void test_unmask_sum_le(void) {
  enum { N = 301, R = 8 };
  static uint64_t cs[R][N], ys[R][N], v[R], want[N], got[N];
  static uint8_t cb[R][8 * N + 8], yb[R][8 * N + 8];
  const uint64_t *cp[R], *yp[R];
  const uint8_t *ca[R], *ya[R];
  uint64_t ones[R];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "unmask_sum_le", 13) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    for (int extreme = 0; extreme <= 1; extreme++) {
      for (size_t j = 0; j < R; j++) {
        if (extreme) {
          for (size_t i = 0; i < N; i++) cs[j][i] = ys[j][i] = f.p - 1;
          v[j] = f.p - 1;
        } else {
          CHECK(cc_rng_uniform_mod(&rng, f.p, cs[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, ys[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, &v[j], 1) == 0);
        }
        if (j % 2 == 1) v[j] = 1 % f.p; /* units among the products */
        ones[j] = 1 % f.p;
        size_t off = (j * 3 + (size_t)extreme) % 8;
        place_le(cs[j], ys[j], N, off, cb[j], yb[j], &ca[j], &ya[j]);
        cp[j] = cs[j];
        yp[j] = ys[j];
      }
      uint64_t s = extreme ? f.p - 1 : 4321 % f.p;
      unsigned bits = (unsigned)(f.bits > 3 ? f.bits - 3 : 1);
      for (size_t r = 1; r <= R; r++) {
        for (size_t q = 0; q <= R; q++) {
          memset(got, 0xab, sizeof got);
          int rc = cc_field_unmask_sum_le(&f, got, ca, r, bits, s, v, ya, q, N);
          if (f.kind != CC_FIELD_FOLD) {
            CHECK(rc == 0);
            CHECK(got[0] == UINT64_C(0xabababababababab));
            continue;
          }
          CHECK(rc == 1);
          cc_field_unmask_shift(&f, want, ones, cp, r, bits, s, v, yp, q, N);
          CHECK(cc_field_equal(got, want, N));
        }
      }
    }
    if (f.kind != CC_FIELD_FOLD) continue;
    /* a bad word in a share or a term, at the start, the middle or the end */
    static const size_t places[] = {0, 150, N - 1};
    for (size_t pl = 0; pl < 3; pl++) {
      for (int term = 0; term <= 1; term++) {
        uint8_t *b = (uint8_t *)(term ? ya[pl] : ca[pl]) + 8 * places[pl];
        put_le(b, pl == 1 ? UINT64_MAX : f.p);
        CHECK(cc_field_unmask_sum_le(&f, got, ca, 3, 5, 0, v, ya, 4, N) == -1);
        put_le(b, f.p - 1);
        CHECK(cc_field_unmask_sum_le(&f, got, ca, 3, 5, 0, v, ya, 4, N) == 1);
      }
    }
  }
  cc_rng_free(&rng);
}

/* The unmask of units alone (every subtracted term of weight 1) in the
 * folding fields with the AVX-512 kernels on, against the scalar loops
 * and cc_field_unmask_shift: share and term counts, lengths below, at and
 * past multiples of 8 (the last n % 8 go to the scalar loop), random and
 * extreme words, byte offsets 0 to 7; a word at or above p in a share or
 * a term, in the vectors' part or the tail, is refused. Without AVX-512F
 * both runs take the scalar loops. */
static void test_unmask_units(void) {
  enum { N = 301, R = 8 };
  static uint64_t cs[R][N], ys[R][N], want[N], got[N + 1], got0[N];
  static uint8_t cb[R][8 * N + 8], yb[R][8 * N + 8];
  const uint64_t *cp[R], *yp[R];
  const uint8_t *ca[R], *ya[R];
  uint64_t ones[R];
  static const size_t lengths[] = {1, 7, 8, 9, 16, 64, 299, N};
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "unmask_units", 12) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    if (f.kind != CC_FIELD_FOLD) continue;
    for (int extreme = 0; extreme <= 1; extreme++) {
      for (size_t j = 0; j < R; j++) {
        if (extreme) {
          for (size_t i = 0; i < N; i++) cs[j][i] = ys[j][i] = f.p - 1 - (i % 3);
        } else {
          CHECK(cc_rng_uniform_mod(&rng, f.p, cs[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, ys[j], N) == 0);
        }
        ones[j] = 1;
        size_t off = (j * 5 + (size_t)extreme) % 8;
        place_le(cs[j], ys[j], N, off, cb[j], yb[j], &ca[j], &ya[j]);
        cp[j] = cs[j];
        yp[j] = ys[j];
      }
      uint64_t s = extreme ? f.p - 1 : 98765;
      for (unsigned bits = 0; bits < 64; bits += 21) {
        for (size_t r = 1; r <= R; r++) {
          for (size_t q = 0; q <= R; q += 1 + (r != 3)) {
            for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
              size_t n = lengths[l];
              _cc_field_simd(1);
              memset(got, 0xab, sizeof got);
              CHECK(cc_field_unmask_sum_le(&f, got, ca, r, bits, s, ones, ya, q, n) == 1);
              _cc_field_simd(0);
              CHECK(cc_field_unmask_sum_le(&f, got0, ca, r, bits, s, ones, ya, q, n) == 1);
              cc_field_unmask_shift(&f, want, ones, cp, r, bits, s, ones, yp, q, n);
              CHECK(cc_field_equal(got, want, n));
              CHECK(cc_field_equal(got0, want, n));
              CHECK(got[n] == UINT64_C(0xabababababababab)); /* nothing past n */
            }
          }
        }
      }
    }
    /* a bad word in a share or a term: in the first vector, the middle,
     * the last full vector and the tail */
    static const size_t places[] = {0, 150, 295, N - 1};
    _cc_field_simd(1);
    for (size_t pl = 0; pl < 4; pl++) {
      for (int term = 0; term <= 1; term++) {
        /* all of the shares (N, a tail of 5) or the vectors' part alone */
        size_t n = pl == 3 ? N : 296;
        uint8_t *b = (uint8_t *)(term ? ya[pl] : ca[pl % 3]) + 8 * places[pl];
        put_le(b, pl % 2 ? UINT64_MAX : f.p);
        CHECK(cc_field_unmask_sum_le(&f, got, ca, 3, 5, 0, ones, ya, 4, n) == -1);
        put_le(b, f.p - 1);
        CHECK(cc_field_unmask_sum_le(&f, got, ca, 3, 5, 0, ones, ya, 4, n) == 1);
      }
    }
  }
  _cc_field_simd(-1);
  cc_rng_free(&rng);
}

/* The weighted product with terms of weight 1 and -1 alone (a plain-sum
 * reveal's masked share: cc_field_mul_lincomb_weighted's AVX-512 case)
 * against the plain kernels, with the vectors on and off: every kind of
 * field, term counts and signs, lengths below, at and past multiples of
 * 8, random and extreme words and weights. */
static void test_mul_units(void) {
  enum { N = 203, R = 6 };
  static uint64_t xs[R][N], a[N], b[N], want[N], got[N + 1];
  const uint64_t *ptrs[R];
  static const size_t lengths[] = {1, 7, 8, 9, 64, 200, N};
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "mul_units", 9) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    for (int extreme = 0; extreme <= 1; extreme++) {
      for (size_t j = 0; j < R; j++) {
        CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
        if (extreme) for (size_t i = 0; i < N; i++) xs[j][i] = j % 2 ? 0 : f.p - 1;
        ptrs[j] = xs[j];
      }
      CHECK(cc_rng_uniform_mod(&rng, f.p, a, N) == 0);
      CHECK(cc_rng_uniform_mod(&rng, f.p, b, N) == 0);
      if (extreme) for (size_t i = 0; i < N; i++) a[i] = b[i] = f.p - 1;
      uint64_t pw = 0, s = extreme ? f.p - 1 : 777 % f.p;
      CHECK(cc_rng_uniform_mod(&rng, f.p, &pw, 1) == 0);
      if (extreme) pw = f.p - 1;
      for (int one = 0; one <= 1; one++) {
        if (one) pw = 1 % f.p; /* not weighted: the product alone */
        for (size_t r = 0; r <= R; r++) {
          for (size_t minus = 0; minus <= r; minus++) {
            uint64_t w[R];
            for (size_t j = 0; j < r; j++) w[j] = j < r - minus || f.p == 2 ? 1 % f.p : f.p - 1;
            for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
              size_t n = lengths[l];
              cc_field_mul(&f, want, a, b, n);
              cc_field_mul_scalar(&f, want, want, pw, n);
              for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], n);
              cc_field_add_scalar(&f, want, want, s, n);
              for (int simd = 0; simd <= 1; simd++) {
                _cc_field_simd(simd);
                got[n] = 0xabab;
                cc_field_mul_lincomb_weighted(&f, got, a, b, pw, w, ptrs, r, s, n);
                CHECK(cc_field_equal(got, want, n));
                CHECK(got[n] == 0xabab); /* nothing past n */
              }
            }
          }
        }
      }
    }
  }
  _cc_field_simd(-1);
  cc_rng_free(&rng);
}

/* The high part's shares (cc_field_high_shares) against the interpolation
 * g(x) = h + x (e - h) / x_next, h = floor(u / 2^bits), element by
 * element: every kind of field, the indices 1, 2, 3 and large ones,
 * random and extreme words (p - 1, e = h), with and without the added
 * terms, and the outputs written over inputs. */
static void test_high_shares(void) {
  enum { N = 97 };
  static uint64_t u[N], e[N], y[N], send[N], own[N], e2[N];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "high_shares", 11) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    static const uint64_t points[][3] = {
      {2, 1, 3}, {3, 2, 1}, {1, 3, 2}, {UINT64_C(1) << 40, 5, UINT64_C(0xFFFFFFFF)},
      {7, UINT64_C(0xFFFFFFFF), UINT64_C(1) << 33}};
    for (size_t pt = 0; pt < sizeof points / sizeof points[0]; pt++) {
      uint64_t xn = points[pt][0] % f.p, xs = points[pt][1] % f.p, xo = points[pt][2] % f.p;
      if (xn == 0) continue;
      uint64_t inv = cc_field_inv1(&f, xn);
      for (int extreme = 0; extreme <= 2; extreme++) {
        unsigned bits = extreme == 1 ? 0 : f.bits > 5 ? (unsigned)f.bits - 5 : 1;
        if (extreme == 2) bits = 63;
        CHECK(cc_rng_uniform_mod(&rng, f.p, u, N) == 0);
        CHECK(cc_rng_uniform_mod(&rng, f.p, e, N) == 0);
        CHECK(cc_rng_uniform_mod(&rng, f.p, y, N) == 0);
        for (size_t i = 0; extreme == 1 && i < N; i++) {
          u[i] = y[i] = f.p - 1;
          e[i] = i % 2 ? f.p - 1 : 0;
        }
        for (int withy = 0; withy <= 1; withy++) {
          /* the AVX-512 kernel (where the CPU has it) and the scalar loops */
          for (int simd = 0; simd <= 1; simd++) {
            _cc_field_simd(simd);
            cc_field_high_shares(&f, send, own, u, e, withy ? y : NULL, bits, inv, xs, xo, N);
            for (size_t i = 0; i < N; i++) {
              uint64_t h = u[i] >> bits, d, g1, g2;
              cc_field_sub(&f, &d, &e[i], &h, 1);
              d = cc_field_mul1(&f, d, inv);
              g1 = cc_field_mul1(&f, d, xs);
              g2 = cc_field_mul1(&f, d, xo);
              cc_field_add(&f, &g1, &g1, &h, 1);
              cc_field_add(&f, &g2, &g2, &h, 1);
              if (withy) cc_field_add(&f, &g2, &g2, &y[i], 1);
              CHECK(send[i] == g1);
              CHECK(own[i] == g2);
            }
          }
          _cc_field_simd(-1);
          /* the outputs over the inputs: own over e, send over u */
          memcpy(e2, e, sizeof e);
          uint64_t ucopy[N];
          memcpy(ucopy, u, sizeof u);
          cc_field_high_shares(&f, ucopy, e2, ucopy, e2, withy ? y : NULL, bits, inv, xs, xo,
                               N);
          CHECK(cc_field_equal(ucopy, send, N));
          CHECK(cc_field_equal(e2, own, N));
        }
      }
    }
  }
  cc_rng_free(&rng);
}

/* The masked-product kernels against the plain ones, in every kind of
 * field: random and extreme (p - 1 everywhere, so that the lazy sums carry
 * into their top word) elements and weights, weights of 1 at varying
 * places (summed, not multiplied), and of -1 (added as p - x; 0 then adds
 * p), with and without the second factor and a weight of the product, and
 * term counts that take the unrolled loops, the general one and the plain
 * fallback. Then the lazy dot product against the plain sum of products. */
static void test_masked_kernels(void) {
  enum { N = 301, R = 70 };
  static uint64_t xs[R][N], w[R], a[N], b[N], want[N], got[N], tmp[N];
  const uint64_t *ptrs[R];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "masked", 6) == 0);
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    cc_field f;
    cc_field_setup(&f, orders[o]);
    for (int mode = 0; mode < 4; mode++) {
      int extreme = mode & 1, signs = mode >> 1;
      for (size_t j = 0; j < R; j++) {
        if (extreme) {
          for (size_t i = 0; i < N; i++) xs[j][i] = f.p - 1;
          w[j] = f.p - 1;
        } else {
          CHECK(cc_rng_uniform_mod(&rng, f.p, xs[j], N) == 0);
          CHECK(cc_rng_uniform_mod(&rng, f.p, &w[j], 1) == 0);
        }
        if (j % 3 == 1) w[j] = 1 % f.p; /* unit weights among the others */
        if (signs && j % 3 == 2) {      /* and weights -1 */
          w[j] = f.p - 1;
          if (extreme) memset(xs[j], 0, sizeof xs[j]);
        }
        ptrs[j] = xs[j];
      }
      uint64_t s = extreme ? f.p - 1 : 12345 % f.p;
      CHECK(cc_rng_uniform_mod(&rng, f.p, a, N) == 0);
      CHECK(cc_rng_uniform_mod(&rng, f.p, b, N) == 0);
      if (extreme) for (size_t i = 0; i < N; i++) a[i] = b[i] = f.p - 1;
      static const size_t counts[] = {0, 1, 2, 3, 4, 5, 6, 7, 9, R};
      for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t r = counts[c];
        for (int prod = 0; prod <= 1; prod++) {
          if (prod) cc_field_mul(&f, want, a, b, N);
          else memcpy(want, a, sizeof want);
          for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], N);
          cc_field_add_scalar(&f, want, want, s, N);
          cc_field_mul_lincomb(&f, got, a, prod ? b : NULL, w, ptrs, r, s, N);
          CHECK(cc_field_equal(got, want, N));
          /* the product (or a) weighted */
          uint64_t pw = extreme ? f.p - 1 : (3 + 1000 * (uint64_t)c) % f.p;
          if (prod) cc_field_mul(&f, want, a, b, N);
          else memcpy(want, a, sizeof want);
          cc_field_mul_scalar(&f, want, want, pw, N);
          for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], N);
          cc_field_add_scalar(&f, want, want, s, N);
          cc_field_mul_lincomb_weighted(&f, got, a, prod ? b : NULL, pw, w, ptrs, r, s, N);
          CHECK(cc_field_equal(got, want, N));
        }
        /* unmask: q terms of the subtracted sum, from the other end. */
        size_t q = counts[sizeof counts / sizeof counts[0] - 1 - c];
        unsigned bits = (unsigned)(f.bits > 3 ? f.bits - 3 : 1);
        memset(want, 0, sizeof want);
        for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, w[j], xs[j], N);
        cc_field_shift_right(want, want, bits, N);
        cc_field_sub_scalar(&f, want, want, s, N);
        memset(tmp, 0, sizeof tmp);
        for (size_t j = 0; j < q; j++) cc_field_axpy(&f, tmp, w[R - 1 - j], xs[R - 1 - j], N);
        cc_field_sub(&f, want, want, tmp, N);
        const uint64_t *ys[R];
        uint64_t v[R];
        for (size_t j = 0; j < q; j++) {
          ys[j] = xs[R - 1 - j];
          v[j] = w[R - 1 - j];
        }
        cc_field_unmask_shift(&f, got, w, ptrs, r, bits, s, v, ys, q, N);
        CHECK(cc_field_equal(got, want, N));
      }
      /* unmask with weights 1 and -1 alone (a plain-sum reveal). */
      for (size_t r = 1; r <= 6; r++) {
        uint64_t units[6];
        for (size_t j = 0; j < r; j++) units[j] = (j % 2 && f.p > 2) ? f.p - 1 : 1 % f.p;
        unsigned bits = (unsigned)(f.bits > 3 ? f.bits - 3 : 1);
        memset(want, 0, sizeof want);
        for (size_t j = 0; j < r; j++) cc_field_axpy(&f, want, units[j], xs[j], N);
        cc_field_shift_right(want, want, bits, N);
        cc_field_sub_scalar(&f, want, want, s, N);
        memset(tmp, 0, sizeof tmp);
        for (size_t j = 0; j < 3; j++) cc_field_axpy(&f, tmp, w[R - 1 - j], xs[R - 1 - j], N);
        cc_field_sub(&f, want, want, tmp, N);
        const uint64_t *ys[3] = {xs[R - 1], xs[R - 2], xs[R - 3]};
        uint64_t v[3] = {w[R - 1], w[R - 2], w[R - 3]};
        cc_field_unmask_shift(&f, got, units, ptrs, r, bits, s, v, ys, 3, N);
        CHECK(cc_field_equal(got, want, N));
      }
      /* A plain sum whose low word wraps when its high word folds in:
       * (p - 1) - (p - 2c - 1) + (p - 1) = 2^65 - 1 for p = 2^64 - c. */
      if (f.kind == CC_FIELD_FOLD) {
        static uint64_t c0[N], c1[N];
        for (size_t i = 0; i < N; i++) {
          c0[i] = f.p - 1;
          c1[i] = f.p - 2 * f.c - 1;
        }
        const uint64_t *wrap[3] = {c0, c1, c0};
        uint64_t units[3] = {1, f.p - 1, 1};
        memset(want, 0, sizeof want);
        for (size_t j = 0; j < 3; j++) cc_field_axpy(&f, want, units[j], wrap[j], N);
        cc_field_shift_right(want, want, 7, N);
        cc_field_sub_scalar(&f, want, want, s, N);
        cc_field_unmask_shift(&f, got, units, wrap, 3, 7, s, NULL, NULL, 0, N);
        CHECK(cc_field_equal(got, want, N));
      }
      /* out may be one of the terms. */
      static uint64_t copy[N];
      const uint64_t *cp[2] = {xs[0], copy};
      memcpy(copy, xs[1], sizeof copy);
      cc_field_mul(&f, want, a, b, N);
      cc_field_axpy(&f, want, w[0], xs[0], N);
      cc_field_axpy(&f, want, w[1], xs[1], N);
      cc_field_add_scalar(&f, want, want, s, N);
      cc_field_mul_lincomb(&f, copy, a, b, w, cp, 2, s, N);
      CHECK(cc_field_equal(copy, want, N));
      /* The dot product, of odd and even lengths. */
      for (size_t n = N - 1; n <= N; n++) {
        uint64_t d = 0, one = 1 % f.p;
        for (size_t i = 0; i < n; i++) {
          uint64_t t = cc_field_mul1(&f, a[i], xs[2][i]);
          cc_field_axpy(&f, &d, one, &t, 1);
        }
        CHECK_EQ(cc_field_dot(&f, a, xs[2], n), d);
      }
    }
  }
  cc_rng_free(&rng);
}

/* ==== Random streams ==================================================== */

/* cc_rng_uniform_mod for an order just above 2^63, where about half the
 * words are rejected: the words kept are those of the stream in order, a
 * rejected one redrawn from the words after the whole array's, for
 * lengths below, at and past multiples of 8 (the check of the drawn words
 * runs eight at a time with AVX-512F); and none is at or above p. */
static void test_uniform_rejections(void) {
  enum { N = 301 };
  static const size_t lengths[] = {1, 7, 8, 9, 64, 100, N};
  const uint64_t p = UINT64_C(9223372036854775837); /* 2^63 + 29 */
  uint64_t got[N], want[N];
  for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
    size_t n = lengths[l];
    cc_rng a, b;
    CHECK(cc_rng_init_seeded(&a, "rejections", 10) == 0);
    CHECK(cc_rng_init_seeded(&b, "rejections", 10) == 0);
    CHECK(cc_rng_uniform_mod(&a, p, got, n) == 0);
    uint8_t bytes[8 * N];
    CHECK(cc_rng_bytes(&b, bytes, 8 * n) == 0);
    size_t rejected = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t w = 0;
      for (int k = 7; k >= 0; k--) w = w << 8 | bytes[8 * i + (size_t)k];
      while (w >= p) {
        uint8_t more[8];
        CHECK(cc_rng_bytes(&b, more, 8) == 0);
        w = 0;
        for (int k = 7; k >= 0; k--) w = w << 8 | more[k];
        rejected++;
      }
      want[i] = w;
      CHECK(got[i] < p);
    }
    CHECK(cc_field_equal(got, want, n));
    if (n >= 64) CHECK(rejected > 0);
    cc_rng_free(&a);
    cc_rng_free(&b);
  }
}

static void test_random(void) {
  cc_rng a, b, c, os;
  uint64_t x[300], y[300], z[300];
  CHECK(cc_rng_init_seeded(&a, "seed", 4) == 0);
  CHECK(cc_rng_init_seeded(&b, "seed", 4) == 0);
  CHECK(cc_rng_init_seeded(&c, "seee", 4) == 0);
  cc_rng_init_os(&os);
  /* The same seed replays, across block boundaries too. */
  for (int round = 0; round < 20; round++) {
    CHECK(cc_rng_uniform_mod(&a, CC_FIELD_DEFAULT_ORDER, x, 300) == 0);
    CHECK(cc_rng_uniform_mod(&b, CC_FIELD_DEFAULT_ORDER, y, 300) == 0);
    CHECK(cc_field_equal(x, y, 300));
  }
  CHECK(cc_rng_uniform_mod(&c, CC_FIELD_DEFAULT_ORDER, z, 300) == 0);
  CHECK(!cc_field_equal(x, z, 300));
  CHECK(cc_rng_uniform_mod(&os, CC_FIELD_DEFAULT_ORDER, z, 300) == 0);
  CHECK(!cc_field_equal(x, z, 300));

  /* A seeded stream's bytes do not depend on how they are asked for: large
   * requests (whole buffers straight from the cipher) and small ones
   * interleave into one keystream. */
  {
    enum { TOTAL = 3 * CC_RNG_BUFFER_BYTES + 1000 };
    static unsigned char one[TOTAL], pieces[TOTAL];
    const size_t steps[] = {3, 2 * CC_RNG_BUFFER_BYTES + 7, 100, CC_RNG_BUFFER_BYTES,
                            TOTAL};
    cc_rng s1, s2;
    size_t at = 0;
    CHECK(cc_rng_init_seeded(&s1, "bytes", 5) == 0);
    CHECK(cc_rng_init_seeded(&s2, "bytes", 5) == 0);
    CHECK(cc_rng_bytes(&s1, one, TOTAL) == 0);
    for (size_t i = 0; at < TOTAL; i++) {
      size_t take = steps[i] < TOTAL - at ? steps[i] : TOTAL - at;
      CHECK(cc_rng_bytes(&s2, pieces + at, take) == 0);
      at += take;
    }
    CHECK(memcmp(one, pieces, TOTAL) == 0);
    cc_rng_free(&s1);
    cc_rng_free(&s2);
  }

  /* Uniform mod 7: every value in range, each about 1/7 of the draws. */
  enum { DRAWS = 70000 };
  static uint64_t d[DRAWS];
  size_t count[7] = {0};
  CHECK(cc_rng_uniform_mod(&a, 7, d, DRAWS) == 0);
  for (size_t i = 0; i < DRAWS; i++) {
    CHECK(d[i] < 7);
    if (d[i] < 7) count[d[i]]++;
  }
  for (int v = 0; v < 7; v++) CHECK(count[v] > 9500 && count[v] < 10500);

  /* Uniform below 128-bit bounds: 2^127 - 1 (nearly every draw has its top
   * bit), 3 * 2^64 (the high word is 0, 1 or 2, each about a third) and a
   * bound below 2^64 (the high word is 0). */
  {
    enum { W = 3000 };
    static uint64_t v[2 * W];
    size_t top = 0, hi_count[3] = {0};
    CHECK(cc_rng_uniform_mod128(&a, UINT64_MAX, UINT64_C(0x7FFFFFFFFFFFFFFF), v, W) == 0);
    for (size_t i = 0; i < W; i++) {
      CHECK(!(v[2 * i + 1] == UINT64_C(0x7FFFFFFFFFFFFFFF) && v[2 * i] == UINT64_MAX));
      CHECK(v[2 * i + 1] >> 63 == 0);
      top += v[2 * i + 1] >> 62;
    }
    CHECK(top > 1300 && top < 1700);
    CHECK(cc_rng_uniform_mod128(&a, 0, 3, v, W) == 0);
    for (size_t i = 0; i < W; i++) {
      CHECK(v[2 * i + 1] < 3);
      if (v[2 * i + 1] < 3) hi_count[v[2 * i + 1]]++;
    }
    for (int h = 0; h < 3; h++) CHECK(hi_count[h] > 850 && hi_count[h] < 1150);
    CHECK(cc_rng_uniform_mod128(&a, 1000, 0, v, W) == 0);
    for (size_t i = 0; i < W; i++) CHECK(v[2 * i] < 1000 && v[2 * i + 1] == 0);
    CHECK(cc_rng_uniform_mod128(&a, 0, 0, v, 1) == -1);
  }

  /* Doubles in [0, 1) with mean near 1/2. */
  double sum = 0;
  for (int i = 0; i < 10000; i++) {
    double u = -1;
    CHECK(cc_rng_double(&os, &u) == 0);
    CHECK(u >= 0 && u < 1);
    sum += u;
  }
  CHECK(sum > 4800 && sum < 5200);
  cc_rng_free(&a);
  cc_rng_free(&b);
  cc_rng_free(&c);
  cc_rng_free(&os);
}

/* cc_field_bitlt_pairs against the plaintext: for plain bits r (shares of
 * degree 0) every pair's (lt, eq) is ([c_pair < r_pair], [c_pair = r_pair])
 * and bit 0's likewise; and the kernel is affine in (r, rho), so that it
 * maps shares to shares: k(a) + k(b) = k(a + b) + k(0) element-wise. */
static void test_bitlt_pairs(void) {
  enum { N = 64, MAXM = 9 };
  cc_field f;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  static uint64_t c[N], r[MAXM * N], rho[MAXM / 2 * N], lt[MAXM * N], eq[MAXM * N];
  static uint64_t ra[MAXM * N], pa[MAXM * N], rb[MAXM * N], pb[MAXM * N],
                  rs[MAXM * N], ps[MAXM * N], zero[MAXM * N];
  static uint64_t l1[MAXM * N], e1[MAXM * N], l2[MAXM * N], e2[MAXM * N],
                  l3[MAXM * N], e3[MAXM * N], l0[MAXM * N], e0[MAXM * N];
  uint64_t seed = 12345;
  for (unsigned m = 2; m <= MAXM; m++) {
    size_t h = m / 2, rows = h + m % 2;
    for (size_t e = 0; e < N; e++) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      c[e] = (seed >> 11) % (UINT64_C(1) << (m + 3)); /* bits above m too */
      for (size_t i = 0; i < m; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        r[i * N + e] = (seed >> 33) & 1;
      }
      for (size_t i = 0; i < h; i++) rho[i * N + e] = r[i * N + e] & r[(h + i) * N + e];
    }
    cc_field_bitlt_pairs(&f, lt, eq, c, r, rho, m, N);
    for (size_t e = 0; e < N; e++) {
      for (size_t i = 0; i < rows; i++) {
        unsigned cv, rv;
        if (i < h) {
          unsigned eh = m - 1 - 2 * (unsigned)i;
          cv = (unsigned)(c[e] >> (eh - 1)) & 3;
          rv = (unsigned)(2 * r[i * N + e] + r[(h + i) * N + e]);
        } else {
          cv = (unsigned)c[e] & 1;
          rv = (unsigned)r[2 * h * N + e];
        }
        CHECK(lt[i * N + e] == (cv < rv));
        CHECK(eq[i * N + e] == (cv == rv));
      }
    }
    /* Affine: random field elements in place of bits and products. */
    for (size_t i = 0; i < m * N; i++) {
      ra[i] = cc_field_mul1(&f, (uint64_t)i * 7919u + m, UINT64_C(0x9E3779B97F4A7C15));
      rb[i] = cc_field_mul1(&f, (uint64_t)i * 104729u + 3, UINT64_C(0xBF58476D1CE4E5B9));
      pa[i] = cc_field_mul1(&f, ra[i], ra[i]);
      pb[i] = cc_field_mul1(&f, rb[i], 12345);
      zero[i] = 0;
    }
    cc_field_add(&f, rs, ra, rb, m * N);
    cc_field_add(&f, ps, pa, pb, h * N);
    cc_field_bitlt_pairs(&f, l1, e1, c, ra, pa, m, N);
    cc_field_bitlt_pairs(&f, l2, e2, c, rb, pb, m, N);
    cc_field_bitlt_pairs(&f, l3, e3, c, rs, ps, m, N);
    cc_field_bitlt_pairs(&f, l0, e0, c, zero, zero, m, N);
    cc_field_add(&f, l1, l1, l2, rows * N);
    cc_field_add(&f, e1, e1, e2, rows * N);
    cc_field_add(&f, l3, l3, l0, rows * N);
    cc_field_add(&f, e3, e3, e0, rows * N);
    CHECK(memcmp(l1, l3, rows * N * sizeof *l1) == 0);
    CHECK(memcmp(e1, e3, rows * N * sizeof *e1) == 0);
  }
}

/* cc_field_xor_group in the protocol it serves: 3 players with indices 1,
 * 2, 3 and threshold 2; the group is ranks 0 and 1 (bits b), the dealer
 * rank 2 (bits u, shared with random polynomials, and the products of the
 * pairs' bits). The members' shares from the kernel and the dealer's, the
 * sum of the two messages, must be degree-1 shares of b xor u and of the
 * products of the pairs' XORed bits. */
__extension__ typedef unsigned __int128 wide_t;

static void test_xor_group(void) {
  enum { N = 16, M = 5, H = M / 2, P = 2 };
  cc_field f;
  cc_field_setup(&f, CC_FIELD_DEFAULT_ORDER);
  const uint64_t p = f.p, xs[3] = {1, 2, 3};
  static uint64_t b[M * N], u[M * N], prodv[P * N], us[3][M * N], vs[3][P * N];
  static uint64_t z[(M + P) * N], rho[(M + P) * N], bits[3][M * N], prod[3][P * N];
  static uint64_t msg[2][M * N], msgp[2][P * N];
  uint64_t seed = 777;
#define NEXT() (seed = seed * 6364136223846793005u + 1442695040888963407u, seed >> 1)
  for (size_t i = 0; i < M * N; i++) { b[i] = NEXT() >> 40 & 1; u[i] = NEXT() >> 40 & 1; }
  for (size_t i = 0; i < P * N; i++) prodv[i] = u[i] * u[H * N + i];
  /* The dealer's shares: secret + a x. */
  for (size_t i = 0; i < M * N; i++) {
    uint64_t a = NEXT() % p;
    for (int r = 0; r < 3; r++) us[r][i] = (uint64_t)((u[i] + (wide_t)a * xs[r]) % p);
  }
  for (size_t i = 0; i < P * N; i++) {
    uint64_t a = NEXT() % p;
    for (int r = 0; r < 3; r++) vs[r][i] = (uint64_t)((prodv[i] + (wide_t)a * xs[r]) % p);
  }
  for (size_t i = 0; i < (M + P) * N; i++) { z[i] = NEXT() % p; rho[i] = NEXT() % p; }
  /* f_A(x) = (x_2 - x) / x_2 = (3 - x) / 3; lambda_i at x_2 from x_0, x_1:
   * lambda_0 = (3 - 2) / (1 - 2) = -1, lambda_1 = (3 - 1) / (2 - 1) = 2. */
  uint64_t inv3 = cc_field_inv1(&f, 3);
  uint64_t fa[2] = {cc_field_mul1(&f, 2, inv3), cc_field_mul1(&f, 1, inv3)};
  uint64_t lam[2] = {p - 1, 2};
  for (int r = 0; r < 2; r++)
    cc_field_xor_group(&f, bits[r], prod[r], msg[r], msgp[r], b, us[r], vs[r], z, rho,
                       fa[r], xs[r], lam[r], r == 1, M, P, N);
  for (size_t i = 0; i < M * N; i++) bits[2][i] = (uint64_t)(((wide_t)msg[0][i] + msg[1][i]) % p);
  for (size_t i = 0; i < P * N; i++) prod[2][i] = (uint64_t)(((wide_t)msgp[0][i] + msgp[1][i]) % p);
  /* Any two shares open the same value (degree 1): 2 s_0 - s_1 from x = 1,
   * 2; (3 s_1 - 2 s_2) from x = 2, 3. */
  for (size_t i = 0; i < M * N; i++) {
    uint64_t want = b[i] ^ u[i];
    uint64_t v01 = (uint64_t)((2 * (wide_t)bits[0][i] + p - bits[1][i]) % p);
    uint64_t v12 = (uint64_t)((3 * (wide_t)bits[1][i] + 2 * (wide_t)(p - bits[2][i])) % p);
    CHECK(v01 == want);
    CHECK(v12 == want);
  }
  for (size_t i = 0; i < P * N; i++) {
    uint64_t want = (b[i] ^ u[i]) & (b[H * N + i] ^ u[H * N + i]);
    uint64_t v01 = (uint64_t)((2 * (wide_t)prod[0][i] + p - prod[1][i]) % p);
    uint64_t v12 = (uint64_t)((3 * (wide_t)prod[1][i] + 2 * (wide_t)(p - prod[2][i])) % p);
    CHECK(v01 == want);
    CHECK(v12 == want);
  }
#undef NEXT
}

int main(void) {
  test_primality();
  test_kernels();
  test_kinds_and_conversion();
  test_bits_and_shifts();
  test_lagrange();
  test_shamir_known();
  test_shamir_random();
  test_shamir_core();
  test_shamir_blocks();
  test_shamir_row_wire();
  test_masked_kernels();
  test_shamir_core128();
  test_lincomb_arrays();
  test_lincomb_le();
  test_simd_switch();
  test_lincomb_le_simd();
  test_unmask_sum_le();
  test_unmask_units();
  test_mul_units();
  test_high_shares();
  test_random();
  test_uniform_rejections();
  test_checks();
  test_bitlt_pairs();
  test_xor_group();
  if (failures) {
    fprintf(stderr, "test_field: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_field: all checks passed\n");
  return 0;
}
