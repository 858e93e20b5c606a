/* Waits that a signal the process ignores must not end: natively such a signal is dropped
 * when sent; a traced process gets it queued (for the tracer to see), which wakes it.
 *
 *   ignored_signal
 *
 * "sigtimedwait": SIGUSR2 is SIG_IGN; a child sends SIGUSR2 while the parent waits for
 * SIGUSR1, then SIGUSR1.  "epoll_wait": a child exits (SIGCHLD, ignored by default) while the
 * parent waits on a pipe its grandchild writes to afterwards.  "sigtimedwait timed": the
 * same with a timeout (60 s) the wait does not reach.  "sigtimedwait expiring": a child
 * sends SIGUSR2 over and over while the parent waits 300 ms for a SIGUSR1 that never
 * comes: the wait ends as its timeout says (EAGAIN), neither early (EINTR) nor never (a
 * timeout started again at each signal).  Prints "KIND -> ok" or the errno name the wait
 * failed with. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "in_syscall.h"

int main(void)
{
    pid_t me = getpid();

    /* an ignored signal during sigtimedwait */
    signal(SIGUSR2, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        until_in(me, SYS_rt_sigtimedwait);
        kill(me, SIGUSR2);
        usleep(50000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    int got = sigtimedwait(&set, NULL, NULL);
    report("sigtimedwait", got == SIGUSR1, errno);
    waitpid(pid, NULL, 0);

    /* ... with a timeout */
    pid = fork();
    if (pid == 0) {
        until_in(me, SYS_rt_sigtimedwait);
        for (int i = 0; i < 3; i++) {
            kill(me, SIGUSR2);
            usleep(20000);
        }
        kill(me, SIGUSR1);
        _exit(0);
    }
    struct timespec long_wait = {60, 0};
    got = sigtimedwait(&set, NULL, &long_wait);
    report("sigtimedwait timed", got == SIGUSR1, errno);
    waitpid(pid, NULL, 0);

    /* ... running out while ignored signals keep coming */
    pid = fork();
    if (pid == 0) {
        until_in(me, SYS_rt_sigtimedwait);
        for (;;) {
            kill(me, SIGUSR2);
            usleep(10000);
        }
    }
    struct timespec short_wait = {0, 300000000};
    got = sigtimedwait(&set, NULL, &short_wait);
    report("sigtimedwait expiring", got == SIGUSR1, errno);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* a child's exit (SIGCHLD, default: ignored) during epoll_wait */
    int p[2];
    if (pipe(p) != 0)
        return 2;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    pid = fork();
    if (pid == 0) {
        until_in(me, SYS_epoll_wait);
        pid_t child = getpid();
        if (fork() == 0) {
            while (getppid() == child) /* until the child has exited */
                usleep(1000);
            usleep(50000);
            _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
        }
        _exit(0);
    }
    close(p[1]);
    struct epoll_event out;
    got = epoll_wait(ep, &out, 1, -1);
    report("epoll_wait", got == 1, errno);
    waitpid(pid, NULL, 0);
    return 0;
}
