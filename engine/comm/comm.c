/*
 * comm.c - communicators: member lists over the engine's links, message
 * matching by (source, tag) in FIFO order, point-to-point calls and the
 * collectives, all over reference-counted byte payloads.
 *
 * Every blocking call computes one deadline from comm.timeout and waits on
 * the engine's condition variable; it wakes for a message, a failure, a
 * revoke or the deadline, and never waits for a player known to have failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm_internal.h"
#include "core/check.h"

#define MAX_ORPHAN_BYTES ((size_t)256 << 20)
/* Per-call lists of up to this many entries (ranks, payload slots) live in
 * the caller's frame. */
#define LIST_ON_STACK 64
/* What holding a message costs besides its payload: empty frames must not
 * be free to pile up. */
#define ORPHAN_OVERHEAD_BYTES (sizeof(cc_orphan) + sizeof(cc_msg) + sizeof(cc_payload))

/* Free a per-call list unless it is the caller's buffer buf. */
static void free_list(void *list, const void *buf) {
  if (list != buf) free(list);
}

/* ==== Tags and errors ================================================== */

const char *cc_tag_name(int32_t tag, char *buf, size_t bufsz) {
  static const char *const names[] = {"ALLGATHER", "BARRIER", "BROADCAST", "GATHER",
                                      "GATHERV", "SCATTER", "SCATTERV", "LOGSYNC",
                                      "RESHARE", "SHRINK", "AGREE", "SPLIT",
                                      "EXCHANGE"};
  if (tag < 0 && tag >= CC_TAG_LIBRARY_MIN) return names[-tag - 1];
  if (tag == CC_TAG_NONE) return "NONE";
  snprintf(buf, bufsz, "%ld", (long)tag);
  return buf;
}

static cc_status err_not_running(const cc_comm *c, cc_error *err) {
  return cc_error_set(err, CC_ENOT_RUNNING, -1, CC_TAG_NONE, "Comm %s was freed", c->name);
}

static cc_status err_revoked(const cc_comm *c, cc_error *err, int peer, int32_t tag) {
  if (c->revoked_by >= 0)
    return cc_error_set(err, CC_EREVOKED, peer, tag, "Comm %s was revoked by player %d", c->name,
                     c->revoked_by);
  return cc_error_set(err, CC_EREVOKED, peer, tag, "Comm %s was revoked", c->name);
}

const char *cc_comm_peer_down_locked(const cc_comm *c, int peer) {
  CC_NET_ASSERT_LOCKED(c->eng->net);
  if (peer == c->rank) return NULL;
  return cc_net_peer_down_locked(c->eng->net, c->members[peer]);
}

/* ==== Registry and delivery ============================================== */

static cc_comm *find_comm_locked(cc_engine *eng, uint64_t context) {
  CC_NET_ASSERT_LOCKED(eng->net);
  for (cc_comm *c = eng->comms; c; c = c->next)
    if (c->context == context && !c->freed) return c;
  return NULL;
}

static bool is_retired_locked(const cc_engine *eng, uint64_t context) {
  CC_NET_ASSERT_LOCKED(eng->net);
  for (size_t i = 0; i < eng->nretired; i++)
    if (eng->retired[i] == context) return true;
  return false;
}

/* Remember a freed communicator's context. */
static void retire_locked(cc_engine *eng, uint64_t context) {
  CC_NET_ASSERT_LOCKED(eng->net);
  if (eng->nretired == eng->retired_cap) {
    size_t cap = eng->retired_cap ? 2 * eng->retired_cap : 8;
    uint64_t *grown = realloc(eng->retired, cap * sizeof *grown);
    if (!grown) return;   /* late messages then wait as orphans: harmless */
    eng->retired = grown;
    eng->retired_cap = cap;
  }
  eng->retired[eng->nretired++] = context;
}

/* Append m to the queue of messages from comm rank src. */
static void enqueue_locked(cc_comm *c, int src, cc_msg *m) {
  cc_queue *q = &c->queues[src];
  CC_NET_ASSERT_LOCKED(c->eng->net);
  m->next = NULL;
  if (q->tail) q->tail->next = m; else q->head = m;
  q->tail = m;
}

/* Mark c revoked by comm rank `by`; true the first time. */
static bool mark_revoked_locked(cc_comm *c, int by) {
  CC_NET_ASSERT_LOCKED(c->eng->net);
  if (c->revoked) return false;
  c->revoked = true;
  c->revoked_by = by;
  cc_net_log(c->eng->net, CC_LOG_WARNING, "Comm %s player %d revoked by player %d", c->name,
             c->rank, by);
  cc_net_wake_locked(c->eng->net);
  return true;
}

/* The world rank in a REVOKE payload, or -1. */
static int revoke_origin(const cc_payload *p, int world_size) {
  uint32_t v = 0;
  if (p->len != 4) return -1;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p->data[i];
  return v < (uint32_t)world_size ? (int)v : -1;
}

