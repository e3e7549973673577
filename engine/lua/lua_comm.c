/*
 * lua_comm.c - the communicator as a Lua object, and cicada's error objects.
 *
 * A communicator userdata holds a cc_comm and a reference to the box of the
 * engine it runs on. Values are encoded with the codec (lua_codec.c) into
 * reference-counted payloads, so a collective encodes each value once.
 * Communication failures raise error tables with kind, comm, rank, peer, tag
 * and message fields (metatable "cicada.Error", whose __tostring gives the
 * message); argument mistakes raise ordinary `bad argument` errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/rendezvous.h"
#include "comm/comm.h"
#include "core/check.h"
#include "lua/lua_cicada.h"
#include "lua/lua_grow.h"
#include "core/wire.h"

#define CL_COMM_MT "cicada.Communicator"
#define CL_ENGINE_MT "cicada.Engine"
#define CL_ERROR_MT "cicada.Error"

typedef struct cl_engine {
  cc_engine *eng;          /* NULL once stopped */
  int rank;                /* this player's, kept for messages after stop */
  pid_t pid;               /* the process that started it (a forked child
                            * inherits the box, not the engine's thread) */
  unsigned seq;            /* the order engines were started in: a player's
                            * grown worlds stop before the ones they grew from */
} cl_engine;

/* A loopback listener opened for a grow (comm:_grow_listen), until the
 * grown world's engine takes it. */
#define CL_LISTENER_MT "cicada.GrowListener"
typedef struct cl_listener {
  int fd;                  /* -1 once taken or closed */
} cl_listener;

/* The registry's weak set of this state's engine boxes, for
 * core._announce_failure. */
#define CL_ENGINES_KEY "cicada.engines"

typedef struct cl_comm {
  cc_comm *c;              /* NULL once freed */
  cl_engine *box;
  char name[128];          /* kept for messages after free */
  int rank, size;
  bool joined;             /* this player is a newcomer of the grow that
                            * made this communicator's world (the
                            * newcomers' ranks: user value 2) */
  /* The Lua state's (one thread). Payload slots for the collectives, kept
   * from call to call (see take_slots): NULL until the first, freed with
   * the userdata. */
  cc_payload **slots;      /* size entries */
  uintptr_t slots_frame;   /* the C frame of the call holding them, or 0 */
} cl_comm;

/* ==== Errors ============================================================== */

static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, 1, "kind");
  }
  lua_tostring(L, -1);
  return 1;
}

/* Push a cicada error table; peer and tag are left out when unknown. */
static void push_error(lua_State *L, const char *kind, const char *comm, int rank, int peer,
                       int32_t tag, const char *message) {
  char tb[16];
  lua_createtable(L, 0, 6);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (comm) { lua_pushstring(L, comm); lua_setfield(L, -2, "comm"); }
  if (rank >= 0) { lua_pushinteger(L, rank); lua_setfield(L, -2, "rank"); }
  if (peer >= 0) { lua_pushinteger(L, peer); lua_setfield(L, -2, "peer"); }
  if (tag != CC_TAG_NONE) {
    lua_pushstring(L, cc_tag_name(tag, tb, sizeof tb));
    lua_setfield(L, -2, "tag");
  }
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  luaL_setmetatable(L, CL_ERROR_MT);
}

static int raise_cc(lua_State *L, const cl_comm *lc, const cc_error *e) {
  if (e->code == CC_EINVALID) return luaL_error(L, "%s", e->message);
  push_error(L, cc_status_kind(e->code), lc ? lc->name : NULL, lc ? lc->rank : -1, e->peer,
             e->tag, e->message);
  return lua_error(L);
}

/* core.error{kind=, message=, ...}: make an error object (for Lua modules). */
static int l_error_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, CL_ERROR_MT);
  return 1;
}

/* ==== Failures named by the operation ====================================== */

/* core._name_failures(method, op, rename): method as it is, arguments and
 * results passed through, except that an error it raises is raised as
 * rename(op, err) instead (the suites name the operation the user called
 * in communication errors this way, see cicada.shamir.basic). One
 * protected call from C: no Lua frames around the method on the way in or
 * out. Yields pass through (the continuation finishes the call). */
static int named_finish(lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  if (status == LUA_OK || status == LUA_YIELD) return lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(3));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_rotate(L, -3, 2);              /* rename, op, err */
  lua_call(L, 2, 1);
  return lua_error(L);
}

static int named_call(lua_State *L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  return named_finish(L, lua_pcallk(L, n, LUA_MULTRET, 0, 0, named_finish), 0);
}

static int l_name_failures(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  lua_pushcclosure(L, named_call, 3);
  return 1;
}

/* ==== Engine box =========================================================== */

static int engine_gc(lua_State *L) {
  cl_engine *box = luaL_checkudata(L, 1, CL_ENGINE_MT);
  /* A forked child (a cicada.run player, a newcomer) inherits the boxes of
   * its parent's engines but not their I/O threads: stopping one would wait
   * for a thread that is not there. Only the process that started it. */
  if (box->eng && box->pid != getpid()) box->eng = NULL;
  if (box->eng) {
    cc_engine_stop(box->eng);
    box->eng = NULL;
  }
  return 0;
}

/* ==== Checking arguments =================================================== */

/* The communicators' metatable, checked on every call without hashing its
 * name (see cl_mt_is). */
static cl_mt_key comm_mt_key;

/* The communicator at 1, live: a freed one (or one whose engine stopped)
 * raises not_running. */
static cl_comm *check_comm(lua_State *L) {
  cl_comm *lc = lua_touserdata(L, 1);
  if (lc == NULL || !cl_mt_is(L, 1, &comm_mt_key))
    lc = luaL_checkudata(L, 1, CL_COMM_MT);   /* raises its error */
  cc_error e;
  /* A freed communicator says so, also once its engine has stopped with
   * its last communicator. */
  if (cc_check_comm_live(lc->name, lc->box->rank, lc->c != NULL,
                         lc->c == NULL || lc->box->eng != NULL, &e) != CC_OK)
    raise_cc(L, lc, &e);
  return lc;
}

static int check_rank(lua_State *L, const cl_comm *lc, int arg) {
  cc_error e;
  if (!lua_isinteger(L, arg))
    return luaL_argerror(L, arg, lua_pushfstring(L, "rank expected, got %s", luaL_typename(L, arg)));
  if (cc_check_rank(lua_tointeger(L, arg), lc->size, NULL, &e) != CC_OK)
    luaL_argerror(L, arg, e.message);
  return (int)lua_tointeger(L, arg);
}

