/*
 * c_host.c - a host program that uses libcicada's C API alone, without Lua.
 *
 * Three players share a secret vector with Shamir secret sharing (threshold
 * 2), reveal it, then player 2 is killed. The survivors notice the failure,
 * revoke the world, shrink it to themselves, rebuild the reveal with the
 * survivors' x-coordinates and reveal the same secret again from their two
 * shares. The parent prints what each player reported and how it ended, and
 * exits with 0 only if that is what happened.
 *
 *   cc c_host.c $(pkg-config --cflags --libs cicada) -o c_host && ./c_host
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cicada.h>

#define WORLD_SIZE 3
#define THRESHOLD 2
#define NSECRET 2
#define VICTIM 2

static const uint64_t secret[NSECRET] = {42, 1000003};

/* One line for the parent to print, after "player <rank> ". */
static void say(cicada_comm *comm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(cicada_comm *comm, const char *fmt, ...) {
  char line[512];
  int len = snprintf(line, sizeof line, "player %d ", cicada_comm_rank(comm));
  va_list ap;
  va_start(ap, fmt);
  len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
  va_end(ap);
  if (len >= (int)sizeof line) len = (int)sizeof line - 1;
  cicada_report(comm, line, (size_t)len, NULL);
}

/* Every member contributes its share row; each recovers the secret from all
 * of them. indices[r] is the x-coordinate of the share held by rank r.
 * Players of cicada_run share one machine, so words travel in its byte
 * order. */
static cicada_status reveal(cicada_comm *comm, const cicada_field *f, const uint64_t *share,
                            const uint64_t *indices, uint64_t *out, cicada_error *err) {
  int n = cicada_comm_size(comm);
  cicada_bytes all[WORLD_SIZE];
  uint64_t rows[WORLD_SIZE * NSECRET];
  cicada_status st = cicada_allgather(comm, share, NSECRET * sizeof *share, all, n, err);
  if (st != CICADA_OK) return st;
  for (int r = 0; r < n; r++) {
    if (all[r].len != NSECRET * sizeof *share) {
      snprintf(err->message, sizeof err->message, "player %d sent a share of %zu bytes", r,
               all[r].len);
      cicada_bytes_free_all(all, n);
      err->kind = cicada_status_kind(CICADA_EINVALID);
      return err->code = CICADA_EINVALID;
    }
    memcpy(&rows[r * NSECRET], all[r].data, all[r].len);
  }
  cicada_bytes_free_all(all, n);
  return cicada_shamir_recover(f, rows, (size_t)n * NSECRET, indices, (size_t)n, THRESHOLD, out,
                               NSECRET, err);
}

/* Rank 0 shares the secret: row r of the share matrix goes to rank r. */
static cicada_status deal(cicada_comm *world, const cicada_field *f, cicada_rng *rng,
                          const uint64_t *indices, uint64_t *share, cicada_error *err) {
  uint64_t shares[WORLD_SIZE * NSECRET];
  const void *rows[WORLD_SIZE];
  size_t lens[WORLD_SIZE];
  cicada_bytes mine;
  cicada_status st;
  if (cicada_comm_rank(world) == 0) {
    st = cicada_shamir_share(f, rng, secret, NSECRET, THRESHOLD, indices, WORLD_SIZE, shares,
                             WORLD_SIZE * NSECRET, err);
    if (st != CICADA_OK) return st;
    for (int r = 0; r < WORLD_SIZE; r++) {
      rows[r] = &shares[r * NSECRET];
      lens[r] = NSECRET * sizeof *shares;
    }
  }
  st = cicada_scatter(world, 0, rows, lens, WORLD_SIZE, &mine, err);
  if (st != CICADA_OK) return st;
  memcpy(share, mine.data, NSECRET * sizeof *share);
  cicada_bytes_free(&mine);
  return CICADA_OK;
}

static int report_revealed(cicada_comm *comm, const uint64_t *got, const char *when) {
  say(comm, "revealed %llu %llu %s (%d players)\n", (unsigned long long)got[0],
      (unsigned long long)got[1], when, cicada_comm_size(comm));
  return got[0] == secret[0] && got[1] == secret[1] ? 0 : 1;
}

/* The survivors' side of a failure: revoke, shrink, and reveal again with
 * the x-coordinates of the shares the survivors still hold. */
static int recover_and_reveal(cicada_comm *world, const cicada_field *f, const uint64_t *share,
                              const uint64_t *indices) {
  cicada_comm *survivors;
  int oldranks[WORLD_SIZE], nold;
  uint64_t survivor_indices[WORLD_SIZE], got[NSECRET];
  cicada_error err;
  cicada_revoke(world, &err);
  if (cicada_shrink(world, "survivors", 0, &survivors, oldranks, WORLD_SIZE, &nold, &err)
      != CICADA_OK) {
    say(world, "could not shrink: %s\n", err.message);
    return 1;
  }
  for (int i = 0; i < nold; i++) survivor_indices[i] = indices[oldranks[i]];
  if (reveal(survivors, f, share, survivor_indices, got, &err) != CICADA_OK) {
    say(survivors, "could not reveal again: %s\n", err.message);
    return 1;
  }
  return report_revealed(survivors, got, "after recovery");
}

static int player(cicada_comm *world, void *arg) {
  const uint64_t indices[WORLD_SIZE] = {1, 2, 3};
  uint64_t share[NSECRET], got[NSECRET];
  cicada_field *f = NULL;
  cicada_rng *rng = NULL;
  cicada_error err;
  int failed = 1;
  (void)arg;
  if (cicada_field_new(0, &f, &err) != CICADA_OK || cicada_rng_new(NULL, 0, &rng, &err) != CICADA_OK ||
      deal(world, f, rng, indices, share, &err) != CICADA_OK ||
      reveal(world, f, share, indices, got, &err) != CICADA_OK) {
    say(world, "failed before the fault: %s\n", err.message);
    goto done;
  }
  failed = report_revealed(world, got, "from every share");
  if (cicada_comm_rank(world) == VICTIM) {
    fflush(NULL);
    raise(SIGKILL);
  }
  /* The victim's share is gone: this reveal fails, wherever it stands. */
  if (reveal(world, f, share, indices, got, &err) == CICADA_OK) {
    say(world, "revealed the secret without noticing a failure\n");
    failed = 1;
    goto done;
  }
  say(world, "saw the failure (%s): %s\n", err.kind, err.message);
  failed |= recover_and_reveal(world, f, share, indices);
done:
  cicada_rng_free(rng);
  cicada_field_free(f);
  return failed;
}

int main(void) {
  cicada_run_options opts;
  cicada_player_result results[WORLD_SIZE];
  cicada_error err;
  int bad = 0;
  cicada_run_options_init(&opts);
  opts.world_size = WORLD_SIZE;
  opts.log_level = CICADA_LOG_ERROR;
  if (cicada_run(&opts, player, NULL, results, WORLD_SIZE, &err) != CICADA_OK) {
    fprintf(stderr, "c_host: %s\n", err.message);
    return 1;
  }
  for (int r = 0; r < WORLD_SIZE; r++) {
    if (results[r].report.data)
      printf("%.*s", (int)results[r].report.len, (const char *)results[r].report.data);
    printf("player %d exit code %d\n", r, results[r].exitcode);
    bad |= r == VICTIM ? results[r].exitcode != -SIGKILL : results[r].exitcode != 0;
  }
  cicada_player_results_free(results, WORLD_SIZE);
  printf("%s\n", bad ? "FAILED" : "recovered the secret after losing player 2");
  return bad;
}
