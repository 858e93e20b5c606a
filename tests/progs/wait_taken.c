/* A timed epoll_wait in one thread, the only thread that does not block SIGUSR1, which the
 * process catches (tests/engine/test_parity_regressions.py).  The main thread sends SIGUSR1 to
 * the process -- the kernel wakes the waiting thread, the only one that takes it, and its wait
 * fails with EINTR -- and unblocks SIGUSR1 at once, so that it takes the signal itself, often
 * before the waiting thread gets to it.  Natively the wait fails with EINTR either way (its
 * thread was woken: signal_pending); under the tracer its exit stop found no signal pending
 * and restarted it (Tracer._wait_exit): it waited its whole time out.
 *
 *   wait_taken ROUNDS MS
 *
 * Prints "eintr=N timeout=M handled=H": of ROUNDS waits of MS milliseconds, how many failed
 * with EINTR, how many ran out their time, and how many signals the handler saw. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile int waiting;
static int quiet, rounds, ms, eintr, timeout;

static void on_usr1(int sig)
{
    (void)sig;
    handled++;
}

static void *waiter(void *unused)
{
    (void)unused;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    struct epoll_event event;
    for (int i = 0; i < rounds; i++) {
        __atomic_store_n(&waiting, i + 1, __ATOMIC_SEQ_CST);
        int r = epoll_wait(quiet, &event, 1, ms);
        if (r < 0 && errno == EINTR)
            eintr++;
        else if (r == 0)
            timeout++;
        __atomic_store_n(&waiting, 0, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: wait_taken ROUNDS MS\n");
        return 2;
    }
    rounds = atoi(argv[1]);
    ms = atoi(argv[2]);
    quiet = epoll_create1(0);
    if (quiet < 0)
        return 3;
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);  /* (the waiter inherits it, and unblocks it) */
    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    for (int i = 0; i < rounds; i++) {
        while (__atomic_load_n(&waiting, __ATOMIC_SEQ_CST) != i + 1)
            usleep(1000);
        usleep(100000);  /* (in its wait by now: the wait is long, what ends it is counted) */
        kill(getpid(), SIGUSR1);
        pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
        pthread_sigmask(SIG_BLOCK, &usr1, NULL);
        while (__atomic_load_n(&waiting, __ATOMIC_SEQ_CST) == i + 1)
            usleep(1000);
    }
    pthread_join(w, NULL);
    printf("eintr=%d timeout=%d handled=%d\n", eintr, timeout, (int)handled);
    return 0;
}
