/*
 * test_wire.c - unit tests for engine/wire.c: buffers, frame headers, the
 * value writer and the reader's refusals of malformed input; and for
 * engine/core/control.c: the link HELLO, the rendezvous lines and the
 * agreement messages, their exact bytes and the parsers' refusals.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/control.h"
#include "core/payload.h"
#include "core/wire.h"
#include "check.h"

/* A prime below 2^64 and a small one. */
#define BIG_PRIME UINT64_C(18446744073709551557)
#define SMALL_PRIME 97

/* ==== Helpers =========================================================== */

/* Validate and expect an error containing `want`. */
static void expect_error_at(const void *in, size_t len, const cc_wire_limits *l,
                            const char *want, int line) {
  char err[256] = "";
  if (cc_wire_validate(in, len, l, err, sizeof err) == 0) {
    fprintf(stderr, "%s:%d: accepted input, expected error \"%s\"\n", __FILE__, line, want);
    failures++;
  } else if (strstr(err, want) == NULL) {
    fprintf(stderr, "%s:%d: error \"%s\" does not contain \"%s\"\n", __FILE__, line, err,
            want);
    failures++;
  }
}
#define EXPECT_ERROR(in, len, l, want) expect_error_at(in, len, l, want, __LINE__)

static void expect_valid_at(const void *in, size_t len, const cc_wire_limits *l, int line) {
  char err[256] = "";
  if (cc_wire_validate(in, len, l, err, sizeof err) != 0) {
    fprintf(stderr, "%s:%d: rejected valid input: %s\n", __FILE__, line, err);
    failures++;
  }
}
#define EXPECT_VALID(in, len, l) expect_valid_at(in, len, l, __LINE__)

static int next_item(cc_wire_reader *r, cc_wire_item *it) {
  int rc = cc_wire_next(r, it);
  if (rc != 1)
    fprintf(stderr, "reader stopped: %d %s\n", rc, cc_wire_reader_error(r));
  return rc;
}

/* The sample value used by several tests:
 * { 7, 2.5, "a\0b", {true, false}, x = INT64_MIN, [1.5] = -0.0,
 *   arr = field array 2x3 of GF(97) } */
static const uint64_t sample_words[6] = {0, 1, 2, 94, 95, 96};

static void write_sample(cc_buf *b) {
  size_t shape[2] = {2, 3};
  size_t at;
  CHECK(cc_wire_put_table(b, 4, 0) == 0);
  at = 0;
  CHECK(cc_wire_put_int(b, 7) == 0);
  CHECK(cc_wire_put_float(b, 2.5) == 0);
  CHECK(cc_wire_put_string(b, "a\0b", 3) == 0);
  CHECK(cc_wire_put_table(b, 2, 0) == 0);
  CHECK(cc_wire_put_bool(b, 1) == 0);
  CHECK(cc_wire_put_bool(b, 0) == 0);
  CHECK(cc_wire_put_string(b, "x", 1) == 0);
  CHECK(cc_wire_put_int(b, INT64_MIN) == 0);
  CHECK(cc_wire_put_float(b, 1.5) == 0);
  CHECK(cc_wire_put_float(b, -0.0) == 0);
  CHECK(cc_wire_put_string(b, "arr", 3) == 0);
  CHECK(cc_wire_put_array(b, SMALL_PRIME, 2, shape, sample_words) == 0);
  CHECK(cc_wire_patch_table(b, at, 4, 3) == 0);
}

/* ==== Buffers =========================================================== */

static void test_buffers(void) {
  cc_buf b;
  uint8_t *p;
  size_t len, i;
  cc_buf_init(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
  for (i = 0; i < 1000; i++)
    CHECK(cc_buf_append(&b, "xy", 2) == 0);
  CHECK(b.len == 2000 && b.cap >= 2000);
  CHECK(cc_buf_reserve(&b, SIZE_MAX) == -1);
  CHECK(b.len == 2000);
  p = cc_buf_steal(&b, &len);
  CHECK(len == 2000 && p != NULL && p[0] == 'x' && p[1999] == 'y');
  CHECK(b.data == NULL && b.len == 0);
  free(p);
  cc_buf_free(&b);
}

/* ==== Frames ============================================================ */

static void test_frames(void) {
  cc_frame_header h = {CC_WIRE_VERSION, 3, 0xbeef, -42, UINT64_C(0x0123456789abcdef),
                       4000000000u, 1234};
  cc_frame_header g;
  uint8_t out[CC_FRAME_HEADER_BYTES];
  char err[128];
  cc_frame_pack(&h, out);
  /* little-endian layout */
  CHECK(out[0] == 1 && out[1] == 3 && out[2] == 0xef && out[3] == 0xbe);
  CHECK(out[4] == 0xd6 && out[7] == 0xff);            /* -42 */
  CHECK(out[8] == 0xef && out[15] == 0x01);           /* context */
  CHECK(out[20] == 0xd2 && out[21] == 0x04);          /* length 1234 */
  CHECK(cc_frame_unpack(out, 1234, 4, &g, err, sizeof err) == 0);
  CHECK(g.version == 1 && g.type == 3 && g.flags == 0xbeef && g.tag == -42);
  CHECK(g.context == h.context && g.source == 4000000000u && g.length == 1234);

  h.tag = INT32_MIN;
  cc_frame_pack(&h, out);
  CHECK(cc_frame_unpack(out, 1234, 4, &g, err, sizeof err) == 0 && g.tag == INT32_MIN);

  CHECK(cc_frame_unpack(out, 1233, 4, &g, err, sizeof err) == -1);
  CHECK(strstr(err, "payload of 1234 bytes is over the limit of 1233") != NULL);
  CHECK(cc_frame_unpack(out, 1234, 3, &g, err, sizeof err) == -1);
  CHECK(strstr(err, "unknown type 3") != NULL);
  out[0] = 2;
  CHECK(cc_frame_unpack(out, 1234, 4, &g, err, sizeof err) == -1);
  CHECK(strstr(err, "wire version 2, expected 1") != NULL);
}

/* ==== Writer and reader ================================================= */

static void test_exact_bytes(void) {
  static const uint8_t want[] = {0x07, 2, 0, 0, 0, 0, 0, 0, 0, /* table narr 2 */
                                 0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0x06, 2, 0, 0, 0, 'h', 'i'};
  cc_buf b;
  cc_buf_init(&b);
  CHECK(cc_wire_put_table(&b, 2, 0) == 0);
  CHECK(cc_wire_put_int(&b, -1) == 0);
  CHECK(cc_wire_put_string(&b, "hi", 2) == 0);
  CHECK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
  EXPECT_VALID(b.data, b.len, NULL);
  cc_buf_free(&b);
}

static void test_round_trip(void) {
  cc_buf b;
  cc_wire_reader r;
  cc_wire_item it;
  uint64_t words[6];
  cc_buf_init(&b);
  write_sample(&b);
  cc_wire_reader_init(&r, b.data, b.len, NULL);

  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_TABLE && it.role == CC_WIRE_ROLE_TOP);
  CHECK(it.narr == 4 && it.nhash == 3 && it.depth == 0 && it.offset == 0);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_INT && it.integer == 7);
  CHECK(it.role == CC_WIRE_ROLE_ITEM && it.index == 1 && it.depth == 1);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_FLOAT && it.number == 2.5);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_STRING && it.len == 3);
  CHECK(memcmp(it.bytes, "a\0b", 3) == 0 && it.index == 3);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_TABLE && it.narr == 2);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_TRUE && it.depth == 2);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_FALSE && it.index == 2);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_STRING && it.role == CC_WIRE_ROLE_KEY);
  CHECK(it.depth == 1);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_INT && it.integer == INT64_MIN);
  CHECK(it.role == CC_WIRE_ROLE_VALUE);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_FLOAT && it.number == 1.5);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_FLOAT && it.number == 0.0);
  CHECK(signbit(it.number));
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_STRING);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY && it.order == SMALL_PRIME);
  CHECK(it.ndim == 2 && it.shape[0] == 2 && it.shape[1] == 3 && it.nwords == 6);
  cc_wire_load_words(words, it.words, it.nwords);
  CHECK(memcmp(words, sample_words, sizeof words) == 0);
  CHECK(cc_wire_next(&r, &it) == 0);
  CHECK(cc_wire_next(&r, &it) == 0);
  cc_buf_free(&b);
}

