/*
 * random.c - randomness streams for protocols and fault injection.
 *
 * Owns the two kinds of cc_rng stream (see random.h) and the sampling on
 * top of them. Bytes are drawn in CC_RNG_BUFFER_BYTES blocks so that
 * filling a million-element array costs a few hundred cipher calls. A
 * seeded stream's keystream comes from Intel's multi-buffer crypto library
 * (libIPSec_MB, Debian's libipsec-mb-dev) where it was built in and runs
 * its AVX-512 code, about twice as fast as OpenSSL's AES-CTR here, and from
 * OpenSSL otherwise: the same bytes either way.
 */
#ifdef CICADA_HAVE_IPSEC_MB
#define _GNU_SOURCE /* dl_iterate_phdr */
#endif
#include "core/random.h"
#include "core/simd.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#ifdef CICADA_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>
#define RANDOM_IPSEC_MB 1
#else
#define RANDOM_IPSEC_MB 0
#endif

/* Domain separation: a cicada seed never keys a stream used elsewhere. */
static const char seed_label[] = "cicada.rng.aes128ctr.v1";

/* Forks seen by this process and its ancestors since an unseeded stream
 * was first made: a child of fork() counts one more, so that a stream it
 * inherited knows its buffer was filled before (cc_rng_bytes). */
static atomic_uint forks;
static pthread_once_t forks_once = PTHREAD_ONCE_INIT;
static void count_fork(void) { atomic_fetch_add_explicit(&forks, 1, memory_order_relaxed); }
static void watch_forks(void) { pthread_atfork(NULL, NULL, count_fork); }

void cc_rng_init_os(cc_rng *rng) {
  pthread_once(&forks_once, watch_forks);
  rng->cipher = NULL;
  rng->pos = rng->len = 0;
  rng->forks = atomic_load_explicit(&forks, memory_order_relaxed);
}

/* A seeded stream's keystream (rng->cipher): AES-128-CTR of zeros under
 * its key, block `block` being the 16 bytes under the counter block
 * `block` (128 bits, big-endian, from 0). Owned by the stream's user. */
typedef struct {
  EVP_CIPHER_CTX *evp; /* OpenSSL's AES-128-CTR under the key */
  uint64_t evp_at;     /* the block evp's counter stands at */
  uint64_t block;      /* the next block of the keystream */
#if RANDOM_IPSEC_MB
  unsigned char key[16]; /* the AES key, for the round keys below */
  bool mb_keys;        /* the round keys below are made (at the first use) */
  DECLARE_ALIGNED(uint32_t enc_keys[4 * 15], 16); /* the key's rounds, for libIPSec_MB */
  DECLARE_ALIGNED(uint32_t dec_keys[4 * 15], 16); /* made with them; CTR never reads them */
#endif
} stream;

#if RANDOM_IPSEC_MB
/* libIPSec_MB's job manager: made once (mb_once) at the first keystream
 * that may use it, if the library runs its AVX-512 code on this CPU (else
 * NULL: OpenSSL's cipher serves); never changed after, and its jobs are
 * submitted by any thread, holding mb_lock. */
static IMB_MGR *mb_mgr;
static pthread_mutex_t mb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t mb_once = PTHREAD_ONCE_INIT;
static cc_simd_switch mb_simd_switch = {-1, CC_SIMD_AVX512F};

/* A fork while another thread holds mb_lock would leave it held in the
 * child forever. */
static void mb_prefork(void) { pthread_mutex_lock(&mb_lock); }
static void mb_postfork(void) { pthread_mutex_unlock(&mb_lock); }

/* dl_iterate_phdr's callback: give back the pages of the executable
 * segment holding the code at arg if it is the shared libIPSec_MB's (see
 * mb_make). */
static int mb_release_code(struct dl_phdr_info *info, size_t size, void *arg) {
  uintptr_t code = (uintptr_t)arg;
  long page = sysconf(_SC_PAGESIZE);
  (void)size;
  if (!info->dlpi_name || !strstr(info->dlpi_name, "libIPSec_MB.so")) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || code < lo || code >= hi) continue;
    if (page > 0) {
      lo = (lo + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
      hi &= ~((uintptr_t)page - 1);
      if (lo < hi) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    return 1;
  }
  return 0;
}

