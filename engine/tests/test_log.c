/*
 * test_log.c - the log callback runs outside every engine lock. A callback
 * that calls back into the engine (its rank, a communicator's state, which
 * takes the engine's lock) must neither deadlock nor find the engine
 * half-way through a change; and it runs on the engine's I/O thread, not
 * on the thread whose call logged the message. A deadlock shows as the
 * alarm ending the test.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "check.h"

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static cc_engine *engine;
static cc_comm *world;
static pthread_t main_thread;
static struct {
  bool revoked_logged;   /* the callback saw the revoke's message */
  bool revoked;          /* what cc_comm_revoked said from inside it */
  int rank;              /* what cc_engine_rank said from inside it */
  int failed;            /* what cc_comm_failed said from inside it */
  bool on_main_thread;
} seen = {false, false, -1, -1, false};

static void log_and_call_back(void *ctx, int level, const char *message) {
  int failed[1];
  (void)ctx; (void)level;
  if (!strstr(message, "revoked by player 0")) return;
  /* Each of these takes the engine's lock or reads its state. */
  bool revoked = cc_comm_revoked(world);
  int rank = cc_engine_rank(engine);
  int nfailed = cc_comm_failed(world, failed);
  pthread_mutex_lock(&seen_lock);
  seen.revoked_logged = true;
  seen.revoked = revoked;
  seen.rank = rank;
  seen.failed = nfailed;
  seen.on_main_thread = pthread_equal(pthread_self(), main_thread);
  pthread_mutex_unlock(&seen_lock);
}

static bool logged(void) {
  bool yes;
  pthread_mutex_lock(&seen_lock);
  yes = seen.revoked_logged;
  pthread_mutex_unlock(&seen_lock);
  return yes;
}

int main(void) {
  cc_settings s;
  cc_error err;

  alarm(20);   /* a deadlocked callback ends the test here */
  main_thread = pthread_self();
  cc_settings_default(&s);
  s.rank = 0;
  s.world_size = 1;
  s.log = log_and_call_back;
  if (cc_engine_start(&s, &engine, &err) != CC_OK) {
    fprintf(stderr, "engine: %s\n", err.message);
    return 1;
  }
  CHECK(cc_comm_world(engine, "world", 5, &world, &err) == CC_OK);

  /* Revoking logs "Comm world player 0 revoked by player 0" while the
   * engine holds its lock: the callback must run only once it is free. */
  CHECK(cc_comm_revoke(world, &err) == CC_OK);
  for (int i = 0; i < 500 && !logged(); i++) usleep(10000);
  pthread_mutex_lock(&seen_lock);
  CHECK(seen.revoked_logged);
  CHECK(seen.revoked);
  CHECK(seen.rank == 0);
  CHECK(seen.failed == 0);
  CHECK(!seen.on_main_thread);
  pthread_mutex_unlock(&seen_lock);

  cc_comm_free(world);
  cc_engine_stop(engine);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("test_log: all checks passed\n");
  return 0;
}
