/*
 * test_capi.c - the C API of cicada.h under bad input and after teardown:
 * NULL handles, freed communicators, stopped engines, buffers of the wrong
 * size, ranks and tags out of range, bad field elements and Shamir sizes.
 * Each must give the right status and a message that names the problem,
 * never a crash. Also the good paths that the example hosts do not take:
 * point to point, gather, scatterv, broadcast and split in cicada_run, two
 * processes joining a world with cicada_engine_connect, and a Shamir round
 * trip from a seeded stream.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cicada.h"
#include "check.h"

/* The call gave status `code` and a message containing `words`. */
#define CHECK_ERR(call, code, words)                                       \
  do {                                                                     \
    cicada_status s_ = (call);                                             \
    if (s_ != (code) || !strstr(err.message, (words))) {                   \
      fprintf(stderr, "%s:%d: %s gave %s \"%s\", expected %s with \"%s\"\n", \
              __FILE__, __LINE__, #call, cicada_status_kind(s_),           \
              err.message, cicada_status_kind(code), (words));             \
      failures++;                                                          \
    }                                                                      \
  } while (0)

/* ==== Handles ============================================================= */

static void test_null_handles(void) {
  cicada_error err;
  cicada_bytes b = {NULL, 0};
  uint64_t x = 1;
  bool flag;
  int n;
  CHECK_ERR(cicada_send(NULL, "x", 1, 0, 0, &err), CICADA_EINVALID, "cicada_send: communicator is NULL");
  CHECK(err.kind && strcmp(err.kind, "invalid") == 0);
  CHECK_ERR(cicada_recv(NULL, 0, 0, &b, &err), CICADA_EINVALID, "communicator is NULL");
  CHECK_ERR(cicada_barrier(NULL, &err), CICADA_EINVALID, "cicada_barrier");
  CHECK_ERR(cicada_agree(NULL, true, 0, &flag, &err), CICADA_EINVALID, "NULL");
  CHECK_ERR(cicada_failed(NULL, NULL, 0, &n, &err), CICADA_EINVALID, "NULL");
  CHECK_ERR(cicada_engine_world(NULL, "w", 1, NULL, &err), CICADA_EINVALID, "out is NULL");
  CHECK_ERR(cicada_field_add(NULL, &x, &x, &x, 1, &err), CICADA_EINVALID, "field is NULL");
  CHECK_ERR(cicada_report(NULL, "x", 1, &err), CICADA_EINVALID, "NULL");
  CHECK(cicada_send(NULL, "x", 1, 0, 0, NULL) == CICADA_EINVALID);  /* err may be NULL */
  CHECK(cicada_comm_rank(NULL) == -1 && cicada_comm_size(NULL) == 0);
  CHECK(cicada_comm_name(NULL) == NULL && !cicada_comm_revoked(NULL));
  cicada_comm_free(NULL);
  cicada_engine_stop(NULL);
  cicada_engine_free(NULL);
  cicada_field_free(NULL);
  cicada_rng_free(NULL);
  cicada_bytes_free(NULL);
  CHECK(strcmp(cicada_status_kind(CICADA_EPEER_FAILED), "peer_failed") == 0);
  CHECK(strcmp(cicada_status_kind((cicada_status)99), "unknown") == 0);
}

static void test_bad_settings(void) {
  cicada_settings s;
  cicada_engine *eng = (cicada_engine *)&s;
  cicada_error err;
  cicada_settings_init(&s);
  s.world_size = 2;
  CHECK_ERR(cicada_engine_connect(&s, &eng, &err), CICADA_EINVALID, "needs hosts and ports");
  CHECK(eng == NULL);
  s.rank = 2;
  CHECK_ERR(cicada_engine_connect(&s, &eng, &err), CICADA_EINVALID,
            "rank 2 is outside the world of 2 players [0, 2)");
  s.rank = 0;
  s.heartbeat_timeout_s = s.heartbeat_interval_s / 2;
  CHECK_ERR(cicada_engine_connect(&s, &eng, &err), CICADA_EINVALID, "interval < timeout");
  CHECK_ERR(cicada_engine_connect(NULL, &eng, &err), CICADA_EINVALID, "settings are NULL");
}

