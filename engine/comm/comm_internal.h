/*
 * comm_internal.h - the structures that net.c (links, I/O thread), comm.c
 * (communicators, matching, collectives) and agree.c (agreement, shrink,
 * split) share. Not part of the public API.
 *
 * Locking: eng->lock guards link states, the communicator registry and every
 * message queue. It is never held while calling into a bufferevent: libevent
 * runs our callbacks with the bufferevent's lock held and they take eng->lock,
 * so the order is always bufferevent lock, then eng->lock. eng->send_lock is
 * taken before either, and never from inside a bufferevent callback: the
 * order is send_lock, then bufferevent lock, then eng->lock.
 */
#ifndef CICADA_COMM_INTERNAL_H
#define CICADA_COMM_INTERNAL_H

#include <poll.h>
#include <pthread.h>

#include "comm/comm.h"
#include "core/clock.h"

struct bufferevent;
struct event_base;
struct event;
struct evconnlistener;
struct ssl_ctx_st;

/* Frame types on a link. */
enum {
  CC_FRAME_HELLO,     /* handshake: magic, world size, rank, token */
  CC_FRAME_DATA,      /* a message for a communicator */
  CC_FRAME_HEARTBEAT, /* nothing but proof of life */
  CC_FRAME_BYE,       /* the sender is leaving cleanly */
  CC_FRAME_REVOKE,    /* a communicator was revoked */
  CC_FRAME_SUSPECT,   /* the sender has declared the receiver failed */
  CC_FRAME_TYPE_COUNT
};

typedef enum cc_link_state {
  CC_LINK_DOWN,       /* not connected yet */
  CC_LINK_UP,
  CC_LINK_DEPARTED,   /* the peer said goodbye */
  CC_LINK_FAILED      /* closed, broken or silent */
} cc_link_state;

typedef struct cc_conn cc_conn;

typedef struct cc_link {
  cc_link_state state;
  cc_conn *conn;           /* the connection carrying this link, once up */
  char reason[96];         /* why the link is not up any more */
  bool peer_eof;           /* the peer has shut down its side */
  bool suspected_me;       /* the peer declared this player failed */
  bool silent;             /* failed by silence, not by a closed connection */
} cc_link;

typedef struct cc_msg {
  struct cc_msg *next;
  int32_t tag;
  cc_payload *payload;
} cc_msg;

typedef struct cc_queue {
  cc_msg *head;
  cc_msg *tail;
} cc_queue;

typedef struct cc_tag_traffic {
  int32_t tag;
  cc_traffic t;
} cc_tag_traffic;

/* A revoke notice the I/O thread passes on, outside any bufferevent lock. */
typedef struct cc_forward {
  struct cc_forward *next;
  uint64_t context;
  int origin;              /* world rank of the player who revoked */
  int n;
  int *to;                 /* world ranks */
} cc_forward;

/* Messages that arrived for a context not created here yet. */
typedef struct cc_orphan {
  struct cc_orphan *next;
  uint64_t context;
  int world_src;
  cc_msg *msg;
} cc_orphan;

struct cc_comm {
  cc_engine *eng;
  struct cc_comm *next;    /* in the engine's registry */
  uint64_t context;
  char *name;
  int rank;
  int size;
  int *members;            /* world rank of each comm rank */
  int *of_world;           /* comm rank of each world rank, or -1 */
  double timeout_s;
  bool revoked;
  int revoked_by;          /* comm rank, or -1 */
  bool *revoke_seen;       /* per comm rank: its REVOKE frame has arrived, so
                            * it will send nothing more here (see comm.c) */
  bool freed;
  cc_queue *queues;        /* one per source comm rank */
  cc_traffic *peer_traffic;
  cc_tag_traffic *tag_traffic;
  size_t ntags;
  uint64_t child_seq;      /* how many communicators derived from this one */
  uint32_t agree_seq;      /* how many agreements this one has run */
};

