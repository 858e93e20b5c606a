/* A timed epoll_wait in one thread of a process whose other thread forks (tests/engine/
 * test_parity_regressions.py): natively the children's SIGCHLD, ignored by default, is never
 * queued and wakes no wait.  Under ptrace the kernel queues it (for the tracer to see) and may
 * wake the waiting thread when the forking one is in a stop of the tracer's; when a third
 * thread, resumed from a stop, takes the signal first, the wait returned EINTR to the program
 * with no stop of its own to show it (Tracer._wait_exit).
 *
 *   wait_eintr WAITS MS
 *
 * Prints "eintr=N ok=M": of WAITS waits of MS milliseconds on an empty epoll set, how many
 * failed with EINTR and how many ran out their time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int done;
static int quiet, waits, ms, eintr, ok;

static void *forker(void *unused)
{
    (void)unused;
    while (!done) {
        for (int k = 0; k < 4; k++)
            if (fork() == 0)
                _exit(0);
        while (waitpid(-1, NULL, 0) > 0) {}
    }
    return NULL;
}

static void *opener(void *unused)  /* a thread often in a stop and resumed from it */
{
    (void)unused;
    while (!done) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static void *waiter(void *unused)
{
    (void)unused;
    struct epoll_event event;
    for (int i = 0; i < waits; i++) {
        int r = epoll_wait(quiet, &event, 1, ms);
        if (r < 0 && errno == EINTR)
            eintr++;
        else if (r == 0)
            ok++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: wait_eintr WAITS MS\n");
        return 2;
    }
    waits = atoi(argv[1]);
    ms = atoi(argv[2]);
    quiet = epoll_create1(0);
    if (quiet < 0)
        return 3;
    pthread_t f, o, w;
    pthread_create(&f, NULL, forker, NULL);
    pthread_create(&o, NULL, opener, NULL);
    pthread_create(&w, NULL, waiter, NULL);
    pthread_join(w, NULL);
    done = 1;
    pthread_join(f, NULL);
    pthread_join(o, NULL);
    printf("eintr=%d ok=%d\n", eintr, ok);
    return 0;
}
