/*
 * conn.c - what connections offer net.c and the transports alike: the
 * debug checks of a connection's lock, the words for why one closed, and
 * the release of a payload written by reference (see conn.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/payload.h"
#include "net/conn.h"

const char *cc_conn_closed_reason(short what, int e) {
  if ((what & BEV_EVENT_EOF) || e == ECONNRESET || e == EPIPE) return "connection closed";
  return "connection error";
}

void cc_conn_payload_cleanup(const void *data, size_t len, void *arg) {
  (void)data; (void)len;
  cc_payload_unref(arg);
}

#ifndef NDEBUG
uintptr_t cc_self_id(void) { return (uintptr_t)pthread_self(); }

void cc_conn_assert_locked(const cc_conn *c, const char *func) {
  atomic_uintptr_t *owner = (atomic_uintptr_t *)&c->lock_owner;
  if (atomic_load_explicit(owner, memory_order_relaxed) == cc_self_id()) return;
  fprintf(stderr, "cicada: %s called without the connection's lock held\n", func);
  abort();
}

void cc_conn_enter(cc_conn *c) {
  if (atomic_load_explicit(&c->lock_owner, memory_order_relaxed) == cc_self_id()) {
    c->lock_depth++;
    return;
  }
  atomic_store_explicit(&c->lock_owner, cc_self_id(), memory_order_relaxed);
  c->lock_depth = 1;
}

void cc_conn_leave(cc_conn *c) {
  if (--c->lock_depth == 0) atomic_store_explicit(&c->lock_owner, 0, memory_order_relaxed);
}

void cc_conn_lock(cc_conn *c) {
  bufferevent_lock(c->bev);
  cc_conn_enter(c);
}

void cc_conn_unlock(cc_conn *c) {
  cc_conn_leave(c);
  bufferevent_unlock(c->bev);
}
#endif
