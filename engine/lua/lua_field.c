/*
 * lua_field.c - the prime field as a Lua type.
 *
 * Owns cicada.Field (CL_FIELD_MT) and core.Field(order): array
 * constructors, element-wise arithmetic with scalar broadcasting, sums,
 * products, powers and inverses, Lagrange weights and the Shamir kernels,
 * each one call per array into field.c (orders below 2^64) or field128.c
 * (orders of 65 to 128 bits; see cl_fq in lua_cicada.h). The arrays are
 * lua_array.c's, the conversions from and to Lua values lua_encoding.c's
 * (whose encode_ and decode_ methods this type also carries) and the random
 * streams lua_rng.c's. The Lua API is documented in lua/cicada/field.lua.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/shamir.h"
#include "core/wire.h"
#include "lua/lua_cicada.h"

/* ==== Fields ============================================================ */

/* The registry holds the Field's metatable also under this address: every
 * Field method checks its self, and the address finds it without hashing
 * the name (as luaL_checkudata does). */
static cl_mt_key field_mt_key;

cl_field *cl_field_check(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (p && cl_mt_is(L, idx, &field_mt_key)) return p;
  /* Anything else raises luaL_checkudata's error. */
  return luaL_checkudata(L, idx, CL_FIELD_MT);
}

void cl_fq_setup(cl_fq *q, uint64_t lo, uint64_t hi) {
  memset(q, 0, sizeof *q);
  q->lo = lo;
  q->hi = hi;
  if (hi) {
    q->w = 2;
    cc_field128_setup(&q->g, lo, hi);
    q->bits = q->g.bits;
  } else {
    q->w = 1;
    cc_field_setup(&q->f, lo);
    q->bits = q->f.bits;
  }
}

int cl_fq_init(cl_fq *q, uint64_t lo, uint64_t hi, char *err, size_t errsz) {
  if (hi ? cc_field128_check_order(lo, hi, err, errsz) != 0
         : cc_field_check_order(lo, err, errsz) != 0)
    return -1;
  cl_fq_setup(q, lo, hi);
  return 0;
}

/* An order: a Lua integer (the same 64 bits above math.maxinteger), or a
 * decimal or 0x-hex string below 2^128. */
static cc_u128 check_order_value(lua_State *L, int arg) {
  int isnum;
  lua_Integer i = lua_tointegerx(L, arg, &isnum);
  if (lua_type(L, arg) == LUA_TNUMBER) {
    if (!isnum) luaL_argerror(L, arg, "order must be an integer");
    return (uint64_t)i;
  }
  if (lua_type(L, arg) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, arg, &len);
    cc_u128 v;
    if (len == 0) luaL_argerror(L, arg, "order string is empty");
    if (cc_field128_parse(s, len, &v) != 0)
      luaL_argerror(L, arg, lua_pushfstring(L,
                    "order '%s' is not a decimal or 0x-hex integer below 2^128", s));
    return v;
  }
  return (cc_u128)luaL_typeerror(L, arg, "integer or decimal string");
}

static cl_field *push_field(lua_State *L, cc_u128 order, int arg) {
  char err[160];
  cl_fq q;
  if (cl_fq_init(&q, (uint64_t)order, (uint64_t)(order >> 64), err, sizeof err) != 0)
    luaL_argerror(L, arg, err);
  cl_field *F = lua_newuserdatauv(L, sizeof *F, 0);
  F->q = q;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &field_mt_key);
  lua_setmetatable(L, -2);
  return F;
}

/* core.Field(order) */
static int field_new(lua_State *L) {
  cc_u128 order = lua_isnoneornil(L, 1) ? (cc_u128)CC_FIELD_DEFAULT_ORDER
                                        : check_order_value(L, 1);
  push_field(L, order, 1);
  return 1;
}

/* ==== Arrays of this field =============================================== */

const char *cl_push_order(lua_State *L, uint64_t lo, uint64_t hi) {
  char buf[40];
  cc_field128_format(buf, cc_u128_make(lo, hi));
  return lua_pushstring(L, buf);
}

static int order_mismatch(lua_State *L, int arg, const cl_array *a, const cl_fq *q) {
  const char *g = cl_push_order(L, a->order, a->order_hi);
  const char *w = cl_push_order(L, q->lo, q->hi);
  return luaL_argerror(L, arg, lua_pushfstring(L,
                       "array of order %s does not belong to the field of order %s", g, w));
}

/* An array of field q at idx, or raise naming the argument. */
cl_array *cl_field_own_array(lua_State *L, int idx, const cl_fq *q) {
  cl_array *a = cl_array_check(L, idx);
  if (!cl_array_in(a, q)) order_mismatch(L, idx, a, q);
  return a;
}

/* The operand at idx as an array of field q: an array of that field is used
 * as is; an integer, an integer string (decimal or 0x-hex) or a list is converted into a new array left
 * on the stack. */
static cl_array *to_operand(lua_State *L, int idx, const cl_fq *q) {
  cl_array *a = cl_array_test(L, idx);
  if (a) {
    if (!cl_array_in(a, q)) order_mismatch(L, idx, a, q);
    return a;
  }
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) { /* an integer beyond Lua's, as decimal or 0x-hex */
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    cc_u128 v;
    int neg = len > 0 && s[0] == '-';
    if (cc_field128_parse(s + neg, len - (size_t)neg, &v) != 0) t = LUA_TNONE;
  }
  if (t != LUA_TNUMBER && t != LUA_TTABLE && t != LUA_TSTRING)
    luaL_typeerror(L, idx, "field array, integer or list");
  return cl_push_converted(L, idx, q, idx, CL_CONV_INT, 0);
}

/* Scalar kernels: out[i] = a[i] op s (or s - a[i] for rsub), s an element
 * of width q->w at sp. */
static void scalar_op(const cl_fq *q, enum cl_binop op, int rsub, uint64_t *out,
                      const uint64_t *a, const uint64_t *sp, size_t n) {
  if (q->w == 2) {
    cc_u128 s = cc_field128_get(sp, 0);
    if (op == CL_OP_ADD) cc_field128_add_scalar(&q->g, out, a, s, n);
    else if (op == CL_OP_SUB && rsub) cc_field128_rsub_scalar(&q->g, out, s, a, n);
    else if (op == CL_OP_SUB) cc_field128_sub_scalar(&q->g, out, a, s, n);
    else cc_field128_mul_scalar(&q->g, out, a, s, n);
    return;
  }
  uint64_t s = sp[0];
  if (op == CL_OP_ADD) cc_field_add_scalar(&q->f, out, a, s, n);
  else if (op == CL_OP_SUB && rsub) cc_field_rsub_scalar(&q->f, out, s, a, n);
  else if (op == CL_OP_SUB) cc_field_sub_scalar(&q->f, out, a, s, n);
  else cc_field_mul_scalar(&q->f, out, a, s, n);
}

/* ==== Field: constructors =============================================== */

/* F:array(x): x an integer, a list, a list of lists, or a field array. */
static int field_array(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *src = cl_array_test(L, 2);
  if (src) {
    if (!cl_array_in(src, &F->q)) order_mismatch(L, 2, src, &F->q);
    cl_array *a = cl_array_push_like(L, src);
    memcpy(a->data, src->data, cl_array_bytes(src));
    return 1;
  }
  luaL_checkany(L, 2);
  cl_push_converted(L, 2, &F->q, 2, CL_CONV_INT, 0);
  return 1;
}

static int field_zeros(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  cl_array_push(L, &F->q, nd, shape);
  return 1;
}

static int field_ones(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  cl_array *a = cl_array_push(L, &F->q, nd, shape);
  for (size_t i = 0; i < a->n; i++) cl_set_elem(a->w, a->data, i, 1);
  return 1;
}

/* F:uniform(shape [, rng]) */
static int field_uniform(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 3, &tmp);
  cl_array *a = cl_array_push_filled(L, &F->q, nd, shape);
  cl_rng_fill_uniform(L, rng, F->q.w, cc_u128_make(F->q.lo, F->q.hi), a->data, a->n);
  if (rng == &tmp) cc_rng_free(&tmp);
  return 1;
}

/* F:stack(list): n-element arrays to an m x n matrix, scalars to a vector. */
static int field_stack(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer m = (lua_Integer)lua_rawlen(L, 2);
  luaL_argcheck(L, m > 0, 2, "nothing to stack");
  int base = lua_gettop(L);
  lua_rawgeti(L, 2, 1);
  cl_array *first = cl_array_test(L, -1);
  if (!first || first->ndim > 1)
    luaL_argerror(L, 2, "element 1 is not a 0- or 1-dimensional field array");
  if (!cl_array_in(first, &F->q)) order_mismatch(L, 2, first, &F->q);
  size_t shape[2] = {(size_t)m, first->ndim == 1 ? first->shape[0] : 0};
  cl_array *out = cl_array_push_filled(L, &F->q, first->ndim + 1, shape);
  size_t n = first->n;
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i));
    if (!cl_array_in(a, &F->q)) order_mismatch(L, 2, a, &F->q);
    if (!cl_array_same_shape(a, first)) {
      char s1[64], s2[64];
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d has shape %s, element 1 has %s",
                    (int)i, cl_array_shape_str(s1, sizeof s1, a), cl_array_shape_str(s2, sizeof s2, first)));
    }
    memcpy(out->data + (size_t)(i - 1) * n * (size_t)a->w, a->data, cl_array_bytes(a));
    lua_pop(L, 1);
  }
  lua_replace(L, base + 1); /* keep only the result */
  lua_settop(L, base + 1);
  return 1;
}

/* ==== Field: arithmetic ================================================= */

/* out = a op b with scalar broadcasting; arrays at ia and ib. */
int cl_field_binop(lua_State *L, const cl_fq *q, int ia, int ib, enum cl_binop op) {
  cl_array *a = to_operand(L, ia, q);
  cl_array *b = to_operand(L, ib, q);
  cl_array *out;
  if (a->ndim == 0 && b->ndim != 0) {
    out = cl_array_push_like(L, b);
    scalar_op(q, op, 1, out->data, b->data, a->data, b->n);
    return 1;
  }
  if (b->ndim == 0) {
    out = cl_array_push_like(L, a);
    scalar_op(q, op, 0, out->data, a->data, b->data, a->n);
    return 1;
  }
  if (!cl_array_same_shape(a, b)) {
    char s1[64], s2[64];
    return luaL_argerror(L, ib, lua_pushfstring(L, "shapes %s and %s differ",
                         cl_array_shape_str(s1, sizeof s1, a), cl_array_shape_str(s2, sizeof s2, b)));
  }
  out = cl_array_push_like(L, a);
  if (op == CL_OP_ADD) CL_FQ(q, add, out->data, a->data, b->data, a->n);
  else if (op == CL_OP_SUB) CL_FQ(q, sub, out->data, a->data, b->data, a->n);
  else CL_FQ(q, mul, out->data, a->data, b->data, a->n);
  return 1;
}

static int field_add(lua_State *L) { lua_settop(L, 3); return cl_field_binop(L, &cl_field_check(L, 1)->q, 2, 3, CL_OP_ADD); }
static int field_subtract(lua_State *L) { lua_settop(L, 3); return cl_field_binop(L, &cl_field_check(L, 1)->q, 2, 3, CL_OP_SUB); }
static int field_multiply(lua_State *L) { lua_settop(L, 3); return cl_field_binop(L, &cl_field_check(L, 1)->q, 2, 3, CL_OP_MUL); }

static int field_negative(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  cl_array *out = cl_array_push_like(L, a);
  CL_FQ(&F->q, neg, out->data, a->data, a->n);
  return 1;
}

static int field_sum(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  cl_array *out = cl_array_push_filled(L, &F->q, 0, NULL);
  if (F->q.w == 2) cc_field128_set(out->data, 0, cc_field128_sum(&F->q.g, a->data, a->n));
  else out->data[0] = cc_field_sum(&F->q.f, a->data, a->n);
  return 1;
}

static int field_dot(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  cl_array *b = to_operand(L, 3, &F->q);
  if (!cl_array_same_shape(a, b)) {
    char s1[64], s2[64];
    return luaL_argerror(L, 3, lua_pushfstring(L, "shapes %s and %s differ",
                         cl_array_shape_str(s1, sizeof s1, a), cl_array_shape_str(s2, sizeof s2, b)));
  }
  cl_array *out = cl_array_push_filled(L, &F->q, 0, NULL);
  if (F->q.w == 2)
    cc_field128_set(out->data, 0, cc_field128_dot(&F->q.g, a->data, b->data, a->n));
  else out->data[0] = cc_field_dot(&F->q.f, a->data, b->data, a->n);
  return 1;
}

/* F:matvec(A, x): the m x k matrix A times the k-vector x, an m-vector. */
static int field_matvec(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *A = to_operand(L, 2, &F->q);
  cl_array *x = to_operand(L, 3, &F->q);
  char s1[64], s2[64];
  if (A->ndim != 2)
    luaL_argerror(L, 2, lua_pushfstring(L, "matrix expected, got shape %s",
                                        cl_array_shape_str(s1, sizeof s1, A)));
  if (x->ndim != 1 || x->shape[0] != A->shape[1])
    luaL_argerror(L, 3, lua_pushfstring(L, "shapes %s and %s do not match",
                  cl_array_shape_str(s1, sizeof s1, A), cl_array_shape_str(s2, sizeof s2, x)));
  size_t m = A->shape[0];
  cl_array *out = cl_array_push_filled(L, &F->q, 1, &m);
  CL_FQ(&F->q, matvec, out->data, A->data, x->data, m, A->shape[1]);
  return 1;
}