static int32_t check_user_tag(lua_State *L, int arg) {
  cc_error e;
  if (!lua_isinteger(L, arg))
    return luaL_argerror(L, arg, lua_pushfstring(L, "integer tag expected, got %s",
                                                 luaL_typename(L, arg)));
  if (cc_check_user_tag(lua_tointeger(L, arg), &e) != CC_OK) luaL_argerror(L, arg, e.message);
  return (int32_t)lua_tointeger(L, arg);
}

/* A library tag from a library module (negative numbers only). */
static int32_t check_lib_tag(lua_State *L, int arg) {
  lua_Integer t = luaL_checkinteger(L, arg);
  luaL_argcheck(L, t < 0 && t >= CC_TAG_LIBRARY_MIN, arg, "not a library tag");
  return (int32_t)t;
}

/* Rank lists of up to this many ranks are kept in the caller's frame; longer
 * ones in a userdata on the stack. */
#define RANKS_ON_STACK 64

/* A list of n ranks: buf (RANKS_ON_STACK ints) if they fit, else a userdata
 * pushed on the stack. */
static int *rank_space(lua_State *L, int *buf, int n) {
  if (n <= RANKS_ON_STACK) return buf;
  return lua_newuserdatauv(L, (size_t)n * sizeof(int), 0);
}

/* A list of distinct ranks, in buf (RANKS_ON_STACK ints) or in a userdata
 * pushed on the stack (see rank_space). */
static int *check_rank_list(lua_State *L, const cl_comm *lc, int arg, int *n, int *buf) {
  int *out;
  lua_Integer len;
  cc_error e;
  luaL_checktype(L, arg, LUA_TTABLE);
  len = luaL_len(L, arg);
  if (len < 0 || len > lc->size)
    luaL_argerror(L, arg, lua_pushfstring(L, "%I ranks listed for %d players", len, lc->size));
  out = rank_space(L, buf, (int)(len ? len : 1));
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, arg, i);
    if (!lua_isinteger(L, -1))
      luaL_argerror(L, arg, lua_pushfstring(L, "element %I is %s, not a rank", i, luaL_typename(L, -1)));
    if (cc_check_rank(lua_tointeger(L, -1), lc->size, NULL, &e) != CC_OK)
      luaL_argerror(L, arg, e.message);
    out[i - 1] = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  if (cc_check_rank_list(out, (int)len, lc->size, NULL, &e) != CC_OK)
    luaL_argerror(L, arg, e.message);
  *n = (int)len;
  return out;
}

/* ==== Payloads <-> Lua values ============================================== */

/* Encode the value at idx into a payload (the caller unrefs it). */
static cc_payload *encode(lua_State *L, int idx) {
  return cl_encode_payload(L, idx);
}

/* Push the decoded payload and release it. A malformed payload raises. */
static void push_payload(lua_State *L, const cl_comm *lc, cc_payload *p, int src) {
  char err[200];
  int ok = cl_decode_push(L, p->data, p->len, err, sizeof err);
  cc_payload_unref(p);
  if (!ok) luaL_error(L, "Comm %s: malformed message from player %d: %s", lc->name, src, err);
}

/* Push a list (rank r at index r + 1) from n payloads, releasing them. */
static void push_payload_list(lua_State *L, const cl_comm *lc, cc_payload **ps, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    cc_payload *p = ps[i];
    ps[i] = NULL;
    if (p) push_payload(L, lc, p, i); else lua_pushnil(L);
    lua_seti(L, -2, i + 1);
  }
}

/* A scratch array of n payload slots owned by a userdata on the stack, so
 * that an error raised midway frees nothing twice and leaks nothing. */
static int slots_gc(lua_State *L) {
  size_t len = lua_rawlen(L, 1) / sizeof(cc_payload *);
  cc_payload **ps = lua_touserdata(L, 1);
  cc_payloads_free(ps, (int)len);
  return 0;
}

/* The registry holds the slots' metatable under this address: found on
 * every collective without hashing a name. */
static const char slots_mt_key = 0;

static cc_payload **push_slots(lua_State *L, int n) {
  cc_payload **ps = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *ps, 0);
  memset(ps, 0, (size_t)(n ? n : 1) * sizeof *ps);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &slots_mt_key) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, slots_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &slots_mt_key);
  }
  lua_setmetatable(L, -2);
  return ps;
}

/* The communicator's payload slots for a collective: its own, kept from
 * call to call, unless a call still running holds them (a finalizer that
 * ran midway made this one), in which case a userdata of slots is pushed
 * as by push_slots. A call that raises with payloads in the slots leaves
 * them there: the next call releases them. A call is known by its C frame
 * (`frame`, __builtin_frame_address(0) of the function that holds the
 * slots until give_slots). A holder still running is an ancestor of this
 * call (Lua runs coroutines and finalizers on the same C stack), so this
 * call's frame lies below the holder's on the downward-growing stack; a
 * holder whose frame is not above ours has been unwound by an error. */
static cc_payload **take_slots(lua_State *L, cl_comm *lc, uintptr_t frame) {
  if (lc->slots_frame == 0 || lc->slots_frame <= frame) {
    if (!lc->slots) lc->slots = calloc((size_t)(lc->size ? lc->size : 1), sizeof *lc->slots);
    if (lc->slots) {
      cc_payloads_free(lc->slots, lc->size);   /* what a raised call left */
      lc->slots_frame = frame;
      return lc->slots;
    }
  }
  return push_slots(L, lc->size);
}

/* A call is done with slots from take_slots (and has taken or released
 * every payload in them). */
static void give_slots(cl_comm *lc, cc_payload **ps) {
  if (ps == lc->slots) lc->slots_frame = 0;
}

#define FRAME() ((uintptr_t)__builtin_frame_address(0))

cc_payload **cl_payloads_test(lua_State *L, int idx, int *n) {
  cc_payload **ps = NULL;
  if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &slots_mt_key);
    if (lua_rawequal(L, -1, -2)) ps = lua_touserdata(L, idx);
    lua_pop(L, 2);
  }
  if (ps && n) *n = (int)(lua_rawlen(L, idx) / sizeof *ps);
  return ps;
}

/* ==== Point to point ======================================================== */

static int send_value(lua_State *L, int32_t tag) {
  cl_comm *lc = check_comm(L);
  int dst = check_rank(L, lc, 3);
  cc_error e;
  cc_payload *p;
  cc_status st;
  luaL_checkany(L, 2);
  p = encode(L, 2);
  st = cc_comm_send(lc->c, p, dst, tag, &e);
  cc_payload_unref(p);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  return 0;
}

