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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "boot/launch.h"
#include "core/clock.h"
#include "core/check.h"
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

/* Bind a loopback listener on a port the kernel picks. 0, or -1 (errno). */
static int bind_loopback(int *fd_out, uint16_t *port) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *fd_out = fd;
  if (fd < 0) return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
    return -1;
  *port = ntohs(a.sin_port);
  return 0;
}

/* The parent holds a listener and a result pipe per player, and each
 * player a link per peer: a large world needs more descriptors than the
 * usual soft limit of 1024. Raise the soft limit as far as the world needs
 * (and the hard limit allows), never lower it; the players inherit it. */
static void allow_descriptors(int n) {
  struct rlimit r;
  rlim_t want = (rlim_t)(n + CC_LAUNCH_MAX_JOINERS) * 3 + 64;
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= want)
    return;
  r.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max > want ? want : r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

int cc_launch_init(cc_launch *l, int n, char *err, size_t errsz) {
  int cap = n + CC_LAUNCH_MAX_JOINERS, gp[2];
  allow_descriptors(n);
  memset(l, 0, sizeof *l);
  l->n = n;
  l->cap = cap;
  l->my_result_fd = l->grow_rd = l->grow_wr = -1;
  l->listen_fds = malloc((size_t)cap * sizeof *l->listen_fds);
  l->ports = calloc((size_t)cap, sizeof *l->ports);
  l->result_fds = malloc((size_t)cap * sizeof *l->result_fds);
  l->pids = calloc((size_t)cap, sizeof *l->pids);
  l->hosts = malloc((size_t)cap * sizeof *l->hosts);
  if (!l->listen_fds || !l->ports || !l->result_fds || !l->pids || !l->hosts) {
    snprintf(err, errsz, "out of memory preparing %d players", n);
    cc_launch_free(l);
    return -1;
  }
  for (int i = 0; i < cap; i++) l->listen_fds[i] = l->result_fds[i] = -1;
  for (int i = 0; i < cap; i++) l->hosts[i] = LOOPBACK_HOST;
  if (RAND_bytes((unsigned char *)&l->token, sizeof l->token) != 1) l->token = (uint64_t)getpid();
  /* Players ask for newcomers through this pipe (comm:grow); the parent
   * reads it without blocking while it waits. */
  if (pipe2(gp, O_CLOEXEC | O_NONBLOCK) != 0) {
    cc_launch_free(l);
    return msg(err, errsz, "pipe");
  }
  l->grow_rd = gp[0];
  l->grow_wr = gp[1];
  return 0;
}

