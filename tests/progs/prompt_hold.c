/* The tree while a terminal prompt asks (tests/ui/test_prompt_hold.py): it is stopped until
 * the answer, and the calls its tasks were blocked in come back as natively.
 *
 *   prompt_hold DIR ASKED
 *
 * A thread writes a counter into DIR/counter, again and again (a number a line, over the
 * last), until the end -- each number by a child it forks (so a fork is under way at any
 * time: its child must not run while the tree is stopped either).  Six threads block: in
 * read() of a pipe, in a 3 s nanosleep, in a futex wait with no timeout and in one with a 3 s
 * timeout, in an epoll_wait on another pipe with no timeout and in one with a 3 s timeout
 * (the kernel fails epoll_wait with EINTR at a stop: the tracer restarts it, with the time
 * left, Tracer._restart_interrupted).  Once all six are inside their calls, the main thread
 * opens ASKED (the policy asks about it: the prompt), waits until the counter has gone on
 * past what it was when the open returned, then writes into the pipes and wakes the futex,
 * and prints how each call ended ("KIND -> ok" or the errno name).  Natively nothing asks:
 * the same lines are the control.  The ptrace interrupt of a stopped tree must not show: the
 * woken calls end by their wake, the timed ones by their time (a sleep's time left may be
 * none by then).
 *
 * Before the wakes, the main thread waits until each thread still in its call sleeps in it
 * (natively at once).  A futex wait the interrupt restarted reads its word again, as it
 * would after a SIGSTOP natively: woken before it is back in the wait, it fails EAGAIN, which
 * is the kernel's way, not the tracer's -- so this does not race it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "in_syscall.h"

static char counter_path[4096];
static volatile int done;
static volatile long written;  /* the counter's last value in the file */
static int pipefd[2], polled[2], epfd, quiet;  /* quiet: an epoll set of nothing */
static int woken, timed_word;  /* futex words */
#define WAITS 6
static volatile pid_t tids[WAITS];
static int oks[WAITS], errs[WAITS];
static const char *const kinds[WAITS] = {"read", "nanosleep", "futex", "futex timed",
                                         "epoll_wait", "epoll_wait timed"};
static const long calls[WAITS] = {SYS_read, SYS_nanosleep, SYS_futex, SYS_futex,
                                  SYS_epoll_wait, SYS_epoll_wait};

static volatile int finished[WAITS];

/* the state letter of a thread of ours (/proc/self/task/TID/stat), '?' when unreadable */
static char state_of(pid_t tid)
{
    char name[64], text[512];
    snprintf(name, sizeof name, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(name, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return '?';
    text[n] = 0;
    char *end = strrchr(text, ')');
    return end && end[1] == ' ' ? end[2] : '?';
}

/* whether thread TID sleeps in system call NR */
static int sleeps_in(pid_t tid, long nr)
{
    char name[64], text[256];
    snprintf(name, sizeof name, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(name, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    return strtol(text, NULL, 10) == nr && state_of(tid) == 'S';
}

static void *counter(void *unused)
{
    (void)unused;
    int fd = open(counter_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (long n = 1; fd >= 0 && !done; n++) {
        char text[32];
        int len = snprintf(text, sizeof text, "%020ld\n", n);
        pid_t child = fork();  /* a new process writes it: none may run while stopped */
        if (child == 0)
            _exit(pwrite(fd, text, (size_t)len, 0) == len ? 0 : 1);
        int status;
        if (child < 0 || waitpid(child, &status, 0) != child || status != 0)
            break;
        written = n;
        usleep(1000);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void *blocked(void *which)
{
    long i = (long)which;
    tids[i] = (pid_t)syscall(SYS_gettid);
    struct timespec three = {3, 0};
    struct epoll_event event;
    long r;
    char c;
    switch (i) {
    case 0:
        r = read(pipefd[0], &c, 1) == 1 ? 0 : -1;
        break;
    case 1:
        r = syscall(SYS_nanosleep, &three, NULL);
        break;
    case 2:
        r = syscall(SYS_futex, &woken, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        break;
    case 3:
        r = syscall(SYS_futex, &timed_word, FUTEX_WAIT_PRIVATE, 0, &three, NULL, 0);
        break;
    case 4: {  /* one event: the pipe written */
        /* (SIGCHLD blocked: the counter's children end while it waits, and under ptrace
         * their SIGCHLD, ignored, is queued and may wake it; taken by another thread first,
         * the wait, with no timeout and so no stop of the tracer's, fails with EINTR --
         * docs/security.md, "Limits".  The timed waits are restarted:
         * Tracer._wait_exit) */
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        pthread_sigmask(SIG_BLOCK, &chld, NULL);
        r = syscall(SYS_epoll_wait, epfd, &event, 1, -1) == 1 ? 0 : -1;
        break;
    }
    default:  /* none: its time is up */
        r = syscall(SYS_epoll_wait, quiet, &event, 1, 3000) == 0 ? 0 : -1;
    }
    oks[i] = r == 0;
    errs[i] = errno;
    finished[i] = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: prompt_hold DIR ASKED\n");
        return 2;
    }
    snprintf(counter_path, sizeof counter_path, "%s/counter", argv[1]);
    if (pipe(pipefd) != 0 || pipe(polled) != 0)
        return 3;
    struct epoll_event in = {.events = EPOLLIN};
    epfd = epoll_create1(0);
    quiet = epoll_create1(0);
    if (epfd < 0 || quiet < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, polled[0], &in) != 0)
        return 3;
    pthread_t count, threads[WAITS];
    pthread_create(&count, NULL, counter, NULL);
    while (!written)  /* (the file is there before the question: a loaded CI asked first) */
        usleep(1000);
    for (long i = 0; i < WAITS; i++) {
        pthread_create(&threads[i], NULL, blocked, (void *)i);
        while (!tids[i])
            usleep(1000);
        until_in(tids[i], calls[i]);
    }
    int fd = open(argv[2], O_RDONLY);  /* asked */
    report("open", fd >= 0, errno);
    long at = written;  /* it goes on: the file shows more than it did at the answer */
    while (written < at + 2)
        usleep(1000);
    for (int i = 0; i < WAITS; i++)
        while (!finished[i] && !sleeps_in(tids[i], calls[i]))
            usleep(1000);
    if (write(pipefd[1], "x", 1) != 1 || write(polled[1], "x", 1) != 1)
        perror("write");
    __atomic_store_n(&woken, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &woken, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    for (int i = 0; i < WAITS; i++) {
        pthread_join(threads[i], NULL);
        report(kinds[i], oks[i], errs[i]);
    }
    done = 1;
    pthread_join(count, NULL);
    return 0;
}
