/*
 * capi.c - the C API of cicada.h for engines and communicators: checked,
 * thin wrappers over comm.h (engines, communicators, collectives, revoke,
 * agree, shrink, split) and launch.h (cicada_run).
 *
 * Owns the handles. A cicada_engine wraps one cc_engine and keeps every
 * cicada_comm made from it; freeing a communicator or stopping the engine
 * frees what comm.h holds but leaves the handle in place as a tombstone, so
 * that a late call on it is CICADA_ENOT_RUNNING instead of a use after free.
 * Handles are released together by cicada_engine_free. Every message that
 * reaches the caller names the call, and the communicator when there is one.
 * No Lua here; field arithmetic is in capi_field.c, error reporting in
 * capi_error.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cicada.h"
#include "capi/capi_error.h"
#include "comm/comm.h"
#include "core/check.h"
#include "core/log.h"
#include "boot/launch.h"
#include "boot/rendezvous.h"


struct cicada_engine {
  cc_engine *eng;           /* NULL once stopped */
  int rank, world_size;
  cicada_comm *comms;       /* every handle made from this engine */
  cc_launch *launch;        /* in a cicada_run player: where reports go */
};

struct cicada_comm {
  cicada_engine *owner;
  cc_comm *c;               /* NULL once freed */
  cicada_comm *next;
  char name[64];            /* kept for messages after free */
  int rank, size;
  double timeout_s;         /* kept for cicada_comm_timeout after free */
  bool revoked;             /* idem for cicada_comm_revoked */
};

/* ==== Errors ============================================================== */

/* Fill err (if any) about communicator c (may be NULL) and return code. */
static cicada_status fail(cicada_error *err, cicada_status code, const cicada_comm *c, int peer,
                          int32_t tag, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static cicada_status fail(cicada_error *err, cicada_status code, const cicada_comm *c, int peer,
                          int32_t tag, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  code = capi_vfail(err, code, c ? c->name : NULL, c ? c->rank : -1, peer, tag, fmt, ap);
  va_end(ap);
  return code;
}

/* An engine error, with the call's name in front of argument mistakes. */
static cicada_status fail_cc(cicada_error *err, const cicada_comm *c, const char *call,
                             const cc_error *e) {
  cicada_status code = capi_from_cc(e->code);
  if (code == CICADA_EINVALID)
    return fail(err, code, c, e->peer, e->tag, "%s: %s", call, e->message);
  return fail(err, code, c, e->peer, e->tag, "%s", e->message);
}

/* A failed core check (check.h), with the call's name in front. */
static cicada_status fail_check(cicada_error *err, const cicada_comm *c, const char *call,
                                const cc_error *e) {
  return capi_fail_cc(err, c ? c->name : NULL, c ? c->rank : -1, call, e);
}

/* ==== Byte buffers ========================================================= */

void cicada_bytes_free(cicada_bytes *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->len = 0;
}

void cicada_bytes_free_all(cicada_bytes *bs, int n) {
  if (!bs) return;
  for (int i = 0; i < n; i++) cicada_bytes_free(&bs[i]);
}

/* A payload holding a copy of the caller's bytes. */
static cicada_status payload_of(const cicada_comm *c, const char *call, const void *data,
                                size_t len, cc_payload **out, cicada_error *err) {
  *out = NULL;
  if (!data && len > 0)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: data is NULL but len is %zu",
                call, len);
  *out = cc_payload_new(len);
  if (!*out) return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  if (len > 0) memcpy((*out)->data, data, len);
  return CICADA_OK;
}

/* Move a received payload into *out, without a copy when this was its only
 * reference and its bytes are a buffer of their own (a small message's, in
 * the payload's allocation, are copied). A NULL payload gives {NULL, 0};
 * an empty one a non-NULL data. */
static cicada_status take_payload(const cicada_comm *c, cc_payload *p, cicada_bytes *out,
                                  cicada_error *err) {
  out->data = NULL;
  out->len = 0;
  size_t len;
  if (!p) return CICADA_OK;
  len = p->len;
  if (atomic_load(&p->refs) == 1 && p->data && !cc_payload_inline(p)) {
    out->data = p->data;
    p->data = NULL;
  } else {
    out->data = malloc(len ? len : 1);
    if (out->data && len) memcpy(out->data, p->data, len);
  }
  cc_payload_unref(p);
  if (!out->data)
    return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "out of memory receiving %zu bytes",
                len);
  out->len = len;
  return CICADA_OK;
}

