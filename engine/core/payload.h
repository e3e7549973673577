/*
 * payload.h - reference-counted byte buffers, so that one encoded value can
 * be queued on several links without copies. The reference count is atomic:
 * a payload may be released by the I/O thread and the script thread alike.
 */
#ifndef CICADA_CORE_PAYLOAD_H
#define CICADA_CORE_PAYLOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cc_payload {
  atomic_int refs;
  size_t len;
  uint8_t *data;        /* malloc'd, freed with the last reference */
} cc_payload;

cc_payload *cc_payload_new(size_t len);                 /* refs = 1 */
cc_payload *cc_payload_take(uint8_t *data, size_t len); /* adopts data */
cc_payload *cc_payload_ref(cc_payload *p);
void cc_payload_unref(cc_payload *p);                   /* NULL is a no-op */
/* Release n payloads of an array (NULL entries allowed) and clear them. */
void cc_payloads_free(cc_payload **ps, int n);

#endif
