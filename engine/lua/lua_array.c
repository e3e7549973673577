/*
 * lua_array.c - the field array as a Lua type.
 *
 * Owns cicada.FieldArray (CL_ARRAY_MT): a 0-, 1- or 2-dimensional array of
 * elements of GF(order) (one or two 64-bit words each, see cl_fq) stored inline in one full userdata, its constructors
 * for the other binding files (cl_array_push and friends), shapes, element
 * access, the arithmetic metamethods and the methods tolist, copy, row,
 * slice, reshape and transpose. The arithmetic is field.c's, reached through the Field
 * binding (lua_field.c); Lua values become elements in lua_encoding.c.
 */
#include <stdio.h>
#include <string.h>

#include "lua/lua_cicada.h"

#define CL_TOSTRING_MAX_ELEMENTS 64

/* ==== Making arrays ===================================================== */

/* The registry holds the arrays' metatable also under this key: made and
 * checked on every field operation, it is found without hashing its name
 * (luaL_setmetatable and luaL_testudata look it up by name). */
static cl_mt_key array_mt_key;

void cl_mt_register(lua_State *L, cl_mt_key *key) {
  uintptr_t mt = (uintptr_t)lua_topointer(L, -1), seen = 0;
  /* the first state to open the type names the address; another address
   * (another state, alive or not) leaves the registry to decide */
  if (!atomic_compare_exchange_strong(&key->mt, &seen, mt) && seen != mt)
    atomic_store(&key->mt, CL_MT_SHARED);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  lua_pushvalue(L, -1);
  atomic_store_explicit(&key->ref, luaL_ref(L, LUA_REGISTRYINDEX), memory_order_relaxed);
}

int cl_mt_registered(lua_State *L, cl_mt_key *key) {
  int same, ref = atomic_load_explicit(&key->ref, memory_order_relaxed);
  if (ref > 0) {
    /* two tables: the same one when their addresses are */
    same = lua_rawgeti(L, LUA_REGISTRYINDEX, ref) == LUA_TTABLE &&
           lua_topointer(L, -1) == lua_topointer(L, -2);
    lua_settop(L, same ? -3 : -2);
    if (same) return 1;
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

void cl_mt_push(lua_State *L, cl_mt_key *key) {
  uintptr_t mt = atomic_load_explicit(&key->mt, memory_order_relaxed);
  int ref = atomic_load_explicit(&key->ref, memory_order_relaxed);
  /* the integer reference is found faster; it holds the type's metatable
   * in this state when its address is mt */
  if (mt != 0 && mt != CL_MT_SHARED && ref > 0) {
    if (lua_rawgeti(L, LUA_REGISTRYINDEX, ref) == LUA_TTABLE &&
        (uintptr_t)lua_topointer(L, -1) == mt)
      return;
    lua_pop(L, 1);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, key);
}

/* A new array; its elements are zero, or left for the caller to write
 * (every one of them) when zero is 0. */
static cl_array *array_new(lua_State *L, const cl_fq *q, int ndim,
                           const size_t *shape, int zero) {
  size_t n = 1;
  size_t max_n = (SIZE_MAX - sizeof(cl_array)) / sizeof(uint64_t) / 2;
  if (ndim < 0 || ndim > CL_ARRAY_MAX_DIMS)
    luaL_error(L, "field arrays have 0 to %d dimensions, not %d",
               CL_ARRAY_MAX_DIMS, ndim);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] != 0 && n > max_n / shape[d])
      luaL_error(L, "field array too large");
    n *= shape[d];
  }
  size_t bytes = n * (size_t)q->w * sizeof(uint64_t);
  cl_array *a = lua_newuserdatauv(L, sizeof(cl_array) + bytes, 0);
  a->order = q->lo;
  a->order_hi = q->hi;
  a->w = q->w;
  a->ndim = ndim;
  a->shape[0] = a->shape[1] = 0;
  for (int d = 0; d < ndim; d++) a->shape[d] = shape[d];
  a->n = n;
  if (zero) memset(a->data, 0, bytes);
  cl_mt_push(L, &array_mt_key);
  lua_setmetatable(L, -2);
  return a;
}

cl_array *cl_array_push(lua_State *L, const cl_fq *q, int ndim, const size_t *shape) {
  return array_new(L, q, ndim, shape, 1);
}