/* Move n payloads (indexed as `from`, picked by pick or 0..n-1) into out. */
static cicada_status take_payloads(const cicada_comm *c, cc_payload **from, const int *pick,
                                   int n, cicada_bytes *out, cicada_error *err) {
  cicada_status st = CICADA_OK;
  for (int i = 0; i < n; i++) {
    int r = pick ? pick[i] : i;
    cicada_status s = take_payload(c, from[r], &out[i], err);
    from[r] = NULL;
    if (s != CICADA_OK) st = s;
  }
  if (st != CICADA_OK) cicada_bytes_free_all(out, n);
  return st;
}

/* ==== Handles ================================================================ */

static cicada_status usable(const cicada_comm *c, const char *call, cicada_error *err) {
  cc_error e;
  if (!c) return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE, "%s: communicator is NULL", call);
  if (cc_check_comm_live(c->name, c->owner->rank, c->c != NULL, c->owner->eng != NULL, &e) != CC_OK)
    return fail_check(err, c, call, &e);
  return CICADA_OK;
}

static cicada_status check_rank(const cicada_comm *c, const char *call, const char *what, int r,
                                cicada_error *err) {
  cc_error e;
  if (cc_check_rank(r, c->size, what, &e) != CC_OK) return fail_check(err, c, call, &e);
  return CICADA_OK;
}

/* A list of n distinct ranks of c (sources or destinations). */
static cicada_status check_rank_list(const cicada_comm *c, const char *call, const char *what,
                                     const int *ranks, int n, cicada_error *err) {
  cc_error e;
  if (n > 0 && !ranks)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: %s ranks are NULL", call, what);
  if (cc_check_rank_list(ranks, n, c->size, what, &e) != CC_OK) return fail_check(err, c, call, &e);
  return CICADA_OK;
}

static cicada_status check_tag(const cicada_comm *c, const char *call, int32_t tag,
                               cicada_error *err) {
  cc_error e;
  if (cc_check_user_tag(tag, &e) != CC_OK) return fail_check(err, c, call, &e);
  return CICADA_OK;
}

static cicada_status check_count(const cicada_comm *c, const char *call, const char *what,
                                 int got, int want, cicada_error *err) {
  if (got != want)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
                "%s: %s has %d entries, expected %d", call, what, got, want);
  return CICADA_OK;
}

/* A handle for a communicator the engine just made; frees it on failure. */
static cicada_status adopt(cicada_engine *owner, cc_comm *cc, const char *call, cicada_comm **out,
                           cicada_error *err) {
  cicada_comm *h = calloc(1, sizeof *h);
  *out = NULL;
  if (!h) {
    cc_comm_free(cc);
    return fail(err, CICADA_ENOMEM, NULL, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  }
  h->owner = owner;
  h->c = cc;
  h->rank = cc_comm_rank(cc);
  h->size = cc_comm_size(cc);
  h->timeout_s = cc_comm_timeout(cc);
  snprintf(h->name, sizeof h->name, "%s", cc_comm_name(cc));
  h->next = owner->comms;
  owner->comms = h;
  *out = h;
  return CICADA_OK;
}

static void release_comm(cicada_comm *h) {
  if (!h->c) return;
  h->revoked = cc_comm_revoked(h->c);
  h->timeout_s = cc_comm_timeout(h->c);
  cc_comm_free(h->c);
  h->c = NULL;
}

/* ==== Engines ================================================================ */

void cicada_settings_init(cicada_settings *s) {
  cc_settings d;
  if (!s) return;
  cc_settings_default(&d);
  memset(s, 0, sizeof *s);
  s->rank = 0;
  s->world_size = d.world_size;
  s->listen_fd = -1;
  s->startup_timeout_s = d.startup_timeout_s;
  s->heartbeat_interval_s = d.heartbeat_interval_s;
  s->heartbeat_timeout_s = d.heartbeat_timeout_s;
  s->max_frame_bytes = d.max_frame_bytes;
}

/* Bind and listen on host:port for this player. */
static cicada_status listen_on(const char *host, uint16_t port, int rank, int *fd_out,
                               cicada_error *err) {
  char why[200];
  int fd = cc_listen_on(host, port, why, sizeof why);
  if (fd < 0)
    return fail(err, CICADA_EIO, NULL, -1, CICADA_TAG_NONE,
                "cicada_engine_connect: player %d %s", rank, why);
  *fd_out = fd;
  return CICADA_OK;
}

static cicada_status check_settings(const cicada_settings *s, cicada_error *err) {
  const char *call = "cicada_engine_connect";
  cc_error e;
  if (cc_check_world_size(s->world_size, &e) != CC_OK ||
      cc_check_player_rank(s->rank, s->world_size, &e) != CC_OK ||
      cc_check_positive("startup_timeout_s", s->startup_timeout_s, &e) != CC_OK ||
      cc_check_heartbeat(s->heartbeat_interval_s, s->heartbeat_timeout_s, &e) != CC_OK)
    return fail_check(err, NULL, call, &e);
  if (s->world_size == 1) return CICADA_OK;
  if (!s->hosts || !s->ports)
    return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE,
                "%s: a world of %d players needs hosts and ports", call, s->world_size);
  for (int i = 0; i < s->world_size; i++)
    if (!s->hosts[i] || (s->ports[i] == 0 && (i != s->rank || s->listen_fd < 0)))
      return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE,
                  "%s: no address for player %d (hosts[%d] and ports[%d])", call, i, i, i);
  return CICADA_OK;
}

