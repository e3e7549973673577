/*
 * lua_module.c - the entry points of the `cicada` module for Lua:
 * luaopen_cicada_core, the native half, and luaopen_cicada, the whole
 * module opened in a host program's own lua_State.
 *
 * `cicada.core` gathers field arrays (lua_array.c), fields (lua_field.c,
 * with their encodings in lua_encoding.c), random streams (lua_rng.c), the
 * value codec (lua_codec.c), communicators and errors (lua_comm.c) and processes
 * (lua_process.c). The Lua half, lua/cicada/init.lua, builds the public
 * module on top of it. luaopen_cicada preloads the native half from this
 * library and makes sure package.path can find the Lua half, so a host
 * needs no LUA_PATH.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cicada.h"
#include "lua/lua_cicada.h"

/* ==== cicada.core ========================================================== */

void cl_new_type(lua_State *L, const char *name, const luaL_Reg *meta,
                 const luaL_Reg *methods, const luaL_Reg *more_methods,
                 lua_CFunction index) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  if (more_methods) luaL_setfuncs(L, more_methods, 0);
  if (index) lua_pushcclosure(L, index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

int luaopen_cicada_core(lua_State *L) {
  lua_newtable(L);
  cl_open_array(L);
  cl_open_field(L);
  cl_open_rng(L);
  cl_open_codec(L);
  cl_open_comm(L);
  cl_open_process(L);
  lua_pushliteral(L, CICADA_VERSION_STRING);
  lua_setfield(L, -2, "version");
  return 1;
}

/* ==== Finding the Lua half ================================================== */

/* Any object of this library: dladdr tells which file it was loaded from
 * (libcicada.so, or the executable a static libcicada was linked into). */
static const char cl_where_am_i = 0;

static int has_cicada(const char *dir) {
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/cicada/init.lua", dir);
  return access(probe, R_OK) == 0;
}

/* The installed share/lua/5.4 relative to the file holding this code:
 * <libdir>/CICADA_LIB_TO_LUA_DIR. 1 with dir filled if it has cicada. */
static int lua_dir_near_library(char *dir, size_t dirsz) {
#ifdef CICADA_LIB_TO_LUA_DIR
  Dl_info info;
  const char *slash;
  if (dladdr(&cl_where_am_i, &info) == 0 || !info.dli_fname) return 0;
  slash = strrchr(info.dli_fname, '/');
  if (!slash) return 0;
  snprintf(dir, dirsz, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
           CICADA_LIB_TO_LUA_DIR);
  return has_cicada(dir);
#else
  (void)dir;
  (void)dirsz;
  return 0;
#endif
}

/* The first directory that holds cicada/init.lua, or NULL. */
static const char *find_lua_dir(char *buf, size_t bufsz) {
  if (lua_dir_near_library(buf, bufsz)) return buf;
#ifdef CICADA_BUILD_LUA_DIR
  if (has_cicada(CICADA_BUILD_LUA_DIR)) return CICADA_BUILD_LUA_DIR;
#endif
#ifdef CICADA_INSTALL_LUA_DIR
  if (has_cicada(CICADA_INSTALL_LUA_DIR)) return CICADA_INSTALL_LUA_DIR;
#endif
  return NULL;
}

/* Is `cicada` already on package.path? package is at index pkg. */
static int on_package_path(lua_State *L, int pkg) {
  int found;
  lua_getfield(L, pkg, "searchpath");
  lua_pushliteral(L, "cicada");
  lua_getfield(L, pkg, "path");
  if (!lua_isfunction(L, -3) || !lua_isstring(L, -1)) {
    lua_pop(L, 3);
    return 0;
  }
  lua_call(L, 2, 1);
  found = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return found;
}

/* Prepend dir/?.lua;dir/?/init.lua to package.path. */
static void prepend_path(lua_State *L, int pkg, const char *dir) {
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_getfield(L, pkg, "path");
  lua_concat(L, 2);
  lua_setfield(L, pkg, "path");
}

/* ==== cicada ================================================================= */

int luaopen_cicada(lua_State *L) {
  char buf[4096];
  int pkg;
  if (lua_getglobal(L, "package") != LUA_TTABLE)
    return luaL_error(L, "luaopen_cicada: the package library is not open "
                         "(call luaL_openlibs first)");
  pkg = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_cicada_core);
  lua_setfield(L, -2, "cicada.core");
  lua_pop(L, 1);
  if (!on_package_path(L, pkg)) {
    const char *dir = find_lua_dir(buf, sizeof buf);
    if (!dir)
      return luaL_error(L, "luaopen_cicada: cannot find the Lua half of cicada "
                           "(cicada/init.lua) on package.path or under share/lua/5.4");
    prepend_path(L, pkg, dir);
  }
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cicada");
  lua_call(L, 1, 1);
  return 1;
}
