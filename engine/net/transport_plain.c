/*
 * transport_plain.c - links over plain TCP: the socket is read with readv
 * and written with writev by whichever thread has bytes for it, and the
 * bufferevent only finishes writes the socket did not take at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "core/wire.h"
#include "net/transport.h"

static int plain_open(const cc_settings *s, void **state, char *err, size_t errsz) {
  (void)s; (void)err; (void)errsz;
  *state = NULL;
  return 0;
}

static void plain_close(void *state) { (void)state; }

static struct bufferevent *plain_wrap(void *state, struct event_base *base, evutil_socket_t fd,
                                      bool outgoing) {
  (void)state; (void)outgoing;
  return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
}

#define PLAIN_READ_STEP_BYTES ((size_t)16 << 20) /* read per call before others' turn */
#define PLAIN_SPILL_BYTES ((size_t)16 << 10)      /* a read's room on the stack */

/* Read what the socket holds, handing the frames up after each read. The
 * bytes of a DATA frame whose header is in (c->partial) are read straight
 * into its payload; every other read goes to PLAIN_SPILL_BYTES on the
 * stack (and the same room follows a read into a payload that it can
 * complete, for the frames after it), whose frames are handed up from
 * there by c->bytes_connlocked: a small message is one read and one copy,
 * a big one's first bytes are copied once into its payload, made as its
 * header arrives, and the rest of its body is read into the payload by
 * the kernel. Nothing is read into c->in: that buffer only keeps pieces
 * of frames that must wait for more bytes. A read that fills all it asked
 * for reads again; one that does not has drained the socket. One call
 * stops after PLAIN_READ_STEP_BYTES: a big message streaming in must not
 * keep the connection's lock (and the heartbeat sweep) for its whole
 * length; the socket still holds the rest, and the next poll or sweep
 * reads on. */
static const char *plain_read_connlocked(cc_conn *c, bool *got) {
  evutil_socket_t fd = c->fd;
  size_t total = 0;
  uint8_t spill[PLAIN_SPILL_BYTES];
  CC_CONN_ASSERT_LOCKED(c);
  while (!atomic_load_explicit(&c->dead, memory_order_relaxed) &&
         total < PLAIN_READ_STEP_BYTES) {
    struct iovec iov[2];
    int ni = 0;
    size_t direct = 0, left = 0, asked = 0, rest;
    ssize_t r;
    if (c->partial && evbuffer_get_length(c->in) == 0) {
      left = c->partial->len - c->partial_got;
      direct = left < MAX_SINGLE_IO_BYTES ? left : MAX_SINGLE_IO_BYTES;
      iov[ni].iov_base = c->partial->data + c->partial_got;
      iov[ni++].iov_len = direct;
      asked = direct;
    }
    if (direct == left) {
      iov[ni].iov_base = spill;
      iov[ni++].iov_len = sizeof spill;
      asked += sizeof spill;
    }
    do r = ni == 1 ? read(fd, iov[0].iov_base, iov[0].iov_len) : readv(fd, iov, ni);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) return cc_conn_closed_reason(0, errno);
      return NULL;
    }
    if (r == 0) return "connection closed";
    *got = true;
    total += (size_t)r;
    rest = (size_t)r;
    if (direct) {
      size_t into = rest < direct ? rest : direct;
      c->partial_got += into;
      rest -= into;
      /* Notes the sign of life of a long read, and hands the payload up
       * once it is complete. */
      c->frames_connlocked(c);
    }
    if (rest && !c->bytes_connlocked(c, spill, rest)) return "out of memory";
    if ((size_t)r < asked) break;   /* drained */
  }
  return NULL;
}

/* When nothing is queued on the link, the calling thread writes the frame
 * straight to the socket: touching the bufferevent's output from another
 * thread would wake the I/O thread for every message. Whatever the socket
 * does not take is queued, and the I/O thread finishes it. */
static void plain_write_connlocked(cc_conn *c, const uint8_t *hdr, cc_payload *p) {
  struct bufferevent *bev = c->bev;
  struct evbuffer *out = bufferevent_get_output(bev);
  size_t hlen = CC_FRAME_HEADER_BYTES, plen = p ? p->len : 0, done = 0;
  /* The socket as the connection knows it once it reads directly (set
   * before its first frame): bufferevent_getfd takes the lock again. */
  evutil_socket_t fd = c->fd >= 0 ? c->fd : bufferevent_getfd(bev);
  CC_CONN_ASSERT_LOCKED(c);
  if (evbuffer_get_length(out) == 0) {
    struct iovec iov[2] = {{(void *)hdr, hlen}, {p ? p->data : NULL, plen}};
    ssize_t w;
    do w = writev(fd, iov, plen ? 2 : 1);
    while (w < 0 && errno == EINTR);
    if (w > 0) done = (size_t)w;
    /* On an error, queue it all: the I/O thread's write reports the error. */
  }
  if (done < hlen) evbuffer_add(out, hdr + done, hlen - done);
  if (plen > 0 && done < hlen + plen) {
    size_t off = done > hlen ? done - hlen : 0;
    evbuffer_add_reference(out, p->data + off, plen - off, cc_conn_payload_cleanup,
                           cc_payload_ref(p));
  }
  if (done < hlen + plen) {
    /* Something is queued: push what the socket takes now, so that a player
     * that dies right after a send does not take the message with it. A
     * socket bufferevent keeps its output frozen at the front so that only
     * its own write callback drains it; unfreeze around our write. */
    evbuffer_unfreeze(out, 1);
    if (evbuffer_write(out, fd) < 0 && errno != EAGAIN && errno != EINTR) {
      /* the I/O thread sees the error on its next write and reports it */
    }
    evbuffer_freeze(out, 1);
  }
}

const cc_transport cc_transport_plain = {
  .name = "TCP",
  .handshake = false,
  .refusal = CC_EIO,
  .open = plain_open,
  .close = plain_close,
  .wrap = plain_wrap,
  .read_connlocked = plain_read_connlocked,
  .write_connlocked = plain_write_connlocked,
  .refused_connlocked = NULL,
  .closed_connlocked = NULL,
  .peer_rank_connlocked = NULL,
};
