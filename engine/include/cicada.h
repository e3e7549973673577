/*
 * cicada.h - the public interface of libcicada, for programs that embed the
 * cicada engine.
 *
 * Two ways in:
 *
 *   - With Lua: luaopen_cicada(L) opens the whole `cicada` module (the native
 *     half and the Lua half) in the host's own lua_State. Only this call
 *     needs Lua; the host links its Lua 5.4 library itself.
 *
 *   - Without Lua: the C API below. cicada_run forks local players (like
 *     cicada.run) or cicada_engine_connect joins a world from explicit
 *     settings; communicators move byte buffers and run the collectives;
 *     revoke, failed, agree and shrink recover from failed players; the field
 *     calls do arithmetic modulo a prime and Shamir sharing on arrays of
 *     64-bit words.
 *
 * Conventions of the C API:
 *
 *   - Every call that can fail returns a cicada_status and, when err is not
 *     NULL, fills *err with the status, its kind (as the Lua error kinds:
 *     "timeout", "peer_failed", ...) and a message that names the problem.
 *     A NULL handle, a freed communicator, a stopped engine, a buffer of the
 *     wrong size or a rank out of range is an error (CICADA_EINVALID or
 *     CICADA_ENOT_RUNNING), never a crash.
 *   - Handles are opaque and there is no hidden global state: everything a
 *     call uses comes through its arguments.
 *   - Ranks are 0-based. User tags are >= 0; negative tags are the library's.
 *   - Buffers the library returns (cicada_bytes) are the caller's, released
 *     with cicada_bytes_free; buffers the caller passes are only read during
 *     the call (sends copy them).
 *
 * Thread safety:
 *
 *   - One engine and its communicators may be used by one thread at a time
 *     (the engine's own I/O thread is internal). Different engines may be
 *     used from different threads at once.
 *   - cicada_run forks: call it while the process has no other threads that
 *     matter (like fork itself).
 *   - A cicada_field is read-only after cicada_field_new: any number of
 *     threads may use one field at once, on output arrays that do not
 *     overlap. A cicada_rng is used by one thread at a time.
 *   - cicada_status_kind, cicada_bytes_free and the version macros are
 *     thread-safe.
 *   - luaopen_cicada follows the rules of the lua_State it is given.
 */
#ifndef CICADA_H
#define CICADA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Version ============================================================ */

/* Kept equal to project(VERSION) in CMakeLists.txt (checked at configure
 * time). The shared library's SONAME carries MAJOR.MINOR while MAJOR is 0,
 * then MAJOR. */
#define CICADA_VERSION_MAJOR 0
#define CICADA_VERSION_MINOR 1
#define CICADA_VERSION_PATCH 0
#define CICADA_VERSION_STRING "0.1.0"

/* ==== Lua ================================================================= */

struct lua_State;

/* Open the `cicada` module in L and return 1 with the module table on the
 * stack, as require("cicada") would. L must have the standard libraries
 * (at least `package`) open. The native half `cicada.core` is preloaded
 * from this library; the Lua half (cicada/init.lua and the rest) is found
 * on package.path if it is already there, otherwise in the install's
 * share/lua/5.4 next to this library (or the executable it is linked
 * into), or in the directories known when libcicada was built. Raises a
 * Lua error if the Lua half cannot be found. Use it as
 *     luaL_requiref(L, "cicada", luaopen_cicada, 1);
 * or call it through lua_pcall. */
int luaopen_cicada(struct lua_State *L);

/* Only the native half, `cicada.core` (what lib/lua/5.4/cicada/core.so is
 * to a plain lua5.4). Hosts normally want luaopen_cicada. */
int luaopen_cicada_core(struct lua_State *L);

/* ==== Status and errors ================================================== */

typedef enum cicada_status {
  CICADA_OK = 0,
  CICADA_ETIMEOUT,          /* "timeout": no matching message in time */
  CICADA_EPEER_FAILED,      /* "peer_failed": a needed player has failed */
  CICADA_EREVOKED,          /* "revoked": the communicator was revoked */
  CICADA_ENOT_RUNNING,      /* "not_running": freed communicator, stopped engine */
  CICADA_EEXCLUDED,         /* "excluded": the survivors decided without us */
  CICADA_ETOKEN_MISMATCH,   /* "token_mismatch": a peer of another world */
  CICADA_ESTARTUP_TIMEOUT,  /* "startup_timeout": links not up in time */
  CICADA_EENCRYPTION,       /* "encryption_failed": TLS setup failed */
  CICADA_EINVALID,          /* "invalid": a bad argument or handle */
  CICADA_ENOMEM,            /* "out_of_memory" */
  CICADA_EIO                /* "io": an operating-system error */
} cicada_status;

