/* fs_mount_beneath.c: MOVE_MOUNT_BENEATH under a private top on a shared parent
 * (overlay30; review 29 left it untested).
 *
 *   fs_mount_beneath SOURCE TARGET
 *
 * In a mount namespace of its own, copied from the tracer's (no MS_PRIVATE: the copy of a
 * shared mount is a peer of the tracer's), TARGET's top mount is a private copy and its
 * parent a shared one.  open_tree(SOURCE, OPEN_TREE_CLONE) and move_mount of the copy onto
 * TARGET with MOVE_MOUNT_BENEATH: the kernel attaches it to the top's parent and
 * propagates it by the parent's peer group -- into the tracer's namespace, beneath its own
 * mount at TARGET (tucked under it), where it shows once that mount is unmounted.  The
 * engine took the private top for the mount acted on: "seen by no one else", the cover of
 * TARGET not decided.  ESCAPED when move_mount succeeded (the test's wrapper, in the
 * tracer's namespace, then unmounts its top and looks at TARGET); BLOCKED with its errno.
 */
#include "attack.h"

#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

int main(int argc, char **argv) {
    if (argc != 3)
        blocked("usage: %s SOURCE TARGET", argv[0]);
    if (unshare(CLONE_NEWNS) < 0)
        blocked("unshare: %s", ename(errno));
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, argv[1],
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) {
        if (errno == ENOSYS)
            skipped("open_tree: %s", ename(errno));
        blocked("open_tree %s: %s", argv[1], ename(errno));
    }
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[2],
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_BENEATH) < 0) {
        if (errno == EINVAL)
            note("move_mount beneath: EINVAL (a kernel before 6.5?)");
        blocked("move_mount beneath %s: %s", argv[2], ename(errno));
    }
    escaped("mounted %s beneath the top mount of %s", argv[1], argv[2]);
}
