/*
 * field128.c - arithmetic in GF(p) for primes p < 2^128, over whole arrays
 * of elements stored as (lo, hi) pairs of 64-bit words (see field128.h).
 *
 * Owns the 128-bit order check, the reduction strategies and the kernels;
 * the 64-bit field (field.c) stays as it is. No Lua here.
 *
 * Products are reduced in one of four ways, chosen once by
 * cc_field128_setup:
 *  - M127, for p = 2^127 - 1 (the default): 2^127 = 1 (mod p), so a 254-bit
 *    product hi * 2^127 + lo folds to hi + lo with shifts and additions,
 *    then once more and a conditional subtraction.
 *  - FOLD, for p = 2^k - c > 2^96 with cr = c * 2^(128-k) < 2^32 (so
 *    2^128 = cr (mod p)): two folds of the high half at the 128-bit word
 *    boundary, a third at bit k, a conditional subtraction.
 *  - MONT, for every other odd p: Montgomery multiplication (CIOS, two
 *    64-bit limbs, R = 2^128). Elements stay canonical in memory; a kernel
 *    converts one operand (or the scalar) into Montgomery form so that
 *    REDC(a * bR) = ab comes out canonical.
 *  - PLAIN, for p = 2.
 * The "domain" helpers hide the difference: to_dom is the identity and dmul
 * the modular product except for MONT. Every hot kernel is instantiated once
 * per kind (BY_KIND), so its loop holds no switch on the kind.
 *
 * Beyond one reduction per product: M127 sums of products (dot,
 * lincomb_arrays) add once-folded products in three words and reduce once
 * per sum, and M127 linear combinations take weights 1, -1 and +-one word
 * without the full product (m127_lincomb); MONT dot products sum REDC(a b) and fix the factor R once;
 * Horner steps by a one-word x (Shamir indices) use two partial products.
 * On x86-64 with AVX-512 IFMA the hottest M127 kernels run eight elements
 * at a time in radix-2^52 limbs ("AVX-512 IFMA kernels" below).
 * Kernels copy *f into a local before their loops: stores through out
 * (uint64_t) could otherwise alias its words and force reloads.
 */
#include "core/field128.h"
#include "core/simd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef cc_u128 u128;

#if defined(__GNUC__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif

#define LO(x) ((uint64_t)(x))
#define HI(x) ((uint64_t)((x) >> 64))
#define MASK127 ((((u128)1) << 127) - 1)
#define MASK(cond) ((u128)0 - (u128)(cond)) /* all ones if cond */

typedef enum cc_field128_kind kind_t;

/* ==== Addition ========================================================== */

/* Without branches: with random operands the carry is a coin flip. */
ALWAYS_INLINE u128 addmod(u128 p, u128 a, u128 b) {
  u128 s = a + b;
  /* On carry (p > 2^127) the true sum s + 2^128 < 2p, so s - p is right. */
  return s - (p & MASK((s < a) | (s >= p)));
}

/* The borrow out of a - b by the bitwise full-subtractor formula on the
 * high words, (~a & b) | (~(a ^ b) & d) at bit 127: gcc compiled
 * MASK(a < b) (and __builtin_sub_overflow) into a jump, mispredicted half
 * the time on random operands. */
ALWAYS_INLINE u128 submod(u128 p, u128 a, u128 b) {
  u128 d = a - b;
  uint64_t a1 = HI(a), b1 = HI(b), d1 = HI(d);
  uint64_t borrow = ((~a1 & b1) | (~(a1 ^ b1) & d1)) >> 63;
  return d + (p & MASK(borrow));
}

/* ==== Reduction ========================================================= */

/* The Mersenne path is written on 64-bit words: gcc keeps 128-bit
 * temporaries of long expressions on the stack, words stay in registers. */
#define M63 (UINT64_MAX >> 1)

/* Any x = x1 2^64 + x0 < 2^128 to canonical mod p = 2^127 - 1. First
 * x = hi 2^127 + lo = hi + lo <= 2^127 = p + 1; that is p or p + 1 exactly
 * when x + 1 reaches 2^127, and then x - p = (x + 1) mod 2^127. */
ALWAYS_INLINE u128 m127_reduce_words(uint64_t x0, uint64_t x1) {
  uint64_t y0 = x0 + (x1 >> 63);
  uint64_t y1 = (x1 & M63) + (y0 < x0);
  uint64_t top = (y1 + (y0 == UINT64_MAX)) >> 63;
  uint64_t z0 = y0 + top;
  uint64_t z1 = (y1 + (z0 < y0)) & M63;
  return cc_u128_make(z0, z1);
}

ALWAYS_INLINE u128 m127_fold(u128 x) { return m127_reduce_words(LO(x), HI(x)); }

/* a * b mod 2^127 - 1 for canonical a, b (so a1, b1 < 2^63), folded once:
 * r1 2^64 + r0 < 2^128, congruent to the product but not canonical. The
 * cross sum a0 b1 + a1 b0 < 2^128 needs no carry. The product
 * x = w3..w0 < 2^254, so x >> 127 < 2^127 and (x mod 2^127) + (x >> 127)
 * < 2^128. */
ALWAYS_INLINE void m127_mul_lazy(u128 a, u128 b, uint64_t *r0, uint64_t *r1) {
  uint64_t a0 = LO(a), a1 = HI(a), b0 = LO(b), b1 = HI(b);
  u128 t0 = (u128)a0 * b0;
  u128 t1 = (u128)a0 * b1 + (u128)a1 * b0;
  u128 t2 = (u128)a1 * b1;
  u128 s1 = (u128)HI(t0) + LO(t1);
  u128 s2 = t2 + HI(t1) + HI(s1);
  uint64_t w0 = LO(t0), w1 = LO(s1), w2 = LO(s2), w3 = HI(s2);
  uint64_t h0 = (w2 << 1) | (w1 >> 63), h1 = (w3 << 1) | (w2 >> 63);
  *r0 = w0 + h0;
  *r1 = (w1 & M63) + h1 + (*r0 < w0);
}

ALWAYS_INLINE u128 m127_mul(u128 a, u128 b) {
  uint64_t r0, r1;
  m127_mul_lazy(a, b, &r0, &r1);
  return m127_reduce_words(r0, r1);
}

/* Sums of once-folded products, s2 2^128 + s1 2^64 + s0, reduced at the
 * end with 2^128 = 2 (mod p): one reduction per sum, not per term. */
typedef struct { uint64_t s0, s1, s2; } m127_acc;

/* Adds r1 2^64 + r0 < 2^128. */
ALWAYS_INLINE void m127_acc_add_words(m127_acc *acc, uint64_t r0, uint64_t r1) {
  uint64_t s0 = acc->s0 + r0, c0 = s0 < r0;
  uint64_t s1 = acc->s1 + r1, c1 = s1 < r1;
  uint64_t s1c = s1 + c0;
  acc->s0 = s0;
  acc->s1 = s1c;
  acc->s2 += c1 + (s1c < c0);
}

ALWAYS_INLINE void m127_acc_add(m127_acc *acc, u128 a, u128 b) {
  uint64_t r0, r1;
  m127_mul_lazy(a, b, &r0, &r1);
  m127_acc_add_words(acc, r0, r1);
}

/* Canonical value of the sum; s2 < 2^62 (fewer than 2^62 terms). */
ALWAYS_INLINE u128 m127_acc_value(const m127_acc *acc) {
  u128 x = (u128)acc->s0 + (acc->s1 >> 63) + ((u128)acc->s2 << 1);
  return m127_reduce_words(LO(x), (acc->s1 & M63) + HI(x));
}

/* The full 256-bit product hi 2^128 + lo of any a, b < 2^128. */
ALWAYS_INLINE void mul256(u128 a, u128 b, u128 *hi, u128 *lo) {
  uint64_t a0 = LO(a), a1 = HI(a), b0 = LO(b), b1 = HI(b);
  u128 t00 = (u128)a0 * b0, t01 = (u128)a0 * b1;
  u128 t10 = (u128)a1 * b0, t11 = (u128)a1 * b1;
  u128 mid = (t00 >> 64) + LO(t01) + LO(t10); /* < 3 * 2^64 */
  *lo = ((u128)LO(mid) << 64) | LO(t00);
  *hi = t11 + (t01 >> 64) + (t10 >> 64) + (mid >> 64);
}

/* Any z < 2^128 to canonical for FOLD: z = q 2^k + l = q c + l, where
 * q < 2^(128-k) and q c <= cr < 2^32, so the sum stays below
 * 2^k + 2^32 < 2p and one subtraction finishes. For k = 128, q = 0. */
ALWAYS_INLINE u128 fold_final(const cc_field128 *f, u128 z) {
  unsigned k = (unsigned)f->bits;
  u128 q = (z >> (k - 1)) >> 1;
  z = (z & (~(u128)0 >> (128 - k))) + (u128)(LO(q) * f->c);
  return z - (f->p & MASK(z >= f->p));
}

/* hi 2^128 + lo mod p for FOLD, hi < 2^128. First fold: y = hi cr + lo <
 * 2^160 + 2^128, with high word yh < 2^33. Second: z = yh cr + (y mod
 * 2^128), where yh cr < 2^65; if the sum carries, its low part is below
 * 2^65 and adding cr (for the carried 2^128) cannot carry again. */
ALWAYS_INLINE u128 fold_reduce(const cc_field128 *f, u128 hi, u128 lo) {
  uint64_t cr = f->cr;
  u128 p0 = (u128)LO(hi) * cr;          /* weight 1, < 2^96 */
  u128 p1 = (u128)HI(hi) * cr;          /* weight 2^64, < 2^96 */
  u128 s = lo + p0;
  uint64_t c1 = s < p0;
  u128 s2 = s + ((u128)LO(p1) << 64);
  uint64_t c2 = s2 < s;
  uint64_t yh = HI(p1) + c1 + c2;
  u128 t = (u128)yh * cr;
  u128 z = s2 + t;
  z += (u128)cr & MASK(z < t);
  return fold_final(f, z);
}

ALWAYS_INLINE u128 fold_mul(const cc_field128 *f, u128 a, u128 b) {
  u128 hi, lo;
  mul256(a, b, &hi, &lo);
  return fold_reduce(f, hi, lo);
}

/* a * x for a canonical a and a 64-bit x (a Shamir index, say): the
 * product w2 2^128 + w1 2^64 + w0 is below 2^191, so two 64x64 products
 * suffice and the high half is a single word. */
ALWAYS_INLINE void mul_by_word(u128 a, uint64_t x, uint64_t *w0, uint64_t *w1,
                               uint64_t *w2) {
  u128 t0 = (u128)LO(a) * x, t1 = (u128)HI(a) * x;
  u128 s1 = (u128)HI(t0) + LO(t1);
  *w0 = LO(t0);
  *w1 = LO(s1);
  *w2 = HI(t1) + HI(s1);
}

/* a * x mod 2^127 - 1 for a canonical a and a 64-bit x: the product y is
 * below 2^191, so y >> 127 is one word h, and (y mod 2^127) + h < 2^128
 * goes to the usual final reduction. */
ALWAYS_INLINE u128 m127_mul_word(u128 a, uint64_t x) {
  uint64_t w0, w1, w2;
  mul_by_word(a, x, &w0, &w1, &w2);
  uint64_t h = (w2 << 1) | (w1 >> 63);
  uint64_t r0 = w0 + h;
  return m127_reduce_words(r0, (w1 & M63) + (r0 < w0));
}

/* a * x mod p for FOLD and a 64-bit x: the high half of the product is one
 * word, so the general fold simplifies. */
ALWAYS_INLINE u128 fold_mul_word(const cc_field128 *f, u128 a, uint64_t x) {
  uint64_t w0, w1, w2;
  mul_by_word(a, x, &w0, &w1, &w2);
  return fold_reduce(f, (u128)w2, cc_u128_make(w0, w1));
}

/* Montgomery product REDC(a b) = a b 2^-128 mod p for a < 2^128, b < p,
 * canonical. CIOS with two limbs: each round adds a * b_i and m * p, where
 * m makes the low word vanish, and drops that word. The running value
 * stays below 2p after each round (below 2^193 within one, hence t3), so
 * one subtraction, taken if the value has a third word or is >= p, ends. */
ALWAYS_INLINE u128 mont_mul(const cc_field128 *f, u128 a, u128 b) {
  uint64_t a0 = LO(a), a1 = HI(a), b0 = LO(b), b1 = HI(b);
  uint64_t p0 = LO(f->p), p1 = HI(f->p), n0 = f->pinv;
  uint64_t t0, t1, t2, t3, m;
  u128 x;
  /* Round 0 starts from t = 0. */
  x = (u128)a0 * b0;
  t0 = LO(x);
  x = (u128)a1 * b0 + HI(x);
  t1 = LO(x);
  t2 = HI(x);
  m = t0 * n0;
  x = (u128)m * p0 + t0; /* low word 0 */
  x = (u128)m * p1 + t1 + HI(x);
  t0 = LO(x);
  x = (u128)t2 + HI(x);
  t1 = LO(x);
  t2 = HI(x);
  /* Round 1. */
  x = (u128)a0 * b1 + t0;
  t0 = LO(x);
  x = (u128)a1 * b1 + t1 + HI(x);
  t1 = LO(x);
  x = (u128)t2 + HI(x);
  t2 = LO(x);
  t3 = HI(x);
  m = t0 * n0;
  x = (u128)m * p0 + t0;
  x = (u128)m * p1 + t1 + HI(x);
  t0 = LO(x);
  x = (u128)t2 + HI(x);
  t1 = LO(x);
  t2 = t3 + HI(x); /* 0 or 1 */
  u128 r = ((u128)t1 << 64) | t0;
  return r - (f->p & MASK((t2 != 0) | (r >= f->p)));
}

/* a * b mod p for PLAIN (p = 2, so the product fits). */
ALWAYS_INLINE u128 plain_mul(const cc_field128 *f, u128 a, u128 b) {
  return (a * b) % f->p;
}

/* Into the multiplication domain (aR mod p for MONT). */
ALWAYS_INLINE u128 to_dom(const cc_field128 *f, kind_t k, u128 a) {
  return k == CC_FIELD128_MONT ? mont_mul(f, a, f->r2) : a;
}

/* a * b mod p when exactly one of a, b is in the domain; the result is
 * canonical. Both in the domain gives a domain result. */
ALWAYS_INLINE u128 dmul(const cc_field128 *f, kind_t k, u128 a, u128 b) {
  switch (k) {
  case CC_FIELD128_M127: return m127_mul(a, b);
  case CC_FIELD128_FOLD: return fold_mul(f, a, b);
  case CC_FIELD128_MONT: return mont_mul(f, a, b);
  default: return plain_mul(f, a, b);
  }
}

/* Calls BODY(kind) with the kind as a constant, so that each always-inline
 * body is compiled once per reduction without a switch in its loops. */
#define BY_KIND(f, BODY)                                                   \
  do {                                                                     \
    switch ((f)->kind) {                                                   \
    case CC_FIELD128_M127: BODY(CC_FIELD128_M127); break;                  \
    case CC_FIELD128_FOLD: BODY(CC_FIELD128_FOLD); break;                  \
    case CC_FIELD128_MONT: BODY(CC_FIELD128_MONT); break;                  \
    default: BODY(CC_FIELD128_PLAIN); break;                               \
    }                                                                      \
  } while (0)

#define GET(w, i) cc_field128_get((w), (i))
#define SET(w, i, x) cc_field128_set((w), (i), (x))

/* ==== Setup and the order check ========================================= */

static int bit_length(u128 x) {
  int b = 0;
  while (x) { b++; x >>= 1; }
  return b;
}

size_t cc_field128_format(char *buf, cc_u128 x) {
  char tmp[40];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + (int)(x % 10));
    x /= 10;
  } while (x);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

int cc_field128_parse(const char *s, size_t len, cc_u128 *x) {
  unsigned base = 10;
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    len -= 2;
  }
  if (len == 0) return -1;
  u128 v = 0;
  const u128 max = ~(u128)0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    unsigned d;
    if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
    else if (base == 16 && ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
    else if (base == 16 && ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
    else return -1;
    if (v > (max - d) / base) return -1; /* v * base + d would reach 2^128 */
    v = v * base + d;
  }
  *x = v;
  return 0;
}

void cc_field128_setup(cc_field128 *f, uint64_t order_lo, uint64_t order_hi) {
  u128 p = cc_u128_make(order_lo, order_hi);
  memset(f, 0, sizeof *f);
  f->p = p;
  f->bits = bit_length(p);
  f->half = (p - 1) / 2;
  if (p == MASK127) {
    f->kind = CC_FIELD128_M127;
    return;
  }
  if (f->bits > 96) {
    unsigned k = (unsigned)f->bits;
    u128 c = (k == 128 ? (u128)0 : (u128)1 << k) - p; /* 2^k - p mod 2^128 */
    if (c < ((u128)1 << 32) && (c << (128 - k)) < ((u128)1 << 32)) {
      f->c = LO(c);
      f->cr = LO(c << (128 - k));
      f->kind = CC_FIELD128_FOLD;
      return;
    }
  }
  if (p & 1) {
    uint64_t p0 = LO(p), inv = p0; /* correct to 3 bits; each step doubles */
    for (int i = 0; i < 6; i++) inv *= 2 - p0 * inv;
    f->pinv = (uint64_t)0 - inv;
    u128 r = ((u128)0 - p) % p; /* 2^128 mod p */
    for (int i = 0; i < 128; i++) r = addmod(p, r, r);
    f->r2 = r;
    f->kind = CC_FIELD128_MONT;
    return;
  }
  f->kind = CC_FIELD128_PLAIN;
}

/* Square and multiply in the domain, so MONT pays one REDC per product. */
ALWAYS_INLINE u128 pow_k(const cc_field128 *f, kind_t k, u128 a, u128 e) {
  u128 base = to_dom(f, k, a);
  u128 acc = to_dom(f, k, 1 % f->p);
  while (e) {
    if (e & 1) acc = dmul(f, k, acc, base);
    base = dmul(f, k, base, base);
    e >>= 1;
  }
  return k == CC_FIELD128_MONT ? mont_mul(f, acc, 1) : acc;
}

cc_u128 cc_field128_pow1(const cc_field128 *f, cc_u128 a, cc_u128 e) {
  u128 r = 0;
#define BODY(K) r = pow_k(f, K, a, e)
  BY_KIND(f, BODY);
#undef BODY
  return r;
}

