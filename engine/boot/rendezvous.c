/*
 * rendezvous.c - the players of a multi-host world meet at the root.
 *
 * The exchange (see rendezvous.h; the lines are packed and parsed by
 * core/control.c) is a challenge and response each way, keyed by
 * K = HMAC-SHA256("cicada rendezvous 2", token):
 *
 *   root -> player:  CHALLENGE <nonce_r>                  fresh per connection
 *   player -> root:  CICADA 2 <world> <rank> <nonce_p> <tls|plain> <port> <mac> <host>
 *                    mac = HMAC(K, "join <nonce_r> <world> <rank> <nonce_p>
 *                                   <tls|plain> <port> <host>")
 *   root -> player:  OK <world id> <mac>                  then one "<port> <host>"
 *                    mac = HMAC(K, "book <nonce_r> <nonce_p> <rank> <world id>\n"
 *                                   followed by the book's lines)
 *                or  ERR <kind> <message>
 *
 * The root checks a newcomer's mac before it reserves the rank, so a
 * stranger (or a replay of an earlier run's bytes: the root's nonce is new)
 * takes no rank; it is logged, told, and dropped, and the world waits for
 * the real player. The player checks the book's mac, so a book from
 * anyone but a root that knows the token is refused. No secret travels:
 * the engine token of the links is HMAC(K, "link <world id>"), which every
 * player computes for itself.
 *
 * With identities (tls_identity, tls_trusted) all of this runs inside
 * mutual TLS over the same socket, with the links' context and rank rules
 * (net/tls.h): the newcomer speaks first (its ClientHello), the root
 * admits a line only if the newcomer's certificate plays the rank the
 * line claims, and the newcomer goes on only with a root whose
 * certificate plays rank 0. A failed handshake is a stranger's refusal.
 *
 * The root reads its newcomers side by side, each with its own deadline
 * (and at most PENDING_MAX at once), so silent connections delay no one.
 * It waits until every player has reported (or startup_timeout has passed)
 * before it answers anyone, so that a missing player is reported to every
 * player that came, not only to the culprit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <signal.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/check.h"
#include "core/control.h"
#include "core/log.h"
#include "net/auth.h"
#include "net/tls.h"
#include "boot/rendezvous.h"

#define LINE_MAX_BYTES (CC_RDV_LINE_MAX + 2)   /* the line, its '\n' and a NUL */
#define CONNECT_RETRY_S 0.05
#define NEWCOMER_WAIT_S 2.0   /* how long the root waits for a newcomer's line */
#define PENDING_MAX 32        /* newcomers the root reads at once */
#define REFUSALS_LOGGED 8     /* connections refused that the root logs */

_Static_assert(CC_HOST_MAX == CC_RDV_HOST_MAX, "host names fit the rendezvous lines");
_Static_assert(CC_GROW_SEATS_MAX == CC_RDV_SEATS_MAX, "a grow's newcomers fit the SEAT line");


/* ==== Addresses ============================================================ */

int cc_url_parse(const char *url, int allow_port_zero, cc_address *out, char *err, size_t errsz) {
  const char *p, *hend, *colon;
  char *end;
  unsigned long port;
  size_t hlen;
  memset(out, 0, sizeof *out);
  if (!url || strncmp(url, "tcp://", 6) != 0) {
    const char *sep = url ? strstr(url, "://") : NULL;
    if (sep)
      snprintf(err, errsz, "address '%s' has the scheme '%.*s': expected tcp://host:port", url,
               (int)(sep - url), url);
    else
      snprintf(err, errsz, "address '%s' is not a URL: expected tcp://host:port", url ? url : "");
    return -1;
  }
  p = url + 6;
  if (*p == '[') {
    hend = strchr(p, ']');
    if (!hend || hend[1] != ':') {
      snprintf(err, errsz, "address '%s': an IPv6 address needs the form tcp://[addr]:port", url);
      return -1;
    }
    p++;
    colon = hend + 1;
  } else {
    colon = strrchr(p, ':');
    hend = colon;
    if (colon && memchr(p, ':', (size_t)(colon - p))) {
      snprintf(err, errsz, "address '%s': write an IPv6 address in brackets, tcp://[addr]:port",
               url);
      return -1;
    }
  }
  if (!colon) {
    snprintf(err, errsz, "address '%s' has no port: expected tcp://host:port", url);
    return -1;
  }
  hlen = (size_t)(hend - p);
  if (hlen == 0 || hlen >= sizeof out->host) {
    snprintf(err, errsz, "address '%s' has %s host name", url, hlen ? "too long a" : "no");
    return -1;
  }
  errno = 0;
  port = strtoul(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535 ||
      (port == 0 && !allow_port_zero)) {
    snprintf(err, errsz, "address '%s' has a bad port '%s': expected 1 to 65535", url, colon + 1);
    return -1;
  }
  memcpy(out->host, p, hlen);
  out->host[hlen] = '\0';
  out->port = (uint16_t)port;
  return 0;
}

int cc_listen_on(const char *host, uint16_t port, char *err, size_t errsz) {
  struct addrinfo hints, *res = NULL, *ai;
  char portstr[8];
  int rc, fd = -1, saved = 0;
  bool any = !host || !*host;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = any ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
  rc = getaddrinfo(any ? NULL : host, portstr, &hints, &res);
  if (rc != 0 && any) {      /* no IPv6 here: every IPv4 interface */
    hints.ai_family = AF_INET;
    rc = getaddrinfo(NULL, portstr, &hints, &res);
  }
  if (rc != 0) {
    snprintf(err, errsz, "cannot listen on %s port %u: %s", any ? "every interface" : host,
             (unsigned)port, gai_strerror(rc));
    return -1;
  }
  for (ai = res; ai; ai = ai->ai_next) {
    int one = 1, zero = 0;
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) { saved = errno; continue; }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && any)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    snprintf(err, errsz, "cannot listen on %s port %u: %s", any ? "every interface" : host,
             (unsigned)port, strerror(saved));
  return fd;
}

uint16_t cc_listen_port(int fd) {
  struct sockaddr_storage a;
  socklen_t alen = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &alen) != 0) return 0;
  if (a.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
  return 0;
}

/* The numeric address of the other end of a connection; IPv4 for an IPv4
 * peer reached through a dual-stack socket. */
static void peer_host(int fd, char *out, size_t outsz) {
  struct sockaddr_storage a;
  socklen_t alen = sizeof a;
  snprintf(out, outsz, "127.0.0.1");
  if (getpeername(fd, (struct sockaddr *)&a, &alen) != 0) return;
  if (a.ss_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
      inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, (socklen_t)outsz);
      return;
    }
  }
  getnameinfo((struct sockaddr *)&a, alen, out, (socklen_t)outsz, NULL, 0, NI_NUMERICHOST);
}

