/*
 * auth.h - proving knowledge of a world's secret without sending it: fresh
 * nonces and HMAC-SHA256 for the link handshake (the HELLOs of
 * core/control.h) and for the rendezvous (boot/rendezvous.c).
 *
 *   link key    cc_settings.link_key, 32 bytes (every player of a world
 *               has the same, and it never travels): from the rendezvous,
 *               HMAC(K, "link <world id>") with K the key derived from the
 *               token; for a caller that sets only the numeric token,
 *               HKDF-SHA256 of the token (cc_auth_link_key)
 *   HELLO mac   HMAC(link key, "cicada link 2" | step | world | dialler |
 *               acceptor | dialler's nonce | acceptor's nonce): the step
 *               and both ranks are inside, so a message of one step, or of
 *               one pair, is worth nothing as another
 */
#ifndef CICADA_NET_AUTH_H
#define CICADA_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/control.h"

#define CC_AUTH_KEY_BYTES 32
#define CC_AUTH_MAC_BYTES 32

/* n bytes from the system's CSPRNG: 0, or -1 if it has none to give. */
int cc_auth_random(void *out, size_t n);

/* HMAC-SHA256 of the parts (pointers and lengths, count pairs) under key. */
void cc_auth_mac(const uint8_t *key, size_t keylen, const void *const *parts,
                 const size_t *lens, int count, uint8_t out[CC_AUTH_MAC_BYTES]);

/* The link key of a world whose users set only the numeric token: HKDF
 * (SHA-256) with the token as input key material. As strong as the token. */
void cc_auth_link_key(uint64_t token, uint8_t out[CC_AUTH_KEY_BYTES]);

/* The mac a HELLO of `step` carries on the link between dialler and
 * acceptor of a world of world_size players. */
void cc_auth_hello_mac(const uint8_t link_key[CC_AUTH_KEY_BYTES], uint8_t step, uint32_t world_size, uint32_t dialler,
                       uint32_t acceptor, const uint8_t nonce_d[CC_HELLO_NONCE_BYTES],
                       const uint8_t nonce_a[CC_HELLO_NONCE_BYTES],
                       uint8_t out[CC_HELLO_MAC_BYTES]);

/* Two macs are equal, in time that does not depend on where they differ. */
bool cc_auth_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
