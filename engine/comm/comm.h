/*
 * comm.h - the engine of one player: its links to every other player, its
 * I/O thread, and the communicators multiplexed over those links.
 *
 * A cc_engine owns the player's network layer (net/net.h: its links and
 * I/O thread), which accepts and makes connections, reads frames, answers
 * heartbeats and notices failures, and reports what arrives to the engine
 * through callbacks; the engine hands messages to the communicators, whose
 * blocking calls run on the caller's thread and wait, reading the links
 * themselves, until a deadline.
 *
 * A cc_comm is a context id plus an ordered member list. Messages are byte
 * payloads matched by (source, tag) in FIFO order. Tags >= 0 are the user's;
 * negative tags belong to the library (CC_TAG_*).
 *
 * Thread safety: one engine may be used by one calling thread at a time; the
 * I/O thread is internal. The log callback of the settings runs on the I/O
 * thread with no engine lock held, so it may call back into the engine.
 * Everything here returns a cc_status and fills a cc_error on failure.
 */
#ifndef CICADA_COMM_H
#define CICADA_COMM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/payload.h"
#include "core/status.h"
#include "net/settings.h"

/* ==== Tags ============================================================== */

enum {
  CC_TAG_ALLGATHER = -1,
  CC_TAG_BARRIER = -2,
  CC_TAG_BROADCAST = -3,
  CC_TAG_GATHER = -4,
  CC_TAG_GATHERV = -5,
  CC_TAG_SCATTER = -6,
  CC_TAG_SCATTERV = -7,
  CC_TAG_LOGSYNC = -8,
  CC_TAG_RESHARE = -9,
  CC_TAG_SHRINK = -10,
  CC_TAG_AGREE = -11,
  CC_TAG_SPLIT = -12,
  CC_TAG_EXCHANGE = -13,
  CC_TAG_LIBRARY_MIN = -13
};

/* "ALLGATHER" for library tags, the decimal number for user tags. */
const char *cc_tag_name(int32_t tag, char *buf, size_t bufsz);

/* ==== Engine ============================================================ */

/* cc_settings, cc_settings_default and the CC_LOG_* levels: net/settings.h.
 * The log callback is called on the engine's I/O thread, never with an
 * engine lock held. */

typedef struct cc_engine cc_engine;
typedef struct cc_comm cc_comm;

/* Start the I/O thread and bring up a link to every other player. Returns
 * once all links are up, or fails with CC_ESTARTUP_TIMEOUT. The first call
 * sets SIGPIPE to be ignored, so that writing to a dead peer's socket is an
 * error rather than the death of this process. */
cc_status cc_engine_start(const cc_settings *s, cc_engine **out, cc_error *err);

/* Say goodbye to every peer, wait briefly for them to see it, stop the I/O
 * thread and free everything. Communicators must be freed first. */
void cc_engine_stop(cc_engine *eng);

/* This player's script raised and it is about to go: tell every peer the
 * first line of why, so that each sees it failed for that reason (in its
 * peer_failed errors and its failed() lists). */
void cc_engine_announce_failure(cc_engine *eng, const char *why);

/* True once every communicator of the engine has been freed: nothing can
 * use it any more, and its user may stop it (the user's thread). */
bool cc_engine_idle(const cc_engine *eng);

int cc_engine_rank(const cc_engine *eng);
/* The settings the engine started with (token, timings, log), without peer
 * addresses, listener or TLS files; true if its links are TLS. A grown
 * world (comm:grow) starts from these. */
bool cc_engine_settings(const cc_engine *eng, cc_settings *out);
int cc_engine_world_size(const cc_engine *eng);

/* ==== Communicators ===================================================== */

/* The communicator of every player of the world. */
cc_status cc_comm_world(cc_engine *eng, const char *name, double timeout_s,
                        cc_comm **out, cc_error *err);
void cc_comm_free(cc_comm *c);

int cc_comm_rank(const cc_comm *c);
int cc_comm_size(const cc_comm *c);
const char *cc_comm_name(const cc_comm *c);
double cc_comm_timeout(const cc_comm *c);
void cc_comm_set_timeout(cc_comm *c, double timeout_s);
bool cc_comm_revoked(const cc_comm *c);
bool cc_comm_freed(const cc_comm *c);

/* Point to point. send queues the payload and returns; recv blocks. */
cc_status cc_comm_send(cc_comm *c, cc_payload *p, int dst, int32_t tag, cc_error *err);
cc_status cc_comm_recv(cc_comm *c, int src, int32_t tag, cc_payload **out, cc_error *err);
/* Non-blocking probe-and-take: CC_OK with *out set, CC_OK with *out NULL if
 * nothing matches yet, or the error that a blocking recv would raise now. */
cc_status cc_comm_try_recv(cc_comm *c, int src, int32_t tag, cc_payload **out, cc_error *err);