static int recv_value(lua_State *L, int32_t tag, bool block) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2);
  cc_error e;
  cc_payload *p = NULL;
  cc_status st = block ? cc_comm_recv(lc->c, src, tag, &p, &e)
                       : cc_comm_try_recv(lc->c, src, tag, &p, &e);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  if (!p) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!block) lua_pushboolean(L, 1);
  push_payload(L, lc, p, src);
  return block ? 1 : 2;
}

/* comm:send(value, dst, tag) */
static int l_send(lua_State *L) { return send_value(L, check_user_tag(L, 4)); }
/* comm:recv(src, tag) */
static int l_recv(lua_State *L) { return recv_value(L, check_user_tag(L, 3), true); }
/* comm:_try_recv(src, tag) -> false | true, value */
static int l_try_recv(lua_State *L) { return recv_value(L, check_user_tag(L, 3), false); }
/* comm:_lib_send(value, dst, libtag) / comm:_lib_recv(src, libtag) */
static int l_lib_send(lua_State *L) { return send_value(L, check_lib_tag(L, 4)); }
static int l_lib_recv(lua_State *L) { return recv_value(L, check_lib_tag(L, 3), true); }
/* comm:_lib_recv_payload(src, libtag) -> the message as it came, undecoded:
 * a userdata of one payload (cl_payloads_test), for C code that reads it
 * where it arrived (F:unmask_into's subtracted terms) and releases it. */
static int l_lib_recv_payload(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2);
  int32_t tag = check_lib_tag(L, 3);
  cc_payload **ps = push_slots(L, 1);
  cc_error e;
  if (cc_comm_recv(lc->c, src, tag, &ps[0], &e) != CC_OK) return raise_cc(L, lc, &e);
  return 1;
}

/* ==== Collectives ============================================================ */

/* comm:allgather(value) -> list */
static int l_allgather(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_payload **all, *mine;
  cc_error e;
  cc_status st;
  luaL_checkany(L, 2);
  mine = encode(L, 2);
  all = take_slots(L, lc, FRAME());
  st = cc_comm_allgather(lc->c, mine, all, &e);
  cc_payload_unref(mine);
  if (st != CC_OK) {
    give_slots(lc, all);
    return raise_cc(L, lc, &e);
  }
  push_payload_list(L, lc, all, lc->size);
  give_slots(lc, all);
  return 1;
}

/* comm:_allgather_payloads(value) -> the messages as they came, undecoded:
 * a userdata of one payload per rank (cl_payloads_test), for C code that
 * reads field arrays straight from their wire bytes. */
static int l_allgather_payloads(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_payload **all, *mine;
  cc_error e;
  cc_status st;
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  all = push_slots(L, lc->size);
  mine = encode(L, 2);
  st = cc_comm_allgather(lc->c, mine, all, &e);
  cc_payload_unref(mine);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  return 1;
}

/* An exchange's lists (see cc_comm_exchange), checked once: to, notify,
 * from and await one after the other in ranks. */
typedef struct exchange_plan {
  int size, rank, nto, nnotify, nfrom, nawait;
  int ranks[];
} exchange_plan;

static const char exchange_plan_key = 0;

/* comm:_exchange_plan(to_list, from_list [, notify_list, await_list]) ->
 * the lists of an exchange, checked, for comm:_exchange_payloads: value
 * goes to every rank of to_list and an empty message to every rank of
 * notify_list; a message is kept from every rank of from_list (this
 * player's own rank, if listed, holds value itself) and awaited, then
 * dropped, from every rank of await_list. Every player's lists must match
 * (a rank in this player's to_list lists it in its from_list, and so for
 * notify_list and await_list). */
static int l_exchange_plan(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int bufs[4][RANKS_ON_STACK], n[4] = {0, 0, 0, 0}, *lists[4];
  static const int args[4] = {2, 4, 3, 5};   /* to, notify, from, await */
  lua_settop(L, 5);
  for (int i = 0; i < 4; i++) {
    lists[i] = bufs[i];
    if (i == 0 || i == 2 || !lua_isnil(L, args[i]))
      lists[i] = check_rank_list(L, lc, args[i], &n[i], bufs[i]);
  }
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < n[i]; j++) {
      int r = lists[i][j];
      if (r == lc->rank && i != 2)
        return luaL_argerror(L, args[i], lua_pushfstring(L, "rank %d is this player's own", r));
      if (i % 2 == 0) continue;
      for (int m = 0; m < n[i - 1]; m++)
        if (lists[i - 1][m] == r)
          return luaL_argerror(L, args[i], lua_pushfstring(L, "rank %d is in %s too", r,
                                                           i == 1 ? "to_list" : "from_list"));
    }
  }
  exchange_plan *plan = lua_newuserdatauv(
      L, sizeof *plan + (size_t)(n[0] + n[1] + n[2] + n[3]) * sizeof(int), 0);
  plan->size = lc->size;
  plan->rank = lc->rank;
  plan->nto = n[0];
  plan->nnotify = n[1];
  plan->nfrom = n[2];
  plan->nawait = n[3];
  for (int i = 0, at = 0; i < 4; at += n[i], i++)
    if (n[i]) memcpy(plan->ranks + at, lists[i], (size_t)n[i] * sizeof(int));
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &exchange_plan_key) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "cicada.ExchangePlan");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &exchange_plan_key);
  }
  lua_setmetatable(L, -2);
  return 1;
}

/* comm:_exchange_payloads(value, plan) -> the messages of the plan's
 * from_list undecoded, by rank, as _allgather_payloads gives them (this
 * player's own rank, if listed, holds value's encoding; the other slots
 * are empty); plan from comm:_exchange_plan. For the suites' reveal,
 * which sends each share only where it is combined. */
static int l_exchange_payloads(lua_State *L) {
  cl_comm *lc = check_comm(L);
  exchange_plan *plan = NULL;
  cc_payload **all, *mine;
  cc_error e;
  cc_status st;
  luaL_checkany(L, 2);
  lua_settop(L, 3);
  if (lua_type(L, 3) == LUA_TUSERDATA && lua_getmetatable(L, 3)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &exchange_plan_key);
    if (lua_rawequal(L, -1, -2)) plan = lua_touserdata(L, 3);
    lua_pop(L, 2);
  }
  if (plan == NULL) return luaL_typeerror(L, 3, "exchange plan");
  if (plan->size != lc->size || plan->rank != lc->rank)
    return luaL_argerror(L, 3, "a plan of another communicator");
  all = push_slots(L, lc->size);
  mine = encode(L, 2);
  const int *to = plan->ranks, *notify = to + plan->nto, *from = notify + plan->nnotify,
            *awaited = from + plan->nfrom;
  /* The plan's lists were checked when it was made, for a communicator of
   * this size and this player's rank: not again on every call. */
  st = _cc_comm_exchange_checked(lc->c, mine, to, plan->nto, notify, plan->nnotify, from,
                                 plan->nfrom, awaited, plan->nawait, all, &e);
  cc_payload_unref(mine);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  return 1;
}