/* Start an engine from complete engine settings; the handle owns it. */
static cicada_status start_engine(const cc_settings *cs, cicada_engine **out, cicada_error *err) {
  cicada_engine *h = calloc(1, sizeof *h);
  cc_error e;
  if (!h) {
    if (cs->listen_fd >= 0) close(cs->listen_fd);
    return fail(err, CICADA_ENOMEM, NULL, -1, CICADA_TAG_NONE,
                "cicada_engine_connect: out of memory");
  }
  if (cc_engine_start(cs, &h->eng, &e) != CC_OK) {
    free(h);
    return fail_cc(err, NULL, "cicada_engine_connect", &e);
  }
  h->rank = cs->rank;
  h->world_size = cs->world_size;
  *out = h;
  return capi_ok(err);
}

cicada_status cicada_engine_connect(const cicada_settings *s, cicada_engine **out,
                                    cicada_error *err) {
  cc_settings cs;
  cicada_status st;
  int fd;
  if (!out)
    return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE, "cicada_engine_connect: out is NULL");
  *out = NULL;
  if (!s)
    return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE,
                "cicada_engine_connect: settings are NULL");
  fd = s->listen_fd;
  st = check_settings(s, err);
  if (st == CICADA_OK && fd < 0 && s->world_size > 1)
    st = listen_on(s->hosts[s->rank], s->ports[s->rank], s->rank, &fd, err);
  if (st != CICADA_OK) {
    if (fd >= 0) close(fd);
    return st;
  }
  cc_settings_default(&cs);
  cs.rank = s->rank;
  cs.world_size = s->world_size;
  cs.token = s->token;
  cs.startup_timeout_s = s->startup_timeout_s;
  cs.heartbeat_interval_s = s->heartbeat_interval_s;
  cs.heartbeat_timeout_s = s->heartbeat_timeout_s;
  if (s->max_frame_bytes > 0) cs.max_frame_bytes = s->max_frame_bytes;
  cs.listen_fd = fd;
  cs.peer_hosts = s->hosts;
  cs.peer_ports = s->ports;
  cs.log = s->log;
  cs.log_ctx = s->log_ctx;
  return start_engine(&cs, out, err);
}

cicada_status cicada_engine_world(cicada_engine *eng, const char *name, double timeout_s,
                                  cicada_comm **out, cicada_error *err) {
  const char *call = "cicada_engine_world";
  cc_comm *cc;
  cc_error e;
  if (!out) return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE, "%s: out is NULL", call);
  *out = NULL;
  if (!eng) return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE, "%s: engine is NULL", call);
  if (cc_check_engine_live(eng->rank, eng->eng != NULL, &e) != CC_OK)
    return fail_check(err, NULL, call, &e);
  if (cc_comm_world(eng->eng, name ? name : "world",
                    timeout_s > 0 ? timeout_s : CC_DEFAULT_COMM_TIMEOUT_S, &cc, &e) != CC_OK)
    return fail_cc(err, NULL, call, &e);
  if (adopt(eng, cc, call, out, err) != CICADA_OK) return CICADA_ENOMEM;
  return capi_ok(err);
}

int cicada_engine_rank(const cicada_engine *eng) { return eng ? eng->rank : -1; }
int cicada_engine_world_size(const cicada_engine *eng) { return eng ? eng->world_size : -1; }

void cicada_engine_stop(cicada_engine *eng) {
  if (!eng || !eng->eng) return;
  for (cicada_comm *h = eng->comms; h; h = h->next) release_comm(h);
  cc_engine_stop(eng->eng);
  eng->eng = NULL;
}

