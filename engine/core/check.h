/*
 * check.h - the argument and state checks that every front end shares.
 *
 * The C API (capi/), the Lua binding (lua/) and the command line (cli/)
 * each validate the same settings: world sizes, a player's rank, the ranks
 * of a communicator and lists of them, user tags, heartbeat timings, Shamir
 * thresholds, and whether a communicator or engine handle is still live.
 * Each rule and its message is here, once, with the limits and defaults
 * they share; a front end only says which call or option went wrong (a
 * `cicada_send: ` prefix, a `bad argument #2`, a `(-n, CICADA_WORLD_SIZE)`
 * suffix) around e->message.
 *
 * Every check returns CC_OK, or the error code with err filled through
 * cc_error_set (CC_EINVALID for bad arguments, CC_ENOT_RUNNING for handles
 * that were freed or stopped). No Lua, no engine: plain values in.
 */
#ifndef CICADA_CORE_CHECK_H
#define CICADA_CORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* ==== Limits and defaults ================================================ */

/* The most players a world may have. */
#define CC_MAX_WORLD_SIZE 1024

/* How long a communicator call waits when its caller names no timeout
 * (cicada_engine_world, cicada_run, cicada.run, cicada.connect). */
#define CC_DEFAULT_COMM_TIMEOUT_S 5.0

/* ==== Checks ============================================================= */

/* 1 <= n <= CC_MAX_WORLD_SIZE: "world size 0 is below 1", "world size
 * 2000 is above the limit of 1024 players". */
cc_status cc_check_world_size(int64_t n, cc_error *err);

/* A player's rank in a world of n players, 0 <= rank < n:
 * "rank 3 is outside the world of 3 players [0, 3)". */
cc_status cc_check_player_rank(int64_t rank, int64_t n, cc_error *err);

/* A rank of a communicator of size players, 0 <= rank < size. what names
 * its role ("destination", "source") or is NULL: "destination rank 4 out
 * of range [0, 4)". The error's peer is the rank when it fits an int. */
cc_status cc_check_rank(int64_t rank, int size, const char *what, cc_error *err);

/* A list of n ranks of a communicator of size players: at most size of
 * them, each in range, none twice ("rank 1 listed twice"). */
cc_status cc_check_rank_list(const int *ranks, int n, int size, const char *what,
                             cc_error *err);

/* A user's message tag: 0 <= tag <= INT32_MAX; negative tags belong to the
 * library. */
cc_status cc_check_user_tag(int64_t tag, cc_error *err);

/* Heartbeats: 0 < interval_s < timeout_s. */
cc_status cc_check_heartbeat(double interval_s, double timeout_s, cc_error *err);

/* A duration that must be positive; name is the setting ("timeout_s"). */
cc_status cc_check_positive(const char *name, double value_s, cc_error *err);

/* The threshold k of a Shamir sharing among n players: 1 <= k <= n.
 *
 * The sharing polynomial has degree k - 1, so any k of the n shares recover
 * the secret and k - 1 reveal nothing about it; k = 1 (degree 0, every
 * share is the secret) is the degenerate but well-defined end of the range,
 * which the field kernels and their specs use. This is the one rule of the
 * engine, for the C API (cicada_shamir_share) and the Lua binding
 * (F:shamir_share, F:shamir_share_each) alike. A protocol suite that wants
 * secrecy against a single player asks for more on top (cicada.shamir's
 * suites require 2 <= k <= n).
 * "threshold 4 out of range [1, 3]". */
cc_status cc_check_threshold(int64_t k, size_t n, cc_error *err);

/* A communicator handle that front ends keep after the engine frees what
 * it holds, so that a late call is an error instead of a use after free:
 * CC_ENOT_RUNNING with "Comm world was freed" when comm_live is false, or
 * "Comm world: the engine of player 2 was stopped" when engine_live is
 * false; CC_OK when both are live. */
cc_status cc_check_comm_live(const char *name, int engine_rank, bool comm_live,
                             bool engine_live, cc_error *err);

/* An engine handle: CC_ENOT_RUNNING "the engine of player 2 was stopped"
 * unless live. */
cc_status cc_check_engine_live(int engine_rank, bool live, cc_error *err);

#endif
