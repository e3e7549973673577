/*
 * rendezvous.c - the players of a multi-host world meet at the root.
 *
 * The exchange, one text line each way plus the book (see rendezvous.h;
 * the lines are packed and parsed by core/control.c):
 *
 *   player -> root:  CICADA 1 <world_size> <rank> <token hash> <tls|plain> <port> <host or ->
 *   root -> player:  OK <engine token>            then one "<port> <host>"
 *                                                 line per rank
 *                or  ERR <kind> <message>
 *
 * The root waits until every player has reported (or startup_timeout has
 * passed) before it answers anyone, so that a token mismatch or a missing
 * player is reported to every player that came, not only to the culprit.
 * The token itself never travels: only a hash of it.
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

#include <openssl/rand.h>
#include <openssl/evp.h>

#include "core/clock.h"
#include "core/control.h"
#include "boot/rendezvous.h"

#define LINE_MAX_BYTES (CC_RDV_LINE_MAX + 2)   /* the line, its '\n' and a NUL */
#define CONNECT_RETRY_S 0.05
#define ONE_LINE_WAIT_S 1.0   /* how long the root waits for a newcomer's line */

_Static_assert(CC_HOST_MAX == CC_RDV_HOST_MAX, "host names fit the rendezvous lines");


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

/* ==== Lines with deadlines ================================================== */

/* Read one '\n'-terminated line into buf, without its '\n', and its length
 * into *len. 0, or -1 on end of file, an error or a line that does not fit,
 * or -2 at the deadline. */
static int read_line(int fd, char *buf, size_t bufsz, double deadline, size_t *len) {
  size_t n = 0;
  *len = 0;
  while (n + 1 < bufsz) {
    struct pollfd p = {fd, POLLIN, 0};
    double left = deadline - cc_now();
    ssize_t r;
    if (left <= 0) return -2;
    if (poll(&p, 1, (int)(left * 1000) + 1) == 0) continue;
    r = read(fd, buf + n, 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return -1;
    if (buf[n] == '\n') { buf[n] = '\0'; *len = n; return 0; }
    n++;
  }
  return -1;
}

static int write_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    len -= (size_t)w;
  }
  return 0;
}

static void token_hash(const char *token, char *hex, uint64_t *engine_token) {
  static const char domain[] = "cicada world token";
  unsigned char md[EVP_MAX_MD_SIZE];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  memset(md, 0, sizeof md);
  if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
    EVP_DigestUpdate(ctx, domain, sizeof domain);
    if (token) EVP_DigestUpdate(ctx, token, strlen(token));
    EVP_DigestFinal_ex(ctx, md, NULL);
  }
  EVP_MD_CTX_free(ctx);
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  *engine_token = 0;
  for (int i = 0; i < 8; i++) *engine_token |= (uint64_t)md[16 + i] << (8 * i);
}

/* ==== The root ================================================================ */

typedef struct root_state {
  const cc_rendezvous_settings *s;
  const char *hash;
  int *fds;                  /* per rank: the reporting connection, or -1 */
  int registered;
  int mismatch;              /* a rank with another token, or -1 */
  int other_security;        /* a rank with TLS in a plaintext world or the
                              * other way round, or -1 */
} root_state;

static void reply_error(int fd, const char *kind, const char *message) {
  char line[LINE_MAX_BYTES];
  int n = cc_rdv_err_pack(kind, message, line, sizeof line);
  if (n > 0) write_all(fd, line, (size_t)n);
}

/* A newcomer's report: keep its connection, or answer and drop it. */
static void root_take(root_state *st, int fd, cc_address_book *book) {
  const cc_rendezvous_settings *s = st->s;
  char line[LINE_MAX_BYTES], msg[200];
  cc_rdv_join j;
  int world, rank;
  size_t len;
  double deadline = cc_now() + ONE_LINE_WAIT_S;
  if (read_line(fd, line, sizeof line, deadline, &len) != 0 ||
      cc_rdv_join_parse(line, len, &j, NULL, 0) != 0) {
    close(fd);                /* not a cicada player, or another version */
    return;
  }
  world = j.world_size;
  rank = j.rank;
  if (world != s->world_size || rank < 1 || rank >= s->world_size || st->fds[rank] >= 0) {
    if (world != s->world_size)
      snprintf(msg, sizeof msg, "player %d was started with world size %d, the root with %d",
               rank, world, s->world_size);
    else
      snprintf(msg, sizeof msg, "rank %d is %s in a world of %d", rank,
               rank >= 1 && rank < s->world_size ? "already taken" : "not a valid player rank",
               s->world_size);
    reply_error(fd, "invalid", msg);
    close(fd);
    return;
  }
  if (strcmp(j.hash, st->hash) != 0 && st->mismatch < 0) st->mismatch = rank;
  if (j.tls != (s->tls != 0) && st->other_security < 0)
    st->other_security = rank;
  if (strcmp(j.host, "-") == 0) peer_host(fd, j.host, sizeof j.host);
  book->hosts[rank] = strdup(j.host);
  book->ports[rank] = j.port;
  st->fds[rank] = fd;
  st->registered++;
}