cc_u128 cc_field128_mul1(const cc_field128 *f, cc_u128 a, cc_u128 b) {
  u128 r = 0;
#define BODY(K) r = dmul(f, K, to_dom(f, K, a), b)
  BY_KIND(f, BODY);
#undef BODY
  return r;
}

cc_u128 cc_field128_inv1(const cc_field128 *f, cc_u128 a) {
  return cc_field128_pow1(f, a, f->p - 2);
}

cc_u128 cc_field128_reduce1(const cc_field128 *f, cc_u128 x) {
  switch (f->kind) {
  case CC_FIELD128_M127: return m127_fold(x);
  case CC_FIELD128_FOLD: return fold_final(f, x);
  default:
    if (x < f->p) return x; /* e.g. Shamir indices, checked pairwise */
    if (f->bits == 128) return x - f->p; /* x < 2^128 < 2p */
    return x % f->p;
  }
}

cc_u128 cc_field128_from_i64_1(const cc_field128 *f, int64_t x) {
  if (x >= 0) return cc_field128_reduce1(f, (u128)(uint64_t)x);
  u128 m = cc_field128_reduce1(f, (u128)((uint64_t)0 - (uint64_t)x));
  return m ? f->p - m : 0;
}

static int witness_passes(const cc_field128 *f, u128 a, u128 d, int s) {
  u128 n1 = f->p - 1;
  u128 x = cc_field128_pow1(f, a, d);
  if (x == 1 || x == n1) return 1;
  for (int i = 1; i < s; i++) {
    x = cc_field128_mul1(f, x, x);
    if (x == n1) return 1;
  }
  return 0;
}

/* The first 40 primes; the first 13 decide every n below psi13 =
 * 3317044064679887385961981, the least strong pseudoprime to all of them. */
static const uint8_t mr_bases[40] = {
  2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
  73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151,
  157, 163, 167, 173};

int cc_field128_is_prime(uint64_t n_lo, uint64_t n_hi) {
  if (n_hi == 0) return cc_field_is_prime(n_lo);
  u128 n = cc_u128_make(n_lo, n_hi);
  for (size_t i = 0; i < sizeof mr_bases; i++)
    if (n % mr_bases[i] == 0) return 0;
  u128 d = n - 1;
  int s = 0;
  while ((d & 1) == 0) { d >>= 1; s++; }
  /* The reductions are valid for any odd modulus of their shape. */
  cc_field128 f;
  cc_field128_setup(&f, n_lo, n_hi);
  const u128 psi13 = cc_u128_make(UINT64_C(0x51ADC5B22410A5FD), 0x2BE69);
  size_t nbases = n < psi13 ? 13 : sizeof mr_bases;
  for (size_t i = 0; i < nbases; i++)
    if (!witness_passes(&f, mr_bases[i], d, s)) return 0;
  return 1;
}

int cc_field128_check_order(uint64_t order_lo, uint64_t order_hi, char *err,
                            size_t errsz) {
  /* Codecs may call this for every array they decode: remember the last
   * prime seen by this thread so that the common case costs a comparison. */
  static _Thread_local u128 last_prime;
  u128 order = cc_u128_make(order_lo, order_hi);
  char dec[40];
  if (order != 0 && order == last_prime) return 0;
  if (order < 2) {
    cc_field128_format(dec, order);
    if (errsz) snprintf(err, errsz, "field order %s is not a prime >= 2", dec);
    return -1;
  }
  if (!cc_field128_is_prime(order_lo, order_hi)) {
    cc_field128_format(dec, order);
    if (errsz) snprintf(err, errsz, "field order %s is not prime", dec);
    return -1;
  }
  last_prime = order;
  return 0;
}

int cc_field128_init(cc_field128 *f, uint64_t order_lo, uint64_t order_hi,
                     char *err, size_t errsz) {
  if (cc_field128_check_order(order_lo, order_hi, err, errsz) != 0) return -1;
  cc_field128_setup(f, order_lo, order_hi);
  return 0;
}

/* ==== Element-wise kernels ============================================== */

void cc_field128_add(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) SET(out, i, addmod(p, GET(a, i), GET(b, i)));
}

void cc_field128_sub(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) SET(out, i, submod(p, GET(a, i), GET(b, i)));
}

void cc_field128_neg(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) {
    u128 x = GET(a, i);
    SET(out, i, (p - x) & MASK(x != 0));
  }
}

ALWAYS_INLINE void mul_k(const cc_field128 *f, kind_t k, uint64_t *out,
                         const uint64_t *a, const uint64_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    SET(out, i, dmul(f, k, to_dom(f, k, GET(a, i)), GET(b, i)));
}

void cc_field128_mul(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n) {
  const cc_field128 fl = *f; /* keep the constants out of out's reach */
#define BODY(K) mul_k(&fl, K, out, a, b, n)
  BY_KIND(&fl, BODY);
#undef BODY
}

ALWAYS_INLINE void mul_scalar_k(const cc_field128 *f, kind_t k, uint64_t *out,
                                const uint64_t *a, u128 sd, size_t n) {
  for (size_t i = 0; i < n; i++) SET(out, i, dmul(f, k, GET(a, i), sd));
}

void cc_field128_mul_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n) {
  const cc_field128 fl = *f;
  if (s == 1 % fl.p) { /* e.g. the unit weights of a sum of shares */
    if (out != a) memmove(out, a, 2 * n * sizeof *out);
    return;
  }
#define BODY(K) mul_scalar_k(&fl, K, out, a, to_dom(&fl, K, s), n)
  BY_KIND(&fl, BODY);
#undef BODY
}

void cc_field128_add_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) SET(out, i, addmod(p, GET(a, i), s));
}

void cc_field128_sub_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) SET(out, i, submod(p, GET(a, i), s));
}

void cc_field128_rsub_scalar(const cc_field128 *f, uint64_t *out, cc_u128 s,
                             const uint64_t *a, size_t n) {
  const u128 p = f->p;
  for (size_t i = 0; i < n; i++) SET(out, i, submod(p, s, GET(a, i)));
}

cc_u128 cc_field128_sum(const cc_field128 *f, const uint64_t *a, size_t n) {
  const u128 p = f->p;
  u128 acc = 0;
  for (size_t i = 0; i < n; i++) acc = addmod(p, acc, GET(a, i));
  return acc;
}

/* For M127 the products are summed lazily as in lincomb_arrays_k. */
ALWAYS_INLINE u128 dot_k(const cc_field128 *f, kind_t k, const uint64_t *a,
                         const uint64_t *b, size_t n) {
  u128 acc = 0;
  if (k == CC_FIELD128_M127 && n < ((size_t)1 << 62)) {
    m127_acc m = {0, 0, 0};
    for (size_t i = 0; i < n; i++) m127_acc_add(&m, GET(a, i), GET(b, i));
    return m127_acc_value(&m);
  }
  if (k == CC_FIELD128_MONT) {
    /* Sum the REDC(a b) = a b / R and fix the factor once at the end:
     * one Montgomery product per element instead of two. */
    for (size_t i = 0; i < n; i++)
      acc = addmod(f->p, acc, mont_mul(f, GET(a, i), GET(b, i)));
    return mont_mul(f, acc, f->r2);
  }
  for (size_t i = 0; i < n; i++)
    acc = addmod(f->p, acc, dmul(f, k, to_dom(f, k, GET(a, i)), GET(b, i)));
  return acc;
}

cc_u128 cc_field128_dot(const cc_field128 *f, const uint64_t *a,
                        const uint64_t *b, size_t n) {
  const cc_field128 fl = *f;
  u128 r = 0;
#define BODY(K) r = dot_k(&fl, K, a, b, n)
  BY_KIND(&fl, BODY);
#undef BODY
  return r;
}

void cc_field128_matvec(const cc_field128 *f, uint64_t *out, const uint64_t *A,
                        const uint64_t *x, size_t m, size_t k) {
  for (size_t i = 0; i < m; i++)
    SET(out, i, cc_field128_dot(f, A + 2 * i * k, x, k));
}

/* Horner's rule from the most significant bit: acc = 2 acc + bit. */
void cc_field128_bit_compose(const cc_field128 *f, uint64_t *out,
                             const uint64_t *bits, size_t m, size_t k) {
  const u128 p = f->p;
  for (size_t i = 0; i < m; i++) {
    const uint64_t *row = bits + 2 * i * k;
    u128 acc = 0;
    for (size_t j = 0; j < k; j++)
      acc = addmod(p, addmod(p, acc, acc), GET(row, j));
    SET(out, i, acc);
  }
}

void cc_field128_shift_right(uint64_t *out, const uint64_t *a, unsigned s,
                             size_t n) {
  for (size_t i = 0; i < n; i++) SET(out, i, GET(a, i) >> s);
}

ALWAYS_INLINE void pow_arr_k(const cc_field128 *f, kind_t k, uint64_t *out,
                             const uint64_t *a, u128 e, size_t n) {
  for (size_t i = 0; i < n; i++) SET(out, i, pow_k(f, k, GET(a, i), e));
}

void cc_field128_pow(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     cc_u128 e, size_t n) {
  const cc_field128 fl = *f;
#define BODY(K) pow_arr_k(&fl, K, out, a, e, n)
  BY_KIND(&fl, BODY);
#undef BODY
}

/* Montgomery's trick: prefix products, one inversion, then walk back. The
 * walk reads a[i] before writing out[i], so out == a is fine. */
int cc_field128_inv(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                    size_t n, size_t *zero_index) {
  for (size_t i = 0; i < n; i++) {
    if (GET(a, i) == 0) {
      if (zero_index) *zero_index = i;
      return CC_FIELD_EZERO;
    }
  }
  if (n == 0) return CC_FIELD_OK;
  const cc_field128 fl = *f;
  u128 *pre = malloc(n * sizeof *pre);
  if (!pre) return CC_FIELD_ENOMEM;
  pre[0] = GET(a, 0);
  for (size_t i = 1; i < n; i++) pre[i] = cc_field128_mul1(&fl, pre[i - 1], GET(a, i));
  u128 inv = cc_field128_inv1(&fl, pre[n - 1]);
  for (size_t i = n - 1; i > 0; i--) {
    u128 ai = GET(a, i);
    SET(out, i, cc_field128_mul1(&fl, inv, pre[i - 1]));
    inv = cc_field128_mul1(&fl, inv, ai);
  }
  SET(out, 0, inv);
  free(pre);
  return CC_FIELD_OK;
}

void cc_field128_from_i64(const cc_field128 *f, uint64_t *out,
                          const int64_t *x, size_t n) {
  for (size_t i = 0; i < n; i++) SET(out, i, cc_field128_from_i64_1(f, x[i]));
}

void cc_field128_reduce(const cc_field128 *f, uint64_t *out, const uint64_t *x,
                        size_t n) {
  for (size_t i = 0; i < n; i++) SET(out, i, cc_field128_reduce1(f, GET(x, i)));
}

int cc_field128_equal(const uint64_t *a, const uint64_t *b, size_t n) {
  return n == 0 || memcmp(a, b, 2 * n * sizeof *a) == 0;
}

size_t cc_field128_first_noncanonical(const cc_field128 *f, const uint64_t *a,
                                      size_t n) {
  for (size_t i = 0; i < n; i++)
    if (GET(a, i) >= f->p) return i;
  return n;
}

/* ==== Lagrange and Shamir =============================================== */

int cc_field128_check_indices(const cc_field128 *f, const uint64_t *x,
                              size_t r, char *err, size_t errsz) {
  for (size_t j = 0; j < r; j++) {
    u128 xj = cc_field128_reduce1(f, GET(x, j));
    if (xj == 0) {
      if (errsz) snprintf(err, errsz, "index %zu is zero modulo the field order",
                          j + 1);
      return CC_FIELD_EINVAL;
    }
    for (size_t m = 0; m < j; m++) {
      if (cc_field128_reduce1(f, GET(x, m)) == xj) {
        char dec[40];
        cc_field128_format(dec, xj);
        if (errsz) snprintf(err, errsz, "indices %zu and %zu are the same (%s)",
                            m + 1, j + 1, dec);
        return CC_FIELD_EINVAL;
      }
    }
  }
  return CC_FIELD_OK;
}

int cc_field128_lagrange0(const cc_field128 *f, uint64_t *lambda,
                          const uint64_t *x, size_t r, char *err, size_t errsz) {
  int rc = cc_field128_check_indices(f, x, r, err, errsz);
  if (rc != CC_FIELD_OK || r == 0) return rc;
  const cc_field128 fl = *f;
  uint64_t *den = malloc(2 * r * sizeof *den);
  if (!den) {
    if (errsz) snprintf(err, errsz, "out of memory");
    return CC_FIELD_ENOMEM;
  }
  const u128 one = 1 % fl.p;
  for (size_t j = 0; j < r; j++) {
    u128 xj = cc_field128_reduce1(&fl, GET(x, j)), num = one, d = one;
    for (size_t m = 0; m < r; m++) {
      if (m == j) continue;
      u128 xm = cc_field128_reduce1(&fl, GET(x, m));
      num = cc_field128_mul1(&fl, num, xm);
      d = cc_field128_mul1(&fl, d, submod(fl.p, xm, xj));
    }
    SET(lambda, j, num);
    SET(den, j, d);
  }
  rc = cc_field128_inv(&fl, den, den, r, NULL); /* nonzero: distinct indices */
  if (rc == CC_FIELD_OK) {
    cc_field128_mul(&fl, lambda, lambda, den, r);
  } else if (errsz) {
    snprintf(err, errsz, "out of memory");
  }
  free(den);
  return rc;
}

ALWAYS_INLINE void axpy_k(const cc_field128 *f, kind_t k, uint64_t *out,
                          u128 wd, const uint64_t *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    SET(out, i, addmod(f->p, GET(out, i), dmul(f, k, GET(x, i), wd)));
}

void cc_field128_axpy(const cc_field128 *f, uint64_t *out, cc_u128 w,
                      const uint64_t *x, size_t n) {
  const cc_field128 fl = *f;
  if (w == 1 % fl.p) { /* sums of shares: no products */
    cc_field128_add(&fl, out, out, x, n);
    return;
  }
#define BODY(K) axpy_k(&fl, K, out, to_dom(&fl, K, w), x, n)
  BY_KIND(&fl, BODY);
#undef BODY
}

/* The r products of element i, summed: wd holds the weights in the domain
 * (without have_wd, when there was no memory for them, each use converts).
 * For M127 each product is folded once, to below 2^128, and the sum is kept
 * in three words (m127_acc; r < 2^62): one final reduction per element
 * instead of one per product and one per addition. Every xs[j][i] is read
 * before out[i] is written, so out may be one of the xs. */
ALWAYS_INLINE void lincomb_arrays_k(const cc_field128 *f, kind_t k,
                                    uint64_t *out, const uint64_t *w,
                                    const u128 *wd, int have_wd,
                                    const uint64_t *const *xs, size_t r,
                                    size_t n) {
#define WEIGHT(j) (have_wd ? wd[j] : to_dom(f, k, GET(w, j)))
  for (size_t i = 0; i < n; i++) {
    u128 acc = 0;
    if (k == CC_FIELD128_M127) {
      m127_acc m = {0, 0, 0};
      if (r == 2 || r == 3) { /* no loop: gcc does not unroll it */
        m127_acc_add(&m, GET(xs[0], i), WEIGHT(0));
        m127_acc_add(&m, GET(xs[1], i), WEIGHT(1));
        if (r == 3) m127_acc_add(&m, GET(xs[2], i), WEIGHT(2));
      } else {
        for (size_t j = 0; j < r; j++) m127_acc_add(&m, GET(xs[j], i), WEIGHT(j));
      }
      acc = m127_acc_value(&m);
    } else if (r == 2 || r == 3) {
      acc = addmod(f->p, dmul(f, k, GET(xs[0], i), WEIGHT(0)),
                   dmul(f, k, GET(xs[1], i), WEIGHT(1)));
      if (r == 3) acc = addmod(f->p, acc, dmul(f, k, GET(xs[2], i), WEIGHT(2)));
    } else {
      for (size_t j = 0; j < r; j++)
        acc = addmod(f->p, acc, dmul(f, k, GET(xs[j], i), WEIGHT(j)));
    }
    SET(out, i, acc);
  }
#undef WEIGHT
}

/* ---- M127 linear combinations by weight class -------------------------
 *
 * The suites' weights are often tiny: Lagrange weights at 0 over the
 * indices 1, 2, 3 are 3, -3 and 1, the sums of dealt shares use 1. A weight
 * 1 or -1 needs no product (-x is x ^ (2^127 - 1) for canonical x), one of
 * a single word c or -c two partial products instead of four, and one of
 * 2^e or -2^e beyond a word none: 2^127 = 1, so x 2^e is x rotated by e
 * bits within 127 (1/2 = 2^126 is a Lagrange weight of the indices 1 and 2,
 * in every dealing by the player of index 1 to the others). Each term of a sum is folded once to
 * below 2^128 and added into three words as in m127_acc_add; the class of
 * each weight is fixed for the whole array, so the branch on it is always
 * predicted. Written apart from the generic kernels so that the loop's few
 * words stay in registers. */
enum { WC_ONE, WC_NEG_ONE, WC_POW2, WC_NEG_POW2, WC_WORD, WC_NEG_WORD, WC_FULL };

typedef struct {
  int cls;
  uint64_t c;     /* |w| for WC_WORD, WC_NEG_WORD; e of |w| = 2^e for WC_POW2,
                     WC_NEG_POW2 (64 <= e <= 126) */
  uint64_t w0, w1; /* w for WC_FULL */
} m127_weight;

static m127_weight m127_classify(u128 w) {
  m127_weight k = {WC_FULL, 0, LO(w), HI(w)};
  u128 neg = MASK127 - w; /* w canonical */
  if (w == 1) k.cls = WC_ONE;
  else if (neg == 1) k.cls = WC_NEG_ONE;
  else if (HI(w) == 0) { k.cls = WC_WORD; k.c = LO(w); }
  else if (HI(neg) == 0) { k.cls = WC_NEG_WORD; k.c = LO(neg); }
  /* Beyond a word (a word's product measured as fast as a rotation) */
  else if ((w & (w - 1)) == 0) { k.cls = WC_POW2; k.c = (uint64_t)bit_length(w) - 1; }
  else if ((neg & (neg - 1)) == 0) { k.cls = WC_NEG_POW2; k.c = (uint64_t)bit_length(neg) - 1; }
  return k;
}

