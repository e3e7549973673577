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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <openssl/rand.h>

#include "boot/launch.h"
#include "boot/rendezvous.h"
#include "lua/lua_grow.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/status.h"
#include "net/settings.h"
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
          "       %s --join|--rejoin tcp://HOST:PORT [--token-file PATH]\n"
          "                  [--identity PEM --trusted PEM,...] script.lua [args]\n"
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
          "  --time-limit SECONDS  stop every player still running after SECONDS (SIGTERM,\n"
          "                        then SIGKILL 1 s later) and exit 124 (CICADA_TIME_LIMIT)\n"
          "  --timeout SECONDS     default receive timeout of connect/run (CICADA_TIMEOUT)\n"
          "  --startup-timeout SECONDS\n"
          "                        how long players wait for each other to connect\n"
          "                        (CICADA_STARTUP_TIMEOUT)\n"
          "  --heartbeat-interval SECONDS, --heartbeat-timeout SECONDS\n"
          "                        liveness checks of every link (CICADA_HEARTBEAT_INTERVAL,\n"
          "                        CICADA_HEARTBEAT_TIMEOUT)\n"
          "  --log-level LEVEL     debug, info, warning, error or critical, for the\n"
          "                        library's loggers (CICADA_LOG_LEVEL)\n"
          "  --join URL            start a newcomer for a grow across hosts: meet the\n"
          "                        members waiting at URL (comm:grow{address=}); its\n"
          "                        cicada.connect() returns the grown world (CICADA_JOIN)\n"
          "  --rejoin URL          --join under this player's own --identity: in a TLS\n"
          "                        world it takes back the rank its certificate names\n"
          "  --tag-output          with -n, prefix each line a player prints with \"[RANK] \"\n"
          "                        (a newcomer of a grow: \"[+RANK] \", its rank in the\n"
          "                        grown world)\n"
          "  --stats               as each player ends, print its elapsed time and the\n"
          "                        messages and bytes it sent and received (CICADA_STATS)\n"
          "\n"
          "Under mpirun, srun or a PMI launcher, rank and world size come from\n"
          "OMPI_COMM_WORLD_RANK/SIZE, SLURM_PROCID/NTASKS or PMI_RANK/SIZE:\n"
          "  mpirun -n 4 cicada-lua --root-address tcp://HOST:PORT script.lua\n"
          "\n"
          "exit codes: 0 the script (every player) finished; 1 the script raised or a\n"
          "player failed; 2 a bad command line; 124 the time limit passed\n"
          "\n"
          "credentials RANK [DIR]  write DIR/player-RANK.pem (a new key and a self-signed\n"
          "                        certificate, for --identity) and DIR/player-RANK.crt\n"
          "                        (the certificate alone, for the others' --trusted)\n"
          "\n"
          "In the script: local cicada = require(\"cicada\"), then for example\n"
          "  cicada.run{world_size=4, fn=function(comm) ... end}\n"
          "or, for players started by this command,\n"
          "  local comm = cicada.connect()\n",
          progname, progname, progname, progname, progname);
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

/* The script raised: if it joined a world, tell the other players why
 * before this player goes (cicada.core._announce_failure). */
static void announce_failure(lua_State *L, const char *msg) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (msg && lua_getfield(L, -1, "cicada.core") == LUA_TTABLE &&
      lua_getfield(L, -1, "_announce_failure") == LUA_TFUNCTION) {
    lua_pushstring(L, msg);
    lua_pcall(L, 1, 0, 0);
  }
  lua_settop(L, top);
}

struct run_args { int argc; char **argv; int script; };

/* --stats (CICADA_STATS): once the script has ended, well or not, each
 * world it joined writes this player's traffic line (cicada.print_stats). */
static void print_stats(lua_State *L) {
  const char *v = getenv("CICADA_STATS");
  if (!v || !*v) return;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "cicada") == LUA_TTABLE &&
      lua_getfield(L, -1, "print_stats") == LUA_TFUNCTION) {
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
      cc_log_error(progname, player_rank, "--stats: %s", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 3);
}