/* F:bit_compose(bits): a k-vector of bits (most significant first) to a
 * scalar, or each row of an m x k matrix to an m-vector. */
static int field_bit_compose(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *b = to_operand(L, 2, &F->q);
  luaL_argcheck(L, b->ndim >= 1, 2, "bits must be a vector or a matrix");
  size_t m = b->ndim == 2 ? b->shape[0] : 1;
  size_t k = b->ndim == 2 ? b->shape[1] : b->shape[0];
  cl_array *out = cl_array_push_filled(L, &F->q, b->ndim - 1, &m);
  CL_FQ(&F->q, bit_compose, out->data, b->data, m, k);
  return 1;
}

/* F:shift_right(a, s): floor(a / 2^s) of each canonical element. */
static int field_shift_right(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  lua_Integer s = luaL_checkinteger(L, 3);
  int top = 64 * F->q.w - 1;
  if (s < 0 || s > top)
    luaL_argerror(L, 3, lua_pushfstring(L, "shift %I out of range [0, %d]", s, top));
  cl_array *out = cl_array_push_like(L, a);
  if (F->q.w == 2) cc_field128_shift_right(out->data, a->data, (unsigned)s, a->n);
  else cc_field_shift_right(out->data, a->data, (unsigned)s, a->n);
  return 1;
}

/* A bound for F:uniform_below: an integer (the same 64 bits), a decimal or
 * 0x-hex string, or a 0-d array of the field (its canonical value). */
static cc_u128 check_bound(lua_State *L, const cl_fq *q, int arg) {
  cc_u128 b = 0;
  cl_array *a = cl_array_test(L, arg);
  if (a) {
    if (!cl_array_in(a, q)) order_mismatch(L, arg, a, q);
    luaL_argcheck(L, a->ndim == 0, arg, "bound must be a 0-d array");
    b = cl_elem(a->w, a->data, 0);
  } else if (lua_type(L, arg) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, arg, &len);
    if (cc_field128_parse(s, len, &b) != 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "bound '%s' is not a decimal or 0x-hex integer", s));
  } else {
    lua_Integer i = luaL_checkinteger(L, arg);
    b = q->w == 2 && i < 0 ? 0 : (cc_u128)(uint64_t)i;
  }
  if (b < 1 || b > cc_u128_make(q->lo, q->hi)) {
    char bs[40];
    cc_field128_format(bs, b);
    const char *o = cl_push_order(L, q->lo, q->hi);
    luaL_argerror(L, arg, lua_pushfstring(L, "bound %s out of range [1, %s]", bs, o));
  }
  return b;
}

/* Fill a with elements uniform in [0, b) from rng, and free rng when it is
 * tmp (also when the stream fails, which raises). */
static void fill_below(lua_State *L, cc_rng *rng, cc_rng *tmp, cc_u128 b, cl_array *a) {
  if ((b & (b - 1)) == 0) {
    /* A power of two: the low bits of random words, no rejection. */
    if (cc_rng_bytes(rng, a->data, cl_array_bytes(a)) != 0) {
      if (rng == tmp) cc_rng_free(tmp);
      luaL_error(L, "random stream failed (OpenSSL)");
    }
    if (a->w == 2) {
      cc_u128 mask = b - 1;
      for (size_t i = 0; i < a->n; i++) {
        a->data[2 * i] &= (uint64_t)mask;
        a->data[2 * i + 1] &= (uint64_t)(mask >> 64);
      }
    } else {
      for (size_t i = 0; i < a->n; i++) a->data[i] &= (uint64_t)b - 1;
    }
  } else {
    cl_rng_fill_uniform(L, rng, a->w, b, a->data, a->n);
  }
  if (rng == tmp) cc_rng_free(tmp);
}

/* F:uniform_below(shape, bound [, rng]): elements uniform in [0, bound). */
static int field_uniform_below(lua_State *L) {
  lua_settop(L, 4);
  cl_field *F = cl_field_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  cc_u128 b = check_bound(L, &F->q, 3);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 4, &tmp);
  cl_array *a = cl_array_push_filled(L, &F->q, nd, shape);
  fill_below(L, rng, &tmp, b, a);
  return 1;
}

/* F:concat(list [, shape]): the elements of the arrays in list, in order
 * (each read row-major), as one vector or an array of the given shape. */
static int field_concat(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer m = (lua_Integer)lua_rawlen(L, 2);
  size_t total = 0;
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i));
    if (!cl_array_in(a, &F->q)) order_mismatch(L, 2, a, &F->q);
    total += a->n;
    lua_pop(L, 1);
  }
  size_t shape[CL_ARRAY_MAX_DIMS] = {total, 0};
  int nd = 1;
  if (!lua_isnil(L, 3)) {
    nd = cl_check_shape(L, 3, shape);
    size_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    if (n != total)
      luaL_argerror(L, 3, lua_pushfstring(L, "%d elements do not fill the shape",
                                          (int)total));
  }
  cl_array *out = cl_array_push_filled(L, &F->q, nd, shape);
  size_t at = 0;
  for (lua_Integer i = 1; i <= m; i++) {
    /* checked again: a finalizer run by an allocation above may have
     * changed the list */
    lua_rawgeti(L, 2, i);
    cl_array *a = cl_array_test(L, -1);
    if (a == NULL || !cl_array_in(a, &F->q) || a->n > total - at) break;
    memcpy(out->data + at * (size_t)a->w, a->data, cl_array_bytes(a));
    at += a->n;
    lua_pop(L, 1);
  }
  if (at != total) /* every element of out written */
    return luaL_error(L, "the list changed while it was concatenated");
  return 1;
}

/* out = a^-1, naming the first zero element. */
static void invert_into(lua_State *L, const cl_fq *q, cl_array *out,
                        const cl_array *a, int arg) {
  size_t zero = 0;
  int rc = CL_FQ(q, inv, out->data, a->data, a->n, &zero);
  if (rc == CC_FIELD_EZERO) {
    if (a->ndim == 0) luaL_argerror(L, arg, "zero has no inverse");
    luaL_argerror(L, arg, lua_pushfstring(L, "element %d is zero and has no inverse",
                                          (int)zero + 1));
  }
  if (rc != CC_FIELD_OK) luaL_error(L, "not enough memory");
}

static int field_inverse(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  invert_into(L, &F->q, cl_array_push_like(L, a), a, 2);
  return 1;
}

/* F:try_inverse(a): the inverse like F:inverse, or nil and the (1-based)
 * index of the first zero element, so that callers need not parse an error
 * message (a zero is data here, not a mistake). */
static int field_try_inverse(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  cl_array *out = cl_array_push_like(L, a);
  size_t zero = 0;
  int rc = CL_FQ(&F->q, inv, out->data, a->data, a->n, &zero);
  if (rc == CC_FIELD_EZERO) {
    lua_pushnil(L);
    lua_pushinteger(L, (lua_Integer)zero + 1);
    return 2;
  }
  if (rc != CC_FIELD_OK) return luaL_error(L, "not enough memory");
  return 1;
}

/* F:power(a, e): a public integer exponent; negative e inverts first. */
static int field_power(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  lua_Integer e = luaL_checkinteger(L, 3);
  cl_array *out = cl_array_push_like(L, a);
  const uint64_t *base = a->data;
  uint64_t ue = (uint64_t)e;
  if (e < 0) {
    invert_into(L, &F->q, out, a, 2);
    base = out->data;
    ue = (uint64_t)0 - (uint64_t)e;
  }
  CL_FQ(&F->q, pow, out->data, base, ue, a->n);
  return 1;
}

/* True when both have the same shape and elements (a scalar broadcasts). */
static int field_equal(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = to_operand(L, 2, &F->q);
  cl_array *b = to_operand(L, 3, &F->q);
  int eq;
  if (a->ndim == 0 || b->ndim == 0) {
    const cl_array *s = a->ndim == 0 ? a : b, *v = a->ndim == 0 ? b : a;
    eq = 1;
    cc_u128 e = cl_elem(s->w, s->data, 0);
    for (size_t i = 0; i < v->n && eq; i++) eq = cl_elem(v->w, v->data, i) == e;
  } else {
    eq = cl_array_same_shape(a, b) && memcmp(a->data, b->data, cl_array_bytes(a)) == 0;
  }
  lua_pushboolean(L, eq);
  return 1;
}

/* ==== Field: Lagrange and Shamir ======================================== */

/* The list of indices at arg as a new 1-d array left on the stack. */
static cl_array *check_indices(lua_State *L, const cl_fq *q, int arg) {
  char err[160];
  cl_array *x = cl_array_test(L, arg);
  if (x == NULL) {
    luaL_argexpected(L, lua_istable(L, arg), arg, "list of indices");
    x = to_operand(L, arg, q);
  } else if (!cl_array_in(x, q)) {
    order_mismatch(L, arg, x, q);
  }
  if (x->ndim != 1) luaL_argerror(L, arg, "indices must be a list");
  if (CL_FQ(q, check_indices, x->data, x->n, err, sizeof err) != 0)
    luaL_argerror(L, arg, err);
  return x;
}

static int field_lagrange(lua_State *L) {
  lua_settop(L, 2); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  char err[160];
  cl_array *x = check_indices(L, &F->q, 2);
  luaL_argcheck(L, x->n > 0, 2, "no indices");
  cl_array *out = cl_array_push_like(L, x);
  if (CL_FQ(&F->q, lagrange0, out->data, x->data, x->n, err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  return 1;
}

/* A threshold argument under check.h's one rule, 1 <= k <= m. */
static void check_threshold(lua_State *L, int arg, lua_Integer k, size_t m) {
  cc_error e;
  if (cc_check_threshold((int64_t)k, m, &e) != CC_OK) luaL_argerror(L, arg, e.message);
}

/* Raise what a core sharing call reported. */
static int share_error(lua_State *L, const cc_error *e) {
  return luaL_error(L, "%s", e->message);
}

/* Room for a block of the (k - 1) x n coefficients of a sharing (see
 * cc_shamir_share), as a userdata on the stack. The core wipes it after
 * each use. */
static uint64_t *coefficient_scratch(lua_State *L, size_t k, size_t n, int w) {
  if (n > CC_SHAMIR_BLOCK) n = CC_SHAMIR_BLOCK;
  size_t words = k > 1 ? (k - 1) * n : 0;
  if (words > SIZE_MAX / sizeof(uint64_t) / 2) luaL_error(L, "%zu coefficients are too many", words);
  words *= (size_t)w;
  if (words > SIZE_MAX / sizeof(uint64_t)) luaL_error(L, "%zu coefficients are too many", words);
  return lua_newuserdatauv(L, words ? words * sizeof(uint64_t) : 1, 0);
}

/* F:shamir_share(secret, k, indices [, rng]) -> m x n matrix of shares. */
static int field_shamir_share(lua_State *L) {
  lua_settop(L, 5); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cc_error e;
  cl_array *s = to_operand(L, 2, &F->q);
  lua_Integer k = luaL_checkinteger(L, 3);
  cl_array *x = check_indices(L, &F->q, 4);
  check_threshold(L, 3, k, x->n);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 5, &tmp);
  size_t oshape[2] = {x->n, s->n};
  uint64_t *scratch = coefficient_scratch(L, (size_t)k, s->n, F->q.w);
  cl_array *out = cl_array_push_filled(L, &F->q, 2, oshape); /* the result, on top */
  cc_status st = F->q.w == 2
      ? cc_shamir_share128(&F->q.g, rng, s->data, s->n, (size_t)k, x->data, x->n,
                           out->data, scratch, &e)
      : cc_shamir_share(&F->q.f, rng, s->data, s->n, (size_t)k, x->data, x->n,
                        out->data, scratch, &e);
  if (rng == &tmp) cc_rng_free(&tmp);
  if (st != CC_OK) return share_error(L, &e);
  return 1;
}

/* The arguments F, secret, k, indices, j of shamir_share_row and
 * shamir_share_message, checked; j is 1-based. */
typedef struct share_row_args {
  cl_field *F;
  cl_array *s, *x;
  lua_Integer k, j;
} share_row_args;

static share_row_args check_share_row_args(lua_State *L) {
  share_row_args a;
  a.F = cl_field_check(L, 1);
  a.s = cl_field_own_array(L, 2, &a.F->q);
  a.k = luaL_checkinteger(L, 3);
  a.x = check_indices(L, &a.F->q, 4);
  check_threshold(L, 3, a.k, a.x->n);
  a.j = luaL_checkinteger(L, 5);
  if (a.j < 1 || (size_t)a.j > a.x->n)
    luaL_argerror(L, 5, lua_pushfstring(L, "player %I out of range [1, %d]", a.j, (int)a.x->n));
  return a;
}

/* F:shamir_share_row(secret, k, indices, j [, rng]) -> row j (1-based) of
 * F:shamir_share(secret, k, indices, rng): player j's shares, shaped like
 * the secret, the coefficients drawn as shamir_share draws them. */
static int field_shamir_share_row(lua_State *L) {
  lua_settop(L, 6); /* temporaries go above the arguments */
  share_row_args args = check_share_row_args(L);
  cl_field *F = args.F;
  cc_error e;
  cl_array *s = args.s, *x = args.x;
  lua_Integer k = args.k, j = args.j;
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 6, &tmp);
  /* The row before the scratch: a row's room just freed (a message's, see
   * shamir_share_message) is taken whole, before a small block can split
   * it. */
  cl_array *out = cl_array_push_like(L, s); /* the result */
  uint64_t *scratch = coefficient_scratch(L, (size_t)k, s->n, F->q.w);
  cc_status st = F->q.w == 2
      ? cc_shamir_share_row128(&F->q.g, rng, s->data, s->n, (size_t)k, x->data, x->n,
                               (size_t)j - 1, out->data, scratch, &e)
      : cc_shamir_share_row(&F->q.f, rng, s->data, s->n, (size_t)k, x->data, x->n,
                            (size_t)j - 1, out->data, scratch, &e);
  if (rng == &tmp) cc_rng_free(&tmp);
  if (st != CC_OK) return share_error(L, &e);
  lua_pop(L, 1); /* the scratch: the result is on top */
  return 1;
}

