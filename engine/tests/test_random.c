/*
 * test_random.c - unit tests of the random streams (random.c).
 *
 * A seeded stream is checked against a known answer computed outside the
 * project (the openssl command line: SHA-256 of the label and the seed,
 * AES-128-CTR under its first 16 bytes from counter 0 over zeros), so that
 * a change of the stream for a given seed cannot pass unnoticed; then for
 * replay, for the same bytes in pieces as at once, and for the sampling
 * bounds; all of it with each of the two ciphers that can make the
 * keystream (OpenSSL's, and libIPSec_MB's where it was built in and runs),
 * which must give the same bytes, also across a carry out of the
 * counter's low 32 bits.
 */
#include <stdint.h>
#include <string.h>

#include "core/random.h"
#include "check.h"

/* The first 48 bytes of the stream of the seed "abc", from
 *   key=$(printf 'cicada.rng.aes128ctr.v1\0abc' | openssl dgst -sha256 -binary | head -c 16 | xxd -p)
 *   head -c 48 /dev/zero | openssl enc -aes-128-ctr -K $key -iv 0 | xxd -p */
static const unsigned char abc_stream[48] = {
  0x9f, 0x73, 0xc0, 0x25, 0xf0, 0x5d, 0x4c, 0x57, 0x42, 0x0b, 0x73, 0x54,
  0xd6, 0xc8, 0x0a, 0xc4, 0x74, 0xe0, 0x4a, 0x4f, 0x63, 0x42, 0xe9, 0x8d,
  0xe7, 0x76, 0x8f, 0x32, 0xdb, 0x1f, 0x92, 0x99, 0xc1, 0x10, 0xd3, 0x1e,
  0xf8, 0x37, 0x83, 0xf6, 0x15, 0xc9, 0xbe, 0xd9, 0x7d, 0x37, 0xe6, 0x30};

/* 80 bytes of the same stream from block 2^32 - 3 on, across the carry
 * into the counter's fifth byte from the end:
 *   head -c 80 /dev/zero | openssl enc -aes-128-ctr -K $key \
 *     -iv 000000000000000000000000fffffffd | xxd -i */
static const unsigned char abc_carry[80] = {
  0x48, 0x51, 0x95, 0x22, 0x8b, 0x74, 0x85, 0xba, 0xc9, 0x65, 0x24, 0x0a,
  0x60, 0x0e, 0xae, 0x93, 0x29, 0xf9, 0xca, 0x6f, 0xe6, 0x1f, 0x14, 0xce,
  0x55, 0x5c, 0x02, 0xcc, 0x09, 0x8d, 0xac, 0x5c, 0x32, 0x19, 0x16, 0xae,
  0xe0, 0x6a, 0x63, 0x03, 0xac, 0xf5, 0x57, 0x9a, 0x4c, 0xaf, 0xa4, 0xed,
  0x4e, 0x5f, 0x6e, 0xe6, 0x7e, 0xdb, 0xdc, 0xa1, 0x1e, 0x6d, 0xc2, 0x5a,
  0xf4, 0x59, 0x95, 0x79, 0xe2, 0xa0, 0x6e, 0xce, 0x54, 0xfb, 0xd1, 0xf5,
  0xcd, 0x7f, 0x16, 0x3b, 0xf7, 0x8e, 0x7f, 0x8f};

static void test_known_answer(void) {
  cc_rng rng;
  unsigned char got[48];
  CHECK(cc_rng_init_seeded(&rng, "abc", 3) == 0);
  CHECK(cc_rng_bytes(&rng, got, 5) == 0); /* through the buffer */
  CHECK(cc_rng_bytes(&rng, got + 5, 43) == 0);
  CHECK(memcmp(got, abc_stream, sizeof got) == 0);
  cc_rng_free(&rng);
}

/* Across the carry: through the buffer (its refill of 4,096 bytes from
 * block 2^32 - 3 crosses it three blocks in), and straight into a large
 * request, crossing it three and 1,000 blocks in. */