/* w x for a canonical x, folded once: r1 2^64 + r0 < 2^128, congruent. */
ALWAYS_INLINE void m127_term(const m127_weight *k, uint64_t x0, uint64_t x1,
                             uint64_t *r0, uint64_t *r1) {
  switch (k->cls) {
  case WC_ONE:
    *r0 = x0;
    *r1 = x1;
    return;
  case WC_NEG_ONE:
    *r0 = ~x0;
    *r1 = x1 ^ M63;
    return;
  case WC_NEG_POW2: /* w x = 2^e (p - x) */
    x0 = ~x0;
    x1 ^= M63;
    /* fall through */
  case WC_POW2: { /* x rotated by e within 127 bits: below 2^127 */
    u128 x = cc_u128_make(x0, x1), y = ((x << k->c) | (x >> (127 - k->c))) & MASK127;
    *r0 = LO(y);
    *r1 = HI(y);
    return;
  }
  case WC_NEG_WORD: /* w x = c (p - x) */
    x0 = ~x0;
    x1 ^= M63;
    /* fall through */
  case WC_WORD: { /* y = c x < 2^191: (y mod 2^127) + (y >> 127) < 2^128 */
    uint64_t y0, y1, y2;
    mul_by_word(cc_u128_make(x0, x1), k->c, &y0, &y1, &y2);
    uint64_t h = (y2 << 1) | (y1 >> 63);
    *r0 = y0 + h;
    *r1 = (y1 & M63) + (*r0 < y0);
    return;
  }
  default:
    m127_mul_lazy(cc_u128_make(x0, x1), cc_u128_make(k->w0, k->w1), r0, r1);
  }
}

/* One term over a block: acc[i] += w x[i] (set, when first), the class
 * a constant in each instance. */
ALWAYS_INLINE void m127_pass(int cls, const m127_weight *k, const uint64_t *x,
                             uint64_t *a0, uint64_t *a1, uint64_t *a2,
                             size_t m, int first) {
  const m127_weight kl = {cls, k->c, k->w0, k->w1};
  for (size_t i = 0; i < m; i++) {
    uint64_t r0, r1;
    m127_term(&kl, x[2 * i], x[2 * i + 1], &r0, &r1);
    if (first) {
      a0[i] = r0;
      a1[i] = r1;
      a2[i] = 0;
    } else {
      m127_acc acc = {a0[i], a1[i], a2[i]};
      m127_acc_add_words(&acc, r0, r1);
      a0[i] = acc.s0;
      a1[i] = acc.s1;
      a2[i] = acc.s2;
    }
  }
}

#define M127_BLOCK 256

/* The r <= 4 terms of an element in registers, each term's class a
 * constant (C0..C3), one reduction and one store per element: the
 * truncation's two-term high parts (1 and a word, a power of two or a full
 * weight) without the block passes' stores of the three sum words per term
 * (4.6 -> 3.8 ns an element for 1 and a word; four terms measured slower
 * than the passes). Every xs[j][i] is read before out[i] is written. */
ALWAYS_INLINE void m127_lincomb_regs(uint64_t *out, const m127_weight *wk,
                                     const uint64_t *const *xs, size_t r, int c0, int c1,
                                     int c2, int c3, size_t n) {
  const int cls[4] = {c0, c1, c2, c3};
  m127_weight k[4];
  const uint64_t *x[4] = {NULL, NULL, NULL, NULL};
  for (size_t j = 0; j < r; j++) {
    k[j] = wk[j];
    k[j].cls = cls[j];
    x[j] = xs[j];
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t r0, r1;
    m127_term(&k[0], x[0][2 * i], x[0][2 * i + 1], &r0, &r1);
    m127_acc acc = {r0, r1, 0};
    for (size_t j = 1; j < r; j++) {
      m127_term(&k[j], x[j][2 * i], x[j][2 * i + 1], &r0, &r1);
      m127_acc_add_words(&acc, r0, r1);
    }
    SET(out, i, m127_acc_value(&acc));
  }
}

/* ---- AVX-512 IFMA kernels for 2^127 - 1 ---------------------------------
 *
 * Eight elements at a time in 512-bit vectors (zmm: measured faster than
 * four in ymm, the whole multiply_1m_f128 included, see
 * docs/benchmark.md), each element in three 64-bit lanes of radix
 * 2^52 (limbs l0 + l1 2^52 + l2 2^104). Limbs grow lazily: sums need no
 * carries, products (vpmadd52luq/vpmadd52huq take 52-bit limbs) are folded
 * once with 2^127 = 1, and one reduction per element makes the canonical
 * value. Every result is the canonical residue of the same sum as the
 * scalar kernels compute, so the two paths agree bit for bit; elements
 * past the last multiple of eight go to the scalar loops. Chosen at run
 * time (m127_simd): the same binary runs the scalar code on a CPU without
 * IFMA, or when the environment sets CICADA_NO_SIMD. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define M127_IFMA 1
#include <immintrin.h>

#define IFMA_TARGET __attribute__((target("avx512f,avx512ifma")))
#define IFMA_INLINE static inline __attribute__((always_inline)) IFMA_TARGET

typedef struct { __m512i l0, l1, l2; } m127_v3;

#define V_M52 _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - 1))
#define V_M23 _mm512_set1_epi64((long long)((UINT64_C(1) << 23) - 1))

/* Eight interleaved elements at p (any alignment) as their low and high
 * words; the lanes hold the elements 0, 4, 1, 5, 2, 6, 3, 7, which
 * m127_v_store puts back in place. */
IFMA_INLINE void m127_v_load(const void *p, __m512i *lo, __m512i *hi) {
  __m512i x = _mm512_loadu_si512((const void *)p);
  __m512i y = _mm512_loadu_si512((const void *)((const uint8_t *)p + 64));
  *lo = _mm512_unpacklo_epi64(x, y);
  *hi = _mm512_unpackhi_epi64(x, y);
}

IFMA_INLINE void m127_v_store(void *p, __m512i lo, __m512i hi) {
  _mm512_storeu_si512((void *)p, _mm512_unpacklo_epi64(lo, hi));
  _mm512_storeu_si512((void *)((uint8_t *)p + 64), _mm512_unpackhi_epi64(lo, hi));
}

/* 128-bit words to limbs (l2 < 2^24). */
IFMA_INLINE m127_v3 m127_v_limbs(__m512i lo, __m512i hi) {
  m127_v3 x;
  x.l0 = _mm512_and_si512(lo, V_M52);
  x.l1 = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(lo, 52), _mm512_slli_epi64(hi, 12)),
                          V_M52);
  x.l2 = _mm512_srli_epi64(hi, 40);
  return x;
}

IFMA_INLINE m127_v3 m127_v_load_limbs(const void *p) {
  __m512i lo, hi;
  m127_v_load(p, &lo, &hi);
  return m127_v_limbs(lo, hi);
}

IFMA_INLINE m127_v3 m127_v_add(m127_v3 a, m127_v3 b) {
  a.l0 = _mm512_add_epi64(a.l0, b.l0);
  a.l1 = _mm512_add_epi64(a.l1, b.l1);
  a.l2 = _mm512_add_epi64(a.l2, b.l2);
  return a;
}

IFMA_INLINE m127_v3 m127_v_sub(m127_v3 a, m127_v3 b) {
  a.l0 = _mm512_sub_epi64(a.l0, b.l0);
  a.l1 = _mm512_sub_epi64(a.l1, b.l1);
  a.l2 = _mm512_sub_epi64(a.l2, b.l2);
  return a;
}

/* x + y for eight elements at each of x and y, canonical (so that the sum
 * stays below 2^128), added in words and then split into limbs. */
IFMA_INLINE m127_v3 m127_v_load_sum(const uint64_t *x, const uint64_t *y) {
  __m512i xlo, xhi, ylo, yhi;
  m127_v_load(x, &xlo, &xhi);
  m127_v_load(y, &ylo, &yhi);
  __m512i lo = _mm512_add_epi64(xlo, ylo), hi = _mm512_add_epi64(xhi, yhi);
  hi = _mm512_mask_sub_epi64(hi, _mm512_cmplt_epu64_mask(lo, xlo), hi, _mm512_set1_epi64(-1));
  return m127_v_limbs(lo, hi);
}

/* x ^ (2^127 - 1) on the 128 bits, limb by limb: p - x for a canonical x. */
IFMA_INLINE m127_v3 m127_v_flip(m127_v3 x) {
  x.l0 = _mm512_xor_si512(x.l0, V_M52);
  x.l1 = _mm512_xor_si512(x.l1, V_M52);
  x.l2 = _mm512_xor_si512(x.l2, V_M23);
  return x;
}

/* 8p - x, congruent to -x, for limbs x0, x1 < 2^55 - 8, x2 < 2^26 - 8
 * (a product of m127_v_mul). */
IFMA_INLINE m127_v3 m127_v_neg(m127_v3 x) {
  x.l0 = _mm512_sub_epi64(_mm512_slli_epi64(V_M52, 3), x.l0);
  x.l1 = _mm512_sub_epi64(_mm512_slli_epi64(V_M52, 3), x.l1);
  x.l2 = _mm512_sub_epi64(_mm512_slli_epi64(V_M23, 3), x.l2);
  return x;
}

/* Carries up: l0, l1 < 2^52, the value unchanged. */
IFMA_INLINE m127_v3 m127_v_norm(m127_v3 x) {
  x.l1 = _mm512_add_epi64(x.l1, _mm512_srli_epi64(x.l0, 52));
  x.l0 = _mm512_and_si512(x.l0, V_M52);
  x.l2 = _mm512_add_epi64(x.l2, _mm512_srli_epi64(x.l1, 52));
  x.l1 = _mm512_and_si512(x.l1, V_M52);
  return x;
}

/* The canonical value of limbs below 2^63 each, as low and high words.
 * One carry pass and one fold leave l0 < 2^53, l1 < 2^52, l2 < 2^23, a
 * value x below 2^127 + 2^53; in words, x >= 2^127 means a high word of
 * exactly 2^63 and a low word below 2^53, so x - p = the low word + 1
 * needs no carry; otherwise x <= p, and p stands for 0. */
IFMA_INLINE void m127_v_canon(m127_v3 x, __m512i *lo, __m512i *hi) {
  x = m127_v_norm(x);
  x.l0 = _mm512_add_epi64(x.l0, _mm512_srli_epi64(x.l2, 23));
  x.l2 = _mm512_and_si512(x.l2, V_M23);
  const __m512i m63 = _mm512_set1_epi64(INT64_MAX);
  __m512i up = _mm512_slli_epi64(x.l1, 52);
  __m512i w0 = _mm512_add_epi64(x.l0, up);
  __m512i w1 = _mm512_or_si512(_mm512_srli_epi64(x.l1, 12), _mm512_slli_epi64(x.l2, 40));
  w1 = _mm512_mask_sub_epi64(w1, _mm512_cmplt_epu64_mask(w0, up), w1,
                             _mm512_set1_epi64(-1)); /* the carry */
  w0 = _mm512_add_epi64(w0, _mm512_srli_epi64(w1, 63));
  w1 = _mm512_and_si512(w1, m63);
  __mmask8 isp = _mm512_mask_cmpeq_epi64_mask(_mm512_cmpeq_epi64_mask(w0, _mm512_set1_epi64(-1)),
                                              w1, m63);
  *lo = _mm512_maskz_mov_epi64((__mmask8)~isp, w0);
  *hi = _mm512_maskz_mov_epi64((__mmask8)~isp, w1);
}

/* A constant as limbs in every lane. */
IFMA_TARGET static m127_v3 m127_v_const(u128 c) {
  m127_v3 x;
  x.l0 = _mm512_set1_epi64((long long)(LO(c) & ((UINT64_C(1) << 52) - 1)));
  x.l1 = _mm512_set1_epi64((long long)(LO(c >> 52) & ((UINT64_C(1) << 52) - 1)));
  x.l2 = _mm512_set1_epi64((long long)LO(c >> 104));
  return x;
}

#define MADLO(acc, x, y) _mm512_madd52lo_epu64((acc), (x), (y))
#define MADHI(acc, x, y) _mm512_madd52hi_epu64((acc), (x), (y))

/* a * b folded once: a's limbs below 2^52 with a2 b2 < 2^52 (a2 < 2^25
 * for a canonical b), b the nb (1 to 3, a constant) limbs of a constant
 * below 2^128. The columns d0..d4 of weights 2^(52k) (each below 2^55)
 * are folded without carrying them: bits 23 and up of d2 weigh 2^127 = 1,
 * d3 2^156 = 2^29 and d4 2^208 = 2^81, so each is split at bit 23 and its
 * parts added to the limbs they land on. For canonical a, b the limbs are
 * below 2^53 + 2^32, 2^54 + 2^32 and 2^25. */
IFMA_INLINE m127_v3 m127_v_mul(m127_v3 a, m127_v3 b, int nb) {
  const __m512i z = _mm512_setzero_si512();
  __m512i d0, d1, d2, d3, d4;
  d0 = MADLO(z, a.l0, b.l0);
  d1 = MADHI(z, a.l0, b.l0);
  d1 = MADLO(d1, a.l1, b.l0);
  d2 = MADHI(z, a.l1, b.l0);
  d2 = MADLO(d2, a.l2, b.l0);
  d3 = MADHI(z, a.l2, b.l0);
  d4 = z;
  if (nb > 1) {
    d1 = MADLO(d1, a.l0, b.l1);
    d2 = MADHI(d2, a.l0, b.l1);
    d2 = MADLO(d2, a.l1, b.l1);
    d3 = MADHI(d3, a.l1, b.l1);
    d3 = MADLO(d3, a.l2, b.l1);
    d4 = MADHI(d4, a.l2, b.l1);
  }
  if (nb > 2) { /* a2 b2 < 2^52: no high part */
    d2 = MADLO(d2, a.l0, b.l2);
    d3 = MADHI(d3, a.l0, b.l2);
    d3 = MADLO(d3, a.l1, b.l2);
    d4 = MADHI(d4, a.l1, b.l2);
    d4 = MADLO(d4, a.l2, b.l2);
  }
  m127_v3 r;
  r.l0 = _mm512_add_epi64(_mm512_add_epi64(d0, _mm512_srli_epi64(d2, 23)),
                          _mm512_slli_epi64(_mm512_and_si512(d3, V_M23), 29));
  r.l1 = _mm512_add_epi64(_mm512_add_epi64(d1, _mm512_srli_epi64(d3, 23)),
                          _mm512_slli_epi64(_mm512_and_si512(d4, V_M23), 29));
  r.l2 = _mm512_add_epi64(_mm512_and_si512(d2, V_M23), _mm512_srli_epi64(d4, 23));
  return r;
}

/* The limbs of a constant below 2^128 that a product needs (1 to 3). */
static int m127_v_nlimbs(u128 c) { return c >> 104 ? 3 : c >> 52 ? 2 : 1; }

/* cc_field128_mul_signed_sum's shape of a product with three terms:
 * out[i] = pw a[i] b[i] + s + sum_j (+-xs[j][i]) for i < n - n % 8;
 * cls says how pw is applied (WC_ONE: not at all, WC_NEG_ONE: negated,
 * WC_WORD / WC_NEG_WORD: a product by c = |pw| of nb limbs then negated
 * for WC_NEG_WORD, otherwise a product by pw of nb limbs). */
IFMA_INLINE void m127_v_mul_signed_sum_k(uint64_t *out, const uint64_t *a, const uint64_t *b,
                                         int cls, u128 c, int nb, const bool *neg,
                                         const uint64_t *const *xs, u128 s, size_t n) {
  const m127_v3 cv = m127_v_const(c), sv = m127_v_const(s);
  const uint64_t *x0 = xs[0], *x1 = xs[1], *x2 = xs[2];
  const __m512i f0 = neg[0] ? _mm512_set1_epi64(-1) : _mm512_setzero_si512();
  const __m512i f1 = neg[1] ? _mm512_set1_epi64(-1) : _mm512_setzero_si512();
  const __m512i f2 = neg[2] ? _mm512_set1_epi64(-1) : _mm512_setzero_si512();
#define FLIPIF(v, f)                                                       \
  do {                                                                     \
    (v).l0 = _mm512_xor_si512((v).l0, _mm512_and_si512((f), V_M52));       \
    (v).l1 = _mm512_xor_si512((v).l1, _mm512_and_si512((f), V_M52));       \
    (v).l2 = _mm512_xor_si512((v).l2, _mm512_and_si512((f), V_M23));       \
  } while (0)
  for (size_t i = 0; i + 8 <= n; i += 8) {
    m127_v3 t = m127_v_mul(m127_v_load_limbs(a + 2 * i), m127_v_load_limbs(b + 2 * i), 3);
    if (cls == WC_NEG_ONE) {
      t = m127_v_neg(t);
    } else if (cls != WC_ONE) {
      t = m127_v_mul(m127_v_norm(t), cv, nb);
      if (cls == WC_NEG_WORD) t = m127_v_neg(t);
    }
    m127_v3 y0 = m127_v_load_limbs(x0 + 2 * i), y1 = m127_v_load_limbs(x1 + 2 * i),
            y2 = m127_v_load_limbs(x2 + 2 * i);
    FLIPIF(y0, f0);
    FLIPIF(y1, f1);
    FLIPIF(y2, f2);
    t = m127_v_add(m127_v_add(t, sv), m127_v_add(m127_v_add(y0, y1), y2));
    __m512i lo, hi;
    m127_v_canon(t, &lo, &hi);
    m127_v_store(out + 2 * i, lo, hi);
  }
#undef FLIPIF
}

#define M127_V_MSS(C, NB)                                                  \
  IFMA_TARGET static void m127_v_mss_##C##_##NB(uint64_t *out, const uint64_t *a, \
                                                const uint64_t *b, u128 c, const bool *neg, \
                                                const uint64_t *const *xs, u128 s, size_t n) { \
    m127_v_mul_signed_sum_k(out, a, b, C, c, NB, neg, xs, s, n);           \
  }
M127_V_MSS(WC_ONE, 1)
M127_V_MSS(WC_NEG_ONE, 1)
M127_V_MSS(WC_WORD, 1)
M127_V_MSS(WC_WORD, 2)
M127_V_MSS(WC_NEG_WORD, 1)
M127_V_MSS(WC_NEG_WORD, 2)
M127_V_MSS(WC_FULL, 3)
#undef M127_V_MSS

/* The vector part of mul_signed_sum for a product and three terms: the
 * elements below n - n % 8 done, for any pw. */