/* A world of one player: every call works without a peer. */
static void test_single_player_and_teardown(void) {
  cicada_settings s;
  cicada_engine *eng;
  cicada_comm *world, *other;
  cicada_error err;
  cicada_bytes b, all[2];
  char buf[8];
  int ranks[1], n;
  cicada_settings_init(&s);
  if (cicada_engine_connect(&s, &eng, &err) != CICADA_OK) {
    fprintf(stderr, "cannot start a single player: %s\n", err.message);
    failures++;
    return;
  }
  CHECK(cicada_engine_world(eng, "solo", 1.0, &world, &err) == CICADA_OK);
  CHECK(cicada_engine_world(eng, "other", 1.0, &other, &err) == CICADA_OK);
  CHECK(strcmp(cicada_comm_name(world), "solo") == 0 && cicada_comm_size(world) == 1);

  CHECK(cicada_send(world, "hello", 5, 0, 7, &err) == CICADA_OK);
  CHECK(cicada_recv(world, 0, 7, &b, &err) == CICADA_OK && b.len == 5 && memcmp(b.data, "hello", 5) == 0);
  cicada_bytes_free(&b);
  CHECK(b.data == NULL && b.len == 0);
  CHECK(cicada_send(world, NULL, 0, 0, 7, &err) == CICADA_OK);
  CHECK(cicada_recv(world, 0, 7, &b, &err) == CICADA_OK && b.data != NULL && b.len == 0);
  cicada_bytes_free(&b);

  /* Wrong sizes, ranks and tags. */
  CHECK(cicada_send(world, "toolong", 7, 0, 1, &err) == CICADA_OK);
  CHECK_ERR(cicada_recv_into(world, 0, 1, buf, 4, &err), CICADA_EINVALID, "has 7 bytes, the buffer 4");
  CHECK_ERR(cicada_allgather(world, "x", 1, all, 2, &err), CICADA_EINVALID, "all has 2 entries, expected 1");
  CHECK_ERR(cicada_send(world, "x", 1, 1, 0, &err), CICADA_EINVALID, "destination rank 1 out of range [0, 1)");
  CHECK_ERR(cicada_send(world, "x", 1, 0, -3, &err), CICADA_EINVALID, "negative tags belong to the library");
  CHECK_ERR(cicada_send(world, NULL, 3, 0, 0, &err), CICADA_EINVALID, "data is NULL but len is 3");
  CHECK_ERR(cicada_failed(world, ranks, -1, &n, &err), CICADA_EINVALID, "cap >= 0");
  CHECK_ERR(cicada_report(world, "x", 1, &err), CICADA_EINVALID, "was not started by cicada_run");
  CHECK_ERR(cicada_comm_set_timeout(world, 0, &err), CICADA_EINVALID, "positive");
  {
    int twice[2] = {0, 0};
    CHECK_ERR(cicada_gatherv(world, twice, 2, "x", 1, 0, all, 2, &err), CICADA_EINVALID,
              "cicada_gatherv: 2 ranks listed for 1 players");
    CHECK_ERR(cicada_scatterv(world, 0, NULL, NULL, 0, NULL, 1, &b, &err), CICADA_EINVALID,
              "cicada_scatterv: destination ranks are NULL");
  }
  CHECK(err.rank == 0 && strcmp(err.comm, "solo") == 0);

  /* Collectives of one. */
  CHECK(cicada_allgather(world, "ab", 2, all, 1, &err) == CICADA_OK && all[0].len == 2);
  cicada_bytes_free_all(all, 1);
  CHECK(cicada_barrier(world, &err) == CICADA_OK);
  CHECK(cicada_failed(world, ranks, 1, &n, &err) == CICADA_OK && n == 0);

  /* Revoke: later calls fail, shrink still works. */
  CHECK(cicada_revoke(world, &err) == CICADA_OK && cicada_comm_revoked(world));
  CHECK_ERR(cicada_barrier(world, &err), CICADA_EREVOKED, "revoked");

  /* A freed communicator. */
  cicada_comm_free(world);
  CHECK_ERR(cicada_send(world, "x", 1, 0, 0, &err), CICADA_ENOT_RUNNING, "Comm solo was freed");
  CHECK(strcmp(err.kind, "not_running") == 0);
  CHECK_ERR(cicada_revoke(world, &err), CICADA_ENOT_RUNNING, "was freed");
  cicada_comm_free(world);  /* twice is harmless */
  CHECK(cicada_comm_rank(world) == 0 && cicada_comm_revoked(world));

  /* After teardown. */
  cicada_engine_stop(eng);
  CHECK_ERR(cicada_barrier(other, &err), CICADA_ENOT_RUNNING, "the engine of player 0 was stopped");
  CHECK_ERR(cicada_engine_world(eng, "again", 1, &world, &err), CICADA_ENOT_RUNNING, "was stopped");
  cicada_engine_stop(eng);
  cicada_engine_free(eng);
}

