/*
 * fuzz_wire.c - libFuzzer target for engine/wire.c: the frame header and the
 * value reader.
 *
 * Any input must be read without a crash, a leak or undefined behaviour.
 * Beyond that, two oracles: a header that unpacks packs back to the same 24
 * bytes, and a value the reader accepts is rewritten by the writer, item by
 * item, into exactly the input bytes (the format has one encoding per item
 * sequence, so the reader accepted nothing the writer could not produce).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"

#define FUZZ_FRAME_TYPES 8
#define FUZZ_MAX_PAYLOAD_BYTES (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_frame(const uint8_t *data, size_t size) {
  cc_frame_header h;
  uint8_t again[CC_FRAME_HEADER_BYTES];
  char err[128];
  if (size < CC_FRAME_HEADER_BYTES)
    return;
  if (cc_frame_unpack(data, FUZZ_MAX_PAYLOAD_BYTES, FUZZ_FRAME_TYPES, &h, err, sizeof err) != 0)
    return;
  cc_frame_pack(&h, again);
  if (memcmp(again, data, CC_FRAME_HEADER_BYTES) != 0)
    abort();
}

/* Append the item as the writer would; 0, or -1 if the writer refused. */
static int rewrite_item(cc_buf *b, const cc_wire_item *it) {
  uint64_t *words;
  int rc;
  switch (it->kind) {
  case CC_WIRE_NIL:
    return cc_wire_put_nil(b);
  case CC_WIRE_FALSE:
    return cc_wire_put_bool(b, 0);
  case CC_WIRE_TRUE:
    return cc_wire_put_bool(b, 1);
  case CC_WIRE_INT:
    return cc_wire_put_int(b, it->integer);
  case CC_WIRE_FLOAT:
    return cc_wire_put_float(b, it->number);
  case CC_WIRE_STRING:
    return cc_wire_put_string(b, it->bytes, it->len);
  case CC_WIRE_TABLE:
    return cc_wire_put_table(b, it->narr, it->nhash);
  case CC_WIRE_ARRAY:
    words = malloc(it->nwords ? it->nwords * sizeof *words : 1);
    if (words == NULL)
      return -1;
    cc_wire_load_words(words, it->words, it->nwords);
    rc = cc_wire_put_array(b, it->order, it->ndim, it->shape, words);
    free(words);
    return rc;
  case CC_WIRE_ARRAY128:
    words = malloc(it->nwords ? it->nwords * sizeof *words : 1);
    if (words == NULL)
      return -1;
    cc_wire_load_words(words, it->words, it->nwords);
    rc = cc_wire_put_array128(b, it->order, it->order_hi, it->ndim, it->shape, words);
    free(words);
    return rc;
  }
  return -1;
}

static void fuzz_value(const uint8_t *data, size_t size, const cc_wire_limits *limits) {
  cc_wire_reader *r = malloc(sizeof *r);
  cc_wire_item it;
  cc_buf again;
  int rc;
  if (r == NULL)
    abort();
  cc_buf_init(&again);
  cc_wire_reader_init(r, data, size, limits);
  while ((rc = cc_wire_next(r, &it)) == 1) {
    if (it.offset >= size || rewrite_item(&again, &it) != 0)
      abort();
  }
  if (rc == 0 && (again.len != size || memcmp(again.data, data, size) != 0))
    abort();
  if (rc != 0 && cc_wire_reader_error(r)[0] == '\0')
    abort(); /* every refusal says why */
  cc_buf_free(&again);
  free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cc_wire_limits tight = {4, 64, 4096};
  fuzz_frame(data, size);
  fuzz_value(data, size, NULL);
  fuzz_value(data, size, &tight);
  return 0;
}
