/*
 * net.c - the player's I/O thread and its links to every other player.
 *
 * One connection per pair of players: the higher rank connects to the
 * lower, and the two prove to each other that they know the world's token
 * (three HELLO frames: a challenge and response each way, see
 * core/control.h and auth.h) before the link counts as up. Until then a
 * connection is a stranger: only a HELLO of its exact size is read from
 * it, it has HANDSHAKE_DEADLINE_S to finish, at most STRANGERS_MAX (or the
 * world's size, if larger) are
 * kept at once, and one that fails is closed and freed (stranger_cb); once
 * every link is up, the listener closes what it accepts at once. After that the
 * links are read by whichever thread wants the bytes first (see
 * conn_read_connlocked) and written straight to the socket by the sending
 * thread (write_frame); the transport (transport.h: plaintext or TLS,
 * picked once in cc_net_open) does the reading and writing. The I/O thread
 * makes and accepts connections, runs the failure detector (a ring of
 * heartbeats, see heartbeat_cb), and marks a peer failed the moment its
 * connection closes, it stays silent past the heartbeat timeout, or
 * another player says it did (DOWN). What arrives goes up through the callbacks of
 * cc_net_events: nothing here knows about communicators, or about Lua.
 *
 * The concurrency contract is written at each field below: which lock
 * guards it, or which thread owns it. See net.h for the lock order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/control.h"
#include "core/wire.h"
#include "net/auth.h"
#include "net/net.h"
#include "net/transport.h"

#define CONNECT_RETRY_S 0.02
#define CONNECT_RETRY_MAX_S 0.25
#define BYE_WAIT_MIN_S 0.2
#define LOG_MAX_PENDING 1024     /* messages queued for the log callback */
#define LOG_MESSAGE_BYTES 512
/* Strangers: a connection that has not yet proved which player it is. */
#define HANDSHAKE_DEADLINE_S 5.0 /* to finish its handshake and HELLO */
#define STRANGERS_MAX 16         /* unidentified accepted connections at once, or
                                  * world_size if larger: every other player may
                                  * be dialling at the same moment */
#define STRANGER_SWEEP_S 0.25    /* how often the late ones are closed and freed,
                                  * while there are any */
#define ACCEPT_BACKOFF_S 0.25    /* no accepting for this long at the descriptor limit */
#define STRANGER_LOGS_MAX 8      /* refusals logged, see stranger_log */
/* Once the world is up, the I/O thread's timers may fire up to this
 * fraction of the heartbeat interval late (at most HEARTBEAT_SLACK_MAX_S),
 * so that the kernel serves the heartbeats of the players of a host, which
 * fall due together (see heartbeat_next), with one wake-up of a processor
 * rather than one each. */
#define HEARTBEAT_SLACK 0.05
#define HEARTBEAT_SLACK_MAX_S 0.01

typedef enum cc_link_state {
  CC_LINK_DOWN,       /* not connected yet */
  CC_LINK_UP,
  CC_LINK_DEPARTED,   /* the peer said goodbye */
  CC_LINK_FAILED      /* closed, broken or silent */
} cc_link_state;

/* The link to one peer. Every field: the net lock. */
typedef struct cc_link {
  cc_link_state state;
  cc_conn *conn;           /* the connection carrying this link, once up;
                            * never changes after */
  char reason[CC_FAILURE_NOTICE_BYTES + 40]; /* why the link is not up any more */
  bool peer_eof;           /* the peer has shut down its side */
  bool suspected_me;       /* the peer declared this player failed */
  bool silent;             /* failed by silence, not by a closed connection */
  bool teardown;           /* failed by another player's DOWN notice: the I/O
                            * thread still has to tell the peer and close
                            * the connection (see finish_teardowns) */
  /* The I/O thread. */
  bool swept;              /* its socket is in the sweep's epoll set */
  /* Any thread. */
  _Atomic double last_sent; /* cc_now() of the last frame written to the peer:
                            * any frame is a sign of life, so the heartbeat
                            * it would have owed is not sent */
} cc_link;

/* A message for the log callback. */
typedef struct log_msg {
  struct log_msg *next;
  int level;
  char text[];
} log_msg;

struct cc_net {
  /* Constant from cc_net_open on. */
  cc_settings cfg;         /* peer_hosts, peer_ports and TLS files cleared:
                            * read once, at open */
  cc_net_events ev;
  const cc_transport *transport;
  void *transport_state;   /* the transport's, e.g. the TLS context */
  struct event_base *base; /* thread-safe: any thread may activate its events */
  char **hosts;            /* world_size, for dialling */
  uint16_t *ports;
  int wake_fd;             /* eventfd: wakes a thread in cc_net_wait_locked */
  struct evconnlistener *listener; /* thread-safe; once all are up, it closes
                                    * what it accepts at once */
  struct event *heartbeat_ev, *retry_ev, *stop_ev, *defer_ev, *log_ev;
  struct event *stranger_ev; /* closes late handshakes, frees refused connections:
                              * pending only while a connection carries no
                              * link (see stranger_cb) */
  struct event *accept_ev;   /* listens again after a pause at the descriptor limit */
  struct event *teardown_ev; /* closes links failed by a DOWN notice */

  /* The thread that starts and frees the net. */
  pthread_t thread;        /* the I/O thread */
  bool thread_started;

  /* The net lock, and what it guards. */
  pthread_mutex_t lock;
  pthread_cond_t cond;     /* signalled with the lock: a message or a change */
#ifndef NDEBUG
  atomic_uintptr_t lock_owner; /* debug: the thread holding the lock, or 0 */
#endif
  cc_link *links;          /* one per world rank (own entry unused) */
  int links_up;
  bool accepting_done;     /* the world is up: late connections are closed */
  cc_status fatal;         /* a startup failure seen by the I/O thread */
  char fatal_message[256];
  atomic_bool waiter_polling; /* a thread is in cc_net_wait_locked's poll:
                               * set with the lock held before it polls,
                               * cleared as soon as its poll returns; read
                               * with the lock held */

  /* The one thread in cc_net_wait_locked. */
  int wait_fd;             /* epoll set of the wake-up eventfd and the links
                            * that thread reads: kept from one wait to the
                            * next, so that a wait does not register with
                            * every socket again */
  struct epoll_event *wait_evs; /* world_size + 1 */
  cc_conn **wait_conns;    /* per rank: the connection to read in this wait,
                            * or NULL */
  bool *waited;            /* per rank: its link's socket is in wait_fd */

  /* The I/O thread (and the starting thread before the I/O thread runs). */
  cc_conn *conns;          /* every connection made; those that never carried a
                            * link are freed once dead (stranger_cb), the rest
                            * with the net */
  double last_heartbeat;   /* when heartbeat_cb last ran */
  bool slack_set;          /* the timer slack is HEARTBEAT_SLACK's */
  double judge_from;       /* no silence counts from before this: when this
                            * player itself was last found stalled */
  int ring_pred;           /* the peer whose silence the sweep judges, or -1 */
  double pred_since;       /* ring_pred's silence counts from then at the
                            * earliest (see heartbeat_cb) */
  int sweep_fd;            /* epoll set of the linked sockets, never part of
                            * the event loop: the sweep asks it which links
                            * have bytes (or closed), at a cost that does not
                            * grow with the number of links */
  struct epoll_event *sweep_evs; /* world_size */
  int links_swept;         /* links whose sockets are in sweep_fd */
  /* Any thread. */
  atomic_int teardowns;    /* links with teardown set, for a quick look */
  double retry_delay;      /* the next pause before dialling again */
  bool fd_limit_logged;    /* the descriptor limit was reported once */
  unsigned strangers_refused; /* accepted and closed at once: STRANGERS_MAX */
  unsigned late_refused;   /* accepted and closed at once: the world was up */
  int strangers_logged;    /* refusals logged, see stranger_log */

  /* The log queue: log_lock, a leaf lock held only to add or take messages. */
  pthread_mutex_t log_lock;
  log_msg *log_head;
  log_msg **log_tail;
  int log_pending;
  unsigned log_dropped;    /* past LOG_MAX_PENDING or out of memory */
};

static void conn_read_connlocked(cc_conn *c);
static void on_down_connlocked(cc_conn *c, uint32_t len);
static void teardown_cb(evutil_socket_t fd, short what, void *arg);
static void schedule_retry(cc_net *n);
static struct timeval to_timeval(double s);

/* The link to peer still has bytes someone must read: it is up, or the
 * peer said goodbye and has not closed yet. */
static bool link_readable_locked(const cc_net *n, int peer) {
  const cc_link *l = &n->links[peer];
  CC_NET_ASSERT_LOCKED(n);
  return l->state == CC_LINK_UP || (l->state == CC_LINK_DEPARTED && !l->peer_eof);
}

/* ==== Locks ================================================================ */

#ifndef NDEBUG

void cc_net_assert_locked(const cc_net *n, const char *func) {
  atomic_uintptr_t *owner = (atomic_uintptr_t *)&n->lock_owner;
  if (atomic_load_explicit(owner, memory_order_relaxed) == cc_self_id()) return;
  fprintf(stderr, "cicada: %s called without the net lock held\n", func);
  abort();
}

static void owner_set(cc_net *n) {
  atomic_store_explicit(&n->lock_owner, cc_self_id(), memory_order_relaxed);
}
static void owner_clear(cc_net *n) {
  atomic_store_explicit(&n->lock_owner, 0, memory_order_relaxed);
}
#else
#define owner_set(n) ((void)0)
#define owner_clear(n) ((void)0)
#endif

void cc_net_lock(cc_net *n) {
  pthread_mutex_lock(&n->lock);
  owner_set(n);
}

void cc_net_unlock(cc_net *n) {
  CC_NET_ASSERT_LOCKED(n);
  owner_clear(n);
  pthread_mutex_unlock(&n->lock);
}

void cc_net_wake_locked(cc_net *n) {
  CC_NET_ASSERT_LOCKED(n);
  pthread_cond_broadcast(&n->cond);
  if (atomic_load_explicit(&n->waiter_polling, memory_order_relaxed)) {
    uint64_t one = 1;
    if (write(n->wake_fd, &one, sizeof one) < 0) { /* already signalled */ }
  }
}