/* ==== Channels: a socket, over TLS when the world has identities ========== */

/* One connection of the rendezvous: plain, or TLS over the same socket. */
typedef struct chan {
  int fd;                    /* -1: closed */
  SSL *ssl;                  /* NULL: plaintext */
} chan;

static void chan_close(chan *c) {
  if (c->ssl) SSL_free(c->ssl);   /* leaves the socket to us */
  if (c->fd >= 0) close(c->fd);
  c->ssl = NULL;
  c->fd = -1;
}

/* Wait until fd is ready for `events` or the deadline: 1, or 0 at it. */
static int wait_for(int fd, short events, double deadline) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    double left = deadline - cc_now();
    int r;
    if (left <= 0) return 0;
    r = poll(&p, 1, (int)(left * 1000) + 1);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return 0;
  }
}

/* Read one byte: 1, 0 if none is ready yet, -1 at the end of the stream or
 * on an error, -3 if the peer's TLS refused us (the reason in why). */
static int chan_read1(chan *c, char *b, char *why, size_t whysz) {
  if (c->ssl) {
    size_t got = 0;
    int r = SSL_read_ex(c->ssl, b, 1, &got), e;
    if (r == 1 && got == 1) return 1;
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_SSL) {
      cc_tls_reason(0, "TLS error", why, whysz);
      return -3;
    }
    ERR_clear_error();
    return -1;
  }
  for (;;) {
    ssize_t r = read(c->fd, b, 1);
    if (r == 1) return 1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
}

/* Read one '\n'-terminated line into buf, without its '\n', and its length
 * into *len. 0, or -1 on end of file, an error or a line that does not fit,
 * -2 at the deadline, or -3 if the peer's TLS refused us (why says why). */
static int read_line(chan *c, char *buf, size_t bufsz, double deadline, size_t *len,
                     char *why, size_t whysz) {
  size_t n = 0;
  *len = 0;
  while (n + 1 < bufsz) {
    int r;
    if (!(c->ssl && SSL_has_pending(c->ssl)) && !wait_for(c->fd, POLLIN, deadline)) return -2;
    r = chan_read1(c, buf + n, why, whysz);
    if (r == 0) continue;
    if (r < 0) return r;
    if (buf[n] == '\n') { buf[n] = '\0'; *len = n; return 0; }
    n++;
  }
  return -1;
}

