/*
 * lua_process.c - processes from Lua: the fork-and-wait behind cicada.run,
 * and the small process facts that fault injection and timing need.
 *
 * core.launch(opts, child) forks opts.world_size players. Each child starts
 * its engine, calls child(comm) (or child(nil, err) if the engine could not
 * start), reports the string child returns to the parent, stops its engine
 * and exits. The parent returns one {pid=, exitcode=, data=, timed_out=}
 * per player; with opts.time_limit, players still running when it passes
 * are stopped and marked timed_out.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "comm/comm.h"
#include "core/check.h"
#include "core/log.h"
#include "core/clock.h"
#include "boot/launch.h"
#include "boot/rendezvous.h"
#include "net/tls.h"
#include "lua/lua_cicada.h"
#include "lua/lua_grow.h"

void cl_start_world(lua_State *L, const cc_settings *s, const char *name, double timeout_s);
void cl_stop_engine_of(lua_State *L, int idx);
void cl_stop_all_engines(lua_State *L);
void cl_mark_grown(lua_State *L, int idx, int members, bool joined);

/* A player of cicada.run or of `cicada-lua -n`: the write end of its
 * launcher's grow request pipe (comm:grow asks for newcomers through it),
 * else -1. Set once, in the player process, before its script runs. */
static int grow_request_fd = -1;

/* A world met through the rendezvous (cicada.connect): K, the key its
 * players prove the token with (cc_rendezvous_key), from which a grown
 * world's links' key is derived with the grow's fresh id. The script
 * thread's; set by every connect. */
static uint8_t world_key[CC_RENDEZVOUS_KEY_BYTES];
static bool world_key_set;

/* A newcomer started by the cicada-lua launcher for a grow: the launch it
 * was forked with (l->joined says what to join) and its rank in the grown
 * world, until its script's cicada.connect() takes them. */
static cc_launch *cli_joiner;
static int cli_joiner_rank = -1;

void cl_cli_player(int grow_wr) { grow_request_fd = grow_wr; }

void cl_cli_newcomer(cc_launch *l, int rank) {
  grow_request_fd = l->grow_wr;
  cli_joiner = l;
  cli_joiner_rank = rank;
}

/* The links' key of a grown world with this id, in a world met through the
 * rendezvous: true with out set, false if this process has no such world. */
bool cl_grow_link_key(uint64_t world_id, uint8_t out[32]) {
  if (!world_key_set) return false;
  cc_rendezvous_link_key(world_key, world_id, out);
  return true;
}

static void remember_world_key(const char *token) {
  cc_rendezvous_key(token, world_key);
  world_key_set = true;
}

/* Where the other players reached this one in the world it met through the
 * rendezvous (its --address host, the host the root saw it at, or the
 * root's host): what it tells newcomers of a grow across hosts. */
static char world_host[CC_HOST_MAX] = "127.0.0.1";

const char *cl_world_host(void) { return world_host; }

/* The TLS files of that world, for the engines of the worlds it grows
 * into (an engine keeps no file names). strdup'd; NULL for none. */
static char *world_identity, *world_trusted;

bool cl_world_tls(const char **identity, const char **trusted) {
  if (identity) *identity = world_identity;
  if (trusted) *trusted = world_trusted;
  return world_identity && world_trusted;
}

static void remember_world_tls(const char *identity, const char *trusted) {
  free(world_identity);
  free(world_trusted);
  world_identity = identity && trusted ? strdup(identity) : NULL;
  world_trusted = identity && trusted ? strdup(trusted) : NULL;
}

static void remember_world_host(const char *host) {
  if (host && *host && strcmp(host, "-") != 0) snprintf(world_host, sizeof world_host, "%s", host);
}


/* ==== Logging from the engine ============================================= */

/* The level below which engine messages are dropped (cc_log_stderr's
 * ctx), for every engine this process starts. */
