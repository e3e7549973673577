/*
 * collective.c - allgather, barrier and broadcast for large communicators,
 * in ceil(log2 n) rounds of relayed messages rather than n - 1 direct ones:
 * on a few cores, every message is a wake-up and a trip through the
 * kernel, and a 64-player allgather of n(n - 1) messages spends its time
 * there.
 *
 * - allgather: Bruck's algorithm. In the round of distance d = 1, 2, 4, ...
 *   member r sends the blocks it holds for ranks r, r-1, ..., r-m+1
 *   (m = min(d, n - d)) to r + d and gets those of r-d, r-d-1, ... from
 *   r - d (all mod n).
 * - barrier: the same rounds with empty blocks (the dissemination barrier).
 * - broadcast: a binomial tree rooted at the source.
 *
 * A round's message is a header: a count, then per block its length and
 * bytes, or a mark saying the block follows as a message of its own (big
 * blocks travel as they are, without a copy).
 *
 * Failures keep the meaning of the direct forms (comm.c). A member that
 * raises partway tells every member still waiting on it, instead of its
 * data, which error it raised (an abort message), so that they raise the
 * same error, naming the player that failed and not the one that relayed.
 * A member holds send_lock across the whole call (cc_engine_hold_sends):
 * a REVOKE from it therefore comes after everything it sends in the call,
 * and a receiver that has its REVOKE and no message knows none will come.
 * Only the start looks at the revoked flag (the source's, for a
 * broadcast), as in the direct forms: a member that has started relays to
 * the end, so a revoke never leaves the call complete at some members and
 * not at others.
 */
#include <stdlib.h>
#include <string.h>

#include "comm/comm_internal.h"

/* Communicators at least this big use the relayed forms (see
 * docs/benchmark.md: below it, the direct forms' single round wins). */
#ifndef RELAY_MIN_SIZE
#define RELAY_MIN_SIZE 8
#endif
/* Blocks this big travel as messages of their own. */
#define RAW_MIN_BYTES ((size_t)64 << 10)
#define RAW_BLOCK 0x80000000u   /* a block's length word: it follows raw */
#define ABORT_MARK 0xffffffffu  /* a header's count: the sender raised */

bool cc_collective_relayed(const cc_comm *c) { return c->size >= RELAY_MIN_SIZE; }

