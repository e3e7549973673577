/*
 * net.c - the player's I/O thread and its links to every other player.
 *
 * One TCP connection per pair of players: the higher rank connects to the
 * lower, and both sides exchange a HELLO frame naming their rank, the world
 * size and the world's token before the link counts as up. After that the
 * I/O thread reads frames, hands DATA to the communicators, sends and checks
 * heartbeats, and marks a peer failed the moment its connection closes or it
 * stays silent past the heartbeat timeout. Nothing here knows about Lua.
 *
 * Links are read by whichever thread wants the bytes first (see conn_read)
 * and written straight to the socket by the sending thread (write_frame).
 * A TLS link (settings tls_identity/tls_trusted, tls.c) is a libevent
 * OpenSSL bufferevent, which runs the handshake; nothing of the peer is
 * read before it has authenticated the peer, and from then on the link is
 * read and written like a plaintext one, through SSL_read and SSL_write
 * under the bufferevent's lock (tls_read, tls_write_frame).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "comm/comm_internal.h"
#include "net/tls.h"
#include "core/wire.h"

#define HELLO_MAGIC 0x41444343u  /* "CCDA" */
#define HELLO_BYTES 20
#define CONNECT_RETRY_S 0.02
#define BYE_WAIT_MIN_S 0.2
#define MAX_SINGLE_IO_BYTES ((size_t)4 << 20)
#define MIN_READ_BYTES 65536
#define TLS_COALESCE_BYTES 16000  /* frames up to this go out as one TLS record */
#define TLS_READ_STEP_BYTES ((size_t)1 << 20) /* decrypted per call before others' turn */

struct cc_conn {
  cc_engine *eng;
  cc_conn *next;           /* in eng->conns */
  struct bufferevent *bev;
  int peer;                /* world rank once the HELLO is in, else -1 */
  bool outgoing;
  bool dead;               /* closed or abandoned: ignore its events */
  struct event *read_ev;   /* our own read watch, see conn_read() */
  struct evbuffer *in;     /* bytes read, not yet framed; under the bev lock */
  evutil_socket_t fd;      /* the socket, once known (bufferevent_getfd locks) */
  bool tls;                /* an OpenSSL bufferevent */
  bool tls_direct;         /* handshake done: read with SSL_read in conn_read */
  char tls_why[96];        /* why a TLS link closed */
  char addr[64];           /* the other end, for messages about an accepted one */
  _Atomic double last_recv;
};

static void conn_read(cc_conn *c);

/* Links whose bytes someone must still read: up, or said goodbye and not
 * yet closed. */
static bool link_readable(const cc_link *l) {
  return l->state == CC_LINK_UP || (l->state == CC_LINK_DEPARTED && !l->peer_eof);
}
static const char *closed_reason(short what, int e);
static bool tls_refused(cc_conn *c);

/* ==== Time and logging ================================================== */

void cc_wake(cc_engine *eng) {
  pthread_cond_broadcast(&eng->cond);
  if (eng->script_polling) {
    uint64_t one = 1;
    if (write(eng->wake_fd, &one, sizeof one) < 0) { /* already signalled */ }
  }
}

