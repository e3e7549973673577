/*
 * launch.h - local multi-process runs: listening sockets bound before the
 * fork, one child process per player, and the parent's wait for their
 * results and exit statuses. No Lua, no engine threads in the parent.
 *
 * This is the one launch policy of the engine: the C API's cicada_run and
 * the Lua binding's cicada.run both go through cc_launch_start, give each
 * player its settings with cc_launch_player_settings, end a player that
 * cannot start with cc_launch_player_abort, and wait with
 * cc_launch_collect, which kills players left frozen (SIGSTOP) once every
 * other player has ended and grace_s has passed, and, when the launch has
 * a time limit, stops every player still running once it passes (SIGTERM,
 * then SIGKILL after grace_s). The cicada-lua launcher, which forks players
 * of its own, waits for them with the same policy (cc_launch_wait_pids).
 */
#ifndef CICADA_LAUNCH_H
#define CICADA_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "comm/comm.h"

/* Replacement players (comm:grow) one run may start, all grows together. */
#define CC_LAUNCH_MAX_JOINERS 64
/* The longest grow request: its header and one port per member fit in
 * PIPE_BUF, so that requests of several players never mix in the pipe. */
#define CC_GROW_REQUEST_MAX 4096
#define CC_GROW_NAME_BYTES 64

/* How long frozen players may outlive the others before they are killed. */
#define CC_LAUNCH_DEFAULT_GRACE_S 1.0
/* The exit code of a player whose engine or world could not start. */
#define CC_LAUNCH_EXIT_STARTUP_FAILED 70

typedef struct cc_player_result {
  pid_t pid;
  int exitcode;        /* exit status, or the negative signal number */
  uint8_t *data;       /* bytes the player reported (malloc'd), or NULL */
  size_t len;
  bool timed_out;      /* still running when the time limit passed, so stopped */
} cc_player_result;

/* What the members of a communicator ask the launcher for when it grows
 * (comm:grow): count newcomers, to take ranks members .. members+count-1 of
 * a world whose members listen at ports (loopback) for them. */
typedef struct cc_grow_request {
  int members;
  int count;
  double startup_timeout_s; /* the grown world's startup limit */
  double timeout_s;         /* its communicator's timeout */
  uint64_t world_id;        /* a world met through the rendezvous (cicada-lua
                             * -n): the grown world's links' key is derived
                             * from the token and this fresh id; 0 in a
                             * cicada.run world, whose key is its token's */
  char name[CC_GROW_NAME_BYTES];
  uint16_t ports[];         /* members + count: the members' listeners, then
                             * (filled by the launcher) the newcomers' */
} cc_grow_request;

struct cc_launch;
/* Called by the parent's wait when a grow request arrives: start the
 * newcomers (cc_launch_grow). Returns only in the parent. */
typedef void (*cc_launch_grow_fn)(struct cc_launch *l, const cc_grow_request *r, void *ctx);

typedef struct cc_launch {
  int n;               /* players started so far, replacements included */
  int cap;             /* room in the arrays: n + CC_LAUNCH_MAX_JOINERS */
  int grow_rd;         /* parent: read end of the grow request pipe */
  int grow_wr;         /* parent and every player: its write end */
  cc_launch_grow_fn on_grow; /* parent: how to start newcomers, or NULL */
  void *grow_ctx;
  cc_grow_request *joined; /* a newcomer: the request it was started for
                            * (ports complete), else NULL */
  int *listen_fds;     /* one bound loopback listener per player */
  uint16_t *ports;
  int *result_fds;     /* parent: read end per player */
  int my_result_fd;    /* child: write end */
  pid_t *pids;
  const char **hosts;  /* "127.0.0.1" for every player */
  uint64_t token;
  double time_limit_s; /* 0: none; else players still running this long after
                        * the wait began are stopped. Set before the wait. */
} cc_launch;

