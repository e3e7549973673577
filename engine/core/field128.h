/*
 * field128.h - arithmetic in GF(p) for primes p < 2^128, over whole arrays.
 *
 * Owns: the 128-bit order check (Miller-Rabin, see cc_field128_is_prime), the
 * cc_field128 constants and the choice of reduction, and the same kernels as
 * field.h (add, sub, neg, mul, scalar operations, sum, dot, matrix-vector
 * product, bit composition, shifts, pow, batch inverse, conversions,
 * equality, Lagrange coefficients at 0, linear combinations and the Shamir
 * share/eval/recover kernels) with the cc_field128_ prefix and the same
 * semantics. The default order is the Mersenne prime 2^127 - 1.
 *
 * Layout: an element is two little-endian 64-bit words (lo, hi), value
 * lo + hi * 2^64, stored interleaved in uint64_t arrays: element i of an
 * array is words[2i] (lo) and words[2i+1] (hi). An array of n elements is
 * 2n uint64_t words, the memory type of the 64-bit field, so arrays and the
 * wire codec can carry it as 2n words; arrays need only uint64_t alignment
 * (the kernels never read them as cc_u128). Every count n below counts
 * elements, never words. Elements are canonical: 0 <= x < p. Kernels take
 * canonical elements unless said otherwise (reduce, from_i64 and the Shamir
 * indices accept any value); they do not check it, so check what comes from
 * outside with cc_field128_first_noncanonical.
 *
 * Aliasing: as in field.h, out == in is allowed element-wise (each element
 * is read whole before it is written); any other overlap is not, and the
 * kernels that say so do not allow out == in either.
 *
 * Single elements and scalars are passed by value as cc_u128: scalars and
 * weights (s, w) canonical, exponents (e) and Shamir indices (x) any value.
 * No Lua here.
 */
#ifndef CICADA_FIELD128_H
#define CICADA_FIELD128_H

#include <stddef.h>
#include <stdint.h>

#include "core/field.h" /* CC_FIELD_OK, CC_FIELD_EINVAL, CC_FIELD_EZERO, CC_FIELD_ENOMEM */
#include "core/random.h"

/* gcc and clang on 64-bit targets; __extension__ keeps -Wpedantic quiet. */
__extension__ typedef unsigned __int128 cc_u128;

/* 2^127 - 1, a Mersenne prime: the default order (lo, hi words). */
#define CC_FIELD128_DEFAULT_ORDER_LO UINT64_C(0xFFFFFFFFFFFFFFFF)
#define CC_FIELD128_DEFAULT_ORDER_HI UINT64_C(0x7FFFFFFFFFFFFFFF)

/* How products are reduced; chosen by cc_field128_setup from the order.
 * Elements are canonical in memory whatever the kind. */
enum cc_field128_kind {
  CC_FIELD128_M127, /* p = 2^127 - 1: since 2^127 = 1, fold with shifts */
  CC_FIELD128_FOLD, /* p = 2^k - c, p > 2^96, c * 2^(128-k) < 2^32: a
                       pseudo-Mersenne prime such as 2^128 - 159 or
                       2^127 - 25; fold 2^128 = c * 2^(128-k) (mod p) */
  CC_FIELD128_MONT, /* every other odd p: Montgomery multiplication with
                       R = 2^128, 64x64->128 partial products (CIOS) */
  CC_FIELD128_PLAIN /* p = 2 */
};

typedef struct cc_field128 {
  cc_u128 p;     /* the order, a prime */
  cc_u128 half;  /* (p - 1) / 2: larger values decode as negative */
  cc_u128 r2;    /* 2^256 mod p (MONT) */
  uint64_t pinv; /* -p^-1 mod 2^64 (MONT) */
  uint64_t c;    /* 2^k - p (FOLD) */
  uint64_t cr;   /* 2^128 mod p = c * 2^(128-k) < 2^32 (FOLD) */
  int bits;      /* k, the bit length of p */
  enum cc_field128_kind kind;
} cc_field128;

/* Words to and from a cc_u128, and element i of an interleaved array. */
static inline cc_u128 cc_u128_make(uint64_t lo, uint64_t hi) {
  return ((cc_u128)hi << 64) | lo;
}
static inline cc_u128 cc_field128_get(const uint64_t *words, size_t i) {
  return cc_u128_make(words[2 * i], words[2 * i + 1]);
}
static inline void cc_field128_set(uint64_t *words, size_t i, cc_u128 x) {
  words[2 * i] = (uint64_t)x;
  words[2 * i + 1] = (uint64_t)(x >> 64);
}

