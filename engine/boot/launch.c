/*
 * launch.c - forks the players of a local run and gathers what they report.
 *
 * Every listening socket is bound before the fork, so a player can connect
 * to any other at once: the kernel queues the connection until the peer's
 * I/O thread accepts it. Each child dies with its parent (PR_SET_PDEATHSIG),
 * so no player outlives an interrupted run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "boot/launch.h"
#include "core/clock.h"
#include "core/log.h"

#define READ_CHUNK_BYTES 65536
/* With no pipe left to poll, the wait naps between looks at the players:
 * briefly at first (players that reported are about to exit), then longer
 * (the cicada-lua launcher's players, which report nothing, may run long). */
#define WAIT_NAP_MIN_NS 2000000L
#define WAIT_NAP_MAX_NS 50000000L
#define LOOPBACK_HOST "127.0.0.1"

static int msg(char *err, size_t errsz, const char *what) {
  snprintf(err, errsz, "%s: %s", what, strerror(errno));
  return -1;
}

int cc_launch_prepare(cc_launch *l, int n, char *err, size_t errsz) {
  memset(l, 0, sizeof *l);
  l->n = n;
  l->my_result_fd = -1;
  l->listen_fds = malloc((size_t)n * sizeof *l->listen_fds);
  l->ports = calloc((size_t)n, sizeof *l->ports);
  l->result_fds = malloc((size_t)n * sizeof *l->result_fds);
  l->pids = calloc((size_t)n, sizeof *l->pids);
  l->hosts = malloc((size_t)n * sizeof *l->hosts);
  if (!l->listen_fds || !l->ports || !l->result_fds || !l->pids || !l->hosts) {
    snprintf(err, errsz, "out of memory preparing %d players", n);
    cc_launch_free(l);
    return -1;
  }
  for (int i = 0; i < n; i++) l->listen_fds[i] = l->result_fds[i] = -1;
  for (int i = 0; i < n; i++) l->hosts[i] = LOOPBACK_HOST;
  if (RAND_bytes((unsigned char *)&l->token, sizeof l->token) != 1) l->token = (uint64_t)getpid();
  for (int i = 0; i < n; i++) {
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { cc_launch_free(l); return msg(err, errsz, "socket"); }
    l->listen_fds[i] = fd;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
      msg(err, errsz, "binding a loopback listener");
      cc_launch_free(l);
      return -1;
    }
    l->ports[i] = ntohs(a.sin_port);
  }
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int cc_launch_fork(cc_launch *l, int *rank, char *err, size_t errsz) {
  pid_t parent = getpid();
  fflush(NULL);
  for (int i = 0; i < l->n; i++) {
    int p[2];
    pid_t pid;
    if (pipe2(p, O_CLOEXEC) != 0) goto fail;
    pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); goto fail; }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      close(p[0]);
      for (int j = 0; j < l->n; j++) {
        close_fd(&l->result_fds[j]);
        if (j != i) close_fd(&l->listen_fds[j]);
      }
      l->my_result_fd = p[1];
      *rank = i;
      return 1;
    }
    close(p[1]);
    l->result_fds[i] = p[0];
    l->pids[i] = pid;
  }
  for (int i = 0; i < l->n; i++) close_fd(&l->listen_fds[i]);
  return 0;
fail:
  msg(err, errsz, "starting a player process");
  for (int i = 0; i < l->n; i++)
    if (l->pids[i] > 0) { kill(l->pids[i], SIGKILL); waitpid(l->pids[i], NULL, 0); }
  return -1;
}