static void test_carry(void) {
  static unsigned char big[20000];
  cc_rng rng;
  unsigned char got[80];
  CHECK(cc_rng_init_seeded(&rng, "abc", 3) == 0);
  CHECK(_cc_rng_seek(&rng, (UINT64_C(1) << 32) - 3) == 0);
  CHECK(cc_rng_bytes(&rng, got, 7) == 0);
  CHECK(cc_rng_bytes(&rng, got + 7, 73) == 0);
  CHECK(memcmp(got, abc_carry, sizeof got) == 0);
  CHECK(_cc_rng_seek(&rng, (UINT64_C(1) << 32) - 3) == 0);
  CHECK(cc_rng_bytes(&rng, big, sizeof big) == 0);
  CHECK(memcmp(big, abc_carry, sizeof abc_carry) == 0);
  /* the block before the carry, reached from further back */
  CHECK(_cc_rng_seek(&rng, (UINT64_C(1) << 32) - 1000) == 0);
  CHECK(cc_rng_bytes(&rng, big, sizeof big) == 0);
  CHECK(memcmp(big + 16 * 997, abc_carry, sizeof abc_carry) == 0);
  cc_rng_free(&rng);
  cc_rng_init_os(&rng);
  CHECK(_cc_rng_seek(&rng, 0) == -1);
  cc_rng_free(&rng);
}

/* The two ciphers give the same stream, also when a stream goes on with
 * the other one half-way (each picks up at the other's block). */
static void test_ciphers_agree(int mb) {
  static unsigned char a[70000], b[70000];
  cc_rng x, y;
  if (!mb) return;
  CHECK(cc_rng_init_seeded(&x, "agree", 5) == 0);
  CHECK(cc_rng_init_seeded(&y, "agree", 5) == 0);
  CHECK(_cc_rng_simd(1) == 1);
  CHECK(cc_rng_bytes(&x, a, sizeof a) == 0);
  CHECK(_cc_rng_simd(0) == 0);
  CHECK(cc_rng_bytes(&y, b, sizeof b) == 0);
  CHECK(memcmp(a, b, sizeof a) == 0);
  /* x on OpenSSL's, then libIPSec_MB's, then OpenSSL's again */
  for (int k = 0; k < 3; k++) {
    CHECK(_cc_rng_simd(k % 2) == k % 2);
    CHECK(cc_rng_bytes(&x, a + 1000 * k, 1000) == 0);
    CHECK(cc_rng_bytes(&x, a + 3000 + 20000 * k, 20000) == 0);
  }
  CHECK(_cc_rng_simd(0) == 0);
  for (int k = 0; k < 3; k++) {
    CHECK(cc_rng_bytes(&y, b + 1000 * k, 1000) == 0);
    CHECK(cc_rng_bytes(&y, b + 3000 + 20000 * k, 20000) == 0);
  }
  CHECK(memcmp(a, b, 63000) == 0);
  cc_rng_free(&x);
  cc_rng_free(&y);
}

/* 40,000 bytes at once (the direct path) and in pieces of 1,000. */
static void test_pieces(void) {
  static unsigned char whole[40000], parts[40000];
  cc_rng a, b;
  CHECK(cc_rng_init_seeded(&a, "pieces", 6) == 0);
  CHECK(cc_rng_init_seeded(&b, "pieces", 6) == 0);
  CHECK(cc_rng_bytes(&a, whole, sizeof whole) == 0);
  for (size_t i = 0; i < sizeof parts; i += 1000) CHECK(cc_rng_bytes(&b, parts + i, 1000) == 0);
  CHECK(memcmp(whole, parts, sizeof whole) == 0);
  cc_rng_free(&a);
  cc_rng_free(&b);
}

