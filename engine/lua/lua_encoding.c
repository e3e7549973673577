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
 * Also _combine_payloads, a reveal's last step: the Lagrange combination
 * of the shares read straight from the received messages, decoded in the
 * same pass. Rows of numbers and booleans are written straight into the
 * array of a presized table (its layout checked once, else lua_rawseti);
 * fixed-point numbers of the 64-bit fields eight at a time where the CPU
 * has AVX-512.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
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

/* ==== A presized table's array written in place ========================
 *
 * lua_rawseti stores a number in some 25 cycles (two calls, the index
 * checked, the slot's old tag read: a cache miss for each line of a large
 * array that lua_createtable has just written empty), the collector then
 * walking the array once more. A table made by lua_createtable(L, n, 0)
 * holds its n slots in one array of TValues (a value and a tag) that a
 * number, an integer or a boolean fills without any other bookkeeping: no
 * barrier (none of them is collectable), no key, no size change. Lua
 * 5.4's headers keep that layout private, so it is checked once per
 * process on a probe table, through the API only (the version, the array
 * pointer and size where liblua 5.4 keeps them, the four values stored by
 * lua_rawseti read back at 16-byte strides, with their tags); when any of
 * it differs, the values go through lua_rawseti as before. */

#define RAW_TABLE_SIZE_AT 12   /* unsigned alimit, after the header, flags, lsizenode */
#define RAW_TABLE_ARRAY_AT 16  /* TValue *array */
#define RAW_TVALUE_SIZE 16     /* a Value, then its tag byte */
#define RAW_TVALUE_TAG_AT 8

/* 0: not probed yet; RAW_NO: unusable; else RAW_OK | the tags of a float,
 * an integer, false and true in its four low bytes (in that order). */
#define RAW_OK (UINT64_C(1) << 40)
#define RAW_NO (UINT64_C(1) << 41)
static _Atomic uint64_t raw_tags;

enum { RAW_FLOAT, RAW_INT, RAW_FALSE, RAW_TRUE };

static uint8_t *raw_array(const void *t, unsigned *size) {
  uint8_t *a;
  memcpy(size, (const uint8_t *)t + RAW_TABLE_SIZE_AT, sizeof *size);
  memcpy(&a, (const uint8_t *)t + RAW_TABLE_ARRAY_AT, sizeof a);
  return a;
}

static uint64_t raw_probe(lua_State *L) {
  const double f = 0x1.5p-3;
  const lua_Integer i = 0x123456789abcdefLL;
  uint64_t fbits, ibits = (uint64_t)i, tags = RAW_NO;
  memcpy(&fbits, &f, sizeof fbits);
  if (lua_version(L) != 504 || sizeof(lua_Number) != 8 || sizeof(lua_Integer) != 8 ||
      !lua_checkstack(L, 2))
    return RAW_NO;
  lua_createtable(L, 4, 0);
  lua_pushnumber(L, f);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, i);
  lua_rawseti(L, -2, 2);
  lua_pushboolean(L, 0);
  lua_rawseti(L, -2, 3);
  lua_pushboolean(L, 1);
  lua_rawseti(L, -2, 4);
  unsigned size;
  const uint8_t *a = raw_array(lua_topointer(L, -1), &size);
  if (size == 4 && a != NULL) {
    uint64_t v[4];
    uint8_t tag[4];
    for (int k = 0; k < 4; k++) {
      memcpy(&v[k], a + k * RAW_TVALUE_SIZE, sizeof v[k]);
      tag[k] = a[k * RAW_TVALUE_SIZE + RAW_TVALUE_TAG_AT];
    }
    /* distinct tags that say nothing is collectable in Lua 5.4 (bit 6),
     * and the values where they should be */
    int ok = v[0] == fbits && v[1] == ibits && tag[2] != tag[3];
    for (int k = 0; k < 4; k++) {
      ok &= (tag[k] & 0x40) == 0;
      for (int m = 0; m < k; m++) ok &= tag[k] != tag[m];
    }
    /* and the result of a write read back through the API */
    if (ok) {
      uint8_t *s = (uint8_t *)(uintptr_t)a;
      memcpy(s, &ibits, sizeof ibits);
      s[RAW_TVALUE_TAG_AT] = tag[1];
      lua_rawgeti(L, -1, 1);
      ok = lua_isinteger(L, -1) && lua_tointeger(L, -1) == i && lua_rawlen(L, -2) == 4;
      lua_pop(L, 1);
    }
    if (ok)
      tags = RAW_OK | tag[0] | (uint64_t)tag[1] << 8 | (uint64_t)tag[2] << 16 |
             (uint64_t)tag[3] << 24;
  }
  lua_pop(L, 1);
  return tags;
}