int cc_launch_report(cc_launch *l, const void *data, size_t len) {
  const uint8_t *b = data;
  while (len > 0) {
    ssize_t w = write(l->my_result_fd, b, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    len -= (size_t)w;
  }
  return 0;
}


/* Read what is available from a player's pipe; close it at end of file. */
static void drain(cc_launch *l, int i, cc_player_result *r) {
  uint8_t *grown = realloc(r->data, r->len + READ_CHUNK_BYTES);
  ssize_t got;
  if (!grown) { close_fd(&l->result_fds[i]); return; }
  r->data = grown;
  got = read(l->result_fds[i], r->data + r->len, READ_CHUNK_BYTES);
  if (got > 0) r->len += (size_t)got;
  else if (got == 0 || errno != EINTR) close_fd(&l->result_fds[i]);
}

void cc_launch_wait(cc_launch *l, double grace_s, cc_player_result *results) {
  int n = l->n, running = n, open = n;
  bool *done = calloc((size_t)n, sizeof *done);
  double all_but_stopped_since = -1, term_sent_at = -1;
  double deadline = l->time_limit_s > 0 ? cc_now() + l->time_limit_s : -1;
  long nap_ns = WAIT_NAP_MIN_NS;
  struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
  for (int i = 0; i < n; i++) {
    results[i].pid = l->pids[i];
    results[i].exitcode = 0;
    results[i].data = NULL;
    results[i].len = 0;
    results[i].timed_out = false;
  }
  if (!done || !pfds) {
    /* No memory to watch them: kill the players rather than wait blindly. */
    for (int i = 0; i < n; i++) kill(l->pids[i], SIGKILL);
    for (int i = 0; i < n; i++) {
      int status = 0;
      while (waitpid(l->pids[i], &status, 0) < 0 && errno == EINTR) {}
      results[i].exitcode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    running = open = 0;
  }
  while (running > 0 || open > 0) {
    int np = 0, stopped = 0;
    for (int i = 0; i < n; i++)
      if (l->result_fds[i] >= 0) { pfds[np].fd = l->result_fds[i]; pfds[np].events = POLLIN; np++; }
    if (np > 0) poll(pfds, (nfds_t)np, 20);
    for (int i = 0; i < n; i++) {
      if (l->result_fds[i] < 0) continue;
      for (int k = 0; k < np; k++)
        if (pfds[k].fd == l->result_fds[i] && (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)))
          drain(l, i, &results[i]);
    }
    open = 0;
    for (int i = 0; i < n; i++) if (l->result_fds[i] >= 0) open++;
    for (int i = 0; i < n; i++) {
      int status;
      pid_t w;
      if (done[i]) continue;
      w = waitpid(l->pids[i], &status, WNOHANG | WUNTRACED);
      if (w == l->pids[i] && WIFSTOPPED(status)) { stopped++; continue; }
      if (w == l->pids[i] && (WIFEXITED(status) || WIFSIGNALED(status))) {
        done[i] = true;
        running--;
        nap_ns = WAIT_NAP_MIN_NS;
        results[i].exitcode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      } else if (w == 0) {
        /* still running, or stopped and already reported */
        char path[64], state = 0;
        FILE *f;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)l->pids[i]);
        f = fopen(path, "r");
        if (f) {
          if (fscanf(f, "%*d %*s %c", &state) != 1) state = 0;
          fclose(f);
        }
        if (state == 'T' || state == 't') stopped++;
      }
    }
    /* A frozen player never ends by itself: once it is the only kind left,
     * give it a grace period and then kill it. */
    if (running > 0 && stopped == running) {
      if (all_but_stopped_since < 0) all_but_stopped_since = cc_now();
      else if (cc_now() - all_but_stopped_since > grace_s)
        for (int i = 0; i < n; i++) if (!done[i]) kill(l->pids[i], SIGKILL);
    } else {
      all_but_stopped_since = -1;
    }
    /* The time limit: ask every player still running to stop, then make
     * sure of it once the grace period has passed (a frozen or busy player
     * may not act on SIGTERM). */
    if (running > 0 && deadline > 0 && term_sent_at < 0 && cc_now() >= deadline) {
      term_sent_at = cc_now();
      for (int i = 0; i < n; i++)
        if (!done[i]) { results[i].timed_out = true; kill(l->pids[i], SIGTERM); }
    } else if (running > 0 && term_sent_at >= 0 && cc_now() - term_sent_at > grace_s) {
      for (int i = 0; i < n; i++) if (!done[i]) kill(l->pids[i], SIGKILL);
    }
    if (np == 0 && running > 0) {
      struct timespec ts = {0, nap_ns};
      nanosleep(&ts, NULL);
      nap_ns = nap_ns * 2 > WAIT_NAP_MAX_NS ? WAIT_NAP_MAX_NS : nap_ns * 2;
    }
  }
  free(done);
  free(pfds);
}