static int chan_write(chan *c, const char *s, size_t len, double deadline) {
  while (len > 0) {
    if (c->ssl) {
      size_t w = 0;
      int r = SSL_write_ex(c->ssl, s, len, &w), e;
      if (r == 1) { s += w; len -= w; continue; }
      e = SSL_get_error(c->ssl, r);
      if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
          wait_for(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
      ERR_clear_error();
      return -1;
    } else {
      ssize_t w = send(c->fd, s, len, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          wait_for(c->fd, POLLOUT, deadline))
        continue;
      if (w <= 0) return -1;
      s += w;
      len -= (size_t)w;
    }
  }
  return 0;
}

/* ==== Keys and proofs ======================================================== */

static void hex_of(const uint8_t *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

/* K, the rendezvous key, from the world's token ("" for none). */
static void rdv_key(const char *token, uint8_t key[CC_AUTH_KEY_BYTES]) {
  static const char domain[] = "cicada rendezvous 2";
  const void *parts[1] = {token ? token : ""};
  size_t lens[1] = {token ? strlen(token) : 0};
  cc_auth_mac((const uint8_t *)domain, sizeof domain - 1, parts, lens, 1, key);
}

/* HMAC(K, a | b) as hex (b may be NULL). */
static void proof(const uint8_t *key, const char *a, const char *b, size_t blen,
                  char hex[CC_RDV_MAC_CHARS + 1]) {
  uint8_t mac[CC_AUTH_MAC_BYTES];
  const void *parts[2] = {a, b ? b : ""};
  size_t lens[2] = {strlen(a), b ? blen : 0};
  cc_auth_mac(key, CC_AUTH_KEY_BYTES, parts, lens, 2, mac);
  hex_of(mac, sizeof mac, hex);
}

static void join_proof(const uint8_t *key, const char *nonce_r, const cc_rdv_join *j,
                       char hex[CC_RDV_MAC_CHARS + 1]) {
  char text[CC_RDV_LINE_MAX + 64];
  snprintf(text, sizeof text, "join %s %d %d %s %s %u %s", nonce_r, j->world_size, j->rank,
           j->nonce, j->tls ? "tls" : "plain", (unsigned)j->port, j->host);
  proof(key, text, NULL, 0, hex);
}

static void book_proof(const uint8_t *key, const char *nonce_r, const char *nonce_p, int rank,
                       uint64_t world_id, const char *book, size_t booklen,
                       char hex[CC_RDV_MAC_CHARS + 1]) {
  char head[160];
  snprintf(head, sizeof head, "book %s %s %d %016" PRIx64 "\n", nonce_r, nonce_p, rank, world_id);
  proof(key, head, book, booklen, hex);
}

/* The 256-bit key of the links of the world world_id: HMAC(K, "link
 * <world id>"), a new key in every run. */
static void link_key(const uint8_t *key, uint64_t world_id, uint8_t out[CC_AUTH_KEY_BYTES]) {
  char text[40];
  const void *parts[1] = {text};
  size_t lens[1];
  lens[0] = (size_t)snprintf(text, sizeof text, "link %016" PRIx64, world_id);
  cc_auth_mac(key, CC_AUTH_KEY_BYTES, parts, lens, 1, out);
}

void cc_rendezvous_key(const char *token, uint8_t key[CC_RENDEZVOUS_KEY_BYTES]) {
  rdv_key(token, key);
}

void cc_rendezvous_link_key(const uint8_t key[CC_RENDEZVOUS_KEY_BYTES], uint64_t world_id,
                            uint8_t out[32]) {
  link_key(key, world_id, out);
}

static int fresh_nonce(char hex[CC_RDV_NONCE_CHARS + 1]) {
  uint8_t b[CC_RDV_NONCE_CHARS / 2];
  if (cc_auth_random(b, sizeof b) != 0) return -1;
  hex_of(b, sizeof b, hex);
  return 0;
}

/* ==== The root ================================================================ */

/* A grow's side of root_meet: which ranks of the grown world the members
 * hold (their entries are in the book already; the others are the
 * newcomers'), the grown world's id and its communicator's name. */
typedef struct grow_plan {
  const bool *member;        /* per rank of the grown world */
  uint64_t world_id;
  const char *name;
} grow_plan;

/* A newcomer the root has challenged and not yet heard from. */
typedef struct pending {
  chan ch;                   /* ch.fd -1: a free slot */
  bool challenged;           /* its TLS handshake (if any) is done and the
                              * challenge sent */
  short want;                /* what its handshake waits for: POLLIN, POLLOUT */
  int cert_rank;             /* TLS: the rank its certificate plays */
  double deadline;
  char nonce[CC_RDV_NONCE_CHARS + 1];
  char addr[CC_HOST_MAX];
  size_t len;
  char line[LINE_MAX_BYTES];
} pending;

typedef struct root_state {
  const cc_rendezvous_settings *s;
  const uint8_t *key;
  SSL_CTX *tls;              /* the rendezvous is over TLS, or NULL */
  chan *chans;               /* per rank: the reporting connection, or fd -1 */
  char (*nonces)[CC_RDV_NONCE_CHARS * 2 + 2]; /* per rank: "<nonce_r> <nonce_p>" */
  char **refused;            /* per rank: why a connection claiming it was refused */
  char *stranger;            /* why the first connection that claimed no
                              * rank (a failed TLS handshake...) was refused */
  int registered;
  int other_security;        /* a rank with TLS in a plaintext world or the
                              * other way round, or -1 */
  int refusals;              /* connections refused so far */
  const grow_plan *grow;     /* a grow's members, or NULL */
  int seats;                 /* the ranks newcomers take: n - 1, or in a grow
                              * those the members do not hold */
  pending slots[PENDING_MAX];
} root_state;

/* Is r a rank that a newcomer takes (not the root's, not a member's)? */
static bool newcomer_rank(const root_state *st, int r) {
  if (r < 0 || r >= st->s->world_size) return false;
  return st->grow ? !st->grow->member[r] : r >= 1;
}

static void reply_error(chan *c, const char *kind, const char *message) {
  char line[LINE_MAX_BYTES];
  int n = cc_rdv_err_pack(kind, message, line, sizeof line);
  if (n > 0) chan_write(c, line, (size_t)n, cc_now() + NEWCOMER_WAIT_S);
}

/* Drop a newcomer that did not prove itself: log it (the first few), tell
 * it why, close it. The world goes on waiting for the real player. */
static void root_refuse(root_state *st, pending *p, int rank, const char *kind, const char *why) {
  char msg[CC_HOST_MAX + 300];
  snprintf(msg, sizeof msg, "player 0 refused a connection from %.100s: %s", p->addr, why);
  if (st->refusals++ < REFUSALS_LOGGED) cc_log_stderr(NULL, CC_LOG_WARNING, msg);
  if (newcomer_rank(st, rank) && !st->refused[rank])
    st->refused[rank] = strdup(why);
  if (rank < 0 && !st->stranger) {
    snprintf(msg, sizeof msg, "a connection from %.100s was refused: %s", p->addr, why);
    st->stranger = strdup(msg);
  }
  if (kind) reply_error(&p->ch, kind, why);
  chan_close(&p->ch);
}

/* A newcomer's whole line is in: reserve its rank if it proves it knows
 * the token (and, over TLS, if its certificate plays that rank), else drop
 * it. */
static void root_take(root_state *st, pending *p, cc_address_book *book) {
  const cc_rendezvous_settings *s = st->s;
  char msg[200], want[CC_RDV_MAC_CHARS + 1];
  cc_rdv_join j;
  int fd = p->ch.fd, flags;
  if (cc_rdv_join_parse(p->line, p->len, &j, msg, sizeof msg) != 0) {
    root_refuse(st, p, -1, NULL, "not a cicada player of this version");
    return;
  }
  join_proof(st->key, p->nonce, &j, want);
  if (!cc_auth_equal((const uint8_t *)want, (const uint8_t *)j.mac, CC_RDV_MAC_CHARS)) {
    if (st->grow) {
      root_refuse(st, p, -1, "token_mismatch", "it came to join without proving the world's token");
      return;
    }
    snprintf(msg, sizeof msg, "it claimed to be player %d without proving the world's token",
             j.rank);
    root_refuse(st, p, j.rank, "token_mismatch", msg);
    return;
  }
  if (st->grow) {
    /* A grow: a newcomer asks for any seat (world 1, rank 0) and, having
     * proved the token, gets the next free one; in a TLS world the one its
     * certificate names, which must be free. */
    int seat = -1;
    if (j.world_size != 1 || j.rank != 0) {
      snprintf(msg, sizeof msg, "it claimed to be player %d of %d, where members wait for "
               "newcomers (cicada-lua --join)", j.rank, j.world_size);
      root_refuse(st, p, -1, "invalid", msg);
      return;
    }
    if (st->tls && p->cert_rank >= 0) {
      if (!newcomer_rank(st, p->cert_rank) || st->chans[p->cert_rank].fd >= 0) {
        snprintf(msg, sizeof msg, "it came with the certificate of player %d, a rank that is %s",
                 p->cert_rank, newcomer_rank(st, p->cert_rank) ? "taken already"
                 : "not free in the grown world");
        root_refuse(st, p, -1, "encryption_failed", msg);
        return;
      }
      seat = p->cert_rank;
    } else if (st->tls && p->cert_rank != CC_TLS_OWN_IDENTITY) {
      root_refuse(st, p, -1, "encryption_failed",
                  "it came with a certificate that plays no rank");
      return;
    } else {
      for (int r = 0; r < s->world_size && seat < 0; r++)
        if (newcomer_rank(st, r) && st->chans[r].fd < 0) seat = r;
    }
    j.rank = seat;
    j.world_size = s->world_size;
  }
  if (st->tls && p->cert_rank != j.rank && p->cert_rank != CC_TLS_OWN_IDENTITY) {
    if (p->cert_rank >= 0)
      snprintf(msg, sizeof msg, "it claimed to be player %d with the certificate of player %d",
               j.rank, p->cert_rank);
    else
      snprintf(msg, sizeof msg, "it claimed to be player %d with a certificate that plays no "
               "rank (not the trusted one of player %d)", j.rank, j.rank);
    root_refuse(st, p, j.rank, "encryption_failed", msg);
    return;
  }
  if (j.world_size != s->world_size || !newcomer_rank(st, j.rank) ||
      st->chans[j.rank].fd >= 0) {
    if (j.world_size != s->world_size)
      snprintf(msg, sizeof msg, "player %d was started with world size %d, the root with %d",
               j.rank, j.world_size, s->world_size);
    else
      snprintf(msg, sizeof msg, "rank %d is %s in a world of %d", j.rank,
               j.rank >= 1 && j.rank < s->world_size ? "already taken" : "not a valid player rank",
               s->world_size);
    root_refuse(st, p, -1, "invalid", msg);
    return;
  }
  if (j.tls != (s->tls != 0) && st->other_security < 0) st->other_security = j.rank;
  if (strcmp(j.host, "-") == 0) snprintf(j.host, sizeof j.host, "%s", p->addr);
  free(book->hosts[j.rank]);
  book->hosts[j.rank] = strdup(j.host);
  book->ports[j.rank] = j.port;
  snprintf(st->nonces[j.rank], sizeof st->nonces[j.rank], "%s %s", p->nonce, j.nonce);
  flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  st->chans[j.rank] = p->ch;
  st->registered++;
  p->ch.fd = -1;
  p->ch.ssl = NULL;
}

/* Send a newcomer its challenge: 0, or -1 if it cannot take it. */
static int root_challenge(pending *p) {
  char line[LINE_MAX_BYTES];
  int n;
  if (fresh_nonce(p->nonce) != 0 || (n = cc_rdv_challenge_pack(p->nonce, line, sizeof line)) < 0)
    return -1;
  p->challenged = true;
  p->want = POLLIN;
  return chan_write(&p->ch, line, (size_t)n, p->deadline);
}

/* Move a newcomer on: its TLS handshake, then its line; take the line once
 * it is whole. */
static void root_read(root_state *st, pending *p, cc_address_book *book) {
  char why[160], msg[220];
  if (!p->challenged && p->ch.ssl) {
    int r = SSL_do_handshake(p->ch.ssl), e;
    if (r != 1) {
      e = SSL_get_error(p->ch.ssl, r);
      if (e == SSL_ERROR_WANT_READ) { p->want = POLLIN; return; }
      if (e == SSL_ERROR_WANT_WRITE) { p->want = POLLOUT; return; }
      snprintf(msg, sizeof msg, "its TLS handshake failed: %s",
               cc_tls_reason(0, "it closed the connection", why, sizeof why));
      root_refuse(st, p, -1, NULL, msg);
      return;
    }
    p->cert_rank = cc_tls_peer_rank(p->ch.ssl);
    if (root_challenge(p) != 0) {
      root_refuse(st, p, -1, NULL, "it closed the connection during its challenge");
      return;
    }
  }
  for (;;) {
    int r = chan_read1(&p->ch, p->line + p->len, why, sizeof why);
    if (r == 0) return;
    if (r < 0) {
      if (r == -3) snprintf(msg, sizeof msg, "its TLS failed: %s", why);
      root_refuse(st, p, -1, NULL, r == -3 ? msg : "it closed the connection before saying who it is");
      return;
    }
    if (p->len == 0 && !p->ch.ssl && p->line[0] == 0x16) {
      root_refuse(st, p, -1, NULL, "it speaks TLS to this plaintext world (give every player "
                  "--identity and --trusted, or none)");
      return;
    }
    if (p->line[p->len] == '\n') {
      p->line[p->len] = '\0';
      root_take(st, p, book);
      return;
    }
    if (++p->len + 1 >= sizeof p->line) {
      root_refuse(st, p, -1, NULL, "its line is too long");
      return;
    }
  }
}

/* A newcomer's time is up. Over TLS, one that never began a handshake is
 * likely a player without --identity: it is told so in plaintext, which
 * says nothing an observer could not see (the port answers TLS). */
static void root_expire(root_state *st, pending *p) {
  if (p->ch.ssl && !p->challenged && SSL_in_before(p->ch.ssl)) {
    static const char why[] = "this world's root speaks TLS: give this player --identity and "
                              "--trusted";
    chan plain = {p->ch.fd, NULL};
    reply_error(&plain, "encryption_failed", why);
    root_refuse(st, p, -1, NULL, "it did not begin a TLS handshake in time (a player without "
                "--identity and --trusted?)");
    return;
  }
  root_refuse(st, p, -1, NULL, "it did not say who it is in time");
}

/* A new connection: challenge it (after its TLS handshake, over TLS), and
 * read it alongside the others. */
static void root_accept(root_state *st, int fd, double world_deadline) {
  pending *p = NULL;
  for (int i = 0; i < PENDING_MAX && !p; i++)
    if (st->slots[i].ch.fd < 0) p = &st->slots[i];
  if (!p) {
    /* Enough strangers are being heard already: a real player that meets
     * this is told so and can be started again. */
    close(fd);
    if (st->refusals++ < REFUSALS_LOGGED)
      cc_log_stderr(NULL, CC_LOG_WARNING, "player 0: too many connections have not said who "
                    "they are; closing new ones until they do or time out");
    return;
  }
  memset(p, 0, sizeof *p);
  p->ch.fd = fd;
  p->cert_rank = -1;
  p->want = POLLIN;
  peer_host(fd, p->addr, sizeof p->addr);
  p->deadline = cc_now() + NEWCOMER_WAIT_S;
  if (p->deadline > world_deadline) p->deadline = world_deadline;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (st->tls) {
    /* The newcomer speaks first (its ClientHello): nothing of the
     * rendezvous is said before the handshake. */
    p->ch.ssl = SSL_new(st->tls);
    if (!p->ch.ssl || SSL_set_fd(p->ch.ssl, fd) != 1) {
      ERR_clear_error();
      chan_close(&p->ch);
      return;
    }
    SSL_set_accept_state(p->ch.ssl);
    return;
  }
  if (root_challenge(p) != 0) chan_close(&p->ch);
}

static cc_status root_send_book(root_state *st, cc_address_book *book, uint64_t world_id,
                                cc_error *err) {
  char seat_line[LINE_MAX_BYTES];
  int n = st->s->world_size;
  size_t cap = (size_t)(n + 1) * LINE_MAX_BYTES, len = 0;
  char *text = malloc(cap), head[LINE_MAX_BYTES], mac[CC_RDV_MAC_CHARS + 1];
  double deadline = cc_now() + NEWCOMER_WAIT_S;
  int m;
  if (!text) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player 0: out of memory for the address book");
  for (int r = 0; r < n; r++) {
    cc_rdv_entry e;
    e.port = book->ports[r];
    snprintf(e.host, sizeof e.host, "%s", book->hosts[r] ? book->hosts[r] : "-");
    m = cc_rdv_entry_pack(&e, text + len, cap - len);
    if (m < 0) {            /* a host name the line cannot carry: say so to everyone */
      char msg[200];
      snprintf(msg, sizeof msg, "the address of player %d (port %u, host '%.100s') does not "
               "fit the address book", r, (unsigned)e.port, e.host);
      for (int q = 0; q < n; q++)
        if (st->chans[q].fd >= 0) reply_error(&st->chans[q], "invalid", msg);
      free(text);
      return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player 0: %s", msg);
    }
    len += (size_t)m;
  }
  /* Each player gets the book with its own proof, over its own nonces. */
  for (int r = 0; r < n; r++) {
    char nonce_r[CC_RDV_NONCE_CHARS + 1];
    const char *nonce_p = st->nonces[r] + CC_RDV_NONCE_CHARS + 1;
    if (st->chans[r].fd < 0) continue;
    size_t seat_len = 0;
    if (st->grow) {
      /* A newcomer of a grow learns its seat first; the book's proof
       * covers the SEAT line too. */
      cc_rdv_seat seat;
      int k;
      memset(&seat, 0, sizeof seat);
      seat.world_size = n;
      seat.rank = r;
      for (int q = 0; q < n && seat.count < CC_RDV_SEATS_MAX; q++)
        if (newcomer_rank(st, q)) seat.newcomers[seat.count++] = q;
      snprintf(seat.name, sizeof seat.name, "%s", st->grow->name);
      k = cc_rdv_seat_pack(&seat, seat_line, sizeof seat_line);
      if (k < 0 || chan_write(&st->chans[r], seat_line, (size_t)k, deadline) != 0) continue;
      seat_len = (size_t)k;
    }
    memcpy(nonce_r, st->nonces[r], CC_RDV_NONCE_CHARS);
    nonce_r[CC_RDV_NONCE_CHARS] = '\0';
    if (seat_len) {
      char *both = malloc(seat_len + len);
      if (!both) continue;
      memcpy(both, seat_line, seat_len);
      memcpy(both + seat_len, text, len);
      book_proof(st->key, nonce_r, nonce_p, r, world_id, both, seat_len + len, mac);
      free(both);
    } else {
      book_proof(st->key, nonce_r, nonce_p, r, world_id, text, len, mac);
    }
    m = cc_rdv_ok_pack(world_id, mac, head, sizeof head);
    if (m > 0 && chan_write(&st->chans[r], head, (size_t)m, deadline) == 0)
      chan_write(&st->chans[r], text, len, deadline);
  }
  free(text);
  return CC_OK;
}

/* Rank 0 meets the others: every rank from 1 on, or in a grow (grow not
 * NULL; the members' entries are in the book already) the newcomers, who
 * take the ranks the members do not hold. */
static cc_status root_meet(const cc_rendezvous_settings *s, const uint8_t *key, SSL_CTX *tls,
                           const grow_plan *grow, cc_address_book *book, cc_error *err) {
  root_state *st = calloc(1, sizeof *st);
  double deadline = cc_now() + s->startup_timeout_s;
  cc_status rc = CC_OK;
  char msg[CC_HOST_MAX + 900];
  struct pollfd pfd[PENDING_MAX + 1];
  int n = s->world_size;
  if (!st) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player 0: out of memory meeting the players");
  st->s = s;
  st->key = key;
  st->tls = tls;
  st->other_security = -1;
  st->chans = malloc((size_t)n * sizeof *st->chans);
  st->nonces = calloc((size_t)n, sizeof *st->nonces);
  st->refused = calloc((size_t)n, sizeof *st->refused);
  if (!st->chans || !st->nonces || !st->refused) {
    free(st->chans); free(st->nonces); free(st->refused); free(st);
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player 0: out of memory meeting the players");
  }
  for (int r = 0; r < n; r++) st->chans[r] = (chan){-1, NULL};
  for (int i = 0; i < PENDING_MAX; i++) st->slots[i].ch = (chan){-1, NULL};
  st->grow = grow;
  for (int r = 0; r < n; r++) if (newcomer_rank(st, r)) st->seats++;
  if (!grow) {
    book->hosts[0] = strdup(s->root.host);
    book->ports[0] = cc_listen_port(book->listen_fd);
  }
  while (st->registered < st->seats) {
    double now = cc_now(), wake = deadline;
    int np = 1, ready;
    if (now >= deadline) break;
    pfd[0] = (struct pollfd){book->listen_fd, POLLIN, 0};
    for (int i = 0; i < PENDING_MAX; i++) {
      pending *p = &st->slots[i];
      if (p->ch.fd < 0) continue;
      if (now >= p->deadline) {
        root_expire(st, p);
        continue;
      }
      if (p->deadline < wake) wake = p->deadline;
      pfd[np++] = (struct pollfd){p->ch.fd, p->want, 0};
    }
    ready = poll(pfd, (nfds_t)np, (int)((wake - now) * 1000) + 1);
    if (ready <= 0) continue;
    for (int k = 1; k < np; k++) {
      if (!pfd[k].revents) continue;
      for (int i = 0; i < PENDING_MAX; i++)
        if (st->slots[i].ch.fd == pfd[k].fd) { root_read(st, &st->slots[i], book); break; }
    }
    if (pfd[0].revents & POLLIN) {
      int fd = accept4(book->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) {
        root_accept(st, fd, deadline);
      } else if (errno == EMFILE || errno == ENFILE) {
        /* At the descriptor limit: pause rather than spin on the same
         * connection; the pending ones time out meanwhile. */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  }
  for (int i = 0; i < PENDING_MAX; i++)
    if (st->slots[i].ch.fd >= 0) chan_close(&st->slots[i].ch);
  if (st->registered < st->seats) {
    size_t used = 0, nused = 0;
    char missing[120] = "", notes[600] = "";
    for (int r = 0; r < n; r++) {
      if (!newcomer_rank(st, r) || st->chans[r].fd >= 0) continue;
      if (used + 12 < sizeof missing)
        used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d", used ? ", " : "", r);
      if (st->refused[r] && nused + 120 < sizeof notes)
        nused += (size_t)snprintf(notes + nused, sizeof notes - nused,
                                  "; a connection for player %d was refused: %.100s", r,
                                  st->refused[r]);
    }
    if (st->stranger && nused + 120 < sizeof notes)
      snprintf(notes + nused, sizeof notes - nused, "; %.200s", st->stranger);
    if (grow)
      snprintf(msg, sizeof msg, "%d of %d newcomers did not join at port %u within the timeout "
               "of %gs (ranks %s of the grown world stay empty)%s", st->seats - st->registered,
               st->seats, (unsigned)cc_listen_port(book->listen_fd), s->startup_timeout_s,
               missing, notes);
    else
      snprintf(msg, sizeof msg, "player%s %s did not reach the root at %.100s port %u within "
               "the startup timeout of %gs%s", strchr(missing, ',') ? "s" : "", missing,
               s->root.host, (unsigned)book->ports[0], s->startup_timeout_s, notes);
    for (int r = 0; r < n; r++)
      if (st->chans[r].fd >= 0) reply_error(&st->chans[r], "startup_timeout", msg);
    rc = cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "player 0: %s", msg);
  } else if (st->other_security >= 0) {
    snprintf(msg, sizeof msg, "player %d %s", st->other_security,
             s->tls ? "speaks plaintext to a TLS world (give it --identity and --trusted)"
                    : "uses TLS in a plaintext world (give every player --identity and --trusted)");
    for (int r = 0; r < n; r++)
      if (st->chans[r].fd >= 0) reply_error(&st->chans[r], "encryption_failed", msg);
    rc = cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player 0: %s", msg);
  } else {
    uint64_t world_id = grow ? grow->world_id : 0;
    if (world_id == 0 && cc_auth_random(&world_id, sizeof world_id) != 0)
      rc = cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player 0: no random numbers for the world");
    else {
      link_key(key, world_id, book->link_key);
      rc = root_send_book(st, book, world_id, err);
    }
  }
  for (int r = 0; r < n; r++) {
    if (st->chans[r].fd >= 0) chan_close(&st->chans[r]);
    free(st->refused[r]);
  }
  free(st->stranger);
  free(st->chans);
  free(st->nonces);
  free(st->refused);
  free(st);
  return rc;
}

/* ==== Every other player ====================================================== */

/* Connect to the root, trying again until the deadline: it may not have
 * started yet. Returns the socket, or -1 with a status in err. */
static int dial_root(const cc_rendezvous_settings *s, double deadline, cc_error *err) {
  char port[8], why[128] = "no answer";
  snprintf(port, sizeof port, "%u", (unsigned)s->root.port);
  for (;;) {
    struct addrinfo hints, *res = NULL, *ai;
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(s->root.host, port, &hints, &res);
    if (rc != 0 && rc != EAI_AGAIN) {
      cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d cannot resolve the root's host '%s': %s", s->rank,
           s->root.host, gai_strerror(rc));
      return -1;
    }
    for (ai = rc == 0 ? res : NULL; ai; ai = ai->ai_next) {
      int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) { freeaddrinfo(res); return fd; }
      snprintf(why, sizeof why, "%s", strerror(errno));
      close(fd);
    }
    if (res) freeaddrinfo(res);
    if (cc_now() + CONNECT_RETRY_S > deadline) break;
    struct timespec ts = {0, (long)(CONNECT_RETRY_S * 1e9)};
    nanosleep(&ts, NULL);
  }
  cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "player %d cannot reach the root at %s port %u within the "
       "startup timeout of %gs: %s", s->rank, s->root.host, (unsigned)s->root.port,
       s->startup_timeout_s, why);
  return -1;
}

