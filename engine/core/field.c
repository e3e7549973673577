/*
 * field.c - arithmetic in GF(p) over whole arrays of 64-bit words.
 *
 * Owns the order check, the reduction strategies and every per-element
 * kernel that the Lua bindings and the protocols use: one call per array,
 * never a call per element. No Lua here (see field.h).
 *
 * Products are reduced in one of three ways, chosen once by cc_field_setup:
 *  - FOLD, for p = 2^64 - c with c < 2^32 (the default 2^64 - 59): since
 *    2^64 = c (mod p), hi * 2^64 + lo folds to hi * c + lo; three folds and
 *    one conditional subtraction bring a 128-bit product below p.
 *  - MONT, for every other odd p: Montgomery reduction (REDC). Elements stay
 *    canonical in memory; a kernel converts one operand (or the scalar) into
 *    Montgomery form so that REDC(a * bR) = ab comes out canonical.
 *  - PLAIN, for p = 2: a 128-bit remainder.
 * The "domain" helpers below hide the difference: to_dom/dmul are the
 * identity and mulmod for FOLD and PLAIN.
 */
#include "core/field.h"
#include "core/check.h"
#include "core/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

/* gcc and clang on 64-bit targets; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef unsigned __int128 u128;

/* ==== Reduction ========================================================= */

static inline uint64_t fold_reduce(const cc_field *f, u128 x) {
  uint64_t c = f->c;
  /* x = hi 2^64 + lo = hi c + lo (mod p). t = hi c + lo < 2^96 + 2^64, so
   * its high word th is at most 2^32 and th * c < 2^64 is a 64-bit product;
   * tl + th c overflows at most once, and then the true value minus 2^64
   * is below th * c <= 2^64 - 2^32, so adding c (< 2^32) cannot overflow.
   * The result is below 2^64 < 2p: one conditional subtraction. */
  u128 t = (u128)(uint64_t)(x >> 64) * c + (uint64_t)x;
  uint64_t tl = (uint64_t)t, th = (uint64_t)(t >> 64);
  uint64_t r = tl + th * c;
  r += c & ((uint64_t)0 - (uint64_t)(r < tl));
  return r >= f->p ? r - f->p : r;
}

/* REDC: x * 2^-64 mod p for x < p * 2^64. Since m * p and x share their low
 * word, (x - m * p) / 2^64 is the difference of the high words. */
static inline uint64_t redc(const cc_field *f, u128 x) {
  uint64_t m = (uint64_t)x * f->pinv;
  uint64_t mp_hi = (uint64_t)(((u128)m * f->p) >> 64);
  uint64_t hi = (uint64_t)(x >> 64);
  return hi - mp_hi + (f->p & ((uint64_t)0 - (uint64_t)(hi < mp_hi)));
}

/* Into the multiplication domain (aR mod p for MONT). */
static inline uint64_t to_dom(const cc_field *f, uint64_t a) {
  return f->kind == CC_FIELD_MONT ? redc(f, (u128)a * f->r2) : a;
}

/* a * b mod p when exactly one of a, b is in the domain; the result is
 * canonical. Both in the domain gives a domain result. */
static inline uint64_t dmul(const cc_field *f, uint64_t a, uint64_t b) {
  u128 x = (u128)a * b;
  switch (f->kind) {
  case CC_FIELD_FOLD: return fold_reduce(f, x);
  case CC_FIELD_MONT: return redc(f, x);
  default: return (uint64_t)(x % f->p);
  }
}

/* Add and subtract without branches: with random operands the carry is a
 * coin flip, and a mispredicted branch costs more than the arithmetic. */
static inline uint64_t addmod(const cc_field *f, uint64_t a, uint64_t b) {
  uint64_t s = a + b;
  /* On carry the true sum is s + 2^64 < 2p, so s - p (mod 2^64) is right. */
  uint64_t mask = (uint64_t)0 - (uint64_t)((s < a) | (s >= f->p));
  return s - (f->p & mask);
}

static inline uint64_t submod(const cc_field *f, uint64_t a, uint64_t b) {
  uint64_t mask = (uint64_t)0 - (uint64_t)(a < b);
  return a - b + (f->p & mask);
}

/* ==== AVX-512 ============================================================
 *
 * A few kernels of a product among 3 players in a folding field (the
 * masked share, the high part's shares, the unmask of unit terms) run
 * eight elements at a time in 512-bit vectors: sums reduced as they are
 * made (a lane's carry or a value at or above p takes p off), 64 x 64-bit
 * products from the 32-bit halves' products (vpmuludq), folded as
 * fold_reduce folds them, so that every result is the canonical residue
 * the scalar loops compute, bit for bit; the elements past the last
 * multiple of eight go to the scalar loops. Chosen at run time
 * (field_simd): the same binary runs the scalar loops on a CPU without
 * AVX-512F, or when the environment sets CICADA_NO_SIMD. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIELD_AVX512 1
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline)) AVX512_TARGET

AVX512_INLINE __m512i v_addmod(__m512i a, __m512i b, __m512i p) {
  __m512i s = _mm512_add_epi64(a, b);
  __mmask8 k = _mm512_cmplt_epu64_mask(s, a) | _mm512_cmpge_epu64_mask(s, p);
  return _mm512_mask_sub_epi64(s, k, s, p);
}

AVX512_INLINE __m512i v_submod(__m512i a, __m512i b, __m512i p) {
  __m512i d = _mm512_sub_epi64(a, b);
  return _mm512_mask_add_epi64(d, _mm512_cmplt_epu64_mask(a, b), d, p);
}

/* Eight 64 x 64-bit products, each as two words (hi, lo), from the 32-bit
 * halves' four products (vpmuludq). */
AVX512_INLINE void v_mul_wide(__m512i a, __m512i b, __m512i *hi, __m512i *lo) {
  const __m512i m32 = _mm512_set1_epi64((long long)UINT32_MAX);
  __m512i ah = _mm512_srli_epi64(a, 32), bh = _mm512_srli_epi64(b, 32);
  __m512i p00 = _mm512_mul_epu32(a, b), p01 = _mm512_mul_epu32(a, bh);
  __m512i p10 = _mm512_mul_epu32(ah, b), p11 = _mm512_mul_epu32(ah, bh);
  /* the middle column: below 3 * 2^32, no carry lost */
  __m512i mid = _mm512_add_epi64(_mm512_srli_epi64(p00, 32), _mm512_and_si512(p01, m32));
  mid = _mm512_add_epi64(mid, _mm512_and_si512(p10, m32));
  *lo = _mm512_or_si512(_mm512_slli_epi64(mid, 32), _mm512_and_si512(p00, m32));
  __m512i h = _mm512_add_epi64(p11, _mm512_srli_epi64(p01, 32));
  h = _mm512_add_epi64(h, _mm512_srli_epi64(p10, 32));
  *hi = _mm512_add_epi64(h, _mm512_srli_epi64(mid, 32));
}

/* th 2^64 + tl mod p for FOLD, th < 2^32 (fold_short): r = tl + th c, a
 * wrap adds c, and one conditional subtraction. */
AVX512_INLINE __m512i v_fold_short(__m512i tl, __m512i th, __m512i c, __m512i p) {
  __m512i r = _mm512_add_epi64(tl, _mm512_mul_epu32(th, c));
  r = _mm512_mask_add_epi64(r, _mm512_cmplt_epu64_mask(r, tl), r, c);
  return _mm512_mask_sub_epi64(r, _mm512_cmpge_epu64_mask(r, p), r, p);
}

/* x y + z for x, z < 2^64 and y < 2^32 as (th, tl), th < 2^32 when the
 * whole is below 2^96. */
AVX512_INLINE void v_mul_small_add(__m512i x, __m512i y, __m512i z, __m512i *th,
                                   __m512i *tl) {
  __m512i q0 = _mm512_mul_epu32(x, y), q1 = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), y);
  __m512i a1 = _mm512_add_epi64(q0, z);
  __m512i a2 = _mm512_add_epi64(a1, _mm512_slli_epi64(q1, 32));
  __m512i one = _mm512_set1_epi64(1);
  __m512i h = _mm512_srli_epi64(q1, 32);
  h = _mm512_mask_add_epi64(h, _mm512_cmplt_epu64_mask(a1, q0), h, one);
  *th = _mm512_mask_add_epi64(h, _mm512_cmplt_epu64_mask(a2, a1), h, one);
  *tl = a2;
}

/* a b mod p for FOLD, a, b < 2^64: the product's words folded twice (the
 * second fold below 2^96, as fold_reduce's). */
AVX512_INLINE __m512i v_mulmod(__m512i a, __m512i b, __m512i c, __m512i p) {
  __m512i hi, lo, th, tl;
  v_mul_wide(a, b, &hi, &lo);
  v_mul_small_add(hi, c, lo, &th, &tl);
  return v_fold_short(tl, th, c, p);
}
#endif

/* Whether the AVX-512 kernels run (simd.h), or as set by _cc_field_simd. */
#if FIELD_AVX512
static cc_simd_switch field_simd_switch = {-1, CC_SIMD_AVX512F};
#else
static cc_simd_switch field_simd_switch = {-1, 0};
#endif

static int field_simd(void) { return cc_simd_on(&field_simd_switch); }

int _cc_field_simd(int want) { return _cc_simd_set(&field_simd_switch, want); }

/* ==== Setup and the order check ========================================= */

static int bit_length(uint64_t x) {
  int b = 0;
  while (x) { b++; x >>= 1; }
  return b;
}