/* The array of the table at idx, made by lua_createtable(L, n, 0) with
 * n >= end, with the tags in *tags; or NULL (then lua_rawseti). */
static uint64_t raw_usable(lua_State *L) {
  uint64_t t = atomic_load_explicit(&raw_tags, memory_order_relaxed);
  if (t == 0) {
    t = raw_probe(L);
    atomic_store_explicit(&raw_tags, t, memory_order_relaxed);
  }
  return t & RAW_OK ? t : 0;
}

static uint8_t *raw_take(lua_State *L, int idx, size_t end, uint64_t *tags) {
  uint64_t t = raw_usable(L);
  if (t == 0 || lua_type(L, idx) != LUA_TTABLE) return NULL;
  unsigned size;
  uint8_t *a = raw_array(lua_topointer(L, idx), &size);
  if (a == NULL || end > size) return NULL;
  *tags = t;
  return a;
}

static inline void raw_set(uint8_t *a, size_t i, uint64_t v, uint64_t tags, int kind) {
  uint8_t *s = a + i * RAW_TVALUE_SIZE;
  memcpy(s, &v, sizeof v);
  s[RAW_TVALUE_TAG_AT] = (uint8_t)(tags >> (8 * kind));
}

/* The fixed-point numbers of raw slots eight at a time (AVX-512 F and DQ):
 * the signed value of each word converted to a double (vcvtqq2pd, of a
 * magnitude below 2^63: rounded as the scalar conversion rounds), negated,
 * scaled, and stored with its tag, two slots a 128-bit lane (the padding
 * after the tag byte written as zeros). The same doubles as the scalar
 * loop. Chosen at run time (raw_simd): a CPU without them, or
 * CICADA_NO_SIMD set and not empty, takes the scalar loop. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RAW_AVX512 1
#include <immintrin.h>

/* Slots first to first + n - n % 8 of the array a; returns that count. */
static __attribute__((target("avx512f,avx512dq"))) size_t
raw_fixed64_avx512(uint8_t *a, size_t first, const uint64_t *d, size_t n, uint64_t p,
                   uint64_t half, double scale, uint8_t tag) {
  const __m512i vp = _mm512_set1_epi64((long long)p), vh = _mm512_set1_epi64((long long)half);
  const __m512i vt = _mm512_set1_epi64(tag);
  const __m512i lo = _mm512_set_epi64(8, 3, 8, 2, 8, 1, 8, 0);  /* value, tag, ... */
  const __m512i hi = _mm512_set_epi64(8, 7, 8, 6, 8, 5, 8, 4);
  const __m512d vs = _mm512_set1_pd(scale), zero = _mm512_setzero_pd();
  uint8_t *s = a + first * RAW_TVALUE_SIZE;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512i v = _mm512_loadu_si512((const void *)(d + i));
    __mmask8 neg = _mm512_cmpgt_epu64_mask(v, vh);
    __m512d x = _mm512_cvtepi64_pd(_mm512_mask_sub_epi64(v, neg, vp, v));
    x = _mm512_mul_pd(_mm512_mask_sub_pd(x, neg, zero, x), vs);
    __m512i bits = _mm512_castpd_si512(x);
    _mm512_storeu_si512((void *)(s + RAW_TVALUE_SIZE * i),
                        _mm512_permutex2var_epi64(bits, lo, vt));
    _mm512_storeu_si512((void *)(s + RAW_TVALUE_SIZE * i + 64),
                        _mm512_permutex2var_epi64(bits, hi, vt));
  }
  return i;
}
#else
#define RAW_AVX512 0
#endif

#if RAW_AVX512
static cc_simd_switch raw_simd_switch = {-1, CC_SIMD_AVX512F | CC_SIMD_AVX512DQ};
#else
static cc_simd_switch raw_simd_switch = {-1, 0};
#endif

static int raw_simd(void) { return cc_simd_on(&raw_simd_switch); }

/* Slots first to first + n - 1 of the array a: the fixed-point numbers of
 * the n words at d, one at a time. */
