/*
 * main.c - cicada-lua: runs a Lua 5.4 script with the cicada module at hand.
 *
 * It behaves like lua5.4 for a script (the `arg` table, `...`, exit codes,
 * uncaught errors on stderr with a traceback) and needs no LUA_PATH: the
 * native module is linked in, and the Lua modules are found next to the
 * build tree or under the install prefix.
 *
 * It also starts players. `-n N script.lua` is the launcher: it binds the
 * root's address on loopback, forks N players that each run the script and
 * waits for them. `--rank R -n N --root-address URL script.lua` is one
 * player of a multi-host world. Either way the settings reach the script's
 * cicada.connect() as CICADA_* environment variables, checked here first so
 * that a mistake is one line at startup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "boot/launch.h"
#include "boot/rendezvous.h"
#include "core/check.h"
#include "core/log.h"
#include "core/status.h"
#include "net/tls.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef CICADA_VERSION
#define CICADA_VERSION "unknown"
#endif

int luaopen_cicada_core(lua_State *L);

static const char *progname = "cicada-lua";
static int player_rank = -1;         /* a launched player's rank, for its errors */

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s [options] script.lua [args]\n"
          "       %s -n N script.lua [args]\n"
          "       %s --rank R -n N --root-address tcp://HOST:PORT [--address tcp://ME:PORT]\n"
          "                  [--token-file PATH] [--identity PEM --trusted PEM,...] script.lua [args]\n"
          "       %s credentials RANK [DIR]\n"
          "Runs a Lua 5.4 script with the cicada module available.\n"
          "\n"
          "options:\n"
          "  -h, --help            show this help and exit\n"
          "  -v, --version         show the version and exit\n"
          "  -                     read the script from standard input\n"
          "  -n N                  world size; without --rank, start N local players\n"
          "                        that each run the script (CICADA_WORLD_SIZE)\n"
          "  --rank R              run one player, rank R of N (CICADA_RANK)\n"
          "  --root-address URL    where rank 0 listens and every player meets\n"
          "                        (CICADA_ROOT_ADDRESS)\n"
          "  --address URL         where this player listens; default any port,\n"
          "                        at the address the root sees (CICADA_ADDRESS)\n"
          "  --token SECRET        must be the same at every player (CICADA_TOKEN);\n"
          "                        visible to every local user in ps: prefer\n"
          "  --token-file PATH     the token from the first line of a file (CICADA_TOKEN_FILE)\n"
          "  --identity PEM        this player's key and certificate: every link is\n"
          "                        mutual TLS (CICADA_IDENTITY)\n"
          "  --trusted PEM,...     certificates of the players to accept (CICADA_TRUSTED)\n"
          "\n"
          "credentials RANK [DIR]  write DIR/player-RANK.pem (a new key and a self-signed\n"
          "                        certificate, for --identity) and DIR/player-RANK.crt\n"
          "                        (the certificate alone, for the others' --trusted)\n"
          "\n"
          "In the script: local cicada = require(\"cicada\"), then for example\n"
          "  cicada.run{world_size=4, fn=function(comm) ... end}\n"
          "or, for players started by this command,\n"
          "  local comm = cicada.connect()\n",
          progname, progname, progname, progname);
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

/* Errors of a world that could not form say all there is to say: the
 * traceback would only bury the one line that matters. */
static bool is_startup_error(lua_State *L) {
  bool yes = false;
  if (lua_type(L, 1) == LUA_TSTRING) return strstr(lua_tostring(L, 1), "cicada.connect: ") != NULL;
  if (lua_type(L, 1) != LUA_TTABLE) return false;
  if (lua_getfield(L, 1, "kind") == LUA_TSTRING) {
    const char *k = lua_tostring(L, -1);
    yes = strcmp(k, cc_status_kind(CC_ETOKEN_MISMATCH)) == 0 ||
          strcmp(k, cc_status_kind(CC_ESTARTUP_TIMEOUT)) == 0 ||
          strcmp(k, cc_status_kind(CC_EENCRYPTION)) == 0;
  }
  lua_pop(L, 1);
  if (yes) {
    lua_getfield(L, 1, "kind");
    lua_pushstring(L, ": ");
    lua_getfield(L, 1, "message");
    lua_concat(L, 3);
    lua_replace(L, 1);
  }
  return yes;
}

