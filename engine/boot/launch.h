/*
 * launch.h - local multi-process runs: listening sockets bound before the
 * fork, one child process per player, and the parent's wait for their
 * results and exit statuses. No Lua, no engine threads in the parent.
 */
#ifndef CICADA_LAUNCH_H
#define CICADA_LAUNCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cc_player_result {
  pid_t pid;
  int exitcode;        /* exit status, or the negative signal number */
  uint8_t *data;       /* bytes the player reported (malloc'd), or NULL */
  size_t len;
} cc_player_result;

typedef struct cc_launch {
  int n;
  int *listen_fds;     /* one bound loopback listener per player */
  uint16_t *ports;
  int *result_fds;     /* parent: read end per player */
  int my_result_fd;    /* child: write end */
  pid_t *pids;
  uint64_t token;
} cc_launch;

/* Bind n loopback listeners. Returns 0, or -1 with a message. */
int cc_launch_prepare(cc_launch *l, int n, char *err, size_t errsz);

/* Fork the players. Returns -1 on failure (with a message; children already
 * started are killed), 0 in the parent, 1 in a child with *rank set and
 * every descriptor of the other players closed. */
int cc_launch_fork(cc_launch *l, int *rank, char *err, size_t errsz);

/* Child: hand the result bytes to the parent. */
int cc_launch_report(cc_launch *l, const void *data, size_t len);

/* Parent: collect every player's result and exit status. A player stopped
 * (SIGSTOP) after every other player has ended is killed after grace_s. */
void cc_launch_wait(cc_launch *l, double grace_s, cc_player_result *results);

/* Release descriptors and memory (parent, or a child before it exits). */
void cc_launch_free(cc_launch *l);

#endif
