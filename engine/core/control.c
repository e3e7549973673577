/*
 * control.c - pack and parse the handshake and control messages (formats in
 * control.h): the link HELLO, the rendezvous lines and the agreement's
 * messages.
 *
 * The parsers trust nothing: every read is bounded by the length they were
 * given, every number is range-checked before it is used, text must be
 * exactly in the one form the pack functions write, and names are copied
 * only after their declared length has been checked against the bytes that
 * remain.
 */
#include "core/control.h"
#include "core/check.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errsz, const char *fmt, ...) {
  va_list ap;
  if (err != NULL && errsz > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* ==== Link HELLO ========================================================= */

void cc_hello_pack(const cc_hello *h, uint8_t out[CC_HELLO_BYTES]) {
  put_le(out, CC_HELLO_MAGIC, 4);
  out[4] = h->step;
  put_le(out + 5, h->world_size, 4);
  put_le(out + 9, h->rank, 4);
  memcpy(out + 13, h->nonce, CC_HELLO_NONCE_BYTES);
  memcpy(out + 13 + CC_HELLO_NONCE_BYTES, h->mac, CC_HELLO_MAC_BYTES);
}

static bool all_zero(const uint8_t *b, size_t n) {
  uint8_t any = 0;
  for (size_t i = 0; i < n; i++)
    any |= b[i];
  return any == 0;
}

int cc_hello_parse(const uint8_t *in, size_t len, cc_hello *h, char *err, size_t errsz) {
  uint8_t b[CC_HELLO_BYTES] = {0};
  uint32_t magic;
  if (len > 0)
    memcpy(b, in, len < sizeof b ? len : sizeof b);
  magic = (uint32_t)get_le(b, 4);
  h->step = b[4];
  h->world_size = (uint32_t)get_le(b + 5, 4);
  h->rank = (uint32_t)get_le(b + 9, 4);
  memcpy(h->nonce, b + 13, CC_HELLO_NONCE_BYTES);
  memcpy(h->mac, b + 13 + CC_HELLO_NONCE_BYTES, CC_HELLO_MAC_BYTES);
  if (len != CC_HELLO_BYTES)
    return fail(err, errsz, "HELLO of %zu bytes, expected %d", len, CC_HELLO_BYTES);
  if (magic != CC_HELLO_MAGIC)
    return fail(err, errsz, "HELLO has the magic 0x%08" PRIx32 ", expected 0x%08" PRIx32,
                magic, (uint32_t)CC_HELLO_MAGIC);
  if (h->step < CC_HELLO_DIAL || h->step > CC_HELLO_CONFIRM)
    return fail(err, errsz, "HELLO has the step %u, expected 1 to 3", (unsigned)h->step);
  if (h->world_size < 1 || h->world_size > INT32_MAX)
    return fail(err, errsz, "HELLO names a world of %" PRIu32 " players, outside [1, %d]",
                h->world_size, INT32_MAX);
  if (h->rank >= h->world_size)
    return fail(err, errsz, "HELLO names player %" PRIu32 ", outside a world of %" PRIu32,
                h->rank, h->world_size);
  if (h->step == CC_HELLO_DIAL && !all_zero(h->mac, CC_HELLO_MAC_BYTES))
    return fail(err, errsz, "HELLO step 1 carries a mac");
  if (h->step == CC_HELLO_CONFIRM && !all_zero(h->nonce, CC_HELLO_NONCE_BYTES))
    return fail(err, errsz, "HELLO step 3 carries a nonce");
  return 0;
}

int cc_hello_check(const cc_hello *h, int world_size, int self_rank, int expect_rank,
                   char *err, size_t errsz) {
  if (world_size < 1 || h->world_size != (uint32_t)world_size)
    return fail(err, errsz, "HELLO names a world of %" PRIu32 " players, this one has %d",
                h->world_size, world_size);
  if (h->rank >= h->world_size)
    return fail(err, errsz, "HELLO names player %" PRIu32 ", outside a world of %" PRIu32,
                h->rank, h->world_size);
  if (self_rank >= 0 && h->rank == (uint32_t)self_rank)
    return fail(err, errsz, "HELLO names player %" PRIu32 ", this player's own rank",
                h->rank);
  if (expect_rank >= 0 && h->rank != (uint32_t)expect_rank)
    return fail(err, errsz, "HELLO names player %" PRIu32 ", the connection was made to player %d",
                h->rank, expect_rank);
  return 0;
}

/* ==== Rendezvous lines: fields =========================================== */

/* A cursor over one line's space-separated fields. */
typedef struct fields {
  const char *p, *end;
  int index;       /* 1-based number of the field last taken */
} fields;

/* The next field: 1..n non-space bytes ended by one space or by the end of
 * the line. last: the field must end the line (else a space must follow). */
static int take(fields *f, const char **s, size_t *n, const char *what, bool last, char *err,
                size_t errsz) {
  const char *q = f->p;
  f->index++;
  if (q >= f->end)
    return fail(err, errsz, "line ends before field %d (%s)", f->index, what);
  while (q < f->end && *q != ' ')
    q++;
  if (q == f->p)
    return fail(err, errsz, "field %d (%s) is empty", f->index, what);
  *s = f->p;
  *n = (size_t)(q - f->p);
  if (last && q != f->end)
    return fail(err, errsz, "trailing bytes after field %d (%s)", f->index, what);
  if (!last && q == f->end)
    return fail(err, errsz, "line ends after field %d (%s)", f->index, what);
  f->p = last ? q : q + 1;
  return 0;
}

/* Decimal digits without sign or leading zero, at most max. */
static int decimal(const char *s, size_t n, uint64_t max, uint64_t *out, const char *what,
                   char *err, size_t errsz) {
  uint64_t v = 0;
  if (n > 20)
    return fail(err, errsz, "%s '%.20s...' is too long a number", what, s); /* n > 20 bytes */
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return fail(err, errsz, "%s '%.*s' is not a decimal number", what, (int)n, s);
    if (v > (max - (uint64_t)(s[i] - '0')) / 10)
      return fail(err, errsz, "%s '%.*s' is over %" PRIu64, what, (int)n, s, max);
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (n > 1 && s[0] == '0')
    return fail(err, errsz, "%s '%.*s' has a leading zero", what, (int)n, s);
  *out = v;
  return 0;
}

/* Exactly `want` lowercase hex digits. */
static int lowhex(const char *s, size_t n, size_t want, const char *what, char *err,
                  size_t errsz) {
  if (n != want)
    return fail(err, errsz, "%s has %zu characters, expected %zu hex digits", what, n, want);
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return fail(err, errsz, "%s '%.*s' is not lowercase hex", what, (int)n, s);
  return 0;
}

static int host_field(const char *s, size_t n, char out[CC_RDV_HOST_MAX], char *err,
                      size_t errsz) {
  if (n >= CC_RDV_HOST_MAX)
    return fail(err, errsz, "host of %zu bytes is over %d", n, CC_RDV_HOST_MAX - 1);
  memcpy(out, s, n);
  out[n] = '\0';
  return 0;
}

/* The whole line: not too long, no control bytes (so no NUL either). */
static int check_line(const char *line, size_t len, char *err, size_t errsz) {
  if (len > CC_RDV_LINE_MAX)
    return fail(err, errsz, "line of %zu bytes is over %d", len, CC_RDV_LINE_MAX);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)line[i];
    if (ch < 0x20 || ch == 0x7f)
      return fail(err, errsz, "line holds the control byte 0x%02x at %zu", (unsigned)ch, i);
  }
  return 0;
}