/* Collectives over byte payloads. Output arrays have comm size entries
 * (NULL where a player contributes nothing); free them with cc_payloads_free. */
cc_status cc_comm_allgather(cc_comm *c, cc_payload *mine, cc_payload **all, cc_error *err);
cc_status cc_comm_barrier(cc_comm *c, cc_error *err);
cc_status cc_comm_broadcast(cc_comm *c, int src, cc_payload *value, cc_payload **out, cc_error *err);
cc_status cc_comm_gatherv(cc_comm *c, const int *srcs, int nsrcs, cc_payload *mine, int dst,
                          int32_t tag, cc_payload **out, cc_error *err);
cc_status cc_comm_scatterv(cc_comm *c, int src, cc_payload *const *values, const int *dsts,
                           int ndsts, int32_t tag, cc_payload **out, cc_error *err);
/* An exchange among some pairs (tag CC_TAG_EXCHANGE): `mine` goes to every
 * rank of to[0..nto), an empty message to every rank of notify[0..nnotify);
 * then one message is received from every rank of from[0..nfrom) into
 * out[rank] (this player's own rank gets `mine` itself) and one from every
 * rank of await[0..nawait), dropped. The empty messages make a player wait
 * on others whose values it does not need, so that the call fails wherever
 * one of them is gone, as an allgather would. Every list holds distinct
 * ranks; to and notify are disjoint and hold no rank of this player, and
 * so are from and await (from may hold this player's). Every player's lists
 * must match: a rank in this player's `to` (or `notify`) lists this player
 * in its `from` (or `await`). out has comm size entries. */
cc_status cc_comm_exchange(cc_comm *c, cc_payload *mine, const int *to, int nto,
                           const int *notify, int nnotify, const int *from, int nfrom,
                           const int *await, int nawait, cc_payload **out, cc_error *err);
/* cc_comm_exchange for lists its caller has already checked to be as it
 * requires (for this communicator's size and rank): they are not checked
 * again. */
cc_status _cc_comm_exchange_checked(cc_comm *c, cc_payload *mine, const int *to, int nto,
                                    const int *notify, int nnotify, const int *from, int nfrom,
                                    const int *await, int nawait, cc_payload **out,
                                    cc_error *err);

/* ==== Fault tolerance =================================================== */

/* Mark the communicator revoked here and at every member that can be
 * reached (each passes the notice on once). Idempotent. Afterwards every
 * call on it fails with CC_EREVOKED except agree, shrink, split, failed,
 * the statistics and free; a pending or later receive fails as soon as the
 * member it waits for has passed the revoke on (or is down), and still gets
 * what that member sent before, so that a call completes at every member or
 * at none. */
cc_status cc_comm_revoke(cc_comm *c, cc_error *err);

/* The comm ranks this player knows to have failed, ascending, into out
 * (comm size entries); returns how many. A player that finished cleanly
 * has not failed. */
int cc_comm_failed(const cc_comm *c, int *out);

/* One fault-tolerant agreement among the survivors (see agree.c). Each
 * works on a revoked communicator. timeout_s <= 0 means comm.timeout.
 *
 * agree: *out is the AND of the flags of the members decided on.
 * shrink: a new communicator of the survivors in the old order, named
 *   `name`; oldranks (comm size entries) gets each new rank's old rank and
 *   *nold their number.
 * split: players giving the same non-NULL name get a communicator of those
 *   players in rank order; a NULL name gives *out == NULL.
 * A player the others decided without gets CC_EEXCLUDED. */
cc_status cc_comm_agree(cc_comm *c, bool flag, double timeout_s, bool *out, cc_error *err);
cc_status cc_comm_shrink(cc_comm *c, const char *name, double timeout_s, cc_comm **out,
                         int *oldranks, int *nold, cc_error *err);
cc_status cc_comm_split(cc_comm *c, const char *name, double timeout_s, cc_comm **out,
                        cc_error *err);

/* Fault injection for testing the agreement: this player kills itself
 * (SIGKILL) once it has sent `messages` more agreement messages, so that it
 * dies partway through a vote or a coordinator round. -1 turns it off. */
void cc_engine_kill_in_agreement(cc_engine *eng, int messages);

/* Traffic counters, by peer (comm rank) and by tag. */
typedef struct cc_traffic { uint64_t msgs_sent, bytes_sent, msgs_recv, bytes_recv; } cc_traffic;
const cc_traffic *cc_comm_peer_stats(const cc_comm *c, int peer);
/* Every communicator of c's engine together: this player's whole traffic
 * (the user's thread, like the other counters). */
const cc_traffic *cc_comm_engine_stats(const cc_comm *c);
/* Iterate over tags seen: returns false past the end. */
bool cc_comm_tag_stats(const cc_comm *c, size_t i, int32_t *tag, cc_traffic *t);

#endif
