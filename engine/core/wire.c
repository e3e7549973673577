/*
 * wire.c - growable buffers, frame headers and the value codec's writer and
 * reader (format in wire.h).
 *
 * The reader trusts nothing: every declared length is checked against the
 * bytes that remain before anything is handed to a caller that might allocate
 * for it, nesting and element counts are bounded, and every error names the
 * problem and the byte offset where it was found. It keeps its own stack of
 * open tables, so it needs neither recursion nor Lua.
 */
#include "core/wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/field.h"
#include "core/field128.h"

/* ==== Byte buffers ====================================================== */

#define CC_BUF_MIN_CAP 64

void cc_buf_init(cc_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

int cc_buf_reserve(cc_buf *b, size_t extra) {
  size_t need, cap;
  uint8_t *p;
  if (extra <= b->cap - b->len)
    return 0;
  if (extra > SIZE_MAX - b->len)
    return -1;
  need = b->len + extra;
  cap = b->cap < CC_BUF_MIN_CAP ? CC_BUF_MIN_CAP : b->cap;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if (p == NULL)
    return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int cc_buf_append(cc_buf *b, const void *p, size_t n) {
  if (n == 0)
    return 0;
  if (cc_buf_reserve(b, n) != 0)
    return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

uint8_t *cc_buf_steal(cc_buf *b, size_t *len) {
  uint8_t *p = b->data;
  if (len != NULL)
    *len = b->len;
  cc_buf_init(b);
  return p;
}

void cc_buf_free(cc_buf *b) {
  free(b->data);
  cc_buf_init(b);
}

/* ==== Little-endian integers ============================================ */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
  int i;
  for (i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
  int i;
  for (i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p) {
  return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

/* Two's complement both ways without implementation-defined conversions. */
static uint64_t int_to_u64(int64_t v) {
  return (uint64_t)v;
}

static int64_t u64_to_int(uint64_t u) {
  if (u <= (uint64_t)INT64_MAX)
    return (int64_t)u;
  return -(int64_t)(~u) - 1;
}

static uint64_t float_to_u64(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double u64_to_float(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first == 1;
}

void cc_wire_load_words(uint64_t *dst, const uint8_t *src, size_t n) {
  size_t i;
  if (n == 0)
    return;
  if (host_is_little_endian()) {
    memcpy(dst, src, n * 8);
    return;
  }
  for (i = 0; i < n; i++)
    dst[i] = get_u64(src + 8 * i);
}

/* ==== Frame header ====================================================== */

static void set_error(char *err, size_t errsz, const char *fmt, ...) {
  va_list ap;
  if (err == NULL || errsz == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(err, errsz, fmt, ap);
  va_end(ap);
}

void cc_frame_pack(const cc_frame_header *h, uint8_t out[CC_FRAME_HEADER_BYTES]) {
  out[0] = h->version;
  out[1] = h->type;
  put_u16(out + 2, h->flags);
  put_u32(out + 4, (uint32_t)h->tag);
  put_u64(out + 8, h->context);
  put_u32(out + 16, h->source);
  put_u32(out + 20, h->length);
}

int cc_frame_unpack(const uint8_t in[CC_FRAME_HEADER_BYTES], uint32_t max_payload_bytes,
                    unsigned ntypes, cc_frame_header *h, char *err, size_t errsz) {
  uint32_t tag = get_u32(in + 4);
  h->version = in[0];
  h->type = in[1];
  h->flags = get_u16(in + 2);
  h->tag = tag <= INT32_MAX ? (int32_t)tag : -(int32_t)(~tag) - 1;
  h->context = get_u64(in + 8);
  h->source = get_u32(in + 16);
  h->length = get_u32(in + 20);
  if (h->version != CC_WIRE_VERSION) {
    set_error(err, errsz, "frame has wire version %u, expected %u", (unsigned)h->version,
              (unsigned)CC_WIRE_VERSION);
    return -1;
  }
  if (h->type >= ntypes) {
    set_error(err, errsz, "frame has unknown type %u (types are below %u)",
              (unsigned)h->type, ntypes);
    return -1;
  }
  if (h->length > max_payload_bytes) {
    set_error(err, errsz, "frame payload of %lu bytes is over the limit of %lu bytes",
              (unsigned long)h->length, (unsigned long)max_payload_bytes);
    return -1;
  }
  return 0;
}

/* ==== Limits ============================================================ */

void cc_wire_limits_default(cc_wire_limits *l) {
  l->max_depth = CC_WIRE_DEFAULT_MAX_DEPTH;
  l->max_elements = CC_WIRE_DEFAULT_MAX_ELEMENTS;
  l->max_bytes = CC_WIRE_DEFAULT_MAX_BYTES;
}

/* ==== Value writer ====================================================== */

#define TABLE_HEADER_BYTES 9 /* tag, narr u32, nhash u32 */

static int put_tag(cc_buf *b, cc_wire_kind kind) {
  uint8_t tag = (uint8_t)kind;
  return cc_buf_append(b, &tag, 1);
}

static int put_tag_u64(cc_buf *b, cc_wire_kind kind, uint64_t v) {
  uint8_t item[9];
  item[0] = (uint8_t)kind;
  put_u64(item + 1, v);
  return cc_buf_append(b, item, sizeof item);
}

int cc_wire_put_nil(cc_buf *b) {
  return put_tag(b, CC_WIRE_NIL);
}

int cc_wire_put_bool(cc_buf *b, int v) {
  return put_tag(b, v ? CC_WIRE_TRUE : CC_WIRE_FALSE);
}

int cc_wire_put_int(cc_buf *b, int64_t v) {
  return put_tag_u64(b, CC_WIRE_INT, int_to_u64(v));
}

int cc_wire_put_float(cc_buf *b, double v) {
  return put_tag_u64(b, CC_WIRE_FLOAT, float_to_u64(v));
}

int cc_wire_put_string(cc_buf *b, const void *s, size_t len) {
  uint8_t head[5];
  if (len > CC_WIRE_MAX_COUNT || cc_buf_reserve(b, 5 + len) != 0)
    return -1;
  head[0] = (uint8_t)CC_WIRE_STRING;
  put_u32(head + 1, (uint32_t)len);
  cc_buf_append(b, head, sizeof head);
  cc_buf_append(b, s, len);
  return 0;
}

static void fill_table_header(uint8_t *p, size_t narr, size_t nhash) {
  p[0] = (uint8_t)CC_WIRE_TABLE;
  put_u32(p + 1, (uint32_t)narr);
  put_u32(p + 5, (uint32_t)nhash);
}

int cc_wire_put_table(cc_buf *b, size_t narr, size_t nhash) {
  uint8_t head[TABLE_HEADER_BYTES];
  if (narr > CC_WIRE_MAX_COUNT || nhash > CC_WIRE_MAX_COUNT)
    return -1;
  fill_table_header(head, narr, nhash);
  return cc_buf_append(b, head, sizeof head);
}

int cc_wire_patch_table(cc_buf *b, size_t at, size_t narr, size_t nhash) {
  if (narr > CC_WIRE_MAX_COUNT || nhash > CC_WIRE_MAX_COUNT)
    return -1;
  if (at > b->len || b->len - at < TABLE_HEADER_BYTES || b->data[at] != CC_WIRE_TABLE)
    return -1;
  fill_table_header(b->data + at, narr, nhash);
  return 0;
}

void cc_wire_store_words(uint8_t *dst, const uint64_t *src, size_t n) {
  size_t i;
  if (n == 0)
    return;
  if (host_is_little_endian()) {
    memcpy(dst, src, n * 8);
    return;
  }
  for (i = 0; i < n; i++)
    put_u64(dst + 8 * i, src[i]);
}

size_t cc_wire_array_header(uint8_t *out, int width, uint64_t order_lo, uint64_t order_hi,
                            int ndim, const size_t *shape) {
  size_t len;
  int d;
  if ((width != 1 && width != 2) || (width == 2) != (order_hi != 0) || ndim < 0 ||
      ndim > CC_WIRE_MAX_NDIM)
    return 0;
  for (d = 0; d < ndim; d++)
    if (shape[d] > CC_WIRE_MAX_COUNT)
      return 0;
  out[0] = (uint8_t)(width == 2 ? CC_WIRE_ARRAY128 : CC_WIRE_ARRAY);
  put_u64(out + 1, order_lo);
  len = 9;
  if (width == 2) {
    put_u64(out + 9, order_hi);
    len = 17;
  }
  out[len++] = (uint8_t)ndim;
  for (d = 0; d < ndim; d++) {
    put_u32(out + len, (uint32_t)shape[d]);
    len += 4;
  }
  return len;
}

/* An array of width 1 (0x08) or 2 (0x09) words per element. */
static int put_array(cc_buf *b, uint64_t order_lo, uint64_t order_hi, int width, int ndim,
                     const size_t *shape, const uint64_t *words) {
  uint8_t head[CC_WIRE_ARRAY_HEADER_MAX];
  size_t headlen, n = 1;
  int d;
  headlen = cc_wire_array_header(head, width, order_lo, width == 2 ? order_hi : 0, ndim, shape);
  if (headlen == 0)
    return -1;
  for (d = 0; d < ndim; d++) {
    if (shape[d] != 0 && n > (SIZE_MAX - sizeof head) / 16 / shape[d])
      return -1;
    n *= shape[d];
  }
  n *= (size_t)width;
  if (cc_buf_reserve(b, headlen + 8 * n) != 0) /* no overflow: n is bounded above */
    return -1;
  cc_buf_append(b, head, headlen);
  cc_wire_store_words(b->data + b->len, words, n);
  b->len += 8 * n;
  return 0;
}

int cc_wire_put_array(cc_buf *b, uint64_t order, int ndim, const size_t *shape,
                      const uint64_t *words) {
  return put_array(b, order, 0, 1, ndim, shape, words);
}

int cc_wire_put_array128(cc_buf *b, uint64_t order_lo, uint64_t order_hi, int ndim,
                         const size_t *shape, const uint64_t *words) {
  if (order_hi == 0)
    return -1;
  return put_array(b, order_lo, order_hi, 2, ndim, shape, words);
}

/* ==== Value reader: errors and bounds =================================== */

static int fail(cc_wire_reader *r, const char *fmt, ...) {
  va_list ap;
  if (!r->failed) { /* keep the first message */
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
  }
  r->failed = 1;
  return -1;
}

static size_t remaining(const cc_wire_reader *r) {
  return r->len - r->pos;
}

/* n more bytes of the item at `offset`, described by `what`, must be there. */
static int need(cc_wire_reader *r, size_t n, const char *what, size_t offset) {
  if (n > remaining(r))
    return fail(r, "truncated input: %s at byte %zu needs %zu more bytes, %zu remain", what,
                offset, n, remaining(r));
  return 0;
}

void cc_wire_reader_init(cc_wire_reader *r, const void *in, size_t len,
                         const cc_wire_limits *limits) {
  memset(r, 0, offsetof(cc_wire_reader, open));
  r->in = in;
  r->len = len;
  if (limits != NULL)
    r->limits = *limits;
  else
    cc_wire_limits_default(&r->limits);
  if (r->limits.max_depth > CC_WIRE_DEPTH_CAP)
    r->limits.max_depth = CC_WIRE_DEPTH_CAP;
  r->err[0] = '\0';
  if (len > r->limits.max_bytes)
    fail(r, "input of %zu bytes is over the limit of %zu bytes", len, r->limits.max_bytes);
}

const char *cc_wire_reader_error(const cc_wire_reader *r) {
  return r->failed ? r->err : "no error";
}

/* ==== Value reader: the place of an item ================================ */

/* Give the item its role in the innermost open table and count it read. */
static void take_role(cc_wire_reader *r, cc_wire_item *it) {
  cc_wire_open *o;
  if (r->depth == 0) {
    it->role = CC_WIRE_ROLE_TOP;
    return;
  }
  o = &r->open[r->depth - 1];
  r->pending--;
  if (o->narr_left > 0) {
    it->role = CC_WIRE_ROLE_ITEM;
    it->index = o->next_index++;
    o->narr_left--;
  } else {
    it->role = (o->hash_left % 2 == 0) ? CC_WIRE_ROLE_KEY : CC_WIRE_ROLE_VALUE;
    o->hash_left--;
  }
}

/* Close the innermost tables whose items have all been read. */
static void close_finished(cc_wire_reader *r) {
  while (r->depth > 0 && r->open[r->depth - 1].narr_left == 0 &&
         r->open[r->depth - 1].hash_left == 0)
    r->depth--;
}

/* Keys are never nil or NaN; table values are never nil. */
static int check_role(cc_wire_reader *r, const cc_wire_item *it) {
  switch (it->role) {
  case CC_WIRE_ROLE_KEY:
    if (it->kind == CC_WIRE_NIL)
      return fail(r, "table key at byte %zu is nil", it->offset);
    if (it->kind == CC_WIRE_FLOAT && isnan(it->number))
      return fail(r, "table key at byte %zu is NaN", it->offset);
    return 0;
  case CC_WIRE_ROLE_ITEM:
    if (it->kind == CC_WIRE_NIL)
      return fail(r, "array value %zu at byte %zu is nil", it->index, it->offset);
    return 0;
  case CC_WIRE_ROLE_VALUE:
    if (it->kind == CC_WIRE_NIL)
      return fail(r, "table value at byte %zu is nil", it->offset);
    return 0;
  default:
    return 0;
  }
}

/* ==== Value reader: items =============================================== */

static int read_string(cc_wire_reader *r, cc_wire_item *it) {
  if (need(r, 4, "string length", it->offset) != 0)
    return -1;
  it->len = get_u32(r->in + r->pos);
  r->pos += 4;
  if (need(r, it->len, "string", it->offset) != 0)
    return -1;
  it->bytes = r->in + r->pos;
  r->pos += it->len;
  return 0;
}

static int read_table(cc_wire_reader *r, cc_wire_item *it) {
  uint64_t items;
  cc_wire_open *o;
  if (need(r, 8, "table header", it->offset) != 0)
    return -1;
  it->narr = get_u32(r->in + r->pos);
  it->nhash = get_u32(r->in + r->pos + 4);
  r->pos += 8;
  if (r->depth + 1 > r->limits.max_depth)
    return fail(r, "nesting too deep: table at byte %zu is more than %zu tables deep",
                it->offset, r->limits.max_depth);
  /* Every declared item takes at least one byte, and so does every item that
   * enclosing tables still expect: refuse declarations the input cannot hold
   * before a caller sizes anything by them. */
  items = (uint64_t)it->narr + 2 * (uint64_t)it->nhash;
  if (items > remaining(r) || r->pending > remaining(r) - items)
    return fail(r, "truncated input: table at byte %zu declares %llu items but only %zu bytes "
                   "remain for them and %llu more items",
                it->offset, (unsigned long long)items, remaining(r),
                (unsigned long long)r->pending);
  if (items == 0)
    return 0;
  o = &r->open[r->depth++];
  o->narr_left = it->narr;
  o->hash_left = 2 * it->nhash;
  o->next_index = 1;
  r->pending += items;
  return 0;
}

static int check_order(cc_wire_reader *r, const cc_wire_item *it) {
  char msg[128];
  int wide = it->kind == CC_WIRE_ARRAY128;
  if (wide && it->order_hi == 0) /* before the cache: 0x08 may have cached it */
    return fail(r, "field array at byte %zu: tag 0x09 with an order below 2^64 "
                   "(such arrays use tag 0x08)", it->offset);
  if (it->order == r->known_order && it->order_hi == r->known_order_hi &&
      (it->order != 0 || it->order_hi != 0))
    return 0;
  if ((wide ? cc_field128_check_order(it->order, it->order_hi, msg, sizeof msg)
            : cc_field_check_order(it->order, msg, sizeof msg)) != 0)
    return fail(r, "field array at byte %zu has an invalid order: %s", it->offset, msg);
  r->known_order = it->order;
  r->known_order_hi = it->order_hi;
  return 0;
}

static uint64_t load_word(const uint8_t *p, int little_endian) {
  uint64_t w;
  if (!little_endian)
    return get_u64(p);
  memcpy(&w, p, sizeof w);
  return w;
}

static int check_words(cc_wire_reader *r, const cc_wire_item *it) {
  int le = host_is_little_endian();
  size_t i;
  if (it->kind == CC_WIRE_ARRAY128) {
    for (i = 0; i < it->nwords / 2; i++) {
      uint64_t lo = load_word(it->words + 16 * i, le);
      uint64_t hi = load_word(it->words + 16 * i + 8, le);
      if (hi > it->order_hi || (hi == it->order_hi && lo >= it->order)) {
        char v[40], p[40];
        cc_field128_format(v, cc_u128_make(lo, hi));
        cc_field128_format(p, cc_u128_make(it->order, it->order_hi));
        return fail(r, "field array at byte %zu: element %zu is %s, not below the order %s",
                    it->offset, i, v, p);
      }
    }
    return 0;
  }
  for (i = 0; i < it->nwords; i++) {
    uint64_t w = load_word(it->words + 8 * i, le);
    if (w >= it->order)
      return fail(r, "field array at byte %zu: word %zu is %llu, not below the order %llu",
                  it->offset, i, (unsigned long long)w, (unsigned long long)it->order);
  }
  return 0;
}

static int read_array(cc_wire_reader *r, cc_wire_item *it) {
  uint64_t n = 1;
  int d;
  int width = it->kind == CC_WIRE_ARRAY128 ? 2 : 1;
  size_t head = 8 * (size_t)width + 1;
  if (need(r, head, "field array header", it->offset) != 0)
    return -1;
  it->order = get_u64(r->in + r->pos);
  if (width == 2)
    it->order_hi = get_u64(r->in + r->pos + 8);
  it->ndim = r->in[r->pos + head - 1];
  r->pos += head;
  if (it->ndim > CC_WIRE_MAX_NDIM)
    return fail(r, "field array at byte %zu has %d dimensions (0, 1 or 2 allowed)",
                it->offset, it->ndim);
  if (check_order(r, it) != 0)
    return -1;
  if (need(r, 4 * (size_t)it->ndim, "field array shape", it->offset) != 0)
    return -1;
  for (d = 0; d < it->ndim; d++) {
    it->shape[d] = get_u32(r->in + r->pos);
    r->pos += 4;
    n *= it->shape[d]; /* two u32 factors: no overflow */
  }
  if (n > remaining(r) / 8 / (size_t)width)
    return fail(r, "truncated input: field array at byte %zu declares %llu %s, "
                   "%zu bytes remain",
                it->offset, (unsigned long long)n,
                width == 2 ? "elements of 16 bytes" : "words", remaining(r));
  it->nwords = (size_t)n * (size_t)width;
  it->words = r->in + r->pos;
  r->pos += 8 * it->nwords;
  return r->defer_words ? 0 : check_words(r, it);
}

void cc_wire_reader_defer_words(cc_wire_reader *r) {
  r->defer_words = 1;
}

int cc_wire_load_checked(cc_wire_reader *r, const cc_wire_item *it, uint64_t *dst) {
  uint64_t bad = 0;
  size_t i;
  if (!host_is_little_endian()) {
    /* the general path: check, then copy */
    if (check_words(r, it) != 0)
      return -1;
    cc_wire_load_words(dst, it->words, it->nwords);
    return 0;
  }
  if (it->kind == CC_WIRE_ARRAY128) {
    /* one pass over the message: a block copied, then checked where it
     * landed (still in L1), instead of a check of the whole message and a
     * copy of it */
    enum { LOAD_BLOCK = 512 }; /* elements: 8 KiB */
    const size_t n = it->nwords / 2;
    const uint64_t olo = it->order, ohi = it->order_hi;
    for (size_t first = 0; first < n; first += LOAD_BLOCK) {
      const size_t m = n - first < LOAD_BLOCK ? n - first : LOAD_BLOCK;
      uint64_t *restrict out = dst + 2 * first;
      memcpy(out, it->words + 16 * first, 16 * m);
      for (i = 0; i < m; i++) {
        uint64_t lo = out[2 * i], hi = out[2 * i + 1];
        bad |= (uint64_t)(hi > ohi || (hi == ohi && lo >= olo));
      }
    }
    return bad ? check_words(r, it) : 0;   /* names the first bad element */
  }
  {
    /* locals, so that the stores to dst cannot change them: the loop then
     * compiles to straight vector code */
    const uint8_t *restrict src = it->words;
    uint64_t *restrict out = dst;
    const uint64_t order = it->order;
    const size_t n = it->nwords;
    for (i = 0; i < n; i++) {
      uint64_t w;
      memcpy(&w, src + 8 * i, sizeof w);
      bad |= (uint64_t)(w >= order);
      out[i] = w;
    }
  }
  return bad ? check_words(r, it) : 0;   /* names the first bad word */
}

int cc_wire_load_range(cc_wire_reader *r, const cc_wire_item *it, size_t first, size_t count,
                       uint64_t *dst) {
  const int width = it->kind == CC_WIRE_ARRAY128 ? 2 : 1;
  const uint8_t *src = it->words + 8 * (size_t)width * first;
  const size_t nw = (size_t)width * count;
  const uint64_t olo = it->order, ohi = it->order_hi;
  uint64_t bad = 0;
  size_t i;
  /* a copy, then a check of the copy (dst is small enough to stay in the
   * cache between the two) */
  if (host_is_little_endian()) {
    if (nw) memcpy(dst, src, nw * 8);
  } else {
    for (i = 0; i < nw; i++)
      dst[i] = get_u64(src + 8 * i);
  }
  if (width == 2) {
    for (i = 0; i < count; i++) {
      uint64_t lo = dst[2 * i], hi = dst[2 * i + 1];
      bad |= (uint64_t)(hi > ohi || (hi == ohi && lo >= olo));
    }
  } else {
    for (i = 0; i < nw; i++)
      bad |= (uint64_t)(dst[i] >= olo);
  }
  return bad ? check_words(r, it) : 0;   /* names the first bad element */
}

size_t cc_wire_array_bytes(int width, int ndim, const size_t *shape) {
  size_t n = 1;
  if ((width != 1 && width != 2) || ndim < 0 || ndim > CC_WIRE_MAX_NDIM)
    return 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] > CC_WIRE_MAX_COUNT)
      return 0;
    if (shape[d] != 0 && n > SIZE_MAX / 64 / shape[d])
      return 0;
    n *= shape[d];
  }
  return 1 + 8 * (size_t)width + 1 + 4 * (size_t)ndim + 8 * (size_t)width * n;
}

static int read_payload(cc_wire_reader *r, cc_wire_item *it) {
  switch (it->kind) {
  case CC_WIRE_NIL:
  case CC_WIRE_FALSE:
  case CC_WIRE_TRUE:
    return 0;
  case CC_WIRE_INT:
    if (need(r, 8, "integer", it->offset) != 0)
      return -1;
    it->integer = u64_to_int(get_u64(r->in + r->pos));
    r->pos += 8;
    return 0;
  case CC_WIRE_FLOAT:
    if (need(r, 8, "float", it->offset) != 0)
      return -1;
    it->number = u64_to_float(get_u64(r->in + r->pos));
    r->pos += 8;
    return 0;
  case CC_WIRE_STRING:
    return read_string(r, it);
  case CC_WIRE_TABLE:
    return read_table(r, it);
  case CC_WIRE_ARRAY:
  case CC_WIRE_ARRAY128:
    return read_array(r, it);
  default:
    return fail(r, "unknown value tag 0x%02x at byte %zu", (unsigned)it->kind, it->offset);
  }
}

int cc_wire_next(cc_wire_reader *r, cc_wire_item *it) {
  if (r->failed)
    return -1;
  if (r->started && r->depth == 0)
    return cc_wire_reader_finish(r) == 0 ? 0 : -1;
  memset(it, 0, sizeof *it);
  it->offset = r->pos;
  it->depth = r->depth;
  take_role(r, it);
  r->started = 1;
  if (r->pos >= r->len)
    return fail(r, "truncated input: expected a value at byte %zu", r->pos);
  if (++r->nelements > r->limits.max_elements)
    return fail(r, "too many values: more than %zu at byte %zu", r->limits.max_elements,
                it->offset);
  it->kind = (cc_wire_kind)r->in[r->pos++];
  if (read_payload(r, it) != 0 || check_role(r, it) != 0)
    return -1;
  close_finished(r);
  return 1;
}

int cc_wire_reader_finish(cc_wire_reader *r) {
  if (r->failed)
    return -1;
  if (!r->started || r->depth > 0)
    return fail(r, "truncated input: the value is incomplete at byte %zu", r->pos);
  if (r->pos != r->len)
    return fail(r, "trailing bytes: the value ends at byte %zu but the input has %zu bytes",
                r->pos, r->len);
  return 0;
}

int cc_wire_validate(const void *in, size_t len, const cc_wire_limits *limits, char *err,
                     size_t errsz) {
  cc_wire_reader *r = malloc(sizeof *r); /* the open-table stack is a few KiB */
  cc_wire_item it;
  int rc;
  if (r == NULL) {
    set_error(err, errsz, "out of memory");
    return -1;
  }
  cc_wire_reader_init(r, in, len, limits);
  while ((rc = cc_wire_next(r, &it)) == 1)
    ;
  if (rc != 0)
    set_error(err, errsz, "%s", cc_wire_reader_error(r));
  free(r);
  return rc;
}