/* Bind the listeners and fork the n players: cc_launch_prepare then
 * cc_launch_fork, releasing everything on failure. -1 with a message, 0 in
 * the parent, 1 in a child with *rank set. */
int cc_launch_start(cc_launch *l, int n, int *rank, char *err, size_t errsz);

/* Child: fill the world's part of s for player rank (rank, world size,
 * token, loopback hosts and ports) and hand it the player's listener, which
 * the engine then owns. The caller sets timings, logging and TLS. */
void cc_launch_player_settings(cc_launch *l, int rank, cc_settings *s);

/* Child: write a grow request to the parent (members' ports given,
 * newcomers' left for the parent). 0, or -1 with errno. */
int cc_launch_request_grow(int grow_wr, const cc_grow_request *r);

/* Parent, from its on_grow: bind r->count loopback listeners and fork the
 * newcomers. -1 with a message (none started), 0 in the parent (they are
 * waited for with the others), 1 in a newcomer with *rank set (its rank in
 * the grown world) and l->joined filled. */
int cc_launch_grow(cc_launch *l, const cc_grow_request *r, int *rank, char *err, size_t errsz);

/* A newcomer: fill the world's part of s as cc_launch_player_settings
 * does, for the grown world (hosts are l->hosts, loopback). */
void cc_launch_joiner_settings(cc_launch *l, int rank, cc_settings *s);

/* Child: say why the player could not start ("cicada: player 2: ...") and
 * exit with CC_LAUNCH_EXIT_STARTUP_FAILED. */
_Noreturn void cc_launch_player_abort(int rank, const char *why);

/* Parent: wait for every player (cc_launch_wait's policy), then release
 * the launch. Returns the n results (free each data, then the array); a
 * player that reported nothing has data == NULL and len == 0. NULL if out
 * of memory, after killing and reaping the players. */
cc_player_result *cc_launch_collect(cc_launch *l, double grace_s);
/* The same, with *count set to the number of results: the players started
 * first, then the newcomers of every grow in the order they were started. */
cc_player_result *cc_launch_collect_all(cc_launch *l, double grace_s, int *count);

/* Wait for n players forked by another launcher (cicada-lua -n) under the
 * same policy, with a time limit (0: none) counted from this call;
 * exitcodes[i] as in cc_player_result, timed_out[i] true for a player the
 * time limit stopped. */
void cc_launch_wait_pids(const pid_t *pids, int n, double grace_s, double time_limit_s,
                         int *exitcodes, bool *timed_out);

/* Bind n loopback listeners (cc_launch_init, then the listeners).
 * Returns 0, or -1 with a message. */
int cc_launch_prepare(cc_launch *l, int n, char *err, size_t errsz);

/* Room for n players and the grow request pipe, without listeners: for the
 * cicada-lua launcher, whose players meet through the rendezvous and which
 * forks them itself (setting l->pids[0 .. n-1]), then waits with
 * cc_launch_collect_all to serve their grow requests. 0, or -1 with a
 * message. */
int cc_launch_init(cc_launch *l, int n, char *err, size_t errsz);

/* Fork the players. Returns -1 on failure (with a message; children already
 * started are killed), 0 in the parent, 1 in a child with *rank set and
 * every descriptor of the other players closed. */
int cc_launch_fork(cc_launch *l, int *rank, char *err, size_t errsz);

/* Child: hand the result bytes to the parent. */
int cc_launch_report(cc_launch *l, const void *data, size_t len);

/* Parent: collect every player's result and exit status. A player stopped
 * (SIGSTOP) after every other player has ended is killed after grace_s;
 * with l->time_limit_s, every player still running when it passes gets
 * SIGTERM, then SIGKILL grace_s later, and is marked timed_out. */
void cc_launch_wait(cc_launch *l, double grace_s, cc_player_result *results);

/* Release descriptors and memory (parent, or a child before it exits). */
void cc_launch_free(cc_launch *l);

#endif
