/*
 * lua_field.c - Lua bindings of field arithmetic and random streams.
 *
 * Owns three Lua types and the functions that make them:
 *   cicada.Field       (core.Field(order)): a prime field with array
 *                      constructors, arithmetic, Lagrange/Shamir and the
 *                      encodings' per-element work;
 *   cicada.FieldArray  (CL_ARRAY_MT): a 0-, 1- or 2-dimensional array of
 *                      field elements stored inline in a full userdata;
 *   cicada.Rng         (core.rng(seed)): a CSPRNG or seeded ChaCha20 stream.
 * The arithmetic itself lives in field.c and random.c; this file turns Lua
 * values into arrays, checks arguments and raises errors that name them.
 * The Lua API is documented in lua/cicada/field.lua.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_cicada.h"
#include "core/field.h"
#include "core/random.h"

#define CL_RNG_MT "cicada.Rng"
#define CL_MAX_PRECISION 62  /* fixed-point fraction bits */
#define CL_TOSTRING_MAX_ELEMENTS 64

typedef struct cl_field {
  cc_field f;
} cl_field;

/* ==== Small helpers ===================================================== */

static void push_u64(lua_State *L, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v); /* the same 64 bits */
}

/* "{}", "{3}" or "{2, 3}" into buf. */
static const char *shape_str(char *buf, size_t sz, const cl_array *a) {
  if (a->ndim == 0) snprintf(buf, sz, "{}");
  else if (a->ndim == 1) snprintf(buf, sz, "{%zu}", a->shape[0]);
  else snprintf(buf, sz, "{%zu, %zu}", a->shape[0], a->shape[1]);
  return buf;
}

static int same_shape(const cl_array *a, const cl_array *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

/* ==== Arrays ============================================================ */

/* A new array; its elements are zero, or left for the caller to write
 * (every one of them) when zero is 0: kernels that fill their output skip
 * a pass over memory. */
static cl_array *array_new(lua_State *L, uint64_t order, int ndim,
                           const size_t *shape, int zero) {
  size_t n = 1;
  size_t max_n = (SIZE_MAX - sizeof(cl_array)) / sizeof(uint64_t);
  if (ndim < 0 || ndim > CL_ARRAY_MAX_DIMS)
    luaL_error(L, "field arrays have 0 to %d dimensions, not %d",
               CL_ARRAY_MAX_DIMS, ndim);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] != 0 && n > max_n / shape[d])
      luaL_error(L, "field array too large");
    n *= shape[d];
  }
  cl_array *a = lua_newuserdatauv(L, sizeof(cl_array) + n * sizeof(uint64_t), 0);
  a->order = order;
  a->ndim = ndim;
  a->shape[0] = a->shape[1] = 0;
  for (int d = 0; d < ndim; d++) a->shape[d] = shape[d];
  a->n = n;
  if (zero) memset(a->data, 0, n * sizeof(uint64_t));
  luaL_setmetatable(L, CL_ARRAY_MT);
  return a;
}

cl_array *cl_array_push(lua_State *L, uint64_t order, int ndim, const size_t *shape) {
  return array_new(L, order, ndim, shape, 1);
}

/* An array whose every element the caller writes before returning it. */
static cl_array *push_filled(lua_State *L, uint64_t order, int ndim,
                             const size_t *shape) {
  return array_new(L, order, ndim, shape, 0);
}

cl_array *cl_array_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, CL_ARRAY_MT);
}

cl_array *cl_array_test(lua_State *L, int idx) {
  return luaL_testudata(L, idx, CL_ARRAY_MT);
}

/* An array shaped like a, for the caller to fill. */
static cl_array *push_like(lua_State *L, const cl_array *a) {
  return push_filled(L, a->order, a->ndim, a->shape);
}

/* ==== Fields ============================================================ */

static cl_field *check_field(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, CL_FIELD_MT);
}

/* An order: a Lua integer (the same 64 bits above math.maxinteger) or a
 * decimal string. */
static uint64_t check_order_value(lua_State *L, int arg) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, arg, &isnum);
  if (lua_type(L, arg) == LUA_TNUMBER) {
    if (!isnum) luaL_argerror(L, arg, "order must be an integer");
    return (uint64_t)i;
  }
  if (lua_type(L, arg) == LUA_TSTRING) {
    const char *s = lua_tostring(L, arg);
    uint64_t v = 0;
    if (*s == '\0') luaL_argerror(L, arg, "order string is empty");
    for (const char *c = s; *c; c++) {
      if (*c < '0' || *c > '9')
        luaL_argerror(L, arg, lua_pushfstring(L, "order '%s' is not a decimal integer", s));
      unsigned d = (unsigned)(*c - '0');
      if (v > (UINT64_MAX - d) / 10)
        luaL_argerror(L, arg, lua_pushfstring(L, "order %s is not below 2^64", s));
      v = v * 10 + d;
    }
    return v;
  }
  return (uint64_t)luaL_typeerror(L, arg, "integer or decimal string");
}

static cl_field *push_field(lua_State *L, uint64_t order, int arg) {
  char err[128];
  cc_field f;
  if (cc_field_init(&f, order, err, sizeof err) != 0) luaL_argerror(L, arg, err);
  cl_field *F = lua_newuserdatauv(L, sizeof *F, 0);
  F->f = f;
  luaL_setmetatable(L, CL_FIELD_MT);
  return F;
}

/* core.Field(order) */
static int field_new(lua_State *L) {
  uint64_t order = lua_isnoneornil(L, 1) ? CC_FIELD_DEFAULT_ORDER
                                         : check_order_value(L, 1);
  push_field(L, order, 1);
  return 1;
}

/* The cc_field of an array's order (arrays only hold primes: they come from
 * a Field or from a codec that checked the order). */
static void array_field(const cl_array *a, cc_field *f) {
  cc_field_setup(f, a->order);
}

/* ==== Lua values to elements ============================================ */

enum conv_mode { CONV_INT, CONV_FIXED, CONV_BOOL, CONV_BIT };

typedef struct conv {
  const cc_field *f;
  int arg;              /* argument number for errors */
  enum conv_mode mode;
  int precision;        /* CONV_FIXED */
} conv;

/* Raise "bad argument #arg (element 3 ...)"; ndim says how to name it. */
static int elem_error(lua_State *L, const conv *c, int ndim, size_t row,
                      size_t col, const char *what) {
  if (ndim == 0)
    return luaL_argerror(L, c->arg, lua_pushfstring(L, "value %s", what));
  if (ndim == 1)
    return luaL_argerror(L, c->arg, lua_pushfstring(L, "element %d %s", (int)col, what));
  return luaL_argerror(L, c->arg, lua_pushfstring(L, "element {%d, %d} %s",
                                                  (int)row, (int)col, what));
}