static void mb_make(void) {
  IMB_MGR *m = alloc_mb_mgr(0);
  if (!m) return;
  init_mb_mgr_auto(m, NULL);
  if (imb_get_errno(m) != 0 || m->used_arch != IMB_ARCH_AVX512) {
    free_mb_mgr(m);
    return;
  }
  /* Making the manager runs set-up code spread over the library's every
   * algorithm, and the kernel maps the code around each page it runs:
   * about 3 MB of the library's text stays resident in each process
   * (VmRSS), of which the keystream uses a few pages. That text is a
   * read-only mapping of the file, so dropping its pages costs nothing
   * but the faults of those few pages on their next use. (Linked in
   * statically, the library's text is the program's: left alone.) */
  (void)dl_iterate_phdr(mb_release_code, (void *)(uintptr_t)m->submit_job);
  mb_mgr = m;
  pthread_atfork(mb_prefork, mb_postfork, mb_postfork);
}

static bool mb_ready(void) {
  pthread_once(&mb_once, mb_make);
  return mb_mgr != NULL;
}

/* n bytes of the keystream from block b on into out, n a multiple of 16
 * and b's low 32 bits not wrapping within them (the library's counter is
 * those 32 bits). 0, or -1. */
static int mb_ctr(const stream *s, uint64_t b, unsigned char *out, size_t n,
                  const unsigned char *zeros) {
  unsigned char iv[16] = {0};
  IMB_JOB *job;
  int ok;
  for (int i = 0; i < 8; i++) iv[15 - i] = (unsigned char)(b >> (8 * i));
  pthread_mutex_lock(&mb_lock);
  job = IMB_GET_NEXT_JOB(mb_mgr);
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->cipher_mode = IMB_CIPHER_CNTR;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = s->enc_keys;
  job->dec_keys = s->dec_keys;
  job->key_len_in_bytes = 16;
  job->src = zeros;
  job->dst = out;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = n;
  job->iv = iv;
  job->iv_len_in_bytes = 16;
  job = IMB_SUBMIT_JOB(mb_mgr);
  if (!job) job = IMB_FLUSH_JOB(mb_mgr);
  ok = job && job->status == IMB_STATUS_COMPLETED;
  pthread_mutex_unlock(&mb_lock);
  OPENSSL_cleanse(iv, sizeof iv);
  return ok ? 0 : -1;
}
#endif

int _cc_rng_simd(int want) {
#if RANDOM_IPSEC_MB
  return _cc_simd_set(&mb_simd_switch, want) && mb_ready();
#else
  (void)want;
  return 0;
#endif
}

int cc_rng_init_seeded(cc_rng *rng, const void *seed, size_t seedlen) {
  unsigned char key[32]; /* SHA-256 of the label and the seed; AES takes 16 */
  unsigned char iv[16] = {0}; /* the 128-bit counter block starts at 0 */
  unsigned int keylen = 0;
  stream *st;
  cc_rng_init_os(rng);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(md, seed_label, sizeof seed_label) == 1 &&
           EVP_DigestUpdate(md, seed, seedlen) == 1 &&
           EVP_DigestFinal_ex(md, key, &keylen) == 1 && keylen == sizeof key;
  EVP_MD_CTX_free(md);
  st = ok ? calloc(1, sizeof *st) : NULL;
  if (st) st->evp = EVP_CIPHER_CTX_new();
  ok = st && st->evp && EVP_EncryptInit_ex(st->evp, EVP_aes_128_ctr(), NULL, key, iv) == 1;
#if RANDOM_IPSEC_MB
  if (ok) memcpy(st->key, key, sizeof st->key);
#endif
  OPENSSL_cleanse(key, sizeof key);
  if (!ok) {
    if (st) {
      EVP_CIPHER_CTX_free(st->evp);
      free(st);
    }
    return -1;
  }
  rng->cipher = st;
  return 0;
}

void cc_rng_free(cc_rng *rng) {
  stream *st = rng->cipher;
  if (st) {
    EVP_CIPHER_CTX_free(st->evp);
    OPENSSL_cleanse(st, sizeof *st);
    free(st);
  }
  rng->cipher = NULL;
  OPENSSL_cleanse(rng->buf, sizeof rng->buf);
  rng->pos = rng->len = 0;
}

/* The plaintext of the keystream: AES-CTR encrypts zeros read from here
 * instead of zeros first written into the destination, which cost a
 * memset pass as long as the encryption's over large arrays. */
#define ZERO_BYTES ((size_t)1 << 14)
static const unsigned char zeros[ZERO_BYTES];

_Static_assert(CC_RNG_BUFFER_BYTES <= ZERO_BYTES, "buf is refilled from zeros");
_Static_assert(CC_RNG_BUFFER_BYTES % 16 == 0, "the keystream is used in whole blocks");

/* The stream's next n bytes of keystream (n a multiple of 16, at most
 * ZERO_BYTES) into out. 0, or -1 if a cipher fails. */