static void raw_fixed64(uint8_t *a, size_t first, const uint64_t *d, size_t n, uint64_t p,
                        uint64_t half, double scale, uint64_t tags) {
  for (size_t i = 0; i < n; i++) {
    uint64_t v = d[i], bits;
    double x = (v <= half ? (double)v : -(double)(p - v)) * scale;
    memcpy(&bits, &x, sizeof bits);
    raw_set(a, first + i, bits, tags, RAW_FLOAT);
  }
}

/* The table at the top of L's stack gets n fixed-point numbers of the
 * 64-bit field from d at its indices first + 1 to first + n, in one loop
 * without calls per element but the Lua API's: 2^-precision is a power of
 * two, so the product is exactly what ldexp gives (the magnitudes are
 * whole numbers below 2^64, far above the subnormal range). With S, the
 * numbers are pushed on S's stack instead (see ctor_take). */
static void fill_fixed64(lua_State *L, lua_State *S, const cl_fq *q, const uint64_t *d,
                         size_t n, int precision, size_t first) {
  const uint64_t p = q->lo, half = (uint64_t)q->f.half;
  const double scale = ldexp(1.0, -precision);
  if (S) {
    for (size_t i = 0; i < n; i++) {
      uint64_t v = d[i];
      double x = v <= half ? (double)v : -(double)(p - v);
      lua_pushnumber(S, (lua_Number)(x * scale));
    }
    return;
  }
  const int t = lua_gettop(L);
  uint64_t tags;
  uint8_t *a = raw_take(L, t, first + n, &tags);
  if (a) {
    size_t i = 0;
#if RAW_AVX512
    /* the slots before the first 64-byte boundary one at a time, so that
     * each vector store writes one whole cache line */
    if (RAW_TVALUE_SIZE == 16 && RAW_TVALUE_TAG_AT == 8 && raw_simd()) {
      size_t head = (64 - ((uintptr_t)(a + first * RAW_TVALUE_SIZE) & 63)) % 64 / RAW_TVALUE_SIZE;
      i = head < n ? head : n;
      raw_fixed64(a, first, d, i, p, half, scale, tags);
      i += raw_fixed64_avx512(a, first + i, d + i, n - i, p, half, scale,
                              (uint8_t)(tags >> (8 * RAW_FLOAT)));
    }
#endif
    raw_fixed64(a, first + i, d + i, n - i, p, half, scale, tags);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t v = d[i];
    double x = v <= half ? (double)v : -(double)(p - v);
    lua_pushnumber(L, (lua_Number)(x * scale));
    lua_rawseti(L, t, (lua_Integer)(first + i) + 1);
  }
}

/* The same for the 128-bit fields: the magnitude converted to the nearest
 * double, then scaled exactly, as push_elem does with ldexp. */
static void fill_fixed128(lua_State *L, lua_State *S, const cl_fq *q, const uint64_t *d,
                          size_t n, int precision, size_t first) {
  const cc_u128 p = cc_u128_make(q->lo, q->hi), half = q->g.half;
  const double scale = ldexp(1.0, -precision);
  const int t = lua_gettop(L);
  uint64_t tags;
  uint8_t *a = S ? NULL : raw_take(L, t, first + n, &tags);
  for (size_t i = 0; i < n; i++) {
    cc_u128 v = cc_field128_get(d, i);
    double x = v <= half ? (double)v : -(double)(p - v);
    if (a) {
      uint64_t bits;
      x *= scale;
      memcpy(&bits, &x, sizeof bits);
      raw_set(a, first + i, bits, tags, RAW_FLOAT);
    } else if (S) {
      lua_pushnumber(S, (lua_Number)(x * scale));
    } else {
      lua_pushnumber(L, (lua_Number)(x * scale));
      lua_rawseti(L, t, (lua_Integer)(first + i) + 1);
    }
  }
}

/* The table at the top of L's stack gets the n elements at d at its
 * indices first + 1 to first + n (elements at + 1 to at + n of the array,
 * for the message of an element that is not a bit); or, with S, they are
 * pushed on S's stack (numbers and booleans only: never a string, whose
 * allocation could raise there). */
