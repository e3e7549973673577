/*
 * test_rendezvous.c - the rendezvous cannot be replayed. A hand-made root
 * records what a real player sends it in one run; in the next run the
 * stranger replays those bytes to the real root, and sends the root's own
 * challenge back at it: both are refused, no rank is taken, and the real
 * player then joins. The root's answer to an unproven report says why.
 * With identities the rendezvous is TLS: an observer of the root's port
 * sees TLS records only, never the challenge, the report or the book.
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/rendezvous.h"
#include "net/tls.h"
#include "check.h"
#include "raw_peer.h"

#define TOKEN "the world's token"

typedef struct player {
  cc_rendezvous_settings s;
  cc_address_book book;
  cc_error err;
  cc_status rc;
} player;

static void *meet(void *arg) {
  player *p = arg;
  p->rc = cc_rendezvous(&p->s, &p->book, &p->err);
  return NULL;
}

static void settings(player *p, int rank, uint16_t root_port, int root_fd) {
  memset(p, 0, sizeof *p);
  p->s.rank = rank;
  p->s.world_size = 2;
  snprintf(p->s.root.host, sizeof p->s.root.host, "127.0.0.1");
  p->s.root.port = root_port;
  p->s.token = TOKEN;
  p->s.root_fd = root_fd;
  p->s.startup_timeout_s = 5;
}

/* One '\n'-ended line (kept), or "" at the end of the stream. */
static void read_line(int fd, char *buf, size_t bufsz) {
  size_t n = 0;
  while (n + 1 < bufsz) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0 || read(fd, buf + n, 1) != 1) break;
    if (buf[n++] == '\n') break;
  }
  buf[n] = '\0';
}

/* A relay between one player and the root that records what each sends. */
typedef struct relay {
  int listen_fd;
  uint16_t root_port;
  char up[65536], down[65536];   /* player -> root, root -> player */
  size_t nup, ndown;
} relay;

static void *relay_main(void *arg) {
  relay *r = arg;
  int a = accept(r->listen_fd, NULL, NULL), b = raw_peer_connect(r->root_port);
  struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buf[4096];
  for (int open = 2; open > 0 && poll(p, 2, 10000) > 0;) {
    for (int i = 0; i < 2; i++) {
      ssize_t n;
      if (p[i].fd < 0 || !p[i].revents) continue;
      n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        shutdown(p[1 - i].fd, SHUT_WR);
        p[i].fd = -1;
        open--;
        continue;
      }
      if (write(p[1 - i].fd, buf, (size_t)n) != n) { open = 0; break; }
      char *rec = i == 0 ? r->up : r->down;
      size_t *len = i == 0 ? &r->nup : &r->ndown;
      size_t room = sizeof r->up - *len;
      memcpy(rec + *len, buf, (size_t)n < room ? (size_t)n : room);
      *len += (size_t)n < room ? (size_t)n : room;
    }
  }
  close(a);
  close(b);
  return NULL;
}

static bool contains(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return true;
  return false;
}

/* A TLS rendezvous through a recording relay: it forms, and the recording
 * holds TLS records only. */