static void test_special_numbers(void) {
  const double floats[] = {INFINITY, -INFINITY, NAN, -0.0, 3.0, 1e-310};
  const int64_t ints[] = {INT64_MIN, INT64_MAX, 0, -1, 3};
  cc_buf b;
  cc_wire_reader r;
  cc_wire_item it;
  size_t i;
  for (i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    cc_buf_init(&b);
    CHECK(cc_wire_put_float(&b, floats[i]) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_FLOAT);
    CHECK(memcmp(&it.number, &floats[i], sizeof(double)) == 0);
    CHECK(cc_wire_next(&r, &it) == 0);
    cc_buf_free(&b);
  }
  for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    cc_buf_init(&b);
    CHECK(cc_wire_put_int(&b, ints[i]) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_INT && it.integer == ints[i]);
    CHECK(cc_wire_next(&r, &it) == 0);
    cc_buf_free(&b);
  }
}

static void test_arrays(void) {
  size_t shape[2] = {0, 5};
  uint64_t one = 5, big[2] = {0, BIG_PRIME - 1};
  cc_buf b;
  cc_buf_init(&b);
  CHECK(cc_wire_put_array(&b, 7, 0, NULL, &one) == 0);
  EXPECT_VALID(b.data, b.len, NULL);
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 7, 2, shape, NULL) == 0); /* empty 0x5 */
  EXPECT_VALID(b.data, b.len, NULL);
  b.len = 0;
  shape[0] = 2;
  CHECK(cc_wire_put_array(&b, BIG_PRIME, 1, shape, big) == 0);
  EXPECT_VALID(b.data, b.len, NULL);
  CHECK(cc_wire_put_array(&b, 7, 3, shape, big) == -1);
  b.len = 0;
  /* 2^127 - 1: tag 0x09, the order's two words, elements as (lo, hi). */
  {
    const uint64_t wide[4] = {UINT64_MAX - 1, UINT64_C(0x7FFFFFFFFFFFFFFF), 5, 0};
    cc_wire_reader r;
    cc_wire_item it;
    uint64_t back[4];
    CHECK(cc_wire_put_array128(&b, UINT64_MAX, UINT64_C(0x7FFFFFFFFFFFFFFF), 1, shape, wide) == 0);
    CHECK(b.len == 1 + 16 + 1 + 4 + 32 && b.data[0] == 0x09);
    EXPECT_VALID(b.data, b.len, NULL);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    CHECK(cc_wire_next(&r, &it) == 1);
    CHECK(it.kind == CC_WIRE_ARRAY128 && it.order == UINT64_MAX &&
          it.order_hi == UINT64_C(0x7FFFFFFFFFFFFFFF) && it.nwords == 4 && it.shape[0] == 2);
    cc_wire_load_words(back, it.words, 4);
    CHECK(memcmp(back, wide, sizeof back) == 0);
    CHECK(cc_wire_put_array128(&b, 97, 0, 1, shape, wide) == -1);
  }
  cc_buf_free(&b);
}

/* ==== Refusals ========================================================== */

static void test_every_prefix_is_refused(void) {
  cc_buf b;
  size_t n;
  cc_buf_init(&b);
  write_sample(&b);
  EXPECT_VALID(b.data, b.len, NULL);
  for (n = 0; n < b.len; n++) {
    /* a copy of exactly n bytes, so ASan catches any read past the end */
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, b.data, n);
    EXPECT_ERROR(p, n, NULL, "truncated input");
    free(p);
  }
  cc_buf_free(&b);
}

static void test_trailing_bytes(void) {
  static const uint8_t in[] = {0x03, 0x01};
  EXPECT_ERROR(in, sizeof in, NULL, "trailing bytes: the value ends at byte 1 but the input has 2 bytes");
}

static void test_bad_tags(void) {
  static const uint8_t zero[] = {0x00};
  static const uint8_t ten[] = {0x07, 1, 0, 0, 0, 0, 0, 0, 0, 0x0a};
  EXPECT_ERROR(zero, sizeof zero, NULL, "unknown value tag 0x00 at byte 0");
  EXPECT_ERROR(ten, sizeof ten, NULL, "unknown value tag 0x0a at byte 9");
}

