/*
 * check.h - the one assertion the C unit tests share: CHECK(cond) reports a
 * failed condition with its file and line and counts it, so that a test
 * runs to the end and exits non-zero if anything failed.
 */
#ifndef CICADA_TESTS_CHECK_H
#define CICADA_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
              #cond);                                                      \
      failures++;                                                          \
    }                                                                      \
  } while (0)

#endif