/* The TLS handshake with the root: 0; -1 if the root closed the
 * connection (busy: come again), -2 at the deadline, -3 if TLS failed
 * (why says why). */
static int root_handshake(chan *c, double deadline, char *why, size_t whysz) {
  for (;;) {
    int r = SSL_do_handshake(c->ssl), e;
    if (r == 1) return 0;
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return -2;
      continue;
    }
    if (e == SSL_ERROR_SSL) {
      cc_tls_reason(0, "TLS error", why, whysz);
      return -3;
    }
    ERR_clear_error();
    return -1;
  }
}

static cc_status tls_refused(const cc_rendezvous_settings *s, const char *why, cc_error *err) {
  return cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player %d: TLS with the root at %s "
                      "port %u failed: %s (do the root and this player trust each other's "
                      "certificates, and are both started with --identity and --trusted?)",
                      s->rank, s->root.host, (unsigned)s->root.port, why);
}

static cc_status root_says(const cc_rendezvous_settings *s, const cc_rdv_reply *reply,
                           cc_error *err) {
  const char *kind = reply->kind;
  cc_status code = strcmp(kind, "token_mismatch") == 0 ? CC_ETOKEN_MISMATCH
                 : strcmp(kind, "startup_timeout") == 0 ? CC_ESTARTUP_TIMEOUT
                 : strcmp(kind, "encryption_failed") == 0 ? CC_EENCRYPTION : CC_EINVALID;
  return cc_error_set(err, code, -1, CC_TAG_NONE, "player %d: the root says: %s", s->rank,
                      reply->message);
}