#define CICADA_TAG_NONE INT32_MIN

typedef struct cicada_error {
  cicada_status code;
  const char *kind;         /* cicada_status_kind(code); static storage */
  int rank;                 /* this player's rank in comm, or -1 */
  int peer;                 /* the rank involved, or -1 */
  int32_t tag;              /* the tag involved, or CICADA_TAG_NONE; library
                             * tags are negative */
  char comm[64];            /* the communicator's name, or "" */
  char message[256];        /* what happened, e.g. "Tag ALLGATHER from
                             * player 2 failed: connection closed" */
} cicada_error;

/* "ok", "timeout", "peer_failed", "revoked", "not_running", "excluded",
 * "token_mismatch", "startup_timeout", "encryption_failed", "invalid",
 * "out_of_memory", "io"; "unknown" for anything else. */
const char *cicada_status_kind(cicada_status code);

/* ==== Byte buffers ======================================================= */

/* A message received from the library. data is NULL (and len 0) where a
 * player contributed nothing; a received empty message has data != NULL. */
typedef struct cicada_bytes {
  uint8_t *data;
  size_t len;
} cicada_bytes;

/* Free b->data and set *b to {NULL, 0}. NULL is allowed. */
void cicada_bytes_free(cicada_bytes *b);
/* cicada_bytes_free on each of the n entries. */
void cicada_bytes_free_all(cicada_bytes *bs, int n);

/* ==== Engines: one player's links and I/O thread ========================== */

typedef struct cicada_engine cicada_engine;
typedef struct cicada_comm cicada_comm;

/* Log levels of the engine's messages ("Comm world player 0 revoked by
 * player 2", ...). */
#define CICADA_LOG_DEBUG 10
#define CICADA_LOG_INFO 20
#define CICADA_LOG_WARNING 30
#define CICADA_LOG_ERROR 40

typedef void (*cicada_log_fn)(void *ctx, int level, const char *message);

/* How one player joins a world of players that may run on several hosts.
 * Start from cicada_settings_init and set what differs. */
typedef struct cicada_settings {
  int rank;                       /* this player, 0 <= rank < world_size */
  int world_size;
  uint64_t token;                 /* the same at every player of a world */
  const char *const *hosts;       /* world_size host names or addresses */
  const uint16_t *ports;          /* world_size TCP ports */
  int listen_fd;                  /* a bound, listening socket the engine
                                   * takes over, or -1 to listen on
                                   * hosts[rank]:ports[rank] */
  double startup_timeout_s;       /* default 5: all links must be up by then */
  double heartbeat_interval_s;    /* default 0.1 */
  double heartbeat_timeout_s;     /* default 1: a silent peer has failed */
  uint32_t max_frame_bytes;       /* default 2^30 */
  cicada_log_fn log;              /* NULL: the engine logs nothing. Called
                                   * on the engine's I/O thread, one message
                                   * at a time, never with an engine lock
                                   * held: it may call back into the engine
                                   * but should not block. Messages still
                                   * queued at cicada_engine_stop are passed
                                   * on by the stopping thread. */
  void *log_ctx;
} cicada_settings;

/* Fill s with the defaults: world_size 1, rank 0, token 0, no peers,
 * listen_fd -1, the timeouts above, no log. */
void cicada_settings_init(cicada_settings *s);

/* Start this player's engine: listen, connect to every other player and
 * return once every link is up (CICADA_ESTARTUP_TIMEOUT if not within
 * startup_timeout_s, CICADA_ETOKEN_MISMATCH if a peer has another token).
 * A listen_fd passed in belongs to the engine from this call on, whatever
 * the outcome. Ignores SIGPIPE in this process from the first call on. */
cicada_status cicada_engine_connect(const cicada_settings *s, cicada_engine **out,
                                    cicada_error *err);

/* The communicator of every player of the world, named `name` (NULL gives
 * "world"), whose blocking calls give up after timeout_s seconds (<= 0
 * gives 5). Every player calls it with the same name. */
cicada_status cicada_engine_world(cicada_engine *eng, const char *name, double timeout_s,
                                  cicada_comm **out, cicada_error *err);