cc_msg *cc_comm_msg_new_locked(cc_engine *eng) {
  cc_msg *m = eng->spare_msgs;
  CC_NET_ASSERT_LOCKED(eng->net);
  if (!m) return malloc(sizeof *m);
  eng->spare_msgs = m->next;
  eng->nspare_msgs--;
  return m;
}

void cc_comm_msg_free_locked(cc_engine *eng, cc_msg *m) {
  CC_NET_ASSERT_LOCKED(eng->net);
  if (eng->nspare_msgs >= CC_SPARE_MSGS) {
    free(m);
    return;
  }
  m->next = eng->spare_msgs;
  eng->spare_msgs = m;
  eng->nspare_msgs++;
}

static void deliver_to_locked(cc_comm *c, int src, cc_msg *m) {
  CC_NET_ASSERT_LOCKED(c->eng->net);
  if (m->tag == CC_TAG_NONE) {  /* a revoke notice that waited as an orphan */
    int origin = revoke_origin(m->payload, c->eng->world_size);
    int by = origin >= 0 && c->of_world[origin] >= 0 ? c->of_world[origin] : src;
    c->revoke_seen[src] = true;
    mark_revoked_locked(c, by);
    cc_payload_unref(m->payload);
    free(m);
    return;
  }
  enqueue_locked(c, src, m);
}

void cc_comm_deliver_locked(cc_engine *eng, uint64_t context, int world_src, int32_t tag,
                            cc_payload *p) {
  cc_comm *c = find_comm_locked(eng, context);
  cc_msg *m;
  if (!c && is_retired_locked(eng, context)) { cc_payload_unref(p); return; }
  m = cc_comm_msg_new_locked(eng);
  if (!m) { cc_payload_unref(p); return; }
  m->tag = tag;
  m->payload = p;
  if (c) {
    int src = c->of_world[world_src];
    if (src < 0) {
      cc_net_log(eng->net, CC_LOG_WARNING, "Comm %s player %d: dropped a message from player %d, "
                 "who is not a member", c->name, c->rank, world_src);
      cc_payload_unref(p);
      free(m);
      return;
    }
    deliver_to_locked(c, src, m);
    cc_net_wake_locked(eng->net);
    return;
  }
  /* Not created here yet: a faster peer may already use a new communicator. */
  if (eng->orphan_bytes + p->len + ORPHAN_OVERHEAD_BYTES > MAX_ORPHAN_BYTES) {
    cc_net_log(eng->net, CC_LOG_WARNING, "player %d: dropped a message for unknown context %016llx "
               "from player %d", eng->rank, (unsigned long long)context, world_src);
    cc_payload_unref(p);
    free(m);
    return;
  }
  {
    cc_orphan *o = malloc(sizeof *o);
    if (!o) { cc_payload_unref(p); free(m); return; }
    o->context = context;
    o->world_src = world_src;
    o->msg = m;
    o->next = NULL;
    eng->orphan_bytes += p->len + ORPHAN_OVERHEAD_BYTES;
    /* keep arrival order */
    if (!eng->orphans) eng->orphans_tail = &eng->orphans;
    *eng->orphans_tail = o;
    eng->orphans_tail = &o->next;
  }
}

int cc_comm_revoke_notice_locked(cc_engine *eng, uint64_t context, int world_src, int origin,
                                 int *fwd) {
  cc_comm *c = find_comm_locked(eng, context);
  int n = 0, src;
  if (!c) {
    /* Not created here yet (or freed): keep it like any early message. */
    cc_payload *p = cc_payload_new(4);
    if (!p) return 0;
    for (int i = 0; i < 4; i++) p->data[i] = (uint8_t)((uint32_t)origin >> (8 * i));
    cc_comm_deliver_locked(eng, context, world_src, CC_TAG_NONE, p);
    return 0;
  }
  src = c->of_world[world_src];
  if (src < 0) return 0;
  c->revoke_seen[src] = true;
  cc_net_wake_locked(eng->net);
  if (!mark_revoked_locked(c, c->of_world[origin] >= 0 ? c->of_world[origin] : src)) return 0;
  /* Everyone, the sender too: its REVOKE from us tells it that we will
   * send nothing more on this communicator. */
  for (int i = 0; fwd && i < c->size; i++)
    if (i != c->rank) fwd[n++] = c->members[i];
  return n;
}

/* Claim the messages that arrived before the communicator existed. */
static void adopt_orphans_locked(cc_comm *c) {
  cc_engine *eng = c->eng;
  cc_orphan **pp = &eng->orphans;
  CC_NET_ASSERT_LOCKED(eng->net);
  while (*pp) {
    cc_orphan *o = *pp;
    if (o->context == c->context && c->of_world[o->world_src] >= 0) {
      *pp = o->next;
      eng->orphan_bytes -= o->msg->payload->len + ORPHAN_OVERHEAD_BYTES;
      deliver_to_locked(c, c->of_world[o->world_src], o->msg);
      free(o);
    } else {
      pp = &o->next;
    }
  }
  eng->orphans_tail = pp;
}

