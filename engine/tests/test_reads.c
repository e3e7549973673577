/*
 * test_reads.c - messages arrive whole and in order however the stream is
 * cut. One engine (player 0) and a hand-made peer on a raw socket (player
 * 1) that completes the HELLO handshake and then writes a stream of DATA
 * frames of many sizes (empty, a few bytes, around the engine's 16 KiB
 * reads, tens of KiB, megabytes, more than one 4 MiB read), with
 * heartbeats and a stray HELLO between them, cut into pieces of every
 * kind: the whole stream at once, pieces of up to 100 KB with pauses (so
 * that reads end anywhere: inside a header, inside a body, right after a
 * frame), and pieces of a few bytes. Every message must come out of
 * cc_comm_recv with its length and every byte as sent. Last, a header cut
 * in two that announces more than the frame limit fails the link.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "comm/comm_internal.h"
#include "core/control.h"
#include "core/wire.h"
#include "net/auth.h"
#include "check.h"
#include "raw_peer.h"

#define WORLD 2
#define TOKEN 0x0badc0ffee15600dULL
#define MAX_FRAME_BYTES (8u << 20)

/* The messages' sizes, in the order sent: around the reads' sizes and
 * across them. */
static const uint32_t sizes[] = {
  0, 1, 23, 24, 25, 100, 4095, 4096, 4097, 8192, 16335, 16336, 16337, 16359, 16360, 16361,
  16384, 16408, 3, 40000, 65536, 80014, 7, 80014, 0, 200003, 5, (1u << 20) + 1,
  (5u << 20) + 3, 11, 32768, 16360, 300000, 2,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define PASSES 3

static uint8_t pattern(int32_t tag, size_t i) { return (uint8_t)(tag * 131 + i * 7 + (i >> 9)); }

static void put_header(uint8_t *out, int type, int32_t tag, uint64_t context, uint32_t length) {
  cc_frame_header h = {CC_WIRE_VERSION, (uint8_t)type, 0, tag, context, 1, length};
  cc_frame_pack(&h, out);
}

static void write_all(int fd, const uint8_t *b, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, b, len);
    if (w <= 0) { failures++; return; }
    b += w;
    len -= (size_t)w;
  }
}

/* A hand-made player 1 dials the engine and completes the handshake: DIAL,
 * the engine's ANSWER, then CONFIRM with this world's token. */
typedef struct raw_peer {
  int fd;
  uint16_t port;
  uint64_t context;   /* the world's */
} raw_peer;

static void *dial_engine(void *arg) {
  raw_peer *rp = arg;
  uint8_t nonce[CC_HELLO_NONCE_BYTES];
  rp->fd = raw_peer_dial(rp->port, WORLD, 1, nonce);
  if (raw_peer_confirm(rp->fd, WORLD, 1, TOKEN, nonce) != 0) failures++;
  return NULL;
}

/* One pass's stream: message k of sizes[] has tag base + k; a heartbeat
 * after every third message (one with a body of 30,000 bytes, which the
 * engine skips), a stray HELLO after the eighth. */
static uint8_t *make_stream(uint64_t context, int32_t base, size_t *len) {
  size_t cap = 0, off = 0;
  uint8_t *s;
  for (size_t k = 0; k < NSIZES; k++) cap += 2 * CC_FRAME_HEADER_BYTES + sizes[k];
  cap += CC_FRAME_HEADER_BYTES + 30000 + CC_FRAME_HEADER_BYTES + CC_HELLO_BYTES;
  s = calloc(1, cap);
  if (!s) exit(1);
  for (size_t k = 0; k < NSIZES; k++) {
    int32_t tag = base + (int32_t)k;
    put_header(s + off, CC_FRAME_DATA, tag, context, sizes[k]);
    off += CC_FRAME_HEADER_BYTES;
    for (size_t i = 0; i < sizes[k]; i++) s[off + i] = pattern(tag, i);
    off += sizes[k];
    if (k % 3 == 2) {
      uint32_t body = k == 5 ? 30000 : 0;
      put_header(s + off, CC_FRAME_HEARTBEAT, 0, 0, body);
      off += CC_FRAME_HEADER_BYTES + body;
    }
    if (k == 8) {
      put_header(s + off, CC_FRAME_HELLO, 0, 0, CC_HELLO_BYTES);
      off += CC_FRAME_HEADER_BYTES + CC_HELLO_BYTES;
    }
  }
  *len = off;
  return s;
}

