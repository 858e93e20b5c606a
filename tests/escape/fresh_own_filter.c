/* fresh_own_filter.c SECRET WORK [outsider]: a create under a seccomp filter of the program's
 * own, and a fresh rule's read of the file it made (notes38).
 *
 * An open with O_CREAT and no O_EXCL of a name absent when decided proves that it made the
 * file only when run with O_EXCL added (notes37).  Under a filter of the program's own the
 * tracer ran it as the program made it (the kernel runs that filter again on a changed call:
 * one that answers the O_EXCL openat2 SECCOMP_RET_ERRNO with errno 0 makes a success that made
 * nothing), so the run's own file was never noted, and a fresh read rule refused it.  The
 * filter here is that trap: every openat2 answered ERRNO(0) -- the program's own opens are
 * open/openat, which it allows.
 *
 * The program installs the filter, makes WORK/go, creates WORK/tmpF (O_WRONLY|O_CREAT),
 * writes "own-file" through it, then opens WORK/tmpF for reading and reads it.
 *
 *   outsider  (notes37's race under the filter) after the create, waits for WORK/ready (the
 *             outsider's file made in the decision's window) and reads WORK/tmpF: ESCAPED
 *             when it holds the secret's magic; $ESC_OUTSIDER_FIRST (the native control):
 *             waits for WORK/ready before the create
 *
 * $ESC_THREAD: a second thread (under the filter too) lives meanwhile.
 *
 * BLOCKED with what each step returned (no ESCAPED: the file is the run's own).
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static void wait_for(const char *work, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", work, name);
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && !exists(path); i++)
        nanosleep(&nap, NULL);
    if (!exists(path))
        blocked("no outsider came (%s)", path);
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("fresh_own_filter SECRET WORK [outsider]");
    const char *work = argv[2];
    int outsider = argc > 3 && !strcmp(argv[3], "outsider");
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        skipped("a seccomp filter: %s", ename(errno));
    idle_thread_if_asked(); /* ($ESC_THREAD: the tree of two tasks, the create frozen) */
    char f[4096], go[4096];
    snprintf(f, sizeof f, "%s/tmpF", work);
    snprintf(go, sizeof go, "%s/go", work);
    int r = write_file(go, "go\n");
    if (r < 0)
        blocked("write %s: %s", go, ename(-r));
    if (outsider && getenv("ESC_OUTSIDER_FIRST"))
        wait_for(work, "ready");
    int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        blocked("create %s", ename(errno));
    if (outsider)
        wait_for(work, "ready");
    const char *wrote = "written";
    if (!outsider && write(fd, "own-file\n", 9) != 9)
        wrote = ename(errno);
    close(fd);
    int rd = open(f, O_RDONLY | O_CLOEXEC);
    if (rd < 0)
        blocked("create descriptor, %s, read open %s", wrote, ename(errno));
    if (is_secret_fd(rd))
        escaped("read the outsider's %s, noted as the run's own create", f);
    char buf[64] = {0};
    ssize_t n = read(rd, buf, sizeof buf - 1);
    blocked("create descriptor, %s, read %s", wrote,
            n == 9 && !memcmp(buf, "own-file\n", 9) ? "own-file" : "something else");
}