/* The root's OK and the address book (after a grow's SEAT line, given as
 * prefix: the proof covers it too). */
static cc_status read_book(const cc_rendezvous_settings *s, chan *c, double deadline,
                           const uint8_t *key, const char *nonce_r, const char *nonce_p,
                           const char *prefix, cc_address_book *book, cc_error *err) {
  char line[LINE_MAX_BYTES], want[CC_RDV_MAC_CHARS + 1], why[160];
  cc_rdv_reply reply;
  size_t len, used = prefix ? strlen(prefix) : 0;
  size_t cap = (size_t)(s->world_size) * LINE_MAX_BYTES + used;
  char *text;
  int rc = read_line(c, line, sizeof line, deadline, &len, why, sizeof why);
  if (rc == -2)
    return cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "player %d: the root at %s port %u did not hand out "
                "the address book within the startup timeout of %gs", s->rank, s->root.host,
                (unsigned)s->root.port, s->startup_timeout_s);
  if (rc == -3) return tls_refused(s, why, err);
  if (rc != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u closed the connection before "
                "answering", s->rank, s->root.host, (unsigned)s->root.port);
  if (cc_rdv_reply_parse(line, len, &reply, NULL, 0) == 0 && !reply.ok)
    return root_says(s, &reply, err);
  if (!reply.ok)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u answered '%.60s', not an "
                "address book", s->rank, s->root.host, (unsigned)s->root.port, line);
  text = malloc(cap);
  if (!text) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player %d: out of memory", s->rank);
  if (prefix) memcpy(text, prefix, used);
  for (int r = 0; r < s->world_size; r++) {
    cc_rdv_entry e;
    int m;
    if (read_line(c, line, sizeof line, deadline, &len, why, sizeof why) != 0 ||
        cc_rdv_entry_parse(line, len, &e, NULL, 0) != 0 ||
        (m = cc_rdv_entry_pack(&e, text + used, cap - used)) < 0) {
      free(text);
      return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root's address book broke off at player %d",
                  s->rank, r);
    }
    used += (size_t)m;
    /* Rank 0 (in a grow: the member marked "-") is reached the way this
     * player reached the root. */
    book->hosts[r] = strdup((s->join ? strcmp(e.host, "-") == 0 : r == 0) ? s->root.host : e.host);
    book->ports[r] = e.port;
    if (!book->hosts[r]) {
      free(text);
      return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player %d: out of memory", s->rank);
    }
  }
  book_proof(key, nonce_r, nonce_p, s->rank, reply.token, text, used, want);
  free(text);
  if (!cc_auth_equal((const uint8_t *)want, (const uint8_t *)reply.mac, CC_RDV_MAC_CHARS))
    return cc_error_set(err, CC_ETOKEN_MISMATCH, -1, CC_TAG_NONE, "player %d: the address book "
                        "from %s port %u does not prove the world's token (does the root have "
                        "another token?)", s->rank, s->root.host, (unsigned)s->root.port);
  link_key(key, reply.token, book->link_key);
  return CC_OK;
}

