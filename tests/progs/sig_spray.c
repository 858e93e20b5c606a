/* sig_spray PID TID N: queues SIGRTMIN to thread TID of PID N times (rt_tgsigqueueinfo,
 * SI_QUEUE), with the values 1..N, 300 us apart. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    pid_t pid = atoi(argv[1]), tid = atoi(argv[2]);
    int n = atoi(argv[3]);
    for (int i = 1; i <= n; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_signo = SIGRTMIN;
        si.si_code = SI_QUEUE;
        si.si_pid = getpid();
        si.si_uid = getuid();
        si.si_value.sival_int = i;
        if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, SIGRTMIN, &si) < 0) return 1;
        usleep(300);
    }
    return 0;
}