void cc_field_setup(cc_field *f, uint64_t order) {
  memset(f, 0, sizeof *f);
  f->p = order;
  f->bits = bit_length(order);
  f->half = (order - 1) / 2;
  f->c = (uint64_t)0 - order;
  if (order > UINT64_C(0xFFFFFFFF00000000)) {
    f->kind = CC_FIELD_FOLD;
  } else if (order & 1) {
    uint64_t inv = order; /* correct to 3 bits; each step doubles them */
    for (int i = 0; i < 5; i++) inv *= 2 - order * inv;
    f->pinv = inv;
    uint64_t r1 = (UINT64_MAX % order + 1) % order;
    f->r2 = (uint64_t)((u128)r1 * r1 % order);
    f->kind = CC_FIELD_MONT;
  } else {
    f->kind = CC_FIELD_PLAIN;
  }
}

uint64_t cc_field_mul1(const cc_field *f, uint64_t a, uint64_t b) {
  return dmul(f, to_dom(f, a), b);
}

/* Square and multiply in the domain, so MONT pays one REDC per product. */
uint64_t cc_field_pow1(const cc_field *f, uint64_t a, uint64_t e) {
  uint64_t base = to_dom(f, a);
  uint64_t acc = to_dom(f, 1 % f->p);
  while (e) {
    if (e & 1) acc = dmul(f, acc, base);
    base = dmul(f, base, base);
    e >>= 1;
  }
  return f->kind == CC_FIELD_MONT ? redc(f, acc) : acc;
}

uint64_t cc_field_inv1(const cc_field *f, uint64_t a) {
  return cc_field_pow1(f, a, f->p - 2);
}

static int witness_passes(const cc_field *f, uint64_t a, uint64_t d, int s) {
  uint64_t n = f->p;
  uint64_t x = cc_field_pow1(f, a % n, d);
  if (x == 1 || x == n - 1) return 1;
  for (int i = 1; i < s; i++) {
    x = cc_field_mul1(f, x, x);
    if (x == n - 1) return 1;
  }
  return 0;
}

/* The first twelve prime bases decide primality for every n < 3.3 * 10^24. */
int cc_field_is_prime(uint64_t n) {
  static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  if (n < 2) return 0;
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
    if (n == bases[i]) return 1;
    if (n % bases[i] == 0) return 0;
  }
  uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) { d >>= 1; s++; }
  cc_field f; /* the reductions are valid for any odd modulus */
  cc_field_setup(&f, n);
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
    if (!witness_passes(&f, bases[i], d, s)) return 0;
  return 1;
}

int cc_field_check_order(uint64_t order, char *err, size_t errsz) {
  /* Codecs call this for every array they decode: remember the last prime
   * seen by this thread so the common case costs a comparison. */
  static _Thread_local uint64_t last_prime;
  if (order != 0 && order == last_prime) return 0;
  if (order < 2) {
    if (errsz) snprintf(err, errsz, "field order %llu is not a prime >= 2",
                        (unsigned long long)order);
    return -1;
  }
  if (!cc_field_is_prime(order)) {
    if (errsz) snprintf(err, errsz, "field order %llu is not prime",
                        (unsigned long long)order);
    return -1;
  }
  last_prime = order;
  return 0;
}

int cc_field_init(cc_field *f, uint64_t order, char *err, size_t errsz) {
  if (cc_field_check_order(order, err, errsz) != 0) return -1;
  cc_field_setup(f, order);
  return 0;
}

uint64_t cc_field_from_i64_1(const cc_field *f, int64_t x) {
  if (x >= 0) return (uint64_t)x % f->p;
  uint64_t m = ((uint64_t)0 - (uint64_t)x) % f->p;
  return m ? f->p - m : 0;
}

/* ==== Element-wise kernels ============================================== */

void cc_field_add(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = addmod(f, a[i], b[i]);
}

void cc_field_sub(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = submod(f, a[i], b[i]);
}

void cc_field_neg(const cc_field *f, uint64_t *out, const uint64_t *a, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] ? f->p - a[i] : 0;
}

void cc_field_mul(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (f->kind == CC_FIELD_FOLD) {
    for (size_t i = 0; i < n; i++) out[i] = fold_reduce(f, (u128)a[i] * b[i]);
  } else {
    for (size_t i = 0; i < n; i++) out[i] = dmul(f, to_dom(f, a[i]), b[i]);
  }
}

void cc_field_mul_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (s == 1 % f->p) { /* e.g. the unit weights of a sum of shares */
    if (out != a) memmove(out, a, n * sizeof *out);
    return;
  }
  uint64_t sd = to_dom(f, s);
  for (size_t i = 0; i < n; i++) out[i] = dmul(f, a[i], sd);
}

void cc_field_add_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = addmod(f, a[i], s);
}

void cc_field_sub_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = submod(f, a[i], s);
}

void cc_field_rsub_scalar(const cc_field *f, uint64_t *out, uint64_t s,
                          const uint64_t *a, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = submod(f, s, a[i]);
}

uint64_t cc_field_sum(const cc_field *f, const uint64_t *a, size_t n) {
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i++) acc = addmod(f, acc, a[i]);
  return acc;
}

uint64_t cc_field_dot(const cc_field *f, const uint64_t *a, const uint64_t *b,
                      size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (f->kind == CC_FIELD_FOLD) {
    /* Lazy reduction: each product folded once is below 2^97, so 2^30 of
     * them add up in 128 bits; two accumulators, one reduction per run. */
    uint64_t c = f->c, acc = 0;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)1 << 30) {
      size_t m = n - i0 < ((size_t)1 << 30) ? n - i0 : (size_t)1 << 30;
      const uint64_t *x = a + i0, *y = b + i0;
      u128 s0 = 0, s1 = 0;
      size_t i = 0;
      for (; i + 1 < m; i += 2) {
        u128 p0 = (u128)x[i] * y[i], p1 = (u128)x[i + 1] * y[i + 1];
        s0 += (u128)(uint64_t)(p0 >> 64) * c + (uint64_t)p0;
        s1 += (u128)(uint64_t)(p1 >> 64) * c + (uint64_t)p1;
      }
      if (i < m) {
        u128 p0 = (u128)x[i] * y[i];
        s0 += (u128)(uint64_t)(p0 >> 64) * c + (uint64_t)p0;
      }
      acc = addmod(f, acc, addmod(f, fold_reduce(f, s0), fold_reduce(f, s1)));
    }
    return acc;
  }
  uint64_t acc = 0;
  for (size_t i = 0; i < n; i++)
    acc = addmod(f, acc, dmul(f, to_dom(f, a[i]), b[i]));
  return acc;
}

void cc_field_matvec(const cc_field *f, uint64_t *out, const uint64_t *A,
                     const uint64_t *x, size_t m, size_t k) {
  for (size_t i = 0; i < m; i++) out[i] = cc_field_dot(f, A + i * k, x, k);
}

/* Horner's rule from the most significant bit: acc = 2 acc + bit. */
void cc_field_bit_compose(const cc_field *f, uint64_t *out,
                          const uint64_t *bits, size_t m, size_t k) {
  for (size_t i = 0; i < m; i++) {
    const uint64_t *row = bits + i * k;
    uint64_t acc = 0;
    for (size_t j = 0; j < k; j++) acc = addmod(f, addmod(f, acc, acc), row[j]);
    out[i] = acc;
  }
}

void cc_field_shift_right(uint64_t *out, const uint64_t *a, unsigned s,
                          size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] >> s;
}

/* Blocks of 32 x 32 elements, so that both the reads and the writes of a
 * block stay in cache for large matrices. */
void cc_field_transpose(uint64_t *out, const uint64_t *in, size_t rows,
                        size_t cols, size_t words) {
  enum { BLOCK = 32 };
  for (size_t i0 = 0; i0 < rows; i0 += BLOCK) {
    size_t i1 = i0 + BLOCK < rows ? i0 + BLOCK : rows;
    for (size_t j0 = 0; j0 < cols; j0 += BLOCK) {
      size_t j1 = j0 + BLOCK < cols ? j0 + BLOCK : cols;
      for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++)
          for (size_t w = 0; w < words; w++)
            out[(j * rows + i) * words + w] = in[(i * cols + j) * words + w];
    }
  }
}

void cc_field_pow(const cc_field *f, uint64_t *out, const uint64_t *a,
                  uint64_t e, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = cc_field_pow1(f, a[i], e);
}

/* Montgomery's trick: prefix products, one inversion, then walk back. The
 * walk reads a[i] before writing out[i], so out == a is fine. */
int cc_field_inv(const cc_field *f, uint64_t *out, const uint64_t *a, size_t n,
                 size_t *zero_index) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] == 0) {
      if (zero_index) *zero_index = i;
      return CC_FIELD_EZERO;
    }
  }
  if (n == 0) return CC_FIELD_OK;
  uint64_t *pre = malloc(n * sizeof *pre);
  if (!pre) return CC_FIELD_ENOMEM;
  pre[0] = a[0];
  for (size_t i = 1; i < n; i++) pre[i] = cc_field_mul1(f, pre[i - 1], a[i]);
  uint64_t inv = cc_field_inv1(f, pre[n - 1]);
  for (size_t i = n - 1; i > 0; i--) {
    uint64_t ai = a[i];
    out[i] = cc_field_mul1(f, inv, pre[i - 1]);
    inv = cc_field_mul1(f, inv, ai);
  }
  out[0] = inv;
  free(pre);
  return CC_FIELD_OK;
}

void cc_field_from_i64(const cc_field *f, uint64_t *out, const int64_t *x,
                       size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = cc_field_from_i64_1(f, x[i]);
}

void cc_field_reduce(const cc_field *f, uint64_t *out, const uint64_t *x,
                     size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = x[i] % f->p;
}

