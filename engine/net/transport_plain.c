/*
 * transport_plain.c - links over plain TCP: the socket is read with readv
 * and written with writev by whichever thread has bytes for it, and the
 * bufferevent only finishes writes the socket did not take at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
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
#define PLAIN_FIRST_READ_BYTES ((size_t)16 << 10) /* a call's first read, on the stack */

/* After a read that got all it asked for: what the socket holds now, as
 * the size of the next read (MIN_READ_BYTES to MAX_SINGLE_IO_BYTES), or
 * false if it holds nothing. */
static bool next_read_size(evutil_socket_t fd, size_t *want) {
  int pending = 0;
  if (ioctl(fd, FIONREAD, &pending) != 0 || pending <= 0) return false;
  *want = (size_t)pending < MIN_READ_BYTES ? MIN_READ_BYTES
        : (size_t)pending > MAX_SINGLE_IO_BYTES ? MAX_SINGLE_IO_BYTES : (size_t)pending;
  return true;
}

/* Read what the socket holds, handling the frames after each read. A big
 * DATA frame whose header is in (c->partial) is read straight into its
 * payload, with room behind it in c->in for what follows it. The first
 * read of a call asks for PLAIN_FIRST_READ_BYTES, on the stack, which
 * small messages do not fill: one system call, and whole frames are handed
 * up from there (c->bytes_connlocked); every other byte goes to c->in.
 * Only a read that fills what it asked for looks at how much the socket holds
 * (FIONREAD) to size the next, up to MAX_SINGLE_IO_BYTES, read into room
 * reserved in c->in. One call stops after PLAIN_READ_STEP_BYTES: a big
 * message streaming in must not keep the connection's lock (and the
 * heartbeat sweep) for its whole length; the socket still holds the rest,
 * and the next poll or sweep reads on. */
static const char *plain_read_connlocked(cc_conn *c, bool *got) {
  struct evbuffer *in = c->in;
  evutil_socket_t fd = c->fd;
  size_t total = 0, want = MIN_READ_BYTES;
  uint8_t spill[PLAIN_FIRST_READ_BYTES];
  CC_CONN_ASSERT_LOCKED(c);
  while (!atomic_load_explicit(&c->dead, memory_order_relaxed) &&
         total < PLAIN_READ_STEP_BYTES) {
    struct evbuffer_iovec v[2];
    struct iovec iov[3];
    int nv, ni = 0;
    size_t direct = 0, asked = 0, rest;
    ssize_t r;
    if (c->partial && evbuffer_get_length(in) == 0) {
      direct = c->partial->len - c->partial_got;
      if (direct > MAX_SINGLE_IO_BYTES) direct = MAX_SINGLE_IO_BYTES;
      iov[ni].iov_base = c->partial->data + c->partial_got;
      iov[ni++].iov_len = direct;
      asked = direct;
    } else if (total == 0) {
      /* The first read goes to the stack, and only what is not a whole
       * frame is added to the buffer: reserving 64 KiB of buffer for every
       * read would cost a large allocation (and malloc's consolidation of
       * its free lists) per message, and small messages are handed up
       * straight from the stack. */
      do r = read(fd, spill, sizeof spill);
      while (r < 0 && errno == EINTR);
      if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) return cc_conn_closed_reason(0, errno);
        return NULL;
      }
      if (r == 0) return "connection closed";
      *got = true;
      total += (size_t)r;
      if (!c->bytes_connlocked(c, spill, (size_t)r)) return "out of memory";
      if ((size_t)r < sizeof spill || !next_read_size(fd, &want)) break;   /* drained */
      continue;
    }
    /* Two pieces: asking for one contiguous piece would make the buffer
     * move what it holds to find room. */
    nv = evbuffer_reserve_space(in, (ev_ssize_t)(direct ? MIN_READ_BYTES : want), v, 2);
    if (nv <= 0) return "out of memory";
    for (int i = 0; i < nv; i++) {
      iov[ni].iov_base = v[i].iov_base;
      iov[ni++].iov_len = v[i].iov_len;
      asked += v[i].iov_len;
    }
    do r = readv(fd, iov, ni);
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
    }
    for (int i = 0; i < nv; i++) {
      size_t take = rest < v[i].iov_len ? rest : v[i].iov_len;
      v[i].iov_len = take;
      rest -= take;
    }
    evbuffer_commit_space(in, v, nv);
    c->frames_connlocked(c);
    if ((size_t)r < asked || !next_read_size(fd, &want)) break;   /* drained */
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