/* ==== Creation and teardown ============================================== */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const uint8_t *b = data;
  for (size_t i = 0; i < len; i++) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t cc_context_derive(uint64_t parent, uint64_t seq, const char *name,
                           const int *members, int n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, &parent, sizeof parent);
  h = fnv1a(h, &seq, sizeof seq);
  h = fnv1a(h, name, strlen(name) + 1);
  for (int i = 0; i < n; i++) {
    uint32_t m = (uint32_t)members[i];
    h = fnv1a(h, &m, sizeof m);
  }
  return h;
}

cc_status cc_comm_create(cc_engine *eng, uint64_t context, const char *name,
                         const int *members, int n, double timeout_s, cc_comm **out,
                         cc_error *err) {
  int world = eng->world_size;
  cc_comm *c = calloc(1, sizeof *c);
  bool revoked;
  *out = NULL;
  if (!c) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  c->eng = eng;
  c->context = context;
  c->name = strdup(name);
  c->size = n;
  c->rank = -1;
  c->revoked_by = -1;
  c->timeout_s = timeout_s;
  c->members = malloc((size_t)n * sizeof *c->members);
  c->of_world = malloc((size_t)world * sizeof *c->of_world);
  c->queues = calloc((size_t)n, sizeof *c->queues);
  c->peer_traffic = calloc((size_t)n, sizeof *c->peer_traffic);
  c->revoke_seen = calloc((size_t)n, sizeof *c->revoke_seen);
  if (!c->name || !c->members || !c->of_world || !c->queues || !c->peer_traffic ||
      !c->revoke_seen) {
    cc_comm_free(c);
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  }
  for (int i = 0; i < world; i++) c->of_world[i] = -1;
  for (int i = 0; i < n; i++) {
    c->members[i] = members[i];
    c->of_world[members[i]] = i;
    if (members[i] == eng->rank) c->rank = i;
  }
  cc_net_lock(eng->net);
  c->next = eng->comms;
  eng->comms = c;
  adopt_orphans_locked(c);
  revoked = c->revoked;
  cc_net_unlock(eng->net);
  /* Revoked before it existed here: pass the notice on, as the I/O thread
   * does for a communicator that exists. */
  if (revoked) {
    int *to = malloc((size_t)n * sizeof *to), k = 0;
    for (int i = 0; to && i < n; i++) if (i != c->rank) to[k++] = c->members[i];
    if (to) cc_net_send_revoke(eng->net, context, c->members[c->revoked_by], to, k);
    free(to);
  }
  *out = c;
  return CC_OK;
}

cc_status cc_comm_world(cc_engine *eng, const char *name, double timeout_s, cc_comm **out,
                        cc_error *err) {
  int n = eng->world_size;
  int *members = malloc((size_t)n * sizeof *members);
  cc_status st;
  if (!members) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  for (int i = 0; i < n; i++) members[i] = i;
  st = cc_comm_create(eng, cc_context_derive(0, 0, name, members, n), name, members, n, timeout_s,
                out, err);
  free(members);
  return st;
}

void cc_comm_free(cc_comm *c) {
  cc_engine *eng;
  if (!c) return;
  eng = c->eng;
  cc_net_lock(eng->net);
  for (cc_comm **pp = &eng->comms; *pp; pp = &(*pp)->next)
    if (*pp == c) { *pp = c->next; retire_locked(eng, c->context); break; }
  cc_net_unlock(eng->net);
  if (c->queues) {
    for (int i = 0; i < c->size; i++) {
      cc_msg *m = c->queues[i].head;
      while (m) {
        cc_msg *next = m->next;
        cc_payload_unref(m->payload);
        free(m);
        m = next;
      }
    }
  }
  free(c->queues);
  if (c->empty) cc_payload_unref(c->empty);
  free(c->peer_traffic);
  free(c->revoke_seen);
  free(c->tag_traffic);
  free(c->members);
  free(c->of_world);
  free(c->name);
  free(c);
}

/* ==== Accessors =========================================================== */

int cc_comm_rank(const cc_comm *c) { return c->rank; }
int cc_comm_size(const cc_comm *c) { return c->size; }
const char *cc_comm_name(const cc_comm *c) { return c->name; }
double cc_comm_timeout(const cc_comm *c) { return c->timeout_s; }
void cc_comm_set_timeout(cc_comm *c, double timeout_s) { c->timeout_s = timeout_s; }
bool cc_comm_freed(const cc_comm *c) { return c->freed; }

bool cc_comm_revoked(const cc_comm *c) {
  bool r;
  cc_net_lock(c->eng->net);
  r = c->revoked;
  cc_net_unlock(c->eng->net);
  return r;
}

/* ==== Statistics ========================================================== */

/* The counters of tag: a library tag's through lib_tag_index (every
 * collective counts each message), a user tag's by a scan. */
