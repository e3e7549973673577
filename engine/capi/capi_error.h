/*
 * capi_error.h - the one error setter of the C API (capi_error.c), shared
 * by capi.c (engines and communicators) and capi_field.c (fields, streams,
 * Shamir).
 *
 * Every cicada_* call that fails fills the caller's cicada_error through
 * capi_vfail, and every call that succeeds clears it with capi_ok; an
 * engine error (cc_error, core/status.h) crosses over with capi_fail_cc.
 * cicada_status and cc_status list the same codes in the same order
 * (checked in capi_error.c), so a code crosses unchanged and its name comes from
 * cc_status_kind. Not installed: cicada.h is the public header.
 */
#ifndef CICADA_CAPI_ERROR_H
#define CICADA_CAPI_ERROR_H

#include <stdarg.h>

#include "cicada.h"
#include "core/status.h"

/* Fill err (if not NULL) about communicator comm of this player's rank
 * (NULL and -1 when none) and return code. */
cicada_status capi_vfail(cicada_error *err, cicada_status code, const char *comm, int rank,
                           int peer, int32_t tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

/* A status of the engine as the C API's (the same code). */
cicada_status capi_from_cc(cc_status code);

/* err for e, the call's name in front of its message. */
cicada_status capi_fail_cc(cicada_error *err, const char *comm, int rank, const char *call,
                             const cc_error *e);

/* Clear err (if not NULL) and return CICADA_OK. */
cicada_status capi_ok(cicada_error *err);

#endif