static uint64_t conv_int(lua_State *L, const conv *c, int v, int ndim,
                         size_t row, size_t col) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, v, &isnum);
  if (!isnum) {
    if (lua_type(L, v) == LUA_TNUMBER)
      elem_error(L, c, ndim, row, col,
                 lua_pushfstring(L, "(%s) is not an integer", lua_tostring(L, v)));
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "is not an integer (got %s)", luaL_typename(L, v)));
  }
  return cc_field_from_i64_1(c->f, (int64_t)i);
}

/* x * 2^precision rounded half away from zero, negatives as p - |r|. */
static uint64_t conv_fixed(lua_State *L, const conv *c, int v, int ndim,
                           size_t row, size_t col) {
  int isnum;
  lua_Number x = lua_tonumberx(L, v, &isnum);
  if (!isnum)
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "is not a number (got %s)", luaL_typename(L, v)));
  double r = round(ldexp((double)x, c->precision));
  if (!(fabs(r) <= 0x1p63) || (uint64_t)fabs(r) > c->f->half)
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "(%s) is out of range for %d bits of precision",
                               lua_tostring(L, v), c->precision));
  uint64_t u = (uint64_t)fabs(r);
  return (r < 0 && u) ? c->f->p - u : u;
}

static uint64_t conv_bool(lua_State *L, const conv *c, int v, int ndim,
                          size_t row, size_t col) {
  if (lua_isboolean(L, v)) return (uint64_t)lua_toboolean(L, v);
  int isnum;
  lua_Integer i = lua_tointegerx(L, v, &isnum);
  if (lua_type(L, v) != LUA_TNUMBER || !isnum || (i != 0 && i != 1))
    elem_error(L, c, ndim, row, col, "is not a boolean, 0 or 1");
  return (uint64_t)i;
}

static uint64_t conv_one(lua_State *L, const conv *c, int v, int ndim,
                         size_t row, size_t col) {
  switch (c->mode) {
  case CONV_FIXED: return conv_fixed(L, c, v, ndim, row, col);
  case CONV_BOOL:
  case CONV_BIT: return conv_bool(L, c, v, ndim, row, col);
  default: return conv_int(L, c, v, ndim, row, col);
  }
}

/* The shape of a Lua value: a number (0-d), a list (1-d) or a list of
 * equally long lists (2-d). */
static int lua_shape(lua_State *L, int idx, const conv *c, size_t *shape) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  shape[0] = lua_rawlen(L, idx);
  if (shape[0] == 0 || lua_rawgeti(L, idx, 1) != LUA_TTABLE) {
    if (shape[0] != 0) lua_pop(L, 1);
    return 1;
  }
  shape[1] = lua_rawlen(L, -1);
  lua_pop(L, 1);
  for (size_t r = 2; r <= shape[0]; r++) {
    if (lua_rawgeti(L, idx, (lua_Integer)r) != LUA_TTABLE)
      luaL_argerror(L, c->arg, lua_pushfstring(L, "row %d is not a list", (int)r));
    if (lua_rawlen(L, -1) != shape[1])
      luaL_argerror(L, c->arg, lua_pushfstring(L,
                    "row %d has %d elements, row 1 has %d", (int)r,
                    (int)lua_rawlen(L, -1), (int)shape[1]));
    lua_pop(L, 1);
  }
  return 2;
}

