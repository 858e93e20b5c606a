/* tr_stale_pid.c: red team 12 -- the tracer's signals to the command after the command is gone.
 *
 * systrace passes the termination requests it gets (SIGTERM, SIGHUP) on to the command's
 * process, by its pid, and waits, as strace does, for what the command left running.  This
 * program's main process leaves a child running and exits: its pid is free once systrace has
 * reaped it, and any process may be given it next -- by pid wrap-around, or steered through
 * /proc/sys/kernel/ns_last_pid (root) or clone3's set_tid.  A SIGTERM or SIGHUP sent to
 * systrace then went to that process, which is no process of the traced tree (and may be
 * anyone's, where systrace runs as root: `-c` runs the command as another user).
 *
 * It prints "main PID child CHILD", then its child waits until PID is gone (reaped), prints "reaped PID"
 * and sleeps (the run goes on until it is killed). */
#include "attack.h"

int main(void) {
    int main_pid = getpid();
    int child = fork();
    if (child < 0)
        blocked("fork: %s", ename(errno));
    if (child > 0) {
        printf("main %d child %d\n", main_pid, child);
        fflush(stdout);
        _exit(0);
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d", main_pid);
    double until = now_s() + 20;
    while (exists(proc) && now_s() < until)
        usleep(1000);
    printf("reaped %d\n", main_pid);
    fflush(stdout);
    sleep(120);
    return 0;
}