static void m127_v_mul_signed_sum(uint64_t *out, const uint64_t *a, const uint64_t *b,
                                  const m127_weight *k, u128 pw, const bool *neg,
                                  const uint64_t *const *xs, u128 s, size_t n) {
  switch (k->cls) {
  case WC_ONE: m127_v_mss_WC_ONE_1(out, a, b, 1, neg, xs, s, n); return;
  case WC_NEG_ONE: m127_v_mss_WC_NEG_ONE_1(out, a, b, 1, neg, xs, s, n); return;
  case WC_WORD:
  case WC_NEG_WORD: {
    bool one = m127_v_nlimbs(k->c) == 1;
    if (k->cls == WC_WORD) {
      if (one) m127_v_mss_WC_WORD_1(out, a, b, k->c, neg, xs, s, n);
      else m127_v_mss_WC_WORD_2(out, a, b, k->c, neg, xs, s, n);
    } else {
      if (one) m127_v_mss_WC_NEG_WORD_1(out, a, b, k->c, neg, xs, s, n);
      else m127_v_mss_WC_NEG_WORD_2(out, a, b, k->c, neg, xs, s, n);
    }
    return;
  }
  default: m127_v_mss_WC_FULL_3(out, a, b, pw, neg, xs, s, n); return;
  }
}

/* m127_unmask_3_2_2_k for i < n - n % 8 (see there), c below 2^64 in nb
 * limbs. The sum of the shares is reduced to canonical before its shift,
 * as in the scalar loop; *over gets bit 63 set when a checked share is
 * p or more. */
IFMA_INLINE void m127_v_unmask_k(uint64_t *out, const uint8_t *const *cs, int checked,
                                 uint64_t *over, unsigned bits, u128 ns,
                                 const uint64_t *const *y1, const uint64_t *const *yc,
                                 uint64_t c, int nb, size_t n) {
  const uint8_t *c0 = cs[0], *c1 = cs[1], *c2 = cs[2];
  const uint64_t *u0 = y1[0], *u1 = y1[1], *v0 = yc[0], *v1 = yc[1];
  const m127_v3 cv = m127_v_const(c), p4 = m127_v_neg(m127_v_const(0)) /* 8p */;
  m127_v3 nsv4 = m127_v_add(m127_v_const(ns), p4);
  const __m128i sr = _mm_cvtsi64_si128((long long)bits);
  const __m128i sl = _mm_cvtsi64_si128((long long)(64 - (uint64_t)bits));
  const __m128i sr2 = _mm_cvtsi64_si128((long long)((uint64_t)bits - 64));
  const __m512i ones = _mm512_set1_epi64(-1);
  __m512i ov = _mm512_setzero_si512();
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const size_t b = 16 * i;
    __m512i alo, ahi, blo, bhi, dlo, dhi;
    m127_v_load(c0 + b, &alo, &ahi);
    m127_v_load(c1 + b, &blo, &bhi);
    m127_v_load(c2 + b, &dlo, &dhi);
    if (checked) { /* x >= p: bit 63 of x1, or of x1 + 1 when x0 is all ones */
      ov = _mm512_or_si512(ov, _mm512_or_si512(ahi, _mm512_mask_sub_epi64(ahi, _mm512_cmpeq_epi64_mask(alo, ones), ahi, ones)));
      ov = _mm512_or_si512(ov, _mm512_or_si512(bhi, _mm512_mask_sub_epi64(bhi, _mm512_cmpeq_epi64_mask(blo, ones), bhi, ones)));
      ov = _mm512_or_si512(ov, _mm512_or_si512(dhi, _mm512_mask_sub_epi64(dhi, _mm512_cmpeq_epi64_mask(dlo, ones), dhi, ones)));
    }
    m127_v3 sum = m127_v_add(m127_v_add(m127_v_limbs(alo, ahi), m127_v_limbs(blo, bhi)),
                             m127_v_limbs(dlo, dhi));
    __m512i lo, hi;
    m127_v_canon(sum, &lo, &hi);
    __m512i slo = _mm512_or_si512(_mm512_or_si512(_mm512_srl_epi64(lo, sr), _mm512_sll_epi64(hi, sl)),
                                  _mm512_srl_epi64(hi, sr2));
    __m512i shi = _mm512_srl_epi64(hi, sr);
    /* (p - u0) + (p - u1) as 4p - (u0 + u1), the sum in words (below
     * 2^128 for canonical terms), the same for the v */
    m127_v3 t = m127_v_sub(m127_v_add(m127_v_limbs(slo, shi), nsv4),
                           m127_v_load_sum(u0 + 2 * i, u1 + 2 * i));
    m127_v3 z = m127_v_norm(m127_v_sub(p4, m127_v_load_sum(v0 + 2 * i, v1 + 2 * i)));
    t = m127_v_add(t, m127_v_mul(z, cv, nb));
    m127_v_canon(t, &lo, &hi);
    m127_v_store(out + 2 * i, lo, hi);
  }
  if (checked) {
    *over = (uint64_t)_mm512_reduce_or_epi64(ov) >> 63;
  }
}

IFMA_TARGET static void m127_v_unmask_1(uint64_t *out, const uint8_t *const *cs, int checked,
                                        uint64_t *over, unsigned bits, u128 ns,
                                        const uint64_t *const *y1, const uint64_t *const *yc,
                                        uint64_t c, size_t n) {
  m127_v_unmask_k(out, cs, checked, over, bits, ns, y1, yc, c, 1, n);
}

IFMA_TARGET static void m127_v_unmask_2(uint64_t *out, const uint8_t *const *cs, int checked,
                                        uint64_t *over, unsigned bits, u128 ns,
                                        const uint64_t *const *y1, const uint64_t *const *yc,
                                        uint64_t c, size_t n) {
  m127_v_unmask_k(out, cs, checked, over, bits, ns, y1, yc, c, 2, n);
}

/* m127_lincomb_regs for two terms of the weights 1 and w (class cls):
 * out[i] = x0[i] + w x1[i] for i < n - n % 8; a word c (|w| for
 * WC_WORD, WC_NEG_WORD) in nb limbs, any other w in three. */
IFMA_INLINE void m127_v_lincomb2_k(uint64_t *out, const uint64_t *x0, const uint64_t *x1,
                                   int cls, u128 c, int nb, size_t n) {
  const m127_v3 cv = m127_v_const(c);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    m127_v3 t = m127_v_load_limbs(x1 + 2 * i);
    if (cls == WC_NEG_ONE) {
      t = m127_v_flip(t);
    } else if (cls != WC_ONE) {
      t = m127_v_mul(t, cv, nb);
      if (cls == WC_NEG_WORD) t = m127_v_neg(t);
    }
    t = m127_v_add(t, m127_v_load_limbs(x0 + 2 * i));
    __m512i lo, hi;
    m127_v_canon(t, &lo, &hi);
    m127_v_store(out + 2 * i, lo, hi);
  }
}

#define M127_V_LC2(C, NB)                                                  \
  IFMA_TARGET static void m127_v_lc2_##C##_##NB(uint64_t *out, const uint64_t *x0, \
                                                const uint64_t *x1, u128 c, size_t n) { \
    m127_v_lincomb2_k(out, x0, x1, C, c, NB, n);                           \
  }
M127_V_LC2(WC_ONE, 1)
M127_V_LC2(WC_NEG_ONE, 1)
M127_V_LC2(WC_WORD, 1)
M127_V_LC2(WC_WORD, 2)
M127_V_LC2(WC_NEG_WORD, 1)
M127_V_LC2(WC_NEG_WORD, 2)
M127_V_LC2(WC_FULL, 3)
#undef M127_V_LC2

/* out = x0 + w x1 for i < n - n % 8, w of the class k. */
static void m127_v_lincomb2(uint64_t *out, const uint64_t *x0, const uint64_t *x1,
                            const m127_weight *k, size_t n) {
  switch (k->cls) {
  case WC_ONE: m127_v_lc2_WC_ONE_1(out, x0, x1, 1, n); return;
  case WC_NEG_ONE: m127_v_lc2_WC_NEG_ONE_1(out, x0, x1, 1, n); return;
  case WC_WORD:
    if (m127_v_nlimbs(k->c) == 1) m127_v_lc2_WC_WORD_1(out, x0, x1, k->c, n);
    else m127_v_lc2_WC_WORD_2(out, x0, x1, k->c, n);
    return;
  case WC_NEG_WORD:
    if (m127_v_nlimbs(k->c) == 1) m127_v_lc2_WC_NEG_WORD_1(out, x0, x1, k->c, n);
    else m127_v_lc2_WC_NEG_WORD_2(out, x0, x1, k->c, n);
    return;
  case WC_POW2: /* |w| = 2^e */
    m127_v_lc2_WC_FULL_3(out, x0, x1, (u128)1 << k->c, n);
    return;
  case WC_NEG_POW2:
    m127_v_lc2_WC_FULL_3(out, x0, x1, MASK127 - ((u128)1 << k->c), n);
    return;
  default: m127_v_lc2_WC_FULL_3(out, x0, x1, cc_u128_make(k->w0, k->w1), n); return;
  }
}

/* m127_sum_k for i < n - n % 8 and R = 2, 3 or 4 terms: the first term
 * plus the others (neg: minus them, each added as x ^ (2^127 - 1) = p - x),
 * one reduction. */
IFMA_INLINE void m127_v_sum_k(uint64_t *out, const uint64_t *const *xs, int neg, size_t R,
                              size_t n) {
  const uint64_t *x[4] = {xs[0], xs[1], R > 2 ? xs[2] : NULL, R > 3 ? xs[3] : NULL};
  for (size_t i = 0; i + 8 <= n; i += 8) {
    m127_v3 t = m127_v_load_limbs(x[0] + 2 * i);
    for (size_t j = 1; j < R; j++) {
      m127_v3 y = m127_v_load_limbs(x[j] + 2 * i);
      t = m127_v_add(t, neg ? m127_v_flip(y) : y);
    }
    __m512i lo, hi;
    m127_v_canon(t, &lo, &hi);
    m127_v_store(out + 2 * i, lo, hi);
  }
}

#define M127_V_SUM(R, NEG)                                                 \
  IFMA_TARGET static void m127_v_sum_##R##_##NEG(uint64_t *out, const uint64_t *const *xs, \
                                                 size_t n) {               \
    m127_v_sum_k(out, xs, NEG, R, n);                                      \
  }
M127_V_SUM(2, 0)
M127_V_SUM(2, 1)
M127_V_SUM(3, 0)
M127_V_SUM(3, 1)
M127_V_SUM(4, 0)
M127_V_SUM(4, 1)
#undef M127_V_SUM

/* m127_v_sum_k for r = 2, 3 or 4 (0 for other counts, nothing done). */
static int m127_v_sum(uint64_t *out, const uint64_t *const *xs, size_t r, int neg, size_t n) {
  switch (r * 2 + (neg != 0)) {
  case 4: m127_v_sum_2_0(out, xs, n); return 1;
  case 5: m127_v_sum_2_1(out, xs, n); return 1;
  case 6: m127_v_sum_3_0(out, xs, n); return 1;
  case 7: m127_v_sum_3_1(out, xs, n); return 1;
  case 8: m127_v_sum_4_0(out, xs, n); return 1;
  case 9: m127_v_sum_4_1(out, xs, n); return 1;
  default: return 0;
  }
}

#undef MADLO
#undef MADHI
#else
#define M127_IFMA 0
#endif

/* 1 when the IFMA kernels run (simd.h), or as set by _cc_field128_simd. */
#if M127_IFMA
static cc_simd_switch m127_simd_switch = {-1, CC_SIMD_AVX512F | CC_SIMD_AVX512IFMA};
#else
static cc_simd_switch m127_simd_switch = {-1, 0};
#endif

static int m127_simd(void) { return cc_simd_on(&m127_simd_switch); }

int _cc_field128_simd(int want) { return _cc_simd_set(&m127_simd_switch, want); }

/* m127_lincomb_regs for the shapes it is instantiated for; 0 for others. */
static int m127_lincomb_shapes(uint64_t *out, const m127_weight *wk,
                               const uint64_t *const *xs, size_t r, size_t n) {
#define REGS2(C1) m127_lincomb_regs(out, wk, xs, 2, WC_ONE, C1, 0, 0, n)
  if (r == 2 && wk[0].cls == WC_ONE) {
    const uint64_t *xt[2];
    if (n >= 8 && m127_simd()) {
#if M127_IFMA
      m127_v_lincomb2(out, xs[0], xs[1], &wk[1], n);
#endif
      /* the last n % 8 elements below */
      const size_t done = n & ~(size_t)7;
      xt[0] = xs[0] + 2 * done, xt[1] = xs[1] + 2 * done;
      xs = xt;
      out += 2 * done, n -= done;
    }
    switch (wk[1].cls) {
    case WC_ONE: REGS2(WC_ONE); return 1;
    case WC_NEG_ONE: REGS2(WC_NEG_ONE); return 1;
    case WC_POW2: REGS2(WC_POW2); return 1;
    case WC_NEG_POW2: REGS2(WC_NEG_POW2); return 1;
    case WC_WORD: REGS2(WC_WORD); return 1;
    case WC_NEG_WORD: REGS2(WC_NEG_WORD); return 1;
    default: REGS2(WC_FULL); return 1;
    }
  }
#undef REGS2
  return 0;
}

/* m127_pass for any class of k (the switch once per block); first starts
 * the sums at the block's terms instead of adding to them. */
static void m127_pass_any(const m127_weight *k, const uint64_t *x, uint64_t *a0,
                          uint64_t *a1, uint64_t *a2, size_t m, int first) {
#define PASS(C)                                                            \
  (first ? m127_pass(C, k, x, a0, a1, a2, m, 1) : m127_pass(C, k, x, a0, a1, a2, m, 0))
  switch (k->cls) {
  case WC_ONE: PASS(WC_ONE); break;
  case WC_NEG_ONE: PASS(WC_NEG_ONE); break;
  case WC_POW2: PASS(WC_POW2); break;
  case WC_NEG_POW2: PASS(WC_NEG_POW2); break;
  case WC_WORD: PASS(WC_WORD); break;
  case WC_NEG_WORD: PASS(WC_NEG_WORD); break;
  default: PASS(WC_FULL); break;
  }
#undef PASS
}

/* r < 2^62 canonical weights, r >= 1. Blocks of M127_BLOCK elements: each
 * term is one pass over the block into three words an element (6 KB, in
 * L1), then one pass reduces the block into out. Every xs[j][i] of a block
 * is read before its out[i] is written, so out may be one of the xs. */
static void m127_lincomb(uint64_t *out, const uint64_t *w,
                         const uint64_t *const *xs, size_t r, size_t n) {
  m127_weight stackw[16], *wk = stackw;
  if (r > sizeof stackw / sizeof stackw[0]) wk = malloc(r * sizeof *wk);
  if (!wk) { /* no room for the classes: full products, one by one */
    for (size_t i = 0; i < n; i++) {
      m127_acc m = {0, 0, 0};
      for (size_t j = 0; j < r; j++) m127_acc_add(&m, GET(xs[j], i), GET(w, j));
      SET(out, i, m127_acc_value(&m));
    }
    return;
  }
  for (size_t j = 0; j < r; j++) wk[j] = m127_classify(GET(w, j));
  if (m127_lincomb_shapes(out, wk, xs, r, n)) {
    if (wk != stackw) free(wk);
    return;
  }
  uint64_t a0[M127_BLOCK], a1[M127_BLOCK], a2[M127_BLOCK];
  for (size_t base = 0; base < n; base += M127_BLOCK) {
    size_t m = n - base < M127_BLOCK ? n - base : M127_BLOCK;
    for (size_t j = 0; j < r; j++)
      m127_pass_any(&wk[j], xs[j] + 2 * base, a0, a1, a2, m, j == 0);
    for (size_t i = 0; i < m; i++) {
      m127_acc acc = {a0[i], a1[i], a2[i]};
      SET(out, base + i, m127_acc_value(&acc));
    }
  }
  if (wk != stackw) free(wk);
}

/* The common small r spelled out with a constant count, so that the
 * compiler unrolls the inner loop and keeps no pointer array in it. */
ALWAYS_INLINE void lincomb_small_k(const cc_field128 *f, kind_t k,
                                   uint64_t *out, const uint64_t *w,
                                   const uint64_t *const *xs, size_t r,
                                   size_t n) {
  u128 wd[3];
  for (size_t j = 0; j < r; j++) wd[j] = to_dom(f, k, GET(w, j));
  if (r == 2) {
    const uint64_t *const ys[2] = {xs[0], xs[1]};
    lincomb_arrays_k(f, k, out, w, wd, 1, ys, 2, n);
  } else {
    const uint64_t *const ys[3] = {xs[0], xs[1], xs[2]};
    lincomb_arrays_k(f, k, out, w, wd, 1, ys, 3, n);
  }
}

/* For 2^127 - 1, sums with the weights 1 (neg = 0) or the first 1 and the
 * others -1 (neg = 1): each output one three-word sum of its terms below
 * 2^128 (-x added as x ^ (2^127 - 1) = p - x), reduced once, instead of an
 * addition modulo p per term. R > 0 is the count when it is a constant
 * (2, 3 or 4, unrolled), else 0 for r. Every xs[j][i] is read before
 * out[i] is written. */
ALWAYS_INLINE void m127_sum_k(uint64_t *out, const uint64_t *const *xs, size_t r, size_t n,
                              int neg, size_t R) {
  const uint64_t nm0 = neg ? UINT64_MAX : 0, nm1 = neg ? M63 : 0;
  const size_t count = R ? R : r;
  for (size_t i = 0; i < n; i++) {
    m127_acc acc = {xs[0][2 * i], xs[0][2 * i + 1], 0};
    for (size_t j = 1; j < count; j++)
      m127_acc_add_words(&acc, xs[j][2 * i] ^ nm0, xs[j][2 * i + 1] ^ nm1);
    SET(out, i, m127_acc_value(&acc));
  }
}