/* Wait for a wake-up or the deadline, without reading the links. */
static void wait_until_locked(cc_net *n, double deadline) {
  struct timespec ts;
  double whole = (double)(long long)deadline;
  CC_NET_ASSERT_LOCKED(n);
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)((deadline - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
  owner_clear(n);
  pthread_cond_timedwait(&n->cond, &n->lock, &ts);
  owner_set(n);
}

/* The waiting thread's epoll set holds exactly the links to read now
 * (level-triggered: a link left in it after it closed would end every wait
 * at once). Linked sockets stay open as long as the net, so a descriptor
 * in the set is never another file's. If the set cannot take a socket,
 * the I/O thread still reads it and wakes the waiter. */
static void wait_set_locked(cc_net *n, int peer, cc_conn *c, bool want) {
  struct epoll_event ev;
  CC_NET_ASSERT_LOCKED(n);
  if (n->waited[peer] == want) return;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u32 = (uint32_t)peer;
  if (epoll_ctl(n->wait_fd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->fd, &ev) == 0 ||
      (!want && errno == ENOENT))
    n->waited[peer] = want;
}

void cc_net_wait_locked(cc_net *n, double deadline) {
  _cc_net_wait_from_locked(n, deadline, cc_now());
}

void _cc_net_wait_from_locked(cc_net *n, double deadline, double now) {
  double left = deadline - now;
  int ms, r, size = n->cfg.world_size;
  bool buffered = false;
  CC_NET_ASSERT_LOCKED(n);
  if (left < 0) left = 0;   /* still read what is there */
  for (int peer = 0; peer < size; peer++) {
    cc_conn *c = n->links[peer].conn;
    bool want = c && !atomic_load_explicit(&c->dead, memory_order_relaxed) &&
                link_readable_locked(n, peer) && c->direct;
    n->wait_conns[peer] = want ? c : NULL;
    if (c && c->direct) wait_set_locked(n, peer, c, want);
    /* Bytes its transport holds: read it now, whatever the socket says. */
    if (want && atomic_load_explicit(&c->buffered, memory_order_relaxed)) buffered = true;
  }
  if (buffered) left = 0;
  /* Whole milliseconds, rounded up: a wait never ends before its deadline
   * and then spins through the rest of it. */
  ms = left > 3600.0 ? 3600 * 1000 : (int)(left * 1e3);
  if ((double)ms < left * 1e3) ms++;
  atomic_store_explicit(&n->waiter_polling, true, memory_order_relaxed);
  cc_net_unlock(n);
  r = epoll_wait(n->wait_fd, n->wait_evs, size + 1, ms);
  /* Awake: what this thread delivers as it reads below, and whatever
   * another thread delivers from now on, is seen when the caller looks at
   * its queues again under the lock, before it polls again. Writing the
   * eventfd for those would only make the next poll return at once. */
  atomic_store_explicit(&n->waiter_polling, false, memory_order_relaxed);
  for (int i = 0; i < r; i++) {
    uint32_t peer = n->wait_evs[i].data.u32;
    cc_conn *c;
    if (peer == (uint32_t)size) {
      uint64_t count;
      if (read(n->wake_fd, &count, sizeof count) < 0) { /* nothing pending */ }
      continue;
    }
    c = n->wait_conns[peer];
    if (!c) continue;
    n->wait_conns[peer] = NULL;   /* read once */
    atomic_fetch_add(&c->busy, 1);   /* the heartbeat sweep leaves it to us */
    cc_conn_lock(c);
    conn_read_connlocked(c);
    cc_conn_unlock(c);
    atomic_fetch_sub(&c->busy, 1);
  }
  for (int peer = 0; buffered && peer < size; peer++) {
    cc_conn *c = n->wait_conns[peer];
    if (!c || !atomic_load_explicit(&c->buffered, memory_order_relaxed)) continue;
    atomic_fetch_add(&c->busy, 1);
    cc_conn_lock(c);
    conn_read_connlocked(c);
    cc_conn_unlock(c);
    atomic_fetch_sub(&c->busy, 1);
  }
  cc_net_lock(n);
}

/* ==== Logging ============================================================== */

void cc_net_log(cc_net *n, int level, const char *fmt, ...) {
  char text[LOG_MESSAGE_BYTES];
  va_list ap;
  log_msg *m;
  size_t len;
  bool first;
  if (!n->cfg.log) return;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  len = strlen(text);
  m = malloc(sizeof *m + len + 1);
  if (m) {
    m->next = NULL;
    m->level = level;
    memcpy(m->text, text, len + 1);
  }
  pthread_mutex_lock(&n->log_lock);
  if (!m || n->log_pending >= LOG_MAX_PENDING) {
    n->log_dropped++;
    pthread_mutex_unlock(&n->log_lock);
    free(m);
    return;
  }
  first = n->log_head == NULL;
  *n->log_tail = m;
  n->log_tail = &m->next;
  n->log_pending++;
  pthread_mutex_unlock(&n->log_lock);
  /* The I/O thread calls the callback, holding no lock of ours. */
  if (first) event_active(n->log_ev, EV_READ, 0);
}

/* Call the log callback for every queued message. Only the I/O thread, or
 * the thread freeing the net once the I/O thread has ended: the callback
 * is never called twice at once. */
static void deliver_logs(cc_net *n) {
  log_msg *m;
  unsigned dropped;
  pthread_mutex_lock(&n->log_lock);
  m = n->log_head;
  dropped = n->log_dropped;
  n->log_head = NULL;
  n->log_tail = &n->log_head;
  n->log_pending = 0;
  n->log_dropped = 0;
  pthread_mutex_unlock(&n->log_lock);
  while (m) {
    log_msg *next = m->next;
    n->cfg.log(n->cfg.log_ctx, m->level, m->text);
    free(m);
    m = next;
  }
  if (dropped) {
    char text[128];
    snprintf(text, sizeof text, "player %d: %u log messages were dropped (too many at once)",
             n->cfg.rank, dropped);
    n->cfg.log(n->cfg.log_ctx, CC_LOG_WARNING, text);
  }
}

static void log_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd; (void)what;
  deliver_logs(arg);
}

/* ==== Failure ============================================================== */

static void set_reason_locked(cc_net *n, cc_link *l, const char *reason) {
  CC_NET_ASSERT_LOCKED(n);
  snprintf(l->reason, sizeof l->reason, "%s", reason);
}

/* Stop reading and writing a connection for good. Any thread; never blocks
 * on a callback in progress. */
static void conn_kill(cc_conn *c) {
  if (atomic_exchange(&c->dead, true)) return;
  if (c->read_ev) event_del_noblock(c->read_ev);
  bufferevent_disable(c->bev, EV_READ | EV_WRITE);
}

/* The link to `peer` is gone: wake every waiter and make sure the peer sees
 * it too (a frozen peer learns it when it wakes). */
static void link_fail(cc_net *n, int peer, const char *reason) {
  cc_link *l = &n->links[peer];
  cc_conn *c;
  cc_net_lock(n);
  if (l->state == CC_LINK_FAILED) { cc_net_unlock(n); return; }
  if (l->state == CC_LINK_DEPARTED) {
    l->peer_eof = true;
  } else {
    l->state = CC_LINK_FAILED;
    set_reason_locked(n, l, reason);
  }
  c = l->conn;
  cc_net_wake_locked(n);
  cc_net_unlock(n);
  if (c && !atomic_load(&c->dead)) {
    conn_kill(c);
    /* Only our sending side: a peer that wakes from a freeze and writes
     * before reading would otherwise be answered with a reset, which throws
     * away what we sent it last (the SUSPECT notice among it). */
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
  }
}

static void startup_fail(cc_net *n, cc_status code, const char *msg) {
  cc_net_lock(n);
  if (n->fatal == CC_OK) {
    n->fatal = code;
    snprintf(n->fatal_message, sizeof n->fatal_message, "%s", msg);
  }
  cc_net_wake_locked(n);
  cc_net_unlock(n);
}

/* ==== Sending ============================================================== */

static void write_frame_connlocked(cc_conn *c, int type, int source, uint64_t context,
                                   int32_t tag, cc_payload *p) {
  uint8_t hdr[CC_FRAME_HEADER_BYTES];
  cc_frame_header h = {CC_WIRE_VERSION, (uint8_t)type, 0, tag, context, (uint32_t)source,
                       (uint32_t)(p ? p->len : 0)};
  CC_CONN_ASSERT_LOCKED(c);
  cc_frame_pack(&h, hdr);
  c->t->write_connlocked(c, hdr, p);
}

/* A frame went out on the connection: it is the peer's sign of life from
 * us, so a heartbeat owed on it is not needed any more. */
static void frame_sent_connlocked(cc_conn *c) {
  CC_CONN_ASSERT_LOCKED(c);
  if (!c->linked) return;
  atomic_store_explicit(&c->net->links[c->peer].last_sent, cc_now(), memory_order_relaxed);
  atomic_store_explicit(&c->heartbeat_due, false, memory_order_relaxed);
}

/* The heartbeat sweep found the connection busy and left its heartbeat to
 * whichever thread holds it: send it now. */
static void send_owed_heartbeat_connlocked(cc_conn *c) {
  CC_CONN_ASSERT_LOCKED(c);
  if (atomic_load_explicit(&c->heartbeat_due, memory_order_relaxed) &&
      atomic_exchange(&c->heartbeat_due, false) && c->linked &&
      !atomic_load_explicit(&c->dead, memory_order_relaxed)) {
    write_frame_connlocked(c, CC_FRAME_HEARTBEAT, cc_net_rank(c->net), 0, 0, NULL);
    frame_sent_connlocked(c);
  }
}

static void write_frame(cc_conn *c, int type, int source, uint64_t context, int32_t tag,
                        cc_payload *p) {
  atomic_fetch_add(&c->busy, 1);   /* the heartbeat sweep does not wait for us */
  cc_conn_lock(c);
  write_frame_connlocked(c, type, source, context, tag, p);
  frame_sent_connlocked(c);
  cc_conn_unlock(c);
  atomic_fetch_sub(&c->busy, 1);
}