static bool printable_word(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch == 0x7f)
      return false;
  }
  return n > 0;
}

static bool kind_word(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
      return false;
  return n > 0 && n < CC_RDV_KIND_MAX;
}

/* snprintf into out, -1 unless it fits; the line's bytes otherwise. */
static int emit(char *out, size_t outsz, const char *fmt, ...) {
  va_list ap;
  int n;
  if (out == NULL || outsz == 0)
    return -1;
  va_start(ap, fmt);
  n = vsnprintf(out, outsz, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= outsz || n > CC_RDV_LINE_MAX + 1) {
    out[0] = '\0';
    return -1;
  }
  return n;
}

/* ==== Rendezvous lines: a newcomer's report ============================== */

int cc_rdv_challenge_pack(const char *nonce, char *out, size_t outsz) {
  if (lowhex(nonce, strnlen(nonce, CC_RDV_NONCE_CHARS + 1), CC_RDV_NONCE_CHARS, "nonce", NULL,
             0) != 0)
    return -1;
  return emit(out, outsz, "CHALLENGE %s\n", nonce);
}

int cc_rdv_challenge_parse(const char *line, size_t len, char *nonce, char *err, size_t errsz) {
  fields f = {line, line + len, 0};
  const char *s;
  size_t n;
  nonce[0] = '\0';
  if (check_line(line, len, err, errsz) != 0)
    return -1;
  if (take(&f, &s, &n, "greeting", false, err, errsz) != 0)
    return -1;
  if (n != 9 || memcmp(s, "CHALLENGE", 9) != 0)
    return fail(err, errsz, "line starts with '%.*s', not CHALLENGE", (int)(n < 16 ? n : 16), s);
  if (take(&f, &s, &n, "nonce", true, err, errsz) != 0 ||
      lowhex(s, n, CC_RDV_NONCE_CHARS, "nonce", err, errsz) != 0)
    return -1;
  memcpy(nonce, s, n);
  nonce[n] = '\0';
  return 0;
}

