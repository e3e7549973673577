/*
 * auth.h - proving knowledge of a world's secret without sending it: fresh
 * nonces and HMAC-SHA256 for the link handshake (the HELLOs of
 * core/control.h) and for the rendezvous (boot/rendezvous.c).
 *
 *   link key    the engine token of cc_settings (every player of a world
 *               has the same, and it never travels)
 *   HELLO mac   HMAC(link key, "cicada link 1" | step | world | dialler |
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

/* The mac a HELLO of `step` carries on the link between dialler and
 * acceptor of a world of world_size players. */
void cc_auth_hello_mac(uint64_t link_key, uint8_t step, uint32_t world_size, uint32_t dialler,
                       uint32_t acceptor, const uint8_t nonce_d[CC_HELLO_NONCE_BYTES],
                       const uint8_t nonce_a[CC_HELLO_NONCE_BYTES],
                       uint8_t out[CC_HELLO_MAC_BYTES]);

/* Two macs are equal, in time that does not depend on where they differ. */
bool cc_auth_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