/* Writes x in decimal (at most 39 digits and a NUL) into buf, which must hold
 * 40 bytes; returns the number of digits. For messages and printing. */
size_t cc_field128_format(char *buf, cc_u128 x);

/* Reads the len bytes at s as an unsigned integer below 2^128: decimal
 * digits, or hex digits after 0x or 0X. 0 with *x set, or -1 (empty, a
 * stray character, or 2^128 and above) with *x untouched. For orders and
 * constants beyond Lua's 64-bit integers. */
int cc_field128_parse(const char *s, size_t len, cc_u128 *x);

/* 1 if n is prime. Below 2^64 this is cc_field_is_prime (deterministic).
 * Above, no deterministic set of Miller-Rabin bases is known for all of
 * [2^64, 2^128): the check uses the first 40 primes (2 to 173) as bases. The
 * first 13 of them alone are proven to decide every n < 3.3 * 10^24
 * (about 2^81.4; Sorenson and Webster 2015), so the answer is exact there.
 * Above, a composite passes one random base with probability at most 1/4,
 * which gives the usual 4^-40 = 2^-80 bound; with fixed bases that bound is
 * a heuristic for orders chosen at random, not a guarantee against a
 * composite built to fool these bases (an order is configuration, chosen by
 * whoever sets up the computation, not input from the other players). */
int cc_field128_is_prime(uint64_t n_lo, uint64_t n_hi);

/* 0 if the order is a prime with 2 <= order < 2^128; otherwise -1 and a
 * message in err (errsz bytes, may be 0). Remembers the last prime checked
 * in this thread, so that checking the same order again costs a comparison. */
int cc_field128_check_order(uint64_t order_lo, uint64_t order_hi, char *err,
                            size_t errsz);

/* Check the order and fill f; 0 or -1 with a message as above. */
int cc_field128_init(cc_field128 *f, uint64_t order_lo, uint64_t order_hi,
                     char *err, size_t errsz);

/* Fill f for an order already known to be prime (no primality test). */
void cc_field128_setup(cc_field128 *f, uint64_t order_lo, uint64_t order_hi);

/* Internal, for tests: the AVX-512 IFMA kernels of 2^127 - 1 (products
 * with three terms, the unmask of a product among 3 players, two-term
 * linear combinations, sums of 2 to 4 terms of weights 1 and -1) off (want
 * 0), on when the CPU has them (want 1), or as at startup (want -1: on
 * when the CPU has them and CICADA_NO_SIMD is unset or empty). Returns 1
 * when they now run. Results are the same either way. */
int _cc_field128_simd(int want);

/* ==== Single elements ==================================================== */

/* a, b canonical. */
cc_u128 cc_field128_mul1(const cc_field128 *f, cc_u128 a, cc_u128 b);
/* a^e for a canonical a and any 128-bit exponent e (0^0 = 1). */
cc_u128 cc_field128_pow1(const cc_field128 *f, cc_u128 a, cc_u128 e);
/* a^-1 for a canonical a != 0, as a^(p-2). */
cc_u128 cc_field128_inv1(const cc_field128 *f, cc_u128 a);
/* x mod p for any 128-bit value, and for a signed 64-bit integer
 * (negatives to p - (|x| mod p)). */
cc_u128 cc_field128_reduce1(const cc_field128 *f, cc_u128 x);
cc_u128 cc_field128_from_i64_1(const cc_field128 *f, int64_t x);

/* ==== Kernels over arrays (n elements, 2n words) ======================== */

void cc_field128_add(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n);
void cc_field128_sub(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n);
void cc_field128_neg(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     size_t n);
void cc_field128_mul(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     const uint64_t *b, size_t n);
/* out[i] = a[i] * s, out[i] = a[i] + s, out[i] = a[i] - s, s - a[i]
 * (s canonical). */
void cc_field128_mul_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n);
void cc_field128_add_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n);
void cc_field128_sub_scalar(const cc_field128 *f, uint64_t *out,
                            const uint64_t *a, cc_u128 s, size_t n);
