/*
 * test_links.c - what a player does with frames it should not trust. One
 * engine (player 0) and two hand-made peers on raw sockets (players 1 and
 * 2) that complete the HELLO handshake (proving the token) and then misbehave: a frame that
 * claims another source, a message from a player outside the communicator,
 * a frame over the size limit, a frame of an unknown type. The engine must
 * attribute each frame to the link it came on, drop what it cannot use
 * with a warning, fail only the offending link, and keep working. First,
 * while all is quiet, its successor on the ring must get its heartbeats.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "comm/comm_internal.h"
#include "core/control.h"
#include "core/wire.h"
#include "net/auth.h"
#include "check.h"
#include "raw_peer.h"

#define WORLD 3
#define TOKEN 0x1234567890abcdefULL
#define MAX_FRAME_BYTES (1u << 20)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logged[8192];


static void capture_log(void *ctx, int level, const char *message) {
  size_t used;
  (void)ctx; (void)level;
  pthread_mutex_lock(&log_lock);
  used = strlen(logged);
  snprintf(logged + used, sizeof logged - used, "%s\n", message);
  pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *words) {
  bool yes;
  pthread_mutex_lock(&log_lock);
  yes = strstr(logged, words) != NULL;
  pthread_mutex_unlock(&log_lock);
  return yes;
}

/* The engine's I/O thread passes messages on to the log callback once the
 * thread that logged them has let go of its locks: wait for one. */
static bool log_soon(const char *words) {
  for (int i = 0; i < 500 && !log_has(words); i++) usleep(10000);
  return log_has(words);
}

/* Send a frame header (claiming `source`) and `len` payload bytes. */
static void send_frame(int fd, int type, int32_t tag, uint64_t context, int source,
                       uint32_t length, const void *payload, size_t len) {
  uint8_t hdr[CC_FRAME_HEADER_BYTES];
  cc_frame_header h = {CC_WIRE_VERSION, (uint8_t)type, 0, tag, context, (uint32_t)source, length};
  cc_frame_pack(&h, hdr);
  if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr) failures++;
  if (len && write(fd, payload, len) != (ssize_t)len) failures++;
}

typedef struct raw_dial {
  int fd, rank;
  uint8_t nonce[CC_HELLO_NONCE_BYTES];
} raw_dial;