static void m127_sum(uint64_t *out, const uint64_t *const *xs, size_t r, size_t n, int neg) {
  const uint64_t *xt[4];
  if (r >= 2 && r <= 4 && n >= 8 && m127_simd()) {
#if M127_IFMA
    m127_v_sum(out, xs, r, neg, n);
#endif
    /* the last n % 8 elements below */
    const size_t done = n & ~(size_t)7;
    for (size_t j = 0; j < r; j++) xt[j] = xs[j] + 2 * done;
    xs = xt;
    out += 2 * done, n -= done;
  }
  if (r == 2) {
    const uint64_t *const ys[2] = {xs[0], xs[1]};
    if (neg) m127_sum_k(out, ys, 2, n, 1, 2);
    else m127_sum_k(out, ys, 2, n, 0, 2);
  } else if (r == 3) {
    const uint64_t *const ys[3] = {xs[0], xs[1], xs[2]};
    if (neg) m127_sum_k(out, ys, 3, n, 1, 3);
    else m127_sum_k(out, ys, 3, n, 0, 3);
  } else if (r == 4) {
    const uint64_t *const ys[4] = {xs[0], xs[1], xs[2], xs[3]};
    if (neg) m127_sum_k(out, ys, 4, n, 1, 4);
    else m127_sum_k(out, ys, 4, n, 0, 4);
  } else if (neg) {
    m127_sum_k(out, xs, r, n, 1, 0);
  } else {
    m127_sum_k(out, xs, r, n, 0, 0);
  }
}

/* For 2^127 - 1, sums with weights 1 and -1 in any order (neg[j] set for
 * -1; r < 2^62): as m127_sum_k, each term's words flipped or not by its
 * own masks. R > 0 is the count when it is a constant. */
ALWAYS_INLINE void m127_signed_sum_k(uint64_t *out, const uint64_t *const *xs,
                                     const bool *neg, size_t r, size_t n, size_t R) {
  enum { MAX_SIGNED = 8 };
  uint64_t nm0[MAX_SIGNED], nm1[MAX_SIGNED];
  const size_t count = R ? R : r;
  for (size_t j = 0; j < count; j++) {
    nm0[j] = neg[j] ? UINT64_MAX : 0;
    nm1[j] = neg[j] ? M63 : 0;
  }
  for (size_t i = 0; i < n; i++) {
    m127_acc acc = {0, 0, 0};
    for (size_t j = 0; j < count; j++)
      m127_acc_add_words(&acc, xs[j][2 * i] ^ nm0[j], xs[j][2 * i + 1] ^ nm1[j]);
    SET(out, i, m127_acc_value(&acc));
  }
}

/* m127_signed_sum_k for r <= 8 terms, the usual counts spelled out. */
static void m127_signed_sum(uint64_t *out, const uint64_t *const *xs, const bool *neg,
                            size_t r, size_t n) {
  switch (r) {
  case 3: m127_signed_sum_k(out, xs, neg, 3, n, 3); break;
  case 4: m127_signed_sum_k(out, xs, neg, 4, n, 4); break;
  case 5: m127_signed_sum_k(out, xs, neg, 5, n, 5); break;
  default: m127_signed_sum_k(out, xs, neg, r, n, 0); break;
  }
}

/* The loop of cc_field128_mul_signed_sum: the class of pw (cls) and the
 * count of terms (R > 0; 0 for r) constants in each instance, so that no
 * switch runs per element and the masks stay in registers. The product's
 * operands a and b come from memory (the slices of a million-element
 * operand): a few cache lines ahead of the loop. */
ALWAYS_INLINE void mul_signed_sum_k(uint64_t *out, const uint64_t *a, const uint64_t *b,
                                    const m127_weight *k, int cls, const uint64_t *nm0,
                                    const uint64_t *nm1, const uint64_t *const *xs,
                                    size_t r, size_t R, uint64_t s0, uint64_t s1, size_t n) {
  enum { MAX_SIGNED = 8 };
  const size_t count = R ? R : r;
  const m127_weight kl = {cls, k->c, k->w0, k->w1};
  uint64_t m0[MAX_SIGNED], m1[MAX_SIGNED];
  const uint64_t *x[MAX_SIGNED];
  for (size_t j = 0; j < count; j++) {
    m0[j] = nm0[j];
    m1[j] = nm1[j];
    x[j] = xs[j];
  }
  for (size_t i = 0; i < n; i++) {
    if ((i & 3) == 0) { /* an address past the end is only hinted, never read */
      __builtin_prefetch((const void *)((uintptr_t)a + 16 * i + 1024));
      __builtin_prefetch((const void *)((uintptr_t)b + 16 * i + 1024));
    }
    u128 p = m127_mul(GET(a, i), GET(b, i));
    uint64_t r0, r1;
    m127_term(&kl, LO(p), HI(p), &r0, &r1);
    m127_acc acc = {r0, r1, 0};
    m127_acc_add_words(&acc, s0, s1);
    for (size_t j = 0; j < count; j++)
      m127_acc_add_words(&acc, x[j][2 * i] ^ m0[j], x[j][2 * i + 1] ^ m1[j]);
    SET(out, i, m127_acc_value(&acc));
  }
}

int cc_field128_mul_signed_sum(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, cc_u128 pw, const uint64_t *w,
                               const uint64_t *const *xs, size_t r, cc_u128 s,
                               size_t n) {
  enum { MAX_SIGNED = 8 };
  if (f->kind != CC_FIELD128_M127 || r > MAX_SIGNED) return 0;
  uint64_t nm0[MAX_SIGNED], nm1[MAX_SIGNED];
  for (size_t j = 0; j < r; j++) {
    u128 wj = GET(w, j);
    if (wj != 1 && wj != f->p - 1) return 0;
    nm0[j] = wj == 1 ? 0 : UINT64_MAX;
    nm1[j] = wj == 1 ? 0 : M63;
  }
  const m127_weight k = m127_classify(pw);
  const uint64_t s0 = LO(s), s1 = HI(s);
  const uint64_t *xt[3];
  if (b && r == 3 && n >= 8 && m127_simd()) {
#if M127_IFMA
    const bool neg[3] = {nm0[0] != 0, nm0[1] != 0, nm0[2] != 0};
    m127_v_mul_signed_sum(out, a, b, &k, pw, neg, xs, s, n);
#endif
    /* the last n % 8 elements by the scalar loop */
    const size_t done = n & ~(size_t)7;
    for (size_t j = 0; j < 3; j++) xt[j] = xs[j] + 2 * done;
    xs = xt;
    out += 2 * done, a += 2 * done, b += 2 * done, n -= done;
  }
  if (b && r == 3) {
    /* a product's masked share: its Lagrange weight (3, -3 or 1 among 3
     * players) and three terms */
#define MSS(C) mul_signed_sum_k(out, a, b, &k, C, nm0, nm1, xs, 3, 3, s0, s1, n)
    switch (k.cls) {
    case WC_ONE: MSS(WC_ONE); return 1;
    case WC_NEG_ONE: MSS(WC_NEG_ONE); return 1;
    case WC_WORD: MSS(WC_WORD); return 1;
    case WC_NEG_WORD: MSS(WC_NEG_WORD); return 1;
    default: break;
    }
#undef MSS
  }
  for (size_t i = 0; i < n; i++) {
    u128 x = b ? m127_mul(GET(a, i), GET(b, i)) : GET(a, i);
    uint64_t r0, r1;
    m127_term(&k, LO(x), HI(x), &r0, &r1);
    m127_acc acc = {r0, r1, 0};
    m127_acc_add_words(&acc, s0, s1);
    for (size_t j = 0; j < r; j++)
      m127_acc_add_words(&acc, xs[j][2 * i] ^ nm0[j], xs[j][2 * i + 1] ^ nm1[j]);
    SET(out, i, m127_acc_value(&acc));
  }
  return 1;
}

/* The first pass of m127_unmask over a block: floor(sum_j cs[j][i] / 2^bits)
 * + ns into the three sum words (R > 0: the count r as a constant). */
ALWAYS_INLINE void m127_unmask_first(const uint64_t *const *cs, size_t r, size_t R,
                                     unsigned bits, u128 ns, uint64_t *a0, uint64_t *a1,
                                     uint64_t *a2, size_t base, size_t m) {
  const size_t count = R ? R : r;
  for (size_t i = 0; i < m; i++) {
    size_t e = 2 * (base + i);
    m127_acc acc = {cs[0][e], cs[0][e + 1], 0};
    for (size_t j = 1; j < count; j++) m127_acc_add_words(&acc, cs[j][e], cs[j][e + 1]);
    u128 t = (m127_acc_value(&acc) >> bits) + ns;
    a0[i] = LO(t);
    a1[i] = HI(t);
    a2[i] = 0;
  }
}

/* The unmask of a product among 3 players in registers: r = 3 revealed
 * shares, and the mask's high part with the weights 1 (terms y1, two)
 * and one word c < 2^63 (terms yc, two; c = 1 too): the two terms of weight c are
 * summed first, (p - y) + (p - y') < 2^128, and multiplied once, so that
 * an element costs one product by a word instead of two and no stores of
 * partial sums. */
ALWAYS_INLINE uint64_t load_le64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w); /* little-endian hosts only (the callers check) */
  return w;
}

/* cs as little-endian bytes at any alignment (words in a received message,
 * checked != 0: each checked below p as read, *bad set when one is not) or
 * as arrays (checked == 0). */
ALWAYS_INLINE void m127_unmask_3_2_2_k(uint64_t *out, const uint8_t *const *cs, int checked,
                                       uint64_t *bad, unsigned bits, u128 ns,
                                       const uint64_t *const *y1, const uint64_t *const *yc,
                                       uint64_t c, size_t n) {
  const uint8_t *c0 = cs[0], *c1 = cs[1], *c2 = cs[2];
  const uint64_t *u0 = y1[0], *u1 = y1[1], *v0 = yc[0], *v1 = yc[1];
  uint64_t over = 0;
  for (size_t i = 0; i < n; i++) {
    const size_t e = 2 * i, b = 16 * i;
    if (checked && (i & 3) == 0) { /* the messages come from memory */
      __builtin_prefetch(c0 + b + 1024);
      __builtin_prefetch(c1 + b + 1024);
      __builtin_prefetch(c2 + b + 1024);
    }
    uint64_t a0 = load_le64(c0 + b), a1 = load_le64(c0 + b + 8);
    uint64_t b0 = load_le64(c1 + b), b1 = load_le64(c1 + b + 8);
    uint64_t d0 = load_le64(c2 + b), d1 = load_le64(c2 + b + 8);
    if (checked) /* x >= p: x1 >= 2^63, or x + 1 >= 2^127 */
      over |= (a1 >> 63) | ((a1 + (a0 == UINT64_MAX)) >> 63) | (b1 >> 63) |
              ((b1 + (b0 == UINT64_MAX)) >> 63) | (d1 >> 63) | ((d1 + (d0 == UINT64_MAX)) >> 63);
    m127_acc acc = {a0, a1, 0};
    m127_acc_add_words(&acc, b0, b1);
    m127_acc_add_words(&acc, d0, d1);
    u128 t = (m127_acc_value(&acc) >> bits) + ns; /* < 2^128 */
    m127_acc sum = {LO(t), HI(t), 0};
    m127_acc_add_words(&sum, ~u0[e], u0[e + 1] ^ M63); /* p - y */
    m127_acc_add_words(&sum, ~u1[e], u1[e + 1] ^ M63);
    u128 z = cc_u128_make(~v0[e], v0[e + 1] ^ M63) + cc_u128_make(~v1[e], v1[e + 1] ^ M63);
    uint64_t w0, w1, w2;
    mul_by_word(z, c, &w0, &w1, &w2); /* < 2^191: w2 < 2^63 */
    uint64_t h = (w2 << 1) | (w1 >> 63);
    uint64_t r0 = w0 + h;
    m127_acc_add_words(&sum, r0, (w1 & M63) + (r0 < w0));
    SET(out, i, m127_acc_value(&sum));
  }
  if (checked) *bad = over;
}

/* m127_unmask_3_2_2_k, the first n - n % 8 elements by the IFMA kernel
 * when it runs; *over (checked) is nonzero when a share is p or more. */
ALWAYS_INLINE void m127_unmask_3_2_2(uint64_t *out, const uint8_t *const *cs, int checked,
                                     uint64_t *over, unsigned bits, u128 ns,
                                     const uint64_t *const *y1, const uint64_t *const *yc,
                                     uint64_t c, size_t n) {
  size_t done = 0;
  uint64_t vo = 0, so = 0;
  if (n >= 8 && m127_simd()) {
#if M127_IFMA
    if (c >> 52) m127_v_unmask_2(out, cs, checked, &vo, bits, ns, y1, yc, c, n);
    else m127_v_unmask_1(out, cs, checked, &vo, bits, ns, y1, yc, c, n);
#endif
    done = n & ~(size_t)7;
  }
  const uint8_t *const ct[3] = {cs[0] + 16 * done, cs[1] + 16 * done, cs[2] + 16 * done};
  const uint64_t *const y1t[2] = {y1[0] + 2 * done, y1[1] + 2 * done};
  const uint64_t *const yct[2] = {yc[0] + 2 * done, yc[1] + 2 * done};
  m127_unmask_3_2_2_k(out + 2 * done, ct, checked, &so, bits, ns, y1t, yct, c, n - done);
  if (checked) *over = vo | so;
}

/* Whether the q terms' classes vk are the weights 1, 1, c, c in any order
 * (c < 2^63 one word, or 1: all four 1), as m127_unmask_3_2_2_k takes
 * them: y1 gets the terms of weight 1, yc those of c. */
static int unmask_shape_1_1_c_c(const m127_weight *vk, const uint64_t *const *ys, size_t q,
                                const uint64_t **y1, const uint64_t **yc, uint64_t *c) {
  const uint64_t *ones[4], *words[4];
  size_t n1 = 0, nc = 0;
  if (q != 4) return 0;
  *c = 0;
  for (size_t j = 0; j < q; j++) {
    if (vk[j].cls == WC_NEG_ONE) ones[n1++] = ys[j];
    else if (vk[j].cls == WC_NEG_WORD && vk[j].c < ((uint64_t)1 << 63) &&
             (nc == 0 || vk[j].c == *c)) { *c = vk[j].c; words[nc++] = ys[j]; }
  }
  if (n1 == 4) { /* every weight 1 (the player of index 1): c = 1 */
    words[0] = ones[2];
    words[1] = ones[3];
    n1 = nc = 2;
    *c = 1;
  }
  if (n1 != 2 || nc != 2) return 0;
  y1[0] = ones[0], y1[1] = ones[1], yc[0] = words[0], yc[1] = words[1];
  return 1;
}

/* -v as classes (a weight 0 stays 0, one word of 0): the terms subtracted
 * are added with their weights negated, -v y = v (p - y). */
static void unmask_negated(const uint64_t *v, size_t q, m127_weight *vk) {
  for (size_t j = 0; j < q; j++) {
    u128 vj = GET(v, j);
    vk[j] = m127_classify(vj == 0 ? 0 : MASK127 - vj);
  }
}

int cc_field128_unmask_sum_le(const cc_field128 *f, uint64_t *out, const uint8_t *const *cs,
                              size_t r, unsigned bits, cc_u128 s, const uint64_t *v,
                              const uint64_t *const *ys, size_t q, size_t n, int *bad) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  m127_weight vk[4];
  const uint64_t *y1[2], *yc[2];
  uint64_t c, over = 0;
  *bad = 0;
  if (f->kind != CC_FIELD128_M127 || r != 3 || q != 4 || bits > 127) return 0;
  unmask_negated(v, q, vk);
  if (!unmask_shape_1_1_c_c(vk, ys, q, y1, yc, &c)) return 0;
  m127_unmask_3_2_2(out, cs, 1, &over, bits, MASK127 - s, y1, yc, c, n);
  *bad = over != 0;
  return 1;
#else
  (void)f, (void)out, (void)cs, (void)r, (void)bits, (void)s, (void)v, (void)ys, (void)q,
      (void)n;
  *bad = 0;
  return 0;
#endif
}

int cc_field128_unmask_sum(const cc_field128 *f, uint64_t *out, const uint64_t *const *cs,
                           size_t r, unsigned bits, cc_u128 s, const uint64_t *v,
                           const uint64_t *const *ys, size_t q, size_t n) {
  enum { MAX_TERMS = 16 };
  if (f->kind != CC_FIELD128_M127 || r < 1 || r > MAX_TERMS || q > MAX_TERMS || bits > 127)
    return 0;
  m127_weight vk[MAX_TERMS];
  unmask_negated(v, q, vk);
  /* p - s in [1, p]: with floor(c / 2^bits) < 2^127, below 2^128 */
  const u128 ns = MASK127 - s;
  const uint64_t *y1[2], *yc[2];
  uint64_t c;
  if (r == 3 && unmask_shape_1_1_c_c(vk, ys, q, y1, yc, &c)) {
    const uint8_t *cb[3] = {(const uint8_t *)cs[0], (const uint8_t *)cs[1],
                            (const uint8_t *)cs[2]};
    m127_unmask_3_2_2(out, cb, 0, NULL, bits, ns, y1, yc, c, n);
    return 1;
  }
  uint64_t a0[M127_BLOCK], a1[M127_BLOCK], a2[M127_BLOCK];
  for (size_t base = 0; base < n; base += M127_BLOCK) {
    size_t m = n - base < M127_BLOCK ? n - base : M127_BLOCK;
    if (r == 3) m127_unmask_first(cs, 3, 3, bits, ns, a0, a1, a2, base, m);
    else m127_unmask_first(cs, r, 0, bits, ns, a0, a1, a2, base, m);
    for (size_t j = 0; j < q; j++) m127_pass_any(&vk[j], ys[j] + 2 * base, a0, a1, a2, m, 0);
    for (size_t i = 0; i < m; i++) {
      m127_acc acc = {a0[i], a1[i], a2[i]};
      SET(out, base + i, m127_acc_value(&acc));
    }
  }
  return 1;
}