static int keystream(stream *st, unsigned char *out, size_t n) {
#if RANDOM_IPSEC_MB
  if (cc_simd_on(&mb_simd_switch) && mb_ready()) {
    if (!st->mb_keys) {
      IMB_AES_KEYEXP_128(mb_mgr, st->key, st->enc_keys, st->dec_keys);
      st->mb_keys = true;
    }
    while (n > 0) {
      /* No call crosses a carry out of the counter's low 32 bits: the
       * next one starts from the carried counter, as OpenSSL's does. */
      uint64_t room = ((uint64_t)1 << 32) - (uint32_t)st->block;
      size_t take = n / 16 <= room ? n : (size_t)room * 16;
      if (mb_ctr(st, st->block, out, take, zeros) != 0) return -1;
      st->block += take / 16;
      out += take;
      n -= take;
    }
    return 0;
  }
#endif
  if (st->evp_at != st->block) {
    /* The other cipher went on meanwhile: start this one where it stopped. */
    unsigned char iv[16] = {0};
    for (int i = 0; i < 8; i++) iv[15 - i] = (unsigned char)(st->block >> (8 * i));
    if (EVP_EncryptInit_ex(st->evp, NULL, NULL, NULL, iv) != 1) return -1;
    st->evp_at = st->block;
  }
  int outl = 0;
  if (EVP_EncryptUpdate(st->evp, out, &outl, zeros, (int)n) != 1 || outl != (int)n) return -1;
  st->block += n / 16;
  st->evp_at = st->block;
  return 0;
}

int _cc_rng_seek(cc_rng *rng, uint64_t block) {
  stream *st = rng->cipher;
  if (!st) return -1;
  st->block = block;
  OPENSSL_cleanse(rng->buf, sizeof rng->buf);
  rng->pos = rng->len = 0;
  return 0;
}

/* Refill buf: the keystream, or the CSPRNG's bytes. */
static int refill(cc_rng *rng) {
  if (rng->cipher) {
    if (keystream(rng->cipher, rng->buf, sizeof rng->buf) != 0) return -1;
  } else if (RAND_bytes(rng->buf, (int)sizeof rng->buf) != 1) {
    return -1;
  }
  rng->pos = 0;
  rng->len = sizeof rng->buf;
  return 0;
}

int cc_rng_bytes(cc_rng *rng, void *out, size_t len) {
  unsigned char *p = out;
  if (!rng->cipher) {
    unsigned now = atomic_load_explicit(&forks, memory_order_relaxed);
    if (rng->forks != now) {
      /* Drawn before a fork: the parent (or a sibling) has the same bytes. */
      OPENSSL_cleanse(rng->buf, sizeof rng->buf);
      rng->pos = rng->len = 0;
      rng->forks = now;
    }
  }
  /* Large CSPRNG requests skip the buffer: one RAND_bytes call. */
  if (!rng->cipher && len >= sizeof rng->buf && len <= INT32_MAX)
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
  while (len > 0) {
    if (rng->cipher && rng->pos == rng->len && len >= sizeof rng->buf) {
      /* Whole blocks of the keystream straight into out: the same bytes in
       * the same order as through buf, without the copy and the wipe. */
      size_t direct = len - len % sizeof rng->buf;
      if (direct > ZERO_BYTES) direct = ZERO_BYTES - ZERO_BYTES % sizeof rng->buf;
      if (keystream(rng->cipher, p, direct) != 0) return -1;
      p += direct;
      len -= direct;
      continue;
    }
    if (rng->pos == rng->len && refill(rng) != 0) return -1;
    size_t take = rng->len - rng->pos;
    if (take > len) take = len;
    memcpy(p, rng->buf + rng->pos, take);
    OPENSSL_cleanse(rng->buf + rng->pos, take); /* never hand out twice */
    rng->pos += take;
    p += take;
    len -= take;
  }
  return 0;
}

static int next_word(cc_rng *rng, uint64_t *w) {
  unsigned char b[8];
  if (cc_rng_bytes(rng, b, sizeof b) != 0) return -1;
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = (x << 8) | b[i]; /* little-endian */
  *w = x;
  return 0;
}