/* Read the engine's ANSWER and prove the token with a CONFIRM. */
static void *finish_handshake(void *arg) {
  raw_dial *d = arg;
  if (raw_peer_confirm(d->fd, WORLD, d->rank, TOKEN, d->nonce) != 0) failures++;
  return NULL;
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read one frame header from fd, which must be a heartbeat's: 0, or -1 if
 * something else came or the link closed. */
static int read_heartbeat(int fd) {
  uint8_t hdr[CC_FRAME_HEADER_BYTES];
  cc_frame_header h;
  size_t got = 0;
  while (got < sizeof hdr) {
    ssize_t r = read(fd, hdr + got, sizeof hdr - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  if (cc_frame_unpack(hdr, 0, CC_FRAME_TYPE_COUNT, &h, NULL, 0) != 0 ||
      h.type != CC_FRAME_HEARTBEAT)
    return -1;
  return 0;
}

/* The frames a raw peer receives for `for_s` seconds: how many are
 * heartbeats (-1 if something else came, or the link closed). The frames
 * already waiting are taken in first, uncounted (they must be heartbeats
 * too): the heartbeats sent while a loaded host held up the test thread
 * are not the engine's rate. */
static int heartbeats_within(int fd, double for_s) {
  double end;
  int count = 0;
  for (struct pollfd pfd = {fd, POLLIN, 0}; poll(&pfd, 1, 0) > 0; pfd.revents = 0)
    if (read_heartbeat(fd) != 0) return -1;
  end = seconds() + for_s;
  for (double left; (left = end - seconds()) > 0;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, (int)(left * 1e3) + 1) <= 0) continue;
    if (read_heartbeat(fd) != 0) return -1;
    count++;
  }
  return count;
}

static bool payload_is(cc_payload *p, const char *text) {
  return p && p->len == strlen(text) && memcmp(p->data, text, p->len) == 0;
}

int main(void) {
  const char *hosts[WORLD] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
  uint16_t ports[WORLD] = {0, 0, 0};
  int lfd = raw_peer_listen(&ports[0]), p1, p2;
  int pair_members[2] = {0, 1};
  uint64_t pair_ctx = cc_context_derive(0, 0, "pair", pair_members, 2);
  cc_settings s;
  cc_engine *eng;
  cc_comm *world, *pair;
  cc_payload *got = NULL;
  cc_error err;
  raw_dial dials[2];
  pthread_t helpers[2];

  /* The kernel queues both connections until the engine accepts them. */
  p1 = raw_peer_dial(ports[0], WORLD, 1, dials[0].nonce);
  p2 = raw_peer_dial(ports[0], WORLD, 2, dials[1].nonce);
  dials[0].fd = p1;
  dials[0].rank = 1;
  dials[1].fd = p2;
  dials[1].rank = 2;
  for (int i = 0; i < 2; i++) pthread_create(&helpers[i], NULL, finish_handshake, &dials[i]);

  raw_peer_engine_settings(&s, WORLD, TOKEN, lfd, hosts, ports, MAX_FRAME_BYTES);
  s.log = capture_log;
  if (cc_engine_start(&s, &eng, &err) != CC_OK) {
    fprintf(stderr, "engine: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < 2; i++) pthread_join(helpers[i], NULL);
  CHECK(cc_comm_world(eng, "world", 5, &world, &err) == CC_OK);
  CHECK(cc_comm_create(eng, pair_ctx, "pair", pair_members, 2, 5, &pair, &err) == CC_OK);

  /* Player 1, the engine's successor on the ring, gets a heartbeat every
   * interval (0.1 s) on the quiet link: about 10 a second, and nothing
   * else. (Wide bounds: the host may be busy. The count runs for a second
   * times CICADA_TEST_SLOWDOWN, which ctest sets: a loaded host that keeps
   * the I/O thread from running for most of a second must not make the
   * rate look halved.) */
  {
    const char *slowdown = getenv("CICADA_TEST_SLOWDOWN");
    double window = slowdown && atof(slowdown) >= 1 ? atof(slowdown) : 1;
    int beats = heartbeats_within(p1, window);
    bool ok = beats >= 5 * window && beats <= 10 * window + 5;
    CHECK(ok);
    if (!ok) fprintf(stderr, "%d heartbeats in %g s\n", beats, window);
  }

  /* Player 1's frame claims to come from player 2: it is player 1's. */
  send_frame(p1, CC_FRAME_DATA, 7, pair_ctx, 2, 5, "from1", 5);
  CHECK(cc_comm_recv(pair, 1, 7, &got, &err) == CC_OK && payload_is(got, "from1"));
  if (got) cc_payload_unref(got);
  got = NULL;

  /* Player 2 is not in "pair": its message is dropped with a warning. */
  send_frame(p2, CC_FRAME_DATA, 8, pair_ctx, 2, 5, "from2", 5);
  send_frame(p1, CC_FRAME_DATA, 9, pair_ctx, 1, 4, "sync", 4);
  CHECK(cc_comm_recv(pair, 1, 9, &got, &err) == CC_OK && payload_is(got, "sync"));
  if (got) cc_payload_unref(got);
  got = NULL;
  CHECK(log_soon("Comm pair player 0: dropped a message from player 2, who is not a member"));

  /* Player 2 announces a frame over the size limit: its link fails, with
   * a warning naming it; nothing is allocated for the payload. */
  send_frame(p2, CC_FRAME_DATA, 1, pair_ctx, 2, MAX_FRAME_BYTES + 1, NULL, 0);
  cc_comm_set_timeout(world, 2);
  CHECK(cc_comm_recv(world, 2, 1, &got, &err) == CC_EPEER_FAILED);
  CHECK(err.peer == 2 && strstr(err.message, "malformed frame"));
  CHECK(log_soon("bad frame from player 2"));

  /* Player 1's link still works; then a frame of an unknown type fails it. */
  send_frame(p1, CC_FRAME_DATA, 3, 0, 1, 2, "ok", 2);   /* an unknown context: held */
  send_frame(p1, CC_FRAME_DATA, 4, cc_context_derive(0, 0, "world", (int[]){0, 1, 2}, 3), 1, 5,
             "still", 5);
  CHECK(cc_comm_recv(world, 1, 4, &got, &err) == CC_OK && payload_is(got, "still"));
  if (got) cc_payload_unref(got);
  got = NULL;
  send_frame(p1, 99, 0, 0, 1, 0, NULL, 0);
  CHECK(cc_comm_recv(world, 1, 5, &got, &err) == CC_EPEER_FAILED);
  CHECK(log_soon("bad frame from player 1"));

  cc_comm_free(pair);
  cc_comm_free(world);
  cc_engine_stop(eng);
  close(p1);
  close(p2);
  if (failures) {
    fprintf(stderr, "%d checks failed; the engine logged:\n%s", failures, logged);
    return 1;
  }
  printf("test_links: all checks passed\n");
  return 0;
}
