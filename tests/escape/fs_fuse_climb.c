/* fs_fuse_climb.c: leave a FUSE mount by "..": the tracer's walk and the kernel's lookup for
 * the program part inside the mount, and end in different places outside it (review 24).
 *
 *   fs_fuse_climb MODE MNT WORK
 *
 * MNT is served by fs_fuse_server (outside the traced tree) with TARGET "/": "d" is a symlink
 * to "/" when this program looks it up, an empty directory when anyone else does.  The
 * program names MNT/d/../../SECD/secret.txt (SECD without its leading "/", from ESC_SECD):
 * the tracer walks d (a directory), climbs back out of MNT into its parent and ends on
 * PARENT/SECD/secret.txt, a missing name outside the mount that no rule covers; the kernel
 * follows d to "/", where ".." stays, and ends on the secret.  The name the tracer decides on
 * lies below no FUSE mount, so on main it was taken as the kernel's.
 *
 *   open   one task: open the path and read it
 *   link   one task: link the path to WORK/stolen, then read WORK/stolen
 *   tlink  the same with a second thread alive (link is frozen and re-checked)
 */
#include "attack.h"
#include "fuse_attack.h"

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fs_fuse_climb open|link|tlink MNT WORK");
    const char *mode = argv[1], *mnt = argv[2], *work = argv[3];
    const char *secd = getenv("ESC_SECD");
    if (!secd || secd[0] != '/')
        usage("fs_fuse_climb needs ESC_SECD (absolute)");
    char path[4096], stolen[4096];
    snprintf(path, sizeof path, "%s/d/../../%s/secret.txt", mnt, secd + 1);
    snprintf(stolen, sizeof stolen, "%s/stolen", work);
    if (!strcmp(mode, "tlink"))
        second_thread();
    if (!strcmp(mode, "open"))
        open_secret(path);
    if (!strcmp(mode, "link") || !strcmp(mode, "tlink"))
        link_secret(path, stolen);
    usage("unknown mode");
}