/* A newcomer of a grow: the SEAT line (or an ERR), then the book for the
 * grown world at that seat. */
static cc_status read_seat(const cc_rendezvous_settings *s, chan *c, double deadline,
                           const uint8_t *key, const char *nonce_r, const char *nonce_p,
                           cc_address_book *book, cc_error *err) {
  char line[LINE_MAX_BYTES], why[160];
  cc_rdv_reply reply;
  cc_rdv_seat seat;
  cc_rendezvous_settings at = *s;
  size_t len;
  int rc = read_line(c, line, sizeof line, deadline, &len, why, sizeof why);
  if (rc == -2)
    return cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "newcomer: the members at %s "
                        "port %u gave it no seat within the timeout of %gs", s->root.host,
                        (unsigned)s->root.port, s->startup_timeout_s);
  if (rc == -3) return tls_refused(s, why, err);
  if (rc != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "newcomer: the members at %s port %u "
                        "closed the connection before answering", s->root.host,
                        (unsigned)s->root.port);
  if (cc_rdv_reply_parse(line, len, &reply, NULL, 0) == 0 && !reply.ok)
    return root_says(s, &reply, err);
  if (cc_rdv_seat_parse(line, len, &seat, why, sizeof why) != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "newcomer: the members at %s port %u "
                        "answered '%.60s', not a seat (%s)", s->root.host,
                        (unsigned)s->root.port, line, why);
  book->hosts = calloc((size_t)seat.world_size, sizeof *book->hosts);
  book->ports = calloc((size_t)seat.world_size, sizeof *book->ports);
  if (!book->hosts || !book->ports)
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "newcomer: out of memory");
  book->rank = seat.rank;
  book->world_size = seat.world_size;
  book->count = seat.count;
  memcpy(book->newcomers, seat.newcomers, sizeof book->newcomers);
  snprintf(book->name, sizeof book->name, "%s", seat.name);
  at.rank = seat.rank;
  at.world_size = seat.world_size;
  line[len] = '\n';
  line[len + 1] = '\0';
  return read_book(&at, c, deadline, key, nonce_r, nonce_p, line, book, err);
}

