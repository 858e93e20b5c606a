/* sig_outside.c MODE VICTIM: reach a process outside the traced tree (VICTIM, a sleeper
 * the test started in a session of its own) with SIGTERM, under a policy whose only permit
 * of signal calls is tree-scoped (target = "tree": tests/escape/test_escape_signals.py).
 * ESCAPED when the victim ended (gone, or a zombie its parent has not reaped).
 *
 *   kill, tkill, tgkill, sigqueue, tgsigqueue   the call on the victim's pid (and tid)
 *   pidfd       pidfd_send_signal on a pidfd of the victim
 *   pgrp        kill(-pgid): the victim's process group
 *   tgmix       tgkill(our own tgid, the victim's tid) and tgkill(the victim, our tid):
 *               one target in the tree is not enough (natively ESRCH: never escapes; the
 *               first is covered, the kernel sending only to a thread of our own group)
 *   joined      (VICTIM: a file) a process group of our own, which a process outside the
 *               tree joins (it is in our session: it was started beside systrace); it
 *               writes its pid into VICTIM.joined; then kill(0, SIGTERM) -- a group with one
 *               member outside the tree is not the tree's
 *   pidfdswap   pidfd_send_signal on a descriptor number that a second thread flips, as
 *               fast as it can, between a pidfd of a child of ours (which ignores SIGTERM)
 *               and one of the victim: the check must hold for the descriptor the kernel
 *               uses (the tree is frozen while the call runs)
 *   remembered  kill(a child of ours, SIGKILL), then kill(victim, SIGTERM): an answer about
 *               the first (a task of the tree), remembered, must not answer the second
 *               (close22: the rule it remembered was "permit kill", any target)
 */
#include "attack.h"

#include <sys/syscall.h>

#define SWAP_FD 100

static pid_t victim;

static int victim_ended(void) { return process_ended(victim); }

static int victim_ends_soon(void) { return process_ends_soon(victim); }

static volatile int stop_swapping;
static int pidfd_in, pidfd_out;

static void *swapper(void *arg) {
    (void)arg;
    while (!stop_swapping) {
        dup2(pidfd_out, SWAP_FD);
        dup2(pidfd_in, SWAP_FD);
    }
    return NULL;
}

static void pidfd_swap(void) {
    pid_t child = fork();
    if (child == 0) {
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    pidfd_in = (int)syscall(SYS_pidfd_open, child, 0);
    pidfd_out = (int)syscall(SYS_pidfd_open, victim, 0);
    if (pidfd_in < 0 || pidfd_out < 0) {
        kill(child, SIGKILL);
        skipped("pidfd_open: %s", ename(errno));
    }
    usleep(20000); /* the child ignores SIGTERM before the first one comes */
    dup2(pidfd_in, SWAP_FD);
    pthread_t thread;
    pthread_create(&thread, NULL, swapper, NULL);
    int sent = 0, refused = 0, hit = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < 20000 && !hit; i++) {
        if (syscall(SYS_pidfd_send_signal, SWAP_FD, SIGTERM, NULL, 0) == 0)
            sent++;
        else
            refused++;
        hit = victim_ended();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 3)
            break;
    }
    stop_swapping = 1;
    pthread_join(thread, NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (hit || victim_ends_soon())
        escaped("a SIGTERM reached pid %d through a flipped pidfd (%d sent, %d refused)",
                victim, sent, refused);
    blocked("the victim lives (%d sent to our child, %d refused)", sent, refused);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODE VICTIM\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    victim = (pid_t)atoi(argv[2]);
    long rc;
    if (!strcmp(mode, "joined")) {
        char joined[4096];
        snprintf(joined, sizeof joined, "%s.joined", argv[2]);
        if (setpgid(0, 0) < 0)
            skipped("setpgid: %s", ename(errno));
        FILE *f = fopen(argv[2], "w");
        if (!f)
            skipped("cannot write %s", argv[2]);
        fprintf(f, "%d", getpid());
        fclose(f);
        victim = 0;
        for (int i = 0; i < 1000 && !victim; i++) {
            f = fopen(joined, "r");
            if (f) {
                if (fscanf(f, "%d", &victim) != 1)
                    victim = 0;
                fclose(f);
            }
            if (!victim)
                usleep(10000);
        }
        if (!victim)
            skipped("no process joined our group");
        signal(SIGTERM, SIG_IGN);
        rc = kill(0, SIGTERM);
    } else if (!strcmp(mode, "kill")) {
        rc = kill(victim, SIGTERM);
    } else if (!strcmp(mode, "tkill")) {
        rc = syscall(SYS_tkill, victim, SIGTERM);
    } else if (!strcmp(mode, "tgkill")) {
        rc = syscall(SYS_tgkill, victim, victim, SIGTERM);
    } else if (!strcmp(mode, "sigqueue")) {
        union sigval value = {.sival_int = 1};
        rc = sigqueue(victim, SIGTERM, value);
    } else if (!strcmp(mode, "tgsigqueue")) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = SIGTERM;
        info.si_code = SI_QUEUE;
        info.si_pid = getpid();
        info.si_uid = getuid();
        rc = syscall(SYS_rt_tgsigqueueinfo, victim, victim, SIGTERM, &info);
    } else if (!strcmp(mode, "pidfd")) {
        int fd = (int)syscall(SYS_pidfd_open, victim, 0);
        if (fd < 0)
            skipped("pidfd_open: %s", ename(errno));
        rc = syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
    } else if (!strcmp(mode, "pgrp")) {
        rc = kill(-getpgid(victim), SIGTERM);
    } else if (!strcmp(mode, "tgmix")) {
        long a = syscall(SYS_tgkill, getpid(), victim, SIGTERM);
        int first = errno;
        long b = syscall(SYS_tgkill, victim, (pid_t)syscall(SYS_gettid), SIGTERM);
        printf("note: tgkill(us, victim) = %ld (%s), tgkill(victim, us) = %ld (%s)\n", a,
               a < 0 ? ename(first) : "ok", b, b < 0 ? ename(errno) : "ok");
        rc = a == 0 || b == 0 ? 0 : -1;
    } else if (!strcmp(mode, "remembered")) {
        int held[2];
        if (pipe(held) < 0)
            skipped("pipe: %s", ename(errno));
        pid_t child = fork();
        if (child == 0) { /* (ends when we do: the pipe's last writer is ours) */
            char byte;
            close(held[1]);
            _exit(read(held[0], &byte, 1) < 0);
        }
        if (child < 0)
            skipped("fork: %s", ename(errno));
        if (kill(child, SIGKILL) < 0)
            skipped("kill(our child): %s", ename(errno));
        waitpid(child, NULL, 0);
        rc = kill(victim, SIGTERM);
    } else if (!strcmp(mode, "pidfdswap")) {
        pidfd_swap();
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    int err = errno;
    if (victim_ends_soon())
        escaped("%s: SIGTERM reached pid %d", mode, victim);
    blocked("%s: %s, the victim lives", mode, rc < 0 ? ename(err) : "returned 0");
}
