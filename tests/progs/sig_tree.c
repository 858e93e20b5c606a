/* sig_tree.c: signals sent inside the traced tree and outside it, one per argument
 * (tests/engine/test_signal_tree.py).  Each prints "OP -> RESULT": "ok" when the call
 * succeeded and the signal arrived where it was sent, the errno's name when it failed.
 *
 *   child        kill(child, SIGTERM) of a forked child waiting in pause()
 *   sigqueue     sigqueue(child, SIGUSR1) (rt_sigqueueinfo) of a child waiting for it
 *   pidfd        pidfd_send_signal(pidfd_open(child), SIGTERM)
 *   thread       tgkill(getpid(), tid, SIGUSR1) of a thread of ours waiting for it
 *   tkill        tkill(tid, SIGUSR1), same thread
 *   tgsigqueue   rt_tgsigqueueinfo(getpid(), tid, SIGUSR1), same thread
 *   self         kill(getpid(), SIGUSR1) with a handler
 *   outside:PID  kill(PID, SIGUSR1) of a process outside the tree
 *   outpidfd:PID pidfd_send_signal(pidfd_open(PID), SIGUSR1)
 *   outtkill:PID tkill(PID, SIGUSR1)
 *   group        kill(0, 0): our process group (a probe: no signal sent either way)
 *   all          kill(-1, 0): every process we may signal (a probe)
 *   pgid:PGID    kill(-PGID, 0): another process group (a probe)
 *   nskill       in a pid namespace of its own (unshare --pid): a child made to have, in
 *                it, the number this process has outside it (ns_last_pid), then
 *                kill(that number, SIGTERM) -- its own child here, itself to the tracer
 *   zombie       kill(child, SIGTERM) of a child that has ended and is not reaped yet
 *                (waitid WNOWAIT): natively 0
 *   owngroup     in a process group of its own (setpgid(0, 0)) with a child: kill(0,
 *                SIGUSR1) reaches both (the child exits 42, we take it in a handler)
 *   owngroupneg  the same with kill(-getpgrp(), SIGUSR1)
 *   reap         a child that exits by itself, waited for: no signal sent
 *   join         a thread that ends by itself, joined: no signal sent
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static void report(const char *op, long rc, int err, int arrived) {
    if (rc < 0)
        printf("%s -> %s\n", op, strerrorname_np(err));
    else
        printf("%s -> %s\n", op, arrived ? "ok" : "not-arrived");
    fflush(stdout);
}

/* A child that waits for a signal: SIGTERM ends it (default action); SIGUSR1 (blocked,
 * taken by sigwaitinfo) makes it exit 42. */
static pid_t waiting_child(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int sig = sigwaitinfo(&set, NULL);
        _exit(sig == SIGUSR1 ? 42 : 1);
    }
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    return pid;
}

/* whether the child ended as the signal sent would end it; a child the signal did not reach
 * is killed (its end then says not-arrived) */
static int ended_by(pid_t pid, long rc, int sig) {
    if (rc < 0)
        kill(pid, SIGKILL);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 0;
    if (sig == SIGTERM)
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    return WIFEXITED(status) && WEXITSTATUS(status) == 42;
}

static void *ends(void *arg) { return arg; }

static pthread_t waiter;
static volatile pid_t waiter_tid;
static volatile int waiter_got;

static void *wait_usr1(void *arg) {
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    waiter_tid = (pid_t)syscall(SYS_gettid);
    waiter_got = sigwaitinfo(&set, NULL) == SIGUSR1;
    return NULL;
}

/* a thread waiting for SIGUSR1, which every other thread blocks */
static void start_waiter(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    waiter_tid = 0;
    waiter_got = 0;
    pthread_create(&waiter, NULL, wait_usr1, NULL);
    while (!waiter_tid)
        usleep(1000);
}