cc_net_link *_cc_net_link_up_locked(cc_net *n, int peer) {
  CC_NET_ASSERT_LOCKED(n);
  return n->links[peer].state == CC_LINK_UP ? n->links[peer].conn : NULL;
}

void _cc_net_send_on(cc_net *n, cc_net_link *l, int type, uint64_t context, int32_t tag,
                     cc_payload *p) {
  write_frame(l, type, n->cfg.rank, context, tag, p);
}

bool cc_net_send(cc_net *n, int peer, int type, uint64_t context, int32_t tag, cc_payload *p) {
  cc_conn *c;
  cc_net_lock(n);
  c = _cc_net_link_up_locked(n, peer);
  cc_net_unlock(n);
  if (!c) return false;
  write_frame(c, type, n->cfg.rank, context, tag, p);
  return true;
}

/* A REVOKE frame's payload names the player who revoked (4 bytes, world
 * rank), so that a notice passed on still says who started it. */
void cc_net_send_revoke(cc_net *n, uint64_t context, int origin, const int *to, int count) {
  cc_payload *p = cc_payload_new(4);
  if (!p) return;
  for (int i = 0; i < 4; i++) p->data[i] = (uint8_t)((uint32_t)origin >> (8 * i));
  for (int i = 0; i < count; i++) cc_net_send(n, to[i], CC_FRAME_REVOKE, context, 0, p);
  cc_payload_unref(p);
}

void cc_net_announce_failure(cc_net *n, const char *why) {
  size_t len = strcspn(why, "\r\n");
  cc_payload *p;
  if (len > CC_FAILURE_NOTICE_BYTES) len = CC_FAILURE_NOTICE_BYTES;
  p = cc_payload_new(len);
  if (!p) return;
  memcpy(p->data, why, len);
  for (int peer = 0; peer < n->cfg.world_size; peer++)
    if (peer != n->cfg.rank) cc_net_send(n, peer, CC_FRAME_FAILED, 0, 0, p);
  cc_payload_unref(p);
}

/* Send this side's next HELLO (see core/control.h): a DIAL with a fresh
 * nonce on a connection we made, an ANSWER to a DIAL, or the CONFIRM. */
static void send_hello(cc_net *n, cc_conn *c, uint8_t step) {
  cc_payload *p = cc_payload_new(CC_HELLO_BYTES);
  cc_hello hello;
  int dialler = c->outgoing ? n->cfg.rank : c->claimed;
  int acceptor = c->outgoing ? c->peer : n->cfg.rank;
  if (!p) return;
  memset(&hello, 0, sizeof hello);
  hello.step = step;
  hello.world_size = (uint32_t)n->cfg.world_size;
  hello.rank = (uint32_t)n->cfg.rank;
  if (step == CC_HELLO_DIAL) {
    if (cc_auth_random(c->nonce_d, sizeof c->nonce_d) != 0) { cc_payload_unref(p); return; }
    memcpy(hello.nonce, c->nonce_d, sizeof hello.nonce);
  } else {
    if (step == CC_HELLO_ANSWER) {
      if (cc_auth_random(c->nonce_a, sizeof c->nonce_a) != 0) { cc_payload_unref(p); return; }
      memcpy(hello.nonce, c->nonce_a, sizeof hello.nonce);
    }
    cc_auth_hello_mac(n->cfg.link_key, step, hello.world_size, (uint32_t)dialler,
                      (uint32_t)acceptor, c->nonce_d, c->nonce_a, hello.mac);
  }
  cc_hello_pack(&hello, p->data);
  c->hello_step = step;
  write_frame(c, CC_FRAME_HELLO, n->cfg.rank, 0, 0, p);
  cc_payload_unref(p);
}

void cc_net_defer(cc_net *n) { event_active(n->defer_ev, EV_READ, 0); }

static void defer_cb(evutil_socket_t fd, short what, void *arg) {
  cc_net *n = arg;
  (void)fd; (void)what;
  if (n->ev.deferred) n->ev.deferred(n->ev.ctx);
}

/* ==== Receiving ============================================================ */

