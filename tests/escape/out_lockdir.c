/* out_lockdir.c: a traced program hides the link it planted on the way to the next run's
 * --log from the tracer's "may the user write this directory" test (red team 25).
 *
 * outputs.open_directory follows a symlink on the way to the log's directory only to a log
 * that is there already -- when the link sits in a directory the user may write, one a traced
 * program may have put it in.  A link in a directory the user may *not* write is taken for
 * the system's and followed, and the log is created through it.  But the program runs as
 * the user, and the user owns the work directory: after planting the link it takes the
 * directory's write bits away (chmod), which its owner may always give back.
 *
 *   out_lockdir plant LINK DIR   LINK becomes a symlink to the directory DIR and LINK's
 *                                directory is made 0555; then the program makes a file in DIR
 *                                through LINK itself: ESCAPED when it may (natively), BLOCKED
 *                                when refused (under systrace) -- the link and the mode stay
 *   out_lockdir say PATH         opens PATH (its name carries the payload), which the policy
 *                                refuses: BLOCKED when it fails
 */
#include "attack.h"

#include <libgen.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 4 && strcmp(argv[1], "plant") == 0) {
        if (unlink(argv[2]) < 0 && errno != ENOENT)
            blocked("unlink %s: %s", argv[2], ename(errno));
        if (symlink(argv[3], argv[2]) < 0)
            blocked("symlink %s: %s", argv[2], ename(errno));
        char parent[4096];
        snprintf(parent, sizeof parent, "%s", argv[2]);
        if (chmod(dirname(parent), 0555) < 0)
            blocked("chmod 0555 of the link's directory: %s", ename(errno));
        note("planted, and the link's directory made read-only");
        char made[4096];
        snprintf(made, sizeof made, "%s/planted", argv[2]);
        int fd = open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            blocked("the program may not make a file in %s itself: %s", argv[3], ename(errno));
        close(fd);
        unlink(made);
        escaped("the program made a file in %s through %s", argv[3], argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "say") == 0) {
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            blocked("open of the payload's path refused: %s", ename(errno));
        close(fd);
        escaped("opened %s", argv[2]);
    }
    fprintf(stderr, "usage: out_lockdir plant LINK DIR | say PATH\n");
    return 2;
}
