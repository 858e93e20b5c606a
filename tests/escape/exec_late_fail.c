/* exec_late_fail.c -- red team 71: an exec from a thread that fails after its point of no return.
 *
 * The process's second thread lowers RLIMIT_AS to 64 KiB and execs this program again.  The
 * kernel gets past the exec's point of no return (de_thread: the leader is gone, the thread
 * has its tid now), then cannot set up the new image's stack or map it, and kills the
 * process with SIGSEGV: no exec event comes, the thread's exit stop of execve reports under
 * the leader's tid.  Natively the process dies of SIGSEGV at once.  On main, under a policy
 * that checks the exec, the tracer kept that stop for the exec's own thaw -- which waited
 * for it under the thread's old tid -- and the process and systrace stopped for ever.
 *
 * Prints SKIPPED when the exec fails before its point of no return (returns to the thread);
 * otherwise prints nothing and dies of SIGSEGV (the test reads the status).
 */
#include "attack.h"

#include <sys/resource.h>

static void *execer(void *arg) {
    (void)arg;
    struct rlimit small = {65536, 65536};
    if (setrlimit(RLIMIT_AS, &small) != 0) {
        printf("SKIPPED: setrlimit RLIMIT_AS: %s\n", strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    char *argv[] = {"exec_late_fail", "image", NULL};
    execv("/proc/self/exe", argv);
    printf("SKIPPED: the exec failed before its point of no return: %s\n", strerror(errno));
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "image") == 0) {
        printf("SKIPPED: the exec under RLIMIT_AS 64 KiB succeeded\n");
        return 0;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, execer, NULL) != 0) {
        printf("SKIPPED: pthread_create failed\n");
        return 0;
    }
    for (;;) pause();
}