/* Push a new array converted from the Lua number/list at idx. */
static cl_array *push_from_lua(lua_State *L, int idx, const conv *c) {
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  idx = lua_absindex(L, idx);
  int t = lua_type(L, idx);
  if (t != LUA_TTABLE && t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TSTRING)
    luaL_typeerror(L, c->arg, "number, list or field array");
  int ndim = lua_shape(L, idx, c, shape);
  cl_array *a = cl_array_push(L, c->f->p, ndim, shape);
  if (ndim == 0) {
    a->data[0] = conv_one(L, c, idx, 0, 0, 0);
  } else if (ndim == 1) {
    for (size_t i = 0; i < shape[0]; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      a->data[i] = conv_one(L, c, -1, 1, 0, i + 1);
      lua_pop(L, 1);
    }
  } else {
    for (size_t r = 0; r < shape[0]; r++) {
      lua_rawgeti(L, idx, (lua_Integer)r + 1);
      for (size_t i = 0; i < shape[1]; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        a->data[r * shape[1] + i] = conv_one(L, c, -1, 2, r + 1, i + 1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  return a;
}

/* Order as unsigned decimal, pushed on the stack. */
static const char *push_order_str(lua_State *L, uint64_t order) {
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)order);
  return lua_pushstring(L, buf);
}

static int order_mismatch(lua_State *L, int arg, uint64_t got, uint64_t want) {
  const char *g = push_order_str(L, got);
  const char *w = push_order_str(L, want);
  return luaL_argerror(L, arg, lua_pushfstring(L,
                       "array of order %s does not belong to the field of order %s", g, w));
}

/* An array of field f at idx, or raise naming the argument. */
static cl_array *check_own_array(lua_State *L, int idx, const cc_field *f) {
  cl_array *a = cl_array_check(L, idx);
  if (a->order != f->p) order_mismatch(L, idx, a->order, f->p);
  return a;
}

/* The operand at idx as an array of field f: an array of that field is used
 * as is; an integer or a list is converted into a new array left on the
 * stack. */
static cl_array *to_operand(lua_State *L, int idx, const cc_field *f) {
  cl_array *a = cl_array_test(L, idx);
  if (a) {
    if (a->order != f->p) order_mismatch(L, idx, a->order, f->p);
    return a;
  }
  int t = lua_type(L, idx);
  if (t != LUA_TNUMBER && t != LUA_TTABLE)
    luaL_typeerror(L, idx, "field array, integer or list");
  conv c = {f, idx, CONV_INT, 0};
  return push_from_lua(L, idx, &c);
}

/* ==== Shapes ============================================================ */

/* A shape argument: an integer n ({n}) or a list of 0 to 2 sizes. */
static int check_shape(lua_State *L, int arg, size_t *shape) {
  if (lua_isinteger(L, arg)) {
    lua_Integer n = lua_tointeger(L, arg);
    luaL_argcheck(L, n >= 0, arg, "size must be >= 0");
    shape[0] = (size_t)n;
    return 1;
  }
  luaL_argexpected(L, lua_istable(L, arg), arg, "shape (list of sizes or integer)");
  lua_Integer nd = (lua_Integer)lua_rawlen(L, arg);
  if (nd > CL_ARRAY_MAX_DIMS)
    luaL_argerror(L, arg, lua_pushfstring(L, "%d dimensions, at most %d supported",
                                          (int)nd, CL_ARRAY_MAX_DIMS));
  for (lua_Integer d = 0; d < nd; d++) {
    int isnum;
    lua_rawgeti(L, arg, d + 1);
    lua_Integer s = lua_tointegerx(L, -1, &isnum);
    if (!isnum || s < 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "size %d of the shape is not an integer >= 0",
                                            (int)d + 1));
    shape[d] = (size_t)s;
    lua_pop(L, 1);
  }
  return (int)nd;
}

static void push_shape_table(lua_State *L, const cl_array *a) {
  lua_createtable(L, a->ndim, 0);
  for (int d = 0; d < a->ndim; d++) {
    lua_pushinteger(L, (lua_Integer)a->shape[d]);
    lua_rawseti(L, -2, d + 1);
  }
}

/* ==== Elements to Lua values ============================================ */

enum dec_mode { DEC_RAW, DEC_INT, DEC_FIXED, DEC_BOOL, DEC_BIT };

static void push_elem(lua_State *L, const cc_field *f, uint64_t v,
                      enum dec_mode mode, int precision, int arg, size_t i) {
  switch (mode) {
  case DEC_INT:
    lua_pushinteger(L, v <= f->half ? (lua_Integer)v : -(lua_Integer)(f->p - v));
    break;
  case DEC_FIXED: {
    double x = v <= f->half ? (double)v : -(double)(f->p - v);
    lua_pushnumber(L, (lua_Number)ldexp(x, -precision));
    break;
  }
  case DEC_BOOL:
    lua_pushboolean(L, v != 0);
    break;
  case DEC_BIT:
    if (v > 1)
      luaL_argerror(L, arg, lua_pushfstring(L, "element %d is not a bit", (int)i + 1));
    lua_pushinteger(L, (lua_Integer)v);
    break;
  default:
    push_u64(L, v);
  }
}

/* A number for 0-d arrays, a list for 1-d, a list of rows for 2-d. */
static void push_decoded(lua_State *L, const cl_array *a, enum dec_mode mode,
                         int precision, int arg) {
  cc_field f;
  array_field(a, &f);
  if (a->ndim == 0) {
    push_elem(L, &f, a->data[0], mode, precision, arg, 0);
    return;
  }
  size_t rows = a->ndim == 2 ? a->shape[0] : 1;
  size_t cols = a->ndim == 2 ? a->shape[1] : a->shape[0];
  if (a->ndim == 2) lua_createtable(L, (int)rows, 0);
  for (size_t r = 0; r < rows; r++) {
    lua_createtable(L, (int)cols, 0);
    for (size_t i = 0; i < cols; i++) {
      push_elem(L, &f, a->data[r * cols + i], mode, precision, arg, r * cols + i);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (a->ndim == 2) lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
}

/* ==== Random streams ==================================================== */

static cc_rng *check_rng(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, CL_RNG_MT);
}

/* core.rng([seed]): nil for the CSPRNG, an integer or a string to replay. */
static int rng_new(lua_State *L) {
  unsigned char seed[1 + 8];
  const void *bytes = seed;
  size_t len = 0;
  luaL_Buffer b;
  int t = lua_type(L, 1);
  if (t == LUA_TNUMBER) {
    int isnum;
    lua_Integer s = lua_tointegerx(L, 1, &isnum);
    luaL_argcheck(L, isnum, 1, "seed must be an integer or a string");
    seed[0] = 'i';
    for (int i = 0; i < 8; i++) seed[1 + i] = (unsigned char)((uint64_t)s >> (8 * i));
    len = sizeof seed;
  } else if (t == LUA_TSTRING) {
    size_t sl;
    const char *s = lua_tolstring(L, 1, &sl);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, 's');
    luaL_addlstring(&b, s, sl);
    luaL_pushresult(&b);
    bytes = lua_tolstring(L, -1, &len);
  } else if (t != LUA_TNIL && t != LUA_TNONE) {
    luaL_typeerror(L, 1, "nil, integer or string");
  }
  cc_rng *rng = lua_newuserdatauv(L, sizeof *rng, 0);
  cc_rng_init_os(rng);
  luaL_setmetatable(L, CL_RNG_MT);
  if (len && cc_rng_init_seeded(rng, bytes, len) != 0)
    return luaL_error(L, "cannot start a seeded random stream (OpenSSL)");
  return 1;
}

static int rng_gc(lua_State *L) {
  cc_rng_free(check_rng(L, 1));
  return 0;
}

static int rng_uniform(lua_State *L) {
  double u;
  if (cc_rng_double(check_rng(L, 1), &u) != 0)
    return luaL_error(L, "random stream failed (OpenSSL)");
  lua_pushnumber(L, (lua_Number)u);
  return 1;
}

static int rng_bytes(lua_State *L) {
  cc_rng *rng = check_rng(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "byte count must be >= 0");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)n);
  if (cc_rng_bytes(rng, p, (size_t)n) != 0)
    return luaL_error(L, "random stream failed (OpenSSL)");
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

static int rng_tostring(lua_State *L) {
  cc_rng *rng = check_rng(L, 1);
  lua_pushstring(L, rng->cipher ? "Rng(seeded)" : "Rng(csprng)");
  return 1;
}

/* The stream at arg, or NULL after initializing tmp as a CSPRNG stream. */
static cc_rng *opt_rng(lua_State *L, int arg, cc_rng *tmp) {
  if (lua_isnoneornil(L, arg)) {
    cc_rng_init_os(tmp);
    return tmp;
  }
  return check_rng(L, arg);
}

/* Uniform elements of [0, p). */
static void fill_uniform(lua_State *L, cc_rng *rng, uint64_t p, uint64_t *out,
                         size_t n) {
  if (cc_rng_uniform_mod(rng, p, out, n) != 0)
    luaL_error(L, "random stream failed (OpenSSL)");
}

/* ==== Field: constructors =============================================== */

/* F:array(x): x an integer, a list, a list of lists, or a field array. */
static int field_array(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *src = cl_array_test(L, 2);
  if (src) {
    if (src->order != F->f.p) order_mismatch(L, 2, src->order, F->f.p);
    cl_array *a = push_like(L, src);
    memcpy(a->data, src->data, src->n * sizeof(uint64_t));
    return 1;
  }
  conv c = {&F->f, 2, CONV_INT, 0};
  luaL_checkany(L, 2);
  push_from_lua(L, 2, &c);
  return 1;
}