static atomic_int engine_log_level = CC_LOG_WARNING; /* set by the script
                                                          * thread, read by I/O threads */

/* core.set_engine_log_level(level number) */
static int l_set_engine_log_level(lua_State *L) {
  atomic_store(&engine_log_level, (int)luaL_checkinteger(L, 1));
  return 0;
}

/* ==== Options ============================================================== */

static double opt_number(lua_State *L, int t, const char *key, double dflt, bool positive) {
  double v;
  lua_getfield(L, t, key);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return dflt; }
  if (!lua_isnumber(L, -1))
    luaL_error(L, "bad option '%s' (number expected, got %s)", key, luaL_typename(L, -1));
  v = (double)lua_tonumber(L, -1);
  if (positive && !(v > 0)) luaL_error(L, "bad option '%s' (must be positive, got %f)", key, v);
  lua_pop(L, 1);
  return v;
}

static const char *opt_string(lua_State *L, int t, const char *key);

/* Load the TLS settings once before any player starts (cicada.run) or
 * before the rendezvous (cicada.connect), so that a missing or broken PEM
 * file is one error here rather than one per player. 1 if usable, else 0
 * with OpenSSL's word in why. */
static int tls_settings_ok(const cc_settings *s, char *why, size_t whysz) {
  struct ssl_ctx_st *ctx;
  if (!s->tls_identity && !s->tls_trusted) return 1;
  ctx = cc_tls_context(s->tls_identity, s->tls_trusted, why, whysz);
  if (!ctx) return 0;
  cc_tls_context_free(ctx);
  return 1;
}

/* ==== launch ================================================================ */

typedef struct launch_box {
  cc_launch l;
  bool live;
} launch_box;

static int launch_gc(lua_State *L) {
  launch_box *b = lua_touserdata(L, 1);
  if (b->live) cc_launch_free(&b->l);
  b->live = false;
  return 0;
}

typedef struct start_args {
  const cc_settings *s;
  const char *name;
  double timeout_s;
} start_args;

static int start_world_protected(lua_State *L) {
  const start_args *a = lua_touserdata(L, 1);
  cl_start_world(L, a->s, a->name, a->timeout_s);
  return 1;
}

/* In the child: run child(comm), report what it returns; never returns.
 * A newcomer (b->l.joined) joins the grown world instead, and its
 * communicator says so (comm.joined). */
static _Noreturn void run_child(lua_State *L, launch_box *b, int rank, int child_idx,
                                const char *name, double timeout_s, const cc_settings *base) {
  cc_settings s = *base;
  start_args a;
  const char *data = NULL;
  size_t len = 0;
  int comm_idx;

  if (b->l.joined) {
    cc_launch_joiner_settings(&b->l, rank, &s);
    s.startup_timeout_s = b->l.joined->startup_timeout_s;
    name = b->l.joined->name;
    timeout_s = b->l.joined->timeout_s;
  } else {
    cc_launch_player_settings(&b->l, rank, &s);
  }
  grow_request_fd = b->l.grow_wr;
  /* A TLS world's players share its one identity, which plays every rank:
   * the worlds it grows into (comm:grow) keep it, newcomers included. */
  remember_world_tls(s.tls_identity, s.tls_trusted);
  a.s = &s;
  a.name = name;
  a.timeout_s = timeout_s;

  lua_pushcfunction(L, start_world_protected);
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    comm_idx = lua_gettop(L);
    if (b->l.joined) cl_mark_grown(L, comm_idx, b->l.joined->members, true);
    lua_pushvalue(L, child_idx);
    lua_pushvalue(L, comm_idx);
    lua_pushnil(L);
  } else {
    int err_idx = lua_gettop(L);
    comm_idx = 0;
    lua_pushvalue(L, child_idx);
    lua_pushnil(L);
    lua_pushvalue(L, err_idx);
  }
  /* child(comm, nil) or child(nil, err): the child catches its own errors;
   * whatever happens, this process ends here and never returns to the
   * parent's script. */
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) data = lua_tolstring(L, -1, &len);
  else cc_log_error("cicada", rank, "%s", lua_tostring(L, -1));
  if (data) cc_launch_report(&b->l, data, len);
  /* The engines of grown worlds first (newest first), then the first. */
  cl_stop_all_engines(L);
  if (comm_idx) cl_stop_engine_of(L, comm_idx);
  fflush(NULL);
  _exit(data ? 0 : CC_LAUNCH_EXIT_STARTUP_FAILED);
}

