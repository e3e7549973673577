/*
 * lua_codec.c - Lua values to wire bytes and back.
 *
 * Owns cicada.core.encode(v) -> string and cicada.core.decode(s) -> value,
 * the "cicada.Buffer" and "cicada.Message" userdata, and the cl_encode /
 * cl_decode_push helpers the communicator uses. The format itself, its
 * limits and its validation live in wire.c; this file only walks Lua
 * values.
 *
 * Both directions recurse once per nested table, bounded by the wire's
 * max_depth (64), so the C stack stays small whatever the input.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua/lua_cicada.h"
#include "core/wire.h"

#define ROOT_NAME "value"        /* how error paths start */
#define PATH_KEY_MAX_CHARS 40    /* string keys are cut to this in paths */

/* ==== Buffers =========================================================== */

static int buffer_gc(lua_State *L) {
  cc_buf_free(luaL_checkudata(L, 1, CL_BUFFER_MT));
  return 0;
}

static cc_buf *buffer_push(lua_State *L) {
  cc_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
  cc_buf_init(b);
  if (luaL_newmetatable(L, CL_BUFFER_MT)) {
    lua_pushcfunction(L, buffer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

/* ==== Messages: values encoded ahead of sending ========================= */

cl_message *cl_message_push(lua_State *L) {
  cl_message *m = lua_newuserdatauv(L, sizeof *m, 0);
  m->p = NULL;
  luaL_setmetatable(L, CL_MESSAGE_MT);
  return m;
}

/* The registry holds the messages' metatable also under this key (see
 * cl_mt_is): every send of a value asks whether it is a message. */
static cl_mt_key message_mt_key;

cl_message *cl_message_test(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  return p && cl_mt_is(L, idx, &message_mt_key) ? p : NULL;
}

static cl_message *message_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, CL_MESSAGE_MT);
}

int cl_message_idle(const cl_message *m) {
  return m->p == NULL || atomic_load(&m->p->refs) == 1;
}

/* The message's bytes, or raise: a freed message cannot be sent. */
static cc_payload *message_payload(lua_State *L, const cl_message *m) {
  if (m->p == NULL)
    luaL_error(L, "cannot send a freed message");
  return m->p;
}

/* msg:free(): drop this handle's bytes now (a send still under way keeps
 * its own reference until it is done). Also __gc and __close. */
static int message_free(lua_State *L) {
  cl_message *m = message_check(L, 1);
  cc_payload_unref(m->p);
  m->p = NULL;
  return 0;
}

/* msg:wait([seconds]) -> true once no send holds the bytes any more (or
 * the message is freed), false if that takes longer than seconds (default
 * 1). Polls: sends hand the bytes back from the I/O thread. */
static int message_wait(lua_State *L) {
  cl_message *m = message_check(L, 1);
  lua_Number limit = luaL_optnumber(L, 2, 1.0);
  struct timespec t0, now, nap = {0, 20000};
  luaL_argcheck(L, limit >= 0, 2, "seconds must not be negative");
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (!cl_message_idle(m)) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((lua_Number)(now.tv_sec - t0.tv_sec) + (lua_Number)(now.tv_nsec - t0.tv_nsec) * 1e-9 >=
        limit) {
      lua_pushboolean(L, 0);
      return 1;
    }
    nanosleep(&nap, NULL);
    if (nap.tv_nsec < 1000000) nap.tv_nsec *= 2; /* up to about a millisecond */
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* #msg: the bytes of the encoding (0 once freed). */
static int message_len(lua_State *L) {
  cl_message *m = message_check(L, 1);
  lua_pushinteger(L, m->p ? (lua_Integer)m->p->len : 0);
  return 1;
}

static int message_tostring(lua_State *L) {
  cl_message *m = message_check(L, 1);
  if (m->p)
    lua_pushfstring(L, "Message(%I bytes)", (LUAI_UACINT)m->p->len);
  else
    lua_pushliteral(L, "Message(freed)");
  return 1;
}

static const luaL_Reg message_methods[] = {
    {"wait", message_wait},
    {"free", message_free},
    {NULL, NULL}};

static const luaL_Reg message_meta[] = {
    {"__gc", message_free},
    {"__close", message_free},
    {"__len", message_len},
    {"__tostring", message_tostring},
    {NULL, NULL}};

/* ==== Encoding: where we are ============================================ */

/* One step from a table to the value being encoded: an array index, or a
 * hash key kept on the Lua stack. */
typedef struct path_step {
  int table;         /* stack index of the table */
  int key;           /* stack index of the key, or 0 for an array index */
  lua_Integer index;
  int is_key;        /* the step leads to the key itself, not its value */
} path_step;

typedef struct encoder {
  lua_State *L;
  cc_buf *buf;
  cc_wire_limits limits;
  size_t nelements;
  size_t depth;                          /* tables open */
  path_step path[CC_WIRE_DEPTH_CAP + 1];
} encoder;

static int is_keyword(const char *s) {
  static const char *const words[] = {
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
      "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
      "until", "while", NULL};
  int i;
  for (i = 0; words[i] != NULL; i++)
    if (strcmp(s, words[i]) == 0)
      return 1;
  return 0;
}

static int is_name(const char *s, size_t len) {
  size_t i;
  if (len == 0 || strlen(s) != len || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_'))
      return 0;
  }
  return !is_keyword(s);
}

static void add_string_key(luaL_Buffer *p, const char *s, size_t len) {
  size_t i, n = len < PATH_KEY_MAX_CHARS ? len : PATH_KEY_MAX_CHARS;
  if (is_name(s, len)) {
    luaL_addchar(p, '.');
    luaL_addlstring(p, s, len);
    return;
  }
  luaL_addstring(p, "[\"");
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    luaL_addchar(p, (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?');
  }
  luaL_addstring(p, len > n ? "...\"]" : "\"]");
}

static void add_key(lua_State *L, luaL_Buffer *p, int key) {
  switch (lua_type(L, key)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, key, &len);
    add_string_key(p, s, len);
    return;
  }
  case LUA_TNUMBER:
    luaL_addchar(p, '[');
    if (lua_isinteger(L, key))
      lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, key));
    else
      lua_pushfstring(L, "%f", (LUAI_UACNUMBER)lua_tonumber(L, key));
    luaL_addvalue(p);
    luaL_addchar(p, ']');
    return;
  case LUA_TBOOLEAN:
    luaL_addstring(p, lua_toboolean(L, key) ? "[true]" : "[false]");
    return;
  default:
    luaL_addchar(p, '[');
    luaL_addstring(p, luaL_typename(L, key));
    luaL_addchar(p, ']');
    return;
  }
}