/* Wait for a wake-up or the deadline. */
void cc_wait_until(cc_engine *eng, double deadline) {
  struct timespec ts;
  double whole = (double)(long long)deadline;
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)((deadline - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
  pthread_cond_timedwait(&eng->cond, &eng->lock, &ts);
}

void cc_net_wait(cc_engine *eng, double deadline) {
  double left = deadline - cc_now();
  struct timespec ts;
  int n = 0, r;
  if (left < 0) left = 0;   /* still read what is there */
  for (int peer = 0; peer < eng->cfg.world_size; peer++) {
    cc_link *l = &eng->links[peer];
    if (!l->conn || l->conn->dead || !link_readable(l)) continue;
    if (l->conn->tls && !l->conn->tls_direct) continue;
    eng->pollconns[n] = l->conn;
    eng->pollfds[n].fd = l->conn->fd;
    eng->pollfds[n].events = POLLIN;
    eng->pollfds[n].revents = 0;
    n++;
  }
  eng->pollfds[n].fd = eng->wake_fd;
  eng->pollfds[n].events = POLLIN;
  eng->pollfds[n].revents = 0;
  eng->script_polling = true;
  pthread_mutex_unlock(&eng->lock);
  ts.tv_sec = (time_t)left;
  ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
  r = ppoll(eng->pollfds, (nfds_t)n + 1, &ts, NULL);
  for (int i = 0; r > 0 && i < n; i++) {
    if (!(eng->pollfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    bufferevent_lock(eng->pollconns[i]->bev);
    conn_read(eng->pollconns[i]);
    bufferevent_unlock(eng->pollconns[i]->bev);
  }
  if (r > 0 && (eng->pollfds[n].revents & POLLIN)) {
    uint64_t count;
    if (read(eng->wake_fd, &count, sizeof count) < 0) { /* nothing pending */ }
  }
  pthread_mutex_lock(&eng->lock);
  eng->script_polling = false;
}

void cc_net_log(cc_engine *eng, int level, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  if (!eng->cfg.log) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  eng->cfg.log(eng->cfg.log_ctx, level, msg);
}

static void set_reason(cc_link *l, const char *reason) {
  snprintf(l->reason, sizeof l->reason, "%s", reason);
}

/* Stop reading and writing a connection for good. Any thread; never blocks
 * on a callback in progress. */
static void conn_kill(cc_conn *c) {
  if (c->dead) return;
  c->dead = true;
  if (c->read_ev) event_del_noblock(c->read_ev);
  bufferevent_disable(c->bev, EV_READ | EV_WRITE);
}

/* ==== Failure ============================================================ */

/* The link to `peer` is gone: wake every waiter and make sure the peer sees
 * it too (a frozen peer learns it when it wakes). Called on the I/O thread. */
static void link_fail(cc_engine *eng, int peer, const char *reason) {
  cc_link *l = &eng->links[peer];
  cc_conn *c;
  pthread_mutex_lock(&eng->lock);
  if (l->state == CC_LINK_FAILED) { pthread_mutex_unlock(&eng->lock); return; }
  if (l->state == CC_LINK_DEPARTED) {
    l->peer_eof = true;
  } else {
    l->state = CC_LINK_FAILED;
    set_reason(l, reason);
  }
  c = l->conn;
  cc_wake(eng);
  pthread_mutex_unlock(&eng->lock);
  if (c && !c->dead) {
    conn_kill(c);
    /* Only our sending side: a peer that wakes from a freeze and writes
     * before reading would otherwise be answered with a reset, which throws
     * away what we sent it last (the SUSPECT notice among it). */
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
  }
}

static void startup_fail(cc_engine *eng, cc_status code, const char *msg) {
  pthread_mutex_lock(&eng->lock);
  if (eng->fatal == CC_OK) {
    eng->fatal = code;
    snprintf(eng->fatal_message, sizeof eng->fatal_message, "%s", msg);
  }
  cc_wake(eng);
  pthread_mutex_unlock(&eng->lock);
}

/* ==== Sending ============================================================ */

static void payload_cleanup(const void *data, size_t len, void *arg) {
  (void)data; (void)len;
  cc_payload_unref(arg);
}

/* Encrypt and write from the calling thread what the socket takes, as the
 * plaintext path does: a frame queued for the I/O thread would die with a
 * player killed right after sending it. Whatever is left goes to the
 * bufferevent's output, which the I/O thread finishes; OpenSSL takes the
 * retry of a blocked write from there: the same bytes, at least as many
 * (libevent runs links with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER and
 * without partial writes, so a write is all or nothing). Caller holds the
 * bufferevent's lock, which every use of the SSL object takes. */
static void tls_write_frame(cc_conn *c, const uint8_t *hdr, cc_payload *p) {
  struct evbuffer *out = bufferevent_get_output(c->bev);
  SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
  size_t plen = p ? p->len : 0, done = 0, off;
  uint8_t small[CC_FRAME_HEADER_BYTES + TLS_COALESCE_BYTES];
  bool direct = evbuffer_get_length(out) == 0 && SSL_is_init_finished(ssl);
  int w;
  if (plen <= TLS_COALESCE_BYTES) {
    /* One TLS record: written whole, or blocked and retried whole. */
    size_t len = CC_FRAME_HEADER_BYTES + plen;
    memcpy(small, hdr, CC_FRAME_HEADER_BYTES);
    if (plen) memcpy(small + CC_FRAME_HEADER_BYTES, p->data, plen);
    if (direct && SSL_write(ssl, small, (int)len) > 0) return;
    ERR_clear_error();   /* a real error shows on the I/O thread's next write */
    evbuffer_add(out, small, len);
    return;
  }
  /* A large frame: the header's record, then the payload's records. */
  if (direct) {
    w = SSL_write(ssl, hdr, CC_FRAME_HEADER_BYTES);
    if (w > 0) done = CC_FRAME_HEADER_BYTES;
    while (w > 0 && done < CC_FRAME_HEADER_BYTES + plen) {
      size_t left = CC_FRAME_HEADER_BYTES + plen - done;
      w = SSL_write(ssl, p->data + done - CC_FRAME_HEADER_BYTES,
                    (int)(left > MAX_SINGLE_IO_BYTES ? MAX_SINGLE_IO_BYTES : left));
      if (w > 0) done += (size_t)w;
    }
    if (w <= 0) ERR_clear_error();
  }
  if (done == CC_FRAME_HEADER_BYTES + plen) return;
  if (done == 0) evbuffer_add(out, hdr, CC_FRAME_HEADER_BYTES);
  off = done ? done - CC_FRAME_HEADER_BYTES : 0;
  evbuffer_add_reference(out, p->data + off, plen - off, payload_cleanup, cc_payload_ref(p));
}

/* Write a frame. When nothing is queued on the link, the calling thread
 * writes it straight to the socket: touching the bufferevent's output from
 * another thread would wake the I/O thread for every message. Whatever the
 * socket does not take is queued, and the I/O thread finishes it. */
static void write_frame(cc_conn *c, int type, int source, uint64_t context,
                        int32_t tag, cc_payload *p) {
  struct bufferevent *bev = c->bev;
  uint8_t hdr[CC_FRAME_HEADER_BYTES];
  size_t plen = p ? p->len : 0, done = 0;
  cc_frame_header h = {CC_WIRE_VERSION, (uint8_t)type, 0, tag, context, (uint32_t)source,
                       (uint32_t)plen};
  struct evbuffer *out = bufferevent_get_output(bev);
  cc_frame_pack(&h, hdr);
  bufferevent_lock(bev);
  if (c->tls) {
    tls_write_frame(c, hdr, p);
    bufferevent_unlock(bev);
    return;
  }
  if (evbuffer_get_length(out) == 0) {
    struct iovec iov[2] = {{hdr, sizeof hdr}, {p ? p->data : NULL, plen}};
    ssize_t w;
    do w = writev(bufferevent_getfd(bev), iov, plen ? 2 : 1);
    while (w < 0 && errno == EINTR);
    if (w > 0) done = (size_t)w;
    /* On an error, queue it all: the I/O thread's write reports the error. */
  }
  if (done < sizeof hdr) evbuffer_add(out, hdr + done, sizeof hdr - done);
  if (plen > 0 && done < sizeof hdr + plen) {
    size_t off = done > sizeof hdr ? done - sizeof hdr : 0;
    evbuffer_add_reference(out, p->data + off, plen - off, payload_cleanup, cc_payload_ref(p));
  }
  if (done < sizeof hdr + plen) {
    /* Something is queued: push what the socket takes now, so that a player
     * that dies right after a send does not take the message with it. A
     * socket bufferevent keeps its output frozen at the front so that only
     * its own write callback drains it; unfreeze around our write. */
    evbuffer_unfreeze(out, 1);
    if (evbuffer_write(out, bufferevent_getfd(bev)) < 0 && errno != EAGAIN && errno != EINTR) {
      /* the I/O thread sees the error on its next write and reports it */
    }
    evbuffer_freeze(out, 1);
  }
  bufferevent_unlock(bev);
}

bool cc_net_send(cc_engine *eng, int world_peer, int type, uint64_t context, int32_t tag,
                 cc_payload *p) {
  cc_conn *c = NULL;
  pthread_mutex_lock(&eng->lock);
  if (eng->links[world_peer].state == CC_LINK_UP) c = eng->links[world_peer].conn;
  pthread_mutex_unlock(&eng->lock);
  if (!c) return false;
  write_frame(c, type, eng->cfg.rank, context, tag, p);
  return true;
}

static void send_hello(cc_engine *eng, cc_conn *c) {
  cc_payload *p = cc_payload_new(HELLO_BYTES);
  uint8_t *b;
  if (!p) return;
  b = p->data;
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(HELLO_MAGIC >> (8 * i));
  for (int i = 0; i < 4; i++) b[4 + i] = (uint8_t)((uint32_t)eng->cfg.world_size >> (8 * i));
  for (int i = 0; i < 4; i++) b[8 + i] = (uint8_t)((uint32_t)eng->cfg.rank >> (8 * i));
  for (int i = 0; i < 8; i++) b[12 + i] = (uint8_t)(eng->cfg.token >> (8 * i));
  write_frame(c, CC_FRAME_HELLO, eng->cfg.rank, 0, 0, p);
  cc_payload_unref(p);
}

/* ==== Receiving =========================================================== */

static uint64_t get_le(const uint8_t *b, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

/* A HELLO on a connection: on an accepted one it names the peer, on ours it
 * confirms the peer we dialled. */
static void on_hello(cc_conn *c, const cc_frame_header *h, const uint8_t *b) {
  cc_engine *eng = c->eng;
  char msg[200];
  uint32_t magic, world, rank;
  uint64_t token;
  if (h->length != HELLO_BYTES) { conn_kill(c); return; }
  magic = (uint32_t)get_le(b, 4);
  world = (uint32_t)get_le(b + 4, 4);
  rank = (uint32_t)get_le(b + 8, 4);
  token = get_le(b + 12, 8);
  if (magic != HELLO_MAGIC || world != (uint32_t)eng->cfg.world_size ||
      rank >= world || (int)rank == eng->cfg.rank ||
      (c->outgoing && c->peer != (int)rank)) {
    snprintf(msg, sizeof msg, "player %d: a connection presented itself as player %u of %u",
             eng->cfg.rank, rank, world);
    cc_net_log(eng, CC_LOG_WARNING, "%s", msg);
    conn_kill(c);
    return;
  }
  if (c->tls) {
    int named = cc_tls_peer_rank(bufferevent_openssl_get_ssl(c->bev));
    if (named >= 0 && named != (int)rank) {
      snprintf(msg, sizeof msg, "player %d: a peer with the certificate of player %d presented "
               "itself as player %u; refused", eng->cfg.rank, named, rank);
      cc_net_log(eng, CC_LOG_ERROR, "%s", msg);
      startup_fail(eng, CC_EENCRYPTION, msg);
      conn_kill(c);
      return;
    }
  }
  if (token != eng->cfg.token) {
    snprintf(msg, sizeof msg, "player %u presented another world's token", rank);
    cc_net_log(eng, CC_LOG_ERROR, "%s", msg);
    startup_fail(eng, CC_ETOKEN_MISMATCH, msg);
    conn_kill(c);
    return;
  }
  pthread_mutex_lock(&eng->lock);
  if (eng->links[rank].state != CC_LINK_DOWN) {
    pthread_mutex_unlock(&eng->lock);
    cc_net_log(eng, CC_LOG_WARNING, "player %d: a second connection from player %u refused",
               eng->cfg.rank, rank);
    conn_kill(c);
    return;
  }
  /* Answer before the link becomes visible: once it is, the script thread
   * may write on it, and the peer must see our HELLO first. */
  if (!c->outgoing) send_hello(eng, c);
  c->peer = (int)rank;
  eng->links[rank].conn = c;
  eng->links[rank].state = CC_LINK_UP;
  eng->links_up++;
  cc_wake(eng);
  pthread_mutex_unlock(&eng->lock);
  /* From now on the links are read by the thread that waits for a message
   * (cc_net_wait), and otherwise by the heartbeat sweep: the I/O thread is
   * not woken for every message that arrives. */
  if (c->read_ev) event_del_noblock(c->read_ev);
}

static void on_bye(cc_conn *c) {
  cc_engine *eng = c->eng;
  cc_link *l = &eng->links[c->peer];
  pthread_mutex_lock(&eng->lock);
  if (l->state == CC_LINK_UP) {
    l->state = CC_LINK_DEPARTED;
    set_reason(l, "it has finished");
  }
  cc_wake(eng);
  pthread_mutex_unlock(&eng->lock);
  /* It sends nothing more and wants to hear nothing more: close our side so
   * that it can exit knowing all we sent was read. */
  shutdown(bufferevent_getfd(c->bev), SHUT_WR);
}

/* A REVOKE frame's payload names the player who revoked (4 bytes, world
 * rank), so that a notice passed on still says who started it. */
void cc_net_send_revoke(cc_engine *eng, uint64_t context, int origin, const int *to, int n) {
  cc_payload *p = cc_payload_new(4);
  if (!p) return;
  for (int i = 0; i < 4; i++) p->data[i] = (uint8_t)((uint32_t)origin >> (8 * i));
  for (int i = 0; i < n; i++) cc_net_send(eng, to[i], CC_FRAME_REVOKE, context, 0, p);
  cc_payload_unref(p);
}

/* Pass revoke notices on. Run as its own event, not from process_frames: it takes
 * send_lock, which the script thread holds while it writes, and process_frames
 * holds a bufferevent lock that such a write may need. */
static void flush_forwards(cc_engine *eng) {
  cc_forward *f;
  pthread_mutex_lock(&eng->send_lock);
  pthread_mutex_lock(&eng->lock);
  f = eng->forwards;
  eng->forwards = NULL;
  pthread_mutex_unlock(&eng->lock);
  while (f) {
    cc_forward *next = f->next;
    cc_net_send_revoke(eng, f->context, f->origin, f->to, f->n);
    free(f->to);
    free(f);
    f = next;
  }
  pthread_mutex_unlock(&eng->send_lock);
}

static void forward_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd; (void)what;
  flush_forwards(arg);
}

/* A communicator was revoked: mark it and, the first time, have the notice
 * passed on to every other member. */
static void on_revoke(cc_conn *c, uint64_t context, int origin) {
  cc_engine *eng = c->eng;
  cc_forward *f = calloc(1, sizeof *f);
  int *to = malloc((size_t)eng->cfg.world_size * sizeof *to);
  pthread_mutex_lock(&eng->lock);
  if (f && to) {
    f->n = cc_comm_revoke_notice(eng, context, c->peer, origin, to);
    if (f->n > 0) {
      cc_forward **tail = &eng->forwards;
      f->context = context;
      f->origin = origin;
      f->to = to;
      while (*tail) tail = &(*tail)->next;
      *tail = f;
      f = NULL;
      to = NULL;
      event_active(eng->forward_ev, EV_READ, 0);
    }
  } else {
    cc_comm_revoke_notice(eng, context, c->peer, origin, NULL);
  }
  pthread_mutex_unlock(&eng->lock);
  free(f);
  free(to);
}

/* Handle every complete frame in the connection's input. The caller holds
 * the bufferevent's lock. */
static void process_frames(cc_conn *c) {
  cc_engine *eng = c->eng;
  struct evbuffer *in = c->in;
  uint8_t hdrbytes[CC_FRAME_HEADER_BYTES];
  cc_frame_header h;
  char err[160];

  while (!c->dead && evbuffer_get_length(in) >= CC_FRAME_HEADER_BYTES) {
    evbuffer_copyout(in, hdrbytes, sizeof hdrbytes);
    if (cc_frame_unpack(hdrbytes, eng->cfg.max_frame_bytes, CC_FRAME_TYPE_COUNT, &h, err,
                        sizeof err) != 0) {
      cc_net_log(eng, CC_LOG_WARNING, "player %d: bad frame from %s%d: %s", eng->cfg.rank,
                 c->peer >= 0 ? "player " : "connection ", c->peer, err);
      if (c->peer >= 0) link_fail(eng, c->peer, "it sent a malformed frame");
      conn_kill(c);
      break;
    }
    if (evbuffer_get_length(in) < CC_FRAME_HEADER_BYTES + (size_t)h.length) break;
    evbuffer_drain(in, CC_FRAME_HEADER_BYTES);
    if (c->peer < 0 || (c->outgoing && eng->links[c->peer].conn != c)) {
      /* Only a HELLO may come before the handshake is complete. */
      uint8_t b[HELLO_BYTES];
      if (h.type != CC_FRAME_HELLO || h.length != HELLO_BYTES) { conn_kill(c); break; }
      evbuffer_remove(in, b, HELLO_BYTES);
      on_hello(c, &h, b);
      continue;
    }
    switch (h.type) {
    case CC_FRAME_REVOKE: {
      uint8_t b[4];
      int origin = c->peer;
      if (h.length == 4) {
        evbuffer_remove(in, b, 4);
        if (get_le(b, 4) < (uint64_t)eng->cfg.world_size) origin = (int)get_le(b, 4);
      } else {
        evbuffer_drain(in, h.length);
      }
      on_revoke(c, h.context, origin);
      break;
    }
    case CC_FRAME_DATA: {
      cc_payload *p;
      if (h.tag == CC_TAG_NONE) {   /* that tag marks revoke notices inside */
        evbuffer_drain(in, h.length);
        break;
      }
      p = cc_payload_new(h.length);
      if (!p) { link_fail(eng, c->peer, "out of memory"); break; }
      if (h.length) evbuffer_remove(in, p->data, h.length);
      pthread_mutex_lock(&eng->lock);
      cc_comm_deliver(eng, h.context, c->peer, h.tag, p);
      pthread_mutex_unlock(&eng->lock);
      break;
    }
    case CC_FRAME_BYE:
      evbuffer_drain(in, h.length);
      on_bye(c);
      break;
    case CC_FRAME_SUSPECT:
      evbuffer_drain(in, h.length);
      pthread_mutex_lock(&eng->lock);
      eng->links[c->peer].suspected_me = true;
      pthread_mutex_unlock(&eng->lock);
      break;
    default: /* heartbeats and stray HELLOs carry nothing we need */
      evbuffer_drain(in, h.length);
      break;
    }
  }
  if (c->dead) conn_kill(c);
}

static void schedule_retry(cc_engine *eng);

/* Decrypt everything a TLS link's socket holds into the connection's
 * input: the TLS twin of the plaintext loop in conn_read, so that a TLS
 * link too is read by whichever thread wants its bytes, in large steps
 * (libevent's own TLS reads take one record per pass of its loop). Returns
 * why the link closed, or NULL. Caller holds the bufferevent's lock. */
static const char *tls_read(cc_conn *c, bool *got) {
  SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
  size_t unframed = 0, total = 0;
  while (!c->dead) {
    /* Two pieces, as in conn_read: asking for one contiguous piece would
     * make the buffer move what it holds to find room. */
    struct evbuffer_iovec v[2];
    size_t took = 0;
    int nv, used = 0, r = 0, e = SSL_ERROR_NONE;
    unsigned long code = 0;
    nv = evbuffer_reserve_space(c->in, MIN_READ_BYTES, v, 2);
    if (nv <= 0) return "out of memory";
    while (used < nv) {
      size_t room = v[used].iov_len;
      ERR_clear_error();
      r = SSL_read(ssl, v[used].iov_base, room > INT32_MAX ? INT32_MAX : (int)room);
      if (r <= 0) {
        /* Now, before any other use of the SSL object changes its state. */
        e = SSL_get_error(ssl, r);
        code = ERR_peek_last_error();
        ERR_clear_error();
        break;
      }
      v[used++].iov_len = (size_t)r;
      took += (size_t)r;
      if ((size_t)r < room) break;
    }
    if (took > 0) {
      evbuffer_commit_space(c->in, v, used);
      *got = true;
      unframed += took;
      total += took;
      if (unframed >= MAX_SINGLE_IO_BYTES) {   /* deliver as we go */
        process_frames(c);
        unframed = 0;
      }
    }
    if (r > 0 && total >= TLS_READ_STEP_BYTES) {
      /* Decrypting is slow enough that one busy link would keep this
       * thread (the I/O thread: every other link's heartbeats) for long:
       * stop here and come back. The socket still holds the rest, and
       * without read-ahead OpenSSL holds no whole record back, so a
       * waiting script thread's poll sees it; the I/O thread's own watch
       * is edge-triggered and is activated again by hand. */
      if (c->read_ev) event_active(c->read_ev, EV_READ, 0);
      return NULL;
    }
    if (r > 0) continue;
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return NULL;
    case SSL_ERROR_ZERO_RETURN:
    case SSL_ERROR_SYSCALL:
      return "connection closed";
    default:
      /* A killed peer's kernel ends the stream without a TLS goodbye:
       * OpenSSL calls it an unexpected end of file. */
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return "connection closed";
      snprintf(c->tls_why, sizeof c->tls_why, "TLS error: %.70s",
               ERR_reason_error_string(code) ? ERR_reason_error_string(code) : "unknown");
      return c->tls_why;
    }
  }
  return NULL;
}

/* Read everything the socket holds into the connection's input, in large
 * steps (libevent's own reads take 4 KiB at a time), then handle the
 * frames. Both the I/O thread and a script thread waiting for a message
 * call this, under the bufferevent's lock, so whichever wakes first reads:
 * a waiting script thread gets its message without a thread switch. */
static void conn_read(cc_conn *c) {
  cc_engine *eng = c->eng;
  struct evbuffer *in = c->in;
  evutil_socket_t fd = c->fd;
  const char *closed = NULL;
  bool got = false;
  if (c->tls) {
    /* What the bufferevent decrypted during the handshake, then our own
     * reads. */
    struct evbuffer *plain = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(plain) > 0) {
      evbuffer_add_buffer(in, plain);
      got = true;
    }
    if (c->tls_direct) closed = tls_read(c, &got);
    if (got) process_frames(c);
  }
  while (!c->tls && !c->dead) {
    struct evbuffer_iovec v[2];
    struct iovec iov[2];
    int pending = 0, nv;
    size_t want;
    ssize_t r;
    if (ioctl(fd, FIONREAD, &pending) != 0 || pending < 0) pending = 0;
    want = (size_t)pending < MIN_READ_BYTES ? MIN_READ_BYTES
         : (size_t)pending > MAX_SINGLE_IO_BYTES ? MAX_SINGLE_IO_BYTES : (size_t)pending;
    nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    if (nv <= 0) { closed = "out of memory"; break; }
    for (int i = 0; i < nv; i++) { iov[i].iov_base = v[i].iov_base; iov[i].iov_len = v[i].iov_len; }
    do r = readv(fd, iov, nv);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) closed = closed_reason(0, errno);
      break;
    }
    if (r == 0) { closed = "connection closed"; break; }
    got = true;
    for (int i = 0; i < nv; i++) {
      size_t take = (size_t)r < v[i].iov_len ? (size_t)r : v[i].iov_len;
      v[i].iov_len = take;
      r -= (ssize_t)take;
    }
    evbuffer_commit_space(in, v, nv);
    if (evbuffer_get_length(in) < want) { /* the socket is likely drained */ }
    process_frames(c);
    if ((size_t)pending < want) break;
  }
  if (got) c->last_recv = cc_now();
  if (!closed || c->dead) return;
  if (c->peer >= 0 && eng->links[c->peer].conn == c) {
    link_fail(eng, c->peer, closed);
  } else {
    /* a connection that never completed its handshake */
    conn_kill(c);
    if (c->outgoing) schedule_retry(eng);
  }
}