static void fill_elems(lua_State *L, lua_State *S, const cl_fq *q, const uint64_t *d,
                       size_t n, enum cl_dec mode, int precision, int arg, size_t first,
                       size_t at) {
  if (mode == CL_DEC_FIXED) {
    if (q->w == 1) fill_fixed64(L, S, q, d, n, precision, first);
    else fill_fixed128(L, S, q, d, n, precision, first);
    return;
  }
  const int t = lua_gettop(L);
  uint64_t tags;
  uint8_t *a = S || !(mode == CL_DEC_BOOL || (mode == CL_DEC_INT && q->w == 1))
                   ? NULL : raw_take(L, t, first + n, &tags);
  if (a && mode == CL_DEC_BOOL) {
    for (size_t i = 0; i < n; i++)
      raw_set(a, first + i, 0, tags, cl_elem(q->w, d, i) != 0 ? RAW_TRUE : RAW_FALSE);
    return;
  }
  if (a) {
    const uint64_t p = q->lo, half = (uint64_t)q->f.half;
    for (size_t i = 0; i < n; i++) {
      uint64_t v = d[i];
      raw_set(a, first + i, v <= half ? v : 0 - (p - v), tags, RAW_INT);
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    push_elem(S ? S : L, q, cl_elem(q->w, d, i), mode, precision, arg, at + i);
    if (!S) lua_rawseti(L, t, (lua_Integer)(first + i) + 1);
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
    fill_elems(L, NULL, &f, a->data + r * cols * (size_t)a->w, cols, mode, precision, arg, 0,
               r * cols);
    if (a->ndim == 2) lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
}

/* ==== Combining received shares ========================================= */

/* F:_combine_payloads reads the shares where they arrived, a block of
 * elements at a time: the block of each share combined with the weights
 * where it lies in its message (64-bit fields: cc_field_lincomb_le checks
 * each word against the order as it reads it) or copied and checked into
 * scratch that stays in the cache and combined there (128-bit fields),
 * and the block of results decoded at once into the Lua value. No field
 * array is made for a share, nor for the secret when it is decoded: one
 * pass over the received bytes. */

#define COMBINE_STACK_SHARES 16    /* shares whose items fit on the C stack */
#define COMBINE_STACK_WORDS 2048   /* scratch words on the C stack (16 KiB) */
#define COMBINE_MIN_BLOCK 64       /* fewer elements per block: scratch from the heap */
#define COMBINE_HEAP_BLOCK 256

static int check_precision(lua_State *L, int arg);

typedef struct combine {
  const cl_fq *q;
  int r;
  const cc_wire_item *items;  /* the shares, in rank order */
  const int *rank_of;         /* the rank each share came from */
  const uint64_t *weights;
  const uint64_t **rows;      /* r blocks of scratch */
  uint64_t *sum;              /* a block of results */
  cc_wire_reader *rd;         /* for the message of a bad word */
  const uint8_t **at;         /* r places in the messages */
} combine;

static int malformed_share(lua_State *L, int rank, const cc_wire_reader *rd) {
  return luaL_error(L, "malformed share from player %d: %s", rank, cc_wire_reader_error(rd));
}

/* out = sum_j weights[j] * share_j, for elements [first, first + count):
 * -1, or the index j of a share with a word out of the field (rd says). */
static int combine_block(const combine *c, uint64_t *out, size_t first, size_t count) {
  if (c->q->w == 1) {
    /* 64-bit words are combined where they lie, and checked as read */
    for (int j = 0; j < c->r; j++) c->at[j] = c->items[j].words + 8 * first;
    if (cc_field_lincomb_le(&c->q->f, out, c->weights, c->at, (size_t)c->r, count) == 0)
      return -1;
  }
  for (int j = 0; j < c->r; j++) {
    if (cc_wire_load_range(c->rd, &c->items[j], first, count, (uint64_t *)c->rows[j]) != 0)
      return j;
  }
  CL_FQ(c->q, lincomb_arrays, out, c->weights, c->rows, (size_t)c->r, count);
  return -1;
}

static void combine_range(lua_State *L, const combine *c, uint64_t *out, size_t first,
                          size_t count) {
  int bad = combine_block(c, out, first, count);
  if (bad >= 0) malformed_share(L, c->rank_of[bad], c->rd);
}

/* Result tables made by a table constructor, when the in-place writes
 * above cannot serve (a Lua whose tables are not laid out as checked): a
 * Lua function
 * (function(...) return {...} end) called on a thread of its own with the
 * numbers as its arguments fills the table's array in one copy, some
 * 2.5 times faster than a lua_rawseti per number. The thread keeps its
 * stack between calls (the last call's length of it stays in use: nils),
 * so that the collector does not give it back and the next call fault it
 * in again. Rows of up to CTOR_MAX_ELEMS elements go this way (the thread
 * then holds at most 2 * 16 bytes per element); longer ones, and any call
 * while the thread is busy (from a finalizer run during a call, say), go
 * through lua_rawseti. */
#define CTOR_MAX_ELEMS (1 << 14)

typedef struct ctor {
  lua_State *co;   /* its stack: the constructor at 1 */
  int busy;        /* taken, or unusable */
} ctor;

static const char ctor_key = 'k';

/* The constructor's thread with the constructor and room for n values
 * pushed, or NULL if it cannot serve now. */
static ctor *ctor_take(lua_State *L, size_t n) {
  ctor *k;
  if (n == 0 || n > CTOR_MAX_ELEMS) return NULL;
  luaL_checkstack(L, 3, NULL);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &ctor_key) == LUA_TUSERDATA) {
    k = lua_touserdata(L, -1);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    k = lua_newuserdatauv(L, sizeof *k, 1);
    k->co = NULL;
    k->busy = 1;
    lua_State *co = lua_newthread(L);
    lua_setiuservalue(L, -2, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ctor_key);
    if (luaL_loadstring(co, "return function(...) return {...} end") == LUA_OK &&
        lua_pcall(co, 0, 1, 0) == LUA_OK) {
      k->co = co;
      k->busy = 0;
    }
    lua_settop(co, k->co ? 1 : 0);
  }
  if (k->busy || k->co == L) return NULL;
  lua_settop(k->co, 1);   /* the nils kept since the last call: room asked above them
                           * would grow the stack, to be shrunk again */
  if (!lua_checkstack(k->co, (int)n + 2)) return NULL;
  k->busy = 1;
  lua_pushvalue(k->co, 1);
  return k;
}