/* Push the path of the first nsteps steps, e.g. "value.x[3]". A step into
 * a table used as a key (rare) shows as "{key}". */
static void push_path(encoder *e, size_t nsteps) {
  lua_State *L = e->L;
  luaL_Buffer p;
  size_t i;
  luaL_checkstack(L, 4, "cannot describe the path of a value");
  luaL_buffinit(L, &p);
  luaL_addstring(&p, ROOT_NAME);
  for (i = 0; i < nsteps; i++) {
    const path_step *s = &e->path[i];
    if (s->is_key) {
      luaL_addstring(&p, "{key}");
    } else if (s->key == 0) {
      lua_pushfstring(L, "[%I]", (LUAI_UACINT)s->index);
      luaL_addvalue(&p);
    } else {
      add_key(L, &p, s->key);
    }
  }
  luaL_pushresult(&p);
}

/* Raise "cannot send <what> (at <path>)", or "(as a key in <path>)". */
static int refuse(encoder *e, const char *what) {
  lua_State *L = e->L;
  if (e->depth > 0 && e->path[e->depth - 1].is_key) {
    push_path(e, e->depth - 1);
    return luaL_error(L, "cannot send %s (as a key in %s)", what, lua_tostring(L, -1));
  }
  push_path(e, e->depth);
  return luaL_error(L, "cannot send %s (at %s)", what, lua_tostring(L, -1));
}

/* ==== Encoding: values ================================================== */

static void encode_value(encoder *e, int idx);

