/*
 * clock.h - the one clock of the engine: monotonic seconds, for deadlines
 * and timings. Every timeout in the engine is a deadline on this clock.
 */
#ifndef CICADA_CORE_CLOCK_H
#define CICADA_CORE_CLOCK_H

double cc_now(void);

#endif
