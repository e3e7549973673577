/*
 * capi_error.c - the C API's cicada_error: status names, the conversion of
 * engine errors and the one error setter (see capi_error.h).
 */
#include <stdio.h>

#include "capi/capi_error.h"

/* The public codes are the engine's, in the same order: a status crosses
 * the API unchanged, and its name comes from the one list, cc_status_kind. */
_Static_assert((int)CICADA_OK == (int)CC_OK && (int)CICADA_ETIMEOUT == (int)CC_ETIMEOUT &&
               (int)CICADA_EPEER_FAILED == (int)CC_EPEER_FAILED &&
               (int)CICADA_EREVOKED == (int)CC_EREVOKED &&
               (int)CICADA_ENOT_RUNNING == (int)CC_ENOT_RUNNING &&
               (int)CICADA_EEXCLUDED == (int)CC_EEXCLUDED &&
               (int)CICADA_ETOKEN_MISMATCH == (int)CC_ETOKEN_MISMATCH &&
               (int)CICADA_ESTARTUP_TIMEOUT == (int)CC_ESTARTUP_TIMEOUT &&
               (int)CICADA_EENCRYPTION == (int)CC_EENCRYPTION &&
               (int)CICADA_EINVALID == (int)CC_EINVALID && (int)CICADA_ENOMEM == (int)CC_ENOMEM &&
               (int)CICADA_EIO == (int)CC_EIO,
               "cicada_status and cc_status must list the same codes in the same order");

const char *cicada_status_kind(cicada_status code) {
  return cc_status_kind((cc_status)code);
}

cicada_status capi_from_cc(cc_status code) {
  return (cicada_status)code;
}

cicada_status capi_vfail(cicada_error *err, cicada_status code, const char *comm, int rank,
                           int peer, int32_t tag, const char *fmt, va_list ap) {
  if (!err) return code;
  err->code = code;
  err->kind = cicada_status_kind(code);
  err->rank = rank;
  err->peer = peer;
  err->tag = tag;
  snprintf(err->comm, sizeof err->comm, "%s", comm ? comm : "");
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  return code;
}

static cicada_status fail(cicada_error *err, cicada_status code, const char *comm, int rank,
                          int peer, int32_t tag, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static cicada_status fail(cicada_error *err, cicada_status code, const char *comm, int rank,
                          int peer, int32_t tag, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  code = capi_vfail(err, code, comm, rank, peer, tag, fmt, ap);
  va_end(ap);
  return code;
}

cicada_status capi_fail_cc(cicada_error *err, const char *comm, int rank, const char *call,
                             const cc_error *e) {
  return fail(err, capi_from_cc(e->code), comm, rank, e->peer, e->tag, "%s: %s", call,
              e->message);
}

cicada_status capi_ok(cicada_error *err) {
  if (err) {
    err->code = CICADA_OK;
    err->kind = cicada_status_kind(CICADA_OK);
    err->rank = err->peer = -1;
    err->tag = CICADA_TAG_NONE;
    err->comm[0] = err->message[0] = '\0';
  }
  return CICADA_OK;
}