/* comm:barrier() */
static int l_barrier(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_error e;
  if (cc_comm_barrier(lc->c, &e) != CC_OK) return raise_cc(L, lc, &e);
  return 0;
}

/* comm:broadcast(src, value) -> value */
static int l_broadcast(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2);
  cc_payload *mine = NULL, *got = NULL;
  cc_error e;
  cc_status st;
  if (lc->rank == src) mine = encode(L, 3);
  st = cc_comm_broadcast(lc->c, src, mine, &got, &e);
  cc_payload_unref(mine);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  push_payload(L, lc, got, src);
  return 1;
}

/* With raw, dst gets the payloads undecoded, as _allgather_payloads. */
static int gather_common(lua_State *L, cl_comm *lc, const int *srcs, int nsrcs, int value_arg,
                         int dst, int32_t tag, bool raw) {
  cc_payload **all, *mine = NULL;
  int slots = 0;
  cc_error e;
  cc_status st;
  bool contribute = false;
  for (int i = 0; i < nsrcs; i++) if (srcs[i] == lc->rank) contribute = true;
  if (contribute) mine = encode(L, value_arg);
  if (raw) { /* the slots are the result: a userdata of their own */
    all = push_slots(L, lc->size);
    slots = lua_gettop(L);
  } else {
    all = take_slots(L, lc, FRAME());
  }
  st = cc_comm_gatherv(lc->c, srcs, nsrcs, mine, dst, tag, all, &e);
  cc_payload_unref(mine);
  if (st != CC_OK || lc->rank != dst) {
    give_slots(lc, all);
    return st != CC_OK ? raise_cc(L, lc, &e) : 0;
  }
  if (raw) {
    lua_pushvalue(L, slots);
    return 1;
  }
  lua_createtable(L, nsrcs, 0);
  for (int i = 0; i < nsrcs; i++) {
    cc_payload *p = all[srcs[i]];
    all[srcs[i]] = NULL;
    push_payload(L, lc, p, srcs[i]);
    lua_seti(L, -2, i + 1);
  }
  give_slots(lc, all);
  return 1;
}

/* comm:gather(value, dst) -> list at dst, nil elsewhere */
static int l_gather(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int dst = check_rank(L, lc, 3);
  int buf[RANKS_ON_STACK];
  int *srcs = rank_space(L, buf, lc->size);
  for (int i = 0; i < lc->size; i++) srcs[i] = i;
  return gather_common(L, lc, srcs, lc->size, 2, dst, CC_TAG_GATHER, false);
}

/* gatherv's arguments (src_list, value, dst), then gather_common. */
static int gatherv_with(lua_State *L, bool raw) {
  cl_comm *lc = check_comm(L);
  int nsrcs, dst;
  int buf[RANKS_ON_STACK];
  int *srcs = check_rank_list(L, lc, 2, &nsrcs, buf);
  dst = check_rank(L, lc, 4);
  return gather_common(L, lc, srcs, nsrcs, 3, dst, CC_TAG_GATHERV, raw);
}

/* comm:gatherv(src_list, value, dst) -> values of src_list in order at dst */
static int l_gatherv(lua_State *L) { return gatherv_with(L, false); }

/* comm:_gatherv_payloads(src_list, value, dst) -> at dst, the messages of
 * src_list undecoded, by rank (see _allgather_payloads); nil elsewhere. */
static int l_gatherv_payloads(lua_State *L) { return gatherv_with(L, true); }

/* With by_rank, the values are listed by rank (dsts[i]'s at dsts[i] + 1,
 * one per player) rather than in the order of dsts. */
static int scatter_common(lua_State *L, cl_comm *lc, int src, int values_arg, const int *dsts,
                          int ndsts, int32_t tag, bool by_rank) {
  cc_payload **values = take_slots(L, lc, FRAME()), *got = NULL;
  bool receive = false;
  cc_error e;
  cc_status st;
  if (lc->rank == src) {
    lua_Integer len, want = by_rank ? lc->size : ndsts;
    if (!lua_istable(L, values_arg))
      return luaL_argerror(L, values_arg, lua_pushfstring(L, "list of %d values expected at the source, got %s",
                                                          (int)want, luaL_typename(L, values_arg)));
    len = luaL_len(L, values_arg);
    if (len != want)
      return luaL_argerror(L, values_arg, by_rank ?
                           lua_pushfstring(L, "%I values for %d players", len, lc->size) :
                           lua_pushfstring(L, "%I values for %d receivers", len, ndsts));
    for (int i = 0; i < ndsts; i++) {
      lua_geti(L, values_arg, by_rank ? dsts[i] + 1 : i + 1);
      values[dsts[i]] = encode(L, lua_gettop(L));
      lua_pop(L, 1);
    }
  }
  for (int i = 0; i < ndsts; i++) if (dsts[i] == lc->rank) receive = true;
  st = cc_comm_scatterv(lc->c, src, values, dsts, ndsts, tag, &got, &e);
  cc_payloads_free(values, lc->size);
  give_slots(lc, values);
  if (st != CC_OK) return raise_cc(L, lc, &e);
  if (!receive) return 0;
  push_payload(L, lc, got, src);
  return 1;
}

/* comm:scatter(src, values) -> this player's element */
static int l_scatter(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2);
  int buf[RANKS_ON_STACK];
  int *dsts = rank_space(L, buf, lc->size);
  for (int i = 0; i < lc->size; i++) dsts[i] = i;
  return scatter_common(L, lc, src, 3, dsts, lc->size, CC_TAG_SCATTER, false);
}

/* comm:scatterv(src, values, dst_list) -> element, or nil if not listed */
static int l_scatterv(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2), ndsts;
  int buf[RANKS_ON_STACK];
  int *dsts = check_rank_list(L, lc, 4, &ndsts, buf);
  return scatter_common(L, lc, src, 3, dsts, ndsts, CC_TAG_SCATTERV, false);
}

/* comm:_scatter_others(src, rows) -> at every player but src, its row
 * from src; nothing at src. The messages of comm:scatterv(src, values,
 * others), others being every rank but src in order and values[i] =
 * rows[others[i] + 1]: rows lists one value per player (src's own is not
 * sent) at src, and is nil elsewhere. For the suites' share, without a
 * list of receivers to build and check on every call. */