void cicada_engine_free(cicada_engine *eng) {
  if (!eng) return;
  cicada_engine_stop(eng);
  if (eng->launch) return;  /* a cicada_run player: run_player releases it */
  while (eng->comms) {
    cicada_comm *next = eng->comms->next;
    free(eng->comms);
    eng->comms = next;
  }
  free(eng);
}

/* ==== cicada_run ============================================================= */

void cicada_run_options_init(cicada_run_options *o) {
  cc_settings d;
  if (!o) return;
  cc_settings_default(&d);
  memset(o, 0, sizeof *o);
  o->name = "world";
  o->timeout_s = CC_DEFAULT_COMM_TIMEOUT_S;
  o->startup_timeout_s = d.startup_timeout_s;
  o->heartbeat_interval_s = d.heartbeat_interval_s;
  o->heartbeat_timeout_s = d.heartbeat_timeout_s;
  o->grace_s = CC_LAUNCH_DEFAULT_GRACE_S;
  o->log_level = CICADA_LOG_WARNING;
}

static cicada_status check_run_options(const cicada_run_options *o, cicada_error *err) {
  cc_error e;
  if (cc_check_world_size(o->world_size, &e) != CC_OK ||
      cc_check_positive("timeout_s", o->timeout_s, &e) != CC_OK ||
      cc_check_positive("startup_timeout_s", o->startup_timeout_s, &e) != CC_OK ||
      cc_check_positive("grace_s", o->grace_s, &e) != CC_OK ||
      cc_check_heartbeat(o->heartbeat_interval_s, o->heartbeat_timeout_s, &e) != CC_OK)
    return fail_check(err, NULL, "cicada_run", &e);
  return CICADA_OK;
}

/* In a forked player: start its engine, run fn and exit with its status. */
static _Noreturn void run_player(cc_launch *l, int rank, const cicada_run_options *o,
                                 cicada_player_fn fn, void *arg) {
  cc_settings cs;
  cicada_engine *eng = NULL;
  cicada_comm *world = NULL;
  cicada_error e;
  atomic_int level = o->log_level;
  int code;

  cc_settings_default(&cs);
  cc_launch_player_settings(l, rank, &cs);
  cs.startup_timeout_s = o->startup_timeout_s;
  cs.heartbeat_interval_s = o->heartbeat_interval_s;
  cs.heartbeat_timeout_s = o->heartbeat_timeout_s;
  cs.log = cc_log_stderr;
  cs.log_ctx = &level;
  if (start_engine(&cs, &eng, &e) != CICADA_OK ||
      cicada_engine_world(eng, o->name ? o->name : "world", o->timeout_s, &world, &e) != CICADA_OK)
    cc_launch_player_abort(rank, e.message);
  eng->launch = l;
  code = fn(world, arg);
  eng->launch = NULL;
  cicada_engine_free(eng);
  cc_launch_free(l);
  fflush(NULL);
  _exit(code & 0xff);
}

cicada_status cicada_run(const cicada_run_options *o, cicada_player_fn fn, void *arg,
                         cicada_player_result *results, int nresults, cicada_error *err) {
  const char *call = "cicada_run";
  cc_launch l;
  cc_player_result *got;
  char msg[256];
  int rank;
  cicada_status st;
  if (!o || !fn || !results)
    return fail(err, CICADA_EINVALID, NULL, -1, CICADA_TAG_NONE,
                "%s: options, player function and results must not be NULL", call);
  st = check_run_options(o, err);
  if (st == CICADA_OK) st = check_count(NULL, call, "results", nresults, o->world_size, err);
  if (st != CICADA_OK) return st;
  memset(results, 0, (size_t)nresults * sizeof *results);
  switch (cc_launch_start(&l, o->world_size, &rank, msg, sizeof msg)) {
  case -1: return fail(err, CICADA_EIO, NULL, -1, CICADA_TAG_NONE, "%s: %s", call, msg);
  case 1: run_player(&l, rank, o, fn, arg);
  default: break;
  }
  got = cc_launch_collect(&l, o->grace_s);
  if (!got)
    return fail(err, CICADA_ENOMEM, NULL, -1, CICADA_TAG_NONE,
                "%s: out of memory waiting for the players (they were killed)", call);
  for (int i = 0; i < nresults; i++) {
    results[i].pid = got[i].pid;
    results[i].exitcode = got[i].exitcode;
    results[i].report.data = got[i].data;  /* NULL for a player that reported nothing */
    results[i].report.len = got[i].len;
  }
  free(got);
  return capi_ok(err);
}

