/*
 * field.h - arithmetic in GF(p) over whole arrays of 64-bit words.
 *
 * Owns: the order check (deterministic Miller-Rabin), the cc_field constants
 * used for fast modular multiplication, the array kernels (add, sub, neg, mul,
 * scalar mul, sum, dot, matrix-vector product, pow, batch inverse, conversion
 * from signed integers, equality, shifts and bit composition), Lagrange
 * coefficients at 0 and the Shamir share/recover kernels.
 *
 * Elements are canonical words 0 <= x < p. Every kernel takes whole arrays
 * of n elements and allows out == in (element-wise aliasing). No Lua here.
 */
#ifndef CICADA_FIELD_H
#define CICADA_FIELD_H

#include <stddef.h>
#include <stdint.h>

/* 2^64 - 59, the largest prime below 2^64: the default order. */
#define CC_FIELD_DEFAULT_ORDER UINT64_C(18446744073709551557)

/* How products are reduced; chosen by cc_field_init from the order. */
enum cc_field_kind {
  CC_FIELD_FOLD,  /* p = 2^64 - c with c < 2^32: fold 2^64 = c */
  CC_FIELD_MONT,  /* other odd p: Montgomery multiplication */
  CC_FIELD_PLAIN  /* p = 2: 128-bit remainder */
};

typedef struct cc_field {
  uint64_t p;        /* the order, a prime */
  uint64_t c;        /* 2^64 - p (CC_FIELD_FOLD) */
  uint64_t pinv;     /* p^-1 mod 2^64 (CC_FIELD_MONT) */
  uint64_t r2;       /* 2^128 mod p (CC_FIELD_MONT) */
  uint64_t half;     /* (p - 1) / 2: larger values decode as negative */
  int bits;          /* bit length of p */
  enum cc_field_kind kind;
} cc_field;

/* Error codes of the kernels that can fail. */
enum {
  CC_FIELD_OK = 0,
  CC_FIELD_EINVAL = -1, /* bad argument; message in err */
  CC_FIELD_EZERO = -2,  /* a zero where an inverse is needed */
  CC_FIELD_ENOMEM = -3
};

/* 0 if order is a prime with 2 <= order < 2^64; otherwise -1 and a message
 * in err (errsz bytes, may be 0). Deterministic for every 64-bit order. */
int cc_field_check_order(uint64_t order, char *err, size_t errsz);

/* Deterministic Miller-Rabin: 1 if n is prime. */
int cc_field_is_prime(uint64_t n);

/* Check the order and fill f; 0 or -1 with a message as above. */
int cc_field_init(cc_field *f, uint64_t order, char *err, size_t errsz);

/* Fill f for an order already known to be prime (no primality test):
 * cheap enough to call once per operation. */
void cc_field_setup(cc_field *f, uint64_t order);

/* ==== Single elements ==================================================== */

uint64_t cc_field_mul1(const cc_field *f, uint64_t a, uint64_t b);
uint64_t cc_field_pow1(const cc_field *f, uint64_t a, uint64_t e);
uint64_t cc_field_inv1(const cc_field *f, uint64_t a); /* a != 0 */
uint64_t cc_field_from_i64_1(const cc_field *f, int64_t x);

/* ==== Kernels over arrays =============================================== */

void cc_field_add(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n);
void cc_field_sub(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n);
void cc_field_neg(const cc_field *f, uint64_t *out, const uint64_t *a, size_t n);
void cc_field_mul(const cc_field *f, uint64_t *out, const uint64_t *a,
                  const uint64_t *b, size_t n);
/* out[i] = a[i] * s, out[i] = a[i] + s, out[i] = a[i] - s, s - a[i]. */
void cc_field_mul_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n);
void cc_field_add_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n);
void cc_field_sub_scalar(const cc_field *f, uint64_t *out, const uint64_t *a,
                         uint64_t s, size_t n);
void cc_field_rsub_scalar(const cc_field *f, uint64_t *out, uint64_t s,
                          const uint64_t *a, size_t n);
uint64_t cc_field_sum(const cc_field *f, const uint64_t *a, size_t n);
uint64_t cc_field_dot(const cc_field *f, const uint64_t *a, const uint64_t *b,
                      size_t n);
/* out[i] = sum_j A[i*k + j] * x[j] for the m x k row-major matrix A.
 * out must not overlap A or x. */
void cc_field_matvec(const cc_field *f, uint64_t *out, const uint64_t *A,
                     const uint64_t *x, size_t m, size_t k);
/* out[i] = sum_j 2^(k-1-j) * bits[i*k + j]: each of the m rows of k words
 * read as a binary number, most significant first (reduced mod p). out must
 * not overlap bits unless k == 1. */
