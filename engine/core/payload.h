/*
 * payload.h - reference-counted byte buffers, so that one encoded value can
 * be queued on several links without copies. The reference count is atomic:
 * a payload may be released by the I/O thread and the script thread alike.
 *
 * Large buffers are kept for reuse: the last reference to a payload of
 * CC_PAYLOAD_POOL_MIN_BYTES or more hands its buffer to a small
 * process-wide pool (at most CC_PAYLOAD_POOL_BUFFERS buffers and
 * CC_PAYLOAD_POOL_MAX_BYTES in all), and cc_payload_new takes a buffer
 * that fits from it. The pieces of a chunked operation (a quarter to a
 * few MiB each) then land in memory that is already mapped, instead of
 * faulting in fresh pages on every round. Buffers larger than the pool's
 * bytes are not kept: a whole-array message of megabytes would stay
 * resident between operations for no measurable gain (glibc's malloc
 * reuses such blocks itself), and raise every player's peak memory.
 * Pooled buffers are plain malloc'd memory: whoever takes p->data (and
 * sets it to NULL) may free it with free(), unless cc_payload_inline(p).
 *
 * A small payload written whole once it is made (cc_payload_new_whole, at
 * most CC_PAYLOAD_INLINE_MAX_BYTES: a received message, a small value
 * encoded to send) has its bytes in the same allocation as its header,
 * right after it: one malloc and one free per message instead of two. Its
 * data cannot be taken (cc_payload_inline says so: copy it), nor grown.
 */
#ifndef CICADA_CORE_PAYLOAD_H
#define CICADA_CORE_PAYLOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CC_PAYLOAD_POOL_MIN_BYTES ((size_t)256 << 10)
#define CC_PAYLOAD_POOL_BUFFERS 8
#define CC_PAYLOAD_POOL_MAX_BYTES ((size_t)4 << 20)

typedef struct cc_payload {
  atomic_int refs;
  size_t len;
  size_t cap;           /* bytes malloc'd at data (at least len) */
  uint8_t *data;        /* malloc'd, freed (or pooled) with the last reference */
} cc_payload;

#define CC_PAYLOAD_INLINE_MAX_BYTES ((size_t)4096)

cc_payload *cc_payload_new(size_t len);                 /* refs = 1; contents undefined */
/* As cc_payload_new, with the bytes after the header when len is at most
 * CC_PAYLOAD_INLINE_MAX_BYTES (see above): for bytes that are written
 * once, whole, and then only read. */
cc_payload *cc_payload_new_whole(size_t len);
/* The same, as the network's receive path names it; a buffer of
 * CC_PAYLOAD_POOL_MIN_BYTES or more is allocated in whole steps of
 * CC_PAYLOAD_RECEIVED_STEP_BYTES (p->cap), so that the block of a message
 * freed once it is decoded can take the array decoded from the next (a few
 * bytes longer than the message), rather than leave a hole just too small
 * for it in malloc's heap. */
#define CC_PAYLOAD_RECEIVED_STEP_BYTES ((size_t)64 << 10)
cc_payload *cc_payload_new_received(size_t len);
/* True when p's bytes live in its own allocation and cannot be taken. */
static inline int cc_payload_inline(const cc_payload *p) {
  return p->data != NULL && p->data == (const uint8_t *)(p + 1);
}
cc_payload *cc_payload_take(uint8_t *data, size_t len); /* adopts data */
cc_payload *cc_payload_ref(cc_payload *p);
void cc_payload_unref(cc_payload *p);                   /* NULL is a no-op */
/* Release n payloads of an array (NULL entries allowed) and clear them. */
void cc_payloads_free(cc_payload **ps, int n);
/* Free every pooled buffer (at exit, or to give memory back). */
void cc_payload_pool_drain(void);
/* Buffers and bytes the pool holds now. */
void cc_payload_pool_stats(size_t *buffers, size_t *bytes);

#endif
