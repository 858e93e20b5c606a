/* ns_signal: signal "every process" from a pid namespace of our own.
 *
 *   ns_signal SIGNAL
 *
 * A child made by clone(CLONE_NEWPID) is pid 1 of a new namespace; its kill(-1, SIGNAL)
 * reaches every process of that namespace but itself -- none.  A tracer that took the call
 * over (it does so when the signal would reach and end the tracer: kill(0), kill(-1)) with its
 * own view of the pids would send it to every process *it* may signal instead.  The test
 * watches a process outside the traced tree; this program only reports what the call
 * returned.  Class 10 (a new pid namespace).
 */
#include "attack.h"

#include <sched.h>

int main(int argc, char **argv) {
    if (argc < 2)
        usage("ns_signal SIGNAL");
    int sig = atoi(argv[1]);
    long pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) {
        if (errno == EINVAL)
            skipped("clone(CLONE_NEWPID): %s", ename(errno));
        blocked("clone(CLONE_NEWPID): %s", ename(errno));
    }
    if (pid == 0) {
        int rc = kill(-1, sig);
        printf("note: kill(-1, %d) from pid %d of a new pid namespace: %s\n", sig, getpid(),
               rc < 0 ? ename(errno) : "0");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    blocked("the signal was sent from the new namespace (the test looks for who got it)");
}