int cc_rdv_join_pack(const cc_rdv_join *j, char *out, size_t outsz) {
  size_t hostlen = strnlen(j->host, sizeof j->host);
  if (j->world_size < 1 || j->rank < 0 || j->rank >= j->world_size || j->port == 0 ||
      lowhex(j->nonce, strnlen(j->nonce, sizeof j->nonce), CC_RDV_NONCE_CHARS, "nonce", NULL,
             0) != 0 ||
      lowhex(j->mac, strnlen(j->mac, sizeof j->mac), CC_RDV_MAC_CHARS, "mac", NULL, 0) != 0 ||
      hostlen >= sizeof j->host || !printable_word(j->host, hostlen))
    return -1;
  return emit(out, outsz, "CICADA %d %d %d %s %s %u %s %s\n", CC_RDV_VERSION, j->world_size,
              j->rank, j->nonce, j->tls ? "tls" : "plain", (unsigned)j->port, j->mac, j->host);
}

int cc_rdv_join_parse(const char *line, size_t len, cc_rdv_join *j, char *err, size_t errsz) {
  fields f = {line, line + len, 0};
  const char *s;
  size_t n;
  uint64_t v;
  memset(j, 0, sizeof *j);
  if (check_line(line, len, err, errsz) != 0)
    return -1;
  if (take(&f, &s, &n, "greeting", false, err, errsz) != 0)
    return -1;
  if (n != 6 || memcmp(s, "CICADA", 6) != 0)
    return fail(err, errsz, "line starts with '%.*s', not CICADA", (int)(n < 16 ? n : 16), s);
  if (take(&f, &s, &n, "version", false, err, errsz) != 0 ||
      decimal(s, n, UINT32_MAX, &v, "version", err, errsz) != 0)
    return -1;
  if (v != CC_RDV_VERSION)
    return fail(err, errsz, "rendezvous version %" PRIu64 ", expected %d", v, CC_RDV_VERSION);
  if (take(&f, &s, &n, "world size", false, err, errsz) != 0 ||
      decimal(s, n, INT32_MAX, &v, "world size", err, errsz) != 0)
    return -1;
  if (v < 1)
    return fail(err, errsz, "world size 0 is below 1");
  j->world_size = (int)v;
  if (take(&f, &s, &n, "rank", false, err, errsz) != 0 ||
      decimal(s, n, INT32_MAX, &v, "rank", err, errsz) != 0)
    return -1;
  if (v >= (uint64_t)j->world_size)
    return fail(err, errsz, "rank %" PRIu64 " is outside a world of %d", v, j->world_size);
  j->rank = (int)v;
  if (take(&f, &s, &n, "nonce", false, err, errsz) != 0 ||
      lowhex(s, n, CC_RDV_NONCE_CHARS, "nonce", err, errsz) != 0)
    return -1;
  memcpy(j->nonce, s, n);
  j->nonce[n] = '\0';
  if (take(&f, &s, &n, "security", false, err, errsz) != 0)
    return -1;
  if (n == 3 && memcmp(s, "tls", 3) == 0)
    j->tls = true;
  else if (!(n == 5 && memcmp(s, "plain", 5) == 0))
    return fail(err, errsz, "security '%.*s' is neither tls nor plain", (int)(n < 16 ? n : 16), s);
  if (take(&f, &s, &n, "port", false, err, errsz) != 0 ||
      decimal(s, n, 65535, &v, "port", err, errsz) != 0)
    return -1;
  if (v == 0)
    return fail(err, errsz, "port 0 is not a port to reach a player at");
  j->port = (uint16_t)v;
  if (take(&f, &s, &n, "mac", false, err, errsz) != 0 ||
      lowhex(s, n, CC_RDV_MAC_CHARS, "mac", err, errsz) != 0)
    return -1;
  memcpy(j->mac, s, n);
  j->mac[n] = '\0';
  if (take(&f, &s, &n, "host", true, err, errsz) != 0 ||
      host_field(s, n, j->host, err, errsz) != 0)
    return -1;
  return 0;
}