static int msghandler(lua_State *L) {
  const char *msg;
  if (is_startup_error(L)) return 1;
  msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    else msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    cc_log_error(progname, player_rank, "%s", lua_tostring(L, -1));
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

/* ==== Players ================================================================= */

typedef struct world_options {
  const char *world_size, *rank, *root_address, *address, *token, *identity, *trusted;
  const char *token_file;
} world_options;

/* Check one setting: a command-line value, else the environment's. */
static const char *setting(const char *cli, const char *var) {
  const char *v = cli ? cli : getenv(var);
  return v && *v ? v : NULL;
}

static int parse_int(const char *what, const char *v, long *out) {
  char *end;
  errno = 0;
  *out = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || errno != 0) {
    cc_log_error(progname, -1, "%s '%s' is not an integer", what, v);
    return -1;
  }
  return 0;
}

/* --token-file PATH (or CICADA_TOKEN_FILE): the token is the file's first
 * line, so that it never shows in a process list. Sets *token, or says
 * what is wrong and returns -1. */
static int read_token_file(const char *path, const char **token) {
  static char buf[1024];
  FILE *f;
  size_t len;
  struct stat st;
  if (!path) return 0;
  f = fopen(path, "r");
  if (!f) {
    cc_log_error(progname, -1, "cannot read the token file '%s': %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
    fprintf(stderr, "WARNING:cicada.communicator:the token file '%s' can be read by other "
            "users (chmod 600 it)\n", path);
  if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
  fclose(f);
  len = strcspn(buf, "\r\n");
  buf[len] = '\0';
  if (len == 0) {
    cc_log_error(progname, -1, "the token file '%s' has an empty first line", path);
    return -1;
  }
  *token = buf;
  return 0;
}

/* TLS needs both an identity and trusted certificates, all of them
 * readable PEM files: check that now, with OpenSSL's word on the contents. */
static int check_pem_files(const char *identity, const char *trusted) {
  char why[256];
  struct ssl_ctx_st *ctx;
  if (!identity && !trusted) return 0;
  ctx = cc_tls_context(identity, trusted, why, sizeof why);
  if (!ctx) {
    cc_log_error(progname, -1, "%s", why);
    return -1;
  }
  cc_tls_context_free(ctx);
  return 0;
}

/* Put the settings in the environment, where cicada.connect finds them,
 * after checking them: one line naming the problem, and -1. */
static int export_world(world_options *o, bool launcher) {
  const char *n_s = setting(o->world_size, "CICADA_WORLD_SIZE");
  const char *rank_s = launcher ? NULL : setting(o->rank, "CICADA_RANK");
  const char *root = setting(o->root_address, "CICADA_ROOT_ADDRESS");
  const char *self = setting(o->address, "CICADA_ADDRESS");
  long n = 1, rank = 0;
  cc_address a;
  cc_error e;
  char why[256];
  if (o->token && o->token_file) {
    cc_log_error(progname, -1, "give the token once: --token or --token-file, not both");
    return -1;
  }
  if (!o->token && read_token_file(setting(o->token_file, "CICADA_TOKEN_FILE"),
                                   (const char **)&o->token) != 0)
    return -1;
  if (n_s && parse_int("world size (-n, CICADA_WORLD_SIZE)", n_s, &n) != 0) return -1;
  if (rank_s && parse_int("rank (--rank, CICADA_RANK)", rank_s, &rank) != 0) return -1;
  if (cc_check_world_size(n, &e) != CC_OK) {
    cc_log_error(progname, -1, "%s (-n, CICADA_WORLD_SIZE)", e.message);
    return -1;
  }
  if (cc_check_player_rank(rank, n, &e) != CC_OK) {
    cc_log_error(progname, -1, "%s (--rank, CICADA_RANK)", e.message);
    return -1;
  }
  if (!launcher && rank_s && n > 1 && !root) {
    cc_log_error(progname, -1, "player %ld of %ld needs the root's address: "
                 "--root-address tcp://host:port or CICADA_ROOT_ADDRESS", rank, n);
    return -1;
  }
  if (!launcher && root && cc_url_parse(root, 0, &a, why, sizeof why) != 0) {
    cc_log_error(progname, -1, "root %s (--root-address, CICADA_ROOT_ADDRESS)", why);
    return -1;
  }
  if (!launcher && self && cc_url_parse(self, 1, &a, why, sizeof why) != 0) {
    cc_log_error(progname, -1, "player %s (--address, CICADA_ADDRESS)", why);
    return -1;
  }
  if (check_pem_files(setting(o->identity, "CICADA_IDENTITY"), setting(o->trusted, "CICADA_TRUSTED"))
      != 0)
    return -1;
  if (o->identity) setenv("CICADA_IDENTITY", o->identity, 1);
  if (o->trusted) setenv("CICADA_TRUSTED", o->trusted, 1);
  if (o->world_size) setenv("CICADA_WORLD_SIZE", o->world_size, 1);
  if (o->rank) setenv("CICADA_RANK", o->rank, 1);
  if (o->root_address) setenv("CICADA_ROOT_ADDRESS", o->root_address, 1);
  if (o->address) setenv("CICADA_ADDRESS", o->address, 1);
  if (o->token) setenv("CICADA_TOKEN", o->token, 1);
  return 0;
}

static int run_script(int argc, char **argv, int script);

/* The launcher: n players on this host, each running the script. The root
 * listener is bound here, before any player starts, so no player can miss
 * it; rank 0 inherits it. Returns the exit code. */
static int launch_players(int n, int argc, char **argv, int script) {
  pid_t *pids = calloc((size_t)n, sizeof *pids);
  pid_t parent = getpid();
  char why[256], url[64], num[32];
  unsigned char secret[16];
  char token[40];
  int root_fd = -1, failures = 0;
  if (!pids) { cc_log_error(progname, -1, "out of memory"); return 1; }
  if (n > 1) {
    root_fd = cc_listen_on("127.0.0.1", 0, why, sizeof why);
    if (root_fd < 0) { cc_log_error(progname, -1, "launcher %s", why); free(pids); return 1; }
    snprintf(url, sizeof url, "tcp://127.0.0.1:%u", (unsigned)cc_listen_port(root_fd));
    setenv("CICADA_ROOT_ADDRESS", url, 1);
    setenv("CICADA_ADDRESS", "tcp://127.0.0.1:0", 1);   /* local players stay local */
    if (!getenv("CICADA_TOKEN")) {
      if (RAND_bytes(secret, sizeof secret) != 1) memset(secret, 0, sizeof secret);
      for (int i = 0; i < 16; i++) snprintf(token + 2 * i, 3, "%02x", secret[i]);
      setenv("CICADA_TOKEN", token, 1);
    }
  }
  snprintf(num, sizeof num, "%d", n);
  setenv("CICADA_WORLD_SIZE", num, 1);
  fflush(NULL);
  for (int r = 0; r < n; r++) {
    pid_t pid = fork();
    if (pid < 0) {
      cc_log_error(progname, -1, "cannot start player %d: %s", r, strerror(errno));
      for (int k = 0; k < r; k++) kill(pids[k], SIGKILL);
      n = r;
      failures++;
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);   /* no player outlives the launcher */
      if (getppid() != parent) _exit(1);
      snprintf(num, sizeof num, "%d", r);
      setenv("CICADA_RANK", num, 1);
      if (r == 0 && root_fd >= 0) {
        snprintf(num, sizeof num, "%d", root_fd);
        setenv("CICADA_ROOT_FD", num, 1);
      } else if (root_fd >= 0) {
        close(root_fd);
      }
      player_rank = r;
      free(pids);
      exit(run_script(argc, argv, script));
    }
    pids[r] = pid;
  }
  if (root_fd >= 0) close(root_fd);
  {
    char list[512] = "";
    size_t used = 0;
    int *codes = calloc((size_t)(n ? n : 1), sizeof *codes);
    if (!codes) {
      cc_log_error(progname, -1, "out of memory waiting for the players");
      for (int r = 0; r < n; r++) kill(pids[r], SIGKILL);
      free(pids);
      return 1;
    }
    /* A player frozen (SIGSTOP) after the others ended is killed after the
     * grace period, as in cicada.run. */
    cc_launch_wait_pids(pids, n, CC_LAUNCH_DEFAULT_GRACE_S, codes);
    for (int r = 0; r < n; r++) {
      if (codes[r] == 0) continue;
      failures++;
      if (used + 40 < sizeof list) {
        if (codes[r] > 0)
          used += (size_t)snprintf(list + used, sizeof list - used, "%s%d (exit code %d)",
                                   used ? ", " : "", r, codes[r]);
        else
          used += (size_t)snprintf(list + used, sizeof list - used, "%s%d (signal %d)",
                                   used ? ", " : "", r, -codes[r]);
      }
    }
    free(codes);
    if (used) cc_log_error(progname, -1, "player%s %s failed", strchr(list, ',') ? "s" : "", list);
  }
  free(pids);
  return failures ? 1 : 0;
}

/* Run the script in a fresh Lua state; the exit code. */
static int run_script(int argc, char **argv, int script) {
  lua_State *L = luaL_newstate();
  struct run_args a = {argc, argv, script};
  int status, ok;
  if (!L) { cc_log_error(progname, -1, "cannot create a Lua state"); return 1; }
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 1, 0);
  ok = lua_toboolean(L, -1);
  report(L, status);
  if (status != LUA_OK || !ok) {
    /* A player whose script failed has failed: leave without the goodbye
     * that closing its communicators would send, so that the others see
     * it as failed rather than finished. */
    fflush(NULL);
    _exit(1);
  }
  lua_close(L);
  return 0;
}

