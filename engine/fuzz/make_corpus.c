/*
 * make_corpus.c - writes the seed corpora of the fuzz targets, one file per
 * seed, into one folder per corpus under the directory named by argv[1]:
 *
 *   wire/        fuzz_wire and fuzz_codec: a few small valid value encodings
 *                made with the writer, and a frame header followed by a value
 *   hello/       fuzz_hello: link HELLOs
 *   rendezvous/  fuzz_rendezvous: rendezvous lines, without their '\n'
 *   agree/       fuzz_agree: agreement votes and estimates
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/control.h"
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

/* dir/name, created if need be, into path. */
static int subdir(const char *dir, const char *name, char *path, size_t pathsz) {
  snprintf(path, pathsz, "%s/%s", dir, name);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "make_corpus: cannot make %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* A rendezvous line as the parsers take it: without its '\n'. */
static int save_line(const char *dir, const char *name, int n, const char *line, cc_buf *b) {
  if (n <= 0) {
    fprintf(stderr, "make_corpus: cannot pack %s\n", name);
    return -1;
  }
  cc_buf_append(b, line, (size_t)n - 1);
  return save(dir, name, b);
}

static int hello_seeds(const char *dir) {
  static const char *names[3] = {"dial_rank_1_of_3", "answer_rank_0_of_3", "confirm_rank_1023_of_1024"};
  uint8_t out[CC_HELLO_BYTES];
  cc_buf b;
  int bad = 0;
  cc_buf_init(&b);
  for (int step = CC_HELLO_DIAL; step <= CC_HELLO_CONFIRM; step++) {
    cc_hello h;
    memset(&h, 0, sizeof h);
    h.step = (uint8_t)step;
    h.world_size = step == CC_HELLO_CONFIRM ? 1024 : 3;
    h.rank = step == CC_HELLO_DIAL ? 1 : step == CC_HELLO_ANSWER ? 0 : 1023;
    if (step != CC_HELLO_CONFIRM)
      for (int i = 0; i < CC_HELLO_NONCE_BYTES; i++) h.nonce[i] = (uint8_t)(0x11 * (i + step));
    if (step != CC_HELLO_DIAL)
      for (int i = 0; i < CC_HELLO_MAC_BYTES; i++) h.mac[i] = (uint8_t)(0xa0 + i + step);
    cc_hello_pack(&h, out);
    cc_buf_append(&b, out, sizeof out);
    bad |= save(dir, names[step - 1], &b);
  }
  cc_buf_free(&b);
  return bad;
}

static int rendezvous_seeds(const char *dir) {
  cc_rdv_join j;
  cc_rdv_entry e = {4242, "node-7.example"}, e6 = {65535, "fe80::1%eth0"};
  cc_rdv_seat seat = {5, 3, 2, {1, 3}, "healed-1"};
  char line[CC_RDV_LINE_MAX + 2];
  cc_buf b;
  int bad = 0;
  cc_buf_init(&b);
  memset(&j, 0, sizeof j);
  j.world_size = 3;
  j.rank = 2;
  memcpy(j.nonce, "0123456789abcdef0123456789abcdef", CC_RDV_NONCE_CHARS);
  memcpy(j.mac, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
         CC_RDV_MAC_CHARS);
  j.tls = true;
  j.port = 40001;
  memcpy(j.host, "10.0.0.7", 9);
  bad |= save_line(dir, "join_tls", cc_rdv_join_pack(&j, line, sizeof line), line, &b);
  j.tls = false;
  memcpy(j.host, "-", 2);
  bad |= save_line(dir, "join_plain", cc_rdv_join_pack(&j, line, sizeof line), line, &b);
  bad |= save_line(dir, "challenge",
                   cc_rdv_challenge_pack("fedcba9876543210fedcba9876543210", line, sizeof line),
                   line, &b);
  bad |= save_line(dir, "ok", cc_rdv_ok_pack(UINT64_C(0x00ab00cd00ef0012), j.mac, line,
                                             sizeof line), line, &b);
  bad |= save_line(dir, "err",
                   cc_rdv_err_pack("token_mismatch", "it claimed to be player 2 without proving the world's token",
                                   line, sizeof line), line, &b);
  bad |= save_line(dir, "entry", cc_rdv_entry_pack(&e, line, sizeof line), line, &b);
  bad |= save_line(dir, "entry_ipv6", cc_rdv_entry_pack(&e6, line, sizeof line), line, &b);
  bad |= save_line(dir, "seat", cc_rdv_seat_pack(&seat, line, sizeof line), line, &b);
  cc_buf_free(&b);
  return bad;
}

static int agree_seeds(const char *dir) {
  uint8_t state[4] = {CC_AGREE_IN, CC_AGREE_OUT, CC_AGREE_IN_NAMED, CC_AGREE_IN_NAMED};
  char *names[4] = {NULL, NULL, "left", "right"};
  cc_buf b;
  int bad = 0;
  cc_buf_init(&b);
  cc_agree_vote_pack(&b, 3, true, NULL);
  bad |= save(dir, "vote", &b);
  cc_agree_vote_pack(&b, 3, false, "left");
  bad |= save(dir, "vote_named", &b);
  cc_agree_estimate_pack(&b, 3, 1, true, 4, state, names);
  bad |= save(dir, "estimate", &b);
  cc_buf_free(&b);
  return bad;
}

int main(int argc, char **argv) {
  static const uint64_t words[6] = {0, 1, 2, 94, 95, 96};
  static const uint64_t big[2] = {1, UINT64_C(18446744073709551556)};
  size_t shape[2] = {2, 3};
  char dir[1024];
  cc_buf b;
  int bad = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  if (subdir(argv[1], "hello", dir, sizeof dir) != 0 || hello_seeds(dir) != 0 ||
      subdir(argv[1], "rendezvous", dir, sizeof dir) != 0 || rendezvous_seeds(dir) != 0 ||
      subdir(argv[1], "agree", dir, sizeof dir) != 0 || agree_seeds(dir) != 0 ||
      subdir(argv[1], "wire", dir, sizeof dir) != 0)
    return 1;
  cc_buf_init(&b);
  cc_wire_put_nil(&b);
  bad |= save(dir, "nil", &b);
  cc_wire_put_int(&b, INT64_MIN);
  bad |= save(dir, "mininteger", &b);
  cc_wire_put_float(&b, -0.0);
  bad |= save(dir, "minus_zero", &b);
  cc_wire_put_string(&b, "a\0b", 3);
  bad |= save(dir, "string", &b);
  cc_wire_put_table(&b, 3, 2);
  cc_wire_put_int(&b, 1);
  cc_wire_put_float(&b, 2.5);
  cc_wire_put_table(&b, 1, 0);
  cc_wire_put_bool(&b, 1);
  cc_wire_put_string(&b, "x", 1);
  cc_wire_put_float(&b, NAN);
  cc_wire_put_float(&b, INFINITY);
  cc_wire_put_bool(&b, 0);
  bad |= save(dir, "table", &b);
  cc_wire_put_array(&b, 97, 2, shape, words);
  bad |= save(dir, "array_2d", &b);
  shape[0] = 2;
  cc_wire_put_table(&b, 2, 0);
  cc_wire_put_array(&b, UINT64_C(18446744073709551557), 1, shape, big);
  cc_wire_put_array(&b, 2, 0, NULL, words + 1);
  bad |= save(dir, "arrays_in_table", &b);
  {
    /* 2^127 - 1 (the default wide order) and 2^128 - 159 (a pseudo-Mersenne
     * prime using all 128 bits): elements are (lo, hi) word pairs. */
    const uint64_t wide[4] = {UINT64_C(0xFFFFFFFFFFFFFFFE), UINT64_C(0x7FFFFFFFFFFFFFFF), 5, 0};
    const uint64_t one[2] = {UINT64_C(0xFFFFFFFFFFFFFF60), UINT64_MAX};
    cc_wire_put_array128(&b, UINT64_MAX, UINT64_C(0x7FFFFFFFFFFFFFFF), 1, shape, wide);
    bad |= save(dir, "array128", &b);
    cc_wire_put_table(&b, 2, 0);
    cc_wire_put_array128(&b, UINT64_C(0xFFFFFFFFFFFFFF61), UINT64_MAX, 0, NULL, one);
    cc_wire_put_array128(&b, UINT64_MAX, UINT64_C(0x7FFFFFFFFFFFFFFF), 1, shape, wide);
    bad |= save(dir, "arrays128_in_table", &b);
  }
  {
    cc_frame_header h = {CC_WIRE_VERSION, 1, 0, -3, 42, 2, 1};
    uint8_t head[CC_FRAME_HEADER_BYTES];
    cc_frame_pack(&h, head);
    cc_buf_append(&b, head, sizeof head);
    cc_wire_put_nil(&b);
    bad |= save(dir, "frame_and_nil", &b);
  }
  cc_buf_free(&b);
  return bad ? 1 : 0;
}