/* ==== Field and Shamir ===================================================== */

static void test_field(void) {
  cicada_field *f = NULL, *f17 = NULL;
  cicada_rng *rng = NULL, *rng2 = NULL;
  cicada_error err;
  uint64_t a[3] = {1, 2, 16}, b[3] = {16, 5, 0}, out[3], one;
  uint64_t secret[2] = {42, 7}, shares[3 * 2], again[3 * 2], got[2];
  uint64_t idx[3] = {1, 2, 3};
  CHECK_ERR(cicada_field_new(15, &f, &err), CICADA_EINVALID, "15");
  CHECK(f == NULL);
  CHECK(cicada_field_new(17, &f17, &err) == CICADA_OK && cicada_field_order(f17) == 17);
  CHECK(cicada_field_new(0, &f, &err) == CICADA_OK && cicada_field_order(f) == CICADA_FIELD_DEFAULT_ORDER);

  CHECK(cicada_field_add(f17, out, a, b, 3, &err) == CICADA_OK && out[0] == 0 && out[1] == 7 && out[2] == 16);
  CHECK(cicada_field_mul(f17, out, a, b, 3, &err) == CICADA_OK && out[0] == 16 && out[1] == 10 && out[2] == 0);
  CHECK(cicada_field_dot(f17, &one, a, b, 3, &err) == CICADA_OK && one == 9);
  b[2] = 17;
  CHECK_ERR(cicada_field_add(f17, out, a, b, 3, &err), CICADA_EINVALID, "b[2] = 17 is not below the order 17");
  CHECK_ERR(cicada_field_inv(f17, out, b, 3, &err), CICADA_EINVALID, "b");  /* checked before the kernel */
  b[2] = 0;
  CHECK_ERR(cicada_field_inv(f17, out, b, 3, &err), CICADA_EINVALID, "a[2] is zero");
  CHECK(cicada_field_inv(f17, out, a, 3, &err) == CICADA_OK && out[1] == 9);
  CHECK_ERR(cicada_field_add(f17, NULL, a, a, 3, &err), CICADA_EINVALID, "out is NULL");

  CHECK(cicada_rng_new("seed", 4, &rng, &err) == CICADA_OK);
  CHECK(cicada_rng_new("seed", 4, &rng2, &err) == CICADA_OK);
  CHECK_ERR(cicada_shamir_share(f, rng, secret, 2, 2, idx, 3, shares, 5, &err), CICADA_EINVALID,
            "shares has 5 elements, 3 players x 2 need 6");
  CHECK_ERR(cicada_shamir_share(f, rng, secret, 2, 4, idx, 3, shares, 6, &err), CICADA_EINVALID,
            "cicada_shamir_share: threshold 4 out of range [1, 3]");
  CHECK_ERR(cicada_shamir_share(f, rng, secret, 2, 0, idx, 3, shares, 6, &err), CICADA_EINVALID,
            "threshold 0 out of range [1, 3]");
  /* Threshold 1 (degree 0) is allowed, as in Lua: every share is the secret. */
  CHECK(cicada_shamir_share(f, rng, secret, 2, 1, idx, 3, shares, 6, &err) == CICADA_OK);
  for (int j = 0; j < 3; j++) CHECK(shares[2 * j] == 42 && shares[2 * j + 1] == 7);
  idx[2] = 2;
  CHECK_ERR(cicada_shamir_share(f, rng, secret, 2, 2, idx, 3, shares, 6, &err), CICADA_EINVALID, "");
  idx[2] = 3;
  CHECK(cicada_shamir_share(f, rng, secret, 2, 2, idx, 3, shares, 6, &err) == CICADA_OK);
  CHECK(cicada_shamir_share(f, rng2, secret, 2, 2, idx, 3, again, 6, &err) == CICADA_OK);
  CHECK(memcmp(shares, again, sizeof shares) == 0);  /* same seed, same stream */
  CHECK(cicada_shamir_recover(f, shares + 2, 4, idx + 1, 2, 2, got, 2, &err) == CICADA_OK);
  CHECK(got[0] == 42 && got[1] == 7);
  CHECK_ERR(cicada_shamir_recover(f, shares, 2, idx, 1, 2, got, 2, &err), CICADA_EINVALID,
            "1 shares cannot recover a secret of threshold 2");
  CHECK_ERR(cicada_shamir_recover(f, shares, 6, idx, 3, 2, got, 3, &err), CICADA_EINVALID,
            "shares has 6 elements, 3 players x 3 need 9");
  CHECK_ERR(cicada_field_random(f, NULL, out, 3, &err), CICADA_EINVALID, "rng is NULL");
  cicada_rng_free(rng);
  cicada_rng_free(rng2);
  cicada_field_free(f);
  cicada_field_free(f17);
}