static int l_scatter_others(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int src = check_rank(L, lc, 2), n = 0;
  int buf[RANKS_ON_STACK];
  int *dsts = rank_space(L, buf, lc->size);
  for (int r = 0; r < lc->size; r++)
    if (r != src) dsts[n++] = r;
  return scatter_common(L, lc, src, 3, dsts, n, CC_TAG_SCATTERV, true);
}

/* ==== Fault tolerance ======================================================= */

static void push_comm(lua_State *L, int box_idx, cc_comm *c);

/* Push the communicator c on the engine of the communicator at index 1. */
static void push_sibling(lua_State *L, cc_comm *c) {
  lua_getiuservalue(L, 1, 1);
  push_comm(L, lua_gettop(L), c);
  lua_remove(L, -2);
}

/* comm:revoke() */
static int l_revoke(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_error e;
  if (cc_comm_revoke(lc->c, &e) != CC_OK) return raise_cc(L, lc, &e);
  return 0;
}

/* comm:failed() -> sorted list of the ranks known to have failed */
static int l_failed(lua_State *L) {
  cl_comm *lc = check_comm(L);
  int *ranks = lua_newuserdatauv(L, (size_t)lc->size * sizeof *ranks, 0);
  int n = cc_comm_failed(lc->c, ranks);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, ranks[i]);
    lua_seti(L, -2, i + 1);
  }
  return 1;
}

/* comm:agree(flag) -> the AND of the survivors' flags */
static int l_agree(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_error e;
  bool out = false;
  if (!lua_isboolean(L, 2))
    return luaL_argerror(L, 2, lua_pushfstring(L, "boolean expected, got %s", luaL_typename(L, 2)));
  if (cc_comm_agree(lc->c, lua_toboolean(L, 2), 0, &out, &e) != CC_OK) return raise_cc(L, lc, &e);
  lua_pushboolean(L, out);
  return 1;
}

/* The options of shrink{name=, timeout=}; name defaults to the comm's. */
static void shrink_options(lua_State *L, cl_comm *lc, const char **name, double *timeout_s) {
  *name = cc_comm_name(lc->c);
  *timeout_s = 0;
  if (lua_isnoneornil(L, 2)) return;
  if (!lua_istable(L, 2))
    luaL_argerror(L, 2, lua_pushfstring(L, "options table expected, got %s", luaL_typename(L, 2)));
  if (lua_getfield(L, 2, "name") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 2, lua_pushfstring(L, "option 'name' must be a string, got %s",
                                          luaL_typename(L, -1)));
    *name = lua_tostring(L, -1);   /* stays on the stack while used */
  }
  if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
    if (!lua_isnumber(L, -1) || !(lua_tonumber(L, -1) > 0))
      luaL_argerror(L, 2, "option 'timeout' must be a positive number of seconds");
    *timeout_s = (double)lua_tonumber(L, -1);
  }
}

/* comm:shrink{name=, timeout=} -> newcomm, oldranks */
static int l_shrink(lua_State *L) {
  cl_comm *lc = check_comm(L);
  const char *name;
  double timeout_s;
  int *old, nold = 0;
  cc_comm *nc = NULL;
  cc_error e;
  shrink_options(L, lc, &name, &timeout_s);
  old = lua_newuserdatauv(L, (size_t)lc->size * sizeof *old, 0);
  if (cc_comm_shrink(lc->c, name, timeout_s, &nc, old, &nold, &e) != CC_OK)
    return raise_cc(L, lc, &e);
  push_sibling(L, nc);
  lua_createtable(L, nold, 0);
  for (int i = 0; i < nold; i++) {
    lua_pushinteger(L, old[i]);
    lua_seti(L, -2, i + 1);
  }
  return 2;
}

/* comm:split(name) -> the communicator of the players giving name, or nil */
static int l_split(lua_State *L) {
  cl_comm *lc = check_comm(L);
  const char *name = NULL;
  cc_comm *nc = NULL;
  cc_error e;
  if (!lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) != LUA_TSTRING)
      return luaL_argerror(L, 2, lua_pushfstring(L, "string or nil expected, got %s",
                                                 luaL_typename(L, 2)));
    name = lua_tostring(L, 2);
  }
  if (cc_comm_split(lc->c, name, 0, &nc, &e) != CC_OK) return raise_cc(L, lc, &e);
  if (nc) push_sibling(L, nc); else lua_pushnil(L);
  return 1;
}

/* comm:_kill_in_agreement(messages): for cicada.inject */
static int l_kill_in_agreement(lua_State *L) {
  cl_comm *lc = check_comm(L);
  lua_Integer k = luaL_checkinteger(L, 2);
  luaL_argcheck(L, k >= -1 && k <= INT32_MAX, 2, "message count out of range");
  cc_engine_kill_in_agreement(lc->box->eng, (int)k);
  return 0;
}

/* ==== Statistics, free, fields ============================================= */

static void push_traffic(lua_State *L, const cc_traffic *t) {
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)t->msgs_sent); lua_setfield(L, -2, "msgs_sent");
  lua_pushinteger(L, (lua_Integer)t->bytes_sent); lua_setfield(L, -2, "bytes_sent");
  lua_pushinteger(L, (lua_Integer)t->msgs_recv); lua_setfield(L, -2, "msgs_recv");
  lua_pushinteger(L, (lua_Integer)t->bytes_recv); lua_setfield(L, -2, "bytes_recv");
}

/* comm:stats() -> {total=, peers={[rank+1]=...}, tags={[name or tag]=...},
 * engine=} (engine: every communicator of this player together) */
static int l_stats(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cc_traffic total = {0, 0, 0, 0}, t;
  int32_t tag;
  char tb[16];
  lua_createtable(L, 0, 4);
  lua_createtable(L, lc->size, 0);
  for (int i = 0; i < lc->size; i++) {
    const cc_traffic *p = cc_comm_peer_stats(lc->c, i);
    total.msgs_sent += p->msgs_sent; total.bytes_sent += p->bytes_sent;
    total.msgs_recv += p->msgs_recv; total.bytes_recv += p->bytes_recv;
    push_traffic(L, p);
    lua_seti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "peers");
  push_traffic(L, &total);
  lua_setfield(L, -2, "total");
  push_traffic(L, cc_comm_engine_stats(lc->c));
  lua_setfield(L, -2, "engine");
  lua_newtable(L);
  for (size_t i = 0; cc_comm_tag_stats(lc->c, i, &tag, &t); i++) {
    if (tag >= 0) lua_pushinteger(L, tag);
    else lua_pushstring(L, cc_tag_name(tag, tb, sizeof tb));
    push_traffic(L, &t);
    lua_settable(L, -3);
  }
  lua_setfield(L, -2, "tags");
  return 1;
}