static void wrote(encoder *e, int rc) {
  if (rc != 0)
    refuse(e, "a value: out of memory while encoding it");
  if (e->buf->len > e->limits.max_bytes) {
    lua_pushfstring(e->L, "a value larger than %I bytes",
                    (LUAI_UACINT)e->limits.max_bytes);
    refuse(e, lua_tostring(e->L, -1));
  }
}

static void count_element(encoder *e) {
  if (++e->nelements > e->limits.max_elements) {
    lua_pushfstring(e->L, "more than %I values in one message",
                    (LUAI_UACINT)e->limits.max_elements);
    refuse(e, lua_tostring(e->L, -1));
  }
}

static void encode_string(encoder *e, int idx) {
  size_t len;
  const char *s = lua_tolstring(e->L, idx, &len);
  if (len > e->limits.max_bytes || len > CC_WIRE_MAX_COUNT) {
    lua_pushfstring(e->L, "a string of %I bytes (the limit is %I)", (LUAI_UACINT)len,
                    (LUAI_UACINT)e->limits.max_bytes);
    refuse(e, lua_tostring(e->L, -1));
  }
  wrote(e, cc_wire_put_string(e->buf, s, len));
}

static void encode_userdata(encoder *e, int idx) {
  lua_State *L = e->L;
  cl_array *a = cl_array_test(L, idx);
  cl_message *m = a == NULL ? cl_message_test(L, idx) : NULL;
  if (m != NULL) { /* already one value's encoding: its bytes as they are */
    cc_payload *p = message_payload(L, m);
    if (p->len > e->limits.max_bytes - e->buf->len)
      refuse(e, "a message this large");
    wrote(e, cc_buf_append(e->buf, p->data, p->len));
    return;
  }
  if (a == NULL) {
    const char *name = "userdata";
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
      name = lua_tostring(L, -1);
    lua_pushfstring(L, "a userdata (%s)", name);
    refuse(e, lua_tostring(L, -1));
  }
  if (a->ndim > CC_WIRE_MAX_NDIM ||
      (a->ndim >= 1 && a->shape[0] > CC_WIRE_MAX_COUNT) ||
      (a->ndim == 2 && a->shape[1] > CC_WIRE_MAX_COUNT) ||
      a->n > (e->limits.max_bytes - e->buf->len) / 8 / (size_t)a->w)
    refuse(e, "a field array this large");
  if (a->w == 2)
    wrote(e, cc_wire_put_array128(e->buf, a->order, a->order_hi, a->ndim, a->shape, a->data));
  else
    wrote(e, cc_wire_put_array(e->buf, a->order, a->ndim, a->shape, a->data));
}

/* A table already on the path contains itself: it cannot be written out. */
static int on_path(encoder *e, int idx) {
  size_t i;
  for (i = 0; i < e->depth; i++)
    if (lua_rawequal(e->L, e->path[i].table, idx))
      return 1;
  return 0;
}

static void enter(encoder *e, int table) {
  path_step *s = &e->path[e->depth++];
  s->table = table;
  s->key = 0;
  s->index = 0;
  s->is_key = 0;
}