static int field_zeros(lua_State *L) {
  cl_field *F = check_field(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = check_shape(L, 2, shape);
  cl_array_push(L, F->f.p, nd, shape);
  return 1;
}

static int field_ones(lua_State *L) {
  cl_field *F = check_field(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = check_shape(L, 2, shape);
  cl_array *a = cl_array_push(L, F->f.p, nd, shape);
  for (size_t i = 0; i < a->n; i++) a->data[i] = 1 % F->f.p;
  return 1;
}

/* F:uniform(shape [, rng]) */
static int field_uniform(lua_State *L) {
  cl_field *F = check_field(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = check_shape(L, 2, shape);
  cc_rng tmp;
  cc_rng *rng = opt_rng(L, 3, &tmp);
  cl_array *a = push_filled(L, F->f.p, nd, shape);
  fill_uniform(L, rng, F->f.p, a->data, a->n);
  if (rng == &tmp) cc_rng_free(&tmp);
  return 1;
}

/* F:stack(list): n-element arrays to an m x n matrix, scalars to a vector. */
static int field_stack(lua_State *L) {
  cl_field *F = check_field(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer m = (lua_Integer)lua_rawlen(L, 2);
  luaL_argcheck(L, m > 0, 2, "nothing to stack");
  int base = lua_gettop(L);
  lua_rawgeti(L, 2, 1);
  cl_array *first = cl_array_test(L, -1);
  if (!first || first->ndim > 1)
    luaL_argerror(L, 2, "element 1 is not a 0- or 1-dimensional field array");
  if (first->order != F->f.p) order_mismatch(L, 2, first->order, F->f.p);
  size_t shape[2] = {(size_t)m, first->ndim == 1 ? first->shape[0] : 0};
  cl_array *out = push_filled(L, F->f.p, first->ndim + 1, shape);
  size_t n = first->n;
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i));
    if (a->order != F->f.p) order_mismatch(L, 2, a->order, F->f.p);
    if (!same_shape(a, first)) {
      char s1[64], s2[64];
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d has shape %s, element 1 has %s",
                    (int)i, shape_str(s1, sizeof s1, a), shape_str(s2, sizeof s2, first)));
    }
    memcpy(out->data + (size_t)(i - 1) * n, a->data, n * sizeof(uint64_t));
    lua_pop(L, 1);
  }
  lua_replace(L, base + 1); /* keep only the result */
  lua_settop(L, base + 1);
  return 1;
}

/* ==== Field: arithmetic ================================================= */

enum binop { OP_ADD, OP_SUB, OP_MUL };

/* out = a op b with scalar broadcasting; arrays at ia and ib. */
static int binop(lua_State *L, const cc_field *f, int ia, int ib, enum binop op) {
  cl_array *a = to_operand(L, ia, f);
  cl_array *b = to_operand(L, ib, f);
  cl_array *out;
  if (a->ndim == 0 && b->ndim != 0) {
    out = push_like(L, b);
    uint64_t s = a->data[0];
    if (op == OP_ADD) cc_field_add_scalar(f, out->data, b->data, s, b->n);
    else if (op == OP_SUB) cc_field_rsub_scalar(f, out->data, s, b->data, b->n);
    else cc_field_mul_scalar(f, out->data, b->data, s, b->n);
    return 1;
  }
  if (b->ndim == 0) {
    out = push_like(L, a);
    uint64_t s = b->data[0];
    if (op == OP_ADD) cc_field_add_scalar(f, out->data, a->data, s, a->n);
    else if (op == OP_SUB) cc_field_sub_scalar(f, out->data, a->data, s, a->n);
    else cc_field_mul_scalar(f, out->data, a->data, s, a->n);
    return 1;
  }
  if (!same_shape(a, b)) {
    char s1[64], s2[64];
    return luaL_argerror(L, ib, lua_pushfstring(L, "shapes %s and %s differ",
                         shape_str(s1, sizeof s1, a), shape_str(s2, sizeof s2, b)));
  }
  out = push_like(L, a);
  if (op == OP_ADD) cc_field_add(f, out->data, a->data, b->data, a->n);
  else if (op == OP_SUB) cc_field_sub(f, out->data, a->data, b->data, a->n);
  else cc_field_mul(f, out->data, a->data, b->data, a->n);
  return 1;
}

static int field_add(lua_State *L) { lua_settop(L, 3); return binop(L, &check_field(L, 1)->f, 2, 3, OP_ADD); }
static int field_subtract(lua_State *L) { lua_settop(L, 3); return binop(L, &check_field(L, 1)->f, 2, 3, OP_SUB); }
static int field_multiply(lua_State *L) { lua_settop(L, 3); return binop(L, &check_field(L, 1)->f, 2, 3, OP_MUL); }

static int field_negative(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  cl_array *out = push_like(L, a);
  cc_field_neg(&F->f, out->data, a->data, a->n);
  return 1;
}

static int field_sum(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  uint64_t s = cc_field_sum(&F->f, a->data, a->n);
  cl_array_push(L, F->f.p, 0, NULL)->data[0] = s;
  return 1;
}

static int field_dot(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  cl_array *b = to_operand(L, 3, &F->f);
  if (!same_shape(a, b)) {
    char s1[64], s2[64];
    return luaL_argerror(L, 3, lua_pushfstring(L, "shapes %s and %s differ",
                         shape_str(s1, sizeof s1, a), shape_str(s2, sizeof s2, b)));
  }
  uint64_t s = cc_field_dot(&F->f, a->data, b->data, a->n);
  cl_array_push(L, F->f.p, 0, NULL)->data[0] = s;
  return 1;
}

/* F:matvec(A, x): the m x k matrix A times the k-vector x, an m-vector. */
static int field_matvec(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *A = to_operand(L, 2, &F->f);
  cl_array *x = to_operand(L, 3, &F->f);
  char s1[64], s2[64];
  if (A->ndim != 2)
    luaL_argerror(L, 2, lua_pushfstring(L, "matrix expected, got shape %s",
                                        shape_str(s1, sizeof s1, A)));
  if (x->ndim != 1 || x->shape[0] != A->shape[1])
    luaL_argerror(L, 3, lua_pushfstring(L, "shapes %s and %s do not match",
                  shape_str(s1, sizeof s1, A), shape_str(s2, sizeof s2, x)));
  size_t m = A->shape[0];
  cl_array *out = push_filled(L, F->f.p, 1, &m);
  cc_field_matvec(&F->f, out->data, A->data, x->data, m, A->shape[1]);
  return 1;
}

/* F:bit_compose(bits): a k-vector of bits (most significant first) to a
 * scalar, or each row of an m x k matrix to an m-vector. */
static int field_bit_compose(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *b = to_operand(L, 2, &F->f);
  luaL_argcheck(L, b->ndim >= 1, 2, "bits must be a vector or a matrix");
  size_t m = b->ndim == 2 ? b->shape[0] : 1;
  size_t k = b->ndim == 2 ? b->shape[1] : b->shape[0];
  cl_array *out = push_filled(L, F->f.p, b->ndim - 1, &m);
  cc_field_bit_compose(&F->f, out->data, b->data, m, k);
  return 1;
}

