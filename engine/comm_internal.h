/*
 * comm_internal.h - the structures that net.c (links, I/O thread) and comm.c
 * (communicators, matching, collectives) share. Not part of the public API.
 *
 * Locking: eng->lock guards link states, the communicator registry and every
 * message queue. It is never held while calling into a bufferevent: libevent
 * runs our callbacks with the bufferevent's lock held and they take eng->lock,
 * so the order is always bufferevent lock, then eng->lock.
 */
#ifndef CICADA_COMM_INTERNAL_H
#define CICADA_COMM_INTERNAL_H

#include <poll.h>
#include <pthread.h>

#include "comm.h"

struct bufferevent;
struct event_base;
struct event;
struct evconnlistener;

/* Frame types on a link. */
enum {
  CC_FRAME_HELLO,     /* handshake: magic, world size, rank, token */
  CC_FRAME_DATA,      /* a message for a communicator */
  CC_FRAME_HEARTBEAT, /* nothing but proof of life */
  CC_FRAME_BYE,       /* the sender is leaving cleanly */
  CC_FRAME_REVOKE,    /* a communicator was revoked */
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
  bool freed;
  cc_queue *queues;        /* one per source comm rank */
  cc_traffic *peer_traffic;
  cc_tag_traffic *tag_traffic;
  size_t ntags;
  uint64_t child_seq;      /* how many communicators derived from this one */
};

struct cc_engine {
  cc_settings cfg;
  struct event_base *base;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  cc_link *links;          /* one per world rank (own entry unused) */
  int links_up;
  cc_status fatal;         /* a startup failure seen by the I/O thread */
  char fatal_message[256];
  struct evconnlistener *listener;
  struct event *heartbeat_ev;
  struct event *retry_ev;
  struct event *stop_ev;   /* activated to end the I/O thread's loop */
  int wake_fd;             /* eventfd: wakes a script thread in cc_net_wait */
  atomic_bool script_polling; /* a script thread is in cc_net_wait */
  struct pollfd *pollfds;  /* cc_net_wait's scratch, world_size + 1 */
  cc_conn **pollconns;
  cc_conn *conns;          /* every connection made, freed at stop */
  cc_comm *comms;          /* registry */
  cc_orphan *orphans;
  size_t orphan_bytes;
  char **hosts;
  uint16_t *ports;
};

double cc_now(void);
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

#endif