/* ==== cicada_run ============================================================ */

#define RUN_SIZE 3

/* Point to point, broadcast, gather, scatterv and split among 3 players;
 * rank 0 reports what it saw. Exit status 0 if all went as expected. */
static int collectives(cicada_comm *world, void *arg) {
  int rank = cicada_comm_rank(world), bad = 0, dsts[2] = {2, 1};
  const void *values[2] = {"to-2", "to-1"};
  size_t lens[2] = {4, 4};
  cicada_bytes b, all[RUN_SIZE];
  cicada_comm *half = NULL;
  cicada_error err;
  char word[4];
  (void)arg;
  bad |= cicada_send(world, &rank, sizeof rank, (rank + 1) % RUN_SIZE, 5, &err) != CICADA_OK;
  bad |= cicada_recv_into(world, (rank + RUN_SIZE - 1) % RUN_SIZE, 5, word, sizeof rank, &err) != CICADA_OK;
  bad |= cicada_broadcast(world, 1, "bcast", 5, &b, &err) != CICADA_OK || b.len != 5;
  cicada_bytes_free(&b);
  bad |= cicada_gather(world, &rank, sizeof rank, 0, all, RUN_SIZE, &err) != CICADA_OK;
  if (rank == 0) {
    for (int r = 0; r < RUN_SIZE; r++) bad |= all[r].len != sizeof r || memcmp(all[r].data, &r, sizeof r) != 0;
    cicada_bytes_free_all(all, RUN_SIZE);
  }
  bad |= cicada_scatterv(world, 0, values, lens, 2, dsts, 2, &b, &err) != CICADA_OK;
  if (rank == 0) bad |= b.data != NULL;
  else bad |= b.len != 4 || memcmp(b.data, rank == 2 ? "to-2" : "to-1", 4) != 0;
  cicada_bytes_free(&b);
  bad |= cicada_split(world, rank == 0 ? NULL : "pair", 0, &half, &err) != CICADA_OK;
  bad |= (rank == 0) != (half == NULL);
  if (half) bad |= cicada_comm_size(half) != 2 || cicada_barrier(half, &err) != CICADA_OK;
  if (rank == 0) cicada_report(world, "collectives ok", 14, &err);
  return bad;
}

static void test_run(void) {
  cicada_run_options o;
  cicada_player_result results[RUN_SIZE];
  cicada_error err;
  cicada_run_options_init(&o);
  CHECK_ERR(cicada_run(&o, collectives, NULL, results, RUN_SIZE, &err), CICADA_EINVALID,
            "world size 0 is below 1");
  o.world_size = RUN_SIZE;
  CHECK_ERR(cicada_run(&o, collectives, NULL, results, 2, &err), CICADA_EINVALID,
            "results has 2 entries, expected 3");
  if (cicada_run(&o, collectives, NULL, results, RUN_SIZE, &err) != CICADA_OK) {
    fprintf(stderr, "cicada_run: %s\n", err.message);
    failures++;
    return;
  }
  for (int r = 0; r < RUN_SIZE; r++) CHECK(results[r].exitcode == 0 && results[r].pid > 0);
  CHECK(results[0].report.len == 14 && memcmp(results[0].report.data, "collectives ok", 14) == 0);
  CHECK(results[1].report.data == NULL);
  cicada_player_results_free(results, RUN_SIZE);
}

