/* Waits with a timeout, interrupted by the tracer and run out as natively.
 *
 *   timed_waits DIR MODE
 *
 * A thread makes each kind of wait below (the system call itself: libc may use another) with
 * a timeout of 300 ms that nothing ends but
 * the time.  MODE "freeze": meanwhile the main thread, once the waiter sits in the call,
 * truncates DIR/file (under a path rule, a call the tracer runs with the other tasks of the
 * tree stopped: a PTRACE_INTERRUPT of the waiter).  MODE "sigchld": the waiter's child exits
 * while it waits (SIGCHLD, ignored by default: natively dropped, traced queued, which wakes
 * the waiter).  MODE "caught": "freeze" in a process that catches SIGUSR2, which nothing
 * sends (the freeze's EINTR is the tracer's all the same: review 16).  Natively every wait
 * runs out its time: "KIND -> ok" when it ended as its
 * timeout says and not before the time; otherwise "early" or the errno name it failed with.
 *
 * The epoll waits (and sigtimedwait, semtimedop) fail with EINTR after any stop and are
 * restarted by the tracer with the time left; the others the kernel restarts itself
 * (ERESTARTNOHAND, a restart block), here to show that they need nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "in_syscall.h"

#define TIMEOUT_MS 300

static char file[4096];
static int sigchld_mode;
static int epfd, pipefd[2], semid;
static uint32_t futex_word;
static sigset_t usr1;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const struct timespec wait_ts = {0, TIMEOUT_MS * 1000000L};

/* each wait: 1 when it ran out as its timeout says (its result and errno) */
static int do_epoll_wait(void)
{
    struct epoll_event ev;
    return syscall(SYS_epoll_wait, epfd, &ev, 1, TIMEOUT_MS) == 0;
}
static int do_epoll_pwait(void)
{
    struct epoll_event ev;
    return syscall(SYS_epoll_pwait, epfd, &ev, 1, TIMEOUT_MS, &usr1, 8) == 0;
}
static int do_epoll_pwait2(void)
{
    struct epoll_event ev;
    return syscall(SYS_epoll_pwait2, epfd, &ev, 1, &wait_ts, NULL, 8) == 0;
}
static int do_poll(void)
{
    struct pollfd p = {pipefd[0], POLLIN, 0};
    return syscall(SYS_poll, &p, 1, TIMEOUT_MS) == 0;
}
static int do_ppoll(void)
{
    struct pollfd p = {pipefd[0], POLLIN, 0};
    struct timespec ts = wait_ts;
    return syscall(SYS_ppoll, &p, 1, &ts, NULL, 8) == 0;
}
static int do_select(void)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(pipefd[0], &set);
    struct timeval tv = {0, TIMEOUT_MS * 1000L};
    return syscall(SYS_select, pipefd[0] + 1, &set, NULL, NULL, &tv) == 0;
}
static int do_pselect6(void)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(pipefd[0], &set);
    struct timespec ts = wait_ts;
    return syscall(SYS_pselect6, pipefd[0] + 1, &set, NULL, NULL, &ts, NULL) == 0;
}
static int do_nanosleep(void)
{
    return syscall(SYS_nanosleep, &wait_ts, NULL) == 0;
}
static int do_clock_nanosleep(void)
{
    return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &wait_ts, NULL) == 0;
}
static int do_futex(void)
{
    return syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &wait_ts, NULL, 0) == -1
        && errno == ETIMEDOUT;
}
static int do_sigtimedwait(void)
{
    return syscall(SYS_rt_sigtimedwait, &usr1, NULL, &wait_ts, 8) == -1 && errno == EAGAIN;
}
static int do_semtimedop(void)
{
    struct sembuf down = {0, -1, 0};
    return syscall(SYS_semtimedop, semid, &down, 1, &wait_ts) == -1 && errno == EAGAIN;
}

static const struct {
    const char *name;
    long nr;
    int (*wait)(void);
} kinds[] = {
    {"epoll_wait", SYS_epoll_wait, do_epoll_wait},
    {"epoll_pwait", SYS_epoll_pwait, do_epoll_pwait},
    {"epoll_pwait2", SYS_epoll_pwait2, do_epoll_pwait2},
    {"poll", SYS_poll, do_poll},
    {"ppoll", SYS_ppoll, do_ppoll},
    {"select", SYS_select, do_select},
    {"pselect6", SYS_pselect6, do_pselect6},
    {"nanosleep", SYS_nanosleep, do_nanosleep},
    {"clock_nanosleep", SYS_clock_nanosleep, do_clock_nanosleep},
    {"futex", SYS_futex, do_futex},
    {"sigtimedwait", SYS_rt_sigtimedwait, do_sigtimedwait},
    {"semtimedop", SYS_semtimedop, do_semtimedop},
};

static volatile pid_t waiter_tid;
static pthread_barrier_t started, finished;

static void *waiter(void *arg)
{
    (void)arg;
    waiter_tid = gettid();
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        pthread_barrier_wait(&started);
        pid_t child = -1;
        if (sigchld_mode) {
            pid_t me = gettid();
            child = fork();
            if (child == 0) {
                until_in(me, kinds[i].nr);
                _exit(0); /* SIGCHLD to the waiter, its parent */
            }
        }
        long start = now_ms();
        errno = 0;
        int ok = kinds[i].wait();
        int err = errno;
        long took = now_ms() - start;
        if (ok && took < TIMEOUT_MS)
            printf("%s -> early\n", kinds[i].name);
        else
            report(kinds[i].name, ok, err ? err : EPROTO);
        if (child > 0)
            waitpid(child, NULL, 0);
        pthread_barrier_wait(&finished);
    }
    return NULL;
}

static void on_usr2(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    sigchld_mode = strcmp(argv[2], "sigchld") == 0;
    if (strcmp(argv[2], "caught") == 0) {
        struct sigaction sa = {.sa_handler = on_usr2};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
    }
    snprintf(file, sizeof file, "%s/file", argv[1]);
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "data", 4) != 4)
        return 3;
    close(fd);
    if (pipe(pipefd) != 0)
        return 4;
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev);
    semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (semid < 0)
        return 5;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    pthread_barrier_init(&started, NULL, 2);
    pthread_barrier_init(&finished, NULL, 2);
    pthread_t thread;
    if (pthread_create(&thread, NULL, waiter, NULL) != 0)
        return 6;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        pthread_barrier_wait(&started);
        if (!sigchld_mode) {
            until_in(waiter_tid, kinds[i].nr);
            if (truncate(file, 0) != 0)
                perror("truncate");
        }
        pthread_barrier_wait(&finished);
    }
    pthread_join(thread, NULL);
    semctl(semid, 0, IPC_RMID);
    return 0;
}
