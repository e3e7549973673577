/*
 * test_rendezvous.c - the rendezvous cannot be replayed. A hand-made root
 * records what a real player sends it in one run; in the next run the
 * stranger replays those bytes to the real root, and sends the root's own
 * challenge back at it: both are refused, no rank is taken, and the real
 * player then joins. The root's answer to an unproven report says why.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/rendezvous.h"
#include "check.h"

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

static int dial(uint16_t port) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("connect");
    exit(1);
  }
  return fd;
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
  fd = dial(port);
  read_line(fd, challenge, sizeof challenge);
  CHECK(strncmp(challenge, "CHALLENGE ", 10) == 0);
  CHECK(write(fd, recorded, strlen(recorded)) == (ssize_t)strlen(recorded));
  read_line(fd, line, sizeof line);
  CHECK(strstr(line, "ERR token_mismatch it claimed to be player 1 without proving the "
                     "world's token") == line);
  close(fd);

  /* The root's challenge sent back at it: dropped without an answer. */
  fd = dial(port);
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
  return failures ? 1 : 0;
}