int cc_field_equal(const uint64_t *a, const uint64_t *b, size_t n) {
  return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

size_t cc_field_first_noncanonical(const cc_field *f, const uint64_t *a,
                                   size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] >= f->p) return i;
  return n;
}

/* ==== Lagrange and Shamir =============================================== */

int cc_field_check_indices(const cc_field *f, const uint64_t *x, size_t r,
                           char *err, size_t errsz) {
  for (size_t j = 0; j < r; j++) {
    if (x[j] % f->p == 0) {
      if (errsz) snprintf(err, errsz, "index %zu is zero modulo the field order",
                          j + 1);
      return CC_FIELD_EINVAL;
    }
    for (size_t m = 0; m < j; m++) {
      if (x[m] % f->p == x[j] % f->p) {
        if (errsz) snprintf(err, errsz, "indices %zu and %zu are the same (%llu)",
                            m + 1, j + 1, (unsigned long long)(x[j] % f->p));
        return CC_FIELD_EINVAL;
      }
    }
  }
  return CC_FIELD_OK;
}

int cc_field_lagrange0(const cc_field *f, uint64_t *lambda, const uint64_t *x,
                       size_t r, char *err, size_t errsz) {
  int rc = cc_field_check_indices(f, x, r, err, errsz);
  if (rc != CC_FIELD_OK || r == 0) return rc;
  uint64_t *den = malloc(r * sizeof *den);
  if (!den) {
    if (errsz) snprintf(err, errsz, "out of memory");
    return CC_FIELD_ENOMEM;
  }
  for (size_t j = 0; j < r; j++) {
    uint64_t xj = x[j] % f->p, num = 1 % f->p, d = 1 % f->p;
    for (size_t m = 0; m < r; m++) {
      if (m == j) continue;
      uint64_t xm = x[m] % f->p;
      num = cc_field_mul1(f, num, xm);
      d = cc_field_mul1(f, d, submod(f, xm, xj));
    }
    lambda[j] = num;
    den[j] = d;
  }
  cc_field_inv(f, den, den, r, NULL); /* nonzero: the indices are distinct */
  cc_field_mul(f, lambda, lambda, den, r);
  free(den);
  return CC_FIELD_OK;
}

void cc_field_axpy(const cc_field *f, uint64_t *out, uint64_t w,
                   const uint64_t *x, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (w == 1 % f->p) { /* sums of shares: no products */
    for (size_t i = 0; i < n; i++) out[i] = addmod(f, out[i], x[i]);
    return;
  }
  uint64_t wd = to_dom(f, w);
  /* The folding loop is spelled out so that the compiler keeps no switch
   * on the reduction kind inside it. */
  if (f->kind == CC_FIELD_FOLD) {
    for (size_t i = 0; i < n; i++)
      out[i] = addmod(f, out[i], fold_reduce(f, (u128)x[i] * wd));
  } else {
    for (size_t i = 0; i < n; i++) out[i] = addmod(f, out[i], dmul(f, x[i], wd));
  }
}

void cc_field_lincomb(const cc_field *f, uint64_t *out, const uint64_t *w,
                      const uint64_t *rows, size_t r, size_t n) {
  memset(out, 0, n * sizeof *out);
  for (size_t j = 0; j < r; j++) cc_field_axpy(f, out, w[j], rows + j * n, n);
}

/* ---- Linear combinations of whole arrays (FOLD) ------------------------ */

/* The most terms of the unrolled combinations below. */
#define LINCOMB_UNROLLED ((size_t)8)

/* sum_j w[j] xs[j][i] mod p for a folding field, each element in one pass.
 * The products of canonical words add up exactly in three words: acc
 * (128 bits) and top, the carries out of it (at most r < 2^30); since
 * 2^128 = c^2 and 2^64 = c (mod p), acc_hi c + acc_lo + top c^2 < 2^97
 * is congruent to the sum, and one fold_reduce finishes it. A product
 * costs one multiplication, no fold of its own. With r a constant (the
 * cases below) the term loop unrolls and the row pointers stay in
 * registers. out[i] is written after every xs[j][i] is read, so out may be
 * one of the xs. */
static inline __attribute__((always_inline)) void
lincomb_fold_k(const cc_field *f, uint64_t *out, const uint64_t *w,
               const uint64_t *const *xs, size_t r, size_t n) {
  const uint64_t c = f->c, cc = c * c; /* c < 2^32: c^2 fits */
  /* Local copies, which the stores to out cannot change (w is words too). */
  uint64_t wl[LINCOMB_UNROLLED];
  const uint64_t *xl[LINCOMB_UNROLLED];
  const bool local = r <= LINCOMB_UNROLLED;
  for (size_t j = 0; local && j < r; j++) { wl[j] = w[j]; xl[j] = xs[j]; }
  for (size_t i = 0; i < n; i++) {
    u128 acc = 0;
    uint64_t top = 0;
    for (size_t j = 0; j < r; j++) {
      u128 t = local ? (u128)xl[j][i] * wl[j] : (u128)xs[j][i] * w[j];
      acc += t;
      top += acc < t;
    }
    out[i] = fold_reduce(f, (u128)(uint64_t)(acc >> 64) * c + (uint64_t)acc +
                                (u128)top * cc);
  }
}

void cc_field_lincomb_arrays(const cc_field *f, uint64_t *out,
                             const uint64_t *w, const uint64_t *const *xs,
                             size_t r, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (r == 0) {
    memset(out, 0, n * sizeof *out);
    return;
  }
  if (f->kind != CC_FIELD_FOLD || r > ((size_t)1 << 30)) {
    bool out_is_later = false; /* then writing out[i] early would lose xs[j][i] */
    for (size_t j = 1; j < r; j++) out_is_later |= xs[j] == out;
    if (!out_is_later) {
      cc_field_mul_scalar(f, out, xs[0], w[0], n);
      for (size_t j = 1; j < r; j++) cc_field_axpy(f, out, w[j], xs[j], n);
      return;
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t acc = cc_field_mul1(f, xs[0][i], w[0]);
      for (size_t j = 1; j < r; j++) {
        uint64_t t = cc_field_mul1(f, xs[j][i], w[j]);
        acc = addmod(f, acc, t);
      }
      out[i] = acc;
    }
    return;
  }
  /* The unrolled cases: up to LINCOMB_UNROLLED terms (a reveal among up
   * to that many players, a reshare's combination). */
  switch (r) {
  case 2: lincomb_fold_k(f, out, w, xs, 2, n); return;
  case 3: {
    /* Three products folded once each (below 2^97) and added: no carry
     * chain, faster here than the three-word sum. */
    const uint64_t c = f->c, w0 = w[0], w1 = w[1], w2 = w[2];
    const uint64_t *a = xs[0], *b = xs[1], *d = xs[2];
#define FOLD1(x) ((u128)(uint64_t)((x) >> 64) * c + (uint64_t)(x))
    for (size_t i = 0; i < n; i++)
      out[i] = fold_reduce(f, FOLD1((u128)a[i] * w0) + FOLD1((u128)b[i] * w1) +
                                  FOLD1((u128)d[i] * w2));
#undef FOLD1
    return;
  }
  case 4: lincomb_fold_k(f, out, w, xs, 4, n); return;
  case 5: lincomb_fold_k(f, out, w, xs, 5, n); return;
  case 6: lincomb_fold_k(f, out, w, xs, 6, n); return;
  case 7: lincomb_fold_k(f, out, w, xs, 7, n); return;
  case 8: lincomb_fold_k(f, out, w, xs, 8, n); return;
  default: lincomb_fold_k(f, out, w, xs, r, n); return;
  }
}

/* ---- Linear combinations of words as they travel ---------------------- */

