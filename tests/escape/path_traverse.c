/* path_traverse.c: looking into a refused directory by walking through it (issue 11, red
 * team).
 *
 * A rule naming fsread refuses looks too (stat, readlink, access...) of what it names.  But
 * a lookup that only passes *through* a refused directory ends on a name elsewhere, and only
 * that name is decided: a symlink inside it followed to a permitted file tells where the
 * link points, and a `..` after an entry tells whether the entry exists and is a directory
 * (ENOENT, ENOTDIR, or the permitted file) -- what stat and readlink of those names are
 * refused for.
 *
 *   path_traverse DIR WORK
 *   path_traverse baddirfd   lookups with ".." from a closed dirfd and from one that is no
 *                            directory (the errnos, as alone)
 *
 * DIR (refused) holds `lnk` -> WORK and a directory `sub`; WORK holds a file `f`.  ESCAPED
 * names what was learned although readlink/stat of it was refused (natively nothing is
 * refused: the control learns the same by the same walk).
 */
#include "attack.h"

static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static char learned[4096];

static void learn(const char *what) {
    size_t used = strlen(learned);
    snprintf(learned + used, sizeof learned - used, "%s%s", used ? "; " : "", what);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "baddirfd") == 0) {
        /* lookups with ".." that fail at their start: the kernel's errno, as alone */
        int closed = openat(77, "x/../y", O_RDONLY) < 0 ? errno : 0;
        int notdir = openat(0, "x/../y", O_RDONLY) < 0 ? errno : 0;
        blocked("closed dirfd: %s, dirfd no directory: %s", ename(closed), ename(notdir));
    }
    if (argc != 3)
        usage("path_traverse DIR WORK | path_traverse baddirfd");
    const char *dir = argv[1], *work = argv[2];
    const char *work_name = strrchr(work, '/') + 1;
    char path[4096], target[4096], through[4096], body[4096];
    snprintf(path, sizeof path, "%s/lnk", dir);
    ssize_t n = readlink(path, target, sizeof target - 1);
    note("readlink(%s): %s", path, n < 0 ? ename(errno) : "read");
    snprintf(path, sizeof path, "%s/sub", dir);
    struct stat st;
    note("stat(%s): %s", path, stat(path, &st) < 0 ? ename(errno) : "read");
    /* a symlink in DIR, followed to a permitted file: where it points */
    snprintf(through, sizeof through, "%s/lnk/f", dir);
    snprintf(target, sizeof target, "%s/f", work);
    if (open(through, O_RDONLY) >= 0 && same_file(through, target))
        learn("lnk leads to WORK");
    /* ".." after an entry: whether it is a directory, a file, or nothing */
    snprintf(path, sizeof path, "%s/nosuch/../../%s", dir, work_name);
    int absent = open(path, O_RDONLY | O_DIRECTORY) < 0 ? errno : 0;
    snprintf(path, sizeof path, "%s/sub/../../%s", dir, work_name);
    if (open(path, O_RDONLY | O_DIRECTORY) >= 0)
        learn("sub is a directory");
    snprintf(path, sizeof path, "%s/secret.txt/../../%s", dir, work_name);
    int file = open(path, O_RDONLY | O_DIRECTORY) < 0 ? errno : 0;
    if (file != absent)
        learn(file == ENOTDIR ? "secret.txt is there, no directory" : "secret.txt is there");
    /* the same through a symlink of our own, whose text walks through DIR */
    snprintf(path, sizeof path, "%s/l2", work);
    snprintf(body, sizeof body, "%s/sub/../..", dir);
    unlink(path);
    if (symlink(body, path) == 0) {
        snprintf(through, sizeof through, "%s/l2/%s/f", work, work_name);
        if (open(through, O_RDONLY) >= 0 && same_file(through, target))
            learn("sub is a directory (through a link of ours)");
    }
    if (learned[0])
        escaped("%s", learned);
    blocked("nothing learned about %s", dir);
}
