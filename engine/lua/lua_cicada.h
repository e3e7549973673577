/*
 * lua_cicada.h - what the Lua binding files (engine/lua/lua_*.c) share.
 *
 * The engine core knows no Lua; these bindings turn Lua values into engine
 * calls and engine errors into Lua errors. Each lua_*.c file owns one type or
 * one group of functions and registers it into the `cicada.core` table with
 * its cl_open_* function, called from lua_module.c.
 */
#ifndef CICADA_LUA_CICADA_H
#define CICADA_LUA_CICADA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

/* ==== Field arrays (lua_array.c) ========================================= */

#include "core/field.h"
#include "core/field128.h"
#include "core/random.h"

#define CL_ARRAY_MT "cicada.FieldArray"
#define CL_FIELD_MT "cicada.Field"
#define CL_RNG_MT "cicada.Rng"
#define CL_ARRAY_MAX_DIMS 2

/* A field of either width. Orders below 2^64 use field.c's kernels with one
 * 64-bit word per element (w == 1); orders of 65 to 128 bits field128.c's
 * with two words per element, lo then hi (w == 2). The width follows from
 * the order, so an array's order says how to read its words. */
typedef struct cl_fq {
  uint64_t lo, hi; /* the order */
  int w;           /* words per element: 1 or 2 */
  int bits;        /* bit length of the order */
  cc_field f;      /* w == 1 */
  cc_field128 g;   /* w == 2 */
} cl_fq;

/* Fill q for an order already known to be prime. */
void cl_fq_setup(cl_fq *q, uint64_t lo, uint64_t hi);
/* Check the order and fill q; 0, or -1 with a message in err. */
int cl_fq_init(cl_fq *q, uint64_t lo, uint64_t hi, char *err, size_t errsz);

/* Element i of words of width w, and the same written. */
static inline cc_u128 cl_elem(int w, const uint64_t *d, size_t i) {
  return w == 2 ? cc_field128_get(d, i) : (cc_u128)d[i];
}
static inline void cl_set_elem(int w, uint64_t *d, size_t i, cc_u128 v) {
  if (w == 2) cc_field128_set(d, i, v);
  else d[i] = (uint64_t)v;
}

/* Call the kernel `name` of q's width with the same further arguments, for
 * the kernels whose other parameters do not depend on the width. */