int cc_launch_prepare(cc_launch *l, int n, char *err, size_t errsz) {
  if (cc_launch_init(l, n, err, errsz) != 0) return -1;
  for (int i = 0; i < n; i++) {
    if (bind_loopback(&l->listen_fds[i], &l->ports[i]) != 0) {
      msg(err, errsz, "binding a loopback listener");
      cc_launch_free(l);
      return -1;
    }
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
      close_fd(&l->grow_rd);
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


/* ==== Growing: newcomers started on request ================================= */

/* A request on the pipe: GROW_MAGIC, its length, members, count, the two
 * timeouts, the world id, the name, then the members' ports. One write of at most
 * PIPE_BUF bytes, so requests of different players never interleave. */
#define GROW_MAGIC 0x574f5247u /* "GROW" */
#define GROW_NAME_AT (4 * 4 + 3 * 8)
#define GROW_HEADER_BYTES (GROW_NAME_AT + CC_GROW_NAME_BYTES)

int cc_launch_request_grow(int grow_wr, const cc_grow_request *r) {
  uint8_t buf[CC_GROW_REQUEST_MAX];
  uint32_t head[4];
  size_t len = GROW_HEADER_BYTES + (size_t)r->members * 2;
  ssize_t w;
  if (grow_wr < 0) { errno = EBADF; return -1; }
  if (r->members < 1 || r->count < 1 || len > sizeof buf) { errno = EINVAL; return -1; }
  head[0] = GROW_MAGIC;
  head[1] = (uint32_t)len;
  head[2] = (uint32_t)r->members;
  head[3] = (uint32_t)r->count;
  memcpy(buf, head, sizeof head);
  memcpy(buf + 16, &r->startup_timeout_s, 8);
  memcpy(buf + 24, &r->timeout_s, 8);
  memcpy(buf + 32, &r->world_id, 8);
  memset(buf + GROW_NAME_AT, 0, CC_GROW_NAME_BYTES);
  snprintf((char *)buf + GROW_NAME_AT, CC_GROW_NAME_BYTES, "%s", r->name);
  memcpy(buf + GROW_HEADER_BYTES, r->ports, (size_t)r->members * 2);
  do w = write(grow_wr, buf, len); while (w < 0 && errno == EINTR);
  if (w < 0 && errno == EAGAIN) {   /* the parent is behind: wait for room */
    struct pollfd pfd = {grow_wr, POLLOUT, 0};
    poll(&pfd, 1, 1000);
    do w = write(grow_wr, buf, len); while (w < 0 && errno == EINTR);
  }
  return w == (ssize_t)len ? 0 : -1;
}

int cc_launch_grow(cc_launch *l, const cc_grow_request *r, int *rank, char *err, size_t errsz) {
  int size = r->members + r->count, fds[CC_LAUNCH_MAX_JOINERS];
  cc_grow_request *full;
  pid_t parent = getpid();
  if (r->count < 1 || r->members < 1 || l->n + r->count > l->cap) {
    snprintf(err, errsz, "cannot start %d more players: a run starts at most %d replacements",
             r->count, CC_LAUNCH_MAX_JOINERS);
    return -1;
  }
  full = malloc(sizeof *full + (size_t)size * sizeof full->ports[0]);
  if (!full) { snprintf(err, errsz, "out of memory starting %d players", r->count); return -1; }
  memcpy(full, r, sizeof *full + (size_t)r->members * sizeof r->ports[0]);
  for (int i = 0; i < r->count; i++) fds[i] = -1;
  for (int i = 0; i < r->count; i++) {
    if (bind_loopback(&fds[i], &full->ports[r->members + i]) != 0) {
      msg(err, errsz, "binding a loopback listener");
      for (int j = 0; j <= i; j++) close_fd(&fds[j]);
      free(full);
      return -1;
    }
  }
  fflush(NULL);
  for (int i = 0; i < r->count; i++) {
    int p[2], slot = l->n;
    pid_t pid;
    if (pipe2(p, O_CLOEXEC) != 0) { msg(err, errsz, "pipe"); break; }
    pid = fork();
    if (pid < 0) { msg(err, errsz, "starting a player process"); close(p[0]); close(p[1]); break; }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      close(p[0]);
      close_fd(&l->grow_rd);
      for (int j = 0; j < l->n; j++) {
        close_fd(&l->result_fds[j]);
        close_fd(&l->listen_fds[j]);
      }
      for (int j = 0; j < r->count; j++)
        if (j != i) close_fd(&fds[j]);
      l->listen_fds[slot] = fds[i];
      l->my_result_fd = p[1];
      l->joined = full;
      *rank = r->members + i;
      return 1;
    }
    close(p[1]);
    l->result_fds[slot] = p[0];
    l->pids[slot] = pid;
    l->n++;
  }
  for (int i = 0; i < r->count; i++) close_fd(&fds[i]);
  free(full);
  return 0;
}

void cc_launch_joiner_settings(cc_launch *l, int rank, cc_settings *s) {
  s->rank = rank;
  s->world_size = l->joined->members + l->joined->count;
  s->token = l->token;
  s->listen_fd = -1;
  for (int i = 0; i < l->cap; i++)
    if (l->listen_fds[i] >= 0) { s->listen_fd = l->listen_fds[i]; l->listen_fds[i] = -1; }
  s->peer_hosts = l->hosts;
  s->peer_ports = l->joined->ports;
}

/* Read exactly len bytes that a writer already put in the pipe whole. */
static bool read_whole(int fd, uint8_t *b, size_t len) {
  while (len > 0) {
    ssize_t got = read(fd, b, len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    b += got;
    len -= (size_t)got;
  }
  return true;
}

/* Parent: read the grow requests waiting in the pipe and act on each. Each
 * was written whole (one write of at most PIPE_BUF bytes), so its header
 * and then its ports are read as two exact reads. A malformed one (only
 * players write here, but they run scripts) is dropped, with whatever
 * else the pipe holds: its bytes cannot be trusted to frame the next. */
static void read_grow_requests(cc_launch *l) {
  uint8_t buf[CC_GROW_REQUEST_MAX];
  for (;;) {
    uint32_t head[4];
    cc_grow_request *r;
    ssize_t got = read(l->grow_rd, buf, GROW_HEADER_BYTES);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;
    if ((size_t)got < GROW_HEADER_BYTES &&
        !read_whole(l->grow_rd, buf + got, GROW_HEADER_BYTES - (size_t)got))
      return;
    memcpy(head, buf, sizeof head);
    if (head[0] != GROW_MAGIC || head[2] < 1 || head[2] > CC_MAX_WORLD_SIZE || head[3] < 1 ||
        head[3] > CC_LAUNCH_MAX_JOINERS || head[1] != GROW_HEADER_BYTES + head[2] * 2 ||
        head[1] > sizeof buf || !read_whole(l->grow_rd, buf + GROW_HEADER_BYTES,
                                            head[1] - GROW_HEADER_BYTES)) {
      cc_log_error("cicada", -1, "a malformed grow request was dropped");
      while (read(l->grow_rd, buf, sizeof buf) > 0) {}
      return;
    }
    r = calloc(1, sizeof *r + (size_t)(head[2] + head[3]) * sizeof r->ports[0]);
    if (!r) continue;
    r->members = (int)head[2];
    r->count = (int)head[3];
    memcpy(&r->startup_timeout_s, buf + 16, 8);
    memcpy(&r->timeout_s, buf + 24, 8);
    memcpy(&r->world_id, buf + 32, 8);
    memcpy(r->name, buf + GROW_NAME_AT, CC_GROW_NAME_BYTES);
    r->name[CC_GROW_NAME_BYTES - 1] = 0;
    memcpy(r->ports, buf + GROW_HEADER_BYTES, (size_t)r->members * 2);
    if (!(r->startup_timeout_s > 0 && r->startup_timeout_s < 1e6)) r->startup_timeout_s = 5.0;
    if (!(r->timeout_s > 0 && r->timeout_s < 1e9)) r->timeout_s = 5.0;
    if (l->on_grow) l->on_grow(l, r, l->grow_ctx);
    free(r);
  }
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
  int known = 0, running = 0, open = 0, cap = l->cap > l->n ? l->cap : l->n;
  bool *done = calloc((size_t)cap, sizeof *done);
  double all_but_stopped_since = -1, term_sent_at = -1;
  double deadline = l->time_limit_s > 0 ? cc_now() + l->time_limit_s : -1;
  long nap_ns = WAIT_NAP_MIN_NS;
  struct pollfd *pfds = calloc((size_t)cap + 1, sizeof *pfds);
  if (!done || !pfds) {
    /* No memory to watch them: kill the players rather than wait blindly. */
    for (int i = 0; i < l->n; i++) {
      int status = 0;
      results[i].pid = l->pids[i];
      results[i].data = NULL;
      results[i].len = 0;
      results[i].timed_out = false;
      kill(l->pids[i], SIGKILL);
      while (waitpid(l->pids[i], &status, 0) < 0 && errno == EINTR) {}
      results[i].exitcode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    free(done);
    free(pfds);
    return;
  }
  for (;;) {
    int np = 0, stopped = 0, n;
    /* Players started since the last look (the first ones, then newcomers
     * of a grow): watch them too. */
    for (; known < l->n; known++) {
      results[known].pid = l->pids[known];
      results[known].exitcode = 0;
      results[known].data = NULL;
      results[known].len = 0;
      results[known].timed_out = false;
      running++;
      if (l->result_fds[known] >= 0) open++;
    }
    n = l->n;
    if (running <= 0 && open <= 0) break;
    for (int i = 0; i < n; i++)
      if (l->result_fds[i] >= 0) { pfds[np].fd = l->result_fds[i]; pfds[np].events = POLLIN; np++; }
    if (l->grow_rd >= 0 && running > 0) {
      pfds[np].fd = l->grow_rd;
      pfds[np].events = POLLIN;
      pfds[np].revents = 0;
    }
    if (np > 0 || (l->grow_rd >= 0 && running > 0))
      poll(pfds, (nfds_t)np + (l->grow_rd >= 0 && running > 0), 20);
    if (l->grow_rd >= 0 && running > 0 && (pfds[np].revents & POLLIN)) {
      read_grow_requests(l);
      continue;   /* watch the newcomers from the next round on */
    }
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
    if (np == 0 && running > 0 && l->grow_rd < 0) {
      struct timespec ts = {0, nap_ns};
      nanosleep(&ts, NULL);
      nap_ns = nap_ns * 2 > WAIT_NAP_MAX_NS ? WAIT_NAP_MAX_NS : nap_ns * 2;
    }
  }
  free(done);
  free(pfds);
}

void cc_launch_free(cc_launch *l) {
  int cap = l->cap > l->n ? l->cap : l->n;
  if (l->listen_fds) for (int i = 0; i < cap; i++) close_fd(&l->listen_fds[i]);
  if (l->result_fds) for (int i = 0; i < cap; i++) close_fd(&l->result_fds[i]);
  close_fd(&l->my_result_fd);
  close_fd(&l->grow_rd);
  close_fd(&l->grow_wr);
  free(l->joined);
  free(l->listen_fds);
  free(l->ports);
  free(l->result_fds);
  free(l->pids);
  free(l->hosts);
  memset(l, 0, sizeof *l);
  l->my_result_fd = l->grow_rd = l->grow_wr = -1;
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

cc_player_result *cc_launch_collect_all(cc_launch *l, double grace_s, int *count) {
  int cap = l->cap > l->n ? l->cap : l->n;
  cc_player_result *results = calloc((size_t)cap, sizeof *results);
  *count = 0;
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
  *count = l->n;
  cc_launch_free(l);
  return results;
}

cc_player_result *cc_launch_collect(cc_launch *l, double grace_s) {
  int count;
  return cc_launch_collect_all(l, grace_s, &count);
}

void cc_launch_wait_pids(const pid_t *pids, int n, double grace_s, double time_limit_s,
                         int *exitcodes, bool *timed_out) {
  cc_launch l;
  cc_player_result *results = calloc((size_t)n, sizeof *results);
  int *no_pipes = malloc((size_t)n * sizeof *no_pipes);
  memset(&l, 0, sizeof l);
  l.n = l.cap = n;
  l.pids = (pid_t *)pids;
  l.result_fds = no_pipes;
  l.my_result_fd = l.grow_rd = l.grow_wr = -1;
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