cicada_status cicada_report(cicada_comm *c, const void *data, size_t len, cicada_error *err) {
  const char *call = "cicada_report";
  cicada_status st = usable(c, call, err);
  if (st != CICADA_OK) return st;
  if (!c->owner->launch)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
                "%s: player %d was not started by cicada_run", call, c->owner->rank);
  if (!data && len > 0)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: data is NULL but len is %zu",
                call, len);
  if (len > 0 && cc_launch_report(c->owner->launch, data, len) != 0)
    return fail(err, CICADA_EIO, c, -1, CICADA_TAG_NONE, "%s: cannot write to the parent: %s", call,
                strerror(errno));
  return capi_ok(err);
}

void cicada_player_results_free(cicada_player_result *results, int n) {
  if (!results) return;
  for (int i = 0; i < n; i++) cicada_bytes_free(&results[i].report);
}

/* ==== Communicators ========================================================== */

int cicada_comm_rank(const cicada_comm *c) { return c ? c->rank : -1; }
int cicada_comm_size(const cicada_comm *c) { return c ? c->size : 0; }
const char *cicada_comm_name(const cicada_comm *c) { return c ? c->name : NULL; }
cicada_engine *cicada_comm_engine(const cicada_comm *c) { return c ? c->owner : NULL; }

double cicada_comm_timeout(const cicada_comm *c) {
  if (!c) return 0;
  return c->c && c->owner->eng ? cc_comm_timeout(c->c) : c->timeout_s;
}

bool cicada_comm_revoked(const cicada_comm *c) {
  if (!c) return false;
  return c->c && c->owner->eng ? cc_comm_revoked(c->c) : c->revoked;
}

cicada_status cicada_comm_set_timeout(cicada_comm *c, double timeout_s, cicada_error *err) {
  cicada_status st = usable(c, "cicada_comm_set_timeout", err);
  if (st != CICADA_OK) return st;
  if (!(timeout_s > 0))
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
                "cicada_comm_set_timeout: timeout %g must be a positive number of seconds",
                timeout_s);
  cc_comm_set_timeout(c->c, timeout_s);
  c->timeout_s = timeout_s;
  return capi_ok(err);
}

void cicada_comm_free(cicada_comm *c) {
  if (!c || !c->owner->eng) return;
  release_comm(c);
}

/* ==== Point to point ========================================================= */

cicada_status cicada_send(cicada_comm *c, const void *data, size_t len, int dst, int32_t tag,
                          cicada_error *err) {
  const char *call = "cicada_send";
  cc_payload *p;
  cc_error e;
  cc_status s;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK) st = check_rank(c, call, "destination", dst, err);
  if (st == CICADA_OK) st = check_tag(c, call, tag, err);
  if (st == CICADA_OK) st = payload_of(c, call, data, len, &p, err);
  if (st != CICADA_OK) return st;
  s = cc_comm_send(c->c, p, dst, tag, &e);
  cc_payload_unref(p);
  return s == CC_OK ? capi_ok(err) : fail_cc(err, c, call, &e);
}

static cicada_status check_recv(cicada_comm *c, const char *call, int src, int32_t tag,
                                bool have_out, cicada_error *err) {
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK) st = check_rank(c, call, "source", src, err);
  if (st == CICADA_OK) st = check_tag(c, call, tag, err);
  if (st == CICADA_OK && !have_out)
    st = fail(err, CICADA_EINVALID, c, src, tag, "%s: the output buffer is NULL", call);
  return st;
}

cicada_status cicada_recv(cicada_comm *c, int src, int32_t tag, cicada_bytes *out,
                          cicada_error *err) {
  const char *call = "cicada_recv";
  cc_payload *p;
  cc_error e;
  cicada_status st = check_recv(c, call, src, tag, out != NULL, err);
  if (st != CICADA_OK) return st;
  out->data = NULL;
  out->len = 0;
  if (cc_comm_recv(c->c, src, tag, &p, &e) != CC_OK) return fail_cc(err, c, call, &e);
  st = take_payload(c, p, out, err);
  return st == CICADA_OK ? capi_ok(err) : st;
}

cicada_status cicada_recv_into(cicada_comm *c, int src, int32_t tag, void *buf, size_t len,
                               cicada_error *err) {
  const char *call = "cicada_recv_into";
  cc_payload *p;
  cc_error e;
  cicada_status st = check_recv(c, call, src, tag, buf != NULL || len == 0, err);
  if (st != CICADA_OK) return st;
  if (cc_comm_recv(c->c, src, tag, &p, &e) != CC_OK) return fail_cc(err, c, call, &e);
  if (p->len != len) {
    size_t got = p->len;
    cc_payload_unref(p);
    return fail(err, CICADA_EINVALID, c, src, tag,
                "%s: Comm %s: message from player %d with tag %d has %zu bytes, the buffer %zu",
                call, c->name, src, (int)tag, got, len);
  }
  if (len > 0) memcpy(buf, p->data, len);
  cc_payload_unref(p);
  return capi_ok(err);
}