static void test_oversized_declarations(void) {
  static const uint8_t str[] = {0x06, 0xff, 0xff, 0xff, 0xff, 'a'};
  static const uint8_t table[] = {0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  /* outer table of 3 whose first item is a table of 2: needs 2 + 2 bytes */
  static const uint8_t nested[] = {0x07, 3, 0, 0, 0, 0, 0, 0, 0,
                                   0x07, 2, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x03, 0x03};
  static const uint8_t array[] = {0x08, 97, 0, 0, 0, 0, 0, 0, 0, 2,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_ERROR(str, sizeof str, NULL,
               "truncated input: string at byte 0 needs 4294967295 more bytes, 1 remain");
  EXPECT_ERROR(table, sizeof table, NULL, "table at byte 0 declares 12884901885 items");
  EXPECT_ERROR(nested, sizeof nested, NULL,
               "table at byte 9 declares 2 items but only 3 bytes remain for them and 2 more");
  EXPECT_ERROR(array, sizeof array, NULL,
               "field array at byte 0 declares 18446744065119617025 words");
}

static void test_limits(void) {
  cc_wire_limits l;
  cc_buf b;
  size_t i;
  cc_buf_init(&b);
  /* 64 nested tables pass, 65 do not */
  for (i = 0; i < 64; i++)
    CHECK(cc_wire_put_table(&b, i == 63 ? 0 : 1, 0) == 0);
  EXPECT_VALID(b.data, b.len, NULL);
  b.len = 0;
  for (i = 0; i < 65; i++)
    CHECK(cc_wire_put_table(&b, i == 64 ? 0 : 1, 0) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "nesting too deep: table at byte 576 is more than 64");

  cc_wire_limits_default(&l);
  l.max_elements = 3;
  b.len = 0;
  CHECK(cc_wire_put_table(&b, 2, 0) == 0);
  CHECK(cc_wire_put_int(&b, 1) == 0);
  CHECK(cc_wire_put_int(&b, 2) == 0);
  EXPECT_VALID(b.data, b.len, &l);
  CHECK(cc_wire_patch_table(&b, 0, 3, 0) == 0);
  CHECK(cc_wire_put_int(&b, 3) == 0);
  EXPECT_ERROR(b.data, b.len, &l, "too many values: more than 3 at byte 27");

  cc_wire_limits_default(&l);
  l.max_bytes = b.len - 1;
  EXPECT_ERROR(b.data, b.len, &l, "input of 36 bytes is over the limit of 35 bytes");
  cc_buf_free(&b);
}

static void test_keys_and_values(void) {
  cc_buf b;
  cc_buf_init(&b);
  CHECK(cc_wire_put_table(&b, 0, 1) == 0);
  CHECK(cc_wire_put_nil(&b) == 0);
  CHECK(cc_wire_put_int(&b, 1) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "table key at byte 9 is nil");
  b.len = 0;
  CHECK(cc_wire_put_table(&b, 0, 1) == 0);
  CHECK(cc_wire_put_float(&b, NAN) == 0);
  CHECK(cc_wire_put_int(&b, 1) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "table key at byte 9 is NaN");
  b.len = 0;
  CHECK(cc_wire_put_table(&b, 0, 1) == 0);
  CHECK(cc_wire_put_int(&b, 1) == 0);
  CHECK(cc_wire_put_nil(&b) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "table value at byte 18 is nil");
  b.len = 0;
  CHECK(cc_wire_put_table(&b, 2, 0) == 0);
  CHECK(cc_wire_put_int(&b, 1) == 0);
  CHECK(cc_wire_put_nil(&b) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "array value 2 at byte 18 is nil");
  /* a table may be a key, NaN may be a value */
  b.len = 0;
  CHECK(cc_wire_put_table(&b, 0, 1) == 0);
  CHECK(cc_wire_put_table(&b, 0, 0) == 0);
  CHECK(cc_wire_put_float(&b, NAN) == 0);
  EXPECT_VALID(b.data, b.len, NULL);
  cc_buf_free(&b);
}

static void test_bad_arrays(void) {
  uint64_t words[2] = {3, 97};
  size_t shape[1] = {2};
  cc_buf b;
  cc_buf_init(&b);
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0: word 1 is 97, not below the order 97");
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 96, 1, shape, words) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0 has an invalid order");
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 0, 1, shape, words) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0 has an invalid order");
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  b.data[9] = 3;
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0 has 3 dimensions (0, 1 or 2 allowed)");
  /* 0x09: an element at the order, a composite order, an order below 2^64
   * under the wide tag, and a shape longer than the input. */
  {
    const uint64_t m127_lo = UINT64_MAX, m127_hi = UINT64_C(0x7FFFFFFFFFFFFFFF);
    uint64_t wide[4] = {3, 0, m127_lo, m127_hi};
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, shape, wide) == 0);
    EXPECT_ERROR(b.data, b.len, NULL,
                 "field array at byte 0: element 1 is 170141183460469231731687303715884105727, "
                 "not below the order 170141183460469231731687303715884105727");
    wide[2] = 0;
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo - 1, m127_hi, 1, shape, wide) == 0);
    EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0 has an invalid order");
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, shape, wide) == 0);
    memset(b.data + 9, 0, 8); /* order_hi = 0 */
    EXPECT_ERROR(b.data, b.len, NULL, "tag 0x09 with an order below 2^64");
    {
      /* also right after a 0x08 array of that order checked it */
      const size_t one = 1;
      cc_buf t;
      cc_buf_init(&t);
      CHECK(cc_wire_put_table(&t, 2, 0) == 0);
      CHECK(cc_wire_put_array(&t, BIG_PRIME, 1, &one, wide) == 0);
      CHECK(cc_wire_put_array128(&t, BIG_PRIME, 1, 1, &one, wide) == 0);
      memset(t.data + t.len - 16 - 4 - 1 - 8, 0, 8); /* the second one's order_hi */
      EXPECT_ERROR(t.data, t.len, NULL, "tag 0x09 with an order below 2^64");
      cc_buf_free(&t);
    }
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, shape, wide) == 0);
    b.data[18] = 3; /* 3 elements, 2 present */
    EXPECT_ERROR(b.data, b.len, NULL,
                 "truncated input: field array at byte 0 declares 3 elements of 16 bytes, "
                 "32 bytes remain");
    b.data[17] = 3;
    EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0 has 3 dimensions");
  }
  cc_buf_free(&b);
}


/* ==== Control messages ================================================== */

/* A parser's result: refused, with a message that contains `want`. */
static void expect_refused_at(int rc, const char *err, const char *want, int line) {
  if (rc == 0) {
    fprintf(stderr, "%s:%d: accepted, expected error \"%s\"\n", __FILE__, line, want);
    failures++;
  } else if (strstr(err, want) == NULL) {
    fprintf(stderr, "%s:%d: error \"%s\" does not contain \"%s\"\n", __FILE__, line, err, want);
    failures++;
  }
}
#define EXPECT_REFUSED(rc, err, want) expect_refused_at(rc, err, want, __LINE__)

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void test_hello(void) {
  /* magic, step, world, rank, nonce, mac */
  static const uint8_t head[13] = {0x43, 0x43, 0x44, 0x41, 2, 5, 0, 0, 0, 3, 0, 0, 0};
  cc_hello h, back;
  uint8_t b[CC_HELLO_BYTES];
  char err[160] = "";
  memset(&h, 0, sizeof h);
  h.step = CC_HELLO_ANSWER;
  h.world_size = 5;
  h.rank = 3;
  for (int i = 0; i < CC_HELLO_NONCE_BYTES; i++) h.nonce[i] = (uint8_t)(i + 1);
  for (int i = 0; i < CC_HELLO_MAC_BYTES; i++) h.mac[i] = (uint8_t)(0x80 + i);
  CHECK(CC_HELLO_BYTES == 61);
  cc_hello_pack(&h, b);
  CHECK(memcmp(b, head, sizeof head) == 0);
  CHECK(memcmp(b + 13, h.nonce, CC_HELLO_NONCE_BYTES) == 0);
  CHECK(memcmp(b + 13 + CC_HELLO_NONCE_BYTES, h.mac, CC_HELLO_MAC_BYTES) == 0);
  CHECK(cc_hello_parse(b, sizeof b, &back, err, sizeof err) == 0);
  CHECK(back.step == CC_HELLO_ANSWER && back.world_size == 5 && back.rank == 3 &&
        memcmp(back.nonce, h.nonce, sizeof h.nonce) == 0 &&
        memcmp(back.mac, h.mac, sizeof h.mac) == 0);
  CHECK(cc_hello_check(&back, 5, 0, -1, err, sizeof err) == 0);
  CHECK(cc_hello_check(&back, 5, 0, 3, err, sizeof err) == 0);

  for (size_t len = 0; len < sizeof b; len++)
    EXPECT_REFUSED(cc_hello_parse(b, len, &back, err, sizeof err), err, "HELLO of");
  EXPECT_REFUSED(cc_hello_parse(b, 62, &back, err, sizeof err), err, "HELLO of 62 bytes");
  CHECK(cc_hello_parse(NULL, 0, &back, err, sizeof err) != 0);

  b[3] = 0x42;
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err,
                 "magic 0x42444343, expected 0x41444343");
  CHECK(back.world_size == 5 && back.rank == 3);   /* filled for the caller's message */
  cc_hello_pack(&h, b);
  b[4] = 4;
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err, "step 4");
  b[4] = CC_HELLO_DIAL;   /* a DIAL proves nothing yet: it carries no mac */
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err, "step 1 carries a mac");
  b[4] = CC_HELLO_CONFIRM;  /* a CONFIRM brings no nonce */
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err, "step 3 carries a nonce");
  cc_hello_pack(&h, b);
  put_le(b + 5, 0, 4);
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err, "world of 0 players");
  put_le(b + 5, UINT32_C(0x80000000), 4);
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err,
                 "world of 2147483648 players");
  put_le(b + 5, 5, 4);
  put_le(b + 9, 5, 4);
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err,
                 "player 5, outside a world of 5");
  put_le(b + 9, UINT32_MAX, 4);
  EXPECT_REFUSED(cc_hello_parse(b, sizeof b, &back, err, sizeof err), err, "player 4294967295");

  EXPECT_REFUSED(cc_hello_check(&h, 6, 0, -1, err, sizeof err), err,
                 "world of 5 players, this one has 6");
  EXPECT_REFUSED(cc_hello_check(&h, 5, 3, -1, err, sizeof err), err, "own rank");
  EXPECT_REFUSED(cc_hello_check(&h, 5, 0, 2, err, sizeof err), err, "made to player 2");
  h.rank = 7;
  EXPECT_REFUSED(cc_hello_check(&h, 5, 0, -1, err, sizeof err), err, "outside a world of 5");
}