static uint64_t get_le(const uint8_t *b, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

/* A warning about a connection refused before it said who it is: the
 * first STRANGER_LOGS_MAX, then one line saying the rest go unlogged, so
 * that a stranger cannot flood the log. The I/O thread. */
static void stranger_log(cc_net *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stranger_log(cc_net *n, const char *fmt, ...) {
  char msg[LOG_MESSAGE_BYTES];
  va_list ap;
  if (n->strangers_logged > STRANGER_LOGS_MAX) return;
  if (n->strangers_logged++ == STRANGER_LOGS_MAX) {
    cc_net_log(n, CC_LOG_WARNING, "player %d: more connections refused; not logging them",
               n->cfg.rank);
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cc_net_log(n, CC_LOG_WARNING, "%s", msg);
}

/* A connection failed its handshake. One we dialled is the player the
 * address book names at that address: the world cannot form with it, so
 * say who it is and give up. One that came to us has proved nothing, and
 * whoever opened it may be a stranger: log it and drop it, and let the
 * world form without it (a real player that fails here is named by the
 * startup timeout, or refused at the rendezvous). */
static void refuse_connlocked(cc_conn *c, cc_status code, const char *msg) {
  cc_net *n = c->net;
  CC_CONN_ASSERT_LOCKED(c);
  if (c->outgoing) {
    cc_net_log(n, CC_LOG_ERROR, "%s", msg);
    startup_fail(n, code, msg);
  } else {
    stranger_log(n, "%s", msg);
  }
  conn_kill(c);
}

/* A HELLO on a connection (see core/control.h for the three steps). On
 * ours: the ANSWER of the player we dialled, which proves it knows the
 * world's link key; we CONFIRM and the link is up. On an accepted one: a
 * DIAL naming the peer, which we ANSWER, then its CONFIRM, which proves it
 * knows the key too; only then is the link up. */
static void on_hello_connlocked(cc_conn *c, const cc_frame_header *h, const uint8_t *b) {
  cc_net *n = c->net;
  char msg[200];
  cc_hello hello;
  uint8_t want_step, mac[CC_HELLO_MAC_BYTES];
  int expect, rank, dialler, acceptor;
  CC_CONN_ASSERT_LOCKED(c);
  want_step = c->outgoing ? CC_HELLO_ANSWER
                          : c->hello_step == 0 ? CC_HELLO_DIAL : CC_HELLO_CONFIRM;
  expect = c->outgoing ? c->peer : c->claimed;
  if (cc_hello_parse(b, h->length, &hello, NULL, 0) != 0 || hello.step != want_step ||
      cc_hello_check(&hello, n->cfg.world_size, n->cfg.rank, expect, NULL, 0) != 0) {
    snprintf(msg, sizeof msg, "player %d: %s %.63s presented itself as player %u of %u "
             "(HELLO step %u, expected %u); dropped", n->cfg.rank,
             c->outgoing ? "the connection to" : "a connection from",
             c->outgoing ? n->hosts[c->peer] : c->addr, hello.rank, hello.world_size,
             (unsigned)hello.step, (unsigned)want_step);
    if (c->outgoing) cc_net_log(n, CC_LOG_WARNING, "%s", msg);
    else stranger_log(n, "%s", msg);
    conn_kill(c);
    if (c->outgoing) schedule_retry(n);
    return;
  }
  rank = (int)hello.rank;
  if (c->t->peer_rank_connlocked) {
    int named = c->t->peer_rank_connlocked(c);
    if (named != rank && named != CC_TRANSPORT_ANY_RANK) {
      if (named >= 0)
        snprintf(msg, sizeof msg, "player %d: a peer with the certificate of player %d "
                 "presented itself as player %d; refused", n->cfg.rank, named, rank);
      else
        snprintf(msg, sizeof msg, "player %d: a peer whose certificate is not the one of "
                 "player %d presented itself as player %d; refused", n->cfg.rank, rank, rank);
      refuse_connlocked(c, c->t->refusal, msg);
      return;
    }
  }
  if (hello.step == CC_HELLO_DIAL) {
    /* Nothing proved yet: answer with our nonce and proof, and wait for
     * its proof. A second connection for a linked rank goes no further. */
    bool down;
    cc_net_lock(n);
    down = n->links[rank].state == CC_LINK_DOWN;
    cc_net_unlock(n);
    if (!down) {
      stranger_log(n, "player %d: a second connection as player %d from %.63s refused",
                   n->cfg.rank, rank, c->addr);
      conn_kill(c);
      return;
    }
    c->claimed = rank;
    memcpy(c->nonce_d, hello.nonce, sizeof c->nonce_d);
    send_hello(n, c, CC_HELLO_ANSWER);
    return;
  }
  if (hello.step == CC_HELLO_ANSWER) memcpy(c->nonce_a, hello.nonce, sizeof c->nonce_a);
  dialler = c->outgoing ? n->cfg.rank : rank;
  acceptor = c->outgoing ? rank : n->cfg.rank;
  cc_auth_hello_mac(n->cfg.link_key, hello.step, (uint32_t)n->cfg.world_size, (uint32_t)dialler,
                    (uint32_t)acceptor, c->nonce_d, c->nonce_a, mac);
  if (!cc_auth_equal(mac, hello.mac, sizeof mac)) {
    if (c->outgoing)
      snprintf(msg, sizeof msg, "player %d presented another world's token", rank);
    else
      snprintf(msg, sizeof msg, "player %d refused a connection from %.63s: it claimed to be "
               "player %d without this world's token", n->cfg.rank, c->addr, rank);
    refuse_connlocked(c, CC_ETOKEN_MISMATCH, msg);
    return;
  }
  cc_net_lock(n);
  if (n->links[rank].state != CC_LINK_DOWN) {
    cc_net_unlock(n);
    stranger_log(n, "player %d: a second connection from player %d refused", n->cfg.rank, rank);
    conn_kill(c);
    return;
  }
  /* Confirm before the link becomes visible: once it is, another thread
   * may write on it, and the peer must see our CONFIRM first. (The
   * connection's lock is recursive and already ours.) */
  if (c->outgoing) send_hello(n, c, CC_HELLO_CONFIRM);
  c->peer = rank;
  c->linked = true;
  n->links[rank].conn = c;
  n->links[rank].state = CC_LINK_UP;
  n->links_up++;
  cc_net_wake_locked(n);
  cc_net_unlock(n);
  /* From now on the links are read by the thread that waits for a message
   * (cc_net_wait_locked), and otherwise by the heartbeat sweep: the I/O
   * thread is not woken for every message that arrives. */
  if (c->read_ev) event_del_noblock(c->read_ev);
}

static void on_bye_connlocked(cc_conn *c) {
  cc_net *n = c->net;
  cc_link *l = &n->links[c->peer];
  cc_net_lock(n);
  if (l->state == CC_LINK_UP) {
    l->state = CC_LINK_DEPARTED;
    set_reason_locked(n, l, "it has finished");
  }
  cc_net_wake_locked(n);
  cc_net_unlock(n);
  /* It sends nothing more and wants to hear nothing more: close our side so
   * that it can exit knowing all we sent was read. */
  shutdown(bufferevent_getfd(c->bev), SHUT_WR);
}

/* A DATA frame's payload is complete: hand it up. */
static void deliver_data_connlocked(cc_conn *c, uint64_t context, int32_t tag, cc_payload *p) {
  cc_net *n = c->net;
  CC_CONN_ASSERT_LOCKED(c);
  cc_net_lock(n);
  if (n->ev.data_locked) n->ev.data_locked(n->ev.ctx, context, c->peer, tag, p);
  else cc_payload_unref(p);
  cc_net_unlock(n);
}

/* Move what has arrived of a big frame's payload into it; true once it is
 * complete and handed up. */
static bool fill_partial_connlocked(cc_conn *c) {
  cc_payload *p = c->partial;
  size_t want = p->len - c->partial_got, have = evbuffer_get_length(c->in);
  size_t take = have < want ? have : want;
  CC_CONN_ASSERT_LOCKED(c);
  if (take) evbuffer_remove(c->in, p->data + c->partial_got, take);
  c->partial_got += take;
  if (c->partial_got < p->len) return false;
  c->partial = NULL;
  deliver_data_connlocked(c, c->partial_context, c->partial_tag, p);
  return true;
}

static void conn_frames_connlocked(cc_conn *c) {
  cc_net *n = c->net;
  struct evbuffer *in = c->in;
  uint8_t hdrbytes[CC_FRAME_HEADER_BYTES];
  cc_frame_header h;
  char err[160];

  CC_CONN_ASSERT_LOCKED(c);
  /* Bytes came: any traffic is a sign of life, also one piece of a long
   * message whose frame is not complete yet. */
  atomic_store_explicit(&c->last_recv, cc_now(), memory_order_relaxed);
  send_owed_heartbeat_connlocked(c);
  if (c->partial && !fill_partial_connlocked(c)) return;
  while (!atomic_load_explicit(&c->dead, memory_order_relaxed) &&
         evbuffer_get_length(in) >= CC_FRAME_HEADER_BYTES) {
    evbuffer_copyout(in, hdrbytes, sizeof hdrbytes);
    if (cc_frame_unpack(hdrbytes, n->cfg.max_frame_bytes, CC_FRAME_TYPE_COUNT, &h, err,
                        sizeof err) != 0) {
      cc_net_log(n, CC_LOG_WARNING, "player %d: bad frame from %s%d: %s", n->cfg.rank,
                 c->peer >= 0 ? "player " : "connection ", c->peer, err);
      if (c->peer >= 0) link_fail(n, c->peer, "it sent a malformed frame");
      conn_kill(c);
      break;
    }
    if (!c->linked && (h.type != CC_FRAME_HELLO || h.length != CC_HELLO_BYTES)) {
      /* Only a HELLO of its exact size may come before the handshake is
       * complete: judged on the header alone, so that nothing a stranger
       * announces is ever buffered. */
      if (!c->outgoing)
        stranger_log(n, "player %d: dropped a connection from %.63s: it sent "
                   "a frame of type %u and %u bytes before its HELLO", n->cfg.rank, c->addr,
                   (unsigned)h.type, (unsigned)h.length);
      conn_kill(c);
      if (c->outgoing) schedule_retry(n);
      break;
    }
    if (c->linked && h.type == CC_FRAME_DATA && h.tag != CC_TAG_NONE &&
        evbuffer_get_length(in) < CC_FRAME_HEADER_BYTES + (size_t)h.length) {
      /* A message still on its way: fill its payload as it comes (see
       * start_data_connlocked). */
      c->partial = cc_payload_new_received(h.length);
      if (!c->partial) { link_fail(n, c->peer, "out of memory"); break; }
      c->partial_got = 0;
      c->partial_context = h.context;
      c->partial_tag = h.tag;
      evbuffer_drain(in, CC_FRAME_HEADER_BYTES);
      if (!fill_partial_connlocked(c)) break;
      continue;
    }
    if (evbuffer_get_length(in) < CC_FRAME_HEADER_BYTES + (size_t)h.length) break;
    evbuffer_drain(in, CC_FRAME_HEADER_BYTES);
    if (!c->linked) {
      uint8_t b[CC_HELLO_BYTES];
      evbuffer_remove(in, b, CC_HELLO_BYTES);
      on_hello_connlocked(c, &h, b);
      continue;
    }
    switch (h.type) {
    case CC_FRAME_REVOKE: {
      uint8_t b[4];
      int origin = c->peer;
      if (h.length == 4) {
        evbuffer_remove(in, b, 4);
        if (get_le(b, 4) < (uint64_t)n->cfg.world_size) origin = (int)get_le(b, 4);
      } else {
        evbuffer_drain(in, h.length);
      }
      cc_net_lock(n);
      if (n->ev.revoke_locked) n->ev.revoke_locked(n->ev.ctx, h.context, c->peer, origin);
      cc_net_unlock(n);
      break;
    }
    case CC_FRAME_DATA: {
      cc_payload *p;
      if (h.tag == CC_TAG_NONE) {   /* that tag marks revoke notices above */
        evbuffer_drain(in, h.length);
        break;
      }
      p = cc_payload_new_received(h.length);
      if (!p) { link_fail(n, c->peer, "out of memory"); break; }
      if (h.length) evbuffer_remove(in, p->data, h.length);
      deliver_data_connlocked(c, h.context, h.tag, p);
      break;
    }
    case CC_FRAME_BYE:
      evbuffer_drain(in, h.length);
      on_bye_connlocked(c);
      break;
    case CC_FRAME_SUSPECT:
      evbuffer_drain(in, h.length);
      cc_net_lock(n);
      n->links[c->peer].suspected_me = true;
      cc_net_unlock(n);
      break;
    case CC_FRAME_FAILED: {
      /* The peer's script raised: it is failed, for the reason it gave.
       * What came before the notice has been handed up already. */
      char why[CC_FAILURE_NOTICE_BYTES + 1];
      size_t len = h.length < CC_FAILURE_NOTICE_BYTES ? h.length : CC_FAILURE_NOTICE_BYTES;
      evbuffer_remove(in, why, len);
      evbuffer_drain(in, h.length - len);
      why[len] = '\0';
      for (size_t i = 0; i < len; i++)   /* one printable line, whatever it sent */
        if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f) why[i] = '?';
      link_fail(n, c->peer, len ? why : "its script raised an error");
      break;
    }
    case CC_FRAME_DOWN:
      on_down_connlocked(c, h.length);
      break;
    default: /* heartbeats and stray HELLOs carry nothing we need */
      evbuffer_drain(in, h.length);
      break;
    }
  }
  if (atomic_load_explicit(&c->dead, memory_order_relaxed)) conn_kill(c);
}

/* A DATA frame from an authenticated peer whose header starts b (len bytes
 * read, the header's included): its payload is made at once, with what b
 * holds of its body copied in, and handed up if that is all of it; else it
 * becomes c->partial, whose rest the transport reads straight into it.
 * Returns the bytes of b used, or 0 if the payload could not be made. Its
 * length was checked against max_frame_bytes with the header, as for a
 * frame framed from c->in: no more is allocated for a frame announced and
 * not sent than there. */
static size_t start_data_connlocked(cc_conn *c, const cc_frame_header *h, const uint8_t *b,
                                    size_t len) {
  size_t body = len - CC_FRAME_HEADER_BYTES;
  cc_payload *p = cc_payload_new_received(h->length);
  if (!p) return 0;
  if (body > h->length) body = h->length;
  if (body) memcpy(p->data, b + CC_FRAME_HEADER_BYTES, body);
  if (body == h->length) {
    deliver_data_connlocked(c, h->context, h->tag, p);
  } else {
    c->partial = p;
    c->partial_got = body;
    c->partial_context = h->context;
    c->partial_tag = h->tag;
  }
  return CC_FRAME_HEADER_BYTES + body;
}

/* How many of the len bytes just read go to c->in, which holds the start
 * of a frame that conn_frames_connlocked could not finish: the rest of its
 * header, or of the whole frame once its header is in (not a message's:
 * those become c->partial). */
static size_t in_needs_connlocked(cc_conn *c, size_t len) {
  size_t have = evbuffer_get_length(c->in), need;
  uint8_t hdr[CC_FRAME_HEADER_BYTES];
  cc_frame_header h;
  if (c->partial || !c->linked) return len;
  if (have < CC_FRAME_HEADER_BYTES) {
    need = CC_FRAME_HEADER_BYTES - have;
  } else {
    evbuffer_copyout(c->in, hdr, sizeof hdr);
    if (cc_frame_unpack(hdr, c->net->cfg.max_frame_bytes, CC_FRAME_TYPE_COUNT, &h, NULL, 0) != 0)
      return len;
    need = CC_FRAME_HEADER_BYTES + (size_t)h.length - have;
  }
  /* Whatever is left whole in c->in (a frame whose framing failed the
   * link) takes it all: conn_frames_connlocked drops it. */
  return need > 0 && need < len ? need : len;
}

/* Bytes just read (c->bytes_connlocked), which come after what c->in
 * holds. From an authenticated peer they are framed from b itself: a DATA
 * frame's body is copied from b into its payload (start_data_connlocked,
 * or into c->partial for the next part of one), heartbeats are skipped;
 * c->in takes only what must wait for more bytes or be judged there (a
 * header cut short, other frames, a bad header: conn_frames_connlocked
 * fails the link as ever), and no more of b than completes the frame at
 * its front, so that the frames after it are framed from b again. Before
 * the handshake is complete everything goes through c->in. */
static bool conn_bytes_connlocked(cc_conn *c, const uint8_t *b, size_t len) {
  cc_net *n = c->net;
  CC_CONN_ASSERT_LOCKED(c);
  /* The sign of life: conn_read_connlocked notes it once the read is
   * done. */
  if (c->linked) send_owed_heartbeat_connlocked(c);
  while (len > 0 && !atomic_load_explicit(&c->dead, memory_order_relaxed)) {
    cc_frame_header h;
    size_t take = len;
    if (evbuffer_get_length(c->in) > 0 || !c->linked) {
      take = in_needs_connlocked(c, len);
    } else if (c->partial) {
      cc_payload *p = c->partial;
      take = p->len - c->partial_got;
      if (take > len) take = len;
      memcpy(p->data + c->partial_got, b, take);
      c->partial_got += take;
      b += take;
      len -= take;
      if (c->partial_got == p->len) {
        c->partial = NULL;
        deliver_data_connlocked(c, c->partial_context, c->partial_tag, p);
      }
      continue;
    } else if (len >= CC_FRAME_HEADER_BYTES &&
               cc_frame_unpack(b, n->cfg.max_frame_bytes, CC_FRAME_TYPE_COUNT, &h, NULL, 0) == 0) {
      if (h.type == CC_FRAME_DATA && h.tag != CC_TAG_NONE) {
        size_t used = start_data_connlocked(c, &h, b, len);
        if (used) {
          b += used;
          len -= used;
          continue;
        }
        /* Out of memory: c->in's framing fails the link. */
      } else if (h.type == CC_FRAME_HEARTBEAT && len - CC_FRAME_HEADER_BYTES >= h.length) {
        b += CC_FRAME_HEADER_BYTES + h.length;
        len -= CC_FRAME_HEADER_BYTES + h.length;
        continue;
      } else if (len - CC_FRAME_HEADER_BYTES > h.length) {
        take = CC_FRAME_HEADER_BYTES + h.length;
      }
    }
    if (evbuffer_add(c->in, b, take) != 0) return false;
    b += take;
    len -= take;
    conn_frames_connlocked(c);
  }
  return true;
}

/* Read everything the connection holds and handle its frames. Both the I/O
 * thread and a thread waiting for a message call this, so whichever wakes
 * first reads: a waiting thread gets its message without a thread switch. */
static void conn_read_connlocked(cc_conn *c) {
  cc_net *n = c->net;
  const char *closed;
  bool got = false;
  CC_CONN_ASSERT_LOCKED(c);
  closed = c->t->read_connlocked(c, &got);
  if (got) atomic_store_explicit(&c->last_recv, cc_now(), memory_order_relaxed);
  if (!closed || atomic_load_explicit(&c->dead, memory_order_relaxed)) return;
  if (c->linked) {
    link_fail(n, c->peer, closed);
  } else {
    /* a connection that never completed its handshake */
    conn_kill(c);
    if (c->outgoing) schedule_retry(n);
  }
}

/* Our own read watch on a connection: the I/O thread reads it until its
 * handshake is done (and a TLS read that stopped after a step is resumed
 * through it). */
static void read_event_cb(evutil_socket_t fd, short what, void *arg) {
  cc_conn *c = arg;
  int idle = 0;
  (void)fd; (void)what;
  /* As the heartbeat sweep: never wait behind another thread that holds
   * the connection (only a linked one can be held); that thread reads it,
   * or the next sweep does. */
  if (!atomic_compare_exchange_strong(&c->busy, &idle, 1)) return;
  cc_conn_lock(c);
  conn_read_connlocked(c);
  cc_conn_unlock(c);
  atomic_fetch_sub(&c->busy, 1);
}

/* A transport's handshake reads through the bufferevent: the I/O thread,
 * which libevent runs with the connection's lock held. */
static void bev_read_cb(struct bufferevent *bev, void *arg) {
  cc_conn *c = arg;
  (void)bev;
  cc_conn_enter(c);
  conn_read_connlocked(c);
  cc_conn_leave(c);
}

/* Watch the connection's socket for reading with our own event (the
 * bufferevent only writes), and read it ourselves from now on. */
static int conn_read_directly(cc_conn *c) {
  evutil_socket_t fd = bufferevent_getfd(c->bev);
  if (fd < 0) return -1;
  c->fd = fd;
  c->read_ev = event_new(c->net->base, fd, EV_READ | EV_PERSIST, read_event_cb, c);
  if (!c->read_ev || event_add(c->read_ev, NULL) != 0) return -1;
  c->direct = true;
  return 0;
}

/* Small messages go out at once: no Nagle delay. */
static void tune_socket(evutil_socket_t fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void conn_event_connlocked(cc_conn *c, short what) {
  cc_net *n = c->net;
  CC_CONN_ASSERT_LOCKED(c);
  if (what & BEV_EVENT_CONNECTED) {
    /* With a handshake this comes after it, on both ends: from now on we
     * read the link ourselves. */
    tune_socket(bufferevent_getfd(c->bev));
    if (!c->direct) {
      bufferevent_disable(c->bev, EV_READ);
      if (conn_read_directly(c) != 0) bufferevent_enable(c->bev, EV_READ);
      conn_read_connlocked(c);
    }
    if (c->outgoing && !atomic_load(&c->dead)) send_hello(n, c, CC_HELLO_DIAL);
    return;
  }
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
  if (!c->linked) {
    char why[96], msg[256];
    if (c->t->refused_connlocked && c->t->refused_connlocked(c, why, sizeof why)) {
      if (c->outgoing)
        snprintf(msg, sizeof msg, "player %d: %s with player %d (%.60s port %u) failed: %s",
                 n->cfg.rank, c->t->name, c->peer, n->hosts[c->peer],
                 (unsigned)n->ports[c->peer], why);
      else
        snprintf(msg, sizeof msg, "player %d refused a %s connection from %.63s: %s",
                 n->cfg.rank, c->t->name, c->addr, why);
      refuse_connlocked(c, c->t->refusal, msg);
      return;
    }
    /* A connection that never completed its handshake. */
    conn_kill(c);
    if (c->outgoing) schedule_retry(n);
    return;
  }
  {
    int e = EVUTIL_SOCKET_ERROR();
    char reason[96] = "";
    const char *why = c->t->closed_connlocked ? c->t->closed_connlocked(c, &what) : NULL;
    if (why) snprintf(reason, sizeof reason, "%s", why);
    /* A write can fail (the peer is gone) while frames it sent before it
     * went are still unread: read and deliver them first, so that nothing
     * it sent is lost. Reading notes a clean close by itself. */
    conn_read_connlocked(c);
    link_fail(n, c->peer, reason[0] && !(what & BEV_EVENT_EOF) ? reason
                                                                : cc_conn_closed_reason(what, e));
  }
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
  cc_conn *c = arg;
  (void)bev;
  cc_conn_enter(c);
  conn_event_connlocked(c, what);
  cc_conn_leave(c);
}

/* ==== Connecting =========================================================== */

/* A connection on socket fd (-1: one that will connect). The I/O thread,
 * or the starting thread before the I/O thread runs. */
static cc_conn *conn_new(cc_net *n, evutil_socket_t fd, int peer, bool outgoing) {
  const cc_transport *t = n->transport;
  cc_conn *c = calloc(1, sizeof *c);
  if (!c) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  c->in = evbuffer_new();
  if (c->in) c->bev = t->wrap(n->transport_state, n->base, fd, outgoing);
  if (!c->bev) {
    if (c->in) evbuffer_free(c->in);
    if (fd >= 0) close(fd);
    free(c);
    return NULL;
  }
  c->net = n;
  c->t = t;
  c->frames_connlocked = conn_frames_connlocked;
  c->bytes_connlocked = conn_bytes_connlocked;
  c->peer = peer;
  c->claimed = -1;
  c->outgoing = outgoing;
  c->fd = -1;
  atomic_init(&c->dead, false);
  atomic_init(&c->last_recv, cc_now());
  atomic_init(&c->busy, 0);
  atomic_init(&c->heartbeat_due, false);
  atomic_init(&c->buffered, false);
  c->opened = cc_now();
  c->next = n->conns;
  n->conns = c;
  /* Sweep while it is a stranger (see stranger_cb); a sweep already due
   * keeps its time, so that new connections cannot put it off. */
  if (!evtimer_pending(n->stranger_ev, NULL)) {
    struct timeval tv = to_timeval(STRANGER_SWEEP_S);
    evtimer_add(n->stranger_ev, &tv);
  }
  /* libevent moves at most 16 KiB per callback by default; large field
   * arrays travel far faster in bigger steps. */
  bufferevent_set_max_single_read(c->bev, MAX_SINGLE_IO_BYTES);
  bufferevent_set_max_single_write(c->bev, MAX_SINGLE_IO_BYTES);
  if (t->handshake) {
    bufferevent_setcb(c->bev, bev_read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
  }
  bufferevent_setcb(c->bev, NULL, NULL, event_cb, c);
  bufferevent_enable(c->bev, EV_WRITE);
  if (fd >= 0 && conn_read_directly(c) != 0) atomic_store(&c->dead, true);
  return c;
}

static int dial(cc_net *n, int peer) {
  struct addrinfo hints, *res = NULL;
  char port[16];
  cc_conn *c;
  int rc;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%u", (unsigned)n->ports[peer]);
  if (getaddrinfo(n->hosts[peer], port, &hints, &res) != 0 || !res) return -1;
  c = conn_new(n, -1, peer, true);
  rc = c ? bufferevent_socket_connect(c->bev, res->ai_addr, (int)res->ai_addrlen) : -1;
  freeaddrinfo(res);
  if (rc == 0 && !n->transport->handshake && conn_read_directly(c) != 0) rc = -1;
  if (rc != 0 && c) conn_kill(c);
  return rc;
}

/* Dial every lower-ranked peer that has no link and no attempt under way. */
static void dial_missing(cc_net *n) {
  for (int peer = 0; peer < n->cfg.rank; peer++) {
    bool pending = false, down;
    cc_net_lock(n);
    down = n->links[peer].state == CC_LINK_DOWN;
    cc_net_unlock(n);
    if (!down) continue;
    for (cc_conn *c = n->conns; c; c = c->next)
      if (c->outgoing && c->peer == peer && !atomic_load(&c->dead)) pending = true;
    if (!pending && dial(n, peer) != 0) schedule_retry(n);
  }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd; (void)what;
  dial_missing(arg);
}

/* Dial again soon: after CONNECT_RETRY_S, twice as long after each
 * attempt that failed, up to CONNECT_RETRY_MAX_S, so that a peer that keeps
 * refusing us is not flooded with handshakes. */
static void schedule_retry(cc_net *n) {
  struct timeval tv;
  if (evtimer_pending(n->retry_ev, NULL)) return;
  if (n->retry_delay < CONNECT_RETRY_S) n->retry_delay = CONNECT_RETRY_S;
  tv = to_timeval(n->retry_delay);
  n->retry_delay = n->retry_delay * 2 < CONNECT_RETRY_MAX_S ? n->retry_delay * 2
                                                            : CONNECT_RETRY_MAX_S;
  evtimer_add(n->retry_ev, &tv);
}

/* Accepted connections still unidentified, and not yet given up. */
static int strangers(const cc_net *n) {
  int count = 0;
  for (const cc_conn *c = n->conns; c; c = c->next)
    if (!c->outgoing && !c->linked && !atomic_load(&c->dead)) count++;
  return count;
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg) {
  cc_net *n = arg;
  cc_conn *c;
  char host[48] = "?", port[8] = "?";
  bool late;
  (void)lst;
  cc_net_lock(n);
  late = n->accepting_done;
  cc_net_unlock(n);
  if (late) {
    /* Every link is up: nobody may join (yet), so a late connection is
     * closed at once, costing a stranger's flood nothing but the accept,
     * and nothing waits in the kernel's backlog. */
    close(fd);
    if (n->late_refused++ == 0) {
      getnameinfo(sa, (socklen_t)salen, host, sizeof host, port, sizeof port,
                  NI_NUMERICHOST | NI_NUMERICSERV);
      cc_net_log(n, CC_LOG_WARNING, "player %d: every link is up; closing connections that "
                 "come now (the first from %s port %s)", n->cfg.rank,
                 strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') ? host + 7 : host, port);
    }
    return;
  }
  int strangers_max = n->cfg.world_size > STRANGERS_MAX ? n->cfg.world_size : STRANGERS_MAX;
  if (strangers(n) >= strangers_max) {
    /* Enough unknown connections are proving themselves already: close
     * this one at once (a real player that meets this dials again). */
    close(fd);
    if (n->strangers_refused++ == 0)
      cc_net_log(n, CC_LOG_WARNING, "player %d: %d connections have not said who they are; "
                 "closing new ones until they do or time out", n->cfg.rank, strangers_max);
    return;
  }
  tune_socket(fd);
  getnameinfo(sa, (socklen_t)salen, host, sizeof host, port, sizeof port,
              NI_NUMERICHOST | NI_NUMERICSERV);
  c = conn_new(n, fd, -1, false);
  if (c) snprintf(c->addr, sizeof c->addr, "%s port %s",
                  strncmp(host, "::ffff:", 7) == 0 && strchr(host, '.') ? host + 7 : host, port);
}

/* Every STRANGER_SWEEP_S on the I/O thread: close accepted connections
 * that have not finished their handshake within HANDSHAKE_DEADLINE_S, and
 * free every connection that died before it carried a link (only the I/O
 * thread ever knew of it), so that nothing a stranger opened outlives its
 * refusal. Once every connection left carries a link, the sweep stops
 * (an idle player is not woken for it); conn_new starts it again. */
static void stranger_cb(evutil_socket_t fd, short what, void *arg) {
  cc_net *n = arg;
  double now = cc_now();
  cc_conn **at = &n->conns;
  bool unlinked = false;
  (void)fd; (void)what;
  while (*at) {
    cc_conn *c = *at;
    if (!c->outgoing && !c->linked && !atomic_load(&c->dead) &&
        now - c->opened > HANDSHAKE_DEADLINE_S) {
      stranger_log(n, "player %d: dropped a connection from %.63s: no handshake "
                 "within %gs", n->cfg.rank, c->addr, HANDSHAKE_DEADLINE_S);
      conn_kill(c);
    }
    if (!c->linked && atomic_load(&c->dead)) {
      *at = c->next;
      if (c->read_ev) event_free(c->read_ev);
      bufferevent_free(c->bev);
      evbuffer_free(c->in);
      free(c);
      continue;
    }
    if (!c->linked) unlinked = true;
    at = &c->next;
  }
  if (!unlinked) event_del(n->stranger_ev);
}

/* accept() failed. At the descriptor limit (or out of buffers) the
 * listener would be woken again at once for the same connection: pause it
 * instead, say so once, and listen again a moment later. */
static void accept_error_cb(struct evconnlistener *lst, void *arg) {
  cc_net *n = arg;
  int e = EVUTIL_SOCKET_ERROR();
  struct timeval tv = {0, (suseconds_t)(ACCEPT_BACKOFF_S * 1e6)};
  evconnlistener_disable(lst);
  if (!n->fd_limit_logged) {
    n->fd_limit_logged = true;
    cc_net_log(n, CC_LOG_WARNING, "player %d cannot accept connections: %s; pausing %gs at a "
               "time until it can", n->cfg.rank, strerror(e), ACCEPT_BACKOFF_S);
  }
  evtimer_add(n->accept_ev, &tv);
}

static void accept_again_cb(evutil_socket_t fd, short what, void *arg) {
  cc_net *n = arg;
  (void)fd; (void)what;
  evconnlistener_enable(n->listener);
}

/* ==== Heartbeats and failure detection ===================================== */

/* The detector follows the ring of the live players: each player sends
 * heartbeats to its successor (the next rank whose link is up, wrapping
 * around) and judges only its predecessor, so an idle world costs one
 * heartbeat per player and interval, whatever its size. Any frame counts:
 * a heartbeat goes only on a link that has carried nothing for half an
 * interval. A player that finds its predecessor silent past the timeout
 * tells it (SUSPECT), closes the link and tells every other player (DOWN),
 * who do the same, so that every call waiting on it raises at once; the
 * ring then closes over the gap. A killed player needs none of this: its
 * connections close, which every player sees by itself. */

/* The ring neighbours of this player among the peers whose links are up
 * (-1 if there are none). */
static void ring_locked(const cc_net *n, int *pred, int *succ) {
  int w = n->cfg.world_size, me = n->cfg.rank;
  CC_NET_ASSERT_LOCKED(n);
  *pred = *succ = -1;
  for (int i = 1; i < w && *succ < 0; i++)
    if (n->links[(me + i) % w].state == CC_LINK_UP) *succ = (me + i) % w;
  for (int i = 1; i < w && *pred < 0; i++)
    if (n->links[(me - i + w) % w].state == CC_LINK_UP) *pred = (me - i + w) % w;
}

/* Claim a connection for the I/O thread if no other thread has it; one
 * that comes after the claim waits for us (one step at most), never we. */
static bool claim(cc_conn *c) {
  int idle = 0;
  return atomic_compare_exchange_strong(&c->busy, &idle, 1);
}

static void release(cc_conn *c) { atomic_fetch_sub(&c->busy, 1); }

/* Say that `peer` is failed on every other live link (DOWN). */
static void notify_down(cc_net *n, int peer, const char *why) {
  size_t len = strlen(why);
  cc_payload *p;
  if (len > CC_FAILURE_NOTICE_BYTES) len = CC_FAILURE_NOTICE_BYTES;
  p = cc_payload_new(4 + len);
  if (!p) return;
  for (int i = 0; i < 4; i++) p->data[i] = (uint8_t)((uint32_t)peer >> (8 * i));
  memcpy(p->data + 4, why, len);
  for (int i = 0; i < n->cfg.world_size; i++)
    if (i != n->cfg.rank && i != peer) cc_net_send(n, i, CC_FRAME_DOWN, 0, 0, p);
  cc_payload_unref(p);
}

/* This player found `peer` silent past the timeout: tell it, so that if it
 * was only frozen it learns on waking that it has been left out rather
 * than taking everyone else for dead; fail the link; and tell everyone.
 * The I/O thread, holding the claim on c. */
static void declare_silent(cc_net *n, int peer, cc_conn *c) {
  char why[96];
  snprintf(why, sizeof why, "silent for %gs (heartbeat timeout)", n->cfg.heartbeat_timeout_s);
  write_frame(c, CC_FRAME_SUSPECT, n->cfg.rank, 0, 0, NULL);
  /* The others first: once the link fails here, this player's script may
   * raise, finish and say goodbye, and the notices must not come after. */
  notify_down(n, peer, why);
  cc_net_lock(n);
  n->links[peer].silent = true;
  cc_net_unlock(n);
  link_fail(n, peer, why);
  cc_net_log(n, CC_LOG_WARNING, "player %d: player %d was %s", n->cfg.rank, peer, why);
}

/* A DOWN notice on c: its sender declared a third player failed for
 * silence. The link to that player fails here too, at once, and the I/O
 * thread tells it and closes the connection (that takes the connection's
 * lock, which a reader holding c's must not wait for). A notice naming
 * this player is its sender's SUSPECT. */
static void on_down_connlocked(cc_conn *c, uint32_t len) {
  cc_net *n = c->net;
  char why[CC_FAILURE_NOTICE_BYTES + 1];
  uint8_t b[4];
  size_t wlen;
  uint64_t down;
  bool failed = false;
  CC_CONN_ASSERT_LOCKED(c);
  if (len < 4) { evbuffer_drain(c->in, len); return; }
  evbuffer_remove(c->in, b, 4);
  len -= 4;
  wlen = len < CC_FAILURE_NOTICE_BYTES ? len : CC_FAILURE_NOTICE_BYTES;
  evbuffer_remove(c->in, why, wlen);
  evbuffer_drain(c->in, len - wlen);
  why[wlen] = '\0';
  for (size_t i = 0; i < wlen; i++)   /* one printable line, whatever it sent */
    if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f) why[i] = '?';
  down = get_le(b, 4);
  if (down >= (uint64_t)n->cfg.world_size || (int)down == c->peer) return;
  cc_net_lock(n);
  if ((int)down == n->cfg.rank) {
    n->links[c->peer].suspected_me = true;
  } else if (n->links[down].state == CC_LINK_UP) {
    cc_link *l = &n->links[down];
    l->state = CC_LINK_FAILED;
    set_reason_locked(n, l, wlen ? why : "silent (heartbeat timeout)");
    l->silent = true;
    l->teardown = true;
    atomic_fetch_add(&n->teardowns, 1);
    failed = true;
    cc_net_wake_locked(n);
  }
  cc_net_unlock(n);
  if (failed) event_active(n->teardown_ev, EV_READ, 0);
}

/* Tell each player failed by a DOWN notice (SUSPECT) and close its
 * connection. A connection another thread holds waits for the next sweep.
 * The I/O thread. */
static void finish_teardowns(cc_net *n) {
  if (atomic_load(&n->teardowns) == 0) return;
  for (int peer = 0; peer < n->cfg.world_size; peer++) {
    cc_link *l = &n->links[peer];
    cc_conn *c = NULL;
    cc_net_lock(n);
    if (l->teardown) c = l->conn;
    cc_net_unlock(n);
    if (!c || !claim(c)) continue;
    cc_net_lock(n);
    l->teardown = false;
    cc_net_unlock(n);
    atomic_fetch_sub(&n->teardowns, 1);
    if (!atomic_load(&c->dead)) {
      write_frame(c, CC_FRAME_SUSPECT, n->cfg.rank, 0, 0, NULL);
      conn_kill(c);
      shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    }
    release(c);
  }
}

static void teardown_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd; (void)what;
  finish_teardowns(arg);
}

/* Judge the link to peer, if `since` > 0: fail it if nothing came from it
 * since `since` for longer than the timeout (its last bytes count, and no
 * silence counts from before judge_from). Otherwise send it a frame of
 * `type` (a heartbeat), or nothing if type < 0. A connection
 * another thread holds is neither judged nor written here: what the peer
 * sent may be waiting unread behind that thread's write, and the thread
 * sends the heartbeat owed. The I/O thread. */
static void tend(cc_net *n, int peer, double now, double since, int type) {
  cc_link *l = &n->links[peer];
  cc_conn *c;
  cc_net_lock(n);
  c = l->state == CC_LINK_UP ? l->conn : NULL;
  cc_net_unlock(n);
  if (!c) return;
  if (!claim(c)) {
    if (type >= 0) atomic_store_explicit(&c->heartbeat_due, true, memory_order_relaxed);
    return;
  }
  if (since > 0) {
    double last = atomic_load_explicit(&c->last_recv, memory_order_relaxed);
    if (last < since) last = since;
    if (last < n->judge_from) last = n->judge_from;
    if (now - last > n->cfg.heartbeat_timeout_s) {
      declare_silent(n, peer, c);
      type = -1;
    }
  }
  if (type >= 0) write_frame(c, type, n->cfg.rank, 0, 0, NULL);
  release(c);
}

/* When the next heartbeat falls due: the next multiple of the interval on
 * the monotonic clock, half an interval away at least. Every player of a
 * host has the same clock, so their I/O threads wake at the same moments
 * (within the timer slack), one after the other on warm caches, rather
 * than each at its own moment; a player still heartbeats once an
 * interval. */
static void heartbeat_next(cc_net *n) {
  double interval = n->cfg.heartbeat_interval_s, now = cc_now();
  double wait = interval - (now - (double)(long long)(now / interval) * interval);
  struct timeval tv;
  if (wait < interval / 2) wait += interval;
  tv = to_timeval(wait);
  event_add(n->heartbeat_ev, &tv);
}

/* Every interval: read the links that have something (one epoll_wait for
 * all, so that a closed connection is seen at once and frames are taken in
 * while no thread waits for a message), judge the predecessor and
 * heartbeat the successor. The sweep never waits for a connection's lock
 * (see tend). */
static void heartbeat_cb(evutil_socket_t fd, short what, void *arg) {
  cc_net *n = arg;
  const cc_settings *s = &n->cfg;
  double now = cc_now(), half = s->heartbeat_interval_s / 2;
  int k, pred, succ;
  bool owed, lost, up;
  (void)fd; (void)what;
  /* If this player itself was stopped (SIGSTOP), everyone looks silent:
   * judge no one until their frames, sent meanwhile, have been read. */
  if (now - n->last_heartbeat > s->heartbeat_timeout_s / 2) n->judge_from = now;
  n->last_heartbeat = now;
  finish_teardowns(n);
  cc_net_lock(n);
  ring_locked(n, &pred, &succ);
  lost = n->ring_pred >= 0 && n->links[n->ring_pred].state != CC_LINK_UP;
  up = n->accepting_done;
  for (int peer = 0; n->links_swept < s->world_size - 1 && peer < s->world_size; peer++) {
    cc_link *l = &n->links[peer];
    cc_conn *c = l->state == CC_LINK_UP ? l->conn : NULL;
    struct epoll_event e = {.events = EPOLLIN};
    if (l->swept || !c || !c->direct) continue;
    e.data.ptr = c;
    if (epoll_ctl(n->sweep_fd, EPOLL_CTL_ADD, c->fd, &e) == 0 || errno == EEXIST) {
      l->swept = true;
      n->links_swept++;
    }
  }
  cc_net_unlock(n);
  if (up && !n->slack_set) {
    double slack = s->heartbeat_interval_s * HEARTBEAT_SLACK;
    if (slack > HEARTBEAT_SLACK_MAX_S) slack = HEARTBEAT_SLACK_MAX_S;
    prctl(PR_SET_TIMERSLACK, (unsigned long)(slack * 1e9), 0, 0, 0);
    n->slack_set = true;
  }
  k = epoll_wait(n->sweep_fd, n->sweep_evs, s->world_size, 0);
  for (int i = 0; i < k; i++) {
    cc_conn *c = n->sweep_evs[i].data.ptr;
    if (atomic_load_explicit(&c->dead, memory_order_relaxed)) {
      /* Nothing more to read: out of the set, or it would be ready forever. */
      epoll_ctl(n->sweep_fd, EPOLL_CTL_DEL, c->fd, NULL);
      continue;
    }
    if (!claim(c)) continue;
    cc_conn_lock(c);
    conn_read_connlocked(c);
    cc_conn_unlock(c);
    release(c);
  }
  if (pred != n->ring_pred) {
    /* A predecessor that takes over from a lost one sends us heartbeats
     * only once it has heard of the loss (the DOWN notice, a closed link, a
     * goodbye): it gets a timeout for that on top of the usual one. (One
     * that comes between as the links come up heartbeats us already.) */
    n->ring_pred = pred;
    n->pred_since = lost ? now + s->heartbeat_timeout_s : now;
  }
  /* Any frame sent in the last half interval stands for the heartbeat. */
  owed = succ >= 0 && now - atomic_load(&n->links[succ].last_sent) >= half;
  if (pred >= 0) tend(n, pred, now, n->pred_since, pred == succ && owed ? CC_FRAME_HEARTBEAT : -1);
  if (succ >= 0 && succ != pred && owed) tend(n, succ, now, 0, CC_FRAME_HEARTBEAT);
  heartbeat_next(n);
}

/* ==== Lifecycle ============================================================ */

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
  cc_net *n = arg;
  (void)fd; (void)what;
  event_base_loopbreak(n->base);
}

static void *io_main(void *arg) {
  cc_net *n = arg;
  event_base_loop(n->base, EVLOOP_NO_EXIT_ON_EMPTY);
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

static cc_net *net_alloc(const cc_settings *s, const cc_net_events *ev) {
  cc_net *n = calloc(1, sizeof *n);
  pthread_condattr_t ca;
  if (!n) return NULL;
  n->wake_fd = -1;
  n->sweep_fd = -1;
  n->wait_fd = -1;
  n->cfg = *s;
  if (ev) n->ev = *ev;
  {
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof n->cfg.link_key; i++) any |= n->cfg.link_key[i];
    if (!any) cc_auth_link_key(s->token, n->cfg.link_key);
  }
  n->cfg.peer_hosts = NULL;
  n->cfg.tls_identity = NULL;   /* read once, at open */
  n->cfg.tls_trusted = NULL;
  n->cfg.peer_ports = NULL;
  /* One transport for every link of the player, chosen here alone. */
  n->transport = s->tls_identity || s->tls_trusted ? &cc_transport_tls : &cc_transport_plain;
  n->log_tail = &n->log_head;
  n->ring_pred = -1;
  atomic_init(&n->teardowns, 0);
  atomic_init(&n->waiter_polling, false);
  n->links = calloc((size_t)s->world_size, sizeof *n->links);
  n->hosts = calloc((size_t)s->world_size, sizeof *n->hosts);
  n->ports = calloc((size_t)s->world_size, sizeof *n->ports);
  n->wait_evs = calloc((size_t)s->world_size + 1, sizeof *n->wait_evs);
  n->wait_conns = calloc((size_t)s->world_size, sizeof *n->wait_conns);
  n->waited = calloc((size_t)s->world_size, sizeof *n->waited);
  n->wait_fd = epoll_create1(EPOLL_CLOEXEC);
  n->sweep_evs = calloc((size_t)s->world_size, sizeof *n->sweep_evs);
  n->sweep_fd = epoll_create1(EPOLL_CLOEXEC);
  n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!n->links || !n->hosts || !n->ports || !n->wait_evs || !n->wait_conns || !n->waited ||
      !n->sweep_evs || n->sweep_fd < 0 || n->wake_fd < 0 || n->wait_fd < 0)
    goto nomem;
  {
    struct epoll_event wake;
    memset(&wake, 0, sizeof wake);
    wake.events = EPOLLIN;
    wake.data.u32 = (uint32_t)s->world_size;   /* the wake-up, after every rank */
    if (epoll_ctl(n->wait_fd, EPOLL_CTL_ADD, n->wake_fd, &wake) != 0) goto nomem;
  }
  for (int i = 0; i < s->world_size; i++) {
    atomic_init(&n->links[i].last_sent, 0.0);
    snprintf(n->links[i].reason, sizeof n->links[i].reason, "it never connected");
    if (s->peer_hosts && s->peer_hosts[i]) {
      n->hosts[i] = strdup(s->peer_hosts[i]);
      if (!n->hosts[i]) goto nomem;
    }
    if (s->peer_ports) n->ports[i] = s->peer_ports[i];
  }
  pthread_mutex_init(&n->lock, NULL);
  pthread_mutex_init(&n->log_lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cond, &ca);
  pthread_condattr_destroy(&ca);
  return n;
nomem:
  if (n->wake_fd >= 0) close(n->wake_fd);
  if (n->wait_fd >= 0) close(n->wait_fd);
  free(n->wait_evs);
  free(n->wait_conns);
  free(n->waited);
  free(n->sweep_evs);
  if (n->sweep_fd >= 0) close(n->sweep_fd);
  if (n->hosts)
    for (int i = 0; i < s->world_size; i++) free(n->hosts[i]);
  free(n->hosts);
  free(n->ports);
  free(n->links);
  free(n);
  return NULL;
}

void cc_net_free(cc_net *n) {
  cc_conn *c, *next;
  if (!n) return;
  if (n->thread_started) {
    /* An event rather than event_base_loopbreak(): a break requested before
     * the loop has started would be forgotten when it starts. */
    event_active(n->stop_ev, EV_READ, 0);
    pthread_join(n->thread, NULL);
  }
  /* The I/O thread has ended: this thread alone passes on the rest. */
  if (n->cfg.log) deliver_logs(n);
  for (c = n->conns; c; c = next) {
    next = c->next;
    if (c->read_ev) event_free(c->read_ev);
    bufferevent_free(c->bev);
    evbuffer_free(c->in);
    if (c->partial) cc_payload_unref(c->partial);
    free(c);
  }
  if (n->listener) evconnlistener_free(n->listener);
  if (n->heartbeat_ev) event_free(n->heartbeat_ev);
  if (n->retry_ev) event_free(n->retry_ev);
  if (n->stop_ev) event_free(n->stop_ev);
  if (n->defer_ev) event_free(n->defer_ev);
  if (n->log_ev) event_free(n->log_ev);
  if (n->stranger_ev) event_free(n->stranger_ev);
  if (n->accept_ev) event_free(n->accept_ev);
  if (n->teardown_ev) event_free(n->teardown_ev);
  if (n->base) event_base_free(n->base);
  n->transport->close(n->transport_state);
  for (int i = 0; i < n->cfg.world_size; i++) free(n->hosts[i]);
  free(n->hosts);
  free(n->ports);
  free(n->links);
  free(n->wait_evs);
  free(n->wait_conns);
  free(n->waited);
  free(n->sweep_evs);
  close(n->sweep_fd);
  close(n->wake_fd);
  close(n->wait_fd);
  pthread_mutex_destroy(&n->lock);
  pthread_mutex_destroy(&n->log_lock);
  pthread_cond_destroy(&n->cond);
  free(n);
}

cc_status cc_net_open(const cc_settings *s, const cc_net_events *ev, cc_net **out,
                      cc_error *err) {
  cc_net *n;
  char why[256];
  *out = NULL;
  cc_status st;
  if ((st = cc_check_world_size(s->world_size, err)) != CC_OK ||
      (st = cc_check_player_rank(s->rank, s->world_size, err)) != CC_OK ||
      (st = cc_check_heartbeat(s->heartbeat_interval_s, s->heartbeat_timeout_s, err)) != CC_OK)
    return st;
  if (s->world_size > 1 && (s->listen_fd < 0 || !s->peer_ports || !s->peer_hosts))
    return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE,
                        "a world of %d players needs a listening socket and peer addresses",
                        s->world_size);
  pthread_once(&threads_once, use_threads);
  n = net_alloc(s, ev);
  if (!n) {
    if (s->listen_fd >= 0) close(s->listen_fd);
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_NONE, "out of memory starting player %d",
                        s->rank);
  }
  if (n->transport->open(s, &n->transport_state, why, sizeof why) != 0) {
    cc_status code = n->transport->refusal;
    if (s->listen_fd >= 0) close(s->listen_fd);
    cc_net_free(n);
    return cc_error_set(err, code, -1, CC_TAG_NONE, "player %d: %s", s->rank, why);
  }
  n->base = event_base_new();
  if (n->base) {
    n->retry_ev = evtimer_new(n->base, retry_cb, n);
    n->heartbeat_ev = evtimer_new(n->base, heartbeat_cb, n);
    n->stop_ev = event_new(n->base, -1, 0, stop_cb, n);
    n->defer_ev = event_new(n->base, -1, 0, defer_cb, n);
    n->log_ev = event_new(n->base, -1, 0, log_cb, n);
    n->stranger_ev = event_new(n->base, -1, EV_PERSIST, stranger_cb, n);
    n->accept_ev = evtimer_new(n->base, accept_again_cb, n);
    n->teardown_ev = event_new(n->base, -1, 0, teardown_cb, n);
  }
  if (n->base && s->listen_fd >= 0) {
    evutil_make_socket_nonblocking(s->listen_fd);
    n->listener = evconnlistener_new(n->base, accept_cb, n,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_THREADSAFE, 0,
                                     s->listen_fd);
    if (n->listener) evconnlistener_set_error_cb(n->listener, accept_error_cb);
  }
  if (!n->base || !n->retry_ev || !n->heartbeat_ev || !n->stop_ev || !n->defer_ev ||
      !n->log_ev || !n->stranger_ev || !n->accept_ev || !n->teardown_ev || (s->listen_fd >= 0 && !n->listener)) {
    if (!n->listener && s->listen_fd >= 0) close(s->listen_fd);
    cc_net_free(n);
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE,
                        "cannot set up the event loop of player %d", s->rank);
  }
  *out = n;
  return CC_OK;
}

