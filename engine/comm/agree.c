/*
 * agree.c - fault-tolerant agreement among the surviving members of a
 * communicator, and the three calls built on it: agree, shrink and split.
 *
 * Failures are crashes, and a link that closes stays closed at both ends, so
 * "member j is down" (its link failed or it departed) is a perfect failure
 * detector in practice. On that the agreement runs in two phases over the
 * links that already exist:
 *
 *   1. Every member sends its vote (a flag and an optional name) to every
 *      member it believes alive, and waits for each member's vote until it
 *      arrives or that member is down. Its estimate is then: the AND of the
 *      flags it received, and the members it heard from that are not down.
 *   2. Rotating coordinators: in round r = 0..n-1, member r sends its
 *      estimate to everyone; every other member waits for it until it
 *      arrives (and adopts it) or member r is down. After the last round
 *      every member decides its estimate.
 *
 * The first round whose coordinator stays alive gives every survivor the
 * same estimate, and every later coordinator holds that estimate too, so
 * all survivors decide the same flag and members, also when coordinators
 * die halfway through their round. A member left out of the decision gets
 * CC_EEXCLUDED. Messages carry the agreement's number and round, so that a
 * fast member's next agreement never mixes with a slow member's current one;
 * they use library tags and pass a revoked communicator.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm_internal.h"
#include "core/control.h"

/* The messages' format: core/control.h. */
enum { MSG_VOTE = CC_AGREE_VOTE, MSG_ESTIMATE = CC_AGREE_ESTIMATE };
enum { OUT = CC_AGREE_OUT, IN = CC_AGREE_IN, IN_NAMED = CC_AGREE_IN_NAMED };
#define MAX_NAME_BYTES CC_AGREE_NAME_MAX

/* ==== Estimates and their encoding ========================================= */

typedef struct estimate {
  bool flag;
  int n;
  uint8_t *state;          /* per comm rank: OUT, IN or IN_NAMED */
  char **names;            /* per comm rank, for IN_NAMED */
} estimate;

static bool estimate_init(estimate *e, int n) {
  e->flag = true;
  e->n = n;
  e->state = calloc((size_t)n, sizeof *e->state);
  e->names = calloc((size_t)n, sizeof *e->names);
  return e->state && e->names;
}

static void estimate_clear(estimate *e) {
  for (int i = 0; e->names && i < e->n; i++) free(e->names[i]);
  free(e->names);
  free(e->state);
  e->names = NULL;
  e->state = NULL;
}

/* ==== One agreement ======================================================== */

typedef struct agreement {
  cc_comm *c;
  int32_t tag;
  uint32_t seq;
  double deadline;
  double timeout_s;
  estimate est;
} agreement;

/* Send to every member believed alive; a send that fails is a failure the
 * waits below will see, so it is not an error here. */
static cc_status send_all(agreement *a, cc_buf *w, cc_error *err) {
  cc_comm *c = a->c;
  cc_payload *p;
  p = cc_payload_take(w->data, w->len);
  if (!p) return cc_error_set(err, CC_ENOMEM, -1, a->tag, "out of memory");
  cc_buf_init(w);
  for (int j = 0; j < c->size; j++) {
    bool down;
    if (j == c->rank) continue;
    cc_net_lock(c->eng->net);
    down = cc_comm_peer_down_locked(c, j) != NULL;
    cc_net_unlock(c->eng->net);
    if (c->eng->agree_kill_after == 0) raise(SIGKILL);   /* see cc_engine_kill_in_agreement */
    if (c->eng->agree_kill_after > 0) c->eng->agree_kill_after--;
    if (!down && cc_net_send(c->eng->net, c->members[j], CC_FRAME_DATA, c->context, a->tag, p))
      cc_comm_count(c, j, a->tag, p->len, true);
  }
  cc_payload_unref(p);
  return CC_OK;
}

/* Take the message (kind, round) of this agreement from member src's
 * queue, dropping any left over from an earlier agreement. */
