/*
 * lua_encoding.c - Lua values to field elements and back.
 *
 * Owns the encodings of the Field binding: how a Lua number, boolean,
 * integer string or (nested) list becomes a field array of either width
 * (integers reduced mod p, fixed point, booleans, bits) and how an array
 * becomes Lua values again (raw values, signed integers, floats, booleans,
 * bits; in a 128-bit field integers that do not fit a Lua integer become
 * decimal strings), with errors that name the
 * argument and the element. Registers the Field methods encode_fixed,
 * decode_fixed, encode_int, decode_int, encode_bool, decode_bool,
 * encode_bits and decode_bits (cl_field_encoding_methods); the other
 * binding files convert through cl_push_converted and cl_push_decoded.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua/lua_cicada.h"

#define CL_MAX_PRECISION 62  /* fixed-point fraction bits */

/* ==== Lua values to elements ============================================ */

typedef struct conv {
  const cl_fq *q;
  int arg;              /* argument number for errors */
  enum cl_conv mode;
  int precision;        /* CL_CONV_FIXED */
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

/* x mod p for any 128-bit x. */
static cc_u128 reduce(const cl_fq *q, cc_u128 x) {
  return q->w == 2 ? cc_field128_reduce1(&q->g, x) : x % q->lo;
}

/* An integer string: decimal or 0x-hex below 2^128, optionally signed (for
 * constants beyond Lua's 64-bit integers). */
static cc_u128 conv_string(lua_State *L, const conv *c, int v, int ndim,
                           size_t row, size_t col) {
  size_t len;
  const char *s = lua_tolstring(L, v, &len);
  int neg = len > 0 && s[0] == '-';
  cc_u128 x;
  if (cc_field128_parse(s + neg, len - (size_t)neg, &x) != 0)
    elem_error(L, c, ndim, row, col, "is not an integer (got string)");
  x = reduce(c->q, x);
  return neg && x ? cc_u128_make(c->q->lo, c->q->hi) - x : x;
}

static cc_u128 conv_int(lua_State *L, const conv *c, int v, int ndim,
                        size_t row, size_t col) {
  int isnum;
  if (lua_type(L, v) == LUA_TSTRING) return conv_string(L, c, v, ndim, row, col);
  lua_Integer i = lua_tointegerx(L, v, &isnum);
  if (!isnum) {
    if (lua_type(L, v) == LUA_TNUMBER)
      elem_error(L, c, ndim, row, col,
                 lua_pushfstring(L, "(%s) is not an integer", lua_tostring(L, v)));
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "is not an integer (got %s)", luaL_typename(L, v)));
  }
  if (c->q->w == 2) return cc_field128_from_i64_1(&c->q->g, (int64_t)i);
  return cc_field_from_i64_1(&c->q->f, (int64_t)i);
}

/* x * 2^precision rounded half away from zero, negatives as p - |r|. */
static cc_u128 conv_fixed(lua_State *L, const conv *c, int v, int ndim,
                          size_t row, size_t col) {
  int isnum;
  lua_Number x = lua_tonumberx(L, v, &isnum);
  if (!isnum)
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "is not a number (got %s)", luaL_typename(L, v)));
  double r = round(ldexp((double)x, c->precision));
  cc_u128 half = c->q->w == 2 ? c->q->g.half : c->q->f.half;
  if (!(fabs(r) < 0x1p127) || (cc_u128)fabs(r) > half)
    elem_error(L, c, ndim, row, col,
               lua_pushfstring(L, "(%s) is out of range for %d bits of precision",
                               lua_tostring(L, v), c->precision));
  cc_u128 u = (cc_u128)fabs(r);
  return (r < 0 && u) ? cc_u128_make(c->q->lo, c->q->hi) - u : u;
}

static cc_u128 conv_bool(lua_State *L, const conv *c, int v, int ndim,
                         size_t row, size_t col) {
  if (lua_isboolean(L, v)) return (cc_u128)lua_toboolean(L, v);
  int isnum;
  lua_Integer i = lua_tointegerx(L, v, &isnum);
  if (lua_type(L, v) != LUA_TNUMBER || !isnum || (i != 0 && i != 1))
    elem_error(L, c, ndim, row, col, "is not a boolean, 0 or 1");
  return (cc_u128)i;
}