/* What the parent needs to start newcomers while it waits. */
typedef struct grow_ctx {
  lua_State *L;
  launch_box *b;
  int child_idx;
  const char *name;
  double timeout_s;
  const cc_settings *base;
} grow_ctx;

/* The parent's wait got a grow request: fork the newcomers, each of which
 * runs the player function on the grown world and never comes back. */
static void start_newcomers(cc_launch *l, const cc_grow_request *r, void *ctx) {
  grow_ctx *g = ctx;
  char err[256];
  int rank;
  switch (cc_launch_grow(l, r, &rank, err, sizeof err)) {
  case -1:
    cc_log_error("cicada", -1, "cannot grow %s: %s", r->name, err);
    return;
  case 1: run_child(g->L, g->b, rank, g->child_idx, g->name, g->timeout_s, g->base);
  default: return;
  }
}

/* core._grow_request{ports=, count=, name=, timeout=, startup_timeout=, id=}:
 * ask the launcher of this cicada.run player for count newcomers that join
 * the members listening at ports (loopback, in rank order). */
static int l_grow_request(lua_State *L) {
  union { cc_grow_request r; uint8_t room[CC_GROW_REQUEST_MAX]; } u;
  lua_Integer members;
  const char *name;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (grow_request_fd < 0)
    return luaL_error(L, "this player was not started by cicada.run: no launcher to start "
                         "newcomers");
  memset(&u, 0, sizeof u);
  lua_getfield(L, 1, "ports");
  luaL_checktype(L, -1, LUA_TTABLE);
  members = (lua_Integer)luaL_len(L, -1);
  if (members < 1 || members > CC_MAX_WORLD_SIZE ||
      sizeof u.r + (size_t)members * 2 + 64 > sizeof u)
    return luaL_error(L, "cannot grow a communicator of %d members", (int)members);
  for (lua_Integer i = 1; i <= members; i++) {
    lua_Integer port;
    lua_geti(L, -1, i);
    port = luaL_checkinteger(L, -1);
    if (port < 1 || port > 65535) return luaL_error(L, "bad port %d", (int)port);
    u.r.ports[i - 1] = (uint16_t)port;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  u.r.members = (int)members;
  u.r.count = (int)opt_number(L, 1, "count", 1, true);
  u.r.timeout_s = opt_number(L, 1, "timeout", CC_DEFAULT_COMM_TIMEOUT_S, true);
  u.r.startup_timeout_s = opt_number(L, 1, "startup_timeout", 5.0, true);
  lua_getfield(L, 1, "id");
  u.r.world_id = (uint64_t)luaL_optinteger(L, -1, 0);
  lua_pop(L, 1);
  name = opt_string(L, 1, "name");
  snprintf(u.r.name, sizeof u.r.name, "%s", name ? name : "world");
  if (cc_launch_request_grow(grow_request_fd, &u.r) != 0)
    return luaL_error(L, "cannot ask the launcher for newcomers: %s", strerror(errno));
  return 0;
}

/* core._can_grow() -> true in a player of cicada.run or cicada-lua -n,
 * whose launcher can start newcomers */
static int l_can_grow(lua_State *L) {
  lua_pushboolean(L, grow_request_fd >= 0);
  return 1;
}

static int raise_connect_error(lua_State *L, const char *name, int rank, const cc_error *e);

/* core._grow_meet{address=, hosts=, ports=, seats=, count=, timeout=, id=,
 * name=}:
 * at rank 0 of the members of a grow across hosts, wait at address for
 * count newcomers (cicada-lua --join) and seat them (cc_grow_meet).
 * Returns the newcomers' addresses, {[rank + 1] = {port, host}}; raises
 * startup_timeout (or another cicada error) if they do not all come. */
static int l_grow_meet(lua_State *L) {
  cc_grow_meet_settings g;
  cc_address_book book;
  cc_address where;
  cc_error e;
  char why[256];
  const char *url;
  const char **hosts;
  uint16_t *ports;
  int *seats;
  int members;
  cc_status st;
  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&g, 0, sizeof g);
  url = opt_string(L, 1, "address");
  g.name = opt_string(L, 1, "name");
  if (!url || !g.name) return luaL_error(L, "comm:grow: address and name expected");
  if (cc_url_parse(url, 0, &where, why, sizeof why) != 0)
    return luaL_error(L, "comm:grow: bad option 'address' (%s)", why);
  if (!world_key_set)
    return luaL_error(L, "comm:grow: this world was not met through the rendezvous");
  lua_getfield(L, 1, "hosts");
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_getfield(L, 1, "ports");
  luaL_checktype(L, -1, LUA_TTABLE);
  members = (int)luaL_len(L, -1);
  if (members < 1 || members > CC_MAX_WORLD_SIZE || (int)luaL_len(L, -2) != members)
    return luaL_error(L, "comm:grow: %d members", members);
  lua_getfield(L, 1, "seats");
  luaL_checktype(L, -1, LUA_TTABLE);
  hosts = lua_newuserdatauv(L, (size_t)members * sizeof *hosts, 0);
  ports = lua_newuserdatauv(L, (size_t)members * sizeof *ports, 0);
  seats = lua_newuserdatauv(L, (size_t)members * sizeof *seats, 0);
  for (int i = 0; i < members; i++) {
    lua_geti(L, -6, i + 1);
    hosts[i] = luaL_checkstring(L, -1);   /* kept alive by the hosts table */
    lua_pop(L, 1);
    lua_geti(L, -5, i + 1);
    ports[i] = (uint16_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    lua_geti(L, -4, i + 1);
    seats[i] = (int)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  g.seats = seats;
  cl_world_tls(&g.tls_identity, &g.tls_trusted);
  g.members = members;
  g.count = (int)opt_number(L, 1, "count", 1, true);
  g.timeout_s = opt_number(L, 1, "timeout", 5.0, true);
  lua_getfield(L, 1, "id");
  g.world_id = (uint64_t)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  g.key = world_key;
  g.hosts = hosts;
  g.ports = ports;
  g.listen_fd = cc_listen_on(where.host, where.port, why, sizeof why);
  if (g.listen_fd < 0) return luaL_error(L, "comm:grow: %s", why);
  st = cc_grow_meet(&g, &book, &e);
  close(g.listen_fd);
  if (st == CC_EINVALID || st == CC_ENOMEM || st == CC_EIO)
    return luaL_error(L, "comm:grow: %s", e.message);
  if (st != CC_OK) return raise_connect_error(L, g.name, 0, &e);
  /* {[rank + 1] = {port, host}} for the newcomers' ranks */
  lua_newtable(L);
  for (int r = 0; r < book.world_size; r++) {
    bool member = false;
    for (int i = 0; i < members; i++) member = member || seats[i] == r;
    if (member) continue;
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, book.ports[r]);
    lua_seti(L, -2, 1);
    lua_pushstring(L, book.hosts[r] ? book.hosts[r] : "-");
    lua_seti(L, -2, 2);
    lua_seti(L, -2, r + 1);
  }
  cc_address_book_free(&book, book.world_size);
  return 1;
}

/* core._grow_id() -> a fresh id for a grown world (nonzero) in a world met
 * through the rendezvous, whose links' key is derived from it; else 0 (a
 * cicada.run world keeps its token's key). */
static int l_grow_id(lua_State *L) {
  uint64_t id = 0;
  if (world_key_set)
    while (id == 0)
      if (RAND_bytes((unsigned char *)&id, sizeof id) != 1)
        return luaL_error(L, "comm:grow: no random numbers for the grown world");
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* core.launch(opts, child) -> list of {pid=, exitcode=, data=} */
static int l_launch(lua_State *L) {
  cc_settings s;
  lua_Integer n;
  const char *name;
  double timeout_s, grace_s, time_limit_s;
  char err[256];
  launch_box *b;
  int rank, count = 0;
  cc_player_result *results;
  cc_error e;

  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_getfield(L, 1, "world_size");
  if (!lua_isinteger(L, -1))
    luaL_error(L, "bad option 'world_size' (integer expected, got %s)", luaL_typename(L, -1));
  n = lua_tointeger(L, -1);
  if (cc_check_world_size(n, &e) != CC_OK) luaL_error(L, "bad option 'world_size' (%s)", e.message);
  lua_pop(L, 1);
  lua_getfield(L, 1, "name");
  name = lua_isnil(L, -1) ? "world" : lua_tostring(L, -1);
  if (!name) luaL_error(L, "bad option 'name' (string expected)");
  cc_settings_default(&s);
  s.world_size = (int)n;
  s.startup_timeout_s = opt_number(L, 1, "startup_timeout", s.startup_timeout_s, true);
  s.heartbeat_interval_s = opt_number(L, 1, "heartbeat_interval", s.heartbeat_interval_s, true);
  s.heartbeat_timeout_s = opt_number(L, 1, "heartbeat_timeout", s.heartbeat_timeout_s, true);
  if (cc_check_heartbeat(s.heartbeat_interval_s, s.heartbeat_timeout_s, &e) != CC_OK)
    luaL_error(L, "bad option 'heartbeat_timeout' (%s)", e.message);
  timeout_s = opt_number(L, 1, "timeout", CC_DEFAULT_COMM_TIMEOUT_S, true);
  grace_s = opt_number(L, 1, "grace", CC_LAUNCH_DEFAULT_GRACE_S, true);
  time_limit_s = opt_number(L, 1, "time_limit", 0, false);
  if (time_limit_s < 0) luaL_error(L, "bad option 'time_limit' (must not be negative)");
  s.log = cc_log_stderr;
  s.log_ctx = &engine_log_level;
  s.tls_identity = opt_string(L, 1, "identity");
  s.tls_trusted = opt_string(L, 1, "trusted");
  if (!tls_settings_ok(&s, err, sizeof err)) luaL_error(L, "%s", err);

  b = lua_newuserdatauv(L, sizeof *b, 0);
  b->live = false;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, launch_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  switch (cc_launch_start(&b->l, (int)n, &rank, err, sizeof err)) {
  case -1: return luaL_error(L, "cicada.run: %s", err);
  case 1: b->live = true; run_child(L, b, rank, 2, name, timeout_s, &s);
  default: break;
  }
  /* cc_launch_collect_all releases the launch whatever happens. */
  b->l.time_limit_s = time_limit_s;
  {
    grow_ctx g = {L, b, 2, name, timeout_s, &s};
    b->l.on_grow = start_newcomers;
    b->l.grow_ctx = &g;
    results = cc_launch_collect_all(&b->l, grace_s, &count);
  }
  if (!results) return luaL_error(L, "cicada.run: out of memory waiting for the players "
                                     "(they were killed)");
  lua_createtable(L, count, 0);
  for (int i = 0; i < count; i++) {
    lua_createtable(L, 0, 4);
    lua_pushboolean(L, results[i].timed_out);
    lua_setfield(L, -2, "timed_out");
    lua_pushinteger(L, results[i].pid);
    lua_setfield(L, -2, "pid");
    lua_pushinteger(L, results[i].exitcode);
    lua_setfield(L, -2, "exitcode");
    if (results[i].data) {
      lua_pushlstring(L, (const char *)results[i].data, results[i].len);
      lua_setfield(L, -2, "data");
    }
    free(results[i].data);
    lua_seti(L, -2, i + 1);
  }
  free(results);
  return 1;
}

/* ==== connect ================================================================ */

/* The launcher hands rank 0 the root's listener, already bound, in this
 * variable: the port is known before any player starts. */
#define ROOT_FD_ENV "CICADA_ROOT_FD"

/* Raise a plain error without a position: the message names the setting,
 * and the script's line is not where the mistake is. */
static int connect_fail(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

static const char *opt_string(lua_State *L, int t, const char *key) {
  const char *v;
  lua_getfield(L, t, key);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "bad option '%s' (string expected, got %s)", key, luaL_typename(L, -1));
  v = lua_tostring(L, -1);
  lua_pop(L, 1);   /* still referenced by the options table */
  return v;
}

static int opt_integer(lua_State *L, int t, const char *key, int dflt) {
  lua_Integer v;
  lua_getfield(L, t, key);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return dflt; }
  if (!lua_isinteger(L, -1))
    connect_fail(L, "cicada.connect: bad option '%s' (integer expected, got %s)", key,
               luaL_typename(L, -1));
  v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int)v;
}

