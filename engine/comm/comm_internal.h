/*
 * comm_internal.h - the structures that engine.c (the engine's lifecycle
 * and what the network layer reports), comm.c (communicators, matching,
 * collectives), collective.c (the relayed collectives of large
 * communicators) and agree.c (agreement, shrink, split) share. Not part of
 * the public API.
 *
 * Locking. The net lock (net.h: cc_net_lock) guards link states and, here,
 * the communicator registry, the orphans and every message queue: the
 * network layer delivers messages with it held. eng->send_lock is taken
 * before any other lock and never by the network layer: a call's sends
 * hold it, and so does the passing on of a revoke notice. The order is
 * send_lock, then a connection's lock (inside cc_net_send and
 * _cc_net_send_on), then the net lock. Every field below says which lock
 * guards it or which thread owns it; "the user's thread" is the one
 * thread that calls the engine at a time (comm.h). Functions named
 * *_locked expect the net lock held.
 */
#ifndef CICADA_COMM_INTERNAL_H
#define CICADA_COMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "comm/comm.h"
#include "core/clock.h"
#include "net/net.h"

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

/* A revoke notice to pass on, by the I/O thread outside any connection's
 * lock (engine.c: flush_forwards). */
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
  /* Constant once registered: readers under the net lock find them set. */
  cc_engine *eng;
  uint64_t context;
  char *name;
  int rank;
  int size;
  int *members;            /* world rank of each comm rank */
  int *of_world;           /* comm rank of each world rank, or -1 */
  /* The net lock. */
  struct cc_comm *next;    /* in the engine's registry */
  bool revoked;
  int revoked_by;          /* comm rank, or -1; written once, with revoked */
  bool *revoke_seen;       /* per comm rank: its REVOKE frame has arrived, so
                            * it will send nothing more here (see comm.c) */
  cc_queue *queues;        /* one per source comm rank */
  /* The user's thread. */
  double timeout_s;
  bool freed;
  cc_traffic *peer_traffic;
  cc_tag_traffic *tag_traffic;
  size_t ntags;
  uint8_t lib_tag_index[-CC_TAG_LIBRARY_MIN]; /* 1 + the index in tag_traffic
                            * of library tag -1 - i, or 0: found without a scan */
  uint64_t child_seq;      /* how many communicators derived from this one */
  uint32_t agree_seq;      /* how many agreements this one has run */
  cc_payload *empty;       /* an exchange's empty message, made at the first
                            * that sends one and kept (no transport keeps a
                            * reference to an empty payload), or NULL */
};

struct cc_engine {
  /* Constant from cc_engine_start on. */
  cc_net *net;             /* the links; owns the net lock */
  int rank;
  int world_size;
  cc_settings settings;    /* what it started with, less the peer addresses,
                            * the listener and the TLS files: what a grown
                            * world (comm:grow) starts with */
  bool tls;                /* its links are TLS */
  pthread_mutex_t send_lock; /* held by the user's thread across one call's
                              * sends, and by the I/O thread to pass a
                              * revoke on: a revoke never lands in the middle */
  /* Any thread. */
  atomic_bool holding_sends; /* a relayed collective holds send_lock across
                              * its waits: the I/O thread does not wait for it */
  atomic_bool forwards_owed; /* revoke notices wait for send_lock */
  /* The user's thread. */
  int agree_kill_after;    /* fault injection: agreement messages to send
                            * before dying (SIGKILL), or -1 */
  cc_traffic traffic;      /* the messages of every communicator, as counted
                            * per communicator by cc_comm_count */
  /* The net lock. The registry is changed only by the user's thread, which
   * may therefore read it without the lock. */
  cc_comm *comms;          /* registry */
  cc_orphan *orphans;
  cc_orphan **orphans_tail; /* where the next orphan goes, if orphans */
  size_t orphan_bytes;     /* payloads plus bookkeeping, bounded */
  uint64_t *retired;       /* contexts of freed communicators: their late */
  size_t nretired, retired_cap; /* messages are dropped, not held as orphans */
  cc_forward *forwards;    /* revoke notices to pass on */
  cc_msg *spare_msgs;      /* message records received and freed, kept for
                            * the next deliveries (cc_comm_msg_new_locked) */
  int nspare_msgs;         /* how many, at most CC_SPARE_MSGS */
};

#define CC_SPARE_MSGS 16

/* comm.c, for engine.c ----------------------------------------------------- */

/* A message record: a spare one if any, else allocated (NULL if out of
 * memory). */
cc_msg *cc_comm_msg_new_locked(cc_engine *eng);
/* Done with the record m (its payload taken or released): kept as a spare,
 * or freed. */
void cc_comm_msg_free_locked(cc_engine *eng, cc_msg *m);

/* A message for context from world rank world_src; takes p. */
void cc_comm_deliver_locked(cc_engine *eng, uint64_t context, int world_src, int32_t tag,
                            cc_payload *p);
/* A REVOKE frame from world_src, started by world rank origin. Marks the
 * communicator revoked and, the first time, fills fwd (world_size entries)
 * with the world ranks to pass the notice on to and returns how many, so
 * that a revoke reaches every member even if its sender dies halfway. */
int cc_comm_revoke_notice_locked(cc_engine *eng, uint64_t context, int world_src, int origin,
                                 int *fwd);

/* engine.c, for collective.c ---------------------------------------------- */

/* Take send_lock for a whole relayed collective, waits included; the I/O
 * thread passes revoke notices on once it is released. The user's thread. */
void cc_engine_hold_sends(cc_engine *eng);
void cc_engine_release_sends(cc_engine *eng);

/* comm.c, for collective.c ------------------------------------------------ */

/* Take the first message with `tag` from comm rank src, or NULL. */
cc_msg *cc_comm_take_locked(cc_comm *c, int src, int32_t tag);
/* The `revoked` error of c, as every call raises it. */
cc_status cc_comm_err_revoked(const cc_comm *c, cc_error *err, int peer, int32_t tag);

/* collective.c, for comm.c ------------------------------------------------ */

/* Whether the communicator is large enough for the relayed collectives
 * (ceil(log2 n) rounds instead of n - 1 direct messages). Every member
 * decides the same, from the size alone. */
bool cc_collective_relayed(const cc_comm *c);
/* cc_comm_allgather, cc_comm_barrier and cc_comm_broadcast (comm.h), the
 * arguments already checked: Bruck's allgather, the dissemination barrier
 * and a binomial-tree broadcast. Same results, same errors. */
cc_status cc_collective_allgather(cc_comm *c, cc_payload *mine, cc_payload **all, cc_error *err);
cc_status cc_collective_barrier(cc_comm *c, cc_error *err);
cc_status cc_collective_broadcast(cc_comm *c, int src, cc_payload *value, cc_payload **out,
                                  cc_error *err);

/* comm.c, for agree.c ------------------------------------------------------ */

/* Why comm rank `peer` cannot be used (failed or departed), or NULL if it
 * can. */
const char *cc_comm_peer_down_locked(const cc_comm *c, int peer);
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
