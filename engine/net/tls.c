/*
 * tls.c - the OpenSSL side of mutual TLS: the context every link of a
 * player uses, and credentials (key and self-signed certificate) for a
 * rank. net.c wraps each connection in a libevent OpenSSL bufferevent made
 * from this context.
 *
 * Trust is by certificate, and a certificate plays one rank only:
 *
 *   - a trusted certificate whose subject is "cicada player N" (what
 *     `cicada-lua credentials` writes) is the one certificate that may play
 *     rank N: a peer claiming rank N must present exactly it (its SHA-256
 *     digest is pinned);
 *   - any other trusted certificate is a CA: a leaf it issued plays the
 *     rank its subject names ("cicada player N"), and a leaf naming no rank
 *     plays none;
 *   - a player's certificate never issues: a chain with a certificate
 *     naming a player, or a non-CA, above the leaf is refused (so player 1
 *     cannot sign itself a "cicada player 2").
 *
 * The one exception is this player's own certificate: the local players of
 * cicada.run share one identity, and it may play any rank.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/tls.h"

#define CERT_DAYS 3650
#define CN_PREFIX "cicada player "

const char *cc_tls_reason(unsigned long code, const char *fallback, char *buf, size_t bufsz) {
  unsigned long e = code ? code : ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  ERR_clear_error();
  snprintf(buf, bufsz, "%s", reason ? reason : fallback);
  return buf;
}

/* Add every certificate of one PEM file to the store; how many, or -1. */
static int add_trusted_file(X509_STORE *store, const char *path, char *err, size_t errsz) {
  FILE *f = fopen(path, "r");
  X509 *x;
  int n = 0;
  if (!f) {
    snprintf(err, errsz, "cannot read the trusted certificate file '%s': %s", path, strerror(errno));
    return -1;
  }
  while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
    X509_STORE_add_cert(store, x);   /* a duplicate is not an error worth failing on */
    X509_free(x);
    n++;
  }
  fclose(f);
  ERR_clear_error();   /* the end of the file shows as a "no start line" error */
  if (n == 0) {
    snprintf(err, errsz, "the trusted file '%s' holds no PEM certificate", path);
    return -1;
  }
  return n;
}

/* ==== Certificates bound to ranks ================================================ */

typedef struct rank_pin {
  int rank;
  unsigned char md[32];   /* SHA-256 of the certificate */
} rank_pin;

typedef struct pins {
  int count;
  rank_pin pin[];
} pins;

static int pins_index = -1;
static pthread_once_t pins_once = PTHREAD_ONCE_INIT;

static void pins_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                      void *argp) {
  (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
  free(ptr);
}

static void pins_init(void) {
  pins_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, pins_free);
}

/* The rank a certificate's subject names ("cicada player N"), or -1. */
static int named_rank(X509 *x) {
  char cn[128] = "";
  char *end;
  long r;
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) <= 0 ||
      strncmp(cn, CN_PREFIX, strlen(CN_PREFIX)) != 0)
    return -1;
  if (cn[strlen(CN_PREFIX)] < '0' || cn[strlen(CN_PREFIX)] > '9') return -1;
  r = strtol(cn + strlen(CN_PREFIX), &end, 10);
  return *end == '\0' && r >= 0 && r < 1 << 20 ? (int)r : -1;
}

/* Refuse a chain through a player's certificate, or through anything that
 * is not a CA, whatever the trusted files hold. */
static int verify_cb(int ok, X509_STORE_CTX *store) {
  int depth = X509_STORE_CTX_get_error_depth(store);
  X509 *x = X509_STORE_CTX_get_current_cert(store);
  if (!ok || depth == 0 || !x) return ok;
  if (named_rank(x) >= 0 || X509_check_ca(x) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_CA);
    return 0;
  }
  return 1;
}

/* Pin every trusted certificate that names a rank to that rank. Two
 * different certificates for one rank are an error. */