cl_array *cl_array_push_filled(lua_State *L, const cl_fq *q, int ndim,
                               const size_t *shape) {
  return array_new(L, q, ndim, shape, 0);
}

/* Enough of a field to make arrays: the order and the width. */
static cl_fq order_of(const cl_array *a) {
  cl_fq q;
  memset(&q, 0, sizeof q);
  q.lo = a->order;
  q.hi = a->order_hi;
  q.w = a->w;
  return q;
}

cl_array *cl_array_push_like(lua_State *L, const cl_array *a) {
  cl_fq q = order_of(a);
  return cl_array_push_filled(L, &q, a->ndim, a->shape);
}

cl_array *cl_array_test(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  return p && cl_mt_is(L, idx, &array_mt_key) ? p : NULL;
}

cl_array *cl_array_check(lua_State *L, int idx) {
  cl_array *a = cl_array_test(L, idx);
  /* Anything else raises luaL_checkudata's error. */
  return a ? a : luaL_checkudata(L, idx, CL_ARRAY_MT);
}

void cl_array_field(const cl_array *a, cl_fq *q) {
  cl_fq_setup(q, a->order, a->order_hi);
}

void cl_push_value(lua_State *L, int w, cc_u128 v) {
  if (w == 1) {
    cl_push_u64(L, (uint64_t)v);
  } else if (v <= (cc_u128)INT64_MAX) {
    lua_pushinteger(L, (lua_Integer)v);
  } else {
    char buf[40];
    cc_field128_format(buf, v);
    lua_pushstring(L, buf);
  }
}

/* ==== Shapes ============================================================ */

const char *cl_array_shape_str(char *buf, size_t sz, const cl_array *a) {
  if (a->ndim == 0) snprintf(buf, sz, "{}");
  else if (a->ndim == 1) snprintf(buf, sz, "{%zu}", a->shape[0]);
  else snprintf(buf, sz, "{%zu, %zu}", a->shape[0], a->shape[1]);
  return buf;
}