void cc_field128_rsub_scalar(const cc_field128 *f, uint64_t *out, cc_u128 s,
                             const uint64_t *a, size_t n);
/* sum_i a[i] and sum_i a[i] * b[i] (0 for n == 0). */
cc_u128 cc_field128_sum(const cc_field128 *f, const uint64_t *a, size_t n);
cc_u128 cc_field128_dot(const cc_field128 *f, const uint64_t *a,
                        const uint64_t *b, size_t n);
/* out[i] = sum_j A[i*k + j] * x[j] for the m x k row-major matrix A of
 * elements. out must not overlap A or x. */
void cc_field128_matvec(const cc_field128 *f, uint64_t *out, const uint64_t *A,
                        const uint64_t *x, size_t m, size_t k);
/* out[i] = sum_j 2^(k-1-j) * bits[i*k + j]: each of the m rows of k elements
 * (usually 0 or 1) read as a binary number, most significant first, reduced
 * mod p; k may exceed 128. out must not overlap bits unless k == 1. */
void cc_field128_bit_compose(const cc_field128 *f, uint64_t *out,
                             const uint64_t *bits, size_t m, size_t k);
/* out[i] = floor(a[i] / 2^s) of the 128-bit values, 0 <= s < 128: for public
 * values, e.g. the high part of a revealed masked value. */
void cc_field128_shift_right(uint64_t *out, const uint64_t *a, unsigned s,
                             size_t n);
/* out[i] = a[i]^e for a public 128-bit exponent e (0^0 = 1). A 64-bit or
 * Lua integer exponent converts losslessly; a negative one is the binding's
 * business (pow of the inverse). */
void cc_field128_pow(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                     cc_u128 e, size_t n);
/* out[i] = a[i]^-1 by Montgomery's trick (one exponentiation, 3n products).
 * CC_FIELD_EZERO with *zero_index set to the first i with a[i] == 0 (out
 * untouched); CC_FIELD_ENOMEM if the n-element scratch cannot be had. */
int cc_field128_inv(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                    size_t n, size_t *zero_index);
/* out[i] = x[i] mod p, negatives to p - (|x| mod p). out is 2n words. */
void cc_field128_from_i64(const cc_field128 *f, uint64_t *out,
                          const int64_t *x, size_t n);
/* out[i] = x[i] mod p for raw 128-bit values (2n words, any value). */
void cc_field128_reduce(const cc_field128 *f, uint64_t *out, const uint64_t *x,
                        size_t n);
/* 1 if the n elements are equal (as words: both arrays canonical). */
int cc_field128_equal(const uint64_t *a, const uint64_t *b, size_t n);
/* n if every element is < p, else the index of the first that is not. */
size_t cc_field128_first_noncanonical(const cc_field128 *f, const uint64_t *a,
                                      size_t n);

/* ==== Lagrange and Shamir =============================================== */

/* The r indices x are elements (2r words; any 128-bit values, taken mod p).
 * Check that they are nonzero mod p and pairwise distinct mod p. 0 or
 * CC_FIELD_EINVAL with a message naming the (1-based) positions. */
int cc_field128_check_indices(const cc_field128 *f, const uint64_t *x,
                              size_t r, char *err, size_t errsz);

/* lambda[j] = prod_{m != j} x[m] / (x[m] - x[j]): the weights that evaluate
 * at 0 the polynomial of degree < r through the points (x[j], y[j]).
 * lambda is r elements and must not overlap x. CC_FIELD_EINVAL for bad
 * indices, CC_FIELD_ENOMEM. */
int cc_field128_lagrange0(const cc_field128 *f, uint64_t *lambda,
                          const uint64_t *x, size_t r, char *err, size_t errsz);

/* out[i] += w * x[i] (w canonical). */
void cc_field128_axpy(const cc_field128 *f, uint64_t *out, cc_u128 w,
                      const uint64_t *x, size_t n);

/* out[i] = sum_j w[j] * xs[j][i] for r arrays of n elements and the r
 * element weights w (out may be one of the xs, not w). */
/* For 2^127 - 1 and r <= 8 weights w that are all 1 or -1: out[i] =
 * pw a[i] b[i] + sum_j w[j] xs[j][i] + s (b NULL: pw a[i] + ...) in one
 * pass, one reduction per element; a, b, s, pw canonical. out may be a, b
 * or one of the xs (the same elements). Returns 0, writing nothing, for
 * other fields or weights. */