/* comm:free() */
static void stop_if_idle(cl_engine *box);

static int l_free(lua_State *L) {
  cl_comm *lc = luaL_checkudata(L, 1, CL_COMM_MT);
  if (lc->c && lc->box->eng && lc->box->pid == getpid()) {
    cc_comm_free(lc->c);
    stop_if_idle(lc->box);
  }
  lc->c = NULL;
  return 0;
}

static int comm_gc(lua_State *L) {
  cl_comm *lc = luaL_checkudata(L, 1, CL_COMM_MT);
  l_free(L);
  if (lc->slots) {
    cc_payloads_free(lc->slots, lc->size);
    free(lc->slots);
    lc->slots = NULL;
  }
  return 0;
}

static int comm_tostring(lua_State *L) {
  cl_comm *lc = luaL_checkudata(L, 1, CL_COMM_MT);
  lua_pushfstring(L, "Communicator(name=%s, rank=%d, world_size=%d%s)", lc->name, lc->rank,
                  lc->size, lc->c ? "" : ", freed");
  return 1;
}

/* comm.key: a method, else a field. Upvalue 1 is the communicators'
 * metatable and upvalue 2 their method table, so that neither is looked up
 * by name on every call; anything else at 1 raises as luaL_checkudata does. */
static int comm_index(lua_State *L) {
  cl_comm *lc;
  const char *k;
  if (!lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1)))
    luaL_checkudata(L, 1, CL_COMM_MT);
  lc = lua_touserdata(L, 1);
  lua_settop(L, 2);
  /* methods first */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) return 1;
  k = lua_tostring(L, 2);
  if (!k) return 0;
  if (strcmp(k, "rank") == 0) lua_pushinteger(L, lc->rank);
  else if (strcmp(k, "world_size") == 0) lua_pushinteger(L, lc->size);
  else if (strcmp(k, "name") == 0) lua_pushstring(L, lc->name);
  else if (strcmp(k, "timeout") == 0)
    lua_pushnumber(L, lc->c ? cc_comm_timeout(lc->c) : 0.0);
  else if (strcmp(k, "revoked") == 0)
    lua_pushboolean(L, lc->c && lc->box->eng && cc_comm_revoked(lc->c));
  else if (strcmp(k, "freed") == 0)
    lua_pushboolean(L, lc->c == NULL || lc->box->eng == NULL);
  else if (strcmp(k, "joined") == 0) lua_pushboolean(L, lc->joined);
  else if (strcmp(k, "newranks") == 0) {
    /* the newcomers' ranks in a grown world's communicator (a copy), else
     * empty */
    lua_Integer n = 0;
    lua_newtable(L);
    if (lua_getiuservalue(L, 1, 2) == LUA_TTABLE) n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, -1, i);
      lua_seti(L, -3, i);
    }
    lua_pop(L, 1);
  } else if (strcmp(k, "ranks") == 0) {
    lua_createtable(L, lc->size, 0);
    for (int i = 0; i < lc->size; i++) { lua_pushinteger(L, i); lua_seti(L, -2, i + 1); }
  } else lua_pushnil(L);
  return 1;
}

static int comm_newindex(lua_State *L) {
  cl_comm *lc = luaL_checkudata(L, 1, CL_COMM_MT);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "timeout") == 0) {
    lua_Number t = luaL_checknumber(L, 3);
    luaL_argcheck(L, t > 0, 3, "timeout must be a positive number of seconds");
    if (lc->c) cc_comm_set_timeout(lc->c, (double)t);
    return 0;
  }
  return luaL_error(L, "cannot set field '%s' of a communicator", k);
}

/* ==== Creating communicators =============================================== */

static void push_comm(lua_State *L, int box_idx, cc_comm *c) {
  cl_comm *lc = lua_newuserdatauv(L, sizeof *lc, 2);
  lc->c = c;
  lc->box = lua_touserdata(L, box_idx);
  lc->rank = cc_comm_rank(c);
  lc->size = cc_comm_size(c);
  lc->joined = false;
  lc->slots = NULL;
  lc->slots_frame = 0;
  snprintf(lc->name, sizeof lc->name, "%s", cc_comm_name(c));
  lua_pushvalue(L, box_idx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, CL_COMM_MT);
}

/* Start this player's engine and return its world communicator. Used by
 * lua_process.c; raises a cicada error on failure. Pushes the communicator. */
static unsigned engines_started;   /* the script thread's: cl_engine.seq */
void cl_start_world(lua_State *L, const cc_settings *s, const char *name, double timeout_s);
void cl_start_world(lua_State *L, const cc_settings *s, const char *name, double timeout_s) {
  cl_engine *box = lua_newuserdatauv(L, sizeof *box, 0);
  int box_idx = lua_gettop(L);
  cc_error e;
  cc_comm *c;
  box->eng = NULL;
  box->rank = s->rank;
  box->seq = 0;
  box->pid = getpid();
  luaL_setmetatable(L, CL_ENGINE_MT);
  if (cc_engine_start(s, &box->eng, &e) != CC_OK) {
    push_error(L, cc_status_kind(e.code), name, s->rank, e.peer, CC_TAG_NONE, e.message);
    lua_error(L);
  }
  box->pid = getpid();
  box->seq = ++engines_started;
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, CL_ENGINES_KEY) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, box_idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (cc_comm_world(box->eng, name, timeout_s, &c, &e) != CC_OK) {
    push_error(L, cc_status_kind(e.code), name, s->rank, -1, CC_TAG_NONE, e.message);
    lua_error(L);
  }
  push_comm(L, box_idx, c);
  lua_remove(L, box_idx);
}

/* core._announce_failure(message): this player's script raised and it is
 * about to go; every engine it runs tells its peers the message's first
 * line. The player runners (cicada.run's players, cicada-lua) call it. */
static int l_announce_failure(lua_State *L) {
  const char *why = luaL_checkstring(L, 1);
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, CL_ENGINES_KEY) == 0) return 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    cl_engine *box = luaL_testudata(L, -2, CL_ENGINE_MT);
    if (box && box->eng && box->pid == getpid()) cc_engine_announce_failure(box->eng, why);
    lua_pop(L, 1);
  }
  return 0;
}

/* Stop the engine that a communicator runs on (every communicator on it
 * becomes freed). */