static cc_msg *take_msg_locked(const agreement *a, int src, uint8_t kind, uint32_t round) {
  cc_queue *q = &a->c->queues[src];
  cc_msg *prev = NULL, *m = q->head;
  CC_NET_ASSERT_LOCKED(a->c->eng->net);
  while (m) {
    cc_msg *next = m->next;
    if (m->tag == a->tag) {
      cc_agree_header h;
      bool failed = cc_agree_header_parse(m->payload->data, m->payload->len, &h, NULL, 0) != 0;
      bool mine = !failed && h.seq == a->seq && h.kind == kind && h.round == round;
      if (mine || failed || h.seq < a->seq) {
        if (prev) prev->next = next; else q->head = next;
        if (q->tail == m) q->tail = prev;
        if (mine) return m;
        cc_payload_unref(m->payload);
        free(m);
        m = next;
        continue;
      }
    }
    prev = m;
    m = next;
  }
  return NULL;
}

/* Wait for message (kind, round) from member src. CC_OK with *out NULL
 * means src is down and will never send it. */
static cc_status await(agreement *a, int src, uint8_t kind, uint32_t round, cc_payload **out,
                       cc_error *err) {
  cc_comm *c = a->c;
  cc_engine *eng = c->eng;
  char tb[16];
  cc_status st = CC_OK;
  *out = NULL;
  cc_net_lock(eng->net);
  for (;;) {
    cc_msg *m = take_msg_locked(a, src, kind, round);
    if (m) {
      *out = m->payload;
      cc_comm_count(c, src, a->tag, m->payload->len, false);
      free(m);
      break;
    }
    if (cc_comm_peer_down_locked(c, src)) break;
    if (cc_now() >= a->deadline) {
      st = cc_error_set(err, CC_ETIMEOUT, src, a->tag, "Tag %s from player %d timed-out after %gs",
                         cc_tag_name(a->tag, tb, sizeof tb), src, a->timeout_s);
      break;
    }
    cc_net_wait_locked(eng->net, a->deadline);
  }
  cc_net_unlock(eng->net);
  return st;
}

/* Phase 1: exchange votes; the estimate becomes what this member saw. */
static cc_status exchange_votes(agreement *a, bool flag, const char *name, cc_error *err) {
  cc_comm *c = a->c;
  cc_buf w;
  cc_status st;
  cc_buf_init(&w);
  if (cc_agree_vote_pack(&w, a->seq, flag, name) != 0) {
    cc_buf_free(&w);
    return cc_error_set(err, CC_ENOMEM, -1, a->tag, "out of memory");
  }
  st = send_all(a, &w, err);
  cc_buf_free(&w);
  if (st != CC_OK) return st;

  a->est.flag = flag;
  a->est.state[c->rank] = name ? IN_NAMED : IN;
  if (name && !(a->est.names[c->rank] = strdup(name)))
    return cc_error_set(err, CC_ENOMEM, -1, a->tag, "out of memory");
  for (int j = 0; j < c->size; j++) {
    cc_payload *p;
    bool f;
    uint8_t state;
    if (j == c->rank) continue;
    st = await(a, j, MSG_VOTE, 0, &p, err);
    if (st != CC_OK) return st;
    if (!p) continue;
    if (cc_agree_vote_parse(p->data, p->len, NULL, &f, &state, &a->est.names[j], NULL, 0) == 0) {
      a->est.flag = a->est.flag && f;
      a->est.state[j] = state;
    } else {
      cc_net_log(c->eng->net, CC_LOG_WARNING, "Comm %s player %d: malformed vote from player %d",
                 c->name, c->rank, j);
    }
    cc_payload_unref(p);
  }
  /* Leave out whoever failed after voting. */
  cc_net_lock(c->eng->net);
  for (int j = 0; j < c->size; j++)
    if (a->est.state[j] != OUT && cc_comm_peer_down_locked(c, j)) a->est.state[j] = OUT;
  cc_net_unlock(c->eng->net);
  return CC_OK;
}