int cc_field128_mul_signed_sum(const cc_field128 *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, cc_u128 pw, const uint64_t *w,
                               const uint64_t *const *xs, size_t r, cc_u128 s,
                               size_t n);
/* For 2^127 - 1 and 1 <= r, q <= 16: out[i] = floor(c[i] / 2^bits) - s -
 * sum_j v[j] ys[j][i] with c[i] = sum_j cs[j][i] (a plain-sum reveal:
 * every weight 1), canonical elements, weights and s, bits <= 127 (a
 * truncation's last step), in blocks: one pass for c, its shift and s,
 * then one per subtracted term, one reduction. out may be one of the cs or
 * ys (the same elements). Returns 0, writing nothing, for other fields or
 * counts. */
int cc_field128_unmask_sum(const cc_field128 *f, uint64_t *out, const uint64_t *const *cs,
                           size_t r, unsigned bits, cc_u128 s, const uint64_t *v,
                           const uint64_t *const *ys, size_t q, size_t n);
/* cc_field128_unmask_sum for the shape of a product among 3 players
 * (r = 3 shares, q = 4 terms of the weights 1, 1, c, c in any order, c one
 * word below 2^63), the shares cs read as received: 16 little-endian bytes
 * an element at any alignment, each checked below p as it is read. Sets
 * *bad (out then partly written) when one is not. Returns 0, writing
 * nothing, for other fields, shapes or big-endian hosts. */
int cc_field128_unmask_sum_le(const cc_field128 *f, uint64_t *out, const uint8_t *const *cs,
                              size_t r, unsigned bits, cc_u128 s, const uint64_t *v,
                              const uint64_t *const *ys, size_t q, size_t n, int *bad);
void cc_field128_lincomb_arrays(const cc_field128 *f, uint64_t *out,
                                const uint64_t *w, const uint64_t *const *xs,
                                size_t r, size_t n);

/* out[i] = sum_j w[j] * rows[j*n + i] for an r x n row-major matrix of
 * elements. out must not overlap w or rows. */
void cc_field128_lincomb(const cc_field128 *f, uint64_t *out, const uint64_t *w,
                         const uint64_t *rows, size_t r, size_t n);

/* Shamir sharing of the n-element secret with threshold k (degree k - 1):
 * coeffs holds the (k-1) x n random coefficients of degrees 1..k-1, row d-1
 * for degree d. out is the m x n matrix whose row j holds the polynomial
 * values at the element x[j] (Horner). out must not overlap secret or
 * coeffs. CC_FIELD_EINVAL if k < 1, k > m or the indices are bad. */
int cc_field128_shamir_share(const cc_field128 *f, uint64_t *out,
                             const uint64_t *secret, size_t n,
                             const uint64_t *coeffs, size_t k,
                             const uint64_t *x, size_t m,
                             char *err, size_t errsz);

/* One player's shares: out[i] = secret[i] + sum_{d=1}^{k-1}
 * coeffs[(d-1)*n + i] * x^d, the polynomials of cc_field128_shamir_share at
 * the single point x (any value, taken mod p; nonzero mod p is not checked).
 * out must not overlap secret or coeffs. */
void cc_field128_shamir_eval(const cc_field128 *f, uint64_t *out,
                             const uint64_t *secret, size_t n,
                             const uint64_t *coeffs, size_t k, cc_u128 x);

/* Recover the n-element secret from the r x n matrix of shares held by the
 * players with the r element indices x (Lagrange at 0). out must not
 * overlap shares or x. */
int cc_field128_shamir_recover(const cc_field128 *f, uint64_t *out,
                               const uint64_t *shares, size_t n,
                               const uint64_t *x, size_t r,
                               char *err, size_t errsz);

/* The first level of [c < r] for public c (n canonical elements) and
 * shared bits r of positions m - 1 ... 0 of c (1 < m < 64 * words): r holds
 * m rows of n, first the h = floor(m / 2) high bits of the pairs (exponents
 * m - 1, m - 3, ...), then their low bits (m - 2, m - 4, ...), then bit 0
 * when m is odd; rho holds the h rows r_high * r_low. Writes h + m % 2 rows
 * of shares of (lt, eq) = ([c_pair < r_pair], [c_pair = r_pair]), most
 * significant first; no products. */