void cc_field128_lincomb_arrays(const cc_field128 *f, uint64_t *out,
                                const uint64_t *w, const uint64_t *const *xs,
                                size_t r, size_t n) {
  const cc_field128 fl = *f;
  /* All weights 1 (sums of the shares players dealt each other): additions
   * only, each output element read whole before it is written. */
  bool ones = r > 0;
  for (size_t j = 0; j < r && ones; j++) ones = GET(w, j) == 1;
  if (ones && fl.kind == CC_FIELD128_M127 && r < ((size_t)1 << 62)) {
    m127_sum(out, xs, r, n, 0);
    return;
  }
  if (ones) {
    for (size_t i = 0; i < n; i++) {
      u128 acc = GET(xs[0], i);
      for (size_t j = 1; j < r; j++) acc = addmod(fl.p, acc, GET(xs[j], i));
      SET(out, i, acc);
    }
    return;
  }
  /* The first weight 1, the others -1 (a share minus the sum of dealt
   * ones): subtractions only. */
  bool minus = r > 1 && GET(w, 0) == 1 % fl.p;
  for (size_t j = 1; j < r && minus; j++) minus = GET(w, j) == fl.p - 1;
  if (minus && fl.kind == CC_FIELD128_M127 && r < ((size_t)1 << 62)) {
    m127_sum(out, xs, r, n, 1);
    return;
  }
  /* Weights 1 and -1 mixed (a share scaled for a plain-sum reveal: its
   * own term, less the draws it made, plus those made for it): one
   * three-word sum per element as above. */
  bool signs = !minus && fl.kind == CC_FIELD128_M127 && r > 0 && r <= 8;
  bool neg[8];
  for (size_t j = 0; j < r && signs; j++) {
    neg[j] = GET(w, j) == fl.p - 1;
    signs = neg[j] || GET(w, j) == 1;
  }
  if (signs) {
    m127_signed_sum(out, xs, neg, r, n);
    return;
  }
  if (minus) {
    for (size_t i = 0; i < n; i++) {
      u128 acc = GET(xs[0], i);
      /* p - x, in [1, p], added: addmod is right for a summand p too, and
       * gcc keeps it free of branches */
      for (size_t j = 1; j < r; j++) acc = addmod(fl.p, acc, fl.p - GET(xs[j], i));
      SET(out, i, acc);
    }
    return;
  }
  /* By weight class when some weight is short; when all are full the
   * register loop below is faster (7.4 -> 6.6 ns an element for two). */
  bool short_weight = false;
  for (size_t j = 0; fl.kind == CC_FIELD128_M127 && j < r && !short_weight; j++)
    short_weight = m127_classify(GET(w, j)).cls != WC_FULL;
  if (fl.kind == CC_FIELD128_M127 && short_weight && r < ((size_t)1 << 62)) {
    m127_lincomb(out, w, xs, r, n);
    return;
  }
  if (r == 2 || r == 3) {
#define BODY(K) lincomb_small_k(&fl, K, out, w, xs, r, n)
    BY_KIND(&fl, BODY);
#undef BODY
    return;
  }
  u128 stackw[32], *wd = stackw;
  if (r > sizeof stackw / sizeof stackw[0]) wd = malloc(r * sizeof *wd);
  if (!wd) { /* no room for the weights: convert them at each use */
#define BODY(K) lincomb_arrays_k(&fl, K, out, w, NULL, 0, xs, r, n)
    BY_KIND(&fl, BODY);
#undef BODY
    return;
  }
#define BODY(K)                                                            \
  do {                                                                     \
    for (size_t j = 0; j < r; j++) wd[j] = to_dom(&fl, K, GET(w, j));      \
    lincomb_arrays_k(&fl, K, out, w, wd, 1, xs, r, n);                     \
  } while (0)
  BY_KIND(&fl, BODY);
#undef BODY
  if (wd != stackw) free(wd);
}

/* For M127 the rows go to lincomb_arrays, so that each output element is
 * one lazy sum, written once (shamir_recover: 11.7 -> 10.1 ns per element for
 * three rows here). The other reductions gain nothing from it (gcc spills
 * their longer loop bodies): one axpy pass per row, as without memory for
 * the row pointers. */
void cc_field128_lincomb(const cc_field128 *f, uint64_t *out, const uint64_t *w,
                         const uint64_t *rows, size_t r, size_t n) {
  const uint64_t *stackp[32] = {0}, **xs = stackp;
  if (f->kind != CC_FIELD128_M127) xs = NULL;
  else if (r > sizeof stackp / sizeof stackp[0]) xs = malloc(r * sizeof *xs);
  if (!xs) {
    memset(out, 0, 2 * n * sizeof *out);
    for (size_t j = 0; j < r; j++)
      cc_field128_axpy(f, out, GET(w, j), rows + 2 * j * n, n);
    return;
  }
  for (size_t j = 0; j < r; j++) xs[j] = rows + 2 * j * n;
  cc_field128_lincomb_arrays(f, out, w, xs, r, n);
  if (xs != stackp) free(xs);
}

/* row[i] = row[i] * x + c[i], x canonical (xd: x in the domain): one Horner
 * step over a whole row. Shamir's indices are usually 1, 2, 3...: x = 1
 * needs only additions, and a one-word x half the partial products. */
ALWAYS_INLINE void horner_k(const cc_field128 *f, kind_t k, uint64_t *row,
                            u128 xd, const uint64_t *c, size_t n) {
  for (size_t i = 0; i < n; i++)
    SET(row, i, addmod(f->p, dmul(f, k, GET(row, i), xd), GET(c, i)));
}

static void horner_step(const cc_field128 *f, uint64_t *row, u128 x,
                        const uint64_t *c, size_t n) {
  const u128 p = f->p;
  if (x == 1) {
    cc_field128_add(f, row, row, c, n);
  } else if (f->kind == CC_FIELD128_M127 && (x >> 64) == 0) {
    for (size_t i = 0; i < n; i++)
      SET(row, i, addmod(p, m127_mul_word(GET(row, i), LO(x)), GET(c, i)));
  } else if (f->kind == CC_FIELD128_FOLD && (x >> 64) == 0) {
    for (size_t i = 0; i < n; i++)
      SET(row, i, addmod(p, fold_mul_word(f, GET(row, i), LO(x)), GET(c, i)));
  } else {
#define BODY(K) horner_k(f, K, row, to_dom(f, K, x), c, n)
    BY_KIND(f, BODY);
#undef BODY
  }
}

void cc_field128_shamir_eval(const cc_field128 *f, uint64_t *out,
                             const uint64_t *secret, size_t n,
                             const uint64_t *coeffs, size_t k, cc_u128 x) {
  if (k <= 1) {
    memcpy(out, secret, 2 * n * sizeof *out);
    return;
  }
  const cc_field128 fl = *f;
  u128 xc = cc_field128_reduce1(&fl, x);
  /* Degree by degree: each pass streams over n contiguous elements. */
  memcpy(out, coeffs + 2 * (k - 2) * n, 2 * n * sizeof *out);
  for (size_t d = k - 2; d >= 1; d--)
    horner_step(&fl, out, xc, coeffs + 2 * (d - 1) * n, n);
  horner_step(&fl, out, xc, secret, n);
}

int cc_field128_shamir_share(const cc_field128 *f, uint64_t *out,
                             const uint64_t *secret, size_t n,
                             const uint64_t *coeffs, size_t k,
                             const uint64_t *x, size_t m,
                             char *err, size_t errsz) {
  if (k < 1 || k > m) {
    if (errsz) snprintf(err, errsz, "threshold %zu out of range [1, %zu]", k, m);
    return CC_FIELD_EINVAL;
  }
  int rc = cc_field128_check_indices(f, x, m, err, errsz);
  if (rc != CC_FIELD_OK) return rc;
  const cc_field128 fl = *f;
  for (size_t j = 0; j < m; j++)
    cc_field128_shamir_eval(&fl, out + 2 * j * n, secret, n, coeffs, k, GET(x, j));
  return CC_FIELD_OK;
}

int cc_field128_shamir_recover(const cc_field128 *f, uint64_t *out,
                               const uint64_t *shares, size_t n,
                               const uint64_t *x, size_t r,
                               char *err, size_t errsz) {
  if (r == 0) {
    if (errsz) snprintf(err, errsz, "no shares to recover from");
    return CC_FIELD_EINVAL;
  }
  uint64_t *lambda = malloc(2 * r * sizeof *lambda);
  if (!lambda) {
    if (errsz) snprintf(err, errsz, "out of memory");
    return CC_FIELD_ENOMEM;
  }
  int rc = cc_field128_lagrange0(f, lambda, x, r, err, errsz);
  if (rc == CC_FIELD_OK) cc_field128_lincomb(f, out, lambda, shares, r, n);
  free(lambda);
  return rc;
}

/* ==== The first level of a bitwise less-than ============================ */

/* For 2^127 - 1, one pair row: each output one lazy sum of its selected
 * terms (a subtracted canonical y added as y ^ (2^127 - 1) = p - y),
 * reduced once. Masks of 64 bits select words. */
/* The accumulators of one element's (lt, eq) before their reduction. */
ALWAYS_INLINE void m127_bitlt_acc(const uint64_t *c, const uint64_t *rh, const uint64_t *rl,
                                  const uint64_t *pr, unsigned eh, size_t e, m127_acc *l,
                                  m127_acc *q) {
  /* eh - 1 >= 0 and eh < 128: the pair's bits of c, from either word. */
  uint64_t c0 = c[2 * e], c1 = c[2 * e + 1];
  unsigned el = eh - 1;
  uint64_t bh = eh < 64 ? c0 >> eh : c1 >> (eh - 64);
  uint64_t bl = el < 64 ? c0 >> el : c1 >> (el - 64);
  uint64_t ch = (uint64_t)0 - (bh & 1), cl = (uint64_t)0 - (bl & 1);
  uint64_t n00 = ~ch & ~cl, hn = ch & ~cl, nh = ~ch & cl, both = ch & cl;
  uint64_t x0 = rh[2 * e], x1 = rh[2 * e + 1], y0 = rl[2 * e], y1 = rl[2 * e + 1];
  uint64_t q0 = pr[2 * e], q1 = pr[2 * e + 1];
  /* lt = x [c_h = 0] + y [c = 00] + q [c = 10] - q [c = 00] */
  *l = (m127_acc){x0 & ~ch, x1 & ~ch, 0};
  m127_acc_add_words(l, y0 & n00, y1 & n00);
  m127_acc_add_words(l, q0 & hn, q1 & hn);
  m127_acc_add_words(l, (q0 & n00) ^ n00, ((q1 & n00) ^ n00) & M63);
  /* eq = [c = 00] + y [c = 01] + x [c = 10] - x [c = 00] - y [c = 00]
   *      + q [c = 00 or 11] - q [c = 01 or 10] */
  uint64_t same = n00 | both, diff = ~same;
  *q = (m127_acc){(y0 & nh) | (x0 & hn), (y1 & nh) | (x1 & hn), 0};
  m127_acc_add_words(q, n00 & 1, 0);
  m127_acc_add_words(q, (x0 & n00) ^ n00, ((x1 & n00) ^ n00) & M63);
  m127_acc_add_words(q, (y0 & n00) ^ n00, ((y1 & n00) ^ n00) & M63);
  m127_acc_add_words(q, q0 & same, q1 & same);
  m127_acc_add_words(q, (q0 & diff) ^ diff, ((q1 & diff) ^ diff) & M63);
}

static void m127_bitlt_row(uint64_t *lo, uint64_t *eo, const uint64_t *c, const uint64_t *rh,
                           const uint64_t *rl, const uint64_t *pr, unsigned eh, size_t n) {
  for (size_t e = 0; e < n; e++) {
    m127_acc l, q;
    m127_bitlt_acc(c, rh, rl, pr, eh, e, &l, &q);
    SET(lo, e, m127_acc_value(&l));
    SET(eo, e, m127_acc_value(&q));
  }
}

/* See field128.h; as cc_field_bitlt_pairs, with masks instead of branches. */
void cc_field128_bitlt_pairs(const cc_field128 *f, uint64_t *lt, uint64_t *eq,
                             const uint64_t *c, const uint64_t *r,
                             const uint64_t *rho, unsigned m, size_t n) {
  const u128 p = f->p, one = 1;
  size_t h = m / 2;
  for (size_t i = 0; i < h && f->kind == CC_FIELD128_M127; i++) {
    unsigned eh = m - 1 - 2 * (unsigned)i;
    m127_bitlt_row(lt + 2 * i * n, eq + 2 * i * n, c, r + 2 * i * n, r + 2 * (h + i) * n,
                   rho + 2 * i * n, eh, n);
  }
  for (size_t i = 0; i < h && f->kind != CC_FIELD128_M127; i++) {
    unsigned eh = m - 1 - 2 * (unsigned)i; /* exponents of the pair's bits */
    const uint64_t *rh = r + 2 * i * n, *rl = r + 2 * (h + i) * n, *pr = rho + 2 * i * n;
    uint64_t *lo = lt + 2 * i * n, *eo = eq + 2 * i * n;
    for (size_t e = 0; e < n; e++) {
      u128 cv = GET(c, e);
      u128 ch = (u128)0 - ((cv >> eh) & 1), cl = (u128)0 - ((cv >> (eh - 1)) & 1);
      u128 x = GET(rh, e), y = GET(rl, e), q = GET(pr, e);
      u128 n00 = ~ch & ~cl;
      u128 l = submod(p, addmod(p, addmod(p, x & ~ch, y & n00), q & ch & ~cl), q & n00);
      u128 a = submod(p, (one & n00) | (y & ~ch & cl) | (x & ch & ~cl), x & n00);
      a = submod(p, a, y & n00);
      SET(lo, e, l);
      SET(eo, e, submod(p, addmod(p, a, q & (n00 | (ch & cl))), q & (ch ^ cl)));
    }
  }
  if (m % 2) {
    const uint64_t *rm = r + 2 * 2 * h * n;
    uint64_t *lo = lt + 2 * h * n, *eo = eq + 2 * h * n;
    for (size_t e = 0; e < n; e++) {
      u128 c0 = (u128)0 - (GET(c, e) & 1), x = GET(rm, e);
      SET(lo, e, x & ~c0);
      SET(eo, e, (x & c0) | (submod(p, one, x) & ~c0));
    }
  }
}

/* ==== The XOR of a group's bits and a dealer's ========================== */

ALWAYS_INLINE void xor_group_k(const cc_field128 *f, kind_t k, uint64_t *bits,
                               uint64_t *prod, uint64_t *msg, uint64_t *msgp, const uint64_t *b,
                               const uint64_t *u, const uint64_t *v, const uint64_t *z,
                               const uint64_t *rho, u128 fa, u128 x, u128 lam,
                               int negate, unsigned m, unsigned pairs, size_t n) {
  const u128 p = f->p;
  size_t h = m / 2;
  u128 xd = to_dom(f, k, x), ld = to_dom(f, k, lam);
  for (size_t j = 0; j < (size_t)m + pairs; j++) {
    const uint64_t *zj = z + 2 * j * n, *rj = rho ? rho + 2 * j * n : NULL;
    uint64_t *mj = !msg ? NULL : j < m ? msg + 2 * j * n : msgp + 2 * (j - m) * n;
    if (j < m) {
      const uint64_t *bj = b + 2 * j * n, *uj = u + 2 * j * n;
      uint64_t *oj = bits + 2 * j * n;
      for (size_t e = 0; e < n; e++) {
        u128 km = (u128)0 - (GET(bj, e) & 1), y = GET(uj, e);
        u128 w = submod(p, addmod(p, dmul(f, k, GET(zj, e), xd), y & ~km), y & km);
        SET(oj, e, addmod(p, w, fa & km));
        if (mj) {
          u128 t = dmul(f, k, w, ld);
          SET(mj, e, negate ? submod(p, t, GET(rj, e)) : addmod(p, t, GET(rj, e)));
        }
      }
    } else {
      size_t i = j - m;
      const uint64_t *bh = b + 2 * i * n, *bl = b + 2 * (h + i) * n;
      const uint64_t *uh = u + 2 * i * n, *ul = u + 2 * (h + i) * n, *uv = v + 2 * i * n;
      uint64_t *oi = prod + 2 * i * n;
      for (size_t e = 0; e < n; e++) {
        u128 kh = (u128)0 - (GET(bh, e) & 1), kl = (u128)0 - (GET(bl, e) & 1);
        u128 xh = GET(uh, e), xl = GET(ul, e), xv = GET(uv, e), same = ~(kh ^ kl);
        u128 w = addmod(p, dmul(f, k, GET(zj, e), xd),
                        (xv & same) | (xh & ~kh & kl) | (xl & kh & ~kl));
        w = submod(p, w, (xv & ~same) | (xh & kh & kl));
        w = submod(p, w, xl & kh & kl);
        SET(oi, e, addmod(p, w, fa & kh & kl));
        if (mj) {
          u128 t = dmul(f, k, w, ld);
          SET(mj, e, negate ? submod(p, t, GET(rj, e)) : addmod(p, t, GET(rj, e)));
        }
      }
    }
  }
}

/* See field128.h; as cc_field_xor_group. */
void cc_field128_xor_group(const cc_field128 *f, uint64_t *bits, uint64_t *prod,
                           uint64_t *msg, uint64_t *msgp, const uint64_t *b, const uint64_t *u,
                           const uint64_t *v, const uint64_t *z, const uint64_t *rho,
                           cc_u128 fa, cc_u128 x, cc_u128 lam, int negate,
                           unsigned m, unsigned pairs, size_t n) {
  const cc_field128 fl = *f;
#define BODY(K) xor_group_k(&fl, K, bits, prod, msg, msgp, b, u, v, z, rho, fa, x, lam, negate, m, pairs, n)
  BY_KIND(&fl, BODY);
#undef BODY
}

/* ---- The same with the group's values drawn row by row ----------------- */

/* Bit e of a packed row, as a mask of all ones or zeros. */
ALWAYS_INLINE u128 packed_mask(const uint64_t *row, size_t e) {
  return (u128)0 - ((row[e >> 6] >> (e & 63)) & 1);
}

/* One row of bits: as in xor_group_k, with the bits packed. */
ALWAYS_INLINE void xor_row_bits_k(const cc_field128 *f, kind_t k, uint64_t *out,
                                  uint64_t *mj, const uint64_t *bj, const uint64_t *uj,
                                  const uint64_t *zj, const uint64_t *rj, u128 fa,
                                  u128 xd, u128 ld, int negate, size_t n) {
  const u128 p = f->p;
  for (size_t e = 0; e < n; e++) {
    u128 km = packed_mask(bj, e), y = GET(uj, e);
    u128 w = submod(p, addmod(p, dmul(f, k, GET(zj, e), xd), y & ~km), y & km);
    SET(out, e, addmod(p, w, fa & km));
    if (mj) {
      u128 t = dmul(f, k, w, ld);
      SET(mj, e, negate ? submod(p, t, GET(rj, e)) : addmod(p, t, GET(rj, e)));
    }
  }
}

