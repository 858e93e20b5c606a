/* A wait in one process while another process of the tree makes a call that stops the whole
 * tree (a truncate under a path rule: the tracer freezes the others while it runs).  Natively
 * the wait ends with what it waited for; a ptrace stop must not turn it into EINTR.
 *
 *   freeze_eintr DIR
 *
 * For each kind of wait (sigtimedwait, epoll_wait, semtimedop with no timeout; sigtimedwait
 * and semtimedop with one, "KIND timed", which the tracer restarts with the time left) the
 * parent waits while a child
 * polls /proc/PPID/syscall until the parent is inside the wait, truncates DIR/file (the
 * freeze), then wakes the parent (a signal, a pipe write, a semaphore post).  Prints
 * "KIND -> RESULT" for each: "ok" or the errno name the wait failed with.
 *
 * Last, "stopped": the parent waits in sigtimedwait and the child stops it (SIGSTOP) and
 * continues it (SIGCONT), then sends the signal.  Natively the stop ends that wait with EINTR
 * (signal(7)), and so it must traced: only the tracer's own stops are hidden. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "in_syscall.h"

static char file[4096];

/* the child: wait until the parent sits in system call NR, freeze the tree, then wake it */
static void child(pid_t parent, long nr, void (*wake)(pid_t))
{
    until_in(parent, nr);
    if (truncate(file, 0) != 0)
        perror("truncate");
    wake(parent);
    _exit(0);
}

static int pipefd[2];
static int semid;

static void wake_signal(pid_t p) { kill(p, SIGUSR1); }

/* the "stopped" case's child: a real stop and continue while the parent waits */
static void stop_child(pid_t parent)
{
    until_in(parent, SYS_rt_sigtimedwait);
    kill(parent, SIGSTOP);
    usleep(50000);
    kill(parent, SIGCONT);
    usleep(200000);
    kill(parent, SIGUSR1); /* for a wait that went on: it then ends "ok" */
    _exit(0);
}
static void wake_pipe(pid_t p) { (void)p; if (write(pipefd[1], "x", 1) != 1) perror("write"); }
static void wake_sem(pid_t p)
{
    (void)p;
    struct sembuf up = {0, 1, 0};
    if (semop(semid, &up, 1) != 0)
        perror("semop");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    snprintf(file, sizeof file, "%s/file", argv[1]);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "data", 4) != 4)
        return 3;
    close(fd);

    /* sigtimedwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t me = getpid(), pid = fork();
    if (pid == 0)
        child(me, SYS_rt_sigtimedwait, wake_signal);
    struct timespec ts = {30, 0};
    int got = sigtimedwait(&set, NULL, NULL);
    report("sigtimedwait", got == SIGUSR1, errno);
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0)
        child(me, SYS_rt_sigtimedwait, wake_signal);
    got = sigtimedwait(&set, NULL, &ts);
    report("sigtimedwait timed", got == SIGUSR1, errno);
    waitpid(pid, NULL, 0);

    /* epoll_wait */
    if (pipe(pipefd) != 0)
        return 4;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
    pid = fork();
    if (pid == 0)
        child(me, SYS_epoll_wait, wake_pipe);
    struct epoll_event out;
    got = epoll_wait(ep, &out, 1, -1);
    report("epoll_wait", got == 1, errno);
    waitpid(pid, NULL, 0);

    /* semtimedop */
    semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (semid < 0)
        return 5;
    pid = fork();
    if (pid == 0)
        child(me, SYS_semtimedop, wake_sem);
    struct sembuf down = {0, -1, 0};
    got = semtimedop(semid, &down, 1, NULL);
    report("semtimedop", got == 0, errno);
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0)
        child(me, SYS_semtimedop, wake_sem);
    got = semtimedop(semid, &down, 1, &ts);
    report("semtimedop timed", got == 0, errno);
    waitpid(pid, NULL, 0);
    semctl(semid, 0, IPC_RMID);

    /* stopped and continued for real */
    pid = fork();
    if (pid == 0)
        stop_child(me);
    got = sigtimedwait(&set, NULL, &ts);
    report("stopped", got == SIGUSR1, errno);
    waitpid(pid, NULL, 0);
    return 0;
}