void cc_field128_bitlt_pairs(const cc_field128 *f, uint64_t *lt, uint64_t *eq,
                             const uint64_t *c, const uint64_t *r,
                             const uint64_t *rho, unsigned m, size_t n);

/* The XOR r = b xor u of bits b known to a group of players and bits u
 * shared by one dealer (threshold 2), at one member: u holds m rows of n
 * shares of the dealer's bits, v `pairs` rows of shares of its products
 * u_hi u_lo of the pairs of bitlt_pairs (rows i and m / 2 + i of u); b the
 * m rows of the group's bits (0 or 1); z the coefficients of random
 * polynomials Z(X) = z X, m + pairs rows; x the member's index. With w the
 * member's points of (1 - 2 b) u + Z (for a pair, of the part of
 * r_hi r_lo that involves u, plus Z), writes its shares bits = w + fa b (m
 * rows) and prod = w + fa b_hi b_lo (pairs rows), fa its weight f_A(x),
 * and, unless msg is NULL, the messages lam w + rho (or - rho if negate):
 * those of the bits' rows to msg (m rows), those of the pairs' to msgp
 * (pairs rows). */
void cc_field128_xor_group(const cc_field128 *f, uint64_t *bits, uint64_t *prod,
                           uint64_t *msg, uint64_t *msgp, const uint64_t *b,
                           const uint64_t *u,
                           const uint64_t *v, const uint64_t *z, const uint64_t *rho,
                           cc_u128 fa, cc_u128 x, cc_u128 lam, int negate,
                           unsigned m, unsigned pairs, size_t n);

/* The error of cc_field128_xor_group_rng when its stream fails (OpenSSL). */
#define CC_FIELD128_ERNG (-4)

/* cc_field128_xor_group with the group's values drawn from its stream rng
 * instead of passed in, in this order: the m rows of bits b, packed (row j
 * is ceil(n / 64) little-endian words, bit e of the row being bit e % 64
 * of word e / 64), as cc_rng_bytes; then, for each row j of the m + pairs,
 * the n coefficients z_j, then the n masks rho_j, each by
 * cc_rng_uniform_mod128 (rho is drawn even when msg is NULL, so that every
 * member of the group takes the same bytes from the stream). Row by row,
 * so that the temporaries stay in the caches; they are wiped before
 * returning. CC_FIELD_OK, CC_FIELD_ENOMEM or CC_FIELD128_ERNG (the
 * outputs are then incomplete). */
int cc_field128_xor_group_rng(const cc_field128 *f, cc_rng *rng, uint64_t *bits,
                              uint64_t *prod, uint64_t *msg, uint64_t *msgp,
                              const uint64_t *u, const uint64_t *v, cc_u128 fa,
                              cc_u128 x, cc_u128 lam, int negate, unsigned m,
                              unsigned pairs, size_t n);

/* One level of a tree of (lt, eq) pairs (as F:less_tree_products) whose
 * products are reduced by a dealing of threshold 2, at the dealer: for
 * product row j (the half products eq[2i] lt[2i + 1], then the eqs
 * products eq[2i] eq[2i + 1]; lt and eq rows of n), with h the product
 * and e_j n elements drawn from rng (row by row, as
 * cc_rng_uniform_mod128), q = w[0] h and
 *     own = w[1] q + w[2] e_j,   msgs[m] = w[3 + 2m] q + w[4 + 2m] e_j
 * (row j of each output, rows of n). w holds 3 + 2 nmsgs canonical
 * weights; nmsgs <= CC_FIELD128_TREE_MAX_MSGS. CC_FIELD_OK,
 * CC_FIELD_EINVAL, CC_FIELD_ENOMEM or CC_FIELD128_ERNG. */
#define CC_FIELD128_TREE_MAX_MSGS 64
int cc_field128_tree_deal(const cc_field128 *f, cc_rng *rng, uint64_t *own,
                          uint64_t *const *msgs, size_t nmsgs, const uint64_t *w,
                          const uint64_t *lt, const uint64_t *eq, size_t half,
                          size_t eqs, size_t n);