/* F:shamir_share_message(secret, k, indices, j [, rng [, into]]) -> a
 * Message (lua_codec.c) holding the wire encoding of
 * F:shamir_share_row(secret, k, indices, j, rng), the coefficients drawn
 * alike: the shares are written block by block straight into the bytes
 * that travel, so neither a row array nor a copy of it is made. into, a
 * message of an earlier call, is written over and returned when no send
 * holds it any more and its room fits; otherwise its bytes are dropped
 * (msg:free()) and a new message is made. */
#define ARRAY_ROOM_SLACK 4096 /* a Lua userdata's header, and small blocks */
static int field_shamir_share_message(lua_State *L) {
  lua_settop(L, 7); /* temporaries go above the arguments */
  share_row_args args = check_share_row_args(L);
  cl_field *F = args.F;
  cc_error e;
  cl_array *s = args.s, *x = args.x;
  lua_Integer k = args.k, j = args.j;
  if (!lua_isnoneornil(L, 6)) luaL_checkudata(L, 6, CL_RNG_MT);
  cl_message *into = NULL;
  if (!lua_isnoneornil(L, 7)) {
    into = cl_message_test(L, 7);
    if (!into)
      luaL_argerror(L, 7, lua_pushfstring(L, "message expected, got %s", luaL_typename(L, 7)));
  }
  uint8_t head[CC_WIRE_ARRAY_HEADER_MAX];
  size_t headlen = cc_wire_array_header(head, F->q.w, F->q.lo, F->q.hi, s->ndim, s->shape);
  size_t need = cc_wire_array_bytes(F->q.w, s->ndim, s->shape);
  cc_wire_limits limits;
  cc_wire_limits_default(&limits);
  if (headlen == 0 || need == 0 || need > limits.max_bytes)
    luaL_argerror(L, 2, "a secret this large cannot travel in one message");
  uint64_t *scratch = coefficient_scratch(L, (size_t)k, s->n, F->q.w);
  size_t block_words = (s->n < CC_SHAMIR_BLOCK ? s->n : CC_SHAMIR_BLOCK) * (size_t)F->q.w;
  uint64_t *block = lua_newuserdatauv(L, block_words ? block_words * sizeof *block : 1, 0);
  cl_message *m;
  if (into && into->p && cl_message_idle(into) && into->p->cap >= need &&
      into->p->cap / 2 <= need) {
    m = into;
    lua_pushvalue(L, 7); /* the result, on top */
  } else {
    if (into) { /* its room goes before the new one is taken */
      cc_payload_unref(into->p);
      into->p = NULL;
    }
    m = cl_message_push(L); /* the result, on top: its __gc frees p on an error */
    /* A large message gets room for an array of the secret's shape and a
     * little more: once it is freed, a row array (the source's own share)
     * fits in its place, even if a few small blocks were cut from it
     * meanwhile, instead of growing the heap by another row. */
    size_t room = need < CC_PAYLOAD_POOL_MIN_BYTES ? need
                                                   : need + sizeof(cl_array) + ARRAY_ROOM_SLACK;
    m->p = cc_payload_new(room);
    if (!m->p) return luaL_error(L, "out of memory");
  }
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 6, &tmp); /* the last call that may raise */
  m->p->len = need;
  memcpy(m->p->data, head, headlen);
  cc_status st = F->q.w == 2
      ? cc_shamir_share_row_wire128(&F->q.g, rng, s->data, s->n, (size_t)k, x->data, x->n,
                                    (size_t)j - 1, m->p->data + headlen, scratch, block, &e)
      : cc_shamir_share_row_wire(&F->q.f, rng, s->data, s->n, (size_t)k, x->data, x->n,
                                 (size_t)j - 1, m->p->data + headlen, scratch, block, &e);
  if (rng == &tmp) cc_rng_free(&tmp);
  if (st != CC_OK) {
    cc_payload_unref(m->p); /* half written: nobody may send it */
    m->p = NULL;
    return share_error(L, &e);
  }
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
  cl_field *F = cl_field_check(L, 1);
  cl_array *secret = cl_array_test(L, 2); /* one secret, or a list of them */
  int single = secret != NULL;
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
  cl_array *x = check_indices(L, &F->q, 4);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 5, &tmp);
  size_t m = x->n;
  const cl_array *first = NULL;
  /* Check every secret and threshold before drawing any randomness. */
  for (size_t i = 0; i < s; i++) {
    cl_array *a;
    lua_Integer k;
    if (single) {
      a = secret;
      if (!cl_array_in(a, &F->q)) order_mismatch(L, 2, a, &F->q);
      k = luaL_checkinteger(L, 3);
    } else {
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      a = cl_array_test(L, -1);
      if (!a)
        luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a field array", (int)i + 1));
      if (!cl_array_in(a, &F->q)) order_mismatch(L, 2, a, &F->q);
      lua_pop(L, 1);
      lua_rawgeti(L, 3, (lua_Integer)i + 1);
      int isnum;
      k = lua_tointegerx(L, -1, &isnum);
      lua_pop(L, 1);
      if (!isnum)
        luaL_argerror(L, 3, lua_pushfstring(L, "threshold %d is not an integer", (int)i + 1));
    }
    check_threshold(L, 3, k, m);
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
    if (single) cl_array_push_like(L, first);
    else cl_array_push_filled(L, &F->q, 2, oshape);
    lua_rawseti(L, list, (lua_Integer)j + 1);
  }
  /* Where each player's shares of secret i go: row i of its array. */
  uint64_t **outs = lua_newuserdatauv(L, (m ? m : 1) * sizeof *outs, 0);
  size_t kmax = 1;
  for (size_t i = 0; i < s; i++) {
    lua_Integer k = 0;
    if (single) {
      k = lua_tointeger(L, 3);
    } else {
      lua_rawgeti(L, 3, (lua_Integer)i + 1);
      k = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if ((size_t)k > kmax) kmax = (size_t)k;
  }
  uint64_t *scratch = coefficient_scratch(L, kmax, n, F->q.w);
  for (size_t i = 0; i < s; i++) {
    cl_array *a;
    lua_Integer k;
    if (single) {
      a = secret;
      k = lua_tointeger(L, 3);
    } else {
      /* checked again: a finalizer run by an allocation above may have
       * changed the caller's list */
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      a = cl_array_test(L, -1);
      lua_pop(L, 1); /* still referenced by the secrets list */
      lua_rawgeti(L, 3, (lua_Integer)i + 1);
      k = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (a == NULL || !cl_array_in(a, &F->q) || a->n != n || k < 1 || (size_t)k > kmax ||
          (size_t)k > m) {
        if (rng == &tmp) cc_rng_free(&tmp);
        return luaL_error(L, "the secrets or thresholds changed while they were shared");
      }
    }
    for (size_t j = 0; j < m; j++) {
      lua_rawgeti(L, list, (lua_Integer)j + 1); /* made above; no Lua code sees it */
      outs[j] = ((cl_array *)lua_touserdata(L, -1))->data + i * n * (size_t)F->q.w;
      lua_pop(L, 1); /* still referenced by the result list */
    }
    cc_error e;
    cc_status st = F->q.w == 2
        ? cc_shamir_share_rows128(&F->q.g, rng, a->data, n, (size_t)k, x->data, m, outs,
                                  scratch, &e)
        : cc_shamir_share_rows(&F->q.f, rng, a->data, n, (size_t)k, x->data, m, outs,
                               scratch, &e);
    if (st != CC_OK) {
      if (rng == &tmp) cc_rng_free(&tmp);
      return share_error(L, &e);
    }
  }
  if (rng == &tmp) cc_rng_free(&tmp);
  lua_settop(L, list);
  return 1;
}

/* F:lincomb(weights, arrays): sum_j weights[j] * arrays[j] for a list of
 * arrays of the same shape (weights: a field array, list or integers). */
static int field_lincomb(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *w = to_operand(L, 2, &F->q);
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
    if (!cl_array_in(a, &F->q)) order_mismatch(L, 3, a, &F->q);
    if (first && !cl_array_same_shape(a, first)) {
      char s1[64], s2[64];
      luaL_argerror(L, 3, lua_pushfstring(L, "element %d has shape %s, element 1 has %s",
                    (int)j + 1, cl_array_shape_str(s1, sizeof s1, a), cl_array_shape_str(s2, sizeof s2, first)));
    }
    if (!first) first = a;
    lua_pop(L, 1); /* still referenced by the list */
  }
  /* The arrays stay referenced by the list at 3 while the kernel runs.
   * They are checked again once the room for their addresses is made: a
   * finalizer run by an allocation may have changed the list (and let
   * the first array go). */
  cl_array like = *first;
  const uint64_t **xs = lua_newuserdatauv(L, r * sizeof *xs, 0);
  cl_array *out = cl_array_push_filled(L, &F->q, like.ndim, like.shape);
  for (size_t j = 0; j < r; j++) {
    lua_rawgeti(L, 3, (lua_Integer)j + 1);
    cl_array *a = cl_array_test(L, -1);
    if (a == NULL || !cl_array_in(a, &F->q) || !cl_array_same_shape(a, &like))
      return luaL_error(L, "the list of arrays changed while it was combined");
    xs[j] = a->data;
    lua_pop(L, 1);
  }
  CL_FQ(&F->q, lincomb_arrays, out->data, w->data, xs, r, like.n);
  return 1;
}

/* F:shamir_recover(shares, indices): r x n shares of r players -> n values.
 * Also combines reshared sub-shares (the same Lagrange sum). */
