/*
 * net.h - the links of one player to every other player: connections,
 * the HELLO handshake, the I/O thread, heartbeats and failure detection,
 * over a plaintext or TLS transport (transport.h).
 *
 * The network layer knows nothing of communicators. It reports to the
 * layer above through the callbacks of cc_net_events, set when it is
 * opened, and that layer calls down through the functions below.
 *
 * Threads and locks. A cc_net has one I/O thread, which accepts and makes
 * connections, runs heartbeats and reads the links nobody else is reading;
 * a thread that waits for a message (cc_net_wait_locked) reads the links
 * itself meanwhile. One mutex, the net lock (cc_net_lock), guards the link
 * states and whatever the layer above keeps with them (its message
 * queues); a condition variable tied to it wakes waiters whenever a
 * message arrives or a link changes. Functions named *_locked expect the
 * net lock held and check it in debug builds (CC_NET_ASSERT_LOCKED).
 *
 * Lock order, outermost first: the layer above's own locks (comm's
 * send_lock), then a connection's lock (its bufferevent's), then the net
 * lock, then the log queue's lock. Nothing takes a connection's lock while
 * holding the net lock (but for the one it already holds: connection locks
 * are recursive), and the user's log callback runs with none of them held.
 */
#ifndef CICADA_NET_NET_H
#define CICADA_NET_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/payload.h"
#include "core/status.h"
#include "net/settings.h"

/* Frame types on a link. */
enum {
  CC_FRAME_HELLO,     /* handshake: DIAL, ANSWER, CONFIRM (core/control.h) */
  CC_FRAME_DATA,      /* a message for the layer above */
  CC_FRAME_HEARTBEAT, /* nothing but proof of life */
  CC_FRAME_BYE,       /* the sender is leaving cleanly */
  CC_FRAME_REVOKE,    /* a communicator was revoked */
  CC_FRAME_SUSPECT,   /* the sender has declared the receiver failed */
  CC_FRAME_FAILED,    /* the sender's script raised and it is going: the
                       * payload is the first line of its error */
  CC_FRAME_DOWN,      /* the sender declared a third player failed for
                       * silence: its world rank (4 bytes, little-endian),
                       * then the reason */
  CC_FRAME_TYPE_COUNT
};

typedef struct cc_net cc_net;

/* How the network layer reports to the layer above. Every callback may be
 * NULL. */
typedef struct cc_net_events {
  void *ctx;
  /* A DATA frame from world rank src; the callback owns p. Called with the
   * net lock held, by the thread reading that link (the I/O thread or one
   * in cc_net_wait_locked). */
  void (*data_locked)(void *ctx, uint64_t context, int src, int32_t tag, cc_payload *p);
  /* A REVOKE frame from world rank src for context, started by world rank
   * origin. Net lock held, as for data. */
  void (*revoke_locked)(void *ctx, uint64_t context, int src, int origin);
  /* The work asked for with cc_net_defer, on the I/O thread with no lock
   * held: for whatever must not run inside a callback above (sending, for
   * one, takes a connection's lock). */
  void (*deferred)(void *ctx);
} cc_net_events;

/* ==== Lifecycle ========================================================== */

/* Check the settings and make everything but the I/O thread: nothing is
 * delivered before cc_net_start. The listening socket belongs to the
 * cc_net from this call on, whatever the outcome. */
cc_status cc_net_open(const cc_settings *s, const cc_net_events *ev, cc_net **out,
                      cc_error *err);
/* Start the I/O thread and bring up a link to every other player. Returns
 * once all links are up, or fails with CC_ESTARTUP_TIMEOUT (or the reason
 * a peer was refused); either way, cc_net_free follows. */
cc_status cc_net_start(cc_net *n, cc_error *err);
/* Say goodbye to every peer and wait briefly for each to close its side,
 * so that closing ours cannot throw away data it has not read. */