/* ==== cicada_engine_connect ================================================= */

/* A loopback socket bound to `port`, or to one the kernel picks if it is
 * 0; listening if asked. -1 if that port is taken. */
static int loopback_socket(uint16_t *port, bool do_listen) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(*port);
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd >= 0 && *port != 0 && bind(fd, (struct sockaddr *)&a, sizeof a) != 0 &&
      errno == EADDRINUSE) {
    close(fd);
    return -1;
  }
  if (fd < 0 || (*port == 0 && bind(fd, (struct sockaddr *)&a, sizeof a) != 0) ||
      (do_listen && listen(fd, 8) != 0) || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    perror("loopback socket");
    exit(1);
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* A port for a player to listen on by itself, free a moment ago. Under
 * ctest it comes from CICADA_TEST_PORTS ("first-last"), a block below the
 * kernel's ephemeral range that no other test uses, so that no connection
 * made meanwhile elsewhere can take it; by hand, from the kernel. */
static uint16_t free_port(void) {
  const char *range = getenv("CICADA_TEST_PORTS");
  unsigned first, last;
  uint16_t port = 0;
  if (range && sscanf(range, "%u-%u", &first, &last) == 2 && first > 0 && first <= last &&
      last <= 65535) {
    for (unsigned p = first; p <= last; p++) {
      int fd;
      port = (uint16_t)p;
      fd = loopback_socket(&port, false);
      if (fd >= 0) {
        close(fd);
        return port;
      }
    }
    fprintf(stderr, "no free port in CICADA_TEST_PORTS=%s\n", range);
    exit(1);
  }
  close(loopback_socket(&port, false));
  return port;
}

/* One player of test_connect: send our word to the other, expect theirs. */
static int connect_player(int rank, int listen_fd, const char *const *hosts,
                          const uint16_t *ports) {
  static const char *const words[2] = {"ping", "pong"};
  cicada_settings s;
  cicada_engine *eng;
  cicada_comm *world;
  cicada_error err;
  char got[4];
  int bad;
  cicada_settings_init(&s);
  s.rank = rank;
  s.world_size = 2;
  s.token = 0x5eed;
  s.hosts = hosts;
  s.ports = ports;
  s.listen_fd = listen_fd;
  if (cicada_engine_connect(&s, &eng, &err) != CICADA_OK) {
    fprintf(stderr, "player %d: %s\n", rank, err.message);
    return 1;
  }
  bad = cicada_engine_world(eng, NULL, 2.0, &world, &err) != CICADA_OK ||
        strcmp(cicada_comm_name(world), "world") != 0 ||
        cicada_send(world, words[rank], 4, 1 - rank, 1, &err) != CICADA_OK ||
        cicada_recv_into(world, 1 - rank, 1, got, 4, &err) != CICADA_OK ||
        memcmp(got, words[1 - rank], 4) != 0 || cicada_barrier(world, &err) != CICADA_OK;
  if (bad) fprintf(stderr, "player %d: %s\n", rank, err.message);
  cicada_engine_free(eng);
  return bad;
}

/* Player 0 is handed a listening socket; player 1 listens on the address
 * it is given (a port that was free a moment ago). */
static void test_connect(void) {
  const char *const hosts[2] = {"127.0.0.1", "127.0.0.1"};
  uint16_t ports[2] = {0, free_port()};
  int fd0 = loopback_socket(&ports[0], true), status;
  pid_t pid;
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    close(fd0);
    _exit(connect_player(1, -1, hosts, ports));
  }
  CHECK(pid > 0);
  CHECK(connect_player(0, fd0, hosts, ports) == 0);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
  test_null_handles();
  test_bad_settings();
  test_single_player_and_teardown();
  test_field();
  test_run();
  test_connect();
  if (failures) {
    fprintf(stderr, "test_capi: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_capi: all checks passed\n");
  return 0;
}
