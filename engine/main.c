/*
 * main.c - cicada-lua: runs a Lua 5.4 script with the cicada module at hand.
 *
 * It behaves like lua5.4 for a script (the `arg` table, `...`, exit codes,
 * uncaught errors on stderr with a traceback) and needs no LUA_PATH: the
 * native module is linked in, and the Lua modules are found next to the
 * build tree or under the install prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef CICADA_VERSION
#define CICADA_VERSION "unknown"
#endif

int luaopen_cicada_core(lua_State *L);

static const char *progname = "cicada-lua";

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s [options] script.lua [args]\n"
          "Runs a Lua 5.4 script with the cicada module available.\n"
          "\n"
          "options:\n"
          "  -h, --help      show this help and exit\n"
          "  -v, --version   show the version and exit\n"
          "  -               read the script from standard input\n"
          "\n"
          "In the script: local cicada = require(\"cicada\"), then for example\n"
          "  cicada.run{world_size=4, fn=function(comm) ... end}\n",
          progname);
}

/* ==== Finding the Lua modules ============================================= */

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* Prepend dir/?.lua;dir/?/init.lua to package.path. */
static void add_lua_dir(lua_State *L, const char *dir) {
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

static void setup_paths(lua_State *L) {
  char exe[4096], guess[4200], probe[4300];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  const char *found = NULL;
  if (n > 0) {
    char *slash;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    /* installed: <prefix>/bin/cicada-lua and <prefix>/share/lua/5.4/cicada */
    snprintf(guess, sizeof guess, "%s/../share/lua/5.4", exe);
    snprintf(probe, sizeof probe, "%s/cicada/init.lua", guess);
    if (file_exists(probe)) found = guess;
  }
#ifdef CICADA_BUILD_LUA_DIR
  if (!found && file_exists(CICADA_BUILD_LUA_DIR "/cicada/init.lua")) found = CICADA_BUILD_LUA_DIR;
#endif
#ifdef CICADA_INSTALL_LUA_DIR
  if (!found && file_exists(CICADA_INSTALL_LUA_DIR "/cicada/init.lua")) found = CICADA_INSTALL_LUA_DIR;
#endif
  if (found) add_lua_dir(L, found);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_cicada_core);
  lua_setfield(L, -2, "cicada.core");
  lua_pop(L, 1);
}

/* ==== Running the script =================================================== */

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* arg[0] is the script, arg[1..] its arguments, arg[-1] this program. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

struct run_args { int argc; char **argv; int script; };

static int pmain(lua_State *L) {
  struct run_args *a = lua_touserdata(L, 1);
  const char *fname = strcmp(a->argv[a->script], "-") == 0 ? NULL : a->argv[a->script];
  int nargs = a->argc - a->script - 1, status, base;
  luaL_checkversion(L);
  luaL_openlibs(L);
  setup_paths(L);
  create_arg_table(L, a->argv, a->argc, a->script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_pushcfunction(L, msghandler);
  base = lua_gettop(L);
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    luaL_checkstack(L, nargs, "too many arguments to script");
    for (int i = 1; i <= nargs; i++) lua_pushstring(L, a->argv[a->script + i]);
    status = lua_pcall(L, nargs, 0, base);
  }
  lua_pushboolean(L, report(L, status) == LUA_OK);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L;
  struct run_args a = {argc, argv, 0};
  int status, ok;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
      printf("cicada-lua %s (%s)\n", CICADA_VERSION, LUA_RELEASE);
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "%s: unknown option '%s'\n", progname, argv[i]);
      usage(stderr);
      return 2;
    }
    a.script = i;
    break;
  }
  if (a.script == 0) {
    fprintf(stderr, "%s: no script given\n", progname);
    usage(stderr);
    return 2;
  }
  L = luaL_newstate();
  if (!L) { fprintf(stderr, "%s: cannot create a Lua state\n", progname); return 1; }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 1, 0);
  ok = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (status == LUA_OK && ok) ? 0 : 1;
}