static cc_traffic *tag_traffic(cc_comm *c, int32_t tag) {
  cc_tag_traffic *grown;
  bool lib = tag < 0 && tag >= CC_TAG_LIBRARY_MIN;
  if (lib && c->lib_tag_index[-tag - 1]) return &c->tag_traffic[c->lib_tag_index[-tag - 1] - 1].t;
  for (size_t i = 0; i < c->ntags; i++)
    if (c->tag_traffic[i].tag == tag) return &c->tag_traffic[i].t;
  grown = realloc(c->tag_traffic, (c->ntags + 1) * sizeof *grown);
  if (!grown) return NULL;
  c->tag_traffic = grown;
  memset(&grown[c->ntags], 0, sizeof grown[c->ntags]);
  grown[c->ntags].tag = tag;
  /* The first tags of a communicator are few: an index fits a byte. */
  if (lib && c->ntags < UINT8_MAX) c->lib_tag_index[-tag - 1] = (uint8_t)(c->ntags + 1);
  return &grown[c->ntags++].t;
}

static void count(cc_traffic *t, size_t bytes, bool sent) {
  if (sent) { t->msgs_sent++; t->bytes_sent += bytes; }
  else { t->msgs_recv++; t->bytes_recv += bytes; }
}

void cc_comm_count(cc_comm *c, int peer, int32_t tag, size_t bytes, bool sent) {
  cc_traffic *t = tag_traffic(c, tag);
  count(&c->peer_traffic[peer], bytes, sent);
  if (t) count(t, bytes, sent);
  count(&c->eng->traffic, bytes, sent);
}

const cc_traffic *cc_comm_peer_stats(const cc_comm *c, int peer) {
  return (peer >= 0 && peer < c->size) ? &c->peer_traffic[peer] : NULL;
}

const cc_traffic *cc_comm_engine_stats(const cc_comm *c) {
  return &c->eng->traffic;
}

bool cc_comm_tag_stats(const cc_comm *c, size_t i, int32_t *tag, cc_traffic *t) {
  if (i >= c->ntags) return false;
  *tag = c->tag_traffic[i].tag;
  *t = c->tag_traffic[i].t;
  return true;
}

/* ==== Point to point ====================================================== */

static cc_status check_usable(cc_comm *c, cc_error *err) {
  if (c->freed) return err_not_running(c, err);
  return CC_OK;
}

static cc_status check_rank(cc_comm *c, int r, const char *what, cc_error *err) {
  return cc_check_rank(r, c->size, what, err);
}

/* ==== Sending =============================================================== */

/* Every call's sends happen under send_lock, after one look at the revoked
 * flag: a call either sends everything before this player passes a revoke
 * on (the I/O thread forwards under send_lock too), or raises and sends
 * nothing. A receiver that has the sender's REVOKE therefore has all the
 * sender will ever send it, and a collective completes at every survivor
 * or at none. */
static cc_status begin_sends(cc_comm *c, int peer, int32_t tag, cc_error *err) {
  bool revoked;
  pthread_mutex_lock(&c->eng->send_lock);
  cc_net_lock(c->eng->net);
  revoked = c->revoked;
  cc_net_unlock(c->eng->net);
  if (!revoked) return CC_OK;
  pthread_mutex_unlock(&c->eng->send_lock);
  return err_revoked(c, err, peer, tag);
}

/* begin_sends for the sending half of a collective to the ranks a[0..na)
 * and then b[0..nb) (at most LIST_ON_STACK in all): in the same hold of
 * the net lock as the revoked flag, links[i] is set to the link to the
 * i-th of them if it is up, else NULL (also for this player's own rank),
 * for send_on. */
static cc_status begin_sends_to(cc_comm *c, int32_t tag, const int *a, int na, const int *b,
                                int nb, cc_net_link **links, cc_error *err) {
  cc_net *net = c->eng->net;
  bool revoked;
  pthread_mutex_lock(&c->eng->send_lock);
  cc_net_lock(net);
  revoked = c->revoked;
  for (int i = 0; !revoked && i < na + nb; i++) {
    int r = i < na ? a[i] : b[i - na];
    links[i] = r == c->rank ? NULL : _cc_net_link_up_locked(net, c->members[r]);
  }
  cc_net_unlock(net);
  if (!revoked) return CC_OK;
  pthread_mutex_unlock(&c->eng->send_lock);
  return err_revoked(c, err, -1, tag);
}

static void end_sends(cc_comm *c) { pthread_mutex_unlock(&c->eng->send_lock); }

/* Send p to dst, between begin_sends and end_sends. A point-to-point send
 * needs its destination and fails if it is down; the sending half of a
 * collective does not (need == false): it skips a player that is down, so
 * that every survivor takes the same path through the collective and fails,
 * if at all, where it waits for a player that is gone. Otherwise a
 * scatter's source would raise while its receivers go on, and their shares
 * would no longer match. */
