/* vfork_wait: a vfork parent waiting for its child (which sleeps 0.3 s, then exits), then a task
 * that runs.  Prints "PARENT CHILD" once the child is under way; the parent spins in its own
 * code (no call) for a second after the child exits.  For procfs.wchan's test. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    pid_t parent = getpid();
    pid_t child = vfork();
    if (child == 0) {
        printf("%d %d\n", (int)parent, (int)getpid());
        fflush(stdout);
        usleep(300000);
        _exit(0);
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);  /* (the vDSO's: no call) */
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while (now.tv_sec - start.tv_sec < 2);
    return 0;
}