static int pin_ranks(SSL_CTX *ctx, char *err, size_t errsz) {
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  int n = sk_X509_OBJECT_num(objs);
  pins *p = calloc(1, sizeof *p + (size_t)(n > 0 ? n : 1) * sizeof(rank_pin));
  if (!p) { snprintf(err, errsz, "out of memory"); return -1; }
  for (int i = 0; i < n; i++) {
    X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    unsigned char md[32];
    unsigned mdlen = 0;
    int r = x ? named_rank(x) : -1;
    if (r < 0) continue;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != sizeof md) {
      snprintf(err, errsz, "cannot digest the trusted certificate of player %d", r);
      free(p);
      return -1;
    }
    for (int k = 0; k < p->count; k++)
      if (p->pin[k].rank == r && CRYPTO_memcmp(p->pin[k].md, md, sizeof md) != 0) {
        snprintf(err, errsz, "the trusted files hold two different certificates for player %d",
                 r);
        free(p);
        return -1;
      }
    p->pin[p->count].rank = r;
    memcpy(p->pin[p->count].md, md, sizeof md);
    p->count++;
  }
  pthread_once(&pins_once, pins_init);
  if (pins_index < 0 || SSL_CTX_set_ex_data(ctx, pins_index, p) != 1) {
    snprintf(err, errsz, "cannot keep the trusted certificates' ranks");
    free(p);
    return -1;
  }
  return 0;
}

static int load_trusted(SSL_CTX *ctx, const char *trusted, char *err, size_t errsz) {
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  char *list = strdup(trusted), *save = NULL, *path;
  int total = 0;
  if (!list) { snprintf(err, errsz, "out of memory"); return -1; }
  for (path = strtok_r(list, ",", &save); path; path = strtok_r(NULL, ",", &save)) {
    int n;
    while (*path == ' ') path++;
    if (!*path) continue;
    n = add_trusted_file(store, path, err, errsz);
    if (n < 0) { free(list); return -1; }
    total += n;
  }
  free(list);
  if (total == 0) { snprintf(err, errsz, "no trusted certificate given"); return -1; }
  /* A trusted player certificate is an anchor by itself, CA or not. */
  X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
  return pin_ranks(ctx, err, errsz);
}

/* Whether AES-GCM runs on dedicated instructions here. On x86, AES-NI and
 * carry-less multiplication; elsewhere (ARMv8 crypto extensions are the
 * rule on the machines that run players) AES is assumed fast. */
static bool aes_accelerated(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#else
  return true;
#endif
}

struct ssl_ctx_st *cc_tls_context(const char *identity, const char *trusted, char *err,
                                  size_t errsz) {
  SSL_CTX *ctx;
  char why[160];
  if (!identity || !*identity || !trusted || !*trusted) {
    snprintf(err, errsz, "TLS needs both an identity (--identity) and trusted certificates "
             "(--trusted)");
    return NULL;
  }
  if (access(identity, R_OK) != 0) {
    snprintf(err, errsz, "cannot read the identity file '%s': %s", identity, strerror(errno));
    return NULL;
  }
  ctx = SSL_CTX_new(TLS_method());
  if (!ctx) {
    snprintf(err, errsz, "cannot create a TLS context: %s", cc_tls_reason(0, "unknown", why, sizeof why));
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* AES-128-GCM first where the CPU has AES instructions: as safe for
   * links as AES-256 here, and the fastest on the bulk transfers of large
   * share vectors; ChaCha20-Poly1305 first where it has not, as it is
   * then much faster than AES in software. Both ends run the same list,
   * and the client's order decides. */
  SSL_CTX_set_ciphersuites(ctx, aes_accelerated()
                                    ? "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
                                      "TLS_AES_256_GCM_SHA384"
                                    : "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
                                      "TLS_AES_256_GCM_SHA384");
  /* Links never resume sessions: no tickets to send after the handshake. */
  SSL_CTX_set_num_tickets(ctx, 0);
  /* Links read ahead once their handshake is over (transport_tls.c): one
   * read from the socket takes several records. Their buffers stay for
   * the link's life. */
  SSL_CTX_set_default_read_buffer_len(ctx, CC_TLS_READ_BUFFER_BYTES);
  SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, identity) != 1) {
    snprintf(err, errsz, "the identity file '%s' has no usable certificate: %s", identity,
             cc_tls_reason(0, "unknown", why, sizeof why));
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, identity, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(err, errsz, "the identity file '%s' has no private key matching its certificate: %s",
             identity, cc_tls_reason(0, "unknown", why, sizeof why));
    goto fail;
  }
  if (load_trusted(ctx, trusted, err, errsz) != 0) goto fail;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
  /* Links are long-lived and never resumed. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

void cc_tls_context_free(struct ssl_ctx_st *ctx) { SSL_CTX_free(ctx); }

int cc_tls_peer_rank(struct ssl_st *ssl) {
  X509 *x = SSL_get1_peer_certificate(ssl);
  X509 *mine = SSL_get_certificate(ssl);
  const pins *p;
  int rank;
  if (!x) return -1;
  if (mine && X509_cmp(x, mine) == 0) { X509_free(x); return CC_TLS_OWN_IDENTITY; }
  rank = named_rank(x);
  p = pins_index >= 0 ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pins_index) : NULL;
  for (int k = 0; rank >= 0 && p && k < p->count; k++) {
    unsigned char md[32];
    unsigned mdlen = 0;
    if (p->pin[k].rank != rank) continue;
    /* This rank has its own certificate: nothing else may play it. */
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != sizeof md ||
        CRYPTO_memcmp(md, p->pin[k].md, sizeof md) != 0)
      rank = -1;
    break;
  }
  X509_free(x);
  return rank;
}

