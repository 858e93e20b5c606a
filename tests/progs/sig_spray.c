/* sig_spray PID TID: queues SIGRTMIN to thread TID of PID (rt_tgsigqueueinfo, SI_QUEUE) with
 * the values 1, 2, ..., about 300 us apart, until its stdin ends; then prints how many it
 * queued.  (EAGAIN -- the queue at its limit -- is tried again.) */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    pid_t pid = atoi(argv[1]), tid = atoi(argv[2]);
    int sent = 0;
    for (;;) {
        struct pollfd in = {.fd = 0, .events = POLLIN};
        if (poll(&in, 1, 0) != 0) break;  /* (stdin ended, or an error) */
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGRTMIN;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = sent + 1;
        if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGRTMIN, &si) == 0) sent++;
        else if (errno != EAGAIN) {
            perror("rt_tgsigqueueinfo");
            return 1;
        }
        usleep(300);
    }
    printf("%d\n", sent);
    return 0;
}