static cc_status send_one(cc_comm *c, cc_payload *p, int dst, int32_t tag, bool need,
                          cc_error *err) {
  char tb[16];
  const char *down;
  if (dst == c->rank) {
    cc_msg *m = malloc(sizeof *m);
    if (!m) return cc_error_set(err, CC_ENOMEM, dst, tag, "out of memory");
    m->tag = tag;
    m->payload = cc_payload_ref(p);
    cc_net_lock(c->eng->net);
    enqueue_locked(c, dst, m);
    cc_net_unlock(c->eng->net);
    cc_comm_count(c, dst, tag, p->len, true);
    return CC_OK;
  }
  /* cc_net_send sends only on a link that is up: exactly when the peer is
   * not down. */
  if (!cc_net_send(c->eng->net, c->members[dst], CC_FRAME_DATA, c->context, tag, p)) {
    cc_net_lock(c->eng->net);
    down = cc_comm_peer_down_locked(c, dst);
    cc_net_unlock(c->eng->net);
    if (!need) return CC_OK;
    return cc_error_set(err, CC_EPEER_FAILED, dst, tag, "Tag %s to player %d failed: %s",
                         cc_tag_name(tag, tb, sizeof tb), dst, down ? down : "link down");
  }
  cc_comm_count(c, dst, tag, p->len, true);
  return CC_OK;
}

/* The sending half of a collective's send of p to dst on the link that
 * begin_sends_to found for it: skipped when it was down (as send_one does
 * with need == false). */
static cc_status send_on(cc_comm *c, cc_payload *p, int dst, cc_net_link *link, int32_t tag,
                         cc_error *err) {
  if (dst == c->rank) return send_one(c, p, dst, tag, false, err);
  if (!link) return CC_OK;
  _cc_net_send_on(c->eng->net, link, CC_FRAME_DATA, c->context, tag, p);
  cc_comm_count(c, dst, tag, p->len, true);
  return CC_OK;
}

/* Take the first message with `tag` from comm rank src, or NULL. */
static cc_msg *take_locked(cc_comm *c, int src, int32_t tag) {
  cc_queue *q = &c->queues[src];
  cc_msg *prev = NULL;
  CC_NET_ASSERT_LOCKED(c->eng->net);
  for (cc_msg *m = q->head; m; prev = m, m = m->next) {
    if (m->tag != tag) continue;
    if (prev) prev->next = m->next; else q->head = m->next;
    if (q->tail == m) q->tail = prev;
    return m;
  }
  return NULL;
}

cc_msg *cc_comm_take_locked(cc_comm *c, int src, int32_t tag) { return take_locked(c, src, tag); }

cc_status cc_comm_err_revoked(const cc_comm *c, cc_error *err, int peer, int32_t tag) {
  return err_revoked(c, err, peer, tag);
}

/* Whether a call still missing a message from some of srcs can never get
 * it: a sender is down, or the communicator is revoked and the sender has
 * said it will send nothing more (its REVOKE is in). */
static cc_status check_stuck_locked(cc_comm *c, const int *srcs, int n, int32_t tag,
                                    cc_payload **out, cc_error *err) {
  char tb[16];
  CC_NET_ASSERT_LOCKED(c->eng->net);
  for (int i = 0; i < n; i++) {
    int s = srcs[i];
    const char *down = out[s] ? NULL : cc_comm_peer_down_locked(c, s);
    if (out[s]) continue;
    if (c->revoked && (s == c->rank || c->revoke_seen[s] || down))
      return err_revoked(c, err, s, tag);
    if (down)
      return cc_error_set(err, CC_EPEER_FAILED, s, tag, "Tag %s from player %d failed: %s",
                           cc_tag_name(tag, tb, sizeof tb), s, down);
  }
  return CC_OK;
}

/* Receive one message with `tag` from each of srcs[0..n) into out[src], until
 * all are in or the deadline passes. Fails at once when a needed player is
 * known to have failed or the communicator is revoked. */
static cc_status recv_many(cc_comm *c, const int *srcs, int n, int32_t tag, double deadline,
                           bool block, cc_payload **out, cc_error *err) {
  cc_engine *eng = c->eng;
  char tb[16];
  cc_status st = CC_OK;
  int missing;
  double now;
  cc_net_lock(eng->net);
  /* A probe reads what the links hold now: nobody else reads them while
   * this thread runs (see cc_net_wait_locked). */
  if (!block) cc_net_wait_locked(eng->net, 0);
  for (;;) {
    /* Messages sent before their sender saw a revoke are still delivered:
     * the sender's own call completed, and so must ours. */
    missing = 0;
    for (int i = 0; i < n; i++) {
      int s = srcs[i];
      cc_msg *m;
      if (out[s]) continue;
      m = take_locked(c, s, tag);
      if (m) {
        out[s] = m->payload;
        cc_comm_count(c, s, tag, m->payload->len, false);
        cc_comm_msg_free_locked(eng, m);
      } else {
        missing++;
      }
    }
    if (missing == 0) break;
    if (c->freed) { st = err_not_running(c, err); break; }
    now = block ? cc_now() : 0;
    /* Past the deadline it is a timeout, whatever happened since: a peer
     * that gave up at the same moment and left must not turn our timeout
     * into its departure. */
    if (!block || now < deadline) {
      st = check_stuck_locked(c, srcs, n, tag, out, err);
      if (st != CC_OK || !block) break;
    }
    if (now >= deadline) {
      for (int i = 0; i < n; i++)
        if (!out[srcs[i]]) {
          st = cc_error_set(err, CC_ETIMEOUT, srcs[i], tag, "Tag %s from player %d timed-out after %gs",
                             cc_tag_name(tag, tb, sizeof tb), srcs[i], c->timeout_s);
          break;
        }
      break;
    }
    _cc_net_wait_from_locked(eng->net, deadline, now);   /* block: now is the clock's */
  }
  cc_net_unlock(eng->net);
  return st;
}