/* An inherited root listener, for rank 0 of a launcher's run; taken once. */
static int inherited_root_fd(int rank) {
  const char *v = getenv(ROOT_FD_ENV);
  int fd = v ? atoi(v) : -1;
  if (!v) return -1;
  unsetenv(ROOT_FD_ENV);
  return rank == 0 && fd > 2 ? fd : -1;
}

/* Raise a failed rendezvous as a cicada error (startup kinds) or as a plain
 * error (bad settings, a port in use, an unknown host). */
static int raise_connect_error(lua_State *L, const char *name, int rank, const cc_error *e) {
  if (e->code != CC_ETOKEN_MISMATCH && e->code != CC_ESTARTUP_TIMEOUT && e->code != CC_EENCRYPTION)
    return connect_fail(L, "cicada.connect: %s", e->message);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, cc_status_kind(e->code));
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "comm");
  lua_pushinteger(L, rank);
  lua_setfield(L, -2, "rank");
  lua_pushstring(L, e->message);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, "cicada.Error");
  return lua_error(L);
}

/* A newcomer of cicada-lua -n: its connect joins the grown world it was
 * started for, with the token's K and the grow's id for the links' key. */
static int connect_newcomer(lua_State *L, cc_settings *s, const char *token) {
  cc_launch *l = cli_joiner;
  const cc_grow_request *r = l->joined;
  start_args a;
  cli_joiner = NULL;   /* taken once */
  cc_launch_joiner_settings(l, cli_joiner_rank, s);
  s->startup_timeout_s = r->startup_timeout_s;
  remember_world_key(token);
  remember_world_tls(s->tls_identity, s->tls_trusted);
  cc_rendezvous_link_key(world_key, r->world_id, s->link_key);
  a.s = s;
  a.name = r->name;
  a.timeout_s = r->timeout_s;
  lua_pushcfunction(L, start_world_protected);
  lua_pushlightuserdata(L, &a);
  lua_call(L, 1, 1);
  OPENSSL_cleanse(s->link_key, sizeof s->link_key);
  cl_mark_grown(L, lua_gettop(L), r->members, true);
  return 1;
}

