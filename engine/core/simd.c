/*
 * simd.c - which vector instruction sets the CPU has, and the switches of
 * the kernel families that use them.
 */
#include "simd.h"

#include <stdlib.h>

static unsigned cpu_features(void) {
  unsigned f = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) f |= CC_SIMD_AVX512F;
  if (__builtin_cpu_supports("avx512dq")) f |= CC_SIMD_AVX512DQ;
  if (__builtin_cpu_supports("avx512ifma")) f |= CC_SIMD_AVX512IFMA;
#endif
  return f;
}

static int cpu_has(unsigned needs) {
  return needs != 0 && (cpu_features() & needs) == needs;
}

static int choose(unsigned needs) {
  const char *no = getenv("CICADA_NO_SIMD");
  return no && no[0] ? 0 : cpu_has(needs);
}

int cc_simd_on(cc_simd_switch *s) {
  int v = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
  if (v < 0) {
    v = choose(s->needs);
    __atomic_store_n(&s->state, v, __ATOMIC_RELAXED);
  }
  return v;
}

int _cc_simd_set(cc_simd_switch *s, int want) {
  int v = want < 0 ? choose(s->needs) : want > 0 ? cpu_has(s->needs) : 0;
  __atomic_store_n(&s->state, v, __ATOMIC_RELAXED);
  return v;
}
