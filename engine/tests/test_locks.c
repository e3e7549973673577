/*
 * test_locks.c - the lock rules of the network layer are checked in debug
 * builds: a *_locked function called by a thread that does not hold the
 * net lock stops the program (abort) instead of racing, also when another
 * thread holds it. The calls that must abort run in a child process. In a
 * build with NDEBUG the checks are compiled out, and so is this test.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net.h"
#include "check.h"

#ifndef NDEBUG
/* How a child running fn(n) ended: the signal that ended it, or 0. */
static int child_signal(cc_net *n, void (*fn)(cc_net *)) {
  int status = 0;
  pid_t pid = fork();
  if (pid == 0) {
    fn(n);
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void wake_unlocked(cc_net *n) { cc_net_wake_locked(n); }

static void *ask_peer_down(void *arg) {
  cc_net_peer_down_locked(arg, 0);
  return NULL;
}

/* The main thread holds the lock; another thread asks under it. */
static void peer_down_from_another_thread(cc_net *n) {
  pthread_t t;
  cc_net_lock(n);
  if (pthread_create(&t, NULL, ask_peer_down, n) == 0) pthread_join(t, NULL);
  cc_net_unlock(n);
}

static void peer_down_after_unlock(cc_net *n) {
  cc_net_lock(n);
  cc_net_unlock(n);
  cc_net_peer_down_locked(n, 0);
}
#endif

int main(void) {
#ifdef NDEBUG
  printf("test_locks: the lock checks are compiled out of this build (NDEBUG)\n");
  return failures;
#else
  cc_settings s;
  cc_net *n;
  cc_error err;

  cc_settings_default(&s);   /* a world of one: no socket, no I/O thread */
  if (cc_net_open(&s, NULL, &n, &err) != CC_OK) {
    fprintf(stderr, "net: %s\n", err.message);
    return 1;
  }
  /* With the lock held, the calls go through. */
  cc_net_lock(n);
  cc_net_wake_locked(n);
  CHECK(cc_net_peer_down_locked(n, 0) != NULL);
  cc_net_unlock(n);

  fprintf(stderr, "test_locks: three children are about to abort on purpose\n");
  CHECK(child_signal(n, wake_unlocked) == SIGABRT);
  CHECK(child_signal(n, peer_down_from_another_thread) == SIGABRT);
  CHECK(child_signal(n, peer_down_after_unlock) == SIGABRT);

  cc_net_free(n);
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("test_locks: all checks passed\n");
  return 0;
#endif
}