#define NONCE "0123456789abcdef0123456789abcdef"
#define MAC NONCE "fedcba9876543210fedcba9876543210"

static void test_rendezvous_join(void) {
  cc_rdv_join j, back;
  char line[CC_RDV_LINE_MAX + 2], err[200] = "", bad[700];
  int n;
  memset(&j, 0, sizeof j);
  j.world_size = 3;
  j.rank = 2;
  memcpy(j.nonce, NONCE, CC_RDV_NONCE_CHARS);
  memcpy(j.mac, MAC, CC_RDV_MAC_CHARS);
  j.tls = true;
  j.port = 4242;
  strcpy(j.host, "node-7.example");
  n = cc_rdv_join_pack(&j, line, sizeof line);
  CHECK(n > 0 && strcmp(line, "CICADA 2 3 2 " NONCE " tls 4242 " MAC " node-7.example\n") == 0);
  CHECK(cc_rdv_join_parse(line, (size_t)n - 1, &back, err, sizeof err) == 0);
  CHECK(back.world_size == 3 && back.rank == 2 && back.tls && back.port == 4242);
  CHECK(strcmp(back.nonce, NONCE) == 0 && strcmp(back.mac, MAC) == 0 && strcmp(back.host, "node-7.example") == 0);
  j.tls = false;
  strcpy(j.host, "-");
  n = cc_rdv_join_pack(&j, line, sizeof line);
  CHECK(n > 0 && strcmp(line, "CICADA 2 3 2 " NONCE " plain 4242 " MAC " -\n") == 0);
  CHECK(cc_rdv_join_parse(line, (size_t)n - 1, &back, err, sizeof err) == 0);
  CHECK(!back.tls && strcmp(back.host, "-") == 0);
  for (int len = 0; len < n - 1; len++)
    CHECK(cc_rdv_join_parse(line, (size_t)len, &back, err, sizeof err) != 0);

  /* what the packer refuses to write */
  CHECK(cc_rdv_join_pack(&j, line, 20) == -1);
  j.rank = 3;
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);
  j.rank = 2;
  j.port = 0;
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);
  j.port = 1;
  strcpy(j.host, "two words");
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);
  strcpy(j.host, "");
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);
  strcpy(j.host, "h");
  j.nonce[0] = 'A';
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);
  j.nonce[0] = '0';
  j.mac[63] = 'g';
  CHECK(cc_rdv_join_pack(&j, line, sizeof line) == -1);

#define JOIN_REFUSED(text, want) \
  EXPECT_REFUSED(cc_rdv_join_parse(text, strlen(text), &back, err, sizeof err), err, want)
  JOIN_REFUSED("HELLO 2 3 2 " NONCE " tls 1 " MAC " h", "not CICADA");
  JOIN_REFUSED("CICADA 1 3 2 " NONCE " tls 1 " MAC " h", "rendezvous version 1, expected 2");
  JOIN_REFUSED("CICADA 2 0 0 " NONCE " tls 1 " MAC " h", "world size 0 is below 1");
  JOIN_REFUSED("CICADA 2 3 3 " NONCE " tls 1 " MAC " h", "rank 3 is outside a world of 3");
  JOIN_REFUSED("CICADA 2 3 -1 " NONCE " tls 1 " MAC " h", "rank '-1' is not a decimal number");
  JOIN_REFUSED("CICADA 2 3 +1 " NONCE " tls 1 " MAC " h", "rank '+1' is not a decimal number");
  JOIN_REFUSED("CICADA 2 03 1 " NONCE " tls 1 " MAC " h", "leading zero");
  JOIN_REFUSED("CICADA 2 2147483648 1 " NONCE " tls 1 " MAC " h", "world size '2147483648' is over");
  JOIN_REFUSED("CICADA 2 99999999999999999999999 1 " NONCE " tls 1 " MAC " h", "too long a number");
  JOIN_REFUSED("CICADA 2 3 1 0123 tls 1 " MAC " h", "nonce has 4 characters");
  JOIN_REFUSED("CICADA 2 3 1 " "0123456789ABCDEF0123456789abcdef" " tls 1 " MAC " h", "not lowercase hex");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " ssl 1 " MAC " h", "neither tls nor plain");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 0 " MAC " h", "port 0");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 65536 " MAC " h", "port '65536' is over 65535");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1", "line ends after field 7 (port)");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1 " MAC " h ", "trailing bytes after field 9 (host)");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1 " MAC " h extra", "trailing bytes");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE "  tls 1 " MAC " h", "field 6 (security) is empty");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1 0123 h", "mac has 4 characters");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1 " MAC " h\r", "control byte 0x0d");
  JOIN_REFUSED("CICADA 2 3 1 " NONCE " tls 1 " MAC " h\t", "control byte 0x09");
  JOIN_REFUSED("", "line ends before field 1");
  /* a zero byte inside the line */
  n = snprintf(bad, sizeof bad, "CICADA 2 3 1 " NONCE " tls 1 " MAC " h");
  bad[8] = '\0';
  EXPECT_REFUSED(cc_rdv_join_parse(bad, (size_t)n, &back, err, sizeof err), err, "control byte 0x00");
  /* a host name over 255 bytes, and a line over the limit */
  n = snprintf(bad, sizeof bad, "CICADA 2 3 1 " NONCE " tls 1 " MAC " ");
  memset(bad + n, 'h', 256);
  bad[n + 256] = '\0';
  JOIN_REFUSED(bad, "host of 256 bytes is over 255");
  bad[n + 255] = '\0';
  CHECK(cc_rdv_join_parse(bad, strlen(bad), &back, err, sizeof err) == 0);
  memset(bad + n, 'h', 500);
  bad[n + 500] = '\0';
  JOIN_REFUSED(bad, "line of 617 bytes is over 510");
#undef JOIN_REFUSED
}

