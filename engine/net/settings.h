/*
 * settings.h - how one player joins a world: its rank, its peers'
 * addresses, the timeouts and limits of its links, TLS, and where its log
 * messages go. The network layer reads these once, when the engine starts;
 * comm.h hands them on from the engine's users.
 */
#ifndef CICADA_NET_SETTINGS_H
#define CICADA_NET_SETTINGS_H

#include "core/log.h" /* the CC_LOG_* levels of cc_settings.log */
#include <stdint.h>

typedef struct cc_settings {
  int rank;
  int world_size;
  uint64_t token;                 /* every player of a world has the same */
  uint8_t link_key[32];           /* the links' 256-bit key, the same at every
                                   * player (the rendezvous derives it from
                                   * the token and the world id); all zero:
                                   * derived from token (cc_auth_link_key) */
  double startup_timeout_s;
  double heartbeat_interval_s;
  double heartbeat_timeout_s;
  uint32_t max_frame_bytes;
  int listen_fd;                  /* a bound, listening socket, or -1 */
  const char *const *peer_hosts;  /* world_size host names, for connecting */
  const uint16_t *peer_ports;     /* world_size ports */
  const char *tls_identity;       /* PEM file with this player's key and
                                   * certificate, or NULL for plaintext */
  const char *tls_trusted;        /* comma-separated PEM certificate files */
  /* May be NULL. Called on the engine's I/O thread, one message at a time
   * in the order they were logged, and never with an engine lock held: it
   * may call back into the engine (cc_engine_rank, a communicator's
   * accessors), but must not block, since the I/O thread keeps the links
   * alive. The messages still queued when the engine stops are passed on
   * by the thread that stops it. */
  void (*log)(void *ctx, int level, const char *message);
  void *log_ctx;
} cc_settings;

void cc_settings_default(cc_settings *s);

#endif