/* F:shift_right(a, s): floor(a / 2^s) of each canonical element. */
static int field_shift_right(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  lua_Integer s = luaL_checkinteger(L, 3);
  if (s < 0 || s > 63)
    luaL_argerror(L, 3, lua_pushfstring(L, "shift %I out of range [0, 63]", s));
  cl_array *out = push_like(L, a);
  cc_field_shift_right(out->data, a->data, (unsigned)s, a->n);
  return 1;
}

/* F:uniform_below(shape, bound [, rng]): elements uniform in [0, bound). */
static int field_uniform_below(lua_State *L) {
  cl_field *F = check_field(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = check_shape(L, 2, shape);
  lua_Integer bound = luaL_checkinteger(L, 3);
  if (bound < 1 || (uint64_t)bound > F->f.p) {
    const char *o = push_order_str(L, F->f.p);
    luaL_argerror(L, 3, lua_pushfstring(L, "bound %I out of range [1, %s]", bound, o));
  }
  cc_rng tmp;
  cc_rng *rng = opt_rng(L, 4, &tmp);
  cl_array *a = push_filled(L, F->f.p, nd, shape);
  uint64_t b = (uint64_t)bound;
  if ((b & (b - 1)) == 0) {
    /* A power of two: the low bits of random words, no rejection. */
    if (cc_rng_bytes(rng, a->data, a->n * sizeof(uint64_t)) != 0)
      luaL_error(L, "random stream failed (OpenSSL)");
    for (size_t i = 0; i < a->n; i++) a->data[i] &= b - 1;
  } else {
    fill_uniform(L, rng, b, a->data, a->n);
  }
  if (rng == &tmp) cc_rng_free(&tmp);
  return 1;
}

/* F:concat(list [, shape]): the elements of the arrays in list, in order
 * (each read row-major), as one vector or an array of the given shape. */
static int field_concat(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer m = (lua_Integer)lua_rawlen(L, 2);
  size_t total = 0;
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i));
    if (a->order != F->f.p) order_mismatch(L, 2, a->order, F->f.p);
    total += a->n;
    lua_pop(L, 1);
  }
  size_t shape[CL_ARRAY_MAX_DIMS] = {total, 0};
  int nd = 1;
  if (!lua_isnil(L, 3)) {
    nd = check_shape(L, 3, shape);
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    if (n != total)
      luaL_argerror(L, 3, lua_pushfstring(L, "%d elements do not fill the shape",
                                          (int)total));
  }
  cl_array *out = push_filled(L, F->f.p, nd, shape);
  size_t at = 0;
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    memcpy(out->data + at, a->data, a->n * sizeof(uint64_t));
    at += a->n;
    lua_pop(L, 1);
  }
  return 1;
}

/* out = a^-1, naming the first zero element. */
static void invert_into(lua_State *L, const cc_field *f, cl_array *out,
                        const cl_array *a, int arg) {
  size_t zero = 0;
  int rc = cc_field_inv(f, out->data, a->data, a->n, &zero);
  if (rc == CC_FIELD_EZERO) {
    if (a->ndim == 0) luaL_argerror(L, arg, "zero has no inverse");
    luaL_argerror(L, arg, lua_pushfstring(L, "element %d is zero and has no inverse",
                                          (int)zero + 1));
  }
  if (rc != CC_FIELD_OK) luaL_error(L, "not enough memory");
}

static int field_inverse(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  invert_into(L, &F->f, push_like(L, a), a, 2);
  return 1;
}

/* F:power(a, e): a public integer exponent; negative e inverts first. */
static int field_power(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  lua_Integer e = luaL_checkinteger(L, 3);
  cl_array *out = push_like(L, a);
  const uint64_t *base = a->data;
  uint64_t ue = (uint64_t)e;
  if (e < 0) {
    invert_into(L, &F->f, out, a, 2);
    base = out->data;
    ue = (uint64_t)0 - (uint64_t)e;
  }
  cc_field_pow(&F->f, out->data, base, ue, a->n);
  return 1;
}

/* True when both have the same shape and elements (a scalar broadcasts). */
static int field_equal(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *a = to_operand(L, 2, &F->f);
  cl_array *b = to_operand(L, 3, &F->f);
  int eq;
  if (a->ndim == 0 || b->ndim == 0) {
    const cl_array *s = a->ndim == 0 ? a : b, *v = a->ndim == 0 ? b : a;
    eq = 1;
    for (size_t i = 0; i < v->n && eq; i++) eq = v->data[i] == s->data[0];
  } else {
    eq = same_shape(a, b) && cc_field_equal(a->data, b->data, a->n);
  }
  lua_pushboolean(L, eq);
  return 1;
}

/* ==== Field: Lagrange and Shamir ======================================== */

/* The list of indices at arg as a new 1-d array left on the stack. */
static cl_array *check_indices(lua_State *L, const cc_field *f, int arg) {
  char err[160];
  luaL_argexpected(L, lua_istable(L, arg) || cl_array_test(L, arg), arg,
                   "list of indices");
  cl_array *x = to_operand(L, arg, f);
  if (x->ndim != 1) luaL_argerror(L, arg, "indices must be a list");
  if (cc_field_check_indices(f, x->data, x->n, err, sizeof err) != 0)
    luaL_argerror(L, arg, err);
  return x;
}

