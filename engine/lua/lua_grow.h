/*
 * lua_grow.h - what the launchers and the communicator binding share about
 * growing worlds (comm:grow), kept in lua_process.c.
 *
 * The cicada-lua launcher (cli/main.c) forks players that run a script
 * and meet through the rendezvous; it tells each player where to ask for
 * newcomers, and each newcomer what grown world its script's
 * cicada.connect() joins.
 */
#ifndef CICADA_LUA_GROW_H
#define CICADA_LUA_GROW_H

#include <stdbool.h>
#include <stdint.h>

struct cc_launch;

/* A player of `cicada-lua -n`: comm:grow asks for newcomers on grow_wr. */
void cl_cli_player(int grow_wr);

/* A newcomer of `cicada-lua -n` (forked by cc_launch_grow, l->joined set):
 * its script's cicada.connect() returns the grown world at rank. */
void cl_cli_newcomer(struct cc_launch *l, int rank);

/* The links' key of a grown world with this id (nonzero) in a world met
 * through the rendezvous: true with out set; false if this process has
 * not connected to such a world. */
bool cl_grow_link_key(uint64_t world_id, uint8_t out[32]);

/* The host at which the other players reach this one, in a world met
 * through the rendezvous (for newcomers of a grow across hosts). */
const char *cl_world_host(void);

/* The TLS files of the world this process met through the rendezvous:
 * true (with *identity and *trusted set, if not NULL) if it has them. */
bool cl_world_tls(const char **identity, const char **trusted);

/* Mark the communicator at idx as a grown world's: the count newcomers
 * took ranks (ascending); this player is one of them if joined. */
struct lua_State;
void cl_mark_grown_ranks(struct lua_State *L, int idx, const int *ranks, int count, bool joined);

#endif
