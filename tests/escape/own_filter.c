/* own_filter: the program installs a seccomp filter of its own whose actions meet the tracer's.
 *
 *   own_filter MODE SECRET DECOY
 *
 * A sibling thread keeps the tree at two tasks (so opens are held: the tracer injects the
 * scratch area's mmap); then the filter, on every thread (TSYNC), and 50 opens alternating
 * between the decoy and the secret.
 * MODE: trace-mmap   SECCOMP_RET_TRACE (data 7) for mmap -- the tracer's injected call too:
 *                    a seccomp stop where the tracer waits for the injected call's exit
 *       errno-mmap   SECCOMP_RET_ERRNO(EPERM) for mmap: the scratch area is never mapped
 *       trace-all    SECCOMP_RET_TRACE (data 9) for every call but exit_group: stops the
 *                    tracer's filter lets go, with data the tracer's never has
 * ESCAPED when an open gave the secret.  The filter's TRACE outranks nothing the tracer's
 * TRACE does (equal actions: the newest filter's data), ERRNO outranks it (the call fails).
 * Class 6 (attacks on the tracer: the tracer's filter met by the program's own).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

static volatile int done;
static char path[4096];

static void *sibling(void *arg) {
    (void)arg;
    while (!done) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4)
        usage("own_filter trace-mmap|errno-mmap|trace-all SECRET DECOY");
    const char *mode = argv[1], *secret = argv[2], *decoy = argv[3];
    unsigned int on_mmap = SECCOMP_RET_TRACE | 7, others = SECCOMP_RET_ALLOW;
    if (!strcmp(mode, "errno-mmap"))
        on_mmap = SECCOMP_RET_ERRNO | EPERM;
    else if (!strcmp(mode, "trace-all"))
        on_mmap = others = SECCOMP_RET_TRACE | 9;
    else if (strcmp(mode, "trace-mmap"))
        usage("unknown mode");
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, on_mmap),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, others),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    pthread_t t;
    if (pthread_create(&t, NULL, sibling, NULL))
        skipped("pthread_create");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        skipped("no_new_privs: %s", ename(errno));
    /* (untraced, a TRACE action fails its calls with ENOSYS: the control installs the ERRNO
     * filter only, and shows the opens reach the secret) */
    if ((tracer_pid() || !strcmp(mode, "errno-mmap"))
        && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog))
        skipped("seccomp: %s", ename(errno));
    int got = 0, decoys = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof path, "%s", i & 1 ? secret : decoy);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            if (is_secret_fd(fd))
                got++;
            else
                decoys++;
            close(fd);
        }
    }
    done = 1;
    pthread_join(t, NULL);
    note("secret %d, decoy %d of 25", got, decoys);
    if (got)
        escaped("read the secret %d times past a filter of its own (%s)", got, mode);
    blocked("the secret never opened (%s); the decoy %d of 25 times", mode, decoys);
}
