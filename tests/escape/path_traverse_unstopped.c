/* path_traverse_unstopped.c: walking through a refused directory with calls that do not read
 * (red team 26, issue 11).
 *
 * Under `never fsread DIR/**` a lookup that passes through DIR -- a symlink in it followed,
 * ".." after one of its entries -- is refused as a stat or readlink of what it passes
 * (Supervisor._traversal, path_traverse.c).  But the filter stopped only the calls the rules
 * named: with a default of permit, a mkdir, an unlink, a chmod, a utimensat or a write-only
 * open is no fsread and ran unseen, so its walk through DIR told what stat and readlink of
 * DIR's entries are refused for -- where DIR/lnk leads (a file of WORK changed through it),
 * whether DIR/sub is a directory.
 *
 *   path_traverse_unstopped DIR WORK
 *
 * DIR (refused) holds `lnk` -> WORK and a directory `sub`; WORK holds a file `f`.  ESCAPED
 * names what was learned (natively nothing is refused: the control learns it the same way).
 */
#include "attack.h"

static char learned[4096];

static void learn(const char *what) {
    size_t used = strlen(learned);
    snprintf(learned + used, sizeof learned - used, "%s%s", used ? "; " : "", what);
}

static mode_t mode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

int main(int argc, char **argv) {
    if (argc != 3)
        usage("path_traverse_unstopped DIR WORK");
    const char *dir = argv[1], *work = argv[2];
    const char *work_name = strrchr(work, '/') + 1;
    char path[4096], mine[4096];
    snprintf(path, sizeof path, "%s/lnk", dir);
    char target[4096];
    note("readlink(%s): %s", path, readlink(path, target, sizeof target) < 0 ? ename(errno)
                                                                            : "read");
    snprintf(mine, sizeof mine, "%s/f", work);
    /* a symlink in DIR followed by calls that change, not read: each leaves its mark in WORK */
    snprintf(path, sizeof path, "%s/lnk/f", dir);
    if (chmod(path, 0600) == 0 && mode_of(mine) == 0600)
        learn("lnk leads to WORK (chmod)");
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd >= 0 && write(fd, "x", 1) == 1)
        learn("lnk leads to WORK (write-only open)");
    snprintf(path, sizeof path, "%s/lnk/made", dir);
    snprintf(mine, sizeof mine, "%s/made", work);
    if (mkdir(path, 0755) == 0 && mode_of(mine) != 0)
        learn("lnk leads to WORK (mkdir)");
    if (rmdir(path) == 0)
        learn("lnk leads to a directory (rmdir)");
    /* ".." after an entry: whether it is a directory */
    snprintf(path, sizeof path, "%s/sub/../../%s/f", dir, work_name);
    if (utimensat(AT_FDCWD, path, NULL, 0) == 0)
        learn("sub is a directory (utimensat)");
    snprintf(path, sizeof path, "%s/nosuch/../../%s/made2", dir, work_name);
    int absent = mkdir(path, 0755) < 0 ? errno : 0;
    snprintf(path, sizeof path, "%s/sub/../../%s/made2", dir, work_name);
    if (mkdir(path, 0755) == 0 && absent != 0)
        learn("sub is there, nosuch is not (mkdir)");
    if (learned[0])
        escaped("%s", learned);
    blocked("nothing learned about %s", dir);
}