/* The word stored little-endian at p, at any alignment. */
static inline uint64_t load_le(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

/* lincomb_fold_k over little-endian words read in place: returns the
 * largest word read, which the caller checks against p (a running maximum
 * costs less per word than a comparison with p kept apart). The largest
 * word of an element is found first, then of all: one comparison an
 * element in the chain from element to element, not one a word. */
static inline __attribute__((always_inline)) uint64_t
lincomb_le_fold_k(const cc_field *f, uint64_t *out, const uint64_t *w,
                  const uint8_t *const *xs, size_t r, size_t n) {
  const uint64_t c = f->c, cc = c * c;
  uint64_t wl[LINCOMB_UNROLLED], hi = 0;
  const uint8_t *xl[LINCOMB_UNROLLED];
  for (size_t j = 0; j < r; j++) { wl[j] = w[j]; xl[j] = xs[j]; }
  for (size_t i = 0; i < n; i++) {
    u128 acc = 0;
    uint64_t top = 0, most = 0;
    /* Each row's words a few cache lines ahead: the rows of a million
     * elements come from memory, and the loop is too busy with its
     * products for the hardware alone to keep r streams in flight (an
     * address past the end is never read, only hinted). */
    if ((i & 7) == 0)
#pragma GCC unroll 8
      for (size_t j = 0; j < r; j++)
        __builtin_prefetch((const void *)((uintptr_t)xl[j] + 8 * i + 1024));
#pragma GCC unroll 8
    for (size_t j = 0; j < r; j++) {
      uint64_t x = load_le(xl[j] + 8 * i);
      most = x > most ? x : most;
      u128 t = (u128)x * wl[j];
      acc += t;
      top += acc < t;
    }
    hi = most > hi ? most : hi;
    out[i] = fold_reduce(f, (u128)(uint64_t)(acc >> 64) * c + (uint64_t)acc +
                                (u128)top * cc);
  }
  return hi;
}

/* Two terms whose weights add up to 1, as the Lagrange weights at 0 of a
 * reveal from two shares do: w0 x0 + w1 x1 = x0 + w1 (x1 - x0), one
 * product and one reduction an element instead of two products, their
 * carries and the reduction of a three-word sum. x0, x1 < 2^64 and
 * w1 < p make d w1 + x0 < p^2 + 2^64 < 2^128 even for a word out of the
 * field (which the caller then rejects). Returns the largest word read. */
/* (not inlined: in cc_field_lincomb_le gcc kept its operands on the stack) */
static __attribute__((noinline)) uint64_t
lincomb_le_affine2(const cc_field *f, uint64_t *out, uint64_t w1, const uint8_t *a,
                   const uint8_t *b, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  uint64_t hi = 0;
  f = &fl;
  for (size_t i = 0; i < n; i++) {
    if ((i & 7) == 0) {
      __builtin_prefetch((const void *)((uintptr_t)a + 8 * i + 1024));
      __builtin_prefetch((const void *)((uintptr_t)b + 8 * i + 1024));
    }
    uint64_t x = load_le(a + 8 * i), y = load_le(b + 8 * i);
    uint64_t most = x > y ? x : y;
    hi = most > hi ? most : hi;
    out[i] = fold_reduce(f, (u128)submod(f, y, x) * w1 + x);
  }
  return hi;
}

/* ---- AVX-512 ------------------------------------------------------------
 *
 * lincomb_le_affine2 eight elements a vector of 512 bits (AVX-512 F alone):
 * the 64 x 64 -> 128-bit product d w1 from four 32 x 32 -> 64-bit ones
 * (vpmuludq), its middle columns summed below 3 2^32 so that no carry is
 * lost; then + x, and the fold of fold_reduce: hi c + lo (hi c in two
 * halves), whose high word top stays at most c + 1 < 2^32 (c < 2^32 - 1),
 * folded once more and brought below p by one conditional subtraction.
 * The result is the canonical residue of the same x + w1 (y - x), so bit
 * for bit the scalar loop's; a word of p or more is found the same way
 * (the largest word read). Chosen at run time (fold_simd): the same binary
 * runs the scalar loop on a CPU without AVX-512 F, or when the environment
 * sets CICADA_NO_SIMD (not empty). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FOLD_AVX512 1
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f")))

/* The first n - n % 8 elements of lincomb_le_affine2 (f a folding field
 * with c < 2^32 - 1, d = y - x mod p as there); returns the largest word
 * read. */
static AVX512_TARGET uint64_t
lincomb_le_affine2_avx512(const cc_field *f, uint64_t *out, uint64_t w1, const uint8_t *a,
                          const uint8_t *b, size_t n) {
  const __m512i vc = _mm512_set1_epi64((long long)f->c), vp = _mm512_set1_epi64((long long)f->p);
  const __m512i m32 = _mm512_set1_epi64((long long)UINT64_C(0xFFFFFFFF));
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i wl = _mm512_set1_epi64((long long)(w1 & UINT64_C(0xFFFFFFFF)));
  const __m512i wh = _mm512_set1_epi64((long long)(w1 >> 32));
  __m512i most = _mm512_setzero_si512();
  for (size_t i = 0; i + 8 <= n; i += 8) {
    __builtin_prefetch((const void *)((uintptr_t)a + 8 * i + 1024));
    __builtin_prefetch((const void *)((uintptr_t)b + 8 * i + 1024));
    /* little-endian words: x86-64 loads them as they are */
    __m512i x = _mm512_loadu_si512((const void *)(a + 8 * i));
    __m512i y = _mm512_loadu_si512((const void *)(b + 8 * i));
    most = _mm512_max_epu64(most, _mm512_max_epu64(x, y));
    /* d = y - x mod p: on a borrow, + p = - c (mod 2^64) */
    __m512i d = _mm512_sub_epi64(y, x);
    d = _mm512_mask_sub_epi64(d, _mm512_cmplt_epu64_mask(y, x), d, vc);
    /* d w1 = hi 2^64 + lo */
    __m512i dh = _mm512_srli_epi64(d, 32);
    __m512i p00 = _mm512_mul_epu32(d, wl), p01 = _mm512_mul_epu32(d, wh);
    __m512i p10 = _mm512_mul_epu32(dh, wl), p11 = _mm512_mul_epu32(dh, wh);
    __m512i mid = _mm512_add_epi64(_mm512_add_epi64(_mm512_srli_epi64(p00, 32),
                                                    _mm512_and_si512(p01, m32)),
                                   _mm512_and_si512(p10, m32));
    /* the low halves of p00 under those of mid */
    __m512i lo = _mm512_mask_blend_epi32(0x5555, _mm512_slli_epi64(mid, 32), p00);
    __m512i hi = _mm512_add_epi64(
        _mm512_add_epi64(p11, _mm512_srli_epi64(p01, 32)),
        _mm512_add_epi64(_mm512_srli_epi64(p10, 32), _mm512_srli_epi64(mid, 32)));
    /* + x: below 2^128 */
    lo = _mm512_add_epi64(lo, x);
    hi = _mm512_mask_add_epi64(hi, _mm512_cmplt_epu64_mask(lo, x), hi, one);
    /* hi c + lo = top 2^64 + s, hi c = a0 + a1 2^32 */
    __m512i a0 = _mm512_mul_epu32(hi, vc);
    __m512i a1 = _mm512_mul_epu32(_mm512_srli_epi64(hi, 32), vc);
    __m512i s1 = _mm512_add_epi64(lo, a0);
    __mmask8 k1 = _mm512_cmplt_epu64_mask(s1, a0);
    __m512i s = _mm512_add_epi64(s1, _mm512_slli_epi64(a1, 32));
    __mmask8 k2 = _mm512_cmplt_epu64_mask(s, s1);
    __m512i top = _mm512_srli_epi64(a1, 32);
    top = _mm512_mask_add_epi64(top, k1, top, one);
    top = _mm512_mask_add_epi64(top, k2, top, one);
    /* top c + s: on a carry the sum less 2^64 is below top c, + c fits */
    __m512i t = _mm512_mul_epu32(top, vc);
    __m512i r = _mm512_add_epi64(s, t);
    r = _mm512_mask_add_epi64(r, _mm512_cmplt_epu64_mask(r, t), r, vc);
    r = _mm512_mask_sub_epi64(r, _mm512_cmpge_epu64_mask(r, vp), r, vp);
    _mm512_storeu_si512((void *)(out + i), r);
  }
  return _mm512_reduce_max_epu64(most);
}
#else
#define FOLD_AVX512 0
#endif

/* 1 when the AVX-512 kernel runs (simd.h), or as set by
 * _cc_field_lincomb_le_simd. */
#if FOLD_AVX512
static cc_simd_switch fold_simd_switch = {-1, CC_SIMD_AVX512F};
#else
static cc_simd_switch fold_simd_switch = {-1, 0};
#endif

static int fold_simd(void) { return cc_simd_on(&fold_simd_switch); }

int _cc_field_lincomb_le_simd(int want) { return _cc_simd_set(&fold_simd_switch, want); }

/* lincomb_le_affine2, eight elements at a time where the CPU can. */
static uint64_t lincomb_affine2(const cc_field *f, uint64_t *out, uint64_t w1,
                                const uint8_t *a, const uint8_t *b, size_t n) {
#if FOLD_AVX512
  if (n >= 8 && f->c < UINT64_C(0xFFFFFFFF) && fold_simd()) {
    size_t m = n - n % 8;
    uint64_t hi = lincomb_le_affine2_avx512(f, out, w1, a, b, m);
    uint64_t rest = lincomb_le_affine2(f, out + m, w1, a + 8 * m, b + 8 * m, n - m);
    return rest > hi ? rest : hi;
  }
#endif
  return lincomb_le_affine2(f, out, w1, a, b, n);
}

int cc_field_lincomb_le(const cc_field *f, uint64_t *out, const uint64_t *w,
                        const uint8_t *const *xs, size_t r, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  uint64_t bad = 0;
  f = &fl;
  if (f->kind == CC_FIELD_FOLD && r == 2 && w[0] < f->p && w[1] < f->p &&
      addmod(f, w[0], w[1]) == 1)
    return lincomb_affine2(f, out, w[1], xs[0], xs[1], n) >= f->p ? -1 : 0;
  if (f->kind == CC_FIELD_FOLD && r >= 1 && r <= LINCOMB_UNROLLED) {
    uint64_t hi = 0;
    switch (r) {
    case 1: hi = lincomb_le_fold_k(f, out, w, xs, 1, n); break;
    case 2: hi = lincomb_le_fold_k(f, out, w, xs, 2, n); break;
    case 3: hi = lincomb_le_fold_k(f, out, w, xs, 3, n); break;
    case 4: hi = lincomb_le_fold_k(f, out, w, xs, 4, n); break;
    case 5: hi = lincomb_le_fold_k(f, out, w, xs, 5, n); break;
    case 6: hi = lincomb_le_fold_k(f, out, w, xs, 6, n); break;
    case 7: hi = lincomb_le_fold_k(f, out, w, xs, 7, n); break;
    default: hi = lincomb_le_fold_k(f, out, w, xs, 8, n); break;
    }
    return hi >= f->p ? -1 : 0;
  }
  /* Any other field or term count: a term at a time, a block of its words
   * copied out and checked, then added in. */
  enum { BLOCK = 256 };
  uint64_t buf[BLOCK];
  memset(out, 0, n * sizeof *out);
  for (size_t j = 0; j < r; j++) {
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
      size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
      for (size_t i = 0; i < m; i++) {
        buf[i] = load_le(xs[j] + 8 * (i0 + i));
        bad |= (uint64_t)(buf[i] >= f->p);
      }
      if (bad) return -1;
      cc_field_axpy(f, out + i0, w[j], buf, m);
    }
  }
  return 0;
}