/* Give the thread back, its stack as it is (after an error: what was
 * pushed dropped). */
static void ctor_give_back(ctor *k) {
  lua_settop(k->co, 1);
  k->busy = 0;
}

/* Call the constructor with the n values pushed: the table on L's stack
 * (or the error raised on L). more: another row follows. */
static void ctor_call(lua_State *L, ctor *k, size_t n, int more) {
  lua_State *co = k->co;
  int status = lua_pcall(co, (int)n, 1, 0);
  lua_xmove(co, L, 1);
  if (status != LUA_OK) {
    ctor_give_back(k);
    lua_error(L);
  }
  if (more) {
    lua_pushvalue(co, 1);
    return;
  }
  /* keep the stack: n slots stay in use until the next call */
  if (lua_checkstack(co, (int)n)) lua_settop(co, 1 + (int)n);
  k->busy = 0;
  /* The collector's step, if its debt calls for one, as lua_createtable
   * of the table would have made it: an allocation through the API checks
   * the debt after allocating, the constructor's NEWTABLE before its
   * array is, which left the array's bytes uncounted until the next
   * reveal (the collector then fell behind and glibc mapped fresh pages
   * for the tables: 3 times the page faults). */
  lua_createtable(L, 0, 0);
  lua_pop(L, 1);
}

static const char *wire_kind_name(cc_wire_kind k) {
  switch (k) {
  case CC_WIRE_NIL: return "nil";
  case CC_WIRE_FALSE: case CC_WIRE_TRUE: return "boolean";
  case CC_WIRE_INT: case CC_WIRE_FLOAT: return "number";
  case CC_WIRE_STRING: return "string";
  case CC_WIRE_TABLE: return "table";
  default: return "field array";
  }
}

static const char *item_shape_str(char *buf, size_t sz, const cc_wire_item *it) {
  if (it->ndim == 0) snprintf(buf, sz, "{}");
  else if (it->ndim == 1) snprintf(buf, sz, "{%zu}", it->shape[0]);
  else snprintf(buf, sz, "{%zu, %zu}", it->shape[0], it->shape[1]);
  return buf;
}

/* Parse the share of player j (the whole message: one field array of q,
 * shaped like the first share, player first_rank's) into *it, or raise
 * naming the player. */