static void tls_observed(void) {
  char dir[] = "/tmp/cicada-rdv-XXXXXX", id[2][80], crt[2][80], trusted[200], why[200];
  char book_line[40];
  static relay rl;
  player root, p1;
  pthread_t tr, tl;
  int fd;
  CHECK(mkdtemp(dir) != NULL);
  for (int r = 0; r < 2; r++) {
    snprintf(id[r], sizeof id[r], "%s/p%d.pem", dir, r);
    snprintf(crt[r], sizeof crt[r], "%s/p%d.crt", dir, r);
    CHECK(cc_tls_write_credentials(r, id[r], crt[r], why, sizeof why) == 0);
  }
  snprintf(trusted, sizeof trusted, "%s,%s", crt[0], crt[1]);
  fd = cc_listen_on("127.0.0.1", 0, why, sizeof why);
  rl.listen_fd = cc_listen_on("127.0.0.1", 0, why, sizeof why);
  rl.root_port = cc_listen_port(fd);
  settings(&root, 0, rl.root_port, fd);
  settings(&p1, 1, cc_listen_port(rl.listen_fd), -1);
  root.s.tls = p1.s.tls = 1;
  root.s.tls_identity = id[0];
  p1.s.tls_identity = id[1];
  root.s.tls_trusted = p1.s.tls_trusted = trusted;
  pthread_create(&tr, NULL, meet, &root);
  pthread_create(&tl, NULL, relay_main, &rl);
  meet(&p1);
  pthread_join(tr, NULL);
  pthread_join(tl, NULL);
  if (p1.rc != CC_OK) fprintf(stderr, "player 1: %s\n", p1.err.message);
  if (root.rc != CC_OK) fprintf(stderr, "root: %s\n", root.err.message);
  CHECK(p1.rc == CC_OK && root.rc == CC_OK);
  CHECK(rl.nup > 0 && rl.ndown > 0);
  /* TLS handshake records first, each way. */
  CHECK((unsigned char)rl.up[0] == 0x16 && rl.up[1] == 0x03);
  CHECK((unsigned char)rl.down[0] == 0x16 && rl.down[1] == 0x03);
  snprintf(book_line, sizeof book_line, "%u ", (unsigned)p1.book.ports[1]);
  CHECK(!contains(rl.up, rl.nup, "CICADA") && !contains(rl.up, rl.nup, book_line));
  CHECK(!contains(rl.down, rl.ndown, "CHALLENGE") && !contains(rl.down, rl.ndown, "OK ") &&
        !contains(rl.down, rl.ndown, book_line) && !contains(rl.down, rl.ndown, "127.0.0.1"));
  if (p1.rc == CC_OK) cc_address_book_free(&p1.book, 2);
  if (root.rc == CC_OK) cc_address_book_free(&root.book, 2);
  close(rl.listen_fd);
  for (int r = 0; r < 2; r++) { unlink(id[r]); unlink(crt[r]); }
  rmdir(dir);
}

int main(void) {
  char why[200], line[600], recorded[600], challenge[600];
  player p1, root, real;
  pthread_t t;
  int fake, fd;
  uint16_t port;

  /* Run 1: a fake root hears a real player 1. */
  fake = cc_listen_on("127.0.0.1", 0, why, sizeof why);
  CHECK(fake >= 0);
  settings(&p1, 1, cc_listen_port(fake), -1);
  pthread_create(&t, NULL, meet, &p1);
  fd = accept(fake, NULL, NULL);
  CHECK(write(fd, "CHALLENGE 00112233445566778899aabbccddeeff\n", 43) == 43);
  read_line(fd, recorded, sizeof recorded);
  CHECK(strncmp(recorded, "CICADA 2 2 1 ", 13) == 0);
  CHECK(strstr(recorded, TOKEN) == NULL);   /* the token itself never travels */
  close(fd);
  close(fake);
  pthread_join(t, NULL);
  CHECK(p1.rc != CC_OK);

  /* Run 2: the real root. */
  fake = cc_listen_on("127.0.0.1", 0, why, sizeof why);
  port = cc_listen_port(fake);
  settings(&root, 0, port, fake);
  pthread_create(&t, NULL, meet, &root);

  /* The recorded report, replayed: refused, and told why. */
  fd = raw_peer_connect(port);
  read_line(fd, challenge, sizeof challenge);
  CHECK(strncmp(challenge, "CHALLENGE ", 10) == 0);
  CHECK(write(fd, recorded, strlen(recorded)) == (ssize_t)strlen(recorded));
  read_line(fd, line, sizeof line);
  CHECK(strstr(line, "ERR token_mismatch it claimed to be player 1 without proving the "
                     "world's token") == line);
  close(fd);

  /* The root's challenge sent back at it: dropped without an answer. */
  fd = raw_peer_connect(port);
  read_line(fd, challenge, sizeof challenge);
  CHECK(write(fd, challenge, strlen(challenge)) == (ssize_t)strlen(challenge));
  read_line(fd, line, sizeof line);
  CHECK(line[0] == '\0');
  close(fd);

  /* Rank 1 is still free: the real player takes it. */
  settings(&real, 1, port, -1);
  meet(&real);
  pthread_join(t, NULL);
  CHECK(real.rc == CC_OK && root.rc == CC_OK);
  if (real.rc != CC_OK) fprintf(stderr, "player 1: %s\n", real.err.message);
  if (root.rc != CC_OK) fprintf(stderr, "root: %s\n", root.err.message);
  CHECK(memcmp(real.book.link_key, root.book.link_key, sizeof root.book.link_key) == 0);
  if (real.rc == CC_OK) cc_address_book_free(&real.book, 2);
  if (root.rc == CC_OK) cc_address_book_free(&root.book, 2);
  tls_observed();
  return failures ? 1 : 0;
}
