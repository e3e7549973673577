/*
 * rendezvous.h - how the players of a multi-host world find each other.
 *
 * Every player knows only the root's address (tcp://host:port). Rank 0
 * listens there; every other player binds its own listener, answers the
 * root's challenge with its rank, the world size and where it listens,
 * proving it knows the world's token without sending it, and gets back the
 * address book of every player with the root's proof (rendezvous.c). Each
 * derives the links' 256-bit key from the token and the run's world id.
 * Then the links form as in a local run (net.c). Nothing here knows about
 * Lua or the engine's threads: plain sockets with deadlines.
 */
#ifndef CICADA_RENDEZVOUS_H
#define CICADA_RENDEZVOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define CC_HOST_MAX 256
#define CC_GROW_SEATS_MAX 64   /* newcomers of one grow across hosts */

/* A parsed tcp://host:port: host without brackets (IPv6 literals too). */
typedef struct cc_address {
  char host[CC_HOST_MAX];
  uint16_t port;
} cc_address;

/* Parse "tcp://host:port" or "tcp://[v6]:port"; port 0 only if
 * allow_port_zero (any free port). Returns 0, or -1 with a message that
 * names the URL and says what is wrong. */
int cc_url_parse(const char *url, int allow_port_zero, cc_address *out, char *err, size_t errsz);

/* Bind and listen on host:port (host "" or NULL: every interface, IPv6
 * and IPv4). Returns the socket, or -1 with a message naming the address
 * and the system's reason ("Address already in use"). */
int cc_listen_on(const char *host, uint16_t port, char *err, size_t errsz);

/* The local port a listening socket is bound to, or 0. */
uint16_t cc_listen_port(int fd);

typedef struct cc_rendezvous_settings {
  int rank;
  int world_size;
  cc_address root;           /* the root's listening address */
  const cc_address *self;    /* where this player listens, or NULL: any port,
                              * reachable at the address the root sees */
  const char *token;         /* the world's token, or NULL for none */
  int tls;                   /* this player's links are TLS: every player's
                              * must be, or none (else CC_EENCRYPTION) */
  /* Both set: the rendezvous itself is mutual TLS, with the links'
   * certificate rules (net/tls.h): the root admits a rank only with that
   * rank's certificate, and a player talks only to player 0's. */
  const char *tls_identity;
  const char *tls_trusted;
  int root_fd;               /* rank 0: a listener already bound to the root
                              * address (the launcher's), or -1 */
  double startup_timeout_s;
  int join;                  /* a newcomer of a grown world (cicada-lua
                              * --join): root is where the members wait
                              * (cc_grow_meet); rank and world_size are
                              * ignored, the members seat it (book->rank) */
} cc_rendezvous_settings;

/* What a player needs to start its engine (cc_settings fields). */
typedef struct cc_address_book {
  int listen_fd;             /* this player's listener, owned by the caller */
  char **hosts;              /* world_size entries */
  uint16_t *ports;
  uint8_t link_key[32];      /* the links' key in this world (cc_settings) */
  /* A newcomer of a grown world (join): where the members seated it. */
  int rank, world_size;      /* its rank in the grown world, the world's size */
  int count;                 /* the grow's newcomers ... */
  int newcomers[CC_GROW_SEATS_MAX]; /* ... and their ranks, ascending */
  char name[64];             /* the grown communicator's name */
} cc_address_book;

/* Meet the other players through the root. Fails with CC_EINVALID (bad
 * settings), CC_EIO (cannot listen, cannot resolve the root),
 * CC_ESTARTUP_TIMEOUT (not every player came within startup_timeout_s) or
 * CC_ETOKEN_MISMATCH (this player, or the root, has another token: a
 * newcomer that cannot prove the token is refused alone, and the others
 * time out naming it) or CC_EENCRYPTION (some player's links are
 * plaintext in a TLS world, or the other way round). On success fill book; free it with
 * cc_address_book_free. */
cc_status cc_rendezvous(const cc_rendezvous_settings *s, cc_address_book *book, cc_error *err);

/* The members' side of a grow across hosts (comm:grow{address=}): one
 * member waits at listen_fd for count newcomers (cicada-lua --join),
 * challenges each as the root of a rendezvous does, and seats those that
 * prove the token at the ranks of the grown world (members + count
 * players) that no member holds: in the order they prove it, or in a TLS
 * world (tls_identity and tls_trusted set) each at the rank its
 * certificate names, which must be free. A stranger, a wrong token or a
 * certificate for a rank that is not free is refused and the wait goes
 * on. Each newcomer then gets its seat, the newcomers' ranks, the grown
 * communicator's name and the address book (the members' entries as
 * given, this member's reached the way the newcomer came), which book
 * then holds too (world_size entries, no listener; free it with
 * cc_address_book_free), for the members that dial newcomers. Fails with
 * CC_ESTARTUP_TIMEOUT when not every newcomer came within timeout_s
 * (naming what was refused), CC_EINVALID, CC_EENCRYPTION or CC_ENOMEM.
 * The listener stays the caller's. */
typedef struct cc_grow_meet_settings {
  int members, count;        /* count at most CC_GROW_SEATS_MAX */
  const int *seats;          /* each member's rank in the grown world (entry 0:
                              * this one), or NULL: 0 .. members-1 */
  const char *const *hosts;  /* members' hosts (entry 0 unused) */
  const uint16_t *ports;     /* members' listeners in the grown world */
  int listen_fd;
  const uint8_t *key;        /* K of the world's token (cc_rendezvous_key) */
  const char *tls_identity;  /* both set: the meeting is mutual TLS */
  const char *tls_trusted;
  uint64_t world_id;         /* names the grown world and keys its links */
  const char *name;          /* the grown communicator's (1..63 bytes) */
  double timeout_s;
} cc_grow_meet_settings;
cc_status cc_grow_meet(const cc_grow_meet_settings *g, cc_address_book *book, cc_error *err);

#define CC_RENDEZVOUS_KEY_BYTES 32
/* K, the key with which the players of a world prove its token
 * ("" for none) to one another; never sent. */
void cc_rendezvous_key(const char *token, uint8_t key[CC_RENDEZVOUS_KEY_BYTES]);
/* The 256-bit key of the links of the world world_id among players that
 * share K (cc_settings.link_key): the rendezvous derives every world's, and
 * comm:grow a grown world's from a fresh id. */
void cc_rendezvous_link_key(const uint8_t key[CC_RENDEZVOUS_KEY_BYTES], uint64_t world_id,
                            uint8_t out[32]);
void cc_address_book_free(cc_address_book *book, int world_size);

#endif