static void test_rendezvous_replies(void) {
  cc_rdv_reply r;
  cc_rdv_entry e, eb;
  char line[CC_RDV_LINE_MAX + 2], err[200] = "", msg[800];
  int n;
  n = cc_rdv_ok_pack(UINT64_C(0x00ab00cd00ef0012), MAC, line, sizeof line);
  CHECK(n == 85 && strcmp(line, "OK 00ab00cd00ef0012 " MAC "\n") == 0);
  CHECK(cc_rdv_reply_parse(line, (size_t)n - 1, &r, err, sizeof err) == 0);
  CHECK(r.ok && r.token == UINT64_C(0x00ab00cd00ef0012) && strcmp(r.mac, MAC) == 0);
  CHECK(cc_rdv_ok_pack(1, "0123", line, sizeof line) == -1);
  n = cc_rdv_challenge_pack(NONCE, line, sizeof line);
  CHECK(n > 0 && strcmp(line, "CHALLENGE " NONCE "\n") == 0);
  CHECK(cc_rdv_challenge_parse(line, (size_t)n - 1, msg, err, sizeof err) == 0 &&
        strcmp(msg, NONCE) == 0);
  EXPECT_REFUSED(cc_rdv_challenge_parse("CHALLENGE 0123", 14, msg, err, sizeof err), err,
                 "nonce has 4 characters");
  EXPECT_REFUSED(cc_rdv_challenge_parse("OK " NONCE, 35, msg, err, sizeof err), err,
                 "not CHALLENGE");
  n = cc_rdv_ok_pack(UINT64_C(0x00ab00cd00ef0012), MAC, line, sizeof line);
  for (int len = 0; len < n - 1; len++)
    CHECK(cc_rdv_reply_parse(line, (size_t)len, &r, err, sizeof err) != 0);

  n = cc_rdv_err_pack("token_mismatch", "player 2 presented another world's token", line,
                      sizeof line);
  CHECK(n > 0 && strcmp(line, "ERR token_mismatch player 2 presented another world's token\n") == 0);
  CHECK(cc_rdv_reply_parse(line, (size_t)n - 1, &r, err, sizeof err) == 0);
  CHECK(!r.ok && strcmp(r.kind, "token_mismatch") == 0 &&
        strcmp(r.message, "player 2 presented another world's token") == 0);
  n = cc_rdv_err_pack("invalid", "", line, sizeof line);
  CHECK(n > 0 && strcmp(line, "ERR invalid \n") == 0);
  CHECK(cc_rdv_reply_parse(line, (size_t)n - 1, &r, err, sizeof err) == 0 && r.message[0] == '\0');
  /* an overlong message is cut so that the line keeps its end; control
   * bytes cannot end it early */
  memset(msg, 'm', sizeof msg - 1);
  msg[sizeof msg - 1] = '\0';
  msg[3] = '\n';
  n = cc_rdv_err_pack("startup_timeout", msg, line, sizeof line);
  CHECK(n == CC_RDV_LINE_MAX + 1 && line[n - 1] == '\n' && line[n] == '\0' && line[23] == '?');
  CHECK(cc_rdv_reply_parse(line, (size_t)n - 1, &r, err, sizeof err) == 0);
  CHECK(cc_rdv_err_pack("Bad-Kind", "x", line, sizeof line) == -1);
  CHECK(cc_rdv_err_pack("", "x", line, sizeof line) == -1);
  CHECK(cc_rdv_err_pack("invalid", "x", line, 10) == -1);

#define REPLY_REFUSED(text, want) \
  EXPECT_REFUSED(cc_rdv_reply_parse(text, strlen(text), &r, err, sizeof err), err, want)
  REPLY_REFUSED("OK", "neither OK nor ERR");
  REPLY_REFUSED("OK 0123 " MAC, "world id has 4 characters");
  REPLY_REFUSED("OK 00AB00CD00EF0012 " MAC, "not lowercase hex");
  REPLY_REFUSED("OK 00ab00cd00ef0012", "line ends after field 2 (world id)");
  REPLY_REFUSED("OK 00ab00cd00ef0012 " MAC " ", "trailing bytes");
  REPLY_REFUSED("OK  00ab00cd00ef0012 " MAC, "empty");
  REPLY_REFUSED("ERR token_mismatch", "line ends after field 2 (kind)");
  REPLY_REFUSED("ERR Token player 2", "error kind 'Token'");
  REPLY_REFUSED("ERR invalid bell\a", "control byte 0x07");
  REPLY_REFUSED("NOPE", "neither OK nor ERR");
#undef REPLY_REFUSED

  e.port = 65535;
  strcpy(e.host, "::1");
  n = cc_rdv_entry_pack(&e, line, sizeof line);
  CHECK(n > 0 && strcmp(line, "65535 ::1\n") == 0);
  CHECK(cc_rdv_entry_parse(line, (size_t)n - 1, &eb, err, sizeof err) == 0);
  CHECK(eb.port == 65535 && strcmp(eb.host, "::1") == 0);
  for (int len = 0; len <= 6; len++)   /* up to "65535 ": the host is missing */
    CHECK(cc_rdv_entry_parse(line, (size_t)len, &eb, err, sizeof err) != 0);
  e.port = 0;
  CHECK(cc_rdv_entry_pack(&e, line, sizeof line) == -1);
#define ENTRY_REFUSED(text, want) \
  EXPECT_REFUSED(cc_rdv_entry_parse(text, strlen(text), &eb, err, sizeof err), err, want)
  ENTRY_REFUSED("0 h", "port 0");
  ENTRY_REFUSED("70000 h", "port '70000' is over 65535");
  ENTRY_REFUSED("x1 h", "port 'x1' is not a decimal number");
  ENTRY_REFUSED("80", "line ends after field 1 (port)");
  ENTRY_REFUSED("80 a b", "trailing bytes");
#undef ENTRY_REFUSED
}

