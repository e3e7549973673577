/*
 * fuzz_hello.c - libFuzzer target for the link HELLO in engine/core/control.c.
 *
 * Any input must be parsed without a crash or undefined behaviour, and every
 * refusal must say why. Oracles: the parser accepts exactly the
 * CC_HELLO_BYTES inputs with the magic, a step 1 to 3, a world size in
 * [1, INT32_MAX], a rank below it, no mac in a DIAL and no nonce in a
 * CONFIRM (checked against a reference reading of the bytes); what it accepts packs
 * back to the same bytes; and the check refuses a HELLO that names the
 * player's own rank or another world size while it accepts a matching one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* The format, read independently of control.c. */
static int zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static int reference_accepts(const uint8_t *data, size_t size) {
  uint64_t world, rank;
  uint8_t step;
  if (size != CC_HELLO_BYTES || le(data, 4) != CC_HELLO_MAGIC)
    return 0;
  step = data[4];
  world = le(data + 5, 4);
  rank = le(data + 9, 4);
  if (step < CC_HELLO_DIAL || step > CC_HELLO_CONFIRM || world < 1 || world > INT32_MAX ||
      rank >= world)
    return 0;
  if (step == CC_HELLO_DIAL && !zero(data + 13 + CC_HELLO_NONCE_BYTES, CC_HELLO_MAC_BYTES))
    return 0;
  if (step == CC_HELLO_CONFIRM && !zero(data + 13, CC_HELLO_NONCE_BYTES))
    return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cc_hello h;
  uint8_t again[CC_HELLO_BYTES];
  char err[160];
  int rc;
  err[0] = '\0';
  rc = cc_hello_parse(data, size, &h, err, sizeof err);
  if (rc != 0 && rc != -1)
    abort();
  if ((rc == 0) != reference_accepts(data, size))
    abort();
  if (rc != 0) {
    if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
      abort(); /* every refusal says why, in a terminated string */
    return 0;
  }
  cc_hello_pack(&h, again);
  if (memcmp(again, data, CC_HELLO_BYTES) != 0)
    abort();
  if (h.step != data[4] || h.world_size != le(data + 5, 4) || h.rank != le(data + 9, 4) ||
      memcmp(h.nonce, data + 13, CC_HELLO_NONCE_BYTES) != 0 ||
      memcmp(h.mac, data + 13 + CC_HELLO_NONCE_BYTES, CC_HELLO_MAC_BYTES) != 0)
    abort();
  /* A player of that world, other than the sender, that dialled it. */
  if (cc_hello_check(&h, (int)h.world_size, h.rank == 0 ? -1 : 0, (int)h.rank, err, sizeof err) != 0)
    abort();
  if (cc_hello_check(&h, (int)h.world_size, (int)h.rank, -1, err, sizeof err) == 0)
    abort(); /* the player's own rank */
  if (h.world_size < INT32_MAX &&
      cc_hello_check(&h, (int)h.world_size + 1, -1, -1, err, sizeof err) == 0)
    abort(); /* another world size */
  if (h.world_size > 1 &&
      cc_hello_check(&h, (int)h.world_size, -1, (int)((h.rank + 1) % h.world_size), err,
                     sizeof err) == 0)
    abort(); /* not the player that was dialled */
  return 0;
}