static double deadline_of(const cc_comm *c) { return cc_now() + c->timeout_s; }

cc_status cc_comm_send(cc_comm *c, cc_payload *p, int dst, int32_t tag, cc_error *err) {
  cc_status st = check_usable(c, err);
  if (st == CC_OK) st = check_rank(c, dst, "destination", err);
  if (st == CC_OK) st = begin_sends(c, dst, tag, err);
  if (st != CC_OK) return st;
  st = send_one(c, p, dst, tag, true, err);
  end_sends(c);
  return st;
}

static cc_status recv_from(cc_comm *c, int src, int32_t tag, bool block, cc_payload **out,
                           cc_error *err) {
  cc_payload **slots, *buf[LIST_ON_STACK];
  cc_status st = check_usable(c, err);
  *out = NULL;
  if (st == CC_OK) st = check_rank(c, src, "source", err);
  if (st != CC_OK) return st;
  slots = c->size <= LIST_ON_STACK ? buf : malloc((size_t)c->size * sizeof *slots);
  if (!slots) return cc_error_set(err, CC_ENOMEM, src, tag, "out of memory");
  memset(slots, 0, (size_t)c->size * sizeof *slots);
  st = recv_many(c, &src, 1, tag, deadline_of(c), block, slots, err);
  *out = slots[src];
  free_list(slots, buf);
  return st;
}

cc_status cc_comm_recv(cc_comm *c, int src, int32_t tag, cc_payload **out, cc_error *err) {
  return recv_from(c, src, tag, true, out, err);
}

cc_status cc_comm_try_recv(cc_comm *c, int src, int32_t tag, cc_payload **out, cc_error *err) {
  return recv_from(c, src, tag, false, out, err);
}

/* ==== Collectives ========================================================= */

#define RANKS8(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7
static const int first_ranks[LIST_ON_STACK] = {RANKS8(0),  RANKS8(8),  RANKS8(16), RANKS8(24),
                                               RANKS8(32), RANKS8(40), RANKS8(48), RANKS8(56)};

/* The list of every rank: first_ranks if it is long enough, else
 * allocated (free_ranks). */
static const int *all_ranks(const cc_comm *c) {
  int *r;
  if (c->size <= LIST_ON_STACK) return first_ranks;
  r = malloc((size_t)c->size * sizeof *r);
  if (r) for (int i = 0; i < c->size; i++) r[i] = i;
  return r;
}

static void free_ranks(const int *r) {
  if (r != first_ranks) free((void *)r);
}

/* Send to every player in dsts (the payload for dst d is ps[d], or p). */
static cc_status send_each(cc_comm *c, cc_payload *p, cc_payload *const *ps, const int *dsts,
                           int n, int32_t tag, cc_error *err) {
  cc_net_link *links[LIST_ON_STACK];
  cc_status st;
  if (n <= LIST_ON_STACK) {   /* the links looked up at once */
    st = begin_sends_to(c, tag, dsts, n, NULL, 0, links, err);
    if (st != CC_OK) return st;
    for (int i = 0; st == CC_OK && i < n; i++) {
      cc_payload *v = ps ? ps[dsts[i]] : p;
      if (v) st = send_on(c, v, dsts[i], links[i], tag, err);
    }
    end_sends(c);
    return st;
  }
  st = begin_sends(c, -1, tag, err);
  if (st != CC_OK) return st;
  for (int i = 0; st == CC_OK && i < n; i++) {
    cc_payload *v = ps ? ps[dsts[i]] : p;
    if (v) st = send_one(c, v, dsts[i], tag, false, err);
  }
  end_sends(c);
  return st;
}

cc_status cc_comm_allgather(cc_comm *c, cc_payload *mine, cc_payload **all, cc_error *err) {
  double deadline = deadline_of(c);
  const int *ranks;
  cc_status st = check_usable(c, err);
  if (st != CC_OK) return st;
  if (cc_collective_relayed(c)) return cc_collective_allgather(c, mine, all, err);
  ranks = all_ranks(c);
  if (!ranks) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_ALLGATHER, "out of memory");
  memset(all, 0, (size_t)c->size * sizeof *all);
  st = send_each(c, mine, NULL, ranks, c->size, CC_TAG_ALLGATHER, err);
  if (st == CC_OK) st = recv_many(c, ranks, c->size, CC_TAG_ALLGATHER, deadline, true, all, err);
  if (st != CC_OK) cc_payloads_free(all, c->size);
  free_ranks(ranks);
  return st;
}

