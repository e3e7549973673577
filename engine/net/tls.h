/*
 * tls.h - mutual TLS for the links between players: each player has an
 * identity (a PEM file with its private key and certificate) and trusts a
 * list of certificates (the other players', or a CA's). A peer whose
 * certificate is not trusted, or that has none, is refused during the
 * handshake, before any frame of it is read.
 */
#ifndef CICADA_TLS_H
#define CICADA_TLS_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/* OpenSSL's read buffer for a link that reads ahead: about four records. */
#define CC_TLS_READ_BUFFER_BYTES ((size_t)64 << 10)

/* A context for both ends of every link. trusted is a comma-separated list
 * of PEM files, each holding one or more certificates. Returns NULL with a
 * message naming the file and OpenSSL's reason. */
struct ssl_ctx_st *cc_tls_context(const char *identity, const char *trusted, char *err,
                                  size_t errsz);
void cc_tls_context_free(struct ssl_ctx_st *ctx);

/* OpenSSL's reason for the latest failure on this thread ("certificate
 * verify failed"), or `fallback` if it recorded none; clears the queue. */
const char *cc_tls_reason(unsigned long code, const char *fallback, char *buf, size_t bufsz);

/* The rank the peer's (verified) certificate may play: N for a certificate
 * whose subject is "cicada player N" and that is the trusted certificate
 * pinned to rank N, if the trusted files pin one (see tls.c); -1 for a
 * certificate that names no rank or is not the one of the rank it names;
 * CC_TLS_OWN_IDENTITY for this player's own certificate (the local players
 * of cicada.run share one identity). */
#define CC_TLS_OWN_IDENTITY (-2)
int cc_tls_peer_rank(struct ssl_st *ssl);

/* Write a new private key and a self-signed certificate naming `rank`:
 * identity_path gets both (mode 0600), cert_path the certificate alone, to
 * hand to the other players. Returns 0, or -1 with a message. */
int cc_tls_write_credentials(int rank, const char *identity_path, const char *cert_path,
                             char *err, size_t errsz);

#endif
