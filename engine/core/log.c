/*
 * log.c - the format of the engine's stderr lines (see log.h).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

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
  /* One write for the whole line: players of one run share stderr, and
   * stderr is unbuffered, so a line written in pieces could interleave
   * with another player's. */
  char small[1024], *line = small;
  int head, body;
  va_list ap;
  head = rank >= 0 ? snprintf(small, sizeof small, "%s: player %d: ", program, rank)
                   : snprintf(small, sizeof small, "%s: ", program);
  if (head < 0) return;
  if ((size_t)head >= sizeof small - 1) head = (int)sizeof small - 2;
  va_start(ap, fmt);
  body = vsnprintf(small + head, sizeof small - (size_t)head, fmt, ap);
  va_end(ap);
  if (body < 0) body = 0;
  if ((size_t)head + (size_t)body + 2 > sizeof small) {
    char *big = malloc((size_t)head + (size_t)body + 2);
    if (big) {
      memcpy(big, small, (size_t)head);
      va_start(ap, fmt);
      vsnprintf(big + head, (size_t)body + 1, fmt, ap);
      va_end(ap);
      line = big;
    } else {
      body = (int)(sizeof small - 2) - head; /* cut to what fits */
    }
  }
  line[head + body] = '\n';
  fflush(stderr);
  fwrite(line, 1, (size_t)head + (size_t)body + 1, stderr);
  fflush(stderr);
  if (line != small) free(line);
}