void cl_stop_engine_of(lua_State *L, int idx);
void cl_stop_engine_of(lua_State *L, int idx) {
  cl_comm *lc = luaL_testudata(L, idx, CL_COMM_MT);
  if (!lc) return;
  if (lc->c && lc->box->eng) cc_comm_free(lc->c);
  lc->c = NULL;
  if (lc->box->eng) {
    cc_engine_stop(lc->box->eng);
    lc->box->eng = NULL;
  }
}

/* Stop every engine this process started, the newest first: a grown
 * world says goodbye before the world it grew from. */
void cl_stop_all_engines(lua_State *L);
void cl_stop_all_engines(lua_State *L) {
  for (;;) {
    cl_engine *newest = NULL;
    if (luaL_getsubtable(L, LUA_REGISTRYINDEX, CL_ENGINES_KEY) == 0) { lua_pop(L, 1); return; }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      cl_engine *box = luaL_testudata(L, -2, CL_ENGINE_MT);
      if (box && box->eng && box->pid == getpid() && (!newest || box->seq > newest->seq))
        newest = box;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!newest) return;
    cc_engine_stop(newest->eng);
    newest->eng = NULL;
  }
}

/* An engine whose last communicator was just freed (or collected) is of
 * no more use: stop it now, with its I/O thread, links and heartbeats,
 * rather than when the process ends. After a few heals the worlds grown
 * from would otherwise pile up. */
static void stop_if_idle(cl_engine *box) {
  if (box->eng && cc_engine_idle(box->eng)) {
    cc_engine_stop(box->eng);
    box->eng = NULL;
  }
}

/* Mark the communicator at idx as a grown world's: the count newcomers
 * took ranks (ascending), and this player is one of them if joined. */
void cl_mark_grown_ranks(lua_State *L, int idx, const int *ranks, int count, bool joined) {
  cl_comm *lc = luaL_checkudata(L, idx, CL_COMM_MT);
  idx = lua_absindex(L, idx);
  lua_createtable(L, count, 0);
  for (int i = 0; i < count; i++) {
    lua_pushinteger(L, ranks[i]);
    lua_seti(L, -2, i + 1);
  }
  lua_setiuservalue(L, idx, 2);
  lc->joined = joined;
}

/* The same, for newcomers at the ranks after the members'. */
void cl_mark_grown(lua_State *L, int idx, int members, bool joined);
void cl_mark_grown(lua_State *L, int idx, int members, bool joined) {
  cl_comm *lc = luaL_checkudata(L, idx, CL_COMM_MT);
  idx = lua_absindex(L, idx);
  lua_createtable(L, lc->size - members, 0);
  for (int i = members; i < lc->size; i++) {
    lua_pushinteger(L, i);
    lua_seti(L, -2, i - members + 1);
  }
  lua_setiuservalue(L, idx, 2);
  lc->joined = joined;
}

static int listener_gc(lua_State *L) {
  cl_listener *ls = luaL_checkudata(L, 1, CL_LISTENER_MT);
  if (ls->fd >= 0) close(ls->fd);
  ls->fd = -1;
  return 0;
}

/* comm:_grow_listen(across) -> listener, port, host, seat, keeps_seats: a
 * fresh listener at which this member waits for the newcomers of a grow
 * (never the world's first listener, which may be closed once the world is
 * up): on the loopback, or with across (newcomers from other hosts) on
 * every interface, reached at this player's host in the world
 * (cl_world_host). seat is this member's rank in the grown world; with
 * keeps_seats (a TLS world across hosts) it is the rank its certificate
 * plays. Through a launcher a TLS world's players and newcomers share the
 * world's one identity, which plays every rank, so the grown world is laid
 * out as without TLS. */
static int l_grow_listen(lua_State *L) {
  cl_comm *lc = check_comm(L);
  bool across = lua_toboolean(L, 2);
  cl_listener *ls = lua_newuserdatauv(L, sizeof *ls, 0);
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  cc_settings s;
  char why[256];
  bool tls;
  ls->fd = -1;
  /* Before anything is exchanged or asked of the launcher. */
  tls = cc_engine_settings(lc->box->eng, &s);
  if (tls && !cl_world_tls(NULL, NULL))
    return luaL_error(L, "comm:grow: this TLS world was neither started by cicada.run or "
                      "cicada-lua -n nor met through the rendezvous: no identity for newcomers");
  luaL_setmetatable(L, CL_LISTENER_MT);
  if (across) {
    ls->fd = cc_listen_on(NULL, 0, why, sizeof why);
    if (ls->fd < 0) return luaL_error(L, "comm:grow: %s", why);
    lua_pushinteger(L, cc_listen_port(ls->fd));
    lua_pushstring(L, cl_world_host());
    /* In a TLS world a player's rank is the one its certificate names:
     * the grown world keeps it. */
    lua_pushinteger(L, tls ? cc_engine_rank(lc->box->eng) : lc->rank);
    lua_pushboolean(L, tls);
    return 5;
  }
  ls->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls->fd < 0) return luaL_error(L, "comm:grow: cannot open a socket: %s", strerror(errno));
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls->fd, SOMAXCONN) != 0 ||
      getsockname(ls->fd, (struct sockaddr *)&a, &alen) != 0)
    return luaL_error(L, "comm:grow: cannot listen on the loopback: %s", strerror(errno));
  lua_pushinteger(L, ntohs(a.sin_port));
  lua_pushliteral(L, "127.0.0.1");
  lua_pushinteger(L, lc->rank);
  lua_pushboolean(L, 0);
  return 5;
}

/* comm:_grow_world(listener, ports, count, name, startup_timeout, id,
 * hosts, seats) -> the grown world's communicator: the members listen at
 * ports (at hosts, else on the loopback; in their order) and sit at seats
 * (else at their ranks), and count newcomers take the other ranks. The world has its own engine, with this one's token
 * and timings; its links come up through the same authenticated HELLO,
 * under the key of the grown world `id` (core._grow_id) in a world met
 * through the rendezvous, else (id 0) this world's. */