/* The I/O thread reads a connection only until its handshake is done. */
static void read_event_cb(evutil_socket_t fd, short what, void *arg) {
  cc_conn *c = arg;
  (void)fd; (void)what;
  bufferevent_lock(c->bev);
  conn_read(c);
  bufferevent_unlock(c->bev);
}

/* A TLS link's decrypted bytes: the I/O thread, bufferevent lock held. */
static void tls_read_cb(struct bufferevent *bev, void *arg) {
  (void)bev;
  conn_read(arg);
}

/* Watch the connection's socket for reading with our own event: the
 * bufferevent only writes. */
static int conn_watch(cc_conn *c) {
  evutil_socket_t fd = bufferevent_getfd(c->bev);
  if (fd < 0) return -1;
  c->fd = fd;
  c->read_ev = event_new(c->eng->base, fd, EV_READ | EV_PERSIST, read_event_cb, c);
  return c->read_ev ? event_add(c->read_ev, NULL) : -1;
}




/* Why a connection ended. A killed process's kernel closes its sockets with
 * a FIN, or with a reset when it had unread data: both mean the peer closed
 * the connection, and users should read the same words for both. */
static const char *closed_reason(short what, int e) {
  if ((what & BEV_EVENT_EOF) || e == ECONNRESET || e == EPIPE) return "connection closed";
  return "connection error";
}