/* ==== Credentials =============================================================== */

static int add_ext(X509 *x, int nid, const char *value) {
  X509V3_CTX v3;
  X509_EXTENSION *ext;
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  if (!ext) return -1;
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return 0;
}

static X509 *self_signed(EVP_PKEY *key, int rank) {
  X509 *x = X509_new();
  X509_NAME *name;
  char cn[64];
  unsigned char serial[16];
  BIGNUM *bn;
  if (!x) return NULL;
  snprintf(cn, sizeof cn, CN_PREFIX "%d", rank);
  X509_set_version(x, 2);
  if (RAND_bytes(serial, sizeof serial) != 1) goto fail;
  serial[0] &= 0x7f;
  bn = BN_bin2bn(serial, sizeof serial, NULL);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) { BN_free(bn); goto fail; }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600);
  X509_set_pubkey(x, key);
  name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, name);
  /* An end-entity certificate: it can sign nothing but handshakes. */
  if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
      add_ext(x, NID_key_usage, "critical,digitalSignature") != 0 ||
      add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") != 0 ||
      add_ext(x, NID_subject_key_identifier, "hash") != 0)
    goto fail;
  if (X509_sign(x, key, EVP_sha256()) == 0) goto fail;
  return x;
fail:
  X509_free(x);
  return NULL;
}

/* A new file at path, mode 0600 (0644 if !secret) whatever the umask:
 * an existing file (or symbolic link) there is removed first, never
 * written through, so that neither an old mode nor a link survives. */
static FILE *open_fresh(const char *path, bool secret, char *err, size_t errsz) {
  mode_t mode = secret ? 0600 : 0644;
  int fd;
  FILE *f;
  if (unlink(path) != 0 && errno != ENOENT) {
    snprintf(err, errsz, "cannot replace '%s': %s", path, strerror(errno));
    return NULL;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd >= 0 && fchmod(fd, mode) != 0) { close(fd); fd = -1; }
  f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
  }
  return f;
}

int cc_tls_write_credentials(int rank, const char *identity_path, const char *cert_path,
                             char *err, size_t errsz) {
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = key ? self_signed(key, rank) : NULL;
  FILE *f = NULL;
  char why[160];
  int rc = -1;
  if (!x) {
    snprintf(err, errsz, "cannot make a key and certificate for player %d: %s", rank,
             cc_tls_reason(0, "unknown", why, sizeof why));
    goto done;
  }
  if (!(f = open_fresh(identity_path, true, err, errsz))) goto done;
  if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 || PEM_write_X509(f, x) != 1 ||
      fclose(f) != 0) {
    f = NULL;
    snprintf(err, errsz, "cannot write '%s': %s", identity_path, strerror(errno));
    goto done;
  }
  if (!(f = open_fresh(cert_path, false, err, errsz))) goto done;
  rc = PEM_write_X509(f, x) == 1 ? 0 : -1;
  if (fclose(f) != 0) rc = -1;
  f = NULL;
  if (rc != 0) snprintf(err, errsz, "cannot write '%s': %s", cert_path, strerror(errno));
done:
  if (f) fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return rc;
}
