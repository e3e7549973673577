/*
 * lua_module.c - luaopen_cicada_core: the native half of the `cicada` module.
 *
 * `cicada.core` gathers field arithmetic (lua_field.c), the value codec
 * (lua_codec.c), communicators and errors (lua_comm.c) and processes
 * (lua_process.c). The Lua half, lua/cicada/init.lua, builds the public
 * module on top of it.
 */
#include "lua_cicada.h"

#ifndef CICADA_VERSION
#define CICADA_VERSION "unknown"
#endif

int luaopen_cicada_core(lua_State *L);

int luaopen_cicada_core(lua_State *L) {
  lua_newtable(L);
  cl_open_field(L);
  cl_open_codec(L);
  cl_open_comm(L);
  cl_open_process(L);
  lua_pushliteral(L, CICADA_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
