/*
 * fuzz_rendezvous.c - libFuzzer target for the rendezvous lines in
 * engine/core/control.c.
 *
 * The input is one line without its '\n', given to each of the five
 * parsers (the root's CHALLENGE, a newcomer's CICADA line, the root's
 * OK/ERR answer, an address book entry, a grow's SEAT line). Any input must be parsed without a crash or undefined
 * behaviour, and every refusal must say why. Oracles: whatever a parser
 * accepts, the matching pack function writes back as exactly the input and
 * a '\n'; and the input used as an ERR message packs into a line the reply
 * parser accepts, with the message cut to fit and control bytes replaced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(int rc, const char *err, size_t errsz) {
  if (rc != -1 || err[0] == '\0' || memchr(err, '\0', errsz) == NULL)
    abort(); /* every refusal says why, in a terminated string */
}

static void same_line(int n, const char *packed, const char *line, size_t len) {
  if (n < 0 || (size_t)n != len + 1 || memcmp(packed, line, len) != 0 || packed[len] != '\n' ||
      packed[len + 1] != '\0')
    abort();
}

static void fuzz_join(const char *line, size_t len) {
  cc_rdv_join j;
  char out[CC_RDV_LINE_MAX + 2], err[200] = "";
  int rc = cc_rdv_join_parse(line, len, &j, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (j.world_size < 1 || j.rank < 0 || j.rank >= j.world_size || j.port == 0 ||
      strlen(j.nonce) != CC_RDV_NONCE_CHARS || strlen(j.mac) != CC_RDV_MAC_CHARS ||
      j.host[0] == '\0')
    abort();
  same_line(cc_rdv_join_pack(&j, out, sizeof out), out, line, len);
}

static void fuzz_reply(const char *line, size_t len) {
  cc_rdv_reply r;
  char out[CC_RDV_LINE_MAX + 2], err[200] = "";
  int rc = cc_rdv_reply_parse(line, len, &r, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (r.ok)
    same_line(cc_rdv_ok_pack(r.token, r.mac, out, sizeof out), out, line, len);
  else
    same_line(cc_rdv_err_pack(r.kind, r.message, out, sizeof out), out, line, len);
}

static void fuzz_challenge(const char *line, size_t len) {
  char nonce[CC_RDV_NONCE_CHARS + 1], out[CC_RDV_LINE_MAX + 2], err[200] = "";
  int rc = cc_rdv_challenge_parse(line, len, nonce, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (strlen(nonce) != CC_RDV_NONCE_CHARS)
    abort();
  same_line(cc_rdv_challenge_pack(nonce, out, sizeof out), out, line, len);
}

static void fuzz_entry(const char *line, size_t len) {
  cc_rdv_entry e;
  char out[CC_RDV_LINE_MAX + 2], err[200] = "";
  int rc = cc_rdv_entry_parse(line, len, &e, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (e.port == 0 || e.host[0] == '\0')
    abort();
  same_line(cc_rdv_entry_pack(&e, out, sizeof out), out, line, len);
}

static void fuzz_seat(const char *line, size_t len) {
  cc_rdv_seat seat;
  char out[CC_RDV_LINE_MAX + 2], err[200] = "";
  int rc = cc_rdv_seat_parse(line, len, &seat, err, sizeof err);
  if (rc != 0) {
    refused(rc, err, sizeof err);
    return;
  }
  if (seat.count < 1 || seat.count >= seat.world_size || seat.rank < 0 ||
      seat.rank >= seat.world_size || seat.name[0] == '\0')
    abort();
  same_line(cc_rdv_seat_pack(&seat, out, sizeof out), out, line, len);
}

/* The input as the message of an ERR line: it must always make a line the
 * player can read back. */
static void fuzz_err_message(const char *line, size_t len) {
  static const char prefix[] = "ERR startup_timeout ";
  char *msg = malloc(len + 1), out[CC_RDV_LINE_MAX + 2], err[200] = "";
  cc_rdv_reply r;
  size_t mlen, want;
  int n;
  if (msg == NULL)
    abort();
  memcpy(msg, line, len);
  msg[len] = '\0';
  mlen = strlen(msg); /* up to the first zero byte */
  n = cc_rdv_err_pack("startup_timeout", msg, out, sizeof out);
  want = mlen < CC_RDV_LINE_MAX - (sizeof prefix - 1) ? mlen : CC_RDV_LINE_MAX - (sizeof prefix - 1);
  if (n < 0 || (size_t)n != sizeof prefix - 1 + want + 1 || out[n - 1] != '\n')
    abort();
  if (cc_rdv_reply_parse(out, (size_t)n - 1, &r, err, sizeof err) != 0 || r.ok ||
      strcmp(r.kind, "startup_timeout") != 0 || strlen(r.message) != want)
    abort();
  for (size_t i = 0; i < want; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (r.message[i] != ((c < 0x20 || c == 0x7f) ? '?' : msg[i]))
      abort();
  }
  free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *line = (const char *)data;
  fuzz_challenge(line, size);
  fuzz_join(line, size);
  fuzz_reply(line, size);
  fuzz_entry(line, size);
  fuzz_seat(line, size);
  fuzz_err_message(line, size);
  return 0;
}