/* ==== Masked products and their truncation ============================= */

/* Lazy sums for the folding fields: the products of two canonical words
 * add up exactly in three words lo + 2^64 mid + 2^128 top, without a fold
 * per term, and 2^128 = c^2 (mod p) brings the sum back to a 128-bit value
 * for one fold_reduce per element. A unit weight costs a product too, so
 * that the loops have one shape, unrolled for the usual term counts. */

/* The most terms of the lazy kernels below; longer sums take the plain
 * loops (top stays far below 2^32). */
#define LAZY_TERMS ((size_t)64)

/* sum_j w[j] xs[j][i] + extra (a 128-bit start), reduced mod p, where the
 * first mul terms are products, the add terms after them have weight 1
 * and the sub terms after those weight -1 (added as p - x), constants
 * where the caller inlines it, so that the loops unroll. */
static inline __attribute__((always_inline)) uint64_t
lazy_sum(const cc_field *f, const uint64_t *w, const uint64_t *const *xs, size_t mul,
         size_t add, size_t sub, size_t i, u128 extra, uint64_t extra_top) {
  u128 acc = extra;
  uint64_t top = extra_top;
  for (size_t j = 0; j < mul; j++) {
    u128 p = (u128)xs[j][i] * w[j];
    acc += p;
    top += acc < p;
  }
  for (size_t j = mul; j < mul + add; j++) {
    uint64_t x = xs[j][i];
    acc += x;
    top += acc < x;
  }
  for (size_t j = mul + add; j < mul + add + sub; j++) {
    uint64_t x = f->p - xs[j][i];
    acc += x;
    top += acc < x;
  }
  uint64_t c = f->c;
  u128 x = (u128)(uint64_t)(acc >> 64) * c + (uint64_t)acc + (u128)top * (c * c);
  return fold_reduce(f, x);
}

/* A lazy sum of add terms of weight 1 and sub terms of weight -1 alone
 * (fewer than 2^31 of them): below 2^95, so its high word h is small and
 * h c < 2^63 folds in one 64-bit step. */
static inline __attribute__((always_inline)) uint64_t
lazy_sum_units(const cc_field *f, const uint64_t *const *xs, size_t add, size_t sub,
               size_t i) {
  u128 acc = 0;
  for (size_t j = 0; j < add; j++) acc += xs[j][i];
  for (size_t j = add; j < add + sub; j++) acc += f->p - xs[j][i];
  uint64_t lo = (uint64_t)acc, r = lo + (uint64_t)(acc >> 64) * f->c;
  r += f->c & ((uint64_t)0 - (uint64_t)(r < lo)); /* a wrap: 2^64 = c */
  return r >= f->p ? r - f->p : r;
}

/* The terms of a lazy sum sorted: the r arrays xs with weights w, into xo
 * and wo (room for r each), those of weight 1 after the others and those
 * of weight -1 (p > 2) last; returns the count of the others and sets
 * *sub to the count of weight -1. */
static size_t lazy_sort(const cc_field *f, const uint64_t *w, const uint64_t *const *xs,
                        size_t r, const uint64_t **xo, uint64_t *wo, size_t *sub) {
  uint64_t one = 1 % f->p, minus = f->p > 2 ? f->p - 1 : one;
  size_t mul = 0, k = r;
  *sub = 0;
  for (size_t j = r; j-- > 0;) {
    if (w[j] == minus && minus != one) { xo[--k] = xs[j]; ++*sub; }
  }
  for (size_t j = r; j-- > 0;) {
    if (w[j] == one) xo[--k] = xs[j];
  }
  for (size_t j = 0; j < r; j++) {
    if (w[j] != one && (w[j] != minus || minus == one)) { wo[mul] = w[j]; xo[mul++] = xs[j]; }
  }
  return mul;
}

/* out[i] = (b ? a b : a) + sum + s with mul + add terms. pwc is pw c mod p
 * (2^64 = c): a weighted product hi 2^64 + lo is pw lo + pwc hi, two
 * products into the lazy sum instead of a reduction and a third. */
static inline __attribute__((always_inline)) void
mul_lincomb_loop(const cc_field *f, uint64_t *out, const uint64_t *a, const uint64_t *b,
                 uint64_t pw, uint64_t pwc, int weighted, const uint64_t *w,
                 const uint64_t *const *xs, size_t mul, size_t add, size_t sub, uint64_t s,
                 size_t n) {
  uint64_t c = f->c;
  for (size_t i = 0; i < n; i++) {
    u128 start = (u128)a[i] + s;
    if (weighted && b) {
      u128 t = (u128)a[i] * b[i];
      u128 lo = (u128)(uint64_t)t * pw + s;  /* below 2^128: pw, s < p */
      u128 hi = (u128)(uint64_t)(t >> 64) * pwc;
      start = lo + hi;
      out[i] = lazy_sum(f, w, xs, mul, add, sub, i, start, start < hi);
      continue;
    }
    if (weighted) {
      /* a times pw, and s: below 2^128, a start of the lazy sum */
      start = (u128)a[i] * pw + s;
    } else if (b) {
      /* The product, folded once (below 2^97), starts the sum with s. */
      u128 p = (u128)a[i] * b[i];
      start = (u128)(uint64_t)(p >> 64) * c + (uint64_t)p + s;
    }
    out[i] = lazy_sum(f, w, xs, mul, add, sub, i, start, 0);
  }
}

#if FIELD_AVX512
/* mul_lincomb_loop's product (weighted: times pw) with add terms of weight
 * 1 and sub of weight -1 alone (a plain-sum reveal's masked share) eight
 * elements at a time, n a multiple of 8: (pw) (a b mod p) + s + the
 * terms, each step reduced. weighted, add and sub constants where
 * inlined. */
AVX512_INLINE void mul_units_v8_loop(const cc_field *f, uint64_t *out, const uint64_t *a,
                                     const uint64_t *b, int weighted, uint64_t pw,
                                     const uint64_t *const *xs, size_t add, size_t sub,
                                     uint64_t s, size_t n) {
  const __m512i p = _mm512_set1_epi64((long long)f->p), c = _mm512_set1_epi64((long long)f->c);
  const __m512i vpw = _mm512_set1_epi64((long long)pw), vs = _mm512_set1_epi64((long long)s);
  for (size_t i = 0; i < n; i += 8) {
    __m512i x = v_mulmod(_mm512_loadu_si512((const void *)(a + i)),
                         _mm512_loadu_si512((const void *)(b + i)), c, p);
    if (weighted) x = v_mulmod(x, vpw, c, p);
    x = v_addmod(x, vs, p);
    for (size_t j = 0; j < add; j++)
      x = v_addmod(x, _mm512_loadu_si512((const void *)(xs[j] + i)), p);
    for (size_t j = add; j < add + sub; j++)
      x = v_submod(x, _mm512_loadu_si512((const void *)(xs[j] + i)), p);
    _mm512_storeu_si512((void *)(out + i), x);
  }
}

#define MUL_UNITS_V8(W)                                                               \
  do {                                                                                \
    if (add == 3 && sub == 0) mul_units_v8_loop(f, out, a, b, W, pw, xs, 3, 0, s, n); \
    else if (add == 2 && sub == 1) mul_units_v8_loop(f, out, a, b, W, pw, xs, 2, 1, s, n); \
    else if (add == 1 && sub == 2) mul_units_v8_loop(f, out, a, b, W, pw, xs, 1, 2, s, n); \
    else mul_units_v8_loop(f, out, a, b, W, pw, xs, add, sub, s, n);                  \
  } while (0)

static AVX512_TARGET void mul_units_v8(const cc_field *f, uint64_t *out, const uint64_t *a,
                                       const uint64_t *b, uint64_t pw,
                                       const uint64_t *const *xs, size_t add, size_t sub,
                                       uint64_t s, size_t n) {
  if (pw != 1) MUL_UNITS_V8(1);
  else MUL_UNITS_V8(0);
}
#undef MUL_UNITS_V8
#endif

