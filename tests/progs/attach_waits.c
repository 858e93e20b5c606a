/* attach_waits: threads caught by `systrace --attach` inside a call, or in user code, and
 * how each call then returns -- which must be as natively: the tracer runs a call of its own
 * in every thread at its attach stop (Tracer._refuse_uring_contexts), and the kernel's
 * restart of the interrupted call must still apply to the thread's own registers.
 *
 *   attach_waits [filter] MODE...   MODE: read, sleep, futex, spin (one thread each, the
 *                                   first in the main thread)
 *
 * filter: first a seccomp filter that kills the process at any io_uring_enter -- the call the
 * tracer's probe makes, which it must run with the filter suspended (or not at all).
 *
 * read:  read(0) of a line (the test writes it once the attach is over): "read: N LINE"
 * sleep: nanosleep of 2 s (ERESTART_RESTARTBLOCK: restart_syscall with the time left):
 *        "sleep: 0 whole" when it returned 0 no earlier than 2 s after it began
 * futex: FUTEX_WAIT on a word until the reader sets it (ERESTARTSYS): "futex: ok" when every
 *        wait returned 0 or EAGAIN (the word changed first)
 * spin:  user code (the vDSO's clock) until the reader or the sleeper is done, or SIGUSR1
 *        comes (the test sends it when spin is alone: no other thread ends it), or for 60 s:
 *        "spin: done"
 * spawn: makes and joins a thread, again and again, until the reader or the sleeper is done
 *        (the attach may find it at a clone event): "spawn: ok" when every one was made
 * A failed call says its errno's number instead.  "ready PID" once every thread has
 * started (the test then looks at /proc for them to wait), "traced: N" (the TracerPid) when
 * the reader's line came; exit 0.  Without "read" the others end by themselves: sleep after
 * its 2 s, futex once the sleeper is done (it needs "read" or "sleep"), spin by then. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int released;  /* the futex word, and the spinner's flag */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void release(void) {
    __atomic_store_n(&released, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &released, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

static void *do_read(void *unused) {
    (void)unused;
    char line[128] = "";
    ssize_t n = read(0, line, sizeof line - 1);
    if (n < 0) {
        printf("read: -1 errno %d\n", errno);
    } else {
        line[strcspn(line, "\n")] = 0;
        printf("read: %zd %s\n", n, line);
    }
    FILE *status = fopen("/proc/self/status", "r");
    for (char text[256]; status && fgets(text, sizeof text, status);)
        if (strncmp(text, "TracerPid:", 10) == 0)
            printf("traced: %d\n", atoi(text + 10));
    if (status)
        fclose(status);
    fflush(stdout);
    release();
    return NULL;
}

static int has_reader;

static void *do_sleep(void *unused) {
    (void)unused;
    struct timespec two = {2, 0};
    double start = now_s();
    int rc = nanosleep(&two, NULL);
    int err = errno;
    double slept = now_s() - start;
    if (rc == 0)
        printf("sleep: 0 %s\n", slept >= 2.0 ? "whole" : "short");
    else
        printf("sleep: -1 errno %d\n", err);
    fflush(stdout);
    if (!has_reader)
        release();
    return NULL;
}

static void *do_futex(void *unused) {
    (void)unused;
    int failed = 0;
    while (!__atomic_load_n(&released, __ATOMIC_SEQ_CST)) {
        if (syscall(SYS_futex, &released, FUTEX_WAIT, 0, NULL, NULL, 0) < 0 &&
            errno != EAGAIN && !failed)
            failed = errno;
    }
    if (failed)
        printf("futex: errno %d\n", failed);
    else
        printf("futex: ok\n");
    fflush(stdout);
    return NULL;
}

/* SIGUSR1: the test's word that a lone spinner may stop (a handler sets a flag: no call) */
static void on_usr1(int sig) {
    (void)sig;
    released = 1;
}

static void *do_spin(void *unused) {
    (void)unused;
    double start = now_s();  /* (the vDSO's clock: no call) */
    while (!released && now_s() - start < 60.0)
        ;
    printf("spin: done\n");
    fflush(stdout);
    return NULL;
}

/* io_uring_enter kills the process; every other call is allowed. */
static int kill_at_io_uring_enter(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_enter, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void *nothing(void *unused) {
    return unused;
}

static void *do_spawn(void *unused) {
    (void)unused;
    int failed = 0;
    while (!__atomic_load_n(&released, __ATOMIC_SEQ_CST) && !failed) {
        pthread_t thread;
        failed = pthread_create(&thread, NULL, nothing, NULL);
        if (!failed)
            pthread_join(thread, NULL);
    }
    if (failed)
        printf("spawn: errno %d\n", failed);
    else
        printf("spawn: ok\n");
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv) {
    void *(*first)(void *) = NULL;
    pthread_t threads[8];
    int n = 0;
    if (argc > 1 && strcmp(argv[1], "filter") == 0) {
        if (kill_at_io_uring_enter() != 0) {
            fprintf(stderr, "seccomp: errno %d\n", errno);
            return 2;
        }
        argv++;
        argc--;
    }
    for (int i = 1; i < argc; i++)
        has_reader |= strcmp(argv[i], "read") == 0;
    for (int i = 1; i < argc && n < 8; i++) {
        void *(*body)(void *) = strcmp(argv[i], "read") == 0    ? do_read
                                : strcmp(argv[i], "sleep") == 0 ? do_sleep
                                : strcmp(argv[i], "futex") == 0 ? do_futex
                                : strcmp(argv[i], "spin") == 0  ? do_spin
                                : strcmp(argv[i], "spawn") == 0 ? do_spawn
                                                                : NULL;
        if (!body) {
            fprintf(stderr, "usage: attach_waits [filter] read|sleep|futex|spin|spawn...\n");
            return 2;
        }
        if (!first) {
            first = body;
            continue;
        }
        if (pthread_create(&threads[n++], NULL, body, NULL) != 0)
            return 2;
    }
    if (!first)
        return 2;
    struct sigaction stop = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &stop, NULL);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    first(NULL);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    return 0;
}
