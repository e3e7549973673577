/*
 * tsan_preload.c - preloaded with the ThreadSanitizer runtime into programs
 * that are not instrumented (lua5.4 running the specs, and the shells and
 * tools it starts), for a CICADA_TSAN build. Instrumented code starts the
 * runtime from its own constructors; an uninstrumented program may call an
 * intercepted function the runtime has not set up yet (dash's first
 * _setjmp jumps through a null pointer). Starting it here, before main,
 * avoids that.
 */
void __tsan_init(void);

__attribute__((constructor)) static void start_tsan(void) { __tsan_init(); }