static void root_answer_all(root_state *st, const char *line, size_t len) {
  for (int r = 1; r < st->s->world_size; r++)
    if (st->fds[r] >= 0) write_all(st->fds[r], line, len);
}

static cc_status root_send_book(root_state *st, cc_address_book *book, cc_error *err) {
  int n = st->s->world_size;
  size_t cap = (size_t)(n + 1) * LINE_MAX_BYTES, len;
  char *text = malloc(cap);
  int m;
  if (!text) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player 0: out of memory for the address book");
  len = (size_t)cc_rdv_ok_pack(book->token, text, cap);
  for (int r = 0; r < n; r++) {
    cc_rdv_entry e;
    e.port = book->ports[r];
    snprintf(e.host, sizeof e.host, "%s", book->hosts[r] ? book->hosts[r] : "-");
    m = cc_rdv_entry_pack(&e, text + len, cap - len);
    if (m < 0) {            /* a host name the line cannot carry: say so to everyone */
      char msg[200];
      snprintf(msg, sizeof msg, "the address of player %d (port %u, host '%.100s') does not "
               "fit the address book", r, (unsigned)e.port, e.host);
      for (int q = 1; q < n; q++)
        if (st->fds[q] >= 0) reply_error(st->fds[q], "invalid", msg);
      free(text);
      return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player 0: %s", msg);
    }
    len += (size_t)m;
  }
  root_answer_all(st, text, len);
  free(text);
  return CC_OK;
}

static cc_status root_meet(const cc_rendezvous_settings *s, const char *hash,
                           cc_address_book *book, cc_error *err) {
  root_state st = {s, hash, NULL, 0, -1, -1};
  double deadline = cc_now() + s->startup_timeout_s;
  cc_status rc = CC_OK;
  char msg[CC_HOST_MAX + 256];
  st.fds = malloc((size_t)s->world_size * sizeof *st.fds);
  if (!st.fds) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player 0: out of memory meeting the players");
  for (int r = 0; r < s->world_size; r++) st.fds[r] = -1;
  book->hosts[0] = strdup(s->root.host);
  book->ports[0] = cc_listen_port(book->listen_fd);
  while (st.registered < s->world_size - 1) {
    struct pollfd p = {book->listen_fd, POLLIN, 0};
    double left = deadline - cc_now();
    int fd;
    if (left <= 0) break;
    if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
    fd = accept4(book->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) root_take(&st, fd, book);
  }
  if (st.registered < s->world_size - 1) {
    size_t used = 0;
    char missing[120] = "";
    for (int r = 1; r < s->world_size && used + 12 < sizeof missing; r++)
      if (st.fds[r] < 0)
        used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d", used ? ", " : "", r);
    snprintf(msg, sizeof msg, "player%s %s did not reach the root at %.100s port %u within the "
             "startup timeout of %gs", strchr(missing, ',') ? "s" : "", missing, s->root.host, (unsigned)book->ports[0],
             s->startup_timeout_s);
    for (int r = 1; r < s->world_size; r++)
      if (st.fds[r] >= 0) reply_error(st.fds[r], "startup_timeout", msg);
    rc = cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "player 0: %s", msg);
  } else if (st.other_security >= 0) {
    snprintf(msg, sizeof msg, "player %d %s", st.other_security,
             s->tls ? "speaks plaintext to a TLS world (give it --identity and --trusted)"
                    : "uses TLS in a plaintext world (give every player --identity and --trusted)");
    for (int r = 1; r < s->world_size; r++)
      if (st.fds[r] >= 0) reply_error(st.fds[r], "encryption_failed", msg);
    rc = cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player 0: %s", msg);
  } else if (st.mismatch >= 0) {
    snprintf(msg, sizeof msg, "player %d presented another world's token", st.mismatch);
    for (int r = 1; r < s->world_size; r++)
      if (st.fds[r] >= 0) reply_error(st.fds[r], "token_mismatch", msg);
    rc = cc_error_set(err, CC_ETOKEN_MISMATCH, -1, CC_TAG_NONE, "player 0: %s", msg);
  } else {
    if (!s->token && RAND_bytes((unsigned char *)&book->token, sizeof book->token) != 1)
      book->token = (uint64_t)getpid() ^ (uint64_t)time(NULL);
    rc = root_send_book(&st, book, err);
  }
  for (int r = 1; r < s->world_size; r++)
    if (st.fds[r] >= 0) close(st.fds[r]);
  free(st.fds);
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