static int waiter_done(long rc) {
    if (rc < 0)
        pthread_cancel(waiter);  /* not sent: end its wait (glibc's tgkill of SIGCANCEL) */
    pthread_join(waiter, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return rc >= 0 && waiter_got;
}

int main(int argc, char **argv) {
    signal(SIGUSR1, on_usr1);
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        const char *colon = strchr(op, ':');
        long arg = colon ? strtol(colon + 1, NULL, 10) : 0;
        long rc;
        if (!strcmp(op, "child")) {
            pid_t pid = waiting_child();
            rc = kill(pid, SIGTERM);
            int err = errno;
            report(op, rc, err, ended_by(pid, rc, SIGTERM));
        } else if (!strcmp(op, "sigqueue")) {
            pid_t pid = waiting_child();
            union sigval value = {.sival_int = 7};
            rc = sigqueue(pid, SIGUSR1, value);
            int err = errno;
            report(op, rc, err, ended_by(pid, rc, SIGUSR1));
        } else if (!strcmp(op, "pidfd")) {
            pid_t pid = waiting_child();
            int fd = (int)syscall(SYS_pidfd_open, pid, 0);
            if (fd < 0) {
                printf("%s -> SKIPPED pidfd_open %s\n", op, strerrorname_np(errno));
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                continue;
            }
            rc = syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
            int err = errno;
            report(op, rc, err, ended_by(pid, rc, SIGTERM));
            close(fd);
        } else if (!strcmp(op, "thread") || !strcmp(op, "tkill") ||
                   !strcmp(op, "tgsigqueue")) {
            start_waiter();
            if (!strcmp(op, "thread")) {
                rc = syscall(SYS_tgkill, getpid(), waiter_tid, SIGUSR1);
            } else if (!strcmp(op, "tkill")) {
                rc = syscall(SYS_tkill, waiter_tid, SIGUSR1);
            } else {
                siginfo_t info;
                memset(&info, 0, sizeof info);
                info.si_signo = SIGUSR1;
                info.si_code = SI_QUEUE;
                info.si_pid = getpid();
                info.si_uid = getuid();
                rc = syscall(SYS_rt_tgsigqueueinfo, getpid(), waiter_tid, SIGUSR1, &info);
            }
            int err = errno;
            report(op, rc, err, waiter_done(rc));
        } else if (!strcmp(op, "self")) {
            got_usr1 = 0;
            rc = kill(getpid(), SIGUSR1);
            int err = errno;
            report(op, rc, err, got_usr1);
        } else if (!strncmp(op, "outside:", 8)) {
            rc = kill((pid_t)arg, SIGUSR1);
            int err = errno;
            report(op, rc, err, 1);
        } else if (!strncmp(op, "outtkill:", 9)) {
            rc = syscall(SYS_tkill, (pid_t)arg, SIGUSR1);
            int err = errno;
            report(op, rc, err, 1);
        } else if (!strncmp(op, "outpidfd:", 9)) {
            int fd = (int)syscall(SYS_pidfd_open, (pid_t)arg, 0);
            if (fd < 0) {
                printf("%s -> SKIPPED pidfd_open %s\n", op, strerrorname_np(errno));
                continue;
            }
            rc = syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0);
            int err = errno;
            report(op, rc, err, 1);
            close(fd);
        } else if (!strcmp(op, "group")) {
            rc = kill(0, 0);
            int err = errno;
            report(op, rc, err, 1);
        } else if (!strcmp(op, "all")) {
            rc = kill(-1, 0);
            int err = errno;
            report(op, rc, err, 1);
        } else if (!strncmp(op, "pgid:", 5)) {
            rc = kill(-(pid_t)arg, 0);
            int err = errno;
            report(op, rc, err, 1);
        } else if (!strcmp(op, "nskill")) {
            long outer = -1;
            char line[256];
            FILE *status = fopen("/proc/self/status", "r");
            while (status && fgets(line, sizeof line, status))
                if (!strncmp(line, "NSpid:", 6))
                    outer = strtol(line + 6, NULL, 10);
            if (status)
                fclose(status);
            FILE *last = fopen("/proc/sys/kernel/ns_last_pid", "w");
            if (outer <= 1 || !last || fprintf(last, "%ld", outer - 1) < 0 || fclose(last)) {
                printf("%s -> SKIPPED ns_last_pid %s\n", op, strerrorname_np(errno));
                continue;
            }
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigprocmask(SIG_BLOCK, &set, NULL);
            pid_t pid = fork();
            if (pid == 0) {  /* ends by SIGTERM, or by itself after a while */
                struct timespec wait = {.tv_sec = 5};
                sigtimedwait(&set, NULL, &wait);
                _exit(0);
            }
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            if (pid != outer) {
                printf("%s -> SKIPPED child %d, not %ld\n", op, pid, outer);
                waitpid(pid, NULL, 0);
                continue;
            }
            rc = kill(pid, SIGTERM);
            int err = errno;
            int status_code;
            waitpid(pid, &status_code, 0);
            report(op, rc, err, WIFSIGNALED(status_code) && WTERMSIG(status_code) == SIGTERM);
        } else if (!strcmp(op, "zombie")) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            siginfo_t info;
            waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
            rc = kill(pid, SIGTERM);
            int err = errno;
            waitpid(pid, NULL, 0);
            report(op, rc, err, 1);
        } else if (!strcmp(op, "owngroup") || !strcmp(op, "owngroupneg")) {
            if (setpgid(0, 0) < 0) {
                printf("%s -> SKIPPED setpgid %s\n", op, strerrorname_np(errno));
                continue;
            }
            pid_t pid = waiting_child();
            got_usr1 = 0;
            rc = kill(!strcmp(op, "owngroup") ? 0 : -getpgrp(), SIGUSR1);
            int err = errno;
            int arrived = got_usr1;
            report(op, rc, err, ended_by(pid, rc, SIGUSR1) && arrived);
        } else if (!strcmp(op, "reap")) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            int status;
            rc = waitpid(pid, &status, 0) == pid ? 0 : -1;
            report(op, rc, errno, WIFEXITED(status));
        } else if (!strcmp(op, "join")) {
            pthread_t ended;
            rc = -pthread_create(&ended, NULL, ends, NULL);
            if (rc == 0)
                pthread_join(ended, NULL);
            report(op, rc, (int)-rc, 1);
        } else {
            printf("%s -> unknown\n", op);
        }
    }
    return 0;
}