/* Adopt the estimate in payload p if it is well formed. */
static void adopt(agreement *a, cc_payload *p, int from) {
  estimate e;
  if (!estimate_init(&e, a->est.n)) { estimate_clear(&e); return; }
  if (cc_agree_estimate_parse(p->data, p->len, e.n, NULL, &e.flag, e.state, e.names, NULL,
                              0) == 0) {
    estimate_clear(&a->est);
    a->est = e;
    return;
  }
  cc_net_log(a->c->eng->net, CC_LOG_WARNING, "Comm %s player %d: malformed estimate from player %d",
             a->c->name, a->c->rank, from);
  estimate_clear(&e);
}

/* Phase 2: one round per member, member r coordinating round r. */
static cc_status rotate_coordinators(agreement *a, cc_error *err) {
  cc_comm *c = a->c;
  for (int r = 0; r < c->size; r++) {
    cc_status st;
    if (r == c->rank) {
      cc_buf w;
      cc_buf_init(&w);
      if (cc_agree_estimate_pack(&w, a->seq, (uint32_t)r, a->est.flag, a->est.n, a->est.state,
                                 a->est.names) != 0) {
        cc_buf_free(&w);
        return cc_error_set(err, CC_ENOMEM, -1, a->tag, "out of memory");
      }
      st = send_all(a, &w, err);
      cc_buf_free(&w);
    } else {
      cc_payload *p;
      st = await(a, r, MSG_ESTIMATE, (uint32_t)r, &p, err);
      if (st == CC_OK && p) {
        adopt(a, p, r);
        cc_payload_unref(p);
      }
    }
    if (st != CC_OK) return st;
  }
  return CC_OK;
}

/* A player that was only frozen wakes to find every link closed: alone, it
 * would decide a world of its own. But whoever closed a link for silence
 * said so first (CC_FRAME_SUSPECT), and will decide without it. */
static cc_status check_suspected(cc_comm *c, int32_t tag, cc_error *err) {
  char tb[16];
  int by = -1;
  cc_net_lock(c->eng->net);
  for (int j = 0; j < c->size && by < 0; j++)
    if (j != c->rank && cc_net_peer_suspects_me_locked(c->eng->net, c->members[j])) by = j;
  cc_net_unlock(c->eng->net);
  if (by < 0) return CC_OK;
  return cc_error_set(err, CC_EEXCLUDED, by, tag,
                       "Comm %s player %d was left out of %s: player %d declared it failed "
                       "after it was silent past the heartbeat timeout",
                       c->name, c->rank, cc_tag_name(tag, tb, sizeof tb), by);
}

/* From the side that is cut off, a partition looks like the death of
 * everyone else. A killed player's connections close, but a partition's
 * only go silent: so a decision that leaves players behind for silence
 * stands only where a strict majority of the communicator remains, and a
 * minority cut off gets `excluded` instead of a world of its own. */
static cc_status check_majority(const agreement *a, cc_error *err) {
  cc_comm *c = a->c;
  char tb[16];
  int in = 0, silent = -1;
  for (int j = 0; j < c->size; j++) if (a->est.state[j] != OUT) in++;
  cc_net_lock(c->eng->net);
  for (int j = 0; j < c->size && silent < 0; j++)
    if (j != c->rank && a->est.state[j] == OUT &&
        cc_net_peer_silent_locked(c->eng->net, c->members[j]))
      silent = j;
  cc_net_unlock(c->eng->net);
  if (silent < 0 || 2 * in > c->size) return CC_OK;
  return cc_error_set(err, CC_EEXCLUDED, silent, a->tag,
                       "Comm %s player %d was left out of %s: player %d went silent and only "
                       "%d of %d players remain here, too few to tell a death from a partition",
                       c->name, c->rank, cc_tag_name(a->tag, tb, sizeof tb), silent, in, c->size);
}

/* Run one agreement on c; on CC_OK, a->est holds the decision and this
 * member is in it. The caller clears a->est in every case. */