static uint32_t lcg(uint32_t *x) {
  *x = *x * 1664525u + 1013904223u;
  return *x >> 8;
}

typedef struct writer {
  raw_peer *rp;
  int pass;
} writer;

/* Pass 0: the stream in one write. Pass 1: pieces of 1 to 100,000 bytes,
 * with a pause after some. Pass 2: pieces of 1 to 40 bytes up to the
 * first big frames, then of up to 20,000. */
static void *write_pass(void *arg) {
  writer *w = arg;
  size_t len, off = 0;
  uint8_t *s = make_stream(w->rp->context, 1000 * (w->pass + 1), &len);
  uint32_t x = 12345u + (uint32_t)w->pass;
  if (w->pass == 0) {
    write_all(w->rp->fd, s, len);
  } else {
    while (off < len) {
      size_t piece = w->pass == 1 ? 1 + lcg(&x) % 100000
                   : off < 200000 ? 1 + lcg(&x) % 40 : 1 + lcg(&x) % 20000;
      if (piece > len - off) piece = len - off;
      write_all(w->rp->fd, s + off, piece);
      off += piece;
      if (lcg(&x) % 4 == 0) usleep(200);
    }
  }
  free(s);
  return NULL;
}

static bool message_is(cc_payload *p, int32_t tag, uint32_t size) {
  if (!p || p->len != size) return false;
  for (size_t i = 0; i < size; i++)
    if (p->data[i] != pattern(tag, i)) return false;
  return true;
}

int main(void) {
  const char *hosts[WORLD] = {"127.0.0.1", "127.0.0.1"};
  uint16_t ports[WORLD] = {0, 0};
  int lfd = raw_peer_listen(&ports[0]);
  cc_settings s;
  cc_engine *eng;
  cc_comm *world;
  cc_error err;
  raw_peer rp;
  pthread_t dialler;

  rp.port = ports[0];
  rp.context = cc_context_derive(0, 0, "world", (int[]){0, 1}, WORLD);
  pthread_create(&dialler, NULL, dial_engine, &rp);

  raw_peer_engine_settings(&s, WORLD, TOKEN, lfd, hosts, ports, MAX_FRAME_BYTES);
  if (cc_engine_start(&s, &eng, &err) != CC_OK) {
    fprintf(stderr, "engine: %s\n", err.message);
    return 1;
  }
  pthread_join(dialler, NULL);
  CHECK(cc_comm_world(eng, "world", 30, &world, &err) == CC_OK);

  for (int pass = 0; pass < PASSES; pass++) {
    writer w = {&rp, pass};
    pthread_t t;
    int bad = 0;
    pthread_create(&t, NULL, write_pass, &w);
    for (size_t k = 0; k < NSIZES; k++) {
      int32_t tag = 1000 * (pass + 1) + (int32_t)k;
      cc_payload *got = NULL;
      if (cc_comm_recv(world, 1, tag, &got, &err) != CC_OK) {
        fprintf(stderr, "pass %d, message %zu: %s\n", pass, k, err.message);
        bad++;
        break;
      }
      if (!message_is(got, tag, sizes[k])) {
        fprintf(stderr, "pass %d: message %zu (%u bytes) arrived as %zu bytes, or changed\n",
                pass, k, (unsigned)sizes[k], got ? got->len : 0);
        bad++;
      }
      cc_payload_unref(got);
    }
    CHECK(bad == 0);
    pthread_join(t, NULL);
  }

  /* A header cut in two, announcing more than the limit: judged when it
   * is whole, the link fails as malformed. */
  {
    uint8_t hdr[CC_FRAME_HEADER_BYTES];
    cc_payload *got = NULL;
    put_header(hdr, CC_FRAME_DATA, 5, rp.context, MAX_FRAME_BYTES + 1);
    write_all(rp.fd, hdr, 10);
    usleep(20000);
    write_all(rp.fd, hdr + 10, sizeof hdr - 10);
    cc_comm_set_timeout(world, 5);
    CHECK(cc_comm_recv(world, 1, 5, &got, &err) == CC_EPEER_FAILED);
    CHECK(err.peer == 1 && strstr(err.message, "malformed frame"));
    if (got) cc_payload_unref(got);
  }

  cc_comm_free(world);
  cc_engine_stop(eng);
  close(rp.fd);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("test_reads: all checks passed\n");
  return 0;
}