static int field_lagrange(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  char err[160];
  cl_array *x = check_indices(L, &F->f, 2);
  luaL_argcheck(L, x->n > 0, 2, "no indices");
  cl_array *out = push_like(L, x);
  if (cc_field_lagrange0(&F->f, out->data, x->data, x->n, err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  return 1;
}

/* F:shamir_share(secret, k, indices [, rng]) -> m x n matrix of shares. */
static int field_shamir_share(lua_State *L) {
  lua_settop(L, 5); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  char err[160];
  cl_array *s = to_operand(L, 2, &F->f);
  lua_Integer k = luaL_checkinteger(L, 3);
  cl_array *x = check_indices(L, &F->f, 4);
  if (k < 1 || (size_t)k > x->n)
    luaL_argerror(L, 3, lua_pushfstring(L, "threshold %I out of range [1, %d]",
                                        k, (int)x->n));
  cc_rng tmp;
  cc_rng *rng = opt_rng(L, 5, &tmp);
  size_t cshape[2] = {(size_t)k - 1, s->n};
  cl_array *coeffs = push_filled(L, F->f.p, 2, cshape);
  fill_uniform(L, rng, F->f.p, coeffs->data, coeffs->n);
  if (rng == &tmp) cc_rng_free(&tmp);
  size_t oshape[2] = {x->n, s->n};
  cl_array *out = push_filled(L, F->f.p, 2, oshape);
  if (cc_field_shamir_share(&F->f, out->data, s->data, s->n, coeffs->data,
                            (size_t)k, x->data, x->n, err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  memset(coeffs->data, 0, coeffs->n * sizeof(uint64_t)); /* secret-bearing */
  return 1;
}

/* F:shamir_share_each(secrets, thresholds, indices [, rng]): what each
 * player receives. secrets is one array (with thresholds an integer k) or a
 * list of s arrays of n elements each (with a list of s thresholds); the
 * result lists one array per index: player j's shares, shaped like the
 * secret, or as an s x n matrix whose row i shares secrets[i]. Each secret
 * gets its own random polynomial of degree k - 1. */
static int field_shamir_share_each(lua_State *L) {
  lua_settop(L, 5); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  int single = cl_array_test(L, 2) != NULL;
  size_t s = 1;
  if (!single) {
    luaL_argexpected(L, lua_istable(L, 2), 2, "field array or list of field arrays");
    luaL_argexpected(L, lua_istable(L, 3), 3, "list of thresholds");
    s = lua_rawlen(L, 2);
    luaL_argcheck(L, s > 0, 2, "no secrets");
    if (lua_rawlen(L, 3) != s)
      luaL_argerror(L, 3, lua_pushfstring(L, "%d thresholds for %d secrets",
                                          (int)lua_rawlen(L, 3), (int)s));
  }
  cl_array *x = check_indices(L, &F->f, 4);
  cc_rng tmp;
  cc_rng *rng = opt_rng(L, 5, &tmp);
  size_t m = x->n;
  const cl_array *first = NULL;
  /* Check every secret and threshold before drawing any randomness. */
  for (size_t i = 0; i < s; i++) {
    cl_array *a;
    lua_Integer k;
    if (single) {
      a = check_own_array(L, 2, &F->f);
      k = luaL_checkinteger(L, 3);
    } else {
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      a = cl_array_test(L, -1);
      if (!a)
        luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i + 1));
      if (a->order != F->f.p) order_mismatch(L, 2, a->order, F->f.p);
      lua_pop(L, 1);
      lua_rawgeti(L, 3, (lua_Integer)i + 1);
      int isnum;
      k = lua_tointegerx(L, -1, &isnum);
      lua_pop(L, 1);
      if (!isnum)
        luaL_argerror(L, 3, lua_pushfstring(L, "threshold %d is not an integer", (int)i + 1));
    }
    if (k < 1 || (size_t)k > m)
      luaL_argerror(L, 3, lua_pushfstring(L, "threshold %I out of range [1, %d]", k, (int)m));
    if (first && a->n != first->n)
      luaL_argerror(L, 2, lua_pushfstring(L, "secret %d has %d elements, secret 1 has %d",
                                          (int)i + 1, (int)a->n, (int)first->n));
    if (!first) first = a;
  }
  size_t n = first->n;
  /* The result list and one array per player. */
  lua_createtable(L, (int)m, 0);
  int list = lua_gettop(L);
  size_t oshape[2] = {s, n};
  for (size_t j = 0; j < m; j++) {
    if (single) push_like(L, first);
    else push_filled(L, F->f.p, 2, oshape);
    lua_rawseti(L, list, (lua_Integer)j + 1);
  }
  size_t cshape[2] = {0, n};
  for (size_t i = 0; i < s; i++) {
    cl_array *a;
    lua_Integer k;
    if (single) {
      a = cl_array_test(L, 2);
      k = lua_tointeger(L, 3);
    } else {
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      a = cl_array_test(L, -1);
      lua_pop(L, 1); /* still referenced by the secrets list */
      lua_rawgeti(L, 3, (lua_Integer)i + 1);
      k = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    cshape[0] = (size_t)k - 1;
    cl_array *coeffs = push_filled(L, F->f.p, 2, cshape);
    fill_uniform(L, rng, F->f.p, coeffs->data, coeffs->n);
    for (size_t j = 0; j < m; j++) {
      lua_rawgeti(L, list, (lua_Integer)j + 1);
      cl_array *out = cl_array_test(L, -1);
      cc_field_shamir_eval(&F->f, out->data + i * n, a->data, n, coeffs->data,
                           (size_t)k, x->data[j]);
      lua_pop(L, 1);
    }
    memset(coeffs->data, 0, coeffs->n * sizeof(uint64_t)); /* secret-bearing */
    lua_pop(L, 1);
  }
  if (rng == &tmp) cc_rng_free(&tmp);
  lua_settop(L, list);
  return 1;
}

/* F:lincomb(weights, arrays): sum_j weights[j] * arrays[j] for a list of
 * arrays of the same shape (weights: a field array, list or integers). */
static int field_lincomb(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  cl_array *w = to_operand(L, 2, &F->f);
  luaL_argcheck(L, w->ndim == 1, 2, "weights must be a vector");
  luaL_checktype(L, 3, LUA_TTABLE);
  size_t r = lua_rawlen(L, 3);
  if (r != w->n)
    luaL_argerror(L, 3, lua_pushfstring(L, "%d arrays for %d weights", (int)r, (int)w->n));
  luaL_argcheck(L, r > 0, 3, "no arrays");
  const cl_array *first = NULL;
  for (size_t j = 0; j < r; j++) {
    lua_rawgeti(L, 3, (lua_Integer)j + 1);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, 3, lua_pushfstring(L, "element %d is not a field array", (int)j + 1));
    if (a->order != F->f.p) order_mismatch(L, 3, a->order, F->f.p);
    if (first && !same_shape(a, first)) {
      char s1[64], s2[64];
      luaL_argerror(L, 3, lua_pushfstring(L, "element %d has shape %s, element 1 has %s",
                    (int)j + 1, shape_str(s1, sizeof s1, a), shape_str(s2, sizeof s2, first)));
    }
    if (!first) first = a;
    lua_pop(L, 1); /* still referenced by the list */
  }
  /* The arrays stay referenced by the list at 3 while the kernel runs. */
  const uint64_t **xs = lua_newuserdatauv(L, r * sizeof *xs, 0);
  for (size_t j = 0; j < r; j++) {
    lua_rawgeti(L, 3, (lua_Integer)j + 1);
    xs[j] = cl_array_test(L, -1)->data;
    lua_pop(L, 1);
  }
  cl_array *out = push_filled(L, F->f.p, first->ndim, first->shape);
  cc_field_lincomb_arrays(&F->f, out->data, w->data, xs, r, first->n);
  return 1;
}

/* F:shamir_recover(shares, indices): r x n shares of r players -> n values.
 * Also combines reshared sub-shares (the same Lagrange sum). */
static int field_shamir_recover(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = check_field(L, 1);
  char err[160];
  cl_array *sh = check_own_array(L, 2, &F->f);
  cl_array *x = check_indices(L, &F->f, 3);
  size_t r = sh->ndim == 2 ? sh->shape[0] : sh->n;
  size_t n = sh->ndim == 2 ? sh->shape[1] : 1;
  if (x->n != r)
    luaL_argerror(L, 3, lua_pushfstring(L, "%d indices for %d rows of shares",
                                        (int)x->n, (int)r));
  luaL_argcheck(L, r > 0, 2, "no shares");
  size_t shape[1] = {n};
  cl_array *out = cl_array_push(L, F->f.p, 1, shape);
  if (cc_field_shamir_recover(&F->f, out->data, sh->data, n, x->data, r,
                              err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  return 1;
}

/* ==== Field: encodings ================================================== */

static int check_precision(lua_State *L, int arg) {
  lua_Integer p = luaL_checkinteger(L, arg);
  if (p < 0 || p > CL_MAX_PRECISION)
    luaL_argerror(L, arg, lua_pushfstring(L, "precision %I out of range [0, %d]",
                                          p, CL_MAX_PRECISION));
  return (int)p;
}

static int encode_with(lua_State *L, enum conv_mode mode, int precision) {
  lua_settop(L, 3); /* the converted array goes above the arguments */
  cl_field *F = check_field(L, 1);
  luaL_checkany(L, 2);
  conv c = {&F->f, 2, mode, precision};
  push_from_lua(L, 2, &c);
  return 1;
}

static int decode_with(lua_State *L, enum dec_mode mode, int precision) {
  cl_field *F = check_field(L, 1);
  cl_array *a = check_own_array(L, 2, &F->f);
  push_decoded(L, a, mode, precision, 2);
  return 1;
}

static int field_encode_fixed(lua_State *L) {
  int precision = check_precision(L, 3);
  return encode_with(L, CONV_FIXED, precision);
}

static int field_decode_fixed(lua_State *L) {
  int precision = check_precision(L, 3);
  return decode_with(L, DEC_FIXED, precision);
}

static int field_encode_int(lua_State *L) { return encode_with(L, CONV_INT, 0); }
static int field_decode_int(lua_State *L) { return decode_with(L, DEC_INT, 0); }
static int field_encode_bool(lua_State *L) { return encode_with(L, CONV_BOOL, 0); }
static int field_decode_bool(lua_State *L) { return decode_with(L, DEC_BOOL, 0); }
static int field_decode_bits(lua_State *L) { return decode_with(L, DEC_BIT, 0); }

/* F:encode_bits(x): a non-negative integer to its F.bits bits, most
 * significant first; or a list of 0/1 (or booleans) as given. */
static int field_encode_bits(lua_State *L) {
  cl_field *F = check_field(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    int isnum, bits = F->f.bits;
    lua_Integer v = lua_tointegerx(L, 2, &isnum);
    luaL_argcheck(L, isnum && v >= 0, 2, "not a non-negative integer");
    if (bits < 64 && (uint64_t)v >> bits)
      luaL_argerror(L, 2, lua_pushfstring(L, "%I does not fit in %d bits", v, bits));
    size_t shape[1] = {(size_t)bits};
    cl_array *a = cl_array_push(L, F->f.p, 1, shape);
    for (int i = 0; i < bits; i++) a->data[bits - 1 - i] = ((uint64_t)v >> i) & 1;
    return 1;
  }
  return encode_with(L, CONV_BIT, 0);
}

/* ==== Field: metamethods and properties ================================= */

static int field_index(lua_State *L) {
  cl_field *F = check_field(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "order") == 0) push_u64(L, F->f.p);
  else if (k && strcmp(k, "bits") == 0) lua_pushinteger(L, F->f.bits);
  else {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
  }
  return 1;
}

static int field_tostring(lua_State *L) {
  cl_field *F = check_field(L, 1);
  push_order_str(L, F->f.p);
  lua_pushfstring(L, "Field(order=%s)", lua_tostring(L, -1));
  return 1;
}

static int field_eq(lua_State *L) {
  cl_field *a = luaL_testudata(L, 1, CL_FIELD_MT);
  cl_field *b = luaL_testudata(L, 2, CL_FIELD_MT);
  lua_pushboolean(L, a && b && a->f.p == b->f.p);
  return 1;
}

/* ==== Array methods ===================================================== */

/* The field of array operands of a metamethod; orders must agree. */
static void operands_field(lua_State *L, cc_field *f) {
  cl_array *a = cl_array_test(L, 1), *b = cl_array_test(L, 2);
  if (a && b && a->order != b->order) {
    const char *s1 = push_order_str(L, a->order);
    const char *s2 = push_order_str(L, b->order);
    luaL_argerror(L, 2, lua_pushfstring(L,
                  "arrays of different fields (orders %s and %s)", s1, s2));
  }
  array_field(a ? a : b, f);
}

static int array_arith(lua_State *L, enum binop op) {
  cc_field f;
  operands_field(L, &f);
  return binop(L, &f, 1, 2, op);
}

static int array_add(lua_State *L) { return array_arith(L, OP_ADD); }
static int array_sub(lua_State *L) { return array_arith(L, OP_SUB); }
static int array_mul(lua_State *L) { return array_arith(L, OP_MUL); }

static int array_unm(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  cc_field f;
  array_field(a, &f);
  cl_array *out = push_like(L, a);
  cc_field_neg(&f, out->data, a->data, a->n);
  return 1;
}

static int array_eq(lua_State *L) {
  cl_array *a = cl_array_check(L, 1), *b = cl_array_check(L, 2);
  lua_pushboolean(L, a->order == b->order && same_shape(a, b) &&
                         cc_field_equal(a->data, b->data, a->n));
  return 1;
}

static int array_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)cl_array_check(L, 1)->n);
  return 1;
}