static void test_agreement(void) {
  /* The bytes agree.c has always sent. */
  static const uint8_t vote_named[] = {7, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 'a', 'b', 'c'};
  static const uint8_t vote_plain[] = {7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  static const uint8_t estimate[] = {9, 0, 0, 0, 2, 2, 0, 0, 0, 1, 3, 0, 0, 0,
                                     0, 2, 1, 0, 0, 0, 'x', 1};
  uint8_t state[3] = {0, 2, 1}, sback[4];
  char *names[3] = {NULL, "x", NULL}, *nback[4] = {NULL, NULL, NULL, NULL}, *name;
  char err[200] = "";
  cc_agree_header h;
  cc_buf b;
  bool flag;
  uint8_t st;
  cc_buf_init(&b);

  CHECK(cc_agree_vote_pack(&b, 7, true, "abc") == 0);
  CHECK(b.len == sizeof vote_named && memcmp(b.data, vote_named, b.len) == 0);
  CHECK(cc_agree_vote_parse(b.data, b.len, &h, &flag, &st, &name, err, sizeof err) == 0);
  CHECK(h.seq == 7 && h.kind == CC_AGREE_VOTE && h.round == 0 && flag &&
        st == CC_AGREE_IN_NAMED && name && strcmp(name, "abc") == 0);
  free(name);
  for (size_t len = 0; len < b.len; len++) {
    CHECK(cc_agree_vote_parse(b.data, len, NULL, &flag, &st, &name, err, sizeof err) != 0);
    CHECK(name == NULL);
  }
  b.len = 0;
  CHECK(cc_agree_vote_pack(&b, 7, false, NULL) == 0);
  CHECK(b.len == sizeof vote_plain && memcmp(b.data, vote_plain, b.len) == 0);
  CHECK(cc_agree_vote_parse(b.data, b.len, NULL, &flag, &st, &name, err, sizeof err) == 0);
  CHECK(!flag && st == CC_AGREE_IN && name == NULL);

  b.len = 0;
  CHECK(cc_agree_estimate_pack(&b, 9, 2, true, 3, state, names) == 0);
  CHECK(b.len == sizeof estimate && memcmp(b.data, estimate, b.len) == 0);
  CHECK(cc_agree_header_parse(b.data, b.len, &h, err, sizeof err) == 0);
  CHECK(h.seq == 9 && h.kind == CC_AGREE_ESTIMATE && h.round == 2);
  CHECK(cc_agree_estimate_parse(b.data, b.len, 3, &h, &flag, sback, nback, err, sizeof err) == 0);
  CHECK(flag && memcmp(sback, state, 3) == 0 && nback[0] == NULL && nback[2] == NULL &&
        nback[1] && strcmp(nback[1], "x") == 0);
  free(nback[1]);
  for (size_t len = 0; len < b.len; len++) {
    CHECK(cc_agree_estimate_parse(b.data, len, 3, NULL, &flag, sback, nback, err, sizeof err) != 0);
    CHECK(nback[0] == NULL && nback[1] == NULL && nback[2] == NULL);
  }
  EXPECT_REFUSED(cc_agree_estimate_parse(b.data, b.len, 4, NULL, &flag, sback, nback, err,
                                         sizeof err), err, "estimate for 3 members, expected 4");
  EXPECT_REFUSED(cc_agree_vote_parse(b.data, b.len, NULL, &flag, &st, &name, err, sizeof err),
                 err, "not a vote");

  /* the packers refuse what the format cannot say */
  names[1] = NULL;
  CHECK(cc_agree_estimate_pack(&b, 9, 2, true, 3, state, names) == -1);
  state[1] = 3;
  CHECK(cc_agree_estimate_pack(&b, 9, 2, true, 3, state, names) == -1);
  CHECK(b.len == sizeof estimate);   /* left as it was */
  {
    char *longname = malloc(CC_AGREE_NAME_MAX + 2);
    memset(longname, 'n', CC_AGREE_NAME_MAX + 1);
    longname[CC_AGREE_NAME_MAX + 1] = '\0';
    CHECK(cc_agree_vote_pack(&b, 1, true, longname) == -1);
    longname[CC_AGREE_NAME_MAX] = '\0';
    b.len = 0;
    CHECK(cc_agree_vote_pack(&b, 1, true, longname) == 0);
    CHECK(cc_agree_vote_parse(b.data, b.len, NULL, &flag, &st, &name, err, sizeof err) == 0);
    free(name);
    free(longname);
  }

  /* malformed fields */
  {
    uint8_t m[32];
    memcpy(m, vote_named, sizeof vote_named);
    m[4] = 3;
    EXPECT_REFUSED(cc_agree_header_parse(m, sizeof vote_named, &h, err, sizeof err), err,
                   "unknown kind 3");
    m[4] = 1;
    m[5] = 1;
    EXPECT_REFUSED(cc_agree_header_parse(m, sizeof vote_named, &h, err, sizeof err), err,
                   "vote for round 1");
    m[5] = 0;
    m[9] = 2;
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "flag at byte 9 is 2");
    m[9] = 1;
    m[10] = 0;
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "vote with state 0");
    m[10] = 2;
    m[16] = 0;
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "holds a zero byte");
    m[16] = 'b';
    put_le(m + 11, CC_AGREE_NAME_MAX + 1, 4);
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "of 4097 bytes is over 4096");
    put_le(m + 11, 4, 4);
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "of 4 bytes, 3 remain");
    put_le(m + 11, 3, 4);
    m[sizeof vote_named] = 0;
    EXPECT_REFUSED(cc_agree_vote_parse(m, sizeof vote_named + 1, NULL, &flag, &st, &name, err,
                                       sizeof err), err, "1 trailing bytes");
    CHECK(name == NULL);

    memcpy(m, estimate, sizeof estimate);
    m[14] = 3;
    EXPECT_REFUSED(cc_agree_estimate_parse(m, sizeof estimate, 3, NULL, &flag, sback, nback, err,
                                           sizeof err), err, "member 0 has state 3");
    m[14] = 0;
    m[sizeof estimate] = 1;
    EXPECT_REFUSED(cc_agree_estimate_parse(m, sizeof estimate + 1, 3, NULL, &flag, sback, nback,
                                           err, sizeof err), err, "1 trailing bytes");
    CHECK(nback[1] == NULL);   /* the name read before the trailing byte was freed */
    put_le(m + 10, UINT32_MAX, 4);
    EXPECT_REFUSED(cc_agree_estimate_parse(m, sizeof estimate, -1, NULL, &flag, sback, nback, err,
                                           sizeof err), err, "expected -1");
  }
  cc_buf_free(&b);
}

/* A reader that defers the words' check (cc_wire_reader_defer_words)
 * copies and checks an array in one pass: the same words, and the same
 * refusal, as the reader that checks them itself. */
static void test_deferred_words(void) {
  uint64_t words[5] = {0, 1, 96, 50, 7}, out[5] = {0};
  size_t shape[1] = {5}, wide_shape[1] = {2};
  cc_wire_reader r;
  cc_wire_item it;
  cc_buf b;
  cc_buf_init(&b);
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  CHECK(cc_wire_array_bytes(1, 1, shape) == b.len);
  cc_wire_reader_init(&r, b.data, b.len, NULL);
  cc_wire_reader_defer_words(&r);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY && it.nwords == 5);
  CHECK(cc_wire_load_checked(&r, &it, out) == 0);
  CHECK(memcmp(out, words, sizeof words) == 0);
  CHECK(cc_wire_reader_finish(&r) == 0);
  /* word 3 at the order: refused when copied, with the checking reader's words */
  words[3] = 97;
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0: word 3 is 97, not below the order 97");
  cc_wire_reader_init(&r, b.data, b.len, NULL);
  cc_wire_reader_defer_words(&r);
  CHECK(next_item(&r, &it) == 1);
  CHECK(cc_wire_load_checked(&r, &it, out) == -1);
  CHECK(strstr(cc_wire_reader_error(&r), "word 3 is 97, not below the order 97") != NULL);
  CHECK(cc_wire_next(&r, &it) == -1);   /* the reader stays failed */
  /* 128-bit elements too */
  {
    const uint64_t m127_lo = UINT64_MAX, m127_hi = UINT64_C(0x7FFFFFFFFFFFFFFF);
    uint64_t wide[4] = {3, 0, m127_lo, m127_hi}, wout[4];
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, wide_shape, wide) == 0);
    CHECK(cc_wire_array_bytes(2, 1, wide_shape) == b.len);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY128);
    CHECK(cc_wire_load_checked(&r, &it, wout) == -1);
    CHECK(strstr(cc_wire_reader_error(&r), "element 1 is") != NULL);
    wide[2] = 5;
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, wide_shape, wide) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1);
    CHECK(cc_wire_load_checked(&r, &it, wout) == 0 && memcmp(wout, wide, sizeof wide) == 0);
  }
  /* 128-bit arrays over several of the copy's blocks: every element
   * copied, values just below the order kept, one at the order (in a later
   * block) refused by its index */
  {
    enum { N = 1300 };
    const uint64_t olo = UINT64_MAX, ohi = UINT64_C(0x7FFFFFFFFFFFFFFF); /* 2^127 - 1 */
    static uint64_t big[2 * N], bout[2 * N];
    size_t big_shape[1] = {N};
    for (size_t i = 0; i < N; i++) {
      big[2 * i] = i % 3 == 0 ? olo - 1 - i : UINT64_MAX - i;
      big[2 * i + 1] = i % 3 == 0 ? ohi : ohi - i % 3;
    }
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, olo, ohi, 1, big_shape, big) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY128);
    memset(bout, 0xAB, sizeof bout);
    CHECK(cc_wire_load_checked(&r, &it, bout) == 0 && memcmp(bout, big, sizeof big) == 0);
    big[2 * 1027] = olo;
    big[2 * 1027 + 1] = ohi;
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, olo, ohi, 1, big_shape, big) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1);
    CHECK(cc_wire_load_checked(&r, &it, bout) == -1);
    CHECK(strstr(cc_wire_reader_error(&r), "element 1027 is") != NULL);
  }
  /* sizes of encodings: a scalar, a 2x3 matrix; none for bad widths or shapes */
  {
    size_t m[2] = {2, 3}, huge[2] = {(size_t)1 << 32, 1};
    CHECK(cc_wire_array_bytes(1, 0, m) == 1 + 8 + 1 + 8);
    b.len = 0;
    CHECK(cc_wire_put_array(&b, 97, 2, m, sample_words) == 0);
    CHECK(cc_wire_array_bytes(1, 2, m) == b.len);
    CHECK(cc_wire_array_bytes(3, 1, m) == 0);
    CHECK(cc_wire_array_bytes(1, 3, m) == 0);
    CHECK(cc_wire_array_bytes(1, 2, huge) == 0);
  }
  cc_buf_free(&b);
}

