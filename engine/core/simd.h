/*
 * simd.h - vector kernels chosen at run time.
 *
 * A family of kernels with a vector version (AVX-512 on x86-64, compiled
 * with a target attribute) keeps one cc_simd_switch. Its vector code runs
 * when the CPU has every instruction set the family needs and the
 * environment does not set CICADA_NO_SIMD (to any non-empty value); the
 * choice is made at the family's first use. Tests set it with
 * _cc_simd_set to compare the two versions.
 */
#ifndef CICADA_CORE_SIMD_H
#define CICADA_CORE_SIMD_H

#define CC_SIMD_AVX512F 1u
#define CC_SIMD_AVX512DQ 2u
#define CC_SIMD_AVX512IFMA 4u

typedef struct {
  int state;      /* -1 not yet chosen, 0 scalar, 1 vector; relaxed atomics, any thread */
  unsigned needs; /* CC_SIMD_* the vector code needs; 0: it was not compiled */
} cc_simd_switch;

/* 1 when the family's vector code runs, 0 when its scalar code does. */
int cc_simd_on(cc_simd_switch *s);

/* For tests: want -1 chooses as at the first use, 0 the scalar code, 1
 * the vector code if the CPU has it. Returns the choice now in force. */
int _cc_simd_set(cc_simd_switch *s, int want);

#endif