cc_status cc_net_start(cc_net *n, cc_error *err) {
  const cc_settings *s = &n->cfg;
  double deadline;
  cc_status st = CC_OK;

  dial_missing(n);
  n->last_heartbeat = cc_now();
  heartbeat_next(n);
  if (pthread_create(&n->thread, NULL, io_main, n) != 0)
    return cc_error_set(err, CC_EIO, -1, CC_TAG_NONE,
                        "cannot start the I/O thread of player %d", s->rank);
  n->thread_started = true;

  deadline = cc_now() + s->startup_timeout_s;
  cc_net_lock(n);
  while (n->links_up < s->world_size - 1 && n->fatal == CC_OK && cc_now() < deadline)
    wait_until_locked(n, deadline);
  if (n->fatal != CC_OK) {
    st = cc_error_set(err, n->fatal, -1, CC_TAG_NONE, "%s", n->fatal_message);
  } else if (n->links_up < s->world_size - 1) {
    char missing[128] = "";
    size_t used = 0;
    for (int i = 0; i < s->world_size && used + 12 < sizeof missing; i++)
      if (i != s->rank && n->links[i].state != CC_LINK_UP)
        used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%d",
                                 used ? ", " : "", i);
    st = cc_error_set(err, CC_ESTARTUP_TIMEOUT, -1, CC_TAG_NONE,
                      "player %d: players %s did not connect within the startup timeout of %gs",
                      s->rank, missing, s->startup_timeout_s);
  }
  cc_net_unlock(n);
  if (st != CC_OK) return st;
  /* Recovery needs no new connections: from now on the listener closes
   * what it accepts at once (it stays open for joining players to come,
   * see docs/fault-tolerance.md, Healing), so nothing sits in its backlog. */
  cc_net_lock(n);
  n->accepting_done = true;
  cc_net_unlock(n);
  return CC_OK;
}