static size_t check_elem_index(lua_State *L, const cl_array *a, int arg) {
  lua_Integer i = luaL_checkinteger(L, arg);
  if (i < 1 || (size_t)i > a->n)
    luaL_argerror(L, arg, lua_pushfstring(L, "index %I out of range [1, %d]",
                                          i, (int)a->n));
  return (size_t)i - 1;
}

static int array_index(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    push_u64(L, a->data[check_elem_index(L, a, 2)]);
    return 1;
  }
  const char *k = lua_tostring(L, 2);
  if (!k) return luaL_argerror(L, 2, "integer index or field name expected");
  if (strcmp(k, "shape") == 0) push_shape_table(L, a);
  else if (strcmp(k, "order") == 0) push_u64(L, a->order);
  else if (strcmp(k, "ndim") == 0) lua_pushinteger(L, a->ndim);
  else if (strcmp(k, "size") == 0) lua_pushinteger(L, (lua_Integer)a->n);
  else {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
  }
  return 1;
}

/* a[i] = v: v an integer, reduced modulo the order. */
static int array_newindex(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  size_t i = check_elem_index(L, a, 2);
  cc_field f;
  array_field(a, &f);
  a->data[i] = cc_field_from_i64_1(&f, (int64_t)luaL_checkinteger(L, 3));
  return 0;
}

