/*
 * payload.c - reference-counted byte buffers and the pool of large ones
 * (see payload.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "core/payload.h"

/* The pool: pool_lock, a leaf lock held only to take or put a buffer. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uint8_t *data; size_t cap; } pool[CC_PAYLOAD_POOL_BUFFERS];
static int pool_count;
static size_t pool_bytes;

/* A process that forks (the launcher, a host) while another of its threads
 * holds pool_lock must not leave the child a lock nobody will release: the
 * fork waits for the lock, and both sides release it. */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void pool_prefork(void) { pthread_mutex_lock(&pool_lock); }
static void pool_postfork(void) { pthread_mutex_unlock(&pool_lock); }
static void pool_fork_safe(void) { pthread_atfork(pool_prefork, pool_postfork, pool_postfork); }

static void pool_lock_take(void) {
  pthread_once(&fork_once, pool_fork_safe);
  pthread_mutex_lock(&pool_lock);
}

/* The smallest pooled buffer of len bytes or more, if it is not more than
 * twice what is asked: a small message must not pin a huge buffer. */
static uint8_t *pool_take(size_t len, size_t *cap) {
  uint8_t *data = NULL;
  int best = -1;
  pool_lock_take();
  for (int i = 0; i < pool_count; i++)
    if (pool[i].cap >= len && pool[i].cap / 2 <= len &&
        (best < 0 || pool[i].cap < pool[best].cap))
      best = i;
  if (best >= 0) {
    data = pool[best].data;
    *cap = pool[best].cap;
    pool_bytes -= pool[best].cap;
    pool[best] = pool[--pool_count];
  }
  pthread_mutex_unlock(&pool_lock);
  return data;
}

/* Keep data for reuse if there is room; false if the caller must free it. */
static int pool_put(uint8_t *data, size_t cap) {
  int kept = 0;
  pool_lock_take();
  if (pool_count < CC_PAYLOAD_POOL_BUFFERS && pool_bytes + cap <= CC_PAYLOAD_POOL_MAX_BYTES) {
    pool[pool_count].data = data;
    pool[pool_count++].cap = cap;
    pool_bytes += cap;
    kept = 1;
  }
  pthread_mutex_unlock(&pool_lock);
  return kept;
}

void cc_payload_pool_drain(void) {
  pool_lock_take();
  for (int i = 0; i < pool_count; i++) free(pool[i].data);
  pool_count = 0;
  pool_bytes = 0;
  pthread_mutex_unlock(&pool_lock);
}

void cc_payload_pool_stats(size_t *buffers, size_t *bytes) {
  pool_lock_take();
  *buffers = (size_t)pool_count;
  *bytes = pool_bytes;
  pthread_mutex_unlock(&pool_lock);
}

cc_payload *cc_payload_take(uint8_t *data, size_t len) {
  cc_payload *p = malloc(sizeof *p);
  if (!p) return NULL;
  atomic_init(&p->refs, 1);
  p->len = len;
  p->cap = len;
  p->data = data;
  return p;
}

cc_payload *cc_payload_new(size_t len) {
  size_t cap = len ? len : 1;
  uint8_t *data = len >= CC_PAYLOAD_POOL_MIN_BYTES ? pool_take(len, &cap) : NULL;
  cc_payload *p;
  if (!data) data = malloc(cap);
  p = data ? cc_payload_take(data, len) : NULL;
  if (!p) {
    if (data && !(cap >= CC_PAYLOAD_POOL_MIN_BYTES && pool_put(data, cap))) free(data);
    return NULL;
  }
  p->cap = cap;
  return p;
}

cc_payload *cc_payload_new_received(size_t len) {
  cc_payload *p;
  size_t room;
  if (len < CC_PAYLOAD_POOL_MIN_BYTES) return cc_payload_new_whole(len);
  /* In whole steps of CC_PAYLOAD_RECEIVED_STEP_BYTES (see payload.h). */
  room = (len + CC_PAYLOAD_RECEIVED_STEP_BYTES - 1) & ~(CC_PAYLOAD_RECEIVED_STEP_BYTES - 1);
  p = cc_payload_new(room);
  if (p) p->len = len;
  return p;
}

cc_payload *cc_payload_new_whole(size_t len) {
  cc_payload *p;
  if (len > CC_PAYLOAD_INLINE_MAX_BYTES) return cc_payload_new(len);
  p = malloc(sizeof *p + (len ? len : 1));
  if (!p) return NULL;
  atomic_init(&p->refs, 1);
  p->len = len;
  p->cap = len;
  p->data = (uint8_t *)(p + 1);
  return p;
}

cc_payload *cc_payload_ref(cc_payload *p) {
  atomic_fetch_add(&p->refs, 1);
  return p;
}

void cc_payload_unref(cc_payload *p) {
  if (p && atomic_fetch_sub(&p->refs, 1) == 1) {
    if (p->data && !cc_payload_inline(p) &&
        !(p->cap >= CC_PAYLOAD_POOL_MIN_BYTES && pool_put(p->data, p->cap)))
      free(p->data);
    free(p);
  }
}

void cc_payloads_free(cc_payload **ps, int n) {
  for (int i = 0; i < n; i++) {
    cc_payload_unref(ps[i]);
    ps[i] = NULL;
  }
}