void cc_net_goodbye(cc_net *n) {
  double deadline;
  bool waiting;
  for (int peer = 0; peer < n->cfg.world_size; peer++)
    if (peer != n->cfg.rank) cc_net_send(n, peer, CC_FRAME_BYE, 0, 0, NULL);
  /* Wait for each peer to close its side, so that closing ours cannot reset
   * a connection with data the peer has not read yet. */
  deadline = cc_now() + (n->cfg.heartbeat_timeout_s > BYE_WAIT_MIN_S
                             ? n->cfg.heartbeat_timeout_s : BYE_WAIT_MIN_S);
  cc_net_lock(n);
  do {
    waiting = false;
    for (int peer = 0; peer < n->cfg.world_size; peer++)
      if (peer != n->cfg.rank && link_readable_locked(n, peer)) waiting = true;
    if (waiting) cc_net_wait_locked(n, deadline);
  } while (waiting && cc_now() < deadline);
  cc_net_unlock(n);
}

int cc_net_rank(const cc_net *n) { return n->cfg.rank; }
int cc_net_world_size(const cc_net *n) { return n->cfg.world_size; }

/* ==== Link state for the layer above ======================================= */

const char *cc_net_peer_down_locked(const cc_net *n, int peer) {
  const cc_link *l = &n->links[peer];
  CC_NET_ASSERT_LOCKED(n);
  return l->state == CC_LINK_UP ? NULL : l->reason;
}

bool cc_net_peer_failed_locked(const cc_net *n, int peer) {
  CC_NET_ASSERT_LOCKED(n);
  return n->links[peer].state == CC_LINK_FAILED;
}

bool cc_net_peer_silent_locked(const cc_net *n, int peer) {
  CC_NET_ASSERT_LOCKED(n);
  return n->links[peer].silent;
}

bool cc_net_peer_suspects_me_locked(const cc_net *n, int peer) {
  CC_NET_ASSERT_LOCKED(n);
  return n->links[peer].suspected_me;
}