cicada_status cicada_try_recv(cicada_comm *c, int src, int32_t tag, cicada_bytes *out,
                              bool *received, cicada_error *err) {
  const char *call = "cicada_try_recv";
  cc_payload *p;
  cc_error e;
  cicada_status st = check_recv(c, call, src, tag, out != NULL, err);
  if (st == CICADA_OK && !received)
    st = fail(err, CICADA_EINVALID, c, src, tag, "%s: received is NULL", call);
  if (st != CICADA_OK) return st;
  *received = false;
  out->data = NULL;
  out->len = 0;
  if (cc_comm_try_recv(c->c, src, tag, &p, &e) != CC_OK) return fail_cc(err, c, call, &e);
  if (!p) return capi_ok(err);
  st = take_payload(c, p, out, err);
  if (st != CICADA_OK) return st;
  *received = true;
  return capi_ok(err);
}

/* ==== Collectives ============================================================= */

/* Room for one payload per member. */
static cicada_status payload_slots(const cicada_comm *c, const char *call, cc_payload ***out,
                                   cicada_error *err) {
  *out = calloc((size_t)c->size, sizeof **out);
  if (!*out) return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  return CICADA_OK;
}

cicada_status cicada_allgather(cicada_comm *c, const void *data, size_t len, cicada_bytes *all,
                               int nall, cicada_error *err) {
  const char *call = "cicada_allgather";
  cc_payload *mine = NULL, **slots = NULL;
  cc_error e;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK && !all)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: all is NULL", call);
  if (st == CICADA_OK) st = check_count(c, call, "all", nall, c->size, err);
  if (st == CICADA_OK) st = payload_of(c, call, data, len, &mine, err);
  if (st == CICADA_OK) st = payload_slots(c, call, &slots, err);
  if (st == CICADA_OK) {
    memset(all, 0, (size_t)nall * sizeof *all);
    if (cc_comm_allgather(c->c, mine, slots, &e) != CC_OK) st = fail_cc(err, c, call, &e);
    else st = take_payloads(c, slots, NULL, c->size, all, err);
  }
  cc_payload_unref(mine);
  free(slots);
  return st == CICADA_OK ? capi_ok(err) : st;
}

cicada_status cicada_barrier(cicada_comm *c, cicada_error *err) {
  cc_error e;
  cicada_status st = usable(c, "cicada_barrier", err);
  if (st != CICADA_OK) return st;
  if (cc_comm_barrier(c->c, &e) != CC_OK) return fail_cc(err, c, "cicada_barrier", &e);
  return capi_ok(err);
}

cicada_status cicada_broadcast(cicada_comm *c, int src, const void *data, size_t len,
                               cicada_bytes *out, cicada_error *err) {
  const char *call = "cicada_broadcast";
  cc_payload *value = NULL, *got = NULL;
  cc_error e;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK) st = check_rank(c, call, "source", src, err);
  if (st == CICADA_OK && !out)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: out is NULL", call);
  if (st == CICADA_OK && c->rank == src) st = payload_of(c, call, data, len, &value, err);
  if (st != CICADA_OK) return st;
  out->data = NULL;
  out->len = 0;
  if (cc_comm_broadcast(c->c, src, value, &got, &e) != CC_OK) st = fail_cc(err, c, call, &e);
  else st = take_payload(c, got, out, err);
  cc_payload_unref(value);
  return st == CICADA_OK ? capi_ok(err) : st;
}

