/*
 * test_grow.c - the grown world of comm:grow refuses a newcomer that cannot
 * prove the world's token, and comes up with the one that can; and the
 * meeting of a grow across hosts (cc_grow_meet, cicada-lua --join) refuses
 * a newcomer with another token and seats the real one.
 *
 * Two members (ranks 0 and 1) start the grown world of three on fresh
 * loopback listeners, as comm:grow has them do. A newcomer with another
 * token dials them first, as rank 2: each member answers its DIAL, the
 * newcomer cannot check the answer's proof, and nothing it could send
 * would pass the members' check of its CONFIRM; its start fails with
 * CC_ETOKEN_MISMATCH and no member counts it as a link. Then the real
 * newcomer (the world's token) joins, the members' starts return, and a
 * message goes from the newcomer to each member over the grown world.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/rendezvous.h"
#include "comm/comm.h"
#include "check.h"
#include "raw_peer.h"

#define WORLD 3
#define TOKEN 0x0123456789abcdefULL
#define WRONG_TOKEN 0x0123456789abcdeeULL

static const char *hosts[WORLD] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
static uint16_t ports[WORLD];
static int listeners[WORLD];

static void settings_for(cc_settings *s, int rank, uint64_t token, int listen_fd) {
  cc_settings_default(s);
  s->rank = rank;
  s->world_size = WORLD;
  s->token = token;
  s->listen_fd = listen_fd;
  s->peer_hosts = hosts;
  s->peer_ports = ports;
  s->startup_timeout_s = 5;
}

typedef struct member {
  int rank;
  cc_engine *eng;
  cc_status st;
  cc_error err;
} member;

static void *start_member(void *arg) {
  member *m = arg;
  cc_settings s;
  settings_for(&s, m->rank, TOKEN, listeners[m->rank]);
  m->st = cc_engine_start(&s, &m->eng, &m->err);
  return NULL;
}

/* ==== The meeting of a grow across hosts ================================== */

typedef struct meeting {
  cc_grow_meet_settings g;
  cc_address_book book;
  cc_status st;
  cc_error err;
} meeting;

static void *meet(void *arg) {
  meeting *m = arg;
  m->st = cc_grow_meet(&m->g, &m->book, &m->err);
  return NULL;
}

/* Members at ranks 0 and 2 (a TLS world would keep these) wait for one
 * newcomer, which must take rank 1. */
static void grow_across_hosts(void) {
  static const int seats[2] = {0, 2};
  static const char *member_hosts[2] = {"-", "127.0.0.1"};
  static const uint16_t member_ports[2] = {4001, 4002};
  uint8_t key[CC_RENDEZVOUS_KEY_BYTES], want[32];
  cc_rendezvous_settings rs;
  cc_address_book book;
  meeting m;
  pthread_t t;
  cc_error err;
  uint16_t port;
  int listener = raw_peer_listen(&port);

  cc_rendezvous_key("the token", key);
  memset(&m, 0, sizeof m);
  m.g.members = 2;
  m.g.count = 1;
  m.g.seats = seats;
  m.g.hosts = member_hosts;
  m.g.ports = member_ports;
  m.g.listen_fd = listener;
  m.g.key = key;
  m.g.world_id = 0x1234;
  m.g.name = "healed";
  m.g.timeout_s = 10;
  pthread_create(&t, NULL, meet, &m);

  memset(&rs, 0, sizeof rs);
  rs.join = 1;
  snprintf(rs.root.host, sizeof rs.root.host, "127.0.0.1");
  rs.root.port = port;
  rs.root_fd = -1;
  rs.startup_timeout_s = 10;
  rs.token = "another token";
  CHECK(cc_rendezvous(&rs, &book, &err) == CC_ETOKEN_MISMATCH);
  CHECK(strncmp(err.message, "newcomer: ", 10) == 0);

  rs.token = "the token";
  CHECK(cc_rendezvous(&rs, &book, &err) == CC_OK);
  pthread_join(t, NULL);
  CHECK(m.st == CC_OK);
  if (m.st != CC_OK) fprintf(stderr, "members: %s\n", m.err.message);
  CHECK(book.rank == 1 && book.world_size == 3 && book.count == 1 && book.newcomers[0] == 1);
  CHECK(strcmp(book.name, "healed") == 0);
  CHECK(book.ports[0] == 4001 && book.ports[2] == 4002 && book.ports[1] == cc_listen_port(book.listen_fd));
  CHECK(strcmp(book.hosts[0], "127.0.0.1") == 0);   /* where it dialled */
  cc_rendezvous_link_key(key, 0x1234, want);
  CHECK(memcmp(book.link_key, want, sizeof want) == 0);
  CHECK(m.book.world_size == 3 && m.book.ports[1] == book.ports[1]);
  cc_address_book_free(&book, book.world_size);
  if (m.st == CC_OK) cc_address_book_free(&m.book, m.book.world_size);
  close(listener);
}