void cc_net_goodbye(cc_net *n);
/* Stop the I/O thread, pass on the log messages still queued, close every
 * connection and free n. */
void cc_net_free(cc_net *n);

int cc_net_rank(const cc_net *n);
int cc_net_world_size(const cc_net *n);

/* ==== The net lock ======================================================== */

void cc_net_lock(cc_net *n);
void cc_net_unlock(cc_net *n);

#ifdef NDEBUG
#define CC_NET_ASSERT_LOCKED(n) ((void)0)
#else
/* Aborts, naming func, unless the calling thread holds n's lock. */
void cc_net_assert_locked(const cc_net *n, const char *func);
#define CC_NET_ASSERT_LOCKED(n) cc_net_assert_locked((n), __func__)
#endif

/* Wake every thread waiting in cc_net_wait_locked. */
void cc_net_wake_locked(cc_net *n);
/* Wait for a wake-up or the deadline (cc_now() seconds), reading the links
 * from the calling thread meanwhile, so that a message reaches its waiter
 * without a thread switch. Releases the net lock while waiting. One thread
 * at a time. A deadline in the past still reads what the links hold. */
void cc_net_wait_locked(cc_net *n, double deadline);
/* cc_net_wait_locked for a caller that has just read the clock (now, from
 * cc_now()): the same wait, one clock read fewer. */
void _cc_net_wait_from_locked(cc_net *n, double deadline, double now);

/* ==== Links =============================================================== */

/* Why the link to world rank peer cannot carry messages (it failed, or the
 * peer has left), or NULL if it is up. The text stays valid while the net
 * lock is held. */
const char *cc_net_peer_down_locked(const cc_net *n, int peer);
/* The link to peer failed (closed, broken or silent; not a clean goodbye). */
bool cc_net_peer_failed_locked(const cc_net *n, int peer);
/* The link failed because the peer went silent past the heartbeat
 * timeout, not because its connection closed. */
bool cc_net_peer_silent_locked(const cc_net *n, int peer);
/* The peer has declared this player failed (it sent SUSPECT). */
bool cc_net_peer_suspects_me_locked(const cc_net *n, int peer);

/* Write a frame to world rank peer from the calling thread; whatever the
 * socket does not take now, the I/O thread finishes. Returns false if the
 * link is not up. Takes the net lock and the connection's lock: not to be
 * called with the net lock held. */
bool cc_net_send(cc_net *n, int peer, int type, uint64_t context, int32_t tag, cc_payload *p);
/* cc_net_send in two steps, for a call that sends to several peers: the
 * link to world rank peer if it is up, else NULL, looked up with the net
 * lock held (one hold for all of a call's peers); then a frame written on
 * it, without the net lock, as cc_net_send writes. A link stays allocated
 * as long as the net, so a link looked up and gone down meanwhile takes
 * the frame as it would in cc_net_send after its look-up. */
typedef struct cc_conn cc_net_link;
cc_net_link *_cc_net_link_up_locked(cc_net *n, int peer);
void _cc_net_send_on(cc_net *n, cc_net_link *l, int type, uint64_t context, int32_t tag,
                     cc_payload *p);
/* This player's script raised and it is about to go: tell every peer why
 * (the first line of why, at most CC_FAILURE_NOTICE_BYTES), so that each
 * marks it failed with that reason rather than seeing it finish or vanish.
 * Not with the net lock held. */
#define CC_FAILURE_NOTICE_BYTES 120
void cc_net_announce_failure(cc_net *n, const char *why);
/* Send REVOKE frames for context, started by world rank origin, to the n
 * world ranks in to. */
void cc_net_send_revoke(cc_net *n, uint64_t context, int origin, const int *to, int count);

/* Have the I/O thread call events.deferred soon. Any thread, any lock. */
void cc_net_defer(cc_net *n);

/* Queue a message for the settings' log callback, which the I/O thread
 * calls after the current locks are released. Any thread, any lock. */
void cc_net_log(cc_net *n, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