void cc_launch_free(cc_launch *l) {
  if (l->listen_fds) for (int i = 0; i < l->n; i++) close_fd(&l->listen_fds[i]);
  if (l->result_fds) for (int i = 0; i < l->n; i++) close_fd(&l->result_fds[i]);
  close_fd(&l->my_result_fd);
  free(l->listen_fds);
  free(l->ports);
  free(l->result_fds);
  free(l->pids);
  free(l->hosts);
  memset(l, 0, sizeof *l);
  l->my_result_fd = -1;
}

/* ==== The launch policy ====================================================== */

int cc_launch_start(cc_launch *l, int n, int *rank, char *err, size_t errsz) {
  int rc;
  if (cc_launch_prepare(l, n, err, errsz) != 0) return -1;
  rc = cc_launch_fork(l, rank, err, errsz);
  if (rc < 0) cc_launch_free(l);
  return rc;
}

void cc_launch_player_settings(cc_launch *l, int rank, cc_settings *s) {
  s->rank = rank;
  s->world_size = l->n;
  s->token = l->token;
  s->listen_fd = l->listen_fds[rank];
  s->peer_hosts = l->hosts;
  s->peer_ports = l->ports;
  l->listen_fds[rank] = -1;   /* the engine owns it now */
}

_Noreturn void cc_launch_player_abort(int rank, const char *why) {
  cc_log_error("cicada", rank, "%s", why);
  fflush(NULL);
  _exit(CC_LAUNCH_EXIT_STARTUP_FAILED);
}

cc_player_result *cc_launch_collect(cc_launch *l, double grace_s) {
  cc_player_result *results = calloc((size_t)l->n, sizeof *results);
  if (!results) {
    for (int i = 0; i < l->n; i++) kill(l->pids[i], SIGKILL);
    for (int i = 0; i < l->n; i++) waitpid(l->pids[i], NULL, 0);
    cc_launch_free(l);
    return NULL;
  }
  cc_launch_wait(l, grace_s, results);
  for (int i = 0; i < l->n; i++) {
    if (results[i].len == 0) {
      free(results[i].data);
      results[i].data = NULL;
    }
  }
  cc_launch_free(l);
  return results;
}

void cc_launch_wait_pids(const pid_t *pids, int n, double grace_s, double time_limit_s,
                         int *exitcodes, bool *timed_out) {
  cc_launch l;
  cc_player_result *results = calloc((size_t)n, sizeof *results);
  int *no_pipes = malloc((size_t)n * sizeof *no_pipes);
  memset(&l, 0, sizeof l);
  l.n = n;
  l.pids = (pid_t *)pids;
  l.result_fds = no_pipes;
  l.my_result_fd = -1;
  l.time_limit_s = time_limit_s;
  for (int i = 0; i < n; i++) timed_out[i] = false;
  if (!results || !no_pipes) {   /* no memory to watch them: plain waits */
    for (int i = 0; i < n; i++) {
      int status = 0;
      while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {}
      exitcodes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
  } else {
    for (int i = 0; i < n; i++) no_pipes[i] = -1;
    cc_launch_wait(&l, grace_s, results);
    for (int i = 0; i < n; i++) {
      exitcodes[i] = results[i].exitcode;
      timed_out[i] = results[i].timed_out;
    }
  }
  free(results);
  free(no_pipes);
}