/* Whether any of the n words at w is at or above limit: a straight pass,
 * eight words at a time with AVX-512F where the CPU has it (the words of
 * every draw of a 64-bit field pass through here), unless CICADA_NO_SIMD
 * is set and not empty. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RANDOM_AVX512 1
#include <immintrin.h>

static __attribute__((target("avx512f"))) uint64_t any_at_least_v8(const uint64_t *w,
                                                                    uint64_t limit, size_t n) {
  const __m512i l = _mm512_set1_epi64((long long)limit);
  __mmask8 k = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    k |= _mm512_cmpge_epu64_mask(_mm512_loadu_si512((const void *)(w + i)), l);
  uint64_t rejected = k != 0;
  for (; i < n; i++) rejected |= (uint64_t)(w[i] >= limit);
  return rejected;
}
#endif

#if RANDOM_AVX512
static cc_simd_switch random_simd_switch = {-1, CC_SIMD_AVX512F};

static int random_simd(void) { return cc_simd_on(&random_simd_switch); }
#endif

static uint64_t any_at_least(const uint64_t *restrict w, uint64_t limit, size_t n) {
#if RANDOM_AVX512
  if (n >= 8 && random_simd()) return any_at_least_v8(w, limit, n);
#endif
  uint64_t rejected = 0;
  for (size_t i = 0; i < n; i++) rejected |= (uint64_t)(w[i] >= limit);
  return rejected;
}

int cc_rng_uniform_mod(cc_rng *rng, uint64_t p, uint64_t *out, size_t n) {
  /* limit = floor(2^64 / p) * p = 2^64 - (2^64 mod p); when 2^64 mod p is
   * 0 every word is accepted. */
  uint64_t rem = p ? (UINT64_MAX % p + 1) % p : 0;
  uint64_t limit = (uint64_t)0 - rem;
  /* Above 2^63 (every order of 64 bits) limit == p: the words kept are
   * already below p, and the division, as costly as the random bytes
   * themselves, is skipped. */
  bool reduce = p <= (UINT64_C(1) << 63);
  if (p == 0) return -1;
  /* Draw the whole array at once, then redraw only the rejected words. */
  if (cc_rng_bytes(rng, out, n * sizeof *out) != 0) return -1;
  if (!reduce) {
    /* The words are kept as drawn: one straight pass says whether any is
     * rejected (for 2^64 - 59 about once in 2^58 words), and only then the
     * loop below redraws them in order. */
    if (rem == 0 || !any_at_least(out, limit, n)) return 0;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t w = out[i];
    while (rem != 0 && w >= limit)
      if (next_word(rng, &w) != 0) return -1;
    out[i] = reduce ? w % p : w;
  }
  return 0;
}

__extension__ typedef unsigned __int128 wide;

int cc_rng_uniform_mod128(cc_rng *rng, uint64_t p_lo, uint64_t p_hi, uint64_t *out,
                          size_t n) {
  /* Masks keeping the bits of p - 1, so that a draw is below 2p. */
  uint64_t top_lo = p_lo - 1, top_hi = p_hi - (p_lo == 0);
  uint64_t mask_lo = UINT64_MAX, mask_hi = 0;
  if (p_lo == 0 && p_hi == 0) return -1;
  if (top_hi) {
    int lz = __builtin_clzll(top_hi);
    mask_hi = UINT64_MAX >> lz;
  } else {
    mask_lo = top_lo ? UINT64_MAX >> __builtin_clzll(top_lo) : 0;
  }
  if (n > SIZE_MAX / 16) return -1;
  if (cc_rng_bytes(rng, out, n * 16) != 0) return -1;
  /* One straight pass masks every draw and notes whether any is rejected
   * (for 2^127 - 1 only p itself, about once in 2^127 draws); only then a
   * second pass redraws the rejected ones in order, so that the output is
   * that of a redraw at each rejection as it is met. */
  uint64_t rejected = 0;
  {
    uint64_t *restrict w = out;
    const uint64_t ml = mask_lo, mh = mask_hi;
    const wide p = (wide)p_hi << 64 | p_lo;
    for (size_t i = 0; i < n; i++) {
      uint64_t lo = w[2 * i] & ml, hi = w[2 * i + 1] & mh;
      w[2 * i] = lo;
      w[2 * i + 1] = hi;
      rejected |= (uint64_t)(((wide)hi << 64 | lo) >= p); /* a compare and borrow */
    }
  }
  if (!rejected) return 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t lo = out[2 * i], hi = out[2 * i + 1];
    while (hi > p_hi || (hi == p_hi && lo >= p_lo)) {
      if (next_word(rng, &lo) != 0 || next_word(rng, &hi) != 0) return -1;
      lo &= mask_lo;
      hi &= mask_hi;
    }
    out[2 * i] = lo;
    out[2 * i + 1] = hi;
  }
  return 0;
}

int cc_rng_double(cc_rng *rng, double *out) {
  uint64_t w;
  if (next_word(rng, &w) != 0) return -1;
  *out = (double)(w >> 11) * 0x1.0p-53;
  return 0;
}