void cc_field_mul_lincomb_weighted(const cc_field *f, uint64_t *out, const uint64_t *a,
                                   const uint64_t *b, uint64_t pw, const uint64_t *w,
                                   const uint64_t *const *xs, size_t r, uint64_t s,
                                   size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (f->kind != CC_FIELD_FOLD || r > LAZY_TERMS) {
    for (size_t i = 0; i < n; i++) {
      uint64_t acc = b ? cc_field_mul1(f, a[i], b[i]) : a[i];
      if (pw != 1) acc = cc_field_mul1(f, acc, pw);
      for (size_t j = 0; j < r; j++) acc = addmod(f, acc, cc_field_mul1(f, xs[j][i], w[j]));
      out[i] = addmod(f, acc, s);
    }
    return;
  }
  const uint64_t *xo[LAZY_TERMS];
  uint64_t wo[LAZY_TERMS];
  size_t sub, mul = lazy_sort(f, w, xs, r, xo, wo, &sub), add = r - mul - sub;
  int weighted = pw != 1;
#if FIELD_AVX512
  if (b && mul == 0 && n >= 8 && field_simd()) {
    /* eight at a time, the last n % 8 by the loops below */
    size_t n8 = n - n % 8;
    mul_units_v8(f, out, a, b, pw, xo, add, sub, s, n8);
    for (size_t j = 0; j < r; j++) xo[j] += n8;
    out += n8, a += n8, b += n8, n -= n8;
  }
#endif
  const uint64_t pwc = fold_reduce(f, (u128)pw * f->c);
  /* Unrolled loops for the sums of a few players (3 players, threshold 2:
   * 5 terms for a product's mask, one or none of weight 1 among the first
   * 3; or a weighted product and 3 terms of weight 1 or -1 for a plain-sum
   * reveal); others take the general loop. */
#define MUL_LINCOMB_LOOP(M, A, S)                                              \
  do {                                                                         \
    if (weighted && b) mul_lincomb_loop(f, out, a, b, pw, pwc, 1, wo, xo, M, A, S, s, n); \
    else if (weighted) mul_lincomb_loop(f, out, a, NULL, pw, pwc, 1, wo, xo, M, A, S, s, n); \
    else if (b) mul_lincomb_loop(f, out, a, b, 1, 0, 0, wo, xo, M, A, S, s, n);  \
    else mul_lincomb_loop(f, out, a, NULL, 1, 0, 0, wo, xo, M, A, S, s, n);      \
  } while (0)
#define MUL_LINCOMB_CASE(M, A, S)                                              \
  case (M) * 64 + (A) * 8 + (S):                                               \
    MUL_LINCOMB_LOOP(M, A, S);                                                 \
    return;
  switch (mul < 8 && add < 8 && sub < 8 ? mul * 64 + add * 8 + sub : 512) {
    MUL_LINCOMB_CASE(1, 1, 0) MUL_LINCOMB_CASE(1, 2, 0) MUL_LINCOMB_CASE(2, 1, 0)
    MUL_LINCOMB_CASE(2, 2, 0) MUL_LINCOMB_CASE(1, 3, 0) MUL_LINCOMB_CASE(3, 1, 0)
    MUL_LINCOMB_CASE(2, 3, 0) MUL_LINCOMB_CASE(3, 2, 0) MUL_LINCOMB_CASE(4, 1, 0)
    MUL_LINCOMB_CASE(0, 3, 0) MUL_LINCOMB_CASE(0, 2, 1) MUL_LINCOMB_CASE(0, 1, 2)
  default:
    break;
  }
#undef MUL_LINCOMB_CASE
  MUL_LINCOMB_LOOP(mul, add, sub);
#undef MUL_LINCOMB_LOOP
}

void cc_field_mul_lincomb(const cc_field *f, uint64_t *out, const uint64_t *a,
                          const uint64_t *b, const uint64_t *w,
                          const uint64_t *const *xs, size_t r, uint64_t s,
                          size_t n) {
  cc_field_mul_lincomb_weighted(f, out, a, b, 1, w, xs, r, s, n);
}

/* out[i] = floor(sum_w / 2^bits) - s - sum_v. */
static inline __attribute__((always_inline)) void
unmask_loop(const cc_field *f, uint64_t *out, const uint64_t *w,
            const uint64_t *const *cs, size_t rm, size_t ra, size_t rs, unsigned bits,
            uint64_t s, const uint64_t *v, const uint64_t *const *ys, size_t qm, size_t qa,
            size_t qs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    /* rm == 0, a constant where the cases below inline it: the plain-sum
     * reveal, without the general sum's products and top word */
    uint64_t hi = (rm == 0 && ra + rs < ((size_t)1 << 31) ? lazy_sum_units(f, cs, ra, rs, i)
                                                          : lazy_sum(f, w, cs, rm, ra, rs, i, 0, 0)) >>
                  bits;
    out[i] = submod(f, submod(f, hi, s), lazy_sum(f, v, ys, qm, qa, qs, i, 0, 0));
  }
}

void cc_field_unmask_shift(const cc_field *f, uint64_t *out, const uint64_t *w,
                           const uint64_t *const *cs, size_t r, unsigned bits,
                           uint64_t s, const uint64_t *v,
                           const uint64_t *const *ys, size_t q, size_t n) {
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (f->kind != CC_FIELD_FOLD || r > LAZY_TERMS || q > LAZY_TERMS) {
    for (size_t i = 0; i < n; i++) {
      uint64_t c = 0, h = 0;
      for (size_t j = 0; j < r; j++) c = addmod(f, c, cc_field_mul1(f, cs[j][i], w[j]));
      for (size_t j = 0; j < q; j++) h = addmod(f, h, cc_field_mul1(f, ys[j][i], v[j]));
      out[i] = submod(f, submod(f, c >> bits, s), h);
    }
    return;
  }
  const uint64_t *co[LAZY_TERMS], *yo[LAZY_TERMS];
  uint64_t wo[LAZY_TERMS], vo[LAZY_TERMS];
  size_t rs, qs, rm = lazy_sort(f, w, cs, r, co, wo, &rs),
                 qm = lazy_sort(f, v, ys, q, yo, vo, &qs);
  /* Unrolled loops for 3 players: 3 shares revealed (indices 1, 2, 3 give
   * the weights 3, -3 and 1; or 1 each, for a plain-sum reveal), and a
   * high part of 2 (threshold 2) or 3 products and 2 sums, one of the
   * products perhaps of weight 1. */
  size_t ra = r - rm - rs, qa = q - qm - qs;
#define UNMASK_CASE(RM, RA, RS, QM, QA)                                        \
  if (rm == (RM) && ra == (RA) && rs == (RS) && qm == (QM) && qa == (QA) && qs == 0) { \
    unmask_loop(f, out, wo, co, RM, RA, RS, bits, s, vo, yo, QM, QA, 0, n);    \
    return;                                                                    \
  }
  UNMASK_CASE(2, 0, 1, 2, 2) UNMASK_CASE(2, 0, 1, 1, 3) UNMASK_CASE(2, 1, 0, 2, 2)
  UNMASK_CASE(2, 1, 0, 1, 3) UNMASK_CASE(3, 0, 0, 2, 2) UNMASK_CASE(3, 0, 0, 1, 3)
  UNMASK_CASE(2, 1, 0, 3, 2) UNMASK_CASE(2, 1, 0, 2, 3) UNMASK_CASE(0, 3, 0, 2, 2)
  UNMASK_CASE(0, 3, 0, 1, 3)
#undef UNMASK_CASE
  unmask_loop(f, out, wo, co, rm, ra, rs, bits, s, vo, yo, qm, qa, qs, n);
}

/* unmask_loop over little-endian words read in place (ra shares, all of
 * weight 1; qm products and qa units subtracted): returns the largest word
 * read, which the caller checks against p. */
static inline __attribute__((always_inline)) uint64_t
unmask_le_loop(const cc_field *f, uint64_t *out, const uint8_t *const *cs, size_t ra,
               unsigned bits, uint64_t s, const uint64_t *v, const uint8_t *const *ys,
               size_t qm, size_t qa, size_t n) {
  enum { MAXT = 16 };
  const uint8_t *cl[MAXT], *yl[MAXT];
  uint64_t vl[MAXT], top = 0;
  const uint64_t c = f->c, cc = c * c, p = f->p;
  for (size_t j = 0; j < ra; j++) cl[j] = cs[j];
  for (size_t j = 0; j < qm + qa; j++) { yl[j] = ys[j]; vl[j] = j < qm ? v[j] : 1; }
  for (size_t i = 0; i < n; i++) {
    /* the largest word of this element, then of all: one comparison a
     * element in the chain from element to element, not one a word */
    uint64_t most = 0;
    /* the revealed value: a sum of fewer than 2^31 canonical words, in
     * two words (sl, sh); 2^64 = c folds sh in one 64-bit step */
    uint64_t sl = 0, sh = 0;
#pragma GCC unroll 16
    for (size_t j = 0; j < ra; j++) {
      uint64_t x = load_le(cl[j] + 8 * i);
      most = x > most ? x : most;
      sl += x;
      sh += sl < x;
    }
    uint64_t hv = sl + sh * c;
    hv += c & ((uint64_t)0 - (uint64_t)(hv < sl));
    hv = (hv >= p ? hv - p : hv) >> bits;
    /* the mask's high part, a lazy sum in three words lo + 2^64 mid +
     * 2^128 tp, the words added one at a time (a product's high word is
     * at most 2^64 - 118, so that it takes its low word's carry) */
    uint64_t lo = 0, mid = 0, tp = 0;
#pragma GCC unroll 16
    for (size_t j = 0; j < qm; j++) {
      uint64_t y = load_le(yl[j] + 8 * i);
      most = y > most ? y : most;
      u128 t = (u128)y * vl[j];
      uint64_t tl = (uint64_t)t, th = (uint64_t)(t >> 64);
      lo += tl;
      th += lo < tl;
      mid += th;
      tp += mid < th;
    }
#pragma GCC unroll 16
    for (size_t j = qm; j < qm + qa; j++) {
      uint64_t y = load_le(yl[j] + 8 * i);
      most = y > most ? y : most;
      lo += y;
      uint64_t cy = lo < y;
      mid += cy;
      tp += mid < cy;
    }
    uint64_t hs = fold_reduce(f, (u128)mid * c + lo + (u128)tp * cc);
    top = most > top ? most : top;
    out[i] = submod(f, submod(f, hv, s), hs);
  }
  return top;
}

#if FIELD_AVX512
/* The unmask of units alone, eight elements at a time (see the AVX-512
 * helpers above). */
/* out[i] = floor((sum_j cs[j][i] mod p) / 2^bits) - s - sum_j ys[j][i]
 * for i < n (a multiple of 8), ra >= 1 shares and qa terms read where they
 * lie; returns the largest word read. ra, qa constants where inlined. */
