/*
 * conn.h - one connection between two players: the socket's bufferevent,
 * the bytes read and not yet framed, and its lock. net.c makes
 * connections and runs their links; a transport (transport.h) reads and
 * writes them. Internal to engine/net/.
 *
 * A connection's lock is its bufferevent's (libevent runs the
 * bufferevent's callbacks with it held); functions named *_connlocked
 * expect it held and check it in debug builds.
 */
#ifndef CICADA_NET_CONN_H
#define CICADA_NET_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/payload.h"

struct cc_net;
struct cc_transport;
typedef struct cc_conn cc_conn;

typedef struct cc_conn cc_conn;

struct cc_conn {
  /* Constant from creation. */
  struct cc_net *net;
  const struct cc_transport *t;
  /* net.c's handler of the complete frames in `in`, which the transport
   * calls as it reads (connection's lock held). */
  void (*frames_connlocked)(struct cc_conn *c);
  /* net.c's handler of bytes just read into the transport's own buffer,
   * which come after what `in` holds: a linked peer's DATA frames are
   * framed from b itself, their bodies copied once into their payloads
   * (one whose body is not all in b becomes `partial`); only what must
   * wait for more bytes, or other frames, go to `in`, framed as by
   * frames_connlocked. Returns false if it could not take the bytes
   * (out of memory). Connection's lock held. */
  bool (*bytes_connlocked)(struct cc_conn *c, const uint8_t *b, size_t len);
  struct bufferevent *bev;
  bool outgoing;
  char addr[64];           /* the other end, for messages about an accepted one;
                            * written by the I/O thread before any event of it */
  double opened;           /* cc_now() at creation: the handshake deadline
                            * counts from here */
  /* Written before the link is up, by the I/O thread (the only reader of a
   * connection until then) with the connection's lock held; constant once
   * the link is up, which the net lock publishes to every other thread. */
  int peer;                /* world rank once the HELLO is in (dialled: from the
                            * start), else -1 */
  int claimed;             /* accepted: the rank its DIAL named, else -1 */
  uint8_t hello_step;      /* the last HELLO step this side has sent, 0: none */
  uint8_t nonce_d[16];     /* the dialler's nonce (CC_HELLO_NONCE_BYTES) */
  uint8_t nonce_a[16];     /* the acceptor's nonce */
  evutil_socket_t fd;      /* the socket, once known (bufferevent_getfd locks) */
  struct event *read_ev;   /* our own read watch, see conn_read() */
  bool direct;             /* read with our own reads (the transport's
                            * handshake, if any, is over) */
  /* The connection's lock. */
  bool linked;             /* this connection carries its peer's link */
  struct evbuffer *in;     /* bytes read, not yet framed */
  cc_payload *partial;     /* a DATA frame's payload, made when its header
                            * came, filled as its bytes arrive: the
                            * transport reads into it directly whenever
                            * `in` is empty (which it then is) */
  size_t partial_got;      /* bytes of it filled */
  uint64_t partial_context;
  int32_t partial_tag;
  char why[96];            /* the transport's words for why it closed */
  /* Any thread. */
  atomic_bool dead;        /* closed or abandoned: ignore its events */
  atomic_bool buffered;    /* the transport holds bytes it has read from the
                            * socket and not yet handed up (TLS read-ahead),
                            * which a poll of the socket would not show;
                            * written by the reading thread with the
                            * connection's lock held */
  _Atomic double last_recv; /* cc_now() of the last bytes read: any traffic,
                            * updated as each piece of a long read arrives */
  atomic_int busy;         /* threads other than the I/O thread holding or
                            * waiting for the connection's lock: while one
                            * is, the heartbeat sweep does not take it */
  atomic_bool heartbeat_due; /* the sweep skipped a busy connection: the
                            * thread reading it sends the heartbeat */
  /* The I/O thread (or the starting thread before the I/O thread runs). */
  cc_conn *next;           /* in the net's list of every connection made */
#ifndef NDEBUG
  atomic_uintptr_t lock_owner; /* debug: the thread holding the lock, or 0 */
  int lock_depth;          /* debug: how often it holds it (it is recursive) */
#endif
};

/* ==== Helpers for the transports and net.c ================================ */

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

#ifndef NDEBUG
/* A number for the calling thread, for the debug lock checks. (Not the
 * address of a thread-local: the module is loaded with dlopen, and
 * ThreadSanitizer's runtime, when preloaded, fails on such dynamic TLS in
 * forked players.) */
uintptr_t cc_self_id(void);
#endif

#endif