static int l_grow_world(lua_State *L) {
  cl_comm *lc = check_comm(L);
  cl_listener *ls = luaL_checkudata(L, 2, CL_LISTENER_MT);
  lua_Integer count = luaL_checkinteger(L, 4);
  const char *name = luaL_checkstring(L, 5);
  double startup_s = (double)luaL_checknumber(L, 6);
  uint64_t id = (uint64_t)luaL_optinteger(L, 7, 0);
  bool across = lua_istable(L, 8);   /* the members' hosts, else loopback */
  const char **hosts;
  uint16_t *ports;
  int *seat, *newranks;
  bool *taken;
  cc_settings s;
  int members, size, nnew = 0;
  bool tls;
  luaL_checktype(L, 3, LUA_TTABLE);
  members = (int)luaL_len(L, 3);
  if (members != lc->size) return luaL_error(L, "comm:grow: %d ports for %d members", members, lc->size);
  if (count < 1 || count > CC_MAX_WORLD_SIZE - members)
    return luaL_error(L, "comm:grow: cannot add %d players to %d", (int)count, members);
  size = members + (int)count;
  tls = cc_engine_settings(lc->box->eng, &s);
  if (ls->fd < 0) return luaL_error(L, "comm:grow: the listener was already used");
  hosts = lua_newuserdatauv(L, (size_t)size * sizeof *hosts, 0);
  ports = lua_newuserdatauv(L, (size_t)size * sizeof *ports, 0);
  seat = lua_newuserdatauv(L, (size_t)members * sizeof *seat, 0);
  newranks = lua_newuserdatauv(L, (size_t)size * sizeof *newranks, 0);
  taken = lua_newuserdatauv(L, (size_t)size * sizeof *taken, 0);
  for (int i = 0; i < size; i++) {
    hosts[i] = "127.0.0.1";
    ports[i] = 0;   /* a newcomer dials us: we never dial it */
    taken[i] = false;
  }
  /* Member i sits at seats[i] (9th argument: a TLS world keeps the ranks
   * that certificates name), else at i; the newcomers at the others. */
  for (int i = 0; i < members; i++) {
    seat[i] = i;
    if (lua_istable(L, 9)) {
      lua_geti(L, 9, i + 1);
      seat[i] = (int)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
    if (seat[i] < 0 || seat[i] >= size || taken[seat[i]])
      return luaL_error(L, "comm:grow: member %d's rank %d does not fit a grown world of %d",
                        i, seat[i], size);
    taken[seat[i]] = true;
    lua_geti(L, 3, i + 1);
    ports[seat[i]] = (uint16_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    if (across) {
      lua_geti(L, 8, i + 1);
      hosts[seat[i]] = luaL_checkstring(L, -1);   /* kept alive by the table */
      lua_pop(L, 1);
    }
  }
  for (int r = 0; r < size; r++) {
    if (taken[r]) continue;
    newranks[nnew++] = r;
    /* A newcomer that sits below a member is dialled by it: the 10th
     * argument, {[rank + 1] = {port, host}}, says where. */
    if (!lua_istable(L, 10)) continue;
    if (lua_geti(L, 10, r + 1) == LUA_TTABLE) {
      lua_geti(L, -1, 1);
      ports[r] = (uint16_t)luaL_checkinteger(L, -1);
      lua_geti(L, -2, 2);
      hosts[r] = luaL_checkstring(L, -1);   /* kept alive by the table */
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  s.rank = seat[lc->rank];
  s.world_size = size;
  s.listen_fd = ls->fd;
  ls->fd = -1;   /* the engine owns it now, whatever happens */
  s.peer_hosts = hosts;
  s.peer_ports = ports;
  s.startup_timeout_s = startup_s;
  if (tls) cl_world_tls(&s.tls_identity, &s.tls_trusted);
  if (id != 0 && !cl_grow_link_key(id, s.link_key))
    return luaL_error(L, "comm:grow: this world was not met through the rendezvous");
  cl_start_world(L, &s, name, cc_comm_timeout(lc->c));
  memset(s.link_key, 0, sizeof s.link_key);
  cl_mark_grown_ranks(L, lua_gettop(L), newranks, nnew, false);
  return 1;
}

/* ==== Registration ========================================================== */

static const luaL_Reg comm_methods[] = {
  {"send", l_send},
  {"recv", l_recv},
  {"_try_recv", l_try_recv},
  {"_lib_send", l_lib_send},
  {"_lib_recv", l_lib_recv},
  {"_lib_recv_payload", l_lib_recv_payload},
  {"allgather", l_allgather},
  {"_allgather_payloads", l_allgather_payloads},
  {"_exchange_payloads", l_exchange_payloads},
  {"_exchange_plan", l_exchange_plan},
  {"barrier", l_barrier},
  {"broadcast", l_broadcast},
  {"gather", l_gather},
  {"gatherv", l_gatherv},
  {"_gatherv_payloads", l_gatherv_payloads},
  {"scatter", l_scatter},
  {"scatterv", l_scatterv},
  {"_scatter_others", l_scatter_others},
  {"revoke", l_revoke},
  {"failed", l_failed},
  {"agree", l_agree},
  {"shrink", l_shrink},
  {"split", l_split},
  {"_kill_in_agreement", l_kill_in_agreement},
  {"_grow_listen", l_grow_listen},
  {"_grow_world", l_grow_world},
  {"stats", l_stats},
  {"free", l_free},
  {NULL, NULL}
};

static const luaL_Reg comm_meta[] = {
  {"__newindex", comm_newindex},
  {"__gc", comm_gc},
  {"__tostring", comm_tostring},
  {NULL, NULL}
};

void cl_open_comm(lua_State *L) {
  static const struct { const char *name; int32_t tag; } tags[] = {
    {"LOGSYNC", CC_TAG_LOGSYNC}, {"RESHARE", CC_TAG_RESHARE}, {"SHRINK", CC_TAG_SHRINK},
    {"AGREE", CC_TAG_AGREE}, {"SPLIT", CC_TAG_SPLIT}};
  luaL_newmetatable(L, CL_ENGINE_MT);
  lua_pushcfunction(L, engine_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, CL_LISTENER_MT);
  lua_pushcfunction(L, listener_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  luaL_newmetatable(L, CL_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setfield(L, -2, "error_metatable");
  lua_pushcfunction(L, l_error_new);
  lua_setfield(L, -2, "error");
  lua_pushcfunction(L, l_announce_failure);
  lua_setfield(L, -2, "_announce_failure");
  lua_pushcfunction(L, l_name_failures);
  lua_setfield(L, -2, "_name_failures");

  luaL_newmetatable(L, CL_COMM_MT);
  cl_mt_register(L, &comm_mt_key);
  luaL_setfuncs(L, comm_meta, 0);
  luaL_newlib(L, comm_methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "comm_methods");   /* Lua modules add methods here */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__methods");
  lua_pushvalue(L, -2);                  /* comm_index's upvalues */
  lua_insert(L, -2);
  lua_pushcclosure(L, comm_index, 2);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  lua_createtable(L, 0, 5);
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
    lua_pushinteger(L, tags[i].tag);
    lua_setfield(L, -2, tags[i].name);
  }
  lua_setfield(L, -2, "tags");
}