static cc_status read_book(const cc_rendezvous_settings *s, int fd, double deadline,
                           cc_address_book *book, cc_error *err) {
  char line[LINE_MAX_BYTES];
  cc_rdv_reply reply;
  size_t len;
  int rc = read_line(fd, line, sizeof line, deadline, &len);
  if (rc == -2)
    return cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE, "player %d: the root at %s port %u did not hand out "
                "the address book within the startup timeout of %gs", s->rank, s->root.host,
                (unsigned)s->root.port, s->startup_timeout_s);
  if (rc != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u closed the connection before "
                "answering", s->rank, s->root.host, (unsigned)s->root.port);
  if (cc_rdv_reply_parse(line, len, &reply, NULL, 0) == 0 && !reply.ok) {
    const char *kind = reply.kind;
    cc_status code = strcmp(kind, "token_mismatch") == 0 ? CC_ETOKEN_MISMATCH
                   : strcmp(kind, "startup_timeout") == 0 ? CC_ESTARTUP_TIMEOUT
                   : strcmp(kind, "encryption_failed") == 0 ? CC_EENCRYPTION : CC_EINVALID;
    return cc_error_set(err, code, -1, CC_TAG_NONE, "player %d: the root says: %s", s->rank, reply.message);
  }
  if (!reply.ok)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u answered '%.60s', not an "
                "address book", s->rank, s->root.host, (unsigned)s->root.port, line);
  book->token = reply.token;
  for (int r = 0; r < s->world_size; r++) {
    cc_rdv_entry e;
    if (read_line(fd, line, sizeof line, deadline, &len) != 0 ||
        cc_rdv_entry_parse(line, len, &e, NULL, 0) != 0)
      return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root's address book broke off at player %d",
                  s->rank, r);
    /* Rank 0 is reached the way this player reached the root. */
    book->hosts[r] = strdup(r == 0 ? s->root.host : e.host);
    book->ports[r] = e.port;
    if (!book->hosts[r]) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "player %d: out of memory", s->rank);
  }
  return CC_OK;
}

static cc_status player_meet(const cc_rendezvous_settings *s, const char *hash,
                             cc_address_book *book, cc_error *err) {
  double deadline = cc_now() + s->startup_timeout_s;
  char line[LINE_MAX_BYTES];
  cc_rdv_join j;
  cc_status rc;
  int fd, n;
  memset(&j, 0, sizeof j);
  j.world_size = s->world_size;
  j.rank = s->rank;
  memcpy(j.hash, hash, strnlen(hash, CC_RDV_HASH_CHARS));
  j.tls = s->tls != 0;
  j.port = cc_listen_port(book->listen_fd);
  snprintf(j.host, sizeof j.host, "%s", s->self && s->self->host[0] ? s->self->host : "-");
  n = cc_rdv_join_pack(&j, line, sizeof line);
  if (n < 0)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "player %d cannot announce itself "
                        "to the root: it listens at port %u of host '%.100s'", s->rank,
                        (unsigned)j.port, j.host);
  fd = dial_root(s, deadline, err);
  if (fd < 0) return err->code;
  if (write_all(fd, line, (size_t)n) != 0) {
    close(fd);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "player %d: the root at %s port %u closed the connection: %s",
                s->rank, s->root.host, (unsigned)s->root.port, strerror(errno));
  }
  /* The root answers once everyone is in: give it its own timeout and a
   * moment more, so that its explanation arrives before ours. */
  rc = read_book(s, fd, deadline + 1.0, book, err);
  close(fd);
  return rc;
}

/* ==== Entry point ============================================================== */

cc_status cc_rendezvous(const cc_rendezvous_settings *s, cc_address_book *book, cc_error *err) {
  char hash[40], why[256];
  uint64_t engine_token;
  cc_status rc;
  memset(book, 0, sizeof *book);
  book->listen_fd = -1;
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
  token_hash(s->token, hash, &engine_token);
  book->token = engine_token;
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
    return CC_OK;
  }
  rc = s->rank == 0 ? root_meet(s, hash, book, err) : player_meet(s, hash, book, err);
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
}