/* Gather from the nsrcs players of srcs to dst; at dst all[i] = srcs[i]'s. */
static cicada_status gather_common(cicada_comm *c, const char *call, const int *srcs, int nsrcs,
                                   const void *data, size_t len, int dst, int32_t tag,
                                   cicada_bytes *all, int nall, cicada_error *err) {
  cc_payload *mine = NULL, **slots = NULL;
  cc_error e;
  bool contribute = false;
  cicada_status st = check_rank(c, call, "destination", dst, err);
  if (st == CICADA_OK) st = check_rank_list(c, call, "source", srcs, nsrcs, err);
  for (int i = 0; st == CICADA_OK && i < nsrcs; i++)
    if (srcs[i] == c->rank) contribute = true;
  if (st == CICADA_OK && c->rank == dst) {
    if (!all) st = fail(err, CICADA_EINVALID, c, -1, tag, "%s: all is NULL at the destination", call);
    else st = check_count(c, call, "all", nall, nsrcs, err);
  }
  if (st == CICADA_OK && contribute) st = payload_of(c, call, data, len, &mine, err);
  if (st == CICADA_OK) st = payload_slots(c, call, &slots, err);
  if (st == CICADA_OK) {
    if (c->rank == dst) memset(all, 0, (size_t)nall * sizeof *all);
    if (cc_comm_gatherv(c->c, srcs, nsrcs, mine, dst, tag, slots, &e) != CC_OK)
      st = fail_cc(err, c, call, &e);
    else if (c->rank == dst)
      st = take_payloads(c, slots, srcs, nsrcs, all, err);
  }
  cc_payload_unref(mine);
  free(slots);
  return st == CICADA_OK ? capi_ok(err) : st;
}

cicada_status cicada_gather(cicada_comm *c, const void *data, size_t len, int dst,
                            cicada_bytes *all, int nall, cicada_error *err) {
  const char *call = "cicada_gather";
  int *srcs;
  cicada_status st = usable(c, call, err);
  if (st != CICADA_OK) return st;
  srcs = malloc((size_t)c->size * sizeof *srcs);
  if (!srcs) return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  for (int i = 0; i < c->size; i++) srcs[i] = i;
  st = gather_common(c, call, srcs, c->size, data, len, dst, CC_TAG_GATHER, all, nall, err);
  free(srcs);
  return st;
}

cicada_status cicada_gatherv(cicada_comm *c, const int *srcs, int nsrcs, const void *data,
                             size_t len, int dst, cicada_bytes *all, int nall,
                             cicada_error *err) {
  const char *call = "cicada_gatherv";
  cicada_status st = usable(c, call, err);
  if (st != CICADA_OK) return st;
  return gather_common(c, call, srcs, nsrcs, data, len, dst, CC_TAG_GATHERV, all, nall, err);
}

/* At src: payloads indexed by rank for the ndsts players of dsts. */
static cicada_status scatter_payloads(cicada_comm *c, const char *call, const void *const *values,
                                      const size_t *lens, int nvalues, const int *dsts,
                                      int ndsts, cc_payload **slots, cicada_error *err) {
  cicada_status st = CICADA_OK;
  if (!values || !lens)
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
                "%s: values and lens must not be NULL at the source", call);
  st = check_count(c, call, "values", nvalues, ndsts, err);
  for (int i = 0; st == CICADA_OK && i < ndsts; i++)  /* distinct: checked by the caller */
    st = payload_of(c, call, values[i], lens[i], &slots[dsts[i]], err);
  return st;
}

static cicada_status scatter_common(cicada_comm *c, const char *call, int src,
                                    const void *const *values, const size_t *lens, int nvalues,
                                    const int *dsts, int ndsts, int32_t tag, cicada_bytes *out,
                                    cicada_error *err) {
  cc_payload **slots = NULL, *got = NULL;
  cc_error e;
  cicada_status st = check_rank(c, call, "source", src, err);
  if (st == CICADA_OK) st = check_rank_list(c, call, "destination", dsts, ndsts, err);
  if (st == CICADA_OK && !out)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: out is NULL", call);
  if (st == CICADA_OK) st = payload_slots(c, call, &slots, err);
  if (st == CICADA_OK && c->rank == src)
    st = scatter_payloads(c, call, values, lens, nvalues, dsts, ndsts, slots, err);
  if (st == CICADA_OK) {
    out->data = NULL;
    out->len = 0;
    if (cc_comm_scatterv(c->c, src, slots, dsts, ndsts, tag, &got, &e) != CC_OK)
      st = fail_cc(err, c, call, &e);
    else
      st = take_payload(c, got, out, err);
  }
  if (slots) cc_payloads_free(slots, c->size);
  free(slots);
  return st == CICADA_OK ? capi_ok(err) : st;
}

cicada_status cicada_scatter(cicada_comm *c, int src, const void *const *values,
                             const size_t *lens, int nvalues, cicada_bytes *out,
                             cicada_error *err) {
  const char *call = "cicada_scatter";
  int *dsts;
  cicada_status st = usable(c, call, err);
  if (st != CICADA_OK) return st;
  dsts = malloc((size_t)c->size * sizeof *dsts);
  if (!dsts) return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  for (int i = 0; i < c->size; i++) dsts[i] = i;
  st = scatter_common(c, call, src, values, lens, nvalues, dsts, c->size, CC_TAG_SCATTER, out, err);
  free(dsts);
  return st;
}