static int pmain(lua_State *L) {
  struct run_args *a = lua_touserdata(L, 1);
  const char *fname = strcmp(a->argv[a->script], "-") == 0 ? NULL : a->argv[a->script];
  int nargs = a->argc - a->script - 1, status, base, ok;
  luaL_checkversion(L);
  luaL_openlibs(L);
  setup_paths(L);
  create_arg_table(L, a->argv, a->argc, a->script);
  lua_gc(L, LUA_GCGEN, 0, 400); /* major collections after 400% growth, not 100% */
  lua_pushcfunction(L, msghandler);
  base = lua_gettop(L);
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    luaL_checkstack(L, nargs, "too many arguments to script");
    for (int i = 1; i <= nargs; i++) lua_pushstring(L, a->argv[a->script + i]);
    status = lua_pcall(L, nargs, 0, base);
    if (status != LUA_OK) announce_failure(L, lua_tostring(L, -1));
  }
  ok = report(L, status) == LUA_OK;
  print_stats(L);
  lua_pushboolean(L, ok);
  return 1;
}

/* ==== Players ================================================================= */

typedef struct world_options {
  const char *world_size, *rank, *root_address, *address, *token, *identity, *trusted;
  const char *time_limit, *timeout, *startup_timeout, *heartbeat_interval, *heartbeat_timeout;
  const char *log_level, *join;
  bool rejoin;                  /* --rejoin: --join under this player's own identity */
  bool tag_output;
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

/* ==== Timings and log level ================================================= */

/* Each timing option with the variable that carries it to the script's
 * cicada.connect and cicada.run (lua/cicada/init.lua reads them). */
typedef struct timing_option {
  const char *flag, *var;
  size_t offset;          /* of the value in world_options */
} timing_option;

static const timing_option timing_options[] = {
  {"--time-limit", "CICADA_TIME_LIMIT", offsetof(world_options, time_limit)},
  {"--timeout", "CICADA_TIMEOUT", offsetof(world_options, timeout)},
  {"--startup-timeout", "CICADA_STARTUP_TIMEOUT", offsetof(world_options, startup_timeout)},
  {"--heartbeat-interval", "CICADA_HEARTBEAT_INTERVAL",
   offsetof(world_options, heartbeat_interval)},
  {"--heartbeat-timeout", "CICADA_HEARTBEAT_TIMEOUT", offsetof(world_options, heartbeat_timeout)},
};
#define N_TIMING_OPTIONS (sizeof timing_options / sizeof timing_options[0])

static const char **timing_slot(world_options *o, size_t i) {
  return (const char **)((char *)o + timing_options[i].offset);
}

static int parse_seconds(const char *what, const char *v, double *out) {
  char *end;
  errno = 0;
  *out = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || errno != 0 || !(*out > 0) || *out > 1e9) {
    cc_log_error(progname, -1, "%s '%s' is not a positive number of seconds", what, v);
    return -1;
  }
  return 0;
}

/* Check every timing (option, else variable) and export the options; the
 * heartbeat pair is checked together, with the engine's defaults. */
static int export_timings(world_options *o) {
  cc_settings dflt;
  cc_error e;
  double hb_interval_s, hb_timeout_s;
  cc_settings_default(&dflt);
  hb_interval_s = dflt.heartbeat_interval_s;
  hb_timeout_s = dflt.heartbeat_timeout_s;
  for (size_t i = 0; i < N_TIMING_OPTIONS; i++) {
    const char **slot = timing_slot(o, i);
    const char *v = setting(*slot, timing_options[i].var);
    char what[96];
    double secs;
    if (!v) continue;
    snprintf(what, sizeof what, "%s (%s)", timing_options[i].flag, timing_options[i].var);
    if (parse_seconds(what, v, &secs) != 0) return -1;
    if (slot == &o->heartbeat_interval) hb_interval_s = secs;
    if (slot == &o->heartbeat_timeout) hb_timeout_s = secs;
    setenv(timing_options[i].var, v, 1);
  }
  if (cc_check_heartbeat(hb_interval_s, hb_timeout_s, &e) != CC_OK) {
    cc_log_error(progname, -1, "%s (--heartbeat-interval, --heartbeat-timeout)", e.message);
    return -1;
  }
  return 0;
}

/* The time limit in seconds (checked by export_timings), or 0 for none. */
static double time_limit(const world_options *o) {
  const char *v = setting(o->time_limit, "CICADA_TIME_LIMIT");
  return v ? strtod(v, NULL) : 0;
}

/* --log-level LEVEL (CICADA_LOG_LEVEL): the level of the library's loggers. */
static int export_log_level(const world_options *o) {
  static const char *const levels[] = {"debug", "info", "warning", "error", "critical"};
  const char *v = setting(o->log_level, "CICADA_LOG_LEVEL");
  if (!v) return 0;
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcasecmp(v, levels[i]) == 0) {
      setenv("CICADA_LOG_LEVEL", v, 1);
      return 0;
    }
  cc_log_error(progname, -1, "log level '%s' (--log-level, CICADA_LOG_LEVEL) is not one of "
               "debug, info, warning, error, critical", v);
  return -1;
}