void cc_field_bit_compose(const cc_field *f, uint64_t *out,
                          const uint64_t *bits, size_t m, size_t k);
/* out[i] = floor(a[i] / 2^s) of the canonical words, 0 <= s < 64: for
 * public values, e.g. the high part of a revealed masked value. */
void cc_field_shift_right(uint64_t *out, const uint64_t *a, unsigned s,
                          size_t n);
/* The rows x cols matrix in (row-major, elements of `words` 64-bit words
 * each) transposed into out (cols x rows): the element at row i, column j
 * goes to row j, column i. Layout only, no arithmetic, so any field width
 * works. out must not overlap in. */
void cc_field_transpose(uint64_t *out, const uint64_t *in, size_t rows,
                        size_t cols, size_t words);
/* out[i] = a[i]^e for a public exponent (0^0 = 1). */
void cc_field_pow(const cc_field *f, uint64_t *out, const uint64_t *a,
                  uint64_t e, size_t n);
/* out[i] = a[i]^-1 by Montgomery's trick (one exponentiation, 3n products).
 * CC_FIELD_EZERO with *zero_index set if some a[i] == 0 (out untouched). */
int cc_field_inv(const cc_field *f, uint64_t *out, const uint64_t *a, size_t n,
                 size_t *zero_index);
/* out[i] = x[i] mod p, negatives to p - (|x| mod p). */
void cc_field_from_i64(const cc_field *f, uint64_t *out, const int64_t *x,
                       size_t n);
/* out[i] = x[i] mod p for raw unsigned words. */
void cc_field_reduce(const cc_field *f, uint64_t *out, const uint64_t *x,
                     size_t n);
int cc_field_equal(const uint64_t *a, const uint64_t *b, size_t n);
/* n if every word is < p, else the index of the first that is not. */
size_t cc_field_first_noncanonical(const cc_field *f, const uint64_t *a,
                                   size_t n);

/* ==== Lagrange and Shamir =============================================== */

/* Check that the r indices are nonzero mod p and pairwise distinct mod p.
 * 0 or CC_FIELD_EINVAL with a message naming the (1-based) positions. */
int cc_field_check_indices(const cc_field *f, const uint64_t *x, size_t r,
                           char *err, size_t errsz);

/* lambda[j] = prod_{m != j} x[m] / (x[m] - x[j]): the weights that evaluate
 * at 0 the polynomial of degree < r through the points (x[j], y[j]). */
int cc_field_lagrange0(const cc_field *f, uint64_t *lambda, const uint64_t *x,
                       size_t r, char *err, size_t errsz);

/* out[i] += w * x[i]. */
void cc_field_axpy(const cc_field *f, uint64_t *out, uint64_t w,
                   const uint64_t *x, size_t n);

/* out[i] = sum_j w[j] * xs[j][i] for r arrays of n elements (out may be
 * one of them). */
void cc_field_lincomb_arrays(const cc_field *f, uint64_t *out,
                             const uint64_t *w, const uint64_t *const *xs,
                             size_t r, size_t n);

/* out[i] = sum_j w[j] * rows[j*n + i] for an r x n row-major matrix. */
void cc_field_lincomb(const cc_field *f, uint64_t *out, const uint64_t *w,
                      const uint64_t *rows, size_t r, size_t n);

/* out = sum_j w[j] xs[j] for r arrays of n words stored little-endian at
 * any alignment (as field arrays travel, see core/wire.h), read in place:
 * no aligned copy of each first. Every word is checked against p: 0, or
 * -1 when one is not below it (out is then undefined). out must not
 * overlap the words. */
int cc_field_lincomb_le(const cc_field *f, uint64_t *out, const uint64_t *w,
                        const uint8_t *const *xs, size_t r, size_t n);

/* Whether cc_field_lincomb_le's two-term kernel runs on AVX-512 vectors
 * (the same results): want < 0 decides as at the first use (the CPU, and
 * CICADA_NO_SIMD set and not empty: scalar code only), 0 turns them off,
 * > 0 on where the CPU has AVX-512 F. Returns 1 when they run. For tests. */
int _cc_field_lincomb_le_simd(int want);

/* out[i] = a[i] * b[i] + sum_j w[j] * xs[j][i] + s for r arrays of n
 * elements (b NULL: a[i] + ...): a masked product share in one pass, with
 * one reduction per element in the folding fields. out may be a, b or one
 * of the xs (the same elements), no other overlap. */
void cc_field_mul_lincomb(const cc_field *f, uint64_t *out, const uint64_t *a,
                          const uint64_t *b, const uint64_t *w,
                          const uint64_t *const *xs, size_t r, uint64_t s,
                          size_t n);

/* As cc_field_mul_lincomb with the product (or a[i]) times the canonical
 * weight pw: out[i] = pw * a[i] * b[i] + sum_j w[j] * xs[j][i] + s. */
