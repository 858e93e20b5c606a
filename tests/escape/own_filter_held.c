/* own_filter_held: a program whose own seccomp filter refuses a call it never makes itself --
 * openat2, as sandboxes do (ENOSYS, so that libc falls back to openat) -- opens files with
 * open, openat and creat.  The tracer holds a permitted open in a tree of several tasks by
 * turning it into openat2 (enforce.Holder), and the kernel runs every filter again on the call
 * the tracer changed (__seccomp_filter's recheck after SECCOMP_RET_TRACE): the program's own
 * then answers for a call its author never made.
 *
 * The tracer's other call in a stopped call's place, the mmap that maps its scratch area
 * (MAP_FIXED_NOREPLACE, a flag the program never uses), meets the same recheck.
 *
 *   own_filter_held ACTION FILE NEWFILE [exec]
 *
 * ACTION: errno      SECCOMP_RET_ERRNO(ENOSYS) for openat2
 *         kill       SECCOMP_RET_KILL_PROCESS for openat2
 *         trap       SECCOMP_RET_TRAP for openat2 (no handler: SIGSYS kills)
 *         mmap-kill  SECCOMP_RET_KILL_PROCESS for an mmap with MAP_FIXED_NOREPLACE
 *         skip-kill  SECCOMP_RET_KILL_PROCESS for call number -1 (what an allowlist's
 *                    default does to it): the number of a call a tracer skips at its stop
 *         skip-errno SECCOMP_RET_ERRNO(ENOTUNIQ) for call number -1, which the program then
 *                    makes itself ("call -1: ENOTUNIQ" natively): the tracer's skip is no
 *                    reason to keep the program's own -1 from its filter
 * exec: the filter installed, the program execs itself (the filter goes along) and the new
 * image makes the calls -- its scratch area is mapped with the filter in, at its first held
 * call.  forkexec: the same in a child, its parent waiting: the tree is two tasks at the
 * exec, whose event maps the area (Tracer._premap_scratch).
 * A sibling thread keeps the tree at two tasks (opens are held).  One line per call, then
 * "done": the same lines natively and under a policy that permits FILE and NEWFILE, the
 * thread's signal mask (SIGUSR1 blocked) and its filter's answer to getppid (EXDEV) among
 * them.
 * Parity with native (class 8, side effects of the engine's own changes to a call).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

static volatile int done;

static void *sibling(void *arg) {
    (void)arg;
    while (!done) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void result(const char *what, int fd) {
    printf("%s: %s\n", what, fd >= 0 ? "ok" : ename(errno));
    fflush(stdout);
    if (fd >= 0)
        close(fd);
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("own_filter_held errno|kill|trap|mmap-kill|skip-kill|skip-errno FILE NEWFILE "
              "[exec|forkexec]");
    const char *action = argv[1], *file = argv[2], *made = argv[3];
    const char *then = argc > 4 ? argv[4] : "";
    unsigned int on_openat2 = SECCOMP_RET_ERRNO | ENOSYS, on_mmap = SECCOMP_RET_ALLOW;
    unsigned int on_skip = SECCOMP_RET_ALLOW;
    if (!strcmp(action, "kill"))
        on_openat2 = SECCOMP_RET_KILL_PROCESS;
    else if (!strcmp(action, "trap"))
        on_openat2 = SECCOMP_RET_TRAP;
    else if (!strcmp(action, "mmap-kill"))
        on_openat2 = SECCOMP_RET_ALLOW, on_mmap = SECCOMP_RET_KILL_PROCESS;
    else if (!strcmp(action, "skip-kill"))
        on_openat2 = SECCOMP_RET_ALLOW, on_skip = SECCOMP_RET_KILL_PROCESS;
    else if (!strcmp(action, "skip-errno"))
        on_openat2 = SECCOMP_RET_ALLOW, on_skip = SECCOMP_RET_ERRNO | ENOTUNIQ;
    else if (strcmp(action, "errno"))
        usage("unknown action");
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, on_skip),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, on_openat2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED_NOREPLACE, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, on_mmap),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (strcmp(then, "after")) {  /* (the exec'd image has the filter already) */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
            skipped("no_new_privs: %s", ename(errno));
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
            skipped("seccomp: %s", ename(errno));
    }
    pid_t child = 0;
    if (!strcmp(then, "forkexec") && (child = fork()) > 0) {
        int status;
        if (waitpid(child, &status, 0) != child)
            skipped("waitpid: %s", ename(errno));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (child < 0)
        skipped("fork: %s", ename(errno));
    if (!strcmp(then, "exec") || !strcmp(then, "forkexec")) {
        execl("/proc/self/exe", argv[0], action, file, made, "after", (char *)NULL);
        skipped("exec: %s", ename(errno));
    }
    if (!strcmp(then, "after"))
        wait_for_tracer();  /* ($ESC_WAIT_TRACER: "ready PID", then systrace --attach PID) */
    sigset_t usr1, mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);  /* (the tracer's mmap puts this mask back) */
    pthread_t t;
    if (pthread_create(&t, NULL, sibling, NULL))
        skipped("pthread_create");
    result("open", open(file, O_RDONLY));
    result("openat", openat(AT_FDCWD, file, O_RDONLY));
    result("creat", creat(made, 0600));
    result("open O_CREAT", open(made, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    /* (the filter is still the program's: the tracer suspended it only for its mmap) */
    printf("getppid: %s\n", syscall(SYS_getppid) < 0 ? ename(errno) : "ok");
    if (!strcmp(action, "skip-errno"))
        printf("call -1: %s\n", syscall(-1L) < 0 ? ename(errno) : "ok");
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    printf("blocked: SIGUSR1 %d, SIGUSR2 %d, SIGTERM %d\n", sigismember(&mask, SIGUSR1),
           sigismember(&mask, SIGUSR2), sigismember(&mask, SIGTERM));
    done = 1;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
