/*
 * random.h - randomness streams for protocols and fault injection.
 *
 * Owns cc_rng: an unseeded stream draws from OpenSSL's CSPRNG (RAND_bytes);
 * a seeded stream is the AES-128-CTR keystream (libIPSec_MB's AVX-512 code
 * where it was built in and the CPU runs it, OpenSSL's EVP otherwise, with
 * the same bytes; see random.c) under the first 16
 * bytes of SHA-256 of a label and the seed, the 128-bit counter from 0, so
 * tests can replay a run exactly. As a pseudo-random generator it is as
 * strong as AES as a pseudo-random function: after q blocks of 16 bytes
 * its distance from uniform is at most about q^2 / 2^129 more, 2^-49 at
 * 2^40 blocks (16 TB) from one seed. On top of the raw bytes: unbiased
 * uniform field elements over whole arrays and uniform doubles in [0, 1).
 * No Lua.
 */
#ifndef CICADA_RANDOM_H
#define CICADA_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#define CC_RNG_BUFFER_BYTES 4096

typedef struct cc_rng {
  void *cipher;      /* a seeded stream's keystream state (random.c), NULL otherwise */
  size_t pos, len;   /* unread bytes are buf[pos, len) */
  unsigned forks;    /* an unseeded stream's: the forks its process had
                      * seen when buf was filled (see cc_rng_init_os) */
  unsigned char buf[CC_RNG_BUFFER_BYTES];
} cc_rng;

/* An unseeded (CSPRNG) stream. Cannot fail. Its buffered bytes never
 * serve two processes: a process forked after they were drawn (a player
 * of cicada.run, say, that inherits a stream made before the fork) drops
 * them and draws its own from OpenSSL, which reseeds itself in a forked
 * child. */
void cc_rng_init_os(cc_rng *rng);

/* A reproducible stream from seed bytes; 0, or -1 if OpenSSL fails. */
int cc_rng_init_seeded(cc_rng *rng, const void *seed, size_t seedlen);

/* Release what the stream holds; the struct may then be initialized again. */
void cc_rng_free(cc_rng *rng);

/* Fill out with len bytes; 0, or -1 if OpenSSL fails. */
int cc_rng_bytes(cc_rng *rng, void *out, size_t len);

/* out[i] uniform in [0, p) for n elements, without modulo bias: 64-bit
 * words at or above floor(2^64 / p) * p are rejected and drawn again.
 * p >= 1. 0, or -1 if OpenSSL fails. */
int cc_rng_uniform_mod(cc_rng *rng, uint64_t p, uint64_t *out, size_t n);

/* out[i] uniform in [0, p) for n elements of 2 words (lo, hi), the layout
 * of core/field128.h, p = p_lo + 2^64 p_hi >= 1: 128 random bits masked to
 * the bit length of p - 1, drawn again while at or above p (fewer than half
 * the draws are rejected; for 2^127 - 1, one in 2^127). 0, or -1 if OpenSSL
 * fails. */
int cc_rng_uniform_mod128(cc_rng *rng, uint64_t p_lo, uint64_t p_hi, uint64_t *out,
                          size_t n);

/* A double uniform in [0, 1) with 53 random bits; 0 or -1. */
int cc_rng_double(cc_rng *rng, double *out);

/* For tests. _cc_rng_simd: want -1 chooses as at the first use (simd.h),
 * 0 makes seeded streams use OpenSSL's AES-CTR, 1 libIPSec_MB's where it
 * runs; returns 1 when libIPSec_MB's is in use now. _cc_rng_seek: a seeded
 * stream goes on from keystream block `block` (16 bytes each), dropping
 * what it had buffered; 0, or -1 for an unseeded stream. */
int _cc_rng_simd(int want);
int _cc_rng_seek(cc_rng *rng, uint64_t block);

#endif