/* The value of option argv[*i] ("--rank 2" or "--rank=2"), or NULL after
 * saying what is missing. */
static const char *option_value(int argc, char **argv, int *i, const char *name) {
  size_t len = strlen(name);
  if (strncmp(argv[*i], name, len) == 0 && argv[*i][len] == '=') return argv[*i] + len + 1;
  if (*i + 1 >= argc) {
    cc_log_error(progname, -1, "option '%s' needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

static bool is_option(const char *arg, const char *name) {
  size_t len = strlen(name);
  return strncmp(arg, name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

/* cicada-lua credentials RANK [DIR] */
static int write_credentials(int argc, char **argv) {
  const char *dir = argc > 3 ? argv[3] : ".";
  char identity[4096], cert[4096], why[256];
  long rank;
  if (argc < 3 || argc > 4) {
    cc_log_error(progname, -1, "usage: %s credentials RANK [DIR]", progname);
    return 2;
  }
  if (parse_int("rank", argv[2], &rank) != 0) return 2;
  if (rank < 0) {
    cc_log_error(progname, -1, "rank %ld is negative", rank);
    return 2;
  }
  snprintf(identity, sizeof identity, "%s/player-%ld.pem", dir, rank);
  snprintf(cert, sizeof cert, "%s/player-%ld.crt", dir, rank);
  if (cc_tls_write_credentials((int)rank, identity, cert, why, sizeof why) != 0) {
    cc_log_error(progname, -1, "%s", why);
    return 1;
  }
  printf("%s: the key and certificate of player %ld (for --identity; keep it secret)\n"
         "%s: its certificate (for the other players' --trusted)\n", identity, rank, cert);
  return 0;
}

int main(int argc, char **argv) {
  world_options o = {0};
  int script = 0;
  if (argc >= 2 && strcmp(argv[1], "credentials") == 0) return write_credentials(argc, argv);
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL, *name = NULL;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
    if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
      printf("cicada-lua %s (%s)\n", CICADA_VERSION, LUA_RELEASE);
      return 0;
    }
    if (is_option(argv[i], "-n")) { slot = &o.world_size; name = "-n"; }
    else if (is_option(argv[i], "--rank")) { slot = &o.rank; name = "--rank"; }
    else if (is_option(argv[i], "--root-address")) { slot = &o.root_address; name = "--root-address"; }
    else if (is_option(argv[i], "--address")) { slot = &o.address; name = "--address"; }
    else if (is_option(argv[i], "--token")) { slot = &o.token; name = "--token"; }
    else if (is_option(argv[i], "--token-file")) { slot = &o.token_file; name = "--token-file"; }
    else if (is_option(argv[i], "--identity")) { slot = &o.identity; name = "--identity"; }
    else if (is_option(argv[i], "--trusted")) { slot = &o.trusted; name = "--trusted"; }
    if (slot) {
      if (!(*slot = option_value(argc, argv, &i, name))) return 2;
      continue;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      cc_log_error(progname, -1, "unknown option '%s'", argv[i]);
      usage(stderr);
      return 2;
    }
    script = i;
    break;
  }
  if (script == 0) {
    cc_log_error(progname, -1, "no script given");
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[script], "-") != 0 && access(argv[script], R_OK) != 0) {
    cc_log_error(progname, -1, "cannot read the script '%s': %s", argv[script], strerror(errno));
    return 2;
  }
  if (o.world_size && !o.rank) {     /* the launcher */
    long n;
    if (export_world(&o, true) != 0) return 2;
    if (strcmp(argv[script], "-") == 0) {
      cc_log_error(progname, -1,
                   "the launcher's players cannot all read the script from standard input");
      return 2;
    }
    n = strtol(o.world_size, NULL, 10);
    return launch_players((int)n, argc, argv, script);
  }
  if (export_world(&o, false) != 0) return 2;
  return run_script(argc, argv, script);
}