/* Small messages go out at once: no Nagle delay. */
static void tune_socket(evutil_socket_t fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
  cc_conn *c = arg;
  cc_engine *eng = c->eng;
  if (what & BEV_EVENT_CONNECTED) {
    /* For TLS this comes after the handshake, on both ends: from now on
     * we read the link ourselves, as a plaintext one. */
    tune_socket(bufferevent_getfd(bev));
    if (c->tls && !c->tls_direct) {
      bufferevent_disable(bev, EV_READ);
      if (conn_watch(c) == 0) c->tls_direct = true;
      else bufferevent_enable(bev, EV_READ);
      conn_read(c);
    }
    if (c->outgoing && !c->dead) send_hello(eng, c);
    return;
  }
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
  if (c->tls && tls_refused(c)) return;
  if (c->peer >= 0 && eng->links[c->peer].conn == c) {
    int e = EVUTIL_SOCKET_ERROR();
    char reason[96] = "";
    if (c->tls) {
      /* A killed peer's kernel ends the stream without a TLS goodbye:
       * OpenSSL calls it an unexpected end of file; users read the same
       * words as for plaintext. Any other TLS failure is named. */
      unsigned long code;
      while ((code = bufferevent_get_openssl_error(bev)) != 0) {
        if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) what |= BEV_EVENT_EOF;
        else if (code > 0xff) {   /* libevent also queues SSL_get_error's small code */
          char text[120];
          ERR_error_string_n(code, text, sizeof text);
          snprintf(reason, sizeof reason, "TLS error: %.80s", text);
        }
      }
    }
    /* A write can fail (the peer is gone) while frames it sent before it
     * went are still unread: read and deliver them first, so that nothing
     * it sent is lost. conn_read notes a clean close by itself. */
    conn_read(c);
    link_fail(eng, c->peer, reason[0] && !(what & BEV_EVENT_EOF) ? reason : closed_reason(what, e));
    return;
  }
  /* A connection that never completed its handshake. */
  conn_kill(c);
  if (c->outgoing) schedule_retry(eng);
}