/* This player's rank and the world size; -1 for a NULL engine. */
int cicada_engine_rank(const cicada_engine *eng);
int cicada_engine_world_size(const cicada_engine *eng);

/* Teardown: free every communicator of the engine, say goodbye to the
 * peers and stop the I/O thread. The handles stay valid: any later call on
 * the engine or its communicators fails with CICADA_ENOT_RUNNING. Calling
 * it again does nothing. */
void cicada_engine_stop(cicada_engine *eng);

/* Stop the engine if needed and release it and every communicator handle
 * made from it; afterwards those pointers are invalid, as after free().
 * NULL is allowed. Inside a cicada_run player this only stops the engine:
 * cicada_run releases its handles itself. */
void cicada_engine_free(cicada_engine *eng);

/* ==== Local runs ========================================================== */

/* A player's body in cicada_run: its return value (0..255) becomes the
 * player's exit status. world is freed by cicada_run afterwards. */
typedef int (*cicada_player_fn)(cicada_comm *world, void *arg);

typedef struct cicada_run_options {
  int world_size;                 /* number of players, >= 1 (no default) */
  const char *name;               /* default "world" */
  double timeout_s;               /* default 5 (comm timeout) */
  double startup_timeout_s;       /* default 5 */
  double heartbeat_interval_s;    /* default 0.1 */
  double heartbeat_timeout_s;     /* default 1 */
  double grace_s;                 /* default 1: how long a stopped player is
                                   * waited for once all others have ended */
  int log_level;                  /* default CICADA_LOG_WARNING: engine
                                   * messages at or above it go to stderr as
                                   * "WARNING:cicada.communicator:..." */
} cicada_run_options;

/* Fill o with the defaults above (world_size 0: set it). */
void cicada_run_options_init(cicada_run_options *o);

typedef struct cicada_player_result {
  pid_t pid;
  int exitcode;                   /* exit status, or the negative number of
                                   * the signal that ended it (-9: killed) */
  cicada_bytes report;            /* what it passed to cicada_report */
} cicada_player_result;

/* Fork o->world_size player processes on this host, connect them over
 * loopback TCP and call fn(world, arg) in each; wait for all of them and
 * fill results[rank] (nresults must be world_size). A player whose engine
 * cannot start writes the reason to stderr and exits with status 70. The
 * parent starts no engine threads. Release the reports with
 * cicada_player_results_free. Returns CICADA_OK once every player has
 * ended, whatever their exit statuses. */
cicada_status cicada_run(const cicada_run_options *o, cicada_player_fn fn, void *arg,
                         cicada_player_result *results, int nresults, cicada_error *err);

/* In a player of cicada_run: hand len bytes to the parent (appended to
 * this player's report). */
cicada_status cicada_report(cicada_comm *comm, const void *data, size_t len,
                            cicada_error *err);

/* Free the reports of n results (cicada_bytes_free on each). */
void cicada_player_results_free(cicada_player_result *results, int n);

/* ==== Communicators ======================================================= */

/* Facts about a communicator: -1, NULL or 0 for a NULL handle. They stay
 * readable after the communicator is freed. */
int cicada_comm_rank(const cicada_comm *c);
int cicada_comm_size(const cicada_comm *c);
const char *cicada_comm_name(const cicada_comm *c);
double cicada_comm_timeout(const cicada_comm *c);
bool cicada_comm_revoked(const cicada_comm *c);
cicada_engine *cicada_comm_engine(const cicada_comm *c);

/* Set the limit of every later blocking call, in seconds (> 0). */
cicada_status cicada_comm_set_timeout(cicada_comm *c, double timeout_s, cicada_error *err);

/* Free the communicator. The handle stays valid until its engine is freed:
 * any later call on it fails with CICADA_ENOT_RUNNING. Idempotent. */
void cicada_comm_free(cicada_comm *c);

/* ---- Point to point ---- */

/* Queue len bytes for player dst under tag (>= 0) and return; never
 * blocks. Messages between two players with the same tag arrive in order. */
cicada_status cicada_send(cicada_comm *c, const void *data, size_t len, int dst, int32_t tag,
                          cicada_error *err);

/* Wait for the next message from src with tag into *out (the caller frees
 * it). Fails at once if src is known to have failed or c is revoked. */
cicada_status cicada_recv(cicada_comm *c, int src, int32_t tag, cicada_bytes *out,
                          cicada_error *err);

