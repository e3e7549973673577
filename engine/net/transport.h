/*
 * transport.h - one connection between two players, and the small
 * interface every transport (transport_plain.c, transport_tls.c)
 * implements: how a connection's bufferevent is made, how its bytes are
 * read and written from whichever thread wants them, and what its
 * failures mean. net.c picks one transport when the player starts and
 * runs every link through it; anything that implements these few
 * functions gets the handshake, heartbeats and failure detection of net.c
 * for free. Internal to engine/net/.
 *
 * A connection (conn.h) is what a transport works on; the transports call
 * nothing of net.c but through the connection's frames_connlocked.
 */
#ifndef CICADA_NET_TRANSPORT_H
#define CICADA_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/payload.h"
#include "core/status.h"
#include "net/conn.h"
#include "net/settings.h"

#define MAX_SINGLE_IO_BYTES ((size_t)4 << 20)
#define MIN_READ_BYTES 65536

typedef struct cc_transport cc_transport;

struct cc_transport {
  const char *name;        /* "TLS", for messages */
  /* The bufferevent reads the connection until BEV_EVENT_CONNECTED (the
   * transport's handshake); net.c reads it directly from then on. Without a
   * handshake, net.c reads it directly from the start. */
  bool handshake;
  /* What a world that cannot form because a peer was refused fails with. */
  cc_status refusal;
  /* Per-player state from the settings (*state may stay NULL); 0, or -1
   * with a message. */
  int (*open)(const cc_settings *s, void **state, char *err, size_t errsz);
  void (*close)(void *state);
  /* A bufferevent for socket fd, or -1 for one that will connect. */
  struct bufferevent *(*wrap)(void *state, struct event_base *base, evutil_socket_t fd,
                              bool outgoing);
  /* Read what the connection holds, handing its bytes up as it goes: read
   * into the transport's own buffer, to c->bytes_connlocked; read into
   * c->in, to c->frames_connlocked; *got says whether anything came.
   * While c->partial is set and c->in is empty, the next bytes are the
   * rest of that payload: read them into c->partial->data at
   * c->partial_got (advancing it), and hand frames up once it is full.
   * Sets c->buffered if it returns holding bytes of the socket's that it
   * has not handed up. Returns why the connection closed, or NULL. */
  const char *(*read_connlocked)(cc_conn *c, bool *got);
  /* Write one frame (header and payload) from the calling thread as far as
   * the socket takes it, queueing the rest on the bufferevent's output for
   * the I/O thread. */
  void (*write_connlocked)(cc_conn *c, const uint8_t *hdr, cc_payload *p);
  /* A connection that failed before its link came up: true, with why, if
   * the transport refused the peer (the world cannot form with it). May be
   * NULL. */
  bool (*refused_connlocked)(cc_conn *c, char *why, size_t whysz);
  /* A link's connection ended (BEV_EVENT_EOF/ERROR in *what): the
   * transport's reason, or NULL for the plain words; may add
   * BEV_EVENT_EOF to *what for an end that is only a closed connection.
   * May be NULL. */
  const char *(*closed_connlocked)(cc_conn *c, short *what);
  /* The rank the peer's credentials may play, -1 if they may play none,
   * or CC_TRANSPORT_ANY_RANK (they are this player's own). May be NULL. */
  int (*peer_rank_connlocked)(cc_conn *c);
};

#define CC_TRANSPORT_ANY_RANK (-2)

extern const cc_transport cc_transport_plain;
extern const cc_transport cc_transport_tls;

#endif
