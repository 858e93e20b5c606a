/* learn_link.c: a program run as another user (-c) points its tracer's writes at a file it
 * may not write.
 *
 * systrace -c UID:GID -A -o DIR/p.toml writes the learned policy after the run, as the user
 * who started it (root) -- following a symlink at DIR/p.toml.  A program that may write DIR
 * (its own work directory) puts a link there to a file only root may write: the learned
 * policy is written over that file, keeping its owner and mode.  Its lock file, .p.toml.lock
 * beside the file, is opened with O_CREAT through a link the same way: a file made as root
 * wherever the program chose.
 *
 *   learn_link LINK TARGET     LINK becomes a symlink to TARGET
 *
 * Prints BLOCKED when it may create or write TARGET itself (no deputy needed: the test is
 * void), else "note: planted" -- the test looks at TARGET after the run.
 */
#include "attack.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: learn_link LINK TARGET\n");
        return 2;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT, 0644);
    if (fd >= 0)
        blocked("uid %d may write %s itself", (int)getuid(), argv[2]);
    printf("note: uid %d writing %s: %s\n", (int)getuid(), argv[2], ename(errno));
    unlink(argv[1]);
    if (symlink(argv[2], argv[1]) < 0)
        blocked("symlink %s: %s", argv[1], ename(errno));
    printf("note: planted\n");
    return 0;
}