/* As cicada_recv, into the caller's buffer: the message must be exactly
 * len bytes, otherwise it is dropped and CICADA_EINVALID names both sizes. */
cicada_status cicada_recv_into(cicada_comm *c, int src, int32_t tag, void *buf, size_t len,
                               cicada_error *err);

/* Take a matching message if one has arrived: *received tells whether
 * *out was set. Never blocks; fails as cicada_recv would fail now. */
cicada_status cicada_try_recv(cicada_comm *c, int src, int32_t tag, cicada_bytes *out,
                              bool *received, cicada_error *err);

/* ---- Collectives (every member calls them alike) ---- */

/* all[r] = player r's bytes; nall must be the communicator size. */
cicada_status cicada_allgather(cicada_comm *c, const void *data, size_t len,
                               cicada_bytes *all, int nall, cicada_error *err);

cicada_status cicada_barrier(cicada_comm *c, cicada_error *err);

/* *out = src's bytes at every player (data is read at src only). */
cicada_status cicada_broadcast(cicada_comm *c, int src, const void *data, size_t len,
                               cicada_bytes *out, cicada_error *err);

/* At dst: all[r] = player r's bytes, nall = communicator size. Elsewhere
 * all and nall are ignored (may be NULL and 0). */
cicada_status cicada_gather(cicada_comm *c, const void *data, size_t len, int dst,
                            cicada_bytes *all, int nall, cicada_error *err);

/* Only the nsrcs players of srcs (distinct ranks) send; at dst all[i] is
 * srcs[i]'s bytes (nall = nsrcs). Elsewhere all may be NULL. */
cicada_status cicada_gatherv(cicada_comm *c, const int *srcs, int nsrcs, const void *data,
                             size_t len, int dst, cicada_bytes *all, int nall,
                             cicada_error *err);

/* At src, values[r] (lens[r] bytes) goes to player r (nvalues =
 * communicator size; read at src only). *out = this player's part. */
cicada_status cicada_scatter(cicada_comm *c, int src, const void *const *values,
                             const size_t *lens, int nvalues, cicada_bytes *out,
                             cicada_error *err);

/* At src, values[i] (lens[i] bytes) goes to dsts[i] (distinct ranks,
 * nvalues = ndsts). *out = this player's part, or {NULL, 0} if it is not
 * in dsts. */
cicada_status cicada_scatterv(cicada_comm *c, int src, const void *const *values,
                              const size_t *lens, int nvalues, const int *dsts, int ndsts,
                              cicada_bytes *out, cicada_error *err);

/* ==== Fault tolerance ===================================================== */

/* Mark c revoked here and at every member that can be reached. Afterwards
 * every call on c fails with CICADA_EREVOKED except agree, shrink, split,
 * failed and free. Idempotent. */
cicada_status cicada_revoke(cicada_comm *c, cicada_error *err);

/* The ranks this player knows to have failed, ascending, into ranks (cap
 * entries; the communicator size is always enough); *nfailed is their
 * number. */
cicada_status cicada_failed(cicada_comm *c, int *ranks, int cap, int *nfailed,
                            cicada_error *err);

/* One fault-tolerant agreement among the survivors: *out is the AND of the
 * flags of the members decided on, identical at every survivor. Works on a
 * revoked communicator. timeout_s <= 0 means the communicator's timeout.
 * A player the others decided without gets CICADA_EEXCLUDED. */
cicada_status cicada_agree(cicada_comm *c, bool flag, double timeout_s, bool *out,
                           cicada_error *err);

/* A new communicator *out of the survivors, ranks renumbered in the old
 * order, named `name` (NULL keeps c's name); oldranks[newrank] = oldrank
 * for the *nold members (cap must be at least the size of c). Every
 * survivor gets the same members, also when more players fail meanwhile. */
cicada_status cicada_shrink(cicada_comm *c, const char *name, double timeout_s,
                            cicada_comm **out, int *oldranks, int cap, int *nold,
                            cicada_error *err);

/* Players giving the same non-NULL name get a communicator of those
 * players in rank order; a NULL name takes part and gets *out == NULL. */
cicada_status cicada_split(cicada_comm *c, const char *name, double timeout_s,
                           cicada_comm **out, cicada_error *err);

/* ==== Field arithmetic ==================================================== */