static int array_tolist(lua_State *L) {
  push_decoded(L, cl_array_check(L, 1), DEC_RAW, 0, 1);
  return 1;
}

static int array_copy(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  cl_array *out = push_like(L, a);
  memcpy(out->data, a->data, a->n * sizeof(uint64_t));
  return 1;
}

/* a:row(i): row i (1-based) of a matrix as a vector. */
static int array_row(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  luaL_argcheck(L, a->ndim == 2, 1, "not a matrix");
  if (i < 1 || (size_t)i > a->shape[0])
    luaL_argerror(L, 2, lua_pushfstring(L, "row %I out of range [1, %d]",
                                        i, (int)a->shape[0]));
  size_t cols = a->shape[1];
  cl_array *out = push_filled(L, a->order, 1, &cols);
  memcpy(out->data, a->data + (size_t)(i - 1) * cols, cols * sizeof(uint64_t));
  return 1;
}

/* a:slice(i, j): elements i..j (1-based, inclusive, row-major) as a vector. */
static int array_slice(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  lua_Integer j = luaL_optinteger(L, 3, (lua_Integer)a->n);
  if (i < 1 || (size_t)i > a->n + 1)
    luaL_argerror(L, 2, lua_pushfstring(L, "index %I out of range [1, %d]",
                                        i, (int)a->n + 1));
  if (j < i - 1 || (size_t)j > a->n)
    luaL_argerror(L, 3, lua_pushfstring(L, "index %I out of range [%I, %d]",
                                        j, i - 1, (int)a->n));
  size_t n = (size_t)(j - i + 1);
  cl_array *out = push_filled(L, a->order, 1, &n);
  memcpy(out->data, a->data + (i - 1), n * sizeof(uint64_t));
  return 1;
}

static int array_reshape(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = check_shape(L, 2, shape);
  size_t n = 1;
  for (int d = 0; d < nd; d++) n *= shape[d];
  if (n != a->n) {
    char s1[64];
    luaL_argerror(L, 2, lua_pushfstring(L, "cannot reshape %s (%d elements) into %d elements",
                  shape_str(s1, sizeof s1, a), (int)a->n, (int)n));
  }
  cl_array *out = push_filled(L, a->order, nd, shape);
  memcpy(out->data, a->data, a->n * sizeof(uint64_t));
  return 1;
}

/* FieldArray([1, 2, 3], order=7): unsigned values, long arrays elided. */
static int array_tostring(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  luaL_Buffer b;
  char num[32];
  size_t cols = a->ndim == 2 ? a->shape[1] : a->n;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "FieldArray(");
  if (a->ndim >= 1) luaL_addchar(&b, '[');
  for (size_t i = 0; i < a->n; i++) {
    if (i == CL_TOSTRING_MAX_ELEMENTS) {
      luaL_addstring(&b, ", ...");
      break;
    }
    if (a->ndim == 2 && i % cols == 0) luaL_addstring(&b, i ? ", [" : "[");
    else if (i) luaL_addstring(&b, ", ");
    snprintf(num, sizeof num, "%llu", (unsigned long long)a->data[i]);
    luaL_addstring(&b, num);
    if (a->ndim == 2 && i % cols == cols - 1) luaL_addchar(&b, ']');
  }
  if (a->ndim >= 1) luaL_addchar(&b, ']');
  snprintf(num, sizeof num, "%llu", (unsigned long long)a->order);
  luaL_addstring(&b, ", order=");
  luaL_addstring(&b, num);
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/* ==== Registration ====================================================== */

static const luaL_Reg field_methods[] = {
  {"array", field_array},
  {"zeros", field_zeros},
  {"ones", field_ones},
  {"uniform", field_uniform},
  {"stack", field_stack},
  {"add", field_add},
  {"subtract", field_subtract},
  {"multiply", field_multiply},
  {"negative", field_negative},
  {"sum", field_sum},
  {"dot", field_dot},
  {"matvec", field_matvec},
  {"bit_compose", field_bit_compose},
  {"shift_right", field_shift_right},
  {"uniform_below", field_uniform_below},
  {"concat", field_concat},
  {"power", field_power},
  {"inverse", field_inverse},
  {"equal", field_equal},
  {"lagrange", field_lagrange},
  {"shamir_share", field_shamir_share},
  {"shamir_recover", field_shamir_recover},
  {"shamir_share_each", field_shamir_share_each},
  {"lincomb", field_lincomb},
  {"encode_fixed", field_encode_fixed},
  {"decode_fixed", field_decode_fixed},
  {"encode_int", field_encode_int},
  {"decode_int", field_decode_int},
  {"encode_bool", field_encode_bool},
  {"decode_bool", field_decode_bool},
  {"encode_bits", field_encode_bits},
  {"decode_bits", field_decode_bits},
  {NULL, NULL}
};

static const luaL_Reg field_meta[] = {
  {"__tostring", field_tostring},
  {"__eq", field_eq},
  {NULL, NULL}
};

static const luaL_Reg array_methods[] = {
  {"tolist", array_tolist},
  {"copy", array_copy},
  {"row", array_row},
  {"slice", array_slice},
  {"reshape", array_reshape},
  {NULL, NULL}
};

static const luaL_Reg array_meta[] = {
  {"__add", array_add},
  {"__sub", array_sub},
  {"__mul", array_mul},
  {"__unm", array_unm},
  {"__eq", array_eq},
  {"__len", array_len},
  {"__newindex", array_newindex},
  {"__tostring", array_tostring},
  {NULL, NULL}
};

static const luaL_Reg rng_methods[] = {
  {"uniform", rng_uniform},
  {"bytes", rng_bytes},
  {NULL, NULL}
};

static const luaL_Reg rng_meta[] = {
  {"__gc", rng_gc},
  {"__close", rng_gc},
  {"__tostring", rng_tostring},
  {NULL, NULL}
};

static const luaL_Reg core_funcs[] = {
  {"Field", field_new},
  {"rng", rng_new},
  {NULL, NULL}
};

/* A metatable whose __index is fn with the methods table as upvalue. */
static void new_type(lua_State *L, const char *name, const luaL_Reg *meta,
                     const luaL_Reg *methods, lua_CFunction index) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  if (index) lua_pushcclosure(L, index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void cl_open_field(lua_State *L) {
  new_type(L, CL_FIELD_MT, field_meta, field_methods, field_index);
  new_type(L, CL_ARRAY_MT, array_meta, array_methods, array_index);
  new_type(L, CL_RNG_MT, rng_meta, rng_methods, NULL);
  luaL_setfuncs(L, core_funcs, 0);
}