static void put_u32(uint8_t *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* ==== Sending (send_lock held) =========================================== */

/* To comm rank dst, unless its link is down: the sending half of a
 * collective never fails (see send_one in comm.c). */
static void relay_send(cc_comm *c, int dst, int32_t tag, cc_payload *p) {
  if (cc_net_send(c->eng->net, c->members[dst], CC_FRAME_DATA, c->context, tag, p))
    cc_comm_count(c, dst, tag, p->len, true);
}

static bool is_raw(const cc_payload *p) { return p->len >= RAW_MIN_BYTES; }

/* Send blocks blk[0..m) to dst: one header, then the raw ones. */
static cc_status send_blocks(cc_comm *c, int dst, int32_t tag, cc_payload *const *blk, int m,
                             cc_error *e) {
  size_t len = 4, off = 4;
  cc_payload *h;
  for (int j = 0; j < m; j++) len += 4 + (is_raw(blk[j]) ? 0 : blk[j]->len);
  h = cc_payload_new(len);
  if (!h) return cc_error_set(e, CC_ENOMEM, -1, tag, "out of memory");
  put_u32(h->data, (uint32_t)m);
  for (int j = 0; j < m; j++) {
    if (is_raw(blk[j])) {
      put_u32(h->data + off, RAW_BLOCK);
      off += 4;
      continue;
    }
    put_u32(h->data + off, (uint32_t)blk[j]->len);
    memcpy(h->data + off + 4, blk[j]->data, blk[j]->len);
    off += 4 + blk[j]->len;
  }
  relay_send(c, dst, tag, h);
  cc_payload_unref(h);
  for (int j = 0; j < m; j++)
    if (is_raw(blk[j])) relay_send(c, dst, tag, blk[j]);
  return CC_OK;
}

/* Tell dst, which waits on this member, the error this member raised. */
static void send_abort(cc_comm *c, int dst, int32_t tag, const cc_error *e) {
  size_t len = strlen(e->message);
  cc_payload *p = cc_payload_new(12 + len);
  if (!p) return;   /* dst then waits for its timeout, or for this player's exit */
  put_u32(p->data, ABORT_MARK);
  put_u32(p->data + 4, (uint32_t)e->code);
  put_u32(p->data + 8, (uint32_t)(e->peer + 1));
  memcpy(p->data + 12, e->message, len);
  relay_send(c, dst, tag, p);
  cc_payload_unref(p);
}

/* ==== Receiving ============================================================ */

/* The next message with `tag` from comm rank src. Raises as a direct
 * collective waiting on src would (see check_stuck_locked in comm.c). */
static cc_status relay_recv(cc_comm *c, int src, int32_t tag, double deadline,
                            cc_payload **out, cc_error *e) {
  cc_net *net = c->eng->net;
  char tb[16];
  cc_status st = CC_OK;
  *out = NULL;
  cc_net_lock(net);
  for (;;) {
    cc_msg *m = cc_comm_take_locked(c, src, tag);
    if (m) {
      *out = m->payload;
      cc_comm_count(c, src, tag, m->payload->len, false);
      free(m);
      break;
    }
    if (cc_now() < deadline) {
      const char *down = cc_comm_peer_down_locked(c, src);
      if (c->revoked && (c->revoke_seen[src] || down)) {
        st = cc_comm_err_revoked(c, e, src, tag);
        break;
      }
      if (down) {
        st = cc_error_set(e, CC_EPEER_FAILED, src, tag, "Tag %s from player %d failed: %s",
                          cc_tag_name(tag, tb, sizeof tb), src, down);
        break;
      }
    } else {
      st = cc_error_set(e, CC_ETIMEOUT, src, tag, "Tag %s from player %d timed-out after %gs",
                        cc_tag_name(tag, tb, sizeof tb), src, c->timeout_s);
      break;
    }
    cc_net_wait_locked(net, deadline);
  }
  cc_net_unlock(net);
  return st;
}

static cc_status malformed(const cc_comm *c, int src, int32_t tag, cc_error *e) {
  char tb[16];
  return cc_error_set(e, CC_EPEER_FAILED, src, tag,
                      "Tag %s from player %d failed: it sent a malformed relayed message",
                      cc_tag_name(tag, tb, sizeof tb), src);
}

/* An abort message from src: raise what it raised. */
static cc_status aborted(const cc_comm *c, int src, int32_t tag, const cc_payload *p,
                         cc_error *e) {
  char text[sizeof e->message];
  size_t len;
  uint32_t code, peer;
  if (p->len < 12) return malformed(c, src, tag, e);
  code = get_u32(p->data + 4);
  peer = get_u32(p->data + 8);
  len = p->len - 12 < sizeof text - 1 ? p->len - 12 : sizeof text - 1;
  memcpy(text, p->data + 12, len);
  text[len] = '\0';
  for (size_t i = 0; i < len; i++)   /* one printable line, whatever it sent */
    if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) text[i] = '?';
  if (code != CC_ETIMEOUT && code != CC_EPEER_FAILED && code != CC_EREVOKED &&
      code != CC_ENOMEM)
    code = CC_EPEER_FAILED;
  if (peer > (uint32_t)c->size) peer = 0;
  return cc_error_set(e, (cc_status)code, (int)peer - 1, tag, "%s", text);
}

/* Receive m blocks from src into blk[0..m) (set even on failure: the
 * caller frees what is there). */
static cc_status recv_blocks(cc_comm *c, int src, int32_t tag, double deadline, cc_payload **blk,
                             int m, cc_error *e) {
  cc_payload *h;
  size_t off = 4;
  bool raw_any = false;
  cc_status st = relay_recv(c, src, tag, deadline, &h, e);
  if (st != CC_OK) return st;
  if (h->len >= 4 && get_u32(h->data) == ABORT_MARK) {
    st = aborted(c, src, tag, h, e);
    cc_payload_unref(h);
    return st;
  }
  if (h->len < 4 || get_u32(h->data) != (uint32_t)m) st = malformed(c, src, tag, e);
  for (int j = 0; st == CC_OK && j < m; j++) {
    uint32_t w;
    if (h->len - off < 4) { st = malformed(c, src, tag, e); break; }
    w = get_u32(h->data + off);
    off += 4;
    if (w == RAW_BLOCK) { raw_any = true; continue; }
    if (w > h->len - off) { st = malformed(c, src, tag, e); break; }
    blk[j] = cc_payload_new(w);
    if (!blk[j]) { st = cc_error_set(e, CC_ENOMEM, src, tag, "out of memory"); break; }
    memcpy(blk[j]->data, h->data + off, w);
    off += w;
  }
  if (st == CC_OK && off != h->len) st = malformed(c, src, tag, e);
  cc_payload_unref(h);
  for (int j = 0; st == CC_OK && raw_any && j < m; j++)
    if (!blk[j]) st = relay_recv(c, src, tag, deadline, &blk[j], e);
  return st;
}

/* ==== The collectives ====================================================== */

/* Take send_lock for the whole call; a member that must look at the
 * revoked flag does so once, here. */