int cl_array_same_shape(const cl_array *a, const cl_array *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

int cl_check_shape(lua_State *L, int arg, size_t *shape) {
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

/* ==== Metamethods ======================================================= */

/* The field of array operands of a metamethod; orders must agree. */
static void operands_field(lua_State *L, cl_fq *f) {
  cl_array *a = cl_array_test(L, 1), *b = cl_array_test(L, 2);
  if (a && b && (a->order != b->order || a->order_hi != b->order_hi)) {
    const char *s1 = cl_push_order(L, a->order, a->order_hi);
    const char *s2 = cl_push_order(L, b->order, b->order_hi);
    luaL_argerror(L, 2, lua_pushfstring(L,
                  "arrays of different fields (orders %s and %s)", s1, s2));
  }
  cl_array_field(a ? a : b, f);
}

static int array_arith(lua_State *L, enum cl_binop op) {
  cl_fq f;
  operands_field(L, &f);
  return cl_field_binop(L, &f, 1, 2, op);
}

static int array_add(lua_State *L) { return array_arith(L, CL_OP_ADD); }
static int array_sub(lua_State *L) { return array_arith(L, CL_OP_SUB); }
static int array_mul(lua_State *L) { return array_arith(L, CL_OP_MUL); }

static int array_unm(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  cl_fq f;
  cl_array_field(a, &f);
  cl_array *out = cl_array_push_like(L, a);
  CL_FQ(&f, neg, out->data, a->data, a->n);
  return 1;
}

static int array_eq(lua_State *L) {
  cl_array *a = cl_array_check(L, 1), *b = cl_array_check(L, 2);
  lua_pushboolean(L, a->order == b->order && a->order_hi == b->order_hi &&
                         cl_array_same_shape(a, b) &&
                         memcmp(a->data, b->data, cl_array_bytes(a)) == 0);
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
    cl_push_value(L, a->w, cl_elem(a->w, a->data, check_elem_index(L, a, 2)));
    return 1;
  }
  const char *k = lua_tostring(L, 2);
  if (!k) return luaL_argerror(L, 2, "integer index or field name expected");
  if (strcmp(k, "shape") == 0) push_shape_table(L, a);
  else if (strcmp(k, "order") == 0)
    cl_push_value(L, a->w, cc_u128_make(a->order, a->order_hi));
  else if (strcmp(k, "ndim") == 0) lua_pushinteger(L, a->ndim);
  else if (strcmp(k, "size") == 0) lua_pushinteger(L, (lua_Integer)a->n);
  else {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
  }
  return 1;
}

/* a[i] = v: v an integer or a decimal or 0x-hex string, reduced modulo the
 * order. */
static int array_newindex(lua_State *L) {
  lua_settop(L, 3); /* the converted value goes above the arguments */
  cl_array *a = cl_array_check(L, 1);
  size_t i = check_elem_index(L, a, 2);
  luaL_argexpected(L, lua_type(L, 3) == LUA_TNUMBER || lua_type(L, 3) == LUA_TSTRING, 3,
                   "integer or string");
  cl_fq f;
  cl_array_field(a, &f);
  cl_array *v = cl_push_converted(L, 3, &f, 3, CL_CONV_INT, 0);
  cl_set_elem(a->w, a->data, i, cl_elem(a->w, v->data, 0));
  return 0;
}

/* FieldArray([1, 2, 3], order=7): unsigned values, long arrays elided. */
static int array_tostring(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  luaL_Buffer b;
  char num[40];
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
    cc_field128_format(num, cl_elem(a->w, a->data, i));
    luaL_addstring(&b, num);
    if (a->ndim == 2 && i % cols == cols - 1) luaL_addchar(&b, ']');
  }
  if (a->ndim >= 1) luaL_addchar(&b, ']');
  cc_field128_format(num, cc_u128_make(a->order, a->order_hi));
  luaL_addstring(&b, ", order=");
  luaL_addstring(&b, num);
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/* ==== Methods =========================================================== */

static int array_tolist(lua_State *L) {
  cl_push_decoded(L, cl_array_check(L, 1), CL_DEC_RAW, 0, 1);
  return 1;
}

static int array_copy(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  cl_array *out = cl_array_push_like(L, a);
  memcpy(out->data, a->data, cl_array_bytes(a));
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
  cl_fq q = order_of(a);
  cl_array *out = cl_array_push_filled(L, &q, 1, &cols);
  memcpy(out->data, a->data + (size_t)(i - 1) * cols * (size_t)a->w, cl_array_bytes(out));
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
  cl_fq q = order_of(a);
  cl_array *out = cl_array_push_filled(L, &q, 1, &n);
  memcpy(out->data, a->data + (size_t)(i - 1) * (size_t)a->w, cl_array_bytes(out));
  return 1;
}

static int array_reshape(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  size_t n = 1;
  for (int d = 0; d < nd; d++) n *= shape[d];
  if (n != a->n) {
    char s1[64];
    luaL_argerror(L, 2, lua_pushfstring(L, "cannot reshape %s (%d elements) into %d elements",
                  cl_array_shape_str(s1, sizeof s1, a), (int)a->n, (int)n));
  }
  cl_fq q = order_of(a);
  cl_array *out = cl_array_push_filled(L, &q, nd, shape);
  memcpy(out->data, a->data, cl_array_bytes(a));
  return 1;
}

/* a:transpose(): the matrix with rows and columns swapped (a copy). */
static int array_transpose(lua_State *L) {
  cl_array *a = cl_array_check(L, 1);
  if (a->ndim != 2) {
    char s1[64];
    luaL_argerror(L, 1, lua_pushfstring(L, "matrix expected, got shape %s",
                  cl_array_shape_str(s1, sizeof s1, a)));
  }
  size_t shape[CL_ARRAY_MAX_DIMS] = {a->shape[1], a->shape[0]};
  cl_fq q = order_of(a);
  cl_array *out = cl_array_push_filled(L, &q, 2, shape);
  cc_field_transpose(out->data, a->data, a->shape[0], a->shape[1], (size_t)a->w);
  return 1;
}

/* ==== Registration ====================================================== */

static const luaL_Reg array_methods[] = {
  {"tolist", array_tolist},
  {"copy", array_copy},
  {"row", array_row},
  {"slice", array_slice},
  {"reshape", array_reshape},
  {"transpose", array_transpose},
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

void cl_open_array(lua_State *L) {
  cl_new_type(L, CL_ARRAY_MT, array_meta, array_methods, NULL, array_index);
  luaL_getmetatable(L, CL_ARRAY_MT);
  cl_mt_register(L, &array_mt_key);
  lua_pop(L, 1);
}
