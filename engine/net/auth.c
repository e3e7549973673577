/*
 * auth.c - nonces and HMAC-SHA256 for the handshakes (see auth.h).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "net/auth.h"

int cc_auth_random(void *out, size_t n) {
  return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

void cc_auth_mac(const uint8_t *key, size_t keylen, const void *const *parts,
                 const size_t *lens, int count, uint8_t out[CC_AUTH_MAC_BYTES]) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[2];
  size_t outlen = 0;
  int ok;
  static const uint8_t none = 0;
  params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_end();
  ok = ctx && EVP_MAC_init(ctx, keylen ? key : &none, keylen, params) == 1;
  for (int i = 0; ok && i < count; i++)
    ok = EVP_MAC_update(ctx, parts[i], lens[i]) == 1;
  ok = ok && EVP_MAC_final(ctx, out, &outlen, CC_AUTH_MAC_BYTES) == 1 &&
       outlen == CC_AUTH_MAC_BYTES;
  /* Without a mac, no one is admitted: a random value matches nothing. */
  if (!ok && RAND_bytes(out, CC_AUTH_MAC_BYTES) != 1) memset(out, 0xa5, CC_AUTH_MAC_BYTES);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
}

static void le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cc_auth_link_key(uint64_t token, uint8_t out[CC_AUTH_KEY_BYTES]) {
  static const char salt[] = "cicada link key 1", info[] = "links";
  uint8_t ikm[8];
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  OSSL_PARAM params[5];
  for (int i = 0; i < 8; i++) ikm[i] = (uint8_t)(token >> (8 * i));
  params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string("key", ikm, sizeof ikm);
  params[2] = OSSL_PARAM_construct_octet_string("salt", (void *)salt, sizeof salt - 1);
  params[3] = OSSL_PARAM_construct_octet_string("info", (void *)info, sizeof info - 1);
  params[4] = OSSL_PARAM_construct_end();
  if (!ctx || EVP_KDF_derive(ctx, out, CC_AUTH_KEY_BYTES, params) != 1) {
    /* No KDF: the HMAC of the token under the same salt is as good a PRF. */
    const void *parts[1] = {ikm};
    size_t lens[1] = {sizeof ikm};
    cc_auth_mac((const uint8_t *)salt, sizeof salt - 1, parts, lens, 1, out);
  }
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  OPENSSL_cleanse(ikm, sizeof ikm);
}

void cc_auth_hello_mac(const uint8_t link_key[CC_AUTH_KEY_BYTES], uint8_t step, uint32_t world_size, uint32_t dialler,
                       uint32_t acceptor, const uint8_t nonce_d[CC_HELLO_NONCE_BYTES],
                       const uint8_t nonce_a[CC_HELLO_NONCE_BYTES],
                       uint8_t out[CC_HELLO_MAC_BYTES]) {
  static const char domain[] = "cicada link 2";
  uint8_t head[13];
  const void *parts[4] = {domain, head, nonce_d, nonce_a};
  size_t lens[4] = {sizeof domain, sizeof head, CC_HELLO_NONCE_BYTES, CC_HELLO_NONCE_BYTES};
  head[0] = step;
  le32(head + 1, world_size);
  le32(head + 5, dialler);
  le32(head + 9, acceptor);
  cc_auth_mac(link_key, CC_AUTH_KEY_BYTES, parts, lens, 4, out);
}

bool cc_auth_equal(const uint8_t *a, const uint8_t *b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}