static cc_u128 conv_one(lua_State *L, const conv *c, int v, int ndim,
                         size_t row, size_t col) {
  switch (c->mode) {
  case CL_CONV_FIXED: return conv_fixed(L, c, v, ndim, row, col);
  case CL_CONV_BOOL:
  case CL_CONV_BIT: return conv_bool(L, c, v, ndim, row, col);
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

cl_array *cl_push_converted(lua_State *L, int idx, const cl_fq *q, int arg,
                            enum cl_conv mode, int precision) {
  conv cv = {q, arg, mode, precision};
  const conv *c = &cv;
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  idx = lua_absindex(L, idx);
  int t = lua_type(L, idx);
  if (t != LUA_TTABLE && t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TSTRING)
    luaL_typeerror(L, c->arg, "number, list or field array");
  int ndim = lua_shape(L, idx, c, shape);
  cl_array *a = cl_array_push(L, q, ndim, shape);
  int w = q->w;
  if (ndim == 0) {
    cl_set_elem(w, a->data, 0, conv_one(L, c, idx, 0, 0, 0));
  } else if (ndim == 1) {
    for (size_t i = 0; i < shape[0]; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      cl_set_elem(w, a->data, i, conv_one(L, c, -1, 1, 0, i + 1));
      lua_pop(L, 1);
    }
  } else {
    for (size_t r = 0; r < shape[0]; r++) {
      lua_rawgeti(L, idx, (lua_Integer)r + 1);
      for (size_t i = 0; i < shape[1]; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        cl_set_elem(w, a->data, r * shape[1] + i, conv_one(L, c, -1, 2, r + 1, i + 1));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  return a;
}

/* ==== Elements to Lua values ============================================ */

/* A signed value: an integer when it fits, else its decimal string. */
static void push_signed(lua_State *L, int neg, cc_u128 mag) {
  if (mag <= (cc_u128)INT64_MAX || (neg && mag == (cc_u128)INT64_MAX + 1)) {
    lua_pushinteger(L, neg ? (lua_Integer)(0 - (uint64_t)mag) : (lua_Integer)mag);
    return;
  }
  char buf[41];
  buf[0] = '-';
  cc_field128_format(buf + 1, mag);
  lua_pushstring(L, neg ? buf : buf + 1);
}

static void push_elem(lua_State *L, const cl_fq *q, cc_u128 v,
                      enum cl_dec mode, int precision, int arg, size_t i) {
  cc_u128 p = cc_u128_make(q->lo, q->hi);
  cc_u128 half = q->w == 2 ? q->g.half : q->f.half;
  switch (mode) {
  case CL_DEC_INT:
    if (q->w == 1)
      lua_pushinteger(L, v <= half ? (lua_Integer)v : -(lua_Integer)(p - v));
    else
      push_signed(L, v > half, v > half ? p - v : v);
    break;
  case CL_DEC_FIXED: {
    double x = v <= half ? (double)v : -(double)(p - v);
    lua_pushnumber(L, (lua_Number)ldexp(x, -precision));
    break;
  }
  case CL_DEC_BOOL:
    lua_pushboolean(L, v != 0);
    break;
  case CL_DEC_BIT:
    if (v > 1)
      luaL_argerror(L, arg, lua_pushfstring(L, "element %d is not a bit", (int)i + 1));
    lua_pushinteger(L, (lua_Integer)v);
    break;
  default:
    cl_push_value(L, q->w, v);
  }
}

/* The table at the top of the stack gets n fixed-point numbers of the
 * 64-bit field from d, in one loop without calls per element but the Lua
 * API's: 2^-precision is a power of two, so the product is exactly what
 * ldexp gives (the magnitudes are whole numbers below 2^64, far above
 * the subnormal range). */
static void fill_fixed64(lua_State *L, const cl_fq *q, const uint64_t *d, size_t n,
                         int precision) {
  const uint64_t p = q->lo, half = (uint64_t)q->f.half;
  const double scale = ldexp(1.0, -precision);
  for (size_t i = 0; i < n; i++) {
    uint64_t v = d[i];
    double x = v <= half ? (double)v : -(double)(p - v);
    lua_pushnumber(L, (lua_Number)(x * scale));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

void cl_push_decoded(lua_State *L, const cl_array *a, enum cl_dec mode,
                     int precision, int arg) {
  cl_fq f;
  cl_array_field(a, &f);
  if (a->ndim == 0) {
    push_elem(L, &f, cl_elem(a->w, a->data, 0), mode, precision, arg, 0);
    return;
  }
  size_t rows = a->ndim == 2 ? a->shape[0] : 1;
  size_t cols = a->ndim == 2 ? a->shape[1] : a->shape[0];
  if (a->ndim == 2) lua_createtable(L, (int)rows, 0);
  for (size_t r = 0; r < rows; r++) {
    lua_createtable(L, (int)cols, 0);
    if (mode == CL_DEC_FIXED && a->w == 1) {
      fill_fixed64(L, &f, a->data + r * cols, cols, precision);
    } else {
      for (size_t i = 0; i < cols; i++) {
        push_elem(L, &f, cl_elem(a->w, a->data, r * cols + i), mode, precision, arg,
                  r * cols + i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
    }
    if (a->ndim == 2) lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
}

/* ==== Field methods ===================================================== */

static int check_precision(lua_State *L, int arg) {
  lua_Integer p = luaL_checkinteger(L, arg);
  if (p < 0 || p > CL_MAX_PRECISION)
    luaL_argerror(L, arg, lua_pushfstring(L, "precision %I out of range [0, %d]",
                                          p, CL_MAX_PRECISION));
  return (int)p;
}

static int encode_with(lua_State *L, enum cl_conv mode, int precision) {
  lua_settop(L, 3); /* the converted array goes above the arguments */
  cl_field *F = cl_field_check(L, 1);
  luaL_checkany(L, 2);
  cl_push_converted(L, 2, &F->q, 2, mode, precision);
  return 1;
}

static int decode_with(lua_State *L, enum cl_dec mode, int precision) {
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = cl_field_own_array(L, 2, &F->q);
  cl_push_decoded(L, a, mode, precision, 2);
  return 1;
}

static int field_encode_fixed(lua_State *L) {
  int precision = check_precision(L, 3);
  return encode_with(L, CL_CONV_FIXED, precision);
}

static int field_decode_fixed(lua_State *L) {
  int precision = check_precision(L, 3);
  return decode_with(L, CL_DEC_FIXED, precision);
}

static int field_encode_int(lua_State *L) { return encode_with(L, CL_CONV_INT, 0); }
static int field_decode_int(lua_State *L) { return decode_with(L, CL_DEC_INT, 0); }
static int field_encode_bool(lua_State *L) { return encode_with(L, CL_CONV_BOOL, 0); }
static int field_decode_bool(lua_State *L) { return decode_with(L, CL_DEC_BOOL, 0); }
static int field_decode_bits(lua_State *L) { return decode_with(L, CL_DEC_BIT, 0); }

/* F:encode_bits(x): a non-negative integer to its F.bits bits, most
 * significant first; or a list of 0/1 (or booleans) as given. */
static int field_encode_bits(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    int isnum, bits = F->q.bits;
    lua_Integer v = lua_tointegerx(L, 2, &isnum);
    luaL_argcheck(L, isnum && v >= 0, 2, "not a non-negative integer");
    if (bits < 64 && (uint64_t)v >> bits)
      luaL_argerror(L, 2, lua_pushfstring(L, "%I does not fit in %d bits", v, bits));
    size_t shape[1] = {(size_t)bits};
    cl_array *a = cl_array_push(L, &F->q, 1, shape);
    for (int i = 0; i < bits && i < 64; i++)
      cl_set_elem(a->w, a->data, (size_t)(bits - 1 - i), ((uint64_t)v >> i) & 1);
    return 1;
  }
  return encode_with(L, CL_CONV_BIT, 0);
}

/* ==== Registration ====================================================== */

const luaL_Reg cl_field_encoding_methods[] = {
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
