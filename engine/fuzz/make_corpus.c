/*
 * make_corpus.c - writes the seed corpus of fuzz_wire: a few small valid
 * value encodings made with the writer, and a frame header followed by a
 * value, one file each, into the directory named by argv[1].
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "core/wire.h"

static int save(const char *dir, const char *name, cc_buf *b) {
  char path[1024];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
    fprintf(stderr, "make_corpus: cannot write %s\n", path);
    return -1;
  }
  b->len = 0;
  return 0;
}

int main(int argc, char **argv) {
  static const uint64_t words[6] = {0, 1, 2, 94, 95, 96};
  static const uint64_t big[2] = {1, UINT64_C(18446744073709551556)};
  size_t shape[2] = {2, 3};
  cc_buf b;
  int bad = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  cc_buf_init(&b);
  cc_wire_put_nil(&b);
  bad |= save(argv[1], "nil", &b);
  cc_wire_put_int(&b, INT64_MIN);
  bad |= save(argv[1], "mininteger", &b);
  cc_wire_put_float(&b, -0.0);
  bad |= save(argv[1], "minus_zero", &b);
  cc_wire_put_string(&b, "a\0b", 3);
  bad |= save(argv[1], "string", &b);
  cc_wire_put_table(&b, 3, 2);
  cc_wire_put_int(&b, 1);
  cc_wire_put_float(&b, 2.5);
  cc_wire_put_table(&b, 1, 0);
  cc_wire_put_bool(&b, 1);
  cc_wire_put_string(&b, "x", 1);
  cc_wire_put_float(&b, NAN);
  cc_wire_put_float(&b, INFINITY);
  cc_wire_put_bool(&b, 0);
  bad |= save(argv[1], "table", &b);
  cc_wire_put_array(&b, 97, 2, shape, words);
  bad |= save(argv[1], "array_2d", &b);
  shape[0] = 2;
  cc_wire_put_table(&b, 2, 0);
  cc_wire_put_array(&b, UINT64_C(18446744073709551557), 1, shape, big);
  cc_wire_put_array(&b, 2, 0, NULL, words + 1);
  bad |= save(argv[1], "arrays_in_table", &b);
  {
    cc_frame_header h = {CC_WIRE_VERSION, 1, 0, -3, 42, 2, 1};
    uint8_t head[CC_FRAME_HEADER_BYTES];
    cc_frame_pack(&h, head);
    cc_buf_append(&b, head, sizeof head);
    cc_wire_put_nil(&b);
    bad |= save(argv[1], "frame_and_nil", &b);
  }
  cc_buf_free(&b);
  return bad ? 1 : 0;
}