static int field_shamir_recover(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  char err[160];
  cl_array *sh = cl_field_own_array(L, 2, &F->q);
  cl_array *x = check_indices(L, &F->q, 3);
  size_t r = sh->ndim == 2 ? sh->shape[0] : sh->n;
  size_t n = sh->ndim == 2 ? sh->shape[1] : 1;
  if (x->n != r)
    luaL_argerror(L, 3, lua_pushfstring(L, "%d indices for %d rows of shares",
                                        (int)x->n, (int)r));
  luaL_argcheck(L, r > 0, 2, "no shares");
  size_t shape[1] = {n};
  cl_array *out = cl_array_push(L, &F->q, 1, shape);
  if (CL_FQ(&F->q, shamir_recover, out->data, sh->data, n, x->data, r,
                              err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  return 1;
}

/* ==== Field: metamethods and properties ================================= */

static int field_index(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  const char *k;
  /* methods first: the most frequent keys */
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  k = lua_tostring(L, 2);
  if (k && strcmp(k, "order") == 0) cl_push_value(L, F->q.w, cc_u128_make(F->q.lo, F->q.hi));
  else if (k && strcmp(k, "bits") == 0) lua_pushinteger(L, F->q.bits);
  else lua_pushnil(L);
  return 1;
}

static int field_tostring(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  cl_push_order(L, F->q.lo, F->q.hi);
  lua_pushfstring(L, "Field(order=%s)", lua_tostring(L, -1));
  return 1;
}

static int field_eq(lua_State *L) {
  cl_field *a = luaL_testudata(L, 1, CL_FIELD_MT);
  cl_field *b = luaL_testudata(L, 2, CL_FIELD_MT);
  lua_pushboolean(L, a && b && a->q.lo == b->q.lo && a->q.hi == b->q.hi);
  return 1;
}

/* F:bitlt_pairs(c, r, rho, m): the first level of the bitwise less-than of
 * the public n-vector c's low m bits and the shared bits r (m rows of n,
 * pairs' high bits, then their low bits, then bit 0 if m is odd) given the
 * products rho of each pair (floor(m / 2) rows): the shares lt and eq,
 * each floor(m / 2) + m % 2 rows of n, as two vectors (see
 * cc_field_bitlt_pairs). Local: no products. */
static int field_bitlt_pairs(lua_State *L) {
  lua_settop(L, 5); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *c = cl_field_own_array(L, 2, &F->q);
  cl_array *r = cl_field_own_array(L, 3, &F->q);
  cl_array *rho = cl_field_own_array(L, 4, &F->q);
  lua_Integer m = luaL_checkinteger(L, 5);
  int top = 64 * F->q.w - 1;
  if (m < 2 || m > top)
    luaL_argerror(L, 5, lua_pushfstring(L, "bits %I out of range [2, %d]", m, top));
  size_t n = c->n, h = (size_t)m / 2, rows = h + (size_t)m % 2;
  luaL_argcheck(L, c->ndim == 1, 2, "c must be a vector");
  luaL_argcheck(L, r->n == (size_t)m * n, 3, "r must have m rows of #c elements");
  luaL_argcheck(L, rho->n == h * n, 4, "rho must have m // 2 rows of #c elements");
  size_t size = rows * n;
  cl_array *lt = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *eq = cl_array_push_filled(L, &F->q, 1, &size);
  CL_FQ(&F->q, bitlt_pairs, lt->data, eq->data, c->data, r->data, rho->data,
        (unsigned)m, n);
  return 2;
}

/* The element of the 0-d (or one-element) array a, as a 128-bit value. */
static cc_u128 one_elem(const cl_fq *q, const cl_array *a) {
  return q->w == 2 ? cc_field128_get(a->data, 0) : (cc_u128)a->data[0];
}

/* F:xor_group(b, u, v, z, fa, x, m, pairs [, lam, rho, negate]): at a
 * member of the group, its shares of the XOR of the group's m rows of bits
 * b with the dealer's bits shared in u (m rows), and of the products of
 * the first `pairs` pairs, whose dealer's parts are shared in v (pairs
 * rows); z the coefficients of the random polynomials through 0 (m +
 * pairs rows), fa the member's weight and x its index (one-element
 * arrays); with lam (a one-element array) and rho (m + pairs rows), also
 * the messages lam w + rho (- rho if negate): see cc_field_xor_group.
 * Returns bits, prod and the messages of the bits and of the products (or
 * nil, nil) as vectors. */
static int field_xor_group(lua_State *L) {
  lua_settop(L, 12); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *b = cl_field_own_array(L, 2, &F->q);
  cl_array *u = cl_field_own_array(L, 3, &F->q);
  cl_array *v = cl_field_own_array(L, 4, &F->q);
  cl_array *z = cl_field_own_array(L, 5, &F->q);
  cl_array *fa = cl_field_own_array(L, 6, &F->q);
  cl_array *x = cl_field_own_array(L, 7, &F->q);
  lua_Integer m = luaL_checkinteger(L, 8), pairs = luaL_checkinteger(L, 9);
  cl_array *lam = lua_isnoneornil(L, 10) ? NULL : cl_field_own_array(L, 10, &F->q);
  cl_array *rho = lam ? cl_field_own_array(L, 11, &F->q) : NULL;
  int negate = lua_toboolean(L, 12);
  luaL_argcheck(L, m >= 1 && b->n % (size_t)m == 0, 8, "b must have m rows");
  luaL_argcheck(L, pairs >= 0 && pairs <= m / 2, 9, "pairs must be in [0, m // 2]");
  size_t n = b->n / (size_t)m, size = (size_t)m * n, psize = (size_t)pairs * n;
  size_t wsize = size + psize;
  luaL_argcheck(L, u->n == size, 3, "u must have m rows of #b / m elements");
  luaL_argcheck(L, v->n == psize, 4, "v must have pairs rows of #b / m elements");
  luaL_argcheck(L, z->n == wsize, 5, "z must have m + pairs rows of #b / m elements");
  luaL_argcheck(L, fa->n == 1, 6, "fa must be one element");
  luaL_argcheck(L, x->n == 1, 7, "x must be one element");
  luaL_argcheck(L, !lam || lam->n == 1, 10, "lam must be one element");
  luaL_argcheck(L, !rho || rho->n == wsize, 11, "rho must have m + pairs rows of #b / m elements");
  cl_array *bits = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *prod = cl_array_push_filled(L, &F->q, 1, &psize);
  cl_array *msg = NULL, *msgp = NULL;
  if (lam) {
    msg = cl_array_push_filled(L, &F->q, 1, &size);
    msgp = cl_array_push_filled(L, &F->q, 1, &psize);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  if (F->q.w == 2)
    cc_field128_xor_group(&F->q.g, bits->data, prod->data, msg ? msg->data : NULL,
                          msgp ? msgp->data : NULL, b->data, u->data, v->data, z->data, rho ? rho->data : NULL,
                          one_elem(&F->q, fa), one_elem(&F->q, x),
                          lam ? one_elem(&F->q, lam) : 0, negate, (unsigned)m,
                          (unsigned)pairs, n);
  else
    cc_field_xor_group(&F->q.f, bits->data, prod->data, msg ? msg->data : NULL,
                       msgp ? msgp->data : NULL, b->data, u->data, v->data, z->data, rho ? rho->data : NULL,
                       fa->data[0], x->data[0], lam ? lam->data[0] : 0, negate,
                       (unsigned)m, (unsigned)pairs, n);
  return 4;
}

/* The 64-bit field's F:xor_group_drawn: the group's values drawn in the
 * order of cc_field128_xor_group_rng into whole arrays (b unpacked), then
 * cc_field_xor_group. 0, or -1 with an error message pushed. */
static int xor_group_drawn64(lua_State *L, const cl_fq *q, cc_rng *rng, uint64_t *bits,
                             uint64_t *prod, uint64_t *msg, uint64_t *msgp,
                             const uint64_t *u, const uint64_t *v, uint64_t fa, uint64_t x,
                             uint64_t lam, int negate, size_t m, size_t pairs, size_t n) {
  size_t words = (n + 63) / 64, rows = m + pairs;
  uint64_t *packed = malloc(m * words * sizeof *packed + 1);
  uint64_t *b = malloc(m * n * sizeof *b + 1);
  uint64_t *z = malloc(2 * rows * n * sizeof *z + 1), *rho = z ? z + rows * n : NULL;
  int rc = 0;
  if (!packed || !b || !z) {
    lua_pushliteral(L, "out of memory");
    rc = -1;
  } else if (cc_rng_bytes(rng, packed, m * words * sizeof *packed) != 0) {
    rc = -2;
  } else {
    for (size_t i = 0; i < m * n; i++) {
      size_t j = i / n, e = i % n;
      b[i] = (packed[j * words + e / 64] >> (e % 64)) & 1;
    }
    for (size_t j = 0; j < rows && rc == 0; j++)
      if (cc_rng_uniform_mod(rng, q->lo, z + j * n, n) != 0 ||
          cc_rng_uniform_mod(rng, q->lo, rho + j * n, n) != 0)
        rc = -2;
    if (rc == 0)
      cc_field_xor_group(&q->f, bits, prod, msg, msgp, b, u, v, z, msg ? rho : NULL, fa, x,
                         lam, negate, (unsigned)m, (unsigned)pairs, n);
  }
  if (rc == -2) {
    lua_pushliteral(L, "random stream failed (OpenSSL)");
    rc = -1;
  }
  if (packed) explicit_bzero(packed, m * words * sizeof *packed);
  if (b) explicit_bzero(b, m * n * sizeof *b);
  if (z) explicit_bzero(z, 2 * rows * n * sizeof *z);
  free(packed);
  free(b);
  free(z);
  return rc;
}

/* F:xor_group_drawn(stream, u, v, fa, x, m, pairs [, lam, negate]): as
 * F:xor_group, with the group's bits b, coefficients z and masks rho drawn
 * from the group's stream (in the order of cc_field128_xor_group_rng)
 * instead of passed in: n is #u / m. Returns bits, prod and the messages
 * (or nil, nil) as vectors. */
static int field_xor_group_drawn(lua_State *L) {
  lua_settop(L, 10); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cc_rng *rng = luaL_checkudata(L, 2, CL_RNG_MT);
  cl_array *u = cl_field_own_array(L, 3, &F->q);
  cl_array *v = cl_field_own_array(L, 4, &F->q);
  cl_array *fa = cl_field_own_array(L, 5, &F->q);
  cl_array *x = cl_field_own_array(L, 6, &F->q);
  lua_Integer m = luaL_checkinteger(L, 7), pairs = luaL_checkinteger(L, 8);
  cl_array *lam = lua_isnoneornil(L, 9) ? NULL : cl_field_own_array(L, 9, &F->q);
  int negate = lua_toboolean(L, 10);
  luaL_argcheck(L, m >= 1 && u->n % (size_t)m == 0, 7, "u must have m rows");
  luaL_argcheck(L, pairs >= 0 && pairs <= m / 2, 8, "pairs must be in [0, m // 2]");
  size_t n = u->n / (size_t)m, size = (size_t)m * n, psize = (size_t)pairs * n;
  luaL_argcheck(L, v->n == psize, 4, "v must have pairs rows of #u / m elements");
  luaL_argcheck(L, fa->n == 1, 5, "fa must be one element");
  luaL_argcheck(L, x->n == 1, 6, "x must be one element");
  luaL_argcheck(L, !lam || lam->n == 1, 9, "lam must be one element");
  cl_array *bits = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *prod = cl_array_push_filled(L, &F->q, 1, &psize);
  cl_array *msg = NULL, *msgp = NULL;
  if (lam) {
    msg = cl_array_push_filled(L, &F->q, 1, &size);
    msgp = cl_array_push_filled(L, &F->q, 1, &psize);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  if (F->q.w == 2) {
    int rc = cc_field128_xor_group_rng(&F->q.g, rng, bits->data, prod->data,
                                       msg ? msg->data : NULL, msgp ? msgp->data : NULL,
                                       u->data, v->data, one_elem(&F->q, fa),
                                       one_elem(&F->q, x), lam ? one_elem(&F->q, lam) : 0,
                                       negate, (unsigned)m, (unsigned)pairs, n);
    if (rc == CC_FIELD_ENOMEM) return luaL_error(L, "out of memory");
    if (rc != CC_FIELD_OK) return luaL_error(L, "random stream failed (OpenSSL)");
  } else if (xor_group_drawn64(L, &F->q, rng, bits->data, prod->data, msg ? msg->data : NULL,
                               msgp ? msgp->data : NULL, u->data, v->data, fa->data[0],
                               x->data[0], lam ? lam->data[0] : 0, negate, (size_t)m,
                               (size_t)pairs, n) != 0) {
    return lua_error(L);
  }
  return 4;
}

/* The rows of a flat array a of rows of n elements (n >= 1), checked. */
static size_t tree_rows(lua_State *L, const cl_array *a, int arg, lua_Integer n) {
  if (a->ndim != 1 || a->n % (size_t)n != 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "a vector of rows of %I elements expected", n));
  return a->n / (size_t)n;
}

/* The pairs of a level of L nodes (rows) of a less-than tree: half pairs,
 * eqs of which need their eq product (all but the least significant pair
 * when L is even; see cicada.shamir.compare's less_tree). */
static void tree_level(size_t rows, size_t *half, size_t *eqs) {
  *half = rows / 2;
  *eqs = rows % 2 == 0 ? *half - 1 : *half;
}

/* F:less_tree_products(lt, eq, n): one level of a tree of (lt, eq) pairs,
 * lt and eq flat vectors of rows of n elements, most significant first:
 * the products eq[2i] * lt[2i + 1] of the half = L // 2 pairs (L rows of
 * lt), then eq[2i] * eq[2i + 1] of the first eqs of them (half - 1 when L
 * is even, else half), as one vector of half + eqs rows. Row by row, no
 * copies of the operands. */
static int field_less_tree_products(lua_State *L) {
  lua_settop(L, 4); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *lt = cl_field_own_array(L, 2, &F->q);
  cl_array *eq = cl_field_own_array(L, 3, &F->q);
  lua_Integer n = luaL_checkinteger(L, 4);
  luaL_argcheck(L, n >= 1, 4, "n must be positive");
  size_t rows = tree_rows(L, lt, 2, n), erows = tree_rows(L, eq, 3, n), half, eqs;
  luaL_argcheck(L, rows >= 2, 2, "lt must have at least 2 rows");
  tree_level(rows, &half, &eqs);
  luaL_argcheck(L, erows >= 2 * eqs, 3, "eq has too few rows for lt");
  size_t un = (size_t)n, w = (size_t)F->q.w, size = (half + eqs) * un;
  cl_array *out = cl_array_push_filled(L, &F->q, 1, &size);
  for (size_t i = 0; i < half; i++)
    CL_FQ(&F->q, mul, out->data + i * un * w, eq->data + 2 * i * un * w,
          lt->data + (2 * i + 1) * un * w, un);
  for (size_t i = 0; i < eqs; i++)
    CL_FQ(&F->q, mul, out->data + (half + i) * un * w, eq->data + 2 * i * un * w,
          eq->data + (2 * i + 1) * un * w, un);
  return 1;
}

/* F:less_tree_merge(lt, prod, n): the next level from lt (L rows of n) and
 * the reduced products of F:less_tree_products: lt' = lt[2i] + prod[i]
 * for the half pairs, then lt's last row when L is odd; eq' = the eqs
 * rows of prod after the first half. Two vectors. */
static int field_less_tree_merge(lua_State *L) {
  lua_settop(L, 4); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *lt = cl_field_own_array(L, 2, &F->q);
  cl_array *prod = cl_field_own_array(L, 3, &F->q);
  lua_Integer n = luaL_checkinteger(L, 4);
  luaL_argcheck(L, n >= 1, 4, "n must be positive");
  size_t rows = tree_rows(L, lt, 2, n), prows = tree_rows(L, prod, 3, n), half, eqs;
  luaL_argcheck(L, rows >= 2, 2, "lt must have at least 2 rows");
  tree_level(rows, &half, &eqs);
  luaL_argcheck(L, prows == half + eqs, 3, "prod must have the rows of F:less_tree_products");
  size_t un = (size_t)n, w = (size_t)F->q.w, row = un * w;
  size_t lsize = (half + rows % 2) * un, esize = eqs * un;
  cl_array *nlt = cl_array_push_filled(L, &F->q, 1, &lsize);
  cl_array *neq = cl_array_push_filled(L, &F->q, 1, &esize);
  for (size_t i = 0; i < half; i++)
    CL_FQ(&F->q, add, nlt->data + i * row, lt->data + 2 * i * row, prod->data + i * row, un);
  if (rows % 2) memcpy(nlt->data + half * row, lt->data + (rows - 1) * row, row * sizeof(uint64_t));
  if (esize) memcpy(neq->data, prod->data + half * row, eqs * row * sizeof(uint64_t));
  return 2;
}

/* F:lincomb_rows(weights, a): sum of weights[j] * row j of a, whose r * n
 * elements (r = #weights) are read as r rows of n: an n-vector. */
static int field_lincomb_rows(lua_State *L) {
  lua_settop(L, 3); /* temporaries go above the arguments */
  cl_field *F = cl_field_check(L, 1);
  cl_array *w = cl_field_own_array(L, 2, &F->q);
  cl_array *a = cl_field_own_array(L, 3, &F->q);
  luaL_argcheck(L, w->ndim == 1 && w->n > 0, 2, "weights must be a non-empty vector");
  luaL_argcheck(L, a->n % w->n == 0, 3, "a must have #weights rows");
  size_t n = a->n / w->n;
  cl_array *out = cl_array_push_filled(L, &F->q, 1, &n);
  CL_FQ(&F->q, lincomb, out->data, w->data, a->data, w->n, n);
  return 1;
}

/* F:wipe(a, ...): overwrite the elements of each array given with zeros
 * (explicit_bzero, which the compiler keeps), for secrets that are no
 * longer needed; nils are skipped. Returns nothing. */
static int field_wipe(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  int top = lua_gettop(L);
  for (int i = 2; i <= top; i++) {
    if (lua_isnil(L, i)) continue;
    cl_array *a = cl_field_own_array(L, i, &F->q);
    explicit_bzero(a->data, cl_array_bytes(a));
  }
  return 0;
}

/* ==== Field: kernels into existing arrays ============================== */

/* These write into arrays the caller owns (a protocol's scratch, reused
 * from call to call, or a result filled chunk by chunk), so that a long
 * computation neither allocates nor faults in fresh pages per step. */

/* The list at arg of r field arrays of n elements each: their data, in a
 * userdata left on the stack. r may be 0 when the list is empty. The
 * userdata keeps the arrays alive in a copy of the list (its user value):
 * an allocation after this one may run a finalizer that changes the
 * caller's list, and the data pointers must outlive it. */
static const uint64_t **check_array_list(lua_State *L, const cl_fq *q, int arg,
                                         size_t n, size_t *r) {
  luaL_checktype(L, arg, LUA_TTABLE);
  size_t len = lua_rawlen(L, arg);
  if (len > (size_t)INT_MAX) luaL_argerror(L, arg, "list too long");
  const uint64_t **xs = lua_newuserdatauv(L, (len ? len : 1) * sizeof *xs, 1);
  lua_createtable(L, (int)len, 0);
  /* The list is read again after the allocations above: anything found
   * there now is checked and pinned in the copy before its data is kept. */
  len = len < lua_rawlen(L, arg) ? len : lua_rawlen(L, arg);
  for (size_t j = 0; j < len; j++) {
    lua_rawgeti(L, arg, (lua_Integer)j + 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, (lua_Integer)j + 1);
    cl_array *a = cl_array_test(L, -1);
    if (!a)
      luaL_argerror(L, arg, lua_pushfstring(L, "element %d is not a field array", (int)j + 1));
    if (!cl_array_in(a, q)) order_mismatch(L, arg, a, q);
    if (a->n != n)
      luaL_argerror(L, arg, lua_pushfstring(L, "element %d has %d elements, not %d",
                                            (int)j + 1, (int)a->n, (int)n));
    xs[j] = a->data;
    lua_pop(L, 1);
  }
  lua_setiuservalue(L, -2, 1);
  *r = len;
  return xs;
}

/* Weights at arg: a vector of r elements (an array, or a list converted
 * into one left on the stack). */
static const uint64_t *check_weights(lua_State *L, const cl_fq *q, int arg, size_t r) {
  cl_array *w = to_operand(L, arg, q);
  if (w->ndim != 1 || w->n != r)
    luaL_argerror(L, arg, lua_pushfstring(L, "%d weights for %d arrays", (int)w->n, (int)r));
  return w->data;
}

/* A one-element operand at arg (an integer, a string or a 0-d array). */
static cc_u128 check_element(lua_State *L, const cl_fq *q, int arg) {
  cl_array *a = to_operand(L, arg, q);
  luaL_argcheck(L, a->n == 1, arg, "one element expected");
  return cl_elem(a->w, a->data, 0);
}

/* The 1-based position at arg of n elements inside an array of len. */
static size_t check_at(lua_State *L, int arg, size_t n, size_t len) {
  lua_Integer at = luaL_checkinteger(L, arg);
  if (at < 1 || (size_t)at - 1 > len || n > len - ((size_t)at - 1))
    luaL_argerror(L, arg, lua_pushfstring(L, "elements %I to %I out of range [1, %d]",
                                          at, at + (lua_Integer)n - 1, (int)len));
  return (size_t)at - 1;
}

/* Blocks of the 128-bit compositions below, and their temporaries. */
enum { INTO_BLOCK = 256 };

/* out = pw a b + sum_j w[j] xs[j] + s over n 128-bit elements (b NULL:
 * pw a + ...), block by block from field128.h's kernels. xo: r pointers of
 * room. */
static void mul_lincomb128(const cc_field128 *g, uint64_t *out, const uint64_t *a,
                           const uint64_t *b, cc_u128 pw, const uint64_t *w,
                           const uint64_t *const *xs, size_t r, cc_u128 s, size_t n,
                           const uint64_t **xo) {
  if (cc_field128_mul_signed_sum(g, out, a, b, pw, w, xs, r, s, n)) return;
  uint64_t t[2 * INTO_BLOCK], u[2 * INTO_BLOCK];
  for (size_t i0 = 0; i0 < n; i0 += INTO_BLOCK) {
    size_t m = n - i0 < INTO_BLOCK ? n - i0 : INTO_BLOCK;
    for (size_t j = 0; j < r; j++) xo[j] = xs[j] + 2 * i0;
    if (r) cc_field128_lincomb_arrays(g, t, w, xo, r, m);
    else memset(t, 0, m * 2 * sizeof *t);
    if (b) cc_field128_mul(g, u, a + 2 * i0, b + 2 * i0, m);
    else memcpy(u, a + 2 * i0, m * 2 * sizeof *u);
    if (pw != 1) cc_field128_mul_scalar(g, u, u, pw, m);
    cc_field128_add(g, u, u, t, m);
    cc_field128_add_scalar(g, out + 2 * i0, u, s, m);
  }
}

/* out = floor(sum_j w[j] cs[j] / 2^bits) - s - sum_j v[j] ys[j] over n
 * 128-bit elements; xo: max(r, q) pointers of room. */
static void unmask_shift128(const cc_field128 *g, uint64_t *out, const uint64_t *w,
                            const uint64_t *const *cs, size_t r, unsigned bits, cc_u128 s,
                            const uint64_t *v, const uint64_t *const *ys, size_t q,
                            size_t n, const uint64_t **xo) {
  /* A plain-sum reveal (every weight 1): one kernel. */
  bool ones = true;
  for (size_t j = 0; j < r && ones; j++) ones = cl_elem(2, w, j) == 1;
  if (ones && cc_field128_unmask_sum(g, out, cs, r, bits, s, v, ys, q, n)) return;
  uint64_t t[2 * INTO_BLOCK], u[2 * INTO_BLOCK];
  for (size_t i0 = 0; i0 < n; i0 += INTO_BLOCK) {
    size_t m = n - i0 < INTO_BLOCK ? n - i0 : INTO_BLOCK;
    for (size_t j = 0; j < r; j++) xo[j] = cs[j] + 2 * i0;
    cc_field128_lincomb_arrays(g, t, w, xo, r, m);
    cc_field128_shift_right(t, t, bits, m);
    cc_field128_sub_scalar(g, t, t, s, m);
    for (size_t j = 0; j < q; j++) xo[j] = ys[j] + 2 * i0;
    if (q) {
      cc_field128_lincomb_arrays(g, u, v, xo, q, m);
      cc_field128_sub(g, out + 2 * i0, t, u, m);
    } else {
      memcpy(out + 2 * i0, t, m * 2 * sizeof *t);
    }
  }
}

/* F:_unfilled(shape): an array whose elements the caller writes every one
 * of before it is read (a result filled chunk by chunk by the kernels
 * here), without the pass that would clear it first. */
static int field_unfilled(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  int nd = cl_check_shape(L, 2, shape);
  cl_array_push_filled(L, &F->q, nd, shape);
  return 1;
}

/* F:uniform_into(out [, rng]): fill out with uniform elements. Returns out. */
static int field_uniform_into(lua_State *L) {
  lua_settop(L, 3);
  cl_field *F = cl_field_check(L, 1);
  cl_array *out = cl_field_own_array(L, 2, &F->q);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 3, &tmp);
  fill_below(L, rng, &tmp, cc_u128_make(F->q.lo, F->q.hi), out);
  lua_settop(L, 2);
  return 1;
}

/* F:uniform_below_into(out, bound [, rng]): fill out with elements uniform
 * in [0, bound), drawn as F:uniform_below draws them. Returns out. */
static int field_uniform_below_into(lua_State *L) {
  lua_settop(L, 4);
  cl_field *F = cl_field_check(L, 1);
  cl_array *out = cl_field_own_array(L, 2, &F->q);
  cc_u128 b = check_bound(L, &F->q, 3);
  cc_rng tmp;
  cc_rng *rng = cl_rng_opt(L, 4, &tmp);
  fill_below(L, rng, &tmp, b, out);
  lua_settop(L, 2);
  return 1;
}

/* F:shift_right_into(out, a, s): out = floor(a / 2^s), a of out's size. */
static int field_shift_right_into(lua_State *L) {
  lua_settop(L, 4);
  cl_field *F = cl_field_check(L, 1);
  cl_array *out = cl_field_own_array(L, 2, &F->q);
  cl_array *a = cl_field_own_array(L, 3, &F->q);
  lua_Integer s = luaL_checkinteger(L, 4);
  int top = 64 * F->q.w - 1;
  if (s < 0 || s > top)
    luaL_argerror(L, 4, lua_pushfstring(L, "shift %I out of range [0, %d]", s, top));
  luaL_argcheck(L, a->n == out->n, 3, "sizes differ");
  if (F->q.w == 2) cc_field128_shift_right(out->data, a->data, (unsigned)s, a->n);
  else cc_field_shift_right(out->data, a->data, (unsigned)s, a->n);
  lua_settop(L, 2);
  return 1;
}

/* F:_high_shares_into(send, own, u, e, y, bits, inv, xs, xo): in a 64-bit
 * field, a truncation's high part h = floor(u / 2^bits) dealt with degree
 * 1, the next player's share e drawn: g(x) = h + x (e - h) inv (inv = 1 /
 * x_next), send = g(xs), own = g(xo) + y (y nil: g(xo)), all arrays of
 * send's size (send and own two arrays; either may be an input). Returns
 * send, own. */
static int field_high_shares_into(lua_State *L) {
  lua_settop(L, 10);
  cl_field *F = cl_field_check(L, 1);
  const cl_fq *q = &F->q;
  if (q->w != 1) return luaL_error(L, "_high_shares_into: a 64-bit field expected");
  cl_array *send = cl_field_own_array(L, 2, q);
  cl_array *own = cl_field_own_array(L, 3, q);
  cl_array *u = cl_field_own_array(L, 4, q);
  cl_array *e = cl_field_own_array(L, 5, q);
  cl_array *y = lua_isnil(L, 6) ? NULL : cl_field_own_array(L, 6, q);
  size_t n = send->n;
  luaL_argcheck(L, own->n == n, 3, "sizes differ");
  luaL_argcheck(L, u->n == n, 4, "sizes differ");
  luaL_argcheck(L, e->n == n, 5, "sizes differ");
  luaL_argcheck(L, !y || y->n == n, 6, "sizes differ");
  luaL_argcheck(L, send != own, 3, "send and own are the same array");
  lua_Integer bits = luaL_checkinteger(L, 7);
  if (bits < 0 || bits > 63)
    luaL_argerror(L, 7, lua_pushfstring(L, "bits %I out of range [0, 63]", bits));
  cc_u128 inv = check_element(L, q, 8), xs = check_element(L, q, 9),
          xo = check_element(L, q, 10);
  cc_field_high_shares(&q->f, send->data, own->data, u->data, e->data, y ? y->data : NULL,
                       (unsigned)bits, (uint64_t)inv, (uint64_t)xs, (uint64_t)xo, n);
  lua_settop(L, 3);
  return 2;
}

/* F:lincomb_into(out, weights, arrays): out = sum_j weights[j] arrays[j],
 * the arrays of out's size (out may be one of them). Returns out. */
static int field_lincomb_into(lua_State *L) {
  lua_settop(L, 4);
  cl_field *F = cl_field_check(L, 1);
  cl_array *out = cl_field_own_array(L, 2, &F->q);
  size_t r;
  const uint64_t **xs = check_array_list(L, &F->q, 4, out->n, &r);
  luaL_argcheck(L, r > 0, 4, "no arrays");
  const uint64_t *w = check_weights(L, &F->q, 3, r);
  CL_FQ(&F->q, lincomb_arrays, out->data, w, xs, r, out->n);
  lua_settop(L, 2);
  return 1;
}

/* F:mul_lincomb_into(out, a, b, at, weights, arrays, s [, pw]): with n =
 * #out and x, y the elements at..at+n-1 of a and b, out = pw * x * y +
 * sum_j weights[j] arrays[j] + s (b nil: pw * x + ...), the arrays of n
 * elements, s and pw (default 1) one element each: a masked product share
 * in one pass. out may also be a size n: the result is then a new vector
 * of n elements. Returns out. */
static int field_mul_lincomb_into(lua_State *L) {
  lua_settop(L, 9);
  cl_field *F = cl_field_check(L, 1);
  const cl_fq *q = &F->q;
  cl_array *out;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must be >= 0");
    size_t len = (size_t)size;
    out = cl_array_push_filled(L, q, 1, &len); /* the kernel writes every element */
    lua_replace(L, 2);
  } else {
    out = cl_field_own_array(L, 2, q);
  }
  cl_array *a = cl_field_own_array(L, 3, q);
  cl_array *b = lua_isnil(L, 4) ? NULL : cl_field_own_array(L, 4, q);
  if (b && b->n != a->n) luaL_argerror(L, 4, "a and b differ in size");
  size_t n = out->n, at = check_at(L, 5, n, a->n), r;
  const uint64_t **xs = check_array_list(L, q, 7, n, &r);
  const uint64_t *w = check_weights(L, q, 6, r);
  cc_u128 s = check_element(L, q, 8);
  cc_u128 pw = lua_isnoneornil(L, 9) ? 1 : check_element(L, q, 9);
  const uint64_t *x = a->data + at * (size_t)q->w, *y = b ? b->data + at * (size_t)q->w : NULL;
  if (q->w == 2) {
    const uint64_t **xo = lua_newuserdatauv(L, (r ? r : 1) * sizeof *xo, 0);
    mul_lincomb128(&q->g, out->data, x, y, pw, w, xs, r, s, n, xo);
  } else {
    cc_field_mul_lincomb_weighted(&q->f, out->data, x, y, (uint64_t)pw, w, xs, r,
                                  (uint64_t)s, n);
  }
  lua_settop(L, 2);
  return 1;
}

/* F:_mul_lincomb_message(into, n, a, b, at, weights, arrays, s [, pw]) ->
 * a Message (lua_codec.c) holding the wire encoding of the vector
 * F:mul_lincomb_into(n, a, b, at, weights, arrays, s, pw) would make: the
 * elements computed a block at a time in scratch that stays in L1 and
 * copied straight into the bytes that travel, so that neither the vector
 * nor an encoded copy of it is made. into (a message of an earlier call,
 * or nil) is written over and returned when no send holds it any more and
 * its room fits; otherwise its bytes are dropped and a new message made. */
enum { MESSAGE_BLOCK = 512 };
static int field_mul_lincomb_message(lua_State *L) {
  lua_settop(L, 10);
  cl_field *F = cl_field_check(L, 1);
  const cl_fq *q = &F->q;
  cl_message *into = NULL;
  if (!lua_isnil(L, 2)) {
    into = cl_message_test(L, 2);
    if (!into)
      luaL_argerror(L, 2, lua_pushfstring(L, "message expected, got %s", luaL_typename(L, 2)));
  }
  lua_Integer size = luaL_checkinteger(L, 3);
  luaL_argcheck(L, size >= 0, 3, "size must be >= 0");
  size_t n = (size_t)size;
  cl_array *a = cl_field_own_array(L, 4, q);
  cl_array *b = lua_isnil(L, 5) ? NULL : cl_field_own_array(L, 5, q);
  if (b && b->n != a->n) luaL_argerror(L, 5, "a and b differ in size");
  size_t at = check_at(L, 6, n, a->n), r;
  const uint64_t **xs = check_array_list(L, q, 8, n, &r); /* leaves a userdata */
  const uint64_t *w = check_weights(L, q, 7, r);
  cc_u128 s = check_element(L, q, 9);
  cc_u128 pw = lua_isnoneornil(L, 10) ? 1 : check_element(L, q, 10);
  const size_t wq = (size_t)q->w;
  uint8_t head[CC_WIRE_ARRAY_HEADER_MAX];
  size_t headlen = cc_wire_array_header(head, q->w, q->lo, q->hi, 1, &n);
  size_t need = cc_wire_array_bytes(q->w, 1, &n);
  cc_wire_limits limits;
  cc_wire_limits_default(&limits);
  if (headlen == 0 || need == 0 || need > limits.max_bytes)
    luaL_argerror(L, 3, "a vector this large cannot travel in one message");
  /* the arrays' pointers at a block, and the kernel's room for more */
  const uint64_t **xo = lua_newuserdatauv(L, 2 * (r ? r : 1) * sizeof *xo, 0);
  cl_message *m;
  if (into && into->p && cl_message_idle(into) && into->p->cap >= need &&
      into->p->cap / 2 <= need) {
    m = into;
    lua_pushvalue(L, 2); /* the result, on top */
  } else {
    if (into) { /* its room goes before the new one is taken */
      cc_payload_unref(into->p);
      into->p = NULL;
    }
    m = cl_message_push(L); /* the result, on top: its __gc frees p on an error */
    m->p = cc_payload_new(need);
    if (!m->p) return luaL_error(L, "out of memory");
  }
  m->p->len = need;
  memcpy(m->p->data, head, headlen);
  uint8_t *dst = m->p->data + headlen; /* not aligned: the blocks are copied */
  uint64_t block[2 * MESSAGE_BLOCK];
  const uint64_t *x = a->data + at * wq, *y = b ? b->data + at * wq : NULL;
  for (size_t i0 = 0; i0 < n; i0 += MESSAGE_BLOCK) {
    size_t k = n - i0 < MESSAGE_BLOCK ? n - i0 : MESSAGE_BLOCK;
    for (size_t j = 0; j < r; j++) xo[j] = xs[j] + i0 * wq;
    if (q->w == 2)
      mul_lincomb128(&q->g, block, x + i0 * wq, y ? y + i0 * wq : NULL, pw, w, xo, r, s, k,
                     xo + (r ? r : 1));
    else
      cc_field_mul_lincomb_weighted(&q->f, block, x + i0 * wq, y ? y + i0 * wq : NULL,
                                    (uint64_t)pw, w, xo, r, (uint64_t)s, k);
    cc_wire_store_words(dst + i0 * wq * 8, block, k * wq);
  }
  return 1;
}

/* F:unmask_into(result, at, weights, cs, bits, s, v, ys): with n = #cs[1],
 * elements at..at+n-1 of result = floor(c / 2^bits) - s - sum_j v[j] ys[j]
 * where c = sum_j weights[j] cs[j]: a truncation's last step (the revealed
 * masked value's high part, less the correction and the mask's high part)
 * written straight into its place in the result. cs may also be the
 * messages of comm:_allgather_payloads (unmask_payloads). Returns result. */
static int unmask_payloads(lua_State *L, const cl_fq *q, cl_array *res, cc_payload **ps,
                           int r, cc_payload **const *owners);

/* The messages of a reveal listed one per player in the table at arg 5:
 * each a message of comm:_lib_recv_payload, or this player's own share as
 * the Message it was sent as. Unmasked as those of _allgather_payloads;
 * the received ones are released, the Message is left as it is. */
static int unmask_message_list(lua_State *L, const cl_fq *q, cl_array *res) {
  enum { MAX_SHARES = 16 };
  size_t r = lua_rawlen(L, 5);
  luaL_argcheck(L, r > 0 && r <= MAX_SHARES, 5, "1 to 16 messages expected");
  cc_payload *ps[MAX_SHARES];
  cc_payload **owners[MAX_SHARES];
  for (size_t j = 0; j < r; j++) {
    lua_rawgeti(L, 5, (lua_Integer)j + 1);
    int np = 0, top = lua_gettop(L);
    cc_payload **slot = cl_payloads_test(L, top, &np);
    cl_message *m = slot ? NULL : cl_message_test(L, top);
    if (slot && np == 1 && slot[0]) {
      ps[j] = slot[0];
      owners[j] = slot; /* the table keeps the slot until it is released */
    } else if (m && m->p) {
      ps[j] = m->p;
      owners[j] = NULL;
    } else {
      luaL_argerror(L, 5, lua_pushfstring(L, "element %d holds no message", (int)j + 1));
    }
    lua_pop(L, 1);
  }
  return unmask_payloads(L, q, res, ps, (int)r, owners);
}

static int field_unmask_into(lua_State *L) {
  lua_settop(L, 9);
  cl_field *F = cl_field_check(L, 1);
  const cl_fq *q = &F->q;
  cl_array *res = cl_field_own_array(L, 2, q);
  int np = 0;
  cc_payload **ps = cl_payloads_test(L, 5, &np);
  if (ps) return unmask_payloads(L, q, res, ps, np, NULL);
  luaL_checktype(L, 5, LUA_TTABLE);
  luaL_argcheck(L, lua_rawlen(L, 5) > 0, 5, "no arrays");
  lua_rawgeti(L, 5, 1);
  cl_array *c1 = cl_array_test(L, -1);
  if (!c1 && (cl_payloads_test(L, lua_gettop(L), NULL) || cl_message_test(L, lua_gettop(L)))) {
    lua_pop(L, 1);
    return unmask_message_list(L, q, res);
  }
  if (!c1) luaL_argerror(L, 5, "element 1 is not a field array");
  size_t n = c1->n, r, nq;
  lua_pop(L, 1);
  size_t at = check_at(L, 3, n, res->n);
  const uint64_t **cs = check_array_list(L, q, 5, n, &r);
  const uint64_t *w = check_weights(L, q, 4, r);
  lua_Integer bits = luaL_checkinteger(L, 6);
  int top = 64 * q->w - 1;
  if (bits < 0 || bits > top)
    luaL_argerror(L, 6, lua_pushfstring(L, "bits %I out of range [0, %d]", bits, top));
  cc_u128 s = check_element(L, q, 7);
  const uint64_t **ys = check_array_list(L, q, 9, n, &nq);
  const uint64_t *v = check_weights(L, q, 8, nq);
  uint64_t *out = res->data + at * (size_t)q->w;
  if (q->w == 2) {
    size_t room = r > nq ? r : nq;
    const uint64_t **xo = lua_newuserdatauv(L, room * sizeof *xo, 0);
    unmask_shift128(&q->g, out, w, cs, r, (unsigned)bits, s, v, ys, nq, n, xo);
  } else {
    cc_field_unmask_shift(&q->f, out, w, cs, r, (unsigned)bits, (uint64_t)s, v, ys, nq, n);
  }
  lua_settop(L, 2);
  return 1;
}

/* Share j of a reveal (the whole message: one field array of q of n
 * elements, n = 0 for the first, which sets it) parsed into *it, its words
 * left unchecked (cc_wire_load_range checks them as it copies them), or
 * raise naming the player. */
static void unmask_parse(lua_State *L, const cl_fq *q, cc_wire_reader *rd, cc_payload *p,
                         int j, cc_wire_item *it, size_t *n) {
  if (p == NULL) luaL_error(L, "no share from player %d", j);
  cc_wire_reader_init(rd, p->data, p->len, NULL);
  cc_wire_reader_defer_words(rd);
  if (cc_wire_next(rd, it) != 1) {
    if (!rd->failed) cc_wire_reader_finish(rd); /* says how it ends early */
    luaL_error(L, "malformed share from player %d: %s", j, cc_wire_reader_error(rd));
  }
  if (it->kind != (q->w == 2 ? CC_WIRE_ARRAY128 : CC_WIRE_ARRAY) ||
      it->order != q->lo || (q->w == 2 && it->order_hi != q->hi) || it->ndim != 1)
    luaL_error(L, "share from player %d is not a vector of the field's elements", j);
  if (cc_wire_reader_finish(rd) != 0)
    luaL_error(L, "malformed share from player %d: %s", j, cc_wire_reader_error(rd));
  if (j == 0) *n = it->shape[0];
  if (it->shape[0] != *n || it->nwords != *n * (size_t)q->w)
    luaL_error(L, "share from player %d has %d elements, player 0's %d", j,
               (int)it->shape[0], (int)*n);
}

/* The subtracted terms at arg (the ys of F:unmask_into) of n elements each:
 * field arrays, or messages of comm:_lib_recv_payload, each a vector of the
 * field, parsed into its[j] (words left unchecked, as unmask_parse's) with
 * ys[j] NULL and the payload noted in msgs[j] (else NULL). At most max. */
static const uint64_t **unmask_terms(lua_State *L, const cl_fq *q, int arg, size_t n,
                                     size_t *nq, size_t max, cc_wire_reader *rd,
                                     cc_wire_item *its, cc_payload ***msgs, size_t *nmsg) {
  luaL_checktype(L, arg, LUA_TTABLE);
  size_t len = lua_rawlen(L, arg);
  luaL_argcheck(L, len <= max, arg, "at most 16 arrays");
  const uint64_t **ys = lua_newuserdatauv(L, (len ? len : 1) * sizeof *ys, 0);
  *nmsg = 0;
  for (size_t j = 0; j < len; j++) {
    lua_rawgeti(L, arg, (lua_Integer)j + 1);
    int np = 0;
    cc_payload **ps = cl_payloads_test(L, lua_gettop(L), &np);
    msgs[j] = NULL;
    if (ps) {
      /* the slots stay referenced from the argument table until released */
      if (np != 1 || ps[0] == NULL)
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d holds no message", (int)j + 1));
      cc_payload *p = ps[0];
      cc_wire_item *it = &its[j];
      cc_wire_reader_init(rd, p->data, p->len, NULL);
      cc_wire_reader_defer_words(rd);
      if (cc_wire_next(rd, it) != 1) {
        if (!rd->failed) cc_wire_reader_finish(rd);
        luaL_error(L, "malformed term %d of the mask's high part: %s", (int)j + 1,
                   cc_wire_reader_error(rd));
      }
      if (it->kind != (q->w == 2 ? CC_WIRE_ARRAY128 : CC_WIRE_ARRAY) ||
          it->order != q->lo || (q->w == 2 && it->order_hi != q->hi) || it->ndim != 1)
        luaL_error(L, "term %d of the mask's high part is not a vector of the field's "
                      "elements", (int)j + 1);
      if (cc_wire_reader_finish(rd) != 0)
        luaL_error(L, "malformed term %d of the mask's high part: %s", (int)j + 1,
                   cc_wire_reader_error(rd));
      if (it->shape[0] != n || it->nwords != n * (size_t)q->w)
        luaL_error(L, "term %d of the mask's high part has %d elements, not %d", (int)j + 1,
                   (int)it->shape[0], (int)n);
      msgs[j] = ps;
      ys[j] = NULL;
      (*nmsg)++;
    } else {
      cl_array *a = cl_array_test(L, -1);
      if (!a)
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d is not a field array", (int)j + 1));
      if (!cl_array_in(a, q)) order_mismatch(L, arg, a, q);
      if (a->n != n)
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d has %d elements, not %d",
                                              (int)j + 1, (int)a->n, (int)n));
      ys[j] = a->data;
    }
    lua_pop(L, 1);
  }
  *nq = len;
  return ys;
}