cc_status cc_comm_barrier(cc_comm *c, cc_error *err) {
  cc_payload *empty, **all;
  cc_status st;
  if (!c->freed && cc_collective_relayed(c)) return cc_collective_barrier(c, err);
  empty = cc_payload_new(0);
  if (!empty) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BARRIER, "out of memory");
  all = calloc((size_t)c->size, sizeof *all);
  if (!all) { cc_payload_unref(empty); return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BARRIER, "out of memory"); }
  st = check_usable(c, err);
  if (st == CC_OK) {
    double deadline = deadline_of(c);
    const int *ranks = all_ranks(c);
    if (!ranks) st = cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BARRIER, "out of memory");
    if (st == CC_OK) st = send_each(c, empty, NULL, ranks, c->size, CC_TAG_BARRIER, err);
    if (st == CC_OK) st = recv_many(c, ranks, c->size, CC_TAG_BARRIER, deadline, true, all, err);
    free_ranks(ranks);
  }
  cc_payloads_free(all, c->size);
  free(all);
  cc_payload_unref(empty);
  return st;
}

cc_status cc_comm_broadcast(cc_comm *c, int src, cc_payload *value, cc_payload **out,
                            cc_error *err) {
  cc_status st = check_usable(c, err);
  *out = NULL;
  if (st == CC_OK) st = check_rank(c, src, "source", err);
  if (st != CC_OK) return st;
  if (cc_collective_relayed(c)) return cc_collective_broadcast(c, src, value, out, err);
  if (c->rank == src) {
    const int *ranks = all_ranks(c);
    if (!ranks) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BROADCAST, "out of memory");
    st = send_each(c, value, NULL, ranks, c->size, CC_TAG_BROADCAST, err);
    free_ranks(ranks);
    if (st != CC_OK) return st;
  }
  return recv_from(c, src, CC_TAG_BROADCAST, true, out, err);
}

cc_status cc_comm_gatherv(cc_comm *c, const int *srcs, int nsrcs, cc_payload *mine, int dst,
                          int32_t tag, cc_payload **out, cc_error *err) {
  bool contribute = false;
  cc_status st = check_usable(c, err);
  double deadline = deadline_of(c);
  if (st == CC_OK) st = check_rank(c, dst, "destination", err);
  for (int i = 0; st == CC_OK && i < nsrcs; i++) {
    st = check_rank(c, srcs[i], "source", err);
    for (int j = 0; st == CC_OK && j < i; j++)
      if (srcs[j] == srcs[i])
        st = cc_error_set(err, CC_EINVALID, srcs[i], tag, "source rank %d listed twice", srcs[i]);
    if (srcs[i] == c->rank) contribute = true;
  }
  if (st != CC_OK) return st;
  if (contribute) {
    st = send_each(c, mine, NULL, &dst, 1, tag, err);
    if (st != CC_OK) return st;
  }
  if (c->rank != dst) return CC_OK;
  memset(out, 0, (size_t)c->size * sizeof *out);
  st = recv_many(c, srcs, nsrcs, tag, deadline, true, out, err);
  if (st != CC_OK) cc_payloads_free(out, c->size);
  return st;
}

cc_status cc_comm_scatterv(cc_comm *c, int src, cc_payload *const *values, const int *dsts,
                           int ndsts, int32_t tag, cc_payload **out, cc_error *err) {
  bool receive = false;
  cc_status st = check_usable(c, err);
  *out = NULL;
  if (st == CC_OK) st = check_rank(c, src, "source", err);
  for (int i = 0; st == CC_OK && i < ndsts; i++) {
    st = check_rank(c, dsts[i], "destination", err);
    if (st == CC_OK && dsts[i] == c->rank) receive = true;
  }
  if (st != CC_OK) return st;
  if (c->rank == src) {
    st = send_each(c, NULL, values, dsts, ndsts, tag, err);
    if (st != CC_OK) return st;
  }
  if (!receive) return CC_OK;
  return recv_from(c, src, tag, true, out, err);
}

/* Check the lists of cc_comm_exchange: ranks in range, none twice in a and
 * b together, and (unless self_ok) not this player's. */
static cc_status check_pair_lists(cc_comm *c, const int *a, int na, const int *b, int nb,
                                  bool self_ok, const char *what, uint8_t *seen, cc_error *err) {
  memset(seen, 0, (size_t)c->size);
  for (int i = 0; i < na + nb; i++) {
    int r = i < na ? a[i] : b[i - na];
    cc_status st = check_rank(c, r, what, err);
    if (st != CC_OK) return st;
    if (seen[r])
      return cc_error_set(err, CC_EINVALID, r, CC_TAG_EXCHANGE, "%s rank %d listed twice", what, r);
    if (r == c->rank && !(self_ok && i < na))
      return cc_error_set(err, CC_EINVALID, r, CC_TAG_EXCHANGE,
                          "%s rank %d is this player's own", what, r);
    seen[r] = 1;
  }
  return CC_OK;
}

