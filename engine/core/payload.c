/*
 * payload.c - reference-counted byte buffers (see payload.h).
 */
#include <stdlib.h>

#include "core/payload.h"

cc_payload *cc_payload_take(uint8_t *data, size_t len) {
  cc_payload *p = malloc(sizeof *p);
  if (!p) return NULL;
  atomic_init(&p->refs, 1);
  p->len = len;
  p->data = data;
  return p;
}

cc_payload *cc_payload_new(size_t len) {
  uint8_t *data = malloc(len ? len : 1);
  cc_payload *p = data ? cc_payload_take(data, len) : NULL;
  if (!p) free(data);
  return p;
}

cc_payload *cc_payload_ref(cc_payload *p) {
  atomic_fetch_add(&p->refs, 1);
  return p;
}

void cc_payload_unref(cc_payload *p) {
  if (p && atomic_fetch_sub(&p->refs, 1) == 1) {
    free(p->data);
    free(p);
  }
}

void cc_payloads_free(cc_payload **ps, int n) {
  for (int i = 0; i < n; i++) {
    cc_payload_unref(ps[i]);
    ps[i] = NULL;
  }
}