AVX512_INLINE uint64_t unmask_units_v8_loop(const cc_field *f, uint64_t *out,
                                            const uint8_t *const *cs, size_t ra,
                                            unsigned bits, uint64_t s,
                                            const uint8_t *const *ys, size_t qa, size_t n) {
  const __m512i p = _mm512_set1_epi64((long long)f->p), vs = _mm512_set1_epi64((long long)s);
  const __m128i sh = _mm_cvtsi32_si128((int)bits);
  __m512i most = _mm512_setzero_si512();
  for (size_t i = 0; i < n; i += 8) {
    __m512i c = _mm512_loadu_si512((const void *)(cs[0] + 8 * i));
    most = _mm512_max_epu64(most, c);
    for (size_t j = 1; j < ra; j++) {
      __m512i x = _mm512_loadu_si512((const void *)(cs[j] + 8 * i));
      most = _mm512_max_epu64(most, x);
      c = v_addmod(c, x, p);
    }
    __m512i r = v_submod(_mm512_srl_epi64(c, sh), vs, p);
    for (size_t j = 0; j < qa; j++) {
      __m512i y = _mm512_loadu_si512((const void *)(ys[j] + 8 * i));
      most = _mm512_max_epu64(most, y);
      r = v_submod(r, y, p);
    }
    _mm512_storeu_si512((void *)(out + i), r);
  }
  return _mm512_reduce_max_epu64(most);
}

static AVX512_TARGET uint64_t unmask_units_v8(const cc_field *f, uint64_t *out,
                                              const uint8_t *const *cs, size_t ra,
                                              unsigned bits, uint64_t s,
                                              const uint8_t *const *ys, size_t qa, size_t n) {
  if (ra == 3 && qa == 2) return unmask_units_v8_loop(f, out, cs, 3, bits, s, ys, 2, n);
  return unmask_units_v8_loop(f, out, cs, ra, bits, s, ys, qa, n);
}
#endif

int cc_field_unmask_sum_le(const cc_field *f, uint64_t *out, const uint8_t *const *cs,
                           size_t r, unsigned bits, uint64_t s, const uint64_t *v,
                           const uint8_t *const *ys, size_t q, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  enum { MAXT = 16 };
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  f = &fl;
  if (f->kind != CC_FIELD_FOLD || r < 1 || r > MAXT || q > MAXT || bits > 63) return 0;
  /* the terms of weight other than 1 first, then those of weight 1 */
  const uint8_t *yo[MAXT];
  uint64_t vo[MAXT];
  size_t qm = 0, k = q;
  for (size_t j = q; j-- > 0;)
    if (v[j] == 1) yo[--k] = ys[j];
  for (size_t j = 0; j < q; j++)
    if (v[j] != 1) { vo[qm] = v[j]; yo[qm++] = ys[j]; }
  size_t qa = q - qm;
  uint64_t top = 0;
#if FIELD_AVX512
  if (qm == 0 && n >= 8 && field_simd()) {
    /* units alone: eight at a time, the last n % 8 by the loops below */
    size_t n8 = n - n % 8;
    top = unmask_units_v8(f, out, cs, r, bits, s, yo, qa, n8);
    if (n8 == n) return top >= f->p ? -1 : 1;
    const uint8_t *ct[MAXT], *yt[MAXT];
    for (size_t j = 0; j < r; j++) ct[j] = cs[j] + 8 * n8;
    for (size_t j = 0; j < qa; j++) yt[j] = yo[j] + 8 * n8;
    uint64_t t = unmask_le_loop(f, out + n8, ct, r, bits, s, vo, yt, 0, qa, n - n8);
    top = t > top ? t : top;
    return top >= f->p ? -1 : 1;
  }
#endif
  /* unrolled for a product among 3 players (the high part: 2 products and
   * 2 units, or 1 and 3; or 2 units, cc_field_high_shares's sum and the
   * share received); others take the general loop */
  if (r == 3 && qm == 2 && qa == 2)
    top = unmask_le_loop(f, out, cs, 3, bits, s, vo, yo, 2, 2, n);
  else if (r == 3 && qm == 1 && qa == 3)
    top = unmask_le_loop(f, out, cs, 3, bits, s, vo, yo, 1, 3, n);
  else if (r == 3 && qm == 0 && qa == 2)
    top = unmask_le_loop(f, out, cs, 3, bits, s, vo, yo, 0, 2, n);
  else
    top = unmask_le_loop(f, out, cs, r, bits, s, vo, yo, qm, qa, n);
  return top >= f->p ? -1 : 1;
#else
  (void)f, (void)out, (void)cs, (void)r, (void)bits, (void)s, (void)v, (void)ys, (void)q,
      (void)n;
  return 0;
#endif
}

/* x mod p for FOLD and x below 2^96 + 2^64 (a 64-bit word times one
 * below 2^32, plus a word or two): its high word th is at most 2^32, so
 * th c < 2^64 (c < 2^32) is a 64-bit product and one fold suffices, as in
 * fold_mul_small. */
static inline uint64_t fold_short(const cc_field *f, u128 x) {
  uint64_t tl = (uint64_t)x, th = (uint64_t)(x >> 64);
  uint64_t r = tl + th * f->c;
  r += f->c & ((uint64_t)0 - (uint64_t)(r < tl));
  return r >= f->p ? r - f->p : r;
}

/* The loop of cc_field_high_shares; small (a folding field and xs, xo
 * below 2^32), a constant where it is inlined, sums each share in two
 * words and folds it once. */
static inline __attribute__((always_inline)) void
high_shares_loop(const cc_field *f, uint64_t *send, uint64_t *own, const uint64_t *u,
                 const uint64_t *e, const uint64_t *y, unsigned bits, uint64_t invd,
                 uint64_t xs, uint64_t xsd, uint64_t xo, uint64_t xod, bool small, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t h = u[i] >> bits;
    if (small) {
      uint64_t d = fold_reduce(f, (u128)submod(f, e[i], h) * invd);
      uint64_t yi = y ? y[i] : 0;
      send[i] = fold_short(f, (u128)d * xs + h);
      own[i] = fold_short(f, (u128)d * xo + h + yi);
    } else {
      uint64_t d = dmul(f, submod(f, e[i], h), invd);
      send[i] = addmod(f, h, dmul(f, d, xsd));
      uint64_t g = addmod(f, h, dmul(f, d, xod));
      own[i] = y ? addmod(f, g, y[i]) : g;
    }
  }
}

#if FIELD_AVX512
/* high_shares_loop's small case (FOLD, xs and xo below 2^31) eight
 * elements at a time, for n a multiple of 8: d = (e - h) inv is the
 * residue of its product (two words folded as fold_reduce folds them),
 * g(x) = x d + h below 2^96, and own's y added after the fold. */
static AVX512_TARGET void high_shares_v8(const cc_field *f, uint64_t *send, uint64_t *own,
                                         const uint64_t *u, const uint64_t *e,
                                         const uint64_t *y, unsigned bits, uint64_t inv,
                                         uint64_t xs, uint64_t xo, size_t n) {
  const __m512i p = _mm512_set1_epi64((long long)f->p), c = _mm512_set1_epi64((long long)f->c);
  const __m512i vinv = _mm512_set1_epi64((long long)inv);
  const __m512i vxs = _mm512_set1_epi64((long long)xs), vxo = _mm512_set1_epi64((long long)xo);
  const __m128i sh = _mm_cvtsi32_si128((int)bits);
  for (size_t i = 0; i < n; i += 8) {
    __m512i h = _mm512_srl_epi64(_mm512_loadu_si512((const void *)(u + i)), sh);
    __m512i t = v_submod(_mm512_loadu_si512((const void *)(e + i)), h, p);
    __m512i th, tl, d = v_mulmod(t, vinv, c, p);
    v_mul_small_add(d, vxs, h, &th, &tl);
    __m512i vsend = v_fold_short(tl, th, c, p);
    v_mul_small_add(d, vxo, h, &th, &tl);
    __m512i vown = v_fold_short(tl, th, c, p);
    if (y) vown = v_addmod(vown, _mm512_loadu_si512((const void *)(y + i)), p);
    _mm512_storeu_si512((void *)(send + i), vsend);
    _mm512_storeu_si512((void *)(own + i), vown);
  }
}
#endif

void cc_field_high_shares(const cc_field *f, uint64_t *send, uint64_t *own,
                          const uint64_t *u, const uint64_t *e, const uint64_t *y,
                          unsigned bits, uint64_t inv, uint64_t xs, uint64_t xo,
                          size_t n) {
  const cc_field fl = *f; /* the outputs may alias *f: keep constants local */
  f = &fl;
  xs %= f->p;
  xo %= f->p;
  uint64_t invd = to_dom(f, inv), xsd = to_dom(f, xs), xod = to_dom(f, xo);
  /* Shamir's x-coordinates are usually 1, 2, 3...: then the products by
   * them are small ones, and only d costs a full product */
  if (f->kind == CC_FIELD_FOLD && xs < (UINT64_C(1) << 32) && xo < (UINT64_C(1) << 32)) {
#if FIELD_AVX512
    if (n >= 8 && xs < (UINT64_C(1) << 31) && xo < (UINT64_C(1) << 31) && bits < 64 &&
        field_simd()) {
      /* eight at a time, the last n % 8 by the loop below */
      size_t n8 = n - n % 8;
      high_shares_v8(f, send, own, u, e, y, bits, inv, xs, xo, n8);
      send += n8, own += n8, u += n8, e += n8, y = y ? y + n8 : NULL, n -= n8;
    }
#endif
    if (y) high_shares_loop(f, send, own, u, e, y, bits, invd, xs, xsd, xo, xod, true, n);
    else high_shares_loop(f, send, own, u, e, NULL, bits, invd, xs, xsd, xo, xod, true, n);
  } else {
    high_shares_loop(f, send, own, u, e, y, bits, invd, xs, xsd, xo, xod, false, n);
  }
}