/* One row of a pair's products: as in xor_group_k, with the bits packed. */
ALWAYS_INLINE void xor_row_pair_k(const cc_field128 *f, kind_t k, uint64_t *out,
                                  uint64_t *mj, const uint64_t *bh, const uint64_t *bl,
                                  const uint64_t *uh, const uint64_t *ul,
                                  const uint64_t *uv, const uint64_t *zj,
                                  const uint64_t *rj, u128 fa, u128 xd, u128 ld,
                                  int negate, size_t n) {
  const u128 p = f->p;
  for (size_t e = 0; e < n; e++) {
    u128 kh = packed_mask(bh, e), kl = packed_mask(bl, e);
    u128 xh = GET(uh, e), xl = GET(ul, e), xv = GET(uv, e), same = ~(kh ^ kl);
    u128 w = addmod(p, dmul(f, k, GET(zj, e), xd),
                    (xv & same) | (xh & ~kh & kl) | (xl & kh & ~kl));
    w = submod(p, w, (xv & ~same) | (xh & kh & kl));
    w = submod(p, w, xl & kh & kl);
    SET(out, e, addmod(p, w, fa & kh & kl));
    if (mj) {
      u128 t = dmul(f, k, w, ld);
      SET(mj, e, negate ? submod(p, t, GET(rj, e)) : addmod(p, t, GET(rj, e)));
    }
  }
}

/* For 2^127 - 1: the same rows with each output one lazy sum of terms
 * below 2^128, reduced once, and the index x and the factor lam by weight
 * class (they are small: indices 1, 2, 3..., and lam is -1 or 2 with the
 * indices 1, 2, 3), so that most products are a word's or none. A negated
 * canonical y is y ^ (2^127 - 1) = p - y, in (0, p]. */
ALWAYS_INLINE u128 m127_message(const m127_weight *lk, u128 w, uint64_t r0, uint64_t r1,
                                uint64_t neg) {
  uint64_t t0, t1;
  m127_term(lk, LO(w), HI(w), &t0, &t1);
  m127_acc acc = {t0, t1, 0};
  m127_acc_add_words(&acc, r0 ^ neg, r1 ^ (neg & M63));
  return m127_acc_value(&acc);
}

static void m127_xor_row_bits(const m127_weight *xk, const m127_weight *lk, uint64_t *out,
                              uint64_t *mj, const uint64_t *bj, const uint64_t *uj,
                              const uint64_t *zj, const uint64_t *rj, u128 fa, int negate,
                              size_t n) {
  const uint64_t neg = negate ? UINT64_MAX : 0;
  const m127_weight xl = *xk, ll = *lk;
  for (size_t e = 0; e < n; e++) {
    uint64_t km = (uint64_t)0 - ((bj[e >> 6] >> (e & 63)) & 1), t0, t1;
    m127_term(&xl, zj[2 * e], zj[2 * e + 1], &t0, &t1);
    m127_acc acc = {t0, t1, 0};
    m127_acc_add_words(&acc, uj[2 * e] ^ km, uj[2 * e + 1] ^ (km & M63));
    u128 w = m127_acc_value(&acc);
    SET(out, e, addmod(MASK127, w, fa & (((u128)km << 64) | km)));
    if (mj) SET(mj, e, m127_message(&ll, w, rj[2 * e], rj[2 * e + 1], neg));
  }
}

static void m127_xor_row_pair(const m127_weight *xk, const m127_weight *lk, uint64_t *out,
                              uint64_t *mj, const uint64_t *bh, const uint64_t *bl,
                              const uint64_t *uh, const uint64_t *ul, const uint64_t *uv,
                              const uint64_t *zj, const uint64_t *rj, u128 fa, int negate,
                              size_t n) {
  const uint64_t neg = negate ? UINT64_MAX : 0;
  const m127_weight xl = *xk, ll = *lk;
  for (size_t e = 0; e < n; e++) {
    uint64_t kh = (uint64_t)0 - ((bh[e >> 6] >> (e & 63)) & 1);
    uint64_t kl = (uint64_t)0 - ((bl[e >> 6] >> (e & 63)) & 1);
    uint64_t same = ~(kh ^ kl), both = kh & kl, t0, t1;
    /* Added: v if the bits agree, u_h if only the low one is set, u_l if
     * only the high one; subtracted: v if they differ, u_h and u_l if both
     * are set. */
    uint64_t a0 = (uv[2 * e] & same) | (uh[2 * e] & ~kh & kl) | (ul[2 * e] & kh & ~kl);
    uint64_t a1 = (uv[2 * e + 1] & same) | (uh[2 * e + 1] & ~kh & kl) |
                  (ul[2 * e + 1] & kh & ~kl);
    uint64_t s0 = (uv[2 * e] & ~same) | (uh[2 * e] & both);
    uint64_t s1 = (uv[2 * e + 1] & ~same) | (uh[2 * e + 1] & both);
    m127_term(&xl, zj[2 * e], zj[2 * e + 1], &t0, &t1);
    m127_acc acc = {t0, t1, 0};
    m127_acc_add_words(&acc, a0, a1);
    m127_acc_add_words(&acc, ~s0, s1 ^ M63);
    m127_acc_add_words(&acc, (ul[2 * e] & both) ^ both, ((ul[2 * e + 1] & both) ^ both) & M63);
    u128 w = m127_acc_value(&acc);
    SET(out, e, addmod(MASK127, w, fa & (((u128)both << 64) | both)));
    if (mj) SET(mj, e, m127_message(&ll, w, rj[2 * e], rj[2 * e + 1], neg));
  }
}

ALWAYS_INLINE void xor_row_k(const cc_field128 *f, kind_t k, size_t j, uint64_t *bits,
                             uint64_t *prod, uint64_t *msg, uint64_t *msgp,
                             const uint64_t *b, size_t words, const uint64_t *u,
                             const uint64_t *v, const uint64_t *z, const uint64_t *rho,
                             u128 fa, u128 x, u128 lam, int negate, unsigned m, size_t n) {
  size_t h = m / 2;
  if (k == CC_FIELD128_M127) {
    m127_weight xk = m127_classify(x), lk = m127_classify(lam);
    if (j < m) {
      m127_xor_row_bits(&xk, &lk, bits + 2 * j * n, msg ? msg + 2 * j * n : NULL,
                        b + j * words, u + 2 * j * n, z, rho, fa, negate, n);
    } else {
      size_t i = j - m;
      m127_xor_row_pair(&xk, &lk, prod + 2 * i * n, msgp ? msgp + 2 * i * n : NULL,
                        b + i * words, b + (h + i) * words, u + 2 * i * n,
                        u + 2 * (h + i) * n, v + 2 * i * n, z, rho, fa, negate, n);
    }
    return;
  }
  u128 xd = to_dom(f, k, x), ld = to_dom(f, k, lam);
  if (j < m) {
    xor_row_bits_k(f, k, bits + 2 * j * n, msg ? msg + 2 * j * n : NULL, b + j * words,
                   u + 2 * j * n, z, rho, fa, xd, ld, negate, n);
  } else {
    size_t i = j - m;
    xor_row_pair_k(f, k, prod + 2 * i * n, msgp ? msgp + 2 * i * n : NULL, b + i * words,
                   b + (h + i) * words, u + 2 * i * n, u + 2 * (h + i) * n, v + 2 * i * n,
                   z, rho, fa, xd, ld, negate, n);
  }
}

int cc_field128_xor_group_rng(const cc_field128 *f, cc_rng *rng, uint64_t *bits,
                              uint64_t *prod, uint64_t *msg, uint64_t *msgp,
                              const uint64_t *u, const uint64_t *v, cc_u128 fa,
                              cc_u128 x, cc_u128 lam, int negate, unsigned m,
                              unsigned pairs, size_t n) {
  const cc_field128 fl = *f;
  size_t words = (n + 63) / 64;
  if (n > SIZE_MAX / 32 || (m && words > SIZE_MAX / 8 / m)) return CC_FIELD_ENOMEM;
  uint64_t *b = malloc(m * words * sizeof *b + 1);
  uint64_t *z = malloc(4 * n * sizeof *z + 1), *rho = z + 2 * n;
  int rc = CC_FIELD_OK;
  if (!b || !z) {
    rc = CC_FIELD_ENOMEM;
  } else if (cc_rng_bytes(rng, b, m * words * sizeof *b) != 0) {
    rc = CC_FIELD128_ERNG;
  } else {
    for (size_t j = 0; j < (size_t)m + pairs; j++) {
      if (cc_rng_uniform_mod128(rng, LO(fl.p), HI(fl.p), z, n) != 0 ||
          cc_rng_uniform_mod128(rng, LO(fl.p), HI(fl.p), rho, n) != 0) {
        rc = CC_FIELD128_ERNG;
        break;
      }
#define BODY(K) xor_row_k(&fl, K, j, bits, prod, msg, msgp, b, words, u, v, z, rho, fa, x, lam, negate, m, n)
      BY_KIND(&fl, BODY);
#undef BODY
    }
  }
  if (b) explicit_bzero(b, m * words * sizeof *b);
  if (z) explicit_bzero(z, 4 * n * sizeof *z);
  free(b);
  free(z);
  return rc;
}

/* ==== A level of a less-than tree, reduced by threshold-2 dealings ====== */

/* The operands of product row j of a tree level: eq[2i] times lt[2i + 1]
 * for the first half rows, eq[2i] times eq[2i + 1] after them. */
static void tree_operands(const uint64_t *lt, const uint64_t *eq, size_t half, size_t j,
                          size_t n, const uint64_t **a, const uint64_t **b) {
  size_t i = j < half ? j : j - half;
  *a = eq + 2 * (2 * i) * n;
  *b = j < half ? lt + 2 * (2 * i + 1) * n : eq + 2 * (2 * i + 1) * n;
}

ALWAYS_INLINE void tree_deal_row_k(const cc_field128 *f, kind_t k, uint64_t *own,
                                   uint64_t *const *msgs, size_t nmsgs, const u128 *wd,
                                   const uint64_t *a, const uint64_t *b, const uint64_t *e,
                                   size_t at, size_t n) {
  for (size_t i = 0; i < n; i++) {
    u128 h = dmul(f, k, to_dom(f, k, GET(a, i)), GET(b, i)), ei = GET(e, i);
    u128 q = dmul(f, k, h, wd[0]);
    SET(own, at + i, addmod(f->p, dmul(f, k, q, wd[1]), dmul(f, k, ei, wd[2])));
    for (size_t m = 0; m < nmsgs; m++)
      SET(msgs[m], at + i,
          addmod(f->p, dmul(f, k, q, wd[3 + 2 * m]), dmul(f, k, ei, wd[4 + 2 * m])));
  }
}

/* For 2^127 - 1, a weight c or -c of one word c: its product with a
 * canonical x is c x or c (p - x), and p - x = x ^ (2^127 - 1). */
typedef struct { uint64_t c, neg0, neg1; } m127_sword;

static int m127_small_word(u128 w, m127_sword *s) {
  u128 neg = w ? MASK127 - w : 0;
  if (HI(w) == 0 && LO(w) < ((uint64_t)1 << 62)) *s = (m127_sword){LO(w), 0, 0};
  else if (HI(neg) == 0 && LO(neg) < ((uint64_t)1 << 62)) *s = (m127_sword){LO(neg), UINT64_MAX, M63};
  else return 0;
  return 1;
}

/* c x folded once for the weight s: r1 2^64 + r0 < 2^128 (as m127_term's
 * WC_WORD). */
ALWAYS_INLINE void m127_sword_term(m127_sword s, uint64_t x0, uint64_t x1, uint64_t *r0,
                                   uint64_t *r1) {
  uint64_t y0, y1, y2;
  mul_by_word(cc_u128_make(x0 ^ s.neg0, x1 ^ s.neg1), s.c, &y0, &y1, &y2);
  uint64_t h = (y2 << 1) | (y1 >> 63);
  *r0 = y0 + h;
  *r1 = (y1 & M63) + (*r0 < y0);
}

/* c x for a canonical x and a weight below 2^62 in absolute value (x
 * taken as p - x = x ^ (2^127 - 1) for a negative one) as three words
 * below 2^189; unit: c = 1, no product; 2: c = 2, a shift. */
ALWAYS_INLINE void m127_sword_wide(m127_sword s, int unit, uint64_t x0, uint64_t x1,
                                   uint64_t *a0, uint64_t *a1, uint64_t *a2) {
  x0 ^= s.neg0;
  x1 ^= s.neg1;
  if (unit == 1) {
    *a0 = x0;
    *a1 = x1;
    *a2 = 0;
    return;
  }
  if (unit == 2) {
    *a0 = x0 << 1;
    *a1 = (x1 << 1) | (x0 >> 63);
    *a2 = x1 >> 63;
    return;
  }
  u128 t0 = (u128)x0 * s.c, t1 = (u128)x1 * s.c;
  u128 mid = (u128)HI(t0) + LO(t1);
  *a0 = LO(t0);
  *a1 = LO(mid);
  *a2 = HI(t1) + HI(mid);
}

/* out[i] = wq q[i] + we e[i] for canonical q, e and weights below 2^62 in
 * absolute value: the two terms summed in three words below 2^190, folded
 * once at bit 127 and reduced. qu, eu: 1 when the weight is +-1, 2 when
 * it is +-2, else 0 (constants in each instance). */
ALWAYS_INLINE void m127_pair_words_k(uint64_t *out, const uint64_t *q, const uint64_t *e,
                                     m127_sword wq, m127_sword we, int qu, int eu,
                                     size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t a0, a1, a2, b0, b1, b2;
    m127_sword_wide(wq, qu, q[2 * i], q[2 * i + 1], &a0, &a1, &a2);
    m127_sword_wide(we, eu, e[2 * i], e[2 * i + 1], &b0, &b1, &b2);
    uint64_t s0 = a0 + b0;
    u128 mid = (u128)a1 + b1 + (s0 < a0);
    uint64_t s1 = LO(mid), s2 = a2 + b2 + HI(mid);
    uint64_t h = (s2 << 1) | (s1 >> 63);
    uint64_t r0 = s0 + h;
    SET(out, i, m127_reduce_words(r0, (s1 & M63) + (r0 < s0)));
  }
}

static void m127_pair_words(uint64_t *out, const uint64_t *q, const uint64_t *e,
                            m127_sword wq, m127_sword we, size_t n) {
  /* With the indices 1, 2, 3 every weight is 1, 2 or 3 in absolute value. */
  int qu = wq.c == 1 ? 1 : wq.c == 2 ? 2 : 0, eu = we.c == 1 ? 1 : we.c == 2 ? 2 : 0;
  switch (3 * qu + eu) {
  case 0: m127_pair_words_k(out, q, e, wq, we, 0, 0, n); break;
  case 1: m127_pair_words_k(out, q, e, wq, we, 0, 1, n); break;
  case 2: m127_pair_words_k(out, q, e, wq, we, 0, 2, n); break;
  case 3: m127_pair_words_k(out, q, e, wq, we, 1, 0, n); break;
  case 4: m127_pair_words_k(out, q, e, wq, we, 1, 1, n); break;
  case 5: m127_pair_words_k(out, q, e, wq, we, 1, 2, n); break;
  case 6: m127_pair_words_k(out, q, e, wq, we, 2, 0, n); break;
  case 7: m127_pair_words_k(out, q, e, wq, we, 2, 1, n); break;
  default: m127_pair_words_k(out, q, e, wq, we, 2, 2, n); break;
  }
}

/* q[i] = mu a[i] b[i] (mu == 1: no second product). */
static void m127_scaled_products(uint64_t *q, const uint64_t *a, const uint64_t *b, u128 mu,
                                 size_t n) {
  if (mu == 1) {
    for (size_t i = 0; i < n; i++) SET(q, i, m127_mul(GET(a, i), GET(b, i)));
  } else {
    for (size_t i = 0; i < n; i++) SET(q, i, m127_mul(m127_mul(GET(a, i), GET(b, i)), mu));
  }
}

int cc_field128_tree_deal(const cc_field128 *f, cc_rng *rng, uint64_t *own,
                          uint64_t *const *msgs, size_t nmsgs, const uint64_t *w,
                          const uint64_t *lt, const uint64_t *eq, size_t half,
                          size_t eqs, size_t n) {
  const cc_field128 fl = *f;
  size_t nw = 3 + 2 * nmsgs;
  if (nmsgs > CC_FIELD128_TREE_MAX_MSGS || n > SIZE_MAX / 64) return CC_FIELD_EINVAL;
  u128 wd[3 + 2 * CC_FIELD128_TREE_MAX_MSGS];
  m127_sword sw[3 + 2 * CC_FIELD128_TREE_MAX_MSGS];
  /* For 2^127 - 1 with one-word weights of the shares (small indices):
   * the scaled products into a row, then one pass per output. */
  int words = fl.kind == CC_FIELD128_M127;
  for (size_t j = 0; j < nw; j++) {
#define BODY(K) wd[j] = to_dom(&fl, K, GET(w, j))
    BY_KIND(&fl, BODY);
#undef BODY
    if (j > 0 && words) words = m127_small_word(GET(w, j), &sw[j]);
  }
  uint64_t *e = malloc(4 * n * sizeof *e + 1), *q = e + 2 * n;
  if (!e) return CC_FIELD_ENOMEM;
  int rc = CC_FIELD_OK;
  for (size_t j = 0; j < half + eqs; j++) {
    const uint64_t *a, *b;
    tree_operands(lt, eq, half, j, n, &a, &b);
    if (cc_rng_uniform_mod128(rng, LO(fl.p), HI(fl.p), e, n) != 0) {
      rc = CC_FIELD128_ERNG;
      break;
    }
    if (words) {
      m127_scaled_products(q, a, b, GET(w, 0), n);
      m127_pair_words(own + 2 * j * n, q, e, sw[1], sw[2], n);
      for (size_t m = 0; m < nmsgs; m++)
        m127_pair_words(msgs[m] + 2 * j * n, q, e, sw[3 + 2 * m], sw[4 + 2 * m], n);
      continue;
    }
#define BODY(K) tree_deal_row_k(&fl, K, own, msgs, nmsgs, wd, a, b, e, j * n, n)
    BY_KIND(&fl, BODY);
#undef BODY
  }
  explicit_bzero(e, 4 * n * sizeof *e);
  free(e);
  return rc;
}

