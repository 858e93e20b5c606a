/* Signals at an armed task: ROUNDS times, SIGUSR1 to itself (a handler counts it) and a
 * child's SIGCHLD; then an epoll_wait with no timeout that SIGALRM interrupts (the call
 * returns EINTR itself, not a restart code: the native loop hands that stop to Python, which
 * may restart such a call -- not this one: its signal has a handler).  Prints what it saw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, chld, alrm;
static void on_usr1(int s) { (void)s; usr1++; }
static void on_chld(int s) { (void)s; chld++; }
static void on_alrm(int s) { (void)s; alrm++; }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    /* one call that stops (a write open): the tracer has then read the task's view, which
     * arming it needs */
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) close(null);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_flags = 0;  /* no SA_RESTART: the read fails with EINTR */
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    for (int i = 0; i < rounds; i++) {
        raise(SIGUSR1);
        pid_t child = fork();
        if (child == 0) _exit(0);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
    }
    int ep = epoll_create1(0);
    if (ep < 0) return 1;
    alarm(1);
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, -1);
    printf("usr1 %d\nchld %d\nepoll_wait %s\nalrm %d\n", (int)usr1, (int)chld,
           n < 0 ? strerror(errno) : "event", (int)alrm);
    return 0;
}
