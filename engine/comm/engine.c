/*
 * engine.c - the engine of one player: it owns the network layer (cc_net)
 * and the communicator registry, and answers what the network layer
 * reports (messages, revoke notices) through the callbacks it sets when it
 * starts. It also passes revoke notices on: a notice must reach every
 * member of the communicator even if its sender dies halfway through
 * sending it.
 */
#include <stdlib.h>

#include "comm/comm_internal.h"

/* ==== What the network layer reports ======================================= */

static void on_data_locked(void *ctx, uint64_t context, int src, int32_t tag, cc_payload *p) {
  cc_comm_deliver_locked(ctx, context, src, tag, p);
}

/* A communicator was revoked: mark it and, the first time, have the I/O
 * thread pass the notice on to every other member. */
static void on_revoke_locked(void *ctx, uint64_t context, int src, int origin) {
  cc_engine *eng = ctx;
  cc_forward *f = calloc(1, sizeof *f);
  int *to = malloc((size_t)eng->world_size * sizeof *to);
  CC_NET_ASSERT_LOCKED(eng->net);
  if (f && to) {
    f->n = cc_comm_revoke_notice_locked(eng, context, src, origin, to);
    if (f->n > 0) {
      cc_forward **tail = &eng->forwards;
      f->context = context;
      f->origin = origin;
      f->to = to;
      while (*tail) tail = &(*tail)->next;
      *tail = f;
      f = NULL;
      to = NULL;
      /* Not from here: sending takes a connection's lock, and the reader
       * may hold another's; and the sends must wait for send_lock. */
      cc_net_defer(eng->net);
    }
  } else {
    cc_comm_revoke_notice_locked(eng, context, src, origin, NULL);
  }
  free(f);
  free(to);
}

/* Pass revoke notices on, send_lock held: the user's thread holds it
 * across one call's sends, so a notice never lands in the middle of them. */
static void send_forwards(cc_engine *eng) {
  cc_forward *f;
  atomic_store(&eng->forwards_owed, false);
  cc_net_lock(eng->net);
  f = eng->forwards;
  eng->forwards = NULL;
  cc_net_unlock(eng->net);
  while (f) {
    cc_forward *next = f->next;
    cc_net_send_revoke(eng->net, f->context, f->origin, f->to, f->n);
    free(f->to);
    free(f);
    f = next;
  }
}

static void flush_forwards(cc_engine *eng) {
  pthread_mutex_lock(&eng->send_lock);
  send_forwards(eng);
  pthread_mutex_unlock(&eng->send_lock);
}

/* The I/O thread: pass the notices on, unless a relayed collective holds
 * send_lock across its waits (the I/O thread must not stop for that
 * long: it keeps the links alive); that one asks again when it is done.
 * forwards_owed is set before looking, and read by the collective after
 * it lets go, so that one of the two always sends. */
static void on_deferred(void *ctx) {
  cc_engine *eng = ctx;
  atomic_store(&eng->forwards_owed, true);
  if (pthread_mutex_trylock(&eng->send_lock) != 0) {
    if (atomic_load(&eng->holding_sends)) return;
    pthread_mutex_lock(&eng->send_lock);
  }
  send_forwards(eng);
  pthread_mutex_unlock(&eng->send_lock);
}

void cc_engine_hold_sends(cc_engine *eng) {
  atomic_store(&eng->holding_sends, true);
  pthread_mutex_lock(&eng->send_lock);
}

void cc_engine_release_sends(cc_engine *eng) {
  pthread_mutex_unlock(&eng->send_lock);
  atomic_store(&eng->holding_sends, false);
  if (atomic_load(&eng->forwards_owed)) cc_net_defer(eng->net);
}

/* ==== Lifecycle ============================================================= */

static void engine_free(cc_engine *eng) {
  /* First the network layer: once its I/O thread has ended, nothing calls
   * back into the engine. */
  cc_net_free(eng->net);
  while (eng->forwards) {
    cc_forward *f = eng->forwards;
    eng->forwards = f->next;
    free(f->to);
    free(f);
  }
  while (eng->orphans) {
    cc_orphan *o = eng->orphans;
    eng->orphans = o->next;
    cc_payload_unref(o->msg->payload);
    free(o->msg);
    free(o);
  }
  while (eng->spare_msgs) {
    cc_msg *m = eng->spare_msgs;
    eng->spare_msgs = m->next;
    free(m);
  }
  free(eng->retired);
  pthread_mutex_destroy(&eng->send_lock);
  free(eng);
}

cc_status cc_engine_start(const cc_settings *s, cc_engine **out, cc_error *err) {
  cc_engine *eng;
  cc_net_events ev = {0};
  cc_status st;

  *out = NULL;
  eng = calloc(1, sizeof *eng);
  if (!eng)
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory starting player %d",
                        s->rank);
  eng->rank = s->rank;
  eng->world_size = s->world_size;
  eng->settings = *s;
  eng->settings.peer_hosts = NULL;
  eng->settings.peer_ports = NULL;
  eng->settings.listen_fd = -1;
  eng->settings.tls_identity = NULL;
  eng->settings.tls_trusted = NULL;
  eng->tls = s->tls_identity || s->tls_trusted;
  eng->agree_kill_after = -1;
  pthread_mutex_init(&eng->send_lock, NULL);
  atomic_init(&eng->holding_sends, false);
  atomic_init(&eng->forwards_owed, false);
  ev.ctx = eng;
  ev.data_locked = on_data_locked;
  ev.revoke_locked = on_revoke_locked;
  ev.deferred = on_deferred;
  st = cc_net_open(s, &ev, &eng->net, err);
  if (st == CC_OK) st = cc_net_start(eng->net, err);
  if (st != CC_OK) {
    engine_free(eng);
    return st;
  }
  *out = eng;
  return CC_OK;
}

void cc_engine_stop(cc_engine *eng) {
  if (!eng) return;
  while (eng->comms) cc_comm_free(eng->comms);
  /* Revoke notices this player still has to pass on go out before its
   * goodbye: a peer must not see it leave without hearing of the revoke. */
  flush_forwards(eng);
  cc_net_goodbye(eng->net);
  engine_free(eng);
}

void cc_engine_announce_failure(cc_engine *eng, const char *why) {
  /* Revoke notices still owed go first, as before a goodbye. */
  flush_forwards(eng);
  pthread_mutex_lock(&eng->send_lock);
  cc_net_announce_failure(eng->net, why);
  pthread_mutex_unlock(&eng->send_lock);
}

bool cc_engine_idle(const cc_engine *eng) { return eng->comms == NULL; }

int cc_engine_rank(const cc_engine *eng) { return eng->rank; }
bool cc_engine_settings(const cc_engine *eng, cc_settings *out) {
  *out = eng->settings;
  return eng->tls;
}
int cc_engine_world_size(const cc_engine *eng) { return eng->world_size; }
void cc_engine_kill_in_agreement(cc_engine *eng, int messages) { eng->agree_kill_after = messages; }