/* cicada-lua --join URL (connect{join=}): meet the members of a grow at
 * URL, take the seat they give, and join the grown world (comm.joined). */
static int connect_joiner(lua_State *L, cc_settings *s, double timeout_s) {
  cc_rendezvous_settings rs;
  cc_address members, self;
  cc_address_book book;
  cc_error e;
  char why[256];
  const char *url = opt_string(L, 1, "join"), *self_url = opt_string(L, 1, "address");
  int rc;
  if (cc_url_parse(url, 0, &members, why, sizeof why) != 0)
    return connect_fail(L, "cicada.connect: join %s", why);
  if (self_url && cc_url_parse(self_url, 1, &self, why, sizeof why) != 0)
    return connect_fail(L, "cicada.connect: newcomer %s", why);
  memset(&rs, 0, sizeof rs);
  rs.join = 1;
  rs.root = members;
  rs.self = self_url ? &self : NULL;
  rs.token = opt_string(L, 1, "token");
  rs.tls = s->tls_identity != NULL;
  rs.tls_identity = s->tls_identity;
  rs.tls_trusted = s->tls_trusted;
  rs.startup_timeout_s = s->startup_timeout_s;
  rs.root_fd = -1;
  if (cc_rendezvous(&rs, &book, &e) != CC_OK) return raise_connect_error(L, "world", -1, &e);
  remember_world_key(rs.token);
  remember_world_host(book.hosts[book.rank]);
  remember_world_tls(s->tls_identity, s->tls_trusted);
  s->rank = book.rank;
  s->world_size = book.world_size;
  s->listen_fd = book.listen_fd;
  book.listen_fd = -1;           /* the engine owns it now, whatever happens */
  s->peer_hosts = (const char *const *)book.hosts;
  s->peer_ports = book.ports;
  memcpy(s->link_key, book.link_key, sizeof s->link_key);
  {
    start_args a = {s, book.name, timeout_s};
    lua_pushcfunction(L, start_world_protected);
    lua_pushlightuserdata(L, &a);
    rc = lua_pcall(L, 1, 1, 0);
    OPENSSL_cleanse(s->link_key, sizeof s->link_key);
    if (rc == LUA_OK) cl_mark_grown_ranks(L, lua_gettop(L), book.newcomers, book.count, true);
    cc_address_book_free(&book, book.world_size);
    if (rc != LUA_OK) return lua_error(L);
  }
  return 1;
}