/* ==== Connecting ========================================================= */

/* A TLS connection that failed before its link came up: if OpenSSL says
 * why (an untrusted or missing certificate, a peer speaking plaintext),
 * the world cannot form with that peer; say who it is and give up. */
static bool tls_refused(cc_conn *c) {
  cc_engine *eng = c->eng;
  unsigned long code = bufferevent_get_openssl_error(c->bev);
  char why[96], msg[256];
  if (!code || (c->peer >= 0 && eng->links[c->peer].conn == c)) return false;
  cc_tls_reason(code, "handshake failed", why, sizeof why);
  while (bufferevent_get_openssl_error(c->bev)) {}
  if (c->outgoing)
    snprintf(msg, sizeof msg, "player %d: TLS with player %d (%.60s port %u) failed: %s",
             eng->cfg.rank, c->peer, eng->hosts[c->peer], (unsigned)eng->ports[c->peer], why);
  else
    snprintf(msg, sizeof msg, "player %d refused a TLS connection from %.63s: %s",
             eng->cfg.rank, c->addr, why);
  cc_net_log(eng, CC_LOG_ERROR, "%s", msg);
  startup_fail(eng, CC_EENCRYPTION, msg);
  conn_kill(c);
  return true;
}

static struct bufferevent *tls_bufferevent(cc_engine *eng, evutil_socket_t fd, bool outgoing) {
  SSL *ssl = SSL_new(eng->tls);
  struct bufferevent *bev;
  if (!ssl) return NULL;
  bev = bufferevent_openssl_socket_new(eng->base, fd, ssl,
                                       outgoing ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
  if (!bev) { SSL_free(ssl); return NULL; }
  /* A killed peer's kernel closes the socket without a TLS goodbye: that
   * is a closed connection, as in plaintext. */
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

static cc_conn *conn_new(cc_engine *eng, evutil_socket_t fd, int peer, bool outgoing) {
  cc_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->in = evbuffer_new();
  c->tls = eng->tls != NULL;
  if (c->in && c->tls) c->bev = tls_bufferevent(eng, fd, outgoing);
  else if (c->in) c->bev = bufferevent_socket_new(eng->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
  if (!c->bev) {
    if (c->in) evbuffer_free(c->in);
    if (fd >= 0) close(fd);
    free(c);
    return NULL;
  }
  c->eng = eng;
  c->peer = peer;
  c->outgoing = outgoing;
  c->last_recv = cc_now();
  c->next = eng->conns;
  eng->conns = c;
  /* libevent moves at most 16 KiB per callback by default; large field
   * arrays travel far faster in bigger steps. */
  bufferevent_set_max_single_read(c->bev, MAX_SINGLE_IO_BYTES);
  bufferevent_set_max_single_write(c->bev, MAX_SINGLE_IO_BYTES);
  if (c->tls) {
    bufferevent_setcb(c->bev, tls_read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
  }
  bufferevent_setcb(c->bev, NULL, NULL, event_cb, c);
  bufferevent_enable(c->bev, EV_WRITE);
  if (fd >= 0 && conn_watch(c) != 0) c->dead = true;
  return c;
}

static int dial(cc_engine *eng, int peer) {
  struct addrinfo hints, *res = NULL;
  char port[16];
  cc_conn *c;
  int rc;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%u", (unsigned)eng->ports[peer]);
  if (getaddrinfo(eng->hosts[peer], port, &hints, &res) != 0 || !res) return -1;
  c = conn_new(eng, -1, peer, true);
  rc = c ? bufferevent_socket_connect(c->bev, res->ai_addr, (int)res->ai_addrlen) : -1;
  freeaddrinfo(res);
  if (rc == 0 && !c->tls && conn_watch(c) != 0) rc = -1;
  if (rc != 0 && c) conn_kill(c);
  return rc;
}

/* Dial every lower-ranked peer that has no link and no attempt under way. */
static void dial_missing(cc_engine *eng) {
  for (int peer = 0; peer < eng->cfg.rank; peer++) {
    bool pending = false;
    if (eng->links[peer].state != CC_LINK_DOWN) continue;
    for (cc_conn *c = eng->conns; c; c = c->next)
      if (c->outgoing && c->peer == peer && !c->dead) pending = true;
    if (!pending && dial(eng, peer) != 0) schedule_retry(eng);
  }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd; (void)what;
  dial_missing(arg);
}

static void schedule_retry(cc_engine *eng) {
  struct timeval tv = {0, (suseconds_t)(CONNECT_RETRY_S * 1e6)};
  if (!evtimer_pending(eng->retry_ev, NULL)) evtimer_add(eng->retry_ev, &tv);
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg) {
  cc_engine *eng = arg;
  cc_conn *c;
  char host[48] = "?", port[8] = "?";
  (void)lst;
  tune_socket(fd);
  getnameinfo(sa, (socklen_t)salen, host, sizeof host, port, sizeof port,
              NI_NUMERICHOST | NI_NUMERICSERV);
  c = conn_new(eng, fd, -1, false);
  if (c) snprintf(c->addr, sizeof c->addr, "%s port %s",
                  strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') ? host + 7 : host, port);
}

/* ==== Heartbeats ========================================================= */

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg) {
  cc_engine *eng = arg;
  double now = cc_now();
  bool stalled = now - eng->last_heartbeat > eng->cfg.heartbeat_timeout_s / 2;
  (void)fd; (void)what;
  eng->last_heartbeat = now;
  for (int peer = 0; peer < eng->cfg.world_size; peer++) {
    cc_link *l = &eng->links[peer];
    cc_conn *c;
    if (!l->conn || !link_readable(l)) continue;
    c = l->conn;
    bufferevent_lock(c->bev);
    conn_read(c);
    bufferevent_unlock(c->bev);
    if (l->state != CC_LINK_UP) continue;
    /* If this player itself was stopped (SIGSTOP), everyone looks silent:
     * judge no one until their frames, sent meanwhile, have been read. */
    if (stalled) c->last_recv = now;
    if (now - c->last_recv > eng->cfg.heartbeat_timeout_s) {
      char why[96];
      snprintf(why, sizeof why, "silent for %gs (heartbeat timeout)",
               eng->cfg.heartbeat_timeout_s);
      /* Tell it, so that if it was only frozen it learns on waking that
       * it has been left out, rather than taking everyone else for dead. */
      write_frame(c, CC_FRAME_SUSPECT, eng->cfg.rank, 0, 0, NULL);
      pthread_mutex_lock(&eng->lock);
      l->silent = true;
      pthread_mutex_unlock(&eng->lock);
      link_fail(eng, peer, why);
      continue;
    }
    write_frame(c, CC_FRAME_HEARTBEAT, eng->cfg.rank, 0, 0, NULL);
  }
}

/* ==== Engine lifecycle =================================================== */

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
  cc_engine *eng = arg;
  (void)fd; (void)what;
  event_base_loopbreak(eng->base);
}

static void *io_main(void *arg) {
  cc_engine *eng = arg;
  event_base_loop(eng->base, EVLOOP_NO_EXIT_ON_EMPTY);
  return NULL;
}

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
/* A peer that exits closes its sockets; writing to one must give an error,
 * not kill this process with SIGPIPE. */
static void use_threads(void) {
  evthread_use_pthreads();
  signal(SIGPIPE, SIG_IGN);
}

void cc_settings_default(cc_settings *s) {
  memset(s, 0, sizeof *s);
  s->world_size = 1;
  s->startup_timeout_s = 5.0;
  s->heartbeat_interval_s = 0.1;
  s->heartbeat_timeout_s = 1.0;
  s->max_frame_bytes = 1u << 30;
  s->listen_fd = -1;
}

static struct timeval to_timeval(double s) {
  struct timeval tv;
  tv.tv_sec = (time_t)s;
  tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
  return tv;
}

static cc_engine *engine_alloc(const cc_settings *s) {
  cc_engine *eng = calloc(1, sizeof *eng);
  pthread_condattr_t ca;
  if (!eng) return NULL;
  eng->wake_fd = -1;
  eng->cfg = *s;
  eng->agree_kill_after = -1;
  eng->cfg.peer_hosts = NULL;
  eng->cfg.tls_identity = NULL;   /* read once, at start */
  eng->cfg.tls_trusted = NULL;
  eng->cfg.peer_ports = NULL;
  eng->links = calloc((size_t)s->world_size, sizeof *eng->links);
  eng->hosts = calloc((size_t)s->world_size, sizeof *eng->hosts);
  eng->ports = calloc((size_t)s->world_size, sizeof *eng->ports);
  eng->pollfds = calloc((size_t)s->world_size + 1, sizeof *eng->pollfds);
  eng->pollconns = calloc((size_t)s->world_size + 1, sizeof *eng->pollconns);
  eng->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!eng->links || !eng->hosts || !eng->ports || !eng->pollfds || !eng->pollconns ||
      eng->wake_fd < 0)
    goto nomem;
  for (int i = 0; i < s->world_size; i++) {
    set_reason(&eng->links[i], "it never connected");
    if (s->peer_hosts && s->peer_hosts[i]) {
      eng->hosts[i] = strdup(s->peer_hosts[i]);
      if (!eng->hosts[i]) goto nomem;
    }
    if (s->peer_ports) eng->ports[i] = s->peer_ports[i];
  }
  pthread_mutex_init(&eng->lock, NULL);
  pthread_mutex_init(&eng->send_lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&eng->cond, &ca);
  pthread_condattr_destroy(&ca);
  return eng;
nomem:
  if (eng->wake_fd >= 0) close(eng->wake_fd);
  free(eng->pollfds);
  free(eng->pollconns);
  if (eng->hosts)
    for (int i = 0; i < s->world_size; i++) free(eng->hosts[i]);
  free(eng->hosts);
  free(eng->ports);
  free(eng->links);
  free(eng);
  return NULL;
}

static void engine_free(cc_engine *eng) {
  cc_conn *c, *next;
  if (eng->thread_started) {
    /* An event rather than event_base_loopbreak(): a break requested before
     * the loop has started would be forgotten when it starts. */
    event_active(eng->stop_ev, EV_READ, 0);
    pthread_join(eng->thread, NULL);
  }
  for (c = eng->conns; c; c = next) {
    next = c->next;
    if (c->read_ev) event_free(c->read_ev);
    bufferevent_free(c->bev);
    evbuffer_free(c->in);
    free(c);
  }
  if (eng->listener) evconnlistener_free(eng->listener);
  if (eng->heartbeat_ev) event_free(eng->heartbeat_ev);
  if (eng->retry_ev) event_free(eng->retry_ev);
  if (eng->stop_ev) event_free(eng->stop_ev);
  if (eng->forward_ev) event_free(eng->forward_ev);
  while (eng->forwards) {
    cc_forward *f = eng->forwards;
    eng->forwards = f->next;
    free(f->to);
    free(f);
  }
  while (eng->orphans) {
    cc_orphan *o = eng->orphans;
    eng->orphans = o->next;
    cc_payload_unref(o->msg->payload);
    free(o->msg);
    free(o);
  }
  free(eng->retired);
  if (eng->base) event_base_free(eng->base);
  if (eng->tls) cc_tls_context_free(eng->tls);
  for (int i = 0; i < eng->cfg.world_size; i++) free(eng->hosts[i]);
  free(eng->hosts);
  free(eng->ports);
  free(eng->links);
  free(eng->pollfds);
  free(eng->pollconns);
  close(eng->wake_fd);
  pthread_mutex_destroy(&eng->lock);
  pthread_mutex_destroy(&eng->send_lock);
  pthread_cond_destroy(&eng->cond);
  free(eng);
}

cc_status cc_engine_start(const cc_settings *s, cc_engine **out, cc_error *err) {
  cc_engine *eng;
  struct timeval hb;
  double deadline;
  cc_status st = CC_OK;

  *out = NULL;
  if (s->world_size < 1) return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "world size %d is below 1", s->world_size);
  if (s->rank < 0 || s->rank >= s->world_size)
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "rank %d out of range [0, %d)", s->rank, s->world_size);
  if (s->world_size > 1 && (s->listen_fd < 0 || !s->peer_ports || !s->peer_hosts))
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "a world of %d players needs a listening socket and peer addresses",
                s->world_size);
  if (!(s->heartbeat_interval_s > 0) || !(s->heartbeat_timeout_s > s->heartbeat_interval_s))
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "heartbeat interval %gs and timeout %gs: need 0 < interval < timeout",
                s->heartbeat_interval_s, s->heartbeat_timeout_s);
  pthread_once(&threads_once, use_threads);
  eng = engine_alloc(s);
  if (!eng) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory starting player %d", s->rank);

  if (s->tls_identity || s->tls_trusted) {
    char why[256];
    eng->tls = cc_tls_context(s->tls_identity, s->tls_trusted, why, sizeof why);
    if (!eng->tls) {
      if (s->listen_fd >= 0) close(s->listen_fd);
      engine_free(eng);
      return cc_error_set(err, CC_EENCRYPTION, -1, CC_TAG_NONE, "player %d: %s", s->rank, why);
    }
  }
  eng->base = event_base_new();
  if (!eng->base) { engine_free(eng); return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "cannot create an event loop"); }
  eng->retry_ev = evtimer_new(eng->base, retry_cb, eng);
  eng->heartbeat_ev = event_new(eng->base, -1, EV_PERSIST, heartbeat_cb, eng);
  eng->stop_ev = event_new(eng->base, -1, 0, stop_cb, eng);
  eng->forward_ev = event_new(eng->base, -1, 0, forward_cb, eng);
  if (s->listen_fd >= 0) {
    evutil_make_socket_nonblocking(s->listen_fd);
    eng->listener = evconnlistener_new(eng->base, accept_cb, eng,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_THREADSAFE, 0,
                                       s->listen_fd);
  }
  if (!eng->retry_ev || !eng->heartbeat_ev || !eng->stop_ev || !eng->forward_ev || (s->listen_fd >= 0 && !eng->listener)) {
    engine_free(eng);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "cannot set up the event loop of player %d", s->rank);
  }
  dial_missing(eng);
  hb = to_timeval(s->heartbeat_interval_s);
  eng->last_heartbeat = cc_now();
  event_add(eng->heartbeat_ev, &hb);
  if (pthread_create(&eng->thread, NULL, io_main, eng) != 0) {
    engine_free(eng);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE, "cannot start the I/O thread of player %d", s->rank);
  }
  eng->thread_started = true;

  deadline = cc_now() + s->startup_timeout_s;
  pthread_mutex_lock(&eng->lock);
  while (eng->links_up < s->world_size - 1 && eng->fatal == CC_OK && cc_now() < deadline)
    cc_wait_until(eng, deadline);
  if (eng->fatal != CC_OK) {
    st = cc_error_set(err, eng->fatal, -1, CC_TAG_NONE, "%s", eng->fatal_message);
  } else if (eng->links_up < s->world_size - 1) {
    char missing[128] = "";
    size_t used = 0;
    for (int i = 0; i < s->world_size && used + 12 < sizeof missing; i++)
      if (i != s->rank && eng->links[i].state != CC_LINK_UP)
        used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                 used ? ", " : "", i);
    st = cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE,
              "player %d: players %s did not connect within the startup timeout of %gs",
              s->rank, missing, s->startup_timeout_s);
  }
  pthread_mutex_unlock(&eng->lock);
  if (st != CC_OK) { engine_free(eng); return st; }
  /* Recovery never needs new connections: stop listening. */
  if (eng->listener) evconnlistener_disable(eng->listener);
  *out = eng;
  return CC_OK;
}