int main(void) {
  member members[2] = {{0, NULL, CC_OK, {0}}, {1, NULL, CC_OK, {0}}};
  pthread_t threads[2];
  cc_settings s;
  cc_engine *rogue = NULL, *newcomer = NULL;
  cc_comm *worlds[WORLD] = {NULL, NULL, NULL};
  cc_error err;
  cc_status st;

  grow_across_hosts();
  for (int r = 0; r < WORLD; r++) listeners[r] = raw_peer_listen(&ports[r]);
  for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, start_member, &members[i]);

  /* The impostor: rank 2 with another world's token. */
  settings_for(&s, 2, WRONG_TOKEN, listeners[2]);
  st = cc_engine_start(&s, &rogue, &err);
  CHECK(st == CC_ETOKEN_MISMATCH);
  CHECK(rogue == NULL);
  if (st != CC_OK) fprintf(stderr, "the impostor was refused: %s\n", err.message);

  /* The real newcomer, on a listener of its own. Its address book is a
   * copy: the members' engines may still be reading `ports`. */
  {
    static uint16_t newcomer_ports[WORLD];
    memcpy(newcomer_ports, ports, sizeof ports);
    listeners[2] = raw_peer_listen(&newcomer_ports[2]);
    settings_for(&s, 2, TOKEN, listeners[2]);
    s.peer_ports = newcomer_ports;
  }
  st = cc_engine_start(&s, &newcomer, &err);
  CHECK(st == CC_OK);
  if (st != CC_OK) fprintf(stderr, "newcomer: %s\n", err.message);
  for (int i = 0; i < 2; i++) {
    pthread_join(threads[i], NULL);
    CHECK(members[i].st == CC_OK);
    if (members[i].st != CC_OK) fprintf(stderr, "member %d: %s\n", i, members[i].err.message);
  }
  if (failures) return 1;

  CHECK(cc_comm_world(newcomer, "healed", 5, &worlds[2], &err) == CC_OK);
  for (int i = 0; i < 2; i++)
    CHECK(cc_comm_world(members[i].eng, "healed", 5, &worlds[i], &err) == CC_OK);
  for (int i = 0; i < 2; i++) {
    cc_payload *p = cc_payload_new(5), *got = NULL;
    memcpy(p->data, "hello", 5);
    CHECK(cc_comm_send(worlds[2], p, i, 1, &err) == CC_OK);
    cc_payload_unref(p);
    CHECK(cc_comm_recv(worlds[i], 2, 1, &got, &err) == CC_OK);
    CHECK(got && got->len == 5 && memcmp(got->data, "hello", 5) == 0);
    if (got) cc_payload_unref(got);
  }
  for (int r = 0; r < WORLD; r++) cc_comm_free(worlds[r]);
  cc_engine_stop(newcomer);
  for (int i = 0; i < 2; i++) cc_engine_stop(members[i].eng);
  return failures ? 1 : 0;
}