/* Elements first..first+m-1 of the terms ys (those received, NULL in ys,
 * copied and checked into their room in scratch) as yb. */
static void unmask_terms_block(lua_State *L, cc_wire_reader *rd, const cc_wire_item *its,
                               const uint64_t *const *ys, size_t nq, size_t wq,
                               uint64_t *const *room, size_t first, size_t m,
                               const uint64_t **yb) {
  for (size_t j = 0; j < nq; j++) {
    if (ys[j]) {
      yb[j] = ys[j] + first * wq;
    } else {
      if (cc_wire_load_range(rd, &its[j], first, m, room[j]) != 0)
        luaL_error(L, "malformed term %d of the mask's high part: %s", (int)j + 1,
                   cc_wire_reader_error(rd));
      yb[j] = room[j];
    }
  }
}

/* F:unmask_into(result, at, weights, payloads, ...): cs the messages of
 * comm:_allgather_payloads (each a vector of the field), read where they
 * arrived: a block of each copied and checked into scratch that stays in
 * L1, and the block unmasked from there, without a field array per share.
 * The payloads are released: ps's own, or with owners, the one-payload
 * slots owners[j] (NULL: ps[j] is not this call's to release). */
static int unmask_payloads(lua_State *L, const cl_fq *q, cl_array *res, cc_payload **ps,
                           int r, cc_payload **const *owners) {
  enum { UNMASK_MAX_SHARES = 16, UNMASK_BLOCK = 256 };
  luaL_argcheck(L, r > 0 && r <= UNMASK_MAX_SHARES, 5, "1 to 16 messages expected");
  cc_wire_reader rd;
  cc_wire_item items[UNMASK_MAX_SHARES];
  size_t n = 0, nq;
  for (int j = 0; j < r; j++) unmask_parse(L, q, &rd, ps[j], j, &items[j], &n);
  size_t at = check_at(L, 3, n, res->n);
  const uint64_t *w = check_weights(L, q, 4, (size_t)r);
  lua_Integer bits = luaL_checkinteger(L, 6);
  int top = 64 * q->w - 1;
  if (bits < 0 || bits > top)
    luaL_argerror(L, 6, lua_pushfstring(L, "bits %I out of range [0, %d]", bits, top));
  cc_u128 s = check_element(L, q, 7);
  cc_wire_reader rdy;
  cc_wire_item its[UNMASK_MAX_SHARES];
  cc_payload **msgs[UNMASK_MAX_SHARES];
  size_t nmsg;
  const uint64_t **ys = unmask_terms(L, q, 9, n, &nq, UNMASK_MAX_SHARES, &rdy, its, msgs, &nmsg);
  const uint64_t *v = check_weights(L, q, 8, nq);
  const size_t wq = (size_t)q->w;
  uint64_t *out = res->data + at * wq;
  /* scratch on the C stack for a few shares and received terms (16 KiB),
   * else a userdata: a block of each */
  uint64_t here[2048];
  const size_t words = ((size_t)r + nmsg) * UNMASK_BLOCK * wq;
  uint64_t *scratch = words <= sizeof here / sizeof here[0]
                          ? here
                          : lua_newuserdatauv(L, words * sizeof *scratch, 0);
  const uint64_t *rows[UNMASK_MAX_SHARES], *yb[UNMASK_MAX_SHARES], *xo[UNMASK_MAX_SHARES];
  uint64_t *room[UNMASK_MAX_SHARES];
  for (int j = 0; j < r; j++) rows[j] = scratch + (size_t)j * UNMASK_BLOCK * wq;
  for (size_t j = 0, k = (size_t)r; j < nq; j++)
    room[j] = ys[j] ? NULL : scratch + (k++) * UNMASK_BLOCK * wq;
  bool done = false;
  if (q->w == 2 && r == 3) {
    /* a product among 3 players: the shares read in place, checked as read */
    const uint8_t *cb[3] = {items[0].words, items[1].words, items[2].words};
    bool ones = true;
    for (int j = 0; j < r && ones; j++) ones = cl_elem(2, w, (size_t)j) == 1;
    int bad = 0;
    if (ones && nmsg == 0) {
      done = cc_field128_unmask_sum_le(&q->g, out, cb, 3, (unsigned)bits, s, v, ys, nq, n,
                                       &bad) && !bad;
    } else if (ones) {
      /* the received terms a block at a time into scratch that stays in L1 */
      done = true;
      for (size_t first = 0; first < n && done; first += UNMASK_BLOCK) {
        size_t m = n - first < UNMASK_BLOCK ? n - first : UNMASK_BLOCK;
        const uint8_t *cf[3] = {cb[0] + 16 * first, cb[1] + 16 * first, cb[2] + 16 * first};
        unmask_terms_block(L, &rdy, its, ys, nq, wq, room, first, m, yb);
        done = cc_field128_unmask_sum_le(&q->g, out + first * wq, cf, 3, (unsigned)bits, s, v,
                                         yb, nq, m, &bad) && !bad;
      }
    }
    /* else (or for a bad element, which the copies below name) as any */
  }
  if (q->w == 1) {
    /* a plain-sum reveal in a 64-bit field: the shares and the received
     * terms read in place, checked as read (a word not below p: the
     * copies below name it) */
    bool ones = true;
    for (int j = 0; j < r && ones; j++) ones = w[j] == 1;
    if (ones) {
      const uint8_t *cb[UNMASK_MAX_SHARES], *yb8[UNMASK_MAX_SHARES];
      for (int j = 0; j < r; j++) cb[j] = items[j].words;
      for (size_t j = 0; j < nq; j++)
        yb8[j] = ys[j] ? (const uint8_t *)ys[j] : its[j].words;
      done = cc_field_unmask_sum_le(&q->f, out, cb, (size_t)r, (unsigned)bits, (uint64_t)s, v,
                                    yb8, nq, n) == 1;
    }
  }
  for (size_t first = 0; first < n && !done; first += UNMASK_BLOCK) {
    size_t m = n - first < UNMASK_BLOCK ? n - first : UNMASK_BLOCK;
    for (int j = 0; j < r; j++) {
      if (cc_wire_load_range(&rd, &items[j], first, m, (uint64_t *)rows[j]) != 0)
        luaL_error(L, "malformed share from player %d: %s", j, cc_wire_reader_error(&rd));
    }
    unmask_terms_block(L, &rdy, its, ys, nq, wq, room, first, m, yb);
    if (q->w == 2)
      unmask_shift128(&q->g, out + first * wq, w, rows, (size_t)r, (unsigned)bits, s, v, yb,
                      nq, m, xo);
    else
      cc_field_unmask_shift(&q->f, out + first * wq, w, rows, (size_t)r, (unsigned)bits,
                            (uint64_t)s, v, yb, nq, m);
  }
  /* now, rather than when the slots are collected */
  if (owners) {
    for (int j = 0; j < r; j++)
      if (owners[j]) cc_payloads_free(owners[j], 1);
  } else {
    cc_payloads_free(ps, r);
  }
  for (size_t j = 0; j < nq; j++)
    if (msgs[j]) cc_payloads_free(msgs[j], 1);
  lua_settop(L, 2);
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
  {"try_inverse", field_try_inverse},
  {"equal", field_equal},
  {"lagrange", field_lagrange},
  {"shamir_share", field_shamir_share},
  {"shamir_recover", field_shamir_recover},
  {"shamir_share_each", field_shamir_share_each},
  {"shamir_share_row", field_shamir_share_row},
  {"shamir_share_message", field_shamir_share_message},
  {"lincomb", field_lincomb},
  {"bitlt_pairs", field_bitlt_pairs},
  {"xor_group", field_xor_group},
  {"xor_group_drawn", field_xor_group_drawn},
  {"less_tree_products", field_less_tree_products},
  {"less_tree_merge", field_less_tree_merge},
  {"lincomb_rows", field_lincomb_rows},
  {"wipe", field_wipe},
  {"uniform_into", field_uniform_into},
  {"uniform_below_into", field_uniform_below_into},
  {"shift_right_into", field_shift_right_into},
  {"lincomb_into", field_lincomb_into},
  {"_unfilled", field_unfilled},
  {"mul_lincomb_into", field_mul_lincomb_into},
  {"_mul_lincomb_message", field_mul_lincomb_message},
  {"unmask_into", field_unmask_into},
  {"_high_shares_into", field_high_shares_into},
  {NULL, NULL}
};