/* The next level of the tree of cc_field128_tree_deal, at a receiver: with
 * d_j the sum of n elements drawn from each of the nrng streams rngs (row
 * by row, as cc_field128_tree_deal draws them), product row j is p_j =
 * own_j + x d_j + the sum of row j of the ngot arrays got; then nlt =
 * lt[2j] + p_j for the rows // 2 pairs, and lt's last row when rows is
 * odd; neq = the p_j after the pairs (rows // 2 - 1 of them when rows is
 * even, else rows // 2). lt holds rows >= 2 rows of n. CC_FIELD_OK,
 * CC_FIELD_EINVAL, CC_FIELD_ENOMEM or CC_FIELD128_ERNG. */
int cc_field128_tree_merge(const cc_field128 *f, cc_rng *const *rngs, size_t nrng,
                           uint64_t *nlt, uint64_t *neq, const uint64_t *lt, size_t rows,
                           const uint64_t *own, const uint64_t *const *got, size_t ngot,
                           cc_u128 x, size_t n);

/* A dealer's dealing of m rows of n random bits u (drawn from own, packed
 * as cc_field128_xor_group_rng draws b) and of the products u_i u_(m/2+i)
 * of the first `pairs` pairs of rows, each with a polynomial of degree 1
 * whose value at one player's index is drawn from pair (m * n elements,
 * then pairs * n, each by one cc_rng_uniform_mod128): for each of the
 * targets other players, msgs[t] = w[2t] u + w[2t + 1] e (m rows) and
 * pmsgs[t] the same for the products (pairs rows), e the draws. Every
 * msgs[t] and pmsgs[t] is its own array. CC_FIELD_OK, CC_FIELD_EINVAL,
 * CC_FIELD_ENOMEM or CC_FIELD128_ERNG. */
int cc_field128_deal_bits(const cc_field128 *f, cc_rng *own, cc_rng *pair,
                          uint64_t *const *msgs, uint64_t *const *pmsgs, size_t targets,
                          const uint64_t *w, unsigned m, unsigned pairs, size_t n);

/* cc_field128_xor_group_rng without the random polynomials and messages
 * (Z = 0): the member's plain shares bits = (1 - 2 b) u + fa b and prod
 * (as there), with b drawn from rng as there and nothing else drawn; to
 * be randomized by cc_field128_randomize_rows before any share leaves the
 * member. CC_FIELD_OK, CC_FIELD_EINVAL, CC_FIELD_ENOMEM or
 * CC_FIELD128_ERNG. */
int cc_field128_xor_group_plain(const cc_field128 *f, cc_rng *rng, uint64_t *bits,
                                uint64_t *prod, const uint64_t *u, const uint64_t *v,
                                cc_u128 fa, unsigned m, unsigned pairs, size_t n);

/* In place, for each of the nrows rows of n shares y of a group member:
 * y + z x, with the n coefficients z of random polynomials Z(X) = z X and
 * then the n masks rho drawn from rng (cc_rng_uniform_mod128 each, rho
 * drawn even when msg is NULL), and, unless msg is NULL, the message
 * lam (y + z x) + rho (- rho if negate) into msg's row. CC_FIELD_OK,
 * CC_FIELD_EINVAL, CC_FIELD_ENOMEM or CC_FIELD128_ERNG. */
int cc_field128_randomize_rows(const cc_field128 *f, cc_rng *rng, uint64_t *rows,
                               uint64_t *msg, cc_u128 x, cc_u128 lam, int negate,
                               size_t nrows, size_t n);

/* cc_field128_bitlt_pairs (1 < m < 128) at a member of the group, of its
 * plain shares r and rho (cc_field128_xor_group_plain), with each of the
 * m / 2 + m % 2 rows of lt and eq randomized as by
 * cc_field128_randomize_rows: for row i, the coefficients z and masks rho
 * of lt's row, then those of eq's, drawn from rng; the messages (unless
 * mlt and meq are NULL) into mlt and meq. One pass per pair row in
 * 2^127 - 1. CC_FIELD_OK, CC_FIELD_EINVAL, CC_FIELD_ENOMEM or
 * CC_FIELD128_ERNG. */
int cc_field128_bitlt_randomized(const cc_field128 *f, cc_rng *rng, uint64_t *lt,
                                 uint64_t *eq, uint64_t *mlt, uint64_t *meq,
                                 const uint64_t *c, const uint64_t *r, const uint64_t *rho,
                                 cc_u128 x, cc_u128 lam, int negate, unsigned m, size_t n);

#endif