cicada_status cicada_scatterv(cicada_comm *c, int src, const void *const *values,
                              const size_t *lens, int nvalues, const int *dsts, int ndsts,
                              cicada_bytes *out, cicada_error *err) {
  const char *call = "cicada_scatterv";
  cicada_status st = usable(c, call, err);
  if (st != CICADA_OK) return st;
  return scatter_common(c, call, src, values, lens, nvalues, dsts, ndsts, CC_TAG_SCATTERV, out,
                        err);
}

/* ==== Fault tolerance ========================================================= */

cicada_status cicada_revoke(cicada_comm *c, cicada_error *err) {
  cc_error e;
  cicada_status st = usable(c, "cicada_revoke", err);
  if (st != CICADA_OK) return st;
  if (cc_comm_revoke(c->c, &e) != CC_OK) return fail_cc(err, c, "cicada_revoke", &e);
  return capi_ok(err);
}

cicada_status cicada_failed(cicada_comm *c, int *ranks, int cap, int *nfailed,
                            cicada_error *err) {
  const char *call = "cicada_failed";
  int *all, n;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK && (!nfailed || cap < 0 || (cap > 0 && !ranks)))
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
              "%s: need nfailed and a ranks array of cap >= 0 entries", call);
  if (st != CICADA_OK) return st;
  all = malloc((size_t)c->size * sizeof *all);
  if (!all) return fail(err, CICADA_ENOMEM, c, -1, CICADA_TAG_NONE, "%s: out of memory", call);
  n = cc_comm_failed(c->c, all);
  *nfailed = n;
  if (n > cap) {
    free(all);
    return fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
                "%s: ranks has room for %d ranks, %d players have failed", call, cap, n);
  }
  if (n > 0) memcpy(ranks, all, (size_t)n * sizeof *ranks);
  free(all);
  return capi_ok(err);
}

cicada_status cicada_agree(cicada_comm *c, bool flag, double timeout_s, bool *out,
                           cicada_error *err) {
  cc_error e;
  cicada_status st = usable(c, "cicada_agree", err);
  if (st == CICADA_OK && !out)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "cicada_agree: out is NULL");
  if (st != CICADA_OK) return st;
  if (cc_comm_agree(c->c, flag, timeout_s > 0 ? timeout_s : 0, out, &e) != CC_OK)
    return fail_cc(err, c, "cicada_agree", &e);
  return capi_ok(err);
}

cicada_status cicada_shrink(cicada_comm *c, const char *name, double timeout_s,
                            cicada_comm **out, int *oldranks, int cap, int *nold,
                            cicada_error *err) {
  const char *call = "cicada_shrink";
  cc_comm *nc;
  cc_error e;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK && (!out || !oldranks || !nold))
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
              "%s: out, oldranks and nold must not be NULL", call);
  if (st == CICADA_OK && cap < c->size)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE,
              "%s: oldranks has room for %d ranks, Comm %s has %d players", call, cap, c->name,
              c->size);
  if (st != CICADA_OK) return st;
  *out = NULL;
  *nold = 0;
  if (cc_comm_shrink(c->c, name ? name : c->name, timeout_s > 0 ? timeout_s : 0, &nc, oldranks,
                     nold, &e) != CC_OK)
    return fail_cc(err, c, call, &e);
  st = adopt(c->owner, nc, call, out, err);
  if (st != CICADA_OK) *nold = 0;
  return st == CICADA_OK ? capi_ok(err) : st;
}

cicada_status cicada_split(cicada_comm *c, const char *name, double timeout_s,
                           cicada_comm **out, cicada_error *err) {
  const char *call = "cicada_split";
  cc_comm *nc;
  cc_error e;
  cicada_status st = usable(c, call, err);
  if (st == CICADA_OK && !out)
    st = fail(err, CICADA_EINVALID, c, -1, CICADA_TAG_NONE, "%s: out is NULL", call);
  if (st != CICADA_OK) return st;
  *out = NULL;
  if (cc_comm_split(c->c, name, timeout_s > 0 ? timeout_s : 0, &nc, &e) != CC_OK)
    return fail_cc(err, c, call, &e);
  if (!nc) return capi_ok(err);
  st = adopt(c->owner, nc, call, out, err);
  return st == CICADA_OK ? capi_ok(err) : st;
}