static const luaL_Reg field_meta[] = {
  {"__tostring", field_tostring},
  {"__eq", field_eq},
  {NULL, NULL}
};

static const luaL_Reg field_funcs[] = {
  {"Field", field_new},
  {NULL, NULL}
};

static void cl_open_field_tree(lua_State *L);

/* The Field's methods are its own and the encodings' (lua_encoding.c). */
void cl_open_field(lua_State *L) {
  cl_new_type(L, CL_FIELD_MT, field_meta, field_methods, cl_field_encoding_methods,
              field_index);
  luaL_getmetatable(L, CL_FIELD_MT);
  cl_mt_register(L, &field_mt_key);
  lua_pop(L, 1);
  cl_open_field_tree(L);
  luaL_setfuncs(L, field_funcs, 0);
}

/* ==== Fused levels of a less-than tree ================================== */

/* The field of a fused tree method: 128 bits wide only (the 64-bit field's
 * products and weights cost little, and its suites use the separate
 * calls). */
static cl_field *tree_field(lua_State *L, const char *fname) {
  cl_field *F = cl_field_check(L, 1);
  if (F->q.w != 2)
    luaL_error(L, "%s needs a field wider than 64 bits", fname);
  return F;
}

static int tree_error(lua_State *L, int rc) {
  if (rc == CC_FIELD_ENOMEM) return luaL_error(L, "out of memory");
  if (rc == CC_FIELD128_ERNG) return luaL_error(L, "random stream failed (OpenSSL)");
  return luaL_error(L, "invalid arguments");
}