/* Elements of GF(p) are canonical 64-bit words 0 <= x < p. Every array
 * argument has n elements unless said otherwise; out may be the same array
 * as an input. Inputs are checked: a word >= p is CICADA_EINVALID naming
 * the argument and the index. */
typedef struct cicada_field cicada_field;

/* 2^64 - 59, the largest prime below 2^64: the default order. */
#define CICADA_FIELD_DEFAULT_ORDER UINT64_C(18446744073709551557)

/* A field of prime order (0 gives the default); CICADA_EINVALID if order
 * is not a prime. */
cicada_status cicada_field_new(uint64_t order, cicada_field **out, cicada_error *err);
/* Release the field; NULL is allowed. The pointer is invalid afterwards. */
void cicada_field_free(cicada_field *f);
/* The order, or 0 for a NULL field. */
uint64_t cicada_field_order(const cicada_field *f);

/* out[i] = a[i] + b[i], a[i] - b[i], a[i] * b[i], -a[i]. */
cicada_status cicada_field_add(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err);
cicada_status cicada_field_sub(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err);
cicada_status cicada_field_mul(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err);
cicada_status cicada_field_neg(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err);
/* out[i] = a[i] * s. */
cicada_status cicada_field_mul_scalar(const cicada_field *f, uint64_t *out, const uint64_t *a,
                                      uint64_t s, size_t n, cicada_error *err);
/* out[i] = a[i]^e (0^0 = 1). */
cicada_status cicada_field_pow(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               uint64_t e, size_t n, cicada_error *err);
/* out[i] = a[i]^-1; CICADA_EINVALID naming the index of a zero (out is
 * then untouched). */
cicada_status cicada_field_inv(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err);
/* *out = sum of a, and the dot product of a and b. */
cicada_status cicada_field_sum(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               size_t n, cicada_error *err);
cicada_status cicada_field_dot(const cicada_field *f, uint64_t *out, const uint64_t *a,
                               const uint64_t *b, size_t n, cicada_error *err);
/* out[i] = x[i] mod p; negative x to p - (|x| mod p). Any input. */
cicada_status cicada_field_from_int64(const cicada_field *f, uint64_t *out, const int64_t *x,
                                      size_t n, cicada_error *err);
/* out[i] = x[i] mod p for raw words. Any input. */
cicada_status cicada_field_reduce(const cicada_field *f, uint64_t *out, const uint64_t *x,
                                  size_t n, cicada_error *err);

/* ==== Randomness ========================================================== */

typedef struct cicada_rng cicada_rng;

/* A stream of random bytes: with seed == NULL, from OpenSSL's CSPRNG (for
 * real secrets); with seed bytes, a reproducible AES-128-CTR stream (for
 * tests: the same seed gives the same stream). */
cicada_status cicada_rng_new(const void *seed, size_t seedlen, cicada_rng **out,
                             cicada_error *err);
/* Wipe and release the stream; NULL is allowed. */
void cicada_rng_free(cicada_rng *rng);

/* out[i] uniform in [0, p), without modulo bias. */
cicada_status cicada_field_random(const cicada_field *f, cicada_rng *rng, uint64_t *out,
                                  size_t n, cicada_error *err);

/* ==== Shamir secret sharing ================================================ */

/* Share the n-element secret among nplayers players with x-coordinates
 * indices (nonzero, distinct mod p) and threshold k (1 <= k <= nplayers:
 * any k shares recover it, fewer reveal nothing; k = 1 hands every player
 * the secret itself, so secrecy needs k >= 2). Random polynomial
 * coefficients come from rng. shares is the nplayers x n row-major matrix,
 * row j for the player with indices[j]; shares_len must be nplayers * n. */
cicada_status cicada_shamir_share(const cicada_field *f, cicada_rng *rng,
                                  const uint64_t *secret, size_t n, size_t k,
                                  const uint64_t *indices, size_t nplayers,
                                  uint64_t *shares, size_t shares_len, cicada_error *err);

/* Recover the n-element secret from r rows of shares (r x n row-major,
 * shares_len = r * n) held by the players with x-coordinates indices, by
 * Lagrange interpolation at 0. r must be at least the threshold k the
 * secret was shared with. secret_len must be n. */
cicada_status cicada_shamir_recover(const cicada_field *f, const uint64_t *shares,
                                    size_t shares_len, const uint64_t *indices, size_t r,
                                    size_t k, uint64_t *secret, size_t n, cicada_error *err);

#ifdef __cplusplus
}
#endif

#endif