void cc_field_mul_lincomb_weighted(const cc_field *f, uint64_t *out, const uint64_t *a,
                                   const uint64_t *b, uint64_t pw, const uint64_t *w,
                                   const uint64_t *const *xs, size_t r, uint64_t s,
                                   size_t n);

/* out[i] = floor(c / 2^bits) - s - sum_j v[j] * ys[j][i], where
 * c = sum_j w[j] * cs[j][i] is canonical (r arrays cs, q arrays ys, of n
 * elements; 0 <= bits < 64): the end of a truncation, the revealed masked
 * value's high part less the mask's, in one pass. Overlap as for
 * cc_field_mul_lincomb. */
void cc_field_unmask_shift(const cc_field *f, uint64_t *out, const uint64_t *w,
                           const uint64_t *const *cs, size_t r, unsigned bits,
                           uint64_t s, const uint64_t *v,
                           const uint64_t *const *ys, size_t q, size_t n);

/* cc_field_unmask_shift for a plain-sum reveal (every weight of cs 1)
 * with the shares and the subtracted terms read where they lie: r
 * revealed shares cs and q terms ys, each n little-endian words at any
 * alignment (a message's bytes, or an array's), at most 16 of each, in a
 * folding field on a little-endian machine. Returns 1 when done, 0 when
 * this case is not one it takes (out untouched), -1 when a word read is not
 * below p (out partly written: the caller names the culprit). */
int cc_field_unmask_sum_le(const cc_field *f, uint64_t *out, const uint8_t *const *cs,
                           size_t r, unsigned bits, uint64_t s, const uint64_t *v,
                           const uint8_t *const *ys, size_t q, size_t n);

/* The shares of a truncation's mask high part dealt with degree 1, in one
 * pass: with h = floor(u[i] / 2^bits) (0 <= bits < 64) and the share e[i]
 * of the next player (drawn), the dealt polynomial is g(x) = h + x d with
 * d = (e[i] - h) inv (inv = 1 / x_next, canonical); send[i] = g(xs) and
 * own[i] = g(xo) + y[i] (y: the shares dealt to this player by others,
 * summed; NULL for none). u, e and y canonical; each element is read
 * before it is written, so send or own may be an input (the same
 * elements), no other overlap. */
void cc_field_high_shares(const cc_field *f, uint64_t *send, uint64_t *own,
                          const uint64_t *u, const uint64_t *e, const uint64_t *y,
                          unsigned bits, uint64_t inv, uint64_t xs, uint64_t xo,
                          size_t n);

/* For tests: whether field.c's AVX-512 kernels run (want 1: when the CPU
 * has AVX-512F; 0: never; -1: as at start, CICADA_NO_SIMD heeded).
 * Returns the new state. */
int _cc_field_simd(int want);

/* Shamir sharing of the n-element secret with threshold k (degree k - 1):
 * coeffs holds the (k-1) x n random coefficients of degrees 1..k-1, row d-1
 * for degree d. out is the m x n matrix whose row j holds the polynomial
 * values at x[j] (Horner). out must not overlap secret or coeffs.
 * CC_FIELD_EINVAL if the threshold breaks check.h's rule (1 <= k <= m) or
 * the indices are bad. */
int cc_field_shamir_share(const cc_field *f, uint64_t *out,
                          const uint64_t *secret, size_t n,
                          const uint64_t *coeffs, size_t k,
                          const uint64_t *x, size_t m,
                          char *err, size_t errsz);

/* One player's shares: out[i] = secret[i] + sum_{d=1}^{k-1} coeffs[(d-1)*n + i]
 * * x^d, the polynomials of cc_field_shamir_share at the single point x
 * (nonzero mod p, not checked). out must not overlap secret or coeffs. */
void cc_field_shamir_eval(const cc_field *f, uint64_t *out,
                          const uint64_t *secret, size_t n,
                          const uint64_t *coeffs, size_t k, uint64_t x);

/* Recover the n-element secret from the r x n matrix of shares held by the
 * players with indices x (Lagrange at 0). */
int cc_field_shamir_recover(const cc_field *f, uint64_t *out,
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
void cc_field_bitlt_pairs(const cc_field *f, uint64_t *lt, uint64_t *eq,
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
void cc_field_xor_group(const cc_field *f, uint64_t *bits, uint64_t *prod,
                        uint64_t *msg, uint64_t *msgp, const uint64_t *b,
                        const uint64_t *u,
                        const uint64_t *v, const uint64_t *z, const uint64_t *rho,
                        uint64_t fa, uint64_t x, uint64_t lam, int negate,
                        unsigned m, unsigned pairs, size_t n);

#endif