/* An array's header written apart (cc_wire_array_header), followed by its
 * words stored at any alignment (cc_wire_store_words), gives the bytes
 * cc_wire_put_array(128) writes, for every shape and both widths; there
 * is no header for a bad width, order, ndim or size. */
static void test_array_header(void) {
  static const uint64_t words[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  size_t shapes[3][2] = {{0, 0}, {5, 0}, {2, 3}}, huge[2] = {(size_t)1 << 32, 1};
  uint8_t head[CC_WIRE_ARRAY_HEADER_MAX], out[1 + CC_WIRE_ARRAY_HEADER_MAX + 8 * 12];
  cc_buf b;
  cc_buf_init(&b);
  for (int width = 1; width <= 2; width++) {
    for (int ndim = 0; ndim <= 2; ndim++) {
      const size_t *shape = shapes[ndim];
      size_t n = ndim == 0 ? 1 : ndim == 1 ? 5 : 6, len;
      b.len = 0;
      if (width == 2)
        CHECK(cc_wire_put_array128(&b, 5, 7, ndim, shape, words) == 0);
      else
        CHECK(cc_wire_put_array(&b, 97, ndim, shape, words) == 0);
      len = cc_wire_array_header(head, width, width == 2 ? 5 : 97, width == 2 ? 7 : 0, ndim,
                                 shape);
      CHECK(len == 1 + 8 * (size_t)width + 1 + 4 * (size_t)ndim);
      CHECK(len + 8 * n * (size_t)width == b.len);
      CHECK(cc_wire_array_bytes(width, ndim, shape) == b.len);
      memcpy(out + 1, head, len); /* out + 1: words at an odd address */
      cc_wire_store_words(out + 1 + len, words, n * (size_t)width);
      CHECK(memcmp(out + 1, b.data, b.len) == 0);
    }
  }
  CHECK(cc_wire_array_header(head, 3, 97, 0, 1, shapes[1]) == 0);
  CHECK(cc_wire_array_header(head, 1, 97, 1, 1, shapes[1]) == 0); /* width 1, two words */
  CHECK(cc_wire_array_header(head, 2, 97, 0, 1, shapes[1]) == 0); /* width 2, one word */
  CHECK(cc_wire_array_header(head, 1, 97, 0, 3, shapes[2]) == 0);
  CHECK(cc_wire_array_header(head, 1, 97, 0, -1, shapes[2]) == 0);
  CHECK(cc_wire_array_header(head, 1, 97, 0, 2, huge) == 0);
  cc_buf_free(&b);
}

/* An array read in pieces (cc_wire_load_range): every range gives its
 * words; a bad element anywhere is refused with the message of the
 * checking reader, naming the array's first bad element, even when the
 * range read is past it; the message goes to the reader passed, whichever
 * read the item. 128-bit elements compare both words with the order. */
static void test_word_ranges(void) {
  enum { N = 11 };
  uint64_t words[N], out[N];
  size_t shape[1] = {N};
  cc_wire_reader r, other;
  cc_wire_item it;
  cc_buf b;
  for (size_t i = 0; i < N; i++) words[i] = (i * 37) % 97;
  words[N - 1] = 96; /* the largest element */
  cc_buf_init(&b);
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  cc_wire_reader_init(&r, b.data, b.len, NULL);
  cc_wire_reader_defer_words(&r);
  CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY);
  CHECK(cc_wire_reader_finish(&r) == 0);
  for (size_t first = 0; first < N; first++) {
    for (size_t count = 0; first + count <= N; count++) {
      memset(out, 0xff, sizeof out);
      CHECK(cc_wire_load_range(&r, &it, first, count, out) == 0);
      CHECK(count == 0 || memcmp(out, words + first, count * 8) == 0);
      CHECK(count == N || out[count] == UINT64_MAX);   /* nothing more written */
    }
  }
  /* elements 4 and 7 at and above the order: any range with one of them
   * is refused, naming element 4 */
  words[4] = 97;
  words[7] = UINT64_MAX;
  b.len = 0;
  CHECK(cc_wire_put_array(&b, 97, 1, shape, words) == 0);
  cc_wire_reader_init(&r, b.data, b.len, NULL);
  cc_wire_reader_defer_words(&r);
  CHECK(next_item(&r, &it) == 1);
  cc_wire_reader_init(&other, NULL, 0, NULL);
  CHECK(cc_wire_load_range(&other, &it, 0, 4, out) == 0);
  CHECK(cc_wire_load_range(&other, &it, 5, 2, out) == 0);
  CHECK(cc_wire_load_range(&other, &it, 6, 3, out) == -1);
  CHECK(strcmp(cc_wire_reader_error(&other),
               "field array at byte 0: word 4 is 97, not below the order 97") == 0);
  EXPECT_ERROR(b.data, b.len, NULL, "field array at byte 0: word 4 is 97, not below the order 97");
  /* 128-bit: below the order in the high word, at it in both */
  {
    const uint64_t m127_lo = UINT64_MAX, m127_hi = UINT64_C(0x7FFFFFFFFFFFFFFF);
    uint64_t wide[6] = {3, 0, UINT64_MAX, m127_hi - 1, m127_lo - 1, m127_hi}, wout[6];
    size_t wide_shape[1] = {3};
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, wide_shape, wide) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1 && it.kind == CC_WIRE_ARRAY128);
    CHECK(cc_wire_load_range(&r, &it, 0, 3, wout) == 0 && memcmp(wout, wide, sizeof wide) == 0);
    CHECK(cc_wire_load_range(&r, &it, 2, 1, wout) == 0 && memcmp(wout, wide + 4, 16) == 0);
    wide[4] = m127_lo;
    b.len = 0;
    CHECK(cc_wire_put_array128(&b, m127_lo, m127_hi, 1, wide_shape, wide) == 0);
    cc_wire_reader_init(&r, b.data, b.len, NULL);
    cc_wire_reader_defer_words(&r);
    CHECK(next_item(&r, &it) == 1);
    CHECK(cc_wire_load_range(&r, &it, 0, 2, wout) == 0);
    CHECK(cc_wire_load_range(&r, &it, 1, 2, wout) == -1);
    CHECK(strstr(cc_wire_reader_error(&r), "element 2 is") != NULL);
  }
  cc_buf_free(&b);
}

