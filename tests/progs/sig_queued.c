/* sig_queued: its second thread waits in read(2) on stdin and alone takes SIGRTMIN (the main
 * thread blocks it), whose SA_SIGINFO handler says "sig N from PID code C value V on TID"
 * for each one.  Prints "ready PID TID" (TID: the second thread's); ends when stdin does. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static void handler(int sig, siginfo_t *si, void *context) {
    (void)context;
    char line[128];
    int n = snprintf(line, sizeof line, "sig %d from %d code %d value %d on %ld\n", sig,
                     si->si_pid, si->si_code, si->si_value.sival_int, syscall(SYS_gettid));
    (void)!write(1, line, n);
}

static volatile pid_t waiter_tid;

static void *waiter(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    waiter_tid = syscall(SYS_gettid);
    char c;
    while (read(0, &c, 1) > 0) {}
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, waiter, NULL);
    while (!waiter_tid) usleep(100);
    printf("ready %d %d\n", getpid(), waiter_tid);
    fflush(stdout);
    pthread_join(thread, NULL);
    return 0;
}