/* ==== Rendezvous lines: the root's answer ================================ */

int cc_rdv_ok_pack(uint64_t token, const char *mac, char *out, size_t outsz) {
  if (lowhex(mac, strnlen(mac, CC_RDV_MAC_CHARS + 1), CC_RDV_MAC_CHARS, "mac", NULL, 0) != 0)
    return -1;
  return emit(out, outsz, "OK %016" PRIx64 " %s\n", token, mac);
}

int cc_rdv_err_pack(const char *kind, const char *message, char *out, size_t outsz) {
  size_t klen = strlen(kind), mlen, room, i;
  int n;
  if (!kind_word(kind, klen))
    return -1;
  n = emit(out, outsz, "ERR %s ", kind);
  if (n < 0)
    return -1;
  mlen = message ? strlen(message) : 0;
  room = CC_RDV_LINE_MAX - (size_t)n;         /* "ERR kind " is far below the limit */
  if (mlen > room)
    mlen = room;
  if ((size_t)n + mlen + 2 > outsz) {
    out[0] = '\0';
    return -1;
  }
  for (i = 0; i < mlen; i++) {
    unsigned char ch = (unsigned char)message[i];
    out[(size_t)n + i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  out[(size_t)n + mlen] = '\n';
  out[(size_t)n + mlen + 1] = '\0';
  return n + (int)mlen + 1;
}

int cc_rdv_reply_parse(const char *line, size_t len, cc_rdv_reply *r, char *err, size_t errsz) {
  fields f = {line, line + len, 0};
  const char *s;
  size_t n;
  memset(r, 0, sizeof *r);
  if (check_line(line, len, err, errsz) != 0)
    return -1;
  if (len >= 3 && memcmp(line, "OK ", 3) == 0) {
    f.p += 3;
    f.index = 1;
    if (take(&f, &s, &n, "world id", false, err, errsz) != 0 ||
        lowhex(s, n, 16, "world id", err, errsz) != 0)
      return -1;
    for (size_t i = 0; i < n; i++)
      r->token = (r->token << 4) | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    if (take(&f, &s, &n, "mac", true, err, errsz) != 0 ||
        lowhex(s, n, CC_RDV_MAC_CHARS, "mac", err, errsz) != 0)
      return -1;
    memcpy(r->mac, s, n);
    r->mac[n] = '\0';
    r->ok = true;
    return 0;
  }
  if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
    f.p += 4;
    f.index = 1;
    if (take(&f, &s, &n, "kind", false, err, errsz) != 0)
      return -1;
    if (!kind_word(s, n))
      return fail(err, errsz, "error kind '%.*s' is not 1 to %d of [a-z_]",
                  (int)(n < 40 ? n : 40), s, CC_RDV_KIND_MAX - 1);
    memcpy(r->kind, s, n);
    r->kind[n] = '\0';
    n = (size_t)(f.end - f.p);    /* the message: the rest, checked by check_line */
    memcpy(r->message, f.p, n);
    r->message[n] = '\0';
    return 0;
  }
  return fail(err, errsz, "line starts with neither OK nor ERR");
}

/* ==== Rendezvous lines: the address book ================================= */

int cc_rdv_entry_pack(const cc_rdv_entry *e, char *out, size_t outsz) {
  size_t hostlen = strnlen(e->host, sizeof e->host);
  if (e->port == 0 || hostlen >= sizeof e->host || !printable_word(e->host, hostlen))
    return -1;
  return emit(out, outsz, "%u %s\n", (unsigned)e->port, e->host);
}

int cc_rdv_entry_parse(const char *line, size_t len, cc_rdv_entry *e, char *err, size_t errsz) {
  fields f = {line, line + len, 0};
  const char *s;
  size_t n;
  uint64_t v;
  memset(e, 0, sizeof *e);
  if (check_line(line, len, err, errsz) != 0)
    return -1;
  if (take(&f, &s, &n, "port", false, err, errsz) != 0 ||
      decimal(s, n, 65535, &v, "port", err, errsz) != 0)
    return -1;
  if (v == 0)
    return fail(err, errsz, "port 0 is not a port to reach a player at");
  e->port = (uint16_t)v;
  if (take(&f, &s, &n, "host", true, err, errsz) != 0 ||
      host_field(s, n, e->host, err, errsz) != 0)
    return -1;
  return 0;
}

static bool seat_fits(const cc_rdv_seat *seat) {
  size_t len = strnlen(seat->name, sizeof seat->name);
  bool mine = false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)seat->name[i] < 0x20 || seat->name[i] == 0x7f) return false;
  if (len == 0 || len >= sizeof seat->name || seat->world_size < 2 ||
      seat->world_size > CC_MAX_WORLD_SIZE || seat->count < 1 || seat->count > CC_RDV_SEATS_MAX ||
      seat->count >= seat->world_size)
    return false;
  for (int i = 0; i < seat->count; i++) {
    if (seat->newcomers[i] < 0 || seat->newcomers[i] >= seat->world_size ||
        (i > 0 && seat->newcomers[i] <= seat->newcomers[i - 1]))
      return false;
    if (seat->newcomers[i] == seat->rank) mine = true;
  }
  return mine;
}

