/*
 * status.h - how every engine call reports failure: a cc_status code, and a
 * cc_error with the kind, the peer and tag involved and a message. The one
 * error setter is cc_error_set; the names of the kinds ("peer_failed", ...)
 * come from cc_status_kind, and every front end (C API, Lua, command line)
 * uses these names rather than its own.
 */
#ifndef CICADA_CORE_STATUS_H
#define CICADA_CORE_STATUS_H

#include <stdint.h>

typedef enum cc_status {
  CC_OK = 0,
  CC_ETIMEOUT,          /* no matching message within the timeout */
  CC_EPEER_FAILED,      /* a player the call needs is known to have failed */
  CC_EREVOKED,          /* the communicator was revoked */
  CC_ENOT_RUNNING,      /* the communicator or engine was freed */
  CC_EEXCLUDED,         /* the survivors decided without this player */
  CC_ETOKEN_MISMATCH,   /* a peer presented another world's token */
  CC_ESTARTUP_TIMEOUT,  /* not every link came up within startup_timeout */
  CC_EENCRYPTION,       /* TLS setup or authentication failed */
  CC_EINVALID,          /* a bad argument */
  CC_ENOMEM,            /* out of memory */
  CC_EIO                /* an operating-system error */
} cc_status;

/* No tag: the error is not about one message. */
#define CC_TAG_NONE INT32_MIN

typedef struct cc_error {
  cc_status code;
  int peer;             /* communicator rank involved, or -1 */
  int32_t tag;          /* tag involved, or CC_TAG_NONE */
  char message[256];
} cc_error;

/* The machine-readable name of a status: "timeout", "peer_failed", ... */
const char *cc_status_kind(cc_status code);

/* Fill err (if not NULL) and return code, so that a failing call reads
 * `return cc_error_set(err, CC_EINVALID, -1, CC_TAG_NONE, "...", ...);`. */
cc_status cc_error_set(cc_error *err, cc_status code, int peer, int32_t tag, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));

#endif