ALWAYS_INLINE void tree_merge_row_k(const cc_field128 *f, kind_t k, uint64_t *out,
                                    const uint64_t *base, const uint64_t *own,
                                    const uint64_t *const *got, size_t ngot, u128 xd,
                                    const m127_weight *xk, const uint64_t *d, size_t at,
                                    size_t n) {
  for (size_t i = 0; i < n; i++) {
    u128 v;
    if (k == CC_FIELD128_M127) {
      uint64_t t0 = 0, t1 = 0;
      if (d) m127_term(xk, d[2 * i], d[2 * i + 1], &t0, &t1);
      m127_acc acc = {t0, t1, 0};
      m127_acc_add_words(&acc, own[2 * (at + i)], own[2 * (at + i) + 1]);
      for (size_t m = 0; m < ngot; m++)
        m127_acc_add_words(&acc, got[m][2 * (at + i)], got[m][2 * (at + i) + 1]);
      if (base) m127_acc_add_words(&acc, base[2 * i], base[2 * i + 1]);
      v = m127_acc_value(&acc);
    } else {
      v = GET(own, at + i);
      if (d) v = addmod(f->p, v, dmul(f, k, GET(d, i), xd));
      for (size_t m = 0; m < ngot; m++) v = addmod(f->p, v, GET(got[m], at + i));
      if (base) v = addmod(f->p, v, GET(base, i));
    }
    SET(out, i, v);
  }
}

int cc_field128_tree_merge(const cc_field128 *f, cc_rng *const *rngs, size_t nrng,
                           uint64_t *nlt, uint64_t *neq, const uint64_t *lt, size_t rows,
                           const uint64_t *own, const uint64_t *const *got, size_t ngot,
                           cc_u128 x, size_t n) {
  const cc_field128 fl = *f;
  size_t half = rows / 2, eqs = rows % 2 == 0 ? half - 1 : half;
  if (rows < 2 || n > SIZE_MAX / 32) return CC_FIELD_EINVAL;
  u128 xd = 0;
#define BODY(K) xd = to_dom(&fl, K, x)
  BY_KIND(&fl, BODY);
#undef BODY
  const m127_weight xk = m127_classify(x);
  uint64_t *d = malloc(4 * n * sizeof *d + 1), *sum = d + 2 * n;
  if (!d) return CC_FIELD_ENOMEM;
  int rc = CC_FIELD_OK;
  for (size_t j = 0; j < half + eqs && rc == CC_FIELD_OK; j++) {
    /* The rows drawn from every stream, summed (x is the same weight for
     * each). */
    for (size_t r = 0; r < nrng; r++) {
      if (cc_rng_uniform_mod128(rngs[r], LO(fl.p), HI(fl.p), r ? d : sum, n) != 0) {
        rc = CC_FIELD128_ERNG;
        break;
      }
      if (r) cc_field128_add(&fl, sum, sum, d, n);
    }
    if (rc != CC_FIELD_OK) break;
    /* Row j < half merges into lt'[j] = lt[2j] + product; the others are
     * eq'[j - half]. */
    uint64_t *out = j < half ? nlt + 2 * j * n : neq + 2 * (j - half) * n;
    const uint64_t *base = j < half ? lt + 2 * (2 * j) * n : NULL;
    const uint64_t *drawn = nrng ? sum : NULL;
#define BODY(K) tree_merge_row_k(&fl, K, out, base, own, got, ngot, xd, &xk, drawn, j * n, n)
    BY_KIND(&fl, BODY);
#undef BODY
  }
  if (rc == CC_FIELD_OK && rows % 2)
    memcpy(nlt + 2 * half * n, lt + 2 * (rows - 1) * n, 2 * n * sizeof *nlt);
  explicit_bzero(d, 4 * n * sizeof *d);
  free(d);
  return rc;
}

/* ==== A dealer's shares of random bits and of their pairs' products ===== */

/* msg[i] = w1 e[i] + w0 [bit i], e canonical (in place: msg may be e). */
ALWAYS_INLINE void deal_bits_row_k(const cc_field128 *f, kind_t k, uint64_t *msg,
                                   const uint64_t *e, const uint64_t *bh,
                                   const uint64_t *bl, u128 w0, u128 w1d,
                                   const m127_sword *sw, size_t n) {
  for (size_t i = 0; i < n; i++) {
    u128 bit = packed_mask(bh, i);
    if (bl) bit &= packed_mask(bl, i);
    u128 s = w0 & bit;
    if (k == CC_FIELD128_M127 && sw) {
      uint64_t t0, t1;
      m127_sword_term(*sw, e[2 * i], e[2 * i + 1], &t0, &t1);
      m127_acc acc = {t0, t1, 0};
      m127_acc_add_words(&acc, LO(s), HI(s));
      SET(msg, i, m127_acc_value(&acc));
    } else {
      SET(msg, i, addmod(f->p, dmul(f, k, GET(e, i), w1d), s));
    }
  }
}

/* Rows rows of messages from the packed bits (rows of words words; with
 * lo, row j's bit is bits[j] and bits[lo + j]): the draws go into msgs[0]
 * (as one cc_rng_uniform_mod128 of rows * n), the other targets' messages
 * are made from them, msgs[0]'s last, in place. */
static int deal_bits_part(const cc_field128 *f, cc_rng *pair, uint64_t *const *msgs,
                          size_t targets, const uint64_t *w, const uint64_t *bits,
                          size_t words, size_t lo, int products, size_t rows, size_t n) {
  const cc_field128 fl = *f;
  if (rows == 0) return CC_FIELD_OK;
  if (cc_rng_uniform_mod128(pair, LO(fl.p), HI(fl.p), msgs[0], rows * n) != 0)
    return CC_FIELD128_ERNG;
  for (size_t t = targets; t-- > 0;) {
    u128 w0 = GET(w, 2 * t), w1 = GET(w, 2 * t + 1), w1d = 0;
    m127_sword sw;
    int words1 = fl.kind == CC_FIELD128_M127 && m127_small_word(w1, &sw);
#define BODY(K) w1d = to_dom(&fl, K, w1)
    BY_KIND(&fl, BODY);
#undef BODY
    for (size_t j = 0; j < rows; j++) {
      const uint64_t *bh = bits + j * words, *bl = products ? bits + (lo + j) * words : NULL;
      uint64_t *out = msgs[t] + 2 * j * n;
      const uint64_t *e = msgs[0] + 2 * j * n;
#define BODY(K) deal_bits_row_k(&fl, K, out, e, bh, bl, w0, w1d, words1 ? &sw : NULL, n)
      BY_KIND(&fl, BODY);
#undef BODY
    }
  }
  return CC_FIELD_OK;
}

int cc_field128_deal_bits(const cc_field128 *f, cc_rng *own, cc_rng *pair,
                          uint64_t *const *msgs, uint64_t *const *pmsgs, size_t targets,
                          const uint64_t *w, unsigned m, unsigned pairs, size_t n) {
  size_t words = (n + 63) / 64;
  if (targets == 0 || pairs > m / 2 || n > SIZE_MAX / 32 ||
      (m && words > SIZE_MAX / 8 / m))
    return CC_FIELD_EINVAL;
  uint64_t *bits = malloc(m * words * sizeof *bits + 1);
  if (!bits) return CC_FIELD_ENOMEM;
  int rc = CC_FIELD_OK;
  if (cc_rng_bytes(own, bits, m * words * sizeof *bits) != 0) rc = CC_FIELD128_ERNG;
  if (rc == CC_FIELD_OK)
    rc = deal_bits_part(f, pair, msgs, targets, w, bits, words, 0, 0, m, n);
  if (rc == CC_FIELD_OK)
    rc = deal_bits_part(f, pair, pmsgs, targets, w, bits, words, m / 2, 1, pairs, n);
  explicit_bzero(bits, m * words * sizeof *bits);
  free(bits);
  return rc;
}

/* ==== The XOR of a group's bits and a dealer's, randomized after ======== */

/* For 2^127 - 1, xor_row_k's rows without Z: a bits row (1 - 2b) u + fa b
 * and a pair's row, each one lazy sum reduced once. */
static void m127_plain_row_bits(uint64_t *out, const uint64_t *bj, const uint64_t *uj, u128 fa,
                                size_t n) {
  const uint64_t f0 = LO(fa), f1 = HI(fa);
  for (size_t e = 0; e < n; e++) {
    uint64_t km = (uint64_t)0 - ((bj[e >> 6] >> (e & 63)) & 1);
    m127_acc acc = {uj[2 * e] ^ km, uj[2 * e + 1] ^ (km & M63), 0};
    m127_acc_add_words(&acc, f0 & km, f1 & km);
    SET(out, e, m127_acc_value(&acc));
  }
}

static void m127_plain_row_pair(uint64_t *out, const uint64_t *bh, const uint64_t *bl,
                                const uint64_t *uh, const uint64_t *ul, const uint64_t *uv,
                                u128 fa, size_t n) {
  const uint64_t f0 = LO(fa), f1 = HI(fa);
  for (size_t e = 0; e < n; e++) {
    uint64_t kh = (uint64_t)0 - ((bh[e >> 6] >> (e & 63)) & 1);
    uint64_t kl = (uint64_t)0 - ((bl[e >> 6] >> (e & 63)) & 1);
    uint64_t same = ~(kh ^ kl), both = kh & kl;
    /* as m127_xor_row_pair's */
    uint64_t a0 = (uv[2 * e] & same) | (uh[2 * e] & ~kh & kl) | (ul[2 * e] & kh & ~kl);
    uint64_t a1 = (uv[2 * e + 1] & same) | (uh[2 * e + 1] & ~kh & kl) |
                  (ul[2 * e + 1] & kh & ~kl);
    uint64_t s0 = (uv[2 * e] & ~same) | (uh[2 * e] & both);
    uint64_t s1 = (uv[2 * e + 1] & ~same) | (uh[2 * e + 1] & both);
    m127_acc acc = {a0, a1, 0};
    m127_acc_add_words(&acc, ~s0, s1 ^ M63);
    m127_acc_add_words(&acc, (ul[2 * e] & both) ^ both, ((ul[2 * e + 1] & both) ^ both) & M63);
    m127_acc_add_words(&acc, f0 & both, f1 & both);
    SET(out, e, m127_acc_value(&acc));
  }
}

int cc_field128_xor_group_plain(const cc_field128 *f, cc_rng *rng, uint64_t *bits,
                                uint64_t *prod, const uint64_t *u, const uint64_t *v,
                                cc_u128 fa, unsigned m, unsigned pairs, size_t n) {
  const cc_field128 fl = *f;
  size_t words = (n + 63) / 64;
  if (pairs > m / 2 || n > SIZE_MAX / 32 || (m && words > SIZE_MAX / 8 / m))
    return CC_FIELD_EINVAL;
  uint64_t *b = malloc(m * words * sizeof *b + 1);
  uint64_t *z = calloc(2 * n + 1, sizeof *z); /* Z = 0: the index's weight is 0 */
  int rc = CC_FIELD_OK;
  if (!b || !z) {
    rc = CC_FIELD_ENOMEM;
  } else if (cc_rng_bytes(rng, b, m * words * sizeof *b) != 0) {
    rc = CC_FIELD128_ERNG;
  } else {
    size_t h = m / 2;
    for (size_t j = 0; j < (size_t)m + pairs && fl.kind == CC_FIELD128_M127; j++) {
      if (j < m) {
        m127_plain_row_bits(bits + 2 * j * n, b + j * words, u + 2 * j * n, fa, n);
      } else {
        size_t i = j - m;
        m127_plain_row_pair(prod + 2 * i * n, b + i * words, b + (h + i) * words,
                            u + 2 * i * n, u + 2 * (h + i) * n, v + 2 * i * n, fa, n);
      }
    }
    for (size_t j = 0; j < (size_t)m + pairs && fl.kind != CC_FIELD128_M127; j++) {
#define BODY(K) xor_row_k(&fl, K, j, bits, prod, NULL, NULL, b, words, u, v, z, NULL, fa, 0, 0, 0, m, n)
      BY_KIND(&fl, BODY);
#undef BODY
    }
  }
  if (b) explicit_bzero(b, m * words * sizeof *b);
  free(b);
  free(z);
  return rc;
}

int cc_field128_randomize_rows(const cc_field128 *f, cc_rng *rng, uint64_t *rows,
                               uint64_t *msg, cc_u128 x, cc_u128 lam, int negate,
                               size_t nrows, size_t n) {
  const cc_field128 fl = *f;
  size_t words = (n + 63) / 64;
  if (n > SIZE_MAX / 32) return CC_FIELD_EINVAL;
  /* No bits: xor_row_k's bits row with b = 0 is w = y + z x. */
  uint64_t *zero = calloc(words + 1, sizeof *zero);
  uint64_t *z = malloc(4 * n * sizeof *z + 1), *rho = z ? z + 2 * n : NULL;
  int rc = CC_FIELD_OK;
  if (!zero || !z) rc = CC_FIELD_ENOMEM;
  for (size_t j = 0; j < nrows && rc == CC_FIELD_OK; j++) {
    if (cc_rng_uniform_mod128(rng, LO(fl.p), HI(fl.p), z, n) != 0 ||
        cc_rng_uniform_mod128(rng, LO(fl.p), HI(fl.p), rho, n) != 0) {
      rc = CC_FIELD128_ERNG;
      break;
    }
    uint64_t *row = rows + 2 * j * n, *mj = msg ? msg + 2 * j * n : NULL;
#define BODY(K) xor_row_k(&fl, K, 0, row, NULL, mj, NULL, zero, words, row, NULL, z, rho, 0, x, lam, negate, 1, n)
    BY_KIND(&fl, BODY);
#undef BODY
  }
  if (z) explicit_bzero(z, 4 * n * sizeof *z);
  free(zero);
  free(z);
  return rc;
}

/* For 2^127 - 1, one pair row of m127_bitlt_row with each output y made
 * y + z x and, unless ml / me is NULL, its message lam (y + z x) +- rho
 * (m127_message), all in the same lazy sums. */
static void m127_bitlt_row_rand(uint64_t *lo, uint64_t *eo, uint64_t *ml, uint64_t *me,
                                const uint64_t *c, const uint64_t *rh, const uint64_t *rl,
                                const uint64_t *pr, unsigned eh, const uint64_t *zl,
                                const uint64_t *pl, const uint64_t *ze, const uint64_t *pe,
                                const m127_weight *xk, const m127_weight *lk, uint64_t neg,
                                size_t n) {
  const m127_weight xw = *xk, lw = *lk;
  for (size_t e = 0; e < n; e++) {
    m127_acc l, q;
    uint64_t t0, t1;
    m127_bitlt_acc(c, rh, rl, pr, eh, e, &l, &q);
    /* lt and eq as in m127_bitlt_row, plus z x */
    m127_term(&xw, zl[2 * e], zl[2 * e + 1], &t0, &t1);
    m127_acc_add_words(&l, t0, t1);
    u128 wl = m127_acc_value(&l);
    SET(lo, e, wl);
    if (ml) SET(ml, e, m127_message(&lw, wl, pl[2 * e], pl[2 * e + 1], neg));
    m127_term(&xw, ze[2 * e], ze[2 * e + 1], &t0, &t1);
    m127_acc_add_words(&q, t0, t1);
    u128 wq = m127_acc_value(&q);
    SET(eo, e, wq);
    if (me) SET(me, e, m127_message(&lw, wq, pe[2 * e], pe[2 * e + 1], neg));
  }
}

int cc_field128_bitlt_randomized(const cc_field128 *f, cc_rng *rng, uint64_t *lt,
                                 uint64_t *eq, uint64_t *mlt, uint64_t *meq,
                                 const uint64_t *c, const uint64_t *r, const uint64_t *rho,
                                 cc_u128 x, cc_u128 lam, int negate, unsigned m, size_t n) {
  const cc_field128 fl = *f;
  const u128 p = fl.p, one = 1;
  size_t h = m / 2, rows = h + m % 2, words = (n + 63) / 64;
  if (m < 2 || m > 127 || n > SIZE_MAX / 64) return CC_FIELD_EINVAL;
  int fuse = fl.kind == CC_FIELD128_M127;
  if (!fuse) {
    cc_field128_bitlt_pairs(f, lt, eq, c, r, rho, m, n); /* randomized below */
  } else if (m % 2) {
    /* the odd bit's row, as cc_field128_bitlt_pairs's */
    const uint64_t *rm = r + 2 * 2 * h * n;
    uint64_t *lo = lt + 2 * h * n, *eo = eq + 2 * h * n;
    for (size_t e = 0; e < n; e++) {
      u128 c0 = (u128)0 - (GET(c, e) & 1), xv = GET(rm, e);
      SET(lo, e, xv & ~c0);
      SET(eo, e, (xv & c0) | (submod(p, one, xv) & ~c0));
    }
  }
  uint64_t *zero = calloc(words + 1, sizeof *zero);
  uint64_t *d = malloc(8 * n * sizeof *d + 1);
  int rc = CC_FIELD_OK;
  if (!zero || !d) rc = CC_FIELD_ENOMEM;
  const m127_weight xk = m127_classify(x), lk = m127_classify(lam);
  const uint64_t neg = negate ? UINT64_MAX : 0;
  for (size_t i = 0; i < rows && rc == CC_FIELD_OK; i++) {
    uint64_t *zl = d, *pl = d + 2 * n, *ze = d + 4 * n, *pe = d + 6 * n;
    for (int k = 0; k < 4; k++) {
      if (cc_rng_uniform_mod128(rng, LO(p), HI(p), d + 2 * (size_t)k * n, n) != 0) {
        rc = CC_FIELD128_ERNG;
        break;
      }
    }
    if (rc != CC_FIELD_OK) break;
    uint64_t *lo = lt + 2 * i * n, *eo = eq + 2 * i * n;
    uint64_t *ml = mlt ? mlt + 2 * i * n : NULL, *me = meq ? meq + 2 * i * n : NULL;
    if (fuse && i < h) {
      m127_bitlt_row_rand(lo, eo, ml, me, c, r + 2 * i * n, r + 2 * (h + i) * n,
                          rho + 2 * i * n, m - 1 - 2 * (unsigned)i, zl, pl, ze, pe, &xk, &lk,
                          neg, n);
      continue;
    }
#define BODY(K)                                                                         \
  do {                                                                                  \
    xor_row_k(&fl, K, 0, lo, NULL, ml, NULL, zero, words, lo, NULL, zl, pl, 0, x, lam,  \
              negate, 1, n);                                                            \
    xor_row_k(&fl, K, 0, eo, NULL, me, NULL, zero, words, eo, NULL, ze, pe, 0, x, lam,  \
              negate, 1, n);                                                            \
  } while (0)
    BY_KIND(&fl, BODY);
#undef BODY
  }
  if (d) explicit_bzero(d, 8 * n * sizeof *d);
  free(zero);
  free(d);
  return rc;
}