static cc_status player_meet(const cc_rendezvous_settings *s, const uint8_t *key, SSL_CTX *tls,
                             cc_address_book *book, cc_error *err) {
  double deadline = cc_now() + s->startup_timeout_s;
  char line[LINE_MAX_BYTES], nonce_r[CC_RDV_NONCE_CHARS + 1], why[160] = "";
  cc_rdv_join j;
  cc_rdv_reply reply;
  cc_status rc;
  size_t len = 0;
  chan c = {-1, NULL};
  int n;
  memset(&j, 0, sizeof j);
  j.world_size = s->join ? 1 : s->world_size;   /* a newcomer of a grow: any seat */
  j.rank = s->join ? 0 : s->rank;
  j.tls = s->tls != 0;
  j.port = cc_listen_port(book->listen_fd);
  snprintf(j.host, sizeof j.host, "%s", s->self && s->self->host[0] ? s->self->host : "-");
  if (fresh_nonce(j.nonce) != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: no random numbers", s->rank);
  for (;;) {
    c.fd = dial_root(s, deadline, err);
    if (c.fd < 0) return err->code;
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    n = 0;
    if (tls) {
      c.ssl = SSL_new(tls);
      if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1) {
        chan_close(&c);
        return tls_refused(s, cc_tls_reason(0, "out of memory", why, sizeof why), err);
      }
      SSL_set_connect_state(c.ssl);
      n = root_handshake(&c, deadline, why, sizeof why);
      if (n == 0) {
        /* The root must be the one who plays rank 0. */
        int r = cc_tls_peer_rank(c.ssl);
        /* ... or, in a grow, any member: its seat says where it sits. */
        if (r != 0 && r != CC_TLS_OWN_IDENTITY && !(s->join && r > 0)) {
          chan_close(&c);
          return cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player %d: the root at %s "
                              "port %u presented %s, not the certificate of player 0; refused",
                              s->rank, s->root.host, (unsigned)s->root.port,
                              r >= 0 ? "the certificate of another player"
                                     : "a certificate that plays no rank");
        }
      }
    }
    if (n == 0) n = read_line(&c, line, sizeof line, deadline, &len, why, sizeof why);
    if (n != -1 || cc_now() + CONNECT_RETRY_S > deadline) break;
    /* Closed before the challenge: the root is busy with strangers, and
     * drops newcomers it has no room for. Come again. */
    chan_close(&c);
    nanosleep(&(struct timespec){0, (long)(CONNECT_RETRY_S * 4 * 1e9)}, NULL);
  }
  if (n != 0 || cc_rdv_challenge_parse(line, len, nonce_r, NULL, 0) != 0) {
    chan_close(&c);
    if (n == -3) return tls_refused(s, why, err);
    if (n == 0 && cc_rdv_reply_parse(line, len, &reply, NULL, 0) == 0 && !reply.ok)
      return root_says(s, &reply, err);
    return cc_error_set(err, n == -2 ? CC_ESTARTUP_TIMEOUT : CC_EIO, -1, CC_TAG_NONE,
                        "player %d: the root at %s port %u %s", s->rank, s->root.host,
                        (unsigned)s->root.port, n == -2 ? "sent no challenge within the startup timeout"
                        : n == 0 ? "is not a cicada root of this version" : "closed the connection");
  }
  join_proof(key, nonce_r, &j, j.mac);
  n = cc_rdv_join_pack(&j, line, sizeof line);
  if (n < 0) {
    chan_close(&c);
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player %d cannot announce itself "
                        "to the root: it listens at port %u of host '%.100s'", s->rank,
                        (unsigned)j.port, j.host);
  }
  if (chan_write(&c, line, (size_t)n, deadline) != 0) {
    chan_close(&c);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u closed the connection",
                s->rank, s->root.host, (unsigned)s->root.port);
  }
  /* The root answers once everyone is in: give it its own timeout and a
   * moment more, so that its explanation arrives before ours. */
  if (s->join) rc = read_seat(s, &c, deadline + 1.0, key, nonce_r, j.nonce, book, err);
  else rc = read_book(s, &c, deadline + 1.0, key, nonce_r, j.nonce, NULL, book, err);
  chan_close(&c);
  return rc;
}

/* ==== Entry point ============================================================== */

/* A newcomer of a grown world: listen, meet the members, and take the seat
 * they give. */
static cc_status join_grown(const cc_rendezvous_settings *s, cc_address_book *book,
                            cc_error *err) {
  char why[256];
  uint8_t key[CC_AUTH_KEY_BYTES];
  cc_status rc;
  SSL_CTX *tls = NULL;
  if (s->tls_identity && s->tls_trusted) {
    tls = cc_tls_context(s->tls_identity, s->tls_trusted, why, sizeof why);
    if (!tls) return cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "newcomer: %s", why);
    signal(SIGPIPE, SIG_IGN);
  }
  book->listen_fd = s->self ? cc_listen_on(s->self->host, s->self->port, why, sizeof why)
                            : cc_listen_on(NULL, 0, why, sizeof why);
  if (book->listen_fd < 0) {
    if (tls) cc_tls_context_free(tls);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "newcomer %s", why);
  }
  rdv_key(s->token, key);
  rc = player_meet(s, key, tls, book, err);
  explicit_bzero(key, sizeof key);
  if (tls) cc_tls_context_free(tls);
  if (rc != CC_OK) cc_address_book_free(book, book->world_size);
  /* It has no rank until it is seated: its messages name it a newcomer
   * ("player 0" and "newcomer" have the same length). */
  if (rc != CC_OK && strncmp(err->message, "player 0", 8) == 0)
    memcpy(err->message, "newcomer", 8);
  return rc;
}