/* ==== Cluster launchers ====================================================== */

/* A player started by a cluster launcher (Slurm's srun, Open MPI's mpirun,
 * a PMI launcher) finds its rank and the world size in that launcher's
 * variables. They count only when the command line and CICADA_* say
 * nothing of rank and world size: `cicada-lua -n 4` inside a Slurm job
 * still starts four local players. */
static const struct { const char *rank, *size, *who; } cluster_vars[] = {
  {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "Open MPI"},
  {"PMI_RANK", "PMI_SIZE", "PMI"},
  {"SLURM_PROCID", "SLURM_NTASKS", "Slurm"},
};

static void take_cluster_rank(world_options *o) {
  if (o->rank || o->world_size || setting(NULL, "CICADA_RANK") ||
      setting(NULL, "CICADA_WORLD_SIZE"))
    return;
  for (size_t i = 0; i < sizeof cluster_vars / sizeof cluster_vars[0]; i++) {
    const char *r = setting(NULL, cluster_vars[i].rank), *n = setting(NULL, cluster_vars[i].size);
    if (r && n) {
      o->rank = r;
      o->world_size = n;
      return;
    }
  }
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
  if (o->join && (launcher || rank_s || o->world_size)) {
    cc_log_error(progname, -1, "--%s starts one newcomer, which the members seat: give it "
                 "neither -n nor --rank", o->rejoin ? "rejoin" : "join");
    return -1;
  }
  if (o->rejoin && !(setting(o->identity, "CICADA_IDENTITY") &&
                     setting(o->trusted, "CICADA_TRUSTED"))) {
    cc_log_error(progname, -1, "--rejoin brings a player of a TLS world back under its own "
                 "identity: give it --identity and --trusted (else use --join)");
    return -1;
  }
  if (o->join && cc_url_parse(o->join, 0, &a, why, sizeof why) != 0) {
    cc_log_error(progname, -1, "join %s (--join, CICADA_JOIN)", why);
    return -1;
  }
  if (check_pem_files(setting(o->identity, "CICADA_IDENTITY"), setting(o->trusted, "CICADA_TRUSTED"))
      != 0)
    return -1;
  if (export_timings(o) != 0 || export_log_level(o) != 0) return -1;
  if (o->identity) setenv("CICADA_IDENTITY", o->identity, 1);
  if (o->trusted) setenv("CICADA_TRUSTED", o->trusted, 1);
  if (o->world_size) setenv("CICADA_WORLD_SIZE", o->world_size, 1);
  if (o->rank) setenv("CICADA_RANK", o->rank, 1);
  if (o->root_address) setenv("CICADA_ROOT_ADDRESS", o->root_address, 1);
  if (o->address) setenv("CICADA_ADDRESS", o->address, 1);
  if (o->token) setenv("CICADA_TOKEN", o->token, 1);
  if (o->join) setenv("CICADA_JOIN", o->join, 1);
  return 0;
}

static int run_script(int argc, char **argv, int script);

/* ==== Exit codes ============================================================== */

/* 0: every player (or the script) finished; 1: the script raised or a
 * player failed; 2: a bad command line; 124 (as timeout(1)): the time
 * limit passed and players were stopped. */
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_TIME_LIMIT 124

/* ==== Tagged output (--tag-output) ============================================ */

/* Each player's stdout and stderr go through a pipe to a thread of the
 * launcher, which writes every line with the player's rank in front:
 * "[2] line". The newcomers of a grow (comm:grow) get pipes of their own
 * when the launcher forks them; their lines carry their rank in the grown
 * world after a plus: "[+3] line". A line longer than the buffer is cut
 * into pieces.
 *
 * The launcher forks newcomers while it waits, and a process must not
 * fork while another of its threads runs (the newcomer would inherit
 * whatever that thread held): the main thread pauses the relay thread
 * (relay_pause: a flag, a byte on the wake pipe, a join), forks, gives the
 * newcomers' read ends their slots, and starts the relay thread again
 * (relay_resume). So the slots have one owner at a time. */
#define RELAY_LINE_BYTES 4096
/* After the players have ended, how long the relay waits for output from
 * processes they started that still hold a pipe. */
#define RELAY_LINGER_S 1.0