#define CL_FQ(q, name, ...)                                  \
  ((q)->w == 2 ? cc_field128_##name(&(q)->g, __VA_ARGS__)   \
               : cc_field_##name(&(q)->f, __VA_ARGS__))

/* A field array: elements of GF(order) as raw 64-bit words (w per element,
 * see cl_fq), row-major, stored inline after the header. ndim is 0 (scalar,
 * n == 1), 1 or 2; n counts elements. */
typedef struct cl_array {
  uint64_t order;    /* low word of the order */
  uint64_t order_hi; /* high word (nonzero exactly when w == 2) */
  int w;
  int ndim;
  size_t shape[CL_ARRAY_MAX_DIMS];
  size_t n;
  uint64_t data[];
} cl_array;

/* Push a new zero-filled array of field q; raises a Lua error if it is too
 * large. */
cl_array *cl_array_push(lua_State *L, const cl_fq *q, int ndim, const size_t *shape);
/* Push a new array whose every element the caller writes before returning
 * it (kernels that fill their output skip a pass over memory). */
cl_array *cl_array_push_filled(lua_State *L, const cl_fq *q, int ndim, const size_t *shape);
/* An array shaped like a, for the caller to fill. */
cl_array *cl_array_push_like(lua_State *L, const cl_array *a);
cl_array *cl_array_check(lua_State *L, int idx);

/* A type whose metatable is checked on every call is found in the
 * registry under the address of its cl_mt_key (always), and under an
 * integer reference that ref remembers: a hint read first, since the
 * registry's integer keys are found faster than its address keys. The
 * hint is the same in every Lua state that opened the types in the same
 * order; where it is not, the address decides.
 *
 * mt is the metatable's address while every state of the process that
 * opened the type has it at that one address (in practice: one state per
 * process, a player's): a state that opened the type has its metatable
 * there for as long as the state lives, so a value whose metatable is at
 * mt has that very metatable, and one whose metatable is elsewhere has
 * another. The check is then the metatable's address against mt: no
 * registry lookup. Once two states have had it at different addresses, mt
 * is CL_MT_SHARED and the registry decides, as above. */
#define CL_MT_SHARED ((uintptr_t)1)
typedef struct cl_mt_key {
  atomic_int ref;           /* any thread: written when a state opens the type */
  _Atomic(uintptr_t) mt;    /* 0 until a state opens the type */
} cl_mt_key;
/* Records the metatable on top of the stack (left there) under key. */
void cl_mt_register(lua_State *L, cl_mt_key *key);
/* cl_mt_is where mt cannot decide: the registry's answer for the
 * metatable on top of the stack, which it pops. */
int cl_mt_registered(lua_State *L, cl_mt_key *key);
/* 1 if the value at idx has the metatable of key. */
static inline int cl_mt_is(lua_State *L, int idx, cl_mt_key *key) {
  uintptr_t mt = atomic_load_explicit(&key->mt, memory_order_relaxed);
  int same;
  if (!lua_getmetatable(L, idx)) return 0;
  if (mt == 0 || mt == CL_MT_SHARED) return cl_mt_registered(L, key);
  same = (uintptr_t)lua_topointer(L, -1) == mt;
  lua_pop(L, 1);
  return same;
}
/* Push the metatable of key (of a type this state opened). */
void cl_mt_push(lua_State *L, cl_mt_key *key);
cl_array *cl_array_test(lua_State *L, int idx); /* NULL if not an array */

int cl_array_same_shape(const cl_array *a, const cl_array *b);
/* 1 if a's elements belong to field q. */
static inline int cl_array_in(const cl_array *a, const cl_fq *q) {
  return a->order == q->lo && a->order_hi == q->hi;
}
/* Bytes of a's elements. */
static inline size_t cl_array_bytes(const cl_array *a) {
  return a->n * (size_t)a->w * sizeof(uint64_t);
}
/* "{}", "{3}" or "{2, 3}" into buf. */
const char *cl_array_shape_str(char *buf, size_t sz, const cl_array *a);
/* A shape argument: an integer n ({n}) or a list of 0 to 2 sizes; returns
 * the number of dimensions. */
int cl_check_shape(lua_State *L, int arg, size_t *shape);
/* The field of an array's order (arrays only hold primes: they come from
 * a Field or from a codec that checked the order). */
void cl_array_field(const cl_array *a, cl_fq *q);

/* A field element or an order as a Lua integer with the same 64 bits. */
static inline void cl_push_u64(lua_State *L, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
}
/* An element or order v of a field of width w as Lua reads it back: with
 * w == 1 the integer with the same 64 bits; with w == 2 an integer when
 * v < 2^63, else its decimal string. */
void cl_push_value(lua_State *L, int w, cc_u128 v);

/* ==== Fields (lua_field.c) ================================================ */

typedef struct cl_field {
  cl_fq q;
} cl_field;

enum cl_binop { CL_OP_ADD, CL_OP_SUB, CL_OP_MUL };

cl_field *cl_field_check(lua_State *L, int idx);
/* An array of field q at idx, or raise naming the argument. */
cl_array *cl_field_own_array(lua_State *L, int idx, const cl_fq *q);
/* out = a op b with scalar broadcasting; operands at ia and ib (arrays of
 * q, integers or lists). Pushes the result and returns 1. */
int cl_field_binop(lua_State *L, const cl_fq *q, int ia, int ib, enum cl_binop op);
/* The order as unsigned decimal, pushed on the stack. */
const char *cl_push_order(lua_State *L, uint64_t lo, uint64_t hi);

/* ==== Encodings (lua_encoding.c) ========================================== */

/* How Lua values become elements, and elements Lua values. */
enum cl_conv { CL_CONV_INT, CL_CONV_FIXED, CL_CONV_BOOL, CL_CONV_BIT };
enum cl_dec { CL_DEC_RAW, CL_DEC_INT, CL_DEC_FIXED, CL_DEC_BOOL, CL_DEC_BIT };

/* Push a new array of field q converted from the Lua number, integer string
 * (decimal or 0x-hex, optionally signed) or (nested) list at idx; errors
 * name argument arg. */
cl_array *cl_push_converted(lua_State *L, int idx, const cl_fq *q, int arg,
                            enum cl_conv mode, int precision);
/* Push a number for a 0-d array, a list for 1-d, a list of rows for 2-d. */
void cl_push_decoded(lua_State *L, const cl_array *a, enum cl_dec mode, int precision,
                     int arg);
/* The F:encode_* and F:decode_* methods, added to the Field's methods. */
extern const luaL_Reg cl_field_encoding_methods[];

/* ==== Random streams (lua_rng.c) ========================================== */

/* The stream at arg, or tmp initialized as a CSPRNG stream when arg is none
 * or nil (the caller frees tmp when the result is tmp). */
cc_rng *cl_rng_opt(lua_State *L, int arg, cc_rng *tmp);
/* out[i] uniform in [0, bound) for n elements of width w (1 <= bound, and
 * bound < 2^64 when w == 1); raises if OpenSSL fails. */
void cl_rng_fill_uniform(lua_State *L, cc_rng *rng, int w, cc_u128 bound, uint64_t *out,
                         size_t n);

/* ==== Registration ====================================================== */

/* Each adds its functions to the table on top of the stack. */
void cl_open_array(lua_State *L);
void cl_open_field(lua_State *L);
void cl_open_rng(lua_State *L);
void cl_open_codec(lua_State *L);
void cl_open_comm(lua_State *L);
void cl_open_process(lua_State *L);

/* A metatable `name` with the functions of meta and a methods table holding
 * methods and more_methods (may be NULL); its __index is index, a closure
 * over the methods table, or without index the methods table itself. */
void cl_new_type(lua_State *L, const char *name, const luaL_Reg *meta,
                 const luaL_Reg *methods, const luaL_Reg *more_methods,
                 lua_CFunction index);

/* ==== Codec (lua_codec.c) ================================================ */

#include "core/wire.h"
#include "core/payload.h"

#define CL_BUFFER_MT "cicada.Buffer"

/* Encode the value at idx (wire format in wire.h). Pushes a userdata
 * (metatable "cicada.Buffer", freed by __gc) holding the bytes and returns
 * its buffer: take them with cc_buf_steal() to send without another copy.
 * Raises a Lua error naming the path for values that cannot travel, e.g.
 * "cannot send a function (at value.x[3])": functions, coroutines, userdata
 * other than field arrays, tables that contain themselves, nesting or sizes
 * over the wire limits. Tables travel by their raw contents; metatables and
 * metamethods are neither sent nor called. */
cc_buf *cl_encode(lua_State *L, int idx);
/* The same encoding as a payload to send (refs = 1, the caller releases
 * it): a message (below) is its own payload, a field array is written
 * straight into a payload of its exact size, anything else goes through
 * cl_encode. Raises as cl_encode does, and for a freed message. */
cc_payload *cl_encode_payload(lua_State *L, int idx);

/* A "cicada.Message": one value already encoded (a payload), which every
 * send takes as it is (cl_encode_payload adds a reference; inside a table
 * its bytes are copied in). The receiver decodes the value as if it had
 * been sent itself. Made by F:shamir_share_message (lua_field.c), which
 * writes a player's shares straight into the bytes. p is NULL once freed
 * (msg:free(), __close, __gc); a freed message cannot be sent. */
#define CL_MESSAGE_MT "cicada.Message"
typedef struct cl_message {
  cc_payload *p; /* this handle's reference; sends hold their own */
} cl_message;
/* Push an empty message (p NULL) for the caller to fill. */
cl_message *cl_message_push(lua_State *L);
cl_message *cl_message_test(lua_State *L, int idx); /* NULL if not a message */
/* 1 if no send holds m's bytes (its reference is the only one), so that
 * they may be written again. */
int cl_message_idle(const cl_message *m);

/* Decode len bytes into a Lua value pushed on the stack and return 1. On
 * malformed input pushes nothing and returns 0 with the reader's message in
 * err (size errsz). Never raises for malformed bytes; raises only when Lua
 * runs out of memory. */
int cl_decode_push(lua_State *L, const void *buf, size_t len, char *err, size_t errsz);

/* ==== Received messages (lua_comm.c) ===================================== */

/* The payloads of comm:_allgather_payloads, _gatherv_payloads or _exchange_payloads at
 * idx (one slot per rank, NULL where none came; *n gets the count), or
 * NULL for anything else. Slots the caller clears (after releasing their
 * payloads) are skipped by the userdata's __gc. */
cc_payload **cl_payloads_test(lua_State *L, int idx, int *n);

#endif
