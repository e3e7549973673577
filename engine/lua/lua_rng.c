/*
 * lua_rng.c - random streams as a Lua type.
 *
 * Owns cicada.Rng (CL_RNG_MT) and core.rng([seed]): an OpenSSL CSPRNG
 * stream, or with a seed a reproducible AES-128-CTR stream (random.c), with
 * the methods uniform and bytes. The Field binding draws its uniform
 * elements through cl_rng_opt and cl_rng_fill_uniform.
 */
#include <stdint.h>

#include "lua/lua_cicada.h"

/* ==== Streams =========================================================== */

static cc_rng *check_rng(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, CL_RNG_MT);
}

cc_rng *cl_rng_opt(lua_State *L, int arg, cc_rng *tmp) {
  if (lua_isnoneornil(L, arg)) {
    cc_rng_init_os(tmp);
    return tmp;
  }
  return check_rng(L, arg);
}

void cl_rng_fill_uniform(lua_State *L, cc_rng *rng, int w, cc_u128 bound, uint64_t *out,
                         size_t n) {
  if ((w == 2 ? cc_rng_uniform_mod128(rng, (uint64_t)bound, (uint64_t)(bound >> 64), out, n)
              : cc_rng_uniform_mod(rng, (uint64_t)bound, out, n)) != 0)
    luaL_error(L, "random stream failed (OpenSSL)");
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

/* ==== Methods =========================================================== */

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

/* ==== Registration ====================================================== */

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

static const luaL_Reg rng_funcs[] = {
  {"rng", rng_new},
  {NULL, NULL}
};

void cl_open_rng(lua_State *L) {
  cl_new_type(L, CL_RNG_MT, rng_meta, rng_methods, NULL, NULL);
  luaL_setfuncs(L, rng_funcs, 0);
}
