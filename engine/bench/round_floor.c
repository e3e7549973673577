/*
 * round_floor.c - the floor under the benchmark's `round` figure: the same
 * message pattern over plain blocking loopback TCP, with nothing else.
 *
 * `round` (scripts/bench.lua) is one iteration of the seed's loop among 4
 * players: one player shares a scalar (a message to each other player),
 * every player adds locally, and all reveal with threshold 2: every player
 * sends its share to the threshold - 1 players after it in rank order
 * (wrapping), who combine it, and an empty message to every other player,
 * so that each waits on all. This program forks the same number of
 * processes, connects every pair with one TCP connection (TCP_NODELAY,
 * blocking sockets) and runs exactly those messages, of the sizes an
 * encoded scalar share and an empty message have on the wire, timing
 * batches at player 0 between two exchanges, like the benchmark. What it
 * prints reads like the benchmark's lines:
 *
 *   BENCH name=round_floor players=4 size=1 median_ms=<x> runs=<r>
 *
 * so that `round` can be read as a multiple of the floor measured in the
 * same run. Not part of the engine: it links nothing of it.
 *
 *   round_floor [players [runs [batch [threshold]]]]     (defaults 4, 21, 200, 2)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A scalar share's frame, and an empty message's (a frame header alone). */
enum { MAX_PLAYERS = 64, MESSAGE_BYTES = 48, EMPTY_BYTES = 24 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "round_floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void send_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) die("send");
    p += k;
    len -= (size_t)k;
  }
}

static void recv_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t k = recv(fd, p, len, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) die("recv");
    p += k;
    len -= (size_t)k;
  }
}

static int listener(uint16_t *port) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, MAX_PLAYERS) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
    die("listen");
  *port = ntohs(a.sin_port);
  return fd;
}

static void tune(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Player `rank`: connect to every lower rank, accept every higher one;
 * fds[peer] is the connection to peer. */
static void connect_mesh(int rank, int n, const int *listen_fds, const uint16_t *ports,
                         int *fds) {
  for (int peer = 0; peer < rank; peer++) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int32_t me = rank;
    if (fd < 0) die("socket");
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(ports[peer]);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    tune(fd);
    send_all(fd, &me, sizeof me);
    fds[peer] = fd;
  }
  for (int k = rank + 1; k < n; k++) {
    int32_t who;
    int fd = accept(listen_fds[rank], NULL, NULL);
    if (fd < 0) die("accept");
    tune(fd);
    recv_all(fd, &who, sizeof who);
    if (who <= rank || who >= n) { errno = EPROTO; die("a stranger connected"); }
    fds[who] = fd;
  }
}

/* Every player sends one message to every other and reads one from each:
 * the reveal, and the barrier around each timed batch. */
static void exchange(int rank, int n, const int *fds, char *buf) {
  for (int peer = 0; peer < n; peer++)
    if (peer != rank) send_all(fds[peer], buf, MESSAGE_BYTES);
  for (int peer = 0; peer < n; peer++)
    if (peer != rank) recv_all(fds[peer], buf, MESSAGE_BYTES);
}

/* The reveal: the share to the k - 1 players after this one, an empty
 * message to the others; then the shares of the k - 1 players before it
 * and an empty message from each other player. */
static void reveal(int rank, int n, int k, const int *fds, char *buf) {
  for (int peer = 0; peer < n; peer++)
    if (peer != rank)
      send_all(fds[peer], buf, (peer - rank + n) % n < k ? MESSAGE_BYTES : EMPTY_BYTES);
  for (int peer = 0; peer < n; peer++)
    if (peer != rank)
      recv_all(fds[peer], buf, (rank - peer + n) % n < k ? MESSAGE_BYTES : EMPTY_BYTES);
}

/* One round: player src sends to every other (the share), then everyone
 * reveals. */
static void round_once(int rank, int n, int k, int src, const int *fds, char *buf) {
  if (rank == src) {
    for (int peer = 0; peer < n; peer++)
      if (peer != rank) send_all(fds[peer], buf, MESSAGE_BYTES);
  } else {
    recv_all(fds[src], buf, MESSAGE_BYTES);
  }
  reveal(rank, n, k, fds, buf);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int parse(const char *s, int lo, int hi, const char *what) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "round_floor: %s must be a whole number from %d to %d, not '%s'\n", what,
            lo, hi, s);
    exit(2);
  }
  return (int)v;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? parse(argv[1], 2, MAX_PLAYERS, "players") : 4;
  int runs = argc > 2 ? parse(argv[2], 1, 1000, "runs") : 21;
  int batch = argc > 3 ? parse(argv[3], 1, 100000, "batch") : 200;
  int k = argc > 4 ? parse(argv[4], 2, n, "threshold") : 2;
  int listen_fds[MAX_PLAYERS], fds[MAX_PLAYERS];
  uint16_t ports[MAX_PLAYERS];
  pid_t pids[MAX_PLAYERS];
  double samples[1000];
  char buf[MESSAGE_BYTES];
  int rank = 0, failed = 0;

  memset(buf, 0x5a, sizeof buf);
  for (int r = 0; r < n; r++) listen_fds[r] = listener(&ports[r]);
  for (int r = 1; r < n; r++) {
    pids[r] = fork();
    if (pids[r] < 0) die("fork");
    if (pids[r] == 0) {
      rank = r;
      break;
    }
  }
  connect_mesh(rank, n, listen_fds, ports, fds);
  round_once(rank, n, k, 0, fds, buf); /* warm up */
  for (int i = 0, round = 0; i < runs; i++) {
    double t0;
    exchange(rank, n, fds, buf);
    t0 = now_s();
    for (int b = 0; b < batch; b++, round++) round_once(rank, n, k, round % n, fds, buf);
    exchange(rank, n, fds, buf);
    samples[i] = (now_s() - t0) / batch;
  }
  if (rank != 0) _exit(0);
  for (int r = 1; r < n; r++) {
    int status;
    while (waitpid(pids[r], &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  if (failed) {
    fprintf(stderr, "round_floor: %d player(s) failed\n", failed);
    return 1;
  }
  qsort(samples, (size_t)runs, sizeof samples[0], cmp_double);
  printf("BENCH name=round_floor players=%d size=1 median_ms=%.4f runs=%d\n", n,
         (runs % 2 ? samples[runs / 2] : (samples[runs / 2 - 1] + samples[runs / 2]) / 2) * 1e3,
         runs);
  return 0;
}