/* Big payloads' buffers are reused: the last reference hands a buffer to
 * the pool, and a payload of a size it fits takes that very buffer; small
 * payloads and far smaller requests do not; the pool keeps a bounded
 * number of buffers and bytes. */
static void test_payload_pool(void) {
  size_t big = CC_PAYLOAD_POOL_MIN_BYTES * 4, nbuf, nbytes;
  cc_payload *p, *q, *many[CC_PAYLOAD_POOL_BUFFERS + 2];
  uint8_t *first;
  cc_payload_pool_drain();
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == 0 && nbytes == 0);
  p = cc_payload_new(big);
  CHECK(p != NULL && p->len == big && p->cap >= big);
  first = p->data;
  memset(p->data, 0xab, big);
  cc_payload_ref(p);
  cc_payload_unref(p);
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == 0);                      /* still referenced */
  cc_payload_unref(p);
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == 1 && nbytes >= big);
  q = cc_payload_new(big - 100);         /* fits: the same buffer */
  CHECK(q != NULL && q->data == first && q->len == big - 100 && q->cap >= big);
  cc_payload_unref(q);
  q = cc_payload_new(CC_PAYLOAD_POOL_MIN_BYTES);   /* a quarter: a buffer of its own */
  CHECK(q != NULL && q->data != first);
  cc_payload_unref(q);
  q = cc_payload_new(100);               /* small: never pooled */
  CHECK(q != NULL && q->data != first);
  cc_payload_unref(q);
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == 2);
  /* A taken buffer (the C API's receive) is the taker's to free. */
  q = cc_payload_new(big);
  CHECK(q != NULL);
  free(q->data);
  q->data = NULL;
  cc_payload_unref(q);
  /* bounded */
  for (int i = 0; i < CC_PAYLOAD_POOL_BUFFERS + 2; i++) many[i] = cc_payload_new(big);
  for (int i = 0; i < CC_PAYLOAD_POOL_BUFFERS + 2; i++) cc_payload_unref(many[i]);
  cc_payload_pool_stats(&nbuf, &nbytes);
  size_t fit = CC_PAYLOAD_POOL_MAX_BYTES / big;   /* buffers of `big` bytes the bytes allow */
  CHECK(nbuf == (fit < CC_PAYLOAD_POOL_BUFFERS ? fit : CC_PAYLOAD_POOL_BUFFERS));
  CHECK(nbytes <= CC_PAYLOAD_POOL_MAX_BYTES);
  p = cc_payload_new(CC_PAYLOAD_POOL_MAX_BYTES);   /* never all of the pool's bytes at once */
  CHECK(p != NULL);
  cc_payload_unref(p);
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbytes <= CC_PAYLOAD_POOL_MAX_BYTES);
  cc_payload_pool_drain();
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == 0 && nbytes == 0);
}

/* A thread that keeps taking the pool's lock while the main thread forks:
 * every child can still use the pool (a child forked while the lock was
 * held would otherwise wait for it forever; alarm() ends such a child). */
static atomic_bool pool_stop;
static void *pool_user(void *arg) {
  (void)arg;
  while (!atomic_load(&pool_stop)) {
    cc_payload *p = cc_payload_new(CC_PAYLOAD_POOL_MIN_BYTES);
    cc_payload_unref(p);
  }
  return NULL;
}

/* A small received message is one allocation: its bytes follow the
 * header, cannot be taken, and go with it; a larger one is an ordinary
 * payload, whose buffer may be taken and freed. */
static void test_payload_received(void) {
  size_t nbuf, nbytes, before;
  cc_payload *p = cc_payload_new_received(48), *q;
  CHECK(p != NULL && p->len == 48 && cc_payload_inline(p));
  CHECK(p->data == (uint8_t *)(p + 1));
  memset(p->data, 0x5a, 48);
  cc_payload_ref(p);
  cc_payload_unref(p);
  CHECK(p->data[47] == 0x5a);           /* still referenced */
  cc_payload_unref(p);
  p = cc_payload_new_received(0);
  CHECK(p != NULL && p->len == 0 && p->data != NULL);
  cc_payload_unref(p);
  p = cc_payload_new_received(CC_PAYLOAD_INLINE_MAX_BYTES);
  CHECK(p != NULL && cc_payload_inline(p));
  cc_payload_unref(p);
  q = cc_payload_new_received(CC_PAYLOAD_INLINE_MAX_BYTES + 1);
  CHECK(q != NULL && q->len == CC_PAYLOAD_INLINE_MAX_BYTES + 1 && !cc_payload_inline(q));
  free(q->data);                         /* a buffer of its own: takeable */
  q->data = NULL;
  cc_payload_unref(q);
  /* A large one still goes back to the pool. */
  cc_payload_pool_stats(&before, &nbytes);
  q = cc_payload_new_received(CC_PAYLOAD_POOL_MIN_BYTES);
  CHECK(q != NULL && !cc_payload_inline(q));
  cc_payload_unref(q);
  cc_payload_pool_stats(&nbuf, &nbytes);
  CHECK(nbuf == before + 1 || nbuf == CC_PAYLOAD_POOL_BUFFERS);
}

static void test_payload_pool_fork(void) {
  pthread_t t;
  int stuck = 0;
  atomic_store(&pool_stop, false);
  CHECK(pthread_create(&t, NULL, pool_user, NULL) == 0);
  for (int i = 0; i < 200; i++) {
    int status = 0;
    pid_t pid = fork();
    if (pid == 0) {
      size_t nbuf, nbytes;
      alarm(5);
      cc_payload_pool_stats(&nbuf, &nbytes);
      cc_payload_unref(cc_payload_new(CC_PAYLOAD_POOL_MIN_BYTES));
      _exit(0);
    }
    CHECK(pid > 0);
    if (pid > 0 && (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
                    WEXITSTATUS(status) != 0))
      stuck++;
  }
  atomic_store(&pool_stop, true);
  pthread_join(t, NULL);
  CHECK(stuck == 0);
  cc_payload_pool_drain();
}

int main(void) {
  test_buffers();
  test_frames();
  test_exact_bytes();
  test_round_trip();
  test_special_numbers();
  test_arrays();
  test_every_prefix_is_refused();
  test_trailing_bytes();
  test_bad_tags();
  test_oversized_declarations();
  test_limits();
  test_keys_and_values();
  test_bad_arrays();
  test_deferred_words();
  test_word_ranges();
  test_array_header();
  test_payload_pool();
  test_payload_received();
  test_payload_pool_fork();
  test_hello();
  test_rendezvous_join();
  test_rendezvous_replies();
  test_agreement();
  if (failures != 0) {
    fprintf(stderr, "test_wire: %d checks failed\n", failures);
    return 1;
  }
  printf("test_wire: all checks passed\n");
  return 0;
}