int cc_rdv_seat_pack(const cc_rdv_seat *seat, char *out, size_t outsz) {
  char list[CC_RDV_SEATS_MAX * 6];
  size_t used = 0;
  if (!seat_fits(seat)) return -1;
  for (int i = 0; i < seat->count; i++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", i ? "," : "",
                             seat->newcomers[i]);
  return emit(out, outsz, "SEAT %d %d %s %s\n", seat->world_size, seat->rank, list, seat->name);
}

int cc_rdv_seat_parse(const char *line, size_t len, cc_rdv_seat *seat, char *err, size_t errsz) {
  fields f = {line, line + len, 0};
  const char *s;
  size_t n;
  uint64_t v;
  memset(seat, 0, sizeof *seat);
  if (check_line(line, len, err, errsz) != 0)
    return -1;
  if (take(&f, &s, &n, "greeting", false, err, errsz) != 0)
    return -1;
  if (n != 4 || memcmp(s, "SEAT", 4) != 0)
    return fail(err, errsz, "line starts with '%.*s', not SEAT", (int)(n < 16 ? n : 16), s);
  if (take(&f, &s, &n, "world size", false, err, errsz) != 0 ||
      decimal(s, n, CC_MAX_WORLD_SIZE, &v, "world size", err, errsz) != 0)
    return -1;
  seat->world_size = (int)v;
  if (take(&f, &s, &n, "rank", false, err, errsz) != 0 ||
      decimal(s, n, CC_MAX_WORLD_SIZE, &v, "rank", err, errsz) != 0)
    return -1;
  seat->rank = (int)v;
  if (take(&f, &s, &n, "newcomers", false, err, errsz) != 0)
    return -1;
  for (const char *p = s, *end = s + n; p < end;) {
    const char *q = memchr(p, ',', (size_t)(end - p));
    if (!q) q = end;
    if (q == p)
      return fail(err, errsz, "an empty newcomer's rank");
    if (seat->count == CC_RDV_SEATS_MAX)
      return fail(err, errsz, "more than %d newcomers", CC_RDV_SEATS_MAX);
    if (decimal(p, (size_t)(q - p), CC_MAX_WORLD_SIZE, &v, "newcomer's rank", err, errsz) != 0)
      return -1;
    seat->newcomers[seat->count++] = (int)v;
    p = q + 1;
    if (q + 1 == end)
      return fail(err, errsz, "the newcomers' ranks end with a comma");
  }
  n = (size_t)(f.end - f.p);
  if (n == 0 || n >= sizeof seat->name)
    return fail(err, errsz, "the grown world's name has %zu bytes, not 1 to %d", n,
                CC_RDV_NAME_MAX - 1);
  memcpy(seat->name, f.p, n);
  seat->name[n] = '\0';
  if (!seat_fits(seat))
    return fail(err, errsz, "seat %d among newcomers of a world of %d does not fit",
                seat->rank, seat->world_size);
  return 0;
}