struct cc_engine {
  cc_settings cfg;
  struct event_base *base;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_mutex_t send_lock; /* held by the script thread across one call's
                              * sends, and by the I/O thread to forward a
                              * revoke: a revoke never lands in the middle */
  int agree_kill_after;    /* fault injection: agreement messages to send
                            * before dying (SIGKILL), or -1 */
  struct event *forward_ev;
  cc_forward *forwards;    /* revokes to pass on, under eng->lock */
  cc_link *links;          /* one per world rank (own entry unused) */
  int links_up;
  cc_status fatal;         /* a startup failure seen by the I/O thread */
  char fatal_message[256];
  struct evconnlistener *listener;
  struct event *heartbeat_ev;
  double last_heartbeat;   /* when heartbeat_cb last ran */
  struct event *retry_ev;
  struct event *stop_ev;   /* activated to end the I/O thread's loop */
  int wake_fd;             /* eventfd: wakes a script thread in cc_net_wait */
  atomic_bool script_polling; /* a script thread is in cc_net_wait */
  struct pollfd *pollfds;  /* cc_net_wait's scratch, world_size + 1 */
  cc_conn **pollconns;
  cc_conn *conns;          /* every connection made, freed at stop */
  cc_comm *comms;          /* registry */
  cc_orphan *orphans;
  cc_orphan **orphans_tail; /* where the next orphan goes, if orphans */
  size_t orphan_bytes;     /* payloads plus bookkeeping, bounded */
  uint64_t *retired;       /* contexts of freed communicators: their late */
  size_t nretired, retired_cap; /* messages are dropped, not held as orphans */
  char **hosts;
  uint16_t *ports;
  struct ssl_ctx_st *tls;  /* every link is mutual TLS, or NULL */
};

void cc_wait_until(cc_engine *eng, double deadline);  /* eng->lock held */
void cc_wake(cc_engine *eng);                          /* eng->lock held */
/* Wait for a message, a failure or the deadline, reading the links from
 * the calling thread meanwhile. eng->lock held; released while waiting. */
void cc_net_wait(cc_engine *eng, double deadline);

/* net.c: write a frame to a peer. Returns false if the link is not up. */
bool cc_net_send(cc_engine *eng, int world_peer, int type, uint64_t context,
                 int32_t tag, cc_payload *p);
void cc_net_log(cc_engine *eng, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* comm.c: deliver a message from the I/O thread; eng->lock held. */
void cc_comm_deliver(cc_engine *eng, uint64_t context, int world_src, int32_t tag,
                     cc_payload *p);

/* net.c: send REVOKE frames (started by world rank origin) for context to
 * n world ranks. */
void cc_net_send_revoke(cc_engine *eng, uint64_t context, int origin, const int *to, int n);

/* comm.c: a REVOKE frame from world_src, started by world rank origin;
 * eng->lock held. Marks the
 * communicator revoked and, the first time, fills fwd (world_size entries)
 * with the world ranks to pass the notice on to and returns how many, so
 * that a revoke reaches every member even if its sender dies halfway. */
int cc_comm_revoke_notice(cc_engine *eng, uint64_t context, int world_src, int origin,
                          int *fwd);

/* comm.c, for agree.c ------------------------------------------------------ */

/* Why comm rank `peer` cannot be used (failed or departed), or NULL if it
 * can. eng->lock held. */
const char *cc_comm_peer_down(const cc_comm *c, int peer);
void cc_comm_count(cc_comm *c, int peer, int32_t tag, size_t bytes, bool sent);
/* A context id every member derives identically: from the parent's id, how
 * many communicators the parent has derived so far, the name and members. */
uint64_t cc_context_derive(uint64_t parent, uint64_t seq, const char *name,
                           const int *members, int n);
/* Register a communicator over `members` (world ranks, in rank order). */
cc_status cc_comm_create(cc_engine *eng, uint64_t context, const char *name,
                         const int *members, int n, double timeout_s, cc_comm **out,
                         cc_error *err);

#endif
