/*
 * test_wire.c - unit tests for engine/wire.c: buffers, frame headers, the
 * value writer and the reader's refusals of malformed input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  static const uint8_t nine[] = {0x07, 1, 0, 0, 0, 0, 0, 0, 0, 0x09};
  EXPECT_ERROR(zero, sizeof zero, NULL, "unknown value tag 0x00 at byte 0");
  EXPECT_ERROR(nine, sizeof nine, NULL, "unknown value tag 0x09 at byte 9");
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
  cc_buf_free(&b);
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
  if (failures != 0) {
    fprintf(stderr, "test_wire: %d checks failed\n", failures);
    return 1;
  }
  printf("test_wire: all checks passed\n");
  return 0;
}