/* ==== Agreement messages ================================================= */

static int put_header(cc_buf *b, uint32_t seq, uint8_t kind, uint32_t round) {
  uint8_t h[CC_AGREE_HEADER_BYTES];
  put_le(h, seq, 4);
  h[4] = kind;
  put_le(h + 5, round, 4);
  return cc_buf_append(b, h, sizeof h);
}

static int put_u8(cc_buf *b, uint8_t v) {
  return cc_buf_append(b, &v, 1);
}

static int put_name(cc_buf *b, const char *name) {
  size_t len = strnlen(name, CC_AGREE_NAME_MAX + 1);
  uint8_t l[4];
  if (len > CC_AGREE_NAME_MAX)
    return -1;
  put_le(l, len, 4);
  if (cc_buf_append(b, l, 4) != 0)
    return -1;
  return cc_buf_append(b, name, len);
}

int cc_agree_vote_pack(cc_buf *b, uint32_t seq, bool flag, const char *name) {
  size_t at = b->len;
  if (put_header(b, seq, CC_AGREE_VOTE, 0) != 0 || put_u8(b, flag ? 1 : 0) != 0 ||
      put_u8(b, name ? CC_AGREE_IN_NAMED : CC_AGREE_IN) != 0 ||
      (name && put_name(b, name) != 0)) {
    b->len = at;
    return -1;
  }
  return 0;
}

int cc_agree_estimate_pack(cc_buf *b, uint32_t seq, uint32_t round, bool flag, int n,
                           const uint8_t *state, char *const *names) {
  size_t at = b->len;
  uint8_t count[4];
  if (n < 0)
    return -1;
  put_le(count, (uint32_t)n, 4);
  if (put_header(b, seq, CC_AGREE_ESTIMATE, round) != 0 || put_u8(b, flag ? 1 : 0) != 0 ||
      cc_buf_append(b, count, 4) != 0)
    goto refused;
  for (int i = 0; i < n; i++) {
    if (state[i] > CC_AGREE_IN_NAMED || (state[i] == CC_AGREE_IN_NAMED && !names[i]))
      goto refused;
    if (put_u8(b, state[i]) != 0 || (state[i] == CC_AGREE_IN_NAMED && put_name(b, names[i]) != 0))
      goto refused;
  }
  return 0;
refused:
  b->len = at;
  return -1;
}

/* A bounded reader over one message. */
typedef struct reader {
  const uint8_t *p;
  size_t left;
  size_t len;        /* of the whole message, for offsets in messages */
} reader;

static size_t at(const reader *r) {
  return r->len - r->left;
}

static int get(reader *r, int n, uint64_t *v, const char *what, char *err, size_t errsz) {
  *v = 0;
  if (r->left < (size_t)n)
    return fail(err, errsz, "message ends at byte %zu inside the %s", at(r), what);
  *v = get_le(r->p, n);
  r->p += n;
  r->left -= (size_t)n;
  return 0;
}

static int get_flag(reader *r, bool *flag, char *err, size_t errsz) {
  uint64_t v;
  if (get(r, 1, &v, "flag", err, errsz) != 0)
    return -1;
  if (v > 1)
    return fail(err, errsz, "flag at byte %zu is %" PRIu64 ", not 0 or 1", at(r) - 1, v);
  *flag = v == 1;
  return 0;
}

static int get_name(reader *r, char **name, char *err, size_t errsz) {
  uint64_t len;
  size_t where = at(r);
  if (get(r, 4, &len, "name length", err, errsz) != 0)
    return -1;
  if (len > CC_AGREE_NAME_MAX)
    return fail(err, errsz, "name at byte %zu of %" PRIu64 " bytes is over %d", where, len,
                CC_AGREE_NAME_MAX);
  if (len > r->left)
    return fail(err, errsz, "name at byte %zu of %" PRIu64 " bytes, %zu remain", where, len,
                r->left);
  if (memchr(r->p, 0, (size_t)len) != NULL)
    return fail(err, errsz, "name at byte %zu holds a zero byte", where);
  *name = malloc((size_t)len + 1);
  if (*name == NULL)
    return fail(err, errsz, "out of memory for a name of %" PRIu64 " bytes", len);
  memcpy(*name, r->p, (size_t)len);
  (*name)[len] = '\0';
  r->p += len;
  r->left -= (size_t)len;
  return 0;
}