/* F:tree_deal(stream, lt, eq, n, w): one level of a less-than tree as
 * F:less_tree_products, each product h dealt with threshold 2 by this
 * player (cc_field128_tree_deal): with e drawn from stream, q = w[1] h,
 * returns own = w[2] q + w[3] e, then one message w[2m + 2] q +
 * w[2m + 3] e for each further pair of weights, each a vector of the
 * products' rows. 128-bit fields only. */
static int field_tree_deal(lua_State *L) {
  lua_settop(L, 6); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "tree_deal");
  cc_rng *rng = luaL_checkudata(L, 2, CL_RNG_MT);
  cl_array *lt = cl_field_own_array(L, 3, &F->q);
  cl_array *eq = cl_field_own_array(L, 4, &F->q);
  lua_Integer n = luaL_checkinteger(L, 5);
  cl_array *w = cl_field_own_array(L, 6, &F->q);
  luaL_argcheck(L, n >= 1, 5, "n must be positive");
  size_t rows = tree_rows(L, lt, 3, n), erows = tree_rows(L, eq, 4, n), half, eqs;
  luaL_argcheck(L, rows >= 2, 3, "lt must have at least 2 rows");
  tree_level(rows, &half, &eqs);
  luaL_argcheck(L, erows >= 2 * eqs && erows >= 2 * half - 1, 4, "eq has too few rows for lt");
  luaL_argcheck(L, w->ndim == 1 && w->n >= 3 && w->n % 2 == 1 &&
                   (w->n - 3) / 2 <= CC_FIELD128_TREE_MAX_MSGS,
                6, "weights must be a vector of 3 + 2k elements, k <= 64");
  size_t nmsgs = (w->n - 3) / 2, size = (half + eqs) * (size_t)n;
  luaL_checkstack(L, (int)nmsgs + 2, "too many messages");
  cl_array *own = cl_array_push_filled(L, &F->q, 1, &size);
  uint64_t *msgs[CC_FIELD128_TREE_MAX_MSGS];
  for (size_t m = 0; m < nmsgs; m++) msgs[m] = cl_array_push_filled(L, &F->q, 1, &size)->data;
  int rc = cc_field128_tree_deal(&F->q.g, rng, own->data, msgs, nmsgs, w->data, lt->data,
                                 eq->data, half, eqs, (size_t)n);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 1 + (int)nmsgs;
}

