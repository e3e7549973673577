/*
 * transport_tls.c - links over mutual TLS (settings tls_identity and
 * tls_trusted; the context comes from tls.c). Each connection is a
 * libevent OpenSSL bufferevent, which runs the handshake: nothing of the
 * peer is read before it has authenticated the peer. From then on the link
 * is read and written like a plaintext one, by whichever thread has bytes
 * for it, through SSL_read and SSL_write under the connection's lock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/wire.h"
#include "net/tls.h"
#include "net/transport.h"

#define TLS_COALESCE_BYTES 16000  /* frames up to this go out as one TLS record */
#define TLS_READ_STEP_BYTES ((size_t)1 << 20) /* decrypted per call before others' turn */

/* Empty this thread's OpenSSL error queue, as SSL_get_error needs it
 * before the call it judges. ERR_clear_error clears every slot of the
 * queue, empty or not, which costs about a tenth of a small record's
 * work: it is only called when the queue holds something. */
static inline void tls_clear_errors(void) {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

static int tls_open(const cc_settings *s, void **state, char *err, size_t errsz) {
  *state = cc_tls_context(s->tls_identity, s->tls_trusted, err, errsz);
  return *state ? 0 : -1;
}

static void tls_close(void *state) {
  if (state) cc_tls_context_free(state);
}

static struct bufferevent *tls_wrap(void *state, struct event_base *base, evutil_socket_t fd,
                                    bool outgoing) {
  SSL *ssl = SSL_new(state);
  struct bufferevent *bev;
  if (!ssl) return NULL;
  bev = bufferevent_openssl_socket_new(base, fd, ssl,
                                       outgoing ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
  if (!bev) { SSL_free(ssl); return NULL; }
  /* Keep the record buffers for the link's life: freeing and allocating
   * them again around every read costs more than the memory. */
  SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  /* A killed peer's kernel closes the socket without a TLS goodbye: that
   * is a closed connection, as in plaintext. */
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

/* Why SSL_read's failure r ended the reads: NULL when the socket is only
 * drained for now. */
static const char *tls_read_failed(cc_conn *c, SSL *ssl, int r) {
  /* Now, before any other use of the SSL object changes its state. */
  int e = SSL_get_error(ssl, r);
  unsigned long code = ERR_peek_last_error();
  if (code != 0) ERR_clear_error();
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
    snprintf(c->why, sizeof c->why, "TLS error: %.70s",
             ERR_reason_error_string(code) ? ERR_reason_error_string(code) : "unknown");
    return c->why;
  }
}

/* SSL_read gave r bytes where room were asked: whether that was the end of
 * what the peer wrote, so that the reads can stop without asking OpenSSL
 * again (which would cost a read that finds nothing): a record shorter
 * than the largest, with nothing read ahead behind it. Whatever the peer
 * sends next is in the socket, where a poll sees it. */
static bool last_record(int r, size_t room, SSL *ssl) {
  return (size_t)r < room && r < SSL3_RT_MAX_PLAIN_LENGTH && !SSL_has_pending(ssl);
}

/* Decrypt everything the socket holds, in large steps (libevent's own TLS
 * reads take one record per pass of its loop): a big DATA frame whose
 * header is in (c->partial) is decrypted straight into its payload, every
 * other byte into the connection's input. The link reads ahead (many
 * records per read from the socket, into OpenSSL's buffer of
 * CC_TLS_READ_BUFFER_BYTES). Returns why the link closed, or NULL. */
static const char *tls_read_steps_connlocked(cc_conn *c, SSL *ssl, bool *got, bool *stopped) {
  size_t unframed = 0, total = 0;
  if (!SSL_get_read_ahead(ssl)) SSL_set_read_ahead(ssl, 1);
  while (!atomic_load_explicit(&c->dead, memory_order_relaxed)) {
    struct evbuffer_iovec v[2];
    size_t took = 0;
    int nv, used = 0, r = 0;
    if (c->partial && evbuffer_get_length(c->in) == 0) {
      size_t room = c->partial->len - c->partial_got;
      tls_clear_errors();
      r = SSL_read(ssl, c->partial->data + c->partial_got,
                   room > MAX_SINGLE_IO_BYTES ? (int)MAX_SINGLE_IO_BYTES : (int)room);
      if (r <= 0) return tls_read_failed(c, ssl, r);
      c->partial_got += (size_t)r;
      *got = true;
      total += (size_t)r;
      if (c->partial_got == c->partial->len) c->frames_connlocked(c);   /* hand it up */
      else if (last_record(r, room, ssl)) return NULL;
    } else if (evbuffer_get_length(c->in) == 0 && !c->partial) {
      /* Nothing waits to be framed: one record at most, decrypted on the
       * stack, whose whole frames go up from there (c->bytes_connlocked).
       * Reserving room in the buffer would cost an allocation of
       * MIN_READ_BYTES per message. */
      uint8_t spill[SSL3_RT_MAX_PLAIN_LENGTH];
      tls_clear_errors();
      r = SSL_read(ssl, spill, (int)sizeof spill);
      if (r <= 0) return tls_read_failed(c, ssl, r);
      *got = true;
      total += (size_t)r;
      if (!c->bytes_connlocked(c, spill, (size_t)r)) return "out of memory";
      if (last_record(r, sizeof spill, ssl)) return NULL;
    } else {
      const char *closed = NULL;
      bool drained = false;
      /* Two pieces: asking for one contiguous piece would make the buffer
       * move what it holds to find room. */
      nv = evbuffer_reserve_space(c->in, MIN_READ_BYTES, v, 2);
      if (nv <= 0) return "out of memory";
      while (used < nv) {
        size_t room = v[used].iov_len;
        tls_clear_errors();
        r = SSL_read(ssl, v[used].iov_base, room > INT32_MAX ? INT32_MAX : (int)room);
        if (r <= 0) break;
        v[used++].iov_len = (size_t)r;
        took += (size_t)r;
        if ((size_t)r < room) { drained = last_record(r, room, ssl); break; }
      }
      if (r <= 0) closed = tls_read_failed(c, ssl, r);   /* before any write */
      if (took > 0) {
        evbuffer_commit_space(c->in, v, used);
        *got = true;
        unframed += took;
        total += took;
        /* Hand frames up as we go, and at once when a big frame's header
         * may be in, so that its body is decrypted into its payload. */
        if (unframed >= MAX_SINGLE_IO_BYTES || !c->partial) {
          c->frames_connlocked(c);
          unframed = 0;
        }
      }
      if (r <= 0 || drained) return closed;
    }
    if (total >= TLS_READ_STEP_BYTES) {
      /* Decrypting is slow enough that one busy link would keep this
       * thread (the I/O thread: every other link's heartbeats) for long:
       * stop here and come back. The rest is in the socket, or read ahead
       * into OpenSSL's buffer (the caller marks the connection buffered,
       * so that a waiting thread reads on without polling); the I/O
       * thread's own watch is activated again by hand. */
      if (c->read_ev) event_active(c->read_ev, EV_READ, 0);
      *stopped = true;
      return NULL;
    }
  }
  return NULL;
}

/* Reads that end because OpenSSL wants more from the socket leave at most
 * part of a record in its buffer, whose rest a poll of the socket will
 * show; reads stopped after a step may leave whole records read ahead,
 * which it would not: those mark the connection buffered. */
static const char *tls_read_direct_connlocked(cc_conn *c, bool *got) {
  SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
  bool stopped = false;
  const char *closed = tls_read_steps_connlocked(c, ssl, got, &stopped);
  atomic_store_explicit(&c->buffered, stopped && SSL_has_pending(ssl), memory_order_relaxed);
  return closed;
}

/* What the bufferevent decrypted during the handshake, then our own reads:
 * the TLS twin of the plaintext reads, so that a TLS link too is read by
 * whichever thread wants its bytes. */
static const char *tls_read_connlocked(cc_conn *c, bool *got) {
  struct evbuffer *plain = bufferevent_get_input(c->bev);
  const char *closed = NULL;
  CC_CONN_ASSERT_LOCKED(c);
  if (evbuffer_get_length(plain) > 0) {
    evbuffer_add_buffer(c->in, plain);
    *got = true;
  }
  if (c->direct) closed = tls_read_direct_connlocked(c, got);
  if (*got) c->frames_connlocked(c);
  return closed;
}

/* Encrypt and write from the calling thread what the socket takes, as the
 * plaintext transport does: a frame queued for the I/O thread would die
 * with a player killed right after sending it. Whatever is left goes to
 * the bufferevent's output, which the I/O thread finishes; OpenSSL takes
 * the retry of a blocked write from there: the same bytes, at least as
 * many (libevent runs links with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER and
 * without partial writes, so a write is all or nothing). */
static void tls_write_connlocked(cc_conn *c, const uint8_t *hdr, cc_payload *p) {
  struct evbuffer *out = bufferevent_get_output(c->bev);
  SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
  size_t plen = p ? p->len : 0, done = 0, off;
  uint8_t small[CC_FRAME_HEADER_BYTES + TLS_COALESCE_BYTES];
  bool direct = evbuffer_get_length(out) == 0 && SSL_is_init_finished(ssl);
  int w;
  CC_CONN_ASSERT_LOCKED(c);
  if (plen <= TLS_COALESCE_BYTES) {
    /* One TLS record: written whole, or blocked and retried whole. */
    size_t len = CC_FRAME_HEADER_BYTES + plen;
    memcpy(small, hdr, CC_FRAME_HEADER_BYTES);
    if (plen) memcpy(small + CC_FRAME_HEADER_BYTES, p->data, plen);
    if (direct && SSL_write(ssl, small, (int)len) > 0) return;
    tls_clear_errors();   /* a real error shows on the I/O thread's next write */
    evbuffer_add(out, small, len);
    return;
  }
  /* A large frame: the header and the payload's first bytes in one
   * record, then the rest of the payload in as few SSL_writes as its size
   * allows, straight from the payload. */
  memcpy(small, hdr, CC_FRAME_HEADER_BYTES);
  memcpy(small + CC_FRAME_HEADER_BYTES, p->data, TLS_COALESCE_BYTES);
  if (direct) {
    w = SSL_write(ssl, small, (int)sizeof small);
    if (w > 0) done = sizeof small;
    while (w > 0 && done < CC_FRAME_HEADER_BYTES + plen) {
      size_t left = CC_FRAME_HEADER_BYTES + plen - done;
      w = SSL_write(ssl, p->data + done - CC_FRAME_HEADER_BYTES,
                    (int)(left > MAX_SINGLE_IO_BYTES ? MAX_SINGLE_IO_BYTES : left));
      if (w > 0) done += (size_t)w;
    }
    if (w <= 0) tls_clear_errors();
  }
  if (done == CC_FRAME_HEADER_BYTES + plen) return;
  if (done == 0) {
    evbuffer_add(out, small, sizeof small);   /* retried whole, as written */
    done = sizeof small;
  }
  off = done - CC_FRAME_HEADER_BYTES;
  evbuffer_add_reference(out, p->data + off, plen - off, cc_conn_payload_cleanup,
                         cc_payload_ref(p));
}

/* A connection that failed before its link came up: if OpenSSL says why
 * (an untrusted or missing certificate, a peer speaking plaintext), the
 * world cannot form with that peer. */
static bool tls_refused_connlocked(cc_conn *c, char *why, size_t whysz) {
  unsigned long code = bufferevent_get_openssl_error(c->bev);
  CC_CONN_ASSERT_LOCKED(c);
  if (!code) return false;
  cc_tls_reason(code, "handshake failed", why, whysz);
  while (bufferevent_get_openssl_error(c->bev)) {}
  return true;
}

/* A killed peer's kernel ends the stream without a TLS goodbye: OpenSSL
 * calls it an unexpected end of file; users read the same words as for
 * plaintext. Any other TLS failure is named. */
static const char *tls_closed_connlocked(cc_conn *c, short *what) {
  unsigned long code;
  const char *reason = NULL;
  CC_CONN_ASSERT_LOCKED(c);
  while ((code = bufferevent_get_openssl_error(c->bev)) != 0) {
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) *what |= BEV_EVENT_EOF;
    else if (code > 0xff) {   /* libevent also queues SSL_get_error's small code */
      char text[120];
      ERR_error_string_n(code, text, sizeof text);
      snprintf(c->why, sizeof c->why, "TLS error: %.80s", text);
      reason = c->why;
    }
  }
  return reason;
}

_Static_assert(CC_TLS_OWN_IDENTITY == CC_TRANSPORT_ANY_RANK, "one value for a shared identity");

static int tls_peer_rank_connlocked(cc_conn *c) {
  CC_CONN_ASSERT_LOCKED(c);
  return cc_tls_peer_rank(bufferevent_openssl_get_ssl(c->bev));
}

const cc_transport cc_transport_tls = {
  .name = "TLS",
  .handshake = true,
  .refusal = CC_EENCRYPTION,
  .open = tls_open,
  .close = tls_close,
  .wrap = tls_wrap,
  .read_connlocked = tls_read_connlocked,
  .write_connlocked = tls_write_connlocked,
  .refused_connlocked = tls_refused_connlocked,
  .closed_connlocked = tls_closed_connlocked,
  .peer_rank_connlocked = tls_peer_rank_connlocked,
};