/* Array part: values of keys 1..n while they are not nil. */
static size_t encode_array_part(encoder *e, int t) {
  lua_State *L = e->L;
  path_step *s = &e->path[e->depth - 1];
  lua_Integer i;
  for (i = 1; lua_rawgeti(L, t, i) != LUA_TNIL; i++) {
    s->key = 0;
    s->index = i;
    encode_value(e, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return (size_t)(i - 1);
}

static int in_array_part(lua_State *L, int key, size_t narr) {
  lua_Integer k;
  if (!lua_isinteger(L, key))
    return 0;
  k = lua_tointeger(L, key);
  return k >= 1 && (lua_Unsigned)k <= narr;
}

/* Hash part: every other key, in lua_next order. */
static size_t encode_hash_part(encoder *e, int t, size_t narr) {
  lua_State *L = e->L;
  path_step *s = &e->path[e->depth - 1];
  size_t nhash = 0;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    int key = lua_gettop(L) - 1;
    if (!in_array_part(L, key, narr)) {
      s->key = key;
      s->is_key = 1;
      encode_value(e, key);
      s->is_key = 0;
      encode_value(e, key + 1);
      nhash++;
    }
    lua_pop(L, 1);
  }
  return nhash;
}

static void encode_table(encoder *e, int t) {
  size_t at = e->buf->len, narr, nhash;
  if (on_path(e, t))
    refuse(e, "a table that contains itself");
  if (e->depth + 1 > e->limits.max_depth) {
    lua_pushfstring(e->L, "tables nested more than %I deep", (LUAI_UACINT)e->limits.max_depth);
    refuse(e, lua_tostring(e->L, -1));
  }
  luaL_checkstack(e->L, 8, "cannot send: tables nested too deep for the Lua stack");
  wrote(e, cc_wire_put_table(e->buf, 0, 0));
  enter(e, t);
  narr = encode_array_part(e, t);
  nhash = encode_hash_part(e, t, narr);
  e->depth--;
  if (narr > CC_WIRE_MAX_COUNT || nhash > CC_WIRE_MAX_COUNT)
    refuse(e, "a table with more than 4294967295 entries");
  wrote(e, cc_wire_patch_table(e->buf, at, narr, nhash));
}

static void encode_value(encoder *e, int idx) {
  lua_State *L = e->L;
  count_element(e);
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    wrote(e, cc_wire_put_nil(e->buf));
    return;
  case LUA_TBOOLEAN:
    wrote(e, cc_wire_put_bool(e->buf, lua_toboolean(L, idx)));
    return;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx))
      wrote(e, cc_wire_put_int(e->buf, (int64_t)lua_tointeger(L, idx)));
    else
      wrote(e, cc_wire_put_float(e->buf, (double)lua_tonumber(L, idx)));
    return;
  case LUA_TSTRING:
    encode_string(e, idx);
    return;
  case LUA_TTABLE:
    encode_table(e, idx);
    return;
  case LUA_TUSERDATA:
    encode_userdata(e, idx);
    return;
  case LUA_TFUNCTION:
    refuse(e, "a function");
    return;
  case LUA_TTHREAD:
    refuse(e, "a coroutine");
    return;
  case LUA_TLIGHTUSERDATA:
    refuse(e, "a light userdata");
    return;
  default:
    refuse(e, luaL_typename(L, idx));
    return;
  }
}

cc_buf *cl_encode(lua_State *L, int idx) {
  encoder *e;
  cc_buf *b;
  idx = lua_absindex(L, idx);
  b = buffer_push(L);
  /* the encoder is a few KiB: a userdata rather than C stack, collected
   * like any other if an error unwinds */
  e = lua_newuserdatauv(L, sizeof *e, 0);
  e->L = L;
  e->buf = b;
  cc_wire_limits_default(&e->limits);
  e->nelements = 0;
  e->depth = 0;
  encode_value(e, idx);
  lua_pop(L, 1);
  return b;
}

/* A field array's encoding straight into a payload of its exact size (a
 * pooled buffer, for a big one; after the payload's header, in the same
 * allocation, for a small one): no buffer grown by doubling, no fresh
 * pages. NULL for an array the encoder would refuse (cl_encode then says
 * why). */
static cc_payload *encode_array_payload(lua_State *L, const cl_array *a) {
  uint8_t head[CC_WIRE_ARRAY_HEADER_MAX];
  cc_wire_limits limits;
  cc_payload *p;
  size_t headlen, words;
  cc_wire_limits_default(&limits);
  if (a->n > limits.max_bytes / 8 / (size_t)a->w)
    return NULL;
  headlen = cc_wire_array_header(head, a->w, a->order, a->w == 2 ? a->order_hi : 0, a->ndim,
                                 a->shape);
  if (headlen == 0)
    return NULL;
  words = a->n * (size_t)a->w; /* bounded just above: no overflow below */
  p = cc_payload_new_whole(headlen + 8 * words);
  if (p == NULL)
    luaL_error(L, "out of memory");
  memcpy(p->data, head, headlen);
  cc_wire_store_words(p->data + headlen, a->data, words);
  return p;
}