static void parse_share(lua_State *L, const cl_fq *q, cc_wire_reader *rd, cc_payload *p, int j,
                        cc_wire_item *it, const cc_wire_item *first, int first_rank) {
  if (p == NULL) luaL_error(L, "no share from player %d", j);
  cc_wire_reader_init(rd, p->data, p->len, NULL);
  cc_wire_reader_defer_words(rd);   /* checked block by block, as they are read */
  if (cc_wire_next(rd, it) != 1) {
    if (!rd->failed) cc_wire_reader_finish(rd);  /* says how it ends early */
    malformed_share(L, j, rd);
  }
  if (it->kind != CC_WIRE_ARRAY && it->kind != CC_WIRE_ARRAY128)
    luaL_error(L, "share from player %d is a %s, not a field array", j, wire_kind_name(it->kind));
  if (cc_wire_reader_finish(rd) != 0) malformed_share(L, j, rd);
  uint64_t hi = it->kind == CC_WIRE_ARRAY128 ? it->order_hi : 0;
  if (it->order != q->lo || hi != q->hi) {
    const char *want = cl_push_order(L, q->lo, q->hi);
    const char *got = cl_push_order(L, it->order, hi);
    luaL_error(L, "share from player %d is of another field (order %s, not %s)", j, got, want);
  }
  size_t n = 1;
  for (int d = 0; d < it->ndim; d++) n *= it->shape[d];
  if (it->nwords != n * (size_t)q->w)
    luaL_error(L, "share from player %d: %d words for %d elements", j, (int)it->nwords, (int)n);
  if (first && (it->ndim != first->ndim || memcmp(it->shape, first->shape,
                                                   (size_t)it->ndim * sizeof it->shape[0]))) {
    char s1[64], s2[64];
    luaL_error(L, "share from player %d has shape %s, player %d's has %s", j,
               item_shape_str(s1, sizeof s1, it), first_rank, item_shape_str(s2, sizeof s2, first));
  }
}

/* F:_combine_payloads(weights, payloads [, mode [, precision]]): the sum
 * of weights[i] times the field array of the i-th message, over the
 * messages of comm:_allgather_payloads, _gatherv_payloads or
 * _exchange_payloads in rank order (the slots where a message came, every
 * one a field array of F of the same shape; one weight for each). mode
 * "array" (the default) gives a field array, as F:lincomb would; "fixed"
 * (with precision), "int" and "bool" give the Lua value decode_fixed,
 * decode_int and decode_bool would give for it. The payloads are released
 * (a second call finds none). A message that is not such an array raises,
 * naming the player. */