static int get_header(reader *r, cc_agree_header *h, char *err, size_t errsz) {
  uint64_t seq, kind, round;
  if (get(r, 4, &seq, "header", err, errsz) != 0 || get(r, 1, &kind, "header", err, errsz) != 0 ||
      get(r, 4, &round, "header", err, errsz) != 0)
    return -1;
  h->seq = (uint32_t)seq;
  h->kind = (uint8_t)kind;
  h->round = (uint32_t)round;
  if (kind != CC_AGREE_VOTE && kind != CC_AGREE_ESTIMATE)
    return fail(err, errsz, "message of unknown kind %" PRIu64, kind);
  if (kind == CC_AGREE_VOTE && round != 0)
    return fail(err, errsz, "vote for round %" PRIu64 ", votes are round 0", round);
  return 0;
}

int cc_agree_header_parse(const uint8_t *in, size_t len, cc_agree_header *h, char *err,
                          size_t errsz) {
  reader r = {in, len, len};
  memset(h, 0, sizeof *h);
  return get_header(&r, h, err, errsz);
}

static int finish(const reader *r, char *err, size_t errsz) {
  if (r->left != 0)
    return fail(err, errsz, "%zu trailing bytes after byte %zu", r->left, at(r));
  return 0;
}

int cc_agree_vote_parse(const uint8_t *in, size_t len, cc_agree_header *h, bool *flag,
                        uint8_t *state, char **name, char *err, size_t errsz) {
  reader r = {in, len, len};
  cc_agree_header hd;
  uint64_t st;
  *name = NULL;
  if (get_header(&r, &hd, err, errsz) != 0)
    return -1;
  if (h)
    *h = hd;
  if (hd.kind != CC_AGREE_VOTE)
    return fail(err, errsz, "message of kind %u, not a vote", (unsigned)hd.kind);
  if (get_flag(&r, flag, err, errsz) != 0 || get(&r, 1, &st, "state", err, errsz) != 0)
    return -1;
  if (st != CC_AGREE_IN && st != CC_AGREE_IN_NAMED)
    return fail(err, errsz, "vote with state %" PRIu64 ", not in (1) or named (2)", st);
  *state = (uint8_t)st;
  if (st == CC_AGREE_IN_NAMED && get_name(&r, name, err, errsz) != 0)
    return -1;
  if (finish(&r, err, errsz) != 0) {
    free(*name);
    *name = NULL;
    return -1;
  }
  return 0;
}

int cc_agree_estimate_parse(const uint8_t *in, size_t len, int n, cc_agree_header *h,
                            bool *flag, uint8_t *state, char **names, char *err,
                            size_t errsz) {
  reader r = {in, len, len};
  cc_agree_header hd;
  uint64_t count, st;
  int i;
  for (i = 0; i < n; i++)
    names[i] = NULL;
  if (get_header(&r, &hd, err, errsz) != 0)
    return -1;
  if (h)
    *h = hd;
  if (hd.kind != CC_AGREE_ESTIMATE)
    return fail(err, errsz, "message of kind %u, not an estimate", (unsigned)hd.kind);
  if (get_flag(&r, flag, err, errsz) != 0 || get(&r, 4, &count, "member count", err, errsz) != 0)
    return -1;
  if (n < 0 || count != (uint64_t)n)
    return fail(err, errsz, "estimate for %" PRIu64 " members, expected %d", count, n);
  if (count > r.left)
    return fail(err, errsz, "estimate for %" PRIu64 " members in %zu bytes", count, r.left);
  for (i = 0; i < n; i++) {
    if (get(&r, 1, &st, "state", err, errsz) != 0)
      goto refused;
    if (st > CC_AGREE_IN_NAMED) {
      fail(err, errsz, "member %d has state %" PRIu64 ", not out (0), in (1) or named (2)", i,
           st);
      goto refused;
    }
    state[i] = (uint8_t)st;
    if (st == CC_AGREE_IN_NAMED && get_name(&r, &names[i], err, errsz) != 0)
      goto refused;
  }
  if (finish(&r, err, errsz) != 0)
    goto refused;
  return 0;
refused:
  for (i = 0; i < n; i++) {
    free(names[i]);
    names[i] = NULL;
  }
  return -1;
}