static cc_status exchange(cc_comm *c, cc_payload *mine, const int *to, int nto,
                          const int *notify, int nnotify, const int *from, int nfrom,
                          const int *await, int nawait, cc_payload **out, bool checked,
                          cc_error *err) {
  const int32_t tag = CC_TAG_EXCHANGE;
  double deadline = deadline_of(c);
  uint8_t seen_buf[LIST_ON_STACK], *seen = seen_buf;
  int srcs_buf[LIST_ON_STACK], *srcs, nsrcs = 0;
  bool keep_mine = false;
  cc_payload *empty = NULL;
  cc_status st = check_usable(c, err);
  if (st != CC_OK) return st;
  memset(out, 0, (size_t)c->size * sizeof *out);
  if (!checked && c->size > LIST_ON_STACK) seen = malloc((size_t)c->size);
  srcs = c->size <= LIST_ON_STACK ? srcs_buf : malloc((size_t)c->size * sizeof *srcs);
  if (!seen || !srcs) {
    st = cc_error_set(err, CC_ENOMEM, -1, tag, "out of memory");
    goto done;
  }
  if (!checked) {
    st = check_pair_lists(c, to, nto, notify, nnotify, false, "destination", seen, err);
    if (st == CC_OK)
      st = check_pair_lists(c, from, nfrom, await, nawait, true, "source", seen, err);
    if (st != CC_OK) goto done;
  }
  for (int i = 0; i < nfrom + nawait; i++) {
    int r = i < nfrom ? from[i] : await[i - nfrom];
    if (r == c->rank) keep_mine = true; else srcs[nsrcs++] = r;
  }
  if (nnotify > 0 && !c->empty && !(c->empty = cc_payload_new(0))) {
    st = cc_error_set(err, CC_ENOMEM, -1, tag, "out of memory");
    goto done;
  }
  empty = c->empty;
  /* Even with nothing to send: a call on a revoked communicator raises. */
  if (nto + nnotify <= LIST_ON_STACK) {   /* the links looked up at once */
    cc_net_link *links[LIST_ON_STACK];
    st = begin_sends_to(c, tag, to, nto, notify, nnotify, links, err);
    if (st != CC_OK) goto done;
    for (int i = 0; st == CC_OK && i < nto + nnotify; i++)
      st = i < nto ? send_on(c, mine, to[i], links[i], tag, err)
                   : send_on(c, empty, notify[i - nto], links[i], tag, err);
  } else {
    st = begin_sends(c, -1, tag, err);
    if (st != CC_OK) goto done;
    for (int i = 0; st == CC_OK && i < nto + nnotify; i++)
      st = i < nto ? send_one(c, mine, to[i], tag, false, err)
                   : send_one(c, empty, notify[i - nto], tag, false, err);
  }
  end_sends(c);
  if (st != CC_OK) goto done;
  if (nsrcs > 0) st = recv_many(c, srcs, nsrcs, tag, deadline, true, out, err);
  if (st != CC_OK) {
    cc_payloads_free(out, c->size);
    goto done;
  }
  for (int i = 0; i < nawait; i++) {   /* the empty messages: only waited for */
    cc_payload_unref(out[await[i]]);
    out[await[i]] = NULL;
  }
  if (keep_mine) out[c->rank] = cc_payload_ref(mine);
done:
  free_list(seen, seen_buf);
  free_list(srcs, srcs_buf);
  return st;
}

cc_status cc_comm_exchange(cc_comm *c, cc_payload *mine, const int *to, int nto,
                           const int *notify, int nnotify, const int *from, int nfrom,
                           const int *await, int nawait, cc_payload **out, cc_error *err) {
  return exchange(c, mine, to, nto, notify, nnotify, from, nfrom, await, nawait, out, false, err);
}

cc_status _cc_comm_exchange_checked(cc_comm *c, cc_payload *mine, const int *to, int nto,
                                    const int *notify, int nnotify, const int *from, int nfrom,
                                    const int *await, int nawait, cc_payload **out,
                                    cc_error *err) {
  return exchange(c, mine, to, nto, notify, nnotify, from, nfrom, await, nawait, out, true, err);
}

/* ==== Revoke and failures ================================================= */

cc_status cc_comm_revoke(cc_comm *c, cc_error *err) {
  bool first;
  cc_status st = check_usable(c, err);
  if (st != CC_OK) return st;
  cc_net_lock(c->eng->net);
  first = mark_revoked_locked(c, c->rank);
  cc_net_unlock(c->eng->net);
  /* Only the first revoke here sends: a notice from someone else has
   * already been passed on by the I/O thread. */
  if (first) {
    int *to = malloc((size_t)c->size * sizeof *to), n = 0;
    if (!to) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
    for (int i = 0; i < c->size; i++) if (i != c->rank) to[n++] = c->members[i];
    cc_net_send_revoke(c->eng->net, c->context, c->eng->rank, to, n);
    free(to);
  }
  return CC_OK;
}

int cc_comm_failed(const cc_comm *c, int *out) {
  int n = 0;
  cc_net_lock(c->eng->net);
  for (int i = 0; i < c->size; i++)
    if (i != c->rank && cc_net_peer_failed_locked(c->eng->net, c->members[i])) out[n++] = i;
  cc_net_unlock(c->eng->net);
  return n;
}
