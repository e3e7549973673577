/*
 * lua_host.c - a host program that opens the cicada module in its own
 * lua_State and runs a script with it.
 *
 * The script below forks three players with cicada.run; they add up their
 * ranks with allgather and share, add and reveal a secret with Shamir
 * secret sharing. The host needs no LUA_PATH: luaopen_cicada finds the Lua
 * modules of the installed (or built) cicada. With an argument, the host
 * runs that script file instead.
 *
 *   cc lua_host.c $(pkg-config --cflags --libs cicada) -o lua_host && ./lua_host
 */
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <cicada.h>

static const char script[] =
  "local cicada = require('cicada')\n"
  "print(('cicada %s from %s'):format(cicada.version,\n"
  "      package.searchpath('cicada', package.path)))\n"
  "local results = cicada.run{world_size = 3, fn = function(comm)\n"
  "  local ranks = 0\n"
  "  for _, r in ipairs(comm:allgather(comm.rank)) do ranks = ranks + r end\n"
  "  local p = cicada.shamir.BasicProtocolSuite(comm, {threshold = 2})\n"
  "  local a = p:share(0, comm.rank == 0 and 2.5 or nil, {})\n"
  "  local b = p:share(1, comm.rank == 1 and 4 or nil, {})\n"
  "  return {ranks = ranks, sum = p:reveal(p:add(a, b))}\n"
  "end}\n"
  "for rank, r in ipairs(results) do\n"
  "  print(('player %d: sum of ranks %d, revealed 2.5 + 4 = %s'):format(\n"
  "        rank - 1, r.ranks, r.sum))\n"
  "end\n";

/* Lua's own way of reporting an error: the message with a traceback. */
static int traceback(lua_State *L) {
  luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  int status;
  if (!L) {
    fprintf(stderr, "lua_host: cannot create a Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  lua_pushcfunction(L, traceback);
  /* Opening the module may raise (no Lua half found): do it protected. */
  lua_pushcfunction(L, luaopen_cicada);
  status = lua_pcall(L, 0, 1, 1);
  if (status == LUA_OK) {
    lua_setglobal(L, "cicada");
    status = argc > 1 ? luaL_loadfile(L, argv[1])
                      : luaL_loadbuffer(L, script, sizeof script - 1, "=lua_host");
  }
  if (status == LUA_OK) status = lua_pcall(L, 0, 0, 1);
  if (status != LUA_OK) fprintf(stderr, "lua_host: %s\n", lua_tostring(L, -1));
  lua_close(L);
  return status == LUA_OK ? 0 : 1;
}
