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
 * A connection's lock is its bufferevent's (libevent runs the
 * bufferevent's callbacks with it held); functions named *_connlocked
 * expect it held and check it in debug builds.
 */
#ifndef CICADA_NET_TRANSPORT_H
#define CICADA_NET_TRANSPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/payload.h"
#include "core/status.h"
#include "net/net.h"

#define MAX_SINGLE_IO_BYTES ((size_t)4 << 20)
#define MIN_READ_BYTES 65536

typedef struct cc_transport cc_transport;
typedef struct cc_conn cc_conn;

struct cc_conn {
  /* Constant from creation. */
  cc_net *net;
  const cc_transport *t;
  struct bufferevent *bev;
  bool outgoing;
  char addr[64];           /* the other end, for messages about an accepted one;
                            * written by the I/O thread before any event of it */
  /* Written before the link is up, by the I/O thread (the only reader of a
   * connection until then) with the connection's lock held; constant once
   * the link is up, which the net lock publishes to every other thread. */
  int peer;                /* world rank once the HELLO is in (dialled: from the
                            * start), else -1 */
  evutil_socket_t fd;      /* the socket, once known (bufferevent_getfd locks) */
  struct event *read_ev;   /* our own read watch, see conn_read() */
  bool direct;             /* read with our own reads (the transport's
                            * handshake, if any, is over) */
  /* The connection's lock. */
  bool linked;             /* this connection carries its peer's link */
  struct evbuffer *in;     /* bytes read, not yet framed */
  char why[96];            /* the transport's words for why it closed */
  /* Any thread. */
  atomic_bool dead;        /* closed or abandoned: ignore its events */
  _Atomic double last_recv; /* cc_now() of the last bytes read */
  /* The I/O thread (or the starting thread before the I/O thread runs). */
  cc_conn *next;           /* in the net's list of every connection made */
#ifndef NDEBUG
  atomic_uintptr_t lock_owner; /* debug: the thread holding the lock, or 0 */
  int lock_depth;          /* debug: how often it holds it (it is recursive) */
#endif
};

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
  /* Read what the connection holds into c->in, handing complete frames to
   * cc_conn_frames_connlocked as it goes; *got says whether anything came.
   * Returns why the connection closed, or NULL. */
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
  /* The rank the peer's credentials name, or -1 if they name none. May be
   * NULL. */
  int (*peer_rank_connlocked)(cc_conn *c);
};

extern const cc_transport cc_transport_plain;
extern const cc_transport cc_transport_tls;

/* ==== What net.c offers the transports ==================================== */

/* Handle every complete frame in c->in. */
void cc_conn_frames_connlocked(cc_conn *c);
/* Why a connection ended, in the words users read: a killed process's
 * kernel closes with a FIN, or a reset when it had unread data. */
const char *cc_conn_closed_reason(short what, int e);
/* evbuffer_add_reference's cleanup for a payload (arg). */
void cc_conn_payload_cleanup(const void *data, size_t len, void *arg);

#ifdef NDEBUG
#define cc_conn_lock(c) bufferevent_lock((c)->bev)
#define cc_conn_unlock(c) bufferevent_unlock((c)->bev)
#define cc_conn_enter(c) ((void)0)
#define cc_conn_leave(c) ((void)0)
#define CC_CONN_ASSERT_LOCKED(c) ((void)0)
#else
void cc_conn_lock(cc_conn *c);
void cc_conn_unlock(cc_conn *c);
/* A bufferevent callback starts and ends: libevent holds the lock. */
void cc_conn_enter(cc_conn *c);
void cc_conn_leave(cc_conn *c);
void cc_conn_assert_locked(const cc_conn *c, const char *func);
#define CC_CONN_ASSERT_LOCKED(c) cc_conn_assert_locked((c), __func__)
#endif

#endif
