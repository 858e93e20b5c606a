/* A thread started just before its process ends: the main thread waits only until the
 * thread runs, then returns (exit_group) while the thread makes N getppid calls and then
 * names itself with prctl(PR_SET_NAME), as a Rust thread does at its start (rustc's).
 * With a program after N, the main thread execs it instead (rustup's proxy execs cargo).
 * Natively the thread often gets to its prctl before the exit ends it; learning stopped
 * at every one of its calls and ended it first -- the learned policy then refused the
 * prctl its next run made (learner.EXIT_GRACE). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static atomic_int started;
static int calls;

static void *run(void *arg) {
    (void)arg;
    atomic_store(&started, 1);
    for (int i = 0; i < calls; i++) getppid();
    prctl(PR_SET_NAME, "late-worker", 0, 0, 0);
    return NULL;
}

int main(int argc, char **argv) {
    calls = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t thread;
    if (pthread_create(&thread, NULL, run, NULL) != 0) return 2;
    while (!atomic_load(&started)) {}
    if (argc > 2) execv(argv[2], argv + 2);  /* (an exec ends the thread as the exit does) */
    return 0;
}
