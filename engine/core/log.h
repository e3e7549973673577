/*
 * log.h - the lines the engine's front ends write to stderr.
 *
 * Owns their format, in one place: the engine's log messages as
 * "WARNING:cicada.communicator:<message>" (the shape of Python's logging
 * default, which the Lua logger also writes), and a program's own errors as
 * "<program>: [player <rank>: ]<message>". The C API's cicada_run, the Lua
 * binding's cicada.run / cicada.connect and the cicada-lua executable all
 * write through these functions.
 */
#ifndef CICADA_CORE_LOG_H
#define CICADA_CORE_LOG_H

/* The engine's log levels; cc_settings.log (net/settings.h) receives them. */
#define CC_LOG_DEBUG 10
#define CC_LOG_INFO 20
#define CC_LOG_WARNING 30
#define CC_LOG_ERROR 40

/* "DEBUG", "INFO", "WARNING" or "ERROR": the name of the band level is in. */
const char *cc_log_level_name(int level);

/* A cc_settings.log callback: writes "LEVEL:cicada.communicator:message"
 * and flushes, for messages at or above the level in ctx, an atomic_int
 * the caller may change from another thread while engines run
 * (CC_LOG_WARNING when ctx is NULL). */
void cc_log_stderr(void *ctx, int level, const char *message);

/* "<program>: player <rank>: <message>", or without the player when rank
 * is negative; flushed at once (the process may be about to _exit). */
void cc_log_error(const char *program, int rank, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