/* core.connect{world_size=, rank=, root_address=, address=, token=, name=,
 * timeout=, startup_timeout=, heartbeat_interval=, heartbeat_timeout=}
 * -> the world communicator */
static int l_connect(lua_State *L) {
  cc_rendezvous_settings rs;
  cc_address self, root;
  cc_address_book book;
  cc_settings s;
  cc_error e;
  char why[256];
  const char *root_url, *self_url, *name;
  double timeout_s;
  int root_fd;

  luaL_checktype(L, 1, LUA_TTABLE);
  cc_settings_default(&s);
  s.world_size = opt_integer(L, 1, "world_size", 1);
  s.rank = opt_integer(L, 1, "rank", 0);
  root_url = opt_string(L, 1, "root_address");
  self_url = opt_string(L, 1, "address");
  name = opt_string(L, 1, "name");
  if (!name) name = "world";
  s.startup_timeout_s = opt_number(L, 1, "startup_timeout", s.startup_timeout_s, true);
  s.heartbeat_interval_s = opt_number(L, 1, "heartbeat_interval", s.heartbeat_interval_s, true);
  s.heartbeat_timeout_s = opt_number(L, 1, "heartbeat_timeout", s.heartbeat_timeout_s, true);
  timeout_s = opt_number(L, 1, "timeout", CC_DEFAULT_COMM_TIMEOUT_S, true);
  s.log = cc_log_stderr;
  s.log_ctx = &engine_log_level;
  s.tls_identity = opt_string(L, 1, "identity");
  s.tls_trusted = opt_string(L, 1, "trusted");
  if (!tls_settings_ok(&s, why, sizeof why))
    return connect_fail(L, "cicada.connect: player %d: %s", s.rank, why);
  if (cc_check_world_size(s.world_size, &e) != CC_OK ||
      cc_check_player_rank(s.rank, s.world_size, &e) != CC_OK ||
      cc_check_heartbeat(s.heartbeat_interval_s, s.heartbeat_timeout_s, &e) != CC_OK)
    return connect_fail(L, "cicada.connect: %s", e.message);
  if (cli_joiner) return connect_newcomer(L, &s, opt_string(L, 1, "token"));
  if (opt_string(L, 1, "join")) return connect_joiner(L, &s, timeout_s);
  if (s.world_size == 1) {       /* a world of one needs no network */
    remember_world_key(opt_string(L, 1, "token"));
    cl_start_world(L, &s, name, timeout_s);
    return 1;
  }
  if (!root_url)
    return connect_fail(L, "cicada.connect: player %d of %d needs the root's address "
                      "(--root-address tcp://host:port or CICADA_ROOT_ADDRESS)", s.rank,
                      s.world_size);
  if (cc_url_parse(root_url, 0, &root, why, sizeof why) != 0)
    return connect_fail(L, "cicada.connect: root %s", why);
  if (self_url && cc_url_parse(self_url, 1, &self, why, sizeof why) != 0)
    return connect_fail(L, "cicada.connect: player %s", why);
  memset(&rs, 0, sizeof rs);
  rs.rank = s.rank;
  rs.world_size = s.world_size;
  rs.root = root;
  rs.self = self_url ? &self : NULL;
  rs.token = opt_string(L, 1, "token");
  rs.tls = s.tls_identity != NULL;
  rs.tls_identity = s.tls_identity;
  rs.tls_trusted = s.tls_trusted;
  rs.startup_timeout_s = s.startup_timeout_s;
  root_fd = inherited_root_fd(s.rank);
  rs.root_fd = root_fd;
  if (cc_rendezvous(&rs, &book, &e) != CC_OK) return raise_connect_error(L, name, s.rank, &e);
  remember_world_key(rs.token);
  remember_world_host(book.hosts[s.rank]);
  remember_world_tls(s.tls_identity, s.tls_trusted);
  s.listen_fd = book.listen_fd;
  book.listen_fd = -1;           /* the engine owns it now, whatever happens */
  s.peer_hosts = (const char *const *)book.hosts;
  s.peer_ports = book.ports;
  memcpy(s.link_key, book.link_key, sizeof s.link_key);
  {
    start_args a = {&s, name, timeout_s};
    int rc;
    lua_pushcfunction(L, start_world_protected);
    lua_pushlightuserdata(L, &a);
    rc = lua_pcall(L, 1, 1, 0);
    cc_address_book_free(&book, s.world_size);
    if (rc != LUA_OK) return lua_error(L);
  }
  return 1;
}

/* ==== Process facts ========================================================== */

/* core.raise_signal("KILL" | "STOP") */
static int l_raise_signal(lua_State *L) {
  static const char *const names[] = {"KILL", "STOP", NULL};
  static const int sigs[] = {SIGKILL, SIGSTOP};
  int which = luaL_checkoption(L, 1, NULL, names);
  fflush(NULL);
  raise(sigs[which]);
  return 0;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

/* core.now() -> monotonic seconds, for timing */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)cc_now());
  return 1;
}

/* core.sleep(seconds) */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts;
  luaL_argcheck(L, s >= 0, 1, "negative duration");
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
  return 0;
}

static const luaL_Reg process_funcs[] = {
  {"launch", l_launch},
  {"connect", l_connect},
  {"_grow_request", l_grow_request},
  {"_can_grow", l_can_grow},
  {"_grow_id", l_grow_id},
  {"_grow_meet", l_grow_meet},
  {"raise_signal", l_raise_signal},
  {"getpid", l_getpid},
  {"now", l_now},
  {"sleep", l_sleep},
  {"set_engine_log_level", l_set_engine_log_level},
  {NULL, NULL}
};

void cl_open_process(lua_State *L) {
  luaL_setfuncs(L, process_funcs, 0);
}