static int field_combine_payloads(lua_State *L) {
  static const char *const modes[] = {"array", "fixed", "int", "bool", NULL};
  static const enum cl_dec decs[] = {CL_DEC_RAW, CL_DEC_FIXED, CL_DEC_INT, CL_DEC_BOOL};
  cl_field *F = cl_field_check(L, 1);
  const cl_fq *q = &F->q;
  cl_array *w = cl_field_own_array(L, 2, q);
  int nslots = 0, r = 0;
  cc_payload **ps = cl_payloads_test(L, 3, &nslots);
  if (ps == NULL) luaL_typeerror(L, 3, "received messages");
  int mode = luaL_checkoption(L, 4, "array", modes);
  int precision = decs[mode] == CL_DEC_FIXED ? check_precision(L, 5) : 0;
  for (int j = 0; j < nslots; j++) r += ps[j] != NULL;
  luaL_argcheck(L, r > 0, 3, "no messages");
  if (w->ndim != 1 || w->n != (size_t)r)
    luaL_argerror(L, 2, lua_pushfstring(L, "%d weights for %d messages", (int)w->n, r));
  lua_settop(L, 5);

  /* Scratch: on the C stack for a few shares, else one userdata. */
  cc_wire_reader rd;
  cc_wire_item items_here[COMBINE_STACK_SHARES];
  const uint64_t *rows_here[COMBINE_STACK_SHARES];
  const uint8_t *at_here[COMBINE_STACK_SHARES];
  int rank_here[COMBINE_STACK_SHARES];
  uint64_t words_here[COMBINE_STACK_WORDS];
  const int decoded = decs[mode] != CL_DEC_RAW;
  const size_t per_elem = (size_t)(r + decoded) * (size_t)q->w;  /* scratch words */
  cc_wire_item *items = items_here;
  const uint64_t **rows = rows_here;
  const uint8_t **at = at_here;
  int *rank_of = rank_here;
  uint64_t *words = words_here;
  size_t block = COMBINE_STACK_WORDS / per_elem;
  if (r > COMBINE_STACK_SHARES || block < COMBINE_MIN_BLOCK) {
    block = COMBINE_HEAP_BLOCK;
    size_t nwords = block * per_elem;
    /* words first: the userdata's alignment serves them */
    size_t item_at = nwords * sizeof *words, rows_at = item_at + (size_t)r * sizeof *items,
           at_at = rows_at + (size_t)r * sizeof *rows,
           rank_at = at_at + (size_t)r * sizeof *at;
    uint8_t *mem = lua_newuserdatauv(L, rank_at + (size_t)r * sizeof *rank_of, 0);
    words = (uint64_t *)(void *)mem;
    items = (cc_wire_item *)(void *)(mem + item_at);
    rows = (const uint64_t **)(void *)(mem + rows_at);
    at = (const uint8_t **)(void *)(mem + at_at);
    rank_of = (int *)(void *)(mem + rank_at);
  }
  for (int j = 0, i = 0; j < nslots; j++) {
    if (ps[j] == NULL) continue;
    rank_of[i] = j;
    parse_share(L, q, &rd, ps[j], j, &items[i], i ? &items[0] : NULL, rank_of[0]);
    rows[i] = words + (size_t)i * block * (size_t)q->w;
    i++;
  }
  combine c = {q, r, items, rank_of, w->data, rows, words + (size_t)r * block * (size_t)q->w, &rd,
               at};
  const cc_wire_item *it = &items[0];
  size_t shape[CL_ARRAY_MAX_DIMS] = {0, 0};
  for (int d = 0; d < it->ndim; d++) shape[d] = it->shape[d];

  if (!decoded) {
    cl_array *out = cl_array_push_filled(L, q, it->ndim, shape);
    for (size_t first = 0; first < out->n; first += block) {
      size_t count = out->n - first < block ? out->n - first : block;
      combine_range(L, &c, out->data + first * (size_t)q->w, first, count);
    }
  } else if (it->ndim == 0) {
    combine_range(L, &c, c.sum, 0, 1);
    push_elem(L, q, cl_elem(q->w, c.sum, 0), decs[mode], precision, 0, 0);
  } else {
    size_t rows_n = it->ndim == 2 ? shape[0] : 1;
    size_t cols = it->ndim == 2 ? shape[1] : shape[0];
    if (it->ndim == 2) lua_createtable(L, (int)rows_n, 0);
    /* numbers and booleans through the constructor (never a string) */
    /* or straight into a presized table's array, when it can be */
    ctor *k = (decs[mode] == CL_DEC_INT && q->w != 1) || raw_usable(L) ? NULL
                                                                       : ctor_take(L, cols);
    lua_State *S = k ? k->co : NULL;
    for (size_t i = 0; i < rows_n; i++) {
      if (!S) lua_createtable(L, (int)cols, 0);
      for (size_t col = 0; col < cols; col += block) {
        size_t count = cols - col < block ? cols - col : block;
        int bad = combine_block(&c, c.sum, i * cols + col, count);
        if (bad >= 0) {
          if (k) ctor_give_back(k);
          malformed_share(L, rank_of[bad], &rd);
        }
        fill_elems(L, S, q, c.sum, count, decs[mode], precision, 0, col, i * cols + col);
      }
      if (S) ctor_call(L, k, cols, i + 1 < rows_n);
      if (it->ndim == 2) lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  }
  cc_payloads_free(ps, nslots);   /* now, rather than when the slots are collected */
  return 1;
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

/* F:_holds(x): x's number of dimensions (0, 1 or 2, all true in Lua)
 * when x is a field array of F, false when it is an array of another
 * field, nothing (nil) for any other value; the suites' check of a share
 * in one call. */
static int field_holds(lua_State *L) {
  cl_field *F = cl_field_check(L, 1);
  cl_array *a = cl_array_test(L, 2);
  if (a == NULL) return 0;
  if (cl_array_in(a, &F->q)) lua_pushinteger(L, a->ndim);
  else lua_pushboolean(L, 0);
  return 1;
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
  {"_combine_payloads", field_combine_payloads},
  {"_holds", field_holds},
  {NULL, NULL}
};