static cc_status start(cc_comm *c, bool check_revoked, int32_t tag, cc_error *e) {
  bool revoked;
  cc_engine_hold_sends(c->eng);
  if (!check_revoked) return CC_OK;
  cc_net_lock(c->eng->net);
  revoked = c->revoked;
  cc_net_unlock(c->eng->net);
  if (!revoked) return CC_OK;
  cc_engine_release_sends(c->eng);
  return cc_comm_err_revoked(c, e, -1, tag);
}

static cc_status finish(cc_status st, const cc_error *e, cc_error *err) {
  if (st != CC_OK && err) *err = *e;
  return st;
}

/* Bruck's allgather of `mine` into all[0..n), by comm rank. */
static cc_status bruck(cc_comm *c, cc_payload *mine, cc_payload **all, int32_t tag,
                       cc_error *err) {
  int n = c->size, r = c->rank, have = 1;
  double deadline = cc_now() + c->timeout_s;
  cc_payload **blk;   /* blk[j]: the block of rank r - j (mod n) */
  cc_error e = {0};
  cc_status st;
  blk = calloc((size_t)n, sizeof *blk);
  if (!blk) return cc_error_set(err, CC_ENOMEM, -1, tag, "out of memory");
  blk[0] = cc_payload_ref(mine);
  st = start(c, true, tag, &e);
  if (st != CC_OK) {
    cc_payloads_free(blk, n);
    free(blk);
    return finish(st, &e, err);
  }
  for (int d = 1; d < n; d *= 2) {
    int m = d < n - d ? d : n - d;
    /* Every member waiting on this one gets its blocks or its error. */
    if (st == CC_OK) st = send_blocks(c, (r + d) % n, tag, blk, m, &e);
    if (st != CC_OK) {
      send_abort(c, (r + d) % n, tag, &e);
      continue;
    }
    st = recv_blocks(c, (r - d + n) % n, tag, deadline, blk + have, m, &e);
    if (st == CC_OK) have += m;
  }
  cc_engine_release_sends(c->eng);
  if (st == CC_OK) {
    for (int j = 0; j < n; j++) all[(r - j + n) % n] = blk[j];
  } else {
    cc_payloads_free(blk, n);
  }
  free(blk);
  return finish(st, &e, err);
}

cc_status cc_collective_allgather(cc_comm *c, cc_payload *mine, cc_payload **all, cc_error *err) {
  memset(all, 0, (size_t)c->size * sizeof *all);
  return bruck(c, mine, all, CC_TAG_ALLGATHER, err);
}

cc_status cc_collective_barrier(cc_comm *c, cc_error *err) {
  cc_payload *empty = cc_payload_new(0), **all;
  cc_status st;
  if (!empty) return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BARRIER, "out of memory");
  all = calloc((size_t)c->size, sizeof *all);
  if (!all) {
    cc_payload_unref(empty);
    return cc_error_set(err, CC_ENOMEM, -1, CC_TAG_BARRIER, "out of memory");
  }
  st = bruck(c, empty, all, CC_TAG_BARRIER, err);
  cc_payloads_free(all, c->size);
  free(all);
  cc_payload_unref(empty);
  return st;
}

/* A binomial tree rooted at src: the member at distance v = rank - src
 * (mod n) gets the value from v minus its lowest set bit, then passes it
 * to v + 2^k for each 2^k below that bit. */
cc_status cc_collective_broadcast(cc_comm *c, int src, cc_payload *value, cc_payload **out,
                                  cc_error *err) {
  const int32_t tag = CC_TAG_BROADCAST;
  int n = c->size, v = (c->rank - src + n) % n, mask = 1;
  double deadline = cc_now() + c->timeout_s;
  cc_payload *got = NULL;
  cc_error e = {0};
  cc_status st = start(c, v == 0, tag, &e);
  *out = NULL;
  if (st != CC_OK) return finish(st, &e, err);
  if (v == 0) got = cc_payload_ref(value);
  while (v != 0 && mask < n && !(v & mask)) mask <<= 1;
  if (v != 0) st = recv_blocks(c, (src + v - mask) % n, tag, deadline, &got, 1, &e);
  if (v == 0) while (mask < n) mask <<= 1;
  for (mask >>= 1; mask > 0; mask >>= 1) {
    int child = v + mask;
    if (child >= n) continue;
    if (st == CC_OK) st = send_blocks(c, (src + child) % n, tag, &got, 1, &e);
    if (st != CC_OK) send_abort(c, (src + child) % n, tag, &e);
  }
  cc_engine_release_sends(c->eng);
  if (st != CC_OK) {
    if (got) cc_payload_unref(got);
    return finish(st, &e, err);
  }
  *out = got;
  return CC_OK;
}