cc_payload *cl_encode_payload(lua_State *L, int idx) {
  cc_payload *p;
  cc_buf *b;
  uint8_t *data;
  size_t len;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TUSERDATA) {
    cl_array *a = cl_array_test(L, idx);
    if (a != NULL) {
      p = encode_array_payload(L, a);
      if (p != NULL)
        return p;
    } else {
      cl_message *m = cl_message_test(L, idx);
      if (m != NULL)
        return cc_payload_ref(message_payload(L, m));
    }
  }
  b = cl_encode(L, idx);
  data = cc_buf_steal(b, &len);
  p = cc_payload_take(data, len);
  lua_pop(L, 1);
  if (p == NULL) {
    free(data);
    luaL_error(L, "out of memory");
  }
  return p;
}

/* ==== Decoding ========================================================== */

typedef struct decode_job {
  const void *in;
  size_t len;
} decode_job;

static void push_item(lua_State *L, cc_wire_reader *r, const cc_wire_item *it);

/* The next item, or raise the reader's message (caught by cl_decode_push). */
static void next_item(lua_State *L, cc_wire_reader *r, cc_wire_item *it) {
  int rc = cc_wire_next(r, it);
  if (rc == 1)
    return;
  lua_pushstring(L, rc == 0 ? "truncated input: the value ends early" : cc_wire_reader_error(r));
  lua_error(L);
}

static int size_hint(size_t n) {
  return n > INT_MAX ? INT_MAX : (int)n;
}

