/*
 * log.c - the format of the engine's stderr lines (see log.h).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core/log.h"

const char *cc_log_level_name(int level) {
  return level >= CC_LOG_ERROR ? "ERROR" : level >= CC_LOG_WARNING ? "WARNING"
       : level >= CC_LOG_INFO ? "INFO" : "DEBUG";
}

void cc_log_stderr(void *ctx, int level, const char *message) {
  int min_level = ctx ? atomic_load((const atomic_int *)ctx) : CC_LOG_WARNING;
  if (level < min_level) return;
  fprintf(stderr, "%s:cicada.communicator:%s\n", cc_log_level_name(level), message);
  fflush(stderr);
}

void cc_log_error(const char *program, int rank, const char *fmt, ...) {
  va_list ap;
  if (rank >= 0) fprintf(stderr, "%s: player %d: ", program, rank);
  else fprintf(stderr, "%s: ", program);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}