typedef struct relay {
  int players;             /* the players started first */
  int cap;                 /* slots: 2 per player, first ones and newcomers */
  /* The slots: the relay thread's while it runs, else the main thread's. */
  int *fds;                /* read end per slot ([2p] stdout, [2p+1] stderr
                            * of player p); -1 when free or closed */
  char (*buf)[RELAY_LINE_BYTES];
  size_t *len;
  int *tags;               /* a newcomer slot's rank in its grown world */
  int newcomers;           /* main thread: newcomers given slots so far */
  int wake_rd;             /* relay thread: polled, to notice pause at once */
  int wake_wr;             /* main thread */
  atomic_bool pause;       /* set by the main thread: the relay thread returns,
                            * leaving the slots as they are */
  atomic_bool players_done;/* set by the main thread once every player has ended */
  pthread_t thread;
  bool running;            /* main thread */
} relay;

static void write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    len -= (size_t)w;
  }
}

/* "[2] line" for a first player, "[+3] line" for a newcomer. */
static void relay_emit(const relay *r, int i, const char *line, size_t len) {
  char out[RELAY_LINE_BYTES + 32];
  int k = snprintf(out, sizeof out, i / 2 < r->players ? "[%d] " : "[+%d] ",
                   i / 2 < r->players ? i / 2 : r->tags[i]);
  memcpy(out + k, line, len);
  out[(size_t)k + len] = '\n';
  write_all(i % 2 == 0 ? STDOUT_FILENO : STDERR_FILENO, out, (size_t)k + len + 1);
}

/* Write the complete lines of slot i's buffer; with flush, the rest too. */
static void relay_lines(relay *r, int i, bool flush) {
  char *b = r->buf[i];
  size_t start = 0;
  for (size_t k = 0; k < r->len[i]; k++)
    if (b[k] == '\n') { relay_emit(r, i, b + start, k - start); start = k + 1; }
  if (start == 0 && r->len[i] == RELAY_LINE_BYTES) { relay_emit(r, i, b, r->len[i]); start = r->len[i]; }
  if (flush && start < r->len[i]) { relay_emit(r, i, b + start, r->len[i] - start); start = r->len[i]; }
  memmove(b, b + start, r->len[i] - start);
  r->len[i] -= start;
}

static void *relay_main(void *arg) {
  relay *r = arg;
  struct pollfd *p = calloc((size_t)r->cap + 1, sizeof *p);
  double quiet_since = -1;
  if (!p) return NULL;
  for (;;) {
    int np = 0, ready;
    if (atomic_load(&r->pause)) { free(p); return NULL; }
    for (int i = 0; i < r->cap; i++)
      if (r->fds[i] >= 0) { p[np].fd = r->fds[i]; p[np].events = POLLIN; np++; }
    /* Every player has ended and no pipe is left (until then a player may
     * still ask for newcomers, whose pipes come later). */
    if (np == 0 && atomic_load(&r->players_done)) break;
    p[np].fd = r->wake_rd;
    p[np].events = POLLIN;
    p[np].revents = 0;
    ready = poll(p, (nfds_t)np + 1, 100);
    if (ready == 0 && atomic_load(&r->players_done)) {
      if (quiet_since < 0) quiet_since = cc_now();
      else if (cc_now() - quiet_since > RELAY_LINGER_S) break;
    }
    for (int k = 0; k < np && ready > 0; k++) {
      int i = 0;
      ssize_t got;
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      while (i < r->cap && r->fds[i] != p[k].fd) i++;
      if (i == r->cap) continue;
      got = read(r->fds[i], r->buf[i] + r->len[i], RELAY_LINE_BYTES - r->len[i]);
      if (got > 0) { r->len[i] += (size_t)got; relay_lines(r, i, false); quiet_since = -1; }
      else if (got == 0 || errno != EINTR) { relay_lines(r, i, true); close(r->fds[i]); r->fds[i] = -1; }
    }
  }
  for (int i = 0; i < r->cap; i++)
    if (r->fds[i] >= 0) { relay_lines(r, i, true); close(r->fds[i]); r->fds[i] = -1; }
  free(p);
  return NULL;
}