static void push_table(lua_State *L, cc_wire_reader *r, const cc_wire_item *t) {
  cc_wire_item it;
  size_t i;
  luaL_checkstack(L, 4, "value nested too deep for the Lua stack");
  /* sizes were checked against the bytes that remain: a hint of at most the
   * input's length */
  lua_createtable(L, size_hint(t->narr), size_hint(t->nhash));
  for (i = 1; i <= t->narr; i++) {
    next_item(L, r, &it);
    push_item(L, r, &it);
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  for (i = 0; i < t->nhash; i++) {
    next_item(L, r, &it);
    push_item(L, r, &it);
    next_item(L, r, &it);
    push_item(L, r, &it);
    lua_rawset(L, -3);
  }
}

/* The array's words go from the input straight into the new array, checked
 * against the order as they are copied (the reader defers that check to
 * here): one pass, and no zero-filling first. */
static void push_array(lua_State *L, cc_wire_reader *r, const cc_wire_item *it) {
  /* The reader checked the order. Making an array takes only the order
   * and the width: the field's constants are not computed per message. */
  cl_fq q;
  memset(&q, 0, sizeof q);
  q.lo = it->order;
  q.hi = it->kind == CC_WIRE_ARRAY128 ? it->order_hi : 0;
  q.w = q.hi ? 2 : 1;
  cl_array *a = cl_array_push_filled(L, &q, it->ndim, it->shape);
  if (a->n * (size_t)a->w != it->nwords)
    luaL_error(L, "field array at byte %I: %I words for %I elements",
               (LUAI_UACINT)it->offset, (LUAI_UACINT)it->nwords, (LUAI_UACINT)a->n);
  if (cc_wire_load_checked(r, it, a->data) != 0) {
    lua_pushstring(L, cc_wire_reader_error(r));
    lua_error(L);
  }
}

static void push_item(lua_State *L, cc_wire_reader *r, const cc_wire_item *it) {
  switch (it->kind) {
  case CC_WIRE_NIL:
    lua_pushnil(L);
    return;
  case CC_WIRE_FALSE:
  case CC_WIRE_TRUE:
    lua_pushboolean(L, it->kind == CC_WIRE_TRUE);
    return;
  case CC_WIRE_INT:
    lua_pushinteger(L, (lua_Integer)it->integer);
    return;
  case CC_WIRE_FLOAT:
    lua_pushnumber(L, (lua_Number)it->number);
    return;
  case CC_WIRE_STRING:
    lua_pushlstring(L, (const char *)it->bytes, it->len);
    return;
  case CC_WIRE_TABLE:
    push_table(L, r, it);
    return;
  case CC_WIRE_ARRAY:
  case CC_WIRE_ARRAY128:
    push_array(L, r, it);
    return;
  }
}

/* Runs under lua_pcall: arg 1 is a light userdata pointing at a decode_job. */
static int decode_protected(lua_State *L) {
  const decode_job *job = lua_touserdata(L, 1);
  /* A few KiB of C stack, of which only the head is initialised: a
   * userdata would cost an allocation and a collection per message. */
  cc_wire_reader reader, *r = &reader;
  cc_wire_item it;
  cc_wire_reader_init(r, job->in, job->len, NULL);
  cc_wire_reader_defer_words(r);   /* push_array checks them as it copies */
  next_item(L, r, &it);
  push_item(L, r, &it);
  if (cc_wire_reader_finish(r) != 0) {
    lua_pushstring(L, cc_wire_reader_error(r));
    return lua_error(L);
  }
  return 1;
}

/* A message that is one field array (a share: the most frequent message)
 * is decoded without the protected call a nested value needs: every check
 * that can fail is made before the array is made or after its words are
 * in, and the array is dropped then. 1 if the array was pushed; 0 leaves
 * the message (valid or not) to decode_protected, which says what is
 * wrong with it. */
static int decode_lone_array(lua_State *L, const void *buf, size_t len) {
  cc_wire_reader reader, *r = &reader;
  cc_wire_item it;
  size_t n = 1;
  cc_wire_reader_init(r, buf, len, NULL);
  cc_wire_reader_defer_words(r);
  if (cc_wire_next(r, &it) != 1 || (it.kind != CC_WIRE_ARRAY && it.kind != CC_WIRE_ARRAY128) ||
      it.ndim < 0 || it.ndim > CL_ARRAY_MAX_DIMS)
    return 0;
  for (int d = 0; d < it.ndim; d++) {
    if (it.shape[d] != 0 && n > it.nwords / it.shape[d]) return 0;
    n *= it.shape[d];
  }
  cl_fq q;
  memset(&q, 0, sizeof q);
  q.lo = it.order;
  q.hi = it.kind == CC_WIRE_ARRAY128 ? it.order_hi : 0;
  q.w = q.hi ? 2 : 1;
  if (n * (size_t)q.w != it.nwords) return 0;
  cl_array *a = cl_array_push_filled(L, &q, it.ndim, it.shape);
  if (cc_wire_load_checked(r, &it, a->data) == 0 && cc_wire_reader_finish(r) == 0) return 1;
  lua_pop(L, 1);
  return 0;
}

int cl_decode_push(lua_State *L, const void *buf, size_t len, char *err, size_t errsz) {
  decode_job job;
  int status;
  job.in = buf;
  job.len = len;
  luaL_checkstack(L, 3, "cannot decode: Lua stack overflow");
  if (decode_lone_array(L, buf, len)) return 1;
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, &job);
  status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_OK)
    return 1;
  if (status == LUA_ERRMEM)
    lua_error(L); /* out of memory is the caller's problem, not the input's */
  if (err != NULL && errsz > 0) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
      msg = "cannot decode the value";
    strncpy(err, msg, errsz - 1);
    err[errsz - 1] = '\0';
  }
  lua_pop(L, 1);
  return 0;
}

/* ==== cicada.core.encode / decode ======================================= */

static int codec_encode(lua_State *L) {
  cc_buf *b;
  luaL_checkany(L, 1);
  b = cl_encode(L, 1);
  lua_pushlstring(L, (const char *)b->data, b->len);
  cc_buf_free(b); /* now, rather than at the next collection */
  return 1;
}

static int codec_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char err[256];
  if (!cl_decode_push(L, s, len, err, sizeof err))
    return luaL_error(L, "cannot decode: %s", err);
  return 1;
}

static const luaL_Reg codec_funcs[] = {
    {"encode", codec_encode},
    {"decode", codec_decode},
    {NULL, NULL}};

void cl_open_codec(lua_State *L) {
  cl_new_type(L, CL_MESSAGE_MT, message_meta, message_methods, NULL, NULL);
  luaL_getmetatable(L, CL_MESSAGE_MT);
  cl_mt_register(L, &message_mt_key);
  lua_pop(L, 1);
  luaL_setfuncs(L, codec_funcs, 0);
}