/* a * s mod p for FOLD and a small s < 2^32: the product's high word is
 * below 2^32, so one fold with a 64-bit product th * c < 2^64 suffices;
 * the sum overflows at most once (then adding c cannot overflow again). */
static inline uint64_t fold_mul_small(const cc_field *f, uint64_t a, uint64_t s) {
  u128 t = (u128)a * s;
  uint64_t tl = (uint64_t)t, th = (uint64_t)(t >> 64);
  uint64_t r = tl + th * f->c;
  r += f->c & ((uint64_t)0 - (uint64_t)(r < tl));
  return r >= f->p ? r - f->p : r;
}

/* row[i] = row[i] * x + c[i], x canonical (xd: x in the domain): one Horner
 * step over a whole row. Shamir's x-coordinates are usually 1, 2, 3...:
 * x = 1 needs only additions, and a small x a cheaper reduction. */
static void horner_step(const cc_field *f, uint64_t *row, uint64_t x,
                        uint64_t xd, const uint64_t *c, size_t n) {
  const cc_field fl = *f; /* row may alias *f: keep constants local */
  f = &fl;
  if (x == 1) {
    for (size_t i = 0; i < n; i++) row[i] = addmod(f, row[i], c[i]);
  } else if (f->kind == CC_FIELD_FOLD && x < (UINT64_C(1) << 32)) {
    for (size_t i = 0; i < n; i++)
      row[i] = addmod(f, fold_mul_small(f, row[i], x), c[i]);
  } else if (f->kind == CC_FIELD_FOLD) {
    for (size_t i = 0; i < n; i++)
      row[i] = addmod(f, fold_reduce(f, (u128)row[i] * xd), c[i]);
  } else {
    for (size_t i = 0; i < n; i++) row[i] = addmod(f, dmul(f, row[i], xd), c[i]);
  }
}

void cc_field_shamir_eval(const cc_field *f, uint64_t *out,
                          const uint64_t *secret, size_t n,
                          const uint64_t *coeffs, size_t k, uint64_t x) {
  if (k <= 1) {
    memcpy(out, secret, n * sizeof *out);
    return;
  }
  uint64_t xc = x % f->p, xd = to_dom(f, xc);
  /* Degree by degree: each pass streams over n contiguous words. */
  memcpy(out, coeffs + (k - 2) * n, n * sizeof *out);
  for (size_t d = k - 2; d >= 1; d--) horner_step(f, out, xc, xd, coeffs + (d - 1) * n, n);
  horner_step(f, out, xc, xd, secret, n);
}

int cc_field_shamir_share(const cc_field *f, uint64_t *out,
                          const uint64_t *secret, size_t n,
                          const uint64_t *coeffs, size_t k,
                          const uint64_t *x, size_t m,
                          char *err, size_t errsz) {
  cc_error e;
  if (cc_check_threshold(k > INT64_MAX ? INT64_MAX : (int64_t)k, m, &e) != CC_OK) {
    if (errsz) snprintf(err, errsz, "%s", e.message);
    return CC_FIELD_EINVAL;
  }
  int rc = cc_field_check_indices(f, x, m, err, errsz);
  if (rc != CC_FIELD_OK) return rc;
  const cc_field fl = *f; /* out may alias *f: keep constants local */
  for (size_t j = 0; j < m; j++)
    cc_field_shamir_eval(&fl, out + j * n, secret, n, coeffs, k, x[j]);
  return CC_FIELD_OK;
}

int cc_field_shamir_recover(const cc_field *f, uint64_t *out,
                            const uint64_t *shares, size_t n,
                            const uint64_t *x, size_t r,
                            char *err, size_t errsz) {
  if (r == 0) {
    if (errsz) snprintf(err, errsz, "no shares to recover from");
    return CC_FIELD_EINVAL;
  }
  uint64_t *lambda = malloc(r * sizeof *lambda);
  if (!lambda) {
    if (errsz) snprintf(err, errsz, "out of memory");
    return CC_FIELD_ENOMEM;
  }
  int rc = cc_field_lagrange0(f, lambda, x, r, err, errsz);
  if (rc == CC_FIELD_OK) cc_field_lincomb(f, out, lambda, shares, r, n);
  free(lambda);
  return rc;
}

/* ==== The first level of a bitwise less-than ============================ */

/* See field.h. With c public, each pair's (lt, eq) is a sum of r_h, r_l,
 * rho = r_h r_l and 1 with coefficients chosen by the two bits of c; the
 * bits are random, so the choice is made with masks, not branches. */
void cc_field_bitlt_pairs(const cc_field *f, uint64_t *lt, uint64_t *eq,
                          const uint64_t *c, const uint64_t *r,
                          const uint64_t *rho, unsigned m, size_t n) {
  size_t h = m / 2;
  for (size_t i = 0; i < h; i++) {
    unsigned eh = m - 1 - 2 * (unsigned)i; /* exponents of the pair's bits */
    const uint64_t *rh = r + i * n, *rl = r + (h + i) * n, *pr = rho + i * n;
    uint64_t *lo = lt + i * n, *eo = eq + i * n;
    for (size_t e = 0; e < n; e++) {
      uint64_t ch = (uint64_t)0 - ((c[e] >> eh) & 1), cl = (uint64_t)0 - ((c[e] >> (eh - 1)) & 1);
      uint64_t x = rh[e], y = rl[e], p = pr[e];
      /* (0,0): lt = x + y - p, eq = 1 - x - y + p; (0,1): x, y - p;
       * (1,0): p, x - p; (1,1): 0, p. */
      uint64_t s = addmod(f, x & ~ch, y & ~ch & ~cl);   /* terms of lt */
      uint64_t l = submod(f, addmod(f, s, p & ch & ~cl), p & ~ch & ~cl);
      uint64_t a = submod(f, (1 & ~ch & ~cl) | (y & ~ch & cl) | (x & ch & ~cl), x & ~ch & ~cl);
      uint64_t q = submod(f, a, y & ~ch & ~cl);
      uint64_t pe = (p & ((~ch & ~cl) | (ch & cl))) , pm = p & (ch ^ cl);
      lo[e] = l;
      eo[e] = submod(f, addmod(f, q, pe), pm);
    }
  }
  if (m % 2) {
    const uint64_t *rm = r + 2 * h * n;
    uint64_t *lo = lt + h * n, *eo = eq + h * n;
    for (size_t e = 0; e < n; e++) {
      uint64_t c0 = (uint64_t)0 - (c[e] & 1), x = rm[e];
      lo[e] = x & ~c0;
      eo[e] = (x & c0) | (submod(f, 1, x) & ~c0);
    }
  }
}
/* ==== The XOR of a group's bits and a dealer's ========================== */

/* See field.h. The coefficients of the dealer's shares are in {-1, 0, 1}
 * and chosen by masks (the bits are random, so branches would be
 * mispredicted half the time); two products per element: z x and, for
 * the message, lam w. */
void cc_field_xor_group(const cc_field *f, uint64_t *bits, uint64_t *prod,
                        uint64_t *msg, uint64_t *msgp, const uint64_t *b, const uint64_t *u,
                        const uint64_t *v, const uint64_t *z, const uint64_t *rho,
                        uint64_t fa, uint64_t x, uint64_t lam, int negate,
                        unsigned m, unsigned pairs, size_t n) {
  const cc_field fl = *f;
  size_t h = m / 2;
  uint64_t xd = to_dom(&fl, x), ld = to_dom(&fl, lam);
  for (size_t j = 0; j < (size_t)m + pairs; j++) {
    const uint64_t *zj = z + j * n, *rj = rho ? rho + j * n : NULL;
    uint64_t *mj = !msg ? NULL : j < m ? msg + j * n : msgp + (j - m) * n;
    if (j < m) {
      const uint64_t *bj = b + j * n, *uj = u + j * n;
      uint64_t *oj = bits + j * n;
      for (size_t e = 0; e < n; e++) {
        uint64_t k = (uint64_t)0 - (bj[e] & 1), y = uj[e];
        uint64_t w = submod(&fl, addmod(&fl, dmul(&fl, xd, zj[e]), y & ~k), y & k);
        oj[e] = addmod(&fl, w, fa & k);
        if (mj) {
          uint64_t t = dmul(&fl, ld, w);
          mj[e] = negate ? submod(&fl, t, rj[e]) : addmod(&fl, t, rj[e]);
        }
      }
    } else {
      size_t i = j - m;
      const uint64_t *bh = b + i * n, *bl = b + (h + i) * n;
      const uint64_t *uh = u + i * n, *ul = u + (h + i) * n, *uv = v + i * n;
      uint64_t *oi = prod + i * n;
      for (size_t e = 0; e < n; e++) {
        uint64_t kh = (uint64_t)0 - (bh[e] & 1), kl = (uint64_t)0 - (bl[e] & 1);
        uint64_t same = ~(kh ^ kl);
        /* (0,0): v; (0,1): u_h - v; (1,0): u_l - v; (1,1): v - u_h - u_l. */
        uint64_t w = addmod(&fl, dmul(&fl, xd, zj[e]),
                            (uv[e] & same) | (uh[e] & ~kh & kl) | (ul[e] & kh & ~kl));
        w = submod(&fl, w, (uv[e] & ~same) | (uh[e] & kh & kl));
        w = submod(&fl, w, ul[e] & kh & kl);
        oi[e] = addmod(&fl, w, fa & kh & kl);
        if (mj) {
          uint64_t t = dmul(&fl, ld, w);
          mj[e] = negate ? submod(&fl, t, rj[e]) : addmod(&fl, t, rj[e]);
        }
      }
    }
  }
}
