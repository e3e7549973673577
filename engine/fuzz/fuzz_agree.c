/*
 * fuzz_agree.c - libFuzzer target for the agreement messages in
 * engine/core/control.c.
 *
 * The input is one message, given to the header, vote and estimate parsers;
 * the estimate parser is told to expect the member count the message itself
 * declares, or one more (a count far beyond the input's bytes, which the
 * parser refuses anyway, is replaced by one just beyond them). Any input must be parsed without a crash,
 * a leak or undefined behaviour, and every refusal must say why. Oracles:
 * whatever a parser accepts packs back to exactly the input; a refused
 * parse leaves no name allocated; an accepted estimate's names are there
 * for named members and only for them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(int rc, const char *err, size_t errsz) {
  if (rc != -1 || err[0] == '\0' || memchr(err, '\0', errsz) == NULL)
    abort();
}

static void same_bytes(const cc_buf *b, const uint8_t *data, size_t size) {
  if (b->len != size || (size > 0 && memcmp(b->data, data, size) != 0))
    abort();
}

static void fuzz_header(const uint8_t *data, size_t size) {
  cc_agree_header h;
  char err[200] = "";
  int rc = cc_agree_header_parse(data, size, &h, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (size < CC_AGREE_HEADER_BYTES || (h.kind != CC_AGREE_VOTE && h.kind != CC_AGREE_ESTIMATE) ||
      (h.kind == CC_AGREE_VOTE && h.round != 0))
    abort();
}

static void fuzz_vote(const uint8_t *data, size_t size) {
  cc_agree_header h;
  char err[200] = "", *name = (char *)1;
  bool flag;
  uint8_t state;
  cc_buf b;
  int rc = cc_agree_vote_parse(data, size, &h, &flag, &state, &name, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    if (name != NULL)
      abort();
    return;
  }
  if ((state == CC_AGREE_IN_NAMED) != (name != NULL) || h.kind != CC_AGREE_VOTE)
    abort();
  cc_buf_init(&b);
  if (cc_agree_vote_pack(&b, h.seq, flag, name) != 0)
    abort();
  same_bytes(&b, data, size);
  cc_buf_free(&b);
  free(name);
}

static void fuzz_estimate(const uint8_t *data, size_t size, int n) {
  cc_agree_header h;
  char err[200] = "";
  bool flag;
  uint8_t *state = malloc((size_t)n + 1);
  char **names = malloc(((size_t)n + 1) * sizeof *names);
  cc_buf b;
  int rc;
  if (state == NULL || names == NULL)
    abort();
  for (int i = 0; i < n; i++)
    names[i] = (char *)1; /* overwritten, never freed, by the parser */
  rc = cc_agree_estimate_parse(data, size, n, &h, &flag, state, names, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    for (int i = 0; i < n; i++)
      if (names[i] != NULL)
        abort();
  } else {
    for (int i = 0; i < n; i++)
      if (state[i] > CC_AGREE_IN_NAMED || (state[i] == CC_AGREE_IN_NAMED) != (names[i] != NULL))
        abort();
    cc_buf_init(&b);
    if (h.kind != CC_AGREE_ESTIMATE ||
        cc_agree_estimate_pack(&b, h.seq, h.round, flag, n, state, names) != 0)
      abort();
    same_bytes(&b, data, size);
    cc_buf_free(&b);
    for (int i = 0; i < n; i++)
      free(names[i]);
  }
  free(state);
  free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t declared = 0;
  int n;
  fuzz_header(data, size);
  fuzz_vote(data, size);
  if (size >= CC_AGREE_HEADER_BYTES + 5)
    for (int i = 3; i >= 0; i--)
      declared = (declared << 8) | data[CC_AGREE_HEADER_BYTES + 1 + i];
  n = declared <= size + 64 ? (int)declared : (int)size + 65;
  fuzz_estimate(data, size, n);
  fuzz_estimate(data, size, n + 1);
  return 0;
}