static cc_status run(agreement *a, cc_comm *c, int32_t tag, double timeout_s, bool flag,
                     const char *name, cc_error *err) {
  char tb[16];
  cc_status st;
  memset(a, 0, sizeof *a);
  if (c->freed) return cc_error_set(err, CC_ENOT_RUNNING, -1, tag, "Comm %s was freed", c->name);
  if (name && strlen(name) > MAX_NAME_BYTES)
    return cc_error_set(err, CC_EINVALID, -1, tag, "name longer than %d bytes", MAX_NAME_BYTES);
  a->c = c;
  a->tag = tag;
  a->timeout_s = timeout_s > 0 ? timeout_s : c->timeout_s;
  a->deadline = cc_now() + a->timeout_s;
  a->seq = c->agree_seq++;
  if (!estimate_init(&a->est, c->size))
    return cc_error_set(err, CC_ENOMEM, -1, tag, "out of memory");
  st = check_suspected(c, tag, err);
  if (st != CC_OK) return st;
  st = exchange_votes(a, flag, name, err);
  if (st == CC_OK) st = rotate_coordinators(a, err);
  /* Again at the end: a frozen player may have started before reading
   * the notices; every link it waited on is settled now, notices first. */
  if (st == CC_OK) st = check_suspected(c, tag, err);
  if (st == CC_OK) st = check_majority(a, err);
  if (st == CC_OK && a->est.state[c->rank] == OUT)
    st = cc_error_set(err, CC_EEXCLUDED, -1, tag,
                       "Comm %s player %d was left out of %s: the other players decided without it",
                       c->name, c->rank, cc_tag_name(tag, tb, sizeof tb));
  return st;
}

/* ==== agree, shrink, split ================================================== */

cc_status cc_comm_agree(cc_comm *c, bool flag, double timeout_s, bool *out, cc_error *err) {
  agreement a;
  cc_status st = run(&a, c, CC_TAG_AGREE, timeout_s, flag, NULL, err);
  if (st == CC_OK) *out = a.est.flag;
  estimate_clear(&a.est);
  return st;
}

/* Make the communicator of the members in `in` (comm ranks, k of them) under
 * `name`, with a context every one of them derives alike. */
static cc_status derive(cc_comm *parent, uint64_t seq, const char *name, const int *in, int k,
                        cc_comm **out, cc_error *err) {
  int *members = malloc((size_t)(k ? k : 1) * sizeof *members);
  cc_status st;
  if (!members) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory");
  for (int i = 0; i < k; i++) members[i] = parent->members[in[i]];
  st = cc_comm_create(parent->eng, cc_context_derive(parent->context, seq, name, members, k),
                      name, members, k, parent->timeout_s, out, err);
  free(members);
  return st;
}

cc_status cc_comm_shrink(cc_comm *c, const char *name, double timeout_s, cc_comm **out,
                         int *oldranks, int *nold, cc_error *err) {
  agreement a;
  cc_status st = run(&a, c, CC_TAG_SHRINK, timeout_s, true, name, err);
  *out = NULL;
  *nold = 0;
  if (st == CC_OK) {
    const char *agreed = NULL;
    for (int i = 0; i < c->size; i++) {
      if (a.est.state[i] == OUT) continue;
      /* Every member names the new communicator by the first member's
       * name, so that all derive the same context even if names differ. */
      if (!agreed) agreed = a.est.state[i] == IN_NAMED ? a.est.names[i] : c->name;
      oldranks[(*nold)++] = i;
    }
    st = derive(c, c->child_seq++, agreed, oldranks, *nold, out, err);
  }
  estimate_clear(&a.est);
  return st;
}

cc_status cc_comm_split(cc_comm *c, const char *name, double timeout_s, cc_comm **out,
                        cc_error *err) {
  agreement a;
  cc_status st = run(&a, c, CC_TAG_SPLIT, timeout_s, true, name, err);
  *out = NULL;
  if (st == CC_OK) {
    uint64_t seq = c->child_seq++;
    int *in = malloc((size_t)c->size * sizeof *in), k = 0;
    if (!in) st = cc_error_set(err, CC_ENOMEM, -1, CC_TAG_SPLIT, "out of memory");
    for (int i = 0; in && name && i < c->size; i++)
      if (a.est.state[i] == IN_NAMED && strcmp(a.est.names[i], name) == 0) in[k++] = i;
    if (in && name) st = derive(c, seq, name, in, k, out, err);
    free(in);
  }
  estimate_clear(&a.est);
  return st;
}