/* F:tree_merge(streams, lt, own, got, n, x): the next level of the tree of
 * F:tree_deal, at a receiver of its products: each product is own + x d +
 * the sum of the arrays in the list got, d the sum of what is drawn from
 * each stream in the list streams (as F:tree_deal draws e), merged as
 * F:less_tree_merge. Returns lt' and eq'. 128-bit fields only. */
static int field_tree_merge(lua_State *L) {
  lua_settop(L, 7); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "tree_merge");
  luaL_checktype(L, 2, LUA_TTABLE);
  cl_array *lt = cl_field_own_array(L, 3, &F->q);
  cl_array *own = cl_field_own_array(L, 4, &F->q);
  luaL_checktype(L, 5, LUA_TTABLE);
  lua_Integer n = luaL_checkinteger(L, 6);
  cl_array *x = cl_field_own_array(L, 7, &F->q);
  luaL_argcheck(L, n >= 1, 6, "n must be positive");
  luaL_argcheck(L, x->n == 1, 7, "x must be one element");
  size_t rows = tree_rows(L, lt, 3, n), half, eqs;
  luaL_argcheck(L, rows >= 2, 3, "lt must have at least 2 rows");
  tree_level(rows, &half, &eqs);
  size_t un = (size_t)n, psize = (half + eqs) * un;
  luaL_argcheck(L, own->ndim == 1 && own->n == psize, 4, "own must have the rows of the products");
  size_t nrng = lua_rawlen(L, 2), ngot = lua_rawlen(L, 5);
  /* The streams and arrays stay referenced by their lists while the
   * kernel runs. */
  cc_rng **rngs = lua_newuserdatauv(L, nrng * sizeof *rngs + 1, 0);
  for (size_t r = 0; r < nrng; r++) {
    lua_rawgeti(L, 2, (lua_Integer)r + 1);
    rngs[r] = luaL_testudata(L, -1, CL_RNG_MT);
    if (!rngs[r])
      luaL_argerror(L, 2, lua_pushfstring(L, "element %d is not a random stream", (int)r + 1));
    lua_pop(L, 1);
  }
  const uint64_t **got = lua_newuserdatauv(L, ngot * sizeof *got + 1, 0);
  for (size_t m = 0; m < ngot; m++) {
    lua_rawgeti(L, 5, (lua_Integer)m + 1);
    cl_array *a = cl_array_test(L, -1);
    if (!a || !cl_array_in(a, &F->q) || a->ndim != 1 || a->n != psize)
      luaL_argerror(L, 5, lua_pushfstring(L, "element %d is not an array of the products' rows",
                                          (int)m + 1));
    got[m] = a->data;
    lua_pop(L, 1);
  }
  size_t lsize = (half + rows % 2) * un, esize = eqs * un;
  cl_array *nlt = cl_array_push_filled(L, &F->q, 1, &lsize);
  cl_array *neq = cl_array_push_filled(L, &F->q, 1, &esize);
  int rc = cc_field128_tree_merge(&F->q.g, rngs, nrng, nlt->data, neq->data, lt->data, rows,
                                  own->data, got, ngot, one_elem(&F->q, x), un);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 2;
}

/* F:deal_bits(own, pair, m, pairs, n, w): a dealer's messages of m rows of
 * n random bits (drawn from the stream own) and of the products of the
 * first `pairs` pairs of rows i and m // 2 + i, dealt with threshold 2,
 * the shares of one player drawn from the stream pair (see
 * cc_field128_deal_bits): for each pair of weights (w0, w1) in w, the
 * message w0 u + w1 e of the bits and that of the products. Returns them
 * as vectors, bits then products for each target in turn. 128-bit fields
 * only. */
static int field_deal_bits(lua_State *L) {
  lua_settop(L, 7); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "deal_bits");
  cc_rng *own = luaL_checkudata(L, 2, CL_RNG_MT);
  cc_rng *pair = luaL_checkudata(L, 3, CL_RNG_MT);
  lua_Integer m = luaL_checkinteger(L, 4), pairs = luaL_checkinteger(L, 5);
  lua_Integer n = luaL_checkinteger(L, 6);
  cl_array *w = cl_field_own_array(L, 7, &F->q);
  luaL_argcheck(L, m >= 1 && m <= 1024, 4, "m must be in [1, 1024]");
  luaL_argcheck(L, pairs >= 0 && pairs <= m / 2, 5, "pairs must be in [0, m // 2]");
  luaL_argcheck(L, n >= 0 && (size_t)n <= SIZE_MAX / 32 / (size_t)m, 6,
                "n must be a non-negative count");
  luaL_argcheck(L, w->ndim == 1 && w->n >= 2 && w->n % 2 == 0 &&
                   w->n / 2 <= CC_FIELD128_TREE_MAX_MSGS,
                7, "weights must be a vector of 2k elements, 1 <= k <= 64");
  size_t targets = w->n / 2, size = (size_t)m * (size_t)n, psize = (size_t)pairs * (size_t)n;
  luaL_checkstack(L, 2 * (int)targets + 2, "too many messages");
  uint64_t *msgs[CC_FIELD128_TREE_MAX_MSGS], *pmsgs[CC_FIELD128_TREE_MAX_MSGS];
  for (size_t t = 0; t < targets; t++) {
    msgs[t] = cl_array_push_filled(L, &F->q, 1, &size)->data;
    pmsgs[t] = cl_array_push_filled(L, &F->q, 1, &psize)->data;
  }
  int rc = cc_field128_deal_bits(&F->q.g, own, pair, msgs, pmsgs, targets, w->data,
                                 (unsigned)m, (unsigned)pairs, (size_t)n);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 2 * (int)targets;
}

/* F:_xor_group_plain(stream, u, v, fa, m, pairs): as F:xor_group_drawn
 * without the random polynomials and the messages (the group's bits b
 * drawn from stream, nothing else): a group member's plain shares bits
 * (m rows) and prod (pairs rows), to be randomized by F:_randomize_rows
 * before any of them leaves the member (cc_field128_xor_group_plain).
 * 128-bit fields only. */
static int field_xor_group_plain(lua_State *L) {
  lua_settop(L, 7); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "_xor_group_plain");
  cc_rng *rng = luaL_checkudata(L, 2, CL_RNG_MT);
  cl_array *u = cl_field_own_array(L, 3, &F->q);
  cl_array *v = cl_field_own_array(L, 4, &F->q);
  cl_array *fa = cl_field_own_array(L, 5, &F->q);
  lua_Integer m = luaL_checkinteger(L, 6), pairs = luaL_checkinteger(L, 7);
  luaL_argcheck(L, m >= 1 && m <= 4096 && u->n % (size_t)m == 0, 6, "u must have m rows");
  luaL_argcheck(L, pairs >= 0 && pairs <= m / 2, 7, "pairs must be in [0, m // 2]");
  size_t n = u->n / (size_t)m, size = (size_t)m * n, psize = (size_t)pairs * n;
  luaL_argcheck(L, v->n == psize, 4, "v must have pairs rows of #u / m elements");
  luaL_argcheck(L, fa->n == 1, 5, "fa must be one element");
  cl_array *bits = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *prod = cl_array_push_filled(L, &F->q, 1, &psize);
  int rc = cc_field128_xor_group_plain(&F->q.g, rng, bits->data, prod->data, u->data, v->data,
                                       one_elem(&F->q, fa), (unsigned)m, (unsigned)pairs, n);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 2;
}

/* F:_randomize_rows(stream, rows, n, x [, lam, negate]): each row of n
 * shares y of the flat vector rows, in place, becomes y + z x, z drawn
 * from stream, and with lam, returns the messages lam (y + z x) + rho
 * (- rho if negate), rho drawn after z (and drawn without lam too)
 * (cc_field128_randomize_rows). 128-bit fields only. */
static int field_randomize_rows(lua_State *L) {
  lua_settop(L, 7); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "_randomize_rows");
  cc_rng *rng = luaL_checkudata(L, 2, CL_RNG_MT);
  cl_array *rows = cl_field_own_array(L, 3, &F->q);
  lua_Integer n = luaL_checkinteger(L, 4);
  cl_array *x = cl_field_own_array(L, 5, &F->q);
  cl_array *lam = lua_isnoneornil(L, 6) ? NULL : cl_field_own_array(L, 6, &F->q);
  int negate = lua_toboolean(L, 7);
  luaL_argcheck(L, n >= 1, 4, "n must be positive");
  size_t nrows = tree_rows(L, rows, 3, n), size = rows->n;
  luaL_argcheck(L, x->n == 1, 5, "x must be one element");
  luaL_argcheck(L, !lam || lam->n == 1, 6, "lam must be one element");
  cl_array *msg = NULL;
  if (lam) msg = cl_array_push_filled(L, &F->q, 1, &size);
  else lua_pushnil(L);
  int rc = cc_field128_randomize_rows(&F->q.g, rng, rows->data, msg ? msg->data : NULL,
                                      one_elem(&F->q, x), lam ? one_elem(&F->q, lam) : 0,
                                      negate, nrows, (size_t)n);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 1;
}

/* F:_bitlt_randomized(stream, c, r, rho, m, x [, lam, negate]): as
 * F:bitlt_pairs(c, r, rho, m) followed by F:_randomize_rows of each row of
 * lt and of eq in turn (cc_field128_bitlt_randomized): returns lt, eq and,
 * with lam, their messages (else nil, nil). 128-bit fields only. */
static int field_bitlt_randomized(lua_State *L) {
  lua_settop(L, 9); /* temporaries go above the arguments */
  cl_field *F = tree_field(L, "_bitlt_randomized");
  cc_rng *rng = luaL_checkudata(L, 2, CL_RNG_MT);
  cl_array *c = cl_field_own_array(L, 3, &F->q);
  cl_array *r = cl_field_own_array(L, 4, &F->q);
  cl_array *rho = cl_field_own_array(L, 5, &F->q);
  lua_Integer m = luaL_checkinteger(L, 6);
  cl_array *x = cl_field_own_array(L, 7, &F->q);
  cl_array *lam = lua_isnoneornil(L, 8) ? NULL : cl_field_own_array(L, 8, &F->q);
  int negate = lua_toboolean(L, 9);
  if (m < 2 || m > 127)
    luaL_argerror(L, 6, lua_pushfstring(L, "bits %I out of range [2, 127]", m));
  size_t n = c->n, h = (size_t)m / 2, rows = h + (size_t)m % 2;
  luaL_argcheck(L, c->ndim == 1, 3, "c must be a vector");
  luaL_argcheck(L, r->n == (size_t)m * n, 4, "r must have m rows of #c elements");
  luaL_argcheck(L, rho->n == h * n, 5, "rho must have m // 2 rows of #c elements");
  luaL_argcheck(L, x->n == 1, 7, "x must be one element");
  luaL_argcheck(L, !lam || lam->n == 1, 8, "lam must be one element");
  luaL_argcheck(L, n >= 1, 3, "c must not be empty");
  size_t size = rows * n;
  cl_array *lt = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *eq = cl_array_push_filled(L, &F->q, 1, &size);
  cl_array *mlt = NULL, *meq = NULL;
  if (lam) {
    mlt = cl_array_push_filled(L, &F->q, 1, &size);
    meq = cl_array_push_filled(L, &F->q, 1, &size);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  int rc = cc_field128_bitlt_randomized(&F->q.g, rng, lt->data, eq->data,
                                        mlt ? mlt->data : NULL, meq ? meq->data : NULL,
                                        c->data, r->data, rho->data, one_elem(&F->q, x),
                                        lam ? one_elem(&F->q, lam) : 0, negate, (unsigned)m, n);
  if (rc != CC_FIELD_OK) return tree_error(L, rc);
  return 4;
}

static const luaL_Reg field_tree_methods[] = {
  {"_bitlt_randomized", field_bitlt_randomized},
  {"tree_deal", field_tree_deal},
  {"tree_merge", field_tree_merge},
  {"deal_bits", field_deal_bits},
  {"_xor_group_plain", field_xor_group_plain},
  {"_randomize_rows", field_randomize_rows},
  {NULL, NULL}
};

/* Adds the methods above to the Field's method table (the upvalue of its
 * __index), after cl_open_field made the type. */
static void cl_open_field_tree(lua_State *L) {
  luaL_getmetatable(L, CL_FIELD_MT);
  lua_getfield(L, -1, "__index");
  lua_getupvalue(L, -1, 1);
  luaL_setfuncs(L, field_tree_methods, 0);
  lua_pop(L, 3);
}