void cc_engine_stop(cc_engine *eng) {
  double deadline;
  bool waiting;
  if (!eng) return;
  while (eng->comms) cc_comm_free(eng->comms);
  /* Revoke notices this player still has to pass on go out before its
   * goodbye: a peer must not see it leave without hearing of the revoke. */
  flush_forwards(eng);
  for (int peer = 0; peer < eng->cfg.world_size; peer++)
    if (peer != eng->cfg.rank) cc_net_send(eng, peer, CC_FRAME_BYE, 0, 0, NULL);
  /* Wait for each peer to close its side, so that closing ours cannot reset
   * a connection with data the peer has not read yet. */
  deadline = cc_now() + (eng->cfg.heartbeat_timeout_s > BYE_WAIT_MIN_S
                             ? eng->cfg.heartbeat_timeout_s : BYE_WAIT_MIN_S);
  pthread_mutex_lock(&eng->lock);
  do {
    waiting = false;
    for (int peer = 0; peer < eng->cfg.world_size; peer++) {
      cc_link *l = &eng->links[peer];
      if (peer != eng->cfg.rank && (l->state == CC_LINK_UP ||
                                    (l->state == CC_LINK_DEPARTED && !l->peer_eof)))
        waiting = true;
    }
    if (waiting) cc_net_wait(eng, deadline);
  } while (waiting && cc_now() < deadline);
  pthread_mutex_unlock(&eng->lock);
  engine_free(eng);
}

int cc_engine_rank(const cc_engine *eng) { return eng->cfg.rank; }
void cc_engine_kill_in_agreement(cc_engine *eng, int messages) { eng->agree_kill_after = messages; }
int cc_engine_world_size(const cc_engine *eng) { return eng->cfg.world_size; }