/* Uniform words and pairs of words stay below their bounds. */
static void test_bounds(void) {
  enum { N = 4096 };
  static uint64_t w[2 * N];
  cc_rng rng;
  CHECK(cc_rng_init_seeded(&rng, "bounds", 6) == 0);
  CHECK(cc_rng_uniform_mod(&rng, 1000, w, N) == 0);
  for (size_t i = 0; i < N; i++) CHECK(w[i] < 1000);
  /* p = 2^64 + 13: the high word 0 or 1, and below p. */
  CHECK(cc_rng_uniform_mod128(&rng, 13, 1, w, N) == 0);
  for (size_t i = 0; i < N; i++) CHECK(w[2 * i + 1] == 0 || (w[2 * i + 1] == 1 && w[2 * i] < 13));
  cc_rng_free(&rng);
}

/* The pairs of words below p = 2^64 + 13 (about half the draws of 65 bits
 * rejected) are those of a stream read in order: n draws of 16 bytes,
 * then two words for each rejected draw in turn, until one is kept. */
static void test_redraws_in_order(void) {
  enum { N = 1000 };
  static uint64_t got[2 * N], want[2 * N];
  cc_rng a, b;
  size_t redrawn = 0;
  CHECK(cc_rng_init_seeded(&a, "redraw", 6) == 0);
  CHECK(cc_rng_init_seeded(&b, "redraw", 6) == 0);
  CHECK(cc_rng_uniform_mod128(&a, 13, 1, got, N) == 0);
  CHECK(cc_rng_bytes(&b, want, sizeof want) == 0);
  for (size_t i = 0; i < N; i++) {
    uint64_t lo = want[2 * i], hi = want[2 * i + 1] & 1;
    while (hi == 1 && lo >= 13) {
      CHECK(cc_rng_bytes(&b, &lo, 8) == 0 && cc_rng_bytes(&b, &hi, 8) == 0);
      hi &= 1;
      redrawn++;
    }
    want[2 * i] = lo;
    want[2 * i + 1] = hi;
  }
  CHECK(redrawn > N / 4);
  CHECK(memcmp(got, want, sizeof got) == 0);
  /* the stream goes on where the redraws left it */
  uint64_t x = 0, y = 0;
  CHECK(cc_rng_bytes(&a, &x, 8) == 0 && cc_rng_bytes(&b, &y, 8) == 0);
  CHECK(x == y);
  cc_rng_free(&a);
  cc_rng_free(&b);
}

/* Words below p = 2^63 + 1 (about half the words rejected, the others
 * kept as drawn) are those of a stream read in order, each rejected word
 * redrawn until one is kept. */
static void test_word_redraws_in_order(void) {
  enum { N = 1000 };
  static uint64_t got[N], want[N];
  const uint64_t p = (UINT64_C(1) << 63) + 1;
  cc_rng a, b;
  size_t redrawn = 0;
  CHECK(cc_rng_init_seeded(&a, "redraw64", 8) == 0);
  CHECK(cc_rng_init_seeded(&b, "redraw64", 8) == 0);
  CHECK(cc_rng_uniform_mod(&a, p, got, N) == 0);
  CHECK(cc_rng_bytes(&b, want, sizeof want) == 0);
  for (size_t i = 0; i < N; i++) {
    while (want[i] >= p) {
      CHECK(cc_rng_bytes(&b, &want[i], 8) == 0);
      redrawn++;
    }
  }
  CHECK(redrawn > N / 4);
  CHECK(memcmp(got, want, sizeof got) == 0);
  uint64_t x = 0, y = 0;
  CHECK(cc_rng_bytes(&a, &x, 8) == 0 && cc_rng_bytes(&b, &y, 8) == 0);
  CHECK(x == y);
  cc_rng_free(&a);
  cc_rng_free(&b);
}

int main(void) {
  int mb = _cc_rng_simd(1);
  if (!mb) printf("libIPSec_MB's AES-CTR is not in use here: OpenSSL's alone is checked\n");
  for (int use = mb; use >= 0; use--) {
    CHECK(_cc_rng_simd(use) == use);
    test_known_answer();
    test_carry();
    test_pieces();
    test_bounds();
    test_redraws_in_order();
    test_word_redraws_in_order();
  }
  test_ciphers_agree(mb);
  _cc_rng_simd(-1);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all random checks passed\n");
  return 0;
}