cc_status cc_grow_meet(const cc_grow_meet_settings *g, cc_address_book *out, cc_error *err) {
  cc_rendezvous_settings rs;
  cc_address_book book;
  grow_plan plan;
  bool *member;
  SSL_CTX *tls = NULL;
  char why[256];
  cc_status rc;
  int n = g->members + g->count;
  memset(out, 0, sizeof *out);
  out->listen_fd = -1;
  if (g->members < 1 || g->count < 1 || g->count > CC_RDV_SEATS_MAX || n > CC_MAX_WORLD_SIZE ||
      g->listen_fd < 0 || !g->name || !*g->name || strlen(g->name) >= CC_RDV_NAME_MAX)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "cannot seat %d newcomers next to %d "
                        "members (at most %d newcomers, %d players, a name of 1 to %d bytes)",
                        g->count, g->members, CC_RDV_SEATS_MAX, CC_MAX_WORLD_SIZE,
                        CC_RDV_NAME_MAX - 1);
  member = calloc((size_t)n, sizeof *member);
  if (!member) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory seating newcomers");
  for (int i = 0; i < g->members; i++) {
    int seat = g->seats ? g->seats[i] : i;
    if (seat < 0 || seat >= n || member[seat]) {
      free(member);
      return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "member %d's rank %d does not fit "
                          "a grown world of %d", i, seat, n);
    }
    member[seat] = true;
  }
  if (g->tls_identity && g->tls_trusted) {
    tls = cc_tls_context(g->tls_identity, g->tls_trusted, why, sizeof why);
    if (!tls) {
      free(member);
      return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "%s", why);
    }
    signal(SIGPIPE, SIG_IGN);
  }
  plan.member = member;
  plan.world_id = g->world_id;
  plan.name = g->name;
  memset(&rs, 0, sizeof rs);
  memset(&book, 0, sizeof book);
  rs.world_size = n;
  rs.tls = tls != NULL;
  rs.startup_timeout_s = g->timeout_s;
  rs.root_fd = -1;
  snprintf(rs.root.host, sizeof rs.root.host, "-");
  book.listen_fd = g->listen_fd;
  book.hosts = calloc((size_t)n, sizeof *book.hosts);
  book.ports = calloc((size_t)n, sizeof *book.ports);
  if (!book.hosts || !book.ports) {
    rc = cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory seating newcomers");
  } else {
    /* This member's entry is "-": a newcomer reaches it where it dialled. */
    for (int i = 0; i < g->members; i++) {
      int seat = g->seats ? g->seats[i] : i;
      book.hosts[seat] = strdup(i == 0 || !g->hosts[i] ? "-" : g->hosts[i]);
      book.ports[seat] = g->ports[i];
    }
    rc = root_meet(&rs, g->key, tls, &plan, &book, err);
  }
  book.listen_fd = -1;   /* the caller's */
  if (rc == CC_OK) {
    book.world_size = n;
    *out = book;         /* the newcomers' addresses too */
  } else {
    cc_address_book_free(&book, n);
  }
  if (tls) cc_tls_context_free(tls);
  free(member);
  return rc;
}

cc_status cc_rendezvous(const cc_rendezvous_settings *s, cc_address_book *book, cc_error *err) {
  char why[256];
  uint8_t key[CC_AUTH_KEY_BYTES];
  SSL_CTX *tls = NULL;
  cc_status rc;
  memset(book, 0, sizeof *book);
  book->listen_fd = -1;
  if (s->join) return join_grown(s, book, err);
  book->rank = s->rank;
  book->world_size = s->world_size;
  if (s->world_size < 1) return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "world size %d is below 1", s->world_size);
  if (s->rank < 0 || s->rank >= s->world_size)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "rank %d is outside the world of %d players [0, %d)", s->rank,
                s->world_size, s->world_size);
  book->hosts = calloc((size_t)s->world_size, sizeof *book->hosts);
  book->ports = calloc((size_t)s->world_size, sizeof *book->ports);
  if (!book->hosts || !book->ports) {
    cc_address_book_free(book, s->world_size);
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player %d: out of memory", s->rank);
  }
  rdv_key(s->token, key);
  link_key(key, 0, book->link_key);
  if (s->rank == 0 && s->root_fd >= 0) {
    book->listen_fd = s->root_fd;
  } else if (s->rank == 0) {
    book->listen_fd = cc_listen_on(s->root.host, s->root.port, why, sizeof why);
  } else {
    book->listen_fd = s->self ? cc_listen_on(s->self->host, s->self->port, why, sizeof why)
                              : cc_listen_on(NULL, 0, why, sizeof why);
  }
  if (book->listen_fd < 0) {
    cc_address_book_free(book, s->world_size);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d %s", s->rank, why);
  }
  if (s->world_size == 1) {
    book->hosts[0] = strdup(s->root.host);
    book->ports[0] = cc_listen_port(book->listen_fd);
    explicit_bzero(key, sizeof key);
    return CC_OK;
  }
  if (s->tls_identity && s->tls_trusted) {
    tls = cc_tls_context(s->tls_identity, s->tls_trusted, why, sizeof why);
    if (!tls) {
      explicit_bzero(key, sizeof key);
      cc_address_book_free(book, s->world_size);
      return cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player %d: %s", s->rank, why);
    }
    /* A peer gone in mid-write must not kill the process (OpenSSL writes
     * with write(2)); the engine ignores SIGPIPE from its start on anyway. */
    signal(SIGPIPE, SIG_IGN);
  }
  rc = s->rank == 0 ? root_meet(s, key, tls, NULL, book, err) : player_meet(s, key, tls, book, err);
  explicit_bzero(key, sizeof key);
  if (tls) cc_tls_context_free(tls);
  if (rc != CC_OK) cc_address_book_free(book, s->world_size);
  return rc;
}

void cc_address_book_free(cc_address_book *book, int world_size) {
  if (book->listen_fd >= 0) close(book->listen_fd);
  book->listen_fd = -1;
  if (book->hosts)
    for (int r = 0; r < world_size; r++) free(book->hosts[r]);
  free(book->hosts);
  free(book->ports);
  book->hosts = NULL;
  book->ports = NULL;
  explicit_bzero(book->link_key, sizeof book->link_key);
}
