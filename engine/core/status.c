/*
 * status.c - status names and the one error setter (see status.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/status.h"

const char *cc_status_kind(cc_status code) {
  switch (code) {
  case CC_OK: return "ok";
  case CC_ETIMEOUT: return "timeout";
  case CC_EPEER_FAILED: return "peer_failed";
  case CC_EREVOKED: return "revoked";
  case CC_ENOT_RUNNING: return "not_running";
  case CC_EEXCLUDED: return "excluded";
  case CC_ETOKEN_MISMATCH: return "token_mismatch";
  case CC_ESTARTUP_TIMEOUT: return "startup_timeout";
  case CC_EENCRYPTION: return "encryption_failed";
  case CC_EINVALID: return "invalid";
  case CC_ENOMEM: return "out_of_memory";
  case CC_EIO: return "io";
  }
  return "unknown";
}

cc_status cc_error_set(cc_error *err, cc_status code, int peer, int32_t tag, const char *fmt,
                       ...) {
  va_list ap;
  if (!err) return code;
  err->code = code;
  err->peer = peer;
  err->tag = tag;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return code;
}