static int relay_init(relay *r, int n) {
  int wp[2];
  memset(r, 0, sizeof *r);
  r->wake_rd = r->wake_wr = -1;
  r->players = n;
  r->cap = 2 * (n + CC_LAUNCH_MAX_JOINERS);
  r->fds = malloc((size_t)r->cap * sizeof *r->fds);
  r->buf = malloc((size_t)r->cap * sizeof *r->buf);
  r->len = calloc((size_t)r->cap, sizeof *r->len);
  r->tags = calloc((size_t)r->cap, sizeof *r->tags);
  atomic_init(&r->pause, false);
  atomic_init(&r->players_done, false);
  if (!r->fds || !r->buf || !r->len || !r->tags) return -1;
  for (int i = 0; i < r->cap; i++) r->fds[i] = -1;
  if (pipe2(wp, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  r->wake_rd = wp[0];
  r->wake_wr = wp[1];
  return 0;
}

/* Before forking player rank: its two pipes; the write ends in w. */
static int relay_pipes(relay *r, int rank, int w[2]) {
  int a[2], b[2];
  if (pipe(a) != 0) return -1;
  if (pipe(b) != 0) { close(a[0]); close(a[1]); return -1; }
  r->fds[2 * rank] = a[0];
  r->fds[2 * rank + 1] = b[0];
  w[0] = a[1];
  w[1] = b[1];
  return 0;
}

/* In a player or a newcomer, forked while the main thread owns the slots:
 * close the relay's descriptors; stdout and stderr become the write ends
 * in w. */
static void relay_child(relay *r, const int w[2]) {
  for (int i = 0; i < r->cap; i++) if (r->fds[i] >= 0) close(r->fds[i]);
  close(r->wake_rd);
  close(r->wake_wr);
  dup2(w[0], STDOUT_FILENO);
  dup2(w[1], STDERR_FILENO);
  close(w[0]);
  close(w[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);   /* a stopped player's lines are not lost */
}

static void relay_start(relay *r) {
  int rc = pthread_create(&r->thread, NULL, relay_main, r);
  r->running = rc == 0;
  if (rc != 0) {
    /* Nobody would read the pipes: close them rather than let players
     * block on a full one. */
    cc_log_error(progname, -1, "--tag-output: cannot start the relay: %s", strerror(rc));
    for (int i = 0; i < r->cap; i++) if (r->fds[i] >= 0) { close(r->fds[i]); r->fds[i] = -1; }
  }
}

/* Main thread: stop the relay thread, leaving the slots to this thread
 * (before a fork). True if it was running, to resume it after. */
static bool relay_pause(relay *r) {
  char c = 0;
  if (!r->running) return false;
  atomic_store(&r->pause, true);
  while (write(r->wake_wr, &c, 1) < 0 && errno == EINTR) {}
  pthread_join(r->thread, NULL);
  r->running = false;
  while (read(r->wake_rd, &c, 1) > 0) {}
  atomic_store(&r->pause, false);
  return true;
}

/* Main thread, while the relay is paused: slots for the pipes of the
 * newcomer at rank in its grown world (read ends rd); closed if none is
 * left. */
static void relay_give_newcomer(relay *r, int rank, const int rd[2]) {
  int k = r->newcomers++;
  for (int s = 0; s < 2; s++) {
    int slot = 2 * (r->players + k) + s;
    if (slot >= r->cap) { close(rd[s]); continue; }
    r->fds[slot] = rd[s];
    r->len[slot] = 0;
    r->tags[slot] = rank;
  }
}

static void relay_finish(relay *r) {
  atomic_store(&r->players_done, true);
  if (r->running) pthread_join(r->thread, NULL);
  else if (r->fds) for (int i = 0; i < r->cap; i++) if (r->fds[i] >= 0) close(r->fds[i]);
  if (r->wake_rd >= 0) close(r->wake_rd);
  if (r->wake_wr >= 0) close(r->wake_wr);
  free(r->fds);
  free(r->buf);
  free(r->len);
  free(r->tags);
}

/* ==== Supervised players ====================================================== */

/* What the launcher starts: n players of a world (-n N), or the script as
 * one process (a time limit without -n). */
typedef struct launch_plan {
  int n;
  bool world;
  double time_limit_s;   /* 0: none */
  bool tag_output;
} launch_plan;

/* Say how the players ended; the exit code. count players ran: the p->n
 * started first (named by rank), then the newcomers of comm:grow (named
 * by the order they were started in). */
static int summarize(const launch_plan *p, int count, const int *codes, const bool *timed_out) {
  char failed[512] = "", stopped[512] = "";
  size_t nf = 0, ns = 0;
  int count_f = 0, count_s = 0, players_f = 0, players_s = 0;
  for (int r = 0; r < count; r++) {
    const char *who = r < p->n ? "" : "newcomer ";
    int num = r < p->n ? r : r - p->n + 1;
    if (timed_out[r]) {
      count_s++;
      players_s += r < p->n;
      if (ns + 32 < sizeof stopped)
        ns += (size_t)snprintf(stopped + ns, sizeof stopped - ns, "%s%s%d", ns ? ", " : "", who,
                               num);
    } else if (codes[r] != 0) {
      count_f++;
      players_f += r < p->n;
      if (nf + 48 < sizeof failed)
        nf += (size_t)snprintf(failed + nf, sizeof failed - nf, codes[r] > 0 ? "%s%s%d (exit code %d)"
                               : "%s%s%d (signal %d)", nf ? ", " : "", who, num,
                               codes[r] > 0 ? codes[r] : -codes[r]);
    }
  }
  if (!p->world) {
    if (count_s && player_rank >= 0)
      cc_log_error(progname, -1, "time limit of %g s passed: player %d stopped", p->time_limit_s,
                   player_rank);
    else if (count_s)
      cc_log_error(progname, -1, "time limit of %g s passed: the script was stopped",
                   p->time_limit_s);
    if (count_s) return EXIT_TIME_LIMIT;
    return codes[0] > 0 ? codes[0] : codes[0] < 0 ? EXIT_FAILED : 0;
  }
  /* "players 1, 2 (...) failed", "player 2 (...), newcomer 1 (...) failed" */
  if (count_f)
    cc_log_error(progname, -1, "%s%s failed", players_f > 1 ? "players " : players_f ? "player " : "",
                 failed);
  if (count_s) {
    cc_log_error(progname, -1, "time limit of %g s passed: %s%s stopped", p->time_limit_s,
                 players_s > 1 ? "players " : players_s ? "player " : "", stopped);
    return EXIT_TIME_LIMIT;
  }
  return count_f ? EXIT_FAILED : 0;
}

/* What the launcher's wait needs to start the newcomers of a grow. */
typedef struct cli_grow {
  int argc;
  char **argv;
  int script;
  relay *out;            /* --tag-output: the relay (main thread's), else NULL */
} cli_grow;

/* --tag-output: two pipes (stdout, stderr) per newcomer of r, before they
 * are forked; w[i] the write ends, rd[i] the read ends. False (none made)
 * if the pipes cannot be had. */
static bool newcomer_pipes(const cc_grow_request *r, int (*rd)[2], int (*w)[2]) {
  int made = 0;
  if (r->count > CC_LAUNCH_MAX_JOINERS) return false;
  for (; made < r->count; made++) {
    int a[2], b[2];
    if (pipe(a) != 0) break;
    if (pipe(b) != 0) { close(a[0]); close(a[1]); break; }
    rd[made][0] = a[0];
    w[made][0] = a[1];
    rd[made][1] = b[0];
    w[made][1] = b[1];
  }
  if (made == r->count) return true;
  cc_log_error(progname, -1, "--tag-output: no pipes for the newcomers of %s (%s): their "
               "output goes untagged", r->name, strerror(errno));
  for (int i = 0; i < made; i++)
    for (int s = 0; s < 2; s++) { close(rd[i][s]); close(w[i][s]); }
  return false;
}

/* The wait got a grow request from a player's comm:grow: fork the
 * newcomers (cc_launch_grow, as cicada.run does); each runs the script,
 * whose cicada.connect() returns the grown world (comm.joined). Under
 * --tag-output the relay thread is paused while they are forked, and each
 * newcomer writes through pipes of its own, which the relay then tags
 * with its rank in the grown world. */
static void start_newcomers(cc_launch *l, const cc_grow_request *r, void *ctx) {
  const cli_grow *g = ctx;
  char err[256], num[32];
  int rank, before = l->n, rd[CC_LAUNCH_MAX_JOINERS][2], w[CC_LAUNCH_MAX_JOINERS][2];
  bool paused = g->out && relay_pause(g->out);
  bool piped = paused && newcomer_pipes(r, rd, w);
  switch (cc_launch_grow(l, r, &rank, err, sizeof err)) {
  case -1:
    cc_log_error(progname, -1, "cannot grow %s: %s", r->name, err);
    if (piped)
      for (int i = 0; i < r->count; i++)
        for (int s = 0; s < 2; s++) { close(rd[i][s]); close(w[i][s]); }
    break;
  case 1:
    if (piped) {
      int me = rank - r->members;
      for (int i = 0; i < r->count; i++) {
        close(rd[i][0]);
        close(rd[i][1]);
        if (i != me) { close(w[i][0]); close(w[i][1]); }
      }
      relay_child(g->out, w[me]);
    }
    player_rank = rank;
    snprintf(num, sizeof num, "%d", rank);
    setenv("CICADA_RANK", num, 1);
    snprintf(num, sizeof num, "%d", r->members + r->count);
    setenv("CICADA_WORLD_SIZE", num, 1);
    cl_cli_newcomer(l, rank);
    exit(run_script(g->argc, g->argv, g->script));
  default:
    /* The newcomers started (all, or the first ones if a fork failed)
     * write to their pipes: the relay reads them. */
    if (piped)
      for (int i = 0; i < r->count; i++) {
        close(w[i][0]);
        close(w[i][1]);
        if (i < l->n - before) relay_give_newcomer(g->out, r->members + i, rd[i]);
        else { close(rd[i][0]); close(rd[i][1]); }
      }
    break;
  }
  if (paused) relay_start(g->out);
}

/* The launcher: p->n processes on this host, each running the script. For
 * a world, the root listener is bound here, before any player starts, so
 * no player can miss it; rank 0 inherits it. The players of a world ask
 * for newcomers (comm:grow) through the launch's pipe, which the wait
 * serves. Returns the exit code. */
static int launch_players(const launch_plan *p, int argc, char **argv, int script) {
  int n = p->n, count = 0;
  pid_t parent = getpid();
  char why[256], url[64], num[32];
  unsigned char secret[16];
  char token[40];
  int root_fd = -1, rc;
  int *codes;
  bool *timed_out;
  cc_player_result *results;
  cc_launch l;
  cli_grow g = {argc, argv, script, NULL};
  relay out;
  if (relay_init(&out, n) != 0) {
    cc_log_error(progname, -1, "out of memory");
    relay_finish(&out);
    return EXIT_FAILED;
  }
  if (cc_launch_init(&l, n, why, sizeof why) != 0) {
    cc_log_error(progname, -1, "launcher: %s", why);
    relay_finish(&out);
    return EXIT_FAILED;
  }
  if (p->world && n > 1) {
    root_fd = cc_listen_on("127.0.0.1", 0, why, sizeof why);
    if (root_fd < 0) {
      cc_log_error(progname, -1, "launcher %s", why);
      relay_finish(&out);
      cc_launch_free(&l);
      return EXIT_FAILED;
    }
    snprintf(url, sizeof url, "tcp://127.0.0.1:%u", (unsigned)cc_listen_port(root_fd));
    setenv("CICADA_ROOT_ADDRESS", url, 1);
    setenv("CICADA_ADDRESS", "tcp://127.0.0.1:0", 1);   /* local players stay local */
  }
  if (p->world) {
    /* Every world has a token, also a world of one that may grow. */
    if (!getenv("CICADA_TOKEN")) {
      if (RAND_bytes(secret, sizeof secret) != 1) memset(secret, 0, sizeof secret);
      for (int i = 0; i < 16; i++) snprintf(token + 2 * i, 3, "%02x", secret[i]);
      setenv("CICADA_TOKEN", token, 1);
    }
    snprintf(num, sizeof num, "%d", n);
    setenv("CICADA_WORLD_SIZE", num, 1);
  }
  fflush(NULL);
  for (int r = 0; r < n; r++) {
    int w[2] = {-1, -1};
    pid_t pid;
    if (p->tag_output && relay_pipes(&out, r, w) != 0) pid = -1;
    else pid = fork();
    if (pid < 0) {
      cc_log_error(progname, -1, "cannot start player %d: %s", r, strerror(errno));
      for (int k = 0; k < r; k++) kill(l.pids[k], SIGKILL);
      for (int k = 0; k < r; k++) waitpid(l.pids[k], NULL, 0);
      if (w[0] >= 0) { close(w[0]); close(w[1]); }
      if (root_fd >= 0) close(root_fd);
      relay_finish(&out);
      cc_launch_free(&l);
      return EXIT_FAILED;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);   /* no player outlives the launcher */
      if (getppid() != parent) _exit(1);
      if (p->tag_output) relay_child(&out, w);
      if (p->world) {
        snprintf(num, sizeof num, "%d", r);
        setenv("CICADA_RANK", num, 1);
        player_rank = r;
        cl_cli_player(l.grow_wr);
      }
      close(l.grow_rd);
      if (r == 0 && root_fd >= 0) {
        snprintf(num, sizeof num, "%d", root_fd);
        setenv("CICADA_ROOT_FD", num, 1);
      } else if (root_fd >= 0) {
        close(root_fd);
      }
      exit(run_script(argc, argv, script));
    }
    if (w[0] >= 0) { close(w[0]); close(w[1]); }
    l.pids[r] = pid;
  }
  if (root_fd >= 0) close(root_fd);
  if (p->tag_output) {
    relay_start(&out);
    g.out = &out;
  }
  /* A player frozen (SIGSTOP) after the others ended is killed after the
   * grace period, as in cicada.run; with a time limit, every player still
   * running when it passes is stopped. The wait starts the newcomers that
   * players ask for. */
  l.time_limit_s = p->time_limit_s;
  if (p->world) {
    l.on_grow = start_newcomers;
    l.grow_ctx = &g;
  } else {
    close(l.grow_rd);
    l.grow_rd = -1;
  }
  results = cc_launch_collect_all(&l, CC_LAUNCH_DEFAULT_GRACE_S, &count);
  relay_finish(&out);
  if (!results) {
    cc_log_error(progname, -1, "out of memory waiting for the players (they were killed)");
    return EXIT_FAILED;
  }
  codes = calloc((size_t)count + 1, sizeof *codes);
  timed_out = calloc((size_t)count + 1, sizeof *timed_out);
  if (!codes || !timed_out) {
    rc = EXIT_FAILED;
  } else {
    for (int i = 0; i < count; i++) {
      codes[i] = results[i].exitcode;
      timed_out[i] = results[i].timed_out;
    }
    rc = summarize(p, count, codes, timed_out);
  }
  for (int i = 0; i < count; i++) free(results[i].data);
  free(results);
  free(codes);
  free(timed_out);
  return rc;
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

/* glibc's malloc hands a freed block of more than M_MMAP_THRESHOLD back
 * with munmap, and trims the heap's top beyond M_TRIM_THRESHOLD; both
 * thresholds start low (128 KiB) and follow the largest block freed. A
 * large operation (a reveal of a million elements: three 8 MB messages
 * received and a 16 MB result table, at every player) then faults in
 * fresh, zeroed pages each time it runs. With blocks of up to 32 MiB kept
 * in the heap and its top trimmed only beyond 64 MiB free, the memory of
 * one operation serves the next. One arena for every thread: a message
 * is received into memory of the network thread and freed by the
 * script's, so that with an arena per thread the freed messages stayed
 * in the network thread's heap, where the script's arrays and tables
 * could not reuse them, and raised the peak memory of a player. A
 * GLIBC_TUNABLES that sets any of the three is left to decide. */
static void tune_malloc(void) {
#ifdef __GLIBC__
  const char *t = getenv("GLIBC_TUNABLES");
  if (t && (strstr(t, "malloc.mmap_threshold") || strstr(t, "malloc.trim_threshold") ||
            strstr(t, "malloc.arena_max")))
    return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_ARENA_MAX, 1);
#endif
}

int main(int argc, char **argv) {
  world_options o = {0};
  int script = 0;
  tune_malloc();
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
    else if (is_option(argv[i], "--log-level")) { slot = &o.log_level; name = "--log-level"; }
    else if (is_option(argv[i], "--join")) { slot = &o.join; name = "--join"; }
    else if (is_option(argv[i], "--rejoin")) {
      slot = &o.join;
      name = "--rejoin";
      o.rejoin = true;
    }
    else if (strcmp(argv[i], "--tag-output") == 0) { o.tag_output = true; continue; }
    else if (strcmp(argv[i], "--stats") == 0) { setenv("CICADA_STATS", "1", 1); continue; }
    for (size_t k = 0; !slot && k < N_TIMING_OPTIONS; k++)
      if (is_option(argv[i], timing_options[k].flag)) {
        slot = timing_slot(&o, k);
        name = timing_options[k].flag;
      }
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
  take_cluster_rank(&o);
  if (o.world_size && !o.rank) {     /* the launcher */
    launch_plan p = {0, true, 0, o.tag_output};
    if (export_world(&o, true) != 0) return EXIT_USAGE;
    if (strcmp(argv[script], "-") == 0) {
      cc_log_error(progname, -1,
                   "the launcher's players cannot all read the script from standard input");
      return EXIT_USAGE;
    }
    p.n = (int)strtol(o.world_size, NULL, 10);
    p.time_limit_s = time_limit(&o);
    return launch_players(&p, argc, argv, script);
  }
  if (export_world(&o, false) != 0) return EXIT_USAGE;
  if (setting(o.rank, "CICADA_RANK")) player_rank = atoi(setting(o.rank, "CICADA_RANK"));
  if (time_limit(&o) > 0) {          /* the script alone, stopped in time */
    launch_plan p = {1, false, time_limit(&o), false};
    return launch_players(&p, argc, argv, script);
  }
  return run_script(argc, argv, script);
}
